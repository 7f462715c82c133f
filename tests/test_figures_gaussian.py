"""Figures of lessons 00 and 01: each returns a Figure with titled, labelled axes, and rejects bad
arguments with a one-line error naming the argument."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from collapse_edu import plots, theory  # noqa: E402
from collapse_edu.figures import gaussian as g  # noqa: E402
from collapse_edu.figures import overview as o  # noqa: E402
from collapse_edu.gaussian import simulate_gaussian, tail_mass  # noqa: E402

SMALL = {"n": 20, "generations": 15, "runs": 50}

FIGURES = [
    (g.sigma_collapse, SMALL),
    (g.sigma_collapse, {**SMALL, "estimator": "unbiased (ddof=1)"}),
    (g.density_snapshots, {"n": 20, "snapshots": (0, 3, 9), "runs": 30}),
    (g.tail_mass_decay, SMALL),
    (g.mean_drift, {**SMALL, "paths": 3}),
    (g.unbiased_paradox, SMALL),
    (g.w2_distance, SMALL),
    (g.fast_vs_direct, SMALL),
    (o.widget_check, {"frequency": 2.5}),
    (o.loop_diagram, {"policy": "fresh-real"}),
    (o.failure_modes, {"seed": 1}),
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(("make", "kwargs"), FIGURES, ids=lambda v: getattr(v, "__name__", ""))
def test_figure_has_titled_labelled_axes(make, kwargs):
    fig = make(**kwargs)
    assert isinstance(fig, plt.Figure)
    axes = fig.get_axes()
    assert axes
    for ax in axes:
        assert ax.get_title(), f"{make.__name__}: an axes without a title"
        if ax.axison:  # diagrams switch their axes off; every data plot is labelled
            assert ax.get_xlabel() and ax.get_ylabel(), f"{make.__name__}: {ax.get_title()!r} lacks axis labels"
            assert ax.has_data()


def test_loop_diagram_highlights_each_policy():
    texts = {}
    for policy in ("replace", "accumulate", "accumulate-subsample", "fresh-real"):
        fig = o.loop_diagram(policy)
        texts[policy] = [t.get_text() for ax in fig.get_axes() for t in ax.texts]
        assert f"mix: {policy}" in texts[policy]
        bold = [t.get_text() for t in fig.get_axes()[1].texts if t.get_fontweight() == "bold"]
        assert bold == [policy]
    assert "real data dropped" in texts["replace"] and "real data dropped" not in texts["accumulate"]


def test_draw_sigma_runs_draws_a_history_made_elsewhere():
    history = simulate_gaussian(n=20, generations=15, runs=50, seed=0)
    (ax,) = g.draw_sigma_runs(history, paths=3).get_axes()
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    median = next(line for line in ax.lines if line.get_label().startswith("simulation: median"))
    np.testing.assert_allclose(median.get_ydata(), np.median(history["sigma"], axis=1))
    with pytest.raises(TypeError, match=r"^history\b"):
        g.draw_sigma_runs({"sigma": history["sigma"]})
    with pytest.raises(ValueError, match=r"^paths\b"):
        g.draw_sigma_runs(history, paths=51)


def test_tail_mass_curves_stop_below_the_axis_instead_of_flattening():
    (ax,) = g.tail_mass_decay(n=20, generations=60, runs=50, seed=0).get_axes()
    floor = ax.get_ylim()[0]
    for line in ax.lines[:2]:  # the simulated median and the theory's median
        y = np.asarray(line.get_ydata(), float)
        assert np.isnan(y).any() and np.all(y[np.isfinite(y)] >= floor)
        assert not np.any(y == floor), "no flat line drawn at the floor"


def labelled_ticks(ax: plt.Axes) -> dict[float, str]:
    """The y ticks inside the axes' limits that carry a label (major and minor), value -> text."""
    low, high = sorted(ax.get_ylim())
    ticks = {}
    for minor in (False, True):
        locations = ax.yaxis.get_minorticklocs() if minor else ax.yaxis.get_majorticklocs()
        labels = ax.yaxis.get_ticklabels(minor=minor)
        ticks.update(
            {
                float(v): t.get_text()
                for v, t in zip(locations, labels, strict=True)
                if low <= v <= high and t.get_text()
            }
        )
    return ticks


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.07, 1.14, ["0.1", "0.2", "0.3", "0.5", "1"]),  # a decade and a bit: 2, 3 and 5 named too
        (0.67, 1.07, ["0.7", "0.8", "0.9", "1"]),  # inside one decade: every minor tick named
        (0.985, 1.009, ["0.985", "0.99", "0.995", "1", "1.005"]),  # narrower: evenly spaced
        (60, 145, ["60", "80", "100", "120", "140"]),  # 60-100 would leave the top third unnamed
        (0.4, 1.25, ["0.4", "0.6", "0.8", "1", "1.2"]),  # 0.5 and 1 only would be too few
        (150, 400, ["150", "200", "250", "300", "350", "400"]),
        (2e-5, 5.0, ["0.0001", "0.001", "0.01", "0.1", "1"]),  # six decades: powers of ten only
        (50, 2e6, ["100", "1,000", "10,000", "100,000", "1,000,000"]),  # thousands grouped, never 1e+06
        (1e-12, 2.0, ["1e-12", "1e-10", "1e-08", "1e-06", "0.0001", "0.01", "1"]),  # 13: every second
        (125, 850, ["150", "200", "400", "600", "800"]),  # lesson 03's perplexity: 125-200 named by 150
        (7, 31, ["8", "10", "15", "20", "25", "30"]),  # the bottom fifth named by 8
        (1.5, 3000, ["2", "10", "100", "1,000"]),  # over three decades an end gets 1, 2, 3 or 5 only
        (2.1, 4267, ["3", "10", "100", "1,000", "3,000"]),  # lesson 03's vocabulary axis: both ends named
        (0.000863, 0.382, ["0.001", "0.01", "0.1", "0.3"]),  # the end label 0.3 is also a minor tick: drawn once
    ],
)
def test_log_ticks_are_plain_numbers_fixed_once_inside_the_limits(low, high, expected):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [low, high])
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    plots.plain_log_ticks(ax)
    assert [t for _, t in sorted(labelled_ticks(ax).items())] == expected
    every = [*ax.yaxis.get_majorticklocs(), *ax.yaxis.get_minorticklocs()]
    assert all(low <= v <= high for v in every), "no tick outside the limits (each one is drawn work)"
    assert len({f"{v:.6g}" for v in every}) == len(every), "no two ticks at one place"
    assert type(ax.yaxis.get_major_locator()).__name__ == "FixedLocator"


