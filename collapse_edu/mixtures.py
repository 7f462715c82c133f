"""Gaussian mixtures in the generation loop: Shumailov's 2-D toy and a generative model of digits.

**Toy** (Shumailov et al., "AI models collapse when trained on recursively generated data",
Nature 631, 2024; arXiv:2305.17493): fit a Gaussian mixture with full covariances by EM
(scikit-learn's ``GaussianMixture``) to n samples, draw n samples from the fit, refit, ... Each
EM fit is *warm-started* from the previous generation's model (the model is fine-tuned, not
retrained from scratch), which keeps the component labels stable so that every component can be
followed through the generations, and makes one fit cost one or two EM steps.

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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from .loop import ArrayFamily, DataPool, History, ModelSource, Policy, run_generations
from .metrics import entropy
from .validation import check_float, check_fraction, check_int, check_memory

# --------------------------------------------------------------------------- mixture models


@dataclass(frozen=True)
class MixtureModel:
    """One Gaussian mixture per run: ``weights`` ``(runs, k)``, ``means`` ``(runs, k, d)``,
    ``covariances`` ``(runs, k, d, d)``."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

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
    roots = _cholesky(model.covariances)
    noise = rng.standard_normal((runs, size, d))
    index = np.arange(runs)[:, None]
    return model.means[index, component] + np.einsum("rnij,rnj->rni", roots[index, component], noise)


def _cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors; a (nearly) singular covariance gets a tiny diagonal jitter."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        scale = np.maximum(np.trace(cov, axis1=-2, axis2=-1), 1e-300)[..., None, None]
        return np.linalg.cholesky(cov + 1e-10 * scale * np.eye(cov.shape[-1]))


def mixture_log_density(model: MixtureModel, x: np.ndarray) -> np.ndarray:
    """log sum_j w_j N(x; mu_j, Sigma_j) of every point ``x`` ``(runs, m, d)``; returns ``(runs, m)``."""
    roots = _cholesky(model.covariances)  # (runs, k, d, d)
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
    """Per run: component weights ``(runs, k)``, component std sqrt(tr Sigma_j / d) ``(runs, k)``,
    the pooled std sqrt(tr Cov[X] / d) of the whole mixture, and the largest distance between
    component means. Cov[X] = sum_j w_j (Sigma_j + mu_j mu_j^T) - mu mu^T with mu = sum_j w_j mu_j."""
    w, mu, cov = model.weights, model.means, model.covariances
    d = mu.shape[-1]
    centre = np.einsum("rk,rki->ri", w, mu)
    second = np.einsum("rk,rkij->rij", w, cov + mu[..., :, None] * mu[..., None, :])
    pooled = second - centre[:, :, None] * centre[:, None, :]
    gaps = np.linalg.norm(mu[:, :, None, :] - mu[:, None, :, :], axis=-1)
    return {
        "weights": w,
        "component_std": np.sqrt(np.trace(cov, axis1=-2, axis2=-1) / d),
        "pooled_std": np.sqrt(np.trace(pooled, axis1=-2, axis2=-1) / d),
        "separation": gaps.reshape(gaps.shape[0], -1).max(axis=1),
    }


