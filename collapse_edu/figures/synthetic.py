"""Figures of lesson 05: real vs synthetic data, simulation against theory on the same axes."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import theory
from ..gaussian import simulate_gaussian
from ..loop import POLICIES, History
from ..plots import (
    THEORY_STYLE,
    finish,
    legend_below,
    legend_key,
    new_figure,
    plot_band,
    plot_theory,
    series_style,
    shade_band,
)
from ..regression import random_features_errors, simulate_regression, strong_collapse_errors
from ..scaling import simulate_memoriser
from ..validation import check_choice, check_fraction, check_int

SUBSAMPLE_RUNS = 100  # accumulate-subsample keeps every sample: fewer runs keep it fast and small
#: Theory in this lesson's figures: thin black dashes drawn over the simulation (``plot_theory(on_top=True)``),
#: so a simulation that agrees with its theory does not hide it.
THEORY_KEY = {"color": "black", "linestyle": "--", "linewidth": 1.3}


def _theory_key(ax: plt.Axes, label: str) -> None:
    """Legend entry for the thin black dashed theory lines."""
    ax.plot([], [], marker="", label=label, **THEORY_KEY)


def _solid(ax: plt.Axes) -> None:
    """Make the simulation line just drawn solid (colour and marker still tell series apart): in figures
    with dotted reference levels (fixed point, floor, plateau), dotted must mean only those."""
    ax.lines[-1].set_linestyle("-")


def _label(policy: str, real_fraction: float) -> str:
    return f"fresh-real (r = {real_fraction:g})" if policy == "fresh-real" else policy


def _gaussian_theory(policy: str, t: np.ndarray, n: int, real_fraction: float, scale: float):
    """(E[sigma_t^2], E[mu_t^2]) for a policy, or None where no closed form is derived here."""
    if policy == "replace":
        return theory.biased_sampling_moments(t, n, scale, 0.0)
    if policy == "fresh-real":
        return theory.biased_sampling_moments(t, n, scale, real_fraction)
    if policy == "accumulate":
        return theory.gaussian_accumulate_moments(t, n, scale)
    return None


def _draw_gaussian(variance_ax: plt.Axes, mean_ax: plt.Axes, history: History, *, i: int, scale: float) -> None:
    """One run set of the Gaussian loop: sigma_t^2 on one axes, (mu_t - mu_0)^2 on the other; mean over
    runs (line), median (thin dotted), 5-95% of runs (band), exact expectation (dashed) where derived."""
    policy, r = history.policy.name, history.policy.real_fraction
    t = history.generations
    moments = _gaussian_theory(policy, t, history.n, r, scale)
    style = {**series_style(i), "linestyle": "-"}  # one series per axes: solid mean, dotted median
    # The squared mean error is 0 at t = 0 (the truth): drawn from t = 1 on its log scale.
    for ax, values, k, start in ((variance_ax, history["sigma"] ** 2, 0, 0), (mean_ax, history["mu"] ** 2, 1, 1)):
        x, values = t[start:], values[start:]
        low, high = np.quantile(values, (0.05, 0.95), axis=1)
        shade_band(ax, x, low, high, style["color"])
        ax.plot(x, values.mean(axis=1), markevery=max(1, len(x) // 10), label=_label(policy, r), **style)
        ax.plot(x, np.median(values, axis=1), color=style["color"], linestyle=":", linewidth=1.3, marker="")
        if moments is not None:
            plot_theory(ax, x, moments[k][start:], label=None, i=i, on_top=True)
    mean_ax.set_yscale("log")


def draw_gaussian_workflows(histories: Sequence[History], *, scale: float = 1.0) -> plt.Figure:
    """One column per history of the 1-D Gaussian loop (from :func:`~collapse_edu.loop.run_generations`
    with a Gaussian family, truth N(0, 1)): fitted variance (top) and squared error of the mean (bottom,
    log scale). Line: mean over runs; thin dotted: median; band: 5-95% of runs; thin black dashed, on top:
    the exact expectation where it is derived (replace, accumulate, fresh-real)."""
    if not histories:
        raise ValueError("histories must hold at least one History")
    fig, axes = new_figure(len(histories), 2, width=3.4 * len(histories) + 0.6, height=6.6, sharex=True, sharey="row")
    top, bottom = axes[: len(histories)], axes[len(histories) :]
    for i, history in enumerate(histories):
        _draw_gaussian(top[i], bottom[i], history, i=i, scale=scale)
        runs = history["sigma"].shape[1]
        top[i].set_title(f"{_label(history.policy.name, history.policy.real_fraction)}\n({runs} runs)", fontsize=12)
        bottom[i].set_xlabel("generation t")
    top[0].set_ylabel(r"fitted variance $\sigma_t^2$")
    bottom[0].set_ylabel(r"$(\mu_t - \mu_0)^2$ (log scale)")
    grey = "0.35"
    keys = [
        Line2D([], [], color=grey, linestyle="-", label="mean of runs"),
        Line2D([], [], color=grey, linestyle=":", linewidth=1.3, label="median of runs"),
        Patch(color=grey, alpha=0.25, label="5-95% of runs"),
        Line2D([], [], **THEORY_KEY, label="exact theory of the mean"),
    ]
    fig.legend(handles=keys, loc="outside lower center", ncols=len(keys), fontsize=11)
    lam = f", $\\lambda$ = {scale:g}" if scale != 1 else ""
    fig.suptitle(f"The Gaussian loop, one workflow per column (n = {histories[0].n}{lam})")
    return fig


def gaussian_workflows(
    n: int = 100,
    generations: int = 100,
    runs: int = 1000,
    real_fraction: float = 0.2,
    scale: float = 1.0,
    policies: Sequence[str] = POLICIES,
    seed: int = 0,
) -> plt.Figure:
    """Simulate every policy of the 1-D Gaussian loop (seed + i for the i-th; accumulate-subsample with
    at most SUBSAMPLE_RUNS runs) and draw them with :func:`draw_gaussian_workflows`."""
    seed = check_int("seed", seed, minimum=0)
    real_fraction = check_fraction("real_fraction", real_fraction)
    histories = []
    for i, policy in enumerate(policies):
        check_choice("policies", policy, POLICIES)
        r = real_fraction if policy == "fresh-real" else None
        count = min(runs, SUBSAMPLE_RUNS) if policy == "accumulate-subsample" else runs
        histories.append(
            simulate_gaussian(n, generations, count, policy=policy, real_fraction=r, scale=scale, seed=seed + i)
        )
    return draw_gaussian_workflows(histories, scale=scale)


def gaussian_policy(
    policy: str = "replace", real_fraction: float = 0.2, scale: float = 1.0, n: int = 100, seed: int = 0
) -> plt.Figure:
    """One policy of the Gaussian loop (for the widget): variance and squared mean error with theory."""
    check_choice("policy", policy, POLICIES)
    real_fraction = check_fraction("real_fraction", real_fraction)
    count = SUBSAMPLE_RUNS if policy == "accumulate-subsample" else 1000
    history = simulate_gaussian(
        n,
        100,
        count,
        policy=policy,
        real_fraction=real_fraction if policy == "fresh-real" else None,
        scale=scale,
        seed=seed,
    )
    fig, (left, right) = new_figure(2, width=13, height=4.8)
    _draw_gaussian(left, right, history, i=0, scale=scale)
    _theory_key(left, "exact theory (mean)")
    legend_key(left, "median of runs", linestyle=":", linewidth=1.3)
    lam = f", $\\lambda$ = {scale:g}" if scale != 1 else ""
    finish(left, title=f"Fitted variance, n = {n}{lam}", xlabel="generation t", ylabel=r"$\sigma_t^2$", legend=False)
    finish(
        right,
        title="Squared error of the mean (log scale)",
        xlabel="generation t",
        ylabel=r"$(\mu_t - \mu_0)^2$",
        legend=False,
    )
    # below the axes: inside, it would cover the band of some setting or other
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=11)
    return fig


def regression_workflows(
    dim: int = 10,
    samples: int = 100,
    generations: int = 50,
    runs: int = 1000,
    real_fraction: float = 0.2,
    design: str = "fixed",
    policies: Sequence[str] = POLICIES,
    seed: int = 0,
) -> plt.Figure:
    """Test error |w_t - w*|^2 of recursive least squares per policy (log scale), with c t, c sum 1/i^2
    and the fresh-real recursion. fresh-real always draws fresh features (it has no fixed-X form)."""
    seed = check_int("seed", seed, minimum=0)
    real_fraction = check_fraction("real_fraction", real_fraction)
    fig, (ax,) = new_figure(1, width=9, height=5)
    c = theory.regression_constant(dim, samples)
    laws = []  # one legend entry for all the black dashed theory curves
    for i, policy in enumerate(policies):
        check_choice("policies", policy, POLICIES)
        this_design = "fresh" if policy == "fresh-real" else design
        count = min(runs, SUBSAMPLE_RUNS) if policy == "accumulate-subsample" else runs
        history = simulate_regression(
            dim,
            samples,
            generations,
            count,
            policy=policy,
            real_fraction=real_fraction if policy == "fresh-real" else None,
            design=this_design,
            seed=seed + i,
        )
        t = history.generations[1:]
        label = _label(policy, real_fraction) + (" (fresh X)" if this_design != design else "")
        label += f" ({count} runs)" if count != runs else ""
        label += ", no theory" if policy == "accumulate-subsample" else ""
        plot_band(ax, t, history["error"][1:], label=label, i=i, center="mean")
        _solid(ax)  # dashes here mean theory only
        # the four bands overlap: outline each in its colour so every band's edges stay readable
        for edge in np.quantile(history["error"][1:], (0.05, 0.95), axis=1):
            ax.plot(t, edge, color=series_style(i)["color"], linestyle="-", linewidth=0.8, alpha=0.7, marker="")
        if policy == "replace":
            curve = theory.regression_error_replace(t, dim, samples)
            plot_theory(ax, t, curve, label=None, on_top=True)
            laws.append(r"replace $c\,t$")
        elif policy == "accumulate":
            law = r"$c \sum 1/i^2$" if design == "fixed" else r"$\sum d/(i(iT-d-1))$"
            curve = theory.regression_error_accumulate(t, dim, samples, design=design)
            plot_theory(ax, t, curve, label=None, on_top=True)
            laws.append(f"accumulate {law}")
        elif policy == "fresh-real":
            curve = theory.regression_error_fresh_real(t, dim, samples, real_fraction)
            plot_theory(ax, t, curve, label=None, on_top=True)
            laws.append("fresh-real recursion (approx.)")
    if laws:
        legend_key(ax, "theory: " + ", ".join(laws), color="black", linewidth=1.3)  # as plot_theory(on_top=True)
    ax.axhline(c * np.pi**2 / 6, color="0.3", linestyle=":", linewidth=1.6, label=r"$c\,\pi^2/6$")
    ax.set_yscale("log")
    finish(
        ax,
        title=f"Linear regression, d = {dim}, T = {samples}, {design} X"
        + (" (fresh-real: fresh X)" if "fresh-real" in policies and design != "fresh" else "")
        + "; bands: 5-95% of runs",
        xlabel="generation t",
        ylabel=r"test error $\|w_t - w^*\|^2$",
        legend=False,
    )
    # below the axes: inside, it would cover the top of replace's band
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=10)
    return fig


def regression_history(
    history: History,
    dim: int,
    samples: int,
    *,
    noise: float = 1.0,
    ridge: float = 0.0,
    design: str = "fixed",
    theory_error: np.ndarray | None = None,
    theory_label: str = "theory",
) -> plt.Figure:
    """Test error of a run made elsewhere (the figure of ``collapse-edu simulate regression --plot``):
    mean and 5-95% band over runs, with the closed form printed next to it (``theory_error``,
    generation 0 included) when there is one."""
    t = history.generations[1:]
    runs = history["error"].shape[1]
    fig, (ax,) = new_figure(1, width=9, height=5)
    plot_band(
        ax, t, history["error"][1:], label=f"{history.policy}: simulation, {runs} runs (mean, 5-95%)", center="mean"
    )
    if theory_error is not None:
        plot_theory(ax, t, np.asarray(theory_error)[1:], label=theory_label)
    ax.set_yscale("log")
    extra = f", ridge {ridge:g}" if ridge else ""
    finish(
        ax,
        title=f"Linear regression, d = {dim}, T = {samples}, {design} X, noise {noise:g}{extra}",
        xlabel="generation t",
        ylabel=r"test error $\|w_t - w^*\|^2$",
        loc="upper left",
    )
    return fig


def biased_sampling(
    scale: float = 0.9, real_fraction: float = 0.2, n: int = 100, generations: int = 60, runs: int = 2000, seed: int = 0
) -> plt.Figure:
    """Left: fitted variance when synthetic draws are narrowed by lambda, without and with a fraction r
    of fresh real data (mean and 5-95% band, solid; thin black dashed, on top: exact recursion; dotted, right
    of the curves: fixed point).
    Right: the fixed point against lambda for a few r, simulated (markers) and derived (lines)."""
    seed = check_int("seed", seed, minimum=0)
    real_fraction = check_fraction("real_fraction", real_fraction)
    fig, (left, right) = new_figure(2, width=13, height=4.8)
    t = np.arange(generations + 1)
    cases = [(scale, 0.0), (scale, real_fraction), (1.0, real_fraction)] if real_fraction > 0 else [(scale, 0.0)]
    for i, (lam, r) in enumerate(cases):
        history = simulate_gaussian(
            n, generations, runs, policy="fresh-real" if r else "replace", real_fraction=r or None, scale=lam, seed=seed
        )
        plot_band(left, t, history["sigma"] ** 2, label=rf"$\lambda$ = {lam:g}, r = {r:g}", i=i, center="mean")
        _solid(left)
        plot_theory(left, t, theory.biased_sampling_moments(t, n, lam, r)[0], label=None, i=i, on_top=True)
        if r > 0:
            # right of the curves, where neither the simulation nor the exact recursion (which converges
            # to the same level) covers it
            fixed = theory.biased_sampling_fixed_point(n, lam, r)
            left.plot([generations, 1.2 * generations], [fixed, fixed], color=series_style(i)["color"],
                      linestyle=":", linewidth=2.2, marker="")  # fmt: skip
    _theory_key(left, "theory (exact mean)")
    if real_fraction > 0:
        legend_key(left, "fixed point (derived)", linestyle=":", linewidth=2.2)
        left.set_xlim(-0.03 * generations, 1.2 * generations)
    left.set_yscale("log")
    left.set_ylim(max(1e-4, left.get_ylim()[0]), 1.5)
    finish(left, title=f"Narrowed sampling, n = {n}", xlabel="generation t", ylabel=r"$\sigma_t^2$ (log scale)")

    lams = np.linspace(0.5, 1.0, 6)
    fine = np.linspace(0.5, 1.0, 101)
    # Colours on the left mean the three cases there; the real shares on the right get shades of one
    # colour of their own (darker = more real data), so no colour means two things in one figure.
    shades = plt.get_cmap("Purples")((0.5, 0.72, 0.95))
    for i, r in enumerate((0.1, 0.3, 0.6)):
        simulated = [
            np.mean(
                simulate_gaussian(n, 40, 200, policy="fresh-real", real_fraction=r, scale=lam, seed=seed + 100 + i)[
                    "sigma"
                ][20:]
                ** 2
            )
            for lam in lams
        ]
        marker = series_style(i)["marker"]
        right.plot(lams, simulated, color=shades[i], marker=marker, linestyle="none", label=f"r = {r:g}")
        law = [theory.biased_sampling_fixed_point(n, lam, r) for lam in fine]
        right.plot(fine, law, color=shades[i], **THEORY_STYLE)
    legend_key(right, r"$a' r\,/\,(1 - a'(1-r)\lambda^2)$")
    finish(
        right,
        title=r"Fixed point of E[$\sigma^2$]",
        xlabel=r"$\lambda$ (sampling width)",
        ylabel=r"stationary $\sigma^2$",
    )
    return fig


def strong_collapse(
    fractions: Sequence[float] = (0.0, 0.01, 0.1, 0.5),
    dim: int = 10,
    shift: float = 1.0,
    runs: int = 200,
    seed: int = 0,
    styles: Sequence[int] | None = None,
) -> plt.Figure:
    """Test error against training-set size n (log-log) when a fraction p of labels comes from
    w* + delta: median and 5-95% band (solid), the formula E[...] (thin black dashed, on top) and the floor
    p^2 |delta|^2 (dotted).
    ``styles``: the house-style index of each fraction's series (default 0, 1, 2, ...)."""
    seed = check_int("seed", seed, minimum=0)
    styles = range(len(fractions)) if styles is None else styles
    if len(styles) != len(fractions):
        raise ValueError(f"styles must give one style index per fraction ({len(fractions)}), got {len(styles)}")
    fig, (ax,) = new_figure(1, width=9, height=5.2)
    sizes = np.unique(np.logspace(np.log10(dim + 10), 6, 17).astype(int))
    for i, (p, style) in enumerate(zip(fractions, styles, strict=True)):
        errors = strong_collapse_errors(sizes, p, dim=dim, shift=shift, runs=runs, seed=seed + i)
        plot_band(ax, sizes, errors, label=f"p = {p:g}", i=style)
        _solid(ax)
        curve = theory.strong_collapse_error(sizes, dim, p, shift=shift)
        plot_theory(ax, sizes, curve, label=None, i=style, on_top=True)
        if p > 0:
            floor = theory.strong_collapse_floor(p, shift)
            ax.axhline(floor, color=series_style(style)["color"], linestyle=":", linewidth=1.4)
    _theory_key(ax, "theory (expectation)")
    legend_key(ax, r"floor $p^2\|\delta\|^2$", linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    finish(
        ax,
        title=rf"Strong model collapse: least squares, d = {dim}, $\|\delta\|$ = {shift:g}",
        xlabel="training-set size n",
        ylabel=r"test error $\|\hat w - w^*\|^2$",
        legend=False,
    )
    # below the axes: inside, it covered the left end of the low floors
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=11)
    return fig


