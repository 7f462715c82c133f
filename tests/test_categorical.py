"""Categorical family (Wright-Fisher resampling): simulation against the closed forms of theory.py.

Monte Carlo checks allow 5 standard errors; seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse_edu import theory
from collapse_edu.categorical import (
    Categorical,
    check_probabilities,
    fixation_times,
    loss_table,
    multivariate_hypergeometric,
    simulate_categorical,
    starting_distribution,
    uniform_distribution,
    zipf_distribution,
)
from collapse_edu.loop import DataPool, ModelSource, run_generations

Z = 5.0  # standard errors allowed


def assert_mc(simulated, se, expected, what):
    simulated, se, expected = (np.atleast_1d(np.asarray(v, float)) for v in (simulated, se, expected))
    z = np.abs(simulated - expected) / np.maximum(se, 1e-12)
    assert np.all(z < Z), f"{what}: worst z = {z.max():.2f} ({simulated[np.argmax(z)]} vs {expected[np.argmax(z)]})"


# --------------------------------------------------------------------------- the family


def test_starting_distributions():
    assert np.allclose(uniform_distribution(4), 0.25)
    p = zipf_distribution(5, 1.0)
    assert np.isclose(p.sum(), 1.0)
    assert np.allclose(p[0] / p, np.arange(1, 6))
    assert np.allclose(starting_distribution(3, "uniform"), 1 / 3)
    assert np.allclose(zipf_distribution(3, 0.0), 1 / 3)


def test_fit_sample_pool():
    family = Categorical()
    rng = np.random.default_rng(0)
    p = family.broadcast(zipf_distribution(20), 7)
    counts = family.sample(p, 50, rng)
    assert counts.shape == (7, 20) and np.all(counts.sum(axis=1) == 50)
    fitted = family.fit(counts)
    assert np.allclose(fitted.sum(axis=1), 1.0) and np.allclose(fitted * 50, counts)
    pooled = family.pool([counts, counts])
    assert np.array_equal(pooled, 2 * counts)
    described = family.describe(fitted)
    assert np.array_equal(described["surviving"], np.count_nonzero(counts, axis=1))
    assert np.allclose(described["heterozygosity"], 1 - np.sum(fitted**2, axis=1))


def test_describe_reports_entropy_in_bits_and_the_leading_category() -> None:
    """describe's entropy is in bits: 2 for four equal categories, 1.5 for (1/2, 1/4, 1/4, 0), 0 for one
    category left; leader and top are the most frequent category and its share."""
    model = np.array([[0.25, 0.25, 0.25, 0.25], [0.25, 0.5, 0.25, 0.0], [0.0, 0.0, 1.0, 0.0]])
    described = Categorical().describe(model)
    np.testing.assert_allclose(described["entropy"], [2.0, 1.5, 0.0], atol=1e-12)
    assert described["leader"][1:].tolist() == [1, 2] and described["top"].tolist() == [0.25, 0.5, 1.0]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 30), min_size=3, max_size=3), min_size=1, max_size=5),
    st.integers(0, 2**32 - 1),
    st.floats(0, 1),
)
def test_hypergeometric_properties(table, seed, share):
    counts = np.array(table)
    size = int(share * counts.sum(axis=1).min())
    draw = multivariate_hypergeometric(counts, size, np.random.default_rng(seed))
    assert draw.shape == counts.shape
    assert np.all(draw >= 0) and np.all(draw <= counts)
    assert np.all(draw.sum(axis=1) == size)


def test_hypergeometric_moments():
    """Mean s c/N and variance s (c/N)(1 - c/N)(N - s)/(N - 1) per category."""
    counts = np.array([30, 5, 1, 0, 64])
    total, size, runs = counts.sum(), 40, 20000
    draw = multivariate_hypergeometric(np.tile(counts, (runs, 1)), size, np.random.default_rng(1))
    q = counts / total
    var = size * q * (1 - q) * (total - size) / (total - 1)
    assert_mc(draw.mean(axis=0), np.sqrt(var / runs) + 1e-9, size * q, "hypergeometric mean")
    assert np.all(draw[:, 3] == 0)
    with pytest.raises(ValueError, match="size"):
        multivariate_hypergeometric(counts[None], 101, np.random.default_rng(0))


def test_every_policy_runs():
    """replace never regains a category; accumulate keeps every one it saw; the other two can regain
    categories (fresh real draws, or real items still in the subsampled pool)."""
    p0 = zipf_distribution(30, 1.2)
    for policy, r in [("replace", None), ("accumulate", None), ("accumulate-subsample", None), ("fresh-real", 0.3)]:
        history = simulate_categorical(p0, n=40, generations=6, runs=9, policy=policy, real_fraction=r, seed=1)
        surviving = history["surviving"]
        assert surviving.shape == (7, 9)
        assert np.all(surviving <= 30)
        if policy == "replace":
            assert np.all(np.diff(surviving, axis=0) <= 0)
        if policy == "accumulate":
            assert np.all(surviving[1:] == surviving[1])


def test_real_dataset_source():
    """A fixed real dataset of counts works as a DataPool (draws are without replacement)."""
    real = np.array([50, 30, 15, 4, 1])
    history = run_generations(Categorical(), DataPool(real), n=20, generations=3, runs=5, seed=0)
    assert history["surviving"][0, 0] == 5
    assert np.all(history["surviving"][1:] <= 5)
    drawn = {}

    def measure(model, data, t):
        drawn[t] = np.array(data, copy=True)
        return {}

    # 90 of the 100 items: with replacement most runs would draw some category more often than it exists
    run_generations(Categorical(), DataPool(real), n=90, generations=1, runs=50, seed=0, measure=measure)
    assert np.all(drawn[1].sum(axis=1) == 90) and np.all(drawn[1] <= real)


# --------------------------------------------------------------------------- loss of rare categories


def test_loss_probability_one_step():
    """A category with count c among n is absent from n new draws with probability (1 - c/n)^n."""
    n, runs = 50, 20000
    c = np.array([1, 2, 3, 5, 8])
    p0 = np.append(c, n - c.sum()) / n
    history = simulate_categorical(p0, n=n, generations=1, runs=runs, keep_frequencies=True, seed=3)
    lost = (history["p"][1, :, :-1] == 0).mean(axis=0)
    expected = theory.loss_probability(c, n)
    assert_mc(lost, np.sqrt(expected * (1 - expected) / runs), expected, "loss probability")
    assert np.allclose(theory.loss_probability_poisson(c), np.exp(-c))
    assert np.all(theory.loss_probability(c, 10_000) - np.exp(-c) < 1e-3)


def test_loss_table_against_theory():
    n = 200
    history = simulate_categorical(
        zipf_distribution(100, 1.1), n=n, generations=12, runs=200, keep_frequencies=True, seed=4
    )
    c, observed, cases = loss_table(history["p"], n, max_count=6)
    expected = theory.loss_probability(c, n)
    assert np.all(cases > 500)
    assert_mc(observed, np.sqrt(expected * (1 - expected) / cases), expected, "loss table")


# --------------------------------------------------------------------------- surviving categories


@pytest.mark.parametrize(("policy", "r"), [("replace", 0.0), ("fresh-real", 0.1), ("accumulate", 0.0)])
def test_expected_surviving_against_simulation(policy, r):
    p0, n, generations, runs = zipf_distribution(120, 1.1), 300, 30, 400
    history = simulate_categorical(
        p0, n=n, generations=generations, runs=runs, policy=policy, real_fraction=r or None, seed=5
    )
    expected = theory.expected_surviving(p0, n, generations, policy, r)
    simulated = history["surviving"].astype(float)
    se = simulated.std(axis=1) / np.sqrt(runs) + 1e-3
    assert_mc(simulated.mean(axis=1), se, expected, f"surviving categories ({policy})")
    assert np.isclose(expected[1], theory.expected_surviving_one_step(p0, n))


def _dense_chain_surviving(p0, n, n_real, generations):
    """Reference: the full (n + 1) x (n + 1) transition matrix of each category, iterated."""
    from scipy.stats import binom

    k = np.arange(n + 1)
    total = np.zeros(generations + 1)
    for p in p0:
        synth = binom.pmf(k[None, : n - n_real + 1], n - n_real, k[:, None] / n)
        real = binom.pmf(k[: n_real + 1], n_real, p)
        move = np.zeros((n + 1, n + 1))
        for j in range(n_real + 1):
            move[:, j : j + n - n_real + 1] += real[j] * synth
        v = binom.pmf(k, n, p)
        total[0] += 1
        for t in range(1, generations + 1):
            total[t] += 1 - v[0]
            v = v @ move
    return total


@pytest.mark.parametrize("r", [0.0, 0.25, 0.5])
def test_expected_surviving_is_exact(r):
    p0 = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    n = 24
    expected = _dense_chain_surviving(p0, n, int(round(r * n)), 15)
    policy = "fresh-real" if r else "replace"
    assert np.allclose(theory.expected_surviving(p0, n, 15, policy, r), expected, atol=1e-10)


# --------------------------------------------------------------------------- heterozygosity and variance


@pytest.mark.parametrize(("policy", "r"), [("replace", 0.0), ("fresh-real", 0.2), ("accumulate", 0.0)])
def test_heterozygosity(policy, r):
    p0, n, runs = zipf_distribution(20, 1.0), 60, 2000
    history = simulate_categorical(p0, n=n, generations=40, runs=runs, policy=policy, real_fraction=r or None, seed=6)
    h = history["heterozygosity"]
    expected = theory.expected_heterozygosity(history.generations, n, theory.heterozygosity_of(p0), policy, r)
    assert_mc(h.mean(axis=1), h.std(axis=1) / np.sqrt(runs) + 1e-9, expected, f"heterozygosity ({policy})")
    if policy == "replace":
        assert np.allclose(expected, theory.heterozygosity_of(p0) * (1 - 1 / n) ** history.generations)


def test_accumulate_heterozygosity_floor():
    n = 50
    h = theory.expected_heterozygosity(10_000, n, 1.0, "accumulate")
    x = np.pi / np.sqrt(n)
    assert np.isclose(h, np.sin(x) / x, rtol=1e-3)


@pytest.mark.parametrize(("n", "r"), [(100, 0.2), (1000, 0.02)])
def test_fresh_real_frequency_variance(n, r):
    """Var[p_t] -> p0 (1 - p0) / (n (1 - (1 - r)^2) + (1 - r)), checked at the transient and late."""
    p0, runs, generations = 0.3, 3000, 150
    history = simulate_categorical(
        np.array([p0, 1 - p0]),
        n=n,
        generations=generations,
        runs=runs,
        policy="fresh-real",
        real_fraction=r,
        keep_frequencies=True,
        seed=7,
    )
    x = history["p"][:, :, 0]
    t = np.array([1, 5, 20, generations])
    centred = x[t] - p0
    var = np.mean(centred**2, axis=1)
    se = np.sqrt((np.mean(centred**4, axis=1) - var**2) / runs)
    assert_mc(var, se, theory.frequency_variance(t, p0, n, r), "frequency variance")
    assert np.isclose(theory.frequency_variance(10**6, p0, n, r), theory.stationary_frequency_variance(p0, n, r))


def test_number_of_real_samples_sets_the_spread():
    """Equal n_r, different n: nearly the same stationary variance, about p0 (1 - p0) / (2 n_r)."""
    small = theory.stationary_frequency_variance(0.3, 100, 0.2)
    large = theory.stationary_frequency_variance(0.3, 1000, 0.02)
    assert abs(small / large - 1) < 0.12
    assert abs(large / (0.21 / 40) - 1) < 0.03
    assert theory.stationary_frequency_variance(0.3, 1000, 0.2) < small / 9
    # r = 1: every generation is a fresh real sample of n
    assert np.isclose(theory.stationary_frequency_variance(0.3, 100, 1.0), 0.21 / 100)


# --------------------------------------------------------------------------- fixation


def test_fixation_probability_is_the_starting_frequency():
    p0, runs = np.array([0.5, 0.3, 0.2]), 3000
    history = simulate_categorical(p0, n=20, generations=600, runs=runs, seed=8)
    assert np.all(history["surviving"][-1] == 1)
    share = np.bincount(history["leader"][-1], minlength=3) / runs
    assert_mc(share, np.sqrt(p0 * (1 - p0) / runs), theory.fixation_probability(p0), "fixation probability")


def test_fixation_time_and_more_categories_take_longer():
    """2n (K - 1) ln(K / (K - 1)) (diffusion; a few percent high at small n): K = 6, n = 100 gives 182."""
    n, runs = 100, 600
    means = {}
    for k in (2, 6):
        history = simulate_categorical(uniform_distribution(k), n=n, generations=1600, runs=runs, seed=9)
        times = fixation_times(history)
        assert np.all(times > 0)
        formula = float(theory.fixation_time_uniform(k, n))
        se = times.std() / np.sqrt(runs)
        assert abs(times.mean() - formula) < Z * se + 0.04 * formula, (k, times.mean(), formula)
        means[k] = times.mean()
    assert means[6] > means[2] + 5 * se
    assert np.isclose(float(theory.fixation_time_uniform(6, 100)), 182.3, atol=0.1)
    assert np.all(np.diff(theory.fixation_time_uniform(np.arange(1, 50), n)) > 0)
    assert theory.fixation_time_uniform(10**6, n) < 2 * n
    p = 0.3
    assert np.isclose(theory.expected_fixation_time([p, 1 - p], n), -2 * n * (p * np.log(p) + (1 - p) * np.log(1 - p)))


# --------------------------------------------------------------------------- argument checks


def test_argument_validation():
    with pytest.raises(ValueError, match="categories"):
        uniform_distribution(0)
    with pytest.raises(TypeError, match="categories"):
        zipf_distribution(2.5)
    with pytest.raises(ValueError, match="zipf_exponent"):
        zipf_distribution(10, -1.0)
    with pytest.raises(ValueError, match="distribution"):
        starting_distribution(10, "pareto")
    with pytest.raises(ValueError, match="p0"):
        check_probabilities("p0", [0.5, 0.6])
    with pytest.raises(ValueError, match="p0"):
        simulate_categorical([0.5, -0.1, 0.6])
    with pytest.raises(ValueError, match="^n must be >= 1"):
        simulate_categorical(n=0)
    with pytest.raises(ValueError, match="policy"):
        simulate_categorical(policy="mix")
    with pytest.raises(ValueError, match="real_fraction"):
        simulate_categorical(policy="fresh-real", real_fraction=1.5)
    with pytest.raises(ValueError, match="policy"):
        theory.expected_surviving([0.5, 0.5], 10, 3, "accumulate-subsample")
    with pytest.raises(ValueError, match="real_fraction"):
        theory.expected_heterozygosity(3, 10, 1.0, "replace", 0.2)
    with pytest.raises(ValueError, match="real_fraction"):
        theory.stationary_frequency_variance(0.3, 100, 0.0)
    with pytest.raises(ValueError, match="^n must be <= "):
        theory.expected_surviving([1.0], theory.MAX_EXACT_N + 1, 2)
    with pytest.raises(ValueError, match=r"^c must lie in \[0, n\]"):
        theory.loss_probability(11, 10)
    with pytest.raises(ValueError, match="max_count"):
        loss_table(np.zeros((3, 2, 2)), 10, max_count=0)


def test_an_explicit_p0_refuses_what_would_be_ignored():
    """Before: simulate_categorical([.5, .5], categories=10, distribution="bogus") ran, ignoring both."""
    quick = dict(n=10, generations=1, runs=2)
    with pytest.raises(ValueError, match="^distribution must be one of 'uniform', 'zipf'; got 'bogus'"):
        simulate_categorical([0.5, 0.5], categories=10, distribution="bogus", **quick)
    with pytest.raises(ValueError, match="^distribution is only used without p0"):
        simulate_categorical([0.5, 0.5], distribution="zipf", **quick)
    with pytest.raises(ValueError, match="^zipf_exponent is only used without p0"):
        simulate_categorical([0.5, 0.5], zipf_exponent=2.0, **quick)
    with pytest.raises(ValueError, match=r"^categories must be len\(p0\) = 2 when p0 is given"):
        simulate_categorical([0.5, 0.5], categories=10, **quick)
    with pytest.raises(ValueError, match="^zipf_exponent is only used with distribution='zipf'"):
        simulate_categorical(distribution="uniform", zipf_exponent=2.0, **quick)
    assert simulate_categorical([0.5, 0.5], categories=2, **quick)["surviving"].shape == (2, 2)
    uniform = simulate_categorical(categories=4, distribution="uniform", **quick)
    assert uniform["surviving"][0].tolist() == [4, 4]
    assert simulate_categorical(**quick)["surviving"][0].tolist() == [100, 100]  # the defaults: 100, zipf


def test_source_model_is_the_truth():
    p0 = zipf_distribution(8)
    history = run_generations(Categorical(), ModelSource(p0), n=10, generations=0, runs=3)
    assert np.all(history["surviving"][0] == 8)


def test_drift_picture_draws_a_recorded_replace_run():
    """The lesson's first figure draws a history it is given; the dashed line sits where one category is left."""
    from collapse_edu.figures.categorical import drift_picture

    history = run_generations(
        Categorical(keep_frequencies=True), ModelSource(uniform_distribution(3)), n=10, generations=200, runs=5, seed=2
    )
    fixed = fixation_times(history)[1]
    assert fixed > 0
    fig = drift_picture(history, run=1)
    left = fig.axes[0]
    assert [line.get_xdata()[0] for line in left.get_lines() if line.get_linestyle() == "--"] == [fixed]
    with pytest.raises(ValueError, match="run"):
        drift_picture(history, run=5)
    with pytest.raises(ValueError, match="keep_frequencies"):
        drift_picture(run_generations(Categorical(), ModelSource(uniform_distribution(3)), n=10, generations=3))
    mixed = run_generations(
        Categorical(keep_frequencies=True),
        ModelSource(uniform_distribution(3)),
        n=10,
        generations=3,
        policy="fresh-real",
        real_fraction=0.5,
    )
    with pytest.raises(ValueError, match="policy"):
        drift_picture(mixed)


