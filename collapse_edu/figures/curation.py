"""Figures of curation and verification: the Gaussian against its theory, the mixture toy, and the
digits (two model families, precomputed over seeds by ``benchmarks/curation_digits.py``).

Convention (see :mod:`collapse_edu.plots`): a simulation is a solid line with a shaded band, its
theory a dashed line of the same colour on the same axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .. import theory
from ..curation import SETTING_LABELS as GAUSSIAN_LABELS
from ..digit_curation import DIGIT_FAMILIES, DIGIT_SETTINGS, FAMILY_LABELS, SUMMARY_METRICS, decode_images
from ..digit_curation import SETTING_LABELS as DIGIT_LABELS
from ..loop import History
from ..mixtures import digit_classifier
from ..plots import finish, image_grid, new_figure, plot_band, plot_theory

#: series style of each setting (index into the house palette; 3, a long dash, is left out: dashes mean theory).
#: Settings drawn together get clearly different hues: blue / vermillion / bluish green / reddish purple (not blue
#: next to sky blue, nor vermillion next to orange, nor black next to the black theory dashes).
_STYLE = {"none": 0, "self": 1, "real-likelihood": 4, "oracle-ratio": 2, "learned-ratio": 3}


def _index(setting: str) -> int:
    return _STYLE.get(setting, 6)


def gaussian_curation(results: Mapping[str, History], keep: float) -> plt.Figure:
    """The 1-D Gaussian loop under each curation setting (from
    :func:`collapse_edu.curation.simulate_gaussian_curation`): (a) the fitted variance, mean over runs
    with the 5-95% band, log scale, next to its theory (thin black dashes drawn over the simulation):
    a^t without curation, a gamma^(t-1) for self-selection
    (gamma = :func:`collapse_edu.theory.self_curation_factor`), the verifier chain of
    :func:`collapse_edu.theory.verifier_curation_variance`;
    (b) the same on a linear scale for the settings that keep the variance (c) the squared
    2-Wasserstein distance to the truth, (mu_t)^2 + (sigma_t - 1)^2, mean over runs (from
    generation 1 on: generation 0 is the truth itself)."""
    fig, (left, middle, right) = new_figure(3, width=19, height=5.2)
    first = next(iter(results.values()))
    t = first.generations
    n = first.n
    theories = {
        "none": lambda: theory.expected_variance(t, n),
        "self": lambda: theory.self_curation_variance(t, n, keep),
        "oracle-ratio": lambda: theory.verifier_curation_variance(t, n, keep),
    }
    for setting, history in results.items():
        i = _index(setting)
        label = GAUSSIAN_LABELS.get(setting, setting)
        variance = np.maximum(history["sigma"] ** 2, 1e-300)
        plot_band(left, t, variance, label=label, i=i, center="mean")
        if setting == "none":  # on the log scale it lies on the verifiers' curves: drawn over them
            left.lines[-1].set_zorder(3)
        law = theories[setting]() if setting in theories else None
        if law is not None:
            plot_theory(left, t, law, label="", i=i, on_top=True)
        if setting != "self" and setting != "real-likelihood":
            plot_band(middle, t, variance, label=label, i=i, center="mean", quantiles=(0.25, 0.75))
            if law is not None:
                plot_theory(middle, t, law, label="", i=i, on_top=True)
        w2 = history["mu"] ** 2 + (history["sigma"] - 1.0) ** 2
        plot_band(right, t[1:], w2[1:], label=label, i=i, center="mean")
    left.plot([], [], color="black", linestyle="--", linewidth=1.3, marker="", label="theory (dashed)")
    left.set_yscale("log")
    # down to the lowest mean curve (self-selection reaches ~1e-25 by t = 30): no curve is cut off
    low = max(1e-300, np.min([np.mean(h["sigma"][-1] ** 2) for h in results.values()]) / 10)
    left.set_ylim(bottom=low, top=2.0)
    finish(left, title=f"Fitted variance, n = {n}, keep q = {keep:g}", xlabel="generation t",
           ylabel=r"$\sigma_t^2$ (mean over runs, 5-95%)", legend=False)  # fmt: skip
    # one legend for the three panels, below them: inside, it covered the end of the curves
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=11)
    finish(middle, title="Zoom: the settings that keep variance", xlabel="generation t",
           ylabel=r"$\sigma_t^2$ (mean over runs, 25-75%)", legend=False)  # fmt: skip
    right.set_yscale("log")
    finish(right, title="Distance to the real distribution", xlabel="generation t", ylabel=r"$W_2^2$ to $N(0, 1)$",
           legend=False)  # fmt: skip
    return fig


def verifier_strength(results: Mapping[int, History], plain: History | None = None) -> plt.Figure:
    """Learned verifiers of different strength (real-vs-synthetic classifiers trained on N real samples,
    from :func:`collapse_edu.curation.simulate_verifier_strength`): mean squared W2 distance to the
    truth per generation (5-95% band), next to the uncurated loop and, dotted, generation 1's error
    E[W2^2] after one fit to n real samples (theory)."""
    fig, (ax,) = new_figure(1, width=9, height=5.0)
    first = next(iter(results.values()))
    t = first.generations
    if plain is not None:
        w2 = plain["mu"] ** 2 + (plain["sigma"] - 1) ** 2
        plot_band(ax, plain.generations[1:], w2[1:], label="no curation", i=0, center="mean")
    for i, (samples, history) in enumerate(sorted(results.items())):
        w2 = history["mu"] ** 2 + (history["sigma"] - 1) ** 2
        plot_band(ax, t[1:], w2[1:], label=f"verifier trained on N = {samples} real", i=(5, 2, 4, 6)[i % 4],
                  center="mean")  # fmt: skip
    ax.axhline(float(theory.expected_w2_squared(1, first.n)), color="0.3", linestyle=":", linewidth=2,
               label=f"one fit to n = {first.n} real (theory)")  # fmt: skip
    ax.set_yscale("log")
    finish(ax, title="Verified synthetic data: error per generation", xlabel="generation t",
           ylabel=r"$W_2^2$ to $N(0, 1)$ (mean over runs)", loc="upper left")  # fmt: skip
    return fig


def mixture_curation(results: Mapping[str, History]) -> plt.Figure:
    """Shumailov's mixture toy under each curation setting (from
    :func:`collapse_edu.curation.simulate_mixture_curation`): the pooled std of the whole mixture and
    the smallest component weight, median over runs with the 5-95% band."""
    fig, (left, right) = new_figure(2, width=14, height=4.8)
    for setting, history in results.items():
        t = history.generations
        i = _index(setting)
        label = GAUSSIAN_LABELS.get(setting, setting)
        plot_band(left, t, history["pooled_std"], label=label, i=i)
        plot_band(right, t, history["weights"].min(axis=2), label=label, i=i)
    left.set_yscale("log")
    runs = next(iter(results.values()))["pooled_std"].shape[1]
    finish(left, title=f"Pooled std of the mixture ({runs} runs)", xlabel="generation t", ylabel="std (per axis)",
           legend=False)  # fmt: skip
    left.legend(loc="lower left", fontsize=10)
    right.set_ylim(0, 0.55)
    finish(right, title="Smallest component weight", xlabel="generation t", ylabel="weight", legend=False)
    return fig


# --------------------------------------------------------------------------- digits (precomputed)


def digit_curation(
    summary: Mapping,
    families: Sequence[str] = DIGIT_FAMILIES,
    settings: Sequence[str] = DIGIT_SETTINGS,
    metrics: Sequence[str] = ("coverage", "pixel_variance", "precision", "recall"),
) -> plt.Figure:
    """Per-generation metrics of the digits loop (``benchmarks/curation_digits.py``): one row per
    model family, one column per metric, one line per setting (median over seeds, band = range of
    the seeds), the value of held-out real digits dotted."""
    for m in metrics:
        if m not in SUMMARY_METRICS:
            raise ValueError(f"metrics must be among {', '.join(SUMMARY_METRICS)}; got {m!r}")
    runs = summary["runs"]
    fig, axes = new_figure(len(metrics), len(families), width=4.1 * len(metrics), height=3.5 * len(families) + 0.6)
    axes = axes.reshape(len(families), len(metrics))
    seeds = len(summary["seeds"])
    for row, family in enumerate(families):
        for col, metric in enumerate(metrics):
            ax = axes[row, col]
            for setting in settings:
                values = np.asarray(runs[family][setting][metric], float).T  # (generations + 1, seeds)
                label = _digit_label(setting, summary)
                plot_band(ax, np.arange(len(values)), values, label=label, i=DIGIT_SETTINGS.index(setting),
                          quantiles=(0.0, 1.0))  # fmt: skip
            ylabel = metric.replace("_", " ")
            if metric == "coverage":  # real digits cover all 10: a dotted line there would hide the settings at 10
                ylabel = f"classes (real digits: {summary['real'][metric]:.0f})"
            else:
                ax.axhline(
                    summary["real"][metric], color="0.3", linestyle=":", linewidth=2, label="held-out real digits"
                )
            title = f"{FAMILY_LABELS[family]}: {_SHORT_METRICS.get(metric, metric.replace('_', ' '))}"
            finish(ax, title=title, xlabel="generation t" if row == len(families) - 1 else "", ylabel=ylabel,
                   legend=False)  # fmt: skip
            if metric in ("precision", "recall"):
                lowest = min(float(np.min(runs[family][s][metric])) for s in settings)
                # the whole 0-1 scale only where some seed needs it, else zoom in on the data
                bottom = -0.03 if lowest < 0.5 else np.floor(20 * min(lowest, summary["real"][metric])) / 20 - 0.01
                ax.set_ylim(bottom, 1.03 if bottom < 0 else 1.01)
            if metric == "coverage":
                ax.set_ylim(0, 10.5)
    handles, labels = axes[0, min(1, len(metrics) - 1)].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=11)
    fig.suptitle(f"Digits retrained on their own samples ({seeds} seeds: median and range)")
    return fig


_GRID_LABELS = {
    "synthetic": "fully\nsynthetic",
    "self": "self-\nselected",
    "real-share": "10% real",
    "verified": "verified",
}
_SHORT_METRICS = {"coverage": "classes covered", "entropy": "class entropy (bits)", "confidence": "confidence"}


def _digit_label(setting: str, summary: Mapping) -> str:
    config = summary.get("settings", {})
    if setting == "real-share":
        return f"{config.get('real_fraction', 0.1):.0%} real each generation"
    if setting in ("self", "verified"):
        return DIGIT_LABELS[setting].replace("top q", f"top q = {config.get('keep', 0.5):g}") + (
            f", q = {config.get('keep', 0.5):g}" if setting == "verified" else ""
        )
    return DIGIT_LABELS[setting]


def sorted_by_class(images: np.ndarray) -> np.ndarray:
    """Images ``(k, 64)`` in the order of the real-digit classifier's label (stable within a class)."""
    labels = digit_classifier()[0].predict(images)
    return images[np.argsort(labels, kind="stable")]


