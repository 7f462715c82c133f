"""Gaussian mixtures in the generation loop: Shumailov's 2-D toy and a generative model of digits.

**Toy** (Shumailov et al., "AI models collapse when trained on recursively generated data",
Nature 631, 2024; arXiv:2305.17493): fit a two-component Gaussian mixture with full covariances to
n samples, draw n samples from the fit, refit, ... The authors' code refits a *fresh* mixture every
generation: k-means initialisation, then EM until the mean log-likelihood changes by less than
``tol = 1e-5`` (at most 2000 steps). That is this module's default. ``warm_start=True`` starts
each EM run from the previous generation's fit instead (the model is fine-tuned, not retrained),
a variant whose component weights drift like the allele frequencies of lesson 02.

EM here is our own, vectorised over the loop's independent runs (a few hundred tiny fits per
second instead of scikit-learn's one fit at a time); ``tests/test_mixtures.py`` checks that from
the same starting point it lands on scikit-learn's ``GaussianMixture`` fit to machine precision.
Every EM step (the M-step) sets the mixture's overall mean and covariance to the sample mean and
the maximum-likelihood sample covariance, whatever the responsibilities: so the *pooled* variance
obeys lesson 01's law E[sigma_t^2] = a^t exactly, and only the components can tell protocols apart.

**Digits**: scikit-learn's 1797 real 8x8 handwritten digits (``load_digits``, shipped with the
library, no download). The generative model is PCA to a few dimensions plus a Gaussian mixture in
that space; *both* are refitted every generation, because the projection is part of the model:
fitting PCA once on real data and keeping it would smuggle real-data knowledge into every later
generation. A logistic-regression classifier trained once on real digits scores every
generation's samples (class coverage, class entropy, confidence); pixel variance and distances to
the nearest real image and to the nearest class average say whether samples copy or average.
"""

from __future__ import annotations

import functools
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .environment import RESULTS_DIR, one_blas_thread
from .gaussian import jittered_cholesky
from .loop import ArrayFamily, DataPool, History, ModelSource, Policy, run_generations
from .metrics import entropy
from .validation import check_finite_array, check_float, check_fraction, check_int, check_memory

#: a (nearly) singular component covariance gets this times its trace on its diagonal (gaussian.jittered_cholesky)
MIXTURE_JITTER = 1e-10

# --------------------------------------------------------------------------- mixture models


@dataclass(frozen=True)
class MixtureModel:
    """One Gaussian mixture per run: ``weights`` ``(runs, k)``, ``means`` ``(runs, k, d)``,
    ``covariances`` ``(runs, k, d, d)``; ``iterations`` ``(runs,)`` the EM steps of the fit that made
    it (``None`` for a model that was not fitted, such as the truth)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    iterations: np.ndarray | None = None

    @property
    def runs(self) -> int:
        return self.weights.shape[0]


def sample_mixture(model: MixtureModel, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws per run from the mixture: pick component j with probability w_j, then
    x = mu_j + L_j z with L_j L_j^T = Sigma_j and z ~ N(0, I). Returns ``(runs, size, d)``."""
    runs, k, d = model.means.shape
    cumulative = np.cumsum(model.weights, axis=1)
    cumulative /= cumulative[:, -1:]
    u = rng.random((runs, size))
    component = np.minimum((u[:, :, None] > cumulative[:, None, :-1]).sum(axis=2), k - 1)
    roots = jittered_cholesky(model.covariances, MIXTURE_JITTER)
    noise = rng.standard_normal((runs, size, d))
    index = np.arange(runs)[:, None]
    return model.means[index, component] + np.einsum("rnij,rnj->rni", roots[index, component], noise)


def mixture_log_density(model: MixtureModel, x: np.ndarray) -> np.ndarray:
    """log sum_j w_j N(x; mu_j, Sigma_j) of every point ``x`` ``(runs, m, d)``; returns ``(runs, m)``."""
    roots = jittered_cholesky(model.covariances, MIXTURE_JITTER)  # (runs, k, d, d)
    centred = np.asarray(x, float)[:, None] - model.means[:, :, None]  # (runs, k, m, d)
    white = np.linalg.solve(roots[:, :, None], centred[..., None])[..., 0]
    log_det = np.log(np.diagonal(roots, axis1=-2, axis2=-1)).sum(axis=-1)  # (runs, k)
    with np.errstate(divide="ignore"):
        log_w = np.log(model.weights)
    terms = log_w[..., None] - log_det[..., None] - 0.5 * np.sum(white**2, axis=-1)
    top = terms.max(axis=1, keepdims=True)
    total = top[:, 0] + np.log(np.exp(terms - top).sum(axis=1))
    return total - 0.5 * x.shape[-1] * np.log(2 * np.pi)


