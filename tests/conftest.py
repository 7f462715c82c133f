"""Shared fixtures for the test suite: paths of the checkout and a headless matplotlib."""

from __future__ import annotations

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


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """The slider redraw latencies the browser test measured (printed, never asserted)."""
    lines = [
        value
        for report in terminalreporter.stats.get("passed", [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "redraw_latency"
    ]
    if lines:
        terminalreporter.section("slider redraw latency in JupyterLab (benchmarks/slider_latency.py measures it)")
        for line in sorted(lines):
            terminalreporter.line(line)


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
