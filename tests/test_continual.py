"""Catastrophic forgetting toolkit (lesson 08): data split, metrics of R, EWC pieces, the expected pattern."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from collapse_edu import continual as cl


@pytest.fixture(scope="module")
def data() -> cl.SplitDigits:
    return cl.split_digits(seed=0)


@pytest.fixture(scope="module")
def runs(data: cl.SplitDigits) -> dict[tuple[str, str], cl.ContinualResult]:
    """The lesson's settings, seed 0: the runs the pattern tests look at (about 1-3 s each)."""
    wanted = [
        ("finetune", "class-incremental"),
        ("replay", "class-incremental"),
        ("finetune", "task-incremental"),
        ("ewc", "task-incremental"),
        ("ewc", "class-incremental"),
    ]
    return {key: cl.run_continual(*key, seed=0, data=data) for key in wanted}


# --------------------------------------------------------------------------- data


def test_split_digits_tasks_and_sizes(data: cl.SplitDigits) -> None:
    assert data.task_classes == ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))
    assert len(data.y_train) + len(data.y_test) == 1797
    assert abs(len(data.y_test) / 1797 - 0.3) < 0.01
    for c in range(10):  # stratified: every class keeps its share in the test set
        share = (data.y_test == c).sum() / ((data.y_test == c).sum() + (data.y_train == c).sum())
        assert abs(float(share) - 0.3) < 0.01
    for t in range(5):
        x, y = data.task(t)
        assert set(y.tolist()) == set(data.task_classes[t])
        assert x.shape[1] == 64 and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    # the split is seeded and differs between seeds
    again = cl.split_digits(seed=0)
    assert torch.equal(again.x_test, data.x_test)
    assert not torch.equal(cl.split_digits(seed=1).y_test, data.y_test)


def test_split_digits_two_tasks() -> None:
    assert cl.split_digits(n_tasks=2).task_classes == ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))


def test_seen_classes(data: cl.SplitDigits) -> None:
    assert data.seen(0) == [0, 1] and data.seen(4) == list(range(10))
    with pytest.raises(ValueError, match="t must be <= 4"):
        data.seen(5)


# --------------------------------------------------------------------------- replay buffer selection


@settings(max_examples=40, deadline=None)
@given(
    labels=arrays(np.int64, st.integers(0, 60), elements=st.integers(0, 5)),
    k=st.integers(0, 12),
    seed=st.integers(0, 2**16),
)
def test_select_replay_keeps_k_per_class(labels: np.ndarray, k: int, seed: int) -> None:
    chosen = cl.select_replay(labels, k, seed)
    assert len(np.unique(chosen)) == len(chosen)  # without replacement
    for c in np.unique(labels):
        assert np.sum(labels[chosen] == c) == min(k, np.sum(labels == c))
    np.testing.assert_array_equal(chosen, cl.select_replay(labels, k, seed))  # seeded


# --------------------------------------------------------------------------- summaries of R

R_EXAMPLE = np.array(
    [
        [0.9, 0.1, 0.0],
        [0.5, 0.8, 0.2],
        [0.6, 0.4, 1.0],
    ]
)


def test_metrics_by_hand() -> None:
    np.testing.assert_allclose(cl.average_accuracy(R_EXAMPLE), [0.9, 0.65, 2.0 / 3.0])
    # task 0: best 0.9 (after task 0), now 0.6 -> 0.3; task 1: best 0.8, now 0.4 -> 0.4
    np.testing.assert_allclose(cl.forgetting(R_EXAMPLE), [0.3, 0.4])
    assert cl.average_forgetting(R_EXAMPLE) == pytest.approx(0.35)
    assert cl.average_forgetting(R_EXAMPLE, after=1) == pytest.approx(0.4)
    assert cl.average_forgetting(R_EXAMPLE, after=0) == 0.0
    assert cl.backward_transfer(R_EXAMPLE) == pytest.approx(((0.6 - 0.9) + (0.4 - 0.8)) / 2)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 6)).map(lambda s: (s[0], s[0])), elements=st.floats(0, 1)))
