"""Mode metrics for 2-D mixture targets, as the GAN mode-collapse literature defines them.

All functions take generated ``samples`` (shape ``(n, 2)``), the true mode centres ``modes``
(shape ``(K, 2)``) and the per-mode standard deviation ``std`` of the target mixture.

- **High quality** (VEEGAN, Srivastava et al. 2017, arXiv:1705.07761, Sec. 5.1): a sample is high
  quality if it lies within ``3 * std`` of its nearest mode.
- **Modes captured** (same paper): the number of modes that are the nearest mode of at least one
  high-quality sample. A stricter variant counts a mode only when at least ``min_count`` (e.g. 20)
  high-quality samples fall on it.
- **Reverse KL** (PacGAN, Lin et al. 2018, arXiv:1712.04086, Sec. 5.1): every sample is assigned
  to its nearest mode; with ``p`` the histogram of generated samples over the modes and ``q`` the
  true mode weights, reverse KL = KL(p || q) = sum_k p_k log(p_k / q_k). It is 0 for a perfect
  spread and log K when every sample sits on one of K equally weighted modes.

Pure numpy, so they run (and are tested) without torch.
"""

from __future__ import annotations

import numpy as np

from .validation import check_float, check_int


def _as_points(name: str, value: object) -> np.ndarray:
    """``value`` as a float array of 2-D points, shape (n, 2)."""
    try:
        points = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of 2-D points, shape (n, 2)") from None
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ValueError(f"{name} must hold finite numbers only (the generator diverged?)")
    return points


def _inputs(samples: object, modes: object, std: object) -> tuple[np.ndarray, np.ndarray, float]:
    samples = _as_points("samples", samples)
    modes = _as_points("modes", modes)
    if len(modes) == 0:
        raise ValueError("modes must hold at least one mode centre")
    std = check_float("std", std, 0.0, strict_minimum=True)
    return samples, modes, std


def nearest_mode(samples: np.ndarray, modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest mode of every sample and the Euclidean distance to it."""
    samples = _as_points("samples", samples)
    modes = _as_points("modes", modes)
    if len(modes) == 0:
        raise ValueError("modes must hold at least one mode centre")
    distances = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
    index = np.argmin(distances, axis=1) if len(samples) else np.zeros(0, dtype=int)
    return index, distances[np.arange(len(samples)), index]


def high_quality(samples: np.ndarray, modes: np.ndarray, std: float, n_std: float = 3.0) -> np.ndarray:
    """Boolean mask: is each sample within ``n_std * std`` of its nearest mode (VEEGAN's test)."""
    samples, modes, std = _inputs(samples, modes, std)
    n_std = check_float("n_std", n_std, 0.0, strict_minimum=True)
    _, distance = nearest_mode(samples, modes)
    return distance <= n_std * std


def mode_counts(
    samples: np.ndarray, modes: np.ndarray, std: float, n_std: float = 3.0, quality_only: bool = True
) -> np.ndarray:
    """How many samples fall on each mode: high-quality ones only (default) or all, by nearest mode."""
    samples, modes, std = _inputs(samples, modes, std)
    index, _ = nearest_mode(samples, modes)
    if quality_only:
        index = index[high_quality(samples, modes, std, n_std)]
    return np.bincount(index, minlength=len(modes))


def modes_captured(samples: np.ndarray, modes: np.ndarray, std: float, min_count: int = 1, n_std: float = 3.0) -> int:
    """Number of modes that are the nearest mode of at least ``min_count`` high-quality samples.

    ``min_count=1`` is VEEGAN's definition (arXiv:1705.07761); ``min_count=20`` is a stricter
    count that ignores a mode hit by a handful of stray samples.
    """
    min_count = check_int("min_count", min_count, minimum=1)
    return int(np.sum(mode_counts(samples, modes, std, n_std) >= min_count))


def high_quality_fraction(samples: np.ndarray, modes: np.ndarray, std: float, n_std: float = 3.0) -> float:
    """Share of samples that are high quality (within ``n_std * std`` of the nearest mode)."""
    mask = high_quality(samples, modes, std, n_std)
    if mask.size == 0:
        raise ValueError("samples must hold at least one sample")
    return float(np.mean(mask))


def reverse_kl(samples: np.ndarray, modes: np.ndarray, std: float = 1.0, weights: np.ndarray | None = None) -> float:
    """KL(p_generated || p_true) between mode histograms (PacGAN, arXiv:1712.04086).

    Every sample counts for its nearest mode (quality is not required; ``std`` is only checked).
    ``weights`` are the true mode probabilities (default: equal). Modes the generator never visits
    add nothing (0 log 0 = 0), so a collapse onto one of K equal modes gives log K.
    """
    samples, modes, std = _inputs(samples, modes, std)
    if len(samples) == 0:
        raise ValueError("samples must hold at least one sample")
    if weights is None:
        q = np.full(len(modes), 1.0 / len(modes))
    else:
        q = np.asarray(weights, dtype=float)
        if q.shape != (len(modes),) or np.any(q <= 0) or not np.all(np.isfinite(q)):
            raise ValueError(f"weights must be {len(modes)} positive numbers, one per mode")
        q = q / q.sum()
    p = mode_counts(samples, modes, std, quality_only=False) / len(samples)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0)
    return float(max(terms.sum(), 0.0))


def mode_report(
    samples: np.ndarray, modes: np.ndarray, std: float, strict_count: int = 20, n_std: float = 3.0
) -> dict[str, float | int]:
    """All the literature's numbers for one set of samples, in one dict:

    ``modes`` (>= 1 high-quality sample), ``modes_strict`` (>= ``strict_count``),
    ``high_quality`` (fraction in [0, 1]) and ``reverse_kl`` (nats).
    """
    counts = mode_counts(samples, modes, std, n_std)
    strict_count = check_int("strict_count", strict_count, minimum=1)
    return {
        "modes": int(np.sum(counts >= 1)),
        "modes_strict": int(np.sum(counts >= strict_count)),
        "high_quality": high_quality_fraction(samples, modes, std, n_std),
        "reverse_kl": reverse_kl(samples, modes, std),
    }
