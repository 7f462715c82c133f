"""Lesson 09, the capstone: training logs of unknown cause, and how to tell them apart.

Five stories end in the same complaint, "the model got worse" (or seem to): **overfitting**, **model
collapse**, **GAN mode collapse**, **catastrophic forgetting**, and a **healthy** run that only looks
alarming. :func:`mystery_runs` hands out one log of each under shuffled labels A-E;
:func:`reveal` gives the answers. Every log is a real simulation run with the course's own code (the
generation loop and its families, the GAN and the continual-learning modules), in one of four
settings, and every cause occurs in several settings and every setting hosts several causes, so the
*kind* of model does not give the answer away:

* **curve fit**: a Legendre polynomial fitted to noisy points of y = sin(pi x) (gradient descent,
  or least squares inside :func:`collapse_edu.loop.run_generations` with a regression family);
* **ring mixture**: a mixture of 8 Gaussians fitted by EM to a ring of 8 real modes
  (:class:`collapse_edu.mixtures.GaussianMixtureFamily`, in the generation loop);
* **ring GAN**: a GAN on the same ring (:func:`collapse_edu.gan.train_gan`, vanilla or PacGAN-4);
* **digit classifier**: an MLP on scikit-learn's 8x8 digits (the pieces of :mod:`collapse_edu.continual`).

A log shows what a practitioner would have, one row per checkpoint (:data:`COLUMNS`):

``checkpoint``       0, 1, 2, ... in training order (a checkpoint is a training step count, a
                     generation of retraining, or a point within a task, depending on the run).
``train_loss``       the loss on the data the model is trained on at that checkpoint.
``heldout_loss``     the same loss on held-out REAL data like the first training data.
``diversity``        how varied the outputs are relative to real data (1 = as varied as real).
``quality``          how good the outputs are on held-out data like the CURRENT training data
                     (1 = as good as real data).
``oldest_score``     a score in [0, 1] on the oldest training data (the data of checkpoint 0).
``output_shift``     total-variation distance between histograms of the outputs at this checkpoint
                     and at the previous one, over fixed cells (0 = the same outputs).
``synthetic_share``  an estimate of the share of machine-made examples in the current training data:
                     the share of :data:`AUDIT` random training examples whose provenance tag says
                     "machine-made" (uncertain twice over: a binomial count, and tags get lost, so
                     it tends to undercount; see :func:`tagged_share`).

No column names where the data came from or when they changed: that has to be read from the numbers.
The runs themselves are precomputed by ``benchmarks/capstone_pool.py`` (:func:`build_pool`) and
stored in ``results/capstone_pool.npz``; :func:`make_run` recomputes any run but the GAN ones live.
Runs are labelled by what happened, checked by :func:`outcome_holds` (for example a vanilla GAN run
that ends on most modes is not a mode-collapse case and is left out of the pool).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .environment import RESULTS_DIR
from .exercises import checker
from .regression import LinearRegression
from .validation import check_bool, check_choice, check_float, check_fraction, check_int, check_memory, check_numbers

CAUSES = ("overfitting", "model collapse", "mode collapse", "forgetting", "healthy")
LABELS = ("A", "B", "C", "D", "E")
COLUMNS = (
    "checkpoint",
    "train_loss",
    "heldout_loss",
    "diversity",
    "quality",
    "oldest_score",
    "output_shift",
    "synthetic_share",
)
CHECKPOINTS = 15  #: rows of every log
AUDIT = 20  #: training examples whose provenance is checked for the synthetic-share estimate
POOL_FILE = RESULTS_DIR / "capstone_pool.npz"


@dataclass(frozen=True)
class RunLog:
    """One training log: the same :data:`COLUMNS` for every run, one value per checkpoint."""

    label: str
    columns: Mapping[str, np.ndarray] = field(repr=False)

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.columns]
        if missing:
            raise ValueError(f"columns must hold {', '.join(COLUMNS)}; missing {', '.join(missing)}")
        sizes = {len(np.asarray(self.columns[c])) for c in COLUMNS}
        if len(sizes) != 1 or sizes == {0}:
            raise ValueError("columns must all have the same, non-zero length")

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; the log has {', '.join(COLUMNS)}")
        return np.asarray(self.columns[name], float)

    def __len__(self) -> int:
        return len(self.columns["checkpoint"])

    def __repr__(self) -> str:
        return f"RunLog({self.label!r}, {len(self)} checkpoints)"

    def to_text(self) -> str:
        """The log as an aligned table (what ``print(log)`` shows)."""
        names = [c.replace("synthetic_share", "synth_share") for c in COLUMNS]
        head = "  ".join(f"{c:>12}" for c in names)
        rows = []
        for i in range(len(self)):
            cells = [f"{int(self['checkpoint'][i]):>12d}"]
            cells += [f"{_fmt(self[c][i]):>12}" for c in COLUMNS[1:]]
            rows.append("  ".join(cells))
        return f"run {self.label}\n{head}\n" + "\n".join(rows)

    __str__ = to_text


def _fmt(value: float) -> str:
    """Three significant digits, and plain 0 for a zero (no '-0')."""
    return "0" if value == 0 else f"{value:.3g}"


def _log(columns: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    out = {c: np.asarray(columns[c], float) for c in COLUMNS if c != "checkpoint"}
    out["checkpoint"] = np.arange(len(out["train_loss"]), dtype=float)
    return {c: out[c] for c in COLUMNS}


# --------------------------------------------------------------------------- shared measurements


def _histogram(cells: np.ndarray, count: int) -> np.ndarray:
    return np.bincount(np.asarray(cells, int), minlength=count) / max(len(cells), 1)


def _shifts(histograms: np.ndarray) -> np.ndarray:
    """Total variation 0.5 sum |p_t - p_{t-1}| between consecutive rows (0 for the first)."""
    tv = 0.5 * np.abs(np.diff(histograms, axis=0)).sum(axis=1)
    return np.concatenate(([0.0], tv))


def coverage(reference: np.ndarray, outputs: np.ndarray, k: int = 5) -> float:
    """Share of reference points whose k-nearest-neighbour ball (radius: distance to the k-th nearest
    other reference point) holds at least one output (Naeem et al. 2020, arXiv:2002.09797)."""
    from scipy.spatial import cKDTree

    if len(reference) < 2:
        raise ValueError(f"reference must hold at least 2 points, got {len(reference)}")
    k = check_int("k", k, minimum=1, maximum=len(reference) - 1)  # neighbours other than the point itself
    radius = cKDTree(reference).query(reference, k=k + 1)[0][:, -1]
    nearest = cKDTree(outputs).query(reference, k=1)[0]
    return float(np.mean(nearest <= radius))


def _effective_number(p: np.ndarray) -> float:
    """exp(entropy) of a histogram: the number of equally used cells it is worth."""
    p = np.asarray(p, float)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def audit(shares: Sequence[float], seed: int | np.random.Generator, size: int = AUDIT) -> np.ndarray:
    """The synthetic-share estimate of a log: at each checkpoint, ``size`` training examples drawn at
    random have their provenance checked; the estimate is the machine-made share among them
    (a binomial count: k / size with k ~ Binomial(size, true share))."""
    size = check_int("size", size, minimum=1)
    shares = check_numbers("shares", shares, minimum=0.0)
    if np.any(shares > 1):
        raise ValueError(f"shares must each be in [0, 1] (a share of the training data), got max {shares.max():g}")
    if not isinstance(seed, np.random.Generator):
        seed = np.random.default_rng([check_int("seed", seed, minimum=0), 77])
    return seed.binomial(size, shares) / size


# --------------------------------------------------------------------------- curve fit

CURVE_NOISE = 0.3  #: noise std of the real curve data y = sin(pi x) + N(0, 0.3^2)


def _real_curve(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.sin(np.pi * x) + CURVE_NOISE * rng.standard_normal(np.shape(x))


def _legendre(x: np.ndarray, degree: int) -> np.ndarray:
    from numpy.polynomial import legendre

    return legendre.legvander(np.asarray(x, float), degree)


class PolynomialDescent:
    """Gradient descent on half the mean squared error, ||Xw - y||^2 / 2n, of a polynomial on one dataset, exactly.

    With X = ``basis(x, degree)`` (default: Legendre polynomials), A = X^T X / n = V diag(lambda) V^T,
    b = X^T y / n and step size eta = 1 / lambda_max, t steps from w_0 give
    w_t = w_0 + V diag((1 - (1 - eta lambda)^t) / lambda) V^T (b - A w_0)."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        degree: int,
        basis: Callable[[np.ndarray, int], np.ndarray] = _legendre,
    ):
        self.x, self.y, self.degree = np.asarray(x, float), np.asarray(y, float), degree
        X = basis(self.x, degree)
        self.A = X.T @ X / len(self.x)
        self.b = X.T @ self.y / len(self.x)
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(self.A)
        self.eta = 1.0 / self.eigenvalues.max()

    def weights(self, steps: int, start: np.ndarray | None = None) -> np.ndarray:
        start = np.zeros(self.degree + 1) if start is None else np.asarray(start, float)
        if steps == 0:
            return start.copy()
        lam, V = self.eigenvalues, self.eigenvectors
        rate = np.clip(self.eta * lam, 0.0, 1.0)
        with np.errstate(divide="ignore"):
            done = -np.expm1(steps * np.log1p(-rate))  # 1 - (1 - eta lambda)^t, stable
        gain = np.where(lam > 1e-300, done / np.where(lam > 1e-300, lam, 1.0), self.eta * steps)
        return start + V @ (gain * (V.T @ (self.b - self.A @ start)))


