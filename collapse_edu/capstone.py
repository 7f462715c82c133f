"""Lesson 08, the capstone: four training logs of unknown cause, and how to tell them apart.

Four failures look alike from far away ("the model got worse"): **overfitting**, **model collapse**,
**GAN mode collapse** and **catastrophic forgetting**. :func:`mystery_runs` makes one run of each
with hidden seeds and hands them out under shuffled labels A-D; :func:`reveal` gives the answers.
Every run logs the same columns at each checkpoint (:data:`COLUMNS`), the numbers a practitioner
would have, each computed honestly for its setting:

``checkpoint``    0, 1, 2, ... in training order.
``data_version``  which version of the training data the checkpoint was trained on (0 = the
                  original real data; a new version is a new dataset: a new generation's samples
                  or a new task).
``train_loss``    mean loss on the data the model is trained on at that checkpoint.
``heldout_loss``  the same loss on held-out REAL data from the original distribution.
``diversity``     how varied the outputs are relative to real data (1 = as varied as real).
``quality``       how plausible the outputs are relative to real data (1 = as good as real).
``oldest_score``  a score in [0, 1] (higher is better) on the oldest training data (version 0).
``output_shift``  total-variation distance between the histograms of the outputs over fixed
                  cells at this checkpoint and at the previous one (0 = the same outputs).

How each column is computed per setting:

* **overfitting** (:func:`overfitting_run`): a degree-15 polynomial (Legendre features) fitted to
  25 noisy points of y = sin(pi x) by gradient descent on the squared error; checkpoints are
  gradient-descent step counts, log-spaced. Losses: mean squared error on the 25 points / on 2000
  held-out points. Outputs: predictions at the held-out inputs. diversity = std of the predictions
  / std of the real held-out targets; quality = share of predictions inside the real targets'
  1%-99% range / 0.98; oldest_score = R^2 on the training points (the oldest and only data);
  cells = 10 quantile bins of the real targets.
* **model collapse** (:func:`collapse_run`): a mixture of 8 Gaussians fitted by EM to 2-D points of
  a ring of 8 real modes, then refitted generation after generation on its own samples
  (:func:`collapse_edu.loop.run_generations`, policy ``replace``, with
  :class:`collapse_edu.mixtures.GaussianMixtureFamily`); checkpoint t is the model of generation
  t + 1, trained on data version t. Losses: negative log-likelihood per point (nats) of the
  model on its own training data / on held-out real points. Outputs: 500 samples of the model.
* **mode collapse** (:func:`mode_collapse_run`): one vanilla GAN training run on the ring of 8
  (:func:`collapse_edu.gan.train_gan`); checkpoints are snapshots of the generator from fixed noise.
  The runs are precomputed (a GAN run takes tens of seconds on a shared laptop CPU) and stored in
  ``results/capstone_gan.npz`` (:func:`build_gan_pool` remakes it). A GAN has no likelihood, so
  both losses are the Parzen-window negative log-likelihood (bandwidth 0.1; Goodfellow et al.,
  arXiv:1406.2661, section 5) of real points under the generator's samples: a fresh real batch like
  those it trains on / a held-out real sample. The GAN trains on fresh real draws, so there is no
  fixed training set to overfit.
* For both 2-D settings: diversity = coverage (Naeem et al., "Reliable Fidelity and Diversity
  Metrics for Generative Models", arXiv:2002.09797: share of real reference points whose 5-nearest-
  neighbour ball holds an output) / the coverage a fresh real sample of the same size gets; quality
  = share of outputs within 3 real standard deviations of a real mode (VEEGAN's "high quality",
  arXiv:1705.07761) / the same share for real data; oldest_score = coverage of the oldest training
  data (version 0) by the outputs; cells = the nearest real mode.
* **forgetting** (:func:`forgetting_run`): one MLP trained class-incrementally on the 5 two-digit
  tasks of :func:`collapse_edu.continual.split_digits`, one after another; checkpoints at three
  points of each task. Losses: cross-entropy on the current task's training data / on held-out
  digits of the first task (the original distribution), over the classes seen so far. Outputs:
  predicted classes of held-out digits. diversity = effective number of classes predicted
  (exp entropy) on held-out digits of every task seen so far / the same for their true labels;
  quality = accuracy on the current task's held-out digits (real labels score 1); oldest_score =
  accuracy on the first task's held-out digits; cells = the 10 classes, on held-out digits of the
  first task.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .exercises import checker
from .validation import check_choice, check_float, check_int, check_memory

CAUSES = ("overfitting", "model collapse", "mode collapse", "forgetting")
LABELS = ("A", "B", "C", "D")
COLUMNS = (
    "checkpoint",
    "data_version",
    "train_loss",
    "heldout_loss",
    "diversity",
    "quality",
    "oldest_score",
    "output_shift",
)
GAN_POOL = Path(__file__).resolve().parent / "results" / "capstone_gan.npz"


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
        return np.asarray(self.columns[name])

    def __len__(self) -> int:
        return len(self.columns["checkpoint"])

    def __repr__(self) -> str:
        return f"RunLog({self.label!r}, {len(self)} checkpoints)"

    def to_text(self) -> str:
        """The log as an aligned table (what ``print(log)`` shows)."""
        head = "  ".join(f"{c:>12}" for c in COLUMNS)
        rows = []
        for i in range(len(self)):
            cells = []
            for c in COLUMNS:
                v = self[c][i]
                cells.append(f"{int(v):>12d}" if c in ("checkpoint", "data_version") else f"{v:>12.3g}")
            rows.append("  ".join(cells))
        return f"run {self.label}\n{head}\n" + "\n".join(rows)

    __str__ = to_text


# --------------------------------------------------------------------------- shared measurements


def _histogram(cells: np.ndarray, count: int) -> np.ndarray:
    return np.bincount(cells, minlength=count) / max(len(cells), 1)


def _shifts(histograms: np.ndarray) -> np.ndarray:
    """Total variation 0.5 sum |p_t - p_{t-1}| between consecutive rows (0 for the first)."""
    tv = 0.5 * np.abs(np.diff(histograms, axis=0)).sum(axis=1)
    return np.concatenate(([0.0], tv))


def coverage(reference: np.ndarray, outputs: np.ndarray, k: int = 5) -> float:
    """Share of reference points whose k-nearest-neighbour ball (radius: distance to the k-th nearest
    other reference point) holds at least one output (Naeem et al. 2020, arXiv:2002.09797)."""
    from scipy.spatial import cKDTree

    radius = cKDTree(reference).query(reference, k=k + 1)[0][:, -1]
    nearest = cKDTree(outputs).query(reference, k=1)[0]
    return float(np.mean(nearest <= radius))


def _effective_number(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def _log(columns: dict[str, list | np.ndarray]) -> dict[str, np.ndarray]:
    return {c: np.asarray(columns[c], float) for c in COLUMNS}


# --------------------------------------------------------------------------- overfitting


@dataclass(frozen=True)
class PolynomialFit:
    """The overfitting demo's data and its exact gradient-descent path (see :func:`overfitting_run`)."""

    x: np.ndarray
    y: np.ndarray
    x_out: np.ndarray
    y_out: np.ndarray
    degree: int
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    projected: np.ndarray

    def weights(self, steps: int) -> np.ndarray:
        """w_t = V diag((1 - (1 - eta lambda)^t) / lambda) V^T X^T y / n, eta = 1 / lambda_max."""
        lam = self.eigenvalues
        eta = 1.0 / lam.max()
        decay = np.exp(steps * np.log(np.clip(1 - eta * lam, 1e-300, 1.0)))  # (1 - eta lambda)^t, stable
        gain = np.where(lam > 1e-12, (1 - decay) / np.maximum(lam, 1e-300), 0.0)
        return self.eigenvectors @ (gain * self.projected)

    def predict(self, x: np.ndarray, steps: int) -> np.ndarray:
        from numpy.polynomial import legendre

        return legendre.legvander(np.asarray(x, float), self.degree) @ self.weights(steps)


