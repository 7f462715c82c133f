"""Generic measurements read from histories, samples and distributions.

Family-specific measurements (perplexity of an n-gram model, GAN mode metrics, ...) live next to
their family; what several lessons share lives here.
"""

from __future__ import annotations

import numpy as np

from .validation import check_int


def entropy(p: np.ndarray, axis: int = -1, base: float = 2.0) -> np.ndarray:
    """Shannon entropy H(p) = -sum p log p along ``axis`` (0 log 0 = 0), in bits by default."""
    p = np.asarray(p, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=axis) / np.log(base)


def surviving(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Number of categories with a non-zero count along ``axis``."""
    return np.count_nonzero(np.asarray(counts), axis=axis)


def heterozygosity(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """1 - sum p_i^2: the chance that two independent draws differ (population genetics)."""
    p = np.asarray(p, float)
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
    return np.sqrt((np.asarray(mu1) - mu2) ** 2 + (np.asarray(sigma1) - sigma2) ** 2)
