"""The check that the first cell of every lesson runs: versions, threads and the widget frontend."""

from __future__ import annotations

import functools
import importlib
import platform
import sys
from typing import Any

#: Oldest versions the course is tested with (import name -> version).
MINIMUM_VERSIONS = {
    "numpy": "1.24",
    "matplotlib": "3.7",
    "ipywidgets": "8.0",
    "sklearn": "1.2",
    "tqdm": "4.60",
    "torch": "2.0",
}


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def in_colab() -> bool:
    return "google.colab" in sys.modules


def check_environment(needs: tuple[str, ...] = ("numpy", "matplotlib", "ipywidgets", "tqdm")) -> None:
    """Print the versions this lesson uses and say clearly if one is missing or too old (it prints
    rather than returns, so the setup cell shows no stray ``True``)."""
    ok = True
    print(f"Python {platform.python_version()} on {platform.system()} ({'Colab' if in_colab() else 'local/Binder'})")
    for name in needs:
        try:
            module = importlib.import_module(name)
        except ImportError:
            print(f"  {name:<11} MISSING - install the course with: pip install -e .  (see README)")
            ok = False
            continue
        version = getattr(module, "__version__", "?")
        minimum = MINIMUM_VERSIONS.get(name)
        too_old = minimum is not None and _version_tuple(version) < _version_tuple(minimum)
        ok &= not too_old
        print(f"  {name:<11} {version}" + (f"  TOO OLD: need >= {minimum}" if too_old else ""))
    print("Environment OK." if ok else "Fix the lines above, then restart the kernel.")


@functools.cache
def _blas_controller() -> Any:
    import numpy  # noqa: F401 - load numpy's BLAS before the libraries are listed
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context manager in which BLAS runs on one thread. The course's batched linear algebra works on
    many tiny matrices (one d x d solve per run), where a second BLAS thread only waits: on two busy
    cores it multiplied the time of lesson 05's random-features toy about fiftyfold."""
    return _blas_controller().limit(limits=1, user_api="blas")