def test_text_and_neural_dashboards_use_the_same_plain_log_ticks():
    """Lessons 03 and 04 draw perplexity on the same ticks as lesson 01: a held-out perplexity between
    130 and 260 (lesson 04's transformer and bigram) names three values, not the two of a 1-2-3-5-7 grid."""
    from collapse_edu.figures import neural
    from collapse_edu.loop import History

    history = History("replace", 100, {"perplexity_real": np.geomspace(130, 260, 6)[:, None] * np.ones((1, 2))})
    ax = neural.dashboard({"bigram": history}, panels=("perplexity_real",)).axes[0]
    assert ax.get_yscale() == "log"
    assert [t for _, t in sorted(labelled_ticks(ax).items())] == ["150", "200", "250"]
    plt.close("all")


@pytest.mark.parametrize(
    ("low", "high"), [(125, 850), (7, 31), (0.13, 1.2), (1.5, 3000), (0.07, 1.14), (60, 145), (2.1, 4267)]
)
def test_log_axis_ends_are_named_within_15_percent_of_the_height(low, high):
    """On these ranges (lesson axes and a few wider), every part of a log axis can be read: neither end lies more
    than 15% of the axis's height from a labelled tick, and no two labels sit closer than 10% of it. (Not every
    range can have both: a round number must fit between the end and the next label.)"""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [low, high])
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    plots.plain_log_ticks(ax)
    named = np.log(sorted(labelled_ticks(ax)))
    height = np.log(high / low)
    assert named[0] - np.log(low) <= 0.15 * height and np.log(high) - named[-1] <= 0.15 * height
    assert np.diff(named).min() >= 0.10 * height - 1e-12
    plt.close(fig)


def test_variance_axis_names_two_values_when_the_variance_barely_falls():
    """n = 1000 over 200 generations keeps E[sigma^2] between about 0.8 and 1: the axis names
    0.8, 0.85, 0.9, 0.95 and 1 (a power-of-ten-only axis would show the single label 1)."""
    right = g.sigma_collapse(n=1000).get_axes()[1]
    assert [t for _, t in sorted(labelled_ticks(right).items())] == ["0.8", "0.85", "0.9", "0.95", "1"]