def blob_truth(separation: float = 0.0, components: int = 2, dim: int = 2) -> MixtureModel:
    """The real world of the toy: N(0, I) in ``dim`` dimensions written as ``components`` equal
    components (one blob), or, with ``separation`` s > 0, two unit blobs centred at -s/2 and +s/2
    on the first axis (then ``components`` must be 2)."""
    separation = check_float("separation", separation, 0.0)
    components = check_int("components", components, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    means = np.zeros((1, components, dim))
    if separation > 0:
        if components != 2:
            raise ValueError(f"components must be 2 when separation > 0, got {components}")
        means[0, :, 0] = [-separation / 2, separation / 2]
    covariances = np.broadcast_to(np.eye(dim), (1, components, dim, dim)).copy()
    return MixtureModel(np.full((1, components), 1.0 / components), means, covariances)


class GaussianMixtureFamily(ArrayFamily):
    """Gaussian mixture with full covariances, fitted by EM (scikit-learn ``GaussianMixture``).

    Data are ``(runs, n, d)``. Fits run one after another over the runs (one BLAS thread each:
    the matrices are tiny). With ``warm_start=True`` each run's EM starts from the model this
    family fitted last for that run (k-means initialisation the first time), so components keep
    their identity across generations; use a fresh family per experiment (or call :meth:`reset`).
    """

    def __init__(
        self,
        components: int = 2,
        *,
        warm_start: bool = True,
        max_iter: int = 10,
        tol: float = 1e-4,
        reg_covar: float = 1e-6,
        seed: int = 0,
    ):
        self.components = check_int("components", components, minimum=1)
        if not isinstance(warm_start, bool):
            raise TypeError(f"warm_start must be True or False, got {warm_start!r}")
        self.warm_start = warm_start
        self.max_iter = check_int("max_iter", max_iter, minimum=1)
        self.tol = check_float("tol", tol, 0.0, strict_minimum=True)
        self.reg_covar = check_float("reg_covar", reg_covar, 0.0)
        self.seed = check_int("seed", seed, minimum=0)
        self.reset()

    def reset(self) -> None:
        """Forget the last fit: the next fit starts from k-means again."""
        self._previous: MixtureModel | None = None

    def fit(self, data: np.ndarray) -> MixtureModel:
        from sklearn.mixture import GaussianMixture

        data = np.asarray(data, float)
        if data.ndim != 3:
            raise ValueError(f"data must have shape (runs, n, dim), got {data.shape}")
        runs, n, _ = data.shape
        if n < self.components:
            raise ValueError(f"n must be >= components ({self.components}) to fit a mixture, got {n}")
        previous = self._previous if self.warm_start and self._previous is not None else None
        if previous is not None and previous.runs != runs:
            previous = None
        fits = []
        with _one_thread(), _quiet_convergence():
            for r in range(runs):
                if previous is None:
                    gm = GaussianMixture(
                        self.components, reg_covar=self.reg_covar, max_iter=100, random_state=self.seed + r
                    )
                else:
                    gm = GaussianMixture(
                        self.components,
                        reg_covar=self.reg_covar,
                        max_iter=self.max_iter,
                        tol=self.tol,
                        weights_init=previous.weights[r] / previous.weights[r].sum(),
                        means_init=previous.means[r],
                        precisions_init=_precisions(previous.covariances[r]),
                    )
                gm.fit(data[r])
                fits.append((gm.weights_, gm.means_, gm.covariances_))
        model = MixtureModel(*(np.stack(parts) for parts in zip(*fits, strict=True)))
        self._previous = model
        return model

    def sample(self, model: MixtureModel, size: int, rng: np.random.Generator) -> np.ndarray:
        return sample_mixture(model, size, rng)

    def broadcast(self, model: MixtureModel, runs: int) -> MixtureModel:
        return MixtureModel(
            *(np.broadcast_to(v, (runs, *v.shape[1:])).copy() for v in (model.weights, model.means, model.covariances))
        )

    def describe(self, model: MixtureModel) -> dict[str, np.ndarray]:
        return mixture_summary(model)

    def log_likelihood(self, model: MixtureModel, data: np.ndarray) -> np.ndarray:
        """The mixture's log density of every sample (for curation)."""
        return mixture_log_density(model, data)


@functools.lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    import sklearn.mixture  # noqa: F401 - load the BLAS libraries before they are listed

    return ThreadpoolController()


def _one_thread():
    """Limit BLAS/OpenMP to one thread (tiny matrices: threads only cost); the controller is
    built once because listing the loaded libraries takes milliseconds."""
    return _controller().limit(limits=1)


def _precisions(covariances: np.ndarray) -> np.ndarray:
    return np.linalg.inv(covariances + 1e-12 * np.eye(covariances.shape[-1]))


class _quiet_convergence:
    """Warm-started EM stops at ``max_iter`` by design: silence sklearn's ConvergenceWarning."""

    def __enter__(self) -> None:
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("ignore", ConvergenceWarning)

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)