def polynomial_fit(seed: int = 0, *, points: int = 25, degree: int = 15, noise: float = 0.3) -> PolynomialFit:
    """``points`` noisy points of y = sin(pi x) + N(0, noise^2), x ~ U(-1, 1), 2000 held-out points,
    and what gradient descent on a degree-``degree`` polynomial (Legendre features) needs."""
    from numpy.polynomial import legendre

    seed = check_int("seed", seed, minimum=0)
    points = check_int("points", points, minimum=5)
    degree = check_int("degree", degree, minimum=1, maximum=40)
    noise = check_float("noise", noise, 0.0, strict_minimum=True)
    check_memory(8.0 * points * (degree + 4), f"points = {points}", "use fewer points")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, points)
    y = np.sin(np.pi * x) + noise * rng.standard_normal(points)
    x_out = rng.uniform(-1, 1, 2000)
    y_out = np.sin(np.pi * x_out) + noise * rng.standard_normal(2000)
    X = legendre.legvander(x, degree)
    lam, V = np.linalg.eigh(X.T @ X / points)
    return PolynomialFit(x, y, x_out, y_out, degree, lam, V, V.T @ (X.T @ y / points))


OVERFITTING_STEPS = np.unique(np.round(np.logspace(1, 5.5, 15)).astype(int))  # 10 ... 316 228 steps


