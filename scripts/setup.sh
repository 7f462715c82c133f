#!/usr/bin/env bash
# Create (or reuse) the course's virtual environment in .venv and install the course into it.
#   bash scripts/setup.sh          the course (what the lessons need)
#   bash scripts/setup.sh test     the course plus the test tools, nbgrader, the slides' offline assets,
#                                  Debian's Chromium for the browser tests and configurable-http-proxy
#                                  (npm, into .venv) for the JupyterHub test
#
# PyTorch: on Linux the CPU-only build from PyTorch's CPU wheel index (https://download.pytorch.org/whl/cpu,
# about 180 MB to download, about 750 MB installed), whatever the Python version; a plain `pip install
# torch` there would bring a CUDA build with some 15 NVIDIA packages (a 5 GB environment). On macOS and
# Windows PyPI's build is already CPU-only (with Apple's GPU on macOS). Environment variables:
#   PYTHON        the interpreter to build .venv from (default python3; 3.10-3.13 are supported)
#   TORCH_SPEC    the torch requirement (default torch==2.13.0)
#   TORCH_INDEX   where torch comes from: unset = the CPU index on Linux, PyPI elsewhere;
#                 "default" = pip's own configuration (PyPI: on Linux that is the CUDA build);
#                 or any index URL, e.g. https://download.pytorch.org/whl/cu126 for CUDA 12.6
#   TORCH_WHEELS  a folder holding a torch wheel for this Python (torch-*-cpXY-*.whl): installed from
#                 there, nothing downloaded for torch itself (CI machines keep one on disk)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"

"$python" - <<'PY'
import sys
if not (3, 10) <= sys.version_info[:2] <= (3, 13):
    sys.exit(f"collapse-edu supports Python 3.10 to 3.13, this is {sys.version.split()[0]} (set PYTHON=...)")
PY

[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.collapse-edu-${extra:-course}"
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt scripts/setup.sh ]; then
    exit 0  # already set up for this pyproject.toml
fi
.venv/bin/python -m pip install --quiet --upgrade pip

# PyTorch first, so that installing the course finds it satisfied and never pulls a CUDA build.
torch_spec="${TORCH_SPEC:-torch==2.13.0}"
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    tag="$(.venv/bin/python -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
    wheel=""
    if [ -n "${TORCH_WHEELS:-}" ] && [ -d "$TORCH_WHEELS" ]; then
        wheel="$(ls "$TORCH_WHEELS"/torch-*-"$tag"-*.whl 2>/dev/null | sort | tail -n 1 || true)"
        [ -n "$wheel" ] || echo "no torch wheel for $tag in $TORCH_WHEELS; using the index instead"
    elif [ -z "${TORCH_INDEX:-}" ] && [ "$(uname -s)" = "Linux" ]; then
        # A CPU wheel that pip's own configuration already points at (find-links), e.g. on course machines.
        links="${PIP_FIND_LINKS:-} $(.venv/bin/python -m pip config get global.find-links 2>/dev/null || true)"
        for folder in $links; do
            folder="${folder#file://}"
            [ -d "$folder" ] || continue
            wheel="$(ls "$folder"/torch-*+cpu-"$tag"-*.whl 2>/dev/null | sort | tail -n 1 || true)"
            [ -n "$wheel" ] && break
        done
    fi
    if [ -n "$wheel" ]; then
        echo "Installing PyTorch from $wheel"
        .venv/bin/python -m pip install --quiet "$wheel"
    elif [ "${TORCH_INDEX:-}" = "default" ] || { [ -z "${TORCH_INDEX:-}" ] && [ "$(uname -s)" != "Linux" ]; }; then
        echo "Installing $torch_spec from pip's configured index"
        .venv/bin/python -m pip install --quiet "$torch_spec"
    else
        index="${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
        echo "Installing $torch_spec from $index"
        .venv/bin/python -m pip install --quiet --index-url "$index" "$torch_spec"
    fi
fi
if [ "$(uname -s)" = "Linux" ] && [ -z "${TORCH_INDEX:-}" ]; then
    .venv/bin/python -W ignore -c "import torch, sys; sys.exit(torch.version.cuda is not None)" 2>/dev/null \
        || echo "note: this torch is a CUDA build ($(.venv/bin/python -c 'import torch; print(torch.__version__)'))"
fi

if [ "$extra" = "test" ]; then
    .venv/bin/python -m pip install --quiet -e ".[test,nbgrader,slides]"
    # JupyterHub's proxy for tests/test_hub.py, from npm into this project's .venv (never global).
    if [ ! -x .venv/node_modules/.bin/configurable-http-proxy ]; then
        if command -v npm >/dev/null 2>&1; then
            echo "Installing configurable-http-proxy (npm) into .venv/node_modules ..."
            npm install --silent --no-audit --no-fund --prefix .venv "configurable-http-proxy@${CHP_VERSION:-5}" >/dev/null
        else
            echo "npm not found: the JupyterHub test (pytest --hub) needs node >= 20 and npm" >&2
        fi
    fi
    # A real browser for the browser tests: Debian's chromium (never a downloaded one).
    if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "Installing Debian's chromium for the browser test ..."
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
else
    .venv/bin/python -m pip install --quiet -e .
fi
touch "$stamp"
echo "collapse-edu is installed in .venv ($(.venv/bin/python -c 'import collapse_edu; print(collapse_edu.__version__)'))"
