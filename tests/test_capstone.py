"""Lesson 09: the mystery runs are real simulations with the course's code, every cause is what its
runs show, hidden seeds give new cases, the reference diagnosis finds the causes while no single
column does, and the collapse monitor passes real text and flags collapsed text."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import script_module

from collapse_edu import capstone
from collapse_edu.capstone import CAUSES, COLUMNS, LABELS, RunLog, diagnose, load_pool, mystery_runs, reveal, signs
from collapse_edu.figures import capstone as figures

HIDDEN_SEEDS = range(1, 13)  # 60 cases; the workshop uses 2024, the checker 101-808


@pytest.fixture(scope="module")
def pool() -> capstone.Pool:
    return load_pool()


@pytest.fixture(scope="module")
def hidden_cases() -> tuple[list[RunLog], list[str]]:
    return capstone.cases(HIDDEN_SEEDS)


# --------------------------------------------------------------------------- the pool


def test_pool_is_small_and_every_run_has_every_column(pool) -> None:
    assert capstone.POOL_FILE.stat().st_size < 1_000_000
    assert pool.values.shape[1:] == (capstone.CHECKPOINTS, len(COLUMNS))
    assert np.all(np.isfinite(pool.values))
    assert set(pool.causes) == set(CAUSES)
    assert set(pool.keys) <= set(capstone.VARIANT_KEYS)


def test_every_cause_has_many_distinct_runs_in_several_settings(pool) -> None:
    for cause in CAUSES:
        runs = pool.where(cause)
        assert len(runs) >= 20, cause
        assert len({pool.values[i].tobytes() for i in runs}) == len(runs), f"{cause}: duplicated runs"
        if cause != "mode collapse":  # only a GAN mode-collapses
            assert len({pool.setting(i) for i in runs}) >= 2, cause


def test_every_stored_run_shows_its_cause(pool) -> None:
    """The label is what the run shows (capstone.outcome), not what its variant hoped for."""
    for i in range(len(pool)):
        if pool.keys[i].startswith("gan-"):
            continue  # judged on the GAN's last snapshot when the pool was built
        assert capstone.outcome(pool.log(i), pool.keys[i]) == pool.causes[i], (pool.keys[i], pool.seeds[i])


@pytest.mark.parametrize("key", [k for k in capstone.VARIANT_KEYS if not k.startswith("gan-")])
def test_stored_runs_are_the_simulations_the_code_makes(pool, key) -> None:
    """A stored run of every live variant, recomputed from scratch, gives the stored log: to rounding for the
    numpy runs; the digit classifiers (PyTorch) to within a few test images on a CPU that rounds otherwise than
    the AVX2 EPYC that stored them (an AVX-512 Xeon moves replay and joint runs by up to 0.04 in a score or a
    shift, and 3% in a loss), with the same cause."""
    tolerance = {"rtol": 0.05, "atol": 0.05} if key.startswith("digits-") else {"rtol": 2e-4, "atol": 2e-5}
    for i in pool.where(key=key)[:1]:
        fresh = capstone.make_run(key, pool.seeds[i])
        stored = pool.columns(i)
        for column in COLUMNS:
            np.testing.assert_allclose(fresh[column], stored[column], **tolerance, err_msg=f"{key} {column}")
        assert capstone.outcome(fresh, key) == pool.causes[i]


def test_gan_runs_are_labelled_by_their_last_snapshot() -> None:
    target = capstone.ring_target()
    rng = np.random.default_rng(0)
    shape = (capstone.GAN_RUN["snapshots"], 600, 2)
    on_one_mode = target.modes[0] + 0.01 * rng.standard_normal(shape)
    beside_one_mode = 1.3 * target.modes[0] + 0.01 * rng.standard_normal(shape)  # nearest one mode, on none
    spread = np.stack([target.sample(600, rng) for _ in range(shape[0])])
    one, beside, every = (capstone.gan_outcome(s) for s in (on_one_mode, beside_one_mode, spread))
    assert one["effective_modes"] == pytest.approx(1.0) and one["modes_strict"] == 1
    assert beside["effective_modes"] == pytest.approx(1.0) and beside["high_quality"] == 0
    assert every["effective_modes"] > 7.5 and every["modes_strict"] == 8
    assert capstone.outcome(capstone.gan_log(on_one_mode, 0), "gan-vanilla", one) == "mode collapse"
    assert capstone.outcome(capstone.gan_log(beside_one_mode, 0), "gan-vanilla", beside) is None  # not converged
    assert capstone.outcome(capstone.gan_log(spread, 0), "gan-pacgan", every) == "healthy"


def test_gan_logs_show_the_second_half_of_training() -> None:
    """Checkpoint i of a GAN log is snapshot GAN_LOGGED[i], the last one the end of training."""
    shape = (capstone.GAN_RUN["snapshots"], 600, 2)
    assert capstone.GAN_LOGGED == tuple(range(16, 31)) and len(capstone.GAN_LOGGED) == capstone.CHECKPOINTS
    snapshots = np.zeros(shape)
    target = capstone.ring_target()
    for i in range(shape[0]):  # the first half sits still on mode 0; from snapshot 16 on, snapshot i on mode i % 8
        snapshots[i] = target.modes[i % 8 if i >= 16 else 0]
    log = capstone.gan_log(snapshots, 0)
    assert np.all(log["output_shift"][1:] == 1.0)  # every logged snapshot sits on another mode than the last
    assert log["output_shift"][0] == 0


def test_log_losses_are_bounded_by_the_floor() -> None:
    """A real point far from every output costs log(36 / 0.01) nats, a confidently wrong class log(1000)."""
    import torch

    far = capstone._parzen_nll(np.array([[2.0, 0.0]]), np.array([[-2.0, 0.0]]))
    assert far == pytest.approx(np.log((2 * capstone.RING_BOX) ** 2 / capstone.LIKELIHOOD_FLOOR), rel=1e-9)
    near = capstone._parzen_nll(np.zeros((1, 2)), np.zeros((1, 2)))  # kernel peak: 0.99 / (2 pi 0.01) + 0.01 / 36
    assert near == pytest.approx(-np.log(0.99 / (2 * np.pi * 0.01) + 0.01 / 36), rel=1e-9)
    wrong = capstone._bounded_cross_entropy(torch.tensor([[0.0, -1e4] + [-float("inf")] * 8]), torch.tensor([1]))
    assert wrong == pytest.approx(np.log(1000), rel=1e-6)
    right = capstone._bounded_cross_entropy(torch.tensor([[0.0, 0.0] + [-float("inf")] * 8]), torch.tensor([1]))
    assert right == pytest.approx(-np.log(0.99 * 0.5 + 0.001), rel=1e-6)


# --------------------------------------------------------------------------- the mysteries


def test_each_set_holds_one_run_per_cause_under_shuffled_labels() -> None:
    orders = set()
    for seed in range(12):
        answers = reveal(seed)
        assert sorted(answers.values()) == sorted(CAUSES) and list(answers) == list(LABELS)
        orders.add(tuple(answers.values()))
    assert len(orders) > 6


def test_hidden_seeds_give_new_cases(hidden_cases) -> None:
    logs, _ = hidden_cases
    distinct = {np.stack([log[c] for c in COLUMNS]).tobytes() for log in logs}
    assert len(logs) == 60 and len(distinct) >= 50


def test_reference_diagnosis_finds_at_least_nine_in_ten_hidden_cases(hidden_cases) -> None:
    logs, answers = hidden_cases
    right = [diagnose(log) == answer for log, answer in zip(logs, answers, strict=True)]
    assert np.mean(right) >= 0.9


@pytest.fixture(scope="module")
def lesson_cases() -> tuple[list[RunLog], list[str]]:
    """The lesson's 200 hidden-seed cases (seeds 1-40)."""
    return capstone.cases(range(1, 41))