def overfitting_run(seed: int = 0, *, points: int = 25, degree: int = 15, noise: float = 0.3) -> dict[str, np.ndarray]:
    """Gradient descent on the squared error of a degree-``degree`` polynomial fitted to ``points``
    noisy points of sin(pi x) (:func:`polynomial_fit`); the weights after t steps (from w = 0, step
    size 1 / lambda_max) are exact, through the eigen-decomposition X^T X / n = V diag(lambda) V^T.
    Checkpoints: :data:`OVERFITTING_STEPS` (log-spaced from 10 to 3 x 10^5 steps)."""
    fit = polynomial_fit(seed, points=points, degree=degree, noise=noise)
    y, y_out = fit.y, fit.y_out
    low, high = np.quantile(y_out, [0.01, 0.99])
    edges = np.quantile(y_out, np.linspace(0, 1, 11)[1:-1])
    columns: dict[str, list] = {c: [] for c in COLUMNS}
    hists = []
    for i, t in enumerate(OVERFITTING_STEPS):
        train, pred = fit.predict(fit.x, int(t)), fit.predict(fit.x_out, int(t))
        columns["checkpoint"].append(i)
        columns["data_version"].append(0)
        columns["train_loss"].append(np.mean((train - y) ** 2))
        columns["heldout_loss"].append(np.mean((pred - y_out) ** 2))
        columns["diversity"].append(pred.std() / y_out.std())
        columns["quality"].append(np.mean((pred >= low) & (pred <= high)) / 0.98)
        columns["oldest_score"].append(1 - np.mean((train - y) ** 2) / y.var())
        hists.append(_histogram(np.searchsorted(edges, pred), 10))
    columns["output_shift"] = _shifts(np.array(hists))
    return _log(columns)


# --------------------------------------------------------------------------- model collapse


RING_STD = 0.1  # the model-collapse ring: 8 modes on a circle of radius 2, std 0.1 each


def _ring(std: float):
    from .gan import ring_target

    return ring_target(8, 2.0, std)


def _mixture_logpdf(model, run: int, x: np.ndarray) -> np.ndarray:
    """log density of run ``run``'s Gaussian mixture at the points ``x`` (n, d)."""
    w, mu, cov = model.weights[run], model.means[run], model.covariances[run]
    d = x.shape[1]
    terms = []
    for j in range(len(w)):
        if w[j] <= 0:
            continue
        c = cov[j] + 1e-9 * np.eye(d)
        root = np.linalg.cholesky(c)
        z = np.linalg.solve(root, (x - mu[j]).T)
        log_det = 2 * np.log(np.diag(root)).sum()
        terms.append(np.log(w[j]) - 0.5 * (z**2).sum(0) - 0.5 * log_det - 0.5 * d * np.log(2 * np.pi))
    terms = np.array(terms)
    top = terms.max(0)
    return top + np.log(np.exp(terms - top).sum(0))


