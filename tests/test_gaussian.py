"""The Gaussian families: direct and exact fast path agree in distribution; fits and pooling are exact."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.special import digamma

from collapse_edu.gaussian import (
    Gaussian,
    GaussianFast,
    GaussianModel,
    GaussianStats,
    MultivariateGaussian,
    MultivariateGaussianFast,
    MultivariateGaussianModel,
    MultivariateGaussianStats,
    estimator_ddof,
    simulate_gaussian,
    tail_mass,
)
from collapse_edu.loop import ModelSource, run_generations

# Two-sample tests: the seeds are fixed, so each test is deterministic; a correct fast path gives
# p-values spread uniformly on [0, 1], so a threshold of 1e-3 rejects only a real difference.
P_MIN = 1e-3


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    return stats.ks_2samp(a, b).pvalue


def _anderson(a: np.ndarray, b: np.ndarray) -> float:
    """k-sample Anderson-Darling p-value (tabulated, floored at 0.001 and capped at 0.25)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "p-value capped" and API deprecation notes
        result = stats.anderson_ksamp([a, b])
    return float(getattr(result, "pvalue", getattr(result, "significance_level", np.nan)))


# --------------------------------------------------------------------------- fast == direct, 1-D


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(ddof=0, policy="replace"),
        dict(ddof=1, policy="replace"),
        dict(ddof=0, policy="replace", scale=0.9, mu0=1.0, sigma0=2.0),
        dict(ddof=0, policy="accumulate"),
        dict(ddof=0, policy="fresh-real", real_fraction=0.3),
    ],
    ids=["mle", "unbiased", "scaled", "accumulate", "fresh-real"],
)
def test_fast_path_matches_direct_path_1d(kwargs):
    common = dict(n=20, generations=10, runs=3000) | kwargs
    direct = simulate_gaussian(fast=False, seed=101, **common)
    fast = simulate_gaussian(fast=True, seed=202, **common)
    for name in ("sigma", "mu"):
        for t in (1, common["generations"]):
            p = _ks(direct[name][t], fast[name][t])
            assert p > P_MIN, f"{name}_{t}: KS p = {p:.2g}"
    # and a k-sample Anderson-Darling test on the final sigma (more weight on the tails)
    assert _anderson(direct["sigma"][-1], fast["sigma"][-1]) > P_MIN


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("ddof", [0, 1])
def test_first_generation_has_the_exact_chi2_law(fast, ddof):
    """n sigma_1^2 / sigma0^2 * (n - ddof) / n ~ chi2_{n-1} and mu_1 ~ N(mu0, sigma0^2 / n) (Cochran)."""
    n = 12
    history = simulate_gaussian(n=n, generations=1, runs=4000, ddof=ddof, fast=fast, mu0=1.0, sigma0=2.0, seed=7)
    scatter = (n - ddof) * history["sigma"][1] ** 2 / 4.0
    assert stats.kstest(scatter, stats.chi2(n - 1).cdf).pvalue > P_MIN
    assert stats.kstest(history["mu"][1], stats.norm(1.0, 2.0 / np.sqrt(n)).cdf).pvalue > P_MIN


# --------------------------------------------------------------------------- fast == direct, d dimensions


def _run_mv(family, *, dim, n, generations, runs, seed, policy="replace"):
    truth = MultivariateGaussianModel(np.arange(dim, dtype=float), np.eye(dim) + 0.5)
    return run_generations(
        family, ModelSource(truth), n=n, generations=generations, runs=runs, policy=policy, seed=seed
    )


@pytest.mark.parametrize(
    ("ddof", "policy"), [(0, "replace"), (1, "replace"), (0, "accumulate")], ids=["mle", "unbiased", "accumulate"]
)
def test_fast_path_matches_direct_path_multivariate(ddof, policy):
    kwargs = dict(dim=3, n=10, generations=6, runs=2000, policy=policy)
    direct = _run_mv(MultivariateGaussian(3, ddof=ddof), seed=5, **kwargs)
    fast = _run_mv(MultivariateGaussianFast(3, ddof=ddof), seed=6, **kwargs)
    for name in ("total_variance", "log_det", "mu_norm2"):
        for t in (1, 6):
            p = _ks(direct[name][t], fast[name][t])
            assert p > P_MIN, f"{name}_{t}: KS p = {p:.2g}"


