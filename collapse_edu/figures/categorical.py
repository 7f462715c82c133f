"""Figures of lesson 02: categorical resampling (Wright-Fisher), simulation against theory."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from .. import theory
from ..categorical import (
    fixation_times,
    loss_table,
    simulate_categorical,
    uniform_distribution,
    zipf_distribution,
)
from ..loop import History
from ..plots import (
    OKABE_ITO,
    finish,
    legend_below,
    legend_key,
    legend_outside,
    new_figure,
    plot_band,
    plot_line,
    plot_theory,
    series_style,
)
from ..validation import check_int


def drift_picture(history: History, run: int = 0) -> plt.Figure:
    """Draw a ``replace`` run of the categorical loop (recorded with ``keep_frequencies=True``).

    Left: the frequencies of run ``run`` per generation (stacked) until a little after a single
    category is left (dashed line). Right: surviving categories over all runs (mean, 5-95%) against the exact
    expectation (:func:`~collapse_edu.theory.expected_surviving`), and the diffusion formula's mean
    time until one category is left (:func:`~collapse_edu.theory.expected_fixation_time`)."""
    if "p" not in history.metrics:
        raise ValueError("history must be recorded with Categorical(keep_frequencies=True) to draw frequencies")
    if history.policy.name != "replace":
        raise ValueError(f"drift_picture draws a 'replace' run, got policy {history.policy.name!r}")
    runs = history["p"].shape[1]
    if not 0 <= run < runs:
        raise ValueError(f"run must lie in [0, {runs - 1}], got {run}")
    p = history["p"][:, run, :]
    p0 = p[0]
    categories = p0.size
    t = history.generations
    fig, (left, right) = new_figure(2, width=13, height=4.6)
    colours = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(categories)]
    hatches = ["", "//", "..", "\\\\", "xx", "--", "++", "oo"]
    stacks = left.stackplot(t, p.T, colors=colours, alpha=0.85, labels=[f"category {i + 1}" for i in range(categories)])
    for i, stack in enumerate(stacks):
        stack.set_hatch(hatches[i % len(hatches)])
    fixed = fixation_times(history)[run]
    if fixed > 0:
        left.axvline(fixed, color="black", linestyle="--", linewidth=2, label=f"one left (t = {fixed})")
    left.set_xlim(0, min(t[-1], max(50, int(1.3 * fixed))) if fixed > 0 else t[-1])  # the run up to its end
    left.set_ylim(0, 1)
    finish(
        left,
        title=f"Run {run}: K = {categories}, n = {history.n}",
        xlabel="generation t",
        ylabel="frequency (stacked)",
        legend=False,
    )
    legend_below(left, offset=0.15, ncols=min(4, categories + 1), fontsize=9)

    plot_band(right, t, history["surviving"], label=f"simulation, {runs} runs (mean, 5-95%)", center="mean")
    plot_theory(
        right, t, theory.expected_surviving(p0, history.n, int(t[-1])), label="theory: exact expectation", on_top=True
    )
    mean_time = theory.expected_fixation_time(p0, history.n)
    right.axvline(mean_time, color="0.3", linestyle=":", linewidth=2, label=f"mean time to one left ≈ {mean_time:.0f}")
    right.set_ylim(0, categories + 0.3)
    finish(
        right,
        title="All runs: categories left",
        xlabel="generation t",
        ylabel="categories with p > 0",
        loc="upper right",
    )
    return fig


def loss_vs_count(
    categories: int = 300,
    zipf_exponent: float = 1.1,
    n: int = 300,
    generations: int = 30,
    runs: int = 200,
    max_count: int = 8,
    seed: int = 2,
) -> plt.Figure:
    """How often a category seen c times is gone one generation later, against (1 - c/n)^n and e^-c.

    Every (category, generation) pair of ``runs`` runs is pooled (200 x 30 by default: about 0.1 s, so
    the slider's redraw stays near 0.3 s); a marker's bar is the exact
    (Clopper-Pearson) 95% binomial interval of its share. A count with no loss at all is drawn as
    its interval's upper end (an open triangle pointing down): a log axis has no place for 0."""
    max_count = check_int("max_count", max_count, minimum=1)
    history = simulate_categorical(
        zipf_distribution(categories, zipf_exponent),
        n=n,
        generations=generations,
        runs=runs,
        keep_frequencies=True,
        seed=seed,
    )
    c, observed, cases = loss_table(history["p"], n, max_count=max_count)
    losses = np.rint(np.nan_to_num(observed) * cases)
    low, high = clopper_pearson(losses, cases)
    fig, (ax,) = new_figure(1, width=8, height=4.5)
    style = series_style(0)
    seen = (cases > 0) & (losses > 0)
    ax.errorbar(
        c[seen],
        observed[seen],
        yerr=[observed[seen] - low[seen], high[seen] - observed[seen]],
        color=style["color"],
        marker=style["marker"],
        linestyle="none",
        capsize=4,
        label=f"simulation, {runs} runs × {generations} generations (95% interval)",
    )
    none = (cases > 0) & (losses == 0)
    if none.any():
        ax.plot(c[none], high[none], linestyle="none", marker="v", markersize=8, markerfacecolor="white",
                color=style["color"], label="no loss seen: upper end of its 95% interval")  # fmt: skip
    grid = np.linspace(1, max_count, 200)
    plot_theory(ax, grid, theory.loss_probability(grid, n), label=r"theory: $(1 - c/n)^n$", on_top=True)
    ax.plot(
        grid,
        np.exp(-grid),
        color="0.45",
        linestyle=":",
        marker="",
        linewidth=1.6,
        label=r"$e^{-c}$ (the large-$n$ limit)",
    )
    ax.set_yscale("log")
    ax.set_xticks(c)
    finish(
        ax,
        title=f"Rare categories vanish first (Zipf K = {categories}, n = {n})",
        xlabel="count c of a category in this generation's data",
        ylabel="P(gone next generation)",
        loc="lower left",
    )
    return fig


def clopper_pearson(successes: np.ndarray, trials: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided binomial confidence interval (Clopper and Pearson, Biometrika 26, 404-413,
    1934) of a share ``successes / trials``, from quantiles of the beta distribution."""
    successes, trials = np.asarray(successes, float), np.asarray(trials, float)
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        low = np.where(successes > 0, stats.beta.ppf(alpha / 2, successes, trials - successes + 1), 0.0)
        high = np.where(successes < trials, stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes), 1.0)
    return low, high


def zipf_vocabulary(
    categories: int = 500,
    zipf_exponent: float = 1.1,
    n: int = 1000,
    generations: int = 50,
    runs: int = 100,
    seed: int = 3,
) -> plt.Figure:
    """Left: surviving vocabulary per generation (mean and 5-95% of runs) against the exact
    expectation. Right: the chance that the category of rank i is still there, at a few
    generations (markers: share of runs, averaged over log-spaced rank bins; dashed: the exact
    probability per rank): the tail goes first."""
    p0 = zipf_distribution(categories, zipf_exponent)
    history = simulate_categorical(p0, n=n, generations=generations, runs=runs, keep_frequencies=True, seed=seed)
    alive = theory.survival_probability(p0, n, generations)
    t = history.generations
    fig, (left, right) = new_figure(2, width=13, height=4.8)

    plot_band(left, t, history["surviving"], label=f"simulation, {runs} runs (mean, 5-95%)", center="mean")
    plot_theory(left, t, alive.sum(axis=1), label="theory: exact expectation", on_top=True)
    left.set_ylim(0, categories * 1.05)
    finish(
        left,
        title=f"Surviving vocabulary, Zipf s = {zipf_exponent:g}, n = {n}",
        xlabel="generation t",
        ylabel="categories with p > 0",
    )

    ranks = np.arange(1, categories + 1)
    present = (history["p"] > 0).mean(axis=1)  # (generations + 1, K): share of runs
    edges = np.unique(np.geomspace(1, categories + 1, 25).astype(int))
    centres = np.sqrt(edges[:-1] * (edges[1:] - 1))
    for i, s in enumerate(dict.fromkeys(g for g in (1, 5, 20, generations) if g <= generations)):
        binned = [present[s, a - 1 : b - 1].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)]
        style = series_style(i)
        right.plot(centres, binned, linestyle="none", marker=style["marker"], color=style["color"], label=f"t = {s}")
        plot_theory(right, ranks, alive[s], label=None, i=i)
    legend_key(right, "theory (dashed)")
    right.set_xscale("log")
    right.set_ylim(-0.02, 1.02)
    finish(
        right,
        title="Which categories survive",
        xlabel="rank of the category in the original Zipf law",
        ylabel="P(still present)",
        loc="lower left",
    )
    return fig


def heterozygosity_decay(
    categories: int = 20,
    n: int = 100,
    generations: int = 150,
    runs: int = 200,
    real_fraction: float = 0.1,
    seed: int = 4,
) -> plt.Figure:
    """Heterozygosity 1 - sum p^2 per generation under replace, fresh-real and accumulate (mean and
    5-95% of runs), each against its exact expectation, with the "all real data" reference
    H0 (1 - 1/n): a model fitted to n fresh real draws every generation (fresh-real with r = 1).
    Left: all three on the full scale; right: the two that hold, enlarged."""
    seed = check_int("seed", seed, minimum=0)
    p0 = uniform_distribution(categories)
    h0 = theory.heterozygosity_of(p0)
    all_real = float(theory.expected_heterozygosity(1, n, h0, "fresh-real", 1.0))
    fig, (left, right) = new_figure(2, width=13, height=4.8)
    settings = [("replace", 0.0), ("fresh-real", real_fraction), ("accumulate", 0.0)]
    low = all_real
    for i, (policy, r) in enumerate(settings):
        history = simulate_categorical(
            p0, n=n, generations=generations, runs=runs, policy=policy, real_fraction=r or None, seed=seed + i
        )
        t = history.generations
        name = f"fresh-real, r = {r:g}" if policy == "fresh-real" else policy
        expected = theory.expected_heterozygosity(t, n, h0, policy, r)
        for ax in (left, right) if policy != "replace" else (left,):
            plot_band(ax, t, history["heterozygosity"], label=f"{name} (mean, 5-95%)", i=i, center="mean")
            plot_theory(ax, t, expected, label=None, on_top=True)
        if policy != "replace":
            low = min(low, float(np.quantile(history["heterozygosity"][1:], 0.05, axis=1).min()))
    for ax in (left, right):
        ax.axhline(all_real, color="0.35", linestyle="-", linewidth=1.2, label=r"all real data (r = 1): $H_0(1 - 1/n)$")
    left.plot([], [], color="black", linestyle="--", linewidth=1.3, marker="", label="theory (black dashed)")
    left.set_ylim(0, h0 * 1.05)
    right.set_ylim(low - 0.1 * (h0 - low), h0 + 0.15 * (h0 - low))
    ylabel = r"$1 - \Sigma_i\,p_i^2$"
    finish(left, title=f"Heterozygosity, K = {categories}, n = {n}", xlabel="generation t", ylabel=ylabel, legend=False)
    finish(right, title="The two that hold, enlarged", xlabel="generation t", ylabel=ylabel, legend=False)
    legend_outside(fig, [left])  # one legend below both panels, clear of every band
    return fig


def fixation_figure(
    categories: int = 6,
    n: int = 100,
    runs: int = 400,
    compare: Sequence[int] = (2, 4, 8, 16, 32),
    compare_n: int = 50,
    compare_runs: int = 150,
    seed: int = 5,
) -> plt.Figure:
    """Left: histogram of the generation at which one category is left, with the diffusion
    formula's mean. Right: mean time against the number of categories K (it tends to 2n)."""
    seed = check_int("seed", seed, minimum=0)
    history = simulate_categorical(uniform_distribution(categories), n=n, generations=10 * n, runs=runs, seed=seed)
    times = fixation_times(history)
    done = times[times > 0]
    formula = float(theory.fixation_time_uniform(categories, n))
    fig, (left, right) = new_figure(2, width=13, height=4.8)
    left.hist(done, bins=40, color=OKABE_ITO[5], alpha=0.6, label=f"simulation, {done.size} runs")
    left.axvline(done.mean(), color="black", linewidth=2.5, label=f"simulated mean {done.mean():.0f}")
    left.axvline(
        formula,
        color=series_style(1)["color"],
        linestyle="--",
        linewidth=2.5,
        label=rf"theory $2n(K-1)\ln\frac{{K}}{{K-1}}$ = {formula:.0f}",
    )
    finish(left, title=f"Time until one of K = {categories} is left, n = {n}", xlabel="generation", ylabel="runs")

    ks = np.asarray(compare)
    means, errors = [], []
    for j, k in enumerate(ks):
        h = simulate_categorical(
            uniform_distribution(int(k)), n=compare_n, generations=12 * compare_n, runs=compare_runs, seed=seed + 1 + j
        )
        tk = fixation_times(h)
        tk = tk[tk > 0]
        means.append(tk.mean())
        errors.append(2 * tk.std() / np.sqrt(tk.size))
    style = series_style(0)
    right.errorbar(
        ks,
        means,
        yerr=errors,
        color=style["color"],
        marker=style["marker"],
        linestyle="none",
        capsize=4,
        label=f"simulation, n = {compare_n} (± 2 SE)",
    )
    grid = np.linspace(ks.min(), ks.max(), 200)
    plot_theory(right, grid, theory.fixation_time_uniform(grid, compare_n), label=r"theory $2n(K-1)\ln\frac{K}{K-1}$")
    right.axhline(2 * compare_n, color="0.4", linestyle=":", linewidth=1.5, label=r"limit $2n$")
    right.set_xscale("log", base=2)
    right.set_xticks(ks, [str(k) for k in ks])
    right.minorticks_off()
    right.set_ylim(0, 2.3 * compare_n)
    finish(
        right,
        title="More categories take longer",
        xlabel="number of categories K",
        ylabel="mean generations",
        loc="lower right",
    )
    return fig


def fresh_real_vocabulary(
    real_fraction: float = 0.05,
    n: int = 300,
    categories: int = 200,
    zipf_exponent: float = 1.1,
    generations: int = 40,
    runs: int = 100,
    seed: int = 6,
) -> plt.Figure:
    """Surviving vocabulary with no real data (replace) and with a fraction r of fresh real draws
    each generation (mean and 5-95% of runs), against the exact expectations, and the "all real
    data" reference sum_i 1 - (1 - p_i)^n: what a model fitted to n real draws keeps."""
    seed = check_int("seed", seed, minimum=0)
    p0 = zipf_distribution(categories, zipf_exponent)
    fig, (ax,) = new_figure(1, width=9, height=4.8)
    all_real = theory.expected_surviving_one_step(p0, n)
    ax.axhline(all_real, color="0.3", linestyle=":", linewidth=2, label=f"all real data (r = 1): {all_real:.0f}")
    for i, r in enumerate((0.0, real_fraction)):
        policy = "fresh-real" if r else "replace"
        history = simulate_categorical(
            p0, n=n, generations=generations, runs=runs, policy=policy, real_fraction=r or None, seed=seed + i
        )
        t = history.generations
        name = f"fresh-real r = {r:g} ({int(round(r * n))} real per generation)" if r else "replace (no real data)"
        plot_band(ax, t, history["surviving"], label=f"{name}", i=i, center="mean")
        plot_theory(ax, t, theory.expected_surviving(p0, n, generations, policy, r), label=None, on_top=True)
    ax.plot([], [], color="black", linestyle="--", linewidth=1.3, marker="", label="theory: exact expectation (on top)")
    ax.set_ylim(0, categories * 1.05)
    finish(
        ax,
        title=f"Where the vocabulary levels off (Zipf K = {categories}, n = {n})",
        xlabel="generation t",
        ylabel="categories with p > 0",
        loc="upper right",
    )
    return fig


def real_samples_not_fraction(
    p0: float = 0.3,
    settings: Sequence[tuple[int, float]] = ((100, 0.2), (1000, 0.02), (1000, 0.2)),
    generations: int = 150,
    runs: int = 600,
    seed: int = 7,
) -> plt.Figure:
    """Spread (standard deviation over runs) of one category's frequency under fresh-real, for
    settings (n, r), against the exact variance: equal n_r = r n wander about equally far whatever
    the fraction. Dotted: the "all real data" reference, a model fitted to n real draws (r = 1)."""
    seed = check_int("seed", seed, minimum=0)
    fig, (ax,) = new_figure(1, width=9, height=4.8)
    for j, n in enumerate(sorted({n for n, _ in settings})):
        ax.axhline(
            np.sqrt(p0 * (1 - p0) / n),
            color="0.15" if j else "0.55",
            linestyle=":" if j else "-.",
            linewidth=1.4,
            label=rf"all real data, n = {n}: $\sqrt{{p_0(1-p_0)/n}}$ = {np.sqrt(p0 * (1 - p0) / n):.3f}",
        )
    for i, (n, r) in enumerate(settings):
        history = simulate_categorical(
            np.array([p0, 1 - p0]),
            n=n,
            generations=generations,
            runs=runs,
            policy="fresh-real",
            real_fraction=r,
            keep_frequencies=True,
            seed=seed + i,
        )
        t = history.generations
        spread = np.sqrt(np.mean((history["p"][:, :, 0] - p0) ** 2, axis=1))
        label = rf"n = {n}, r = {r:g}: $n_r$ = {int(round(r * n))}"
        plot_line(ax, t, spread, label=label, i=i)
        ax.lines[-1].set_linestyle("-")  # solid: the dash-dot and dotted lines here are the all-real references
        plot_theory(ax, t, np.sqrt(theory.frequency_variance(t, p0, n, r)), label=None, on_top=True)
    legend_key(ax, "theory (black dashed)", color="black", linewidth=1.3)  # as plot_theory(on_top=True)
    finish(
        ax,
        title=rf"The number of real samples sets the wander ($p_0$ = {p0:g})",
        xlabel="generation t",
        ylabel=r"std of $p_t$ over runs",
        legend=False,
    )
    legend_below(ax, offset=0.14, fontsize=10)
    return fig


def history_summary(
    history: History,
    theory_surviving: np.ndarray | None = None,
    theory_heterozygosity: np.ndarray | None = None,
) -> plt.Figure:
    """Surviving categories and heterozygosity of an existing run (as printed by
    ``collapse-edu simulate categorical``), with the theory curves when there are any."""
    t = history.generations
    fig, (left, right) = new_figure(2, width=13, height=4.6)
    plot_band(left, t, history["surviving"], label=f"simulation, {history['surviving'].shape[1]} runs", center="mean")
    if theory_surviving is not None:
        plot_theory(left, t, theory_surviving, label="theory: exact expectation")
    finish(
        left,
        title=f"Surviving categories ({history.policy}, n = {history.n})",
        xlabel="generation t",
        ylabel="categories with p > 0",
    )
    plot_band(right, t, history["heterozygosity"], label="simulation", center="mean")
    if theory_heterozygosity is not None:
        plot_theory(right, t, theory_heterozygosity, label="theory")
    finish(right, title="Heterozygosity", xlabel="generation t", ylabel=r"$1 - \Sigma_i\,p_i^2$")
    return fig