def _ring_columns(
    target, outputs: list[np.ndarray], reference: np.ndarray, fresh: np.ndarray, oldest: np.ndarray
) -> dict[str, list]:
    """diversity, quality, oldest_score and cell histograms of 2-D outputs against a ring target."""
    from .gan_metrics import high_quality, nearest_mode

    base_coverage = coverage(reference, fresh)
    base_quality = float(np.mean(high_quality(fresh, target.modes, target.std)))
    columns: dict[str, list] = {"diversity": [], "quality": [], "oldest_score": []}
    hists = []
    for out in outputs:
        columns["diversity"].append(coverage(reference, out) / base_coverage)
        columns["quality"].append(np.mean(high_quality(out, target.modes, target.std)) / base_quality)
        columns["oldest_score"].append(coverage(oldest, out))
        hists.append(_histogram(nearest_mode(out, target.modes)[0], target.n_modes))
    columns["output_shift"] = list(_shifts(np.array(hists)))
    return columns


def collapse_run(seed: int = 0, *, n: int = 120, generations: int = 15, samples: int = 500) -> dict[str, np.ndarray]:
    """A mixture of 8 Gaussians refitted on its own samples (``n`` per generation, policy
    ``replace``) through :func:`collapse_edu.loop.run_generations`, starting from a ring of 8 real
    modes; one checkpoint per generation (see the module docstring for the columns)."""
    from .loop import ModelSource, run_generations
    from .mixtures import GaussianMixtureFamily, MixtureModel

    seed = check_int("seed", seed, minimum=0)
    n = check_int("n", n, minimum=16)
    generations = check_int("generations", generations, minimum=2)
    samples = check_int("samples", samples, minimum=50)
    target = _ring(RING_STD)
    truth = MixtureModel(
        np.full((1, 8), 1 / 8), target.modes[None].copy(), np.broadcast_to(RING_STD**2 * np.eye(2), (1, 8, 2, 2)).copy()
    )
    rng = np.random.default_rng([seed, 1])
    reference, fresh, held_out = (target.sample(size, rng) for size in (samples, samples, 1000))
    family = GaussianMixtureFamily(8, seed=seed)
    train_nll: list[float] = []
    oldest: list[np.ndarray] = []

    def measure(model, data, t):
        if data is None:  # generation 0: the truth itself, not a checkpoint
            return {}
        if t == 1:
            oldest.append(data[0])
        train_nll.append(-float(np.mean(_mixture_logpdf(model, 0, data[0]))))
        return {}

    history = run_generations(
        family,
        ModelSource(truth),
        n=n,
        generations=generations,
        seed=np.random.default_rng([seed, 2]),
        measure=measure,
        keep_models=True,
    )
    sample_rng = np.random.default_rng([seed, 3])
    models = history.models[1:]
    outputs = [family.sample(m, samples, sample_rng)[0] for m in models]
    columns: dict[str, list] = {
        "checkpoint": list(range(generations)),
        "data_version": list(range(generations)),
        "train_loss": train_nll,
        "heldout_loss": [-float(np.mean(_mixture_logpdf(m, 0, held_out))) for m in models],
    }
    columns.update(_ring_columns(target, outputs, reference, fresh, oldest[0]))
    return _log(columns)


# --------------------------------------------------------------------------- GAN mode collapse

GAN_SETTINGS = {"lr_g": 1e-3, "lr_d": 1e-4, "decay": False, "steps": 2000}
GAN_CHECKPOINTS = 15
GAN_SAMPLES = 500
PARZEN_BANDWIDTH = 0.1