def strong_collapse_explorer(p: float = 0.1, shift: float = 1.0, dim: int = 10, seed: int = 0) -> plt.Figure:
    """One synthetic fraction p against clean data (for the widget), with the crossover size
    n* = sigma^2 d / (p |delta|)^2 where the floor overtakes the shrinking variance."""
    p = check_fraction("p", p)
    # p in the colour of p = 0.1 in :func:`strong_collapse`'s default figure (style 2), clean data in style 0
    fractions, styles = ((0.0, p), (0, 2)) if p > 0 else ((0.0,), (0,))
    fig = strong_collapse(fractions, dim=dim, shift=shift, runs=200, seed=seed, styles=styles)
    ax = fig.axes[0]
    if p > 0 and shift > 0:
        crossover = dim / (p * shift) ** 2
        if crossover < 1e6:
            ax.axvline(crossover, color="0.4", linestyle="-.", linewidth=1.4, label=f"n* = {crossover:,.0f}")
            fig.legends[0].remove()
            fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=11)
    return fig


def random_features(
    p: float = 0.2,
    n: int = 100,
    dim: int = 200,
    widths: Sequence[int] = (10, 30, 60, 85, 100, 120, 160, 250, 500),
    runs: int = 12,
    seed: int = 0,
) -> plt.Figure:
    """Random-projections model of width m on n rows (a fraction p synthetic): test error against m
    for clean and mixed data (left; median and 5-95%), and the damage the synthetic rows do (right)."""
    p = check_fraction("p", p)
    widths = np.asarray(widths)
    clean, mixed = random_features_errors(widths, [0.0, p], n=n, dim=dim, runs=runs, seed=seed)
    fig, (left, right) = new_figure(2, width=13, height=4.8)
    plot_band(left, widths, clean, label="real data only", i=0)
    plot_band(left, widths, mixed, label=f"fraction p = {p:g} synthetic", i=1)
    plot_band(right, widths, mixed - clean, label="extra error from the synthetic rows", i=1)
    for ax in (left, right):
        ax.axvline(n, color="0.4", linestyle="-.", linewidth=1.4, label=f"interpolation threshold m = n = {n}")
        ax.set_xscale("log")
    left.set_yscale("log")
    bottom, top = left.get_ylim()
    left.set_ylim(bottom, top * (top / bottom) ** 0.45)  # room above the peak: the legend covers no data
    # Some runs gain from the synthetic rows (a negative difference): linear near 0, logarithmic above.
    right.set_yscale("symlog", linthresh=0.1, linscale=0.5)
    right.axhline(0.0, color="0.3", linewidth=1.0)
    finish(
        left,
        title=f"Random projections, n = {n}, input d = {dim}",
        xlabel="width m",
        ylabel="test error",
        loc="upper left",
    )
    finish(right, title="Same runs: mixed minus clean", xlabel="width m", ylabel="extra test error", legend=False)
    # below the axes: inside, it would cover the band, which reaches far above and below 0 near the threshold
    legend_below(right, offset=0.16, fontsize=10)
    return fig


