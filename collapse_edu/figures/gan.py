"""Figures of lesson 07: GAN mode collapse on 2-D mixtures (samples, snapshots, mode occupancy)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from ..gan import METHODS, GANRun, Target, cached_run, make_target
from ..plots import OKABE_ITO, finish, legend_below, new_figure, series_style
from ..validation import check_int

SAMPLE_COLOR = OKABE_ITO[0]
MODE_COLOR = OKABE_ITO[1]


SAMPLE_ZORDER = 4  # samples above the mode markers, so a cloud sitting on a mode stays visible
MODE_ZORDER = 3
SHARE_LABEL = "share of samples nearest each mode"
COLORBAR_PAD = 0.14  #: room between a heat map and its colour bar for the right-hand axis of last shares


def draw_target(ax: plt.Axes, target: Target, *, label: bool = True, numbers: bool = False) -> None:
    """The true modes as thin crosses, each with its 3-std 'high quality' circle; ``numbers`` writes each
    mode's index (the rows of the occupancy plots) next to it."""
    ax.scatter(
        *target.modes.T,
        marker="x",
        s=50,
        color=MODE_COLOR,
        linewidths=1.2,
        zorder=MODE_ZORDER,
        label="true modes (3-std circle)" if label else None,
    )
    for centre in target.modes:
        ax.add_patch(Circle(centre, 3 * target.std, fill=False, color=MODE_COLOR, linewidth=1.2, zorder=MODE_ZORDER))
    if numbers:
        # outwards from the centre of the target (grid: up and to the right), clear of the cross
        for k, centre in enumerate(target.modes):
            norm = np.linalg.norm(centre)
            direction = centre / norm if target.name == "ring" and norm > 0 else np.array([0.6, 0.6])
            ax.annotate(str(k), centre, xytext=14 * direction, textcoords="offset points", ha="center",
                        va="center", fontsize=9, color="0.25")  # fmt: skip
    limit = np.abs(target.modes).max() * 1.35 + 0.2
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")


def draw_samples(
    ax: plt.Axes,
    samples: np.ndarray,
    target: Target,
    *,
    title: str,
    real: bool = False,
    numbers: bool = False,
) -> None:
    """Generated (or ``real``) samples as small dots drawn over the true modes, on equal axes (the
    figure places the legend, below its panels: inside one it would cover a mode)."""
    label = "real samples" if real else "generated samples"
    ax.scatter(*samples.T, s=8 if real else 4, alpha=0.5 if real else 0.35, color=SAMPLE_COLOR, linewidths=0,
               label=label, zorder=SAMPLE_ZORDER)  # fmt: skip
    draw_target(ax, target, numbers=numbers)
    finish(ax, title=title, xlabel="x1", ylabel="x2", legend=False)


def _modes_captured(report: dict, strict: bool = False) -> str:
    """'N modes captured' (>= 1 high-quality sample); ``strict`` adds the count with >= 20 in brackets."""
    modes = report["modes"]
    also = f" ({report['modes_strict']} with >= 20 HQ)" if strict else ""
    return f"{modes} mode{'' if modes == 1 else 's'} captured{also}"


def _summary(report: dict) -> str:
    return f"{_modes_captured(report)}, {100 * report['high_quality']:.0f}% HQ"


def _readable_legend(legend) -> None:
    """Legend dots for the samples at a readable size (the plotted dots are tiny and faint)."""
    for handle in legend.legend_handles:
        if getattr(handle, "get_paths", None) and handle.get_label() != "" and len(handle.get_sizes()):
            if handle.get_sizes()[0] < 20:
                handle.set_sizes([30])
                handle.set_alpha(1)


