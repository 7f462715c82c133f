"""Figures of generative replay (precomputed over seeds by ``benchmarks/generative_replay.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..continual import average_accuracy, class_incremental_finetune_prediction
from ..plots import OKABE_ITO, THEORY_STYLE, finish, new_figure, plot_band

#: Methods of the summary, in drawing order, and their labels.
REPLAY_METHODS = ("finetune", "replay", "generative", "generative-real", "joint")
REPLAY_LABELS = {
    "finetune": "fine-tuning",
    "replay": "exact replay (k stored per class)",
    "generative": "generative replay (generator learns from its own samples)",
    "generative-real": "generative replay, generator on all real data (control)",
    "joint": "joint (upper bound)",
}
TASK_DIGITS = ("0/1", "2/3", "4/5", "6/7", "8/9")


def replay_accuracy(summary: Mapping, methods: Sequence[str] = REPLAY_METHODS) -> plt.Figure:
    """Class-incremental average accuracy over the tasks seen (left) and accuracy on the first task,
    digits 0/1 (right), after each task: median over seeds with the range, fine-tuning's prediction
    1/(tasks seen) dashed."""
    runs = summary["runs"]
    fig, (left, right) = new_figure(2, width=14, height=5.0, sharey=True)
    seeds = len(summary["seeds"])
    for i, method in enumerate(methods):
        if method not in runs:
            raise ValueError(f"methods must be among {', '.join(runs)}; got {method!r}")
        matrices = np.asarray(runs[method]["R"], float)  # (seeds, T, T)
        tasks = np.arange(1, matrices.shape[1] + 1)
        label = REPLAY_LABELS.get(method, method)
        plot_band(left, tasks, np.stack([average_accuracy(R) for R in matrices]).T, label=label, i=i,
                  quantiles=(0.0, 1.0))  # fmt: skip
        plot_band(right, tasks, matrices[:, :, 0].T, label=label, i=i, quantiles=(0.0, 1.0))
    left.plot(tasks, class_incremental_finetune_prediction(tasks), color=OKABE_ITO[0], **THEORY_STYLE,
              label="theory, fine-tuning: 1 / tasks seen")  # fmt: skip
    for ax in (left, right):
        ax.set_xticks(tasks)
        ax.set_ylim(-0.03, 1.03)
    finish(left, title=f"Class-incremental, {seeds} seeds (median, range)", xlabel="tasks trained so far",
           ylabel="average accuracy on tasks seen", legend=False)  # fmt: skip
    finish(right, title="Accuracy on task 1 (digits 0/1)", xlabel="tasks trained so far", ylabel="test accuracy",
           legend=False)  # fmt: skip
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=11)
    return fig


def replay_classes(summary: Mapping, methods: Sequence[str] = ("generative", "generative-real")) -> plt.Figure:
    """What the generator replays: (left) for each task t >= 2, the share of replayed samples that a
    classifier trained on real digits assigns to the first task's digits 0 and 1, against their fair
    share 2 / (classes seen before); (right) the number of earlier classes the replay still covers
    (at least a fifth of the fair share), median over seeds with the range."""
    runs = summary["runs"]
    fig, (left, right) = new_figure(2, width=14, height=5.0)
    for i, method in enumerate(methods):
        shares = np.asarray(runs[method]["replay_shares"], float)  # (seeds, T, 10)
        T = shares.shape[1]
        tasks = np.arange(2, T + 1)
        first = shares[:, 1:, :2].sum(axis=2).T  # (T - 1, seeds)
        label = REPLAY_LABELS.get(method, method)
        plot_band(left, tasks, first, label=label, i=i + 2, quantiles=(0.0, 1.0))
        coverage = np.asarray(runs[method]["replay_coverage"], float)[:, 1:].T
        plot_band(right, tasks, coverage, label=label, i=i + 2, quantiles=(0.0, 1.0))
    fair = 2.0 / (2 * (tasks - 1))
    left.plot(tasks, fair, color="0.3", linestyle=":", linewidth=2, marker="", label="fair share 2 / earlier classes")
    right.plot(tasks, 2 * (tasks - 1), color="0.3", linestyle=":", linewidth=2, marker="", label="all earlier classes")
    for ax in (left, right):
        ax.set_xticks(tasks, [f"{t}\n(+{TASK_DIGITS[t - 1]})" for t in tasks])
    left.set_ylim(0, 1.05)
    finish(left, title="Replayed samples that are digits 0 or 1", xlabel="task being learned (new digits)",
           ylabel="share of replayed samples", loc="upper right")  # fmt: skip
    finish(right, title="Earlier classes present in the replay", xlabel="task being learned (new digits)",
           ylabel="classes (>= 1/5 of fair share)", loc="upper left")  # fmt: skip
    return fig
