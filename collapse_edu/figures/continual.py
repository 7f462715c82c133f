"""Figures of lesson 08: catastrophic forgetting on split digits (accuracy matrices and curves)."""

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
#: Theory lines: black dashed, drawn above the simulated series they may coincide with.
THEORY_LINE = {"color": "black", "zorder": 5, **THEORY_STYLE, "linewidth": 1.6}


def side_by_side(x: np.ndarray, n: int, count: int, step: float) -> np.ndarray:
    """``x`` moved sideways for the n-th of ``count`` series drawn side by side (``step`` apart,
    centred on ``x``), so that equal medians stay visible."""
    return np.asarray(x, float) + step * (n - (count - 1) / 2)


def finetune_position(x: np.ndarray, methods: Sequence[str], step: float) -> np.ndarray:
    """Where fine-tuning's markers are drawn (:func:`side_by_side`), so its theory line runs through
    them; ``x`` itself when fine-tuning is not drawn."""
    return side_by_side(x, methods.index("finetune"), len(methods), step) if "finetune" in methods else x


def median_and_range(
    ax: plt.Axes, x: np.ndarray, runs: np.ndarray, *, label: str, i: int, shift: np.ndarray | None = None
) -> None:
    """Median over runs (``runs`` has shape ``(len(x), runs)``) as a line with markers and the full range
    as a vertical bar at every x, both in the colour of series ``i``. ``shift`` moves the series sideways
    (positions to draw at instead of ``x``), so that series with the same values stay visible side by side
    and ranges do not overlap into one muddy band."""
    runs = np.asarray(runs, float)
    at = np.asarray(x if shift is None else shift, float)
    style = series_style(i)
    ax.vlines(at, runs.min(axis=1), runs.max(axis=1), color=style["color"], linewidth=3.2, alpha=0.45)
    ax.plot(at, np.median(runs, axis=1), label=label, markersize=7, **style)


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
        for n, method in enumerate(methods):
            values = _per_seed(by_key, method, scenario, column)
            shift = side_by_side(tasks, n, len(methods), 0.09)
            median_and_range(ax, tasks, values, label=METHOD_LABELS[method], i=METHODS.index(method), shift=shift)
        theory_at = finetune_position(tasks, methods, 0.09)
        if column is None and scenario == "class-incremental":
            ax.plot(theory_at, class_incremental_finetune_prediction(tasks), **THEORY_LINE,
                    label="theory, fine-tuning: 1 / tasks seen")  # fmt: skip
        elif column is not None and scenario == "class-incremental":
            forgotten = np.where(tasks - 1 > column, 0.0, np.nan)
            forgotten[column] = 1.0
            ax.plot(theory_at, forgotten, **THEORY_LINE, label="theory, fine-tuning: forgets all")
        chance = 0.5 if scenario == "task-incremental" else 1.0 / (2 * tasks)
        ax.plot(tasks, np.broadcast_to(chance, tasks.shape), color="0.45", linestyle=(0, (1, 2.5)), marker="", lw=2,
                label="chance")  # fmt: skip
        ax.set_xticks(tasks)
        ax.set_ylim(-0.03, 1.03)
        what = "average accuracy on tasks seen" if column is None else f"accuracy on task {column + 1}"
        spread = f"{seeds} seeds: median, bar = range" if seeds > 1 else "one seed"
        finish(ax, title=f"{scenario} ({spread})", xlabel="tasks trained so far", ylabel=what, legend=False)
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


#: Where each sweep's symmetric-log x axis turns from linear to logarithmic, and its ticks.
_SWEEP_AXES = {
    "k": (1.0, (0, 1, 2, 5, 10, 20, 50), "stored examples per class, $k$"),
    "ewc_lambda": (10.0, (0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8), r"EWC strength $\lambda$"),
}


def _power_text(value: float) -> str:
    """A setting as a reader writes it: $10^{5}$ for a power of ten, else plain (0, 3000, 2.5e+07)."""
    exponent = round(float(np.log10(value))) if value > 0 else None
    return f"$10^{{{exponent}}}$" if exponent is not None and np.isclose(value, 10.0**exponent) else f"{value:g}"


def _sweep_axis(ax: plt.Axes, name: str, values: Sequence[float]) -> None:
    """A numeric x axis for a sweep that starts at 0: linear up to the first non-zero setting, logarithmic
    beyond (``symlog``), so that 0, 1, 2, 5, ... or 0, 10, 100, ... sit where their values put them."""
    threshold, ticks, label = _SWEEP_AXES[name]
    ax.set_xscale("symlog", linthresh=threshold, linscale=0.6)
    shown = [t for t in ticks if t <= max(values)]
    if name == "k":
        labels = [str(int(t)) for t in shown]
    else:
        labels = [_power_text(t) for t in shown]
    ax.set_xticks(shown, labels)
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlim(-0.15 * threshold, max(values) * 1.6)
    ax.set_xlabel(label)


def sweep_matrices(summary: Mapping, key: str, scenario: str) -> np.ndarray:
    """R of every run of a sweep (``"k_sweep"`` or ``"lambda_sweep"``) as an array (settings, seeds, T, T)."""
    key = check_choice("key", key, ("k_sweep", "lambda_sweep"))
    scenario = check_choice("scenario", scenario, SCENARIOS)
    return np.asarray(summary[key]["matrices"][scenario], float)