@dataclass(frozen=True)
class PolynomialFit:
    """The warm-up's data and the exact gradient-descent path of a polynomial fitted to it."""

    x: np.ndarray
    y: np.ndarray
    x_out: np.ndarray
    y_out: np.ndarray
    degree: int
    descent: PolynomialDescent = field(repr=False)

    @classmethod
    def from_data(cls, x, y, x_out, y_out, degree: int = 15) -> PolynomialFit:
        """Training points (x, y), held-out points (x_out, y_out) and a degree-``degree`` polynomial."""
        x, y, x_out, y_out = (np.asarray(a, float) for a in (x, y, x_out, y_out))
        if x.shape != y.shape or x_out.shape != y_out.shape or x.ndim != 1 or x_out.ndim != 1:
            raise ValueError("x, y and x_out, y_out must be 1-D arrays of matching lengths")
        degree = check_int("degree", degree, minimum=1, maximum=40)
        return cls(x, y, x_out, y_out, degree, PolynomialDescent(x, y, degree))

    def weights(self, steps: int) -> np.ndarray:
        """The weights after ``steps`` gradient-descent steps from w = 0 (step size 1 / lambda_max)."""
        return self.descent.weights(int(steps))

    def predict(self, x: np.ndarray, steps: int) -> np.ndarray:
        return _legendre(x, self.degree) @ self.weights(steps)

    def errors(self, steps: int) -> tuple[float, float]:
        """Mean squared error on the training points and on the held-out points after ``steps`` steps."""
        w = self.weights(steps)
        train = np.mean((_legendre(self.x, self.degree) @ w - self.y) ** 2)
        heldout = np.mean((_legendre(self.x_out, self.degree) @ w - self.y_out) ** 2)
        return float(train), float(heldout)


def polynomial_fit(seed: int = 0, *, points: int = 20, degree: int = 15, heldout: int = 2000) -> PolynomialFit:
    """``points`` noisy points of y = sin(pi x) + N(0, 0.3^2), x ~ U(-1, 1), and ``heldout`` held-out
    points drawn the same way but from the TRAINING RANGE (between the smallest and the largest
    training x), so that held-out error measures fitting between the points, not extrapolation."""
    seed = check_int("seed", seed, minimum=0)
    points = check_int("points", points, minimum=5)
    degree = check_int("degree", degree, minimum=1, maximum=40)
    heldout = check_int("heldout", heldout, minimum=10)
    check_memory(8.0 * (points + heldout) * (degree + 4), f"points = {points}, heldout = {heldout}", "use fewer points")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, points)
    y = np.sin(np.pi * x) + CURVE_NOISE * rng.standard_normal(points)
    x_out = rng.uniform(x.min(), x.max(), heldout)
    y_out = np.sin(np.pi * x_out) + CURVE_NOISE * rng.standard_normal(heldout)
    return PolynomialFit.from_data(x, y, x_out, y_out, degree)


CURVE_TOLERANCE = 2 * CURVE_NOISE  #: a prediction within this distance of its target counts as right
_REAL_HIT_RATE = 0.9545  # P(|N(0, 0.3^2)| < 0.6): the share the true curve itself gets right