def build_gan_pool(seeds=range(21, 27), path: str | Path | None = None, progress: bool = True) -> Path:
    """Train the vanilla GANs of the mode-collapse mysteries (:data:`GAN_SETTINGS`, one run per seed)
    and store their last :data:`GAN_CHECKPOINTS` snapshots (:data:`GAN_SAMPLES` points each)."""
    from .gan import train_gan

    seeds = [check_int("seeds", s, minimum=0) for s in seeds]
    path = Path(path) if path is not None else GAN_POOL
    snapshots, steps = [], None
    for seed in seeds:
        run = train_gan(
            "ring", "vanilla", seed=seed, snapshots=21, progress=progress and f"GAN seed {seed}", **GAN_SETTINGS
        )
        snapshots.append(run.snapshots[-GAN_CHECKPOINTS:, :GAN_SAMPLES].astype(np.float16))  # 2e-3 steps: plenty
        steps = run.steps[-GAN_CHECKPOINTS:]
    np.savez_compressed(path, seeds=np.array(seeds), steps=steps, snapshots=np.stack(snapshots))
    return path


@functools.lru_cache(maxsize=1)
def _gan_pool() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(GAN_POOL) as pool:
        return pool["seeds"], pool["steps"], pool["snapshots"].astype(float)


def _parzen_nll(points: np.ndarray, centres: np.ndarray, bandwidth: float) -> float:
    """Mean negative log-likelihood of ``points`` under a Gaussian kernel density on ``centres``."""
    d2 = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    log_k = -d2 / (2 * bandwidth**2) - np.log(2 * np.pi * bandwidth**2)
    top = log_k.max(1)
    return -float(np.mean(top + np.log(np.exp(log_k - top[:, None]).mean(1))))


def mode_collapse_run(seed: int = 0) -> dict[str, np.ndarray]:
    """One precomputed vanilla GAN run on the ring of 8 (std 0.02), picked from the stored pool by
    ``seed``; one checkpoint per snapshot (see the module docstring for the columns)."""
    from .gan import make_target

    seed = check_int("seed", seed, minimum=0)
    seeds, _, snapshots = _gan_pool()
    outputs = list(snapshots[seed % len(seeds)])
    target = make_target("ring")
    rng = np.random.default_rng([seed, 4])
    reference, fresh, oldest, held_out = (target.sample(GAN_SAMPLES, rng) for _ in range(4))
    batches = [target.sample(256, rng) for _ in outputs]  # the real batch each checkpoint trains on
    columns: dict[str, list] = {
        "checkpoint": list(range(len(outputs))),
        "data_version": [0] * len(outputs),
        "train_loss": [_parzen_nll(b, out, PARZEN_BANDWIDTH) for b, out in zip(batches, outputs, strict=True)],
        "heldout_loss": [_parzen_nll(held_out, out, PARZEN_BANDWIDTH) for out in outputs],
    }
    columns.update(_ring_columns(target, outputs, reference, fresh, oldest))
    return _log(columns)


# --------------------------------------------------------------------------- forgetting


FORGETTING_CHECKPOINTS = (5, 15, 40)  # Adam steps into each task at which the log is written