def test_the_provenance_estimate_alone_gets_at_most_half_right(lesson_cases) -> None:
    """The column closest to the old design's give-away (where the data came from): the best rule on any
    summary of the synthetic-share estimate, with up to four thresholds fitted to these very cases,
    gets at most half of them right."""
    logs, answers = lesson_cases
    rule, share = capstone.best_single_column_rules(logs, answers)["synthetic_share"]
    assert share <= 0.5, rule


def test_every_single_column_falls_short_of_the_reference(lesson_cases) -> None:
    """No column on its own comes within 15 points of the reference diagnosis (see the lesson: the best
    single-column rules get 44-76% of these cases right; issue 13 aimed at 50%)."""
    logs, answers = lesson_cases
    reference = np.mean([diagnose(log) == a for log, a in zip(logs, answers, strict=True)])
    for column, (rule, share) in capstone.best_single_column_rules(logs, answers).items():
        assert share <= min(0.85, reference - 0.15), (column, str(rule), share)


def test_shuffled_answers_give_the_floor(lesson_cases) -> None:
    """With the answers shuffled, every column's best rule is right about as often as fitting allows (a
    third or so of five balanced causes), far below its share on the real answers; bad counts are refused."""
    logs, answers = lesson_cases
    found = capstone.shuffled_single_column_shares(logs, answers, shuffles=1, seed=7)
    assert set(found) == set(capstone.COLUMNS[1:]) and all(len(v) == 1 for v in found.values())
    assert all(0.2 <= v[0] <= 0.4 for v in found.values())
    real = capstone.best_single_column_rules(logs, answers)
    assert all(real[column][1] >= found[column][0] + 0.1 for column in found)
    assert found == capstone.shuffled_single_column_shares(logs, answers, shuffles=1, seed=7)  # seeded
    with pytest.raises(ValueError, match="shuffles"):
        capstone.shuffled_single_column_shares(logs, answers, shuffles=0)


def test_a_marker_column_gets_two_fifths_plus_what_fitting_buys(lesson_cases) -> None:
    """A made-up column that marks one cause always gets that cause and one other right (2 / 5), plus a
    little from fitting; it is seeded; bad arguments are refused by name."""
    logs, answers = lesson_cases
    found = capstone.marker_column_shares(answers, draws=1, seed=5)
    assert set(found) == set(capstone.CAUSES) and all(len(v) == 1 for v in found.values())
    assert all(0.4 < v[0] < 0.6 for v in found.values())
    assert found == capstone.marker_column_shares(answers, draws=1, seed=5)
    with pytest.raises(ValueError, match="draws"):
        capstone.marker_column_shares(answers, draws=0)
    with pytest.raises(ValueError, match="cause"):
        capstone.marker_column_shares(["overfitting", "sunburn"])
    with pytest.raises(ValueError, match="causes"):
        capstone.marker_column_shares([])


def test_causes_caught_lists_the_causes_a_rule_names_right(lesson_cases) -> None:
    logs, answers = lesson_cases
    always_healthy = capstone.ThresholdRule("train_loss", "first", (), ("healthy",))
    assert capstone.causes_caught(always_healthy, logs, answers) == ["healthy"]
    assert capstone.causes_caught(always_healthy, logs, answers, share=1.0) == ["healthy"]  # all of them


