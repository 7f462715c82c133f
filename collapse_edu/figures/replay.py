"""Figures of generative replay (precomputed over seeds by ``benchmarks/generative_replay.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..continual import average_accuracy, class_incremental_finetune_prediction
from ..plots import OKABE_ITO, THEORY_STYLE, finish, image_grid, new_figure, plot_band
from ..replay import ReplayResult, earlier_share, fair_share_distance

#: Methods of the summary, in drawing order, and their labels.
REPLAY_METHODS = ("finetune", "replay", "generative", "generative-real", "joint")
REPLAY_LABELS = {
    "finetune": "fine-tuning",
    "replay": "exact replay (10 real images per class)",
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
    """What the generator replays while each task t >= 2 is learned, as a classifier trained on real digits
    sees it, median over seeds with the range: (left) the share of replayed samples it assigns to an earlier
    digit (:func:`~collapse_edu.replay.earlier_share`), (middle) the distance of the replayed class mix from
    the fair mix (:func:`~collapse_edu.replay.fair_share_distance`), (right) its mean top probability."""
    runs = summary["runs"]
    fig, axes = new_figure(3, width=15, height=4.9)
    for i, method in enumerate(methods):
        if method not in runs or "replay_shares" not in runs[method]:
            raise ValueError(f"methods must be generative runs of the summary; got {method!r}")
        shares = np.asarray(runs[method]["replay_shares"], float)  # (seeds, T, 10)
        T = shares.shape[1]
        tasks = np.arange(2, T + 1)
        label = REPLAY_LABELS.get(method, method)
        for ax, values in zip(axes, (earlier_share(shares), fair_share_distance(shares),
                                     np.asarray(runs[method]["replay_confidence"], float)), strict=True):  # fmt: skip
            plot_band(ax, tasks, values[:, 1:].T, label=label, i=i + 2, quantiles=(0.0, 1.0))
    for ax in axes:
        ax.set_xticks(tasks, [f"{t}\n(+{TASK_DIGITS[t - 1]})" for t in tasks])
    axes[0].set_ylim(0.75, 1.0)
    axes[1].set_ylim(0, 0.3)
    axes[2].set_ylim(0.5, 0.85)
    finish(axes[0], title="Replay recognised as an earlier digit", xlabel="task being learned (new digits)",
           ylabel="share of replayed samples", legend=False)  # fmt: skip
    finish(axes[1], title="Class mix: distance from fair shares", xlabel="task being learned (new digits)",
           ylabel="total variation distance", legend=False)  # fmt: skip
    finish(axes[2], title="Classifier's confidence in the replay", xlabel="task being learned (new digits)",
           ylabel="mean top probability", legend=False)  # fmt: skip
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=11)
    return fig


def replay_examples(result: ReplayResult) -> plt.Figure:
    """The first replayed images of each task t >= 2 of one run, each with the label a classifier trained
    on real digits gives it (red: not one of the earlier digits the generator should replay)."""
    if not isinstance(result, ReplayResult):
        raise TypeError(f"result must be a ReplayResult from run_generative_replay(), got {type(result).__name__}")
    T, k = result.example_labels.shape
    per = 10 // T
    cols = (k + 1) // 2
    fig, axes = new_figure(T - 1, width=3.4 * (T - 1), height=2.9)
    for t, ax in zip(range(1, T), axes, strict=True):
        image_grid(ax, result.examples[t].reshape(-1, 8, 8), rows=2, cols=cols,
                   title=f"learning task {t + 1}: replays 0-{per * t - 1}")  # fmt: skip
        for index, label in enumerate(result.example_labels[t]):
            r, c = divmod(index, cols)
            ax.text(c * 9 + 7.4, r * 9 + 7.4, str(label), ha="right", va="bottom", fontsize=9, fontweight="bold",
                    color=OKABE_ITO[1] if label >= per * t else OKABE_ITO[0])  # fmt: skip
        ax.spines[:].set_visible(False)
    return fig