def test_forgetting_bounds_backward_transfer(R: np.ndarray) -> None:
    """The best accuracy ever is at least the accuracy right after learning, so F >= -BWT."""
    assert cl.average_forgetting(R) >= -cl.backward_transfer(R) - 1e-12
    assert np.all(cl.forgetting(R) >= R.diagonal()[:-1] - R[-1, :-1] - 1e-12)
    # no change after learning: no forgetting, no backward transfer
    frozen = np.tril(np.tile(R.diagonal(), (len(R), 1)))
    assert cl.average_forgetting(frozen) == pytest.approx(0.0)
    assert cl.backward_transfer(frozen) == pytest.approx(0.0)


# --------------------------------------------------------------------------- EWC pieces


def test_diagonal_fisher_matches_a_per_sample_loop(data: cl.SplitDigits) -> None:
    model = cl.make_mlp(hidden=8, seed=3)
    x = data.task(1)[0][:7]
    classes = [2, 3, 5]
    fisher = cl.diagonal_fisher(model, x, classes)
    expected = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    for xi in x:
        log_p = torch.log_softmax(model(xi[None])[0, classes], dim=-1)
        for c in range(len(classes)):
            model.zero_grad()
            log_p[c].backward(retain_graph=True)
            for name, p in model.named_parameters():
                expected[name] += log_p[c].exp().detach() * p.grad**2 / len(x)
    for name in expected:
        torch.testing.assert_close(fisher[name], expected[name], rtol=1e-4, atol=1e-9)


def test_merged_penalty_has_the_gradient_of_the_sum() -> None:
    torch.manual_seed(0)
    shape = (4, 3)
    fishers = [{"w": torch.rand(shape)} for _ in range(3)]
    stars = [{"w": torch.randn(shape)} for _ in range(3)]
    importance, anchor = {}, {}
    for f, s in zip(fishers, stars, strict=True):
        importance, anchor = cl._merge_penalties(importance, anchor, f, s)
    theta = torch.randn(shape, requires_grad=True)
    separate = sum((f["w"] * (theta - s["w"]) ** 2).sum() for f, s in zip(fishers, stars, strict=True))
    (g_separate,) = torch.autograd.grad(separate, theta)
    merged = (importance["w"] * (theta - anchor["w"]) ** 2).sum()
    (g_merged,) = torch.autograd.grad(merged, theta)
    torch.testing.assert_close(g_merged, g_separate)


def test_adam_matches_torch_optim() -> None:
    torch.manual_seed(1)
    target = torch.randn(5)
    mine = torch.zeros(5, requires_grad=True)
    reference = torch.zeros(5, requires_grad=True)
    optimisers = [cl.Adam([mine], lr=0.05), torch.optim.Adam([reference], lr=0.05)]
    for _ in range(20):
        for p, opt in zip((mine, reference), optimisers, strict=True):
            opt.zero_grad()
            ((p - target) ** 4).sum().backward()
            opt.step()
    torch.testing.assert_close(mine, reference)


# --------------------------------------------------------------------------- training runs


def test_degenerate_methods_equal_fine_tuning(data: cl.SplitDigits) -> None:
    """EWC with lambda = 0 and replay with k = 0 are fine-tuning, bit for bit; runs are seeded."""
    for scenario in cl.SCENARIOS:
        base = cl.run_continual("finetune", scenario, steps=5, data=data).R
        np.testing.assert_array_equal(cl.run_continual("ewc", scenario, ewc_lambda=0.0, steps=5, data=data).R, base)
        np.testing.assert_array_equal(cl.run_continual("replay", scenario, k=0, steps=5, data=data).R, base)
        np.testing.assert_array_equal(cl.run_continual("finetune", scenario, steps=5, data=data).R, base)


def test_global_torch_rng_untouched(data: cl.SplitDigits) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    cl.run_continual("replay", "task-incremental", steps=2, data=data)
    torch.testing.assert_close(torch.rand(3), expected)


def test_class_incremental_fine_tuning_ends_at_one_over_tasks(runs: dict) -> None:
    """van de Ven & Tolias (arXiv:1904.07734): it learns the new task and forgets all others."""
    R = runs[("finetune", "class-incremental")].R
    assert np.all(R.diagonal() > 0.9)
    assert np.all(R[-1, :-1] < 0.05)
    np.testing.assert_allclose(
        cl.average_accuracy(R), cl.class_incremental_finetune_prediction(np.arange(1, 6)), atol=0.03
    )
    assert cl.average_forgetting(R) > 0.9
    assert np.all(np.triu(R, 1) == 0)  # classes not yet seen cannot be predicted


