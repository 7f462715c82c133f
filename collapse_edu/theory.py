"""Closed forms that the lessons plot next to their simulations.

One section per model family. Generation 0 is the real world; generation t is the t-th fitted
model (the convention of :mod:`collapse_edu.loop`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma, gammaln, ndtri, polygamma

from .environment import one_blas_thread
from .validation import (
    check_float,
    check_fraction,
    check_int,
    check_keep,
    check_memory,
    check_numbers,
    check_probabilities,
    check_times,
)

# --------------------------------------------------------------------------- Gaussian
# Refitting N(mu, sigma^2) to n of its own samples (Shumailov et al., Nature 2024):
#   sigma_{t+1}^2 = sigma_t^2 * chi2_{n-1} / (n - ddof),   mu_{t+1} ~ N(mu_t, sigma_t^2 / n).


def _t(t: object, integer: bool = False) -> np.ndarray:
    """Generation numbers t >= 0 (finite; whole numbers where they index a recursion)."""
    return check_times("t", t, integer=integer)


def _steps(t: object) -> np.ndarray:
    """Whole generation numbers for a recursion that is run up to max(t): refused if too long to hold."""
    t = _t(t, integer=True)
    last = float(np.max(t, initial=0))
    check_memory(32.0 * (last + 1), f"t up to {last:g}", "ask for fewer generations")
    return t.astype(int)


#: the largest sigma0 of the Gaussian closed forms: they square it (and 1e308 is the largest float)
MAX_SIGMA0 = 1e150


def _sigma0(sigma0: object) -> float:
    sigma0 = check_float("sigma0", sigma0, 0.0, strict_minimum=True)
    if sigma0 > MAX_SIGMA0:
        raise ValueError(f"sigma0 must be <= {MAX_SIGMA0:g} (the formulas square it), got {sigma0:g}")
    return sigma0


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
    return _sigma0(sigma0) ** 2 * variance_factor(n, ddof) ** _t(t)


def expected_sigma(t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """E[sigma_t] = sigma0 c^t with c = E[sqrt(chi2_{n-1} / (n - ddof))]
    = sqrt(2 / (n - ddof)) Gamma(n/2) / Gamma((n-1)/2)  (exact)."""
    n, ddof = _gaussian_args(n, ddof)
    log_c = 0.5 * np.log(2.0 / (n - ddof)) + gammaln(n / 2) - gammaln((n - 1) / 2)
    return _sigma0(sigma0) * np.exp(log_c * _t(t))


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
    t = _t(t)
    spread = np.sqrt(t * polygamma(1, (n - 1) / 2) / 4)
    z = ndtri(q) if 0 < q < 1 else np.copysign(np.inf, q - 0.5)
    return _sigma0(sigma0) * np.exp(t * log_sigma_drift(n, ddof) + z * spread)


def median_sigma_rule_of_thumb(t: np.ndarray | int, n: int, sigma0: float = 1.0) -> np.ndarray:
    """median sigma_t ~ sigma0 exp(-t / n) for the MLE: the e-folding time of collapse is n generations."""
    n = check_int("n", n, minimum=2)
    return _sigma0(sigma0) * np.exp(-_t(t) / n)


def mean_drift_mse(t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """E[(mu_t - mu_0)^2] = (sigma0^2 / n) sum_{s<t} a^s; for the MLE (n(1-a) = 1) this is sigma0^2 (1 - a^t)."""
    a = variance_factor(n, ddof)
    t = _t(t)
    geometric = t if a == 1.0 else (1.0 - a**t) / (1.0 - a)
    return _sigma0(sigma0) ** 2 * geometric / n


def expected_w2_squared(t: np.ndarray | int, n: int, ddof: int = 0, sigma0: float = 1.0) -> np.ndarray:
    """E[W2^2] between generation t and the original, W2^2 = (mu_t - mu_0)^2 + (sigma_t - sigma0)^2:
    E = E[(mu_t-mu_0)^2] + E[sigma_t^2] - 2 sigma0 E[sigma_t] + sigma0^2 (exact)."""
    return (
        mean_drift_mse(t, n, ddof, sigma0)
        + expected_variance(t, n, ddof, sigma0)
        - 2 * sigma0 * expected_sigma(t, n, ddof, sigma0)
        + sigma0**2
    )


# --------------------------------------------------------------------------- Gaussian tails (lesson 01)
# The mass a fitted model keeps beyond the original's k-sigma tails, P(|X - mu0| > k sigma0) for
# X ~ N(mu_t, sigma_t^2) (Shumailov et al., Nature 2024, arXiv:2305.17493: "tails go first").


# numpy's hermegauss overflows beyond about 370 nodes (a grid of zero weights: every quantile came out 0) and
# needs memory growing as nodes^2 (10^15 nodes: a MemoryError); 300 nodes (a 300 x 300 grid) take half a second.
MAX_HERMITE_NODES = 300


def tail_mass_quantile(
    q: float, t: np.ndarray | int, n: int, ddof: int = 0, threshold: float = 3.0, nodes: int = 48
) -> np.ndarray:
    """Approximate quantile q (over runs) of generation t's mass beyond the original's
    ``threshold``-sigma tails (sigma0 = 1, mu0 = 0).

    Approximation: log sigma_t ~ Normal(t * drift, t * trigamma((n-1)/2) / 4) as in
    :func:`sigma_quantile`, and mu_t ~ N(0, E[(mu_t - mu_0)^2]) treated as independent of sigma_t;
    the quantile is read off a Gauss-Hermite grid over both. For the median at n = 100: within
    about 15% of 200,000 simulated runs up to t = 80, then too high (about 1.8 times at t = 100), and
    the upper quantiles come out too low, both because |mu_t| and sigma_t are positively correlated in
    the simulation. ``nodes`` per axis: 2 to :data:`MAX_HERMITE_NODES`.
    """
    from scipy.special import ndtr

    q = check_fraction("q", q)
    n, ddof = _gaussian_args(n, ddof)
    nodes = check_int("nodes", nodes, minimum=2, maximum=MAX_HERMITE_NODES)
    threshold = check_float("threshold", threshold, 0.0, strict_minimum=True)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    weights = np.outer(w, w).ravel() / np.sum(w) ** 2
    t = _t(t)
    out = np.empty(t.shape)
    for index, tt in np.ndenumerate(t):
        mu = np.sqrt(mean_drift_mse(tt, n, ddof)) * x
        log_sigma = tt * log_sigma_drift(n, ddof) + np.sqrt(tt * polygamma(1, (n - 1) / 2) / 4) * x
        sigma = np.exp(log_sigma)
        mass = (ndtr((-threshold - mu[:, None]) / sigma) + ndtr((mu[:, None] - threshold) / sigma)).ravel()
        order = np.argsort(mass)
        position = np.searchsorted(np.cumsum(weights[order]), q * (1 - 1e-12))
        out[index] = mass[order][min(position, mass.size - 1)]
    return out


# --------------------------------------------------------------------------- real vs synthetic (lesson 05)
# Linear regression in the loop (x ~ N(0, I_d), T rows per generation, label noise sigma^2): the
# test error of fit t is E|w_t - w*|^2 (the excess risk for isotropic x); generation 0 is the truth.
# Gerstgrasser et al., "Is Model Collapse Inevitable?", arXiv:2404.01413; Dohmatob et al., "Model
# Collapse Demystified", arXiv:2402.07712; "Strong Model Collapse", arXiv:2410.04840; "A Tale of
# Tails", arXiv:2402.07043; Alemohammad et al., "Self-Consuming Generative Models Go MAD",
# arXiv:2307.01850.


def _positive(name: str, value: float) -> float:
    from .validation import check_float

    return check_float(name, value, 0.0)


def regression_constant(dim: int, samples: int, noise: float = 1.0) -> float:
    """c = sigma^2 d / (T - d - 1) = sigma^2 E tr (X^T X)^{-1}: the test error of one least-squares
    fit on T Gaussian rows (needs T > d + 1)."""
    dim = check_int("dim", dim, minimum=1)
    samples = check_int("samples", samples, minimum=dim + 2)
    return _positive("noise", noise) ** 2 * dim / (samples - dim - 1)


def regression_error_replace(t: np.ndarray | int, dim: int, samples: int, noise: float = 1.0) -> np.ndarray:
    """Replace: every fit adds an independent error of size c, so E|w_t - w*|^2 = c t."""
    return regression_constant(dim, samples, noise) * _t(t)


def regression_error_accumulate(
    t: np.ndarray | int, dim: int, samples: int, noise: float = 1.0, design: str = "fixed"
) -> np.ndarray:
    """Accumulate (all real and synthetic data kept).

    ``design="fixed"`` (the same X relabelled each generation): w_t - w* = sum_{i<=t} A eps_i / i
    with A = (X^T X)^{-1} X^T, so E|w_t - w*|^2 = c sum_{i<=t} 1/i^2 < c pi^2/6.
    ``design="fresh"`` (new features each generation): sum_{i<=t} sigma^2 d / (i (i T - d - 1)).
    """
    from .validation import check_choice

    design = check_choice("design", design, ("fixed", "fresh"))
    c = regression_constant(dim, samples, noise)
    t = _steps(t)
    i = np.arange(1, int(np.max(t, initial=0)) + 1, dtype=float)
    if design == "fixed":
        terms = c / i**2
    else:
        terms = noise**2 * dim / (i * (i * samples - dim - 1))
    return np.concatenate([[0.0], np.cumsum(terms)])[t]


def synthetic_gram_factor(dim: int, samples: int, synthetic_fraction: float) -> float:
    """kappa = E|G^{-1} G_s delta|^2 / |delta|^2 ~ p^2 + p (1 - p) (d + 1) / T, with G the Gram matrix
    of T Gaussian rows and G_s that of its p T synthetic rows (approximate; the (d+1)/T term is the
    fluctuation of the share the synthetic rows get, good to a few % for T >= 5 d)."""
    dim = check_int("dim", dim, minimum=1)
    samples = check_int("samples", samples, minimum=dim + 2)
    p = round(check_fraction("synthetic_fraction", synthetic_fraction) * samples) / samples
    return p**2 + p * (1 - p) * (dim + 1) / samples


def regression_error_fresh_real(
    t: np.ndarray | int, dim: int, samples: int, real_fraction: float, noise: float = 1.0
) -> np.ndarray:
    """Fresh-real (fresh features, a fraction r of real labels each generation):
    e_t = G^{-1} G_s e_{t-1} + G^{-1} X^T eps, so E_t = kappa E_{t-1} + c with kappa of
    :func:`synthetic_gram_factor` (p = 1 - r), E_0 = 0: E_t = c (1 - kappa^t) / (1 - kappa),
    bounded by c / (1 - kappa) ~ c / (1 - (1 - r)^2). Approximate through kappa."""
    real_fraction = check_fraction("real_fraction", real_fraction)
    c = regression_constant(dim, samples, noise)
    kappa = synthetic_gram_factor(dim, samples, 1.0 - real_fraction)
    t = _t(t)
    return c * t if kappa == 1.0 else c * (1.0 - kappa**t) / (1.0 - kappa)


def strong_collapse_error(
    n: np.ndarray | int, dim: int, synthetic_fraction: float, noise: float = 1.0, shift: float = 1.0
) -> np.ndarray:
    """Least squares on n rows, a fraction p labelled by w* + delta (Dohmatob et al., arXiv:2410.04840):
    E|w_hat - w*|^2 = sigma^2 d / (n - d - 1) + |delta|^2 (p^2 + p (1 - p) g), g ~ (d + 1) / n.
    p is the realised fraction round(p n) / n."""
    dim = check_int("dim", dim, minimum=1)
    p = check_fraction("synthetic_fraction", synthetic_fraction)
    noise, shift = _positive("noise", noise), _positive("shift", shift)
    n = check_times("n", n, integer=True)  # a number of rows (or an array of them)
    if np.any(n < dim + 2):
        raise ValueError(f"n must be >= dim + 2 = {dim + 2}, got {np.min(n):g}")
    p = np.round(p * n) / n
    return noise**2 * dim / (n - dim - 1) + shift**2 * (p**2 + p * (1 - p) * (dim + 1) / n)


def strong_collapse_floor(synthetic_fraction: float, shift: float = 1.0) -> float:
    """The error that no amount of data removes: p^2 |delta|^2."""
    return check_fraction("synthetic_fraction", synthetic_fraction) ** 2 * _positive("shift", shift) ** 2


def gaussian_accumulate_moments(
    t: np.ndarray | int, n: int, scale: float = 1.0, sigma0: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Accumulate for the 1-D Gaussian (MLE), exact: (E[sigma_t^2], E[(mu_t - mu_0)^2]).

    Model t is fitted on N_t = t n points. Adding n draws from N(mu_t, (lambda sigma_t)^2) adds to
    the scatter lambda^2 sigma_t^2 chi2_{n-1} plus the between term N_t n / N_{t+1} (mean shift)^2, so
    N_{t+1} s_{t+1} = s_t (N_t + lambda^2 (n - 1 + N_t / N_{t+1})), and the pooled mean moves by
    (n / N_{t+1}) lambda sigma_t z / sqrt(n): m_{t+1} = m_t + n lambda^2 s_t / N_{t+1}^2;
    s_1 = a sigma0^2, m_1 = sigma0^2 / n (the first fit sees the real data)."""
    from .validation import check_float

    n = check_int("n", n, minimum=2)
    lam2 = check_float("scale", scale, 0.0, strict_minimum=True) ** 2
    sigma0 = _sigma0(sigma0)
    t = _steps(t)
    last = int(np.max(t, initial=0))
    s, m = np.empty(last + 1), np.empty(last + 1)
    s[0], m[0] = 1.0, 0.0
    if last >= 1:
        s[1], m[1] = (n - 1) / n, 1.0 / n
    for k in range(1, last):
        size, grown = k * n, (k + 1) * n
        s[k + 1] = s[k] * (size + lam2 * (n - 1 + size / grown)) / grown
        m[k + 1] = m[k] + n * lam2 * s[k] / grown**2
    return sigma0**2 * s[t], sigma0**2 * m[t]


