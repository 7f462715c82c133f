"""Claims of lesson 00 (start here): the loop and its policies, the four failure-mode panels, the first
taste of collapse, the predict prompts, the exercise mechanism and the time budget."""

from __future__ import annotations

import functools
import re

import matplotlib.pyplot as plt
import numpy as np
from claimlib import checked_output, checker_tests, claim, exercise_functions, notebook, numbers_in

from collapse_edu import ngram, theory
from collapse_edu.figures import overview
from collapse_edu.figures import text as text_figures
from collapse_edu.gaussian import Gaussian, GaussianModel, simulate_gaussian
from collapse_edu.loop import POLICIES, ModelSource, run_generations
from collapse_edu.student import has_solution, student_notebook

SEEDS = (11, 12, 13, 14, 15)  # not the lesson's own seed 0

# --------------------------------------------------------------------------- the time budget


def section_minutes(number: str) -> tuple[int, list[int]]:
    """The title cell's 'about N minutes' and the minutes of each numbered section."""
    title = notebook(number).cells[0].source
    total = int(re.search(r"\*\*Sections\*\* \(about (\d+) minutes\)", title)[1])
    sections = [int(m) for m in re.findall(r"^\d+\. .*?\((\d+) min", title, re.M)]
    return total, sections


@claim(
    "00",
    "Sections** (about 18 minutes) 1. How to run the course",
    "A first taste of collapse (3 min)",
    "How exercises work (5 min, with two exercises of 2 min each)",
)
def test_section_times_add_up_to_the_header_and_metadata():
    total, sections = section_minutes("00")
    assert len(sections) == 6 and sum(sections) == total == notebook("00").metadata["collapse_edu"]["minutes"]
    exercise_minutes = [
        int(m)
        for c in notebook("00").cells
        if c.cell_type == "markdown"
        for m in re.findall(r"^### Exercise \d+ \((\d+) min\)", c.source, re.M)
    ]
    assert exercise_minutes == [2, 2] and sum(exercise_minutes) < sections[4]


# --------------------------------------------------------------------------- the loop and its policies

MARK = 1000.0  # every synthetic sample is shifted by MARK, so real samples (|x| < 100) stay recognisable


class MarkedGaussian(Gaussian):
    """A Gaussian whose samples are shifted by MARK: whatever a model was fitted on shows where it came from."""

    def sample(self, model, size, rng):
        return super().sample(model, size, rng) + MARK


def real_share_per_generation(policy: str) -> np.ndarray:
    """Share of real samples in each generation's training data (generation 1..5), one run per policy."""
    world = ModelSource(GaussianModel(np.array([0.0]), np.array([1.0])), real_family=Gaussian())

    def measure(model, data, t):
        return {"real_share": np.full(model.mu.shape, np.nan) if data is None else np.mean(np.abs(data) < 100, axis=1)}

    fraction = 0.3 if policy == "fresh-real" else None
    history = run_generations(
        MarkedGaussian(),
        world,
        n=20,
        generations=5,
        runs=3,
        policy=policy,
        real_fraction=fraction,
        seed=1,
        measure=measure,
    )
    return history["real_share"][1:]


@claim(
    "00",
    "Model collapse is the degradation that can set in when models learn (mostly) from data that earlier models "
    "produced.",
    "only `replace` drops the real data after the first fit, the other three policies keep real data in the loop",
    "the loop every collapse lesson studies: real data → fit → sample → mix → fit → …, with its four data policies",
    "in code it is `run_generations`",
)
def test_only_replace_drops_the_real_data_after_the_first_fit():
    assert len(POLICIES) == 4
    for policy in POLICIES:
        share = real_share_per_generation(policy)
        assert np.all(share[0] == 1.0), "the first model sees only real data"
        if policy == "replace":
            assert np.all(share[1:] == 0.0), "replace trains every later model on the previous model's samples only"
        else:
            assert np.all(share[1:] > 0.0), f"{policy} keeps real data in later generations"
    fig = overview.loop_diagram("replace")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    plt.close(fig)
    assert "real data dropped" in texts