def simulate_mixture(
    n: int = 1000,
    generations: int = 500,
    runs: int = 1,
    *,
    components: int = 2,
    separation: float = 0.0,
    max_iter: int = 10,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    seed: int = 0,
    keep_models: bool = True,
    progress: bool | str = False,
) -> History:
    """Shumailov's toy: a ``components``-component full-covariance mixture refitted (warm-started
    EM) to n samples of its predecessor for ``generations`` generations, starting from one 2-D
    blob N(0, I) (or two blobs ``separation`` apart). History metrics: ``weights``,
    ``component_std`` (both ``(T+1, runs, k)``), ``pooled_std``, ``separation``; row 0 is the truth."""
    n = check_int("n", n, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    components = check_int("components", components, minimum=1)
    if components > n:
        raise ValueError(f"components must be <= n = {n} (EM needs a sample per component), got {components}")
    family = GaussianMixtureFamily(components, max_iter=max_iter, seed=seed)
    truth = blob_truth(separation, components)
    return run_generations(
        family,
        ModelSource(truth),
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        seed=seed,
        keep_models=keep_models,
        progress=progress,
    )


def mixture_density(model: MixtureModel, run: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Density of run ``run``'s 2-D mixture on the grid ``x`` by ``y`` (for contour snapshots)."""
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
    """Images -> PCA to ``dims`` dimensions -> Gaussian mixture of ``components`` (full covariance,
    k-means initialised EM). Fit refits both parts per run; samples are mapped back to pixels and
    clipped to the valid range [0, 1]."""

    sample_bytes = 8 * 64  # one 8x8 image

    def __init__(self, dims: int = 10, components: int = 10, *, reg_covar: float = 1e-6, seed: int = 0):
        self.dims = check_int("dims", dims, minimum=1, maximum=64)
        self.components = check_int("components", components, minimum=1)
        self.reg_covar = check_float("reg_covar", reg_covar, 0.0)
        self.seed = check_int("seed", seed, minimum=0)

    def fit(self, data: np.ndarray) -> PCAMixtureModel:
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        data = np.asarray(data, float)
        if data.ndim != 3:
            raise ValueError(f"data must have shape (runs, n, pixels), got {data.shape}")
        runs, n, pixels = data.shape
        if n <= max(self.dims, self.components):
            raise ValueError(f"n must be > dims ({self.dims}) and components ({self.components}), got {n}")
        means, bases, fits = [], [], []
        with _one_thread(), _quiet_convergence():
            for r in range(runs):
                pca = PCA(self.dims, svd_solver="full").fit(data[r])
                codes = pca.transform(data[r])
                gm = GaussianMixture(
                    self.components, reg_covar=self.reg_covar, max_iter=100, random_state=self.seed + r
                ).fit(codes)
                means.append(pca.mean_)
                bases.append(pca.components_)
                fits.append((gm.weights_, gm.means_, gm.covariances_))
        mixture = MixtureModel(*(np.stack(parts) for parts in zip(*fits, strict=True)))
        return PCAMixtureModel(np.stack(means), np.stack(bases), mixture)

    def sample(self, model: PCAMixtureModel, size: int, rng: np.random.Generator) -> np.ndarray:
        codes = sample_mixture(model.mixture, size, rng)
        images = model.mean[:, None, :] + np.einsum("rnp,rpx->rnx", codes, model.basis)
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
    with _one_thread():
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

    def __init__(self, family: PCAMixture, samples: int = 500, grid: int = 40, seed: int = 0, min_share: float = 0.02):
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
        rows = [self.score(run) for run in images]
        return {name: np.stack([np.asarray(row[name]) for row in rows]) for name in rows[0]}


def simulate_digits(
    real_fraction: float = 0.0,
    generations: int = 20,
    n: int = 200,
    runs: int = 1,
    *,
    dims: int = 10,
    components: int = 10,
    samples: int = 500,
    seed: int = 0,
    progress: bool | str = False,
) -> History:
    """Retrain the PCA + mixture digit model on its own samples for ``generations`` generations,
    n training images per generation, a fraction ``real_fraction`` of them fresh real digits
    (the loop's ``fresh-real`` policy with a :class:`~collapse_edu.loop.DataPool` of the real
    training digits; 0 = fully synthetic). Row 0 is the model of all real training digits.
    Metrics: those of :data:`DIGIT_METRICS`, ``class_share`` ``(T+1, runs, 10)``, ``grid``
    ``(T+1, runs, 40, 64)``, ``min_weight``, ``latent_variance``."""
    real_fraction = check_fraction("real_fraction", real_fraction)
    n = check_int("n", n, minimum=2)
    digits = load_digit_split()
    if n > len(digits.train_x):
        raise ValueError(f"n must be <= {len(digits.train_x)} (the real training digits), got {n}")
    generations = check_int("generations", generations, minimum=0)
    runs = check_int("runs", runs, minimum=1)
    family = PCAMixture(dims, components, seed=seed)
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


def simulate_digit_policies(
    real_fractions: Sequence[float] = (0.0, 0.1, 0.5),
    generations: int = 20,
    n: int = 200,
    runs: int = 1,
    *,
    seed: int = 0,
    progress: bool = False,
) -> dict[float, History]:
    """:func:`simulate_digits` for each real fraction (same seed), keyed by the fraction."""
    results = {}
    for r in real_fractions:
        label = f"digits, {r:.0%} real" if progress else False
        results[float(r)] = simulate_digits(r, generations, n, runs, seed=seed, progress=label)
    return results
