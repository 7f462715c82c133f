"""The generation loop: what each policy trains on, the history, seeding and argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse_edu.gaussian import Gaussian, GaussianFast, GaussianModel, simulate_gaussian
from collapse_edu.loop import POLICIES, ArrayFamily, DataPool, History, ModelSource, Policy, run_generations


class TagFamily(ArrayFamily):
    """A family whose samples say where they come from.

    The k-th fitted model (k = 1, 2, ...) emits the value k; the real world (model 0) emits 0.
    So a training set shows how many real items and how many items of each generation it holds.
    """

    def __init__(self) -> None:
        self.fits = 0

    def fit(self, data: np.ndarray) -> np.ndarray:
        self.fits += 1
        return np.full(data.shape[0], self.fits)

    def sample(self, model: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        return np.repeat(np.asarray(model, float)[:, None], size, axis=1)

    def broadcast(self, model, runs: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(model), (runs,)).copy()

    def describe(self, model: np.ndarray) -> dict[str, np.ndarray]:
        return {"tag": np.asarray(model, float)}


def train_sets(policy: str, n: int, generations: int, runs: int, real_fraction: float | None = None):
    """Run TagFamily and return, per generation t >= 1, the training set of model t."""
    seen: dict[int, np.ndarray] = {}

    def measure(model, data, t):
        if data is not None:
            seen[t] = np.array(data, copy=True)
        return {}

    history = run_generations(
        TagFamily(),
        ModelSource(np.array(0)),
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        measure=measure,
    )
    return history, seen


# --------------------------------------------------------------------------- policies


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), generations=st.integers(0, 6), runs=st.integers(1, 4))
def test_replace_trains_on_the_last_generation_only(n, generations, runs):
    history, seen = train_sets("replace", n, generations, runs)
    assert sorted(seen) == list(range(1, generations + 1))
    for t, data in seen.items():
        assert data.shape == (runs, n)
        # model 1 sees the real data (tag 0); model t sees only the samples of model t - 1
        assert np.all(data == t - 1)
    assert history["tag"].shape == (generations + 1, runs)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), generations=st.integers(0, 6), runs=st.integers(1, 4))
def test_accumulate_grows_by_n_and_keeps_everything(n, generations, runs):
    _, seen = train_sets("accumulate", n, generations, runs)
    for t, data in seen.items():
        assert data.shape == (runs, t * n)
        for source in range(t):  # the real data and each earlier model contribute n items
            assert np.all(np.sum(data == source, axis=1) == n)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), generations=st.integers(0, 6), runs=st.integers(1, 4))
def test_accumulate_subsample_draws_n_from_the_pool(n, generations, runs):
    _, seen = train_sets("accumulate-subsample", n, generations, runs)
    for t, data in seen.items():
        assert data.shape == (runs, n)
        assert np.all((data >= 0) & (data <= t - 1))
        # drawn without replacement from a pool holding n items of each source
        for source in range(t):
            assert np.all(np.sum(data == source, axis=1) <= n)
    # from the whole pool, not the newest batch alone: with 300 draws every source (the real data
    # and each earlier model) shows up in every run (one is missed with probability < (5/6)^300)
    _, large = train_sets("accumulate-subsample", 300, generations, runs)
    for t, data in large.items():
        for source in range(t):
            assert np.all(np.any(data == source, axis=1)), f"model {t} saw nothing of source {source}"


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    generations=st.integers(0, 6),
    runs=st.integers(1, 4),
    r=st.floats(0.0, 1.0, allow_nan=False),
)
def test_fresh_real_mixes_round_r_n_real_items(n, generations, runs, r):
    _, seen = train_sets("fresh-real", n, generations, runs, real_fraction=r)
    n_real = int(round(r * n))
    for t, data in seen.items():
        assert data.shape == (runs, n)
        if t == 1:
            assert np.all(data == 0)  # the first model sees only real data
        else:
            assert np.all(np.sum(data == 0, axis=1) == n_real)
            assert np.all(np.sum(data == t - 1, axis=1) == n - n_real)


def test_fresh_real_with_r_zero_is_replace_and_r_one_is_all_real():
    a = simulate_gaussian(n=20, generations=15, runs=50, policy="fresh-real", real_fraction=0.0, seed=3)
    b = simulate_gaussian(n=20, generations=15, runs=50, policy="replace", seed=3)
    np.testing.assert_array_equal(a["sigma"], b["sigma"])
    _, seen = train_sets("fresh-real", 5, 4, 2, real_fraction=1.0)
    assert all(np.all(d == 0) for d in seen.values())


def test_policies_behave_as_the_literature_says():
    """Replacing collapses sigma; accumulating keeps it near 1 (Gerstgrasser et al., arXiv:2404.01413)."""
    kwargs = dict(n=50, generations=100, runs=2000, seed=1)
    replace = simulate_gaussian(policy="replace", **kwargs).median("sigma")[-1]
    accumulate = simulate_gaussian(policy="accumulate", **kwargs).median("sigma")[-1]
    fresh = simulate_gaussian(policy="fresh-real", real_fraction=0.5, **kwargs).median("sigma")[-1]
    assert replace < 0.25  # exp(-100/50) = 0.14
    assert accumulate > 0.85
    assert fresh > 0.9


# --------------------------------------------------------------------------- history, seeds, generation 0


@settings(max_examples=25, deadline=None)
@given(generations=st.integers(0, 8), runs=st.integers(1, 6), policy=st.sampled_from(POLICIES[:3]))
def test_history_shapes(generations, runs, policy):
    history = run_generations(
        Gaussian(),
        ModelSource(GaussianModel(np.array([0.0]), np.array([1.0]))),
        n=5,
        generations=generations,
        runs=runs,
        policy=policy,
        keep_models=True,
    )
    assert isinstance(history, History)
    assert set(history.metrics) == {"mu", "sigma"}
    for values in history.metrics.values():
        assert values.shape == (generations + 1, runs)
    np.testing.assert_array_equal(history.generations, np.arange(generations + 1))
    assert history.median("sigma").shape == history.mean("mu").shape == (generations + 1,)
    assert history.quantile("sigma", [0.1, 0.9]).shape == (2, generations + 1)
    assert len(history.models) == generations + 1
    assert history.n == 5 and history.policy == Policy(policy)


def test_history_names_unknown_metrics():
    history = simulate_gaussian(n=5, generations=2, runs=3)
    with pytest.raises(KeyError, match="no metric 'variance'; recorded: mu, sigma"):
        history["variance"]


def test_history_summaries_are_taken_over_runs_generation_by_generation() -> None:
    """median, mean and quantile summarise the runs of each generation (axis 1): with the runs of
    generation 1 at 1, 2 and 12 (and 0, 0, 0 at generation 0) the median is 2, the mean 5, the 25% and
    75% quantiles (linear interpolation) 1.5 and 7, not the same numbers read along generations."""
    sigma = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 12.0]])
    history = History(policy=Policy(), n=3, metrics={"sigma": sigma})
    np.testing.assert_allclose(history.median("sigma"), [0.0, 2.0])
    np.testing.assert_allclose(history.mean("sigma"), [0.0, 5.0])
    np.testing.assert_allclose(history.quantile("sigma", [0.25, 0.75]), [[0.0, 1.5], [0.0, 7.0]])


@pytest.mark.parametrize("policy", POLICIES)
def test_a_shorter_run_is_the_head_of_a_longer_one(policy):
    kwargs = dict(n=20, runs=4, policy=policy, real_fraction=0.3 if policy == "fresh-real" else None, seed=7)
    short = simulate_gaussian(generations=5, **kwargs)
    head = simulate_gaussian(generations=30, **kwargs).head(5)
    for name in short.metrics:
        np.testing.assert_array_equal(short[name], head[name])
    assert head.policy == short.policy and head.n == short.n


def test_head_names_the_allowed_generations():
    history = simulate_gaussian(n=5, generations=4, runs=2)
    with pytest.raises(ValueError, match="generations"):
        history.head(5)
    assert history.head(0)["sigma"].shape == (1, 2)


def test_measure_adds_columns_and_sees_the_training_data():
    def measure(model, data, t):
        size = 0 if data is None else data.shape[1]
        return {"size": np.full(model.mu.shape, size), "t": np.full(model.mu.shape, t)}

    history = run_generations(
        Gaussian(),
        ModelSource(GaussianModel(np.array([0.0]), np.array([1.0]))),
        n=4,
        generations=3,
        runs=2,
        policy="accumulate",
        measure=measure,
    )
    np.testing.assert_array_equal(history["size"][:, 0], [0, 4, 8, 12])
    np.testing.assert_array_equal(history["t"][:, 1], [0, 1, 2, 3])


@pytest.mark.parametrize("fast", [False, True])
def test_generation_zero_is_the_truth(fast):
    history = simulate_gaussian(n=10, generations=3, runs=7, mu0=2.5, sigma0=3.0, fast=fast, seed=0)
    np.testing.assert_array_equal(history["mu"][0], np.full(7, 2.5))
    np.testing.assert_array_equal(history["sigma"][0], np.full(7, 3.0))
    assert not np.allclose(history["sigma"][1], 3.0)


@pytest.mark.parametrize(
    ("policy", "fast"),
    # the fast path cannot subsample (its error is tested in test_gaussian)
    [(p, fast) for p in POLICIES for fast in (False, True) if not (fast and p == "accumulate-subsample")],
)
def test_seeding_is_reproducible(policy, fast):
    kwargs = dict(n=8, generations=6, runs=5, policy=policy, fast=fast)
    if policy == "fresh-real":
        kwargs["real_fraction"] = 0.25
    a = simulate_gaussian(seed=11, **kwargs)
    b = simulate_gaussian(seed=11, **kwargs)
    c = simulate_gaussian(seed=12, **kwargs)
    d = simulate_gaussian(seed=np.random.default_rng(11), **kwargs)
    np.testing.assert_array_equal(a["sigma"], b["sigma"])
    np.testing.assert_array_equal(a["mu"], b["mu"])
    np.testing.assert_array_equal(a["sigma"], d["sigma"])
    assert not np.array_equal(a["sigma"], c["sigma"])


def test_runs_are_independent():
    history = simulate_gaussian(n=10, generations=1, runs=1000, seed=0)
    assert len(np.unique(history["sigma"][1])) == 1000


def test_progress_bar_runs(capsys):
    history = simulate_gaussian(n=5, generations=3, runs=2, progress="my label")
    assert history["sigma"].shape == (4, 2)
    err = capsys.readouterr().err
    assert "my label:" in err and "0/3" in err  # a tqdm bar over the 3 generations, on stderr
    simulate_gaussian(n=5, generations=3, runs=2, progress=False)
    assert capsys.readouterr() == ("", "")  # no bar when progress is off


# --------------------------------------------------------------------------- policy object


def test_policy_object():
    assert str(Policy()) == "replace"
    assert str(Policy("fresh-real", 0.25)) == "fresh-real (r = 0.25)"
    assert Policy.coerce("accumulate") == Policy("accumulate")
    policy = Policy("fresh-real", 0.5)
    assert Policy.coerce(policy) is policy
    assert Policy.coerce("fresh-real", 0.3).real_fraction == 0.3


# --------------------------------------------------------------------------- ArrayFamily and DataPool


@settings(max_examples=40, deadline=None)
@given(runs=st.integers(1, 5), total=st.integers(1, 30), data=st.data())
def test_array_subsample_is_without_replacement(runs, total, data):
    size = data.draw(st.integers(0, total))
    pool = np.tile(np.arange(total, dtype=float), (runs, 1)) + 100 * np.arange(runs)[:, None]
    picked = ArrayFamily().subsample(pool, size, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    assert picked.shape == (runs, size)
    for r in range(runs):
        assert len(set(picked[r])) == size  # no item twice
        assert set(picked[r]) <= set(pool[r])  # only this run's items


def test_array_subsample_keeps_trailing_axes_together():
    pool = np.arange(2 * 6 * 3, dtype=float).reshape(2, 6, 3)
    picked = ArrayFamily().subsample(pool, 4, np.random.default_rng(0))
    assert picked.shape == (2, 4, 3)
    rows = {tuple(row) for row in pool.reshape(-1, 3)}
    assert all(tuple(row) in rows for row in picked.reshape(-1, 3))


def test_array_subsample_too_many():
    with pytest.raises(ValueError, match="size n must be <= 3"):
        ArrayFamily().subsample(np.zeros((2, 3)), 4, np.random.default_rng(0))


def test_array_pool_concatenates_per_run():
    a, b = np.zeros((2, 3)), np.ones((2, 4))
    pooled = ArrayFamily().pool([a, b])
    assert pooled.shape == (2, 7)
    np.testing.assert_array_equal(pooled[:, 3:], 1)


def test_datapool_draws_real_items_without_replacement():
    real = np.arange(50, dtype=float)
    family = Gaussian()
    drawn = DataPool(real).draw(family, 20, 6, np.random.default_rng(0))
    assert drawn.shape == (6, 20)
    for row in drawn:
        assert len(set(row)) == 20 and set(row) <= set(real)
    assert not np.array_equal(drawn[0], drawn[1])  # each run draws its own subset


def test_datapool_generation_zero_is_the_fit_to_all_real_data():
    real = np.random.default_rng(5).normal(3.0, 2.0, size=200)
    history = run_generations(Gaussian(), DataPool(real), n=50, generations=4, runs=9, seed=0)
    np.testing.assert_allclose(history["mu"][0], np.full(9, real.mean()))
    np.testing.assert_allclose(history["sigma"][0], np.full(9, real.std()))
    assert history["sigma"].shape == (5, 9)


def test_datapool_fresh_real_and_too_large_n():
    real = np.linspace(-1, 1, 40)
    history = run_generations(
        Gaussian(), DataPool(real), n=20, generations=5, runs=3, policy="fresh-real", real_fraction=0.5
    )
    assert history["mu"].shape == (6, 3)
    with pytest.raises(ValueError, match="size n must be <= 40"):
        run_generations(Gaussian(), DataPool(real), n=41, generations=1)


@pytest.mark.parametrize("bad", [np.array([]), np.zeros((0, 2)), np.float64(1.0)])
def test_datapool_rejects_empty_data(bad):
    with pytest.raises(ValueError, match="data must hold at least one real sample"):
        DataPool(bad)


def test_datapool_with_the_fast_family_explains_itself():
    with pytest.raises(ValueError, match="needs the individual samples"):
        run_generations(GaussianFast(), DataPool(np.arange(10.0)), n=5, generations=1)


# --------------------------------------------------------------------------- bad arguments

SOURCE = ModelSource(GaussianModel(np.array([0.0]), np.array([1.0])))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n=0), ValueError, "n must be >= 1"),
        (dict(n=2.5), TypeError, "n must be an integer"),
        (dict(n=True), TypeError, "n must be an integer"),
        (dict(generations=-1), ValueError, "generations must be >= 0"),
        (dict(generations="10"), TypeError, "generations must be an integer"),
        (dict(runs=0), ValueError, "runs must be >= 1"),
        (dict(policy="recycle"), ValueError, "policy must be one of 'replace', 'accumulate'"),
        (dict(policy=3), TypeError, "policy must be one of"),
        (dict(policy="fresh-real", real_fraction=1.5), ValueError, "real_fraction must be <= 1"),
        (dict(policy="fresh-real", real_fraction=-0.1), ValueError, "real_fraction must be >= 0"),
        (dict(policy="fresh-real", real_fraction=float("nan")), ValueError, "real_fraction must be finite"),
        (dict(policy="replace", real_fraction=0.5), ValueError, "real_fraction is only used with policy='fresh-real'"),
        (dict(seed=-1), ValueError, "seed must be >= 0"),
        (dict(seed=1.5), TypeError, "seed must be an integer"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    arguments = dict(n=5, generations=2, runs=2) | kwargs
    with pytest.raises(error, match=match):
        run_generations(Gaussian(), SOURCE, **arguments)


def test_the_memory_check_counts_what_curating_candidates_costs_besides_the_samples(monkeypatch):
    """Before: 3e9 one-number candidates (keep = 1e-9 of n = 3) were estimated at 24 GB, passed on a 24 GB
    machine and the process was killed; 3e8 were estimated at 2.4 GB and peaked at 10.6 GB. Each candidate
    also costs its score, its rank and the sort's work space."""
    from collapse_edu import loop, validation
    from collapse_edu.loop import Curation

    monkeypatch.setattr(validation, "available_memory", lambda: 8e9)
    loop.check_loop_memory(Gaussian(), 3, 2, 1, Policy(), Curation("self", keep=1e-7))  # 3e7 candidates: 1.1 GB
    with pytest.raises(ValueError, match=r"1 x 300000000 candidates to curate\) needs about 11.2 GB .* larger keep"):
        loop.check_loop_memory(Gaussian(), 3, 2, 1, Policy(), Curation("self", keep=1e-8))


