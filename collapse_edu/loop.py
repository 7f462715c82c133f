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

* A **curation** step may filter the synthetic samples before they are mixed in (sample -> curate
  -> mix, :class:`Curation`): ``none`` keeps them all; ``self`` keeps those the model itself rates
  most likely (its ``log_likelihood``); ``verifier`` keeps those an outside judge accepts.

Generation 0 is the real world (the true distribution, or the model of the whole real dataset);
generation t >= 1 is the t-th fitted model. The first fit sees only real data, so after t
generations a model has been fitted t times; the formulas of :mod:`collapse_edu.theory` use the
same count. :func:`run_generations` returns a :class:`History` of per-generation measurements.

References: Shumailov et al., "AI models collapse when trained on recursively generated data",
Nature 631 (2024); Gerstgrasser et al., "Is Model Collapse Inevitable?", arXiv:2404.01413.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from .validation import as_rng, check_bool, check_choice, check_fraction, check_int, check_keep, check_memory

POLICIES = ("replace", "accumulate", "accumulate-subsample", "fresh-real")
CURATIONS = ("none", "self", "verifier")
RULES = ("top", "sample")


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

    # Needed only by a curated loop (:class:`Curation`):
    #   take(data, index)            the items ``index`` ``(runs, k)`` of each run;
    #   log_likelihood(model, data)  the model's log density of every item, ``(runs, m)`` (for ``self``).