@pytest.mark.parametrize("fast", [False, True])
def test_first_multivariate_generation_has_the_wishart_trace(fast):
    """With Sigma = I: n tr(Sigma_1) = tr(S), S ~ Wishart_d(n - 1, I), so tr(S) ~ chi2_{d (n-1)}."""
    dim, n = 3, 8
    cls = MultivariateGaussianFast if fast else MultivariateGaussian
    truth = MultivariateGaussianModel(np.zeros(dim), np.eye(dim))
    history = run_generations(cls(dim), ModelSource(truth), n=n, generations=1, runs=4000, seed=9)
    assert stats.kstest(n * history["total_variance"][1], stats.chi2(dim * (n - 1)).cdf).pvalue > P_MIN
    # Bartlett: det S = prod_i chi2_{n-1-i}, so E[log det Sigma_1] = sum_i (log 2 + digamma((n-1-i)/2)) - d log n
    expected = sum(np.log(2) + digamma((n - 1 - i) / 2) for i in range(dim)) - dim * np.log(n)
    log_det = history["log_det"][1]
    assert abs(log_det.mean() - expected) < 5 * log_det.std() / np.sqrt(log_det.size)


def test_fast_multivariate_needs_n_above_dim():
    with pytest.raises(ValueError, match="n must be > dim"):
        _run_mv(MultivariateGaussianFast(4), dim=4, n=4, generations=2, runs=3, seed=0)


# --------------------------------------------------------------------------- pooling of sufficient statistics


def _stats_1d(x: np.ndarray) -> GaussianStats:
    mean = x.mean(axis=1)
    return GaussianStats(np.full(x.shape[0], x.shape[1]), mean, ((x - mean[:, None]) ** 2).sum(axis=1))


def _stats_mv(x: np.ndarray) -> MultivariateGaussianStats:
    mean = x.mean(axis=1)
    centred = x - mean[:, None, :]
    return MultivariateGaussianStats(np.full(x.shape[0], x.shape[1]), mean, np.einsum("rni,rnj->rij", centred, centred))


def _assert_pooled_equals_whole(pooled, whole, parts: list[np.ndarray]) -> None:
    """Counts exactly, means and scatters up to rounding (scaled by the size of the sums)."""
    scale = 1.0 + max(np.abs(p).max() for p in parts) ** 2 * sum(p.shape[1] for p in parts)
    np.testing.assert_array_equal(pooled.count, whole.count)
    np.testing.assert_allclose(pooled.mean, whole.mean, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(pooled.scatter, whole.scatter, rtol=1e-9, atol=1e-10 * scale)


values = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


@settings(max_examples=80, deadline=None)
@given(runs=st.integers(1, 3), sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4), data=st.data())
def test_pooled_statistics_equal_those_of_the_concatenation_1d(runs, sizes, data):
    parts = [data.draw(arrays(float, (runs, k), elements=values)) for k in sizes]
    pooled = GaussianFast().pool([_stats_1d(p) for p in parts])
    _assert_pooled_equals_whole(pooled, _stats_1d(np.concatenate(parts, axis=1)), parts)


@settings(max_examples=60, deadline=None)
@given(
    runs=st.integers(1, 3),
    dim=st.integers(1, 3),
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    data=st.data(),
)
def test_pooled_statistics_equal_those_of_the_concatenation_multivariate(runs, dim, sizes, data):
    parts = [data.draw(arrays(float, (runs, k, dim), elements=values)) for k in sizes]
    pooled = MultivariateGaussianFast(dim).pool([_stats_mv(p) for p in parts])
    _assert_pooled_equals_whole(pooled, _stats_mv(np.concatenate(parts, axis=1)), parts)


# --------------------------------------------------------------------------- fits