def biased_sampling_moments(
    t: np.ndarray | int, n: int, scale: float = 1.0, real_fraction: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (E[sigma_t^2], E[mu_t^2]) for the MLE Gaussian loop (truth N(0, 1)) whose generation
    mixes n_r = round(r n) fresh real draws with n_s = n - n_r draws from N(mu_t, (lambda sigma_t)^2)
    (Alemohammad et al., arXiv:2307.01850). Splitting the pooled scatter into within-group and
    between-group parts (r = n_r / n, a = (n - 1)/n):

        s_{t+1} = a r + a (1 - r) lambda^2 s_t + r (1 - r) m_t
        m_{t+1} = (r + (1 - r) lambda^2 s_t) / n + (1 - r)^2 m_t

    with s_1 = a, m_1 = 1/n (the first fit sees only real data). With r = 0: s_t = a^t lambda^(2(t-1))."""
    from .validation import check_float

    n = check_int("n", n, minimum=2)
    lam2 = check_float("scale", scale, 0.0, strict_minimum=True) ** 2
    r = round(check_fraction("real_fraction", real_fraction) * n) / n
    a = (n - 1) / n
    t = _steps(t)
    last = int(np.max(t, initial=0))
    s, m = np.empty(last + 1), np.empty(last + 1)
    s[0], m[0] = 1.0, 0.0
    if last >= 1:
        s[1], m[1] = a, 1.0 / n
    for k in range(1, last):
        s[k + 1] = a * r + a * (1 - r) * lam2 * s[k] + r * (1 - r) * m[k]
        m[k + 1] = (r + (1 - r) * lam2 * s[k]) / n + (1 - r) ** 2 * m[k]
    return s[t], m[t]


def biased_sampling_fixed_point(n: int, scale: float = 1.0, real_fraction: float = 0.5) -> float:
    """Stationary E[sigma^2] of :func:`biased_sampling_moments` for r > 0:
    a' r / (1 - a' (1 - r) lambda^2) with a' = a + (1 - r) / (n (2 - r)); the (1 - r)/(n (2 - r))
    is the between-group term, from the stationary E[mu^2] = (r + (1 - r) lambda^2 s) / (n r (2 - r))."""
    from .validation import check_float

    n = check_int("n", n, minimum=2)
    lam2 = check_float("scale", scale, 0.0, strict_minimum=True) ** 2
    r = round(check_fraction("real_fraction", real_fraction) * n) / n
    if r == 0:
        raise ValueError("real_fraction must be >= 1/(2n) for a fixed point (with no real data sigma -> 0)")
    a_prime = (n - 1) / n + (1 - r) / (n * (2 - r))
    if a_prime * (1 - r) * lam2 >= 1:
        raise ValueError(
            f"no fixed point: with scale={scale} the variance grows without bound (it needs "
            f"a'(1 - r) scale^2 < 1, here {a_prime * (1 - r) * lam2:.3g}); use a smaller scale or more real data"
        )
    return a_prime * r / (1 - a_prime * (1 - r) * lam2)


def zipf_probabilities(items: int, beta: float) -> np.ndarray:
    """p_i = i^-beta / sum_j j^-beta for ranks i = 1..items."""
    from .validation import check_float

    items = check_int("items", items, minimum=1)
    beta = check_float("beta", beta, 1.0, strict_minimum=True)
    check_memory(24.0 * items, f"items = {items}", "use fewer items")
    weights = np.arange(1, items + 1, dtype=float) ** -beta
    return weights / weights.sum()


def memoriser_error(
    samples: np.ndarray | int, beta: float, items: int = 100_000, cutoff: int | None = None
) -> np.ndarray:
    """Expected test error of a memoriser (Dohmatob et al., "A Tale of Tails", arXiv:2402.07043): the
    probability mass of items it never saw in T training draws. Training draws come from the Zipf law
    cut at rank k (renormalised, q_i = p_i / P(i <= k)); tests from the full law:

        E = sum_{i > k} p_i + sum_{i <= k} p_i (1 - q_i)^T.
    """
    p = zipf_probabilities(items, beta)
    k = items if cutoff is None else check_int("cutoff", cutoff, minimum=1, maximum=items)
    q = p[:k] / p[:k].sum()
    samples = check_times("samples", samples)
    unseen = np.exp(np.multiply.outer(samples, np.log1p(-np.minimum(q, 1 - 1e-16))))
    return p[k:].sum() + unseen @ p[:k]


def memoriser_power_law(samples: np.ndarray | int, beta: float, items: int = 100_000) -> np.ndarray:
    """Clean scaling law for the memoriser: E ~ Gamma(1 - 1/beta) C^(1/beta) / beta * T^-(1 - 1/beta),
    C = 1 / sum_i i^-beta (from sum_i p_i exp(-T p_i) as an integral)."""
    from scipy.special import gamma

    c = zipf_probabilities(items, beta)[0]
    samples = check_times("samples", samples)
    if np.any(samples == 0):
        raise ValueError("samples must be > 0 (the power law is infinite at T = 0; memoriser_error(0, ...) is 1)")
    return gamma(1 - 1 / beta) * c ** (1 / beta) / beta * samples ** -(1 - 1 / beta)


# --------------------------------------------------------------------------- Categorical
# Refitting empirical frequencies to n multinomial draws is the neutral Wright-Fisher model
# (Fisher 1930; Wright 1931; Kimura, "Solution of a process of random genetic drift with a
# continuous model", PNAS 41, 1955). One category's count alone is a Markov chain:
#   replace:     X_{t+1} ~ Binomial(n, X_t / n)
#   fresh-real:  X_{t+1} ~ Binomial(n_r, p0) + Binomial(n - n_r, X_t / n),  n_r = round(r n)
#   accumulate:  the pool keeps every real item, so a category seen once is never lost.
# Generation 1 is the first fit (to n real draws), so generation t has seen t resampling steps.
# Lessons: Shumailov et al., Nature 2024 (arXiv:2305.17493); Dohmatob et al., "A Tale of Tails",
# arXiv:2402.07043.

CATEGORICAL_POLICIES = ("replace", "accumulate", "fresh-real")


def _categorical_policy(policy: str, real_fraction: float) -> tuple[str, float]:
    from .validation import check_choice

    if policy == "accumulate-subsample":
        raise ValueError("policy 'accumulate-subsample' has no closed form here; simulate it instead")
    policy = check_choice("policy", policy, CATEGORICAL_POLICIES)
    real_fraction = check_fraction("real_fraction", real_fraction)
    if policy != "fresh-real" and real_fraction != 0:
        raise ValueError(f"real_fraction is only used with policy='fresh-real', got policy={policy!r}")
    return policy, real_fraction


def _probability_vector(p0: object) -> np.ndarray:
    return check_probabilities("p0", p0)


def loss_probability(c: np.ndarray | float, n: int) -> np.ndarray:
    """P(a category with count c among n is absent from n new draws) = (1 - c/n)^n, about e^-c."""
    n = check_int("n", n, minimum=1)
    c = check_times("c", c)
    if np.any(c > n):
        raise ValueError(f"c must lie in [0, n] = [0, {n}]")
    return (1.0 - c / n) ** n


def loss_probability_poisson(c: np.ndarray | float) -> np.ndarray:
    """The large-n limit of :func:`loss_probability`: e^-c (Poisson(c) draws of the category)."""
    return np.exp(-check_times("c", c))


def expected_surviving_one_step(p: object, n: int) -> float:
    """E[categories present in n draws from p] = sum_i 1 - (1 - p_i)^n (exact)."""
    n = check_int("n", n, minimum=1)
    p = _probability_vector(p)
    return float(np.sum(np.where(p > 0, 1.0 - (1.0 - p) ** n, 0.0)))


def _binomial_pmf(draws: int, q: np.ndarray) -> np.ndarray:
    """Rows P(Binomial(draws, q_j) = k), k = 0..draws, one row per q_j (log-space, exact to ~1e-13)."""
    from scipy.special import xlog1py, xlogy

    k = np.arange(draws + 1)[None, :]
    q = np.asarray(q, float)[:, None]
    log_choose = gammaln(draws + 1) - gammaln(k + 1) - gammaln(draws - k + 1)
    return np.exp(log_choose + xlogy(k, q) + xlog1py(draws - k, -q))


def _binomial_rows(n: int, draws: int) -> np.ndarray:
    """Matrix M[j, k] = P(Binomial(draws, j / n) = k), j = 0..n, k = 0..draws."""
    return _binomial_pmf(draws, np.arange(n + 1) / n)


MAX_EXACT_N = 4000


def survival_probability(
    p0: object, n: int, generations: int, policy: str = "replace", real_fraction: float = 0.0
) -> np.ndarray:
    """P(category i still has p > 0 in the model of generation t), shape ``(generations + 1, K)`` (exact).

    Each category's count X^(i) is the one-category Markov chain above. replace: backward recursion
    u_{s+1} = M u_s with u_s(j) = P(count 0 after s more steps | count j), cost O(n^2 T).
    fresh-real: the count distribution of each distinct p0 value is pushed forward (upper tail
    < 1e-14 trimmed), cost up to O(K n (n - n_r) T). accumulate: 1 - (1 - p_i)^n for every t >= 1.
    """
    with one_blas_thread():  # many small matrix products: a second BLAS thread only waits
        return _survival_probability(p0, n, generations, policy, real_fraction)


def _survival_probability(p0: object, n: int, generations: int, policy: str, real_fraction: float) -> np.ndarray:
    p0 = _probability_vector(p0)
    n = check_int("n", n, minimum=1, maximum=MAX_EXACT_N)
    generations = check_int("generations", generations, minimum=0)
    policy, real_fraction = _categorical_policy(policy, real_fraction)
    n_real = int(round(real_fraction * n)) if policy == "fresh-real" else 0
    values, inverse = np.unique(p0, return_inverse=True)
    check_memory(8.0 * (generations + 1) * (p0.size + n + 1), f"generations = {generations}", "ask for fewer")
    alive = np.empty((generations + 1, values.size))
    alive[0] = values > 0
    if generations > 0:
        first = _binomial_pmf(n, values)  # counts after the first fit (n real draws)
        if policy == "accumulate" or n_real == n:
            # accumulate: never lost after the first fit; r = 1: every generation is a fresh real draw
            alive[1:] = 1.0 - first[:, 0]
        elif n_real == 0:
            step = _binomial_rows(n, n)
            u = np.zeros(n + 1)
            u[0] = 1.0
            backward = np.empty((generations, n + 1))
            for s in range(generations):
                backward[s] = u
                u = step @ u
            alive[1:] = 1.0 - backward @ first.T  # P(count 0 at generation 1..T)
        else:
            step = _binomial_rows(n, n - n_real)
            chunks = np.array_split(values, -(-values.size // 32))  # similar frequencies share a trimmed width
            lost = np.concatenate([_fresh_real_lost(chunk, step, n_real, generations) for chunk in chunks])
            alive[1:] = 1.0 - lost.T
    return alive[:, inverse]


def expected_surviving(
    p0: object, n: int, generations: int, policy: str = "replace", real_fraction: float = 0.0
) -> np.ndarray:
    """E[number of categories the model of generation t still has], t = 0..generations (exact):
    by linearity, sum_i :func:`survival_probability`. After one generation it is
    sum_i 1 - (1 - p_i)^n; under accumulate it stays there."""
    return survival_probability(p0, n, generations, policy, real_fraction).sum(axis=1)


def _fresh_real_lost(values: np.ndarray, step: np.ndarray, n_real: int, generations: int) -> np.ndarray:
    """P(count 0 at generation 1..T) for categories of true frequency ``values`` under fresh-real:
    the count distribution is pushed forward, X' = Binomial(n - n_r, X / n) + Binomial(n_r, p0),
    ``step`` being the synthetic part's transition matrix."""
    n = step.shape[0] - 1
    reach = step.shape[1] - np.argmax(step[:, ::-1] > 1e-17, axis=1)  # columns worth keeping, per row
    real = _trim(_binomial_pmf(n_real, values))
    v = _binomial_pmf(n, values)  # generation 1: n real draws
    lost = np.empty((values.size, generations))
    lost[:, 0] = v[:, 0]
    for t in range(1, generations):
        v = _trim(v)
        w = _trim(v @ step[: v.shape[1], : reach[v.shape[1] - 1]])
        v = np.zeros((values.size, w.shape[1] + real.shape[1] - 1))
        for k in range(real.shape[1]):  # convolution with the real draws' counts
            v[:, k : k + w.shape[1]] += real[:, k : k + 1] * w
        lost[:, t] = v[:, 0]
    return lost