@claim(
    "00",
    "Here is a Gaussian refitted to 10 of its own samples, five times in a row, one run.",
    "Every fit below is the best fit to its 10 samples, and the real world has $\\sigma = 1$.",
    "Most likely clearly below: in this run it falls to 0.30.",
)
def test_the_loop_output_restates_one_run_of_five_generations():
    out = checked_output("00", "the real world")
    rows = [numbers_in(line) for line in out.strip().splitlines()]
    assert [row[0] for row in rows] == [0, 1, 2, 3, 4, 5]
    assert rows[0][2] == 1.0  # generation 0: sigma = 1.000
    assert f"{rows[-1][2]:.2f}" == "0.30"
    # "best fit": the maximum-likelihood fit of the Gaussian family beats nearby (mu, sigma) on the same data
    x = np.random.default_rng(5).normal(0, 1, (1, 10))
    model = Gaussian(ddof=0).fit(x)

    def loglik(mu, sigma):
        return np.sum(-np.log(sigma) - (x - mu) ** 2 / (2 * sigma**2))

    best = loglik(model.mu[0], model.sigma[0])
    for dmu, dsigma in ((0.05, 0), (-0.05, 0), (0, 0.05), (0, -0.05), (0.03, 0.03)):
        assert loglik(model.mu[0] + dmu, model.sigma[0] + dsigma) < best


@claim(
    "00",
    "After five generations, will the fitted $\\sigma$ be near 1, clearly above 1, or clearly below?",
    "Over 20 000 runs, more than four in five end below 1 and the median $\\sigma_5$ is about 0.6.",
    "Each fit is on average a little narrower than the model that made its data",
)
def test_most_runs_end_below_one_after_five_generations():
    for seed in SEEDS:
        sigma5 = simulate_gaussian(n=10, generations=5, runs=20_000, seed=seed)["sigma"][5]
        assert 0.8 < np.mean(sigma5 < 1) < 0.88
        assert 0.55 <= np.median(sigma5) <= 0.65
    assert theory.variance_factor(10) < 1  # E[sigma_{t+1}^2] = 0.9 sigma_t^2 for n = 10


# --------------------------------------------------------------------------- the four failure modes


@functools.cache
def panels(seed: int):
    """The four axes of the failure-modes figure (drawn once per seed; the tests read the data they show)."""
    fig = overview.failure_modes(seed=seed)
    axes = fig.axes
    plt.close(fig)
    return axes


@claim(
    "00",
    "training and test error part ways (overfitting)",
    "training error keeps falling while error on new data rises",
    "Note what the horizontal axis counts: *model capacity* for overfitting",
)
def test_overfitting_panel_training_and_test_error_part_ways():
    for seed in (0, *SEEDS):
        ax = panels(seed)[0]
        train, test = (np.asarray(line.get_ydata()) for line in ax.lines[:2])
        assert np.all(np.diff(train) <= 1e-12), "training error keeps falling with capacity"
        best = int(np.argmin(test))
        assert 2 <= best <= 6 and test[-1] > 10 * test[best], "test error rises again past a moderate degree"
        assert test[-1] > 100 * train[-1]
        assert ax.get_xlabel() == "polynomial degree"


@claim(
    "00",
    "the fitted spread shrinks over generations along its theory (model collapse, with $n = 20$ samples per "
    "generation: section 6 below, with $n = 10$, shrinks twice as fast)",
    "spread and diversity shrink generation after generation",
    "*generations of models* for model collapse",
)
def test_model_collapse_panel_follows_its_theory():
    # the median falls like e^{-t/n}: twice as fast in t for n = 10 as for n = 20
    t = np.arange(1, 61)
    slow, fast = (np.log(theory.sigma_quantile(0.5, t, n)) for n in (20, 10))
    assert np.allclose(fast / slow, 2, rtol=0.06)
    assert "fed 20 of its own samples" in panels(0)[1].get_title()
    for seed in (0, *SEEDS):
        ax = panels(seed)[1]
        median, theory_line = (np.asarray(line.get_ydata()) for line in ax.lines[:2])
        assert median[-1] < 0.1 * median[0]
        assert np.all(np.diff(theory_line) < 0), "the theory's median falls at every generation"
        # 500 runs: the simulated median may tick up by a few percent, but it falls over every 5 generations
        assert np.all(median[5:] < median[:-5])
        assert np.max(np.abs(np.log(median[1:] / theory_line[1:]))) < 0.25  # 500 runs: the median's noise
        assert ax.get_xlabel() == "generation"