def curve_score(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of points predicted within :data:`CURVE_TOLERANCE` (twice the noise std) of their real
    target, relative to the share the true curve gets (0.9545), capped at 1: a score in [0, 1] like an
    accuracy (1 = as good as the truth)."""
    return float(min(1.0, np.mean(np.abs(pred - y) < CURVE_TOLERANCE) / _REAL_HIT_RATE))


@dataclass
class _CurveCheckpoint:
    w: np.ndarray
    train: tuple[np.ndarray, np.ndarray]
    current: tuple[np.ndarray, np.ndarray]  # held-out real points like the current training data
    share: float  # true machine-made share of the training data


def _curve_log(
    points: list[_CurveCheckpoint], degree: int, oldest: tuple, heldout: tuple, seed: int
) -> dict[str, np.ndarray]:
    """The columns of a curve-fit log (losses: mean squared error)."""
    x_h, y_h = heldout
    X_h = _legendre(x_h, degree)
    edges = np.quantile(y_h, np.linspace(0, 1, 11)[1:-1])
    columns: dict[str, list] = {c: [] for c in COLUMNS}
    hists = []
    for p in points:
        pred = X_h @ p.w
        train_pred = _legendre(p.train[0], degree) @ p.w
        columns["train_loss"].append(np.mean((train_pred - p.train[1]) ** 2))
        columns["heldout_loss"].append(np.mean((pred - y_h) ** 2))
        columns["diversity"].append(pred.std() / y_h.std())
        columns["quality"].append(curve_score(_legendre(p.current[0], degree) @ p.w, p.current[1]))
        columns["oldest_score"].append(curve_score(_legendre(oldest[0], degree) @ p.w, oldest[1]))
        hists.append(_histogram(np.searchsorted(edges, pred), 10))
    columns["output_shift"] = list(_shifts(np.array(hists)))
    columns["synthetic_share"] = list(audit([p.share for p in points], seed))
    return _log(columns)


#: Gradient-descent step counts at the checkpoints of the curve-fit overfitting runs.
OVERFIT_STEPS = np.unique(np.round(np.logspace(1.5, 5.5, CHECKPOINTS)).astype(int))  # 32 ... 316 228
OVERFIT_EARLY_STEPS = np.unique(np.round(np.logspace(1, 3.3, CHECKPOINTS)).astype(int))  # 10 ... 1 995


def curve_descent_run(seed: int = 0, *, points: int = 20, degree: int = 15, steps: Sequence[int] = OVERFIT_STEPS):
    """One polynomial (degree ``degree``) fitted by gradient descent to ``points`` real points; a
    checkpoint at each step count in ``steps`` (held-out points from the training range)."""
    seed = check_int("seed", seed, minimum=0)
    fit = polynomial_fit(seed, points=points, degree=degree)
    train, heldout = (fit.x, fit.y), (fit.x_out, fit.y_out)
    rows = [_CurveCheckpoint(fit.weights(int(t)), train, heldout, 0.0) for t in steps]
    return _curve_log(rows, degree, train, heldout, seed)


class LegendreRegression(LinearRegression):
    """A regression family for the generation loop: y = (Legendre features of x) . w + noise, with
    x ~ U(-1, 1) drawn afresh for every sample. Least squares as
    :class:`collapse_edu.regression.LinearRegression`; only the features differ. The real world is
    the best degree-``degree`` approximation of sin(pi x). Data are rows (runs, size, degree + 2):
    the features (the degree-1 feature is x itself), then the label."""

    def __init__(self, degree: int, noise: float = CURVE_NOISE):
        self.degree = check_int("degree", degree, minimum=1, maximum=40)
        grid = np.linspace(-1, 1, 2001)
        w_true = np.linalg.lstsq(_legendre(grid, self.degree), np.sin(np.pi * grid), rcond=None)[0]
        super().__init__(self.degree + 1, noise=check_float("noise", noise, 0.0), w_true=w_true)

    def _features(self, runs: int, size: int, rng: np.random.Generator) -> np.ndarray:
        return _legendre(rng.uniform(-1, 1, (runs, size)), self.degree)


def curve_loop_run(
    seed: int = 0,
    *,
    policy: str = "replace",
    real_fraction: float | None = None,
    n: int = 40,
    degree: int = 5,
    verified: bool = False,
    tag_rate: float | None = None,
) -> dict[str, np.ndarray]:
    """A polynomial refitted by least squares generation after generation on data made by the
    previous fit (:func:`collapse_edu.loop.run_generations`, ``policy``), starting from real data
    (the real world: the best degree-``degree`` approximation of sin(pi x), noise std 0.3). With
    ``verified`` an outside verifier curates the synthetic points (:class:`VerifiedFamily`). A share
    ``tag_rate`` of the synthetic points carries a provenance tag (default: drawn from U(0.3, 1) by
    the seed, see :func:`tagged_share`). One checkpoint per generation; losses are mean squared
    errors; the oldest data are generation 1's."""
    from .loop import ModelSource, run_generations
    from .regression import LinearModel

    seed = check_int("seed", seed, minimum=0)
    verified = check_bool("verified", verified)
    base = LegendreRegression(degree)
    family = base
    if verified:

        def real_logpdf(rows):
            return -0.5 * ((rows[..., -1] - rows[..., :-1] @ base.w_true) / base.noise) ** 2

        def model_logpdf(model, rows):
            return -0.5 * ((rows[..., -1] - (rows[..., :-1] @ model.w[..., None])[..., 0]) / base.noise) ** 2

        family = VerifiedFamily(base, real_logpdf, model_logpdf)
    rng = np.random.default_rng([seed, 5])
    x_h = rng.uniform(-1, 1, 2000)
    heldout = (x_h, _real_curve(x_h, rng))
    data_seen: list[np.ndarray] = []

    def measure(model, data, t):
        if data is not None:
            data_seen.append(data[0])
        return {}

    history = run_generations(
        family,
        ModelSource(LinearModel(base.w_true[None]), real_family=base),
        n=n,
        generations=CHECKPOINTS,
        policy=policy,
        real_fraction=real_fraction,
        seed=np.random.default_rng([seed, 6]),
        measure=measure,
        keep_models=True,
    )
    rows = []
    for t, (model, data) in enumerate(zip(history.models[1:], data_seen, strict=True), start=1):
        x = data[:, 1]  # the degree-1 Legendre feature is x itself
        share = tagged_share(_loop_share(policy, real_fraction, t), seed, tag_rate)
        rows.append(_CurveCheckpoint(model.w[0], (x, data[:, -1]), heldout, share))
    first = data_seen[0]
    return _curve_log(rows, degree, (first[:, 1], first[:, -1]), heldout, seed)


def _loop_share(policy: str, real_fraction: float | None, t: int) -> float:
    """True machine-made share of generation t's training data (generation 1 trains on real data)."""
    if t == 1:
        return 0.0
    if policy == "replace":
        return 1.0
    if policy == "fresh-real":
        return 1.0 - float(real_fraction or 0.0)
    return (t - 1) / t  # accumulate: n real, then n synthetic per generation


def tagged_share(share: float, seed: int, tag_rate: float | None = None) -> float:
    """The share of the training data that carries a "machine-made" provenance tag: the true
    machine-made ``share`` times the tagging rate of the pipeline (``tag_rate``; default drawn from
    U(0.3, 1) by ``seed``: provenance tags get lost, and nobody knows how many). The audit
    (:func:`audit`) sees only tagged examples, so its estimate is below the truth on average (one
    binomial count can still land above it)."""
    share = check_fraction("share", share)
    seed = check_int("seed", seed, minimum=0)
    if tag_rate is None:
        tag_rate = float(np.random.default_rng([seed, 81]).uniform(0.3, 1.0))
    return share * check_float("tag_rate", tag_rate, 0.0, 1.0)


class VerifiedFamily:
    """A model family whose samples are curated by an outside verifier before anyone trains on them.

    The verifier knows the real world (here, idealised: its exact log density ``real_logpdf``) and
    keeps ``size`` of ``oversample`` x ``size`` candidate samples, drawn without replacement with
    probability proportional to p_real(x) / p_model(x) (importance resampling, by the Gumbel top-k
    trick), so the kept samples look like real data. Selection by an outside verifier is what keeps
    synthetic data from collapsing a model in Feng et al., "Beyond Model Collapse: Scaling Up with
    Synthesized Data Requires Verification", arXiv:2406.07515 (2024); self-scored filtering, by the
    model's own likelihood, is not (lesson 05's biased sampling)."""

    def __init__(self, family, real_logpdf, model_logpdf, oversample: int = 4):
        self.family, self.real_logpdf, self.model_logpdf = family, real_logpdf, model_logpdf
        self.oversample = check_int("oversample", oversample, minimum=1)
        self.keeps_samples = getattr(family, "keeps_samples", True)

    def fit(self, data):
        return self.family.fit(data)

    def sample(self, model, size: int, rng: np.random.Generator):
        candidates = self.family.sample(model, self.oversample * size, rng)
        log_w = self.real_logpdf(candidates) - self.model_logpdf(model, candidates)  # (runs, candidates)
        keys = log_w + rng.gumbel(size=log_w.shape)
        keep = np.argsort(-keys, axis=1)[:, :size]
        return np.take_along_axis(candidates, keep[..., None], axis=1)

    def pool(self, parts):
        return self.family.pool(parts)

    def subsample(self, data, size: int, rng: np.random.Generator):
        return self.family.subsample(data, size, rng)

    def broadcast(self, model, runs: int):
        return self.family.broadcast(model, runs)

    def describe(self, model):
        return self.family.describe(model)


def _slices(tasks: int) -> np.ndarray:
    return np.linspace(-1, 1, tasks + 1)


CURVE_TASK_STEPS = (100, 1000, 10000)  #: gradient-descent steps into each task at which the log is written


def curve_sequence_run(
    seed: int = 0, *, tasks: int = 5, points: int = 20, degree: int = 9, replay: int = 0
) -> dict[str, np.ndarray]:
    """One polynomial trained by gradient descent on tasks in sequence: task k holds ``points`` real
    points with x in the k-th of ``tasks`` equal slices of [-1, 1], trained from the weights the
    previous task left (``replay`` points kept from each earlier task are trained on as well).
    Checkpoints at :data:`CURVE_TASK_STEPS` steps into each task; the held-out and oldest data are
    the first task's."""
    seed = check_int("seed", seed, minimum=0)
    tasks = check_int("tasks", tasks, minimum=1)
    points = check_int("points", points, minimum=1)
    degree = check_int("degree", degree, minimum=1, maximum=40)
    replay = check_int("replay", replay, minimum=0)
    rng = np.random.default_rng([seed, 7])
    edges = _slices(tasks)
    data = []
    for k in range(tasks):
        x = rng.uniform(edges[k], edges[k + 1], points)
        x_h = rng.uniform(edges[k], edges[k + 1], 500)
        data.append(((x, _real_curve(x, rng)), (x_h, _real_curve(x_h, rng))))
    w = np.zeros(degree + 1)
    rows = []
    for k in range(tasks):
        xs = [data[k][0][0]] + [data[j][0][0][:replay] for j in range(k)]
        ys = [data[k][0][1]] + [data[j][0][1][:replay] for j in range(k)]
        train = (np.concatenate(xs), np.concatenate(ys))
        descent = PolynomialDescent(*train, degree)
        done = 0
        for steps in CURVE_TASK_STEPS:
            w = descent.weights(steps - done, w)
            done = steps
            rows.append(_CurveCheckpoint(w, train, data[k][1], 0.0))
    return _curve_log(rows, degree, data[0][0], data[0][1], seed)


# --------------------------------------------------------------------------- ring mixture


def ring_target():
    """The ring of 8 real modes of the 2-D settings: :func:`collapse_edu.gan.make_target` ``"ring"``."""
    from .gan import make_target

    return make_target("ring")


RING_SAMPLES = 500  #: outputs drawn per checkpoint in the 2-D settings


def _mixture_logpdf(model, x: np.ndarray) -> np.ndarray:
    """log density of a Gaussian mixture (one per run) at the points ``x`` (runs, n, d) -> (runs, n)."""
    w, mu, cov = model.weights, model.means, model.covariances
    d = x.shape[-1]
    cov = cov + 1e-9 * np.eye(d)
    root = np.linalg.cholesky(cov)  # (runs, k, d, d)
    diff = x[:, None, :, :] - mu[:, :, None, :]  # (runs, k, n, d)
    z = np.linalg.solve(root[:, :, None], diff[..., None])[..., 0]
    log_det = 2 * np.log(np.diagonal(root, axis1=-2, axis2=-1)).sum(-1)  # (runs, k)
    with np.errstate(divide="ignore"):
        terms = np.log(w)[..., None] - 0.5 * (z**2).sum(-1) - 0.5 * (log_det[..., None] + d * np.log(2 * np.pi))
    top = terms.max(1, keepdims=True)
    return (top + np.log(np.exp(terms - top).sum(1, keepdims=True)))[:, 0]


PARZEN_BANDWIDTH = 0.1
LIKELIHOOD_FLOOR = 0.01  #: share of every predictive distribution spread evenly (bounds each log loss)
RING_BOX = 3.0  #: the even part of a 2-D density covers [-RING_BOX, RING_BOX]^2 (the ring has radius 2)


def _parzen_nll(points: np.ndarray, centres: np.ndarray, bandwidth: float | None = None) -> float:
    """Mean negative log-likelihood of ``points`` under a Gaussian kernel density on ``centres``
    (the Parzen-window estimate of Goodfellow et al., arXiv:1406.2661, section 5; bandwidth
    :data:`PARZEN_BANDWIDTH` unless given), mixed with :data:`LIKELIHOOD_FLOOR` of a uniform
    density on the square of side 2 :data:`RING_BOX`: p = 0.99 p_kde + 0.01 / 36. A point far from
    every output then costs at most log(3600) = 8.2 nats instead of hundreds, so a few stray points
    cannot dominate the mean (the same floor as the classifiers' :func:`_bounded_cross_entropy`)."""
    bandwidth = PARZEN_BANDWIDTH if bandwidth is None else bandwidth
    d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    log_k = -d2 / (2 * bandwidth**2) - np.log(2 * np.pi * bandwidth**2)
    top = log_k.max(1)
    log_kde = top + np.log(np.exp(log_k - top[:, None]).mean(1))
    log_even = np.log(LIKELIHOOD_FLOOR / (2 * RING_BOX) ** 2)
    return -float(np.mean(np.logaddexp(np.log1p(-LIKELIHOOD_FLOOR) + log_kde, log_even)))


def _ring_columns(
    target, outputs: list[np.ndarray], train: list[np.ndarray], rng: np.random.Generator, oldest: np.ndarray
) -> dict[str, list]:
    """Every column but synthetic_share of a 2-D generator's log, from its outputs at each checkpoint.

    Losses: Parzen-window negative log-likelihood (bandwidth 0.1, with the floor of
    :func:`_parzen_nll`) of points under the outputs: the
    current training data (``train[i]``) / a held-out real sample; the same for EM and GAN models,
    so the two can be compared (a GAN has no likelihood). diversity = coverage of a real reference
    sample by the outputs / the coverage a fresh real sample gets (Naeem et al. 2020,
    arXiv:2002.09797); quality = share of outputs within 3 std of a real mode (VEEGAN's "high
    quality", arXiv:1705.07761) / the same share for real data; oldest_score = coverage of the
    oldest training data; output_shift over the nearest real mode."""
    from .gan_metrics import high_quality, nearest_mode

    reference, fresh, held_out = (target.sample(RING_SAMPLES, rng) for _ in range(3))
    base_coverage = coverage(reference, fresh)
    base_quality = float(np.mean(high_quality(fresh, target.modes, target.std)))
    columns: dict[str, list] = {c: [] for c in ("train_loss", "heldout_loss", "diversity", "quality", "oldest_score")}
    hists = []
    for out, data in zip(outputs, train, strict=True):
        columns["train_loss"].append(_parzen_nll(data, out))
        columns["heldout_loss"].append(_parzen_nll(held_out, out))
        columns["diversity"].append(coverage(reference, out) / base_coverage)
        columns["quality"].append(np.mean(high_quality(out, target.modes, target.std)) / base_quality)
        columns["oldest_score"].append(coverage(oldest, out))
        hists.append(_histogram(nearest_mode(out, target.modes)[0], target.n_modes))
    columns["output_shift"] = list(_shifts(np.array(hists)))
    return columns


def ring_loop_run(
    seed: int = 0,
    *,
    policy: str = "replace",
    real_fraction: float | None = None,
    n: int = 100,
    verified: bool = False,
    tag_rate: float | None = None,
) -> dict[str, np.ndarray]:
    """A mixture of 8 Gaussians (EM, warm-started from the previous fit) refitted generation after
    generation on data made by the previous fit (:func:`collapse_edu.loop.run_generations`,
    ``policy``, ``n`` new points per generation), starting from the real ring; with ``verified`` an
    outside verifier curates the samples (:class:`VerifiedFamily`); ``tag_rate`` as in
    :func:`curve_loop_run`. One checkpoint per generation (see :func:`_ring_columns` for the columns; at most
    256 training points enter the training loss). The oldest data are generation 1's (real)."""
    from .loop import ModelSource, run_generations
    from .mixtures import GaussianMixtureFamily, MixtureModel

    seed = check_int("seed", seed, minimum=0)
    n = check_int("n", n, minimum=16)
    verified = check_bool("verified", verified)
    target = ring_target()
    truth = MixtureModel(
        np.full((1, 8), 1 / 8),
        target.modes[None].copy(),
        np.broadcast_to(target.std**2 * np.eye(2), (1, 8, 2, 2)).copy(),
    )
    base = GaussianMixtureFamily(8, warm_start=True, max_iter=10, tol=1e-4, seed=seed)
    family = base
    if verified:
        family = VerifiedFamily(base, lambda x: _mixture_logpdf(base.broadcast(truth, len(x)), x), _mixture_logpdf)
    train: list[np.ndarray] = []

    def measure(model, data, t):
        if data is not None:  # generation 0 is the truth itself, not a checkpoint
            train.append(data[0][:256])
        return {}

    history = run_generations(
        family,
        ModelSource(truth, real_family=base),
        n=n,
        generations=CHECKPOINTS,
        policy=policy,
        real_fraction=real_fraction,
        seed=np.random.default_rng([seed, 2]),
        measure=measure,
        keep_models=True,
    )
    # the same random numbers at every checkpoint, so the outputs move only when the model does
    outputs = [base.sample(m, RING_SAMPLES, np.random.default_rng([seed, 3]))[0] for m in history.models[1:]]
    columns = _ring_columns(target, outputs, train, np.random.default_rng([seed, 1]), train[0])
    shares = [tagged_share(_loop_share(policy, real_fraction, t), seed, tag_rate) for t in range(1, CHECKPOINTS + 1)]
    columns["synthetic_share"] = list(audit(shares, np.random.default_rng([seed, 78])))
    return _log(columns)


# --------------------------------------------------------------------------- ring GAN

#: Snapshots and points per snapshot of every GAN run (the rest: ``train_gan``'s defaults, see below):
#: snapshot i is taken after i / 30 of the 2 000 steps.
GAN_RUN = {"snapshots": 31, "n_samples": 1000}
#: The snapshots a GAN's log shows: the second half of training (steps 1 067 to 2 000). Nobody
#: monitors a GAN while it still draws a shapeless cloud, and a log that starts there would give the
#: setting away (quality near 0 at checkpoint 0 in every GAN run).
GAN_LOGGED = tuple(range(GAN_RUN["snapshots"] - CHECKPOINTS, GAN_RUN["snapshots"]))
#: The GAN variants: (method, settings that differ from ``collapse_edu.gan.train_gan``'s defaults, seeds).
#: Both use the defaults as they are (lesson 07's setting): a vanilla GAN and PacGAN-4.
GAN_VARIANTS: dict[str, tuple[str, dict, range]] = {
    "gan-pacgan": ("pacgan", {}, range(200, 224)),
    "gan-vanilla": ("vanilla", {}, range(100, 148)),
}


def gan_log(snapshots: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The log of one GAN training run from its generator snapshots (fixed noise; shape
    (31, points, 2), the first taken before training): one checkpoint per snapshot of
    :data:`GAN_LOGGED`, :data:`RING_SAMPLES` outputs each. A GAN has no likelihood, so both losses
    are the Parzen-window negative log-likelihood (:func:`_parzen_nll`; Goodfellow et al.,
    arXiv:1406.2661, section 5) of real points under the generator's outputs: the fresh real batch
    of that step / a held-out real sample (see :func:`_ring_columns`). The oldest data are the real
    batch of the first logged step."""
    snapshots = np.asarray(snapshots, float)
    shape = (GAN_RUN["snapshots"], "points", 2)
    if snapshots.ndim != 3 or snapshots.shape[0] != shape[0] or snapshots.shape[2] != 2:
        raise ValueError(f"snapshots must have shape {shape}, got {snapshots.shape}")
    target = ring_target()
    rng = np.random.default_rng([seed, 4])
    outputs = [snapshots[i, :RING_SAMPLES] for i in GAN_LOGGED]
    batches = [target.sample(256, rng) for _ in outputs]  # the fresh real batch each checkpoint trains on
    columns = _ring_columns(target, outputs, batches, rng, batches[0])
    columns["synthetic_share"] = list(audit(np.zeros(len(outputs)), np.random.default_rng([seed, 79])))
    return _log(columns)


def gan_outcome(snapshots: np.ndarray) -> dict[str, float]:
    """Mode metrics of a GAN run's last snapshot (:meth:`collapse_edu.gan.Target.report`, a mode
    counting when >= 10 of the first :data:`RING_SAMPLES` outputs sit on it with high quality), and
    ``effective_modes``: exp(entropy) of the share of outputs nearest to each mode (8 for an even
    spread, 1 when every output sits nearest to one mode, on it or not)."""
    from .gan_metrics import nearest_mode

    target = ring_target()
    last = np.asarray(snapshots, float)[-1, :RING_SAMPLES]
    report = target.report(last, strict_count=10)
    share = _histogram(nearest_mode(last, target.modes)[0], target.n_modes)
    return {**report, "effective_modes": _effective_number(share)}


def plain_outcome(outcome: Mapping[str, float]) -> dict[str, float]:
    """:func:`gan_outcome` as plain JSON numbers (ints stay ints), for the pool's record."""
    return {
        k: int(v) if float(v).is_integer() and k.startswith("modes") else round(float(v), 4) for k, v in outcome.items()
    }


# --------------------------------------------------------------------------- digit classifier

DIGIT_TASK_STEPS = (5, 15, 40)  #: Adam steps into each task at which the log is written
DIGIT_OVERFIT_STEPS = np.unique(np.round(np.logspace(1, 3.3, CHECKPOINTS)).astype(int))  # 10 ... 1 995
DIGIT_OVERFIT_EARLY_STEPS = np.unique(np.round(np.geomspace(8, 120, CHECKPOINTS)).astype(int))  # 8 ... 120
DIGIT_PLENTY_STEPS = np.unique(np.round(np.geomspace(4, 60, CHECKPOINTS)).astype(int))  # 4 ... 60


def _bounded_cross_entropy(logits, labels) -> float:
    """Mean cross-entropy of a classifier whose predicted distribution is mixed with
    :data:`LIKELIHOOD_FLOOR` of the uniform one over its K = 10 classes: -log(0.99 p(y|x) + 0.01 / K). A
    confidently wrong answer then costs at most log(1000) = 6.9 nats, not unbounded (the same floor
    as the 2-D settings' :func:`_parzen_nll`)."""
    import torch

    p = torch.softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
    return float(-torch.log((1 - LIKELIHOOD_FLOOR) * p + LIKELIHOOD_FLOOR / logits.shape[1]).mean())


def _digit_columns(model, torch, checkpoint: dict, columns: dict, hists: list, first_test, first_train) -> None:
    """Append one checkpoint of a digit-classifier log (losses: :func:`_bounded_cross_entropy` over
    the classes seen)."""
    from .continual import class_mask, masked_logits

    seen = checkpoint["seen"]
    x, y = checkpoint["train"]
    xt, yt = checkpoint["test_seen"]
    xc, yc = checkpoint["test_current"]
    with torch.no_grad():

        def logits(inputs):
            return masked_logits(model(inputs), class_mask(seen, len(inputs)))

        columns["train_loss"].append(_bounded_cross_entropy(logits(x), y))
        columns["heldout_loss"].append(_bounded_cross_entropy(logits(first_test[0]), first_test[1]))
        predicted = _histogram(logits(xt).argmax(1).numpy(), 10)
        columns["diversity"].append(_effective_number(predicted) / _effective_number(_histogram(yt.numpy(), 10)))
        columns["quality"].append((logits(xc).argmax(1) == yc).double().mean().item())
        columns["oldest_score"].append((logits(first_train[0]).argmax(1) == first_train[1]).double().mean().item())
        hists.append(_histogram(logits(first_test[0]).argmax(1).numpy(), 10))


def digits_sequence_run(
    seed: int = 0, *, method: str = "finetune", k: int = 10, hidden: int = 100, lr: float = 0.01
) -> dict[str, np.ndarray]:
    """One MLP trained class-incrementally on the 5 two-digit tasks of
    :func:`collapse_edu.continual.split_digits`, one after another (full-batch Adam, restarted per
    task, as :func:`collapse_edu.continual.run_continual`): ``method`` "finetune" (the current task
    only), "replay" (plus ``k`` stored real training examples per earlier class, weighted as in
    ``run_continual``) or "joint" (all tasks so far). Checkpoints at :data:`DIGIT_TASK_STEPS` steps
    into each task. Held-out and oldest data are the first task's."""
    import torch

    from .continual import Adam, class_mask, make_mlp, masked_logits, select_replay, split_digits, torch_threads

    seed = check_int("seed", seed, minimum=0)
    method = check_choice("method", method, ("finetune", "replay", "joint"))
    data = split_digits(seed=seed)
    model = make_mlp(hidden, seed)
    rng = np.random.default_rng([seed, 8])
    first_test, first_train = data.task(0, "test"), data.task(0)
    columns: dict[str, list] = {c: [] for c in COLUMNS}
    hists: list = []
    ce = torch.nn.functional.cross_entropy
    buffer_x, buffer_y = torch.zeros(0, 64), torch.zeros(0, dtype=torch.long)
    with torch_threads(1):
        for t in range(data.n_tasks):
            seen = [c for task in data.task_classes[: t + 1] for c in task]
            if method == "joint":
                parts = [data.task(s) for s in range(t + 1)]
                x, y = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
            else:
                x, y = data.task(t)
            use_buffer = method == "replay" and len(buffer_y) > 0
            mask = class_mask(seen, len(y))
            optimiser = Adam(model.parameters(), lr=lr)
            tests = [data.task(s, "test") for s in range(t + 1)]
            test_seen = (torch.cat([p[0] for p in tests]), torch.cat([p[1] for p in tests]))
            for step in range(1, max(DIGIT_TASK_STEPS) + 1):
                optimiser.zero_grad()
                loss = ce(masked_logits(model(x), mask), y)
                if use_buffer:
                    replayed = ce(masked_logits(model(buffer_x), class_mask(seen, len(buffer_y))), buffer_y)
                    loss = loss / (t + 1) + replayed * t / (t + 1)
                loss.backward()
                optimiser.step()
                if step in DIGIT_TASK_STEPS:
                    checkpoint = {"seen": seen, "train": (x, y), "test_seen": test_seen, "test_current": tests[t]}
                    _digit_columns(model, torch, checkpoint, columns, hists, first_test, first_train)
            if method == "replay" and k > 0:
                keep = torch.from_numpy(select_replay(y.numpy(), k, rng))
                buffer_x, buffer_y = torch.cat([buffer_x, x[keep]]), torch.cat([buffer_y, y[keep]])
    columns["output_shift"] = list(_shifts(np.array(hists)))
    columns["synthetic_share"] = list(audit(np.zeros(len(hists)), seed))
    return _log(columns)


def digits_overfit_run(
    seed: int = 0,
    *,
    per_class: int | None = 3,
    steps: Sequence[int] = DIGIT_OVERFIT_STEPS,
    hidden: int = 100,
    lr: float = 0.01,
) -> dict[str, np.ndarray]:
    """One MLP trained on a real training set (``per_class`` digits of each of the 10 classes, or all
    training digits for ``None``) by full-batch Adam; checkpoints at the step counts ``steps``.
    Held-out data: the held-out digits of :func:`collapse_edu.continual.split_digits` (all classes)."""
    import torch

    from .continual import Adam, make_mlp, select_replay, split_digits, torch_threads

    seed = check_int("seed", seed, minimum=0)
    data = split_digits(seed=seed)
    k = len(data.y_train) if per_class is None else per_class
    keep = torch.from_numpy(select_replay(data.y_train.numpy(), k, np.random.default_rng([seed, 9])))
    x, y = data.x_train[keep], data.y_train[keep]
    model = make_mlp(hidden, seed)
    test = (data.x_test, data.y_test)
    checkpoint = {"seen": list(range(10)), "train": (x, y), "test_seen": test, "test_current": test}
    columns: dict[str, list] = {c: [] for c in COLUMNS}
    hists: list = []
    ce = torch.nn.functional.cross_entropy
    wanted = {int(s) for s in steps}
    with torch_threads(1):
        optimiser = Adam(model.parameters(), lr=lr)
        for step in range(1, max(wanted) + 1):
            optimiser.zero_grad()
            ce(model(x), y).backward()
            optimiser.step()
            if step in wanted:
                _digit_columns(model, torch, checkpoint, columns, hists, test, (x, y))
    columns["output_shift"] = list(_shifts(np.array(hists)))
    columns["synthetic_share"] = list(audit(np.zeros(len(hists)), seed))
    return _log(columns)


# --------------------------------------------------------------------------- the pool of runs


#: How a run is trained: on the same data throughout, on the model's own outputs generation after
#: generation, on tasks in turn, or against an adversary (a GAN, on real data). Each failing cause
#: belongs to one kind by its definition; no column of a log names the kind.
TRAINING_KINDS = ("fixed data", "retrained on its outputs", "tasks in turn", "adversarial")


@dataclass(frozen=True)
class Variant:
    """One way a run can go: its setting, its kind of training (one of :data:`TRAINING_KINDS`), the
    story of what was done, and the cause it is expected to show (``None``: decided per run by
    :func:`outcome`, e.g. replay that may or may not prevent forgetting). ``make(seed)`` recomputes a
    run (``None`` for the precomputed GAN runs)."""

    key: str
    setting: str
    training: str
    story: str
    cause: str | None
    seeds: range
    make: Callable[[int], dict[str, np.ndarray]] | None = field(default=None, repr=False)


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "curve-overfit",
        "curve fit",
        "fixed data",
        "a degree-15 polynomial fitted to 20 noisy points by gradient descent, logged up to 300 000 steps",
        "overfitting",
        range(1000, 1040),
        curve_descent_run,
    ),
    Variant(
        "curve-overfit-early",
        "curve fit",
        "fixed data",
        "a degree-15 polynomial fitted to 20 noisy points by gradient descent, logged only up to 2 000 steps: "
        "overfitting has just begun when the log ends",
        "overfitting",
        range(1100, 1140),
        functools.partial(curve_descent_run, steps=OVERFIT_EARLY_STEPS),
    ),
    Variant(
        "curve-plenty",
        "curve fit",
        "fixed data",
        "a degree-15 polynomial fitted by gradient descent to 200 noisy points: plenty of data, no overfitting",
        "healthy",
        range(1200, 1230),
        functools.partial(curve_descent_run, points=200),
    ),
    Variant(
        "curve-replace",
        "curve fit",
        "retrained on its outputs",
        "a degree-5 polynomial refitted each generation on 40 points labelled by the previous fit (replace)",
        "model collapse",
        range(1300, 1340),
        curve_loop_run,
    ),
    Variant(
        "curve-verified",
        "curve fit",
        "retrained on its outputs",
        "a degree-5 polynomial refitted each generation on synthetic points only, but an outside verifier that "
        "knows the real curve picks which synthetic points are kept (importance resampling)",
        "healthy",
        range(1450, 1480),
        functools.partial(curve_loop_run, verified=True),
    ),
    Variant(
        "curve-accumulate",
        "curve fit",
        "retrained on its outputs",
        "a degree-5 polynomial refitted each generation on every generation's points so far, real data included "
        "(accumulate): mostly synthetic data, no collapse",
        "healthy",
        range(1400, 1430),
        functools.partial(curve_loop_run, policy="accumulate"),
    ),
    Variant(
        "curve-tasks",
        "curve fit",
        "tasks in turn",
        "a degree-9 polynomial trained by gradient descent on 5 slices of the x-axis in turn, each from "
        "where the last left off",
        "forgetting",
        range(1500, 1540),
        curve_sequence_run,
    ),
    Variant(
        "curve-tasks-replay",
        "curve fit",
        "tasks in turn",
        "a degree-9 polynomial trained by gradient descent on 5 slices of the x-axis in turn, with 2 points of every "
        "earlier slice replayed",
        "forgetting",
        range(1600, 1640),
        functools.partial(curve_sequence_run, replay=2),
    ),
    Variant(
        "ring-replace",
        "ring generator",
        "retrained on its outputs",
        "a mixture of 8 Gaussians refitted by EM each generation on 100-200 of its own samples (replace)",
        "model collapse",
        range(2000, 2040),
        lambda seed: ring_loop_run(seed, n=(100, 150, 200)[seed % 3]),
    ),
    Variant(
        "ring-fresh",
        "ring generator",
        "retrained on its outputs",
        "a mixture of 8 Gaussians refitted by EM each generation on its own samples plus 10% fresh real data "
        "(fresh-real, 100 points)",
        "model collapse",
        range(2100, 2140),
        functools.partial(ring_loop_run, policy="fresh-real", real_fraction=0.1),
    ),
    Variant(
        "ring-accumulate",
        "ring generator",
        "retrained on its outputs",
        "a mixture of 8 Gaussians refitted by EM each generation on every generation's samples on top of the real "
        "data (accumulate): mostly synthetic, no collapse",
        "healthy",
        range(2200, 2230),
        functools.partial(ring_loop_run, policy="accumulate"),
    ),
    Variant(
        "gan-vanilla",
        "ring generator",
        "adversarial",
        "one vanilla GAN training run on the ring (collapse_edu.gan's default settings)",
        None,
        GAN_VARIANTS["gan-vanilla"][2],
    ),
    Variant(
        "gan-pacgan",
        "ring generator",
        "adversarial",
        "one PacGAN-4 training run on the ring (collapse_edu.gan's default settings)",
        None,
        GAN_VARIANTS["gan-pacgan"][2],
    ),
    Variant(
        "digits-finetune",
        "digit classifier",
        "tasks in turn",
        "an MLP trained class-incrementally on 5 two-digit tasks in turn, current task only",
        "forgetting",
        range(3000, 3030),
        digits_sequence_run,
    ),
    Variant(
        "digits-replay",
        "digit classifier",
        "tasks in turn",
        "an MLP trained class-incrementally on 5 two-digit tasks in turn, replaying 2 stored real digits of every "
        "earlier class",
        None,
        range(3100, 3130),
        functools.partial(digits_sequence_run, method="replay", k=2),
    ),
    Variant(
        "digits-joint",
        "digit classifier",
        "tasks in turn",
        "an MLP trained on 5 two-digit tasks in turn, on all tasks so far every time (joint training)",
        "healthy",
        range(3200, 3230),
        functools.partial(digits_sequence_run, method="joint"),
    ),
    Variant(
        "digits-plenty",
        "digit classifier",
        "fixed data",
        "an MLP trained on all ~1 250 training digits, logged up to 60 Adam steps",
        "healthy",
        range(3500, 3530),
        functools.partial(digits_overfit_run, per_class=None, steps=DIGIT_PLENTY_STEPS),
    ),
    Variant(
        "digits-overfit",
        "digit classifier",
        "fixed data",
        "an MLP trained on 3 digits per class (30 images) for 2 000 Adam steps",
        "overfitting",
        range(3300, 3330),
        digits_overfit_run,
    ),
    Variant(
        "digits-overfit-early",
        "digit classifier",
        "fixed data",
        "an MLP trained on 3 digits per class (30 images), logged only up to 120 Adam steps: the held-out loss has "
        "just turned up",
        "overfitting",
        range(3400, 3430),
        functools.partial(digits_overfit_run, steps=DIGIT_OVERFIT_EARLY_STEPS),
    ),
)
VARIANT_KEYS = tuple(v.key for v in VARIANTS)


