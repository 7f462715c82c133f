"""Categorical model family for the generation loop: resampling a vocabulary is Wright-Fisher.

A model is a probability vector over K categories (one row per run, shape ``(runs, K)``). It is
fitted by the **empirical frequencies** of its training data and sampled by **multinomial
counts**: n draws from p are summarised, exactly, by their count vector ``Multinomial(n, p)``.
So data are count vectors shaped ``(runs, K)``, which makes every policy of the loop cheap:

* fit:        p = counts / counts.sum()
* sample:     counts ~ Multinomial(n, p)                        (one call for all runs)
* pool:       counts_a + counts_b                               (accumulate)
* subsample:  n items drawn without replacement from a pool of counts is a *multivariate
              hypergeometric* draw. numpy's ``Generator.multivariate_hypergeometric`` handles one
              pool at a time, so :func:`multivariate_hypergeometric` draws it category by
              category, each step a (vectorised over runs) univariate hypergeometric draw from
              what is left: exact, K numpy calls per generation.

Fitting frequencies to n multinomial draws and sampling again is the neutral Wright-Fisher model
of population genetics (Fisher 1930, Wright 1931; Kimura 1955): every one-hot distribution is
absorbing, a category that disappears never comes back, and the rare categories (the tail of a
Zipf vocabulary) go first. Closed forms are in :mod:`collapse_edu.theory` (section
"Categorical").

References: Shumailov et al., "AI models collapse when trained on recursively generated data",
Nature 631 (2024), arXiv:2305.17493; Dohmatob et al., "A Tale of Tails: Model Collapse as a Change
of Scaling Laws", arXiv:2402.07043.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .loop import ArrayFamily, History, ModelSource, Policy, run_generations
from .metrics import entropy
from .validation import as_rng, check_bool, check_choice, check_float, check_int, check_memory, check_probabilities

DISTRIBUTIONS = ("uniform", "zipf")


# --------------------------------------------------------------------------- starting distributions


def uniform_distribution(categories: int) -> np.ndarray:
    """p_i = 1 / K for K categories."""
    categories = check_int("categories", categories, minimum=1)
    _check_categories_memory(categories)
    return np.full(categories, 1.0 / categories)


ZIPF_EXPONENT = 1.0  #: the default s of p_i ~ i^-s


def zipf_distribution(categories: int, exponent: float = ZIPF_EXPONENT) -> np.ndarray:
    """Zipf's law over K ranks: p_i proportional to i^-s (i = 1..K), the shape of word frequencies
    (Zipf 1949; the setting of Dohmatob et al., arXiv:2402.07043)."""
    categories = check_int("categories", categories, minimum=1)
    exponent = check_float("zipf_exponent", exponent, 0.0)
    _check_categories_memory(categories)
    weights = np.arange(1, categories + 1, dtype=float) ** -exponent
    return weights / weights.sum()


def _check_categories_memory(categories: int) -> None:
    check_memory(16.0 * categories, f"categories = {categories}", "use fewer categories")


def starting_distribution(
    categories: int, distribution: str = "zipf", zipf_exponent: float = ZIPF_EXPONENT
) -> np.ndarray:
    """The starting (real) distribution by name: ``"uniform"`` or ``"zipf"`` (with its exponent)."""
    distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
    if distribution == "uniform":
        return uniform_distribution(categories)
    return zipf_distribution(categories, zipf_exponent)


# --------------------------------------------------------------------------- sampling helpers


def multivariate_hypergeometric(counts: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``size`` items without replacement from each row of a count table ``(runs, K)``.

    Exact and vectorised over runs: category k gets Hypergeometric(good = c_k, bad = the items of
    categories k+1..K, draws = still to draw), the sequential ("marginal") method.
    """
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ValueError(f"counts must be a (runs, K) table, got shape {counts.shape}")
    counts = counts.astype(np.int64)
    rng = as_rng(rng)
    size = check_int("size", size, minimum=0)
    left = counts.sum(axis=1)
    if np.any(left < size):
        raise ValueError(f"size n must be <= {int(left.min())} (the items available to draw from), got {size}")
    need = np.full(counts.shape[0], size, dtype=np.int64)
    out = np.zeros_like(counts)
    for k in range(counts.shape[1] - 1):
        if not need.any():
            break
        good = counts[:, k]
        left = left - good
        out[:, k] = rng.hypergeometric(good, left, need)
        need -= out[:, k]
    out[:, -1] += need
    return out


