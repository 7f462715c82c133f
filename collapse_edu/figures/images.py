"""Figures of lesson 06: Shumailov's mixture toy and the digits retrained on their own samples.

Each function takes precomputed results (a :class:`~collapse_edu.loop.History`, a dict of them
keyed by the real fraction, or the stored long runs of :func:`~collapse_edu.mixtures.load_protocol_runs`)
and returns a ``Figure``; the lesson computes once and the widgets only redraw. Curves over runs
are the median (mean where a theory states an expectation) with the 5-95% band of the runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse

from .. import theory
from ..loop import History
from ..mixtures import DIGIT_METRICS, model_at, sample_mixture
from ..plots import OKABE_ITO, finish, image_grid, legend_below, new_figure, plot_band, plot_theory, series_style
from ..validation import check_int

# --------------------------------------------------------------------------- mixture toy

#: series index (house palette) of the heavier and the lighter component in every mixture-toy figure
_HEAVY, _LIGHT = 2, 1
DEAD = 0.01  # a component whose weight fell below this has (all but) disappeared
#: the two EM protocols of :func:`protocol_comparison`, in drawing order
PROTOCOL_LABELS = {"fresh": "fresh fit (the paper's protocol)", "warm": "warm start"}
#: series index (house palette) of each protocol: blue and reddish purple, not the green and vermillion that
#: mark the heavier and the lighter component in :func:`mixture_snapshots`
PROTOCOL_STYLE = {"fresh": 0, "warm": 3}


def _top(*arrays: np.ndarray, margin: float = 1.08) -> float:
    return margin * max(float(np.nanmax(np.quantile(a, 0.95, axis=1))) for a in arrays)


def mixture_collapse(history: History) -> plt.Figure:
    """The toy over all runs: (a) the pooled variance of the whole mixture (mean over runs and band)
    on its exact law E[sigma_t^2] = a^t; (b) the std of the lighter and of the heavier component
    against the pooled std (median and 25-75% band); (c) the lighter component's weight; (d) the
    distance between the means."""
    t = history.generations
    fig, axes = new_figure(2, 2, width=12.5, height=8.2)
    (pooled_ax, parts_ax), (weight_ax, gap_ax) = axes[:2], axes[2:]

    variance = history["pooled_std"] ** 2
    plot_band(pooled_ax, t, variance, label="simulation (mean over runs)", i=0, center="mean")
    plot_theory(pooled_ax, t, theory.expected_variance(t, history.n), label=r"exact: $a^t$, $a = (n-1)/n$", i=7)
    pooled_ax.set_ylim(0, _top(variance))
    finish(pooled_ax, title="Whole mixture: pooled variance", xlabel="generation t", ylabel=r"$\sigma_t^2$ (per axis)")

    pooled = history["pooled_std"]
    middle = (0.25, 0.75)  # three 5-95% bands would cover each other: the middle half of the runs
    plot_band(parts_ax, t, pooled, label="whole mixture (pooled)", i=0, quantiles=middle)
    plot_band(parts_ax, t, history["heavy_std"], label="heavier component", i=_HEAVY, quantiles=middle)
    plot_band(parts_ax, t, history["light_std"], label="lighter component", i=_LIGHT, quantiles=middle)
    parts_ax.set_ylim(0, _top(pooled, history["heavy_std"], history["light_std"]))
    finish(parts_ax, title="Components: standard deviation (band: 25-75% of runs)", xlabel="generation t",
           ylabel="std (per axis)")  # fmt: skip

    plot_band(weight_ax, t, history["light_weight"], label="lighter component", i=_LIGHT)
    weight_ax.axhline(0.5, color="0.4", linestyle=":", linewidth=1.5, label="equal split")
    weight_ax.set_ylim(0, 0.52)
    finish(weight_ax, title="Weight of the lighter component", xlabel="generation t", ylabel="weight", loc="lower left")

    plot_band(gap_ax, t, history["separation"], label="distance between the two means", i=3)
    gap_ax.set_ylim(0, _top(history["separation"]))
    finish(
        gap_ax,
        title="Distance between the component means",
        xlabel="generation t",
        ylabel="distance",
        loc="lower right",
    )
    return fig


def _draw_ellipses(ax: plt.Axes, history: History, t: int, run: int, extent: float, samples: int) -> None:
    """Samples and the 1- and 2-sigma ellipses of every component (heavier one in bluish green,
    lighter one in vermillion: their colours in :func:`mixture_collapse`),
    on fixed axes with the truth's 1- and 2-sigma circles (grey, dashed) as the scale. At t = 0
    (the truth) only the grey circles and the truth's samples are drawn: colours mean fitted components."""
    model = model_at(history, t)
    for radius in (1.0, 2.0):
        ax.add_patch(plt.Circle((0, 0), radius, fill=False, color="0.55", linestyle="--", linewidth=1.2))
    points = sample_mixture(model, samples, np.random.default_rng([run, t]))[run]
    ax.scatter(points[:, 0], points[:, 1], s=4, color="0.35", alpha=0.35, linewidth=0)
    order = np.argsort(model.weights[run])[::-1] if t > 0 else []  # heavier first
    for rank, j in enumerate(order):  # heavier drawn first, bluish green; lighter on top, vermillion
        index = _HEAVY if rank == 0 else _LIGHT
        colour = OKABE_ITO[index]
        values, vectors = np.linalg.eigh(model.covariances[run, j])
        angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
        for scale, style in ((1.0, "-"), (2.0, ":")):
            width, height = 2 * scale * np.sqrt(np.maximum(values[::-1], 0))
            ax.add_patch(
                Ellipse(
                    model.means[run, j], width, height, angle=angle, fill=False, color=colour, linestyle=style, lw=2.2
                )
            )
        style = series_style(index)
        ax.plot(
            *model.means[run, j],
            marker=style["marker"],
            color=colour,
            markersize=8,
            markeredgecolor="white",
            linestyle="none",
            label=f"w = {model.weights[run, j]:.2f}",
        )
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_title("truth (generation 0)" if t == 0 else f"generation {t}")
    ax.set_xlabel(r"$x_1$")
    ax.set_ylabel(r"$x_2$")
    if t > 0:  # below the axes, where it covers no ellipse and no sample
        legend_below(ax, offset=0.24, fontsize=10, handlelength=1, borderpad=0.3)


