"""Argument checks shared by every public function.

Each check raises a one-line ``ValueError`` or ``TypeError`` that names the argument and
what is allowed, so a learner never sees a traceback from deep inside numpy.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence

import numpy as np


def check_int(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(
    name: str,
    value: object,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    strict_minimum: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` in the allowed range.

    ``strict_minimum=True`` excludes the minimum itself (for example a temperature > 0).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_fraction(name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1]."""
    return check_float(name, value, 0.0, 1.0)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` (strings)."""
    choices = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


#: the largest seed of anything seeded through PyTorch (``torch.manual_seed`` takes a 64-bit signed integer;
#: a few are added to it for the streams of one run)
TORCH_SEED_MAX = 2**62


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy ``Generator`` from a seed (int or None) or an existing generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(check_int("seed", seed, minimum=0))


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (a truthy string such as ``"no"`` is refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_numbers(name: str, value: object, minimum: float | None = None) -> np.ndarray:
    """A number or an array of numbers as a float array: finite, and >= ``minimum`` if given."""
    at_least = "" if minimum is None else f" >= {minimum:g}"
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be a number or an array of numbers{at_least}, got {value!r:.40}")
    try:
        numbers_ = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers{at_least}, got {value!r:.40}") from None
    if not np.all(np.isfinite(numbers_)) or (minimum is not None and np.any(numbers_ < minimum)):
        raise ValueError(f"{name} must be finite{' and' + at_least if at_least else ''}, got {value!r:.40}")
    return numbers_


def check_probabilities(name: str, value: object, *, axis: int | None = None, atol: float = 1e-9) -> np.ndarray:
    """Probabilities: finite, >= 0 and summing to 1. ``axis=None``: one non-empty 1-D vector, returned
    renormalised; otherwise an array whose slices along ``axis`` each sum to 1, returned as it is."""
    p = check_numbers(name, value, minimum=0.0)
    if p.size == 0 or p.ndim == 0 or (axis is None and p.ndim != 1):
        shape = "1-D array" if axis is None else "array"
        raise ValueError(f"{name} must be a non-empty {shape} of probabilities, got shape {p.shape}")
    sums = p.sum() if axis is None else p.sum(axis=axis)
    if not np.allclose(sums, 1.0, rtol=0, atol=atol):
        raise ValueError(
            f"{name} must sum to 1 (probabilities, not counts: divide by the total), got {np.round(sums, 6)}"
        )
    return p / sums if axis is None else p


def check_times(name: str, value: object, *, integer: bool = False) -> np.ndarray:
    """Generation numbers (a scalar or an array): finite and >= 0, whole numbers if ``integer``."""
    times = check_numbers(name, value, minimum=0.0)
    if integer and np.any(times != np.round(times)):
        raise ValueError(f"{name} must be whole numbers, got {value!r}")
    return times


# --------------------------------------------------------------------------- memory


def available_memory() -> int:
    """Bytes this process may still allocate: the smaller of the machine's available memory
    (Linux ``MemAvailable``) and the container's limit (cgroup v2 or v1, as on Binder); 8 GB if
    neither can be read."""
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            with open(limit_file, encoding="ascii") as limit, open(usage_file, encoding="ascii") as usage:
                text = limit.read().strip()
                if text.isdigit() and int(text) < 1 << 60:
                    limits.append(max(0, int(text) - int(usage.read().strip())))
        except (OSError, ValueError):
            pass
    if not limits:
        try:
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            limits.append(8 << 30)
    return min(limits)


def format_bytes(size: float) -> str:
    """1536 -> '1.5 KB' (powers of 1024)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if size < 1024 or unit == "PB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_memory(needed: float, what: str, advice: str) -> None:
    """Refuse, before allocating, a computation whose arrays need more memory than is available.

    ``what`` names the arguments that set the size (``"runs = 10^12 x (generations + 1) = 101
    rows of the history"``), ``advice`` says what to change. Raises a one-line ``ValueError``
    with the estimate, so a learner sees a sentence instead of a ``MemoryError`` traceback or a
    machine that starts swapping."""
    available = available_memory()
    if needed > available:
        raise ValueError(
            f"{what} needs about {format_bytes(needed)} of memory, more than the {format_bytes(available)} "
            f"available here: {advice}"
        )


def only_for(name: str, value: object, default: object, chooser: str, chosen: str, users: Sequence[str]) -> object:
    """``value`` of the argument ``name`` that only some choices use (``users``, of the argument
    ``chooser``, which is ``chosen``): ``default`` when ``None``, refused when given with another
    choice, which would ignore it without a word."""
    if value is None:
        return default
    if chosen not in users:
        raise ValueError(
            f"{name} is only used with {chooser} {' or '.join(map(repr, users))}, got {chooser} {chosen!r}; "
            f"leave {name} out"
        )
    return value


def check_finite_array(name: str, value: object) -> np.ndarray:
    """``value`` as a float array of finite numbers, refused with a one-line message that names ``name``
    (:func:`check_numbers` quotes the array, over several lines for a 2-D one)."""
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be an array of numbers, got {value!r:.40}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    bad = array.size - int(np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ValueError(f"{name} must be finite, got {bad} nan or infinite value(s) among {array.size}")
    return array


def check_keep(name: str, value: object) -> float:
    """A keep fraction q in (0, 1] (curation keeps n of ceil(n / q) candidates)."""
    value = check_fraction(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0 (the share of candidates kept), got {value}")
    return value
