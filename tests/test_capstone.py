"""Lesson 08: each mystery run shows its failure's signature, the reference diagnosis finds the cause,
and the collapse monitor flags collapsed n-gram text but not fresh real text."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_edu import capstone
from collapse_edu.capstone import CAUSES, COLUMNS, RunLog, diagnose, first_drop, mystery_runs, reveal, signs


@pytest.fixture(scope="module")
def runs() -> dict[str, RunLog]:
    """One log per cause (hidden seed 5), keyed by cause."""
    return {cause: RunLog(cause, make(5)) for cause, make in capstone.RUNS.items()}


def test_every_log_has_the_same_columns(runs) -> None:
    for log in runs.values():
        assert set(log.columns) == set(COLUMNS)
        assert len(log) >= 10
        assert np.all(np.isfinite(np.concatenate([log[c] for c in COLUMNS])))


def test_overfitting_gap_grows_while_diversity_holds(runs) -> None:
    log = runs["overfitting"]
    gap = log["heldout_loss"] - log["train_loss"]
    assert gap[-1] > 5 * gap[0]
    assert log["train_loss"][-1] < log["train_loss"][0]  # training error keeps falling
    assert np.all(log["data_version"] == 0)
    assert log["diversity"][-1] > 0.8


def test_model_collapse_loses_diversity_and_held_out_likelihood(runs) -> None:
    log = runs["model collapse"]
    assert np.all(np.diff(log["data_version"]) == 1)  # a new dataset every round
    assert log["diversity"][-1] < 0.7 * log["diversity"][0]
    assert log["heldout_loss"][-1] > log["heldout_loss"][0] + 1.0  # nats per point
    assert log["train_loss"][-1] < log["train_loss"][0]  # its own data look ever easier
    assert first_drop(log) < 0.15  # no sudden fall: the damage accumulates


def test_mode_collapse_is_narrow_and_hops_within_one_run(runs) -> None:
    log = runs["mode collapse"]
    assert np.all(log["data_version"] == 0)
    assert log["diversity"].max() < 0.5
    assert np.median(log["output_shift"][1:]) > 0.5  # the covered mode changes between snapshots
    gap = log["heldout_loss"] - log["train_loss"]
    assert abs(np.median(gap)) < 0.2 * np.median(log["heldout_loss"])  # fresh data every step: no gap


def test_forgetting_drops_the_oldest_score_when_new_data_arrive(runs) -> None:
    log = runs["forgetting"]
    version = log["data_version"]
    assert log["oldest_score"][version == 0].min() > 0.95
    assert first_drop(log) > 0.5
    ends = np.r_[np.flatnonzero(np.diff(version)), len(log) - 1]
    assert np.all(log["quality"][ends] > 0.6)  # the current task is learned each time


@pytest.mark.parametrize("seed", [0, 7, 11])
def test_reference_diagnosis_is_right_on_several_hidden_seeds(seed: int) -> None:
    answers = reveal(seed)
    assert sorted(answers.values()) == sorted(CAUSES)
    for label, log in mystery_runs(seed).items():
        assert diagnose(log) == answers[label], (seed, label, signs(log))


def test_labels_are_shuffled_by_the_seed() -> None:
    orders = {tuple(reveal(seed).values()) for seed in range(12)}
    assert len(orders) > 3


def test_check_diagnose_says_what_is_wrong(capsys) -> None:
    assert capstone.check_diagnose(diagnose, seeds=(101,))
    assert not capstone.check_diagnose(lambda log: "overfitting", seeds=(101,))
    assert "it was" in capsys.readouterr().out

    def stub(log):
        raise NotImplementedError("Student exercise: read the signs")

    assert not capstone.check_diagnose(stub, seeds=(101,))
    assert "not written yet" in capsys.readouterr().out


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
    with pytest.raises(ValueError, match="noise"):
        capstone.polynomial_fit(noise=0.0)
    with pytest.raises(ValueError, match="cause"):
        capstone.check_cause("underfitting")
    with pytest.raises(KeyError, match="no column"):
        mystery_runs(0)["A"]["loss"]


def test_gradient_descent_path_is_exact() -> None:
    """The closed form equals 50 explicit gradient steps."""
    from numpy.polynomial import legendre

    fit = capstone.polynomial_fit(3)
    X = legendre.legvander(fit.x, fit.degree)
    eta = 1.0 / fit.eigenvalues.max()
    w = np.zeros(X.shape[1])
    for _ in range(50):
        w -= eta * X.T @ (X @ w - fit.y) / len(fit.y)
    np.testing.assert_allclose(fit.weights(50), w, rtol=1e-8, atol=1e-10)


def test_monitor_flags_collapsed_ngram_generations_not_real_text() -> None:
    from collapse_edu import ngram
    from collapse_edu.monitor import compare_text

    corpus = ngram.load_corpus()
    run = ngram.simulate_ngram(corpus, order=2, generations=20, keep_models=True, seed=0)
    reference = corpus.train.to_text(corpus.vocab)
    size = len(corpus.held_out)
    real = compare_text(reference, corpus.held_out.to_text(corpus.vocab))
    assert real.flagged == [], real.to_text()
    late = ngram.sample_sentences(run.history.models[20][0], size, 1).to_text(corpus.vocab)
    collapsed = compare_text(reference, late)
    assert collapsed.verdict == "flag", collapsed.to_text()
    assert "distinct-2" in collapsed.flagged