def mixture_snapshots(
    history: History, generations: Sequence[int] = (0, 1, 50, 100, 200, 300), run: int = 0, extent: float = 3.2
) -> plt.Figure:
    """One run at a few generations: its samples, each component's 1-sigma (solid) and 2-sigma
    (dotted) ellipse, on the same axes in every panel with the truth's circles as the scale."""
    run = check_int("run", run, minimum=0, maximum=history["pooled_std"].shape[1] - 1)
    fig, axes = new_figure(len(generations), width=2.75 * len(generations), height=3.6)
    for ax, t in zip(axes, generations, strict=True):
        _draw_ellipses(ax, history, t, run, extent, 400)
    return fig


def mixture_snapshot(history: History, generation: int = 300, run: int = 0, extent: float = 3.2) -> plt.Figure:
    """One run at ``generation`` next to the truth (for the generation and run sliders)."""
    runs = history["pooled_std"].shape[1]
    run = check_int("run", run, minimum=0, maximum=runs - 1)
    generation = check_int("generation", generation, minimum=0, maximum=len(history.generations) - 1)
    fig, axes = new_figure(2, width=8.4, height=4.2)
    _draw_ellipses(axes[0], history, 0, run, extent, 600)
    _draw_ellipses(axes[1], history, generation, run, extent, 600)
    return fig


