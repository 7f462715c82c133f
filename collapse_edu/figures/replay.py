"""Figures of generative replay (precomputed over seeds by ``benchmarks/generative_replay.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..continual import average_accuracy, class_incremental_finetune_prediction
from ..plots import OKABE_ITO, finish, new_figure, plot_band
from ..replay import ReplayResult, earlier_share, fair_share_distance
from .continual import THEORY_LINE, finetune_position, median_and_range, side_by_side

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
#: Series colour of each method (house-style index), the same as in lesson 08's other figures where the method
#: appears there (fine-tuning blue, replay green, joint pink); the generators get colours no other method uses.
REPLAY_COLOURS = {"finetune": 0, "replay": 2, "generative": 4, "generative-real": 5, "joint": 3}


def replay_accuracy(summary: Mapping, methods: Sequence[str] = REPLAY_METHODS) -> plt.Figure:
    """Class-incremental average accuracy over the tasks seen (left; middle: the same without fine-tuning, on a
    zoomed axis) and accuracy on the first task, digits 0/1 (right), after each task: median over seeds with
    the range as a bar, the methods side by side; fine-tuning's prediction 1/(tasks seen) dashed."""
    runs = summary["runs"]
    fig, (left, zoom, right) = new_figure(3, width=16, height=5.2)
    seeds = len(summary["seeds"])
    lowest = 1.0
    for n, method in enumerate(methods):
        if method not in runs:
            raise ValueError(f"methods must be among {', '.join(runs)}; got {method!r}")
        matrices = np.asarray(runs[method]["R"], float)  # (seeds, T, T)
        tasks = np.arange(1, matrices.shape[1] + 1)
        label, i = REPLAY_LABELS.get(method, method), REPLAY_COLOURS.get(method, n)
        shift = side_by_side(tasks, n, len(methods), 0.08)
        average = np.stack([average_accuracy(R) for R in matrices]).T
        median_and_range(left, tasks, average, label=label, i=i, shift=shift)
        if method != "finetune":
            median_and_range(zoom, tasks, average, label=label, i=i, shift=shift)
            lowest = min(lowest, float(average.min()))
        median_and_range(right, tasks, matrices[:, :, 0].T, label=label, i=i, shift=shift)
    left.plot(finetune_position(tasks, methods, 0.08), class_incremental_finetune_prediction(tasks), **THEORY_LINE,
              label="theory, fine-tuning: 1 / tasks seen")  # fmt: skip
    for ax in (left, zoom, right):
        ax.set_xticks(tasks)
    left.set_ylim(-0.03, 1.03)
    right.set_ylim(-0.03, 1.03)
    zoom.set_ylim(np.floor(20 * lowest) / 20 - 0.01, 1.005)
    finish(left, title=f"Class-incremental, {seeds} seeds (median; bar = range)", xlabel="tasks trained so far",
           ylabel="average accuracy on tasks seen", legend=False)  # fmt: skip
    finish(zoom, title="The same, zoomed (without fine-tuning)", xlabel="tasks trained so far",
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
            plot_band(ax, tasks, values[:, 1:].T, label=label, i=REPLAY_COLOURS.get(method, i + 2),
                      quantiles=(0.0, 1.0))  # fmt: skip
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
    on real digits gives it, under the image (vermillion: not one of the earlier digits the generator should
    replay)."""
    if not isinstance(result, ReplayResult):
        raise TypeError(f"result must be a ReplayResult from run_generative_replay(), got {type(result).__name__}")
    T, k = result.example_labels.shape
    per = 10 // T
    cols = (k + 1) // 2
    fig, axes = new_figure(T - 1, width=3.4 * (T - 1), height=3.3)
    fig.get_layout_engine().set(wspace=0.15)  # a gap between the tasks' blocks, which would read as one strip
    gap_x, gap_y = 2, 5  # pixels between images; the label sits in the white strip under its image
    for t, ax in zip(range(1, T), axes, strict=True):
        images = result.examples[t].reshape(-1, 8, 8)
        canvas = np.full((2 * (8 + gap_y), cols * (8 + gap_x) - gap_x), np.nan)
        for index, image in enumerate(images[: 2 * cols]):
            r, c = divmod(index, cols)
            canvas[r * (8 + gap_y) : r * (8 + gap_y) + 8, c * (8 + gap_x) : c * (8 + gap_x) + 8] = image
        ax.imshow(canvas, cmap="gray_r", interpolation="nearest")
        for index, label in enumerate(result.example_labels[t]):
            r, c = divmod(index, cols)
            ax.text(c * (8 + gap_x) + 3.5, r * (8 + gap_y) + 9.9, str(label), ha="center", va="center", fontsize=10,
                    fontweight="bold", color=OKABE_ITO[1] if label >= per * t else OKABE_ITO[0])  # fmt: skip
        ax.set_title(f"learning task {t + 1}: replays 0-{per * t - 1}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.spines[:].set_visible(False)
    return fig