def tail_cut_scaling(
    beta: float = 2.0, cutoffs: Sequence[int | None] = (None, 300, 30), runs: int = 12, seed: int = 0
) -> plt.Figure:
    """Zipf memoriser: test error against training size T for clean data and for data whose tail
    was cut at rank k: simulation (median, 5-95%, solid), exact expectation (thin black dashed, on top), the
    clean power law T^-(1 - 1/beta) (wide grey) and the lost tail mass (dotted)."""
    seed = check_int("seed", seed, minimum=0)
    sizes = np.unique(np.logspace(1, 6, 11).astype(int))
    fig, (ax,) = new_figure(1, width=9, height=5.2)
    for i, k in enumerate(cutoffs):
        errors = simulate_memoriser(sizes, beta, cutoff=k, runs=runs, seed=seed + i)
        label = "clean data" if k is None else f"tail cut at rank k = {k}"
        plot_band(ax, sizes, errors, label=label, i=i)
        _solid(ax)
        plot_theory(ax, sizes, theory.memoriser_error(sizes, beta, cutoff=k), label=None, i=i, on_top=True)
        if k is not None:
            tail = theory.zipf_probabilities(100_000, beta)[k:].sum()
            ax.axhline(tail, color=series_style(i)["color"], linestyle=":", linewidth=1.4)
    ax.plot(
        sizes,
        theory.memoriser_power_law(sizes, beta),
        color="0.55",
        linewidth=9,
        alpha=0.35,
        solid_capstyle="round",
        marker="",
        zorder=1,
        label=r"clean power law $T^{-(1-1/\beta)}$",
    )  # wide and pale, under the clean curve it coincides with
    _theory_key(ax, "theory (exact)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    finish(
        ax,
        title=rf"Zipf memoriser, $\beta$ = {beta:g}: scaling law bends",
        xlabel="training draws T",
        ylabel="test error (unseen mass)",
        legend=False,
    )
    # below the axes: inside, it covered the left end of the k = 300 plateau
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=11)
    return fig