def protocol_comparison(runs: Mapping[str, Mapping[str, np.ndarray]], n: int = 1000) -> plt.Figure:
    """The stored long runs (:func:`~collapse_edu.mixtures.load_protocol_runs`): a fresh fit every
    generation against a warm start (median and 5-95% band of the runs), with scikit-learn's fresh
    fit (the authors' code path) as a thin grey median where it is stored: (a) the lighter
    component's weight; (b) runs in which a component has died (weight < 0.01); (c) the std of the
    lighter component; (d) the pooled variance (mean over runs) on its exact law a^t."""
    fig, axes = new_figure(2, 2, width=12.5, height=8.8)
    dead_most = 0
    for name, label in PROTOCOL_LABELS.items():
        i = PROTOCOL_STYLE[name]
        data = runs[name]
        t = data["generation"]
        plot_band(
            axes[0], t, data["light_weight"], label=f"{label}: median (mean in the last panel), 5-95% of runs", i=i
        )
        style = {**series_style(i), "marker": "none", "linewidth": 3.2}  # thick: scikit-learn's thin line goes on top
        dead = (data["light_weight"] < DEAD).sum(axis=1)
        dead_most = max(dead_most, int(dead.max()))
        axes[1].step(t, dead, where="post", label=label, **style)
        plot_band(axes[2], t, np.maximum(data["light_std"], 1e-4), label=label, i=i)
        plot_band(axes[3], t, data["pooled_std"] ** 2, label=f"{label} (mean)", i=i, center="mean")
    if "sklearn" in runs:
        data = runs["sklearn"]
        t = data["generation"]
        grey = {"color": "0.35", "linewidth": 1.3, "marker": "none", "linestyle": "-"}
        grey["label"] = "scikit-learn fresh fit (median; mean in the last panel)"
        axes[0].plot(t, np.median(data["light_weight"], axis=1), **grey)
        dead = (data["light_weight"] < DEAD).sum(axis=1)
        dead_most = max(dead_most, int(dead.max()))
        axes[1].step(t, dead, where="post", zorder=3, **{**grey, "label": "scikit-learn fresh fit"})
        axes[2].plot(t, np.median(np.maximum(data["light_std"], 1e-4), axis=1), **grey)
        axes[3].plot(t, np.mean(data["pooled_std"] ** 2, axis=1), **{**grey, "label": "scikit-learn fresh fit (mean)"})
    total = runs["fresh"]["light_weight"].shape[1]
    t = runs["fresh"]["generation"]
    plot_theory(axes[3], t, theory.expected_variance(t, n), label=r"exact: $a^t$", i=7)
    axes[0].set_ylim(0, 0.52)
    finish(axes[0], title="Weight of the lighter component", xlabel="generation t", ylabel="weight", legend=False)
    axes[1].set_ylim(-0.4, min(total, dead_most + 1) + 0.4)  # below 0: steps at 0 stay off the axis line
    axes[1].yaxis.get_major_locator().set_params(integer=True)
    finish(axes[1], title=f"Runs with a dead component (w < {DEAD}), of {total}", xlabel="generation t",
           ylabel="runs", legend=False)  # fmt: skip
    axes[2].set_yscale("log")
    finish(axes[2], title="Std of the lighter component", xlabel="generation t", ylabel="std (log)", legend=False)
    axes[3].set_ylim(0, 1.1 * float(np.quantile(runs["fresh"]["pooled_std"] ** 2, 0.95, axis=1).max()))
    finish(axes[3], title="Whole mixture: pooled variance (mean over runs)", xlabel="generation t",
           ylabel=r"$\sigma_t^2$ (per axis)", legend=False)  # fmt: skip
    # one legend below the panels (inside, it covered the tops of the bands): the protocols' colours, and the law
    handles, labels = axes[0].get_legend_handles_labels()
    theory_handles = [(h, lab) for h, lab in zip(*axes[3].get_legend_handles_labels(), strict=True) if "exact" in lab]
    handles += [h for h, _ in theory_handles]
    labels += [f"{lab} (bottom right)" for _, lab in theory_handles]
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig


# --------------------------------------------------------------------------- digits


#: series index (house palette) of each real fraction: 10% real in the colour of the "10% real" setting of
#: :func:`collapse_edu.figures.curation.digit_curation` (bluish green), other shares in colours no curation
#: setting of that figure uses (blue: fully synthetic there too)
_FRACTION_STYLE = {0.0: 0, 0.1: 2, 0.5: 4}


def _fraction_index(r: float, k: int = 0) -> int:
    return _FRACTION_STYLE.get(float(r), (5, 6, 7)[k % 3])


def _fraction_label(r: float) -> str:
    return "fully synthetic (0% real)" if r == 0 else f"{r:.0%} real each generation"


