"""Shared fixtures for the test suite: paths of the checkout and a headless matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: tests never open windows

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# The test machine may be shared and busy: a per-example deadline would make property tests flaky.
settings.register_profile("course", deadline=None)
settings.load_profile("course")

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO_ROOT / "lessons"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a Jupyter kernel or a subprocess (seconds, not milliseconds)")


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
