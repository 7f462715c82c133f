"""The generation loop: real data -> fit -> sample -> mix -> fit -> ...

Every model-collapse lesson is this one loop with another model family plugged in.

* A **model family** knows how to ``fit`` a model to data and how to ``sample`` new data from a
  model (see :class:`ModelFamily`). Data and models carry a leading axis of independent *runs*,
  so hundreds of replicate experiments advance together in one vectorised step.
* A **source** is the real world: it draws real data (:class:`ModelSource` for a known true
  distribution, :class:`DataPool` for a fixed real dataset).
* A **policy** decides what generation t+1 trains on (:class:`Policy`):

  ``replace``               only the samples of the last model (n of them);
  ``accumulate``            all real data and every generation's samples so far (grows by n);
  ``accumulate-subsample``  a fresh draw of n from that growing pool;
  ``fresh-real``            a fraction r of fresh real samples plus (1 - r) n synthetic ones.

Generation 0 is the real world (the true distribution, or the model of the whole real dataset);
generation t >= 1 is the t-th fitted model. The first fit sees only real data, so after t
generations a model has been fitted t times; the formulas of :mod:`collapse_edu.theory` use the
same count. :func:`run_generations` returns a :class:`History` of per-generation measurements.

References: Shumailov et al., "AI models collapse when trained on recursively generated data",
Nature 631 (2024); Gerstgrasser et al., "Is Model Collapse Inevitable?", arXiv:2404.01413.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from .validation import as_rng, check_bool, check_choice, check_fraction, check_int, check_memory

POLICIES = ("replace", "accumulate", "accumulate-subsample", "fresh-real")


class ModelFamily(Protocol):
    """What the loop needs of a model family. :class:`ArrayFamily` supplies the data methods."""

    def fit(self, data: Any) -> Any:
        """Fit one model per run to ``data`` (leading axis: runs)."""

    def sample(self, model: Any, size: int, rng: np.random.Generator) -> Any:
        """Draw ``size`` samples per run from ``model``."""

    def pool(self, parts: Sequence[Any]) -> Any:
        """Join datasets run by run (accumulate)."""

    def subsample(self, data: Any, size: int, rng: np.random.Generator) -> Any:
        """Draw ``size`` items per run, without replacement (accumulate-subsample)."""

    def broadcast(self, model: Any, runs: int) -> Any:
        """Repeat a single model for ``runs`` independent runs."""

    def describe(self, model: Any) -> Mapping[str, np.ndarray]:
        """Per-run summary numbers of a model, recorded in the history every generation."""


class ArrayFamily:
    """Data methods for families whose data is an array shaped ``(runs, size, ...)``.

    A subclass whose data are summaries instead of samples (an exact fast path on sufficient
    statistics) sets ``keeps_samples = False``; it cannot be fed from a :class:`DataPool`.
    """

    keeps_samples = True
    #: bytes one sample takes in the data (for the memory estimate of :func:`run_generations`)
    sample_bytes = 8

    def pool(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts, axis=1)

    def subsample(self, data: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` distinct items per run, uniformly without replacement.

        Floyd's algorithm vectorised over runs: O(size^2) per run whatever the pool size, which
        matters for accumulate-subsample once the pool holds many generations."""
        runs, total = data.shape[:2]
        if size > total:
            raise ValueError(f"size must be <= {total} (the items available), got {size}")
        picks = np.empty((runs, size), dtype=np.int64)
        for k, j in enumerate(range(total - size, total)):
            candidate = rng.integers(0, j + 1, runs)
            taken = np.any(picks[:, :k] == candidate[:, None], axis=1)
            picks[:, k] = np.where(taken, j, candidate)
        picks = picks.reshape(picks.shape + (1,) * (data.ndim - 2))
        return np.take_along_axis(data, picks, axis=1)

    def broadcast(self, model: Any, runs: int) -> Any:
        return model


@dataclass(frozen=True)
class Policy:
    """What each generation trains on; ``real_fraction`` is used by ``fresh-real`` only."""

    name: str = "replace"
    real_fraction: float = 0.0

    def __post_init__(self) -> None:
        check_choice("policy", self.name, POLICIES)
        check_fraction("real_fraction", self.real_fraction)

    def __str__(self) -> str:
        if self.name == "fresh-real":
            return f"fresh-real (r = {self.real_fraction:g})"
        return self.name

    @classmethod
    def coerce(cls, policy: Policy | str, real_fraction: float | None = None) -> Policy:
        """Accept a :class:`Policy` or its name (with ``real_fraction`` for ``fresh-real``)."""
        if isinstance(policy, Policy):
            return policy
        if real_fraction is None:
            if policy == "fresh-real":
                raise ValueError("real_fraction is required with policy='fresh-real' (a share r in [0, 1])")
            real_fraction = 0.0
        elif policy != "fresh-real":
            raise ValueError(f"real_fraction is only used with policy='fresh-real', got policy={policy!r}")
        return cls(policy, real_fraction)


class ModelSource:
    """The real world as a known distribution: real data are samples of ``model``.

    ``real_family`` draws the real data when the loop's family deliberately distorts its own
    samples (for example narrowed sampling, ``scale < 1``): real data stay undistorted.
    """

    def __init__(self, model: Any, real_family: ModelFamily | None = None):
        self.model = model
        self.real_family = real_family

    def draw(self, family: ModelFamily, size: int, runs: int, rng: np.random.Generator) -> Any:
        sampler = self.real_family or family
        return sampler.sample(sampler.broadcast(self.model, runs), size, rng)

    def reference(self, family: ModelFamily, runs: int) -> tuple[Any, Any]:
        """Generation 0: the true model itself (and no training data)."""
        return family.broadcast(self.model, runs), None


