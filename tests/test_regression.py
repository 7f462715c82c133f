"""Lesson 05: regression in the loop, biased sampling, strong collapse, the tail-cut memoriser.

Simulations are compared with theory within ~5 standard errors (fixed seeds)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from collapse_edu import theory
from collapse_edu.cli import main
from collapse_edu.gaussian import simulate_gaussian
from collapse_edu.loop import ArrayFamily
from collapse_edu.regression import random_features_errors, simulate_regression, strong_collapse_errors
from collapse_edu.scaling import simulate_memoriser

D, T = 10, 100  # the setting, label noise variance 1
C = D / (T - D - 1)
CHECK = [1, 2, 5, 10, 20]


def _within(sim: np.ndarray, expected: np.ndarray, z: float = 5.0, rel: float = 0.0, atol: float = 1e-12) -> None:
    """Mean over runs (axis 1) against theory, within z standard errors plus a relative slack."""
    mean = sim.mean(axis=1)
    se = sim.std(axis=1, ddof=1) / np.sqrt(sim.shape[1])
    bad = np.abs(mean - expected) > z * se + rel * np.abs(expected) + atol
    assert not bad.any(), f"simulated {mean[bad]} vs theory {expected[bad]} (se {se[bad]})"


# --------------------------------------------------------------------------- regression in the loop


@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_replace_grows_like_c_t(design):
    error = simulate_regression(D, T, 20, 4000, policy="replace", design=design, seed=11)["error"]
    assert np.all(error[0] == 0)  # generation 0 is the truth
    _within(error[CHECK], theory.regression_error_replace(np.array(CHECK), D, T))
    assert theory.regression_error_replace(20, D, T) == pytest.approx(20 * C)


def test_accumulate_fixed_design_matches_c_sum_inverse_squares():
    error = simulate_regression(D, T, 20, 4000, policy="accumulate", design="fixed", seed=12)["error"]
    expected = C * np.array([np.sum(1 / np.arange(1, t + 1) ** 2) for t in CHECK])
    np.testing.assert_allclose(theory.regression_error_accumulate(np.array(CHECK), D, T), expected)
    _within(error[CHECK], expected)
    assert np.all(error.mean(axis=1) < C * np.pi**2 / 6 * 1.05)


def test_accumulate_fresh_design_matches_its_sum():
    error = simulate_regression(D, T, 20, 4000, policy="accumulate", design="fresh", seed=13)["error"]
    expected = np.array([sum(D / (i * (i * T - D - 1)) for i in range(1, t + 1)) for t in CHECK])
    _within(error[CHECK], theory.regression_error_accumulate(np.array(CHECK), D, T, design="fresh"))
    np.testing.assert_allclose(theory.regression_error_accumulate(np.array(CHECK), D, T, design="fresh"), expected)


def test_direct_path_agrees_with_theory():
    error = simulate_regression(D, T, 4, 1500, policy="accumulate", design="fixed", fast=False, seed=14)["error"]
    _within(error[1:], theory.regression_error_accumulate(np.arange(1, 5), D, T))


def test_fresh_real_stays_bounded_near_its_fixed_point():
    error = simulate_regression(D, T, 30, 3000, policy="fresh-real", real_fraction=0.2, design="fresh", seed=15)
    t = np.array([1, 5, 30])
    # kappa is an approximation (p(1-p)(d+1)/T term): allow 4% on top of the Monte Carlo error
    _within(error["error"][t], theory.regression_error_fresh_real(t, D, T, 0.2), rel=0.04)


def test_accumulate_subsample_lies_between_accumulate_and_replace():
    error = simulate_regression(D, T, 15, 300, policy="accumulate-subsample", seed=16)["error"].mean(axis=1)
    assert error[15] > theory.regression_error_accumulate(15, D, T)
    assert error[15] < theory.regression_error_replace(15, D, T) / 2


def test_ridge_shrinks_towards_zero():
    plain = simulate_regression(D, T, 1, 2000, seed=17)["error"][1].mean()
    heavy = simulate_regression(D, T, 1, 2000, ridge=1e6, seed=17)["error"][1].mean()
    assert heavy == pytest.approx(1.0, abs=1e-3)  # w -> 0, |w*|^2 = 1
    assert plain < 0.2


def test_ridge_with_fewer_samples_than_dim_matches_a_direct_ridge_solution():
    """Before: a fixed design with samples <= dim failed ("Matrix is not positive definite", a Cholesky
    factor of the singular X^T X) although ridge > 0 makes the fit well defined."""
    from collapse_edu.regression import LinearModel, LinearRegressionFast

    dim, rows, runs, ridge, noise = 10, 5, 4, 0.1, 0.7
    rng = np.random.default_rng(3)
    design = rng.standard_normal((runs, rows, dim))
    w = rng.standard_normal((runs, dim))
    family = LinearRegressionFast(dim, noise=noise, ridge=ridge, design=design)
    fitted = family.fit(family.sample(LinearModel(w), rows, np.random.default_rng(4))).w
    # The same noise drawn directly: y = X w + noise z, then ridge as least squares on [X; sqrt(ridge) I].
    y = (design @ w[..., None])[..., 0] + noise * np.random.default_rng(4).standard_normal((runs, rows))
    for run in range(runs):
        stacked = np.vstack([design[run], np.sqrt(ridge) * np.eye(dim)])
        expected = np.linalg.lstsq(stacked, np.concatenate([y[run], np.zeros(dim)]), rcond=None)[0]
        np.testing.assert_allclose(fitted[run], expected, rtol=1e-9, atol=1e-12)
    # With X^T as the root, the rows path and the sufficient-statistics path agree run for run.
    fast = simulate_regression(dim, rows, 3, 5, ridge=ridge, fast=True, seed=2)["error"]
    rows_path = simulate_regression(dim, rows, 3, 5, ridge=ridge, fast=False, seed=2)["error"]
    np.testing.assert_allclose(fast, rows_path, rtol=1e-9)


def test_loop_subsample_is_uniform_and_distinct():
    data = np.broadcast_to(np.arange(8)[None, :, None], (6000, 8, 1))
    picks = ArrayFamily().subsample(data, 3, np.random.default_rng(0))[..., 0]
    assert all(len(set(row)) == 3 for row in picks)
    frequency = np.bincount(picks.ravel(), minlength=8) / picks.size
    np.testing.assert_allclose(frequency, 1 / 8, atol=0.01)


# --------------------------------------------------------------------------- Gaussian workflows


@pytest.mark.parametrize(("scale", "real_fraction"), [(0.9, 0.0), (0.9, 0.2), (1.0, 0.2), (0.7, 0.5), (1.0, 0.0)])
def test_biased_sampling_moments_are_exact(scale, real_fraction):
    n, g = 50, 40
    history = simulate_gaussian(
        n,
        g,
        6000,
        policy="fresh-real" if real_fraction else "replace",
        real_fraction=real_fraction or None,
        scale=scale,
        seed=21,
    )
    t = np.array([1, 2, 10, 40])
    s, m = theory.biased_sampling_moments(t, n, scale, real_fraction)
    _within(history["sigma"][t] ** 2, s)
    _within(history["mu"][t] ** 2, m)
    if real_fraction == 0:
        np.testing.assert_allclose(s, ((n - 1) / n) ** t * scale ** (2 * (t - 1)))


def test_fixed_point_includes_the_between_group_term():
    n, lam, r = 20, 0.8, 0.3
    history = simulate_gaussian(n, 60, 20000, policy="fresh-real", real_fraction=r, scale=lam, seed=22)
    late = (history["sigma"][30:] ** 2).mean(axis=0)  # per-run time average: runs are independent
    fixed = theory.biased_sampling_fixed_point(n, lam, r)
    assert abs(late.mean() - fixed) < 5 * late.std() / np.sqrt(late.size)
    a = (n - 1) / n
    naive = a * r / (1 - a * (1 - r) * lam**2)  # without the between-group term: measurably too low
    assert abs(late.mean() - naive) > 5 * late.std() / np.sqrt(late.size)
    assert theory.biased_sampling_moments(500, n, lam, r)[0] == pytest.approx(fixed, rel=1e-9)


def test_gaussian_accumulate_moments_are_exact():
    history = simulate_gaussian(100, 50, 8000, policy="accumulate", scale=0.8, seed=23)
    t = np.array([1, 5, 50])
    s, m = theory.gaussian_accumulate_moments(t, 100, 0.8)
    _within(history["sigma"][t] ** 2, s)
    _within(history["mu"][t] ** 2, m)


def test_real_data_are_never_narrowed():
    history = simulate_gaussian(200, 1, 8000, scale=0.5, seed=24)
    _within(history["sigma"][1:] ** 2, np.array([199 / 200]))


# --------------------------------------------------------------------------- strong collapse


def test_strong_collapse_floor_at_predicted_height_for_p_01():
    sizes = np.array([10_000, 100_000, 1_000_000])
    errors = strong_collapse_errors(sizes, 0.1, dim=D, shift=1.0, runs=2000, seed=31)
    _within(errors, theory.strong_collapse_error(sizes, D, 0.1))
    floor = theory.strong_collapse_floor(0.1)
    assert floor == pytest.approx(0.01)
    assert errors[-1].mean() == pytest.approx(floor, rel=0.02)  # more data does not go below it
    clean = strong_collapse_errors(sizes, 0.0, dim=D, runs=2000, seed=32)
    assert clean[-1].mean() < floor / 100


@pytest.mark.parametrize("p", [0.01, 0.5])
def test_strong_collapse_formula_at_moderate_n(p):
    sizes = np.array([200, 2000])
    errors = strong_collapse_errors(sizes, p, dim=D, runs=4000, seed=33)
    _within(errors, theory.strong_collapse_error(sizes, D, p), rel=0.02)  # g ~ (d+1)/n is approximate


def test_random_features_synthetic_rows_always_hurt_most_near_interpolation():
    widths = [20, 100, 400]
    clean = random_features_errors(widths, 0.0, n=100, dim=200, runs=12, seed=34)
    mixed = random_features_errors(widths, 0.3, n=100, dim=200, runs=12, seed=34)
    gap = np.median(mixed - clean, axis=1)
    assert np.all(gap > 0)
    assert gap[1] > gap[0] and gap[1] > gap[2]


# --------------------------------------------------------------------------- tail cut


@pytest.mark.parametrize("cutoff", [None, 30])
def test_memoriser_matches_exact_expectation(cutoff):
    sizes = np.array([100, 10_000, 300_000])
    errors = simulate_memoriser(sizes, 2.0, items=20_000, cutoff=cutoff, runs=40, seed=41)
    # atol: when every kept item is seen in every run the spread is 0 and the theory's O(e^-T) remains
    _within(errors, theory.memoriser_error(sizes, 2.0, items=20_000, cutoff=cutoff), atol=1e-5)
    if cutoff is not None:
        tail = theory.zipf_probabilities(20_000, 2.0)[cutoff:].sum()
        assert errors[-1].mean() == pytest.approx(tail, rel=0.01)  # the plateau


@pytest.mark.parametrize("cutoff", [2, None])
def test_memoriser_on_a_cut_law_trains_on_the_renormalised_head_and_tests_on_the_full_law(cutoff: int | None) -> None:
    """A 5-item Zipf law cut at k = 2 (or not cut, k = 5): training draws come from (p_1..p_k) / (p_1 + .. + p_k),
    the test mass is the full law's. The mean error over 20 000 runs matches the exact expectation (every one
    of the k^T training sequences enumerated) within 5 standard errors; a sampler that kept p_1, p_2 unnormalised
    (numpy would hand the missing mass to item 2) or weighted the unseen items by q would be off by
    more than 15 of them (seeds 40 to 49: all within 2.5)."""
    items, beta, runs = 5, 2.0, 20_000
    k = items if cutoff is None else cutoff
    p = np.arange(1, items + 1, dtype=float) ** -beta
    p /= p.sum()
    q = p[:k] / p[:k].sum()
    sizes = np.array([1, 2, 3])
    errors = simulate_memoriser(sizes, beta, items=items, cutoff=cutoff, runs=runs, seed=43)
    expected = np.array(
        [
            sum(
                np.prod(q[list(draws)]) * (1.0 - p[sorted(set(draws))].sum())
                for draws in itertools.product(range(k), repeat=size)
            )
            for size in sizes
        ]
    )
    _within(errors, expected)


def test_memoriser_power_law_slope():
    sizes = np.array([1e4, 1e5])
    exact = theory.memoriser_error(sizes, 2.0, items=1_000_000)
    slope = np.diff(np.log(exact)) / np.diff(np.log(sizes))
    assert slope[0] == pytest.approx(-0.5, abs=0.03)
    np.testing.assert_allclose(exact, theory.memoriser_power_law(sizes, 2.0, items=1_000_000), rtol=0.03)


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    dim=st.integers(1, 30),
    extra=st.integers(2, 200),
    t=st.integers(1, 200),
)
def test_accumulate_below_the_pi_squared_bound_and_replace(dim, extra, t):
    samples = dim + extra
    c = theory.regression_constant(dim, samples)
    acc = theory.regression_error_accumulate(t, dim, samples)
    assert acc < c * np.pi**2 / 6
    assert acc <= theory.regression_error_replace(t, dim, samples) + 1e-15
    assert theory.regression_error_accumulate(t, dim, samples, design="fresh") <= acc + 1e-15


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 500), lam=st.floats(0.05, 1.0), r=st.floats(0.05, 1.0))
def test_fixed_point_is_the_limit_of_the_recursion(n, lam, r):
    assume(round(r * n) >= 1)  # at least one real draw per generation
    fixed = theory.biased_sampling_fixed_point(n, lam, r)
    assert 0 < fixed <= 1.0 + 1e-12
    assert theory.biased_sampling_moments(3000, n, lam, r)[0] == pytest.approx(fixed, rel=1e-6)


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: simulate_regression(dim=0), "dim"),
        (lambda: simulate_regression(dim=10, samples=10), "samples"),
        (lambda: simulate_regression(design="sideways"), "design"),
        (lambda: simulate_regression(policy="recycle"), "policy"),
        (lambda: simulate_regression(policy="fresh-real", real_fraction=0.5), "design='fixed'"),
        (lambda: simulate_regression(policy="fresh-real", real_fraction=1.5, design="fresh"), "real_fraction"),
        (lambda: simulate_regression(policy="accumulate-subsample", fast=True), "accumulate-subsample"),
        (lambda: simulate_regression(runs=0), "runs"),
        (lambda: simulate_regression(noise=-1.0), "noise"),
        (lambda: simulate_regression(noise=1e300), "^noise must be <= 1000000.0, got 1e[+]300$"),
        (lambda: simulate_gaussian(scale=0.0), "scale"),
        (lambda: strong_collapse_errors([100], 1.2), "synthetic_fraction"),
        (lambda: strong_collapse_errors([5], 0.1), "^n must be >= "),
        (lambda: random_features_errors([0], 0.1), "widths"),
        (lambda: simulate_memoriser([10], 0.9), "beta"),
        (lambda: simulate_memoriser([10], 2.0, items=100, cutoff=500), "cutoff"),
        (lambda: theory.regression_constant(10, 11), "samples"),
        (lambda: theory.regression_error_accumulate(3, 10, 100, design="x"), "design"),
        (lambda: theory.biased_sampling_fixed_point(100, 0.9, 0.0), "real_fraction"),
    ],
)
def test_bad_arguments_name_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_cli_json(capsys):
    assert main(["simulate", "regression", "--policy", "replace", "--generations", "5", "--runs", "400", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = out["generations"]
    assert len(rows) == 6 and rows[0]["error_mean"] == 0
    assert rows[5]["theory_error_mean"] == pytest.approx(5 * C)
    assert abs(rows[5]["error_mean"] - 5 * C) < 5 * rows[5]["error_se"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--policy", "fresh-real"], "--real-fraction is required"),
        (["--samples", "5"], "--samples must be >= --dim + 2 = 12"),
        # before: 1 said "must be > dim (10)", then 11 said "must be >= 12" (the theory's own limit)
        (["--samples", "11"], "--samples must be >= --dim + 2 = 12 for least squares and its theory"),
        # before: switched to a fresh design without a word
        (["--policy", "fresh-real", "--real-fraction", "0.1", "--design", "fixed"], "--policy fresh-real needs fresh"),
        # before: numpy's "Singular matrix", naming nothing
        (["--samples", "5", "--ridge", "1e-300"], "ridge = 1e-300 leaves X^T X + ridge I singular"),
        (["--runs", "0"], "runs must be >= 1"),
        (["--noise", "1e300"], "--noise must be <= 1000000.0, got 1e+300"),
    ],
)
def test_cli_bad_arguments(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        main(["simulate", "regression", "--generations", "2", "--json", *argv])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_ridge_with_fewer_samples_than_dim(capsys):
    """The message for --samples 5 suggests --ridge > 0: that must then work."""
    argv = ["simulate", "regression", "--samples", "5", "--dim", "10", "--ridge", "0.1", "--generations", "2"]
    assert main([*argv, "--runs", "50", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["generations"]
    assert len(rows) == 3 and all(np.isfinite(row["error_mean"]) for row in rows)


def test_log_likelihood_is_the_gaussian_label_density() -> None:
    """log N(y; x . w, noise^2) per row, against scipy's normal log-density on hand-made rows (two runs,
    noise 0.5): the normalising -log(noise) matters when densities of different noise levels are compared."""
    from scipy import stats

    from collapse_edu.regression import LinearModel, LinearRegression

    family = LinearRegression(2, noise=0.5)
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    rows = np.array([[[1.0, 1.0, 0.0], [0.0, 2.0, -3.0]], [[2.0, 4.0, 1.0], [-1.0, 0.0, 0.0]]])  # x1, x2, y
    means = np.array([[-1.0, -4.0], [1.0, -0.5]])  # x . w by hand
    expected = stats.norm.logpdf(rows[..., 2], loc=means, scale=0.5)
    np.testing.assert_allclose(family.log_likelihood(LinearModel(w), rows), expected, rtol=1e-12)


def test_strong_collapse_shifts_round_p_n_rows_by_shift() -> None:
    """Noise-free, one feature: w_hat - w* = delta G_s / (G_r + G_s) with G_s ~ chi2_k, G_r ~ chi2_(n-k)
    independent, so the ratio B is Beta(k/2, (n-k)/2) and the error is shift^2 E[B^2]. With n = 16,
    p = 0.1: k = round(1.6) = 2, B ~ Beta(1, 7), E[B^2] = 7 / (8^2 9) + 1 / 64 = 1 / 36; shift 2 gives
    1/9 (k = 1 would give 0.042, |delta| = shift^2 0.44). 40 000 runs: SE about 0.001; 5 SE allowed."""
    errors = strong_collapse_errors(16, 0.1, dim=1, noise=0.0, shift=2.0, runs=40_000, seed=5)[0]
    a, b = 1.0, 7.0
    expected = 4.0 * (a * b / ((a + b) ** 2 * (a + b + 1)) + (a / (a + b)) ** 2)
    assert expected == pytest.approx(1 / 9)
    se = errors.std(ddof=1) / np.sqrt(errors.size)
    assert abs(errors.mean() - expected) < 5 * se, (errors.mean(), expected, se)


def test_random_features_primal_and_dual_solve_the_same_ridge_problem() -> None:
    """Width m <= n is solved in the primal, m > n in the dual; both minimise |y - F v|^2 + ridge n |v|^2.
    Nested widths share their first features, so under a penalty well above the near-interpolation
    spectrum (ridge n = 60) one more feature (61 against 60, n = 60) moves each run's error by under 10%
    (4.6% at most here)."""
    errors = random_features_errors([60, 61], 0.0, n=60, dim=100, noise=0.0, ridge=1.0, runs=20, seed=1)
    np.testing.assert_allclose(errors[1], errors[0], rtol=0.10)