@claim(
    "00",
    "error on real data rises and a generator's spread and diversity shrink generation after generation",
    "rare things vanish first, although each single fit looks fine",
)
def test_the_tell_tale_signs_of_model_collapse_on_lesson_03s_text_model():
    """The table's row on model collapse, checked on lesson 03's bigram model of real text (five runs, a seed
    the lessons do not use): every later generation is worse on held-out real text and writes fewer word
    types, the words seen once in the real text are lost most often, and yet each model finds its own
    text ever more likely (nothing looks wrong from inside one fit)."""
    history = ngram.simulate_ngram(generations=10, runs=5, seed=11, keep_models=True).history
    later = slice(1, None)  # generations 0 and 1 are one model, fitted on the real text
    real_error, vocabulary = history["perplexity_real"][later], history["vocabulary"][later]
    assert np.all(np.diff(real_error, axis=0) > 0), "error on held-out real text rises at every generation"
    assert np.all(np.diff(vocabulary, axis=0) < 0), "the vocabulary it can write shrinks at every generation"
    distinct = history["distinct_2"][later]
    assert np.all(distinct[3:] < distinct[:-3]) and np.all(distinct[-1] < 0.75 * distinct[0]), "less varied text"
    before, after = text_figures.word_counts_before_after(history)
    lost = [np.mean(after[(before >= lo) & (before <= hi)] == 0) for lo, hi in ((1, 1), (2, 2), (3, 3), (4, 9))]
    assert np.all(np.diff(lost) < 0) and lost[0] > 0.3, f"the rarer a word, the likelier it is lost first: {lost}"
    assert np.mean(after[before >= 10] == 0) < 1e-3, "seen 10 times or more: almost never lost (3.7e-4 on seed 11)"
    own = history["perplexity_self"][later]
    # each model finds its own text more likely than the one before it did (measured on 500 fresh sentences,
    # so a step may tick up by a percent: over 30 seeds the worst step was +0.6%; over two steps it always fell)
    assert np.all(own[2:] < own[:-2]) and np.all(own[1:] < 1.02 * own[:-1])


@claim(
    "00",
    "a generator's samples sit on 2 of 8 modes (GAN mode collapse, a sketch",
    "samples look good but lack variety: whole modes are missing",
)
def test_mode_collapse_sketch_covers_two_of_eight_modes():
    angles = 2 * np.pi * np.arange(8) / 8
    modes = 2 * np.column_stack([np.cos(angles), np.sin(angles)])
    for seed in (0, *SEEDS):
        ax = panels(seed)[2]
        real, fake = (c.get_offsets() for c in ax.collections[:2])
        nearest = lambda points: np.argmin(((points[:, None, :] - modes[None]) ** 2).sum(-1), axis=1)  # noqa: E731
        assert len(set(nearest(np.asarray(real)))) == 8
        assert len(set(nearest(np.asarray(fake)))) == 2


@claim(
    "00",
    "the error on task A returns once training moves to task B",
    "accuracy on the old task drops right after the switch",
    "*training steps of one run* for forgetting",
)
def test_forgetting_panel_error_on_a_returns_after_the_switch():
    ax = panels(0)[3]
    error_a, error_b = (np.asarray(line.get_ydata()) for line in ax.lines[:2])
    switch = len(error_a) // 2
    assert error_a[switch - 1] < 1e-3 and error_b[-1] < 1e-3, "each task is learnt while it is trained"
    assert error_a[-1] > 1.0, "the error on task A comes back once training moves to task B"
    assert error_a[switch] > 100 * error_a[switch - 1] and error_a[switch + 9] > 0.9 * error_a[-1], "right after"
    assert ax.get_xlabel() == "training step"


@claim(
    "00",
    "Four different problems get confused with model collapse; two of them even share the word.",
    "They have different causes and different cures, so the first diagnostic skill is telling them apart.",
    "the four failure modes this course tells apart: overfitting, model collapse, GAN mode collapse and catastrophic forgetting",  # noqa: E501
    "Overfitting, model collapse, GAN mode collapse and catastrophic forgetting have different causes",
)
def test_the_figure_and_the_table_name_the_same_four_failure_modes():
    titles = [ax.get_title().split(":")[0].lower() for ax in panels(0)]
    assert sum("collapse" in title for title in titles) == 2  # two of the four share the word
    assert titles == ["overfitting", "model collapse", "gan mode collapse (sketch)", "catastrophic forgetting"]
    table = next(c.source for c in notebook("00").cells if c.cell_type == "markdown" and "| failure |" in c.source)
    rows = [line for line in table.splitlines() if line.startswith("| **")]
    assert [r.split("**")[1] for r in rows] == [
        "overfitting",
        "model collapse",
        "GAN mode collapse",
        "catastrophic forgetting",
    ]


# --------------------------------------------------------------------------- a first taste of collapse