def sweeps(summary: Mapping) -> plt.Figure:
    """Final average accuracy against the replay buffer size k (left) and the EWC strength lambda (right),
    median and range over the seeds of the multi-seed summary (``benchmarks/continual_seeds.py``).

    Both x axes are numeric (symmetric-log: linear from 0 to the first non-zero setting, then
    logarithmic), so the settings sit at their values, not at equal steps."""
    fig, (left, right) = new_figure(2, width=12.5, height=4.9, sharey=True)
    for ax, key, name in ((left, "k_sweep", "k"), (right, "lambda_sweep", "ewc_lambda")):
        sweep = summary[key]
        values = np.asarray(sweep[name], float)
        for i, scenario in enumerate(SCENARIOS):
            finals = sweep_matrices(summary, key, scenario)[..., -1, :].mean(axis=-1)  # (settings, seeds)
            plot_band(ax, values, finals, label=scenario, i=i, quantiles=(0.0, 1.0))
        ax.axhline(1 / 5, color=OKABE_ITO[1], **THEORY_STYLE, label="theory, no protection: 1/5")
        _sweep_axis(ax, name, values)
        ax.set_ylim(0, 1.03)
        seeds = len(sweep[SCENARIOS[0]][0])
        method = "replay" if name == "k" else "EWC"
        ax.set_title(f"{method}, {seeds} seeds (median and range)")
        ax.set_ylabel("final average accuracy")
        ax.legend(loc="center right" if name == "k" else "center left")
    right.set_ylabel("")
    return fig


def ewc_stiffness(summary: Mapping) -> plt.Figure:
    """EWC against lambda in the task-incremental scenario (median and range over seeds): how well task 1
    survives task 2 (stability) and how well the last task is learned (plasticity), with fine-tuning's
    values (lambda = 0) as the reference at the left edge."""
    stack = sweep_matrices(summary, "lambda_sweep", "task-incremental")  # (lambdas, seeds, T, T)
    values = np.asarray(summary["lambda_sweep"]["ewc_lambda"], float)
    fig, (ax,) = new_figure(1, width=8.5, height=5.2)
    series = (  # colours that mean no method elsewhere, except EWC's own final average (EWC's vermillion)
        ("task 1 after learning task 2", stack[:, :, 1, 0], 5),
        ("last task, just learned", stack[:, :, -1, -1], 7),
        ("average over all tasks at the end", stack.mean(axis=-1)[:, :, -1], 1),
    )
    threshold = _SWEEP_AXES["ewc_lambda"][0]
    leftmost = 0.0
    for n, (label, values_by_seed, i) in enumerate(series):
        # side by side on the symmetric-log axis: a fixed step in the linear part, a fixed factor in the log part
        shift = np.where(values >= threshold, values * 10 ** (0.09 * (n - 1)), values + 0.15 * threshold * (n - 1))
        median_and_range(ax, values, values_by_seed, label=label, i=i, shift=shift)
        leftmost = min(leftmost, float(np.min(shift)))
    _sweep_axis(ax, "ewc_lambda", values)
    # room left of the leftmost marker (fine-tuning's task 1, shifted below lambda = 0): whole, off the y axis
    ax.set_xlim(left=leftmost - 0.3 * threshold)
    low = min(np.min(v) for _, v, _ in series)
    ax.set_ylim(np.floor(20 * low) / 20 - 0.02, 1.01)
    seeds = stack.shape[1]
    ax.set_title(f"EWC, task-incremental, {seeds} seeds (median; bar = range)")
    ax.set_ylabel("test accuracy")
    fig.legend(loc="outside lower center", ncols=3, fontsize=11)
    return fig


@lru_cache(maxsize=32)
def _cached_run(method: str, scenario: str, ewc_lambda: float, k: int, seed: int) -> ContinualResult:
    settings = {"ewc_lambda": ewc_lambda} if method == "ewc" else {"k": k} if method == "replay" else {}
    return run_continual(method, scenario, seed=seed, **settings)


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
        "ewc": rf", $\lambda$ = {_power_text(settings.get('ewc_lambda', 0))}",
        "replay": f", k = {settings.get('k')}",
    }
    draw_matrix(left, R, title=f"{METHOD_LABELS[method]}{setting.get(method, '')}")
    tasks = np.arange(1, len(R) + 1)
    right.plot(tasks, average_accuracy(R), label="average over tasks seen", **series_style(0))
    right.plot(tasks, R[:, 0], label="task 1 (digits 0/1)", **series_style(2))
    if scenario == "class-incremental":
        right.plot(tasks, class_incremental_finetune_prediction(tasks), **THEORY_LINE,
                   label="theory, fine-tuning: 1 / tasks seen")  # fmt: skip
    right.set_xticks(tasks)
    right.set_ylim(-0.03, 1.03)
    final, forgot, bwt = average_accuracy(R)[-1], average_forgetting(R), backward_transfer(R)
    summary = f"final avg {final:.2f}, forgetting {forgot:.2f}, BWT {bwt:+.2f}"
    title = f"{scenario}, seed {settings.get('seed')}\n{summary}"
    where = "upper right" if scenario == "class-incremental" else "lower left"  # away from the curves
    finish(right, title=title, xlabel="tasks trained so far", ylabel="test accuracy", loc=where)
    return fig
