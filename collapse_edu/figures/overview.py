"""Figures of lesson 00 (start here): a widget check, the loop picture, the four failure modes.

Pure functions: parameters in, a matplotlib ``Figure`` out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import theory
from ..gaussian import simulate_gaussian
from ..loop import POLICIES
from ..plots import OKABE_ITO, finish, new_figure, plot_band, plot_line, plot_theory, series_style
from ..validation import check_choice, check_float, check_int

POLICY_TEXT = {
    "replace": "only the n samples of model t",
    "accumulate": "all real data + every generation's\nsamples so far (grows by n)",
    "accumulate-subsample": "n drawn at random from that\ngrowing pool",
    "fresh-real": "r n fresh real samples +\n(1 - r) n samples of model t",
}


def widget_check(frequency: float = 1.0) -> plt.Figure:
    """A sine wave whose frequency a slider sets: if moving the slider redraws it, widgets work."""
    frequency = check_float("frequency", frequency, 0.0, strict_minimum=True)
    x = np.linspace(0, 2, 400)
    fig, (ax,) = new_figure(1, width=7, height=3.2)
    ax.plot(x, np.sin(2 * np.pi * frequency * x), marker="none", color=OKABE_ITO[0], label=f"sin(2 pi {frequency:g} x)")
    ax.set_ylim(-1.3, 1.6)
    finish(ax, title=f"Widget check: frequency = {frequency:g}", xlabel="x", ylabel="y", loc="upper right")
    return fig


def _box(ax: plt.Axes, xy: tuple[float, float], text: str, color: str, *, width: float = 2.3) -> None:
    x, y = xy
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - 0.55),
            width,
            1.1,
            boxstyle="round,pad=0.08,rounding_size=0.25",
            facecolor=color,
            alpha=0.22,
            edgecolor=color,
            linewidth=2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=12)


def _arrow(
    ax: plt.Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    label: str = "",
    *,
    color: str = "black",
    style: str = "-",
    offset: tuple[float, float] = (0.0, 0.25),
) -> None:
    broken = style != "-"  # a path not taken: no head (a dotted head is a blot), a cross where it would end
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-" if broken else "-|>",
            mutation_scale=22,
            linewidth=2,
            linestyle=style,
            color=color,
            shrinkA=4,
            shrinkB=4,
        )
    )
    if broken:
        ax.plot(*end, marker="x", markersize=11, markeredgewidth=2.5, color=color)
    if label:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, label, ha="center", va="center", fontsize=12, color=color)


def loop_diagram(policy: str = "replace") -> plt.Figure:
    """The generation loop: real data -> fit -> sample -> mix -> fit ..., with the four data
    policies of :mod:`collapse_edu.loop`; ``policy`` is highlighted and decides whether real data
    re-enter the loop."""
    policy = check_choice("policy", policy, POLICIES)
    fig, (ax, side) = new_figure(2, width=13, height=5.2, gridspec_kw={"width_ratios": [3, 2]})
    blue, orange, green, purple = OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2], OKABE_ITO[3]

    real, train, model, synth, mix = (1.3, 3.4), (4.3, 5.4), (8.3, 5.4), (8.3, 1.4), (4.3, 1.4)
    _box(ax, real, "real data\n(the world)", green, width=2.2)
    _box(ax, train, "training data\nof generation t", blue)
    _box(ax, model, "model t", purple, width=1.9)
    _box(ax, synth, "synthetic data\n(n samples)", orange)
    _box(ax, mix, f"mix: {policy}", blue, width=2.9)
    _arrow(ax, (train[0] + 1.25, train[1]), (model[0] - 1.05, model[1]), "fit", offset=(0, 0.3))
    _arrow(ax, (model[0], model[1] - 0.65), (synth[0], synth[1] + 0.65), "sample", offset=(0.65, 0))
    _arrow(ax, (synth[0] - 1.25, synth[1]), (mix[0] + 1.55, mix[1]))
    _arrow(ax, (mix[0], mix[1] + 0.65), (train[0], train[1] - 0.65), "t -> t+1", offset=(-0.85, 0))
    _arrow(ax, (real[0] + 0.5, real[1] + 0.62), (train[0] - 1.25, train[1] - 0.1), "t = 1", offset=(-0.55, 0.2))
    uses_real = policy != "replace"
    _arrow(
        ax,
        (real[0] + 0.5, real[1] - 0.62),
        (mix[0] - 1.55, mix[1] + 0.1),
        {"replace": "real data dropped", "fresh-real": "fresh real data"}.get(policy, "real data kept"),
        color=green if uses_real else "0.35",  # a path not taken: dotted and grey, still readable (7:1)
        style="-" if uses_real else ":",
        offset=(-1.1, -0.1),
    )
    ax.set_xlim(-0.2, 10.0)
    ax.set_ylim(0.3, 6.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("Data flows round a loop")

    side.axis("off")
    side.set_xlim(0, 1)
    side.set_ylim(0, 1)
    side.set_title("What generation t+1 trains on")
    for i, name in enumerate(POLICIES):
        y = 0.86 - 0.24 * i
        chosen = name == policy
        if chosen:
            side.add_patch(
                FancyBboxPatch(
                    (0.0, y - 0.12), 1.0, 0.22, boxstyle="round,pad=0.01", facecolor=blue, alpha=0.15, edgecolor=blue
                )
            )
        side.text(0.03, y + 0.04, name, fontsize=13, fontweight="bold" if chosen else "normal", va="center")
        side.text(0.06, y - 0.05, POLICY_TEXT[name], fontsize=11, va="center", color="0.15" if chosen else "0.4")
    return fig


def _overfitting(ax: plt.Axes, rng: np.random.Generator) -> None:
    """Polynomials of growing degree fitted to 12 noisy points of a sine: train error falls, test error rises."""
    x_train = np.sort(rng.uniform(0, 1, 12))
    x_test = rng.uniform(0, 1, 500)

    def truth(x: np.ndarray) -> np.ndarray:
        return np.sin(2 * np.pi * x)

    y_train = truth(x_train) + 0.25 * rng.standard_normal(x_train.size)
    y_test = truth(x_test) + 0.25 * rng.standard_normal(x_test.size)
    degrees = np.arange(0, 11)
    train, test = [], []
    for degree in degrees:
        fit = np.polynomial.Polynomial.fit(x_train, y_train, degree)
        train.append(np.mean((fit(x_train) - y_train) ** 2))
        test.append(np.mean((fit(x_test) - y_test) ** 2))
    plot_line(ax, degrees, np.maximum(train, 1e-4), label="training error", i=0)
    plot_line(ax, degrees, test, label="test error (new data)", i=1)
    ax.set_yscale("log")
    finish(ax, title="Overfitting: memorises its 12 points", xlabel="polynomial degree", ylabel="mean squared error")


def _model_collapse(ax: plt.Axes, seed: int) -> None:
    """The lesson-01 experiment in small: a Gaussian refitted to n = 20 of its own samples."""
    n, generations = 20, 60
    history = simulate_gaussian(n=n, generations=generations, runs=500, seed=seed)
    t = history.generations
    plot_band(ax, t, history["sigma"], label="simulation, 500 runs (median, 5-95%)", i=0)
    plot_theory(ax, t, theory.sigma_quantile(0.5, t, n), label="theory (median)", i=0)
    top = float(np.quantile(history["sigma"], 0.95, axis=1).max())
    ax.set_ylim(-0.05 * top, 1.3 * top)  # a strip above the band for the legend, which would cover its peak
    finish(ax, title=f"Model collapse: fed {n} of its own samples", xlabel="generation", ylabel="fitted sigma (spread)",
           loc="upper right")  # fmt: skip


def _mode_collapse(ax: plt.Axes, rng: np.random.Generator) -> None:
    """A sketch (no GAN trained here; lesson 07 trains one): 8 real modes, samples on 2 of them."""
    angles = 2 * np.pi * np.arange(8) / 8
    modes = 2 * np.column_stack([np.cos(angles), np.sin(angles)])
    real = modes[rng.integers(0, 8, 800)] + 0.08 * rng.standard_normal((800, 2))
    fake = modes[rng.choice([1, 2], 300)] + 0.15 * rng.standard_normal((300, 2))
    # real data on top and the generator's squares hollow, so the two modes it covers still show their real points
    ax.scatter(*real.T, s=6, color="0.45", marker="o", label="real data: 8 modes", zorder=3)
    colour = series_style(1)["color"]
    ax.scatter(
        *fake.T, s=14, facecolors="none", edgecolors=colour, linewidths=0.8, marker="s", label="generator: 2 modes"
    )
    ax.set_aspect("equal")
    ax.set_xlim(-3, 3)
    ax.set_ylim(-2.8, 3.8)
    finish(ax, title="GAN mode collapse (sketch)", xlabel="x1", ylabel="x2", loc="upper center")


def _forgetting(ax: plt.Axes) -> None:
    """A linear model trained by gradient descent on task A, then on task B (inputs along other,
    overlapping directions). A weight vector with zero error on both exists; sequential training
    does not find it, and the error on A comes back."""
    u_a, u_b = np.array([1.0, 0.0]), np.array([np.cos(0.7), np.sin(0.7)])
    target_a, target_b = 1.0, -1.0
    w = np.zeros(2)
    steps, rate = 60, 0.15
    errors = []
    for step in range(2 * steps):
        u, target = (u_a, target_a) if step < steps else (u_b, target_b)
        w = w - rate * 2 * (u @ w - target) * u
        errors.append(((u_a @ w - target_a) ** 2, (u_b @ w - target_b) ** 2))
    errors = np.array(errors)
    steps_axis = np.arange(1, 2 * steps + 1)
    plot_line(ax, steps_axis, errors[:, 0], label="error on task A", i=0)
    plot_line(ax, steps_axis, errors[:, 1], label="error on task B", i=4)
    ax.axvline(steps + 0.5, color="black", linestyle=":", linewidth=1.4, label="switch to task B")
    finish(ax, title="Catastrophic forgetting: B overwrites A", xlabel="training step", ylabel="squared error")


def failure_modes(seed: int = 0) -> plt.Figure:
    """The four failure modes at a glance, each by its tell-tale sign: overfitting (train vs test
    error), model collapse (spread over generations, with theory), GAN mode collapse (a sketch of
    modes covered) and catastrophic forgetting (error on an old task after switching)."""
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    fig, axes = new_figure(2, 2, width=12, height=8.4)
    _overfitting(axes[0], rng)
    _model_collapse(axes[1], seed)
    _mode_collapse(axes[2], rng)
    _forgetting(axes[3])
    return fig