def variant(key: str) -> Variant:
    """The :class:`Variant` called ``key`` (one of :data:`VARIANT_KEYS`)."""
    key = check_choice("variant", key, VARIANT_KEYS)
    return next(v for v in VARIANTS if v.key == key)


def make_run(key: str, seed: int) -> dict[str, np.ndarray]:
    """Recompute one run of variant ``key`` live (seconds at most); GAN runs are only in the pool."""
    v = variant(key)
    if v.make is None:
        raise ValueError(f"variant {key!r} is precomputed (benchmarks/capstone_pool.py); load it with load_pool()")
    return v.make(check_int("seed", seed, minimum=0))


def outcome(log: RunLog | Mapping[str, np.ndarray], key: str, gan: Mapping[str, float] | None = None) -> str | None:
    """What a run of variant ``key`` shows, judged from the full record of the run (the cause it is
    labelled with), or ``None`` when it is not a clear case and stays out of the pool:

    * forgetting: the score on the oldest data ends >= 0.25 below its best (a lasting loss); a
      replay or joint run whose oldest score ends within 0.1 of its best is healthy (a dip while a new
      task is learned does not count);
    * overfitting: the held-out loss ends >= 20% above its minimum while the training loss ends below
      its value at that minimum; healthy curve fits stay within 10%;
    * model collapse (loops without real data kept): the held-out loss rises by >= 50% of its first
      value or diversity falls by >= 20%; accumulate runs stay within those marks;
    * GAN runs (``gan``: :func:`gan_outcome` of the last snapshot): mode collapse when the outputs
      crowd round at most 3 modes (effective number) and at least half of them are sharp (VEEGAN's
      high quality: the textbook picture, not a generator that sits between modes), healthy with
      >= 7 of 8 modes captured; any other run is neither, and is left out.
    """
    v = variant(key)
    columns = log.columns if isinstance(log, RunLog) else log
    held, train = np.asarray(columns["heldout_loss"]), np.asarray(columns["train_loss"])
    oldest, diversity = np.asarray(columns["oldest_score"]), np.asarray(columns["diversity"])
    if v.key.startswith("gan-"):
        if gan is None:
            raise ValueError("gan must hold the mode metrics of the run's last snapshot (gan_outcome)")
        if gan["effective_modes"] <= 3 and gan["high_quality"] >= 0.5:
            return "mode collapse"
        return "healthy" if gan["modes_strict"] >= 7 else None
    if v.key in ("curve-tasks", "digits-finetune", "curve-tasks-replay", "digits-replay", "digits-joint"):
        lasting = float(oldest.max() - oldest[-1])
        if lasting >= 0.25 and v.cause != "healthy":
            return "forgetting"
        return "healthy" if v.cause != "forgetting" and lasting <= 0.1 else None
    if v.cause == "overfitting":
        best = int(np.argmin(held))
        rising = held[-1] >= 1.2 * held[best] and train[-1] < train[best]
        return "overfitting" if rising else None
    rise = (held[-1] - held[0]) / max(abs(held[0]), 1e-12)
    diversity_fall = 1 - diversity[-1] / diversity[0]
    if v.cause == "model collapse":
        return "model collapse" if rise >= 0.5 or diversity_fall >= 0.2 else None
    if v.key in ("curve-plenty", "digits-plenty"):
        return "healthy" if held[-1] <= 1.1 * held.min() else None
    # accumulate: healthy unless the run shows a mark of collapse
    return "healthy" if rise < 0.5 and diversity_fall < 0.2 else None


