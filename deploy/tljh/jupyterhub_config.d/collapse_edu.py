# The Littlest JupyterHub: extra hub configuration for a collapse-edu workshop.
# Installed by deploy/tljh/install.sh as /opt/tljh/config/jupyterhub_config.d/collapse_edu.py.
#
# Every learner's start page is the nbgitpuller link: after logging in, the course is cloned into
# ~/collapse-edu (on later visits new commits are merged without overwriting the learner's edits)
# and lesson 00 opens in JupyterLab. For a fork, another branch or another first lesson, print the
# value with:  collapse-edu link --hub https://YOUR-HUB --repo URL --branch B --lesson NN --start-page
# (tests/test_deploy.py checks that the value below is what that command prints for the defaults).
c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

c.JupyterHub.default_url = (
    "/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fcollapse-edu%2Fcollapse-edu"
    "&branch=main&targetpath=collapse-edu&urlpath=lab%2Ftree%2Fcollapse-edu%2Flessons%2F00_start_here.ipynb"
)
# A server opened without a path (the hub's home page, "Start My Server") opens JupyterLab.
c.Spawner.default_url = "/lab"
# A class logs in within a few minutes: let the first servers start while the hub is busy.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 120

# Learners' kernels on numpy's, OpenBLAS's and PyTorch's AVX2 code paths, as `collapse-edu` sets them
# (README, "The same digits on x86 machines, nearly"): the learners' environment prints the variables for
# this server's CPU (none on a CPU without AVX2), and every learner's server starts with them.
import re  # noqa: E402
import subprocess  # noqa: E402

LEARNERS_PYTHON = "/opt/tljh/user/bin/python"
try:
    _exports = subprocess.run(
        [LEARNERS_PYTHON, "-m", "collapse_edu.environment"], capture_output=True, text=True, timeout=60
    ).stdout
except OSError:  # the course is not installed (yet): the libraries keep their own choice
    _exports = ""
c.Spawner.environment = dict(re.findall(r"^export (\w+)='([^']*)'$", _exports, flags=re.MULTILINE))