def mixture_summary(model: MixtureModel) -> dict[str, np.ndarray]:
    """Per run: component weights ``(runs, k)`` and stds sqrt(tr Sigma_j / d) ``(runs, k)`` in the
    fitted order; the lightest component's weight and std and the heaviest one's std; the pooled
    std sqrt(tr Cov[X] / d) of the whole mixture, with Cov[X] = sum_j w_j (Sigma_j + mu_j mu_j^T) -
    mu mu^T and mu = sum_j w_j mu_j; the largest distance between component means; and the EM steps
    of the fit (0 for a model that was not fitted)."""
    w, mu, cov = model.weights, model.means, model.covariances
    runs, k, d = mu.shape
    centre = np.einsum("rk,rki->ri", w, mu)
    second = np.einsum("rk,rkij->rij", w, cov + mu[..., :, None] * mu[..., None, :])
    pooled = second - centre[:, :, None] * centre[:, None, :]
    gaps = np.linalg.norm(mu[:, :, None, :] - mu[:, None, :, :], axis=-1)
    std = np.sqrt(np.trace(cov, axis1=-2, axis2=-1) / d)
    rows = np.arange(runs)
    light, heavy = w.argmin(axis=1), w.argmax(axis=1)
    iterations = np.zeros(runs) if model.iterations is None else np.asarray(model.iterations, float)
    return {
        "weights": w,
        "component_std": std,
        "light_weight": w[rows, light],
        "light_std": std[rows, light],
        "heavy_std": std[rows, heavy],
        "pooled_std": np.sqrt(np.trace(pooled, axis1=-2, axis2=-1) / d),
        "separation": gaps.reshape(runs, -1).max(axis=1),
        "em_iterations": iterations,
    }


# The largest distance between the two blobs, in standard deviations. The course uses 0-10. EM computes a
# covariance as E[x x^T] - mu mu^T, which loses precision as separation^2 grows: fits drift near 1e6 and
# fail (a covariance that is not positive definite) near 1e8; 1e4 is far beyond any teaching use and exact.
MAX_SEPARATION = 1e4


