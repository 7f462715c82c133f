"""Generic measurements read from histories, samples and distributions.

Family-specific measurements (perplexity of an n-gram model, GAN mode metrics, ...) live next to
their family; what several lessons share lives here.
"""

from __future__ import annotations

import numpy as np

from .validation import check_finite_array, check_float, check_int, check_memory, check_numbers, check_probabilities


def entropy(p: np.ndarray, axis: int = -1, base: float = 2.0) -> np.ndarray:
    """Shannon entropy H(p) = -sum p log p along ``axis`` (0 log 0 = 0), in bits by default.
    ``p`` holds probabilities (>= 0, summing to 1 along ``axis``): divide counts by their total first."""
    p = check_probabilities("p", p, axis=axis, atol=1e-6)
    base = check_float("base", base, 0.0, strict_minimum=True)
    if base == 1.0:
        raise ValueError("base must be > 0 and not 1 (2 for bits, e for nats), got 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=axis) / np.log(base) + 0.0  # + 0.0: no -0.0 for a single category


def surviving(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Number of categories with a non-zero count along ``axis`` (counts: numbers >= 0)."""
    return np.count_nonzero(check_numbers("counts", counts, minimum=0.0), axis=axis)


def heterozygosity(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """1 - sum p_i^2: the chance that two independent draws differ (population genetics). ``p`` holds
    probabilities (>= 0, summing to 1 along ``axis``)."""
    p = check_probabilities("p", p, axis=axis, atol=1e-6)
    return 1.0 - np.sum(p**2, axis=axis)


def distinct_n(tokens: np.ndarray, n: int = 1) -> float:
    """distinct-n = (number of different n-grams) / (number of n-grams) in a token-id sequence
    (Li et al., "A Diversity-Promoting Objective Function for Neural Conversation Models", 2016)."""
    n = check_int("n", n, minimum=1)
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be a 1-D sequence of ids, got shape {tokens.shape}")
    if tokens.size < n:
        return 0.0
    grams = np.lib.stride_tricks.sliding_window_view(tokens, n)
    return len(np.unique(grams, axis=0)) / len(grams)


def w2_gaussian(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray | float, sigma2: np.ndarray | float) -> np.ndarray:
    """2-Wasserstein distance between 1-D Gaussians: sqrt((mu1 - mu2)^2 + (sigma1 - sigma2)^2)."""
    mu1, mu2 = check_numbers("mu1", mu1), check_numbers("mu2", mu2)
    sigma1, sigma2 = check_numbers("sigma1", sigma1, minimum=0.0), check_numbers("sigma2", sigma2, minimum=0.0)
    return np.sqrt((mu1 - mu2) ** 2 + (sigma1 - sigma2) ** 2)


# --------------------------------------------------------------------------- precision and recall


def _points(name: str, value: object, k: int | None = None) -> np.ndarray:
    """Finite points ``(m, p)``: m > k (a k-NN radius needs k other points) or, without k, m >= 1."""
    points = check_finite_array(name, value)
    if k is None and (points.ndim != 2 or points.shape[0] == 0):
        raise ValueError(f"{name} must be a non-empty (m, p) array of points, got shape {points.shape}")
    if k is not None and (points.ndim != 2 or points.shape[0] <= k):
        raise ValueError(f"{name} must be an (m, p) array with m > k = {k}, got shape {points.shape}")
    return points


def pairwise_distances(a: np.ndarray, b: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` ``(m, p)`` and ``b`` ``(r, p)``: ``(m, r)``."""
    chunk = check_int("chunk", chunk, minimum=1)
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"points must be (m, p) and (r, p) arrays, got {a.shape} and {b.shape}")
    check_memory(8.0 * a.shape[0] * b.shape[0], f"{a.shape[0]} x {b.shape[0]} distances", "use fewer points")
    b_sq = np.sum(b**2, axis=1)
    out = np.empty((a.shape[0], b.shape[0]))
    for start in range(0, a.shape[0], chunk):
        block = a[start : start + chunk]
        d2 = np.sum(block**2, axis=1)[:, None] + b_sq[None, :] - 2.0 * block @ b.T
        out[start : start + chunk] = np.sqrt(np.maximum(d2, 0.0))
    return out


def knn_radii(points: np.ndarray, k: int = 3) -> np.ndarray:
    """Distance from every point to its k-th nearest *other* point of the same set."""
    k = check_int("k", k, minimum=1)
    points = _points("points", points, k)
    distances = pairwise_distances(points, points)
    np.fill_diagonal(distances, np.inf)
    return np.partition(distances, k - 1, axis=1)[:, k - 1]


def manifold_share(reference: np.ndarray, query: np.ndarray, k: int = 3) -> float:
    """Share of ``query`` points inside the k-NN manifold of ``reference``: the union of the balls
    around each reference point with radius its distance to its k-th nearest reference neighbour.
    Both are finite ``(m, p)`` arrays with the same p; ``reference`` needs more than k points."""
    k = check_int("k", k, minimum=1)
    reference = _points("reference", reference, k)
    query = _points("query", query)
    if query.shape[1] != reference.shape[1]:
        raise ValueError(f"query must have reference's {reference.shape[1]} columns, got shape {query.shape}")
    radii = knn_radii(reference, k)
    inside = pairwise_distances(query, reference) <= radii[None, :]
    return float(inside.any(axis=1).mean())


def precision_recall(real: np.ndarray, generated: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of a generative model (Kynkaanniemi et al. 2019, arXiv:1904.06991):

        precision = share of generated points inside the k-NN manifold of the real points  (quality)
        recall    = share of real points inside the k-NN manifold of the generated points  (variety)

    ``real`` ``(m, p)`` and ``generated`` ``(r, p)`` are feature vectors (use as many of each: the
    balls grow as a set shrinks); k = 3 as in the paper. Both need more than k finite points."""
    k = check_int("k", k, minimum=1)
    real = _points("real", real, k)
    generated = _points("generated", generated, k)
    if generated.shape[1] != real.shape[1]:
        raise ValueError(f"generated must have real's {real.shape[1]} columns, got shape {generated.shape}")
    return manifold_share(real, generated, k), manifold_share(generated, real, k)