def test_ewc_helps_task_but_not_class_incremental(runs: dict) -> None:
    task_ft, task_ewc = runs[("finetune", "task-incremental")], runs[("ewc", "task-incremental")]
    assert task_ewc.final_accuracy > task_ft.final_accuracy
    assert task_ewc.forgetting < task_ft.forgetting
    assert runs[("ewc", "class-incremental")].final_accuracy < 0.3
    totals = task_ewc.diagnostics["fisher_total"]
    assert len(totals) == 5 and all(t >= 0 for t in totals)


def test_replay_recovers_most_of_class_incremental(runs: dict, data: cl.SplitDigits) -> None:
    replay = runs[("replay", "class-incremental")].final_accuracy
    joint = cl.run_continual("joint", "class-incremental", data=data).final_accuracy
    assert joint > 0.9
    assert replay > 0.7
    assert (replay - 0.2) / (joint - 0.2) > 0.7  # most of the gap between fine-tuning and joint


def test_result_summaries(runs: dict) -> None:
    result = runs[("replay", "class-incremental")]
    assert result.final_accuracy == pytest.approx(cl.average_accuracy(result.R)[-1])
    assert result.backward_transfer == pytest.approx(cl.backward_transfer(result.R))
    assert result.settings["k"] == cl.DEFAULTS["k"]
    assert "replay" in result.label and "class" in result.label


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": -1}, ValueError, "k must be >= 0"),
        ({"k": 2.5}, TypeError, "k must be an integer"),
        ({"method": "lwf"}, ValueError, "method must be one of"),
        ({"scenario": "domain-incremental"}, ValueError, "scenario must be one of"),
        ({"ewc_lambda": -1.0}, ValueError, "ewc_lambda must be >= 0"),
        ({"steps": 0}, ValueError, "steps must be >= 1"),
        ({"lr": 0.0}, ValueError, "lr must be > 0"),
        ({"hidden": 0}, ValueError, "hidden must be >= 1"),
        ({"seed": -3}, ValueError, "seed must be >= 0"),
        ({"threads": 0}, ValueError, "threads must be >= 1"),
        ({"data": "digits"}, TypeError, "data must be a SplitDigits"),
    ],
)
def test_run_continual_rejects_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        cl.run_continual(**kwargs)


def test_a_setting_of_another_method_is_refused_not_ignored() -> None:
    """Before: run_continual("finetune", ewc_lambda=5) ran fine-tuning and ignored lambda without a word."""
    data = cl.split_digits(seed=0)
    for method, name, value in (
        ("finetune", "ewc_lambda", 5.0),
        ("joint", "k", 3),
        ("ewc", "k", 3),
        ("replay", "ewc_lambda", 1.0),
    ):
        with pytest.raises(
            ValueError, match=rf"^{name} is only used with method '(ewc|replay)', got method '{method}'"
        ):
            cl.run_continual(method, **{name: value}, steps=1, data=data)
    # left out (or None), each method runs with its own default, and records the setting it used
    assert cl.run_continual("ewc", steps=1, data=data).settings["ewc_lambda"] == cl.DEFAULTS["ewc_lambda"]
    assert cl.run_continual("replay", k=None, steps=1, data=data).settings["k"] == cl.DEFAULTS["k"]
    assert "ewc_lambda" not in cl.run_continual("finetune", ewc_lambda=None, steps=1, data=data).settings


def test_other_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_tasks"):
        cl.split_digits(n_tasks=3)
    with pytest.raises(ValueError, match="n_tasks must be <= 5"):
        cl.split_digits(n_tasks=10)
    with pytest.raises(ValueError, match="test_fraction"):
        cl.split_digits(test_fraction=0.0)
    with pytest.raises(ValueError, match="k must be >= 0"):
        cl.select_replay(np.array([0, 1]), -2)
    with pytest.raises(ValueError, match="R must be a square"):
        cl.average_accuracy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="after must be <= 2"):
        cl.forgetting(R_EXAMPLE, after=3)
    with pytest.raises(ValueError, match="methods must be one of"):
        cl.run_grid(methods=["finetune", "magic"])
    with pytest.raises(ValueError, match="at least one"):
        cl.run_grid(seeds=[])
    with pytest.raises(ValueError, match="split must be one of"):
        cl.split_digits().task(0, "validation")
    with pytest.raises(ValueError, match="tasks_seen"):
        cl.class_incremental_finetune_prediction(0)
    # Before: NaN or 5.0 accuracies and 1.5 tasks seen were accepted.
    with pytest.raises(ValueError, match=r"^R must hold accuracies in \[0, 1\] .*, got NaN$"):
        cl.average_accuracy(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=r"^R must hold accuracies in \[0, 1\] \(.*percentages\), got values from 5"):
        cl.average_accuracy(np.full((2, 2), 5.0))
    with pytest.raises(ValueError, match="^R must hold accuracies"):
        cl.backward_transfer(-R_EXAMPLE)
    with pytest.raises(ValueError, match="^tasks_seen must be whole numbers, got 1.5"):
        cl.class_incremental_finetune_prediction(1.5)


def test_run_grid_takes_one_name_as_one_method(monkeypatch) -> None:
    """Before: run_grid("finetune") said "methods must be one of ...; got 'f'" (a string's letters)."""
    calls = []
    monkeypatch.setattr(cl, "run_continual", lambda m, s, seed, data, **kwargs: calls.append((m, s, seed)) or m)
    data = object.__new__(cl.SplitDigits)  # run_continual is replaced: no digits needed
    results = cl.run_grid("finetune", "class-incremental", data=data)
    assert calls == [("finetune", "class-incremental", 0)]
    assert results == {("finetune", "class-incremental"): ["finetune"]}


def test_summary_file_if_present() -> None:
    try:
        summary = cl.load_summary()
    except FileNotFoundError:
        pytest.skip("benchmarks/continual_seeds.py has not been run")
    R = np.array(summary["runs"]["finetune|class-incremental"])
    assert R.shape[1:] == (5, 5) and len(R) == len(summary["seeds"])
    seeds = len(summary["sweep_seeds"])
    for key, name in (("k_sweep", "k"), ("lambda_sweep", "ewc_lambda")):
        for scenario in cl.SCENARIOS:
            finals = np.array(summary[key][scenario])
            matrices = np.array(summary[key]["matrices"][scenario])
            assert finals.shape == (len(summary[key][name]), seeds) and matrices.shape == (*finals.shape, 5, 5)
            np.testing.assert_allclose(matrices[..., -1, :].mean(axis=-1), finals, atol=1e-3)
    # the sweeps' lambda = 0 and k = 0 are fine-tuning, lambda = 1e5 and k = 10 the main grid's runs
    lambdas, ks = summary["lambda_sweep"]["ewc_lambda"], summary["k_sweep"]["k"]
    for scenario in cl.SCENARIOS:
        ft = summary["runs"][f"finetune|{scenario}"][:seeds]
        assert summary["lambda_sweep"]["matrices"][scenario][lambdas.index(0.0)] == ft
        assert summary["k_sweep"]["matrices"][scenario][ks.index(0)] == ft
        ewc, replay = summary["runs"][f"ewc|{scenario}"][:seeds], summary["runs"][f"replay|{scenario}"][:seeds]
        assert summary["lambda_sweep"]["matrices"][scenario][lambdas.index(1e5)] == ewc
        assert summary["k_sweep"]["matrices"][scenario][ks.index(10)] == replay
    fisher = np.array(summary["fisher_total"]["ewc|task-incremental"])
    assert fisher.shape == (len(summary["seeds"]), 5) and np.all(fisher >= 0)
    with pytest.raises(FileNotFoundError, match="continual_seeds"):
        cl.load_summary("/nonexistent/summary.json")


# --------------------------------------------------------------------------- figures and command line


