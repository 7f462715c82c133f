#!/usr/bin/env bash
# Set up (first time only) and run every check: lint, unit and property tests, the real-browser
# widget test, nbval over every lesson (each notebook re-executed, checked cells compared), then the
# workshop test: a real JupyterHub on loopback with 10 learners running lessons at once
# (tests/test_hub.py; COLLAPSE_EDU_HUB_LEARNERS=N for more, 0 to leave it out). It runs on its own,
# after the rest, so that the per-learner times it prints are not shared with other tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# numpy, OpenBLAS and PyTorch on their AVX2 code paths (python -m collapse_edu.environment prints the
# exports; nothing on other CPUs): the stored results and checked outputs were made that way, and an
# AVX-512 CPU's kernels would change the digits of the long chaotic runs
eval "$(.venv/bin/python -m collapse_edu.environment)"
.venv/bin/ruff check collapse_edu tests benchmarks
.venv/bin/ruff format --check collapse_edu tests benchmarks
.venv/bin/python -m pytest -n 2 --dist loadscope \
    --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
    --durations=15 tests lessons "$@"
if [ "${COLLAPSE_EDU_HUB_LEARNERS:-10}" != 0 ]; then
    exec .venv/bin/python -m pytest --hub -m hub --hub-learners "${COLLAPSE_EDU_HUB_LEARNERS:-10}" tests/test_hub.py
fi