FLOYD_MAX_SIZE = 4096  #: largest draw :meth:`ArrayFamily.subsample` makes with Floyd's algorithm


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

        Up to :data:`FLOYD_MAX_SIZE` items, Floyd's algorithm vectorised over runs: O(size^2) per run
        whatever the pool size, which matters for accumulate-subsample once the pool holds many
        generations. Beyond it, the ``size`` smallest of one uniform key per item (O(total) per run;
        Floyd's quadratic cost would take hours at a million items)."""
        runs, total = data.shape[:2]
        if size > total:
            raise ValueError(f"size n must be <= {total} (the items available to draw from), got {size}")
        if size > FLOYD_MAX_SIZE:
            check_memory(
                8.0 * runs * total, f"{runs} runs x {total} items to draw from", "use fewer runs or a smaller n"
            )
            picks = np.sort(np.argpartition(rng.random((runs, total)), size - 1, axis=1)[:, :size], axis=1)
            picks = picks.reshape(picks.shape + (1,) * (data.ndim - 2))
            return np.take_along_axis(data, picks, axis=1)
        picks = np.empty((runs, size), dtype=np.int64)
        for k, j in enumerate(range(total - size, total)):
            candidate = rng.integers(0, j + 1, runs)
            taken = np.any(picks[:, :k] == candidate[:, None], axis=1)
            picks[:, k] = np.where(taken, j, candidate)
        picks = picks.reshape(picks.shape + (1,) * (data.ndim - 2))
        return np.take_along_axis(data, picks, axis=1)

    def take(self, data: np.ndarray, index: np.ndarray) -> np.ndarray:
        """The items ``index`` ``(runs, k)`` of each run (what curation keeps)."""
        index = index.reshape(index.shape + (1,) * (data.ndim - 2))
        return np.take_along_axis(data, index, axis=1)

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


#: ``verifier(model, candidates)`` -> log acceptance weight of every candidate, shape ``(runs, m)``.
Verifier = Callable[[Any, Any], np.ndarray]


@dataclass(frozen=True)
class Curation:
    """What happens between sampling and mixing: which synthetic samples are kept.

    With keep fraction q the loop draws m = ceil(k / q) candidates for every k synthetic items a
    policy asks for, scores them and keeps k: a generation trains on as many items as without
    curation, and the model is only ever asked for more samples.

    * ``none``: keep every sample (no extra draws; the loop is exactly the uncurated one).
    * ``self``: score = the current model's own ``family.log_likelihood(model, candidates)``.
    * ``verifier``: score = ``verifier(model, candidates)``, a judge the experiment supplies; read
      as a log acceptance weight w(x), for example an estimate of log p_real(x) / p_model(x).

    ``rule`` says how scores become a choice: ``"top"`` keeps the k highest scores (default for
    ``self``); ``"sample"`` is rejection sampling (default for ``verifier``): accept a candidate with
    probability min(1, e^w / M), the bound M set so that exactly k pass, i.e. keep the k largest
    w + E with E = -log U ~ Exp(1). With w = log p_real/p_model + const and q -> 0 the kept samples
    are draws from p_real (Azadi et al., "Discriminator Rejection Sampling", arXiv:1810.06758).
    A score of -inf rejects a candidate; it is kept only if fewer than k candidates have a finite score.
    """

    name: str = "none"
    keep: float | None = None
    verifier: Verifier | None = field(default=None, compare=False)
    rule: str | None = None

    def __post_init__(self) -> None:
        check_choice("curation", self.name, CURATIONS)
        if self.name == "none":
            if self.keep not in (None, 1, 1.0) or self.verifier is not None or self.rule is not None:
                raise ValueError("keep, verifier and rule are only used with curation='self' or 'verifier'")
            object.__setattr__(self, "keep", 1.0)
            return
        if self.keep is None:
            raise ValueError(f"keep is required with curation={self.name!r} (a fraction q in (0, 1])")
        object.__setattr__(self, "keep", check_keep("keep", self.keep))
        if self.name == "verifier" and not callable(self.verifier):
            raise TypeError("verifier must be a callable verifier(model, candidates) -> scores (runs, m)")
        if self.name == "self" and self.verifier is not None:
            raise ValueError("verifier is only used with curation='verifier'")
        rule = self.rule if self.rule is not None else ("top" if self.name == "self" else "sample")
        object.__setattr__(self, "rule", check_choice("rule", rule, RULES))

    def __str__(self) -> str:
        return self.name if self.name == "none" else f"{self.name} (q = {self.keep:g}, {self.rule})"

    @classmethod
    def coerce(cls, curation: Curation | str | None) -> Curation:
        """Accept a :class:`Curation`, ``None`` or ``"none"`` (``self``/``verifier`` need a keep fraction)."""
        if isinstance(curation, Curation):
            return curation
        if curation is None:
            return cls()
        return cls(curation)

    def candidates(self, size: int) -> int:
        """m = ceil(size / q) candidates for ``size`` kept items."""
        return size if self.name == "none" else math.ceil(round(size / self.keep, 9))

    def select(self, family: ModelFamily, model: Any, size: int, rng: np.random.Generator) -> Any:
        """``size`` curated samples per run from ``model``: sample m candidates, score, keep ``size``."""
        if self.name == "none":
            return family.sample(model, size, rng)
        candidates = family.sample(model, self.candidates(size), rng)
        if self.name == "self":
            scores = family.log_likelihood(model, candidates)
        else:
            scores = self.verifier(model, candidates)
        scores = _check_scores(scores, self.candidates(size))
        if self.rule == "sample":
            scores = scores - np.log1p(-rng.random(scores.shape))  # + Exp(1): rejection sampling
        keep = np.sort(np.argsort(-scores, axis=1, kind="stable")[:, :size], axis=1)
        return family.take(candidates, keep)


def _check_scores(scores: object, m: int) -> np.ndarray:
    scores = np.asarray(scores, float)
    if scores.ndim != 2 or scores.shape[1] != m:
        raise ValueError(f"curation scores must have shape (runs, {m}) (one per candidate), got {scores.shape}")
    if np.isnan(scores).any() or (scores == np.inf).any():
        raise ValueError("curation scores must be finite or -inf (rejected), got NaN or +inf")
    return scores


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
        if data.dtype.kind in "fc" and not np.all(np.isfinite(data)):
            bad = int(np.sum(~np.isfinite(data)))
            raise ValueError(f"data must be finite real samples; {bad} value(s) are nan or infinite (drop those rows)")
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
    curation: Curation = field(default_factory=Curation)

    @property
    def generations(self) -> np.ndarray:
        """0, 1, ..., T."""
        return np.arange(len(next(iter(self.metrics.values()))))

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"no metric {name!r}; recorded: {', '.join(self.metrics)}") from None

    def head(self, generations: int) -> History:
        """The record of generations 0..``generations`` only. The loop draws its random numbers in
        generation order, so with the same seed a run of T generations is exactly the first T
        generations of a longer run, and a longer run's head stands in for a shorter one."""
        last = len(self.generations) - 1
        generations = check_int("generations", generations, minimum=0, maximum=last)
        return replace(
            self,
            metrics={name: values[: generations + 1] for name, values in self.metrics.items()},
            models=self.models[: generations + 1],
        )

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
    curation: Curation | None = None,
) -> tuple[Any, Any]:
    """What the next generation trains on, by the policy; returns (training data, accumulated pool).
    Every synthetic part is curated first (sample -> curate -> mix)."""
    curation = curation or Curation()
    if policy.name == "fresh-real":
        n_real = int(round(policy.real_fraction * n))
        parts = []
        if n_real:
            parts.append(source.draw(family, n_real, runs, rng))
        if n - n_real:
            parts.append(curation.select(family, model, n - n_real, rng))
        return (parts[0] if len(parts) == 1 else family.pool(parts)), pool
    synthetic = curation.select(family, model, n, rng)
    if policy.name == "replace":
        return synthetic, pool
    pool = family.pool([pool, synthetic])
    return (pool if policy.name == "accumulate" else family.subsample(pool, n, rng)), pool


#: Bytes per curation candidate besides the sample itself: its score, its rank (int64) and the sort's
#: work space, and the scoring's temporaries (measured: 10.6 GB peak for 3e8 one-number candidates).
CANDIDATE_WORK_BYTES = 32


