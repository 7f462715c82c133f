#!/usr/bin/env bash
# Set up (first time only) and open the course in JupyterLab at lesson 00.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/collapse-edu lab "$@"
