"""Figures of lesson 09 (capstone): the mystery logs, the overfitting warm-up, single-column rules,
monitor verdicts.

Pure functions: parameters in, a matplotlib ``Figure`` out (see :mod:`collapse_edu.capstone`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..capstone import CURVE_NOISE, PolynomialFit, RunLog
from ..monitor import VERDICTS, Report
from ..plots import finish, legend_below, new_figure, plain_log_ticks, plot_line
from ..validation import check_choice

VIEWS = {
    "losses": (("train_loss", "loss on its training data"), ("heldout_loss", "loss on held-out real data")),
    "diversity and quality": (("diversity", "diversity (1 = real)"), ("quality", "quality (1 = real)")),
    "oldest data, shift, synthetic share": (
        ("oldest_score", "score on the oldest data"),
        ("output_shift", "output shift since last checkpoint"),
        ("synthetic_share", "synthetic share found"),
    ),
}
#: what the y axis of each view measures
VIEW_AXES = {
    "losses": "loss",
    "diversity and quality": "relative to real data",
    "oldest data, shift, synthetic share": "score, shift or share (0 to 1)",
}


def _draw_view(ax: plt.Axes, log: RunLog, view: str, legend: bool = True) -> None:
    x = log["checkpoint"]
    for i, (column, label) in enumerate(VIEWS[view]):
        plot_line(ax, x, log[column], label=label, i=i)
    if view == "losses":
        values = np.concatenate([log["train_loss"], log["heldout_loss"]])
        if np.all(values > 0) and values.max() > 20 * values.min():  # a wide range of positive losses
            ax.set_yscale("log")
    elif view == "diversity and quality":
        ax.axhline(1.0, color="0.4", linewidth=1, linestyle="--")
        ax.set_ylim(-0.05, max(1.3, min(4.5, float(np.nanmax(log["diversity"])) * 1.1)))  # markers at 0 whole
    else:
        ax.set_ylim(-0.05, 1.05)
    if legend:
        ax.legend(loc="best", fontsize=10)


def mystery_viewer(logs: Mapping[str, RunLog]) -> Callable[..., plt.Figure]:
    """A figure function ``(label, view) -> Figure`` over exactly these logs (for a widget: it can only
    show the runs it was given, the same ones the table printed)."""
    if not logs or not all(isinstance(log, RunLog) for log in logs.values()):
        raise TypeError("logs must map labels to RunLog objects (from capstone.mystery_runs)")
    labels = tuple(logs)

    def mystery_figure(label: str = labels[0], view: str = "losses") -> plt.Figure:
        """One mystery run, one view of its log."""
        label = check_choice("label", label, labels)
        view = check_choice("view", view, tuple(VIEWS))
        fig, (ax,) = new_figure(width=8, height=4.2)
        _draw_view(ax, logs[label], view)
        scale = " (log scale)" if ax.get_yscale() == "log" else ""
        finish(ax, title=f"Run {label}: {view}", xlabel="checkpoint", ylabel=VIEW_AXES[view] + scale, legend=False)
        return fig

    return mystery_figure


def mysteries_figure(logs: Mapping[str, RunLog]) -> plt.Figure:
    """All mystery runs (columns) in all three views (rows), on shared conventions."""
    if not logs:
        raise ValueError("logs must hold at least one RunLog")
    labels = list(logs)
    fig, axes = new_figure(len(labels), 3, width=3.3 * len(labels) + 1.5, height=9.5)
    axes = np.asarray(axes).reshape(3, len(labels))
    for col, label in enumerate(labels):
        for row, view in enumerate(VIEWS):
            ax = axes[row, col]
            _draw_view(ax, logs[label], view, legend=False)
            ax.set_title(f"Run {label}" if row == 0 else "")
            ax.set_xlabel("checkpoint" if row == 2 else "")
    for row, view in enumerate(VIEWS):
        handles, names = axes[row, 0].get_legend_handles_labels()
        axes[row, -1].legend(handles, names, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        axes[row, 0].set_ylabel(view.replace(" and ", " &\n").replace(", ", ",\n", 1))
    return fig


def overfitting_figure(
    fit: PolynomialFit, steps: Sequence[int], train: Sequence[float], heldout: Sequence[float], shown=(100, 300_000)
) -> plt.Figure:
    """Left: the training points, the truth sin(pi x) and the polynomial after the step counts in
    ``shown``, over the training range. Right: training and held-out mean squared error along the
    descent (``steps``, ``train``, ``heldout``), with the noise floor 0.3^2 (the truth's expected error)
    and the truth's own error on these training points (a noisy estimate of it from few points)."""
    fig, (left, right) = new_figure(2, width=13, height=4.6)
    grid = np.linspace(fit.x.min(), fit.x.max(), 400)
    left.scatter(fit.x, fit.y, color="black", zorder=3, label=f"{len(fit.x)} training points")
    left.plot(
        grid, np.sin(np.pi * grid), color="0.4", linestyle="--", linewidth=2, marker="", label=r"truth $\sin(\pi x)$"
    )
    drawn = [fit.y, np.array([-1.0, 1.0])]  # the points, the truth's range, and every curve shown in full
    for i, t in enumerate(shown):
        drawn.append(fit.predict(grid, t))
        plot_line(left, grid, drawn[-1], label=f"after {t:,} steps", i=i)
    low, high = min(float(v.min()) for v in drawn), max(float(v.max()) for v in drawn)
    left.set_ylim(low - 0.35 * (high - low), high + 0.08 * (high - low))  # room below for the legend
    finish(left, title=f"A degree-{fit.degree} polynomial", xlabel="x", ylabel="y", loc="lower right")
    plot_line(right, steps, train, label="training error", i=0)
    plot_line(right, steps, heldout, label="held-out error", i=1)
    right.axhline(
        CURVE_NOISE**2, color="0.4", linestyle="--", linewidth=2, marker="", label="noise floor $0.3^2 = 0.09$"
    )
    truth_train = float(np.mean((np.sin(np.pi * fit.x) - fit.y) ** 2))
    right.axhline(truth_train, color="0.4", linestyle=":", linewidth=2, marker="",
                  label=f"the truth's error on the training points ({truth_train:.3f})")  # fmt: skip
    right.set_xscale("log")
    right.set_yscale("log")
    low = min(float(np.min(train)), truth_train)
    right.set_ylim(low / 1.5, float(np.max(heldout)) * 1.3)
    plain_log_ticks(right)  # after the limits are set: every part of the axis named
    finish(right, title="Training and held-out error", xlabel="gradient-descent steps", ylabel="mean squared error",
           legend=False)  # fmt: skip
    # below the axes: inside, the legend would cover a curve or need an empty band of the axis above them
    legend_below(right)
    return fig


def single_column_figure(shares: Mapping[str, float], reference: float, cases: int) -> plt.Figure:
    """Bars: the share of ``cases`` each column's best single-column rule gets right, next to the
    reference diagnosis that combines the columns; dashed lines at 1/5 (guessing) and 1/2."""
    names = list(shares)
    fig, (ax,) = new_figure(width=9, height=4.4)
    values = [shares[n] for n in names] + [reference]
    labels = names + ["reference\ndiagnosis"]
    colours = ["#0072B2"] * len(names) + ["#009E73"]
    hatches = [""] * len(names) + ["//"]
    for i, (v, c, h) in enumerate(zip(values, colours, hatches, strict=True)):
        ax.bar(i, v, color=c, hatch=h, edgecolor="black")
        ax.text(i, v + 0.015, f"{v:.0%}", ha="center", va="bottom", fontsize=11)
    ax.axhline(0.2, color="0.4", linestyle=":", linewidth=1.5, label="guessing (1 in 5)")
    ax.axhline(0.5, color="0.4", linestyle="--", linewidth=1.5, label="half right")
    ax.set_xticks(range(len(labels)), [lab.replace("_", " ") for lab in labels], rotation=30, ha="right")
    ax.set_ylim(0, 1.1)
    finish(ax, title=f"Share right on {cases} hidden-seed cases", xlabel="", ylabel="share right", loc="upper left")
    return fig


VERDICT_COLOURS = {"ok": "#009E73", "warn": "#E69F00", "flag": "#D55E00"}


def monitor_table_figure(reports: Mapping[str, Report], title: str = "Collapse monitor verdicts") -> plt.Figure:
    """One column per candidate (``reports`` maps a name to its :class:`~collapse_edu.monitor.Report`),
    one row per symptom; each cell shows candidate / expected, coloured (and lettered) by verdict."""
    if not reports:
        raise ValueError("reports must hold at least one report")
    names = list(reports)
    rows = next(iter(reports.values())).symptoms
    fig, (ax,) = new_figure(width=2.1 * len(names) + 3.5, height=0.55 * len(rows) + 1.8)
    for col, name in enumerate(names):
        for row, symptom in enumerate(rows):
            s = reports[name][symptom.name]
            ax.add_patch(plt.Rectangle((col, row), 1, 1, color=VERDICT_COLOURS[s.verdict], alpha=0.85))
            shown = f"{s.value / s.expected:.2f}" if s.expected else f"{s.value:.2g} (exp. 0)"
            text = f"{shown}\n{s.verdict.upper()}"
            ax.text(col + 0.5, row + 0.5, text, ha="center", va="center", fontsize=10, color="black")
    ax.set_xlim(0, len(names))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks(np.arange(len(names)) + 0.5, names)
    ax.set_yticks(np.arange(len(rows)) + 0.5, [s.ratio_name for s in rows])
    ax.grid(False)
    ax.tick_params(length=0)
    handles = [plt.Rectangle((0, 0), 1, 1, color=VERDICT_COLOURS[v]) for v in VERDICTS]
    ax.legend(handles, VERDICTS, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="verdict")
    ax.set_title(title + "\n(cell: candidate / what a fresh real sample gives, and the verdict)")
    return fig