def check_loop_memory(
    family: ModelFamily, n: int, generations: int, runs: int, policy: Policy, curation: Curation | None = None
) -> None:
    """Refuse a loop whose history ((generations + 1) x runs values per metric, at least two metrics,
    held twice while the rows are stacked) and training data (n samples per run, growing by n every
    generation when accumulating, plus ceil(n / q) candidates when curating, each with its score, its
    place in the ranking and the ranking's work space: :data:`CANDIDATE_WORK_BYTES`) would not fit in memory."""
    per_sample = getattr(family, "sample_bytes", 8) if getattr(family, "keeps_samples", True) else 0
    kept = generations + 1 if policy.name in ("accumulate", "accumulate-subsample") else 2
    candidates = 0 if curation is None or curation.name == "none" else curation.candidates(n)
    history = 2 * 2 * 8.0 * (generations + 1) * runs
    data = float(per_sample) * n * kept * runs
    work = float(per_sample + CANDIDATE_WORK_BYTES) * candidates * runs
    check_memory(
        history + data + work,
        f"runs = {runs} with generations = {generations} and n = {n} (history {runs} x {generations + 1}"
        + (f", data {runs} x {n * kept} samples" if data else "")
        + (f", {runs} x {candidates} candidates to curate" if candidates else "")
        + ")",
        "use fewer runs or generations"
        + (" or a smaller n" if data else "")
        + (" or a larger keep fraction" if candidates else ""),
    )


def check_curation(family: ModelFamily, curation: Curation) -> None:
    """A curated loop needs individual samples it can pick (``take``) and, for ``self``, scores."""
    if curation.name == "none":
        return
    if not getattr(family, "keeps_samples", True):
        raise ValueError(
            f"curation={curation.name!r} needs the individual samples: {type(family).__name__} keeps only "
            "sufficient statistics; use its direct path (fast=False)"
        )
    needs = ("take", "log_likelihood") if curation.name == "self" else ("take",)
    missing = [name for name in needs if not callable(getattr(family, name, None))]
    if missing:
        raise TypeError(
            f"curation={curation.name!r} needs a family with {' and '.join(missing)}(), "
            f"which {type(family).__name__} lacks"
        )


def _measured(found: object, described: Mapping[str, Any], rows: Mapping[str, list], t: int) -> Mapping[str, Any]:
    """What ``measure`` returned at generation ``t``, checked: a mapping of new names (the family's own
    metrics are not overwritten), the same names every generation (a name first seen later would
    have fewer rows than the others, shifted by the generations it missed)."""
    if not isinstance(found, Mapping):
        raise TypeError(f"measure must return a dict of name -> value per run, got {type(found).__name__}")
    clash = sorted(set(found) & set(described))
    if clash:
        raise ValueError(f"measure returned {', '.join(map(repr, clash))}, a metric of the family itself: rename it")
    expected = set(rows) - set(described)
    if t > 0 and set(found) != expected:
        changed = sorted(set(found) ^ expected)
        raise ValueError(
            f"measure must return the same names every generation; at generation {t} "
            f"{', '.join(map(repr, changed))} came or went"
        )
    return found


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
    curation: Curation | str | None = None,
) -> History:
    """Train ``generations`` models in a row, each on data made by the policy, for ``runs`` runs.

    ``n`` is the number of new samples per generation. ``measure(model, data, t)`` may add
    per-generation numbers to the family's ``describe``; ``data`` is what the model was fitted
    on (``None`` for a true model). ``progress`` shows a tqdm bar (a string sets its label).
    ``curation`` filters every synthetic part before it is mixed in (:class:`Curation`; default none).
    """
    methods = ("fit", "sample", "broadcast", "describe")
    if isinstance(family, type) or not all(callable(getattr(family, m, None)) for m in methods):
        raise TypeError(
            f"family must be a model family such as Gaussian() (with fit, sample, broadcast and describe), "
            f"got {family.__name__ + ' (the class: add ())' if isinstance(family, type) else type(family).__name__}"
        )
    if not (callable(getattr(source, "reference", None)) and callable(getattr(source, "draw", None))):
        raise TypeError(
            "source must be the real world: ModelSource(model) for a known distribution or DataPool(data) for a "
            f"dataset, got {type(source).__name__}"
        )
    if measure is not None and not callable(measure):
        raise TypeError(f"measure must be None or a function measure(model, data, t), got {type(measure).__name__}")
    if not isinstance(progress, (bool, str)):
        raise TypeError(f"progress must be True, False or a label (str), got {type(progress).__name__}")
    n = check_int("n", n, minimum=1)
    generations = check_int("generations", generations, minimum=0)
    runs = check_int("runs", runs, minimum=1)
    policy = Policy.coerce(policy, real_fraction)
    curation = Curation.coerce(curation)
    check_curation(family, curation)
    keep_models = check_bool("keep_models", keep_models)
    rng = as_rng(seed)
    check_loop_memory(family, n, generations, runs, policy, curation)

    rows: dict[str, list[np.ndarray]] = {}
    models: list[Any] = []

    def record(model: Any, data: Any, t: int) -> None:
        values = dict(family.describe(model))
        if measure is not None:
            values.update(_measured(measure(model, data, t), values, rows, t))
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
            data, pool = next_training_data(family, source, policy, model, pool, n, runs, rng, curation)

    metrics = {name: np.stack(values) for name, values in rows.items()}
    return History(policy=policy, n=n, metrics=metrics, models=models, curation=curation)