def _trim(v: np.ndarray, tail: float = 1e-14) -> np.ndarray:
    """Drop trailing count columns whose probability is below ``tail`` in every row."""
    keep = np.flatnonzero(v.max(axis=0) > tail)
    return v[:, : (keep.max() + 1 if keep.size else 1)]


def heterozygosity_of(p0: object) -> float:
    """H = 1 - sum p_i^2: the chance that two independent draws differ."""
    p0 = _probability_vector(p0)
    return float(1.0 - np.sum(p0**2))


#: the largest population n of the categorical drift formulas: beyond it 1 - 1/n rounds to 1 in floating
#: point and they return nan (or lose their precision)
MAX_DRIFT_N = 10**15


def _population(n: object) -> int:
    """The number of draws n per generation of the categorical drift formulas, in [1, MAX_DRIFT_N]."""
    n = check_int("n", n, minimum=1)
    if n > MAX_DRIFT_N:
        raise ValueError(f"n must be <= 10^15 (beyond it 1 - 1/n rounds to 1 in floating point), got {n}")
    return n


def _fresh_real_factor(n: int, real_fraction: float) -> tuple[float, float]:
    """(a, b) of the variance recursion V_{t+1} = a V_t + p0(1 - p0) / n with n_r = round(r n):
    a = (1 - r)^2 - (1 - r) / n, and b = n (1 - a) = n (1 - (1 - r)^2) + (1 - r)."""
    r = int(round(real_fraction * n)) / n
    a = (1.0 - r) ** 2 - (1.0 - r) / n
    return a, n * (1.0 - a)


