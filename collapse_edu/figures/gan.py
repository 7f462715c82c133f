"""Figures of lesson 07: GAN mode collapse on 2-D mixtures (samples, snapshots, mode occupancy)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from ..gan import METHODS, GANRun, Target, cached_run, make_target
from ..plots import OKABE_ITO, finish, new_figure, series_style
from ..validation import check_int

SAMPLE_COLOR = OKABE_ITO[0]
MODE_COLOR = OKABE_ITO[1]


def draw_target(ax: plt.Axes, target: Target, *, label: bool = True) -> None:
    """The true modes as crosses, each with its 3-std 'high quality' circle."""
    ax.scatter(
        *target.modes.T,
        marker="x",
        s=60,
        color=MODE_COLOR,
        linewidths=2,
        zorder=3,
        label="true modes (3-std circle)" if label else None,
    )
    for centre in target.modes:
        ax.add_patch(Circle(centre, 3 * target.std, fill=False, color=MODE_COLOR, linewidth=1.2, zorder=3))
    limit = np.abs(target.modes).max() * 1.35 + 0.2
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")


def draw_samples(
    ax: plt.Axes, samples: np.ndarray, target: Target, *, title: str, legend: bool = False, real: bool = False
) -> None:
    """Generated (or ``real``) samples as small dots with the true modes, on equal axes."""
    label = "real samples" if real else "generated samples"
    # real samples sit inside the mode markers: draw them on top, a little larger
    ax.scatter(*samples.T, s=8 if real else 4, alpha=0.5 if real else 0.35, color=SAMPLE_COLOR, linewidths=0,
               label=label, zorder=4 if real else 2)  # fmt: skip
    draw_target(ax, target)
    finish(ax, title=title, xlabel="x1", ylabel="x2", legend=legend, loc="upper right")


def _summary(report: dict) -> str:
    modes = report["modes"]
    return f"{modes} mode{'' if modes == 1 else 's'} captured, {100 * report['high_quality']:.0f}% HQ"


def targets_figure(n: int = 2000, seed: int = 0) -> plt.Figure:
    """The two benchmark targets: real samples of the ring of 8 and of the 5 x 5 grid."""
    fig, axes = new_figure(2, width=11, height=5.2)
    for ax, name in zip(axes, ("ring", "grid"), strict=True):
        target = make_target(name)
        spacing = "radius 2" if name == "ring" else "spacing 2"
        title = f"{name}: {target.n_modes} modes, {spacing}, std {target.std}"
        draw_samples(ax, target.sample(n, seed), target, title=title, legend=name == "ring", real=True)
    return fig


def compare_final(runs: Sequence[GANRun], labels: Sequence[str] | None = None) -> plt.Figure:
    """Final samples of several runs side by side, each titled with modes captured and high-quality %."""
    if not runs:
        raise ValueError("runs must hold at least one GANRun")
    labels = labels or [f"{r.settings['method']}, seed {r.settings['seed']}" for r in runs]
    fig, axes = new_figure(len(runs), width=5.2 * len(runs), height=5.4)
    for i, (ax, run, label) in enumerate(zip(axes, runs, labels, strict=False)):
        draw_samples(ax, run.samples, run.target, title=f"{label}\n{_summary(run.report())}", legend=i == 0)
    return fig


def snapshot_grid(run: GANRun, n_panels: int = 8) -> plt.Figure:
    """Generated samples at ``n_panels`` moments of one run (same noise every time)."""
    n_panels = check_int("n_panels", n_panels, minimum=1, maximum=len(run.steps))
    pick = np.unique(np.round(np.linspace(0, len(run.steps) - 1, n_panels)).astype(int))
    occupancy = run.occupancy()
    cols = min(4, len(pick))
    rows = int(np.ceil(len(pick) / cols))
    fig, axes = new_figure(cols, rows, width=3.4 * cols, height=3.5 * rows, sharex=True, sharey=True)
    for ax, index in zip(axes, pick, strict=False):
        ax.scatter(*run.snapshots[index].T, s=3, alpha=0.35, color=SAMPLE_COLOR, linewidths=0)
        draw_target(ax, run.target, label=False)
        top = occupancy[index].max()
        ax.set_title(f"step {run.steps[index]}: {100 * top:.0f}% at one mode", fontsize=12)
    for ax in axes[len(pick) :]:
        ax.set_visible(False)
    s = run.settings
    fig.suptitle(f"{s['method']} GAN on the {s['target']}, seed {s['seed']}: samples during training", fontsize=13)
    return fig


def _occupancy_image(ax: plt.Axes, run: GANRun):
    """Heat map of the share of samples nearest to each mode (rows) at each snapshot (columns)."""
    occupancy = run.occupancy()
    step_width = np.diff(run.steps).min() if len(run.steps) > 1 else 1
    extent = (run.steps[0] - step_width / 2, run.steps[-1] + step_width / 2, -0.5, run.target.n_modes - 0.5)
    image = ax.imshow(
        occupancy.T,
        aspect="auto",
        origin="lower",
        extent=extent,
        cmap="Blues",
        vmin=0,
        vmax=max(occupancy.max(), 1e-9),
        interpolation="nearest",
    )
    ax.grid(False)
    return image


def occupancy_figure(run: GANRun) -> plt.Figure:
    """Which modes the generator occupies over training (share of samples nearest to each mode),
    next to modes captured over training."""
    fig, (left, right) = new_figure(2, width=12, height=4.4)
    image = _occupancy_image(left, run)
    fig.colorbar(image, ax=left, label="share of samples")
    left.set_yticks(range(run.target.n_modes))
    finish(left, title="Mode occupancy over training", xlabel="training step", ylabel="mode index", legend=False)
    for i, min_count in enumerate((1, 20)):
        right.step(
            run.steps,
            run.modes_over_training(min_count),
            where="mid",
            linewidth=2.2,
            label=f">= {min_count} high-quality sample{'s' if min_count > 1 else ''}",
            **{k: v for k, v in series_style(i).items() if k != "marker"},
        )
    right.axhline(run.target.n_modes, color="0.4", linestyle=":", label=f"all {run.target.n_modes} modes")
    right.set_ylim(-0.3, run.target.n_modes + 0.8)
    finish(right, title="Modes captured over training", xlabel="training step", ylabel="modes captured")
    return fig


def gan_playground(
    method: str = "vanilla",
    width: int = 64,
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    steps: int = 3000,
    seed: int = 0,
    target: str = "ring",
) -> plt.Figure:
    """Train one GAN (remembered, so a repeat is instant) and show final samples and mode occupancy."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    run = cached_run(target, method, width, float(lr_g), float(lr_d), int(steps), int(seed))
    fig, (left, right) = new_figure(2, width=12, height=5.0, gridspec_kw={"width_ratios": [1, 1.5]})
    draw_samples(left, run.samples, run.target, title=f"{method}, width {width}: {_summary(run.report())}")
    _occupancy_image(right, run)
    finish(
        right,
        title=f"Mode occupancy (lr_g {lr_g:g}, lr_d {lr_d:g}, {run.seconds:.0f} s)",
        xlabel="training step",
        ylabel="mode index",
        legend=False,
    )
    return fig
