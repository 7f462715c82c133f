"""Claim tests of lesson 02 (discrete tails): every sentence that states a number or a comparison,
recomputed with the code the lesson calls. Behaviour under randomness is checked on seeds the lesson
does not use; sentences that restate a checked output read that output.
"""

from __future__ import annotations

import functools
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from claimlib import checked_output, checker_tests, claim, notebook, numbers_in
from scipy.stats import binom

from collapse_edu import theory
from collapse_edu.categorical import (
    Categorical,
    fixation_times,
    loss_table,
    simulate_categorical,
    uniform_distribution,
    zipf_distribution,
)
from collapse_edu.figures import categorical as figures
from collapse_edu.loop import ModelSource, run_generations

LESSON = "02"
SEEDS = range(101, 106)  # five seeds the lesson does not use
TEN_SEEDS = range(21, 31)  # the "ten seeds" the lesson's first prediction speaks of


def assert_theory_on_top(ax, label: str) -> None:
    """The theory line ``label`` is drawn black above every simulated line, so it stays visible."""
    theory_line = next(line for line in ax.lines if line.get_label() == label)
    assert theory_line.get_color() == "black" and theory_line.get_linestyle() == "--"
    assert all(theory_line.get_zorder() > line.get_zorder() for line in ax.lines if line is not theory_line)


def assert_legend_below(ax) -> None:
    """The axes' legend sits below the axes, clear of everything drawn in them."""
    ax.figure.draw_without_rendering()
    assert ax.get_legend().get_window_extent().y1 < ax.get_window_extent().y0


def markdown_cell(start: str) -> str:
    """The source of the lesson's markdown cell that starts with ``start``."""
    cells = [c.source for c in notebook(LESSON).cells if c.cell_type == "markdown" and c.source.startswith(start)]
    assert len(cells) == 1, f"expected one markdown cell starting with {start!r}, found {len(cells)}"
    return cells[0]


# --------------------------------------------------------------------------- shared simulations


@pytest.fixture(scope="module")
def six_categories() -> dict[str, np.ndarray]:
    """The lesson's first experiment (K = 6, n = 100, 400 runs, 800 generations) on ten other seeds."""
    times, surviving, by_300, by_800 = [], [], [], []
    for seed in TEN_SEEDS:
        history = run_generations(
            Categorical(), ModelSource(uniform_distribution(6)), n=100, generations=800, runs=400, seed=seed
        )
        t = fixation_times(history)
        times.append(t)
        surviving.append(history["surviving"])
        by_300.append(np.mean((t > 0) & (t <= 300)))
        by_800.append(np.mean(t > 0))
    return {
        "times": np.concatenate(times),
        "surviving": np.concatenate(surviving, axis=1),
        "by_300": np.array(by_300),
        "by_800": np.array(by_800),
    }


@pytest.fixture(scope="module")
def many_categories() -> dict[int, object]:
    """Time until one category is left for K = 2, 8, 32 equal categories, n = 50, 1000 runs each."""
    return {
        k: simulate_categorical(uniform_distribution(k), n=50, generations=600, runs=1000, seed=200 + k)
        for k in (2, 8, 32)
    }


ZIPF200 = zipf_distribution(200, 1.1)


@pytest.fixture(scope="module")
def fresh_real_levels() -> dict[float, dict[str, np.ndarray]]:
    """The fresh-real figure's setting (Zipf K = 200, s = 1.1, n = 300, 40 generations, 100 runs):
    exact expectation and the mean over runs for five seeds, per real fraction (0 = replace)."""
    levels = {}
    for r in (0.0, 0.05, 0.2, 0.5):
        policy = "fresh-real" if r else "replace"
        means = np.stack(
            [
                simulate_categorical(
                    ZIPF200, n=300, generations=40, runs=100, policy=policy, real_fraction=r or None, seed=seed
                ).mean("surviving")
                for seed in SEEDS
            ]
        )
        levels[r] = {"exact": theory.expected_surviving(ZIPF200, 300, 40, policy, r), "means": means}
    return levels


@pytest.fixture(scope="module")
def spreads() -> dict[tuple[int, float], np.ndarray]:
    """Stationary std of one frequency (p0 = 0.3) under fresh-real, per (n, r): one value per seed,
    from the last 50 of 150 generations of 600 runs (the figure's setting)."""
    out = {}
    for n, r in ((100, 0.2), (1000, 0.02), (1000, 0.2)):
        values = []
        for seed in SEEDS:
            history = simulate_categorical(
                np.array([0.3, 0.7]),
                n=n,
                generations=150,
                runs=600,
                policy="fresh-real",
                real_fraction=r,
                keep_frequencies=True,
                seed=seed,
            )
            values.append(np.sqrt(np.mean((history["p"][100:, :, 0] - 0.3) ** 2)))
        out[(n, r)] = np.array(values)
    return out


# --------------------------------------------------------------------------- title cell


@claim(
    LESSON,
    "Sections** (about 40 minutes; a section's time includes its exercise)",
    "Rare categories vanish first (7 min, with Exercise 1)",
    "A Zipf vocabulary loses its tail (7 min, with Exercise 2)",
)
def test_section_times_add_up_and_hold_the_exercises():
    title = notebook(LESSON).cells[0].source
    sections = re.findall(r"^\d+\. .*\((\d+) min(?:, with Exercise (\d+))?\)$", title, re.M)
    total = int(re.search(r"about (\d+) minutes", title)[1])
    assert sum(int(m) for m, _ in sections) == total == notebook(LESSON).metadata["collapse_edu"]["minutes"]
    exercise_minutes = {
        int(k): int(m)
        for c in notebook(LESSON).cells
        if c.cell_type == "markdown"
        for k, m in re.findall(r"^### Exercise (\d+):.*\((\d+) min\)", c.source, re.M)
    }
    with_exercise = {int(k): int(m) for m, k in sections if k}
    assert sorted(with_exercise) == sorted(exercise_minutes) == [1, 2, 3]
    for k, minutes in with_exercise.items():
        assert exercise_minutes[k] < minutes, f"exercise {k} takes longer than its section"


# --------------------------------------------------------------------------- section 1


@claim(
    LESSON,
    "Fit that table to data (count and divide), sample a new dataset from it, fit again",
    "this is the simplest model collapse, and population geneticists solved it long ago under the name "
    "Wright–Fisher model",
    "why refitting a categorical distribution to its own samples is the Wright–Fisher model",
)
def test_refitting_is_wright_fisher():
    """Fit = counts / n; one step gives each category a Binomial(n, p_i) count (mean and variance)."""
    family = Categorical()
    p = np.array([0.5, 0.3, 0.15, 0.05])
    counts = family.sample(family.broadcast(p, 40_000), 60, np.random.default_rng(101))
    assert np.allclose(family.fit(counts) * 60, counts)
    assert np.allclose(counts.mean(axis=0), 60 * p, atol=5 * np.sqrt(60 * p * (1 - p) / 40_000))
    assert np.allclose(counts.var(axis=0), 60 * p * (1 - p), rtol=0.05)


@claim(
    LESSON,
    "Each generation, the rarest categories are the most likely to drop out, and as long as the model learns only "
    "from its own samples, a category that drops out never comes back",
    "A lost category can come back through the real draws",
    "a lost category never returns, and the process ends at a single category",
    "why it ends with a single category",
)
def test_lost_categories_never_return_and_rare_ones_go_first():
    p0 = zipf_distribution(100, 1.0)
    for seed in SEEDS:
        history = simulate_categorical(p0, n=200, generations=30, runs=50, keep_frequencies=True, seed=seed)
        gone = history["p"] == 0
        assert not np.any(gone[:-1] & ~gone[1:]), "a category came back"
        assert np.all(np.diff(history["surviving"], axis=0) <= 0)
        _, lost, cases = loss_table(history["p"], 200, max_count=6)
        seen = cases > 200
        assert np.all(np.diff(lost[seen]) < 0), "rarer categories must be lost more often"
    # with fresh real data in every generation (section 6) lost categories do come back
    mixed = simulate_categorical(
        p0, n=200, generations=30, runs=50, policy="fresh-real", real_fraction=0.1, keep_frequencies=True, seed=101
    )
    gone = mixed["p"] == 0
    assert np.count_nonzero(gone[1:-1] & ~gone[2:]) > 100, "under fresh-real, lost categories return"


@claim(
    LESSON,
    "for two categories it also follows from Kimura & Ohta's 1969 mean times to fixation and to loss",
)
def test_two_categories_mean_time_is_fixation_and_loss_weighted():
    # Kimura & Ohta (1969), neutral allele at frequency p, haploid population of n: mean time to fixation
    # t1(p) = -2n (1 - p) ln(1 - p) / p; to loss t0(p) = t1(1 - p). Weighted by the chances p and 1 - p:
    n = 50
    for p in (0.02, 0.1, 0.3, 0.5, 0.77, 0.95):
        t1 = -2 * n * (1 - p) * np.log(1 - p) / p
        t0 = -2 * n * p * np.log(p) / (1 - p)
        assert p * t1 + (1 - p) * t0 == pytest.approx(theory.expected_fixation_time([p, 1 - p], n), rel=1e-12)


@claim(
    LESSON,
    "So the chance that category $i$ is the one that takes over is its starting frequency $p_i$ (Kimura 1962)",
    "On the probability of fixation of mutant genes in a population",
    "which one is random, with probability equal to its starting frequency",
    "Three categories start at frequencies 0.5, 0.3 and 0.2 ($n = 30$)",
    "In about half of them. The chance of being the one left is exactly the starting frequency",
    "so the common category loses as often as it wins, and the rarest still wins one run in five",
)
def test_the_winner_is_drawn_by_the_starting_frequencies():
    start = np.array([0.5, 0.3, 0.2])
    assert np.array_equal(theory.fixation_probability(start), start)
    for seed in SEEDS:
        history = simulate_categorical(start, n=30, generations=300, runs=1000, seed=seed)
        assert np.mean(history["surviving"][-1] == 1) > 0.995
        share = np.bincount(history["leader"][-1], minlength=3) / 1000
        assert np.all(np.abs(share - start) < 4 * np.sqrt(start * (1 - start) / 1000)), share


@claim(LESSON, "The cell below counts 0.51, 0.29 and 0.2 over 2000 runs")
def test_winner_shares_restate_the_checked_output():
    out = checked_output(LESSON, "Which category wins, and when")
    line = next(s for s in out.splitlines() if s.startswith("share won"))
    assert numbers_in(line)[:3] == [0.51, 0.29, 0.2]
    assert "2000 runs" in markdown_cell("**Predict before you run.** Three")
    assert numbers_in(out.splitlines()[0])[-1] == 1.0  # every one of the 2000 runs has finished


@claim(
    LESSON,
    "After 300 generations, how many categories does a typical run still have: six, three or one?",
    "Over ten seeds of 400 runs each, 84–92% of runs are down to a single category by $t = 300$, "
    "and at least 99% by $t = 800$",
    "Chance alone removes the others: the mean time until one category is left is about 180 generations",
)
def test_six_categories_end_with_one(six_categories):
    assert len(six_categories["by_300"]) == 10
    assert 0.84 <= six_categories["by_300"].min() and six_categories["by_300"].max() <= 0.92
    assert six_categories["by_800"].min() >= 0.99
    done = six_categories["times"][six_categories["times"] > 0]
    assert 175 <= done.mean() <= 185


@claim(
    LESSON,
    "from generation 132 a single category is left (dashed line); it keeps frequency 1 from then on",
    "Left: in run 0, the six frequencies wander at random, categories drop out one by one",
)
def test_run_zero_of_the_experiment():
    out = checked_output(LESSON, "The experiment above in numbers")
    assert numbers_in(out.splitlines()[0])[-1] == 132
    # the figure's run, recomputed: the lesson's experiment with its seed
    history = run_generations(
        Categorical(), ModelSource(uniform_distribution(6)), n=100, generations=800, runs=400, seed=1
    )
    alone = fixation_times(history)[0]
    assert alone == 132
    surviving = history["surviving"][:, 0]
    assert np.all(np.diff(surviving) <= 0) and surviving[alone - 1] >= 2
    assert np.all(history["top"][alone:, 0] == 1.0)
    assert np.unique(history["leader"][alone:, 0]).size == 1
    code = next(c.source for c in notebook(LESSON).cells if c.cell_type == "code" and "run_generations(" in c.source)
    assert "n=100, generations=800, runs=400, seed=1" in code