def blob_truth(separation: float = 0.0, components: int = 2, dim: int = 2) -> MixtureModel:
    """The real world of the toy: N(0, I) in ``dim`` dimensions written as ``components`` equal
    components (one blob), or, with ``separation`` s > 0, two unit blobs centred at -s/2 and +s/2
    on the first axis (then ``components`` must be 2)."""
    separation = check_float("separation", separation, 0.0, MAX_SEPARATION)
    components = check_int("components", components, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    check_memory(
        8.0 * components * (1 + dim + dim * dim),
        f"components = {components} with dim = {dim}",
        "use fewer components or a smaller dim",
    )
    means = np.zeros((1, components, dim))
    if separation > 0:
        if components != 2:
            raise ValueError(f"components must be 2 when separation > 0, got {components}")
        means[0, :, 0] = [-separation / 2, separation / 2]
    covariances = np.broadcast_to(np.eye(dim), (1, components, dim, dim)).copy()
    return MixtureModel(np.full((1, components), 1.0 / components), means, covariances)


# --------------------------------------------------------------------------- k-means and EM, vectorised over runs

_TINY = 10 * np.finfo(float).eps  # added to every component's soft count, as scikit-learn does


def kmeans_labels(
    data: np.ndarray, k: int, rng: np.random.Generator, *, max_iter: int = 300, tol: float = 1e-4
) -> np.ndarray:
    """k-means cluster labels ``(runs, n)`` for data ``(runs, n, d)``, every run on its own.

    Seeding by greedy k-means++ (Arthur and Vassilvitskii 2007: each new centre is the best of
    2 + ln k candidates drawn with probability proportional to the squared distance to the nearest
    centre so far), then Lloyd's iterations until the centres move by less than ``tol`` times the
    mean per-feature variance (squared distance, summed over centres), the rule of scikit-learn's
    ``KMeans``. An emptied cluster keeps its centre."""
    data = np.asarray(data, float)
    runs, n, _ = data.shape
    rows = np.arange(runs)
    data_t = np.ascontiguousarray(np.swapaxes(data, 1, 2))  # (runs, d, n): distances come out (runs, k, n)
    squares = (data * data).sum(axis=2)
    trials = 2 + int(np.log(k))
    centres = np.empty((runs, k, data.shape[2]))
    centres[:, 0] = data[rows, rng.integers(0, n, runs)]
    nearest = np.maximum(squares - 2 * (centres[:, :1] @ data_t)[:, 0] + (centres[:, 0] ** 2).sum(axis=1)[:, None], 0)
    for c in range(1, k):
        cumulative = np.cumsum(nearest, axis=1)
        u = rng.random((runs, trials)) * cumulative[:, -1:]
        picks = np.minimum([np.searchsorted(cumulative[r], u[r], side="right") for r in rows], n - 1)
        candidates = data[rows[:, None], picks]  # (runs, trials, d)
        d2 = squares[:, None, :] - 2 * (candidates @ data_t) + (candidates**2).sum(axis=2)[..., None]
        d2 = np.minimum(nearest[:, None, :], np.maximum(d2, 0))
        best = d2.sum(axis=2).argmin(axis=1)
        centres[:, c] = candidates[rows, best]
        nearest = d2[rows, best]
    threshold = tol * data.var(axis=1).mean(axis=1)
    labels_of = np.arange(k)[None, :, None]
    active = rows
    for _ in range(max_iter):
        current = centres[active]
        d2 = (current**2).sum(axis=2)[..., None] - 2 * (current @ data_t[active])
        members = (d2.argmin(axis=1)[:, None, :] == labels_of).astype(float)  # (active, k, n)
        counts = members.sum(axis=2)[..., None]
        moved = np.where(counts > 0, (members @ data[active]) / np.maximum(counts, 1), current)
        centres[active] = moved
        settled = ((moved - current) ** 2).sum(axis=(1, 2)) <= threshold[active]
        active = active[~settled]
        if active.size == 0:
            break
    d2 = (centres**2).sum(axis=2)[..., None] - 2 * (centres @ data_t)
    return d2.argmin(axis=1)


def _features(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x^T ``(runs, d, n)``, the flattened outer products x x^T ``(runs, n, d*d)`` and their
    transpose: every sum EM needs is then one batched matrix product."""
    runs, n, d = data.shape
    outer = (data[..., :, None] * data[..., None, :]).reshape(runs, n, d * d)
    return (
        np.ascontiguousarray(np.swapaxes(data, 1, 2)),
        outer,
        np.ascontiguousarray(np.swapaxes(outer, 1, 2)),
    )


def _m_step(
    data: np.ndarray, outer: np.ndarray, resp: np.ndarray, reg_covar: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means and covariances from responsibilities ``resp`` ``(runs, k, n)``:
    N_j = sum_i r_ij, w_j = N_j / n, mu_j = sum_i r_ij x_i / N_j,
    Sigma_j = sum_i r_ij x_i x_i^T / N_j - mu_j mu_j^T + reg_covar I."""
    runs, _, d = data.shape
    counts = resp.sum(axis=2) + _TINY
    means = (resp @ data) / counts[..., None]
    second = (resp @ outer).reshape(runs, -1, d, d) / counts[..., None, None]
    covariances = second - means[..., :, None] * means[..., None, :] + reg_covar * np.eye(d)
    return counts / counts.sum(axis=1, keepdims=True), means, covariances


def _log_joint(
    data_t: np.ndarray, outer_t: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> np.ndarray:
    """log w_j + log N(x_i | mu_j, Sigma_j), shape ``(runs, k, n)``, with the Mahalanobis term
    x^T P x - 2 mu^T P x + mu^T P mu (P = Sigma^-1) written as matrix products."""
    runs, d, _ = data_t.shape
    k = means.shape[1]
    roots = jittered_cholesky(covariances, MIXTURE_JITTER)
    inverse = np.linalg.inv(roots)
    precision = np.swapaxes(inverse, -1, -2) @ inverse
    pm = (precision @ means[..., None])[..., 0]
    mahalanobis = precision.reshape(runs, k, d * d) @ outer_t - 2 * (pm @ data_t) + (pm * means).sum(axis=2)[..., None]
    log_det = 2 * np.log(np.diagonal(roots, axis1=-2, axis2=-1)).sum(axis=2)
    return (np.log(weights) - 0.5 * (d * np.log(2 * np.pi) + log_det))[..., None] - 0.5 * mahalanobis


def _check_runs_data(data: object) -> np.ndarray:
    """``data`` as a finite float array ``(runs, n, dim)``: a nan or an infinity would give a model of
    nan without a word (EM averages every point into every component)."""
    data = check_finite_array("data", data)
    if data.ndim != 3 or 0 in data.shape:
        raise ValueError(f"data must be a non-empty array of shape (runs, n, dim), got shape {data.shape}")
    return data


def _em_broke_down(data: np.ndarray, reg_covar: float) -> ValueError:
    """The error of an EM step whose log-likelihood came out nan or infinite (every later step would be nan)."""
    cause = "a component's covariance became singular (as on constant or repeated data)"
    if reg_covar == 0:
        return ValueError(
            f"EM broke down (a log-likelihood of nan or inf): {cause}; use reg_covar > 0 (the default is 1e-6)"
        )
    return ValueError(
        f"EM broke down (a log-likelihood of nan or inf): {cause} or the squares of data overflowed "
        f"(largest |data| {np.abs(data).max():.3g}); use a larger reg_covar (got {reg_covar:g}) or rescale data"
    )


def fit_em(
    data: np.ndarray,
    start: MixtureModel,
    *,
    tol: float = 1e-5,
    max_iter: int = 2000,
    reg_covar: float = 1e-6,
) -> MixtureModel:
    """EM for full-covariance Gaussian mixtures (Dempster, Laird and Rubin 1977), one fit per run of
    ``data`` ``(runs, n, d)``, starting from ``start``. Each step computes the responsibilities
    r_ij = w_j N(x_i | mu_j, Sigma_j) / sum_l w_l N(x_i | mu_l, Sigma_l) and then the M-step of
    :func:`_m_step`; a run stops when its mean log-likelihood (computed before the M-step, as
    scikit-learn does) changes by less than ``tol``, or after ``max_iter`` steps. The returned model
    records the steps each run took. ``data`` must be finite; a step whose log-likelihood comes out nan
    or infinite (a singular covariance, possible with ``reg_covar = 0``) raises a ``ValueError``."""
    data = _check_runs_data(data)
    if not isinstance(start, MixtureModel):
        raise TypeError(f"start must be a MixtureModel (for example from kmeans_start), got {type(start).__name__}")
    tol = check_float("tol", tol, 0.0, strict_minimum=True)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    reg_covar = check_float("reg_covar", reg_covar, 0.0)
    weights, means, covariances = (np.array(p, float) for p in (start.weights, start.means, start.covariances))
    all_t, all_outer, all_outer_t = _features(data)
    runs = data.shape[0]
    bound = np.full(runs, -np.inf)
    iterations = np.zeros(runs, int)
    active = np.arange(runs)
    x, data_t, outer, outer_t = data, all_t, all_outer, all_outer_t
    for step in range(1, max_iter + 1):
        log_joint = _log_joint(data_t, outer_t, weights[active], means[active], covariances[active])
        top = log_joint.max(axis=1)
        scaled = np.exp(log_joint - top[:, None])
        total = scaled.sum(axis=1)
        fitted = _m_step(x, outer, scaled / total[:, None], reg_covar)
        weights[active], means[active], covariances[active] = fitted
        new_bound = (top + np.log(total)).mean(axis=1)
        if not np.all(np.isfinite(new_bound)):
            raise _em_broke_down(data, reg_covar)
        converged = np.abs(new_bound - bound[active]) < tol
        bound[active] = new_bound
        iterations[active] = step
        if converged.any():
            active = active[~converged]
            if active.size == 0:
                break
            x, data_t, outer, outer_t = data[active], all_t[active], all_outer[active], all_outer_t[active]
    return MixtureModel(weights, means, covariances, iterations)


def kmeans_start(data: np.ndarray, k: int, rng: np.random.Generator, reg_covar: float = 1e-6) -> MixtureModel:
    """The starting mixture of a fresh fit: one M-step on the hard k-means clusters of each run (the
    initialisation scikit-learn's ``GaussianMixture`` uses by default)."""
    data = _check_runs_data(data)
    k = check_int("k", k, minimum=1, maximum=data.shape[1])
    reg_covar = check_float("reg_covar", reg_covar, 0.0)
    labels = kmeans_labels(data, k, rng)
    members = (labels[:, None, :] == np.arange(k)[None, :, None]).astype(float)
    return MixtureModel(*_m_step(data, _features(data)[1], members, reg_covar))


def _stream(seed: int, data: np.ndarray) -> np.random.Generator:
    """The k-means seeding's own random stream: a function of ``seed`` and the data, so that a fit
    is a function of its data (the same data give the same model, whoever fits them and when) and
    never draws from the loop's stream."""
    return np.random.default_rng([seed, zlib.crc32(np.ascontiguousarray(data).tobytes())])


class GaussianMixtureFamily(ArrayFamily):
    """Gaussian mixture with full covariances, fitted by EM (:func:`fit_em`), for data ``(runs, n, d)``.

    Default (``warm_start=False``): Shumailov et al.'s protocol, a fresh fit every generation, from
    k-means (:func:`kmeans_start`), ``tol = 1e-5``, ``max_iter = 2000``. Fresh fits label their
    components arbitrarily; :func:`mixture_summary` therefore also reports the lightest and the
    heaviest component. ``warm_start=True``: every fit after the first starts from the model this
    family fitted last (fine-tuning), so component j stays component j; use a fresh family per
    experiment (or call :meth:`reset`). The k-means seeding draws from its own stream (a function of
    ``seed`` and the data), so fitting never changes the loop's random numbers.
    """

    def __init__(
        self,
        components: int = 2,
        *,
        warm_start: bool = False,
        tol: float = 1e-5,
        max_iter: int = 2000,
        reg_covar: float = 1e-6,
        seed: int = 0,
    ):
        self.components = check_int("components", components, minimum=1)
        if not isinstance(warm_start, bool):
            raise TypeError(f"warm_start must be True or False, got {warm_start!r}")
        self.warm_start = warm_start
        self.tol = check_float("tol", tol, 0.0, strict_minimum=True)
        self.max_iter = check_int("max_iter", max_iter, minimum=1)
        self.reg_covar = check_float("reg_covar", reg_covar, 0.0)
        self.seed = check_int("seed", seed, minimum=0)
        self.reset()

    def reset(self) -> None:
        """Forget earlier fits: the next fit starts from k-means again."""
        self._previous: MixtureModel | None = None

    def fit(self, data: np.ndarray) -> MixtureModel:
        data = check_finite_array("data", data)
        if data.ndim != 3:
            raise ValueError(f"data must have shape (runs, n, dim), got {data.shape}")
        runs, n, _ = data.shape
        if n < self.components:
            raise ValueError(f"n must be >= components ({self.components}) to fit a mixture, got {n}")
        with one_blas_thread():
            previous = self._previous
            if self.warm_start and previous is not None and previous.runs == runs:
                start = previous
            else:
                start = kmeans_start(data, self.components, _stream(self.seed, data), self.reg_covar)
            model = fit_em(data, start, tol=self.tol, max_iter=self.max_iter, reg_covar=self.reg_covar)
        self._previous = model
        return model

    def sample(self, model: MixtureModel, size: int, rng: np.random.Generator) -> np.ndarray:
        return sample_mixture(model, size, rng)

    def broadcast(self, model: MixtureModel, runs: int) -> MixtureModel:
        def repeat(v: np.ndarray) -> np.ndarray:
            return np.broadcast_to(v, (runs, *v.shape[1:])).copy()

        iterations = None if model.iterations is None else repeat(np.asarray(model.iterations))
        return MixtureModel(repeat(model.weights), repeat(model.means), repeat(model.covariances), iterations)

    def describe(self, model: MixtureModel) -> dict[str, np.ndarray]:
        return mixture_summary(model)

    def log_likelihood(self, model: MixtureModel, data: np.ndarray) -> np.ndarray:
        """The mixture's log density of every sample (for curation)."""
        return mixture_log_density(model, data)


def simulate_mixture(
    n: int = 1000,
    generations: int = 300,
    runs: int = 1,
    *,
    components: int = 2,
    separation: float = 0.0,
    warm_start: bool = False,
    tol: float = 1e-5,
    max_iter: int = 2000,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    seed: int = 0,
    keep_models: bool = True,
    progress: bool | str = False,
) -> History:
    """Shumailov's toy through :func:`~collapse_edu.loop.run_generations`: a ``components``-component
    full-covariance mixture refitted to n samples of its predecessor for ``generations``
    generations, starting from one 2-D blob N(0, I) (or two blobs ``separation`` apart); a fresh
    fit every generation unless ``warm_start``. History metrics: those of :func:`mixture_summary`;
    row 0 is the truth."""
    n = check_int("n", n, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    components = check_int("components", components, minimum=1)
    if components > n:
        raise ValueError(f"components must be <= n = {n} (EM needs a sample per component), got {components}")
    family = GaussianMixtureFamily(components, warm_start=warm_start, tol=tol, max_iter=max_iter, seed=seed)
    return run_generations(
        family,
        ModelSource(blob_truth(separation, components)),
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        seed=seed,
        keep_models=keep_models,
        progress=progress,
    )


RESULTS = RESULTS_DIR / "mixture_protocols.npz"


def load_protocol_runs(path: str | Path = RESULTS) -> tuple[dict[str, dict[str, np.ndarray]], dict]:
    """The long toy runs precomputed by ``benchmarks/mixture_protocols.py`` (a fresh fit every
    generation against a warm start, 20 runs x 1000 generations, every tenth generation kept):
    ``({protocol: {metric: (rows, runs) array, "generation": (rows,)}}, settings and summary)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run python benchmarks/mixture_protocols.py to make it")
    with np.load(path) as stored:
        meta = json.loads(str(stored["meta"]))
        runs: dict[str, dict[str, np.ndarray]] = {}
        for key in stored.files:
            if "/" in key:
                protocol, metric = key.split("/", 1)
                runs.setdefault(protocol, {})[metric] = stored[key].astype(float)
    return runs, meta


def mixture_density(model: MixtureModel, run: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Density of run ``run``'s 2-D mixture on the grid ``x`` by ``y``."""
    if model.means.shape[-1] != 2:
        raise ValueError(f"mixture_density draws 2-D mixtures only, got dim {model.means.shape[-1]}")
    run = check_int("run", run, minimum=0, maximum=model.runs - 1)
    points = np.stack(np.meshgrid(x, y), axis=-1)
    total = np.zeros(points.shape[:-1])
    for w, mu, cov in zip(model.weights[run], model.means[run], model.covariances[run], strict=True):
        cov = cov + 1e-12 * np.eye(2)
        diff = points - mu
        mahalanobis = np.einsum("...i,ij,...j->...", diff, np.linalg.inv(cov), diff)
        total += w * np.exp(-0.5 * mahalanobis) / (2 * np.pi * np.sqrt(np.linalg.det(cov)))
    return total


def model_at(history: History, t: int) -> MixtureModel:
    """The model of generation ``t`` (needs ``keep_models=True``)."""
    if not history.models:
        raise ValueError("history holds no models: run with keep_models=True")
    t = check_int("t", t, minimum=0, maximum=len(history.models) - 1)
    return history.models[t]


# --------------------------------------------------------------------------- real digits


@dataclass(frozen=True)
class Digits:
    """The real digits, pixels scaled to [0, 1], split once (stratified) into train and test."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray

    @property
    def class_means(self) -> np.ndarray:
        """The average real training image of each class ``(10, 64)``."""
        return np.stack([self.train_x[self.train_y == c].mean(axis=0) for c in range(10)])


@functools.lru_cache(maxsize=4)
def load_digit_split(test_fraction: float = 0.4, seed: int = 0) -> Digits:
    """scikit-learn's 1797 real 8x8 digits (ships with the library: no download), pixels / 16,
    split into a training set (the generative loop's real data and the classifier's training data)
    and a test set (the classifier's accuracy)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_fraction = check_float("test_fraction", test_fraction, 0.05, 0.95)
    seed = check_int("seed", seed, minimum=0)
    images, labels = load_digits(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        images / 16.0, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    for array in (train_x, test_x, train_y, test_y):
        array.setflags(write=False)
    return Digits(train_x, train_y, test_x, test_y)


@dataclass(frozen=True)
class PCAMixtureModel:
    """Per run: a PCA projection (``mean`` ``(runs, 64)``, ``basis`` ``(runs, p, 64)``) and a
    Gaussian mixture in the p-dimensional PCA space."""

    mean: np.ndarray
    basis: np.ndarray
    mixture: MixtureModel


class PCAMixture(ArrayFamily):
    """Images -> PCA to ``dims`` dimensions -> Gaussian mixture of ``components`` (full covariance).

    Every fit refits both parts for every run: PCA by the singular value decomposition of the
    centred images, then a fresh mixture (k-means start, EM with scikit-learn's default stopping
    rule ``tol = 1e-3``, at most 100 steps). Samples are drawn in the PCA space, mapped back to
    pixels and clipped to the valid range [0, 1]. The k-means seeding draws from its own stream (a
    function of ``seed`` and the data): the same data give the same model."""

    sample_bytes = 8 * 64  # one 8x8 image

    def __init__(
        self,
        dims: int = 10,
        components: int = 10,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        reg_covar: float = 1e-6,
        seed: int = 0,
    ):
        self.dims = check_int("dims", dims, minimum=1, maximum=64)
        self.components = check_int("components", components, minimum=1)
        self.tol = check_float("tol", tol, 0.0, strict_minimum=True)
        self.max_iter = check_int("max_iter", max_iter, minimum=1)
        self.reg_covar = check_float("reg_covar", reg_covar, 0.0)
        self.seed = check_int("seed", seed, minimum=0)

    def fit(self, data: np.ndarray) -> PCAMixtureModel:
        data = check_finite_array("data", data)
        if data.ndim != 3:
            raise ValueError(f"data must have shape (runs, n, pixels), got {data.shape}")
        runs, n, pixels = data.shape
        if n <= max(self.dims, self.components):
            raise ValueError(f"n must be > dims ({self.dims}) and components ({self.components}), got {n}")
        with one_blas_thread():
            mean = data.mean(axis=1)
            centred = data - mean[:, None, :]
            basis = np.linalg.svd(centred, full_matrices=False)[2][:, : self.dims]  # (runs, dims, pixels)
            codes = centred @ np.swapaxes(basis, 1, 2)
            start = kmeans_start(codes, self.components, _stream(self.seed, data), self.reg_covar)
            mixture = fit_em(codes, start, tol=self.tol, max_iter=self.max_iter, reg_covar=self.reg_covar)
        return PCAMixtureModel(mean, basis, mixture)

    def sample(self, model: PCAMixtureModel, size: int, rng: np.random.Generator) -> np.ndarray:
        codes = sample_mixture(model.mixture, size, rng)
        images = model.mean[:, None, :] + codes @ model.basis
        return np.clip(images, 0.0, 1.0)

    def broadcast(self, model: PCAMixtureModel, runs: int) -> PCAMixtureModel:
        def rep(v: np.ndarray) -> np.ndarray:
            return np.broadcast_to(v, (runs, *v.shape[1:])).copy()

        mixture = model.mixture
        return PCAMixtureModel(
            rep(model.mean),
            rep(model.basis),
            MixtureModel(rep(mixture.weights), rep(mixture.means), rep(mixture.covariances)),
        )

    def log_likelihood(self, model: PCAMixtureModel, data: np.ndarray) -> np.ndarray:
        """The mixture's log density of every image's PCA code (how typical the model finds it)."""
        codes = np.einsum("rnx,rpx->rnp", np.asarray(data, float) - model.mean[:, None, :], model.basis)
        return mixture_log_density(model.mixture, codes)

    def describe(self, model: PCAMixtureModel) -> dict[str, np.ndarray]:
        """Smallest component weight and the model's total variance in the PCA space."""
        mix = model.mixture
        summary = mixture_summary(mix)
        return {
            "min_weight": mix.weights.min(axis=1),
            "latent_variance": summary["pooled_std"] ** 2 * mix.means.shape[-1],
        }


@functools.lru_cache(maxsize=4)
def digit_classifier(test_fraction: float = 0.4, seed: int = 0) -> tuple[object, float]:
    """Logistic regression (multinomial, L2, C = 1) trained once on the real training digits.
    Returns ``(classifier, real test accuracy)``."""
    from sklearn.linear_model import LogisticRegression

    digits = load_digit_split(test_fraction, seed)
    with one_blas_thread():
        classifier = LogisticRegression(C=1.0, max_iter=2000).fit(digits.train_x, digits.train_y)
        accuracy = float(classifier.score(digits.test_x, digits.test_y))
    return classifier, accuracy


def nearest_distances(samples: np.ndarray, reference: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Euclidean distance from each sample ``(m, p)`` to its nearest row of ``reference`` ``(r, p)``,
    via |a - b|^2 = |a|^2 + |b|^2 - 2 a.b in chunks (memory m_chunk * r)."""
    samples = np.asarray(samples, float)
    reference = np.asarray(reference, float)
    if samples.ndim != 2 or reference.ndim != 2 or samples.shape[1] != reference.shape[1]:
        raise ValueError(f"samples and reference must be (m, p) and (r, p), got {samples.shape} and {reference.shape}")
    chunk = check_int("chunk", chunk, minimum=1)
    ref_sq = np.sum(reference**2, axis=1)
    out = np.empty(len(samples))
    for start in range(0, len(samples), chunk):
        block = samples[start : start + chunk]
        d2 = np.sum(block**2, axis=1)[:, None] + ref_sq[None, :] - 2.0 * block @ reference.T
        out[start : start + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def class_coverage(labels: np.ndarray, classes: int = 10, min_share: float = 0.02) -> int:
    """Number of classes that receive at least ``min_share`` of the labels (a digit's "mode
    coverage"; 0.02 is a fifth of the fair share when there are 10 classes)."""
    classes = check_int("classes", classes, minimum=1)
    min_share = check_fraction("min_share", min_share)
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("labels must not be empty")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integer class numbers 0..{classes - 1}, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(f"labels must lie in 0..{classes - 1}, got {labels.min()}..{labels.max()}")
    share = np.bincount(labels.ravel(), minlength=classes) / labels.size
    return int(np.sum(share >= min_share))


DIGIT_METRICS = {
    "coverage": "classes covered (>= 2% of samples)",
    "entropy": "class entropy (bits, max log2 10 = 3.32)",
    "confidence": "mean classifier confidence",
    "pixel_variance": "pixel variance (mean over pixels)",
    "nearest_real": "distance to nearest real image",
    "nearest_average": "distance to nearest class average",
}


class DigitScorer:
    """The ``measure`` of the digits loop: draws ``samples`` images from every generation's model
    (its own seeded random stream, so scoring never changes the loop) and scores them with the
    real-digit classifier. Also keeps ``grid`` images per run (sorted by predicted class)."""

    def __init__(self, family: ArrayFamily, samples: int = 500, grid: int = 40, seed: int = 0, min_share: float = 0.02):
        self.family = family
        self.samples = check_int("samples", samples, minimum=10)
        self.grid = check_int("grid", grid, minimum=1)
        if self.grid > self.samples:
            raise ValueError(f"samples must be >= grid = {self.grid} (the images kept for display), got {self.samples}")
        self.seed = check_int("seed", seed, minimum=0)
        self.min_share = check_fraction("min_share", min_share)
        self.digits = load_digit_split()
        self.classifier, self.accuracy = digit_classifier()
        self.class_means = self.digits.class_means

    def score(self, images: np.ndarray) -> dict[str, object]:
        """All metrics of one set of images ``(m, 64)``, plus the grid images sorted by class."""
        proba = self.classifier.predict_proba(images)
        labels = proba.argmax(axis=1)
        share = np.bincount(labels, minlength=10) / len(labels)
        order = np.argsort(labels[: self.grid], kind="stable")
        return {
            "coverage": class_coverage(labels, 10, self.min_share),
            "entropy": float(entropy(share)),
            "confidence": float(proba.max(axis=1).mean()),
            "pixel_variance": float(images.var(axis=0).mean()),
            "nearest_real": float(nearest_distances(images, self.digits.train_x).mean()),
            "nearest_average": float(nearest_distances(images, self.class_means).mean()),
            "class_share": share,
            "grid": images[: self.grid][order],
        }

    def __call__(self, model: PCAMixtureModel, data: object, t: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, t])
        images = self.family.sample(model, self.samples, rng)
        with one_blas_thread():
            rows = [self.score(run) for run in images]
        return {name: np.stack([np.asarray(row[name]) for row in rows]) for name in rows[0]}


def simulate_digits(
    real_fraction: float = 0.0,
    generations: int = 20,
    n: int = 200,
    runs: int = 1,
    *,
    family: ArrayFamily | None = None,
    dims: int = 10,
    components: int = 10,
    samples: int = 500,
    seed: int = 0,
    progress: bool | str = False,
) -> History:
    """Retrain a digit model on its own samples for ``generations`` generations, n training images
    per generation, a fraction ``real_fraction`` of them fresh real digits (the loop's ``fresh-real``
    policy with a :class:`~collapse_edu.loop.DataPool` of the real training digits; 0 = fully
    synthetic). The model is ``family`` (any family whose data are images ``(runs, n, 64)`` in
    [0, 1]), by default ``PCAMixture(dims, components, seed=seed)``. Row 0 is the model of all real
    training digits. Metrics: those of :data:`DIGIT_METRICS`, ``class_share`` ``(T+1, runs, 10)``,
    ``grid`` ``(T+1, runs, 40, 64)``, and the family's own ``describe``."""
    real_fraction = check_fraction("real_fraction", real_fraction)
    n = check_int("n", n, minimum=2)
    digits = load_digit_split()
    if n > len(digits.train_x):
        raise ValueError(f"n must be <= {len(digits.train_x)} (the real training digits), got {n}")
    generations = check_int("generations", generations, minimum=0)
    runs = check_int("runs", runs, minimum=1)
    family = PCAMixture(dims, components, seed=seed) if family is None else family
    scorer = DigitScorer(family, samples=samples, seed=seed)
    check_memory(
        8.0 * runs * ((generations + 1) * (scorer.grid * 64 + 20) + 3 * 64 * (scorer.samples + n)),
        f"runs = {runs} with generations = {generations} and samples = {scorer.samples}",
        "use fewer runs, generations or samples",
    )
    return run_generations(
        family,
        DataPool(digits.train_x),
        n=n,
        generations=generations,
        runs=runs,
        policy="fresh-real",
        real_fraction=real_fraction,
        seed=seed,
        measure=scorer,
        progress=progress,
    )


def real_digit_scores(seed: int = 0, samples: int = 500) -> dict[str, float]:
    """The metrics of :data:`DIGIT_METRICS` for ``samples`` held-out REAL test digits: the target a
    good generator should match (nearest_real here is a fresh real digit's distance to the train set)."""
    seed = check_int("seed", seed, minimum=0)
    digits = load_digit_split()
    scorer = DigitScorer(PCAMixture(), samples=min(samples, len(digits.test_x)), seed=seed)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(digits.test_x), scorer.samples, replace=False)
    row = scorer.score(digits.test_x[picks])
    return {name: float(row[name]) for name in DIGIT_METRICS}
