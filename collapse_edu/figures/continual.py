"""Figures of lesson 07: catastrophic forgetting on split digits (accuracy matrices and curves)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np

from ..continual import (
    DEFAULTS,
    METHOD_LABELS,
    METHODS,
    SCENARIOS,
    ContinualResult,
    SplitDigits,
    average_accuracy,
    average_forgetting,
    backward_transfer,
    class_incremental_finetune_prediction,
    run_continual,
)
from ..plots import OKABE_ITO, THEORY_STYLE, finish, image_grid, new_figure, plot_band, series_style
from ..validation import check_choice

#: R matrices grouped by (method, scenario): one (T, T) array per seed.
Matrices = Mapping[tuple[str, str], Sequence[np.ndarray]]
TASK_NAMES = ("0/1", "2/3", "4/5", "6/7", "8/9")


def matrices(source: Mapping | Sequence[ContinualResult]) -> dict[tuple[str, str], list[np.ndarray]]:
    """R matrices by (method, scenario) from results of ``run_grid``/``run_continual`` or from
    :func:`collapse_edu.continual.load_summary` (its ``"runs"`` entry, keys ``"method|scenario"``)."""
    if isinstance(source, Mapping) and "runs" in source:
        source = source["runs"]
    out: dict[tuple[str, str], list[np.ndarray]] = {}
    if isinstance(source, Mapping):
        for key, items in source.items():
            method, scenario = key.split("|") if isinstance(key, str) else key
            out[(method, scenario)] = [np.asarray(r.R if isinstance(r, ContinualResult) else r, float) for r in items]
    else:
        for r in source:
            out.setdefault((r.method, r.scenario), []).append(np.asarray(r.R, float))
    return out


def task_examples(data: SplitDigits, per_task: int = 6) -> plt.Figure:
    """A few training images of every task, in the order the network sees them."""
    fig, axes = new_figure(data.n_tasks, width=2.4 * data.n_tasks, height=2.6)
    for t, ax in enumerate(axes):
        x, y = data.task(t)
        order = np.argsort(y.numpy(), kind="stable")
        pick = np.concatenate([order[y.numpy()[order] == c][: per_task // 2] for c in data.task_classes[t]])
        image_grid(ax, x[pick].numpy().reshape(-1, 8, 8), rows=2, cols=per_task // 2,
                   title=f"task {t + 1}: digits {' and '.join(map(str, data.task_classes[t]))}")  # fmt: skip
        ax.spines[:].set_visible(False)
    return fig


def _task_ticks(ax: plt.Axes, T: int) -> None:
    names = TASK_NAMES if T == 5 else [str(t + 1) for t in range(T)]
    ax.set_xticks(range(T), names)
    ax.set_yticks(range(T), [str(t + 1) for t in range(T)])


def draw_matrix(ax: plt.Axes, R: np.ndarray, *, title: str, annotate: bool = True) -> plt.cm.ScalarMappable:
    """One accuracy matrix as a heat map; cells of tasks not yet trained (j > i) are hatched grey."""
    R = np.asarray(R, float)
    T = len(R)
    shown = np.where(np.triu(np.ones_like(R, bool), 1), np.nan, R)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.92")
    image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1)
    for i in range(T):
        for j in range(T):
            if j > i:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", edgecolor="0.7", lw=0))
            elif annotate:
                value = R[i, j]
                ax.text(j, i, f"{100 * value:.0f}", ha="center", va="center", fontsize=11,
                        color="black" if value > 0.55 else "white")  # fmt: skip
    _task_ticks(ax, T)
    ax.grid(False)
    ax.set_title(title)
    ax.set_xlabel("tested on task (digits)")
    ax.set_ylabel("after training task")
    return image


def accuracy_heatmaps(
    source: Mapping | Sequence[ContinualResult],
    methods: Sequence[str] = METHODS,
    scenarios: Sequence[str] = SCENARIOS,
) -> plt.Figure:
    """Accuracy matrices (in %, first seed), one row per scenario and one column per method."""
    by_key = matrices(source)
    fig, axes = new_figure(len(methods), len(scenarios), width=3.4 * len(methods) + 1.2, height=3.6 * len(scenarios))
    axes = axes.reshape(len(scenarios), len(methods))
    image = None
    for row, scenario in enumerate(scenarios):
        for col, method in enumerate(methods):
            R = by_key[(method, scenario)][0]
            title = f"{METHOD_LABELS[method]}\n{scenario}: avg {average_accuracy(R)[-1]:.2f}"
            image = draw_matrix(axes[row, col], R, title=title)
            if col:
                axes[row, col].set_ylabel("")
            if row < len(scenarios) - 1:
                axes[row, col].set_xlabel("")
    fig.colorbar(image, ax=axes, shrink=0.8, label="test accuracy")
    return fig


def _per_seed(by_key: Matrices, method: str, scenario: str, column: int | None) -> np.ndarray:
    """(tasks, seeds): average accuracy after each task, or accuracy on task ``column``."""
    stack = np.stack(by_key[(method, scenario)])
    return (stack[:, :, column] if column is not None else np.stack([average_accuracy(R) for R in stack])).T


def _curves(
    source: Mapping | Sequence[ContinualResult],
    column: int | None,
    methods: Sequence[str],
    scenarios: Sequence[str],
) -> plt.Figure:
    by_key = matrices(source)
    fig, axes = new_figure(len(scenarios), width=6.2 * len(scenarios), height=4.8, sharey=True)
    for ax, scenario in zip(axes, scenarios, strict=True):
        T = len(by_key[(methods[0], scenario)][0])
        tasks = np.arange(1, T + 1)
        seeds = len(by_key[(methods[0], scenario)])
        for i, method in enumerate(methods):
            values = _per_seed(by_key, method, scenario, column)
            label = METHOD_LABELS[method] + (f" ({seeds} seeds: median, 5-95%)" if seeds > 1 and i == 0 else "")
            plot_band(ax, tasks, values, label=label, i=METHODS.index(method))
        colour = series_style(METHODS.index("finetune"))["color"]
        if column is None and scenario == "class-incremental":
            ax.plot(tasks, class_incremental_finetune_prediction(tasks), color=colour, **THEORY_STYLE,
                    label="theory, fine-tuning: 1 / tasks seen")  # fmt: skip
        elif column is not None and scenario == "class-incremental":
            forgotten = np.where(tasks - 1 > column, 0.0, np.nan)
            forgotten[column] = 1.0
            ax.plot(tasks, forgotten, color=colour, **THEORY_STYLE, label="theory, fine-tuning: forgets all")
        chance = 0.5 if scenario == "task-incremental" else 1.0 / (2 * tasks)
        ax.plot(tasks, np.broadcast_to(chance, tasks.shape), color="0.45", linestyle=(0, (1, 2.5)), marker="", lw=2,
                label="chance")  # fmt: skip
        ax.set_xticks(tasks)
        ax.set_ylim(-0.03, 1.03)
        what = "average accuracy on tasks seen" if column is None else f"accuracy on task {column + 1}"
        finish(ax, title=f"{scenario}", xlabel="tasks trained so far", ylabel=what, legend=False)
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=11)
    return fig


def average_accuracy_curves(
    source: Mapping | Sequence[ContinualResult],
    methods: Sequence[str] = METHODS,
    scenarios: Sequence[str] = SCENARIOS,
) -> plt.Figure:
    """Average accuracy over the tasks seen after each task, per method; one panel per scenario,
    with class-incremental fine-tuning's prediction 1/(tasks seen) dashed."""
    return _curves(source, None, methods, scenarios)