def _zoom(ax: plt.Axes, samples: np.ndarray, target: Target, mode: int, bounds: tuple) -> None:
    """An inset (at ``bounds``, axes coordinates) that magnifies one mode: its samples, its cross and its
    3-std circle at a readable size."""
    centre, half = target.modes[mode], 5 * target.std
    inset = ax.inset_axes(bounds)
    for spine in inset.spines.values():
        spine.set_visible(True)
    near = np.abs(samples - centre).max(axis=1) < half
    inset.scatter(*samples[near].T, s=4, alpha=0.5, color=SAMPLE_COLOR, linewidths=0, zorder=2)
    inset.scatter(*centre, marker="x", s=60, color=MODE_COLOR, linewidths=1.5, zorder=MODE_ZORDER)
    inset.add_patch(Circle(centre, 3 * target.std, fill=False, color=MODE_COLOR, linewidth=1.5, zorder=MODE_ZORDER))
    inset.set_xlim(centre[0] - half, centre[0] + half)
    inset.set_ylim(centre[1] - half, centre[1] + half)
    inset.set_aspect("equal")
    inset.set_xticks([])
    inset.set_yticks([])
    inset.grid(False)
    inset.set_title(f"mode {mode}, magnified\n(box {2 * half:g} wide)", fontsize=10.5, pad=3)


def targets_figure(n: int = 2000, seed: int = 0) -> plt.Figure:
    """The two benchmark targets: real samples of the ring of 8 and of the 5 x 5 grid."""
    fig, axes = new_figure(2, width=11, height=5.6)
    for ax, name in zip(axes, ("ring", "grid"), strict=True):
        target = make_target(name)
        spacing = "radius 2" if name == "ring" else "spacing 2"
        title = f"{name}: {target.n_modes} modes, {spacing}, std {target.std}"
        samples = target.sample(n, seed)
        draw_samples(ax, samples, target, title=title, real=True, numbers=True)
    # the ring's empty centre shows one mode magnified: the real samples, the cross and the 3-std circle
    _zoom(axes[0], samples=make_target("ring").sample(n, seed), target=make_target("ring"), mode=0,
          bounds=(0.34, 0.34, 0.32, 0.32))  # fmt: skip
    handles, labels = axes[0].get_legend_handles_labels()
    _readable_legend(fig.legend(handles, labels, loc="outside lower center", ncols=2))
    return fig


def compare_final(runs: Sequence[GANRun], labels: Sequence[str] | None = None) -> plt.Figure:
    """Final samples of several runs side by side, each titled with modes captured and high-quality %."""
    if not runs:
        raise ValueError("runs must hold at least one GANRun")
    labels = labels or [f"{r.settings['method']}, seed {r.settings['seed']}" for r in runs]
    fig, axes = new_figure(len(runs), width=5.2 * len(runs), height=5.8)
    for ax, run, label in zip(axes, runs, labels, strict=False):
        draw_samples(ax, run.samples, run.target, title=f"{label}\n{_summary(run.report())}")
    handles, labels = axes[0].get_legend_handles_labels()
    _readable_legend(fig.legend(handles, labels, loc="outside lower center", ncols=2))
    return fig


def snapshot_grid(run: GANRun, n_panels: int = 8) -> plt.Figure:
    """Generated samples at ``n_panels`` moments of one run (same noise every time), each titled with the share
    of samples nearest to the most popular mode and the high-quality share (within 3 std of the nearest mode)."""
    n_panels = check_int("n_panels", n_panels, minimum=1, maximum=len(run.steps))
    pick = np.unique(np.round(np.linspace(0, len(run.steps) - 1, n_panels)).astype(int))
    occupancy = run.occupancy()
    on_mode = run.occupancy(quality_only=True).sum(axis=1)
    cols = min(4, len(pick))
    rows = int(np.ceil(len(pick) / cols))
    fig, axes = new_figure(cols, rows, width=3.4 * cols, height=3.5 * rows, sharex=True, sharey=True)
    for i, (ax, index) in enumerate(zip(axes, pick, strict=False)):
        ax.scatter(*run.snapshots[index].T, s=3, alpha=0.35, color=SAMPLE_COLOR, linewidths=0, zorder=SAMPLE_ZORDER,
                   label="generated samples")  # fmt: skip
        draw_target(ax, run.target, label=True, numbers=i == 0)
        if i % cols == 0:
            ax.set_ylabel("x2")
        if i >= len(pick) - cols:
            ax.set_xlabel("x1")
        top = occupancy[index].max()
        # "nearest": a sample counts for its nearest mode even when it sits far from it; HQ says how many are on one
        title = f"step {run.steps[index]}: {100 * top:.0f}% nearest one mode\n{100 * on_mode[index]:.0f}% high quality"
        ax.set_title(title, fontsize=10)
    for ax in axes[len(pick) :]:
        ax.set_visible(False)
    s = run.settings
    fig.suptitle(f"{s['method']} GAN on the {s['target']}, seed {s['seed']}: samples during training", fontsize=13)
    handles, labels = axes[0].get_legend_handles_labels()
    _readable_legend(fig.legend(handles, labels, loc="outside lower center", ncols=2))
    return fig


