"""The machine the course runs on: the check that the first cell of every lesson runs (versions, threads,
the widget frontend), and the record of the machine and the JSON summary file every script in
``benchmarks/`` keeps with its numbers (:func:`machine_info`, :func:`write_summary`)."""

from __future__ import annotations

import datetime
import functools
import importlib
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The package's stored results (made by benchmarks/, read by the lessons): inside the package, so a
#: checkout and an installed course read and write the same place.
RESULTS_DIR = Path(__file__).resolve().parent / "results"

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


#: How to install a missing module where its import name is not its package's (or pip's default build is wrong).
INSTALL_HINTS = {
    "sklearn": "pip install scikit-learn",
    "torch": "pip install torch --index-url https://download.pytorch.org/whl/cpu (the CPU build)",
}


def check_environment(needs: tuple[str, ...] = ("numpy", "matplotlib", "ipywidgets", "tqdm")) -> None:
    """Print the versions this lesson uses and say clearly if one is missing or too old (it prints
    rather than returns, so the setup cell shows no stray ``True``)."""
    ok = True
    print(f"Python {platform.python_version()} on {platform.system()} ({'Colab' if in_colab() else 'local/Binder'})")
    for name in needs:
        try:
            module = importlib.import_module(name)
        except ImportError:
            # the course itself is importable (this is its code), so a dependency is what is missing
            print(f"  {name:<11} MISSING - {INSTALL_HINTS.get(name, f'pip install {name}')} (README: Two commands)")
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


# --------------------------------------------------------------------------- reproducible numbers

#: Environment variables that hold numpy, OpenBLAS and PyTorch (MKL, oneDNN, ATen) to their AVX2 code paths.
#: The course's stored results and checked outputs were made on AVX2 machines; on a CPU with AVX-512 the
#: libraries pick other kernels, whose last-bit differences grow through long chaotic runs (EM refits, GAN
#: and transformer training) into other numbers: the same statistics over seeds, not the same digits.
#: numpy held here gives the same digits on every processor tried; PyTorch can still round otherwise (an
#: AVX-512 Xeon's GAN and transformer training drift from an EPYC's), so lesson text about live PyTorch runs
#: says what holds on both.
AVX2_CODE_PATHS = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # numpy's AVX-512 dispatch targets
    "OPENBLAS_CORETYPE": "Haswell",  # OpenBLAS's AVX2 kernels
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's own kernels
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # MKL (PyTorch's BLAS) as on an AVX2 CPU
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}


#: Set this environment variable (to anything) to let the libraries use every instruction the CPU has.
NATIVE_CPU_SWITCH = "COLLAPSE_EDU_NATIVE_CPU"


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def avx2_x86_cpu() -> bool:
    """Whether this is an x86-64 CPU with AVX2 and FMA (as ``/proc/cpuinfo`` says): where
    :data:`AVX2_CODE_PATHS` are safe (OpenBLAS's Haswell kernels need AVX2) and mean something."""
    return platform.machine().lower() in ("x86_64", "amd64") and {"avx2", "fma"} <= _cpu_flags()


def reproducible_cpu_env() -> dict[str, str]:
    """:data:`AVX2_CODE_PATHS` on an :func:`avx2_x86_cpu`, without the variables already set; ``{}``
    elsewhere (Apple silicon, Windows, older CPUs) and when :data:`NATIVE_CPU_SWITCH` is set. Set them
    before numpy or torch is imported: the test script, ``collapse-edu lab`` and ``collapse-edu run`` pass
    them to every kernel, so the lessons print the committed numbers on any such machine."""
    if os.environ.get(NATIVE_CPU_SWITCH) or not avx2_x86_cpu():
        return {}
    return {name: value for name, value in AVX2_CODE_PATHS.items() if name not in os.environ}


def use_reproducible_cpu_env() -> dict[str, str]:
    """Put :func:`reproducible_cpu_env` into ``os.environ`` (for the processes started from here on)
    and return what was added."""
    added = reproducible_cpu_env()
    os.environ.update(added)
    return added


def run_on_avx2_code_paths() -> None:
    """Start this script again with :func:`reproducible_cpu_env` set when any of it is missing (the
    first call of every benchmark that writes the course's stored results, so those are made on the
    code paths of the committed outputs). Setting the variables in this process would be too late:
    numpy is loaded by then. Nothing happens on other CPUs or when the variables are set."""
    added = reproducible_cpu_env()
    if added:
        print(f"(starting again on the AVX2 code paths: {', '.join(added)})", file=sys.stderr, flush=True)
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, **added})


# --------------------------------------------------------------------------- the benchmarks' records


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity; all cores where the OS does not say)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def load_averages() -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages, or ``None`` where the OS keeps none (Windows)."""
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def load_average() -> float | None:
    """The 1-minute load average (runnable processes), or ``None`` where the OS keeps none."""
    loads = load_averages()
    return None if loads is None else loads[0]


def memory_gb() -> float | None:
    """Physical memory in GiB to one decimal, or ``None`` where the OS does not say."""
    try:
        return round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    except (AttributeError, ValueError, OSError):
        return None


def package_version(name: str) -> str | None:
    """``__version__`` of the importable module ``name``, or ``None`` if it is not installed."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return str(getattr(module, "__version__", "?"))