def digit_grids(
    results: Mapping[float, History], generations: Sequence[int] = (0, 1, 5, 10, 20), run: int = 0
) -> plt.Figure:
    """Sample grids of one run (40 samples, sorted by the classifier's label): one row per real
    fraction, one column per generation."""
    fractions = list(results)
    fig, axes = new_figure(len(generations), len(fractions), width=3.2 * len(generations), height=1.9 * len(fractions))
    fig.get_layout_engine().set(wspace=0.08)  # a gap between the generations' blocks, which would touch
    axes = axes.reshape(len(fractions), len(generations))
    for i, r in enumerate(fractions):
        grid = results[r]["grid"]
        for j, t in enumerate(generations):
            images = grid[t, run].reshape(-1, 8, 8)
            image_grid(axes[i, j], images, rows=4, cols=10, title=f"generation {t}")
        axes[i, 0].set_ylabel(_fraction_label(r).replace(" each generation", "").replace(" (", "\n("), fontsize=12)
    return fig


def digit_generation(
    results: Mapping[float, History], generation: int = 20, real_fraction: float = 0.0, run: int = 0
) -> plt.Figure:
    """Generation 0 (the model of all real digits) next to generation ``generation`` of one run for
    one real fraction, with the class shares the classifier sees."""
    if real_fraction not in results:
        raise ValueError(f"real_fraction must be one of {sorted(results)}, got {real_fraction!r}")
    history = results[real_fraction]
    last = len(history.generations) - 1
    generation = check_int("generation", generation, minimum=0, maximum=last)
    run = check_int("run", run, minimum=0, maximum=history["coverage"].shape[1] - 1)
    fig, (a, b, c) = new_figure(3, width=12, height=3.4, gridspec_kw={"width_ratios": [2.3, 2.3, 1.8]})
    fig.get_layout_engine().set(wspace=0.08)  # a gap between the two grids, which would touch
    for ax, t in ((a, 0), (b, generation)):
        image_grid(ax, history["grid"][t, run].reshape(-1, 8, 8), rows=4, cols=10, title=f"generation {t}")
    share = history["class_share"]
    width = 0.4
    c.bar(np.arange(10) - width / 2, share[0, run], width, color="0.6", label="generation 0")
    c.bar(
        np.arange(10) + width / 2,
        share[generation, run],
        width,
        color=OKABE_ITO[_fraction_index(real_fraction, list(results).index(real_fraction))],
        hatch="//",
        label=f"generation {generation}",
    )
    c.set_xticks(range(10))
    finish(c, title="Classes the classifier sees", xlabel="digit", ylabel="share of samples", legend=False)
    # below the bars: inside, a tall bar of some run or generation would run under it
    legend_below(c, offset=0.3, fontsize=10)
    fig.suptitle(f"{_fraction_label(real_fraction)}, run {run}")
    return fig


def digit_metrics(
    results: Mapping[float, History],
    real: Mapping[str, float] | None = None,
    metrics: Sequence[str] = tuple(DIGIT_METRICS),
) -> plt.Figure:
    """Every metric per generation for each real fraction: median over runs and the 5-95% band
    of the runs. There is no closed form for this model: the references are generation 0 (the model
    of all real training digits, the curves' first point) and, dotted, held-out real test digits. A real
    value further from the data than half the data's range would squeeze the curves: it is written at
    the panel's edge, with an arrow, instead."""
    cols = 3
    rows = -(-len(metrics) // cols)
    fig, axes = new_figure(cols, rows, width=15, height=3.7 * rows + 0.6)
    for ax, name in zip(axes, metrics, strict=False):
        bands = []
        for k, (r, history) in enumerate(results.items()):
            values = history[name].astype(float)
            plot_band(ax, history.generations, values, label=_fraction_label(r), i=_fraction_index(r, k))
            bands.append(np.quantile(values, [0.05, 0.95], axis=1))
        if real is not None:
            low, high = float(np.min(bands)), float(np.max(bands))
            reach = 0.5 * max(high - low, 1e-12)
            if low - reach <= real[name] <= high + reach:
                ax.axhline(real[name], color="0.3", linestyle=":", linewidth=2, label="real test digits")
            else:
                above = real[name] > high
                arrow = "\u2191" if above else "\u2193"
                ax.text(0.98, 0.97 if above else 0.03, f"{arrow} real test digits: {real[name]:.3g}", color="0.3",
                        transform=ax.transAxes, ha="right", va="top" if above else "bottom", fontsize=11)  # fmt: skip
        finish(ax, title=DIGIT_METRICS[name], xlabel="generation t", ylabel=name.replace("_", " "), legend=False)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig
