"""Claims of lesson 01 (Gaussian resampling): every number and comparison of its prose, recomputed with
the code the lesson calls, on seeds other than the lesson's own; and its exercise checkers against
plausible wrong answers."""

from __future__ import annotations

import functools
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from claimlib import checked_output, checker_tests, claim, exercise_functions, notebook, numbers_in, run_checker
from scipy import stats
from scipy.special import gammaln, polygamma

from collapse_edu import theory
from collapse_edu.figures import gaussian as figures
from collapse_edu.gaussian import Gaussian, GaussianModel, simulate_gaussian, tail_mass
from collapse_edu.loop import ModelSource, run_generations
from collapse_edu.metrics import w2_gaussian

SEEDS = (21, 22, 23, 24, 25)  # not the lesson's own seeds (0-9)
N = 100
ORIGINAL_TAIL = float(tail_mass(0.0, 1.0))


@functools.cache
def figure_axes(name: str, **kwargs):
    """The axes of one of the lesson's figures with the lesson's arguments (drawn once)."""
    fig = getattr(figures, name)(**kwargs)
    plt.close(fig)
    return fig.axes


# --------------------------------------------------------------------------- shared simulations


@pytest.fixture(scope="module")
def experiment():
    """The lesson's first experiment, as the notebook writes it (direct path through run_generations), on
    five other seeds: (mu, sigma) per seed, each shaped (201, 1000)."""
    real_world = ModelSource(GaussianModel(mu=np.array([0.0]), sigma=np.array([1.0])))
    out = []
    for seed in SEEDS:
        history = run_generations(Gaussian(ddof=0), real_world, n=N, generations=200, runs=1000, seed=seed)
        out.append((history["mu"], history["sigma"]))
    return out


@pytest.fixture(scope="module")
def many_runs():
    """MLE, n = 100, 200 generations, 10 000 runs per seed (fast path): the summaries the claims use."""
    out = []
    for seed in SEEDS:
        history = simulate_gaussian(n=N, generations=200, runs=10_000, seed=seed)
        mu, sigma = history["mu"], history["sigma"]
        variance = np.sort(sigma[200] ** 2)[::-1]
        mass = tail_mass(mu, sigma)
        out.append(
            {
                "quantiles": {t: np.quantile(sigma[t], (0.05, 0.5, 0.95)) for t in (50, 100, 200)},
                "mean_variance": (sigma**2).mean(axis=1),
                "mean_variance_se": (sigma**2).std(axis=1) / np.sqrt(sigma.shape[1]),
                "top5_share": variance[: len(variance) // 20].sum() / variance.sum(),
                "more_tail_50": mass[50] > ORIGINAL_TAIL,
                "wide_50": sigma[50] > 1,
                "median_tail": np.median(mass, axis=1),
                "upper_tail": np.quantile(mass, 0.95, axis=1),
            }
        )
    return out


@pytest.fixture(scope="module")
def figure_sized():
    """The figures' own setting (2000 runs, 200 generations) for both estimators, per seed."""
    out = []
    for seed in SEEDS:
        pair = {}
        for ddof in (0, 1):
            history = simulate_gaussian(n=N, generations=200, runs=2000, ddof=ddof, seed=seed)
            pair[ddof] = (history["mu"], history["sigma"])
        out.append(pair)
    return out


@pytest.fixture(scope="module")
def unbiased_runs():
    """Unbiased fit (ddof = 1), n = 100, 200 generations, 10 000 runs per seed: sigma_t^2 per generation."""
    return [simulate_gaussian(n=N, generations=200, runs=10_000, ddof=1, seed=seed)["sigma"] ** 2 for seed in SEEDS]


@pytest.fixture(scope="module")
def unbiased_at_1000():
    """(mean, median, largest share of the sum) of sigma_1000^2 over 5000 unbiased runs, as in the lesson's
    checked cell, on 100 other seeds (100-199); about 25 s."""
    out = []
    for seed in range(100, 200):
        variance = simulate_gaussian(n=N, generations=1000, runs=5000, ddof=1, seed=seed)["sigma"][1000] ** 2
        out.append((variance.mean(), np.median(variance), variance.max() / variance.sum()))
    return np.array(out)


# --------------------------------------------------------------------------- the time budget


@claim("01", "Sections** (about 40 minutes) 1. The experiment (5 min)", "The spread shrinks (5 min) 3. Tails go first")
def test_section_times_add_up_to_the_header_and_metadata():
    title = notebook("01").cells[0].source
    total = int(re.search(r"\*\*Sections\*\* \(about (\d+) minutes\)", title)[1])
    sections = [int(m) for m in re.findall(r"^\d+\. .*?\((\d+) min\)", title, re.M)]
    assert len(sections) == 8 and sum(sections) == total == notebook("01").metadata["collapse_edu"]["minutes"]
    exercises = [
        int(m)
        for c in notebook("01").cells
        if c.cell_type == "markdown"
        for m in re.findall(r"^### Exercise \d+ \((\d+) min\)", c.source, re.M)
    ]
    assert sum(exercises) == sections[-1] == 10


# --------------------------------------------------------------------------- 1. the experiment


@claim(
    "01",
    "Below: $n = 100$ samples per generation, 200 generations, 1000 runs, each run drawing its own samples.",
    "After 200 generations, where is $\\sigma$ in a typical run: still close to 1, somewhat lower (about 0.4), or far lower (below 0.2)?",  # noqa: E501
    "Far lower: the median over the 1000 runs is 0.13 at generation 200 (the output below), close to $e^{-200/100} \\approx 0.14$.",  # noqa: E501
)
def test_the_typical_run_ends_far_below_one(experiment):
    source = next(c.source for c in notebook("01").cells if c.cell_type == "code" and "run_generations(" in c.source)
    assert "n, generations, runs = 100, 200, 1000" in source and "Gaussian(ddof=0)" in source  # samples drawn
    line = next(x for x in checked_output("01", "runs with sigma_t > 1").splitlines() if x.startswith("t = 200"))
    assert "median sigma_t 0.13" in line and "exp(-t/n) = 0.14" in line
    for _, sigma in experiment:
        assert 0.11 < np.median(sigma[200]) < 0.155 < 0.2


@claim(
    "01",
    "the sample mean is unbiased, and the MLE variance is on average only 1% smaller than the variance of the model that made the data",  # noqa: E501
    "Losing 1% of the variance per generation would leave $\\sigma \\approx 0.99^{100} \\approx 0.37$; the typical run loses about twice as much on a log scale ($\\ln 0.13 \\approx -2$ against $\\ln 0.37 \\approx -1$)",  # noqa: E501
    "the typical product of random factors is smaller than the product of their means",
)
def test_the_typical_run_loses_twice_what_the_mean_factor_says(experiment):
    assert theory.variance_factor(N) == pytest.approx(0.99)
    assert f"{0.99**100:.2f}" == "0.37"
    assert round(np.log(0.13)) == -2 and round(np.log(0.37)) == -1
    mu1 = np.concatenate([mu[1] for mu, _ in experiment])
    var1 = np.concatenate([sigma[1] ** 2 for _, sigma in experiment])
    assert abs(mu1.mean()) < 4 * mu1.std() / np.sqrt(mu1.size)
    assert var1.mean() == pytest.approx(0.99, abs=4 * var1.std() / np.sqrt(var1.size))
    for _, sigma in experiment:
        loss = np.log(np.median(sigma[200])) / np.log(0.99**100)
        assert 1.7 < loss < 2.3
        assert np.median(sigma[200] ** 2) < theory.expected_variance(200, N)  # typical product < product of means


@claim(
    "01",
    "Single runs (grey) wander up and down, and some rise well above 1 for a while, yet the median of all 1000 runs (solid) falls steadily along the theory's median (black dashed, drawn on top) and $e^{-t/n}$ (dash-dot): the three lines nearly coincide.",  # noqa: E501
    "About one run in six still has $\\sigma_t > 1$ at generation 50; by generation 200 hardly any has.",
)
def test_single_runs_wander_while_the_median_falls(experiment):
    out = checked_output("01", "runs with sigma_t > 1")
    shares = {int(numbers_in(line)[0]): numbers_in(line)[-1] for line in out.strip().splitlines()}
    assert shares[50] == 16 and shares[200] <= 2
    t = np.arange(201)
    for _, sigma in experiment:
        assert np.max(sigma[:, :8]) > 1.3, "some of the eight drawn runs rise well above 1"
        median = np.median(sigma, axis=1)
        assert np.all(np.diff(median[::10]) < 0), "the median falls steadily"
        assert np.max(np.abs(np.log(median[1:] / theory.sigma_quantile(0.5, t[1:], N)))) < 0.1
        assert 0.12 < np.mean(sigma[50] > 1) < 0.21 and np.mean(sigma[200] > 1) < 0.03
    ax = _drawn_runs_figure()
    styles = {line.get_label(): line.get_linestyle() for line in ax.lines if not line.get_label().startswith("_")}
    assert styles == {
        "8 single runs": "-",
        "simulation: median of 1000 runs": "-",
        "theory: median": "--",
        "$e^{-t/n}$": "-.",
    }
    assert_theory_on_top(ax)
    median, rule = theory.sigma_quantile(0.5, t[1:], N), theory.median_sigma_rule_of_thumb(t[1:], N)
    assert np.max(np.abs(np.log(rule / median))) < 0.04  # the three lines nearly coincide


def assert_theory_on_top(ax) -> None:
    """The theory median is drawn black, dashed, above every simulated line, so it stays visible."""
    line = next(x for x in ax.lines if x.get_label() == "theory: median")
    assert line.get_color() == "black" and line.get_linestyle() == "--"
    assert all(line.get_zorder() > x.get_zorder() for x in ax.lines if x is not line)


def _drawn_runs_figure():
    history = simulate_gaussian(n=N, generations=20, runs=1000, seed=0)
    fig = figures.draw_sigma_runs(history)
    plt.close(fig)
    return fig.axes[0]


@claim(
    "01",
    "The course's generation loop, `collapse_edu.loop.run_generations`, does the rest",
    "which runs this same loop on the exact fast path of section 7: the same distribution of results",
)
def test_simulate_gaussian_is_the_same_loop_in_distribution(experiment):
    direct = np.concatenate([sigma[100] for _, sigma in experiment])
    fast = np.concatenate([simulate_gaussian(n=N, generations=100, runs=1000, seed=s)["sigma"][100] for s in SEEDS])
    assert stats.ks_2samp(direct, fast).statistic < 0.03


# --------------------------------------------------------------------------- 2. the spread shrinks


@claim(
    "01",
    "For the MLE $a = (n-1)/n < 1$: the variance decays geometrically.",
    "a random walk with drift $\\tfrac12 \\mathrm{E}[\\log(\\chi^2_{n-1}/n)] \\approx -1/n$ per generation",
    "and variance $\\approx 1/(2n)$ per generation",
    "the collapse takes about $n$ generations per factor $e$",
    "This is the simplest model of *model collapse* (Shumailov et al., *Nature* 2024), and its laws can be worked out "
    "exactly or closely approximated.",
    "why the fitted spread shrinks: $\\mathrm{E}[\\sigma_t^2] = a^t \\sigma_0^2$ with $a = (n-1)/n$",
)
def test_the_log_of_sigma_is_a_random_walk_with_drift_minus_one_over_n():
    rng = np.random.default_rng(31)
    for n in (50, 100, 500):
        assert theory.variance_factor(n) < 1
        assert n * theory.log_sigma_drift(n) == pytest.approx(-1, abs=0.03)
        assert 2 * n * polygamma(1, (n - 1) / 2) / 4 == pytest.approx(1, abs=0.05)
        steps = 0.5 * np.log(rng.chisquare(n - 1, 400_000) / n)
        assert steps.mean() == pytest.approx(theory.log_sigma_drift(n), abs=4 * steps.std() / np.sqrt(steps.size))
        assert theory.sigma_quantile(0.5, n, n) == pytest.approx(np.exp(-1), rel=0.02)
    # solved exactly: one generation's variance is sigma_0^2 chi2_{n-1} / n, checked on the direct path
    variance = simulate_gaussian(n=10, generations=1, runs=20_000, fast=False, seed=32)["sigma"][1] ** 2
    assert stats.kstest(10 * variance, "chi2", args=(9,)).pvalue > 0.01


def band_edge_scatter(seeds: range) -> dict[int, np.ndarray]:
    """log(simulated / theory) of the 5% and 95% edges of sigma_t over 1000 runs, per seed, t = 50, 100, 200."""
    gaps: dict[int, list] = {50: [], 100: [], 200: []}
    for seed in seeds:
        sigma = simulate_gaussian(n=N, generations=200, runs=1000, seed=seed)["sigma"]
        for t, out in gaps.items():
            predicted = [theory.sigma_quantile(q, t, N) for q in (0.05, 0.95)]
            out.append(np.log(np.quantile(sigma[t], (0.05, 0.95)) / predicted))
    return {t: np.array(v) for t, v in gaps.items()}


@claim(
    "01",
    "By the central limit theorem, $\\log \\sigma_t$ is roughly normal, which gives the dotted 5% and 95% bands",
    "the median fitted $\\sigma$ (solid) follows the theory's median (black dashed, drawn on top) and $e^{-t/n}$ "
    "(dash-dot); the three lines nearly coincide",
    "The 5–95% band of runs follows the dotted theory band, with the scatter of 1000 runs: a band edge from 1000 runs has a standard error of a few percent that grows with $t$ (about 3% at generation 50, 7% at generation 200).",  # noqa: E501
    "In this figure the upper edge ends low, at 0.61 against 0.70 at generation 200, about two of those standard "
    "errors: this draw of 1000 runs is short of large ones, which also puts its mean low (below).",
    "Right: the mean of $\\sigma_t^2$ decays as $a^t$ (log scale)",
)
def test_the_sigma_band_follows_its_theory(many_runs):
    t = np.arange(1, 201)  # the three lines nearly coincide: e^{-t/n} within 4% of the theory's median
    median, rule = theory.sigma_quantile(0.5, t, N), theory.median_sigma_rule_of_thumb(t, N)
    assert np.max(np.abs(np.log(rule / median))) < 0.04
    for summary in many_runs:  # 10 000 runs: the theory band is right to within their noise
        for t, simulated in summary["quantiles"].items():
            predicted = [theory.sigma_quantile(q, t, N) for q in (0.05, 0.5, 0.95)]
            assert np.allclose(simulated, predicted, rtol=0.06), (t, simulated, predicted)
        t = np.arange(101)
        gap = np.abs(summary["mean_variance"][1:101] - theory.expected_variance(t[1:], N))
        assert np.all(gap < 4 * summary["mean_variance_se"][1:101])
    gaps = band_edge_scatter(range(300, 340))  # the figure's 1000 runs on 40 other seeds
    se = {t: g.std(axis=0) for t, g in gaps.items()}  # the standard error of an edge, in log units
    assert np.all((se[50] > 0.025) & (se[50] < 0.035)) and np.all((se[200] > 0.065) & (se[200] < 0.075)), se
    assert np.all(se[50] < se[100]) and np.all(se[100] < se[200])
    for t, g in gaps.items():
        assert np.all(np.abs(g.mean(axis=0)) < 3 * se[t] / np.sqrt(len(g)) + 0.015), (t, g.mean(axis=0))
        assert np.all(np.abs(g) < 3.5 * se[t]), t  # each seed's edges: within its scatter
    # the figure's own data (seed 0): the upper edge at t = 200 ends about two standard errors low
    sigma = simulate_gaussian(n=N, generations=200, runs=1000, seed=0)["sigma"][200]
    edge, predicted = np.quantile(sigma, 0.95), theory.sigma_quantile(0.95, 200, N)
    assert f"{edge:.2f}" == "0.61" and f"{predicted:.2f}" == "0.70"
    assert 1.5 < np.log(predicted / edge) / se[200][1] < 2.7
    left, right = figure_axes("sigma_collapse")
    styles = [(line.get_label(), line.get_linestyle()) for line in left.lines]
    assert ("theory: median", "--") in styles and ("$e^{-t/n}$", "-.") in styles
    assert styles[0][1] == "-" and styles[0][0].startswith("simulation")
    assert_theory_on_top(left)
    left.figure.draw_without_rendering()  # the left legend sits below the axes, clear of the band
    assert left.get_legend().get_window_extent().y1 < left.get_window_extent().y0


@claim(
    "01",
    "The mean of $\\sigma_t^2$ is carried by a few runs that shrank far less than the typical one (a few even grew): at generation 200 the 5% largest values of $\\sigma_t^2$ hold 61–68% of their sum over five seeds of 10 000 runs (53% in this figure's 1000 runs).",  # noqa: E501
    "With 1000 runs those few may be missing, and the simulated mean ends below $a^t$ more often than not (in about 6 seeds in 10; the band's upper edge, set by the same large runs, ends low in this figure too).",  # noqa: E501
    "the simulated mean gets noisy, and in this figure it ends below $a^t$",
    "The shaded $\\pm 2$ standard errors do not settle it either: they are computed from the same 1000 runs, so when the large runs are missing the error looks small too.",  # noqa: E501
    "For a variable this heavy-tailed the shaded band misses $a^t$ at generation 200 in about one seed in six, not one in twenty; a mean outside it does not refute the theory.",  # noqa: E501
)
def test_the_mean_variance_is_carried_by_a_few_runs(many_runs):
    shares = sorted(round(100 * summary["top5_share"]) for summary in many_runs)
    assert (shares[0], shares[-1]) == (61, 68)
    figure_variance = np.sort(simulate_gaussian(n=N, generations=200, runs=1000, seed=0)["sigma"][200] ** 2)[::-1]
    assert round(100 * figure_variance[:50].sum() / figure_variance.sum()) == 53
    expected = theory.expected_variance(200, N)
    below, missed, spread, edges = [], [], [], []
    for seed in range(1000, 1200):
        variance = simulate_gaussian(n=N, generations=200, runs=1000, seed=seed)["sigma"][200] ** 2
        edges.append(np.quantile(variance, 0.95))
        mean, se = variance.mean(), variance.std(ddof=1) / np.sqrt(variance.size)
        below.append(mean < expected)
        missed.append(abs(mean - expected) > 2 * se)
        spread.append((mean, se))
    assert 0.52 < np.mean(below) < 0.68, np.mean(below)  # more often than not: about 6 in 10
    assert 0.1 < np.mean(missed) < 0.25, np.mean(missed)  # about one in six, where a sound band misses 1 in 20
    means, errors = np.array(spread).T
    assert np.corrcoef(means, errors)[0, 1] > 0.5, "a low mean comes with a small standard error"
    assert np.corrcoef(means, edges)[0, 1] > 0.3, "a draw short of large runs: a low upper edge and a low mean"
    # the runs that carry the mean shrank far less than the typical one, and a few grew
    assert figure_variance[49] > 10 * np.median(figure_variance) and 0 < np.sum(figure_variance > 1) < 50
    sigma = simulate_gaussian(n=N, generations=200, runs=1000, seed=0)["sigma"][200]  # the figure's own data
    assert np.mean(sigma**2) < expected
    assert np.quantile(sigma, 0.95) < theory.sigma_quantile(0.95, 200, N)
    right = figure_axes("sigma_collapse")[1]
    assert any("2 sample SE" in line.get_label() for line in right.lines)


@claim("01", "Checked numbers (20 000 runs, $n = 100$, 100 generations):")
def test_the_checked_sigma_numbers_match_theory():
    out = checked_output("01", "5% / 95% of sigma_")
    median, band, mean = out.strip().splitlines()
    simulated, predicted, rule = numbers_in(median.split(":", 1)[1])
    assert abs(simulated - predicted) < 0.01 and abs(rule - predicted) < 0.01
    q = numbers_in(band.split(":", 1)[1])
    assert abs(q[0] - q[2]) <= 0.01 and abs(q[1] - q[3]) <= 0.02
    simulated, predicted = numbers_in(mean.split(":", 1)[1])[0], numbers_in(mean)[-1]
    assert abs(simulated - predicted) < 0.01


# --------------------------------------------------------------------------- 3. tails go first


@claim(
    "01",
    "A narrower model does not shrink evenly: its density is lost fastest far out, in the tails.",
    "Measure the mass a model puts beyond the original's $3\\sigma_0$ tails",
    "0.27% for the original",
)
def test_a_narrower_model_loses_most_in_the_tails():
    assert f"{ORIGINAL_TAIL:.2%}" == "0.27%"
    for sigma in (0.9, 0.7, 0.5):
        kept = [float(tail_mass(0.0, sigma, k) / tail_mass(0.0, 1.0, k)) for k in (0.5, 1, 2, 3, 4)]
        assert np.all(np.diff(kept) < 0), "the farther out, the larger the share of the mass that is lost"


@claim(
    "01",
    "First one run, at generations 0, 10, 50 and 200:",
    "its $\\sigma$ does not fall at every step (at generation 10 this model is wider than the original)",
    "Other runs get there at other speeds; the next figure shows all of them.",
    "by generation 50 draws from its model stay well inside the original's $\\pm 3\\sigma_0$ lines (dotted)",
    "by generation 200 the model is a narrow peak off centre",
)
def test_the_typical_run_narrows_and_moves_off_centre():
    axes = figure_axes("density_snapshots", n=100, snapshots=(0, 10, 50, 200), runs=1000, seed=0)
    titles = [ax.get_title() for ax in axes]
    assert [int(re.search(r"generation (\d+)", t)[1]) for t in titles] == [0, 10, 50, 200]
    sigma_10 = float(titles[1].rsplit("=", 1)[1])
    assert sigma_10 > 1
    history = simulate_gaussian(n=100, generations=200, runs=1000, seed=0)  # the figure's run, recomputed
    run = int(np.argsort(history["sigma"][200])[500])
    mu_200, sigma_200 = history["mu"][200, run], history["sigma"][200, run]
    assert sigma_200 < 0.2 and abs(mu_200) > 2 * sigma_200
    assert 100 * tail_mass(history["mu"][50, run], history["sigma"][50, run]) < 0.01  # of its 100 samples


@claim(
    "01",
    "The median tail mass (solid) falls from 0.27% by orders of magnitude, along the theory (dashed) up to generation "
    "80 and below it after that.",
    "an approximation: pooled over 200,000 runs, it stays within about 15% of the simulated median up to generation "
    "80, then runs high, about 1.8 times the simulated median at generation 100, because in the runs the models that "
    "narrowed most have also drifted least",
    "both lines stop where they fall below it (near generation 105) and the band runs off the bottom",
    "The band's upper edge stays *above* the original throughout",
    "the mass beyond the original's $\\pm 3\\sigma_0$ falls by orders of magnitude in the typical run",
)
def test_the_tail_mass_falls_along_its_theory_and_the_curves_stop_at_the_floor(many_runs, figure_sized):
    t = np.arange(201)
    predicted = theory.tail_mass_quantile(0.5, t, N)
    shown = (predicted > 1e-12) & (t >= 1)
    for summary in many_runs:
        median = summary["median_tail"]
        assert median[100] < 1e-3 * ORIGINAL_TAIL, "orders of magnitude below the original by generation 100"
        ratio = np.abs(np.log10(median[shown] / predicted[shown]))
        assert np.max(ratio[:80]) < 0.2 and np.max(ratio) < 0.7  # on an axis of 10 decades
        assert np.all(summary["upper_tail"][1:] > ORIGINAL_TAIL)
    # pooled over 4 x 50 000 runs (one seed's median of a tail mass this steep in sigma swings by 30%): within 15%
    # up to generation 80, then the theory runs high
    histories = [simulate_gaussian(n=N, generations=100, runs=50_000, seed=seed) for seed in (7, 8, 9, 10)]
    pooled = np.median(np.concatenate([tail_mass(h["mu"], h["sigma"]) for h in histories], axis=1), axis=1)
    simulated_over_theory = pooled[1:] / predicted[1:101]
    assert np.all(np.abs(simulated_over_theory[:80] - 1) < 0.15)
    assert 1 / simulated_over_theory[99] == pytest.approx(1.8, abs=0.1)
    # why: the approximation takes the mean's spread from all runs, but the runs that narrowed most drifted least
    drift, spread = np.abs(histories[0]["mu"][100].ravel()), histories[0]["sigma"][100].ravel()
    narrow = spread < np.median(spread)
    assert np.median(drift[narrow]) < 0.8 * np.median(drift[~narrow])
    for pair in figure_sized:  # the figure's 2000 runs
        median = np.median(tail_mass(*pair[0]), axis=1)
        assert 100 <= np.argmax(median < 1e-12) <= 112
    (ax,) = figure_axes("tail_mass_decay", n=100, generations=200, runs=2000, seed=0)
    median_line, theory_line = ax.lines[0], ax.lines[1]
    for line in (median_line, theory_line):
        y = np.asarray(line.get_ydata(), float)
        last = int(np.flatnonzero(np.isfinite(y))[-1])
        assert 100 <= last <= 112 and np.all(np.isnan(y[last + 1 :])), "the line stops; no flat line at the floor"
    assert ax.get_ylim()[0] == pytest.approx(1e-12)
    band_bottom = min(path.vertices[:, 1].min() for path in ax.collections[0].get_paths())
    assert band_bottom < 1e-12, "the band runs off the bottom of the axis"
    ax.figure.draw_without_rendering()  # the legend sits below the axes, clear of the lines where they stop
    assert ax.get_legend().get_window_extent().y1 < ax.get_window_extent().y0


@claim(
    "01",
    "At generation 50 about a quarter of the runs put more mass beyond $\\pm 3\\sigma_0$ than the original did: two thirds of those because their $\\sigma$ is still above 1, the rest because their mean has drifted",  # noqa: E501
    "the tail mass mixes two effects: the loss of spread, which lowers it, and the runs that have not lost it yet or "
    "whose mean has drifted, which raise it: a spread still above the original's, or a bulk moved towards one of the "
    "original's tails",
    "although runs whose $\\sigma$ is still large, or whose mean has drifted, can carry more than the original did",
)
def test_a_quarter_of_runs_keep_more_tail_mass_at_generation_50(many_runs):
    for summary in many_runs:
        more, wide = summary["more_tail_50"], summary["wide_50"]
        assert 0.22 < more.mean() < 0.28
        assert np.all(more[wide]), "a wider model centred anywhere has more tail mass than the original"
        assert 0.6 < wide.mean() / more.mean() < 0.72
    out = checked_output("01", "median tail mass at t")
    share, wide_share, drifted = (int(x) for x in re.findall(r"(\d+)%", out.strip().splitlines()[-1]))
    assert abs(share - (wide_share + drifted)) <= 1 and 22 <= share <= 28 and 0.6 < wide_share / share < 0.72


@claim(
    "01",
    "For the typical model, an event that happens about 3 times in 1000 real samples becomes a one-in-a-billion event after about 90 generations.",  # noqa: E501
    "That is one way rare cases disappear from recursively trained models (lessons 02-04 show it in others).",
)
def test_one_in_a_billion_after_about_90_generations(many_runs):
    assert round(1000 * ORIGINAL_TAIL) == 3
    for summary in many_runs:
        assert 85 <= np.argmax(summary["median_tail"] < 1e-9) <= 95


# --------------------------------------------------------------------------- 4. the mean drifts


@claim(
    "01",
    "$\\mu_{t+1} = \\mu_t + \\sigma_t Z_t / \\sqrt{n}$ with $Z_t$ standard normal: a random walk whose steps shrink with $\\sigma_t$.",  # noqa: E501
    "The mean drifts** as a random walk",
)
def test_the_mean_takes_normal_steps_scaled_by_sigma(experiment):
    z = np.concatenate([(np.diff(mu, axis=0) / sigma[:-1] * np.sqrt(N)).ravel() for mu, sigma in experiment])
    se = 1 / np.sqrt(z.size)  # the direct path: each step is the mean of n samples of the current model
    assert abs(z.mean()) < 4 * se and abs(z.var() - 1) < 4 * np.sqrt(2) * se
    assert abs(stats.kurtosis(z)) < 4 * np.sqrt(24) * se


@claim(
    "01",
    "The walk slows down as $\\sigma_t$ collapses: each run freezes at a random place, and over many runs the spread of those places approaches the original $\\sigma_0$.",  # noqa: E501
    "six runs' fitted means wander and then freeze as their $\\sigma$ collapses",
)
def test_each_run_freezes_and_the_places_spread_like_sigma0():
    finals = []
    for seed in SEEDS:
        mu = simulate_gaussian(n=N, generations=600, runs=2000, seed=seed)["mu"]
        finals.append(mu[600])
        assert np.median(np.abs(mu[600] - mu[500])) < 0.01 < 0.3 < np.median(np.abs(mu[100]))
        early, late = np.median(np.abs(np.diff(mu[:11], axis=0))), np.median(np.abs(np.diff(mu[190:201], axis=0)))
        assert late < early / 4
    assert np.concatenate(finals).std() == pytest.approx(1.0, abs=0.04)  # the theory: sqrt(1 - a^600) = 0.999


@claim(
    "01",
    "they hold about 95% of all runs at every generation, yet about a third of the runs step outside at some point, so a path crossing them for a while is expected",  # noqa: E501
    "Right: the mean of $(\\mu_t - \\mu_0)^2$ over 2000 runs follows $\\sigma_0^2 (1 - a^t)$, with its Monte Carlo error shaded",  # noqa: E501
    "neighbouring generations share the same runs, so the simulated line can stay on one side of the theory for a long stretch",  # noqa: E501
)
def test_the_drift_band_holds_95_percent_and_the_mean_square_follows_theory(figure_sized):
    t = np.arange(201)
    spread = np.sqrt(theory.mean_drift_mse(t, N))
    mu_all = np.concatenate([pair[0][0] for pair in figure_sized], axis=1)
    inside = np.mean(np.abs(mu_all[1:]) <= 2 * spread[1:, None], axis=1)
    assert np.all((0.93 < inside) & (inside < 0.97))
    longest_one_sided = []
    for pair in figure_sized:
        mu = pair[0][0]
        assert 0.25 < np.mean(np.any(np.abs(mu[1:]) > 2 * spread[1:, None], axis=0)) < 0.45
        square = mu**2
        error = square.std(axis=1, ddof=1) / np.sqrt(square.shape[1])
        gap = square.mean(axis=1) - theory.mean_drift_mse(t, N)
        assert np.all(np.abs(gap[[50, 100, 200]]) < 3.5 * error[[50, 100, 200]])
        sign = np.sign(gap[1:])
        runs_of_sign = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], sign, [0]])) != 0))
        longest_one_sided.append(runs_of_sign.max())
    assert max(longest_one_sided) >= 50
    pooled = mu_all**2
    for tt in (50, 100, 200):
        se = pooled[tt].std() / np.sqrt(pooled.shape[1])
        assert abs(pooled[tt].mean() - theory.mean_drift_mse(tt, N)) < 3 * se


@claim("01", "The mean drifts** as a random walk: $\\mathrm{E}[(\\mu_t - \\mu_0)^2] = \\sigma_0^2 (1 - a^t)$")
def test_the_checked_drift_numbers_match_theory():
    pattern = re.compile(r"simulated ([\d.]+) \+- ([\d.]+), theory 1 - a\^t = ([\d.]+)")
    for line in checked_output("01", "E[mu_").strip().splitlines():
        simulated, error, predicted = (float(x) for x in pattern.search(line).groups())
        assert abs(simulated - predicted) <= error + 0.01


# --------------------------------------------------------------------------- 5. the unbiased-estimator paradox


@claim(
    "01",
    '"The MLE variance is biased; use the unbiased one (divide by $n - 1$) and the shrinking goes away." Does it?',
    "$\\mathrm{E}[\\log(\\chi^2_{n-1}/(n-1))] \\approx -1/(n-1) < 0$",
    "**$\\sigma_t \\to 0$ in almost every run**",
    "Unbiased is not safe**: with `ddof = 1`, $\\mathrm{E}[\\sigma_t^2] = \\sigma_0^2$ for every $t$, yet $\\sigma_t \\to 0$ almost surely",  # noqa: E501
    "the unbiased-estimator paradox: $\\mathrm{E}[\\sigma_t^2]$ stays exactly $\\sigma_0^2$, yet $\\sigma_t \\to 0$ in almost every run",  # noqa: E501
)
def test_the_unbiased_fit_keeps_the_mean_yet_collapses(unbiased_runs):
    for n in (50, 100, 500):
        assert theory.variance_factor(n, ddof=1) == 1
        assert 2 * theory.log_sigma_drift(n, ddof=1) * (n - 1) == pytest.approx(-1, abs=0.03)
    for seed, variance in enumerate(unbiased_runs, start=60):
        late = simulate_gaussian(n=N, generations=1000, runs=5000, ddof=1, seed=seed)["sigma"][1000] ** 2
        shares = [np.mean(variance[t] < 0.01) for t in (50, 100, 200)] + [np.mean(late < 0.01)]
        assert np.all(np.diff(shares) > 0) and shares[-1] > 0.85 and np.median(late) < 1e-4


@claim(
    "01",
    "Both statements are true at once: the expectation is kept alive by ever rarer runs whose variance has grown ever larger.",  # noqa: E501
    "the mean is carried by runs you will almost never see",
)
def test_ever_rarer_runs_with_ever_larger_variance_carry_the_mean(unbiased_runs):
    for variance in unbiased_runs:
        carriers, smallest = [], []
        for t in (50, 100, 200):
            values = np.sort(variance[t])[::-1]
            k = int(np.searchsorted(np.cumsum(values) / values.sum(), 0.5)) + 1  # the runs holding half the sum
            carriers.append(k)
            smallest.append(values[k - 1])
        assert carriers[0] > carriers[1] > carriers[2] and smallest[0] < smallest[1] < smallest[2]


@claim(
    "01",
    "After 100 generations with $n = 100$, what share of the runs has $\\sigma_t^2$ below 1: about half, about three quarters, or nearly all?",  # noqa: E501
    "About three quarters: 76% of 20 000 runs (the checked output after the figure), and the median $\\sigma_t^2$ is only 0.37.",  # noqa: E501
    "the runs above 1 lie far enough above it to balance the many below",
)
def test_three_quarters_of_unbiased_runs_end_below_one(unbiased_runs):
    line = checked_output("01", "of runs below 1")
    mean, error = (float(x) for x in re.search(r"mean sigma\^2 = ([\d.]+) \+- ([\d.]+)", line).groups())
    median = float(re.search(r"median sigma\^2 = ([\d.]+)", line)[1])
    share = int(re.search(r"(\d+)% of runs below 1", line)[1])
    assert share == 76 and median == 0.37 and abs(mean - 1) <= error
    for runs in unbiased_runs:
        variance = runs[100]
        assert 0.74 < np.mean(variance < 1) < 0.78
        above = variance[variance > 1]
        assert above.mean() > 2.5  # far enough above 1 to hold the average at 1


@claim(
    "01",
    "the mean of $\\sigma_t^2$ (solid, $\\pm 2$ SE shaded) stays on 1 within its Monte Carlo error while the median (dash-dot) falls along its theory (dashed)",  # noqa: E501
    "at the last generation (100, as in the prediction) three runs in four lie below 1, while the tenth of the runs "
    "that lie highest hold more than half of the sum: a thin right tail holds the mean up.",
)
def test_the_paradox_figure_mean_stays_on_one_and_the_median_falls(unbiased_runs):
    t = np.arange(201)
    for runs in unbiased_runs:
        variance = runs[:, :4000]  # the figure's 4000 runs
        error = variance.std(axis=1, ddof=1) / np.sqrt(variance.shape[1])
        assert np.mean(np.abs(variance.mean(axis=1) - 1)[1:] <= 2 * error[1:]) > 0.85
        median = np.median(variance, axis=1)
        assert np.max(np.abs(np.log(median[1:] / theory.sigma_quantile(0.5, t[1:], N, 1) ** 2))) < 0.2
        last = np.sort(variance[100])[::-1]
        assert 0.73 < np.mean(last < 1) < 0.78, "three runs in four"
        assert last[: len(last) // 10].sum() > 0.5 * last.sum(), "the highest tenth holds more than half"
    left, right = figure_axes("unbiased_paradox")[:2]
    assert left.lines[0].get_xdata()[-1] == 100 and "generation 100: 76% of runs below 1" in right.get_title()
    styles = {line.get_label(): line.get_linestyle() for line in left.lines}
    assert styles["simulation: mean ($\\pm$2 SE)"] == "-" and styles["simulation: median"] == "-."
    assert styles["theory: median"] == "--"


@claim(
    "01",
    "but the runs that carry half of that mean are now so rare that 5000 runs almost never hold one (a chance below "
    "2%, if $\\log \\sigma_t$ is normal as in section 2)",
    "In this seed the observed mean is far below 1.",
    "Over 100 other seeds (100–199) it came out below 0.5 in about two thirds of them and above 1 in about one in seven (once as high as 26), while the median stayed between $3$ and $5 \\cdot 10^{-5}$ in every seed.",  # noqa: E501
    "The single largest run held more than a tenth of the sum in 99 of the 100 seeds and more than a quarter in about three in four (in this lesson's seed, 17%).",  # noqa: E501
    "Unbiasedness protects the *average over infinitely many worlds*, not the world you live in.",
    "Collapse is about what happens in almost every run, so it is a statement about the median, not the mean.",
)
def test_after_1000_generations_a_handful_of_runs_decide_the_mean(unbiased_at_1000):
    # half of E[sigma^2] comes from runs above exp(m + v) when log sigma^2 ~ N(m, v) (v: t times the variance of
    # log chi2_{n-1}, psi'((n - 1) / 2)); a run is there with probability Phi(-sqrt(v)); 5000 runs hold one < 2%
    v = 1000 * float(polygamma(1, (N - 1) / 2))
    assert 0.01 < 5000 * stats.norm.sf(np.sqrt(v)) < 0.02
    assert float(re.search(r"mean of 5000 runs ([\d.]+)", checked_output("01", "mean of 5000 runs"))[1]) < 0.5
    assert re.search(r"which holds (\d+)% of the sum", checked_output("01", "mean of 5000 runs"))[1] == "17"
    means, medians, largest = unbiased_at_1000.T
    assert len(means) == 100
    assert 0.6 < np.mean(means < 0.5) < 0.73  # about two thirds
    assert 0.11 < np.mean(means > 1) < 0.18 and f"{means.max():.0f}" == "26"  # about one in seven
    assert np.all((3e-5 < medians) & (medians < 5e-5))
    assert np.sum(largest > 0.1) == 99 and 0.7 < np.mean(largest > 0.25) < 0.82  # about three in four


# --------------------------------------------------------------------------- 6. distance to the original


@claim(
    "01",
    "For the MLE every run ends as a point mass at a random place $\\mu_\\infty$",
    "That distance has no upper bound",
    "so the mean of $W_2^2$ tends to $2\\sigma_0^2$",
    "The mean squared **$W_2$ distance** to the original grows towards $2\\sigma_0^2$ for the MLE",
)
def test_w2_of_a_point_mass_and_its_limit():
    mu = np.array([-3.0, 0.0, 0.5, 10.0])
    assert np.allclose(w2_gaussian(mu, np.zeros(4), 0.0, 1.0) ** 2, mu**2 + 1)
    t = np.array([50, 200, 2000])
    for ddof in (0, 1):
        c = np.sqrt(2 / (N - ddof)) * np.exp(gammaln(N / 2) - gammaln((N - 1) / 2))
        direct = theory.mean_drift_mse(t, N, ddof) + theory.expected_variance(t, N, ddof) - 2 * c**t + 1
        assert np.allclose(theory.expected_w2_squared(t, N, ddof), direct)
    assert theory.expected_w2_squared(5000, N) == pytest.approx(2, abs=1e-6)
    history = simulate_gaussian(n=N, generations=800, runs=5000, seed=33)
    w2_squared = w2_gaussian(history["mu"][800], history["sigma"][800], 0.0, 1.0) ** 2
    assert np.median(history["sigma"][800]) < 1e-3  # point masses
    assert w2_squared.mean() == pytest.approx(2, abs=4 * w2_squared.std() / np.sqrt(w2_squared.size))
    assert w2_squared.max() > 8  # some runs end far away


@claim(
    "01",
    "Which estimator ends farther from the original after 200 generations",
    "The unbiased fit, by a wide margin: its mean $W_2^2$ is about 2.8 at generation 200 against about 1.6 for the MLE (both theory values), and it keeps growing.",  # noqa: E501
    "so $\\mathrm{E}[(\\mu_t - \\mu_0)^2] = t \\sigma_0^2 / n$ grows without bound, although the typical run still collapses to a point",  # noqa: E501
    "and without bound for the unbiased fit",
)
def test_the_unbiased_fit_ends_farther_away(figure_sized):
    assert f"{float(theory.expected_w2_squared(200, N, 1)):.1f}" == "2.8"
    assert f"{float(theory.expected_w2_squared(200, N, 0)):.1f}" == "1.6"
    t = np.arange(0, 2001, 100)
    assert np.allclose(theory.mean_drift_mse(t, N, 1), t / N)
    assert np.all(np.diff(theory.expected_w2_squared(t, N, 1)) > 0)
    pooled = []
    for pair in figure_sized:
        (mu0, sigma0), (mu1, sigma1) = pair[0], pair[1]
        w2_mle = (w2_gaussian(mu0[200], sigma0[200], 0.0, 1.0) ** 2).mean()
        w2_unbiased = (w2_gaussian(mu1[200], sigma1[200], 0.0, 1.0) ** 2).mean()
        assert w2_unbiased > 1.4 * w2_mle
        assert np.median(sigma1[200]) < 0.4 < np.median(sigma1[50])  # the typical unbiased run still narrows
        pooled.append(mu1[200] ** 2)
    assert theory.sigma_quantile(0.5, 2000, N, ddof=1) < 1e-4  # ... towards a point
    pooled = np.concatenate(pooled)
    assert pooled.mean() == pytest.approx(200 / N, abs=3 * pooled.std() / np.sqrt(pooled.size))


@claim(
    "01",
    "the mean squared $W_2$ distance to the original grows along its exact theory for both estimators",
    "The unbiased fit moves further away because, in expectation, its mean walk never slows down",
    "although in a typical run the steps shrink as $\\sigma_t$ collapses",
    "Right: for the MLE, the location and width parts both grow, each along its theory.",
)
def test_w2_and_its_parts_follow_their_theory(figure_sized):
    t = np.arange(201)
    checks = (50, 100, 200)
    for ddof in (0, 1):
        squares = np.concatenate([w2_gaussian(*pair[ddof], 0.0, 1.0) ** 2 for pair in figure_sized], axis=1)
        for tt in checks:
            se = squares[tt].std() / np.sqrt(squares.shape[1])
            assert abs(squares[tt].mean() - theory.expected_w2_squared(tt, N, ddof)) < 3 * se
        means = squares.mean(axis=1)
        assert np.all(np.diff(means[::20]) > 0)
    mu, sigma = (np.concatenate([pair[0][i] for pair in figure_sized], axis=1) for i in (0, 1))
    location, width = (mu**2).mean(axis=1), ((sigma - 1) ** 2).mean(axis=1)
    width_theory = theory.expected_variance(t, N) - 2 * theory.expected_sigma(t, N) + 1
    assert np.allclose(location[checks,], theory.mean_drift_mse(np.array(checks), N), rtol=0.08)
    assert np.allclose(width[checks,], width_theory[checks,], rtol=0.05)
    assert np.all(np.diff(location[::20]) > 0) and np.all(np.diff(width[::20]) > 0)
    mu1, sigma1 = (np.concatenate([pair[1][i] for pair in figure_sized], axis=1) for i in (0, 1))
    steps = np.diff(mu1, axis=0)
    expected_square = N * (steps**2).mean(axis=1)  # stays sigma_0^2 = 1 in expectation
    assert np.all(np.abs(expected_square[[0, 99, 199]] - 1) < 0.35)
    assert np.median(np.abs(steps[199])) < 0.5 * np.median(np.abs(steps[0]))


# --------------------------------------------------------------------------- 7. the exact fast path


class CountingGenerator(np.random.Generator):
    """A numpy Generator that counts the normal and chi-square variates it hands out."""

    def __init__(self, seed: int):
        super().__init__(np.random.PCG64(seed))
        self.count = 0

    def standard_normal(self, size=None, *args, **kwargs):
        self.count += 1 if size is None else int(np.prod(size))
        return super().standard_normal(size, *args, **kwargs)

    def chisquare(self, df, size=None):
        self.count += 1 if size is None else int(np.prod(size))
        return super().chisquare(df, size)


@claim(
    "01",
    "The `simulate_gaussian` calls above followed up to 20 000 runs over up to 1000 generations, yet they never drew "
    "those samples.",
    "How much faster? Time both paths at $n = 1000$",
    "per run and generation instead of $n$",
    "Cochran's theorem** gives an exact fast path: two draws per generation instead of $n$.",
)
def test_the_fast_path_draws_two_numbers_per_run_and_generation_whatever_n():
    runs, generations = 50, 12
    for n in (10, 1000):
        for fast, per_sample in ((True, 2), (False, n)):
            rng = CountingGenerator(34)
            simulate_gaussian(n=n, generations=generations, runs=runs, fast=fast, seed=rng)
            assert rng.count == per_sample * runs * generations
    rng = CountingGenerator(35)
    simulate_gaussian(n=100, generations=200, runs=20_000, seed=rng)  # the lesson's default path
    assert rng.count == 2 * 20_000 * 200


@claim(
    "01",
    "The direct path (`fast=False`) against the fast path (the default), 1500 runs each:",
    "the distributions of $\\log \\sigma_{100}$ from the direct path (solid) and the fast path (dash-dot) agree with each other and with the theory's normal curve (dashed)",  # noqa: E501
    "A two-sample Kolmogorov–Smirnov test does not reject that both samples come from one distribution",
    "Not rejecting is no proof of equality; the proof is Cochran's theorem.",
    "The test only says that 1500 runs per path show no difference, although that many runs do reveal a $\\sigma$ that is 20% too large (checked below).",  # noqa: E501
    "the check below, on other seeds, gets another: a $p$-value changes from seed to seed, and any value well above 0.05 means no difference was found",  # noqa: E501
)
def test_ks_does_not_tell_the_paths_apart_but_would_see_a_20_percent_error():
    centre = 100 * theory.log_sigma_drift(N)
    spread = np.sqrt(100 * polygamma(1, (N - 1) / 2) / 4)
    rejected = 0
    for seed in (41, 42, 43, 44, 45, 46):
        fast = simulate_gaussian(n=N, generations=100, runs=1500, fast=True, seed=2 * seed)["sigma"][100]
        direct = simulate_gaussian(n=N, generations=100, runs=1500, fast=False, seed=2 * seed + 1)["sigma"][100]
        rejected += stats.ks_2samp(fast, direct).pvalue < 0.05
        assert stats.ks_2samp(direct, 1.2 * fast).pvalue < 0.01, "1500 runs do see a 20% error in sigma"
        for values in (fast, direct):
            assert stats.kstest(np.log(values), "norm", args=(centre, spread)).statistic < 0.045
    assert rejected <= 1  # two equal distributions: about 1 seed in 20 falls below 0.05 by chance
    left, right = figure_axes("fast_vs_direct", n=100, generations=100, runs=1500, seed=0)
    assert float(re.search(r"p = ([\d.]+)", right.get_title())[1]) > 0.05
    direct_hist, fast_hist = left.patches[:2]
    (_, direct_dashes), (_, fast_dashes) = direct_hist.get_linestyle(), fast_hist.get_linestyle()
    assert direct_dashes is None and len(fast_dashes) == 4, (
        "direct path solid, fast path dash-dot (dash, gap, dot, gap)"
    )
    assert left.lines[0].get_linestyle() == "--"
    out = checked_output("01", "KS test p-value")
    assert numbers_in(out.splitlines()[-1])[0] > 0.05 and "< 0.001" in out
    cell = next(c.source for c in notebook("01").cells if c.cell_type == "code" and "KS test p-value" in c.source)
    assert cell.count("runs=1500") == 2, "the check uses the 1500 runs per path the text speaks of"
    titled = float(re.search(r"p = ([\d.]+)", right.get_title())[1])
    assert titled != numbers_in(out.splitlines()[-1])[0]  # two draws, two p-values


# --------------------------------------------------------------------------- 8. exercises


@claim(
    "01",
    "The checker runs your step for 1 000 000 runs from several starting points: three with one $\\mu$ and $\\sigma$ shared by all runs, and one with a different $\\mu$ and $\\sigma$ in every run.",  # noqa: E501
    "the standard deviation of $s$ $\\sqrt{2(n - 1)}/n$ (that of a $\\chi^2_{n-1}$ divided by $n$), and the "
    "correlation of $z^2$ and $s$ $0$ (the two are independent; squared, since a shared draw can leave $z$ and $s$ "
    "uncorrelated)",
    "A shrink by a fixed factor gets the mean of $s$ right and its spread wrong.",
)
def test_the_fast_step_checker_needs_the_per_run_values():
    index = exercise_functions("01")["fast_step"]
    checker = next(c.source for c in notebook("01").cells[index + 1 :] if c.cell_type == "code")
    assert checker.count('{"n":') == 4 and "runs=1_000_000" in checker
    first_entry_only = (
        "def fast_step(mu, sigma, n, rng):\n"
        "    mu0, sigma0 = np.ravel(mu)[0], np.ravel(sigma)[0]\n"
        "    mean = rng.normal(mu0, sigma0 / np.sqrt(n), size=np.shape(mu))\n"
        "    return mean, np.sqrt(sigma0**2 * rng.chisquare(n - 1, size=np.shape(mu)) / n)\n"
    )
    out = run_checker("01", index, replacement=first_entry_only)
    assert out.count("❌") == 1 and "<array (1000000,)>" in out, out
    fixed = (
        "def fast_step(mu, sigma, n, rng):\n"
        "    return rng.normal(mu, sigma / np.sqrt(n)), sigma * np.sqrt((n - 1) / n)\n"
    )
    out = run_checker("01", index, replacement=fixed)
    assert out.count("❌") == 4, out
    assert "1 of 5 entries differ; e.g. sd(s) over sqrt(2 (n - 1)) / n: expected 1, got " in out, out
    assert "the mean of s" not in out  # its mean is right
    other = (  # a valid step drawn another way: the chi-square as a gamma, other random numbers
        "def fast_step(mu, sigma, n, rng):\n"
        "    scatter = sigma**2 * rng.gamma((n - 1) / 2, 2.0, size=np.shape(mu))\n"
        "    return mu + sigma / np.sqrt(n) * rng.standard_normal(np.shape(mu)), np.sqrt(scatter / n)\n"
    )
    assert "✅ fast_step passed all 4 checks." in run_checker("01", index, replacement=other)


@claim(
    "01", "(a) Derive $a = \\mathrm{E}[\\sigma_{t+1}^2 / \\sigma_t^2]$ for the MLE, using $\\mathrm{E}[\\chi^2_k] = k$"
)
def test_the_shrink_factor_is_the_mean_one_step_ratio():
    for n in (3, 10, 100):
        ratio = simulate_gaussian(n=n, generations=1, runs=200_000, seed=36)["sigma"][1] ** 2
        assert ratio.mean() == pytest.approx(theory.variance_factor(n), abs=4 * ratio.std() / np.sqrt(ratio.size))


@claim(
    "01",
    "Compare with simulation: the first generation at which the median of 10 000 runs falls to 1/2.",
    "gives $\\ln 2 / |\\text{drift}|$, slightly below $n \\ln 2$",
    "the spread of a typical run halves in about $n \\ln 2$ generations",
)
def test_the_median_halves_near_n_ln_2():
    pattern = re.compile(
        r"n = +(\d+): median sigma halves at t = (\d+), n ln 2 = ([\d.]+), ln 2 / \|drift\| = ([\d.]+)"
    )
    for line in checked_output("01", "median sigma halves").strip().splitlines():
        n, first, rule, exact = (float(x) for x in pattern.search(line).groups())
        assert exact < rule < 1.06 * exact
        assert abs(first - rule) <= 1.5 and abs(first - exact) <= 1.5
        assert rule == pytest.approx(n * np.log(2), abs=0.05)


WRONG_ANSWERS = {
    "fast_step": [
        # ignores mu: centres every next mean on 0 (passes the old check from mu = 0 only)
        "def fast_step(mu, sigma, n, rng):\n"
        "    mean = rng.normal(0.0, sigma / np.sqrt(n))\n"
        "    return mean, np.sqrt(sigma**2 * rng.chisquare(n - 1, size=np.shape(mu)) / n)\n",
        # forgets to square sigma in the scatter (passes the old check from sigma = 1 only)
        "def fast_step(mu, sigma, n, rng):\n"
        "    mean = rng.normal(mu, sigma / np.sqrt(n))\n"
        "    return mean, np.sqrt(sigma * rng.chisquare(n - 1, size=np.shape(mu)) / n)\n",
        # passes the variance sigma^2 / n where numpy wants the standard deviation
        "def fast_step(mu, sigma, n, rng):\n"
        "    mean = rng.normal(mu, sigma**2 / n)\n"
        "    return mean, np.sqrt(sigma**2 * rng.chisquare(n - 1, size=np.shape(mu)) / n)\n",
        # n degrees of freedom instead of n - 1
        "def fast_step(mu, sigma, n, rng):\n"
        "    mean = rng.normal(mu, sigma / np.sqrt(n))\n"
        "    return mean, np.sqrt(sigma**2 * rng.chisquare(n, size=np.shape(mu)) / n)\n",
        # the unbiased fit: divides the scatter by n - 1
        "def fast_step(mu, sigma, n, rng):\n"
        "    mean = rng.normal(mu, sigma / np.sqrt(n))\n"
        "    return mean, np.sqrt(sigma**2 * rng.chisquare(n - 1, size=np.shape(mu)) / (n - 1))\n",
        # a shrink by the fixed factor sqrt((n - 1) / n): the right mean of s, no spread (passed the 3-moment check)
        "def fast_step(mu, sigma, n, rng):\n"
        "    return rng.normal(mu, sigma / np.sqrt(n)), sigma * np.sqrt((n - 1) / n) + 0 * np.asarray(mu)\n",
        # an exponential scatter with the chi-square's mean: right for n = 3 only (passed the 3-moment check)
        "def fast_step(mu, sigma, n, rng):\n"
        "    scatter = sigma**2 * rng.exponential(n - 1, size=np.shape(mu))\n"
        "    return rng.normal(mu, sigma / np.sqrt(n)), np.sqrt(scatter / n)\n",
        # mean and scatter from one shared normal draw: dependent (passed the 3-moment check)
        "def fast_step(mu, sigma, n, rng):\n"
        "    u = rng.standard_normal(np.shape(mu))\n"
        "    chi = rng.chisquare(n - 2, size=np.shape(mu)) + u**2 if n > 2 else u**2\n"
        "    return mu + sigma * u / np.sqrt(n), np.sqrt(sigma**2 * chi / n)\n",
        # right values, but the new mean is built in the array mu itself (mu += ...): told, not "n Var(z) got 0"
        "def fast_step(mu, sigma, n, rng):\n"
        "    mean = mu\n"
        "    mean += rng.normal(0.0, sigma / np.sqrt(n))\n"
        "    return mean, np.sqrt(sigma**2 * rng.chisquare(n - 1, size=np.shape(mu)) / n)\n",
        # returns the new mean only: a sentence about the two arrays, not "too many values to unpack"
        "def fast_step(mu, sigma, n, rng):\n    return rng.normal(mu, sigma / np.sqrt(n))\n",
    ],
    "shrink_factor": [
        "def shrink_factor(n):\n    return 1.0\n",  # the unbiased estimator's factor
        "def shrink_factor(n):\n    return n / (n - 1)\n",  # upside down
        "def shrink_factor(n):\n    return (n - 2) / (n - 1)\n",  # one degree of freedom too few
    ],
    "halving_generations": [
        "def halving_generations(n):\n    return n / 2\n",  # halving the exponent instead of solving for it
        "def halving_generations(n):\n    return n / np.log(2)\n",  # divides by ln 2
        "def halving_generations(n):\n    return np.log(2) / n\n",  # forgets that t/n is the exponent
    ],
    "tail_beyond": [
        # ignores mu: the model centred at 0
        "def tail_beyond(mu, sigma, k=3.0):\n    return 2 * norm.sf(k / sigma)\n",
        # one tail only
        "def tail_beyond(mu, sigma, k=3.0):\n    return norm.sf((k - mu) / sigma)\n",
        # doubles the upper tail, as if the model were centred
        "def tail_beyond(mu, sigma, k=3.0):\n    return 2 * norm.sf((k - mu) / sigma)\n",
    ],
}
test_checkers = checker_tests("01", WRONG_ANSWERS)