def task_curves(
    source: Mapping | Sequence[ContinualResult],
    task: int = 0,
    methods: Sequence[str] = METHODS,
    scenarios: Sequence[str] = SCENARIOS,
) -> plt.Figure:
    """Forgetting curve of one task (default the first): its test accuracy after each later task."""
    return _curves(source, int(task), methods, scenarios)


def sweeps(summary: Mapping) -> plt.Figure:
    """Final average accuracy against the replay buffer size k and against the EWC strength lambda
    (multi-seed summary from ``benchmarks/continual_seeds.py``)."""
    fig, (left, right) = new_figure(2, width=12.5, height=4.8, sharey=True)
    for ax, key, name, xlabel in (
        (left, "k_sweep", "k", "stored examples per class k"),
        (right, "lambda_sweep", "ewc_lambda", "EWC strength lambda"),
    ):
        sweep = summary[key]
        values = sweep[name]
        x = np.arange(len(values))
        for scenario in SCENARIOS:
            i = 0 if scenario == "task-incremental" else 1
            plot_band(ax, x, np.asarray(sweep[scenario]), label=f"{scenario}", i=i)
        ax.axhline(1 / 5, color=OKABE_ITO[1], **THEORY_STYLE, label="theory, no protection: 1/5")
        labels = [str(v) for v in values] if name == "k" else ["0"] + [f"1e{int(np.log10(v))}" for v in values[1:]]
        ax.set_xticks(x, labels)
        ax.set_ylim(0, 1.03)
        seeds = len(sweep[SCENARIOS[0]][0])
        method = "replay" if name == "k" else "EWC"
        finish(ax, title=f"{method}, {seeds} seeds (median, 5-95%)", xlabel=xlabel, ylabel="final average accuracy")
    return fig


