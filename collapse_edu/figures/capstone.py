"""Figures of lesson 08 (capstone): the four mystery logs, the overfitting demo, monitor verdicts.

Pure functions: parameters in, a matplotlib ``Figure`` out (see :mod:`collapse_edu.capstone`).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..capstone import LABELS, OVERFITTING_STEPS, RunLog, mystery_runs, polynomial_fit
from ..monitor import VERDICTS, Report
from ..plots import finish, new_figure, plot_line
from ..validation import check_choice, check_int

VIEWS = {
    "losses": (("train_loss", "loss on its training data"), ("heldout_loss", "loss on held-out real data")),
    "diversity and quality": (("diversity", "diversity (1 = real)"), ("quality", "quality (1 = real)")),
    "oldest data and output shift": (
        ("oldest_score", "score on the oldest data"),
        ("output_shift", "output shift since last checkpoint"),
    ),
}


def _draw_view(ax: plt.Axes, log: RunLog, view: str, legend: bool = True) -> None:
    x = log["checkpoint"]
    for i, (column, label) in enumerate(VIEWS[view]):
        plot_line(ax, x, log[column], label=label, i=i)
    if view == "losses":
        values = np.concatenate([log["train_loss"], log["heldout_loss"]])
        if np.all(values > 0):
            ax.set_yscale("log")
        else:
            ax.set_yscale("symlog", linthresh=1.0)
    elif view == "diversity and quality":
        ax.axhline(1.0, color="0.4", linewidth=1, linestyle="--")
        ax.set_ylim(0, max(1.3, min(4.5, float(np.nanmax(log["diversity"])) * 1.1)))
    else:
        ax.set_ylim(-0.05, 1.05)
    version = log["data_version"]
    for change in np.flatnonzero(np.diff(version) != 0):
        ax.axvline(change + 0.5, color="0.6", linewidth=0.8, linestyle=":")
    if legend:
        ax.legend(loc="best", fontsize=10)


def mystery_figure(label: str = "A", view: str = "losses", seed: int = 0) -> plt.Figure:
    """One mystery run (``label`` of :func:`~collapse_edu.capstone.mystery_runs` with ``seed``), one view
    of its log; dotted vertical lines mark a change of training data."""
    label = check_choice("label", label, LABELS)
    view = check_choice("view", view, tuple(VIEWS))
    log = mystery_runs(check_int("seed", seed, minimum=0))[label]
    fig, (ax,) = new_figure(width=8, height=4.2)
    _draw_view(ax, log, view)
    finish(ax, title=f"Run {label}: {view}", xlabel="checkpoint", ylabel="value", legend=False)
    return fig


def mysteries_figure(seed: int = 0) -> plt.Figure:
    """All four mystery runs (columns) in all three views (rows), on shared conventions."""
    logs = mystery_runs(check_int("seed", seed, minimum=0))
    fig, axes = new_figure(4, 3, width=15, height=9.5)
    axes = axes.reshape(3, 4)
    for col, label in enumerate(LABELS):
        for row, view in enumerate(VIEWS):
            ax = axes[row, col]
            _draw_view(ax, logs[label], view, legend=False)
            ax.set_title(f"Run {label}" if row == 0 else "")
            ax.set_xlabel("checkpoint" if row == 2 else "")
    for row, view in enumerate(VIEWS):
        handles, labels = axes[row, 0].get_legend_handles_labels()
        axes[row, 3].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=10)
        axes[row, 0].set_ylabel(view.replace(" and ", " &\n"))
    return fig


def overfitting_figure(seed: int = 0, steps: int = 300_000) -> plt.Figure:
    """Left: the 25 training points, the truth sin(pi x) and the polynomial after 100 and after
    ``steps`` gradient-descent steps. Right: training and held-out error along the descent."""
    steps = check_int("steps", steps, minimum=1, maximum=10_000_000)
    fit = polynomial_fit(check_int("seed", seed, minimum=0))
    fig, (left, right) = new_figure(2, width=13, height=4.6)
    grid = np.linspace(-1, 1, 400)
    left.scatter(fit.x, fit.y, color="black", zorder=3, label="25 training points")
    left.plot(grid, np.sin(np.pi * grid), color="0.4", linestyle="--", linewidth=2, label="truth sin(pi x)")
    for i, t in enumerate((100, steps)):
        plot_line(left, grid, fit.predict(grid, t), label=f"after {t:,} steps", i=i)
    left.set_ylim(-2.5, 2.5)
    finish(left, title="A degree-15 polynomial on 25 points", xlabel="x", ylabel="y", loc="lower right")
    t = np.unique(np.round(np.logspace(0, 6.5, 60)).astype(int))
    train = [np.mean((fit.predict(fit.x, s) - fit.y) ** 2) for s in t]
    held = [np.mean((fit.predict(fit.x_out, s) - fit.y_out) ** 2) for s in t]
    plot_line(right, t, train, label="training error", i=0)
    plot_line(right, t, held, label="held-out error", i=1)
    right.axhline(0.09, color="0.4", linestyle="--", linewidth=2, label="noise floor 0.3² = 0.09")
    right.axvspan(OVERFITTING_STEPS[0], OVERFITTING_STEPS[-1], color="0.9", zorder=0, label="logged checkpoints")
    right.set_xscale("log")
    right.set_yscale("log")
    finish(
        right, title="The gap opens as descent continues", xlabel="gradient-descent steps", ylabel="mean squared error"
    )
    return fig


VERDICT_COLOURS = {"ok": "#009E73", "warn": "#E69F00", "flag": "#D55E00"}


def monitor_table_figure(reports: Mapping[str, Report], title: str = "Collapse monitor verdicts") -> plt.Figure:
    """One column per candidate (``reports`` maps a name to its :class:`~collapse_edu.monitor.Report`),
    one row per symptom; each cell shows candidate / expected, coloured (and lettered) by verdict."""
    if not reports:
        raise ValueError("reports must hold at least one report")
    names = list(reports)
    symptoms = [s.name for s in next(iter(reports.values())).symptoms]
    fig, (ax,) = new_figure(width=2.1 * len(names) + 3.5, height=0.55 * len(symptoms) + 1.8)
    for col, name in enumerate(names):
        for row, symptom in enumerate(symptoms):
            s = reports[name][symptom]
            ax.add_patch(plt.Rectangle((col, row), 1, 1, color=VERDICT_COLOURS[s.verdict], alpha=0.85))
            shown = f"{s.value / s.expected:.2f}" if s.expected else f"{s.value:.2g} (exp. 0)"
            text = f"{shown}\n{s.verdict.upper()}"
            ax.text(col + 0.5, row + 0.5, text, ha="center", va="center", fontsize=10, color="black")
    ax.set_xlim(0, len(names))
    ax.set_ylim(len(symptoms), 0)
    ax.set_xticks(np.arange(len(names)) + 0.5, names)
    ax.set_yticks(np.arange(len(symptoms)) + 0.5, symptoms)
    ax.grid(False)
    ax.tick_params(length=0)
    handles = [plt.Rectangle((0, 0), 1, 1, color=VERDICT_COLOURS[v]) for v in VERDICTS]
    ax.legend(handles, VERDICTS, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="verdict")
    ax.set_title(title + "\n(cell: candidate / what a fresh real sample gives, and the verdict)")
    return fig