@claim(
    "00",
    "Start from $\\mathcal{N}(0, 1)$, fit to $n = 10$ samples, sample 10, refit, and so on (by default through lesson "
    "01's exact shortcut, which draws each fit from its exact distribution instead of drawing the 10 samples).",
    "Lesson 01 proves that the median fitted $\\sigma$ falls roughly like $e^{-t/n}$ and the mean fitted variance exactly like $a^t$",  # noqa: E501
    "The two code cells after the prediction below check both against 20 000 runs.",
)
def test_first_taste_outputs_match_their_theory():
    cells = notebook("00").cells
    (at,) = [i for i, c in enumerate(cells) if "The two code cells after the prediction below" in c.source]
    assert cells[at + 1].cell_type == "markdown" and cells[at + 1].source.startswith("**Predict before you run.**")
    assert [c.cell_type for c in cells[at + 2 : at + 4]] == ["code", "code"]
    assert "median sigma at t" in cells[at + 2].source and "mean sigma^2 at t" in cells[at + 3].source
    pattern = re.compile(r"at t = (\d+)\s*: simulated ([\d.]+), theory (?:a\^t = )?([\d.]+)")
    for marker in ("median sigma at t", "mean sigma^2 at t"):
        rows = [pattern.search(line).groups() for line in checked_output("00", marker).strip().splitlines()]
        assert [int(t) for t, _, _ in rows] == [1, 10, 30]
        for _, simulated, predicted in rows:
            assert abs(float(simulated) - float(predicted)) <= 0.01 + 0.05 * float(predicted), rows
    source = next(c.source for c in notebook("00").cells if c.cell_type == "code" and "median sigma at t" in c.source)
    assert "n = 10" in source and "runs=20_000" in source
    # the default path: the exact shortcut (GaussianFast) for plain replace, no n samples drawn
    import inspect

    assert 'fast = policy.name != "accumulate-subsample" and curation.name == "none"' in inspect.getsource(
        simulate_gaussian
    )


@claim(
    "00",
    "how much of the original spread does the typical model keep: about half, about a quarter, or less than a tenth?",
    "Less than a tenth, indeed less than a twentieth: the median $\\sigma_{30}$ of 20 000 runs is 0.04",
    "as the exact theory predicts (the rough rule $e^{-t/n}$ of lesson 01 gives 0.05)",
    "After 30 generations of learning from its own samples, the typical model has kept less than a twentieth of the original spread",  # noqa: E501
)
def test_the_typical_model_keeps_less_than_a_twentieth_after_30_generations():
    line = next(x for x in checked_output("00", "median sigma at t").splitlines() if "t = 30" in x)
    t, simulated, predicted, rule = numbers_in(line)
    assert t == 30 and simulated == 0.04 and rule == 0.05 and predicted == 0.04
    for seed in SEEDS:
        assert np.median(simulate_gaussian(n=10, generations=30, runs=20_000, seed=seed)["sigma"][30]) < 0.05


# --------------------------------------------------------------------------- how exercises work


@claim(
    "00",
    "Its cell starts *collapsed*: in JupyterLab click the collapsed line (or the bar left of the cell) to reveal it, "
    "on Colab double-click its title",
    'each solution is replaced by `raise NotImplementedError("Student exercise: <hint>")`',
    "Exercises: complete the function, run the checker, read its sentence.",
)
def test_solutions_start_collapsed_and_the_student_version_raises():
    cells = notebook("00").cells
    solutions = [c for c in cells if c.cell_type == "code" and has_solution(c.source)]
    assert len(solutions) == 2
    assert all(c.metadata["jupyter"]["source_hidden"] for c in solutions)
    student = [c for c in student_notebook(notebook("00")).cells if c.cell_type == "code"]
    assert sum("raise NotImplementedError(" in c.source and "Student exercise: " in c.source for c in student) == 2


@claim(
    "00",
    "Match each report to a failure mode",
    "Each release gives blander, more repetitive answers and rarely mentions unusual topics.",
    "A model reaches 99% accuracy on its training set and 61% on held-out data.",
)
def test_the_answer_key_matches_the_table():
    # A: generations of chatbots (model collapse); B: one GAN run; C: a task sequence; D: 99% on the training
    # set against 61% on held-out data, the tell-tale sign of overfitting in the table.
    checker = notebook("00").cells[exercise_functions("00")["my_matches"] + 1].source
    key = eval(re.search(r"\[int\(d\) for d in str\((0o\d+)\)\]", checker)[1])  # noqa: S307 - an octal literal
    assert [int(d) for d in str(key)] == [2, 3, 4, 1]