@dataclass(frozen=True)
class Pool:
    """All stored runs: ``logs[i]`` (columns), ``keys[i]`` (variant), ``seeds[i]``, ``causes[i]``."""

    keys: tuple[str, ...]
    seeds: tuple[int, ...]
    causes: tuple[str, ...]
    values: np.ndarray  # (runs, CHECKPOINTS, len(COLUMNS))
    meta: dict = field(default_factory=dict)
    excluded: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def columns(self, i: int) -> dict[str, np.ndarray]:
        return {c: self.values[i, :, j].astype(float) for j, c in enumerate(COLUMNS)}

    def log(self, i: int, label: str = "?") -> RunLog:
        return RunLog(label, self.columns(i))

    def where(self, cause: str | None = None, key: str | None = None) -> np.ndarray:
        """Indices of the runs with this cause and/or variant."""
        keep = np.ones(len(self), bool)
        if cause is not None:
            keep &= np.array([c == check_cause(cause) for c in self.causes])
        if key is not None:
            keep &= np.array([k == key for k in self.keys])
        return np.flatnonzero(keep)

    def setting(self, i: int) -> str:
        return variant(self.keys[i]).setting

    def training(self, i: int) -> str:
        return variant(self.keys[i]).training


def build_pool(
    gan_runs: Mapping[str, Sequence[np.ndarray]] | None = None,
    progress: bool = False,
    variants: Sequence[str] = VARIANT_KEYS,
) -> Pool:
    """Run every seed of every variant (``gan_runs``: GAN variant -> snapshots per seed of
    :data:`GAN_VARIANTS`, trained by benchmarks/capstone_pool.py) and keep the clear cases
    (:func:`outcome`)."""
    keys, seeds, causes, values = [], [], [], []
    excluded: dict[str, list[int]] = {}
    for v in VARIANTS:
        if v.key not in variants:
            continue
        runs: list[tuple[int, dict, dict | None]] = []
        if v.make is None:
            if gan_runs is None or v.key not in gan_runs:
                continue
            for seed, snapshots in zip(v.seeds, gan_runs[v.key], strict=True):
                runs.append((seed, gan_log(snapshots, seed), gan_outcome(snapshots)))
        else:
            for seed in v.seeds:
                runs.append((seed, v.make(seed), None))
        for seed, columns, gan in runs:
            cause = outcome(columns, v.key, gan)
            if cause is None:
                excluded.setdefault(v.key, []).append(int(seed))
                continue
            keys.append(v.key)
            seeds.append(int(seed))
            causes.append(cause)
            values.append(np.stack([columns[c] for c in COLUMNS], axis=1))
        if progress:
            kept = sum(k == v.key for k in keys)
            print(f"{v.key}: {kept} runs kept, {len(excluded.get(v.key, []))} left out", flush=True)
    return Pool(tuple(keys), tuple(seeds), tuple(causes), np.array(values, np.float32), {}, excluded)