def test_a_large_subsample_is_drawn_without_replacement_in_linear_time():
    """Before: Floyd's algorithm, O(size^2), drew every subsample; a million items (simulate gaussian --policy
    accumulate-subsample --n 1000000) ran for minutes. Beyond FLOYD_MAX_SIZE one uniform key per item decides."""
    from collapse_edu.loop import FLOYD_MAX_SIZE

    total, size = 40_000, 10_000
    assert size > FLOYD_MAX_SIZE
    data = np.broadcast_to(np.arange(total, dtype=float), (3, total)).copy()
    draws = np.concatenate([ArrayFamily().subsample(data, size, np.random.default_rng(s)) for s in range(10)])
    assert all(len(np.unique(row)) == size for row in draws)  # distinct items, every run
    counts = np.bincount(draws.astype(int).ravel(), minlength=total)  # 30 draws of a quarter: 7.5 per item
    assert abs(counts[: total // 2].mean() - 7.5) < 0.1 and abs(counts[total // 2 :].mean() - 7.5) < 0.1
    assert 2.0 < counts.var() < 7.0  # ~ 30 x 0.25 x 0.75 = 5.6: no item favoured


def test_large_subsamples_of_the_whole_pool_or_all_but_one_item() -> None:
    """Beyond FLOYD_MAX_SIZE the draw takes the ``size`` smallest keys: asked for every item it returns the
    whole pool (in order), asked for all but one it leaves out exactly one item, on every run."""
    from collapse_edu.loop import FLOYD_MAX_SIZE

    total = FLOYD_MAX_SIZE + 10
    data = np.tile(np.arange(total, dtype=float), (4, 1))
    np.testing.assert_array_equal(ArrayFamily().subsample(data, total, np.random.default_rng(1)), data)
    picked = ArrayFamily().subsample(data, total - 1, np.random.default_rng(2))
    assert picked.shape == (4, total - 1)
    assert all(len(np.unique(row)) == total - 1 for row in picked)


def test_what_measure_returns_is_checked():
    """Before: a name first returned at t >= 1 got one row fewer than the others (its rows shifted by a
    generation), a name of the family's own ('sigma') silently replaced the family's metric, and None, a str or
    a list gave dict-update errors that named nothing."""
    args = (Gaussian(), ModelSource(GaussianModel(0.0, 1.0)))
    late = lambda model, data, t: {} if data is None else {"rows": np.full(2, 10.0)}  # noqa: E731
    with pytest.raises(
        ValueError, match=r"^measure must return the same names every generation; at generation 1 'rows'"
    ):
        run_generations(*args, n=10, generations=2, runs=2, measure=late)
    with pytest.raises(ValueError, match=r"^measure returned 'sigma', a metric of the family itself"):
        run_generations(*args, n=10, generations=2, runs=2, measure=lambda m, d, t: {"sigma": np.zeros(2)})
    for wrong in (None, "rows", [1, 2]):
        with pytest.raises(
            TypeError, match=rf"^measure must return a dict of name -> value per run, got {type(wrong).__name__}"
        ):
            run_generations(*args, n=10, generations=2, runs=2, measure=lambda m, d, t, w=wrong: w)
    fine = run_generations(*args, n=10, generations=2, runs=2, measure=lambda m, d, t: {"t": np.full(2, t)})
    np.testing.assert_array_equal(fine["t"][:, 0], [0, 1, 2])  # one row per generation, in order


def test_a_real_dataset_with_nan_is_refused():
    """Before: DataPool(data with a nan) ran and returned a history of nan."""
    data = np.random.default_rng(0).normal(size=(50, 2))
    data[3, 1] = np.nan
    data[7, 0] = np.inf
    with pytest.raises(ValueError, match=r"^data must be finite real samples; 2 value\(s\) are nan or infinite"):
        DataPool(data)