class DataPool:
    """The real world as a fixed dataset shaped ``(size, ...)``; draws are without replacement."""

    def __init__(self, data: np.ndarray):
        data = np.asarray(data)
        if data.ndim < 1 or data.shape[0] == 0:
            raise ValueError("data must hold at least one real sample")
        self.data = data

    @staticmethod
    def _check(family: ModelFamily) -> None:
        if not getattr(family, "keeps_samples", True):
            raise ValueError(
                f"a DataPool of real samples needs the individual samples: {type(family).__name__} keeps only "
                "sufficient statistics; use its direct-path family"
            )

    def draw(self, family: ModelFamily, size: int, runs: int, rng: np.random.Generator) -> np.ndarray:
        self._check(family)
        pool = np.broadcast_to(self.data[None], (runs, *self.data.shape))
        return family.subsample(pool, size, rng)

    def reference(self, family: ModelFamily, runs: int) -> tuple[Any, Any]:
        """Generation 0: a model of the whole real dataset."""
        self._check(family)
        data = self.data[None]
        return family.broadcast(family.fit(data), runs), data


@dataclass
class History:
    """Per-generation measurements: ``metrics[name][t]`` holds one value per run.

    Row 0 is the real world, row t the t-th fitted model.
    """

    policy: Policy
    n: int
    metrics: dict[str, np.ndarray]
    models: list[Any] = field(default_factory=list)

    @property
    def generations(self) -> np.ndarray:
        """0, 1, ..., T."""
        return np.arange(len(next(iter(self.metrics.values()))))

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"no metric {name!r}; recorded: {', '.join(self.metrics)}") from None

    def median(self, name: str) -> np.ndarray:
        return np.median(self[name], axis=1)

    def mean(self, name: str) -> np.ndarray:
        return np.mean(self[name], axis=1)

    def quantile(self, name: str, q: float | Sequence[float]) -> np.ndarray:
        return np.quantile(self[name], q, axis=1)


Measure = Callable[[Any, Any, int], Mapping[str, Any]]


def next_training_data(
    family: ModelFamily,
    source: ModelSource | DataPool,
    policy: Policy,
    model: Any,
    pool: Any,
    n: int,
    runs: int,
    rng: np.random.Generator,
) -> tuple[Any, Any]:
    """What the next generation trains on, by the policy; returns (training data, accumulated pool)."""
    if policy.name == "fresh-real":
        n_real = int(round(policy.real_fraction * n))
        parts = []
        if n_real:
            parts.append(source.draw(family, n_real, runs, rng))
        if n - n_real:
            parts.append(family.sample(model, n - n_real, rng))
        return (parts[0] if len(parts) == 1 else family.pool(parts)), pool
    synthetic = family.sample(model, n, rng)
    if policy.name == "replace":
        return synthetic, pool
    pool = family.pool([pool, synthetic])
    return (pool if policy.name == "accumulate" else family.subsample(pool, n, rng)), pool


def check_loop_memory(family: ModelFamily, n: int, generations: int, runs: int, policy: Policy) -> None:
    """Refuse a loop whose history ((generations + 1) x runs values per metric, at least two metrics,
    held twice while the rows are stacked) and training data (n samples per run, growing by n every
    generation when accumulating) would not fit in memory."""
    per_sample = getattr(family, "sample_bytes", 8) if getattr(family, "keeps_samples", True) else 0
    kept = generations + 1 if policy.name in ("accumulate", "accumulate-subsample") else 2
    history = 2 * 2 * 8.0 * (generations + 1) * runs
    data = float(per_sample) * n * kept * runs
    check_memory(
        history + data,
        f"runs = {runs} with generations = {generations} and n = {n} (history {runs} x {generations + 1}"
        + (f", data {runs} x {n * kept} samples" if data else "")
        + ")",
        "use fewer runs or generations" + (" or a smaller n" if data else ""),
    )


def run_generations(
    family: ModelFamily,
    source: ModelSource | DataPool,
    *,
    n: int,
    generations: int,
    runs: int = 1,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    seed: int | np.random.Generator | None = 0,
    measure: Measure | None = None,
    keep_models: bool = False,
    progress: bool | str = False,
) -> History:
    """Train ``generations`` models in a row, each on data made by the policy, for ``runs`` runs.

    ``n`` is the number of new samples per generation. ``measure(model, data, t)`` may add
    per-generation numbers to the family's ``describe``; ``data`` is what the model was fitted
    on (``None`` for a true model). ``progress`` shows a tqdm bar (a string sets its label).
    """
    n = check_int("n", n, minimum=1)
    generations = check_int("generations", generations, minimum=0)
    runs = check_int("runs", runs, minimum=1)
    policy = Policy.coerce(policy, real_fraction)
    keep_models = check_bool("keep_models", keep_models)
    rng = as_rng(seed)
    check_loop_memory(family, n, generations, runs, policy)

    rows: dict[str, list[np.ndarray]] = {}
    models: list[Any] = []

    def record(model: Any, data: Any, t: int) -> None:
        values = dict(family.describe(model))
        if measure is not None:
            values.update(measure(model, data, t))
        for name, value in values.items():
            rows.setdefault(name, []).append(np.asarray(value))
        if keep_models:
            models.append(model)

    model, data = source.reference(family, runs)
    record(model, data, 0)

    data = pool = source.draw(family, n, runs, rng)  # generation 1 trains on real data only
    label = progress if isinstance(progress, str) else "generations"
    for t in tqdm(range(1, generations + 1), desc=label, disable=not progress, leave=False):
        model = family.fit(data)
        record(model, data, t)
        if t < generations:
            data, pool = next_training_data(family, source, policy, model, pool, n, runs, rng)

    metrics = {name: np.stack(values) for name, values in rows.items()}
    return History(policy=policy, n=n, metrics=metrics, models=models)