@settings(max_examples=50, deadline=None)
@given(
    x=arrays(float, st.tuples(st.integers(1, 4), st.integers(2, 12)), elements=values),
    ddof=st.sampled_from([0, 1]),
)
def test_fit_matches_numpy_1d(x, ddof):
    model = Gaussian(ddof=ddof).fit(x)
    np.testing.assert_allclose(model.mu, np.mean(x, axis=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.sigma, np.std(x, axis=1, ddof=ddof), rtol=1e-9, atol=1e-9)
    fast = GaussianFast(ddof=ddof).fit(_stats_1d(x))  # the fast path fits the same numbers
    np.testing.assert_allclose(fast.mu, model.mu, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.sigma, model.sigma, rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(runs=st.integers(1, 3), dim=st.integers(1, 3), n=st.integers(2, 8), ddof=st.sampled_from([0, 1]), data=st.data())
def test_fit_matches_numpy_multivariate(runs, dim, n, ddof, data):
    x = data.draw(arrays(float, (runs, n, dim), elements=values))
    model = MultivariateGaussian(dim, ddof=ddof).fit(x)
    for r in range(runs):
        np.testing.assert_allclose(model.mu[r], x[r].mean(axis=0), rtol=1e-12, atol=1e-12)
        expected = np.atleast_2d(np.cov(x[r], rowvar=False, ddof=ddof))
        np.testing.assert_allclose(model.cov[r], expected, rtol=1e-9, atol=1e-8)
    fast = MultivariateGaussianFast(dim, ddof=ddof).fit(_stats_mv(x))
    np.testing.assert_allclose(fast.cov, model.cov, rtol=1e-9, atol=1e-8)


def test_multivariate_describe():
    cov = np.array([[[2.0, 0.5], [0.5, 1.0]]])
    summary = MultivariateGaussian(2).describe(MultivariateGaussianModel(np.array([[3.0, 4.0]]), cov))
    np.testing.assert_allclose(summary["total_variance"], [3.0])
    np.testing.assert_allclose(summary["log_det"], [np.log(1.75)])
    np.testing.assert_allclose(summary["mu_norm2"], [25.0])


def test_samples_have_the_model_moments():
    model = GaussianModel(np.array([-1.0, 4.0]), np.array([0.5, 3.0]))
    x = Gaussian(scale=0.8).sample(model, 200_000, np.random.default_rng(0))
    np.testing.assert_allclose(x.mean(axis=1), model.mu, atol=5 * 0.8 * 3.0 / np.sqrt(200_000))
    np.testing.assert_allclose(x.std(axis=1), 0.8 * model.sigma, rtol=0.01)
    s = GaussianFast().sample(model, 1, np.random.default_rng(0))
    np.testing.assert_array_equal(s.scatter, 0.0)  # one sample has no scatter


def test_broadcast_copies_one_model_per_run():
    model = Gaussian().broadcast(GaussianModel(np.array(1.0), np.array(2.0)), 4)
    assert model.mu.shape == model.sigma.shape == (4,)
    np.testing.assert_array_equal(model.mu, [1.0] * 4)
    np.testing.assert_array_equal(model.sigma, [2.0] * 4)
    model.mu[0] = 9.0  # writable, and each run has its own copy
    np.testing.assert_array_equal(model.mu, [9.0, 1.0, 1.0, 1.0])
    given_runs = GaussianModel(np.arange(4.0), np.full(4, 3.0))  # already one model per run: kept, copied
    model = Gaussian().broadcast(given_runs, 4)
    np.testing.assert_array_equal(model.mu, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(model.sigma, [3.0] * 4)
    model.mu[0], model.sigma[0] = 9.0, 9.0  # independent of the input
    np.testing.assert_array_equal(given_runs.mu, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(given_runs.sigma, [3.0] * 4)


# --------------------------------------------------------------------------- limits and bad arguments


def test_accumulate_subsample_on_the_fast_path_says_to_use_the_direct_path():
    with pytest.raises(ValueError, match="accumulate-subsample.*fast=False"):
        simulate_gaussian(n=10, generations=3, runs=4, policy="accumulate-subsample", fast=True)
    with pytest.raises(ValueError, match="accumulate-subsample.*fast=False"):
        _run_mv(MultivariateGaussianFast(2), dim=2, n=5, generations=3, runs=2, seed=0, policy="accumulate-subsample")
    history = simulate_gaussian(n=10, generations=3, runs=4, policy="accumulate-subsample", fast=False)
    assert history["sigma"].shape == (4, 4)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Gaussian(ddof=2), ValueError, "ddof must be 0 .* or 1"),
        (lambda: Gaussian(ddof=0.5), TypeError, "ddof must be an integer"),
        (lambda: Gaussian(scale=0.0), ValueError, "scale must be > 0"),
        (lambda: MultivariateGaussian(0), ValueError, "dim must be >= 1"),
        (lambda: MultivariateGaussianFast(2, ddof=-1), ValueError, "ddof must be 0"),
        (lambda: simulate_gaussian(n=1), ValueError, "n must be >= 2"),
        (lambda: simulate_gaussian(sigma0=0.0), ValueError, "sigma0 must be > 0"),
        (lambda: simulate_gaussian(mu0=float("inf")), ValueError, "mu0 must be finite"),
        (lambda: simulate_gaussian(generations=-2), ValueError, "generations must be >= 0"),
        (lambda: simulate_gaussian(policy="keep"), ValueError, "policy must be one of"),
        (lambda: simulate_gaussian(policy="fresh-real", real_fraction=2), ValueError, "real_fraction must be <= 1"),
        (lambda: Gaussian().fit(np.zeros((3, 1))), ValueError, "n must be >= 2"),
        (lambda: estimator_ddof("median"), ValueError, "estimator must be one of"),
    ],
)
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_estimator_labels():
    assert estimator_ddof("MLE (ddof=0)") == 0
    assert estimator_ddof("unbiased (ddof=1)") == 1
    assert estimator_ddof(1) == 1


def test_tail_mass():
    np.testing.assert_allclose(tail_mass(0.0, 1.0), 2 * stats.norm.sf(3.0))
    np.testing.assert_allclose(tail_mass(0.0, 1.0, threshold=1.0), 2 * stats.norm.sf(1.0))
    np.testing.assert_allclose(tail_mass(1.0, 1.0), tail_mass(-1.0, 1.0))  # symmetric in the mean
    assert tail_mass(0.0, 0.0) == 0.0  # a collapsed model has no tails
    assert tail_mass(0.0, 2.0) > tail_mass(0.0, 1.0)


def test_sizes_whose_squares_overflow_are_refused():
    """Before: sigma0 = 1e200 or scale = 1e200 ran and returned inf and nan sigmas."""
    with pytest.raises(ValueError, match=r"^sigma0 must be <= 1e\+150, got 1e\+200"):
        simulate_gaussian(sigma0=1e200, generations=2, runs=2)
    with pytest.raises(ValueError, match=r"^scale must be <= 1000000.0, got 1e\+200"):
        simulate_gaussian(scale=1e200, generations=2, runs=2)


def test_a_collapsed_covariance_is_sampled_without_spread_in_its_lost_direction() -> None:
    """A rank-1 covariance (all variance along (1, 1)) has no Cholesky factor; the jitter that makes one
    is tiny (1e-12 of the trace), so 2 000 samples spread along (1, -1) by about 1e-6 of the spread along
    (1, 1), and the kept direction keeps its variance. A jitter of 1e-6 of the trace would put 1e-3 there."""
    direction = np.array([1.0, 1.0]) / np.sqrt(2)
    cov = 4.0 * np.outer(direction, direction)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(cov)
    model = MultivariateGaussianModel(np.zeros((1, 2)), cov[None])
    samples = MultivariateGaussian(2).sample(model, 2000, np.random.default_rng(0))[0]
    kept, lost = samples @ direction, samples @ np.array([1.0, -1.0]) / np.sqrt(2)
    assert kept.std() == pytest.approx(2.0, rel=0.05)
    assert lost.std() < 1e-5 * kept.std()


def test_jittered_cholesky_factors_exactly_and_jitters_only_a_singular_stack() -> None:
    from collapse_edu.gaussian import jittered_cholesky
    from collapse_edu.mixtures import MIXTURE_JITTER

    regular = np.array([[[4.0, 1.0], [1.0, 2.0]], [[1.0, 0.0], [0.0, 9.0]]])
    np.testing.assert_array_equal(jittered_cholesky(regular), np.linalg.cholesky(regular))
    collapsed = np.array([[[1.0, 1.0], [1.0, 1.0]], [[2.0, 0.0], [0.0, 3.0]]])  # the first is singular
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(collapsed)
    for jitter in (1e-12, MIXTURE_JITTER):
        root = jittered_cholesky(collapsed, jitter)
        trace = np.trace(collapsed, axis1=-2, axis2=-1)[:, None, None]
        np.testing.assert_allclose(root @ np.swapaxes(root, -1, -2), collapsed + jitter * trace * np.eye(2), rtol=1e-12)
        assert np.all(np.diagonal(root, axis1=-2, axis2=-1) > 0)
