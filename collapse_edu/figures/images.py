"""Figures of lesson 05: Shumailov's mixture toy and the digits retrained on their own samples.

Each function takes precomputed results (a :class:`~collapse_edu.loop.History` or a dict of them
keyed by the real fraction) and returns a ``Figure``; the lesson computes once and the widgets only
redraw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import theory
from ..loop import History
from ..mixtures import DIGIT_METRICS, mixture_density, model_at
from ..plots import OKABE_ITO, finish, image_grid, new_figure, plot_band, plot_line, plot_theory, series_style
from ..validation import check_int

# --------------------------------------------------------------------------- mixture toy


def mixture_collapse(history: History, run: int = 0) -> plt.Figure:
    """One run of the toy: (a) each component's std, the pooled std and their single-Gaussian
    references; (b) the component weights; (c) the distance between the component means."""
    run = check_int("run", run, minimum=0, maximum=history["pooled_std"].shape[1] - 1)
    t = history.generations
    n = history.n
    std = history["component_std"][:, run]
    weights = history["weights"][:, run]
    fig, (left, middle, right) = new_figure(3, width=15, height=4.8)

    for j in range(std.shape[1]):
        plot_line(left, t, std[:, j], label=f"component {j + 1}", i=j)
    plot_line(left, t, history["pooled_std"][:, run], label="pooled (whole mixture)", i=2)
    plot_theory(left, t, np.sqrt(theory.expected_variance(t, n)), label="one Gaussian: sqrt(a^t)", i=2)
    half = theory.mixture_component_variance(t, n, 1.0 / std.shape[1]) * std[1].mean() ** 2
    plot_theory(left, t, np.sqrt(half), label=f"component with n/{std.shape[1]} points", i=0)
    top = max(2.5, 2.1 * float(np.nanmax(history["pooled_std"][:, run])))
    left.set_ylim(0, top)
    finish(left, title=f"Standard deviation (n = {n})", xlabel="generation t", ylabel="std (per axis)", legend=False)
    left.legend(loc="upper right", fontsize=10)

    for j in range(weights.shape[1]):
        plot_line(middle, t, weights[:, j], label=f"component {j + 1}", i=j)
    middle.set_ylim(0, 1)
    finish(middle, title="Component weights", xlabel="generation t", ylabel="weight w_j")

    plot_line(right, t, history["separation"][:, run], label="|mu_1 - mu_2|", i=3)
    right.set_ylim(bottom=0)
    finish(
        right, title="Distance between the component means", xlabel="generation t", ylabel="distance", loc="lower right"
    )
    return fig


def mixture_runs(history: History) -> plt.Figure:
    """All runs of the toy at once (the figure of ``collapse-edu simulate mixture --plot``): medians over
    runs with their 5-95% band of (a) the pooled std and the smallest and largest component std, next
    to the single-Gaussian reference sqrt(a^t); (b) the smallest component weight; (c) the largest
    distance between component means."""
    t = history.generations
    std = history["component_std"]
    runs, k = std.shape[1], std.shape[2]
    fig, (left, middle, right) = new_figure(3, width=15, height=4.8)
    plot_band(left, t, history["pooled_std"], label="pooled (whole mixture)", i=2)
    plot_band(left, t, std.min(axis=2), label="smallest component", i=0)
    plot_band(left, t, std.max(axis=2), label="largest component", i=1)
    plot_theory(left, t, np.sqrt(theory.expected_variance(t, history.n)), label="one Gaussian: sqrt(a^t)", i=2)
    left.set_ylim(bottom=0)
    finish(left, title=f"Std, median of {runs} run(s), n = {history.n}", xlabel="generation t", ylabel="std (per axis)")
    plot_band(middle, t, history["weights"].min(axis=2), label=f"smallest of {k} weights", i=3)
    middle.set_ylim(0, 1)
    finish(middle, title="Smallest component weight", xlabel="generation t", ylabel="weight")
    plot_band(right, t, history["separation"], label="largest |mu_i - mu_j|", i=4)
    right.set_ylim(bottom=0)
    finish(right, title="Distance between component means", xlabel="generation t", ylabel="distance")
    return fig


def mixture_snapshots(
    history: History, generations: Sequence[int] = (0, 1, 50, 100, 200, 400), run: int = 0, extent: float = 4.0
) -> plt.Figure:
    """Density contours of one run's mixture at a few generations, component means marked."""
    fig, axes = new_figure(len(generations), width=2.6 * len(generations), height=3.0)
    grid = np.linspace(-extent, extent, 161)
    for ax, t in zip(axes, generations, strict=True):
        _draw_density(ax, history, t, run, grid)
    return fig


def mixture_snapshot(history: History, generation: int = 200, run: int = 0, extent: float = 4.0) -> plt.Figure:
    """One run's density at ``generation`` next to the truth (for the generation slider)."""
    fig, axes = new_figure(2, width=9, height=4.4)
    grid = np.linspace(-extent, extent, 161)
    _draw_density(axes[0], history, 0, run, grid)
    _draw_density(axes[1], history, generation, run, grid)
    axes[0].set_title("truth (generation 0)")
    return fig