@claim(
    LESSON,
    "Right: over all 400 runs, the mean number of surviving categories (solid; 5–95% of runs shaded) "
    "follows its exact expectation (black dashed, drawn on top) down to one",
)
def test_surviving_categories_follow_their_exact_expectation(six_categories):
    history = run_generations(
        Categorical(keep_frequencies=True),
        ModelSource(uniform_distribution(6)),
        n=100,
        generations=100,
        runs=20,
        seed=1,
    )
    fig = figures.drift_picture(history)
    plt.close(fig)
    left, right = fig.axes
    assert_theory_on_top(right, "theory: exact expectation")
    assert_legend_below(left)
    exact = theory.expected_surviving(uniform_distribution(6), 100, 800)
    per_seed = six_categories["surviving"].reshape(801, 10, 400)
    for runs in np.moveaxis(per_seed, 1, 0):
        se = runs.std(axis=1) / np.sqrt(400)
        z = np.abs(runs.mean(axis=1) - exact) / np.maximum(se, 0.01)
        assert z.max() < 5
    assert exact[-1] == pytest.approx(1, abs=0.01) and exact[0] == 6


# --------------------------------------------------------------------------- section 2


@claim(
    LESSON,
    "how likely a category seen $c$ times is to vanish in the next generation: about $e^{-c}$",
    "A category seen once is gone in the next generation with probability about $e^{-1} = 37\\%$; one seen 5 "
    "times with 0.7%; one seen 10 times with 0.005%",
    "A category seen $c$ times is lost next generation with probability $(1 - c/n)^n \\approx e^{-c}$",
)
def test_loss_probabilities_by_count():
    c = np.array([1, 5, 10])
    percent = 100 * theory.loss_probability_poisson(c)
    assert [round(percent[0]), round(percent[1], 1), round(percent[2], 3)] == [37, 0.7, 0.005]
    for n in (1000, 10_000):
        exact = theory.loss_probability(c, n)
        assert np.allclose(exact, np.exp(-c), rtol=0.06)
    # one generation simulated: categories with counts 1, 5, 10 among n = 1000
    p0 = np.append(c, 1000 - c.sum()) / 1000
    history = simulate_categorical(p0, n=1000, generations=1, runs=40_000, keep_frequencies=True, seed=101)
    lost = (history["p"][1, :, :3] == 0).mean(axis=0)
    assert np.allclose(lost[:2], theory.loss_probability(c[:2], 1000), atol=4 * np.sqrt(0.37 / 40_000))


@claim(
    LESSON,
    "every (category, generation) pair is grouped by its count $c$; the markers are the share that vanished "
    "one generation later",
)
def test_loss_table_counts_what_the_text_says():
    history = simulate_categorical(
        zipf_distribution(30, 1.1), n=40, generations=6, runs=20, keep_frequencies=True, seed=101
    )
    p = history["p"]
    c, fraction, cases = loss_table(p, 40, max_count=5)
    for k in c:
        counts = np.rint(p[1:-1] * 40) == k
        assert cases[k - 1] == counts.sum()
        if counts.sum():
            assert fraction[k - 1] == pytest.approx((counts & (p[2:] == 0)).sum() / counts.sum())


LOSS_SETTING = {"n": 300, "generations": 30, "runs": 200}  # the figure's defaults (Zipf K = 300, s = 1.1)