def save_pool(pool: Pool, path: str | Path = POOL_FILE, meta: Mapping | None = None) -> Path:
    """Store a pool (compressed; float32 logs) with its provenance ``meta``."""
    path = Path(path)
    info = {**pool.meta, **(meta or {}), "excluded": pool.excluded}
    np.savez_compressed(
        path,
        keys=np.array(pool.keys),
        seeds=np.array(pool.seeds),
        causes=np.array(pool.causes),
        values=pool.values.astype(np.float32),
        meta=np.array(json.dumps(info)),
    )
    return path


def load_pool(path: str | Path | None = None) -> Pool:
    """The stored pool of runs (default ``results/capstone_pool.npz``, made by
    benchmarks/capstone_pool.py); read once per path."""
    return _load_pool(str(Path(path) if path is not None else POOL_FILE))


@functools.lru_cache(maxsize=2)
def _load_pool(path: str) -> Pool:
    if not Path(path).is_file():
        raise FileNotFoundError(f"no capstone pool at {path}; run benchmarks/capstone_pool.py")
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(str(stored["meta"]))
        return Pool(
            tuple(str(k) for k in stored["keys"]),
            tuple(int(s) for s in stored["seeds"]),
            tuple(str(c) for c in stored["causes"]),
            stored["values"],
            meta,
            meta.get("excluded", {}),
        )


# --------------------------------------------------------------------------- the mysteries


WORKSHOP_SEED = 2024  #: lesson 09's workshop set: no other mystery set holds its five runs


def _assignment(seed: int) -> tuple[dict[str, str], dict[str, int]]:
    """Label -> cause, and label -> index of a run in the pool, both derived from ``seed``: for each
    cause a setting is drawn uniformly among those where the cause occurs, then a run of that cause
    and setting uniformly. The five runs of the workshop's set (:data:`WORKSHOP_SEED`) belong to it
    alone: another set that draws one of them draws again among the other runs of that cause and
    setting (from a stream of its own, so its other draws stay as they were)."""
    pool = load_pool()
    reserved = _workshop_runs() if seed != WORKSHOP_SEED else frozenset()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 8008]))
    order = rng.permutation(len(CAUSES))
    causes = {label: CAUSES[i] for label, i in zip(LABELS, order, strict=True)}
    picks = {}
    for k, label in enumerate(LABELS):
        candidates = pool.where(causes[label])
        settings = sorted({pool.setting(i) for i in candidates})
        setting = settings[rng.integers(len(settings))]
        among = [int(i) for i in candidates if pool.setting(i) == setting]
        picks[label] = among[rng.integers(len(among))]
        if picks[label] in reserved:
            others = [i for i in among if i not in reserved]
            picks[label] = others[np.random.default_rng([seed, 8009, k]).integers(len(others))]
    return causes, picks


