"""Closed forms that the lessons plot next to their simulations.

One section per model family. Generation 0 is the real world; generation t is the t-th fitted
model (the convention of :mod:`collapse_edu.loop`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, ndtri, polygamma

from .validation import check_fraction, check_int

# --------------------------------------------------------------------------- Gaussian
# Refitting N(mu, sigma^2) to n of its own samples (Shumailov et al., Nature 2024):
#   sigma_{t+1}^2 = sigma_t^2 * chi2_{n-1} / (n - ddof),   mu_{t+1} ~ N(mu_t, sigma_t^2 / n).


def _gaussian_args(n: int, ddof: int) -> tuple[int, int]:
    n = check_int("n", n, minimum=2)
    ddof = check_int("ddof", ddof, minimum=0, maximum=1)
    return n, ddof


def variance_factor(n: int, ddof: int = 0) -> float:
    """a = E[sigma_{t+1}^2 / sigma_t^2] = (n - 1) / (n - ddof): (n-1)/n for the MLE, 1 if unbiased."""
    n, ddof = _gaussian_args(n, ddof)
    return (n - 1) / (n - ddof)


def expected_variance(t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """E[sigma_t^2] = a^t sigma0^2."""
    return sigma0**2 * variance_factor(n, ddof) ** np.asarray(t, float)


def expected_sigma(t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """E[sigma_t] = sigma0 c^t with c = E[sqrt(chi2_{n-1} / (n - ddof))]
    = sqrt(2 / (n - ddof)) Gamma(n/2) / Gamma((n-1)/2)  (exact)."""
    n, ddof = _gaussian_args(n, ddof)
    log_c = 0.5 * np.log(2.0 / (n - ddof)) + gammaln(n / 2) - gammaln((n - 1) / 2)
    return sigma0 * np.exp(log_c * np.asarray(t, float))


def log_sigma_drift(n: int, ddof: int = 0) -> float:
    """E[log(sigma_{t+1} / sigma_t)] = (digamma((n-1)/2) + log(2 / (n - ddof))) / 2, about -1/n (MLE)."""
    n, ddof = _gaussian_args(n, ddof)
    return 0.5 * (digamma((n - 1) / 2) + np.log(2.0 / (n - ddof)))


def sigma_quantile(q: float, t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """Quantile q of sigma_t. log sigma_t is a sum of t independent log-chi terms, so by the central
    limit theorem it is about Normal(t * drift, t * trigamma((n-1)/2) / 4); exact at t = 0 and 1 in
    the median to O(1/n)."""
    q = check_fraction("q", q)
    n, ddof = _gaussian_args(n, ddof)
    t = np.asarray(t, float)
    spread = np.sqrt(t * polygamma(1, (n - 1) / 2) / 4)
    z = ndtri(q) if 0 < q < 1 else np.copysign(np.inf, q - 0.5)
    return sigma0 * np.exp(t * log_sigma_drift(n, ddof) + z * spread)


def median_sigma_rule_of_thumb(t: np.ndarray | int, n: int, sigma0: float = 1.0) -> np.ndarray:
    """median sigma_t ~ sigma0 exp(-t / n) for the MLE: the e-folding time of collapse is n generations."""
    n = check_int("n", n, minimum=2)
    return sigma0 * np.exp(-np.asarray(t, float) / n)


def mean_drift_mse(t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """E[(mu_t - mu_0)^2] = (sigma0^2 / n) sum_{s<t} a^s; for the MLE (n(1-a) = 1) this is sigma0^2 (1 - a^t)."""
    a = variance_factor(n, ddof)
    t = np.asarray(t, float)
    geometric = t if a == 1.0 else (1.0 - a**t) / (1.0 - a)
    return sigma0**2 * geometric / n


def expected_w2_squared(t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """E[W2^2] between generation t and the original, W2^2 = (mu_t - mu_0)^2 + (sigma_t - sigma0)^2:
    E = E[(mu_t-mu_0)^2] + E[sigma_t^2] - 2 sigma0 E[sigma_t] + sigma0^2 (exact)."""
    return (
        mean_drift_mse(t, n, ddof, sigma0)
        + expected_variance(t, n, ddof, sigma0)
        - 2 * sigma0 * expected_sigma(t, n, ddof, sigma0)
        + sigma0**2
    )
