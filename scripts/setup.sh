#!/usr/bin/env bash
# Create (or reuse) the course's virtual environment in .venv and install the course into it.
#   bash scripts/setup.sh          the course (what the lessons need)
#   bash scripts/setup.sh test     the course plus the test tools, Chromium for the browser test and
#                                  configurable-http-proxy (npm, into .venv) for the JupyterHub test
# Environment: PYTHON (default python3), TORCH_SPEC (default torch==2.13.0, a CPU build on the
# course machines; elsewhere pick the build for your platform, see https://pytorch.org).
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"

"$python" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"collapse-edu needs Python >= 3.10, this is {sys.version.split()[0]}")
PY

[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.collapse-edu-${extra:-course}"
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    exit 0  # already set up for this pyproject.toml
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# CPU PyTorch first: a bare `torch` requirement would pull a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
if [ "$extra" = "test" ]; then
    .venv/bin/python -m pip install --quiet -e ".[test]"
    # JupyterHub's proxy for tests/test_hub.py, from npm into this project's .venv (never global).
    if [ ! -x .venv/node_modules/.bin/configurable-http-proxy ]; then
        if command -v npm >/dev/null 2>&1; then
            echo "Installing configurable-http-proxy (npm) into .venv/node_modules ..."
            npm install --silent --no-audit --no-fund --prefix .venv "configurable-http-proxy@${CHP_VERSION:-5}" >/dev/null
        else
            echo "npm not found: the JupyterHub test (pytest --hub) needs node >= 20 and npm" >&2
        fi
    fi
    # A real browser for tests/test_browser.py: Debian's chromium (never a downloaded one).
    if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "Installing Debian's chromium for the browser test ..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
else
    .venv/bin/python -m pip install --quiet -e .
fi
touch "$stamp"
echo "collapse-edu is installed in .venv ($(.venv/bin/python -c 'import collapse_edu; print(collapse_edu.__version__)'))"