def test_a_column_that_reads_the_kind_of_training_names_most_causes(lesson_cases) -> None:
    """The bound in benchmarks/README.md: a column's rule for the kind of training, with each interval naming
    the failure of its kind, names the cause of every case whose kind it names right, healthy cases aside; so
    the best cause rule gets at least the kind share minus the healthy share (54% or more for six columns)."""
    logs, answers = lesson_cases
    kinds = [capstone.variant(key).training for key in capstone.case_variants(range(1, 41))]
    failure = capstone.training_kind_share(range(1, 41))[0]  # kind -> its failure
    healthy = answers.count("healthy") / len(answers)
    best = capstone.best_single_column_rules(logs, answers)
    bounds = {}
    for column in COLUMNS[1:]:
        summary, cuts, named, kind_share = capstone._best_summary_rule(
            [log[column] for log in logs], kinds, classes=capstone.TRAINING_KINDS
        )
        rule = capstone.ThresholdRule(column, summary, cuts, tuple(failure[k] for k in named))
        share = np.mean([rule(log) == answer for log, answer in zip(logs, answers, strict=True)])
        assert share >= kind_share - healthy - 1e-12 and best[column][1] >= share
        bounds[column] = kind_share - healthy
    assert sum(bound >= 0.54 for bound in bounds.values()) == 6


def _single_column_benchmark():
    """benchmarks/capstone_single_column.py as a module (it is a script, not part of the package)."""
    return script_module("benchmarks/capstone_single_column.py")


def test_own_scales_keep_only_the_shape_of_every_column(lesson_cases) -> None:
    """The benchmark's --own-scales probe: a factor per run and column leaves every column's last over first and
    where it turns unchanged; an offset on top still leaves where it turns (and so every fall and rise's sign)."""
    bench = _single_column_benchmark()
    logs = lesson_cases[0][:20]
    for offsets in (False, True):
        scaled = bench.own_scales(logs, seed=3, offsets=offsets)
        changed = expected = 0
        for log, new in zip(logs, scaled, strict=True):
            assert np.array_equal(new["checkpoint"], log["checkpoint"])
            for column in COLUMNS[1:]:
                old, moved = log[column], new[column]
                changed += not np.allclose(old, moved)
                expected += offsets or bool(np.any(old != 0))  # a factor leaves a column of zeros as it is
                for summary in ("where min", "where max"):
                    assert capstone.SUMMARIES[summary](moved) == capstone.SUMMARIES[summary](old)
                if not offsets and old[0] != 0:
                    assert moved[-1] / moved[0] == pytest.approx(old[-1] / old[0], rel=1e-9)
        assert changed == expected  # every column that can move, moved


def test_own_scales_figures_quoted_in_the_benchmarks_readme() -> None:
    """benchmarks/README.md: with every run on its own scale (3 draws), the best column still gets 71% of the 200
    cases with factors alone and 66-68% with offsets too, 64-67% of the 125 held-out cases, while the reference
    diagnosis falls to 79-84% and 31.5-32.5%."""
    table = _single_column_benchmark().own_scales_table(range(1, 41), 3)
    assert "125 held-out ones" in table
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| factor")]
    assert len(rows) == 6
    percent = lambda cell: float(cell.split("%")[0].split()[-1])  # noqa: E731
    factors, offsets = rows[:3], rows[3:]
    assert {percent(r[2]) for r in factors} == {71.0}
    assert 66 <= min(percent(r[2]) for r in offsets) and max(percent(r[2]) for r in offsets) <= 68
    assert 64 <= min(percent(r[3]) for r in rows) and max(percent(r[3]) for r in rows) < 67.5
    assert 79 <= min(percent(r[4]) for r in factors) and max(percent(r[4]) for r in factors) <= 84
    assert {percent(r[4]) for r in offsets} <= {31.5, 32.0, 32.5}
    readme = (Path(__file__).resolve().parents[1] / "benchmarks" / "README.md").read_text().replace("\n", " ")
    for quoted in ("gets 71% of the 200", "66-68% with offsets too", "do not hold, 64-67%", "falls to 79-84%",
                   "to 31.5-32.5% with offsets too"):  # fmt: skip
        assert quoted in readme


def test_best_threshold_rule_names_any_classes() -> None:
    """With ``classes`` other than the causes (the kinds of training), the rule names those classes."""
    kinds = capstone.TRAINING_KINDS
    values = [0.0, 0.1, 1.0, 1.1, 5.0, 5.2, 9.0, 9.9]
    answers = [kinds[0], kinds[0], kinds[1], kinds[1], kinds[2], kinds[2], kinds[3], kinds[3]]
    cuts, named, share = capstone.best_threshold_rule(values, answers, intervals=4, classes=kinds)
    assert share == 1.0 and named == kinds and len(cuts) == 3
    with pytest.raises(ValueError, match="causes must each be one of overfitting, model collapse"):
        capstone.best_threshold_rule(values, answers)  # kinds are not causes
    with pytest.raises(ValueError, match="equal length"):
        capstone.best_threshold_rule(values[:3], answers, classes=kinds)


def test_every_variant_has_a_kind_of_training() -> None:
    assert all(capstone.variant(key).training in capstone.TRAINING_KINDS for key in capstone.VARIANT_KEYS)