#: The facts :func:`machine_info` knows by name, each with how to find it out now.
MACHINE_FACTS: dict[str, Callable[[], Any]] = {
    "date": lambda: datetime.date.today().isoformat(),
    "datetime": lambda: datetime.datetime.now().isoformat(timespec="minutes"),
    "python": platform.python_version,
    "cpu_model": cpu_model,
    "processor": lambda: platform.processor() or platform.machine(),
    "architecture": platform.machine,
    "system": platform.system,
    "release": platform.release,
    "platform": platform.platform,
    "cpus": os.cpu_count,
    "usable_cores": usable_cores,
    "memory_gb": memory_gb,
    "load_average": load_average,
    "load_averages": load_averages,
}
#: The packages whose versions :func:`machine_info` reports when no fields are named.
DEFAULT_PACKAGES = ("numpy", "torch")


def machine_info(*fields: str) -> dict[str, Any]:
    """The machine and software a benchmark ran on, for the record it keeps with its timings.

    Without ``fields``: every fact of :data:`MACHINE_FACTS` (date, CPU model and cores, memory, load
    averages, Python, ...) and the versions of :data:`DEFAULT_PACKAGES` (``None`` when not installed).
    With ``fields``: just those, in that order. A field is a fact's name, the import name of a package
    whose ``__version__`` to report (``"torch"``, ``"jupyterhub"``, ...), or ``"key=fact"`` to store a
    fact under another key (``"cores=cpus"``), so every script keeps the keys of the files it wrote.
    """
    if not fields:
        info = {name: fact() for name, fact in MACHINE_FACTS.items()}
        return {**info, **{name: package_version(name) for name in DEFAULT_PACKAGES}}
    info = {}
    for field in fields:
        if not isinstance(field, str):
            raise TypeError(f"fields must be strings, got {field!r}")
        key, _, name = field.rpartition("=")
        key = key or name
        if name in MACHINE_FACTS:
            info[key] = MACHINE_FACTS[name]()
            continue
        version = package_version(name) if name.isidentifier() else None
        if version is None:
            raise ValueError(
                f"fields: {name!r} is neither a machine fact ({', '.join(MACHINE_FACTS)}) nor an installed package"
            )
        info[key] = version
    return info


class RunClock:
    """Wall-clock and CPU seconds since the clock was made, and the 1-minute load average then and now:
    what a benchmark's summary keeps next to its numbers (on a shared machine the wall time includes
    waiting for a core, the CPU time does not; the load average says how much waiting there was)."""

    def __init__(self) -> None:
        self.wall_start = time.perf_counter()
        self.cpu_start = time.process_time()
        self.load_start = load_average()

    def record(self) -> dict[str, Any]:
        """``cpu_seconds`` and ``wall_seconds`` so far and ``load_average_start_end``, each to 0.1."""
        load_end = load_average()
        return {
            "cpu_seconds": round(time.process_time() - self.cpu_start, 1),
            "wall_seconds": round(time.perf_counter() - self.wall_start, 1),
            "load_average_start_end": [None if x is None else round(x, 1) for x in (self.load_start, load_end)],
        }


def require_source_checkout(script: str | Path, needs: str) -> Path:
    """The repository's ``tests/`` folder, for a benchmark that drives JupyterLab or JupyterHub with the
    test suite's machinery (``needs``, a file in ``tests/``); a one-line exit when only the package is
    installed (a course copy or a wheel has no ``tests/``)."""
    tests = Path(script).resolve().parents[1] / "tests"
    if not (tests / needs).is_file():
        sys.exit(
            f"{Path(script).name} uses the test suite's machinery (tests/{needs}), which only a source "
            "checkout has: run it from a clone of the repository (bash scripts/setup.sh test)."
        )
    return tests


def write_summary(
    path: str | os.PathLike, payload: dict, *, indent: int | None = None, inline_lists: bool = False
) -> Path:
    """Write a benchmark's summary ``payload`` (a dict) as JSON to ``path`` and return the path.

    ``indent=None`` writes compact JSON (no spaces: the large result tables), an integer indents;
    ``inline_lists`` puts every innermost list of numbers on one line of the indented text. The file
    ends with a newline. Missing folders are made; an existing file at ``path`` is replaced, as a
    re-run of a benchmark replaces its own summary, but only once the new text is complete: it is
    written to a temporary file beside it and renamed, so an interrupted or failing run never
    leaves a half-written summary behind.
    """
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict (a JSON object), got {type(payload).__name__}")
    if indent is not None and (not isinstance(indent, int) or isinstance(indent, bool) or indent < 0):
        raise ValueError(f"indent must be None or a whole number >= 0, got {indent!r}")
    path = Path(path)
    separators = (",", ":") if indent is None else None
    text = json.dumps(payload, indent=indent, separators=separators)  # fails before anything is written
    if inline_lists:
        text = re.sub(r"\[\s+([^\[\]{}\"]+?)\s+\]", lambda m: "[" + " ".join(m[1].split()) + "]", text)
    if path.is_dir():
        raise IsADirectoryError(f"path {path} is a folder: name the summary file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text + "\n", encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


if __name__ == "__main__":  # `eval "$(python -m collapse_edu.environment)"`: the shell exports
    for _name, _value in reproducible_cpu_env().items():
        print(f"export {_name}='{_value}'")