def digit_curation_grids(
    summary: Mapping,
    family: str = "vae",
    settings: Sequence[str] = DIGIT_SETTINGS,
    generations: Sequence[int] | None = None,
) -> plt.Figure:
    """Samples of one family (seed 0) stored in the summary: one row per setting, one column per stored
    generation (20 images each, sorted by the real-digit classifier's label of the stored images: storing
    them with 17 grey levels can change the label a run gave an image, so they are sorted again here)."""
    grids = summary["grids"][family]
    stored = [int(g) for g in summary["grid_generations"]]
    generations = stored if generations is None else [int(g) for g in generations]
    for g in generations:
        if g not in stored:
            raise ValueError(f"generations must be among the stored {stored}, got {g}")
    # 4 x 5 digits per panel: nearly square, so the digits fill the panel instead of a thin strip
    fig, axes = new_figure(
        len(generations), len(settings), width=2.6 * len(generations), height=2.1 * len(settings) + 0.8
    )
    fig.get_layout_engine().set(wspace=0.1)  # a gap between the generations' blocks, which would touch
    axes = axes.reshape(len(settings), len(generations))
    for i, setting in enumerate(settings):
        for j, g in enumerate(generations):
            images = sorted_by_class(decode_images(grids[setting][stored.index(g)])).reshape(-1, 8, 8)
            image_grid(axes[i, j], images, rows=4, cols=5, title=f"generation {g}" if i == 0 else "")
        axes[i, 0].set_ylabel(_GRID_LABELS.get(setting, setting), fontsize=10)
    fig.suptitle(FAMILY_LABELS[family])
    return fig