WRONG_ANSWERS = {
    "fit_gaussian": [
        # the unbiased standard deviation (divides by n - 1)
        "def fit_gaussian(x):\n    return np.mean(x), np.std(x, ddof=1)\n",
        # the variance instead of the standard deviation
        "def fit_gaussian(x):\n    mu = np.mean(x)\n    return mu, np.mean((x - mu) ** 2)\n",
        # the two results in the wrong order
        "def fit_gaussian(x):\n    return np.std(x), np.mean(x)\n",
        # centres the data in place, then reports the centred mean (passed while the reference saw the change)
        "def fit_gaussian(x):\n    x -= x.mean()\n    return x.mean(), np.sqrt(np.mean(x**2))\n",
    ],
    "my_matches": [
        "def my_matches():\n    return [1, 2, 3, 4]\n",
        # C and D swapped: forgetting vs overfitting
        "def my_matches():\n    return [2, 3, 1, 4]\n",
        # A as overfitting: the repeating generations are the clue
        "def my_matches():\n    return [1, 3, 4, 2]\n",
    ],
}
test_checkers = checker_tests("00", WRONG_ANSWERS)


def test_fit_gaussian_checker_needs_nothing_from_the_rest_of_the_lesson():
    """The checker compares with the course's own Gaussian family, not with a function defined elsewhere."""
    index = exercise_functions("00")["fit_gaussian"]
    checker = next(c for c in notebook("00").cells[index + 1 :] if c.cell_type == "code")
    assert "fit_gaussian_reference" not in checker.source and "Gaussian(ddof=0)" in checker.source


@claim(
    "00",
    "| more data, regularisation, early stopping on a validation set | 09 |",
    "keep the real data and accumulate; fresh real data each generation bounds it; track where data come from | 01–06, 09 |",  # noqa: E501
    "| objectives and tricks that reward variety (e.g. packing, PacGAN) | 07 |",
    "| replay old data, train jointly; regularising important weights (EWC) helps when the task is known | 08 |",
)
def test_the_table_points_to_the_lessons_that_teach_each_failure():
    """The 'lesson' column, read against the lessons themselves (their titles and sections)."""
    table = next(c.source for c in notebook("00").cells if "| failure | what it is |" in c.source)
    rows = {row.split("|")[1].strip(" *"): row.split("|")[-2].strip() for row in table.splitlines() if "| **" in row}
    assert rows == {
        "overfitting": "09",
        "model collapse": "01–06, 09",
        "GAN mode collapse": "07",
        "catastrophic forgetting": "08",
    }
    titles = {n: notebook(n).cells[0].source.splitlines()[0].lower() for n in ("01", "06", "07", "08", "09")}
    assert "gan mode collapse" in titles["07"] and "catastrophic forgetting" in titles["08"]
    assert any(c.source.startswith("## 1. Warm-up: overfitting") for c in notebook("09").cells)
    assert "model collapse (lessons 01-06)" in "\n".join(c.source for c in notebook("08").cells)
    assert any("**Model collapse** (lessons 01–06)" in c.source for c in notebook("09").cells)
    # EWC helps when the task is known (task-incremental), not without it (lesson 08's summary)
    summary = next(c.source for c in notebook("08").cells if c.source.startswith("## Summary"))
    assert "without the id, EWC does not help" in summary
    assert "EWC's Fisher-weighted penalty lifts the final average on every seed (median 0.98)" in " ".join(
        summary.split()
    )


@claim(
    "00",
    "in under a minute on the course machine's two CPU cores (run headless), most of them in half a minute or less; "
    "lesson 04, which retrains a small transformer live, is the slowest: 28 s on a quiet day of the course machine, "
    "49 s on a day it ran slow",
)
def test_lesson_times_in_the_teaching_guide():
    """The measured wall times of docs/teaching.md's sizing table (one learner per lesson, a quiet machine) and of
    its slow afternoon."""
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "teaching.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d\d) [^|]+\| \w+ \| ([\d.]+) \|", guide, flags=re.MULTILINE)
    seconds = {number: float(wall) for number, wall in rows}
    assert sorted(seconds) == [f"{n:02d}" for n in range(10)]
    assert all(wall <= 30 for wall in seconds.values())
    assert max(seconds, key=seconds.get) == "04" and round(seconds["04"]) == 28
    slow_day = " ".join(guide[guide.index("**The machine's speed varies") :].split("Plan with")[0].split())
    slow = {n: float(w.rstrip(".")) for n, w in re.findall(r"(\d\d): ([\d.]+)", slow_day)}
    assert sorted(slow) == ["04", "05", "06", "07", "08", "09"] and max(slow, key=slow.get) == "04"
    assert round(slow["04"]) == 49 and all(wall < 50 for wall in slow.values())  # under a minute
    assert sum(wall <= 30 for wall in {**seconds, **slow}.values()) >= 6  # most in half a minute or less, either day
    assert all(seconds[n] < wall for n, wall in slow.items())  # every lesson slower that day
