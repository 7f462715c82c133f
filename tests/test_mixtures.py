"""Tests of collapse_edu.mixtures: mixture sampling and fitting, the toy against its Gaussian
reference, the digit model, its scorer and argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from collapse_edu import theory
from collapse_edu.mixtures import (
    GaussianMixtureFamily,
    MixtureModel,
    PCAMixture,
    blob_truth,
    class_coverage,
    digit_classifier,
    fit_em,
    kmeans_labels,
    kmeans_start,
    load_digit_split,
    load_protocol_runs,
    mixture_density,
    mixture_summary,
    nearest_distances,
    real_digit_scores,
    sample_mixture,
    simulate_digits,
    simulate_mixture,
)


def two_blobs() -> MixtureModel:
    weights = np.array([[0.3, 0.7]])
    means = np.array([[[-3.0, 0.0], [2.0, 1.0]]])
    covariances = np.array([[[[1.0, 0.5], [0.5, 2.0]], [[0.5, 0.0], [0.0, 0.25]]]])
    return MixtureModel(weights, means, covariances)


def test_sample_mixture_matches_weights_means_and_pooled_covariance():
    model = two_blobs()
    m = 40_000
    x = sample_mixture(model, m, np.random.default_rng(1))
    assert x.shape == (1, m, 2)
    left = x[0, :, 0] < -0.5  # the blobs barely overlap along x1
    se = np.sqrt(0.3 * 0.7 / m)
    assert abs(left.mean() - 0.3) < 5 * se + 0.002  # + the small overlap
    assert np.allclose(x[0, left].mean(axis=0), [-3.0, 0.0], atol=0.05)
    summary = mixture_summary(model)
    pooled = np.sqrt(np.trace(np.cov(x[0].T, bias=True)) / 2)
    assert summary["pooled_std"][0] == pytest.approx(pooled, rel=0.02)
    assert summary["separation"][0] == pytest.approx(np.hypot(5.0, 1.0))
    assert np.allclose(summary["component_std"][0], np.sqrt([1.5, 0.375]))


def test_density_integrates_to_one():
    grid = np.linspace(-8, 8, 321)
    density = mixture_density(two_blobs(), 0, grid, grid)
    step = grid[1] - grid[0]
    assert density.sum() * step**2 == pytest.approx(1.0, abs=0.01)


def test_fit_recovers_separated_blobs_and_warm_start_keeps_labels():
    family = GaussianMixtureFamily(2, warm_start=True, seed=0)
    rng = np.random.default_rng(2)
    data = sample_mixture(two_blobs(), 3000, rng)
    first = family.fit(data)
    order = np.argsort(first.means[0, :, 0])
    assert np.allclose(first.weights[0, order], [0.3, 0.7], atol=0.03)
    assert np.allclose(first.means[0, order], two_blobs().means[0], atol=0.1)
    # Refit to the model's own samples: the warm start keeps component j as component j.
    second = family.fit(family.sample(first, 3000, rng))
    assert np.allclose(second.means, first.means, atol=0.15)
    assert second.iterations[0] < first.iterations[0]  # fine-tuning needs fewer EM steps


def test_default_family_is_the_papers_fresh_fit():
    """Shumailov et al.'s GMM code: a new fit every generation, k-means start, tol 1e-5, max_iter 2000."""
    family = GaussianMixtureFamily()
    assert (family.components, family.warm_start, family.tol, family.max_iter) == (2, False, 1e-5, 2000)
    rng = np.random.default_rng(5)
    data = sample_mixture(two_blobs(), 500, rng)
    first = family.fit(data)
    family.fit(data[:, ::-1] * 0.5 + 3.0)  # something else in between
    # a fresh fit is a function of its data: the same data give the same model, whatever was fitted before
    assert np.array_equal(family.fit(data).means, first.means)
    assert np.array_equal(GaussianMixtureFamily().fit(data).means, first.means)
    warm = GaussianMixtureFamily(warm_start=True)
    warm.fit(data[:, ::-1] * 0.5 + 3.0)
    assert not np.array_equal(warm.fit(data).means, first.means)  # the warm start begins at the last fit