def test_widget_check_redraws_with_its_argument():
    assert o.widget_check(3.0).get_axes()[0].get_title() == "Widget check: frequency = 3"


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "name"),
    [
        (g.sigma_collapse, {"n": 1}, ValueError, "n"),
        (g.sigma_collapse, {"n": 2.5}, TypeError, "n"),
        (g.sigma_collapse, {"generations": 0}, ValueError, "generations"),
        (g.sigma_collapse, {"runs": 1}, ValueError, "runs"),
        (g.sigma_collapse, {"estimator": "median"}, ValueError, "estimator"),
        (g.sigma_collapse, {"estimator": 2}, ValueError, "ddof"),
        (g.density_snapshots, {"snapshots": (10, 5)}, ValueError, "snapshots"),
        (g.density_snapshots, {"snapshots": (-1, 5)}, ValueError, "snapshots"),
        (g.density_snapshots, {"n": 1}, ValueError, "n"),
        (g.tail_mass_decay, {"threshold": 0.0}, ValueError, "threshold"),
        (g.tail_mass_decay, {"n": 1}, ValueError, "n"),
        (g.mean_drift, {"paths": 0}, ValueError, "paths"),
        (g.mean_drift, {"generations": -3}, ValueError, "generations"),
        (g.unbiased_paradox, {"n": 0}, ValueError, "n"),
        (g.w2_distance, {"runs": 0}, ValueError, "runs"),
        (g.fast_vs_direct, {"n": 1}, ValueError, "n"),
        (o.widget_check, {"frequency": 0}, ValueError, "frequency"),
        (o.widget_check, {"frequency": "fast"}, TypeError, "frequency"),
        (o.loop_diagram, {"policy": "recycle"}, ValueError, "policy"),
        (o.failure_modes, {"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(make, kwargs, error, name):
    with pytest.raises(error, match=rf"^{name}\b"):
        make(**kwargs)


# --------------------------------------------------------------------------- theory used by the figures


def test_tail_mass_quantile_median_matches_simulation():
    """The theory's (approximate) median tail mass splits the simulated runs in half.

    Tail mass is so steep a function of (mu, sigma) that its median is best compared in quantile
    space: the share of runs below the predicted median is 0.5 up to the binomial error
    (SE = sqrt(0.25 / 4000) = 0.008, 4 SE = 0.032) plus the approximation's own bias (about 0.02
    at t >= 10, worse at t = 1 where one chi-square is far from the CLT's normal).
    """
    n, t = 100, np.array([10, 30, 50, 80])
    history = simulate_gaussian(n=n, generations=int(t.max()), runs=4000, seed=3)
    mass = tail_mass(history["mu"][t], history["sigma"][t])
    share_below = np.mean(mass <= theory.tail_mass_quantile(0.5, t, n)[:, None], axis=1)
    np.testing.assert_allclose(share_below, 0.5, atol=0.05)


def test_tail_mass_quantile_at_generation_zero_is_the_original():
    assert theory.tail_mass_quantile(0.5, 0, 50) == pytest.approx(float(tail_mass(0.0, 1.0)))
    assert theory.tail_mass_quantile(0.5, 0, 50, threshold=2.0) == pytest.approx(float(tail_mass(0.0, 1.0, 2.0)))


def test_tail_mass_quantile_is_monotone_in_q():
    low, mid, high = (theory.tail_mass_quantile(q, 20, 100) for q in (0.1, 0.5, 0.9))
    assert low <= mid <= high


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"q": 1.5}, "q"), ({"n": 1}, "n"), ({"threshold": -1.0}, "threshold"), ({"ddof": 2}, "ddof")],
)
def test_tail_mass_quantile_rejects_bad_arguments(kwargs, name):
    arguments = {"q": 0.5, "t": 5, "n": 10, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        theory.tail_mass_quantile(**arguments)


def test_the_sigma_widget_keeps_its_first_layout_across_the_slider_range():
    """Lesson 01's slider: whatever n (10-1000), the redraw fits the layout of the n = 100 figure,
    so no move pays for a second layout pass; the variance label stays clear of the tick labels."""
    from collapse_edu.widgets import FigureLayout, labels_collide, render_png

    first = g.sigma_collapse(runs=200)
    first.draw_without_rendering()
    layout = FigureLayout.of(first)
    for n in (10, 20, 40, 1000):
        fig = g.sigma_collapse(n=n, runs=200)
        assert render_png(fig, layout)[1], n
        renderer = fig.canvas.get_renderer()
        right = fig.axes[1]
        label = right.yaxis.label.get_window_extent(renderer)
        ticks = [t.get_window_extent(renderer) for t in right.get_yticklabels() if t.get_text()]
        assert label.x1 < min(box.x0 for box in ticks), n
        assert not labels_collide(fig, renderer)
        plt.close(fig)


def test_mean_drift_draws_runs_solid_so_only_the_theory_is_dashed():
    left = g.mean_drift(**{**SMALL, "paths": 6}).axes[0]
    runs, bounds = left.lines[:6], left.lines[6:]  # the six paths first, then the +-2 sd theory
    assert bounds[0].get_label().startswith("theory") and {line.get_linestyle() for line in bounds} == {"--"}
    assert {line.get_linestyle() for line in runs} == {"-"}