def test_best_threshold_rule_is_optimal_on_small_cases() -> None:
    """The dynamic programme equals brute force over every way to cut and name the sorted values."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        values = rng.integers(0, 6, 9).astype(float)
        causes = [CAUSES[i] for i in rng.integers(0, 3, 9)]
        _, _, share = capstone.best_threshold_rule(values, causes, intervals=3)
        levels = np.unique(values)
        best = 0
        for cuts in itertools.combinations(levels[1:], 2):
            for named in itertools.product(CAUSES[:3], repeat=3):
                pred = [named[int(np.searchsorted(cuts, v, side="right"))] for v in values]
                best = max(best, sum(p == c for p, c in zip(pred, causes, strict=True)))
        for cut in levels[1:]:
            for named in itertools.product(CAUSES[:3], repeat=2):
                pred = [named[int(v >= cut)] for v in values]
                best = max(best, sum(p == c for p, c in zip(pred, causes, strict=True)))
        assert share == pytest.approx(best / 9)


def test_threshold_rule_applies_its_cuts() -> None:
    rule = capstone.ThresholdRule("diversity", "last", (0.5,), ("mode collapse", "healthy"))
    low = {c: np.full(capstone.CHECKPOINTS, 0.2) for c in COLUMNS}
    high = {c: np.full(capstone.CHECKPOINTS, 0.9) for c in COLUMNS}
    assert rule(RunLog("x", low)) == "mode collapse" and rule(RunLog("y", high)) == "healthy"
    assert "last of diversity" in str(rule)


def test_check_diagnose_passes_the_reference_and_says_what_is_wrong(capsys) -> None:
    assert capstone.check_diagnose(diagnose)
    assert not capstone.check_diagnose(lambda log: "healthy")
    out = capsys.readouterr().out
    assert "it was" in out and "you need 90%" in out

    def stub(log):
        raise NotImplementedError("Student exercise: read the signs")

    assert not capstone.check_diagnose(stub)
    assert "not written yet" in capsys.readouterr().out

    def broken(log):
        raise KeyError("oops")

    assert not capstone.check_diagnose(broken)
    lines = capsys.readouterr().out.splitlines()  # the error once, not once per case (it printed 40 lines)
    assert len(lines) == 2 and "raised KeyError: 'oops'" in lines[0] and "fix that error first" in lines[1]


# --------------------------------------------------------------------------- the pieces


def test_gradient_descent_path_is_exact_from_any_start() -> None:
    """The closed form equals 50 explicit gradient steps, from zero and from another point."""
    from numpy.polynomial import legendre

    fit = capstone.polynomial_fit(3)
    X = legendre.legvander(fit.x, fit.degree)
    eta = fit.descent.eta
    start = np.random.default_rng(1).standard_normal(fit.degree + 1)
    for w0 in (np.zeros(fit.degree + 1), start):
        w = w0.copy()
        for _ in range(50):
            w -= eta * X.T @ (X @ w - fit.y) / len(fit.y)
        np.testing.assert_allclose(fit.descent.weights(50, w0), w, rtol=1e-8, atol=1e-9)


def test_held_out_points_lie_in_the_training_range() -> None:
    for seed in range(5):
        fit = capstone.polynomial_fit(seed)
        assert fit.x.min() <= fit.x_out.min() and fit.x_out.max() <= fit.x.max()


def test_verifier_keeps_synthetic_points_that_look_real() -> None:
    """Curated samples of a shifted model sit closer to the truth than the model's own samples."""
    from collapse_edu.regression import LinearModel

    family = capstone.LegendreRegression(5)
    shifted = LinearModel((family.w_true + 0.3)[None])

    def real_logpdf(rows):
        return -0.5 * ((rows[..., -1] - rows[..., :-1] @ family.w_true) / family.noise) ** 2

    def model_logpdf(model, rows):
        return -0.5 * ((rows[..., -1] - (rows[..., :-1] @ model.w[..., None])[..., 0]) / family.noise) ** 2

    verified = capstone.VerifiedFamily(family, real_logpdf, model_logpdf)
    rng = np.random.default_rng(0)
    raw, kept = family.sample(shifted, 2000, rng), verified.sample(shifted, 2000, rng)
    error = lambda rows: np.mean((rows[0, :, -1] - rows[0, :, :-1] @ family.w_true) ** 2)  # noqa: E731
    assert kept.shape == raw.shape and error(kept) < 0.8 * error(raw)


def test_audit_is_a_binomial_lower_bound() -> None:
    shares = capstone.audit(np.full(2000, 0.5), 0)
    assert set(np.unique(shares * capstone.AUDIT)) <= set(range(capstone.AUDIT + 1))
    assert abs(shares.mean() - 0.5) < 0.02
    assert np.all(capstone.audit(np.zeros(10), 1) == 0)
    assert capstone.tagged_share(0.9, 0, tag_rate=0.5) == pytest.approx(0.45)
    assert all(0.3 * 0.9 <= capstone.tagged_share(0.9, s) <= 0.9 for s in range(20))


def test_lasting_loss_counts_only_what_stays_lost() -> None:
    assert capstone.lasting_loss([1.0, 0.4, 1.0]) == 0.0
    assert capstone.lasting_loss([0.2, 1.0, 0.5]) == pytest.approx(0.5)
    assert capstone.largest_fall([1.0, 0.4, 1.0, 0.9]) == pytest.approx(0.6)
    assert capstone.largest_fall([0.1, 0.2]) == 0.0


def test_signs_of_a_made_up_log() -> None:
    n = capstone.CHECKPOINTS
    columns = {c: np.ones(n) for c in COLUMNS}
    columns["oldest_score"] = np.r_[np.ones(5), np.full(n - 5, 0.3)]
    s = signs(RunLog("x", columns))
    assert s["oldest_lost"] == pytest.approx(0.7) and s["synthetic_share"] == 1.0
    assert diagnose(RunLog("x", columns)) == "healthy"  # synthetic data, nothing degrades
    columns["synthetic_share"] = np.zeros(n)
    assert diagnose(RunLog("x", columns)) == "forgetting"


def test_argument_validation() -> None:
    with pytest.raises(ValueError, match="seed"):
        mystery_runs(-1)
    with pytest.raises(TypeError, match="seed"):
        reveal(1.5)
    with pytest.raises(TypeError, match="log"):
        signs({"train_loss": [1.0]})
    with pytest.raises(ValueError, match="columns"):
        RunLog("X", {"checkpoint": np.arange(3)})
    with pytest.raises(ValueError, match="degree"):
        capstone.polynomial_fit(degree=0)
    with pytest.raises(ValueError, match="cause"):
        capstone.check_cause("underfitting")
    with pytest.raises(ValueError, match="variant"):
        capstone.make_run("curve-wiggle", 0)
    with pytest.raises(ValueError, match="precomputed"):
        capstone.make_run("gan-vanilla", 100)
    with pytest.raises(ValueError, match="values"):
        capstone.lasting_loss([])
    with pytest.raises(ValueError, match="snapshots"):
        capstone.gan_log(np.zeros((3, 10, 2)), 0)
    with pytest.raises(KeyError, match="no column"):
        mystery_runs(0)["A"]["loss"]


# --------------------------------------------------------------------------- figures


def test_widget_shows_exactly_the_runs_of_the_table() -> None:
    """The viewer draws the logs it is given: the lines of every label and view are that log's columns."""
    logs = mystery_runs(2024)
    show = figures.mystery_viewer(logs)
    for label, view in itertools.product(logs, figures.VIEWS):
        fig = show(label, view)
        lines = [line for line in fig.axes[0].get_lines() if line.get_label() in {n for _, n in figures.VIEWS[view]}]
        for line, (column, _) in zip(lines, figures.VIEWS[view], strict=True):
            np.testing.assert_allclose(line.get_ydata(), logs[label][column])
        plt.close(fig)
    with pytest.raises(ValueError, match="label"):
        show("Z")


def test_lesson_widget_and_table_share_one_set_of_logs() -> None:
    """In the lesson, the table prints ``mysteries`` and the widget is built on that same object."""
    import nbformat

    path = next((capstone.Path(__file__).resolve().parents[1] / "lessons").glob("09_*.ipynb"))
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    table = next(s for s in cells if "mysteries = capstone.mystery_runs(" in s)
    widget = next(s for s in cells if "interact_figure(" in s and "mystery" in s)
    assert "print(log" in table
    assert "figures.mystery_viewer(mysteries)" in widget


# --------------------------------------------------------------------------- the monitor on text


def test_monitor_passes_held_out_real_text_and_flags_collapsed_text() -> None:
    from collapse_edu import ngram
    from collapse_edu.monitor import compare_text

    reference, held_out = capstone.corpus_text()
    assert compare_text(reference, held_out).flagged == []
    corpus = ngram.load_corpus()
    run = ngram.simulate_ngram(corpus, order=2, generations=20, keep_models=True, seed=0)
    late = ngram.sample_sentences(run.history.models[20][0], 2000, 1).to_text(corpus.vocab)
    collapsed = compare_text(reference, late)
    assert collapsed.verdict == "flag" and "distinct-2" in collapsed.flagged


def test_case_variants_name_the_pool_variant_of_every_case_in_order():
    seeds = (1, 2, 3)
    logs, answers = capstone.cases(seeds)
    keys = capstone.case_variants(seeds)
    assert len(keys) == len(logs) == 15 and set(keys) <= set(capstone.VARIANT_KEYS)
    for key, answer in zip(keys, answers, strict=True):
        cause = capstone.variant(key).cause
        assert cause in (None, answer)  # a variant with a fixed cause only ever answers it
    assert keys[:5] == [capstone.load_pool().keys[capstone._assignment(1)[1][label]] for label in capstone.LABELS]


def test_case_helpers_refuse_no_seeds_and_shares_outside_0_1() -> None:
    for helper in (capstone.cases, capstone.training_kind_share, capstone.training_kind_columns):
        with pytest.raises(ValueError, match="seeds must name at least one mystery set"):
            helper([])
    always = capstone.ThresholdRule("train_loss", "first", (), ("healthy",))
    for share in (-0.1, 1.5):
        with pytest.raises(ValueError, match="share must be"):
            capstone.causes_caught(always, [], [], share=share)


# --------------------------------------------------------------------------- bad input (audit)


def test_threshold_rule_refuses_non_finite_values_and_bad_intervals() -> None:
    """Before: nan values gave a rule cut at nan with share 1.0; intervals=0 gave ((), (), -inf), a
    negative number an IndexError and a string a numpy TypeError."""
    causes = ["healthy", "forgetting", "healthy"]
    with pytest.raises(ValueError, match="^values must be finite"):
        capstone.best_threshold_rule([0.1, np.nan, 0.3], causes)
    with pytest.raises(ValueError, match="^values must be finite"):
        capstone.best_threshold_rule([0.1, np.inf, 0.3], causes)
    for intervals in (0, -2):
        with pytest.raises(ValueError, match="^intervals must be >= 1"):
            capstone.best_threshold_rule([0.1, 0.2, 0.3], causes, intervals=intervals)
    for intervals in ("3", 2.0, None):
        with pytest.raises(TypeError, match="^intervals must be an integer"):
            capstone.best_threshold_rule([0.1, 0.2, 0.3], causes, intervals=intervals)
    assert capstone.best_threshold_rule([0.1, 0.2, 0.3], causes, intervals=1)[2] == pytest.approx(2 / 3)


def test_falls_and_losses_refuse_non_finite_values() -> None:
    """Before: largest_fall([1, nan, .5]) was 0.0 and lasting_loss([1, nan]) was nan."""
    for function in (capstone.largest_fall, capstone.lasting_loss):
        for values in ([1.0, np.nan, 0.5], [1.0, np.nan], [np.inf, 0.0]):
            with pytest.raises(ValueError, match="^values must be finite"):
                function(values)
        with pytest.raises(TypeError, match="^values must be"):
            function("1, 2")


def test_causes_caught_refuses_logs_and_causes_of_different_lengths() -> None:
    """Before: "zip() argument 2 is shorter than argument 1"."""
    logs, answers = list(mystery_runs(2024).values()), list(reveal(2024).values())
    always = capstone.ThresholdRule("train_loss", "first", (), ("healthy",))
    with pytest.raises(ValueError, match="^logs and causes must be of the same length .* got 5 and 4"):
        capstone.causes_caught(always, logs[:5], answers[:4])


def test_shares_of_the_audit_must_be_shares() -> None:
    """Before: tagged_share(5, ...) was 5 x the tag rate, a nan share gave nan; audit clipped shares
    outside [0, 1] without a word, size=0 gave nan and size=2.5 was accepted."""
    for share in (5.0, -0.1):
        with pytest.raises(ValueError, match="^share must be"):
            capstone.tagged_share(share, 0)
    with pytest.raises(ValueError, match="^share must be finite"):
        capstone.tagged_share(np.nan, 0)
    with pytest.raises(TypeError, match="^seed must be an integer"):
        capstone.tagged_share(0.5, "0")
    for shares in ([0.5, 1.5], [-0.2], [np.nan]):
        with pytest.raises(ValueError, match="^shares must"):
            capstone.audit(shares, 0)
    with pytest.raises(ValueError, match="^size must be >= 1"):
        capstone.audit([0.5], 0, size=0)
    with pytest.raises(TypeError, match="^size must be an integer"):
        capstone.audit([0.5], 0, size=2.5)
    assert capstone.audit([0.0, 1.0], 0).tolist() == [0.0, 1.0]


def test_coverage_refuses_a_k_without_neighbours() -> None:
    """Before: coverage(k=0) raised an IndexError from deep inside scipy's result."""
    reference = np.random.default_rng(0).standard_normal((10, 2))
    for k in (0, 10):
        with pytest.raises(ValueError, match="^k must be"):
            capstone.coverage(reference, reference, k=k)
    with pytest.raises(ValueError, match="^reference must hold at least 2 points"):
        capstone.coverage(reference[:1], reference, k=1)
    assert capstone.coverage(reference, reference, k=9) == 1.0


def test_curve_runs_refuse_bad_tasks_and_verified() -> None:
    """Before: curve_sequence_run(tasks=0) raised an IndexError; curve_loop_run(verified='no') ran verified."""
    with pytest.raises(ValueError, match="^tasks must be >= 1"):
        capstone.curve_sequence_run(tasks=0)
    with pytest.raises(TypeError, match="^tasks must be an integer"):
        capstone.curve_sequence_run(tasks=2.5)
    with pytest.raises(TypeError, match="^verified must be True or False"):
        capstone.curve_loop_run(verified="no")


@pytest.mark.parametrize("verified", ["no", 1, None])
def test_ring_loop_run_refuses_a_verified_that_is_not_a_bool(verified) -> None:
    """Before: ring_loop_run(verified='no') ran verified (a non-empty string is true)."""
    with pytest.raises(TypeError, match="^verified must be True or False, got "):
        capstone.ring_loop_run(verified=verified)


# --------------------------------------------------------------------------- signs, diagnosis and coverage by hand


def _steady_log(**changed: np.ndarray) -> RunLog:
    """A log with nothing wrong (training loss falling, everything else flat, no synthetic data), then ``changed``."""
    n = capstone.CHECKPOINTS
    columns = {c: np.ones(n) for c in COLUMNS}
    columns["checkpoint"] = np.arange(n, dtype=float)
    columns["train_loss"] = np.linspace(2.0, 0.5, n)
    columns["output_shift"] = np.r_[0.0, np.full(n - 1, 0.1)]
    columns["synthetic_share"] = np.zeros(n)
    columns.update(changed)
    return RunLog("x", columns)


def test_every_sign_of_a_made_up_log_by_hand() -> None:
    """Each number of signs() against its definition in the docstring, computed by hand for this log."""
    log = _steady_log(
        # 14 steps: one stays put (1.2 -> 1.2) and counts as falling, one rises (0.9 -> 1.1): 13 of 14
        train_loss=np.array([2.0, 1.8, 1.6, 1.4, 1.2, 1.2, 1.0, 0.9, 1.1, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]),
        # first 1.0, minimum 0.5, last 0.8: change (0.8 - 1) / 1 = -0.2, turn (0.8 - 0.5) / 0.5 = 0.6
        heldout_loss=np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.55, 0.6, 0.65, 0.7, 0.72, 0.74, 0.76, 0.78, 0.8]),
        diversity=np.r_[0.8, np.full(13, 0.7), 0.6],  # 0.6 / 0.8 - 1 = -0.25
        oldest_score=np.r_[0.9, 1.0, 0.4, np.full(11, 0.8), 0.7],  # best 1.0, last 0.7; largest fall 1.0 -> 0.4
        output_shift=np.r_[0.0, np.full(7, 0.1), np.full(7, 0.3)],  # the 14 shifts after the first: median 0.2
        synthetic_share=np.r_[np.zeros(5), np.full(10, 0.3)],  # mean 0.2
    )
    expected = {
        "synthetic_share": 0.2,
        "heldout_change": -0.2,
        "diversity_change": -0.25,
        "diversity_end": 0.6,
        "oldest_lost": 0.3,
        "oldest_drop": 0.6,
        "train_falling": 13 / 14,
        "heldout_turn": 0.6,
        "shift": 0.2,
    }
    found = signs(log)
    assert set(found) == set(expected)
    for name, value in expected.items():
        assert found[name] == pytest.approx(value, abs=1e-12), name


@pytest.mark.parametrize(
    ("changed", "cause"),
    [
        ({}, "healthy"),
        # machine-made data found: degraded (held-out loss up by half or more, diversity down by a fifth or more)
        ({"synthetic_share": np.full(15, 0.1), "heldout_loss": np.r_[np.ones(14), 1.55]}, "model collapse"),
        ({"synthetic_share": np.full(15, 0.1), "heldout_loss": np.r_[np.ones(14), 1.45]}, "healthy"),
        ({"synthetic_share": np.full(15, 0.1), "diversity": np.r_[np.ones(14), 0.75]}, "model collapse"),
        ({"synthetic_share": np.full(15, 0.1), "diversity": np.r_[np.ones(14), 0.85]}, "healthy"),
        # a lasting loss of 0.2 or more on the oldest data (a dip that recovers is no loss)
        ({"oldest_score": np.r_[np.ones(14), 0.75]}, "forgetting"),
        ({"oldest_score": np.r_[np.ones(14), 0.85]}, "healthy"),
        ({"oldest_score": np.r_[np.ones(7), 0.1, np.ones(7)]}, "healthy"),
        # diversity below 0.6 on real data
        ({"diversity": np.full(15, 0.55)}, "mode collapse"),
        ({"diversity": np.full(15, 0.65)}, "healthy"),
        # training loss falling at >= 80% of checkpoints while the held-out loss ends >= 20% above its minimum
        ({"heldout_loss": np.r_[np.full(10, 1.0), 0.5, np.full(4, 0.62)]}, "overfitting"),
        ({"heldout_loss": np.r_[np.full(10, 1.0), 0.5, np.full(4, 0.58)]}, "healthy"),
        (
            {
                "train_loss": np.r_[np.tile([1.0, 0.9], 7), 0.8],  # falls at 8 of 14 steps (57%)
                "heldout_loss": np.r_[np.full(10, 1.0), 0.5, np.full(4, 0.8)],
            },
            "healthy",
        ),
    ],
)
def test_diagnose_on_either_side_of_every_mark(changed: dict, cause: str) -> None:
    """The reference diagnosis applies the marks of its docstring: a made-up log a little inside or outside each
    mark (0.5, -0.2, 0.2, 0.6, 0.8 and 0.2) gets the cause the docstring names."""
    assert diagnose(_steady_log(**changed)) == cause


def test_coverage_matches_a_brute_force_count() -> None:
    """Naeem et al.'s coverage by its definition: the share of reference points whose ball out to their k-th
    nearest other reference point holds an output, counted with every distance computed directly."""
    rng = np.random.default_rng(4)
    for k in (1, 3):
        reference, outputs = rng.standard_normal((40, 2)), 0.7 * rng.standard_normal((25, 2)) + 0.5
        within = np.linalg.norm(reference[:, None] - reference[None], axis=-1)
        radius = np.sort(within, axis=1)[:, k]  # column 0 is the point itself
        nearest = np.linalg.norm(reference[:, None] - outputs[None], axis=-1).min(axis=1)
        assert capstone.coverage(reference, outputs, k=k) == pytest.approx(np.mean(nearest <= radius))
        assert 0 < capstone.coverage(reference, outputs, k=k) < 1  # a case that can tell radii apart


def _columns(**changed: np.ndarray) -> dict[str, np.ndarray]:
    return dict(_steady_log(**changed).columns)


def _ends(first: float, last: float) -> np.ndarray:
    return np.r_[np.full(capstone.CHECKPOINTS - 1, first), last]


