"""Figures of lesson 01: recursive fitting of a Gaussian, simulation against theory.

Every function takes parameters and returns a matplotlib ``Figure``; simulations go through
:func:`collapse_edu.gaussian.simulate_gaussian` (the generation loop with the Gaussian family).
The facts shown are those of Shumailov et al., "AI models collapse when trained on recursively
generated data", Nature 631, 755-759 (2024), arXiv:2305.17493.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats
from scipy.special import polygamma

from .. import theory
from ..gaussian import estimator_ddof, simulate_gaussian, tail_mass
from ..loop import History
from ..metrics import w2_gaussian
from ..plots import (
    finish,
    legend_below,
    new_figure,
    plain_log_ticks,
    plot_band,
    plot_line,
    plot_theory,
    series_style,
    shade_band,
)
from ..validation import as_rng, check_float, check_int

THEORY_BAND = {"color": "0.35", "linestyle": ":", "linewidth": 1.6, "marker": "none"}


def _check_common(n: object, generations: object, runs: object, min_generations: int = 1) -> tuple[int, int, int]:
    """n >= 2 samples per generation, generations >= ``min_generations``, runs >= 2."""
    n = check_int("n", n, minimum=2)
    generations = check_int("generations", generations, minimum=min_generations)
    runs = check_int("runs", runs, minimum=2)
    return n, generations, runs


def _theory_band(ax: plt.Axes, t: np.ndarray, n: int, ddof: int, power: int = 1) -> None:
    """Dotted theory quantiles (5% and 95%) of sigma_t (or of sigma_t^power)."""
    for q in (0.05, 0.95):
        ax.plot(
            t,
            theory.sigma_quantile(q, t, n, ddof) ** power,
            label="theory: 5% and 95%" if q == 0.05 else None,
            **THEORY_BAND,
        )


def _mean_with_error(ax: plt.Axes, t: np.ndarray, values: np.ndarray, *, label: str, i: int) -> None:
    """Mean over runs as a line, shaded +-2 standard errors (the Monte Carlo error of the mean)."""
    mean = values.mean(axis=1)
    error = 2 * values.std(axis=1, ddof=1) / np.sqrt(values.shape[1]) if values.shape[1] > 1 else 0 * mean
    style = series_style(i)
    shade_band(ax, t, mean - error, mean + error, style["color"], alpha=0.2)
    ax.plot(t, mean, label=label, markevery=max(1, len(t) // 10), **style)


def draw_sigma_runs(history: History, *, ddof: int = 0, paths: int = 8) -> plt.Figure:
    """Draw a history of recursive Gaussian fits made in the notebook: ``paths`` single runs'
    sigma_t (thin), the median over all runs (solid) and the theory's median (dashed), with
    exp(-t/n) for the MLE. The simulation itself stays in the notebook; this only draws it."""
    if not isinstance(history, History) or "sigma" not in history.metrics:
        raise TypeError("history must be a History of a Gaussian family (with a 'sigma' metric)")
    ddof = estimator_ddof(ddof)
    sigma = history["sigma"]
    runs = sigma.shape[1]
    paths = check_int("paths", paths, minimum=0, maximum=runs)
    t, n = history.generations, history.n
    fig, (ax,) = new_figure(1, width=9, height=4.6)
    if paths:
        single = {"color": "0.45", "linestyle": "-", "linewidth": 0.8, "alpha": 0.6, "marker": "none"}
        ax.plot(t, sigma[:, :paths], **single)
        ax.plot([], [], label=f"{paths} single runs", **{**single, "alpha": 1})
    plot_line(ax, t, np.median(sigma, axis=1), label=f"simulation: median of {runs} runs", i=0)
    plot_theory(ax, t, theory.sigma_quantile(0.5, t, n, ddof), label="theory: median", on_top=True)
    if ddof == 0:
        ax.plot(t, theory.median_sigma_rule_of_thumb(t, n), color=series_style(1)["color"], linestyle="-.",
                linewidth=1.4, marker="none", zorder=3, label=r"$e^{-t/n}$")  # fmt: skip
    finish(ax, title=f"Fitted $\\sigma$ per generation, n = {n}", xlabel="generation t", ylabel=r"$\sigma_t$",
           loc="upper right")  # fmt: skip
    return fig


def sigma_collapse(
    n: int = 100,
    generations: int = 200,
    runs: int = 1000,
    estimator: str | int = "MLE (ddof=0)",
    seed: int = 0,
) -> plt.Figure:
    """Fitted sigma per generation (median and 5-95% of runs) with the theory's median and band,
    and E[sigma^2] (simulated mean against a^t, a = (n-1)/(n-ddof)) on a log scale."""
    n, generations, runs = _check_common(n, generations, runs)
    ddof = estimator_ddof(estimator)
    history = simulate_gaussian(n=n, generations=generations, runs=runs, ddof=ddof, seed=seed)
    return sigma_history(history, ddof)


VARIANCE_LABEL_GAP = 0.14  #: axes widths from the variance axis to its label: room for tick labels like "1e-12"


def sigma_history(
    history: History,
    ddof: int = 0,
    *,
    theory_variance: np.ndarray | None = None,
    theory_label: str = "theory",
) -> plt.Figure:
    """:func:`sigma_collapse` for a run made elsewhere (any policy, either path; the figure of
    ``collapse-edu simulate gaussian --plot``). The replace policy gets its closed forms (median,
    5-95% band, a^t); another policy gets ``theory_variance`` (E[sigma_t^2]) when one is given."""
    t = history.generations
    n, runs = history.n, history["sigma"].shape[1]
    replace = history.policy.name == "replace"
    fig, (left, right) = new_figure(2, width=12, height=4.6)

    plot_band(left, t, history["sigma"], label=f"simulation, {runs} runs (median, 5-95%)")
    if replace:
        plot_theory(left, t, theory.sigma_quantile(0.5, t, n, ddof), label="theory: median", on_top=True)
        _theory_band(left, t, n, ddof)
    if replace and ddof == 0:
        left.plot(
            t,
            theory.median_sigma_rule_of_thumb(t, n),
            color=series_style(1)["color"],
            linestyle="-.",
            linewidth=1.4,
            marker="none",
            zorder=3,
            label=r"$e^{-t/n}$",
        )
    policy = "" if replace else f", {history.policy}"
    finish(
        left,
        title=f"Fitted $\\sigma$, n = {n}, ddof = {ddof}{policy}",
        xlabel="generation t",
        ylabel=r"$\sigma_t$",
        title_y=1.0,
        legend=False,
    )
    # Below the axes, clear of the band and its dotted theory (which the caption asks to compare);
    # a fixed place, so a redraw does no search for the best one.
    legend_below(left, offset=0.15, fontsize=10)

    _mean_with_error(right, t, history["sigma"] ** 2, label=r"simulation: mean of $\sigma_t^2$ ($\pm$2 sample SE)", i=0)
    if replace:
        plot_theory(right, t, theory.expected_variance(t, n, ddof), label=f"theory: $a^t$, a = {(n - 1)}/{n - ddof}")
    elif theory_variance is not None:
        plot_theory(right, t, theory_variance, label=theory_label)
    right.set_yscale("log")
    plain_log_ticks(right)
    finish(
        right,
        title="Mean fitted variance (log scale)",
        xlabel="generation t",
        ylabel=r"$\sigma_t^2$",
        title_y=1.0,
        loc="lower left",  # below the early generations, where the curves are still high
    )
    # The label sits where tick labels as wide as "1e-12" still fit, rather than next to the widest
    # label drawn, so a slider that widens the labels (small n) never moves it into the left panel.
    right.yaxis.set_label_coords(-VARIANCE_LABEL_GAP, 0.5)
    return fig


def density_snapshots(
    n: int = 100, snapshots: Sequence[int] = (0, 10, 50, 200), runs: int = 1000, seed: int = 0
) -> plt.Figure:
    """One typical run (the run with the median sigma at the last snapshot): the n samples each
    snapshot generation produces, its fitted density, and the original N(0, 1) with its 3-sigma tails."""
    seed = check_int("seed", seed, minimum=0)
    snapshots = [check_int("snapshots", s, minimum=0) for s in snapshots]
    if not snapshots or sorted(set(snapshots)) != snapshots:
        raise ValueError(f"snapshots must be increasing generation numbers, got {snapshots}")
    n, generations, runs = _check_common(n, max(snapshots), runs, min_generations=0)
    history = simulate_gaussian(n=n, generations=generations, runs=runs, seed=seed)
    last = history["sigma"][snapshots[-1]]
    run = int(np.argsort(last)[len(last) // 2])
    rng = as_rng(seed + 1)
    x = np.linspace(-4.5, 4.5, 400)
    original = stats.norm.pdf(x)

    peak = max(0.4, float(np.max(1 / np.sqrt(2 * np.pi) / history["sigma"][snapshots, run])))
    fig, axes = new_figure(len(snapshots), width=3.4 * len(snapshots), height=3.8, sharex=True, sharey=True)
    axes[0].set_ylim(0, 1.12 * peak)
    for i, (ax, t) in enumerate(zip(axes, snapshots, strict=True)):
        mu, sigma = history["mu"][t, run], history["sigma"][t, run]
        samples = rng.normal(mu, sigma, n)
        style = series_style(i)
        ax.hist(
            samples,
            bins=np.linspace(-4.5, 4.5, 37),
            density=True,
            color=style["color"],
            alpha=0.35,
            label="its n samples",
        )
        ax.plot(x, stats.norm.pdf(x, mu, sigma), color=style["color"], marker="none", label="model")
        ax.plot(x, original, color="black", linestyle="--", linewidth=1.6, marker="none", label="original N(0, 1)")
        for side in (-1, 1):
            label = r"$\pm 3\sigma_0$" if side < 0 else None
            ax.axvline(side * 3, color="0.4", linestyle=":", linewidth=1.2, label=label)
        finish(
            ax,
            title=f"generation {t}{' (real)' if t == 0 else ''}: $\\sigma$ = {sigma:.2f}",
            xlabel="x",
            ylabel="density",
            legend=i == 0,
            loc="upper left",
        )
    return fig


def tail_mass_decay(
    n: int = 100, generations: int = 200, runs: int = 2000, threshold: float = 3.0, seed: int = 0
) -> plt.Figure:
    """Mass each fitted model puts beyond the original's ``threshold``-sigma tails: median and
    5-95% of runs (log scale) against the theory's median (:func:`theory.tail_mass_quantile`).

    The axis ends at 1e-12: a curve stops where it falls below (no flat line at the floor), and
    the band runs off the bottom of the axis."""
    n, generations, runs = _check_common(n, generations, runs)
    threshold = check_float("threshold", threshold, 0.0, strict_minimum=True)
    history = simulate_gaussian(n=n, generations=generations, runs=runs, seed=seed)
    t = history.generations
    mass = tail_mass(history["mu"], history["sigma"], threshold)
    floor = 1e-12
    low, high = np.quantile(mass, (0.05, 0.95), axis=1)
    median = np.median(mass, axis=1)
    theory_median = theory.tail_mass_quantile(0.5, t, n, 0, threshold)
    fig, (ax,) = new_figure(1, width=9, height=4.6)
    shade_band(ax, t, np.maximum(low, floor / 10), high, series_style(0)["color"])
    plot_line(ax, t, np.where(median >= floor, median, np.nan), label=f"simulation, {runs} runs (median, 5-95%)")
    plot_theory(ax, t, np.where(theory_median >= floor, theory_median, np.nan), label="theory: median")
    original = float(tail_mass(0.0, 1.0, threshold))
    ax.axhline(original, color="black", linewidth=1.2, label=f"original: {original:.2%}")
    ax.set_yscale("log")
    ax.set_ylim(floor, 1)
    finish(
        ax,
        title=f"Mass beyond the original's ${threshold:g}\\sigma_0$ tails, n = {n}",
        xlabel="generation t",
        ylabel=f"P(|X| > {threshold:g})",
        legend=False,
    )
    legend_below(ax, offset=0.15, ncols=3, fontsize=10)  # clear of every line
    return fig


def mean_drift(
    n: int = 100,
    generations: int = 200,
    runs: int = 2000,
    estimator: str | int = "MLE (ddof=0)",
    paths: int = 6,
    seed: int = 0,
) -> plt.Figure:
    """The fitted mean wanders like a random walk: a few runs' mu_t inside +-2 theory standard
    deviations, and the mean of (mu_t - mu_0)^2 against theory (sigma0^2 (1 - a^t) for the MLE)."""
    n, generations, runs = _check_common(n, generations, runs)
    paths = check_int("paths", paths, minimum=1, maximum=runs)
    ddof = estimator_ddof(estimator)
    history = simulate_gaussian(n=n, generations=generations, runs=runs, ddof=ddof, seed=seed)
    t = history.generations
    mu = history["mu"]
    spread = np.sqrt(theory.mean_drift_mse(t, n, ddof))
    fig, (left, right) = new_figure(2, width=12, height=4.6)

    for i in range(paths):
        left.plot(t, mu[:, i], color=series_style(i)["color"], linestyle="-", linewidth=1.2, alpha=0.9, marker="none")
    left.plot(t, 2 * spread, label=r"theory: $\pm$2 sd", **{**THEORY_BAND, "linestyle": "--", "linewidth": 2})
    left.plot(t, -2 * spread, **{**THEORY_BAND, "linestyle": "--", "linewidth": 2})
    finish(
        left, title=f"Fitted mean of {paths} runs, n = {n}", xlabel="generation t", ylabel=r"$\mu_t$", loc="upper left"
    )

    _mean_with_error(right, t, mu**2, label=r"simulation: mean of $\mu_t^2$ ($\pm$2 SE)", i=0)
    plot_theory(right, t, theory.mean_drift_mse(t, n, ddof), label="theory")
    finish(
        right,
        title=f"Mean squared drift, ddof = {ddof}",
        xlabel="generation t",
        ylabel=r"$(\mu_t - \mu_0)^2$",
        loc="upper left",
    )
    return fig


def unbiased_paradox(n: int = 100, generations: int = 100, runs: int = 4000, seed: int = 0) -> plt.Figure:
    """The unbiased variance (ddof=1) keeps E[sigma_t^2] = 1 while the median sigma_t^2 -> 0:
    mean and median of sigma_t^2 with their theories, and the spread of sigma_T^2 over runs."""
    n, generations, runs = _check_common(n, generations, runs)
    history = simulate_gaussian(n=n, generations=generations, runs=runs, ddof=1, seed=seed)
    t = history.generations
    variance = history["sigma"] ** 2
    fig, (left, right) = new_figure(2, width=12, height=4.6)

    _mean_with_error(left, t, variance, label=r"simulation: mean ($\pm$2 SE)", i=0)
    plot_theory(left, t, theory.expected_variance(t, n, 1), label=r"theory: E[$\sigma_t^2$] = 1", i=0)
    plot_line(left, t, np.median(variance, axis=1), label="simulation: median", i=1)
    plot_theory(left, t, theory.sigma_quantile(0.5, t, n, 1) ** 2, label="theory: median", i=1)
    left.set_yscale("log")
    plain_log_ticks(left)
    finish(
        left,
        title=f"Unbiased fit (ddof = 1), n = {n}, {runs} runs",
        xlabel="generation t",
        ylabel=r"$\sigma_t^2$",
        loc="lower left",
    )

    final = np.log10(variance[-1])
    right.hist(final, bins=50, color=series_style(2)["color"], alpha=0.6, label=f"{runs} runs")
    right.axvline(np.log10(variance[-1].mean()), color=series_style(0)["color"], linewidth=2.5, label="mean")
    right.axvline(np.log10(np.median(variance[-1])), color=series_style(1)["color"], linewidth=2.5, label="median")
    right.axvline(0.0, color="black", linestyle="--", linewidth=1.6, label=r"original ($\sigma^2$ = 1)")
    share = np.mean(variance[-1] < 1)
    finish(
        right,
        title=f"$\\sigma^2$ at generation {generations}: {share:.0%} of runs below 1",
        xlabel=r"$\log_{10} \sigma_T^2$",
        ylabel="runs",
        loc="upper left",
    )
    return fig


def w2_distance(n: int = 100, generations: int = 200, runs: int = 2000, seed: int = 0) -> plt.Figure:
    """Squared 2-Wasserstein distance of each fitted model to the original N(0, 1): mean over runs
    for both estimators against :func:`theory.expected_w2_squared`, and its two parts for the MLE."""
    seed = check_int("seed", seed, minimum=0)
    n, generations, runs = _check_common(n, generations, runs)
    fig, (left, right) = new_figure(2, width=12, height=4.6)
    for i, ddof in enumerate((0, 1)):
        history = simulate_gaussian(n=n, generations=generations, runs=runs, ddof=ddof, seed=seed + ddof)
        t = history.generations
        w2 = w2_gaussian(history["mu"], history["sigma"], 0.0, 1.0)
        _mean_with_error(left, t, w2**2, label=f"simulation, ddof = {ddof}", i=i)
        plot_theory(left, t, theory.expected_w2_squared(t, n, ddof), label=f"theory, ddof = {ddof}", i=i)
        if ddof == 0:
            drift, shape = history["mu"] ** 2, (history["sigma"] - 1) ** 2
            _mean_with_error(right, t, drift, label=r"location: $(\mu_t - \mu_0)^2$", i=2)
            plot_theory(right, t, theory.mean_drift_mse(t, n), label="theory", i=2)
            _mean_with_error(right, t, shape, label=r"width: $(\sigma_t - \sigma_0)^2$", i=3)
            width = theory.expected_variance(t, n) - 2 * theory.expected_sigma(t, n) + 1
            plot_theory(right, t, width, label="theory", i=3)
    finish(left, title=f"Distance to the original, n = {n}", xlabel="generation t", ylabel=r"mean $W_2^2$")
    finish(right, title=r"The two parts of $W_2^2$ (MLE)", xlabel="generation t", ylabel="mean over runs")
    return fig


def fast_vs_direct(n: int = 100, generations: int = 100, runs: int = 2000, seed: int = 0) -> plt.Figure:
    """The exact fast path (sufficient statistics) against the direct path (n samples per
    generation): histograms of log sigma_T with the theory's normal approximation, and a QQ plot."""
    seed = check_int("seed", seed, minimum=0)
    n, generations, runs = _check_common(n, generations, runs)
    fast = simulate_gaussian(n=n, generations=generations, runs=runs, fast=True, seed=seed)["sigma"][-1]
    direct = simulate_gaussian(n=n, generations=generations, runs=runs, fast=False, seed=seed + 1)["sigma"][-1]
    ks = stats.ks_2samp(fast, direct)
    fig, (left, right) = new_figure(2, width=12, height=4.6)

    bins = np.histogram_bin_edges(np.log(np.concatenate([fast, direct])), bins=40)
    for i, (name, values) in enumerate((("direct path", direct), ("fast path", fast))):
        style = series_style(i)
        left.hist(np.log(values), bins=bins, density=True, histtype="step", linewidth=2.2, color=style["color"],
                  linestyle=style["linestyle"], label=name)  # fmt: skip
    centre = generations * theory.log_sigma_drift(n)
    spread = np.sqrt(generations * polygamma(1, (n - 1) / 2) / 4)  # CLT for a sum of log-chi terms
    grid = np.linspace(bins[0], bins[-1], 300)
    left.plot(
        grid,
        stats.norm.pdf(grid, centre, spread),
        color="black",
        linestyle="--",
        linewidth=2,
        marker="none",
        label="theory",
    )
    finish(
        left,
        title=f"$\\log \\sigma_T$ at generation T = {generations}, n = {n}",
        xlabel=r"$\log \sigma_T$",
        ylabel="density",
        loc="upper left",
    )

    q = np.linspace(0.005, 0.995, 199)
    qd, qf = np.quantile(direct, q), np.quantile(fast, q)
    right.plot(qd, qf, linestyle="none", marker="o", markersize=4, color=series_style(0)["color"], label="quantiles")
    right.plot(
        [qd[0], qd[-1]], [qd[0], qd[-1]], color="black", linestyle="--", linewidth=1.6, marker="none", label="y = x"
    )
    right.set_xscale("log")
    right.set_yscale("log")
    finish(
        right,
        title=f"QQ plot (log axes), KS two-sample p = {ks.pvalue:.2f}",
        xlabel=r"$\sigma_T$, direct path",
        ylabel=r"$\sigma_T$, fast path",
        loc="upper left",
    )
    return fig
