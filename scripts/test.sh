#!/usr/bin/env bash
# Set up (first time only) and run every check: lint, unit and property tests, the real-browser
# widget test, and nbval over every lesson (each notebook re-executed, checked cells compared).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check collapse_edu tests benchmarks
.venv/bin/ruff format --check collapse_edu tests benchmarks
exec .venv/bin/python -m pytest -n 2 --dist loadscope \
    --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
    --durations=15 tests lessons "$@"