def _occupancy_image(ax: plt.Axes, run: GANRun):
    """Heat map of the share of samples nearest to each mode (rows) at each snapshot (columns), on a fixed
    0-1 colour scale. Every sample counts for its nearest mode, also one far from every mode."""
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
        vmax=1,  # one scale for every run, so two heat maps can be compared
        interpolation="nearest",
    )
    ax.grid(False)
    # the last snapshot's shares, one per row, on the right: small differences (12% against 14%) are
    # hard to read off the colour scale, which has to hold 100% too
    last = ax.secondary_yaxis("right")
    last.set_yticks(range(run.target.n_modes), labels=[f"{share:.0%}" for share in occupancy[-1]])
    last.set_ylabel("share at the last step")
    return image


def occupancy_figure(run: GANRun) -> plt.Figure:
    """Which modes the generator occupies over training (share of samples nearest to each mode),
    next to modes captured over training."""
    # the heat map and its colour bar take the wider share, so no gap opens between the two panels
    fig, (left, right) = new_figure(2, width=12, height=4.4, gridspec_kw={"width_ratios": [1.45, 1]})
    image = _occupancy_image(left, run)
    fig.colorbar(image, ax=left, label=SHARE_LABEL, pad=COLORBAR_PAD)
    left.set_yticks(range(run.target.n_modes))
    finish(left, title="Nearest mode of each sample, over training", xlabel="training step", ylabel="mode index",
           legend=False)  # fmt: skip
    # the two counts often coincide: the first thick underneath, the second thin on top, so both show
    for i, (min_count, width) in enumerate(((1, 4.0), (20, 1.8))):
        right.step(
            run.steps,
            run.modes_over_training(min_count),
            where="mid",
            linewidth=width,
            zorder=2 + i,
            label=f">= {min_count} high-quality sample{'s' if min_count > 1 else ''}",
            **{k: v for k, v in series_style(i).items() if k not in ("marker", "linewidth")},
        )
    right.axhline(run.target.n_modes, color="0.4", linestyle=":", label=f"all {run.target.n_modes} modes")
    right.set_ylim(-0.3, run.target.n_modes + 0.7)
    right.set_yticks(np.unique(np.linspace(0, run.target.n_modes, 5).round()))
    finish(right, title="Modes captured over training", xlabel="training step", ylabel="modes captured",
           legend=False)  # fmt: skip
    # below the axes: inside, it would cover the curves
    legend_below(right, fontsize=10)
    return fig


def gan_playground(
    method: str = "vanilla",
    width: int = 64,
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    steps: int = 2000,
    seed: int = 0,
    target: str = "ring",
    d_steps: int = 3,
) -> plt.Figure:
    """Train one GAN (remembered, so a repeat is instant) and show final samples and mode occupancy."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    run = cached_run(target, method, width, float(lr_g), float(lr_d), int(steps), int(seed), int(d_steps), "training")
    fig, (left, right) = new_figure(2, width=12, height=5.0, gridspec_kw={"width_ratios": [1, 1.5]})
    report = run.report()
    # two short lines, so the title stays above its own panel
    title = f"{method}, width {width}: {100 * report['high_quality']:.0f}% HQ\n{_modes_captured(report, strict=True)}"
    draw_samples(left, run.samples, run.target, title=title, numbers=True)
    image = _occupancy_image(right, run)
    fig.colorbar(image, ax=right, label=SHARE_LABEL, pad=COLORBAR_PAD / 1.5)  # this heat map is 1.5 times as wide
    right.set_yticks(range(run.target.n_modes))
    finish(
        right,
        title=f"Nearest mode of each sample\nlr_g {lr_g:g}, lr_d {lr_d:g}, {d_steps} D updates per step",
        xlabel="training step",
        ylabel="mode index",
        legend=False,
    )
    return fig