def test_figures_draw(data: cl.SplitDigits, runs: dict) -> None:
    import matplotlib.pyplot as plt

    from collapse_edu.figures import continual as figures

    results = [*runs.values(), cl.run_continual("joint", "task-incremental", steps=3, data=data)]
    quick = figures.matrices(results)
    assert set(quick) == {*runs, ("joint", "task-incremental")}
    both = [("finetune", s) for s in cl.SCENARIOS] + [("ewc", s) for s in cl.SCENARIOS]
    for fig in (
        figures.accuracy_heatmaps({key: quick[key] for key in both}, methods=["finetune", "ewc"]),
        figures.task_curves({key: quick[key] for key in both}, methods=["finetune", "ewc"]),
        figures.average_accuracy_curves({key: quick[key] for key in both}, methods=["finetune", "ewc"]),
        figures.result_figure(runs[("replay", "class-incremental")]),
        figures.task_examples(data),
    ):
        assert fig.axes
        plt.close(fig)
    with pytest.raises(ValueError, match="method must be one of"):
        figures.explore(method="magic")


def test_sweep_figures_use_numeric_axes() -> None:
    """The sweeps' settings sit at their values (symmetric-log axes), not at equal steps."""
    import matplotlib.pyplot as plt

    from collapse_edu.figures import continual as figures

    summary = cl.load_summary()
    fig = figures.sweeps(summary)
    for ax, values in zip(fig.axes, (summary["k_sweep"]["k"], summary["lambda_sweep"]["ewc_lambda"]), strict=True):
        assert ax.get_xscale() == "symlog"
        np.testing.assert_allclose(ax.lines[0].get_xdata(), values)  # the median line at the settings themselves
    plt.close(fig)
    fig = figures.ewc_stiffness(summary)
    assert fig.axes[0].get_xscale() == "symlog" and len(fig.axes[0].lines) == 3
    plt.close(fig)
    stack = figures.sweep_matrices(summary, "lambda_sweep", "task-incremental")
    assert stack.shape == (len(summary["lambda_sweep"]["ewc_lambda"]), len(summary["sweep_seeds"]), 5, 5)
    with pytest.raises(ValueError, match="key must be one of"):
        figures.sweep_matrices(summary, "steps_sweep", "task-incremental")


def test_command_line(capsys: pytest.CaptureFixture) -> None:
    import json

    from collapse_edu.cli import main

    assert main(["simulate", "continual", "--method", "replay", "--steps", "5", "--k", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parameters"]["k"] == 2 and len(report["generations"]) == 5
    assert report["generations"][0]["average_forgetting"] == 0.0
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "continual", "--method", "replay", "--k", "-1"])
    assert exit_info.value.code == 2
    assert "k must be >= 0" in capsys.readouterr().err
    for argv, message in (
        (["--k", "5"], "--k is only used with --method replay, got --method finetune"),
        (
            ["--method", "replay", "--ewc-lambda", "5"],
            "--ewc-lambda is only used with --method ewc, got --method replay",
        ),
    ):  # an option the chosen method would ignore is refused, not dropped without a word
        with pytest.raises(SystemExit) as exit_info:
            main(["simulate", "continual", *argv])
        assert exit_info.value.code == 2 and capsys.readouterr().err == f"collapse-edu: error: {message}\n"


def test_run_length_and_penalty_have_upper_bounds() -> None:
    """Before: steps=10**8 ran silently for hours, and ewc_lambda=1e39 turned the weights to nan from task 2 on
    while the accuracy table printed as usual."""
    with pytest.raises(ValueError, match=r"^steps must be <= 100000, got 100000000"):
        cl.run_continual(steps=10**8)
    with pytest.raises(ValueError, match=r"^ewc_lambda must be <= 1e\+30, got 1e\+39"):
        cl.run_continual("ewc", ewc_lambda=1e39)


def test_fisher_total_is_the_sum_of_each_tasks_fisher(data: cl.SplitDigits, monkeypatch: pytest.MonkeyPatch) -> None:
    """diagnostics["fisher_total"][t] is the sum of F over all weights (not a mean per tensor): the Fisher that
    task t's penalty is built from, recorded as the run computes it, summed here over every entry."""
    computed, original = [], cl.diagonal_fisher

    def recording_fisher(*args, **kwargs) -> dict[str, torch.Tensor]:
        fisher = original(*args, **kwargs)
        computed.append(sum(float(f.double().sum()) for f in fisher.values()))
        return fisher

    monkeypatch.setattr(cl, "diagonal_fisher", recording_fisher)
    result = cl.run_continual("ewc", "task-incremental", hidden=8, steps=3, data=data)
    assert len(computed) == 5 and min(computed) > 0
    np.testing.assert_allclose(result.diagnostics["fisher_total"], computed, rtol=1e-5)