def frequency_variance(t: np.ndarray | int, p0: float | np.ndarray, n: int, real_fraction: float = 0.0) -> np.ndarray:
    """Var[p_t] of a category with true frequency p0, fresh-real policy with fraction r (r = 0:
    replace). E[p_t] = p0 always; V_t = p0 (1 - p0) (1 - a^t) / b with a, b as in
    :func:`stationary_frequency_variance` (derived from V_{t+1} = (1-r)^2 V_t + E[Var(p'|p)],
    V_0 = 0). For r = 0 it is p0 (1 - p0) (1 - (1 - 1/n)^t)."""
    n = _population(n)
    real_fraction = check_fraction("real_fraction", real_fraction)
    a, b = _fresh_real_factor(n, real_fraction)
    p0 = _frequency(p0)
    return p0 * (1.0 - p0) * (1.0 - a ** _t(t)) / b


def stationary_frequency_variance(p0: float | np.ndarray, n: int, real_fraction: float) -> np.ndarray:
    """Long-run Var[p] under fresh-real: p0 (1 - p0) / (n (1 - (1 - r)^2) + (1 - r)),
    about p0 (1 - p0) / (2 n_r) for small r: the NUMBER of real samples n_r = r n sets it."""
    n = _population(n)
    real_fraction = _check_positive_fraction(real_fraction)
    _, b = _fresh_real_factor(n, real_fraction)
    p0 = _frequency(p0)
    return p0 * (1.0 - p0) / b


def _frequency(p0: object) -> np.ndarray:
    """A category's true frequency (or an array of them), each in [0, 1]."""
    p0 = check_times("p0", p0)
    if np.any(p0 > 1):
        raise ValueError(f"p0 must lie in [0, 1], got {p0!r}")
    return p0


def _check_positive_fraction(real_fraction: object) -> float:
    """A real fraction in (0, 1] (with r = 0 there is no stationary spread: every run fixes)."""
    real_fraction = check_fraction("real_fraction", real_fraction)
    if real_fraction == 0:
        raise ValueError("real_fraction must be > 0 for a stationary variance (with r = 0 every run fixes)")
    return real_fraction


def expected_heterozygosity(
    t: np.ndarray | int, n: int, h0: float = 1.0, policy: str = "replace", real_fraction: float = 0.0
) -> np.ndarray:
    """E[1 - sum p_t^2] after t generations, starting from heterozygosity h0 (exact).

    replace: h0 (1 - 1/n)^t.  fresh-real: h0 (1 - (1 - a^t) / b) (sum of :func:`frequency_variance`
    over categories).  accumulate: h0 prod_{s=1..t} (1 - 1 / (n s^2)), which stays above
    h0 sin(pi / sqrt(n)) / (pi / sqrt(n)), about h0 (1 - pi^2 / (6 n)): accumulating stops the drift.
    """
    n = _population(n)
    policy, real_fraction = _categorical_policy(policy, real_fraction)
    h0 = check_fraction("h0", h0)
    t = _t(t)
    if policy == "accumulate":
        t = _steps(t)
        t_max = int(np.max(t)) if t.size else 0
        factors = np.cumprod(np.concatenate([[1.0], 1.0 - 1.0 / (n * np.arange(1, t_max + 1) ** 2)]))
        return h0 * factors[t.astype(int)]
    a, b = _fresh_real_factor(n, real_fraction)
    return h0 * (1.0 - (1.0 - a ** t.astype(float)) / b)


def fixation_probability(p0: object) -> np.ndarray:
    """P(category i is the one left in the end) = p0_i under neutral drift (Kimura, Genetics 47, 1962)."""
    return _probability_vector(p0).copy()


def expected_fixation_time(p0: object, n: int) -> float:
    """Mean generations until one category is left: -2n sum_i (1 - p_i) ln(1 - p_i).

    Diffusion approximation (Littler, "Loss of variability at one locus in a finite population",
    Math. Biosci. 25, 1975; for two categories it is p t1(p) + (1 - p) t1(1 - p) with Kimura & Ohta's
    mean time to fixation t1(p) = -2n (1 - p) ln(1 - p) / p, Genetics 61, 1969), rescaled to a haploid
    population of n; a few percent high at small n."""
    n = check_int("n", n, minimum=1)
    p0 = _probability_vector(p0)
    q = 1.0 - p0[p0 < 1]
    return float(-2.0 * n * np.sum(q * np.log(q)))


def fixation_time_uniform(categories: int | np.ndarray, n: int) -> np.ndarray:
    """:func:`expected_fixation_time` of K equally likely categories: 2n (K - 1) ln(K / (K - 1)).
    It grows with K but never passes 2n."""
    n = check_int("n", n, minimum=1)
    k = check_times("categories", categories)
    if np.any(k < 1):
        raise ValueError("categories must be >= 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 1, 2.0 * n * (k - 1) * np.log(k / np.maximum(k - 1, 1e-300)), 0.0)


# --------------------------------------------------------------------------- Gaussian mixtures (lesson 06)
# A reference, not an exact law: a mixture component that owns a share w of n samples is refitted
# from about m = w n points, and a Gaussian MLE fit from m points keeps on average a fraction
# (m - 1) / m of the variance in every direction (E[S / m] = (m - 1)/m Sigma, any dimension).
# EM assigns points softly, overlapping components share points and the weights drift, so a real
# component can shrink faster or slower (Shumailov et al., Nature 2024, arXiv:2305.17493).


def mixture_component_variance(t: np.ndarray | int, n: int, weight: float) -> np.ndarray:
    """Reference E[sigma_t^2] / sigma_1^2 = (1 - 1 / (w n))^(t - 1) for a component of weight w
    fitted from about w n of n points per generation, counted from generation 1 (its first fit)."""
    n = check_int("n", n, minimum=2)
    weight = check_fraction("weight", weight)
    m = weight * n
    if m <= 1:
        raise ValueError(f"weight * n must be > 1 (points a component is fitted from), got {m:g}")
    steps = np.maximum(_t(t) - 1.0, 0.0)
    return (1.0 - 1.0 / m) ** steps


# --------------------------------------------------------------------------- curation (sample -> curate -> mix)
# The 1-D Gaussian loop (truth N(0, 1), MLE fit, policy replace) with a curation step
# (collapse_edu.loop.Curation): each generation draws m = ceil(n / q) candidates from the model and
# keeps n of them. Generation 1 is fitted on real data, so E[sigma_1^2] = a = (n - 1) / n.
#
# Self-selection keeps the n candidates the model rates most likely, i.e. the n closest to its mean:
# for large m a two-sided truncation at +-z sigma_t, z = Phi^-1((1 + q) / 2), which keeps the variance
# fraction kappa(q) (truncated normal). The selection is scale-equivariant, so the kept fitted
# variance is sigma_t^2 V with V independent of the past: E[sigma_{t+1}^2] = c E[sigma_t^2] exactly.
#
# An outside verifier that accepts a candidate with probability min(1, r(x) / M), r = p_real / p_model
# (rejection sampling; Azadi et al., arXiv:1810.06758), keeps, for large m, the density
# min(p_model(x), p_real(x) / M), M set by its mass q: the real density where the model has mass to
# spare, the model's own density where it has too little. As q -> 0 the kept samples are real draws.


def _keep_fraction(keep: object) -> float:
    return check_keep("keep", keep)


def truncation_variance_factor(keep: float) -> float:
    """kappa(q) = Var[Z | |Z| < z] = 1 - 2 z phi(z) / (2 Phi(z) - 1) with z = Phi^-1((1 + q) / 2): the
    variance a standard normal keeps when only its central fraction q is kept (kappa(1) = 1)."""
    from scipy.stats import norm

    q = _keep_fraction(keep)
    if q == 1.0:
        return 1.0
    z = norm.ppf((1 + q) / 2)
    return float(1 - 2 * z * norm.pdf(z) / q)


def self_curation_factor(n: int, keep: float) -> float:
    """c = E[sigma_{t+1}^2 / sigma_t^2] of the MLE fit to the n of m = ceil(n / q) candidates closest to
    the model's mean (exact for every n). With |Z| half-normal (density f, distribution F), signs
    independent of sizes, and the kept |Z| those of rank <= n among m:

        c = (1 - 1/n) (m / n) int_0^inf x^2 P(Binomial(m - 1, F(x)) <= n - 1) f(x) dx  ->  kappa(q)

    as n -> infinity (the (1 - 1/n) is the MLE's loss of one degree of freedom)."""
    from scipy import integrate
    from scipy.stats import binom, norm

    n = check_int("n", n, minimum=2)
    q = _keep_fraction(keep)
    m = math.ceil(round(n / q, 9))
    check_memory(8.0 * m, f"n = {n} with keep = {q:g} ({m} candidates)", "use a larger keep or a smaller n")
    if m == n:
        return (n - 1) / n

    def integrand(x: float) -> float:
        return x * x * binom.cdf(n - 1, m - 1, 2 * norm.cdf(x) - 1) * 2 * norm.pdf(x)

    z = norm.ppf((1 + n / m) / 2)
    edges = [0.0, z / 2, z, z + 4 / np.sqrt(m), 12.0]
    total = sum(integrate.quad(integrand, lo, hi, limit=200)[0] for lo, hi in zip(edges, edges[1:], strict=False))
    return float((1 - 1 / n) * m / n * total)


def self_curation_variance(t: np.ndarray | int, n: int, keep: float, sigma0: float = 1.0) -> np.ndarray:
    """E[sigma_t^2] = sigma0^2 a c^(t - 1) for t >= 1 (sigma0^2 at t = 0) with c of
    :func:`self_curation_factor`: self-selection multiplies the usual a by about kappa(q) every generation."""
    t = _t(t)
    c = self_curation_factor(n, keep)
    a = (n - 1) / n
    return _sigma0(sigma0) ** 2 * np.where(t >= 1, a * c ** np.maximum(t - 1, 0), 1.0)


def _normal_moments(mean: np.ndarray, sd: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, ...]:
    """int_lo^hi x^k N(x; mean, sd^2) dx for k = 0, 1, 2 (lo, hi may be infinite; lo >= hi gives 0)."""
    from scipy.special import ndtr

    a = (lo - mean) / sd
    b = np.maximum((hi - mean) / sd, a)
    pdf_a = np.exp(-0.5 * np.where(np.isfinite(a), a, 0.0) ** 2) / np.sqrt(2 * np.pi) * np.isfinite(a)
    pdf_b = np.exp(-0.5 * np.where(np.isfinite(b), b, 0.0) ** 2) / np.sqrt(2 * np.pi) * np.isfinite(b)
    a_pdf = np.where(np.isfinite(a), a, 0.0) * pdf_a
    b_pdf = np.where(np.isfinite(b), b, 0.0) * pdf_b
    mass = ndtr(b) - ndtr(a)
    first = mass * mean + sd * (pdf_a - pdf_b)
    second = mean**2 * mass + 2 * mean * sd * (pdf_a - pdf_b) + sd**2 * (mass + a_pdf - b_pdf)
    return mass, first, second


def verifier_kept_moments(mu: object, sigma: object, keep: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of what a density-ratio verifier keeps of the model N(mu, sigma^2) when the
    truth is N(0, 1) (vectorised over ``mu`` and ``sigma``): the density g = min(p_model, c p_real) / q,
    c (= 1 / M) chosen so that int min(p_model, c p_real) = q.

    log p_model - log(c p_real) = A x^2 + B x + C with A = (1 - 1/sigma^2) / 2, B = mu / sigma^2,
    C = -mu^2 / (2 sigma^2) - log sigma - log c, so g is the model's density where that quadratic is
    negative (an interval or the complement of one) and c times the real density elsewhere: truncated
    normal moments in closed form, c by bisection."""
    mu, sigma = check_numbers("mu", mu), check_numbers("sigma", sigma)
    if np.any(sigma <= 0):
        raise ValueError(f"sigma must be > 0, got {sigma.min()}")
    q = _keep_fraction(keep)
    mu, sigma = np.broadcast_arrays(mu, np.where(np.abs(sigma - 1) < 1e-7, 1 + 1e-7, sigma))
    A = 0.5 * (1 - 1 / sigma**2)
    B = mu / sigma**2
    inf = np.full(mu.shape, np.inf)

    def parts(log_c: np.ndarray):
        C = -(mu**2) / (2 * sigma**2) - np.log(sigma) - log_c
        disc = B**2 - 4 * A * C
        root = np.sqrt(np.maximum(disc, 0.0))
        half = -0.5 * (B + np.where(B >= 0, root, -root))  # stable roots: half / A and C / half
        with np.errstate(divide="ignore", invalid="ignore"):
            r1, r2 = np.sort(np.stack([half / A, np.where(half != 0, C / half, -B / (2 * A))]), axis=0)
        real_roots = disc > 0
        wide = A > 0  # sigma > 1: the model is below c p_real between the roots
        # the model's part: (r1, r2) if wide, else (-inf, r1) u (r2, inf); the real part: the rest
        lo1 = np.where(real_roots, np.where(wide, r1, -inf), np.where(wide, 0.0, -inf))
        hi1 = np.where(real_roots, np.where(wide, r2, r1), np.where(wide, 0.0, inf))
        lo2 = np.where(real_roots & ~wide, r2, 0.0)
        hi2 = np.where(real_roots & ~wide, inf, 0.0)
        model = [_normal_moments(mu, sigma, lo1, hi1), _normal_moments(mu, sigma, lo2, hi2)]
        # the real part is the complement of the model's part
        rl1 = np.where(real_roots, np.where(wide, -inf, r1), np.where(wide, -inf, 0.0))
        rh1 = np.where(real_roots, np.where(wide, r1, r2), np.where(wide, inf, 0.0))
        rl2 = np.where(real_roots & wide, r2, 0.0)
        rh2 = np.where(real_roots & wide, inf, 0.0)
        zero, one = np.zeros(mu.shape), np.ones(mu.shape)
        real = [_normal_moments(zero, one, rl1, rh1), _normal_moments(zero, one, rl2, rh2)]
        c = np.exp(log_c)
        return [sum(m[k] for m in model) + c * sum(r[k] for r in real) for k in range(3)]

    if q == 1.0:
        mass, first, second = mu * 0 + 1.0, mu, mu**2 + sigma**2
    else:
        lo, hi = np.full(mu.shape, -80.0), np.full(mu.shape, 80.0)
        for _ in range(90):
            middle = 0.5 * (lo + hi)
            below = parts(middle)[0] < q
            lo, hi = np.where(below, middle, lo), np.where(below, hi, middle)
        mass, first, second = parts(0.5 * (lo + hi))
    mean = first / mass
    return mean, np.maximum(second / mass - mean**2, 0.0)


def verifier_curation_moments(
    t: np.ndarray | int, n: int, keep: float, grid: int = 81
) -> tuple[np.ndarray, np.ndarray]:
    """(E[sigma_t^2], E[mu_t^2]) of the MLE Gaussian loop (truth N(0, 1)) curated by a density-ratio
    verifier (rule ``sample``), from the Markov chain of the fitted (mu_t, sigma_t^2):

        given the model, the n kept samples are draws from g of :func:`verifier_kept_moments` (mean m,
        variance v), so mu_{t+1} ~ N(m, v / n) and sigma_{t+1}^2 ~ v chi2_{n-1} / n,

    propagated on a ``grid`` x ``grid`` grid of (mu, log sigma^2) cells (the first fit sees the truth:
    m = 0, v = 1). Approximations: the kept samples are treated as independent (the loop keeps exactly
    n of ceil(n / q)) and their scatter as chi-square distributed (exact in its mean); the grid adds
    an error of order (cell width)^2. The chain keeps what a single "typical model" recursion drops:
    the random walk of mu and sigma that a weak verifier (q near 1) pulls back only slowly."""
    from scipy.stats import chi2, norm

    n = check_int("n", n, minimum=2)
    q = _keep_fraction(keep)
    grid = check_int("grid", grid, minimum=11, maximum=301)
    t = _steps(t)
    last = int(np.max(t, initial=0))
    steps = max(last, 1)  # the random walks of mu and log sigma^2 reach about sqrt(t / n) and sqrt(2 t / n)
    mu_edges = np.linspace(-1, 1, grid + 1) * (4.5 * np.sqrt(steps / n) + 3 / np.sqrt(n))
    log_edges = np.linspace(-steps / n - 4.5 * np.sqrt(2 * steps / n) - 0.3, 2 * np.sqrt(2 * steps / n) + 0.3, grid + 1)
    mu_mid = 0.5 * (mu_edges[1:] + mu_edges[:-1])
    log_mid = 0.5 * (log_edges[1:] + log_edges[:-1])
    cell_mu, cell_log = np.meshgrid(mu_mid, log_mid, indexing="ij")
    m, v = verifier_kept_moments(cell_mu.ravel(), np.exp(0.5 * cell_log.ravel()), q)

    def move(mean: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell probabilities of mu' ~ N(mean, var / n) and log sigma'^2, sigma'^2 ~ var chi2_{n-1} / n."""
        inner_mu = mu_edges[1:-1]
        cdf = norm.cdf((inner_mu[None, :] - mean[:, None]) / np.sqrt(var[:, None] / n))
        p_mu = np.diff(np.concatenate([np.zeros((len(mean), 1)), cdf, np.ones((len(mean), 1))], axis=1), axis=1)
        inner_log = log_edges[1:-1]
        cdf = chi2.cdf(n * np.exp(inner_log[None, :]) / var[:, None], n - 1)
        p_log = np.diff(np.concatenate([np.zeros((len(var), 1)), cdf, np.ones((len(var), 1))], axis=1), axis=1)
        return p_mu, p_log

    s_out, m_out = np.empty(last + 1), np.empty(last + 1)
    s_out[0], m_out[0] = 1.0, 0.0
    if last >= 1:
        p_mu, p_log = move(np.zeros(1), np.ones(1))
        state = (p_mu[0][:, None] * p_log[0][None, :]).ravel()
        to_mu, to_log = move(m, v)
        s_out[1], m_out[1] = (n - 1) / n, 1 / n  # exact: the first fit sees the truth
        for k in range(2, last + 1):
            # read the moments from the kept moments of the cells (not the snapped cells of the next step)
            s_out[k] = float(state @ v) * (n - 1) / n
            m_out[k] = float(state @ (m**2 + v / n))
            state = (to_mu.T @ (state[:, None] * to_log)).ravel()
    return s_out[t], m_out[t]


def verifier_curation_variance(t: np.ndarray | int, n: int, keep: float) -> np.ndarray:
    """E[sigma_t^2] under a density-ratio verifier (see :func:`verifier_curation_moments`)."""
    return verifier_curation_moments(t, n, keep)[0]