# --------------------------------------------------------------------------- command line


def test_cli_simulate_categorical(capsys):
    import json

    from collapse_edu.cli import main

    argv = ["simulate", "categorical", "--categories", "12", "--n", "40", "--generations", "4", "--runs", "50"]
    assert main([*argv, "--policy", "fresh-real", "--real-fraction", "0.25", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["generations"]
    assert len(rows) == 5 and report["parameters"]["real_fraction"] == 0.25
    expected = theory.expected_surviving(zipf_distribution(12), 40, 4, "fresh-real", 0.25)
    assert np.allclose([row["surviving_theory"] for row in rows], expected)
    assert main([*argv, "--policy", "accumulate-subsample", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["generations"][2]["surviving_theory"] is None
    assert main([*argv, "--distribution", "uniform"]) == 0
    assert "surviving_mean" in capsys.readouterr().out
    with pytest.raises(SystemExit) as error:
        main([*argv, "--real-fraction", "0.5"])
    assert error.value.code == 2
    assert "--real-fraction" in capsys.readouterr().err


def test_n_has_an_upper_bound():
    """Before: n = 3e8 with accumulate-subsample failed part way with numpy's "both ngood and nbad must be less
    than 1000000000", and n = 1e20 with an OverflowError."""
    from collapse_edu.categorical import simulate_categorical

    for n in (10**9 + 1, 10**20):
        with pytest.raises(ValueError, match=rf"^n must be <= 1000000000, got {n}"):
            simulate_categorical(n=n, generations=1)
