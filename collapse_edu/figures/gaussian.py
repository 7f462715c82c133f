"""Figures of lesson 01: recursive fitting of a Gaussian, simulation against theory."""

from __future__ import annotations

import matplotlib.pyplot as plt

from .. import theory
from ..gaussian import estimator_ddof, simulate_gaussian
from ..plots import finish, new_figure, plot_band, plot_theory


def sigma_collapse(
    n: int = 100,
    generations: int = 200,
    runs: int = 1000,
    estimator: str | int = "MLE (ddof=0)",
    seed: int = 0,
) -> plt.Figure:
    """Fitted sigma per generation (median and 5-95% of runs) with the theory's median and band,
    and E[sigma^2] (simulated mean against a^t) on a log scale."""
    ddof = estimator_ddof(estimator)
    history = simulate_gaussian(n=n, generations=generations, runs=runs, ddof=ddof, seed=seed)
    t = history.generations
    fig, (left, right) = new_figure(2, width=12, height=4.6)

    plot_band(left, t, history["sigma"], label=f"simulation, {runs} runs (median, 5-95%)")
    plot_theory(left, t, theory.sigma_quantile(0.5, t, n, ddof), label="theory: median")
    for q in (0.05, 0.95):
        left.plot(
            t,
            theory.sigma_quantile(q, t, n, ddof),
            color="0.35",
            linestyle=":",
            linewidth=1.6,
            label="theory: 5% and 95%" if q == 0.05 else None,
        )
    finish(left, title=f"Fitted sigma, n = {n}, ddof = {ddof}", xlabel="generation t", ylabel="sigma_t")

    plot_band(right, t, history["sigma"] ** 2, label="simulation: mean of sigma^2", center="mean")
    plot_theory(right, t, theory.expected_variance(t, n, ddof), label="theory: a^t")
    right.set_yscale("log")
    finish(right, title="Mean fitted variance (log scale)", xlabel="generation t", ylabel="sigma_t^2")
    return fig
