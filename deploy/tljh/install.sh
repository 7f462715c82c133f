#!/usr/bin/env bash
# The Littlest JupyterHub (TLJH) on one server for a collapse-edu workshop.
#
# CONFIGURATION ONLY: this script is not run by the tests (they run a local JupyterHub, see
# deploy/README.md). Run it as root on a fresh Ubuntu 22.04 or 24.04 server with internet access,
# from a checkout of the course:   sudo ADMIN=lecturer bash deploy/tljh/install.sh
# The numbers (memory and CPU limits, culling) come from the sizing table in docs/teaching.md.
set -euo pipefail
cd "$(dirname "$0")"
admin="${ADMIN:?set ADMIN to the user name of the lecturer (the hub admin)}"
repo="${COURSE_REPO:-https://github.com/collapse-edu/collapse-edu}"
branch="${COURSE_BRANCH:-main}"

# 1. TLJH itself (JupyterHub, the proxy and a user environment in /opt/tljh/user; nbgitpuller included).
curl -fsSL https://tljh.jupyter.org/bootstrap.py | python3 - --admin "$admin"

# 2. The course's packages in the learners' environment: CPU-only PyTorch first (a plain `torch`
#    pulls several GB of CUDA libraries), then the course package and nbgitpuller.
/opt/tljh/user/bin/pip install --quiet --index-url https://download.pytorch.org/whl/cpu "torch>=2.0"
/opt/tljh/user/bin/pip install --quiet nbgitpuller "collapse-edu @ git+${repo}@${branch}"

# 3. Per-learner limits and the idle culler (docs/teaching.md, "Running a workshop on a JupyterHub").
tljh-config set limits.memory 1.5G
tljh-config set limits.cpu 1
tljh-config set services.cull.enabled true
tljh-config set services.cull.timeout 3600
tljh-config set services.cull.every 300
tljh-config set user_environment.default_app jupyterlab

# 4. Idle kernels are shut down inside every learner's server; the nbgitpuller link is the start page.
install -D -m 644 ../jupyter_server_config.json /opt/tljh/user/etc/jupyter/jupyter_server_config.d/collapse_edu.json
install -D -m 644 jupyterhub_config.d/collapse_edu.py /opt/tljh/config/jupyterhub_config.d/collapse_edu.py
tljh-config reload
tljh-config reload proxy
echo "Done. Hand out the link printed by: collapse-edu link --hub https://$(hostname -f)"