@lru_cache(maxsize=32)
def _cached_run(method: str, scenario: str, ewc_lambda: float, k: int, seed: int) -> ContinualResult:
    return run_continual(method, scenario, ewc_lambda=ewc_lambda, k=k, seed=seed)


def explore(
    method: str = "ewc",
    scenario: str = "task-incremental",
    ewc_lambda: float = DEFAULTS["ewc_lambda"],
    k: int = DEFAULTS["k"],
    seed: int = 0,
) -> plt.Figure:
    """One run (about 1 s): its accuracy matrix and its curves (average accuracy, task 1)."""
    method = check_choice("method", method, METHODS)
    scenario = check_choice("scenario", scenario, SCENARIOS)
    result = _cached_run(method, scenario, float(ewc_lambda), int(k), int(seed))
    return result_figure(result)


def result_figure(result: ContinualResult) -> plt.Figure:
    """One run's accuracy matrix (left) and its curves: average accuracy and task 1 after each task (right)."""
    R, method, scenario, settings = result.R, result.method, result.scenario, result.settings
    fig, (left, right) = new_figure(2, width=12, height=4.9, gridspec_kw={"width_ratios": [1, 1.25]})
    setting = {
        "ewc": f", lambda = {settings.get('ewc_lambda', 0):g}",
        "replay": f", k = {settings.get('k')}",
    }
    draw_matrix(left, R, title=f"{METHOD_LABELS[method]}{setting.get(method, '')}")
    tasks = np.arange(1, len(R) + 1)
    right.plot(tasks, average_accuracy(R), label="average over tasks seen", **series_style(0))
    right.plot(tasks, R[:, 0], label="task 1 (digits 0/1)", **series_style(2))
    if scenario == "class-incremental":
        right.plot(tasks, class_incremental_finetune_prediction(tasks), color=OKABE_ITO[0], **THEORY_STYLE,
                   label="theory, fine-tuning: 1 / tasks seen")  # fmt: skip
    right.set_xticks(tasks)
    right.set_ylim(-0.03, 1.03)
    final, forgot, bwt = average_accuracy(R)[-1], average_forgetting(R), backward_transfer(R)
    summary = f"final avg {final:.2f}, forgetting {forgot:.2f}, BWT {bwt:+.2f}"
    title = f"{scenario}, seed {settings.get('seed')}\n{summary}"
    finish(right, title=title, xlabel="tasks trained so far", ylabel="test accuracy", loc="lower left")
    return fig