@pytest.mark.parametrize(("dim", "k", "n"), [(2, 2, 1000), (2, 3, 400), (10, 10, 200)])
def test_em_matches_scikit_learn_from_the_same_start(dim, k, n):
    """Our vectorised EM against scikit-learn's GaussianMixture, started from the same mixture."""
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(dim + k)
    data = rng.standard_normal((3, n, dim)) * rng.uniform(0.5, 2.0, (3, 1, dim))
    data[:, : n // 3] += 2.0
    start = kmeans_start(data, k, rng)
    fitted = fit_em(data, start, tol=1e-5, max_iter=2000)
    for r in range(3):
        with threadpool_limits(limits=1):  # tiny matrices: a second BLAS thread only waits
            reference = GaussianMixture(
                k,
                tol=1e-5,
                max_iter=2000,
                weights_init=start.weights[r],
                means_init=start.means[r],
                precisions_init=np.linalg.inv(start.covariances[r]),
            ).fit(data[r])
        assert fitted.iterations[r] == reference.n_iter_
        assert np.allclose(fitted.weights[r], reference.weights_, atol=1e-9)
        assert np.allclose(fitted.means[r], reference.means_, atol=1e-8)
        assert np.allclose(fitted.covariances[r], reference.covariances_, atol=1e-8)


def test_kmeans_finds_separated_clusters_and_matches_scikit_learn_inertia():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    truth = rng.integers(0, 3, (4, 300))
    data = centres[truth] + 0.5 * rng.standard_normal((4, 300, 2))
    labels = kmeans_labels(data, 3, rng)
    for r in range(4):
        pairs = set(zip(truth[r], labels[r], strict=True))
        assert len(pairs) == 3  # the same partition up to renaming
    blob = rng.standard_normal((6, 500, 2))
    labels = kmeans_labels(blob, 2, rng)
    for r in range(6):
        ours = sum(((blob[r, labels[r] == j] - blob[r, labels[r] == j].mean(0)) ** 2).sum() for j in range(2))
        theirs = KMeans(2, n_init=1, random_state=r).fit(blob[r]).inertia_
        assert ours == pytest.approx(theirs, rel=0.02)


@given(st.integers(0, 10_000), st.integers(1, 4), st.booleans())
@settings(max_examples=25, deadline=None)
def test_every_em_step_matches_the_sample_mean_and_covariance(seed, k, warm):
    """M-step: sum_j w_j mu_j = mean(x) and sum_j w_j (Sigma_j + mu_j mu_j^T) - mu mu^T = the MLE sample
    covariance (+ reg_covar I), whatever the responsibilities: so the pooled variance follows a^t exactly."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((2, 60, 2)) @ rng.normal(size=(2, 2)) + rng.normal(size=2)
    if warm:  # any start, e.g. the previous generation's fit
        start = MixtureModel(np.full((2, k), 1 / k), rng.normal(size=(2, k, 2)), np.tile(np.eye(2), (2, k, 1, 1)))
    else:
        start = kmeans_start(data, k, rng)
    model = fit_em(data, start, tol=1e-5, max_iter=int(rng.integers(1, 6)), reg_covar=1e-6)
    centre = np.einsum("rk,rki->ri", model.weights, model.means)
    assert np.allclose(centre, data.mean(axis=1), atol=1e-9)
    pooled = mixture_summary(model)["pooled_std"] ** 2
    sample = np.array([np.trace(np.cov(x.T, bias=True)) / 2 for x in data]) + 1e-6
    assert np.allclose(pooled, sample, rtol=1e-9)


def test_one_component_loop_follows_the_gaussian_variance_decay():
    """With one component the mixture is a Gaussian MLE fit: E[var_t] = a^t var_0, a = (n-1)/n."""
    n, t, runs = 8, 4, 80
    history = simulate_mixture(n=n, generations=t, runs=runs, components=1, seed=3, keep_models=False)
    variance = history["pooled_std"][-1] ** 2
    expected = theory.expected_variance(t, n)
    se = variance.std(ddof=1) / np.sqrt(runs)
    assert abs(variance.mean() - expected) < 4.5 * se


def test_toy_history_shapes_and_truth_row():
    history = simulate_mixture(n=200, generations=6, runs=2, seed=0)
    assert history["weights"].shape == (7, 2, 2)
    assert history["component_std"].shape == (7, 2, 2)
    assert np.allclose(history["pooled_std"][0], 1.0)
    assert np.allclose(history["weights"].sum(axis=2), 1.0)
    assert len(history.models) == 7
    separated = simulate_mixture(n=200, generations=1, separation=4.0, keep_models=False)
    assert separated["separation"][0, 0] == pytest.approx(4.0)


def test_mixture_component_variance_reference():
    assert theory.mixture_component_variance(1, 1000, 0.5) == pytest.approx(1.0)
    assert theory.mixture_component_variance(101, 1000, 0.5) == pytest.approx((1 - 1 / 500) ** 100)
    with pytest.raises(ValueError, match="weight"):
        theory.mixture_component_variance(3, 10, 0.05)


def test_digit_split_and_classifier():
    digits = load_digit_split()
    assert digits.train_x.shape[1] == 64 and len(digits.train_x) + len(digits.test_x) == 1797
    assert digits.train_x.min() >= 0 and digits.train_x.max() <= 1
    assert set(np.unique(digits.test_y)) == set(range(10))
    _, accuracy = digit_classifier()
    assert accuracy > 0.93
    real = real_digit_scores()
    assert real["coverage"] == 10 and real["entropy"] > 3.2


def test_pca_mixture_fit_and_sample_range():
    digits = load_digit_split()
    family = PCAMixture(dims=5, components=3)
    model = family.fit(digits.train_x[None, :300])
    images = family.sample(model, 50, np.random.default_rng(0))
    assert images.shape == (1, 50, 64)
    assert images.min() >= 0 and images.max() <= 1
    assert model.basis.shape == (1, 5, 64)


def test_digits_collapse_without_real_data_and_hold_with_it():
    """Fixed seed: 12 generations fully synthetic lose pixel variance and class entropy that 50%
    real data keep (the lesson's claim in numbers)."""
    synthetic = simulate_digits(0.0, generations=12, seed=0)
    mixed = simulate_digits(0.5, generations=12, seed=0)
    assert synthetic["pixel_variance"].shape == (13, 1)
    assert synthetic["grid"].shape == (13, 1, 40, 64)
    assert synthetic["pixel_variance"][-1, 0] < 0.8 * mixed["pixel_variance"][-1, 0]
    assert synthetic["entropy"][-1, 0] < mixed["entropy"][-1, 0]
    assert np.allclose(synthetic["class_share"].sum(axis=2), 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=200), st.floats(0.0, 1.0))
def test_class_coverage_properties(labels, min_share):
    labels = np.array(labels)
    coverage = class_coverage(labels, 10, min_share)
    if min_share == 0.0:
        assert coverage == 10
    else:
        assert 0 <= coverage <= len(np.unique(labels))
    assert class_coverage(labels, 10, 1e-9) == len(np.unique(labels))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(1, 6), st.integers(0, 10_000))