@functools.lru_cache(maxsize=1)
def _workshop_runs() -> frozenset[int]:
    """The pool indices of the workshop set's five runs."""
    return frozenset(_assignment(WORKSHOP_SEED)[1].values())


def mystery_runs(seed: int = 0) -> dict[str, RunLog]:
    """Five training logs, one per cause in :data:`CAUSES`, under labels A-E shuffled by ``seed``;
    which stored runs they are is derived from ``seed`` too (other seeds give other runs)."""
    seed = check_int("seed", seed, minimum=0)
    pool = load_pool()
    return {label: pool.log(i, label) for label, i in _assignment(seed)[1].items()}


def reveal(seed: int = 0) -> dict[str, str]:
    """The answers of :func:`mystery_runs` with the same ``seed``: label -> cause."""
    seed = check_int("seed", seed, minimum=0)
    return _assignment(seed)[0]


def reveal_stories(seed: int = 0) -> dict[str, str]:
    """What was done in each run of :func:`mystery_runs` with the same ``seed``: label -> story."""
    seed = check_int("seed", seed, minimum=0)
    pool = load_pool()
    causes, picks = _assignment(seed)
    return {label: f"{causes[label]}: {variant(pool.keys[i]).story}" for label, i in picks.items()}


def check_cause(name: str) -> str:
    """``name`` if it is one of :data:`CAUSES` (for widgets and checkers)."""
    return check_choice("cause", name, CAUSES)


# --------------------------------------------------------------------------- single-column rules

#: How a single-column rule may summarise its column (each a function of the column's values).
SUMMARIES: dict[str, Callable[[np.ndarray], float]] = {
    "first": lambda v: float(v[0]),
    "last": lambda v: float(v[-1]),
    "min": lambda v: float(v.min()),
    "max": lambda v: float(v.max()),
    "mean": lambda v: float(v.mean()),
    "change": lambda v: float(v[-1] - v[0]),
    "ratio": lambda v: float(v[-1] / v[0]) if v[0] != 0 else float(np.sign(v[-1]) * 1e9),
    "largest fall": lambda v: float(max(0.0, np.max(v[:-1] - v[1:]))),
    "largest rise": lambda v: float(max(0.0, np.max(v[1:] - v[:-1]))),
    "fall from best": lambda v: float(np.max(np.maximum.accumulate(v) - v)),
    "rise from lowest": lambda v: float(np.max(v - np.minimum.accumulate(v))),
    "where min": lambda v: float(np.argmin(v)),
    "where max": lambda v: float(np.argmax(v)),
}


@dataclass(frozen=True)
class ThresholdRule:
    """A single-column rule: summarise ``column`` by ``summary``, then answer ``causes[i]`` when the
    value lies between ``cuts[i - 1]`` and ``cuts[i]`` (at most one interval per cause)."""

    column: str
    summary: str
    cuts: tuple[float, ...]
    causes: tuple[str, ...]

    def __call__(self, log: RunLog) -> str:
        value = SUMMARIES[self.summary](log[self.column])
        return self.causes[int(np.searchsorted(np.asarray(self.cuts), value, side="right"))]

    def __str__(self) -> str:
        parts = [f"{cause} below {cut:.3g}" for cause, cut in zip(self.causes, self.cuts, strict=False)]
        parts.append(f"{self.causes[-1]} above" if self.cuts else self.causes[-1])
        return f"{self.summary} of {self.column}: " + ", ".join(parts)


def best_threshold_rule(
    values: Sequence[float], causes: Sequence[str], intervals: int = len(CAUSES), classes: Sequence[str] = CAUSES
):
    """The rule that cuts the line of ``values`` into at most ``intervals`` intervals and names one
    cause per interval so that the most ``causes`` are right (exact, by dynamic programming over the
    sorted values; equal values stay together). Returns (cuts, causes per interval, share right).
    ``classes`` are the answers a case can have (the causes; or, say, :data:`TRAINING_KINDS`)."""
    values = check_numbers("values", values)
    if values.ndim != 1:
        raise ValueError(f"values must be a 1-D sequence of numbers, got shape {values.shape}")
    intervals = check_int("intervals", intervals, minimum=1)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(c) for c in causes} - set(index))
    if unknown:
        raise ValueError(f"causes must each be one of {', '.join(classes)}; got {', '.join(unknown)}")
    if len(causes) != len(values) or not len(values):
        raise ValueError(f"values and causes must be non-empty and of equal length, got {len(values)}, {len(causes)}")
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    labels = np.array([index[causes[i]] for i in order])
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    blocks = len(starts)
    counts = np.zeros((blocks + 1, len(classes)))
    block_of = np.searchsorted(starts, np.arange(len(values)), side="right") - 1
    np.add.at(counts, (block_of + 1, labels), 1)
    prefix = np.cumsum(counts, axis=0)  # prefix[j]: counts of blocks < j
    best = np.full((intervals + 1, blocks + 1), -np.inf)
    back = np.zeros((intervals + 1, blocks + 1), int)
    best[0, 0] = 0
    for k in range(1, intervals + 1):
        for j in range(1, blocks + 1):
            gain = (prefix[j] - prefix[:j]).max(axis=1) + best[k - 1, :j]
            i = int(np.argmax(gain))
            best[k, j], back[k, j] = gain[i], i
    k = int(np.argmax(best[:, blocks]))
    right = best[k, blocks]
    cuts, named, j = [], [], blocks
    while k > 0:
        i = back[k, j]
        named.append(classes[int(np.argmax(prefix[j] - prefix[i]))])
        if i > 0:
            cuts.append(float((sorted_values[starts[i] - 1] + sorted_values[starts[i]]) / 2))
        j, k = i, k - 1
    return tuple(cuts[::-1]), tuple(named[::-1]), float(right / len(values))


def _best_summary_rule(
    series: Sequence[np.ndarray], causes: Sequence[str], classes: Sequence[str] = CAUSES
) -> tuple[str, tuple[float, ...], tuple[str, ...], float]:
    """The best threshold rule over all :data:`SUMMARIES` of one column's values per case (``series``):
    (summary name, cuts, causes per interval, share right); the first summary wins a tie."""
    best: tuple[str, tuple[float, ...], tuple[str, ...], float] | None = None
    for name, summary in SUMMARIES.items():
        cuts, named, share = best_threshold_rule([summary(values) for values in series], causes, classes=classes)
        if best is None or share > best[3]:
            best = (name, cuts, named, share)
    return best


def best_single_column_rules(logs: Sequence[RunLog], causes: Sequence[str]) -> dict[str, tuple[ThresholdRule, float]]:
    """For every column (but ``checkpoint``): the best :class:`ThresholdRule` over all
    :data:`SUMMARIES`, fitted to these very cases (so its share right is an upper bound for any
    threshold rule on that column), and that share."""
    if len(logs) != len(causes) or not logs:
        raise ValueError("logs and causes must be non-empty and of the same length")
    out = {}
    for column in COLUMNS[1:]:
        name, cuts, named, share = _best_summary_rule([log[column] for log in logs], causes)
        out[column] = (ThresholdRule(column, name, cuts, named), share)
    return out