@pytest.mark.parametrize(
    ("key", "changed", "expected"),
    [
        # forgetting: the oldest score ends >= 0.25 below its best; replay or joint runs within 0.1 of it are healthy
        ("curve-tasks", {"oldest_score": _ends(1.0, 0.7)}, "forgetting"),
        ("curve-tasks", {"oldest_score": _ends(1.0, 0.78)}, None),
        ("digits-replay", {"oldest_score": _ends(1.0, 0.7)}, "forgetting"),
        ("digits-replay", {"oldest_score": _ends(1.0, 0.95)}, "healthy"),
        ("digits-replay", {"oldest_score": _ends(1.0, 0.85)}, None),
        ("digits-joint", {"oldest_score": np.r_[np.ones(7), 0.3, np.ones(7)]}, "healthy"),  # a dip that recovers
        # overfitting: held-out loss ends >= 20% above its minimum while the training loss ends below its value there
        ("curve-overfit", {"heldout_loss": np.r_[np.full(5, 2.0), 1.0, np.full(9, 1.25)]}, "overfitting"),
        ("curve-overfit", {"heldout_loss": np.r_[np.full(5, 2.0), 1.0, np.full(9, 1.15)]}, None),
        (
            "curve-overfit",
            {"heldout_loss": np.r_[np.full(5, 2.0), 1.0, np.full(9, 1.25)], "train_loss": np.linspace(0.5, 2.0, 15)},
            None,
        ),
        # model collapse: held-out loss up by >= 50% of its first value, or diversity down by >= 20%
        ("ring-replace", {"heldout_loss": _ends(1.0, 1.6)}, "model collapse"),
        ("ring-replace", {"diversity": _ends(1.0, 0.75)}, "model collapse"),
        ("ring-replace", {"heldout_loss": _ends(1.0, 1.4), "diversity": _ends(1.0, 0.85)}, None),
        # accumulate: healthy only while both stay within those marks
        ("ring-accumulate", {"heldout_loss": _ends(1.0, 1.4), "diversity": _ends(1.0, 0.85)}, "healthy"),
        ("ring-accumulate", {"heldout_loss": _ends(1.0, 1.6)}, None),
        ("ring-accumulate", {"diversity": _ends(1.0, 0.75)}, None),
        # plenty of data: healthy within 10% of the held-out minimum
        ("curve-plenty", {"heldout_loss": np.r_[np.full(5, 2.0), 1.0, np.full(9, 1.05)]}, "healthy"),
        ("curve-plenty", {"heldout_loss": np.r_[np.full(5, 2.0), 1.0, np.full(9, 1.15)]}, None),
    ],
)
def test_outcome_applies_the_marks_of_its_docstring(key: str, changed: dict, expected: str | None) -> None:
    """capstone.outcome decides which runs enter the pool (and under which cause) when the pool is rebuilt: made-up
    logs a little inside or outside each of its marks get the label its docstring names (None: left out)."""
    assert capstone.outcome(_columns(**changed), key) == expected


@pytest.mark.parametrize(
    ("gan", "expected"),
    [
        ({"effective_modes": 2.5, "high_quality": 0.8, "modes_strict": 2}, "mode collapse"),
        ({"effective_modes": 3.5, "high_quality": 0.8, "modes_strict": 4}, None),  # more than 3 modes
        ({"effective_modes": 2.5, "high_quality": 0.3, "modes_strict": 2}, None),  # between modes, not sharp
        ({"effective_modes": 7.8, "high_quality": 0.9, "modes_strict": 7}, "healthy"),
        ({"effective_modes": 7.8, "high_quality": 0.9, "modes_strict": 6}, None),
    ],
)
def test_gan_outcome_marks(gan: dict, expected: str | None) -> None:
    """GAN runs: mode collapse at <= 3 effective modes with >= half of the outputs sharp, healthy with >= 7 of 8
    modes captured, anything else left out."""
    assert capstone.outcome(_columns(), "gan-vanilla", gan) == expected


def _oracle(wrong_per_cause: dict[str, int]):
    """A diagnosis that knows the checker's answers and gets the first ``wrong_per_cause[c]`` cases of cause c wrong."""
    truth = {}
    for seed in capstone.CHECK_SEEDS:
        answers = reveal(seed)
        for label, log in mystery_runs(seed).items():
            truth[np.stack([log[c] for c in COLUMNS]).tobytes()] = answers[label]
    missed = dict.fromkeys(CAUSES, 0)

    def diagnosis(log: RunLog) -> str:
        cause = truth[np.stack([log[c] for c in COLUMNS]).tobytes()]
        if missed[cause] < wrong_per_cause.get(cause, 0):
            missed[cause] += 1
            return "healthy" if cause != "healthy" else "overfitting"
        return cause

    return diagnosis


@pytest.mark.parametrize(
    ("wrong", "passes"),
    [
        ({}, True),
        (dict.fromkeys(["overfitting", "model collapse", "forgetting", "healthy"], 1), True),  # 36 of 40: 90%
        (dict.fromkeys(CAUSES, 1), False),  # 35 of 40 (87.5%), though 7 of 8 of every cause
        ({"overfitting": 2}, True),  # 6 of 8 overfitting cases: 75%
        ({"overfitting": 3}, False),  # 37 of 40 (92.5%), but only 5 of 8 overfitting cases
    ],
)
def test_check_diagnose_applies_both_pass_marks(wrong: dict, passes: bool, capsys: pytest.CaptureFixture) -> None:
    """The checker's 40 cases hold 8 of every cause: a diagnosis passes with >= 90% right overall and >= 75% of every
    cause, and fails when it misses either mark (counted by hand for diagnoses that miss chosen cases)."""
    assert capstone.check_diagnose(_oracle(wrong)) is passes
    capsys.readouterr()


def test_the_run_viewer_names_what_its_y_axis_measures():
    """Before: every view's y axis read "value"."""
    import matplotlib.pyplot as plt

    from collapse_edu.figures.capstone import VIEW_AXES, VIEWS, mystery_viewer

    viewer = mystery_viewer(capstone.mystery_runs(capstone.WORKSHOP_SEED))
    for view in VIEWS:
        fig = viewer("A", view)
        label = fig.axes[0].get_ylabel()
        plt.close(fig)
        assert label.startswith(VIEW_AXES[view]) and label != "value", (view, label)