def test_nearest_distances_match_brute_force(m, r, p, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(m, p)), rng.normal(size=(r, p))
    brute = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)).min(axis=1)
    assert np.allclose(nearest_distances(a, b, chunk=7), brute, atol=1e-6)


def test_argument_validation():
    with pytest.raises(ValueError, match="components"):
        GaussianMixtureFamily(0)
    with pytest.raises(TypeError, match="warm_start"):
        GaussianMixtureFamily(2, warm_start="yes")
    with pytest.raises(ValueError, match="tol"):
        GaussianMixtureFamily(tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        PCAMixture(max_iter=0)
    with pytest.raises(ValueError, match="data must have shape"):
        GaussianMixtureFamily().fit(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="n must be >= components"):
        GaussianMixtureFamily(3).fit(np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="separation"):
        blob_truth(-1.0)
    for huge in (1e10, 1e300):  # before: "Matrix is not positive definite", or inf/nan statistics
        with pytest.raises(ValueError, match="^separation must be <= 10000.0, got "):
            simulate_mixture(n=20, generations=1, separation=huge)
    with pytest.raises(ValueError, match="components"):
        blob_truth(3.0, components=3)
    with pytest.raises(ValueError, match="real_fraction"):
        simulate_digits(1.5)
    with pytest.raises(ValueError, match="n must be <="):
        simulate_digits(0.0, n=5000)
    with pytest.raises(TypeError, match="^n must be an integer"):
        simulate_mixture(n=10.5)
    with pytest.raises(ValueError, match="dims"):
        PCAMixture(dims=0)
    with pytest.raises(ValueError, match="min_share"):
        class_coverage(np.array([1, 2]), min_share=2.0)
    with pytest.raises(ValueError, match="samples and reference"):
        nearest_distances(np.zeros((3, 2)), np.zeros((3, 4)))


def test_fits_refuse_data_holding_nan_or_infinity():
    """Before: fit_em and the families returned a model of nan without a word (EM averages every point
    into every component), after 2000 steps that never converged."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2, 50, 2))
    start = kmeans_start(data, 2, rng)
    for bad in (np.nan, np.inf):
        broken = data.copy()
        broken[0, 3, 0] = bad
        for call, args in (
            (fit_em, (broken, start)),
            (kmeans_start, (broken, 2, rng)),
            (GaussianMixtureFamily().fit, (broken,)),
            (PCAMixture(dims=1, components=1).fit, (broken,)),
        ):
            with pytest.raises(ValueError, match=r"^data must be finite, got 1 nan or infinite value\(s\) among 200$"):
                call(*args)
    with pytest.raises(ValueError, match=r"^data must be a non-empty array of shape \(runs, n, dim\)"):
        fit_em(data[0], start)
    with pytest.raises(TypeError, match="^start must be a MixtureModel"):
        fit_em(data, None)
    with pytest.raises(ValueError, match="^k must be <= 50"):
        kmeans_start(data, 51, rng)
    with pytest.raises(ValueError, match="^reg_covar must be >= 0"):
        fit_em(data, start, reg_covar=-1.0)


def test_em_on_a_singular_covariance_says_to_use_reg_covar():
    """Before: constant data with reg_covar = 0 gave a model of nan (the covariance is 0, its inverse
    overflows), silently, after 2000 steps."""
    constant = np.ones((1, 50, 2))
    start = kmeans_start(constant, 2, np.random.default_rng(0), reg_covar=0.0)
    with np.errstate(all="ignore"):
        with pytest.raises(ValueError, match=r"^EM broke down .*; use reg_covar > 0 \(the default is 1e-6\)$"):
            fit_em(constant, start, reg_covar=0.0)
        with pytest.raises(ValueError, match="use reg_covar > 0"):
            GaussianMixtureFamily(reg_covar=0.0).fit(constant)
        huge = np.random.default_rng(1).normal(size=(1, 50, 2)) * 1e160  # finite, but x x^T overflows
        with pytest.raises(ValueError, match=r"^EM broke down .* squares of data overflowed .* or rescale data$"):
            GaussianMixtureFamily().fit(huge)
    fitted = GaussianMixtureFamily().fit(constant)  # the default reg_covar keeps constant data finite
    assert np.all(np.isfinite(fitted.covariances))


def test_blob_truth_refuses_a_truth_too_large_for_memory():
    """Before: components = 10^15 or dim = 10^8 raised a MemoryError from numpy."""
    for kwargs in ({"components": 10**15}, {"dim": 10**8}):
        with pytest.raises(
            ValueError, match=r"^components = .* with dim = .* of memory.*: use fewer components or a smaller dim$"
        ):
            blob_truth(**kwargs)
    assert blob_truth(components=5, dim=3).covariances.shape == (1, 5, 3, 3)


def test_stored_protocol_runs_and_their_loader(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks/mixture_protocols.py"):
        load_protocol_runs(tmp_path / "missing.npz")
    runs, meta = load_protocol_runs()
    assert {"fresh", "warm", "sklearn"} <= set(runs)
    for data in runs.values():
        rows = len(data["generation"])
        assert data["generation"][0] == 0 and data["generation"][-1] == meta["settings"]["generations"]
        assert data["light_weight"].shape == (rows, meta["settings"]["runs"])
        assert np.all(data["light_weight"] <= 0.5) and np.allclose(data["pooled_std"][0], 1.0)


def test_simulate_mixture_command(capsys):
    import json

    from collapse_edu.cli import main

    assert main(["simulate", "mixture", "--n", "100", "--generations", "3", "--runs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["parameters"]["warm_start"] is False and result["parameters"]["max_iter"] == 2000
    rows = result["generations"]
    assert [row["generation"] for row in rows] == [0, 1, 2, 3]
    assert rows[2]["theory_pooled_variance"] == pytest.approx(0.99**2)
    assert main(["simulate", "mixture", "--n", "100", "--generations", "2", "--warm-start", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"]["warm_start"] is True


def test_mixture_figures_colour_only_fitted_components_and_label_what_they_draw():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Ellipse

    from collapse_edu.figures import images

    history = simulate_mixture(n=200, generations=3, runs=2, seed=0)
    fig = images.mixture_snapshots(history, generations=(0, 3), run=1)
    truth, later = fig.axes
    assert not [p for p in truth.patches if isinstance(p, Ellipse) and p.get_edgecolor()[:3] != (0.55, 0.55, 0.55)]
    assert len([p for p in later.patches if type(p) is Ellipse]) == 4  # two components, 1 and 2 sigma
    snapshot_colours = {p.get_edgecolor()[:3] for p in later.patches if type(p) is Ellipse}
    plt.close(fig)
    wide = simulate_mixture(n=200, generations=3, runs=4, seed=1)
    fig = images.mixture_collapse(wide)
    # the components keep their colours from the curves to the ellipses (heavier, lighter)
    curve_colours = {to_rgb(line.get_color()) for line in fig.axes[1].get_lines() if "component" in line.get_label()}
    assert snapshot_colours == curve_colours and len(curve_colours) == 2
    top = max(band.get_paths()[0].vertices[:, 1].max() for band in fig.axes[1].collections)
    highest = max(np.quantile(wide[m], 0.75, axis=1).max() for m in ("pooled_std", "heavy_std", "light_std"))
    assert top == pytest.approx(highest)  # the components panel shows the middle half of the runs
    plt.close(fig)
    runs = {
        name: {**{m: wide[m][::1] for m in ("light_weight", "light_std", "pooled_std")}, "generation": np.arange(4)}
        for name in ("fresh", "warm")
    }
    fig = images.protocol_comparison(runs, n=200)
    labels = [line.get_label() for line in fig.axes[3].get_lines()]
    assert all(label.endswith("(mean)") for label in labels if label.startswith(("fresh", "warm")))
    assert fig.axes[1].get_ylim()[1] <= 4 + 2 and not fig.axes[0].get_legend()
    plt.close(fig)
