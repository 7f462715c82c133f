"""Linear regression in the generation loop, and the strong-collapse experiments.

**The family.** Features x ~ N(0, I_d), labels y = x . w + noise with noise ~ N(0, sigma^2). A
model is a weight vector w (one per run), fitted by least squares (optionally ridge). Generation 0
is the truth w*; generation t is the t-th fit. Each new generation's training labels are made by
the previous fit plus fresh noise: y = x . w_{t-1} + eps (Gerstgrasser et al., "Is Model Collapse
Inevitable?", arXiv:2404.01413; Dohmatob et al., "Model Collapse Demystified", arXiv:2402.07712).

**Test error** of a fit w is its excess risk on real data, E_x[(x . w - x . w*)^2] = |w - w*|^2
for isotropic x (the noise floor sigma^2 of a perfect model is left out).

**Design.** ``design="fixed"``: every generation relabels the SAME T x d design matrix X (one X per
run, drawn once): the setting of Gerstgrasser et al.'s theorem. ``design="fresh"``: new features are
drawn for every batch of data (real or synthetic).

**Two paths.** :class:`LinearRegression` keeps the rows (``(runs, size, d + 1)``: features, then the
label). :class:`LinearRegressionFast` keeps only the sufficient statistics G = X^T X and b = X^T y,
which is exact: for fresh Gaussian rows G ~ Wishart_d(size, I) and, given G, X^T eps ~ N(0, sigma^2 G).
One generation then costs O(d^3) per run whatever T is, and pooling (accumulate) is a sum.

**Strong collapse** (Dohmatob et al., "Strong Model Collapse", arXiv:2410.04840): one least-squares
fit on n samples of which a fraction p is labelled by a shifted model w* + delta.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .environment import one_blas_thread
from .gaussian import wishart_root
from .loop import ArrayFamily, History, ModelSource, Policy, run_generations
from .validation import as_rng, check_bool, check_choice, check_float, check_fraction, check_int, check_memory

DESIGNS = ("fixed", "fresh")
# The largest label noise allowed. The course uses sigma ~ 0.1-10; the errors grow like sigma^2 t, so
# sigma ~ 1e150 overflows them to inf (and 1e300 overflows the noise itself). 1e6 is far beyond any
# teaching use and keeps every statistic finite.
MAX_NOISE = 1e6


@dataclass(frozen=True)
class LinearModel:
    """One weight vector per run: ``w`` has shape ``(runs, d)``."""

    w: np.ndarray


@dataclass(frozen=True)
class RegressionStats:
    """Sufficient statistics of a regression dataset, per run: row count ``(runs,)``,
    Gram matrix X^T X ``(runs, d, d)`` and moment X^T y ``(runs, d)``."""

    count: np.ndarray
    gram: np.ndarray
    moment: np.ndarray


def _wishart(df: int, runs: int, dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """X^T X for X with ``df`` rows of N(0, I_dim) per run, and a root R with X^T X = R R^T, so that
    X^T eps ~ N(0, sigma^2 X^T X) is sigma R z (see :func:`~collapse_edu.gaussian.wishart_root`)."""
    root = wishart_root(df, runs, dim, rng)
    return root @ np.swapaxes(root, 1, 2), root


def _noise_moment(root: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """X^T eps for eps ~ N(0, noise^2 I), given a root R of X^T X: noise * R z, z ~ N(0, I)."""
    z = rng.standard_normal(root.shape[::2])
    return noise * (root @ z[..., None])[..., 0]


def _solve(gram: np.ndarray, moment: np.ndarray, ridge: float) -> np.ndarray:
    """Batched least squares: w = (G + ridge I)^{-1} b for every run."""
    if ridge > 0:
        gram = gram + ridge * np.eye(gram.shape[-1])
    try:
        return np.linalg.solve(gram, moment[..., None])[..., 0]
    except np.linalg.LinAlgError:
        raise ValueError(
            f"ridge = {ridge:g} leaves X^T X + ridge I singular (fewer independent rows than features): "
            "use more samples or a ridge penalty of the data's scale (1e-6 or more)"
        ) from None


class LinearRegression(ArrayFamily):
    """Least squares (``ridge`` = 0) or ridge regression, minimising |y - X w|^2 + ridge |w|^2.

    Data are rows ``(runs, size, dim + 1)``: the features, then the label. ``w_true`` is the
    real-world model, used to report the test error |w - w*|^2 of every fit. ``design`` is
    ``None`` (fresh features for every sample) or a fixed design ``(runs, T, dim)`` that every
    generation relabels (then every sample has exactly T rows).
    """

    def __init__(
        self,
        dim: int,
        *,
        noise: float = 1.0,
        ridge: float = 0.0,
        w_true: np.ndarray | None = None,
        design: np.ndarray | None = None,
    ):
        self.dim = check_int("dim", dim, minimum=1)
        self.sample_bytes = 8 * (self.dim + 1)
        self.noise = check_float("noise", noise, 0.0, MAX_NOISE)
        self.ridge = check_float("ridge", ridge, 0.0)
        self.w_true = np.zeros(self.dim) if w_true is None else np.asarray(w_true, float)
        if self.w_true.shape != (self.dim,):
            raise ValueError(f"w_true must have shape ({self.dim},), got {self.w_true.shape}")
        self.design = None if design is None else np.asarray(design, float)
        if self.design is not None and (self.design.ndim != 3 or self.design.shape[2] != self.dim):
            raise ValueError(f"design must have shape (runs, T, {self.dim}), got {self.design.shape}")

    def _features(self, runs: int, size: int, rng: np.random.Generator) -> np.ndarray:
        if self.design is None:
            return rng.standard_normal((runs, size, self.dim))
        if size != self.design.shape[1] or runs != self.design.shape[0]:
            raise ValueError(
                f"a fixed design relabels its {self.design.shape[1]} rows: samples must equal "
                f"{self.design.shape[1]} and runs {self.design.shape[0]}, got {size} and {runs}"
            )
        return self.design

    def fit(self, data: np.ndarray) -> LinearModel:
        features, labels = data[..., : self.dim], data[..., self.dim]
        transposed = np.swapaxes(features, 1, 2)
        gram = transposed @ features
        moment = (transposed @ labels[..., None])[..., 0]
        return LinearModel(_solve(gram, moment, self.ridge))

    def sample(self, model: LinearModel, size: int, rng: np.random.Generator) -> np.ndarray:
        runs = model.w.shape[0]
        features = self._features(runs, size, rng)
        labels = (features @ model.w[..., None])[..., 0] + self.noise * rng.standard_normal((runs, size))
        return np.concatenate([features, labels[..., None]], axis=2)

    def broadcast(self, model: LinearModel, runs: int) -> LinearModel:
        return LinearModel(np.broadcast_to(np.asarray(model.w, float), (runs, self.dim)).copy())

    def describe(self, model: LinearModel) -> dict[str, np.ndarray]:
        """``error``: |w - w*|^2, the excess test risk for isotropic features."""
        return {"error": np.sum((model.w - self.w_true) ** 2, axis=1)}

    def log_likelihood(self, model: LinearModel, data: np.ndarray) -> np.ndarray:
        """log N(y; x . w, noise^2) of every row ``(runs, m)`` (the features' own density is the same
        for every model and left out)."""
        residual = data[..., self.dim] - (data[..., : self.dim] @ model.w[..., None])[..., 0]
        noise = max(self.noise, 1e-12)
        return -0.5 * (residual / noise) ** 2 - np.log(noise) - 0.5 * np.log(2 * np.pi)


class LinearRegressionFast(LinearRegression):
    """The same family on the exact sufficient-statistics path (data are :class:`RegressionStats`)."""

    keeps_samples = False

    def __init__(self, dim: int, **kwargs):
        super().__init__(dim, **kwargs)
        if self.design is None:
            self._design_gram = self._design_root = None
        else:
            transposed = np.swapaxes(self.design, 1, 2)
            self._design_gram = transposed @ self.design
            # A root R with R R^T = X^T X: the Cholesky factor when X^T X is invertible (T >= dim), else X^T
            # itself (T < dim: X^T X is singular, as in :func:`~collapse_edu.gaussian.wishart_root`).
            if self.design.shape[1] >= self.dim:
                self._design_root = np.linalg.cholesky(self._design_gram)
            else:
                self._design_root = transposed

    def fit(self, data: RegressionStats) -> LinearModel:
        return LinearModel(_solve(data.gram, data.moment, self.ridge))

    def sample(self, model: LinearModel, size: int, rng: np.random.Generator) -> RegressionStats:
        runs = model.w.shape[0]
        if self._design_gram is None:
            gram, root = _wishart(size, runs, self.dim, rng)
        else:
            self._features(runs, size, rng)  # checks size and runs
            gram, root = self._design_gram, self._design_root
        moment = (gram @ model.w[..., None])[..., 0] + _noise_moment(root, self.noise, rng)
        return RegressionStats(np.full(runs, size), gram, moment)

    def pool(self, parts: Sequence[RegressionStats]) -> RegressionStats:
        return RegressionStats(sum(p.count for p in parts), sum(p.gram for p in parts), sum(p.moment for p in parts))

    def subsample(self, data: RegressionStats, size: int, rng: np.random.Generator) -> RegressionStats:
        raise ValueError("policy 'accumulate-subsample' needs the individual rows: use fast=False")


def simulate_regression(
    dim: int = 10,
    samples: int = 100,
    generations: int = 50,
    runs: int = 1000,
    *,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    noise: float = 1.0,
    ridge: float = 0.0,
    design: str = "fixed",
    fast: bool | None = None,
    seed: int | np.random.Generator | None = 0,
    progress: bool | str = False,
) -> History:
    """Recursive least squares: generation t fits ``samples`` rows labelled by fit t-1 plus noise.

    Returns a :class:`~collapse_edu.loop.History` whose ``error`` is |w_t - w*|^2 per generation and
    run (row 0 is the truth, error 0). ``design="fixed"`` relabels one design matrix per run
    (Gerstgrasser et al., arXiv:2404.01413); ``"fresh"`` draws new features every time.
    ``fast=None`` picks the exact sufficient-statistics path unless the policy needs rows.
    """
    dim = check_int("dim", dim, minimum=1)
    samples = check_int("samples", samples, minimum=1)
    runs = check_int("runs", runs, minimum=1)
    design = check_choice("design", design, DESIGNS)
    policy = Policy.coerce(policy, real_fraction)
    noise = check_float("noise", noise, 0.0, MAX_NOISE)
    ridge = check_float("ridge", ridge, 0.0)
    if fast is not None:
        fast = check_bool("fast", fast)
    if ridge == 0 and samples <= dim:
        raise ValueError(f"samples must be > dim ({dim}) for least squares (or set ridge > 0), got {samples}")
    if design == "fixed" and policy.name == "fresh-real":
        raise ValueError(
            "design='fixed' relabels the same rows every generation; policy 'fresh-real' needs fresh rows: "
            "use design='fresh'"
        )
    if fast is None:
        fast = policy.name != "accumulate-subsample"
    elif fast and policy.name == "accumulate-subsample":
        raise ValueError("policy 'accumulate-subsample' needs the individual rows: use fast=False")
    rng = as_rng(seed)
    check_memory(
        8.0 * runs * dim * (4 * dim + (samples if design == "fixed" else 0)),
        f"runs = {runs} with dim = {dim}" + (f" and samples = {samples} (a fixed design)" if design == "fixed" else ""),
        "use fewer runs or a smaller dim",
    )
    w_true = np.zeros(dim)
    w_true[0] = 1.0
    fixed = rng.standard_normal((runs, samples, dim)) if design == "fixed" else None
    family = (LinearRegressionFast if fast else LinearRegression)(
        dim, noise=noise, ridge=ridge, w_true=w_true, design=fixed
    )
    with one_blas_thread():
        return run_generations(
            family,
            ModelSource(LinearModel(w_true[None])),
            n=samples,
            generations=generations,
            runs=runs,
            policy=policy,
            seed=rng,
            progress=progress,
        )


# --------------------------------------------------------------------------- strong collapse


def strong_collapse_errors(
    n: int | Sequence[int] | np.ndarray,
    synthetic_fraction: float,
    *,
    dim: int = 10,
    noise: float = 1.0,
    shift: float = 1.0,
    runs: int = 400,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Test error |w_hat - w*|^2 of least squares on n rows, round(p n) of them labelled by the
    shifted model w* + delta with |delta| = ``shift`` (Dohmatob et al., arXiv:2410.04840).

    Exact and cheap for any n: with G_r, G_s the Gram matrices of the real and shifted rows
    (independent Wisharts), w_hat - w* = G^{-1} (G_s delta + X^T eps), G = G_r + G_s.
    Returns an array ``(len(n), runs)``."""
    sizes = np.atleast_1d(np.asarray(n))
    p = check_fraction("synthetic_fraction", synthetic_fraction)
    dim = check_int("dim", dim, minimum=1)
    noise = check_float("noise", noise, 0.0)
    shift = check_float("shift", shift, 0.0)
    runs = check_int("runs", runs, minimum=1)
    rng = as_rng(seed)
    check_memory(8.0 * runs * dim * 6 * dim, f"runs = {runs} with dim = {dim}", "use fewer runs or a smaller dim")
    delta = np.zeros(dim)
    delta[0] = shift  # features are isotropic, so the direction of delta does not matter
    out = np.empty((sizes.size, runs))
    with one_blas_thread():
        for i, size in enumerate(sizes):
            size = check_int("n", size.item() if hasattr(size, "item") else size, minimum=dim + 2)
            shifted = int(round(p * size))
            gram_s, root_s = _wishart(shifted, runs, dim, rng)
            gram_r, root_r = _wishart(size - shifted, runs, dim, rng)
            # X^T eps splits into the two independent blocks of rows.
            moment = gram_s @ delta + _noise_moment(root_s, noise, rng) + _noise_moment(root_r, noise, rng)
            gram = gram_r + gram_s
            out[i] = np.sum(_solve(gram, moment, 0.0) ** 2, axis=1)
    return out