def forgetting_run(seed: int = 0, *, hidden: int = 100, lr: float = 0.01) -> dict[str, np.ndarray]:
    """Class-incremental fine-tuning of one MLP on the 5 tasks of
    :func:`collapse_edu.continual.split_digits`, full-batch Adam (100 steps per task, restarted per
    task, as :func:`collapse_edu.continual.run_continual`), logged at 10, 30 and 100 steps into
    each task (see the module docstring for the columns)."""
    import torch

    from .continual import Adam, class_mask, make_mlp, masked_logits, split_digits, torch_threads

    seed = check_int("seed", seed, minimum=0)
    data = split_digits(seed=seed)
    model = make_mlp(hidden, seed)
    x0, y0 = data.task(0, "test")
    columns: dict[str, list] = {c: [] for c in COLUMNS if c != "output_shift"}
    hists = []
    ce = torch.nn.functional.cross_entropy

    def effective(labels: torch.Tensor) -> float:
        return _effective_number(_histogram(labels.numpy(), 10))

    with torch_threads(1):
        for t in range(data.n_tasks):
            seen = [c for task in data.task_classes[: t + 1] for c in task]
            x, y = data.task(t)
            mask = class_mask(seen, len(y))
            optimiser = Adam(model.parameters(), lr=lr)
            for step in range(1, max(FORGETTING_CHECKPOINTS) + 1):
                optimiser.zero_grad()
                loss = ce(masked_logits(model(x), mask), y)
                loss.backward()
                optimiser.step()
                if step not in FORGETTING_CHECKPOINTS:
                    continue
                with torch.no_grad():
                    test_seen = [data.task(s, "test") for s in range(t + 1)]
                    xs, ys = torch.cat([p[0] for p in test_seen]), torch.cat([p[1] for p in test_seen])
                    pred_seen = masked_logits(model(xs), class_mask(seen, len(ys))).argmax(1)
                    xc, yc = data.task(t, "test")
                    pred_current = masked_logits(model(xc), class_mask(seen, len(yc))).argmax(1)
                    logits0 = masked_logits(model(x0), class_mask(seen, len(y0)))
                    columns["checkpoint"].append(len(columns["checkpoint"]))
                    columns["data_version"].append(t)
                    columns["train_loss"].append(ce(masked_logits(model(x), mask), y).item())
                    columns["heldout_loss"].append(ce(logits0, y0).item())
                    columns["diversity"].append(effective(pred_seen) / effective(ys))
                    columns["quality"].append((pred_current == yc).double().mean().item())
                    columns["oldest_score"].append((logits0.argmax(1) == y0).double().mean().item())
                    hists.append(_histogram(logits0.argmax(1).numpy(), 10))
    columns["output_shift"] = list(_shifts(np.array(hists)))
    return _log(columns)


# --------------------------------------------------------------------------- the mysteries


RUNS: dict[str, Callable[[int], dict[str, np.ndarray]]] = {
    "overfitting": overfitting_run,
    "model collapse": collapse_run,
    "mode collapse": mode_collapse_run,
    "forgetting": forgetting_run,
}