# --------------------------------------------------------------------------- the family


class Categorical(ArrayFamily):
    """Categorical distribution over K categories, fitted by empirical frequencies.

    Data are count tables ``(runs, K)``; a model is a frequency table ``(runs, K)``.
    ``keep_frequencies=True`` also records every model's full frequency vector in the history
    (``history["p"]`` has shape ``(generations + 1, runs, K)``; mind the memory).
    """

    sample_bytes = 0  # data are count tables (runs, K), whatever the number of samples

    def __init__(self, keep_frequencies: bool = False):
        self.keep_frequencies = check_bool("keep_frequencies", keep_frequencies)

    def fit(self, data: np.ndarray) -> np.ndarray:
        """p = counts / total, row by row."""
        data = np.asarray(data)
        total = data.sum(axis=1, keepdims=True)
        if np.any(total <= 0):
            raise ValueError("data must hold at least one item per run to fit frequencies")
        return data / total

    def sample(self, model: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        """Counts of ``size`` draws per run: Multinomial(size, p)."""
        return rng.multinomial(size, model)

    def pool(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        """Pooling datasets adds their counts."""
        return np.sum(np.stack([np.asarray(part) for part in parts]), axis=0)

    def subsample(self, data: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` items per run without replacement: a multivariate hypergeometric draw."""
        return multivariate_hypergeometric(data, size, rng)

    def broadcast(self, model: np.ndarray, runs: int) -> np.ndarray:
        model = check_probabilities("model", model, axis=-1, atol=1e-6)
        return np.broadcast_to(model.reshape(-1, model.shape[-1]), (runs, model.shape[-1])).copy()

    @staticmethod
    def items(data: np.ndarray) -> np.ndarray:
        """The category of every item, items listed category by category: ``(runs, total)`` (curation
        picks items; every run must hold the same total)."""
        data = np.asarray(data)
        totals = data.sum(axis=1)
        if np.any(totals != totals[0]):
            raise ValueError("data must hold the same number of items in every run to pick items")
        check_memory(8.0 * data.shape[0] * totals[0], f"{int(totals[0])} items per run", "draw fewer candidates")
        return np.stack([np.repeat(np.arange(data.shape[1]), row) for row in data])

    def take(self, data: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Counts of the items ``index`` ``(runs, k)`` (items numbered as in :meth:`items`)."""
        chosen = np.take_along_axis(self.items(data), index, axis=1)
        return np.stack([np.bincount(row, minlength=data.shape[1]) for row in chosen])

    def log_likelihood(self, model: np.ndarray, data: np.ndarray) -> np.ndarray:
        """log p of every item's category ``(runs, total)`` (-inf for a category the model lost)."""
        with np.errstate(divide="ignore"):
            return np.take_along_axis(np.log(model), self.items(data), axis=1)

    def describe(self, model: np.ndarray) -> dict[str, np.ndarray]:
        """Surviving categories, heterozygosity 1 - sum p^2, entropy (bits), the most frequent
        category (``leader``) and its frequency (``top``)."""
        values = {
            "surviving": np.count_nonzero(model > 0, axis=1),
            "heterozygosity": 1.0 - np.sum(model**2, axis=1),
            "entropy": entropy(model, axis=1),
            "leader": np.argmax(model, axis=1),
            "top": np.max(model, axis=1),
        }
        if self.keep_frequencies:
            values["p"] = model.copy()
        return values


# --------------------------------------------------------------------------- experiments


#: Largest n of :func:`simulate_categorical`: numpy's hypergeometric draws (accumulate-subsample) stop
#: at 10^9 items (beyond, a run failed part way with numpy's own message).
CATEGORICAL_MAX_N = 10**9


def simulate_categorical(
    p0: Sequence[float] | np.ndarray | None = None,
    *,
    categories: int | None = None,
    distribution: str | None = None,
    zipf_exponent: float | None = None,
    n: int = 1000,
    generations: int = 50,
    runs: int = 200,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    seed: int | np.random.Generator | None = 0,
    keep_frequencies: bool = False,
    progress: bool | str = False,
) -> History:
    """Recursive fitting of a categorical distribution, starting from the truth ``p0``.

    ``p0`` defaults to ``starting_distribution(categories, distribution, zipf_exponent)`` (by default
    100 categories, ``"zipf"``, :data:`ZIPF_EXPONENT`); with an explicit ``p0``, ``distribution`` and
    ``zipf_exponent`` are refused and ``categories``, if given, must be ``len(p0)``. Returns
    a :class:`~collapse_edu.loop.History` with ``surviving``, ``heterozygosity``, ``entropy``,
    ``leader`` and ``top`` per generation and run (row 0 is the truth).
    """
    if distribution is not None:
        distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
    if p0 is None:
        distribution = distribution or "zipf"
        if zipf_exponent is not None and distribution != "zipf":
            raise ValueError(f"zipf_exponent is only used with distribution='zipf', got distribution={distribution!r}")
        p0 = starting_distribution(
            100 if categories is None else categories,
            distribution,
            ZIPF_EXPONENT if zipf_exponent is None else zipf_exponent,
        )
    else:
        for name, value in (("distribution", distribution), ("zipf_exponent", zipf_exponent)):
            if value is not None:
                raise ValueError(f"{name} is only used without p0 (p0 is the starting distribution itself), got both")
    p0 = check_probabilities("p0", p0)
    if categories is not None and check_int("categories", categories, minimum=1) != p0.size:
        raise ValueError(f"categories must be len(p0) = {p0.size} when p0 is given (or be left out), got {categories}")
    runs = check_int("runs", runs, minimum=1)
    generations = check_int("generations", generations, minimum=0)
    n = check_int("n", n, minimum=1, maximum=CATEGORICAL_MAX_N)
    keep_frequencies = check_bool("keep_frequencies", keep_frequencies)
    check_memory(
        8.0 * runs * p0.size * (6 + (generations + 1 if keep_frequencies else 0)),
        f"runs = {runs} with {p0.size} categories" + (f", {generations} generations kept" if keep_frequencies else ""),
        "use fewer runs or categories" + (", or keep_frequencies=False" if keep_frequencies else ""),
    )
    return run_generations(
        Categorical(keep_frequencies=keep_frequencies),
        ModelSource(p0),
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        seed=seed,
        progress=progress,
    )


def fixation_times(history: History) -> np.ndarray:
    """Per run, the first generation with a single category left (``-1`` if never, within the run)."""
    alone = history["surviving"] == 1
    return np.where(alone.any(axis=0), np.argmax(alone, axis=0), -1)


def loss_table(frequencies: np.ndarray, n: int, max_count: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From recorded frequencies ``(generations + 1, runs, K)`` of a ``replace`` run with n draws:
    for c = 1..max_count, how often a category with count c in one generation's data is absent
    from the next model. Returns (c, observed loss fraction, number of cases).
    Generation 0 (the truth) is skipped: its p need not be a count over n."""
    n = check_int("n", n, minimum=1)
    max_count = check_int("max_count", max_count, minimum=1)
    frequencies = np.asarray(frequencies, float)
    if frequencies.ndim != 3:
        raise ValueError(f"frequencies must have shape (generations + 1, runs, K), got {frequencies.shape}")
    counts = np.minimum(np.rint(frequencies[1:-1] * n), max_count + 1).astype(np.int64).ravel()
    lost = (frequencies[2:] == 0).ravel()
    c = np.arange(1, max_count + 1)
    cases = np.bincount(counts, minlength=max_count + 2)[1 : max_count + 1]
    losses = np.bincount(counts[lost], minlength=max_count + 2)[1 : max_count + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(cases > 0, losses / np.maximum(cases, 1), np.nan)
    return c, fraction, cases
