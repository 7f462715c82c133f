"""Shared fixtures for the test suite: paths of the checkout and a headless matplotlib."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests never open windows

import pytest  # noqa: E402
from browser_lab import CHROMIUM_ARGS  # noqa: E402, F401  (headless Debian chromium, for the browser tests)
from hypothesis import settings  # noqa: E402

# The test machine may be shared and busy: a per-example deadline would make property tests flaky.
settings.register_profile("course", deadline=None)
settings.load_profile("course")

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO_ROOT / "lessons"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a Jupyter kernel or a subprocess (seconds, not milliseconds)")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hub", "the JupyterHub workshop test (tests/test_hub.py)")
    group.addoption("--hub", action="store_true", help="run the tests marked hub: a real JupyterHub on loopback")
    group.addoption(
        "--hub-learners",
        type=int,
        default=None,
        metavar="N",
        help="learners at once in the hub test (default: $COLLAPSE_EDU_HUB_LEARNERS or 10)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The hub tests are opt-in (``--hub``): they start a JupyterHub and many kernels for minutes."""
    if config.getoption("--hub"):
        return
    skip = pytest.mark.skip(reason="opt-in: run with pytest --hub (scripts/test.sh does)")
    for item in items:
        if item.get_closest_marker("hub") is not None:
            item.add_marker(skip)


HUB_REPORT = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def hub_report(request: pytest.FixtureRequest) -> list:
    """Lines the hub tests print at the end of the run (shown even when output is captured)."""
    return request.config.stash.setdefault(HUB_REPORT, [])


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """What the browser and hub tests measured (printed, never asserted): slider redraw latencies
    (benchmarks/slider_latency.py measures them properly) and the workshop's per-learner figures."""
    latencies = [
        value
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "redraw_latency"
    ]
    if latencies:
        terminalreporter.section("slider redraw latency in JupyterLab (benchmarks/slider_latency.py measures it)")
        for line in sorted(latencies):
            terminalreporter.line(line)
    lines = config.stash.get(HUB_REPORT, [])
    if lines:
        terminalreporter.section("JupyterHub workshop: per learner and hub totals")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The root of the checkout (holds pyproject.toml)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def lessons_dir() -> Path:
    """The master lessons folder."""
    return LESSONS_DIR


@pytest.fixture(scope="session")
def find_lesson():
    """``find_lesson("01")`` -> the path of lesson 01, or None while it does not exist yet."""

    def find(number: str) -> Path | None:
        matches = sorted(LESSONS_DIR.glob(f"{number}_*.ipynb"))
        return matches[0] if matches else None

    return find


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened, so memory does not grow across the suite."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def script_module(relative: str):
    """A script of the repository (``benchmarks/x.py``, ``scripts/x.py``: not part of the package) as a module."""
    import importlib.util

    path = REPO_ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require(condition: bool, reason: str) -> None:
    """Skip when a browser prerequisite is missing, but fail in CI, where it must be installed."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required because CI is set)")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's chromium, with the Python playwright package importable."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Debian's chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "the Python package playwright is not installed")
    return path


@contextlib.contextmanager
def jupyterlab_server(root: Path, settings: dict[str, dict], *, start_timeout: float = 60):
    """JupyterLab on loopback (a free port, no token) serving ``root``; yields its base URL.

    ``settings`` maps ``"@jupyterlab/<plugin>"`` names (without the prefix) to their user settings. The
    server runs in its own session and is stopped with its kernels (that process group only)."""
    import json
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    folder = root.parent / f"{root.name}-lab-settings"
    for name, values in settings.items():
        target = folder / "@jupyterlab" / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = root.parent / f"{root.name}-server.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
        "--ServerApp.password=", f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={folder}",
        f"--LabApp.workspaces_dir={folder / 'workspaces'}", "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root",
    ]  # fmt: skip
    with open(log, "wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {start_timeout} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait(timeout=5)