def _draw_density(ax: plt.Axes, history: History, t: int, run: int, grid: np.ndarray) -> None:
    model = model_at(history, t)
    density = mixture_density(model, run, grid, grid)
    ax.contourf(grid, grid, density, levels=12, cmap="Blues")
    if t > 0:
        for j, mu in enumerate(model.means[run]):
            style = series_style(j)
            ax.plot(
                *mu,
                marker=style["marker"],
                color=style["color"],
                markersize=9,
                linestyle="none",
                markeredgecolor="white",
                label=f"mean {j + 1}, w = {model.weights[run, j]:.2f}",
            )
        ax.legend(loc="lower right", fontsize=9, handlelength=1)
    ax.set_title(f"generation {t}")
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.grid(False)


def seed_table(history: History) -> list[dict[str, float]]:
    """Per run at the last generation: pooled std, smaller/larger component std and weight, and
    the generation at which the smaller weight first fell below 0.1 (None if never)."""
    last = -1
    rows = []
    weights = history["weights"]
    for r in range(weights.shape[1]):
        w = weights[:, r].min(axis=1)
        below = np.flatnonzero(w < 0.1)
        std = history["component_std"][last, r]
        rows.append(
            {
                "run": r,
                "pooled_std": float(history["pooled_std"][last, r]),
                "min_component_std": float(std.min()),
                "max_component_std": float(std.max()),
                "min_weight": float(w[last]),
                "first_w_below_0.1": int(below[0]) if below.size else None,
                "separation": float(history["separation"][last, r]),
            }
        )
    return rows


# --------------------------------------------------------------------------- digits


def _fraction_label(r: float) -> str:
    return "fully synthetic (0% real)" if r == 0 else f"{r:.0%} real each generation"


def digit_grids(
    results: Mapping[float, History], generations: Sequence[int] = (0, 1, 5, 10, 20), run: int = 0
) -> plt.Figure:
    """Sample grids (40 samples, sorted by the classifier's label): one row per real fraction,
    one column per generation."""
    fractions = list(results)
    fig, axes = new_figure(len(generations), len(fractions), width=3.2 * len(generations), height=1.9 * len(fractions))
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
    """Generation 0 (the model of all real digits) next to generation ``generation`` for one real
    fraction, with the class shares the classifier sees."""
    if real_fraction not in results:
        raise ValueError(f"real_fraction must be one of {sorted(results)}, got {real_fraction!r}")
    history = results[real_fraction]
    last = len(history.generations) - 1
    generation = check_int("generation", generation, minimum=0, maximum=last)
    fig, (a, b, c) = new_figure(3, width=15, height=3.6, gridspec_kw={"width_ratios": [2.3, 2.3, 1.6]})
    for ax, t in ((a, 0), (b, generation)):
        image_grid(ax, history["grid"][t, run].reshape(-1, 8, 8), rows=4, cols=10, title=f"generation {t}")
    share = history["class_share"]
    width = 0.4
    c.bar(np.arange(10) - width / 2, share[0, run], width, color=OKABE_ITO[0], label="generation 0")
    c.bar(
        np.arange(10) + width / 2,
        share[generation, run],
        width,
        color=OKABE_ITO[1],
        hatch="//",
        label=f"generation {generation}",
    )
    c.set_xticks(range(10))
    finish(c, title="Classes the classifier sees", xlabel="digit", ylabel="share of samples", loc="upper right")
    fig.suptitle(_fraction_label(real_fraction))
    return fig


def digit_metrics(
    results: Mapping[float, History],
    real: Mapping[str, float] | None = None,
    metrics: Sequence[str] = tuple(DIGIT_METRICS),
    components: int = 10,
) -> plt.Figure:
    """Every metric per generation for each real fraction (mean over runs), with the value of
    held-out real digits as a dotted reference line. The pixel-variance panel also shows, dashed,
    lesson 01's law for a component refitted from m = n / ``components`` points,
    (1 - 1/m)^(t-1) times generation 1's value (fully synthetic run): a loose reference only."""
    cols = 3
    rows = -(-len(metrics) // cols)
    fig, axes = new_figure(cols, rows, width=15, height=3.7 * rows)
    for ax, name in zip(axes, metrics, strict=False):
        for i, (r, history) in enumerate(results.items()):
            plot_line(ax, history.generations, history.mean(name), label=_fraction_label(r), i=i)
        if name == "pixel_variance" and 0.0 in results:
            history = results[0.0]
            t = history.generations
            law = theory.mixture_component_variance(t, history.n, 1.0 / components) * history.mean(name)[1]
            plot_theory(ax, t[1:], law[1:], label=f"(1 - 1/m)^(t-1), m = n/{components}", i=0)
            ax.legend(handles=[ax.lines[-1]], loc="lower left", fontsize=10)
        if real is not None:
            ax.axhline(real[name], color="0.3", linestyle=":", linewidth=2, label="real test digits")
        finish(ax, title=DIGIT_METRICS[name], xlabel="generation t", ylabel=name.replace("_", " "), legend=False)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    return fig
