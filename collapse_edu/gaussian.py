"""Gaussian model families for the generation loop, with a direct and an exact fast path.

Direct path: draw n numbers from the fitted model, fit the next model to them.

Fast path (exact, not an approximation): for n draws from N(mu, sigma^2) the sample mean and the
scatter S = sum (x_i - mean)^2 are independent with

    mean ~ N(mu, sigma^2 / n),    S ~ sigma^2 * chi2_{n-1}

(Cochran's theorem), and in d dimensions S ~ Wishart_d(n - 1, Sigma). A fit needs nothing else,
so one generation costs two random draws per run instead of n. The fitted variance is
S / (n - ddof): ddof = 0 is the maximum-likelihood fit, ddof = 1 the unbiased one.

``scale`` (lambda) narrows sampling to N(mu, (lambda sigma)^2): the "quality over diversity"
knob of Alemohammad et al., "Self-Consuming Generative Models Go MAD", arXiv:2307.01850.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .loop import ArrayFamily, Curation, History, ModelSource, Policy, run_generations
from .validation import check_bool, check_choice, check_float, check_int, check_numbers


def _check_ddof(ddof: object) -> int:
    ddof = check_int("ddof", ddof)
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 (maximum likelihood) or 1 (unbiased), got {ddof}")
    return ddof


def _check_fit_size(count: np.ndarray | int, ddof: int) -> None:
    if np.min(count) < 2:
        raise ValueError(f"n must be >= 2 to fit a Gaussian, got {int(np.min(count))}")


# --------------------------------------------------------------------------- one dimension


@dataclass(frozen=True)
class GaussianModel:
    """One 1-D Gaussian per run: ``mu`` and ``sigma`` have shape ``(runs,)``."""

    mu: np.ndarray
    sigma: np.ndarray


@dataclass(frozen=True)
class GaussianStats:
    """Sufficient statistics of 1-D samples, per run: count, mean and scatter sum (x - mean)^2."""

    count: np.ndarray
    mean: np.ndarray
    scatter: np.ndarray


class Gaussian(ArrayFamily):
    """1-D Gaussian fitted by its sample mean and standard deviation (direct path)."""

    def __init__(self, ddof: int = 0, scale: float = 1.0):
        self.ddof = _check_ddof(ddof)
        self.scale = check_float("scale", scale, 0.0, 1e6, strict_minimum=True)  # as noise elsewhere

    def fit(self, data: np.ndarray) -> GaussianModel:
        if not isinstance(data, np.ndarray) or data.ndim != 2:
            shape = np.shape(data) if isinstance(data, (np.ndarray, list, tuple)) else type(data).__name__
            raise ValueError(f"data must be an array shaped (runs, n), one row of samples per run, got {shape}")
        _check_fit_size(data.shape[1], self.ddof)
        return GaussianModel(data.mean(axis=1), data.std(axis=1, ddof=self.ddof))

    def sample(self, model: GaussianModel, size: int, rng: np.random.Generator) -> np.ndarray:
        noise = rng.standard_normal((model.mu.shape[0], size))
        return model.mu[:, None] + self.scale * model.sigma[:, None] * noise

    def broadcast(self, model: GaussianModel, runs: int) -> GaussianModel:
        if not isinstance(model, GaussianModel):
            raise TypeError(f"model must be a GaussianModel(mu, sigma), got {type(model).__name__}")
        mu, sigma = (np.broadcast_to(np.asarray(v, float), (runs,)).copy() for v in (model.mu, model.sigma))
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma)) and np.all(sigma >= 0)):
            raise ValueError(f"model must have a finite mu and a finite sigma >= 0, got mu={mu}, sigma={sigma}")
        return GaussianModel(mu, sigma)

    def describe(self, model: GaussianModel) -> dict[str, np.ndarray]:
        return {"mu": model.mu, "sigma": model.sigma}

    def log_likelihood(self, model: GaussianModel, data: np.ndarray) -> np.ndarray:
        """log N(x; mu, sigma^2) of every sample ``(runs, m)`` (the fitted model, not the narrowed sampler)."""
        sigma = np.maximum(model.sigma, 1e-300)[:, None]
        z = (np.asarray(data, float) - model.mu[:, None]) / sigma
        return -0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


class GaussianFast(Gaussian):
    """1-D Gaussian on the exact fast path: data are :class:`GaussianStats`, not samples."""

    keeps_samples = False

    def fit(self, data: GaussianStats) -> GaussianModel:
        _check_fit_size(data.count, self.ddof)
        return GaussianModel(data.mean, np.sqrt(data.scatter / (data.count - self.ddof)))

    def sample(self, model: GaussianModel, size: int, rng: np.random.Generator) -> GaussianStats:
        runs = model.mu.shape[0]
        sigma = self.scale * model.sigma
        mean = model.mu + sigma / np.sqrt(size) * rng.standard_normal(runs)
        scatter = sigma**2 * rng.chisquare(size - 1, runs) if size > 1 else np.zeros(runs)
        return GaussianStats(np.full(runs, size), mean, scatter)

    def pool(self, parts: Sequence[GaussianStats]) -> GaussianStats:
        return _pool_stats(parts, GaussianStats)

    def subsample(self, data: GaussianStats, size: int, rng: np.random.Generator) -> GaussianStats:
        raise ValueError("policy 'accumulate-subsample' needs the individual samples: use fast=False (the direct path)")


def _pool_stats(parts, stats_type):
    """Merge sufficient statistics of disjoint samples (Chan, Golub & LeVeque 1979):
    S = S_a + S_b + n_a n_b / (n_a + n_b) * (m_a - m_b)(m_a - m_b)^T."""
    total = parts[0]
    for part in parts[1:]:
        count = total.count + part.count
        delta = part.mean - total.mean
        weight = total.count * part.count / count
        if delta.ndim == 1:
            between = weight * delta**2
        else:
            between = weight[:, None, None] * delta[:, :, None] * delta[:, None, :]
        mean = total.mean + delta * (part.count / count).reshape(-1, *([1] * (delta.ndim - 1)))
        total = stats_type(count, mean, total.scatter + part.scatter + between)
    return total


# --------------------------------------------------------------------------- d dimensions


@dataclass(frozen=True)
class MultivariateGaussianModel:
    """One d-dimensional Gaussian per run: ``mu`` is ``(runs, d)``, ``cov`` is ``(runs, d, d)``."""

    mu: np.ndarray
    cov: np.ndarray


@dataclass(frozen=True)
class MultivariateGaussianStats:
    """Per run: count ``(runs,)``, mean ``(runs, d)``, scatter matrix ``(runs, d, d)``."""

    count: np.ndarray
    mean: np.ndarray
    scatter: np.ndarray


class MultivariateGaussian(ArrayFamily):
    """d-dimensional Gaussian with full covariance (direct path; data are ``(runs, n, d)``)."""

    def __init__(self, dim: int, ddof: int = 0, scale: float = 1.0):
        self.dim = check_int("dim", dim, minimum=1)
        self.sample_bytes = 8 * self.dim
        self.ddof = _check_ddof(ddof)
        self.scale = check_float("scale", scale, 0.0, 1e6, strict_minimum=True)  # as noise elsewhere

    def fit(self, data: np.ndarray) -> MultivariateGaussianModel:
        _check_fit_size(data.shape[1], self.ddof)
        mean = data.mean(axis=1)
        centred = data - mean[:, None, :]
        scatter = np.einsum("rni,rnj->rij", centred, centred)
        return MultivariateGaussianModel(mean, scatter / (data.shape[1] - self.ddof))

    def sample(self, model: MultivariateGaussianModel, size: int, rng: np.random.Generator) -> np.ndarray:
        runs = model.mu.shape[0]
        root = self.scale * jittered_cholesky(model.cov)
        noise = rng.standard_normal((runs, size, self.dim))
        return model.mu[:, None, :] + np.einsum("rij,rnj->rni", root, noise)

    def broadcast(self, model: MultivariateGaussianModel, runs: int) -> MultivariateGaussianModel:
        mu = np.broadcast_to(np.asarray(model.mu, float), (runs, self.dim)).copy()
        cov = np.broadcast_to(np.asarray(model.cov, float), (runs, self.dim, self.dim)).copy()
        return MultivariateGaussianModel(mu, cov)

    def describe(self, model: MultivariateGaussianModel) -> dict[str, np.ndarray]:
        """Total variance tr(Sigma), generalised variance log det(Sigma), squared mean norm."""
        return {
            "total_variance": np.trace(model.cov, axis1=1, axis2=2),
            "log_det": np.linalg.slogdet(model.cov)[1],
            "mu_norm2": np.sum(model.mu**2, axis=1),
        }

    def log_likelihood(self, model: MultivariateGaussianModel, data: np.ndarray) -> np.ndarray:
        """log N(x; mu, Sigma) of every sample: -|L^-1 (x - mu)|^2 / 2 - log det L - d log(2 pi) / 2."""
        root = jittered_cholesky(model.cov)
        centred = np.asarray(data, float) - model.mu[:, None, :]
        white = np.linalg.solve(root[:, None], centred[..., None])[..., 0]
        log_det = np.log(np.diagonal(root, axis1=1, axis2=2)).sum(axis=1)
        return -0.5 * np.sum(white**2, axis=2) - log_det[:, None] - 0.5 * self.dim * np.log(2 * np.pi)


class MultivariateGaussianFast(MultivariateGaussian):
    """d-dimensional Gaussian on the exact fast path: mean ~ N(mu, Sigma/n), S ~ Wishart(n-1, Sigma)."""

    keeps_samples = False

    def fit(self, data: MultivariateGaussianStats) -> MultivariateGaussianModel:
        _check_fit_size(data.count, self.ddof)
        return MultivariateGaussianModel(data.mean, data.scatter / (data.count - self.ddof)[:, None, None])

    def sample(
        self, model: MultivariateGaussianModel, size: int, rng: np.random.Generator
    ) -> MultivariateGaussianStats:
        runs = model.mu.shape[0]
        root = self.scale * jittered_cholesky(model.cov)
        mean = model.mu + np.einsum("rij,rj->ri", root, rng.standard_normal((runs, self.dim))) / np.sqrt(size)
        if size - 1 < self.dim:
            raise ValueError(f"n must be > dim for the fast path (Wishart needs n - 1 >= dim), got n = {size}")
        half = np.einsum("rij,rjk->rik", root, wishart_root(size - 1, runs, self.dim, rng))
        scatter = np.einsum("rik,rjk->rij", half, half)
        return MultivariateGaussianStats(np.full(runs, size), mean, scatter)

    def pool(self, parts: Sequence[MultivariateGaussianStats]) -> MultivariateGaussianStats:
        return _pool_stats(parts, MultivariateGaussianStats)

    subsample = GaussianFast.subsample


def jittered_cholesky(cov: np.ndarray, jitter: float = 1e-12) -> np.ndarray:
    """Lower Cholesky factors of a stack of covariances ``(..., d, d)``. If any is (nearly) singular, as a
    collapsed fit becomes, every one gets ``jitter`` times its trace added to its diagonal."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        scale = jitter * np.maximum(np.trace(cov, axis1=-2, axis2=-1), 1e-300)[..., None, None]
        return np.linalg.cholesky(cov + scale * np.eye(cov.shape[-1]))


def wishart_root(df: int, runs: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """A root A (shape ``(runs, dim, min(df, dim))``) with A A^T ~ Wishart_dim(df, I), i.e. distributed
    as X^T X for ``df`` rows of N(0, I_dim).

    df >= dim: Bartlett decomposition, A lower triangular with A_ii = sqrt(chi2_{df - i}) and
    A_ij ~ N(0, 1) below the diagonal. df < dim (singular): A = X^T itself."""
    if df < dim:
        return np.swapaxes(rng.standard_normal((runs, df, dim)), 1, 2)
    factor = np.tril(rng.standard_normal((runs, dim, dim)), k=-1)
    factor[:, np.arange(dim), np.arange(dim)] = np.sqrt(rng.chisquare(df - np.arange(dim), (runs, dim)))
    return factor


# --------------------------------------------------------------------------- experiments


def simulate_gaussian(
    n: int = 100,
    generations: int = 100,
    runs: int = 1000,
    *,
    ddof: int = 0,
    fast: bool | None = None,
    mu0: float = 0.0,
    sigma0: float = 1.0,
    scale: float = 1.0,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    seed: int | np.random.Generator | None = 0,
    progress: bool | str = False,
    curation: Curation | str | None = None,
) -> History:
    """Recursive fitting of a 1-D Gaussian starting from the truth N(mu0, sigma0^2), under any policy.

    Returns a :class:`~collapse_edu.loop.History` with ``mu`` and ``sigma`` per generation and run
    (row 0 is the truth). ``fast`` picks the exact sufficient-statistics path; by default it is used
    for every policy but accumulate-subsample and curated loops (which need the samples themselves).
    ``scale`` narrows the synthetic draws to N(mu_t, (scale sigma_t)^2); real draws always come from
    the truth. ``curation`` filters the synthetic draws (:class:`~collapse_edu.loop.Curation`).
    """
    n = check_int("n", n, minimum=2, maximum=2**53)  # beyond 2^53 a float no longer counts the samples exactly
    mu0 = check_float("mu0", mu0)
    sigma0 = check_float("sigma0", sigma0, 0.0, 1e150, strict_minimum=True)  # the fits square it
    policy = Policy.coerce(policy, real_fraction)
    curation = Curation.coerce(curation)
    if fast is None:
        fast = policy.name != "accumulate-subsample" and curation.name == "none"
    family_type = GaussianFast if check_bool("fast", fast) else Gaussian
    truth = GaussianModel(np.array([mu0]), np.array([sigma0]))
    source = ModelSource(truth, real_family=family_type(ddof=ddof))
    return run_generations(
        family_type(ddof=ddof, scale=scale),
        source,
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        seed=seed,
        progress=progress,
        curation=curation,
    )


def tail_mass(
    mu: np.ndarray, sigma: np.ndarray, threshold: float = 3.0, mu0: float = 0.0, sigma0: float = 1.0
) -> np.ndarray:
    """P(|X - mu0| > threshold * sigma0) for X ~ N(mu, sigma^2): the original's tails kept by a model."""
    threshold = check_float("threshold", threshold, 0.0, strict_minimum=True)
    mu0 = check_float("mu0", mu0)
    sigma0 = check_float("sigma0", sigma0, 0.0, strict_minimum=True)
    mu, sigma = check_numbers("mu", mu), check_numbers("sigma", sigma, minimum=0.0)
    sigma = np.maximum(sigma, 1e-300)
    upper = (mu0 + threshold * sigma0 - mu) / sigma
    lower = (mu0 - threshold * sigma0 - mu) / sigma
    return ndtr(lower) + 1.0 - ndtr(upper)


ESTIMATORS = {"MLE (ddof=0)": 0, "unbiased (ddof=1)": 1}


def estimator_ddof(estimator: str | int) -> int:
    """Map an estimator label (as in the widgets) or a ddof to the ddof."""
    if isinstance(estimator, str):
        return ESTIMATORS[check_choice("estimator", estimator, ESTIMATORS)]
    return _check_ddof(estimator)