def random_features_errors(
    widths: Sequence[int] | np.ndarray,
    synthetic_fraction: float | Sequence[float],
    *,
    n: int = 200,
    dim: int = 100,
    noise: float = 0.5,
    shift: float = 1.0,
    ridge: float = 1e-3,
    runs: int = 20,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Random-projections model f(x) = v . (S x) / sqrt(dim) of width m = len(v), S an m x dim matrix
    of N(0, 1) entries fixed at random; v fitted by ridge (min |y - F v|^2 + ridge n |v|^2) on n rows
    of which a fraction p carries labels from w* + delta (|w*| = 1, |delta| = ``shift``). The setting
    of Dohmatob et al.'s model-size study (arXiv:2410.04840, random projections of tunable size).

    Test error = E_x[(f(x) - x . w*)^2] = |S^T v / sqrt(dim) - w*|^2 (isotropic x, noise floor left out).
    Returns ``(len(widths), runs)`` for one fraction, ``(len(fractions), len(widths), runs)`` for a
    sequence; all fractions share S, X and the noise (paired runs), so they differ only by the labels."""
    single = np.ndim(synthetic_fraction) == 0
    fractions = [check_fraction("synthetic_fraction", p) for p in np.atleast_1d(synthetic_fraction).tolist()]
    n = check_int("n", n, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    noise = check_float("noise", noise, 0.0)
    shift = check_float("shift", shift, 0.0)
    ridge = check_float("ridge", ridge, 0.0, strict_minimum=True)
    runs = check_int("runs", runs, minimum=1)
    widths = [check_int("widths", m, minimum=1) for m in np.atleast_1d(np.asarray(widths, dtype=object)).tolist()]
    if not widths:
        raise ValueError("widths must name at least one model width")
    width = max(widths)
    check_memory(
        8.0 * runs * (n * dim * (1 + len(fractions)) + width * dim + 3 * n * min(width, n) + width * len(fractions)),
        f"runs = {runs} with n = {n}, dim = {dim} and widths up to {width}",
        "use fewer runs or smaller widths",
    )
    rng = as_rng(seed)
    w_true = rng.standard_normal((runs, dim))
    w_true /= np.linalg.norm(w_true, axis=1, keepdims=True)
    delta = rng.standard_normal((runs, dim))
    delta *= shift / np.linalg.norm(delta, axis=1, keepdims=True)
    features = rng.standard_normal((runs, n, dim))
    clean = (features @ w_true[..., None])[..., 0] + noise * rng.standard_normal((runs, n))
    shifted = (features @ delta[..., None])[..., 0]
    labels = np.stack([clean + shifted * (np.arange(n) < round(p * n)) for p in fractions], axis=2)  # (runs, n, k)
    projections = rng.standard_normal((runs, max(widths), dim))
    out = np.empty((len(fractions), len(widths), runs))
    with one_blas_thread():
        for i, m in enumerate(widths):
            s = projections[:, :m] / np.sqrt(dim)  # (runs, m, dim): nested widths share their first rows
            f = features @ np.swapaxes(s, 1, 2)
            ft = np.swapaxes(f, 1, 2)
            if m <= n:  # primal: (F^T F + ridge n I) v = F^T y
                gram = ft @ f + ridge * n * np.eye(m)
                v = np.linalg.solve(gram, ft @ labels)
            else:  # dual: v = F^T (F F^T + ridge n I)^{-1} y, the same solution with an n x n solve
                v = ft @ np.linalg.solve(f @ ft + ridge * n * np.eye(n), labels)
            w_eff = np.swapaxes(s, 1, 2) @ v  # (runs, dim, k)
            out[:, i] = np.sum((w_eff - w_true[..., None]) ** 2, axis=1).T
    return out[0] if single else out