def _assignment(seed: int) -> tuple[dict[str, str], dict[str, int]]:
    """Label -> cause and cause -> hidden run seed, both derived from ``seed`` (a hash, not shown)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 8008]))
    order = rng.permutation(len(CAUSES))
    causes = {label: CAUSES[i] for label, i in zip(LABELS, order, strict=True)}
    hidden = {cause: int(s) for cause, s in zip(CAUSES, rng.integers(0, 2**31, len(CAUSES)), strict=True)}
    return causes, hidden


@functools.lru_cache(maxsize=8)
def _mysteries(seed: int) -> tuple[RunLog, ...]:
    causes, hidden = _assignment(seed)
    return tuple(RunLog(label, RUNS[causes[label]](hidden[causes[label]])) for label in LABELS)


def mystery_runs(seed: int = 0) -> dict[str, RunLog]:
    """Four training logs, one per cause in :data:`CAUSES`, under labels A-D shuffled by ``seed``;
    the runs themselves use hidden seeds derived from ``seed``. Cached per seed."""
    seed = check_int("seed", seed, minimum=0)
    return {log.label: log for log in _mysteries(seed)}


def reveal(seed: int = 0) -> dict[str, str]:
    """The answers of :func:`mystery_runs` with the same ``seed``: label -> cause."""
    seed = check_int("seed", seed, minimum=0)
    return _assignment(seed)[0]


# --------------------------------------------------------------------------- diagnostics


def signs(log: RunLog) -> dict[str, float]:
    """The tell-tale numbers of a log, each a single float:

    ``retrained``      1 if the training data changed during the log (``data_version`` grows), else 0;
    ``gap_growth``     (held-out - train loss) at the end minus at the start, over |held-out loss| at
                       the start (grows for overfitting);
    ``diversity_end``  diversity at the last checkpoint;
    ``quality_end``    quality at the last checkpoint;
    ``first_drop``     fall of ``oldest_score`` across the first change of data version (0 if none);
    ``shift_within``   mean ``output_shift`` between checkpoints on the same data version.
    """
    if not isinstance(log, RunLog):
        raise TypeError(f"log must be a RunLog (from mystery_runs), got {type(log).__name__}")
    version = log["data_version"]
    gap = log["heldout_loss"] - log["train_loss"]
    return {
        "retrained": float(version[-1] > version[0]),
        "gap_growth": float((gap[-1] - gap[0]) / max(abs(log["heldout_loss"][0]), 1e-12)),
        "diversity_end": float(log["diversity"][-1]),
        "quality_end": float(log["quality"][-1]),
        "first_drop": first_drop(log),
        "shift_within": float(np.mean(log["output_shift"][1:][np.diff(version) == 0]))
        if np.any(np.diff(version) == 0)
        else 0.0,
    }


def first_drop(log: RunLog) -> float:
    """How much ``oldest_score`` fell when the data first changed: its value at the last checkpoint
    before the first change of ``data_version`` minus its value at the last checkpoint trained on
    the new version (0.0 if the data never change)."""
    if not isinstance(log, RunLog):
        raise TypeError(f"log must be a RunLog (from mystery_runs), got {type(log).__name__}")
    version = log["data_version"]
    changes = np.flatnonzero(np.diff(version) != 0)
    if changes.size == 0:
        return 0.0
    before = int(changes[0])
    after = int(np.flatnonzero(version == version[before + 1])[-1])
    return float(log["oldest_score"][before] - log["oldest_score"][after])


def diagnose(log: RunLog) -> str:
    """The reference diagnosis: one of :data:`CAUSES`.

    Retrained on new data: a sudden fall of the score on the oldest data at the first change
    (> 0.3) means forgetting; otherwise the slow decline across rounds is model collapse. Trained
    on one dataset: outputs that hop between cells while diversity is low mean mode collapse;
    otherwise (a growing gap between held-out and training loss) overfitting.
    """
    s = signs(log)
    if s["retrained"]:
        return "forgetting" if s["first_drop"] > 0.3 else "model collapse"
    if s["diversity_end"] < 0.7 and s["shift_within"] > 0.2:
        return "mode collapse"
    return "overfitting"


CHECK_SEEDS = (101, 202, 303)


@checker
def check_diagnose(func: Callable[[RunLog], str], seeds=CHECK_SEEDS) -> bool:
    """Run ``func`` on fresh mysteries (other hidden seeds) and say, in words, what it got wrong."""
    from .exercises import FAIL, PASS, RAISED, STUB, call_learner

    wrong = 0
    total = 0
    for seed in seeds:
        answers = reveal(seed)
        for label, log in mystery_runs(seed).items():
            total += 1
            got = call_learner(f"mystery set {seed}, run {label}:", func, log)
            if got is STUB:
                return False
            if got is RAISED:
                wrong += 1
            elif got not in CAUSES:
                print(f"{FAIL} mystery set {seed}, run {label}: {got!r} is not one of {', '.join(map(repr, CAUSES))}")
                wrong += 1
            elif got != answers[label]:
                print(f"{FAIL} mystery set {seed}, run {label}: you said {got!r}, it was {answers[label]!r}")
                wrong += 1
    if wrong:
        print(f"{wrong} of {total} fresh mysteries misdiagnosed. Hint: look at signs(log) for the runs you missed.")
        return False
    print(f"{PASS} all {total} fresh mysteries ({len(seeds)} sets with other hidden seeds) diagnosed correctly.")
    return True


def check_cause(name: str) -> str:
    """``name`` if it is one of :data:`CAUSES` (for widgets and checkers)."""
    return check_choice("cause", name, CAUSES)