def loss_intervals(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The loss figure's data for one seed: c = 1..8, observed share, and its exact 95% interval."""
    history = simulate_categorical(zipf_distribution(300, 1.1), keep_frequencies=True, seed=seed, **LOSS_SETTING)
    c, observed, cases = loss_table(history["p"], 300, max_count=8)
    low, high = figures.clopper_pearson(np.rint(observed * cases), cases)
    return c, observed, low, high


@claim(
    LESSON,
    "The share of categories seen $c$ times that vanish one generation later (markers, pooled over 200 runs and "
    "30 generations; bars: exact 95% binomial intervals, too narrow to see for $c \\le 2$) lies on the exact "
    "$(1 - c/n)^n$ (black dashed) from $c = 1$ to 8: the curve passes through every interval here, and on ten other "
    "seeds (101–110) 3 of 80 intervals miss it, about the one in twenty a 95% interval should",
    "For large $n$ the curve is close to $e^{-c}$ (dotted): the loss probability falls about $e$-fold with every "
    "extra occurrence",
    "With the slider (move it, then press **Run**), a count at which no category was lost shows as an open triangle "
    "at the upper end of its interval",
    "The common categories are safe from one generation to the next; the tail is not",
)
def test_loss_figure_markers_lie_on_the_theory():
    exact = theory.loss_probability(np.arange(1, 9), 300)
    # the published figure (seed 2): what is drawn is the pooled table, and no interval misses
    fig = figures.loss_vs_count()
    plt.close(fig)
    (ax,) = fig.axes
    c, observed, low, high = loss_intervals(2)
    assert np.array_equal(c, np.arange(1, 9))
    drawn = ax.containers[0].lines[0]
    assert np.allclose(drawn.get_xdata(), c) and np.allclose(drawn.get_ydata(), observed)
    outside = (exact < low) | (exact > high)
    assert not outside.any()
    assert np.all(high[:2] / low[:2] < 1.1), "intervals of the common counts too narrow to see"
    assert_theory_on_top(ax, "theory: $(1 - c/n)^n$")
    # other seeds: a 95% interval misses the exact curve about one time in twenty, never at many counts
    misses = []
    for seed in range(101, 111):
        c, observed, low, high = loss_intervals(seed)
        assert np.all(observed > 0), "at these sizes every count up to 8 loses some categories"
        misses.append(int(np.count_nonzero((exact < low) | (exact > high))))
    assert sum(misses) == 3 and max(misses) <= 1, misses  # 80 intervals: about 4 expected
    # a count with no loss is drawn as its interval's upper end, an open triangle
    fig = figures.loss_vs_count(n=60, runs=30, generations=5, max_count=8, seed=3)
    plt.close(fig)
    triangles = [line for line in fig.axes[0].lines if line.get_marker() == "v"]
    assert len(triangles) == 1 and triangles[0].get_markerfacecolor() == "white"
    assert np.all(figures.clopper_pearson(np.zeros(3), np.array([10, 100, 1000]))[1] > 0)
    ratios = theory.loss_probability(np.arange(1, 9), 300) / theory.loss_probability(np.arange(2, 10), 300)
    assert np.all((ratios > np.e) & (ratios < 1.04 * np.e))
    assert np.all(np.abs(np.log(exact / np.exp(-np.arange(1, 9)))) < 0.15)  # close to e^-c at n = 300
    assert theory.loss_probability(30, 300) < 1e-13  # a common category (c = 30) is practically never lost


# --------------------------------------------------------------------------- section 3

ZIPF500 = zipf_distribution(500, 1.1)


@claim(
    LESSON,
    "Most of the vocabulary lives in the long tail of rare words — exactly the categories that vanish first",
    "Roughly, a generation keeps the ranks $i$ with $n p_i \\gtrsim 1$ and cuts the rest, with a soft edge (rank "
    "$i$ survives a generation with probability $1 - (1 - p_i)^n$)",
    "A Zipf vocabulary loses most of its rare words within a few generations",
    "how a Zipf vocabulary (like the words of a language) loses its tail generation by generation",
)
def test_the_zipf_tail_goes_first():
    n = 1000  # the figure's setting
    alive = theory.survival_probability(ZIPF500, n, 5)
    rare = n * ZIPF500 < 1
    assert rare.mean() > 0.7  # most of the 500 ranks are rare: n p_i < 1
    assert alive[1, rare].mean() < 0.5 < alive[1, ~rare].mean()
    assert alive[1, n * ZIPF500 >= 3].min() > 0.95 and alive[1, n * ZIPF500 <= 1 / 3].max() < 0.3
    assert alive[5, rare].mean() < 0.25  # within five generations most rare words are gone
    assert np.all(np.diff(alive[1:], axis=1) <= 1e-12), "rarer ranks survive less often"


@claim(
    LESSON,
    "After one generation, by linearity of expectation",
    "`theory.survival_probability` computes $P(X_t > 0)$ for every category exactly (a backward recursion on "
    "the $(n+1)$-state chain), and the expected vocabulary is their sum",
    "the exact expected vocabulary is a sum of per-category survival probabilities",
)
def test_survival_probability_is_exact():
    p0 = zipf_distribution(12, 1.0)
    n, generations = 25, 6
    step = binom.pmf(np.arange(n + 1)[None, :], n, np.arange(n + 1)[:, None] / n)  # the (n+1)-state chain
    start = binom.pmf(np.arange(n + 1)[None, :], n, p0[:, None])  # counts after the first fit
    brute = [1 - start @ np.linalg.matrix_power(step, t - 1)[:, 0] for t in range(1, generations + 1)]
    exact = theory.survival_probability(p0, n, generations)
    assert np.allclose(exact[1:], brute, atol=1e-12)
    assert np.allclose(theory.expected_surviving(p0, n, generations), exact.sum(axis=1))
    assert theory.expected_surviving_one_step(p0, n) == pytest.approx(exact[1].sum())
    out = checked_output(LESSON, "Surviving vocabulary of a Zipf law")
    first = numbers_in(out.splitlines()[0])
    assert first[-1] == round(theory.expected_surviving_one_step(zipf_distribution(200, 1.1), 500), 1)


@claim(
    LESSON,
    "from 500 to about 228 categories in one generation and to about 112 by $t = 5$ — and then slowly "
    "(about 25 at $t = 50$); the simulated mean follows the exact expectation (black dashed, drawn on top)",
    "the rare ranks (right) go first, and the edge moves towards the common ranks (left) as generations pass",
    "Right: the share of runs in which a category of rank $i$ is still present (markers: averaged over log-spaced "
    "bins of ranks; dashed: the exact probability)",
)
def test_zipf_figure():
    fig = figures.zipf_vocabulary(runs=10, generations=20)
    plt.close(fig)
    assert_theory_on_top(fig.axes[0], "theory: exact expectation")
    right = fig.axes[1]  # markers alone per generation, each with its exact curve dashed over every rank
    markers = [line for line in right.lines if line.get_linestyle() == "None" and len(line.get_xdata())]
    dashed = [line for line in right.lines if line.get_linestyle() == "--" and len(line.get_xdata()) == 500]
    assert len(markers) == len(dashed) == 3 and len(markers[0].get_xdata()) < 30  # binned: fewer markers than ranks
    alive_20 = theory.survival_probability(ZIPF500, 1000, 20)
    assert [np.allclose(line.get_ydata(), alive_20[t]) for line, t in zip(dashed, (1, 5, 20), strict=True)] == [
        True
    ] * 3
    exact = theory.expected_surviving(ZIPF500, 1000, 50)
    assert np.all(np.abs(exact[[1, 5, 50]] - [228, 112, 25]) < 0.6)
    assert exact[0] - exact[1] > 10 * (exact[45] - exact[50])  # fast at first, then slowly
    for seed in SEEDS:
        surviving = simulate_categorical(ZIPF500, n=1000, generations=50, runs=100, seed=seed)["surviving"]
        se = surviving.std(axis=1) / np.sqrt(100)
        assert np.all(np.abs(surviving.mean(axis=1) - exact) < 4 * se + 0.2)
    alive = theory.survival_probability(ZIPF500, 1000, 50)
    edges = [np.argmax(alive[t] < 0.5) for t in (1, 5, 20, 50)]  # first rank more likely gone than present
    assert all(a > b for a, b in zip(edges, edges[1:], strict=False)), edges
    # the right panel's markers: share of runs with the rank present, in log-spaced rank bins
    shown = simulate_categorical(ZIPF500, n=1000, generations=20, runs=100, keep_frequencies=True, seed=101)
    present = (shown["p"] > 0).mean(axis=1)
    bins = np.unique(np.geomspace(1, 501, 25).astype(int))
    for t in (1, 5, 20):
        for a, b in zip(bins[:-1], bins[1:], strict=True):
            assert abs(present[t, a - 1 : b - 1].mean() - alive[t, a - 1 : b - 1].mean()) < 0.1


@claim(
    LESSON,
    "Write `surviving_after_one(p, n)`: the expected number of categories of the distribution `p` that "
    "appear at least once among `n` draws",
)
def test_exercise_two_solution_is_the_expected_vocabulary():
    cell = next(c.source for c in notebook(LESSON).cells if "def surviving_after_one" in c.source)
    namespace = {"np": np}
    exec(cell, namespace)  # noqa: S102 - the lesson's own reference solution
    p = zipf_distribution(80, 1.0)
    means = [simulate_categorical(p, n=100, generations=1, runs=2000, seed=s).mean("surviving")[1] for s in SEEDS]
    assert np.allclose(means, namespace["surviving_after_one"](p, 100), atol=0.3)


# --------------------------------------------------------------------------- section 4


@claim(
    LESSON,
    "From the variance of a multinomial frequency, $E[p_i'^2 \\mid p] = p_i^2 + p_i(1 - p_i)/n$",
    "Diversity halves about every $n \\ln 2 \\approx 0.69\\,n$ generations",
    "Diversity (heterozygosity) decays as $(1 - 1/n)^t$",
)
def test_heterozygosity_decay_rate():
    for n in (50, 100, 1000):
        half = np.log(2) / -np.log1p(-1 / n)
        assert 0.69 * n - 1 < half < 0.6932 * n
        t = np.arange(0, 300)
        assert np.allclose(theory.expected_heterozygosity(t, n, 0.8), 0.8 * (1 - 1 / n) ** t)
    p = np.array([0.6, 0.3, 0.1])
    counts = Categorical().sample(np.broadcast_to(p, (200_000, 3)), 20, np.random.default_rng(101))
    second = ((counts / 20) ** 2).mean(axis=0)
    assert np.allclose(second, p**2 + p * (1 - p) / 20, rtol=0.01)


@claim(
    LESSON,
    "which stays above $H_0 \\left(1 - \\frac{\\pi^2}{6n}\\right)$",
    "Left: under replace the mean heterozygosity (solid; 5–95% of runs shaded) decays along $(1 - 1/n)^t$ "
    "(black dashed, drawn on top) while single runs scatter widely about it (the shaded band is more than 0.4 wide at "
    "generation 100); accumulate and 10% fresh real data stay near "
    "the start",
    "Right, enlarged: accumulate settles at 0.934, just under the all-real reference 0.941 (grey line); fresh-real "
    "with $r = 0.1$ settles lower, at 0.902, with its runs spread between about 0.87 and 0.93",
    "a fresh-real fraction $r$ holds it at $H_0 - \\sum_i V_\\infty(p_i)$, with the stationary variance "
    "$V_\\infty$ of section 6",
)
def test_heterozygosity_figure():
    h0 = 1 - 1 / 20
    t = np.arange(101)
    accumulate = theory.expected_heterozygosity(10_000, 100, h0, "accumulate")
    assert accumulate > h0 * (1 - np.pi**2 / 600)
    assert round(float(accumulate), 3) == 0.934
    assert round(float(theory.expected_heterozygosity(1, 100, h0, "fresh-real", 1.0)), 3) == 0.941
    fresh = theory.expected_heterozygosity(150, 100, h0, "fresh-real", 0.1)
    assert round(float(fresh), 3) == 0.902
    stationary = theory.stationary_frequency_variance(np.full(20, 1 / 20), 100, 0.1)
    assert float(fresh) == pytest.approx(h0 - stationary.sum(), abs=1e-4)  # H_0 - sum_i V_inf(p_i)
    for seed in SEEDS:  # the figure's setting (K = 20, n = 100, 200 runs), 100 of its 150 generations
        replace = simulate_categorical(uniform_distribution(20), n=100, generations=100, runs=200, seed=seed)
        h = replace["heterozygosity"]
        se = h.std(axis=1) / np.sqrt(200)
        assert np.all(np.abs(h.mean(axis=1) - theory.expected_heterozygosity(t, 100, h0))[1:] < 4 * se[1:] + 0.005)
        low, high = np.quantile(h[100], [0.05, 0.95])
        assert high - low > 0.4  # single runs scatter widely
        mixed = simulate_categorical(
            uniform_distribution(20),
            n=100,
            generations=150,
            runs=200,
            policy="fresh-real",
            real_fraction=0.1,
            seed=seed,
        )
        kept = simulate_categorical(
            uniform_distribution(20), n=100, generations=100, runs=200, policy="accumulate", seed=seed
        )
        assert abs(mixed.mean("heterozygosity")[50:].mean() - 0.902) < 0.004
        assert abs(kept.mean("heterozygosity")[50:].mean() - 0.934) < 0.003
        spread = np.quantile(mixed["heterozygosity"][50:], [0.05, 0.95], axis=1).mean(axis=1)
        assert abs(spread[0] - 0.87) < 0.01 and abs(spread[1] - 0.93) < 0.01
        assert min(mixed.mean("heterozygosity").min(), kept.mean("heterozygosity").min()) > 0.94 * h0


# --------------------------------------------------------------------------- section 5


@functools.cache
def fixation_markers() -> tuple[np.ndarray, np.ndarray]:
    """The lesson's fixation figure (K = 2, 4, 8, 16, 32 at n = 50, 400 runs each): its markers (simulated
    mean times) and the half-heights of their error bars (2 standard errors)."""
    fig = figures.fixation_figure(
        categories=6, n=100, runs=400, compare=(2, 4, 8, 16, 32), compare_n=50, compare_runs=400
    )
    plt.close(fig)
    bars = fig.axes[1].containers[0]
    shown = np.asarray(bars.lines[0].get_ydata(), float)
    half = np.array([abs(seg[1][1] - seg[0][1]) / 2 for seg in bars.lines[2][0].get_segments()])
    return shown, half


def wright_fisher_fixation_time(n: int, count: int) -> float:
    """Exact mean absorption time of the two-category chain X' ~ Binomial(n, X / n) from X = count."""
    step = binom.pmf(np.arange(n + 1)[None, :], n, np.arange(n + 1)[:, None] / n)[1:n, 1:n]
    return float(np.linalg.solve(np.eye(n - 1) - step, np.ones(n - 1))[count - 1])


@claim(
    LESSON,
    "It is a few percent high at small $n$ (the discrete chain is a little faster): for $K = 6$ and $n = 100$ the "
    "formula gives 182 generations, the 400 runs of section 1 took 177 on average, and ten other seeds about 180; "
    "for $K = 2$ and $n = 50$, 69 against 67.5, the exact mean of the discrete chain",
    "how long it takes until one category is left",
)
def test_fixation_formula_is_a_few_percent_high(six_categories, many_categories):
    assert round(float(theory.fixation_time_uniform(6, 100))) == 182
    assert round(theory.expected_fixation_time(uniform_distribution(6), 100)) == 182
    simulated = six_categories["times"].mean()
    assert abs(simulated - 180) < 3 and 1.0 < 182.3 / simulated < 1.05
    assert "177 (simulated)" in checked_output(LESSON, "when is a single category left")
    assert round(float(theory.fixation_time_uniform(2, 50))) == 69
    assert round(wright_fisher_fixation_time(50, 25), 1) == 67.5
    for k, history in many_categories.items():
        times = fixation_times(history)
        assert np.all(times > 0)
        ratio = float(theory.fixation_time_uniform(k, 50)) / times.mean()
        assert 1.0 < ratio < 1.06, (k, ratio)


@claim(
    LESSON,
    "a more diverse starting distribution (more categories) takes longer to collapse — but never more than "
    "$2n$ generations on average, since $(K-1)\\ln\\frac{K}{K-1} < 1$ for every $K$",
    "Most categories drop out early: the last two alone take about half of the total time",
    "longer for more categories, but under $2n$",
    "Right: more categories take longer on average ($n = 50$), rising along",
    "towards the limit $2n$; the simulated means (± 2 standard errors) reach the formula, which runs a few percent "
    "high: at $K = 2$ it gives 69 generations where the discrete chain's exact mean is 67.5, and this figure's 400 "
    "runs came out at 64, with both inside their error bar",
)
def test_more_categories_take_longer_but_under_2n(many_categories, six_categories):
    k = np.arange(2, 200)
    formula = theory.fixation_time_uniform(k, 50)
    assert np.allclose(formula, 2 * 50 * (k - 1) * np.log(k / (k - 1))) and np.all((k - 1) * np.log(k / (k - 1)) < 1)
    assert np.all(np.diff(formula) > 0) and np.all(formula < 100)
    means = [fixation_times(many_categories[k]).mean() for k in (2, 8, 32)]
    assert means[0] < means[1] < means[2] < 100
    for k, history in many_categories.items():
        if k > 2:
            surviving = history["surviving"]
            share_two = (surviving == 2).sum() / fixation_times(history).sum()
            assert 0.45 < share_two < 0.6, (k, share_two)
    surviving = six_categories["surviving"]
    assert 0.45 < (surviving == 2).sum() / six_categories["times"].sum() < 0.6
    shown, half = fixation_markers()
    formula = theory.fixation_time_uniform(np.array([2, 4, 8, 16, 32]), 50)
    assert np.all(np.abs(formula - shown) <= half) and np.all(formula > shown)  # within the bars, and high
    exact = wright_fisher_fixation_time(50, 25)  # K = 2: the discrete chain's exact mean
    assert (round(formula[0]), round(exact, 1), round(shown[0])) == (69, 67.5, 64)
    assert 0.02 < formula[0] / exact - 1 < 0.04 and abs(exact - shown[0]) <= half[0]  # a few percent high


@claim(
    LESSON,
    "Two vocabularies with $n = 50$: one of 32 equally likely categories, one of 2",
    "How much longer does the 32-category vocabulary take, on average, until one category is left?",
    "Only about 43% longer, not 16 times: about 96 generations against 67 on average (the formula says 98 and 69; "
    "the figure below, from 400 runs per marker, shows 96 and 64)",
    "about 8 are left at generation 10 and about 3 at generation 30 — and the mean time never passes $2n = 100$",
)
def test_predict_32_against_2_categories(many_categories):
    t2 = fixation_times(many_categories[2]).mean()
    t32 = fixation_times(many_categories[32]).mean()
    assert abs(t2 - 67) < 2.5 and abs(t32 - 96) < 2
    assert 1.38 < t32 / t2 < 1.48
    assert np.round(theory.fixation_time_uniform(np.array([32, 2]), 50)).tolist() == [98, 69]
    left = many_categories[32].mean("surviving")
    assert abs(left[10] - 8) < 0.6 and abs(left[30] - 3) < 0.6
    markers, _ = fixation_markers()
    assert np.round(markers[[0, -1]]).tolist() == [64, 96]


@claim(
    LESSON,
    "the time until one of six categories is left ($n = 100$, 400 runs) is widely spread — the middle 90% of "
    "runs take between about 60 and 390 generations — with its mean near the formula's 182",
)
def test_fixation_histogram_spread(six_categories):
    low, high = np.percentile(six_categories["times"], [5, 95])
    assert 55 <= low <= 65 and 370 <= high <= 410
    # the figure itself (seed 5, 400 runs)
    shown = fixation_times(simulate_categorical(uniform_distribution(6), n=100, generations=1000, runs=400, seed=5))
    low, high = np.percentile(shown, [5, 95])
    assert np.all(shown > 0) and 50 <= low <= 70 and 350 <= high <= 430
    assert abs(shown.mean() - 182) < 10


@claim(
    LESSON,
    "From 16 to 32 categories the formula rises by under 2 generations, less than the error bars, so the last two "
    "markers can come out in either order",
)
def test_the_last_two_markers_are_within_their_error_bars(many_categories):
    rise = float(theory.fixation_time_uniform(32, 50) - theory.fixation_time_uniform(16, 50))
    assert 0 < rise < 2
    spread = fixation_times(many_categories[32]).std()  # the spread of one run's time, n = 50
    assert rise < 2 * spread / np.sqrt(400) / 2  # under half the figure's error bar (2 SE over 400 runs)


# --------------------------------------------------------------------------- section 6


@claim(
    LESSON,
    "A Zipf vocabulary of 200 words ($s = 1.1$), $n = 300$ draws per generation",
    "A model fitted to 300 real draws keeps about 86 of the words",
    "Now every generation's data holds 5% fresh real draws (15 items)",
    "Where does the vocabulary level off: near 86, or lower?",
    "Much lower: at about 37 words, less than half of the 86",
    "without them the vocabulary is down to about 11 words by $t = 40$ and still falling",
    "With $r = 0.2$ the vocabulary levels off at about 63 words, with $r = 0.5$ at about 80",
)
def test_predict_fresh_real_level(fresh_real_levels):
    all_real = theory.expected_surviving_one_step(ZIPF200, 300)
    assert round(all_real) == 86 and round(0.05 * 300) == 15
    one_fit = [
        simulate_categorical(ZIPF200, n=300, generations=1, runs=400, seed=s).mean("surviving")[1] for s in SEEDS
    ]
    assert np.allclose(one_fit, all_real, atol=1.0)
    for r, level in ((0.05, 37), (0.2, 63), (0.5, 80)):
        exact = fresh_real_levels[r]["exact"]
        assert abs(exact[-1] - level) < 0.6 and abs(exact[-1] - exact[30]) < 0.5  # levelled off
        assert np.all(np.abs(fresh_real_levels[r]["means"][:, -1] - level) < 2.5)
    assert fresh_real_levels[0.05]["exact"][-1] < all_real / 2
    replace = fresh_real_levels[0.0]
    assert round(replace["exact"][-1]) == 11 and replace["exact"][-1] < replace["exact"][-2]
    assert np.all(np.abs(replace["means"][:, -1] - 11) < 1.5)


@claim(
    LESSON,
    "Without real data (replace) the Zipf vocabulary keeps shrinking",
    "With 5% fresh real draws per generation it levels off at about 37 categories, far below the 86 that a model "
    "fitted to real data alone keeps",
    "Both simulations (mean, 5–95% of 100 runs) follow their exact expected curves (black dashed, drawn on top)",
    "Move the slider and press **Run**: the level rises with $r$ towards the dotted line",
    "it stops the slide to a single category, but with few real samples the vocabulary settles far below what a "
    "model fitted to the same number of real draws keeps",
    "stops the slide to a single category and pulls each frequency back to the truth, but it does not bring back "
    "the real vocabulary: in section 6's example (200 words, $n = 300$), 5% real draws leave the vocabulary at less "
    "than half of what one fit to real data keeps (37 of 86), a gap that narrows as the number of real draws grows "
    "(0.53 of it at $n = 1000$, 0.71 at $n = 3000$)",
)
def test_fresh_real_figure(fresh_real_levels):
    all_real = theory.expected_surviving_one_step(ZIPF200, 300)
    assert np.all(np.diff(fresh_real_levels[0.0]["exact"]) < 0)
    for r in (0.0, 0.05):
        exact, means = fresh_real_levels[r]["exact"], fresh_real_levels[r]["means"]
        assert np.all(np.abs(means - exact) < 0.06 * exact + 1.0)
    levels = [theory.expected_surviving(ZIPF200, 300, 40, "fresh-real", r)[-1] for r in (0.02, 0.05, 0.1, 0.2, 0.5)]
    assert np.all(np.diff(levels) > 0) and levels[-1] < all_real and levels[-1] > 0.9 * all_real
    assert levels[1] < 0.5 * all_real
    kept = [
        theory.expected_surviving(ZIPF200, n, 60, "fresh-real", 0.05)[-1]
        / theory.expected_surviving_one_step(ZIPF200, n)
        for n in (300, 1000, 3000)
    ]
    assert np.round(kept, 2).tolist() == [0.43, 0.53, 0.71]
    # the mean frequency is pulled back to the truth: E[p_t] = p0 under fresh-real
    history = simulate_categorical(
        ZIPF200,
        n=300,
        generations=40,
        runs=400,
        policy="fresh-real",
        real_fraction=0.05,
        keep_frequencies=True,
        seed=101,
    )
    assert np.allclose(history["p"][-1].mean(axis=0)[:5], ZIPF200[:5], atol=0.015)


def test_fresh_real_levels_checked_output_match_the_theory():
    out = checked_output(LESSON, "Where a Zipf vocabulary")
    lines = out.strip().splitlines()
    assert numbers_in(lines[0])[-1] == 86.3
    for line, r in zip(lines[1:], (0.05, 0.2, 0.5), strict=True):
        assert numbers_in(line)[-1] == round(theory.expected_surviving(ZIPF200, 300, 40, "fresh-real", r)[-1], 1)


@claim(
    LESSON,
    "A model fitted to $n$ real draws alone has variance $p_0(1-p_0)/n$; for small $r$ the loop's is about "
    "$n / (2 n_r) = 1/(2r)$ times larger",
    "And the number of real samples per generation, $n_r$, sets the spread — not the fraction $r$",
)
def test_stationary_variance_formula():
    p0 = 0.3
    for n in (100, 300, 1000):
        for r in (0.02, 0.05, 0.2, 0.5):
            n_r = round(r * n)
            v = p0 * (1 - p0) * 0.0
            for _ in range(3000):  # the recursion as the lesson writes it
                v = (1 - n_r / n) ** 2 * v + (n_r * p0 * (1 - p0) + (n - n_r) * (p0 * (1 - p0) - v)) / n**2
            rr = n_r / n
            fixed = p0 * (1 - p0) / (n * (1 - (1 - rr) ** 2) + (1 - rr))
            assert v == pytest.approx(fixed, rel=1e-9)
            assert theory.stationary_frequency_variance(p0, n, r) == pytest.approx(fixed, rel=1e-12)
            if r <= 0.05 and n_r >= 10:  # small r, and enough real samples for 2 n_r to dominate
                ratio = fixed / (p0 * (1 - p0) / n)
                assert ratio == pytest.approx(1 / (2 * rr), rel=0.06)
    assert theory.frequency_variance(50, p0, 100, 1.0) == pytest.approx(p0 * (1 - p0) / 100)
    # the same n_r gives about the same spread whatever n (within 10%), a different n_r does not
    assert theory.stationary_frequency_variance(p0, 1000, 0.02) / theory.stationary_frequency_variance(
        p0, 100, 0.2
    ) == pytest.approx(1, abs=0.1)


@claim(
    LESSON,
    "Which frequency wanders farther from its true value 0.3: a model trained on 100 items of which 20% are real, "
    "or one trained on 1000 items of which only 2% are real?",
    "About equally far: both see 20 real items per generation",
    "wanders about as far as one trained on 100 items of which 20 are real (standard deviations 0.072 and 0.076), "
    "and ten times as many real items (200) keep it about three times tighter",
    "The spread of one category's frequency (true value 0.3) settles at about the same level for $n = 100$ with "
    "$r = 0.2$ and for $n = 1000$ with $r = 0.02$",
    "while 200 real samples keep it three times tighter; the black dashed lines, drawn on top, are the square root of "
    "the exact variance, and the simulations are solid",
    "The variance it leaves around the truth is set by the number of real samples $n_r$, roughly $p_0(1-p_0)/(2 n_r)$, not by the fraction $r$",  # noqa: E501
    "why the number of real samples, not their fraction, sets how far the model wanders",
)
def test_spread_by_number_of_real_samples(spreads):
    exact = {key: np.sqrt(theory.stationary_frequency_variance(0.3, *key)) for key in spreads}
    for n, r in ((100, 0.2), (1000, 0.02), (1000, 0.2)):  # the variance, not the spread, is about p0(1 - p0)/(2 n_r)
        rough = 0.3 * 0.7 / (2 * n * r)
        assert theory.stationary_frequency_variance(0.3, n, r) == pytest.approx(rough, rel=0.15)
    assert round(float(exact[(1000, 0.02)]), 3) == 0.072 and round(float(exact[(100, 0.2)]), 3) == 0.076
    for key, values in spreads.items():
        assert np.all(np.abs(values - exact[key]) < 0.1 * exact[key]), (key, values)
    for a, b in zip(spreads[(100, 0.2)], spreads[(1000, 0.02)], strict=True):
        assert abs(a / b - 1) < 0.15
    tighter = np.mean(spreads[(1000, 0.02)]) / np.mean(spreads[(1000, 0.2)])
    assert 2.7 < tighter < 3.3
    fig = figures.real_samples_not_fraction(p0=0.3, settings=((100, 0.2), (1000, 0.02)), generations=5, runs=20)
    ax = fig.axes[0]
    plt.close(fig)
    solid = [line for line in ax.lines if line.get_linestyle() == "-" and len(line.get_xdata())]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--" and len(line.get_xdata())]
    assert len(solid) == len(dashed) == 2 and all(line.get_color() == "black" for line in dashed)
    assert all(line.get_zorder() > simulated.get_zorder() for line in dashed for simulated in solid)
    assert np.allclose(dashed[0].get_ydata(), np.sqrt(theory.frequency_variance(np.arange(6), 0.3, 100, 0.2)))
    out = checked_output(LESSON, "Stationary spread of a category").strip().splitlines()
    assert [numbers_in(line)[2] for line in out] == [0.076, 0.072, 0.024]  # exact
    assert all(line.endswith("simulated within 6% of exact: yes") for line in out)


@claim(
    LESSON,
    "Every setting wanders farther than a model fitted to its $n$ real draws alone (grey dash-dot: 0.046 for "
    "$n = 100$; black dotted: 0.014 for $n = 1000$); with $n = 1000$ and $r = 0.02$, five times farther",
)
def test_spread_against_all_real_data(spreads):
    all_real = {n: np.sqrt(0.3 * 0.7 / n) for n in (100, 1000)}
    assert round(all_real[100], 3) == 0.046 and round(all_real[1000], 3) == 0.014
    for (n, _r), values in spreads.items():
        assert np.all(values > 1.4 * all_real[n])
    ratio = np.sqrt(theory.stationary_frequency_variance(0.3, 1000, 0.02)) / all_real[1000]
    assert round(float(ratio)) == 5 and np.all(np.abs(spreads[(1000, 0.02)] / all_real[1000] - 5) < 0.5)


@claim(
    LESSON,
    "Using the small-$r$ rule $V \\approx p_0(1 - p_0)/(2 n_r)$, write `real_samples_needed(p0, target_std)`",
)
def test_exercise_three_rule_keeps_the_target():
    cell = next(c.source for c in notebook(LESSON).cells if "def real_samples_needed" in c.source)
    namespace = {"np": np}
    exec(cell, namespace)  # noqa: S102 - the lesson's own reference solution
    for p0, target in ((0.3, 0.03), (0.1, 0.012)):
        n_r = namespace["real_samples_needed"](p0, target)
        n = 50 * n_r  # small r
        exact = np.sqrt(theory.stationary_frequency_variance(p0, n, n_r / n))
        assert exact == pytest.approx(target, rel=0.02)
        assert np.sqrt(p0 * (1 - p0) / (2 * (n_r - 1))) > target  # one sample fewer misses the target


@claim(LESSON, "Accumulating all data keeps every category ever seen")
def test_accumulate_keeps_every_category():
    for seed in SEEDS:
        history = simulate_categorical(
            zipf_distribution(200, 1.1), n=100, generations=30, runs=50, policy="accumulate", seed=seed
        )
        assert np.all(history["surviving"][1:] == history["surviving"][1])


# --------------------------------------------------------------------------- exercises

WRONG_ANSWERS = {
    "loss_probability": [
        # the large-n limit instead of the exact probability
        "def loss_probability(c, n):\n    return np.exp(-np.asarray(c, float))\n",
        # the chance that the category IS drawn
        "def loss_probability(c, n):\n    return 1 - (1 - np.asarray(c, float) / n) ** n\n",
        # a single draw misses it: forgets that all n draws must miss
        "def loss_probability(c, n):\n    return 1 - np.asarray(c, float) / n\n",
        # scalar-only: math.pow fails on an array of counts
        "import math\n\ndef loss_probability(c, n):\n    return math.pow(1 - c / n, n)\n",
    ],
    "surviving_after_one": [
        # the expected number of categories MISSING
        "def surviving_after_one(p, n):\n    return np.sum((1 - np.asarray(p, float)) ** n)\n",
        # the Poisson approximation 1 - e^{-n p}
        "def surviving_after_one(p, n):\n    return np.sum(1 - np.exp(-n * np.asarray(p, float)))\n",
        # the rule of thumb n p >= 1 instead of the expectation
        "def surviving_after_one(p, n):\n    return float(np.sum(n * np.asarray(p, float) >= 1))\n",
        # a mean over categories instead of a sum
        "def surviving_after_one(p, n):\n    return np.mean(1 - (1 - np.asarray(p, float)) ** n)\n",
    ],
    "real_samples_needed": [
        # forgets to square the standard deviation
        "def real_samples_needed(p0, target_std):\n    return int(np.ceil(p0 * (1 - p0) / (2 * target_std)))\n",
        # rounds down (int truncates) instead of up
        "def real_samples_needed(p0, target_std):\n    return int(p0 * (1 - p0) / (2 * target_std**2))\n",
        # rounds to the nearest whole number
        "def real_samples_needed(p0, target_std):\n    return round(p0 * (1 - p0) / (2 * target_std**2))\n",
        # forgets the factor 2 of the small-r rule
        "def real_samples_needed(p0, target_std):\n    return int(np.ceil(p0 * (1 - p0) / target_std**2))\n",
        # "rounds up" by adding 1 to the truncation: one too many when the bound is whole (passed 4 cases of 4)
        "def real_samples_needed(p0, target_std):\n    return int(p0 * (1 - p0) / (2 * target_std**2)) + 1\n",
    ],
}

test_checkers = checker_tests(LESSON, WRONG_ANSWERS)