def shuffled_single_column_shares(
    logs: Sequence[RunLog], causes: Sequence[str], shuffles: int = 5, seed: int = 2024
) -> dict[str, list[float]]:
    """For every column: the share right of its best rule (:func:`best_single_column_rules`) when the
    ``causes`` are shuffled among the same ``logs``, once per shuffle (``shuffles`` of them, drawn from
    ``seed``). No column then says anything about the cause, so this is what fitting the thresholds to
    the very cases scored buys on its own: the floor under any single-column share."""
    shuffles = check_int("shuffles", shuffles, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    found: dict[str, list[float]] = {column: [] for column in COLUMNS[1:]}
    for _ in range(shuffles):
        answers = [str(a) for a in rng.permutation(np.asarray(causes))]
        for column, (_, share) in best_single_column_rules(logs, answers).items():
            found[column].append(share)
    return found


def marker_column_shares(causes: Sequence[str], draws: int = 5, seed: int = 2024) -> dict[str, list[float]]:
    """What the measure of :func:`best_single_column_rules` gives a column that tells exactly one cause
    apart and nothing else: for every cause, a made-up column with :data:`CHECKPOINTS` values per case,
    standard normal noise plus 5 for the cases of that cause, scored like a real column (best rule over
    all :data:`SUMMARIES`, fitted to the same ``causes``), once per draw (``draws`` of them, from ``seed``).
    The marked cause is always right; naming one other cause for the rest gets that cause's cases
    right too; the rest is what fitting to the scored cases buys."""
    draws = check_int("draws", draws, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    causes = [check_cause(c) for c in causes]
    if not causes:
        raise ValueError("causes must name at least one case")
    found: dict[str, list[float]] = {cause: [] for cause in CAUSES}
    for _ in range(draws):
        for marked in CAUSES:
            values = 5.0 * (np.array(causes) == marked)[:, None] + rng.standard_normal((len(causes), CHECKPOINTS))
            found[marked].append(_best_summary_rule(list(values), causes)[3])
    return found


def causes_caught(rule: ThresholdRule, logs: Sequence[RunLog], causes: Sequence[str], share: float = 0.8) -> list[str]:
    """The causes (in :data:`CAUSES` order) whose cases ``rule`` names right at least ``share`` of the time."""
    share = check_float("share", share, minimum=0.0, maximum=1.0)
    if len(logs) != len(causes):
        raise ValueError(
            f"logs and causes must be of the same length (one cause per log), got {len(logs)} and {len(causes)}"
        )
    caught = []
    for cause in CAUSES:
        mine = [log for log, answer in zip(logs, causes, strict=True) if answer == cause]
        if mine and np.mean([rule(log) == cause for log in mine]) >= share:
            caught.append(cause)
    return caught


def training_kind_share(seeds: Sequence[int]) -> tuple[dict[str, str], float]:
    """The rule that knows only each case's kind of training (:data:`TRAINING_KINDS`, which no column
    names) and answers the commonest cause of that kind among the cases of ``seeds``: kind -> cause,
    and its share right. Each failing cause belongs to one kind of training by its definition, so a
    column that reads the kind off the numbers (how the training loss moves, say) gets this share
    without telling anything else apart."""
    kinds = [variant(key).training for key in case_variants(seeds)]
    answers = cases(seeds)[1]
    named, right = {}, 0
    for kind in TRAINING_KINDS:
        mine = [a for k, a in zip(kinds, answers, strict=True) if k == kind]
        if mine:
            named[kind] = max(CAUSES, key=mine.count)
            right += mine.count(named[kind])
    return named, right / len(answers)


def training_kind_columns(seeds: Sequence[int]) -> dict[str, float]:
    """For every column (but ``checkpoint``): the share of the cases of ``seeds`` whose kind of
    training (:data:`TRAINING_KINDS`) the best single-column rule names right, rules fitted like those
    of :func:`best_single_column_rules` but to the kinds instead of the causes."""
    logs = cases(seeds)[0]
    kinds = [variant(key).training for key in case_variants(seeds)]
    return {
        column: _best_summary_rule([log[column] for log in logs], kinds, classes=TRAINING_KINDS)[3]
        for column in COLUMNS[1:]
    }


def cases(seeds: Sequence[int]) -> tuple[list[RunLog], list[str]]:
    """The logs and answers of the mystery sets of ``seeds``, in one list."""
    if len(seeds) == 0:
        raise ValueError("seeds must name at least one mystery set")
    logs, answers = [], []
    for seed in seeds:
        runs, truth = mystery_runs(seed), reveal(seed)
        for label in LABELS:
            logs.append(runs[label])
            answers.append(truth[label])
    return logs, answers


def case_runs(seeds: Sequence[int]) -> list[int]:
    """The pool index of the run behind every case of :func:`cases` with the same ``seeds``, in the
    same order (sets of other seeds can share runs: the pool is finite)."""
    return [_assignment(seed)[1][label] for seed in seeds for label in LABELS]


def case_variants(seeds: Sequence[int]) -> list[str]:
    """The pool variant (:data:`VARIANT_KEYS`) of every case of :func:`cases` with the same ``seeds``,
    in the same order."""
    pool = load_pool()
    return [pool.keys[i] for i in case_runs(seeds)]


# --------------------------------------------------------------------------- diagnostics


def _score_values(values: Sequence[float]) -> np.ndarray:
    """``values`` as a non-empty 1-D float array of finite numbers (a nan would hide a fall)."""
    v = check_numbers("values", values)
    if v.ndim != 1 or v.size < 1:
        raise ValueError(f"values must be a 1-D sequence of numbers, got shape {v.shape}")
    return v


def largest_fall(values: Sequence[float]) -> float:
    """The largest fall between two consecutive checkpoints, max_i (v_i - v_{i+1}); 0.0 if the
    values never fall."""
    v = _score_values(values)
    return float(max(0.0, np.max(v[:-1] - v[1:]))) if v.size > 1 else 0.0


def lasting_loss(values: Sequence[float]) -> float:
    """How far a score ends below its best: max(values) - values[-1] (0.0 if it ends at its best).
    A dip that recovers costs nothing; a loss that stays counts in full."""
    v = _score_values(values)
    return float(v.max() - v[-1])


def signs(log: RunLog) -> dict[str, float]:
    """The tell-tale numbers of a log, each a single float:

    ``synthetic_share``   mean of the synthetic-share estimate (> 0: machine-made data were found in
                          training; an undercount on average, 0 proves nothing);
    ``heldout_change``    (last - first) held-out loss, relative to the first's size;
    ``diversity_change``  last diversity / first diversity - 1;
    ``diversity_end``     diversity at the last checkpoint;
    ``oldest_lost``       best score on the oldest data minus its last value (a lasting loss);
    ``oldest_drop``       the largest fall of that score between two checkpoints;
    ``train_falling``     share of checkpoints at which the training loss fell or stayed put (1: it
                          never rises, as while a model keeps fitting the same data);
    ``heldout_turn``      how far the held-out loss ends above its minimum, relative to the minimum's size;
    ``shift``             median output shift between checkpoints.
    """
    if not isinstance(log, RunLog):
        raise TypeError(f"log must be a RunLog (from mystery_runs), got {type(log).__name__}")
    held, train, div, oldest = log["heldout_loss"], log["train_loss"], log["diversity"], log["oldest_score"]
    return {
        "synthetic_share": float(log["synthetic_share"].mean()),
        "heldout_change": float((held[-1] - held[0]) / max(abs(held[0]), 1e-12)),
        "diversity_change": float(div[-1] / max(div[0], 1e-12) - 1),
        "diversity_end": float(div[-1]),
        "oldest_lost": lasting_loss(oldest),
        "oldest_drop": largest_fall(oldest),
        "train_falling": float(np.mean(np.diff(train) <= 0)),
        "heldout_turn": float((held[-1] - held.min()) / max(abs(held.min()), 1e-12)),
        "shift": float(np.median(log["output_shift"][1:])),
    }


def diagnose(log: RunLog) -> str:
    """The reference diagnosis: one of :data:`CAUSES`, from the signals the lessons taught.

    1. Machine-made data in training (synthetic share found > 0)? Then the question is whether the
       model degrades round after round (lessons 01-06): the held-out loss rises by half or more, or
       diversity falls by a fifth or more: model collapse; otherwise healthy (accumulated or
       verified synthetic data).
    2. A lasting loss of >= 0.2 on the oldest data: forgetting (lesson 08; a dip that recovers is not).
    3. Diversity below 0.6 on real training data: mode collapse (lesson 07).
    4. The training loss falls at (nearly) every checkpoint, so the data stay the same, while the
       held-out loss ends >= 20% above its minimum: overfitting.
    5. Otherwise healthy.
    """
    s = signs(log)
    if s["synthetic_share"] > 0:
        degraded = s["heldout_change"] >= 0.5 or s["diversity_change"] <= -0.2
        return "model collapse" if degraded else "healthy"
    if s["oldest_lost"] >= 0.2:
        return "forgetting"
    if s["diversity_end"] < 0.6:
        return "mode collapse"
    if s["train_falling"] >= 0.8 and s["heldout_turn"] >= 0.2:
        return "overfitting"
    return "healthy"


CHECK_SEEDS = (101, 202, 303, 404, 505, 606, 707, 808)  #: the checker's mystery sets (40 fresh cases)
PASS_SHARE = 0.9  #: share of fresh cases a diagnosis must get right to pass the checker ...
PASS_PER_CAUSE = 0.75  #: ... and share of the cases of every single cause


@checker
def check_diagnose(func: Callable[[RunLog], str], seeds: Sequence[int] = CHECK_SEEDS) -> bool:
    """Run ``func`` on fresh mysteries (other hidden seeds than the workshop's) and say, in words,
    what it got wrong; it passes with at least :data:`PASS_SHARE` of the cases right and at least
    :data:`PASS_PER_CAUSE` of the cases of every cause (so no cause can be given up)."""
    from .exercises import FAIL, PASS, RAISED, STUB, call_learner

    seeds = [check_int("seeds", seed, minimum=0) for seed in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one mystery set")
    misses: list[str] = []
    right_by_cause = dict.fromkeys(CAUSES, 0)
    total_by_cause = dict.fromkeys(CAUSES, 0)
    for seed in seeds:
        answers = reveal(seed)
        for label, log in mystery_runs(seed).items():
            truth = answers[label]
            total_by_cause[truth] += 1
            got = call_learner(f"mystery set {seed}, run {label}:", func, log)
            if got is STUB:
                return False
            if got is RAISED:  # said once (the line above), not once per case
                print(f"{FAIL} fix that error first: the checker stops at the first case your function cannot take.")
                return False
            if got not in CAUSES:
                misses.append(f"set {seed}, run {label}: {got!r} is not one of {', '.join(map(repr, CAUSES))}")
            elif got != truth:
                misses.append(f"set {seed}, run {label}: you said {got!r}, it was {truth!r}")
            else:
                right_by_cause[truth] += 1
    total = sum(total_by_cause.values())
    right = total - len(misses)
    weak = [c for c in CAUSES if right_by_cause[c] < PASS_PER_CAUSE * total_by_cause[c]]
    if right >= PASS_SHARE * total and not weak:
        print(f"{PASS} {right} of {total} fresh cases ({len(seeds)} mystery sets, other hidden seeds) diagnosed right.")
        return True
    for line in misses[:6]:
        print(f"{FAIL} {line}")
    more = f" ({len(misses) - 6} more missed, not listed)" if len(misses) > 6 else ""
    per_cause = ", ".join(f"{c} {right_by_cause[c]} of {total_by_cause[c]}" for c in CAUSES)
    print(
        f"{FAIL} {right} of {total} fresh cases right{more}; you need {PASS_SHARE:.0%} overall and "
        f"{PASS_PER_CAUSE:.0%} of every cause ({per_cause})."
    )
    print("Hint: look at signs(log) for the runs you missed: which signal tells their cause from the one you named?")
    return False


def corpus_text(held_out: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """The sentences of lesson 03's corpus as written: (training part, held-out part), split exactly as
    :func:`collapse_edu.ngram.prepare_corpus` splits them (by document, held-out sentences that also
    occur in training removed). Held-out text goes to the monitor as written: encoded with the
    training vocabulary, its new words would all read ``<unk>``."""
    from .data import held_out_without_overlap, load_documents, split_documents, split_sentences

    train, held = split_documents(load_documents(None), held_out, seed)
    held, _ = held_out_without_overlap(train, held)
    return (
        [s for doc in train for s in split_sentences(doc.text)],
        [s for doc in held for s in split_sentences(doc.text)],
    )
