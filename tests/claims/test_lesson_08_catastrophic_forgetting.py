"""Claims of lesson 08 (catastrophic forgetting), recomputed with the code the lesson calls.

The lesson's multi-seed statements rest on ``collapse_edu/results/continual_summary.json`` (seeds 0-9,
written by ``benchmarks/continual_seeds.py`` with ``run_continual``). The tests here read those runs,
check that the current code still reproduces a sample of them (a few runs re-trained live, including the
sweeps' extremes), and re-train class-incremental fine-tuning on seeds 11-15, which the lesson never uses.
Accuracies are counts of test images (about 108 per task), so a different CPU may move a stored value by one
or two images; the tolerances below allow that.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from claimlib import checked_output, checker_tests, claim, exercise_functions, imports_cell, notebook, numbers_in

from collapse_edu import continual as cl
from collapse_edu import replay as gr
from collapse_edu.figures import continual as figures
from collapse_edu.figures import replay as replay_figures

FRESH_SEEDS = range(11, 16)
TI, CI = "task-incremental", "class-incremental"
LOWER = np.tril_indices(5, -1)
ONE_IMAGE = 0.01  # about one test image of a task (106-109 images)


# --------------------------------------------------------------------------- shared data


@pytest.fixture(scope="module")
def summary() -> dict:
    return cl.load_summary()


@pytest.fixture(scope="module")
def grid(summary) -> dict[tuple[str, str], np.ndarray]:
    """The main grid of the summary: (method, scenario) -> R of seeds 0-9, shape (10, 5, 5)."""
    return {key: np.array(value) for key, value in figures.matrices(summary).items()}


def finals(stack: np.ndarray) -> np.ndarray:
    """Final average accuracy of each R in a stack (..., T, T)."""
    return stack[..., -1, :].mean(axis=-1)


@pytest.fixture(scope="module")
def lambda_sweep(summary) -> dict:
    """EWC's lambda sweep: scenario -> R of shape (lambdas, seeds, 5, 5), plus the lambdas."""
    sweep = summary["lambda_sweep"]
    out = {scenario: figures.sweep_matrices(summary, "lambda_sweep", scenario) for scenario in cl.SCENARIOS}
    out["lambdas"] = list(sweep["ewc_lambda"])
    return out


@pytest.fixture(scope="module")
def k_sweep(summary) -> dict:
    sweep = summary["k_sweep"]
    out = {scenario: figures.sweep_matrices(summary, "k_sweep", scenario) for scenario in cl.SCENARIOS}
    out["ks"] = list(sweep["k"])
    return out


@pytest.fixture(scope="module")
def fisher(summary) -> np.ndarray:
    """EWC, task-incremental: the sum of the diagonal Fisher over all weights, (seeds, tasks)."""
    return np.array(summary["fisher_total"]["ewc|task-incremental"])


@pytest.fixture(scope="module")
def replay_summary() -> dict:
    """benchmarks/generative_replay.py: class-incremental R of 5 methods and the replayed class shares, seeds 0-9."""
    return gr.load_replay_summary()


@pytest.fixture(scope="module")
def fresh() -> list[cl.ContinualResult]:
    """Class-incremental fine-tuning on seeds the lesson and the summary never use."""
    return [cl.run_continual("finetune", CI, seed=seed) for seed in FRESH_SEEDS]


def train_in_order(model: torch.nn.Module, data: cl.SplitDigits, tasks, scenario: str, after_each=None) -> None:
    """The lesson's loop (100 full-batch Adam steps per task, lr 0.01) on one thread; ``after_each(t)`` runs after
    each task."""
    with cl.torch_threads(1):
        for t in tasks:
            x, y = data.task(t)
            classes = data.task_classes[t] if scenario == TI else data.seen(t)
            mask = cl.class_mask(classes, len(y))
            optimiser = cl.Adam(model.parameters(), lr=0.01)
            for _ in range(100):
                optimiser.zero_grad()
                torch.nn.functional.cross_entropy(cl.masked_logits(model(x), mask), y).backward()
                optimiser.step()
            if after_each is not None:
                after_each(t)


def test_the_stored_runs_are_what_the_code_gives(summary, grid, lambda_sweep, k_sweep):
    """A sample of the stored runs, re-trained with the current code: the same accuracy matrices."""
    lambdas, ks = lambda_sweep["lambdas"], k_sweep["ks"]
    cases = [
        (grid[("ewc", TI)][4], dict(method="ewc", scenario=TI, seed=4)),
        (grid[("replay", CI)][7], dict(method="replay", scenario=CI, seed=7)),
        (lambda_sweep[TI][lambdas.index(1e8), 5], dict(method="ewc", scenario=TI, seed=5, ewc_lambda=1e8)),
        (k_sweep[CI][ks.index(1), 3], dict(method="replay", scenario=CI, seed=3, k=1)),
    ]
    for stored, settings in cases:
        R = cl.run_continual(**settings).R
        assert np.abs(R - stored).max() <= 2.5 * ONE_IMAGE, settings
    assert summary["settings"] == cl.DEFAULTS
    assert summary["seeds"] == list(range(10)) == summary["sweep_seeds"]


# --------------------------------------------------------------------------- title


@claim(
    "08",
    "**Sections** (about 45 minutes): 1 · the task sequence (3 min) · 2 · the training loop and the accuracy matrix, "
    "with Exercise 1 (10 min) · 3 · many seeds (5 min) · 4 · playground, with Exercise 2 (6 min)",
    "5 · how much protection?, with Exercise 3 (8 min) · 6 · generative replay, with Exercise 4 (10 min) · 7 · "
    "forgetting is not model collapse (3 min)",
)
def test_section_times_add_up():
    title = notebook("08").cells[0].source
    outline = title[title.index("**Sections**") :]
    minutes = [int(m) for m in re.findall(r"\((\d+) min\)", outline)]
    assert sum(minutes) == 45 == notebook("08").metadata["collapse_edu"]["minutes"]
    exercises = [
        int(m) for c in notebook("08").cells for m in re.findall(r"^### Exercise.*\((\d+) min\)", c.source, re.M)
    ]
    assert exercises == [4, 3, 3, 3]
    assert all(e < s for e, s in zip(exercises, (minutes[1], minutes[3], minutes[4], minutes[5]), strict=True))
    headings = [c.source.splitlines()[0] for c in notebook("08").cells if c.source.startswith("## ")]
    assert headings[5:7] == ["## 6 · Generative replay: a generator that learns from itself",
                             "## 7 · Forgetting is not model collapse"]  # fmt: skip


@claim(
    "08",
    "section 2 writes the training loop out in a dozen lines",
    "The reusable pieces (the data split, the metrics, EWC's Fisher information, the replay buffer, and "
    "`run_continual`, the same loop with the methods added) live in `collapse_edu/continual.py`, about 500 lines "
    "with docstrings",
)
def test_where_the_code_lives():
    source = Path(cl.__file__).read_text(encoding="utf-8")
    assert 430 <= len(source.splitlines()) <= 600
    for name in ("split_digits", "average_accuracy", "average_forgetting", "diagonal_fisher", "select_replay"):
        assert f"def {name}(" in source
    loop = next(c.source for c in notebook("08").cells if c.cell_type == "code" and "loss.backward()" in c.source)
    assert 10 <= len(loop.splitlines()) <= 14


@claim(
    "08",
    "the live cells train ten small networks and one quick generative-replay run (a solver and five small VAEs), all "
    "with seed 0",
    "The results over 10 seeds were computed once by `benchmarks/continual_seeds.py` (320 runs)",
    "as do the 10-seed generative-replay runs of `benchmarks/generative_replay.py`",
    "generative replay lives in `collapse_edu/replay.py`",
)
def test_live_and_stored_runs(summary, replay_summary):
    code = "\n".join(c.source for c in notebook("08").cells if c.cell_type == "code")
    assert code.count("loss.backward()") == 1  # the loop: one network
    assert "cl.run_grid(seeds=(SEED,)" in code and len(cl.METHODS) * len(cl.SCENARIOS) == 8  # eight networks
    assert code.count("figures.explore") == 1  # the playground's first run
    assert code.count("gr.run_generative_replay(") == 1 and "seed=SEED" in code  # one scholar: a VAE per task
    assert summary["machine"]["distinct_runs"] == 320 and len(summary["seeds"]) == 10
    assert replay_summary["seeds"] == list(range(10)) and set(replay_summary["runs"]) == set(
        replay_figures.REPLAY_METHODS
    )
    assert "def run_generative_replay(" in Path(gr.__file__).read_text(encoding="utf-8")


# --------------------------------------------------------------------------- section 1


@claim(
    "08",
    "the 1,797 handwritten 8x8 digits that ship with scikit-learn (no download)",
    "We split them, stratified by class, into 70% training and 30% test images (seed 0), and cut the ten classes "
    "into **five tasks of two digits each**",
    "The network sees task 1 (zeros and ones) until it has learned it, then only task 2 (twos and threes)",
)
def test_the_task_sequence():
    for seed in (0, 11):
        data = cl.split_digits(seed=seed)
        assert len(data.y_train) + len(data.y_test) == 1797
        assert data.task_classes == ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))
        for c in range(10):
            test, total = int((data.y_test == c).sum()), int((data.y_test == c).sum() + (data.y_train == c).sum())
            assert abs(test / total - 0.3) < 0.01
    stored = [c for c in notebook("08").cells if c.cell_type == "code" and "training images per task" in c.source]
    assert numbers_in(stored[0].outputs[0].text)[:5] == [252, 252, 254, 252, 248]


@claim(
    "08",
    "**The network** is a small multilayer perceptron: 64 pixels in, two hidden layers of 100 ReLU units, 10 output "
    "units (one per digit), 17,610 weights and biases in all",
    "Each task gets 100 full-batch Adam steps (learning rate 0.01)",
    "The cell reads the sums $\\sum_i F_{s,i}$ over all 17,610 weights",
    "($\\lambda = 10^5$ here)",
    "keep $k = 10$ real training images per class",
)
def test_the_network_and_settings():
    model = cl.make_mlp(cl.DEFAULTS["hidden"])
    assert [layer.in_features for layer in model if isinstance(layer, torch.nn.Linear)] == [64, 100, 100]
    assert model[-1].out_features == 10 and isinstance(model[1], torch.nn.ReLU)
    assert sum(p.numel() for p in model.parameters()) == 17_610
    assert cl.DEFAULTS == {"hidden": 100, "steps": 100, "lr": 0.01, "ewc_lambda": 1e5, "k": 10}


class RandomGuess(torch.nn.Module):
    """A "network" whose 10 logits are fresh standard normal draws for every image: its masked argmax picks each
    allowed unit with the same probability, the guess that defines chance level."""

    def __init__(self, seed: int = 11):
        super().__init__()
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(len(x), cl.N_CLASSES, generator=self.generator)


@claim(
    "08",
    "| **task-incremental** | which task the image comes from | the task's **two** output units",
    "| **class-incremental** | nothing | **all** classes seen so far | $1/(2 \\times \\text{tasks seen})$ |",
    "During training the softmax runs over the same units: the current task's two (task-incremental) or all classes "
    "seen so far (class-incremental)",
    "Told the task id, the network only has to keep each pair of digits apart",
)
def test_scenarios_choose_among_the_stated_units():
    data = cl.split_digits(seed=0)
    for t in range(5):
        x, y = data.task(t)
        task_of = torch.full((len(y),), t)
        assert cl._train_masks(TI, data, t, y, task_of).sum(dim=1).eq(2).all()
        assert cl._train_masks(CI, data, t, y, task_of).sum(dim=1).eq(2 * (t + 1)).all()
    # Chance level: a guess that knows only which output units it may choose among picks each with probability
    # 1/units, and the test label is always among them, so chance = 1/units. The units are those of the mask that
    # evaluate() builds (class_mask, masked_logits): 2 per task told, 2 x tasks seen when not told.
    source = " ".join(inspect.getsource(cl.evaluate).split())
    assert 'classes = data.task_classes[j] if scenario == "task-incremental" else seen' in source
    assert "pred = masked_logits(model(x), class_mask(classes, len(y))).argmax(dim=1)" in source
    guess = RandomGuess()
    for after in range(5):
        seen = data.seen(after)
        for scenario, units in ((TI, 2), (CI, 2 * (after + 1))):
            for j in range(after + 1):
                _, y = data.task(j, "test")
                mask = cl.class_mask(data.task_classes[j] if scenario == TI else seen, len(y))
                assert mask.sum(dim=1).eq(units).all() and mask[torch.arange(len(y)), y].all()
            # the same through evaluate(): a network of random logits scores 1/units on every task seen so far
            # (40 repeats, 4,000+ test answers: 4 standard errors of a binomial share), 0 on tasks not seen yet
            rows = np.array([cl.evaluate(guess, data, scenario, after) for _ in range(40)])
            sizes = np.array([len(data.task(j, "test")[1]) for j in range(after + 1)])
            answers = 40 * sizes.sum()
            share = float((rows[:, : after + 1] * sizes).sum() / answers)
            assert share == pytest.approx(1 / units, abs=4 * np.sqrt((1 / units) * (1 - 1 / units) / answers))
            if scenario == CI:
                assert np.all(rows[:, after + 1 :] == 0)


@claim(
    "08",
    "`run_continual` adds each one to the training loop of section 2 in a few lines",
    "important every weight $\\theta_i$ was for it with the diagonal Fisher information, averaged over task $s$'s "
    "training images $x$",
    "to the loss of every later task $t$, where $\\theta^*_s$ are the weights at the end of task $s$",
    "(after $t$ earlier tasks the new task weighs $1/(t+1)$ in the loss and the buffer $t/(t+1)$)",
    "**joint**: train on all data of all tasks so far",
)
def test_the_methods_are_what_the_text_says():
    with cl.torch_threads(1):
        _check_methods()


def _check_methods():
    source = inspect.getsource(cl.run_continual)
    assert "loss = loss / (t + 1) + replay_loss * t / (t + 1)" in source
    assert "loss = loss + 0.5 * ewc_lambda * penalty" in source
    assert "fisher = diagonal_fisher(model, x, classes)" in source  # the task's training images
    assert "parts = [data.task(s) for s in range(t + 1)]" in source
    # the Fisher is the formula above: a per-image loop over p(c|x) (d log p / d theta)^2 agrees
    data = cl.split_digits(seed=0)
    model = cl.make_mlp(hidden=8, seed=11)
    x = data.task(2)[0][:6]
    fisher = cl.diagonal_fisher(model, x, [4, 5])
    expected = torch.zeros_like(model[0].weight)
    for xi in x:
        log_p = torch.log_softmax(model(xi[None])[0, [4, 5]], dim=-1)
        for c in range(2):
            (grad,) = torch.autograd.grad(log_p[c], model[0].weight, retain_graph=True)
            expected += log_p[c].exp().detach() * grad**2 / len(x)
    torch.testing.assert_close(fisher["0.weight"], expected, rtol=1e-4, atol=1e-10)


# --------------------------------------------------------------------------- section 2: the loop


def lesson_loop(seed: int) -> np.ndarray:
    """The lesson's training loop cell, run after its imports cell with another seed's data."""
    threads = torch.get_num_threads()
    namespace: dict = {}
    try:
        exec(imports_cell("08").source, namespace)  # noqa: S102
        namespace["SEED"] = seed
        namespace["data"] = cl.split_digits(seed=seed)
        loop = next(c.source for c in notebook("08").cells if c.cell_type == "code" and "loss.backward()" in c.source)
        exec(loop, namespace)  # noqa: S102
    finally:
        torch.set_num_threads(threads)
    return namespace["R"]


@claim(
    "08",
    "one of them repeats the loop above",
    "`cl.run_continual(method, scenario, ...)` is this loop with each method's addition",
    "The bottom-left panel is the loop above",
)
def test_the_visible_loop_is_run_continual(fresh):
    assert np.array_equal(lesson_loop(FRESH_SEEDS[0]), fresh[0].R)
    stored = checked_output("08", "largest difference from the loop's R")
    assert "largest difference from the loop's R: 0.00" in stored


@claim(
    "08",
    "Just after it is learned, almost every task scores 95% or more",
    "one network trained on tasks **in sequence** loses the earlier ones",
    "After the fifth task, what will the network's accuracy on the zeros and ones of task 1 be: still high, about "
    "chance (one digit in ten), or lower still?",
    "Lower than chance: **zero**, on seed 0 and on every other seed we ran",
    'so the network learns to answer "one of the two newest digits" for *every* image',
    "$$A_i \\approx \\frac{1 + 0 + \\dots + 0}{i} = \\frac{1}{i}, \\qquad A_5 \\approx 0.2.$$",
    "Left: its accuracy matrix in %; each task is learned (diagonal) and scores 0 in every later row",
    "Right: the average accuracy over the tasks seen lies on the dashed $1/i$, and task 1 falls to zero as soon as "
    "task 2 arrives",
    "Trained on five two-digit tasks in sequence, one MLP learns almost every new task to 95% or more",
    "In the class-incremental scenario fine-tuning then scores exactly 0 on every earlier task, so its average "
    "accuracy follows $1/(\\text{tasks seen})$ and ends at 0.2 (seed 0 and all 10 seeds)",
    "class-incremental fine-tuning ends at $1/(\\text{number of tasks})$, as predicted: **confirmed**, on every seed",
)
def test_class_incremental_fine_tuning_forgets_everything(grid, fresh):
    theory = cl.class_incremental_finetune_prediction(np.arange(1, 6))
    stored, new = list(grid[("finetune", CI)]), [r.R for r in fresh]  # seeds 0-9, and 11-15
    for R in stored:  # what the lesson shows: all 10 seeds
        assert np.all(np.diag(R) >= 0.95)
        assert np.abs(cl.average_accuracy(R) - theory).max() < 0.03
        assert round(cl.average_accuracy(R)[-1], 1) == 0.2
    for R in stored + new:  # zero on every earlier task, on every seed
        assert np.all(R[LOWER] == 0)
    # "almost every task": on seed 13 the last task reaches only 63% (and the run ends at 0.13, not 0.2)
    diagonals = np.concatenate([np.diag(R) for R in stored + new])
    assert np.mean(diagonals >= 0.95) >= 0.95 and diagonals.min() > 0.5
    assert sum(np.abs(cl.average_accuracy(R) - theory).max() < 0.03 for R in new) >= 4
    # the newest-digits answer: after task 5, every test image of tasks 1-4 is called an 8 or a 9
    data = cl.split_digits(seed=FRESH_SEEDS[1])
    ft = cl.run_continual("finetune", CI, seed=FRESH_SEEDS[1], data=data)
    assert np.allclose(ft.R, fresh[1].R)
    stored = checked_output("08", "theory 1/i after task i")
    assert "within 0.03 of 1/i after every task: True" in stored
    assert "at exactly 0 after each later task: True" in stored
    assert "(diagonal) at 95% or more: True" in stored


def test_the_newest_digits_answer():
    """Supports the answer's mechanism: after the last task, images of every task get labels 8 or 9."""
    data = cl.split_digits(seed=12)
    model = cl.make_mlp(seed=12)
    train_in_order(model, data, range(5), CI)
    with torch.no_grad():
        predicted = model(data.x_test).argmax(dim=1)
    assert set(predicted.tolist()) <= {8, 9}


# --------------------------------------------------------------------------- section 2: eight runs


@claim(
    "08",
    "class-incremental fine-tuning and EWC keep only the diagonal, replay and joint training keep the lower triangle",
    "Replay keeps that question on the syllabus",
)
def test_heatmap_caption(grid):
    for method in ("finetune", "ewc"):
        assert np.all(grid[(method, CI)][:, LOWER[0], LOWER[1]] == 0)
    for method in ("replay", "joint"):
        assert np.all(grid[(method, CI)][:, LOWER[0], LOWER[1]] >= 0.7)


def drops(R: np.ndarray, skip_first: bool = False) -> list[float]:
    """Every one-task drop of an earlier task: R[i, j] - R[i + 1, j] for j <= i < T."""
    return [R[i, j] - R[i + 1, j] for j in range(4) for i in range(j, 4) if not (skip_first and j == i == 0)]


@claim(
    "08",
    "Under fine-tuning the head of task 1 is not even trained during task 2: what changes is the shared hidden layers",
    "Old tasks lose a few points to tens of points and sometimes win them back later, without seeing their data "
    "again: over the 10 stored seeds of section 3 the largest single drop is 10 to 45 points, and "
    "on every seed some old task later wins back 5 points or more",
    "it forgets less than fine-tuning on all 10 seeds and keeps every drop to 4 points or less, with one telling "
    "exception, task 1 while task 2 is learned, explained below",
    "the stiff weights even make the newest task harder to learn (the last task ends lower than under fine-tuning "
    "on all 10 seeds)",
)
def test_task_incremental_story(grid):
    for R in grid[("finetune", TI)]:
        assert 0.095 <= max(drops(R)) <= 0.455
        assert max(-d for d in drops(R)) >= 0.05  # some old task wins points back
    for ewc, ft in zip(grid[("ewc", TI)], grid[("finetune", TI)], strict=True):
        assert cl.average_forgetting(ewc) < cl.average_forgetting(ft)
        assert max(drops(ewc, skip_first=True)) <= 0.045
    assert np.all(grid[("ewc", CI)][:, -1, -1] < grid[("finetune", CI)][:, -1, -1])
    # the head of task 1 (output rows 0 and 1) does not move while task 2 is learned, task-incremental
    data = cl.split_digits(seed=13)
    model = cl.make_mlp(seed=13)
    heads = []
    train_in_order(model, data, (0, 1), TI, after_each=lambda t: heads.append(model[-1].weight.detach()[:2].clone()))
    assert torch.equal(heads[0], heads[1])


@claim(
    "08",
    "In the class-incremental scenario EWC does not help at all",
    "The problem there is not that old weights drift but that the output layer has never been asked to choose "
    "*between* tasks",
)
def test_seed0_checks_and_ewc_in_class_incremental(grid):
    stored = checked_output("08", "EWC forgets less than fine-tuning")
    expected = [
        "largest difference from the loop's R: 0.00",
        "EWC forgets less than fine-tuning: True; EWC final accuracy above 0.95: True",
        "class-incremental: EWC final accuracy below fine-tuning's (no help): True",
        "replay final accuracy above 0.7: True; it closes more than 70% of the gap from fine-tuning to joint training: "
        "True",
    ]
    assert all(line in stored for line in expected) and "False" not in stored
    source = next(c.source for c in notebook("08").cells if "EWC forgets less than fine-tuning" in c.source)
    assert "class_ewc.final_accuracy < class_ft.final_accuracy" in source  # compared with fine-tuning, seed 0
    assert np.all(finals(grid[("ewc", CI)]) < finals(grid[("finetune", CI)]))
    assert np.all(grid[("ewc", CI)][:, LOWER[0], LOWER[1]] == 0)  # the old classes are never chosen


# --------------------------------------------------------------------------- section 2: EWC's blind spot


@claim(
    "08",
    "after task 2 it drops just as far with EWC as without (seed 0: to 76% in both; the same drop on 8 of the 10 "
    "stored seeds)",
    "after task 1 the network is so sure about zeros versus ones that $p(c \\mid x)$ is 1 up to rounding",
    "Later tasks end less certain and get a Fisher at least 400 times larger than task 1's (two and a half orders of "
    "magnitude or more, on every seed)",
)
def test_ewc_cannot_see_task_1(grid, fisher):
    ewc, ft = grid[("ewc", TI)][:, 1, 0], grid[("finetune", TI)][:, 1, 0]
    assert round(100 * ewc[0]) == round(100 * ft[0]) == 76
    assert np.sum(np.abs(ewc - ft) < 0.005) == 8
    gap = np.log10(fisher[:, 1:].min(axis=1) / fisher[:, 0])  # orders of magnitude, smallest later task, per seed
    assert len(gap) == 10 and np.all(gap >= np.log10(400)) and np.all(gap >= 2.5)
    assert gap.min() < 3  # not "three orders" on every seed: seeds 4 and 7 reach about 2.7
    printed = checked_output("08", "smallest later task / task 1, per seed")
    assert f"per seed: {10 ** gap.min():.0f} (seed {np.argmin(gap)})" in printed and 10 ** gap.min() >= 400
    for seed in (0, 11):  # after task 1, the network's p(c | x) on its training images
        data = cl.split_digits(seed=seed)
        model = cl.make_mlp(seed=seed)
        train_in_order(model, data, (0,), TI)
        x = data.task(0)[0]
        with torch.no_grad():
            p = torch.softmax(model(x)[:, [0, 1]], dim=-1).max(dim=1).values.double()
        assert float((1 - p).max()) < 1e-4 and float((p == 1).double().mean()) > 0.95


@claim(
    "08",
    "At the lesson's $\\lambda = 10^5$ the penalty that holds task 1 is therefore weak: "
    "$\\lambda \\sum_i F_{1,i} \\approx 0.2$ on seed 0 and below 1 on 8 of the 10 seeds, so even if every weight moved "
    "by a whole unit the penalty would add about 0.1 to the loss",
    "On the two seeds where task 1 ends less certain (a larger $F_1$), EWC does hold it better than fine-tuning",
    "the playground's slider goes up to $10^8$, where $\\lambda \\sum_i F_{1,i} \\approx 180$ on seed 0, and there "
    "task 1 keeps more after task 2 on all 10 seeds (median 95% against fine-tuning's 83%)",
    "But the same $\\lambda$ multiplies the much larger Fisher of the later tasks, and the network then learns the "
    "newest task less well",
)
def test_what_lambda_does_to_task_1(grid, fisher, lambda_sweep):
    stiffness = 1e5 * fisher[:, 0]
    assert round(stiffness[0], 1) == 0.2 and np.sum(stiffness < 1) == 8
    assert round(0.5 * stiffness[0], 1) == 0.1  # (lambda / 2) sum_i F_i * 1^2
    assert round(1e8 * fisher[0, 0], -1) == 180
    ewc, ft = grid[("ewc", TI)][:, 1, 0], grid[("finetune", TI)][:, 1, 0]
    larger = stiffness >= 1
    assert larger.sum() == 2 and np.all(ewc[larger] > ft[larger] + 0.03)
    stack, lambdas = lambda_sweep[TI], lambda_sweep["lambdas"]
    stiff = stack[lambdas.index(1e8)]
    assert np.all(stiff[:, 1, 0] > ft)
    assert round(100 * np.median(stiff[:, 1, 0])) == 95 and round(100 * np.median(ft)) == 83
    assert np.median(stiff[:, -1, -1]) < np.median(grid[("finetune", TI)][:, -1, -1]) - 0.1
    stored = checked_output("08", "lambda * (sum of F) for task 1")
    assert "0.17 on seed 0, below 1 on 8 of 10 seeds" in stored and "below 1 on 0 of 10 seeds" in stored
    assert "max=8" in next(c.source for c in notebook("08").cells if "FloatLogSlider" in c.source)


@claim("08", "The checker tries the 80 stored matrices of section 3 and two small ones made by hand")
def test_exercise_1_cases(grid):
    assert sum(len(v) for v in grid.values()) == 80
    assert "passed all 82 checks" in checked_output("08", "my_average_forgetting")


# --------------------------------------------------------------------------- section 3


@claim(
    "08",
    "Average accuracy over the tasks seen after each task, median and range of 10 seeds",
    "Class-incremental: fine-tuning lies on the dashed $1/(\\text{tasks seen})$ line on every seed and EWC on it or "
    "just below, while replay ends between 0.86 and 0.90 and joint training between 0.96 and 0.98",
    "Task-incremental: fine-tuning sags with a wide band (0.74 to 0.96 at the end), while EWC, replay and joint "
    "training all end at 0.94 or more",
)
def test_average_accuracy_caption(grid):
    theory = cl.class_incremental_finetune_prediction(np.arange(1, 6))
    for R in grid[("finetune", CI)]:
        assert np.abs(cl.average_accuracy(R) - theory).max() < 0.015
    for R in grid[("ewc", CI)]:
        gap = theory - cl.average_accuracy(R)
        assert gap.min() > -0.01 and gap.max() < 0.05
    assert 0.855 <= finals(grid[("replay", CI)]).min() and finals(grid[("replay", CI)]).max() <= 0.905
    joint = finals(grid[("joint", CI)])
    assert (f"{joint.min():.2f}", f"{joint.max():.2f}") == ("0.96", "0.98")  # as section 6's printout rounds them
    ft = finals(grid[("finetune", TI)])
    assert (round(ft.min(), 2), round(ft.max(), 2)) == (0.74, 0.96)
    for method in ("ewc", "replay", "joint"):
        assert finals(grid[(method, TI)]).min() >= 0.94


@claim(
    "08",
    "Accuracy on task 1 (digits 0 and 1) after each task, median and range of 10 seeds",
    "Class-incremental: fine-tuning and EWC drop to exactly zero as soon as task 2 arrives, on every seed",
    "replay sinks slowly, to between 0.72 and 0.87 after task 5; joint training stays at 0.95 or above",
    "Task-incremental: after task 2 EWC drops as far as fine-tuning (median 0.84 against 0.83, the weakness of "
    "section 2) but then recovers to 0.92 or more; fine-tuning's worst seed ends at 0.46, below chance (dotted)",
)
def test_task_1_caption(grid):
    for method in ("finetune", "ewc"):
        assert np.all(grid[(method, CI)][:, 1:, 0] == 0)
    replay = grid[("replay", CI)][:, :, 0]
    assert np.all(np.diff(np.median(replay, axis=0)) < 0)  # sinks, task after task
    assert (round(replay[:, -1].min(), 2), round(replay[:, -1].max(), 2)) == (0.72, 0.87)
    assert grid[("joint", CI)][:, :, 0].min() >= 0.95
    ewc, ft = grid[("ewc", TI)][:, :, 0], grid[("finetune", TI)][:, :, 0]
    assert (round(np.median(ewc[:, 1]), 2), round(np.median(ft[:, 1]), 2)) == (0.84, 0.83)
    assert ewc[:, 2:].min() >= 0.92
    assert round(ft[:, -1].min(), 2) == 0.46 < 0.5


@claim(
    "08",
    "Told the task id, fine-tuning already keeps most tasks here (8x8 digits, one pair at a time): 33 of the 40 "
    "earlier tasks of the 10 seeds end at 0.8 or more, and the final average accuracy has median 0.92",
    "Not every task, though: the worst seed (seed 3) ends at 0.74, with task 1 at 0.46, below chance, and task 3 at "
    "0.55",
    "EWC lifts the final average on every one of the 10 seeds, by 2 to 25 points, to between 0.96 and 0.99",
    "Without the task id EWC ends a little *below* fine-tuning on all 10 seeds (median 0.19 against 0.20): the stiff "
    "weights make the newest task harder to learn",
    "EWC helps task-incremental but not class-incremental learning: **confirmed**",
    "told the task id, even plain fine-tuning keeps most tasks (final average accuracy 0.92, median of 10 seeds), "
    "though not all: on the worst seed task 1 ends at 0.46, below chance",
    "EWC's Fisher-weighted penalty lifts the final average on every seed (median 0.98); without the id, EWC does not "
    "help",
)
def test_ewc_against_fine_tuning(grid):
    ft, ewc = finals(grid[("finetune", TI)]), finals(grid[("ewc", TI)])
    assert (round(np.median(ft), 2), round(ft.min(), 2)) == (0.92, 0.74)
    earlier = grid[("finetune", TI)][:, -1, :4]  # (seeds, 4 earlier tasks) after the last task
    assert earlier.size == 40 and np.sum(earlier >= 0.8) == 33
    worst = int(np.argmin(ft))  # the worst seed, task by task: not "most of every task"
    assert worst == 3 and round(earlier[worst, 0], 2) == 0.46 < 0.5 and round(earlier[worst, 2], 2) == 0.55
    assert np.sum(np.any(earlier < 0.5, axis=1)) == 1  # below chance on one seed of 10
    lift = ewc - ft
    assert 0.015 <= lift.min() and lift.max() <= 0.25
    assert 0.96 <= round(ewc.min(), 2) and round(ewc.max(), 2) <= 0.99
    assert round(np.median(ewc), 2) == 0.98
    ft_ci, ewc_ci = finals(grid[("finetune", CI)]), finals(grid[("ewc", CI)])
    assert np.all(ewc_ci < ft_ci)
    assert (round(np.median(ewc_ci), 2), round(np.median(ft_ci), 2)) == (0.19, 0.20)
    assert np.all(grid[("ewc", CI)][:, -1, -1] < grid[("finetune", CI)][:, -1, -1])


@claim(
    "08",
    "replay of a few examples per class recovers most of the class-incremental loss: **confirmed**, from 0.2 to "
    "between 0.86 and 0.90 with 10 images per class, against 0.96 to 0.98 for joint training: 86% to 92% of the gap "
    "on every seed",
    "ten stored images per class do not hold the full variety of a class (with 50 per class replay reaches 0.95, "
    "section 5)",
    "Replaying 10 real images per class lifts class-incremental accuracy from 0.2 to about 0.87 (joint training: "
    "about 0.97, 10 seeds)",
)
def test_replay_closes_most_of_the_gap(grid, k_sweep):
    ft, replay, joint = (finals(grid[(m, CI)]) for m in ("finetune", "replay", "joint"))
    assert 0.855 <= replay.min() and replay.max() <= 0.905
    assert (f"{joint.min():.2f}", f"{joint.max():.2f}") == ("0.96", "0.98")
    share = (replay - ft) / (joint - ft)
    assert 0.855 <= share.min() and share.max() <= 0.925
    assert (round(np.median(replay), 2), round(np.median(joint), 2)) == (0.87, 0.97)
    at_50 = finals(k_sweep[CI][k_sweep["ks"].index(50)])
    assert round(np.median(at_50), 2) == 0.95 and np.all(at_50 > replay.max())


@claim(
    "08",
    "One seed is one draw. `benchmarks/continual_seeds.py` repeated the grid for seeds 0-9",
    "The sweeps below come from the same benchmark file, 10 seeds for every setting",
)
def test_summary_layout(summary, lambda_sweep, k_sweep):
    assert all(len(v) == 10 for v in summary["runs"].values())
    assert lambda_sweep[TI].shape == (9, 10, 5, 5) and k_sweep[CI].shape == (7, 10, 5, 5)


# --------------------------------------------------------------------------- section 4


@claim(
    "08",
    "the EWC strength $\\lambda$ (log scale, $1$ to $10^8$)",
    "(runs are cached, so going back is instant)",
    "Things to try: EWC in the class-incremental scenario with $\\lambda = 10^7$ (does anything help?)",
    "EWC task-incremental with $\\lambda = 1$ and with $\\lambda = 10^8$ (too weak, too stiff: look at task 1 after "
    "task 2 and at the last cell of the diagonal)",
    "The playground's start, EWC on the task-incremental scenario (seed 0, $\\lambda = 10^5$)",
    "task 1 still drops after task 2, for the reason seen in section 2",
)
def test_playground_hints(grid, lambda_sweep):
    widget = next(c.source for c in notebook("08").cells if "FloatLogSlider" in c.source)
    assert "min=0, max=8" in widget and "base=10" in widget
    assert hasattr(figures._cached_run, "cache_info")
    assert inspect.signature(figures.explore).parameters["method"].default == "ewc"
    assert inspect.signature(figures.explore).parameters["scenario"].default == TI
    lambdas, ti, ci = lambda_sweep["lambdas"], lambda_sweep[TI], lambda_sweep[CI]
    assert np.all(finals(ci[lambdas.index(1e7)]) < 0.2)  # nothing helps, on every seed
    ft = grid[("finetune", TI)][0]
    stiff = ti[lambdas.index(1e8), 0]  # seed 0, the playground's start
    assert stiff[1, 0] > ft[1, 0] + 0.1 and stiff[-1, -1] < ft[-1, -1] - 0.05
    assert grid[("ewc", TI)][0, 1, 0] < 0.8
    # Too weak: lambda = 1 is not in the stored sweep, so train it as the playground does (figures._cached_run, the
    # call explore() makes), on the playground's seed 0 and seeds 1-5 (about 0.6 s each). Task 1 after task 2 is
    # fine-tuning's to within an image (the penalty does nothing), and no better than at lambda = 10; the last
    # cell of the diagonal is not held back either (as stiff lambda = 10^8 holds it back).
    with cl.torch_threads(1):
        weak = {seed: figures._cached_run("ewc", TI, 1.0, cl.DEFAULTS["k"], seed).R for seed in range(6)}
    for seed, R in weak.items():
        finetune, ten = grid[("finetune", TI)][seed], ti[lambdas.index(1e1), seed]
        assert abs(R[1, 0] - finetune[1, 0]) <= 2 * ONE_IMAGE, seed
        assert R[1, 0] <= ten[1, 0] + 2 * ONE_IMAGE, seed
        assert R[-1, -1] >= finetune[-1, -1] - 2 * ONE_IMAGE, seed


@claim(
    "08",
    "Your random draws need not match ours: the checker looks at how many examples of each class you keep, whether "
    "any index repeats, and whether the draw is random (the same seed gives the same buffer, another seed another, "
    "and it is not simply the first `k` of each class).",
)
def test_replay_checker_reports_the_functions_own_error():
    """The checker's check of the returned shape does not hide an error raised inside the function itself
    (the commonest: drawing k without replacement from a class with fewer than k)."""
    from claimlib import run_checker

    uncapped = (
        "def my_select_replay(labels, k, seed=0):\n"
        "    labels = np.asarray(labels)\n"
        "    rng = np.random.default_rng(seed)\n"
        "    return np.concatenate([rng.choice(np.flatnonzero(labels == c), size=k, replace=False)\n"
        "                           for c in np.unique(labels)])\n"
    )
    out = run_checker("08", exercise_functions("08")["my_select_replay"], replacement=uncapped)
    assert "raised ValueError: Cannot take a larger sample than population" in out, out
    assert "must return one flat array" not in out


def test_replay_checker_accepts_other_random_draws():
    from claimlib import run_checker

    other = (
        "def my_select_replay(labels, k, seed=0):\n"
        "    labels = np.asarray(labels)\n"
        "    rng = np.random.default_rng(seed + 99)\n"
        "    return np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:k] for c in np.unique(labels)])\n"
    )
    out = run_checker("08", exercise_functions("08")["my_select_replay"], replacement=other)
    assert "✅" in out and "❌" not in out


# --------------------------------------------------------------------------- section 5


@claim(
    "08",
    "Class-incremental fine-tuning ends at 0.2, joint training on all data at about 0.97",
    "Replay with $k = 1$ keeps **one** image of each digit: 8 stored images by the last task, against about 250 new "
    "training images per task",
    "Well above fine-tuning: 0.53 (median of 10 seeds; 0.45 to 0.56), a third to a half of the way from fine-tuning "
    "to joint training on every seed",
    "A single stored image per class keeps the old digits among the answers the output layer is trained to give",
    "More images help less and less: 0.65 with $k = 2$, 0.87 with $k = 10$, 0.95 with $k = 50$",
    "even one or two per class help a lot (0.53 and 0.65)",
)
def test_predict_one_image_per_class(grid, k_sweep):
    data = cl.split_digits(seed=0)
    sizes = [len(data.task(t)[1]) for t in range(5)]
    assert all(240 <= s <= 260 for s in sizes)
    assert len(cl.select_replay(data.y_train[torch.isin(data.y_train, torch.arange(8))].numpy(), 1)) == 8
    ks, stack = k_sweep["ks"], k_sweep[CI]
    one = finals(stack[ks.index(1)])
    assert round(np.median(one), 2) == 0.53 and (round(one.min(), 2), round(one.max(), 2)) == (0.45, 0.56)
    ft, joint = finals(grid[("finetune", CI)]), finals(grid[("joint", CI)])
    share = (one - ft) / (joint - ft)
    assert 1 / 3 - 0.01 <= share.min() and share.max() <= 0.5
    assert np.all(stack[ks.index(1)][:, -1, :4].mean(axis=1) > 0.3)  # the old tasks are answered again
    medians = [round(float(np.median(finals(stack[ks.index(k)]))), 2) for k in (2, 10, 50)]
    assert medians == [0.65, 0.87, 0.95]
    gains = np.diff([np.median(finals(stack[i])) for i in range(len(ks))]) / np.diff(ks)
    assert np.all(np.diff(gains) < 0)  # less and less per added image


@claim(
    "08",
    "Two knobs: $\\lambda$ sets how stiffly EWC holds the old weights, $k$ how many real images per class replay keeps",
    "both x-axes are linear from 0 to the first setting and logarithmic beyond, so every setting sits at its value",
    "One or two stored images per class already lift class-incremental learning from 0.2 to about 0.53 and 0.65, and "
    "50 reach 0.95",
    "No $\\lambda$ lifts class-incremental EWC off the 1/5 line (medians 0.17 to 0.20); task-incremental EWC climbs "
    "from 0.92 (fine-tuning, $\\lambda = 0$) and 0.94 at $\\lambda = 10^2$ to 0.98 at $10^4$, stays there up to $10^6$ "
    "and falls back beyond (0.95 at $10^8$)",
)
def test_sweep_caption(summary, lambda_sweep):
    import matplotlib.pyplot as plt

    fig = figures.sweeps(summary)
    for ax, threshold in zip(fig.axes[:2], (1, 10), strict=True):
        assert ax.get_xscale() == "symlog" and ax.xaxis.get_transform().linthresh == threshold
    plt.close(fig)
    lambdas = lambda_sweep["lambdas"]
    ci = [np.median(finals(lambda_sweep[CI][i])) for i in range(len(lambdas))]
    assert 0.165 <= min(ci) and max(ci) <= 0.2
    ti = [round(float(np.median(finals(lambda_sweep[TI][i]))), 2) for i in range(len(lambdas))]
    at = {lam: value for lam, value in zip(lambdas, ti, strict=True)}
    assert (at[0.0], at[1e2], at[1e4]) == (0.92, 0.94, 0.98)
    climb = ti[: lambdas.index(1e4) + 1]
    assert np.all(np.diff(climb) >= 0) and np.all(np.diff(climb[lambdas.index(1e2) :]) > 0)  # climbs, 10^2 to 10^4
    assert at[1e4] == at[1e5] == at[1e6] == 0.98 and at[1e6] > at[1e7] > at[1e8] == 0.95  # stays, then falls back
    stored = checked_output("08", "class-incremental, replay, k per class")
    assert "1: 0.53, 2: 0.65" in stored and "50: 0.95" in stored


@claim(
    "08",
    "Why does a very stiff EWC lose accuracy in the task-incremental scenario?",
    "how much of task 1 survives task 2 (*stability*) and how well the last task is learned (*plasticity*)",
    "EWC in the task-incremental scenario against $\\lambda$, median and range of 10 seeds (the bars; $\\lambda = 0$ "
    "is fine-tuning)",
    "Up to $\\lambda = 10^5$ task 1 keeps hardly more after task 2 than under fine-tuning (median 0.84 against 0.83: "
    "its Fisher is tiny); at $\\lambda = 10^8$ it keeps much more (median 0.95), but the last task, just learned, "
    "falls from 0.99 to 0.86",
    "The final average peaks in between",
    "EWC protects only what its Fisher sees: a task learned with near certainty has almost no Fisher, and the "
    "$\\lambda$ large enough to protect it anyway makes the newest task harder to learn",
)
def test_stiffness_caption(grid, lambda_sweep):
    stack, lambdas = lambda_sweep[TI], lambda_sweep["lambdas"]
    assert np.array_equal(stack[0], grid[("finetune", TI)])  # lambda = 0 is fine-tuning
    task1 = [np.median(stack[i][:, 1, 0]) for i in range(len(lambdas))]
    last = [np.median(stack[i][:, -1, -1]) for i in range(len(lambdas))]
    final = [np.median(finals(stack[i])) for i in range(len(lambdas))]
    up_to = lambdas.index(1e5) + 1
    assert round(max(task1[:up_to]), 2) == 0.84 and round(task1[0], 2) == 0.83
    assert round(task1[-1], 2) == 0.95 and (round(last[0], 2), round(last[-1], 2)) == (0.99, 0.86)
    best = int(np.argmax(final))
    assert 0 < best < len(lambdas) - 1 and final[best] > final[0] + 0.05 and final[best] > final[-1] + 0.02
    stored = checked_output("08", "task 1 after task 2   last task")
    assert numbers_in(stored.splitlines()[-1])[-3:] == [0.95, 0.86, 0.95]


@claim(
    "08",
    "The text and the formulas number the tasks from 1, so $T = 5$ is the last task and the number of tasks; code "
    "counts from 0, so $R_{ij}$ is `R[i - 1, j - 1]`.",
    "in code, with indices from 0, the mean over `j < last` of `R[last, j] - R[j, j]`, where `last = len(R) - 1` "
    "(that is, $T - 1$) is the index of the last task",
)
def test_tasks_count_from_one_in_the_formulas_and_from_zero_in_code(grid):
    R = np.array(grid[("finetune", CI)][0])
    assert R.shape == (5, 5)  # T = 5 tasks
    T = len(R)
    one_based = {(i, j): R[i - 1, j - 1] for i in range(1, T + 1) for j in range(1, T + 1)}
    bwt = sum(one_based[T, j] - one_based[j, j] for j in range(1, T)) / (T - 1)  # the formula as displayed
    average = sum(one_based[2, j] for j in (1, 2)) / 2  # A_2 = (1/2) sum_{j <= 2} R_2j
    assert np.isclose(bwt, cl.backward_transfer(R)) and np.isclose(average, cl.average_accuracy(R)[1])
    namespace = {"np": np}
    exec(notebook("08").cells[exercise_functions("08")["my_backward_transfer"]].source, namespace)  # the solution
    assert np.isclose(namespace["my_backward_transfer"](R), bwt)


@claim(
    "08",
    "Replay: closer to 0, about −0.14 (median of the 10 stored seeds, −0.15 to −0.11): each earlier task ends on "
    "average 14 points below where it was just after it was learned",
    "Fine-tuning: every term is $0 - 1$, so BWT $= -1$ exactly; the stored runs give −1.00 to −0.99, because the "
    "diagonal entries that enter, those of the earlier tasks, are 0.98 to 1 rather than exactly 1",
)
def test_exercise_3_answer(grid):
    replay = [cl.backward_transfer(R) for R in grid[("replay", CI)]]
    assert round(np.median(replay), 2) == -0.14 and (round(min(replay), 2), round(max(replay), 2)) == (-0.15, -0.11)
    ft = [cl.backward_transfer(R) for R in grid[("finetune", CI)]]
    assert (round(min(ft), 2), round(max(ft), 2)) == (-1.0, -0.99)
    earlier = np.array([np.diag(R)[:-1] for R in grid[("finetune", CI)]])  # R[j, j], j < last: what BWT uses
    assert (round(earlier.min(), 2), round(earlier.max(), 2)) == (0.98, 1.0)
    assert cl.backward_transfer(np.tril(np.ones((5, 5))) - np.tril(np.ones((5, 5)), -1)) == -1.0
    stored = checked_output("08", "my_backward_transfer(R) for R in stored")
    assert "replay: BWT median -0.14, from -0.15 to -0.11" in stored
    assert "finetune: BWT median -1.00, from -1.00 to -0.99" in stored


# --------------------------------------------------------------------------- section 6: generative replay


def replay_stack(replay_summary: dict, method: str, key: str = "R") -> np.ndarray:
    return np.array(replay_summary["runs"][method][key], float)


def replay_finals(replay_summary: dict, method: str) -> np.ndarray:
    return np.array([cl.average_accuracy(R) for R in replay_stack(replay_summary, method)])


def test_replay_summary_matches_the_code(replay_summary, grid):
    """The summary's plain runs are those of the 10-seed summary (same code, same seeds); its settings are the
    library's defaults; its class-share measures are those the lesson computes."""
    for method in ("finetune", "replay", "joint"):
        assert np.abs(replay_stack(replay_summary, method) - grid[(method, CI)]).max() <= 2.5 * ONE_IMAGE
    assert replay_summary["settings"] == {"solver": cl.DEFAULTS, "generative": gr.REPLAY_DEFAULTS}
    for method in ("generative", "generative-real"):
        shares = replay_stack(replay_summary, method, "replay_shares")
        assert np.allclose(shares[:, 1:].sum(axis=2), 1.0, atol=1e-3) and np.all(shares[:, 0] == 0)
        coverage = np.array(replay_summary["runs"][method]["replay_coverage"])
        stored = [
            gr.ReplayResult(np.eye(5), s, np.zeros(10), np.zeros(5), np.zeros(5)).replay_coverage() for s in shares
        ]
        assert np.array_equal(coverage, stored)
    # the first task is learned exactly as by fine-tuning (nothing to replay yet)
    assert np.array_equal(
        replay_stack(replay_summary, "generative")[:, 0], replay_stack(replay_summary, "finetune")[:, 0]
    )


@claim(
    "08",
    "Exact replay keeps real images",
    "*generative replay* (Shin et al. 2017, arXiv:1705.08690) keeps a **generator** of the earlier tasks instead",
    "the **solver** (the MLP above) on the real images of task $t$ plus images drawn from the previous generator, each "
    "labelled with the previous solver's answer among the digits seen before (class-incremental, as in this section; "
    "task-incremental, the library labels each replayed image for every earlier task's head, within that task's "
    "pair); after $t$ earlier tasks the new task weighs $1/(t+1)$ in the loss and the replay $t/(t+1)$, as for "
    "exact replay",
    "a small VAE (`collapse_edu/vae.py`: 64 pixels, 128 hidden units, an 8-dimensional latent, 1000 Adam steps per "
    "task), on the real images of task $t$ plus as many of its own samples per earlier task as task $t$ has real "
    "images",
    "From task 2 on, the generator's zeros and ones come **only from its own earlier samples**, one more generation "
    "per task: the self-consuming loop of the model-collapse lessons, running inside a continual learner",
    "As a control, a second generator is retrained at every task on the real images of all tasks so far",
    "A logistic-regression classifier trained once on real digits (not the solver) reads every replayed image",
    "It replays about 250 images per earlier task, each labelled by the previous solver, where exact replay holds 10 "
    "per class",
)
def test_generative_replay_is_what_the_text_says():
    from collapse_edu.vae import VAE, VAE_DEFAULTS

    source = inspect.getsource(gr.run_generative_replay)
    assert "loss = loss / (t + 1) + replay_loss * t / (t + 1)" in source
    assert "old_logits = solver(replay_x)" in source  # the previous solver, before this task's steps
    assert "replay_y = masked_logits(old_logits, class_mask(previous_seen, count)).argmax(dim=1)" in source
    # task-incremental: one label per earlier task's pair, and the replay loss over every earlier head
    assert "head_masks = [class_mask(c, count) for c in data.task_classes[:t]]" in source
    assert "replay_loss = sum(loss_fn(masked_logits(out, m), h) for m, h in heads) / t" in source
    assert "count = (replay_per_task or len(y)) * t" in source  # as many per earlier task as task t has images
    assert "parts = [x.numpy()] + ([replay_x.numpy()] if replay_x is not None else [])" in source  # own samples only
    assert "parts = [data.task(s)[0].numpy() for s in range(t + 1)]" in source  # the control: all real data so far
    assert "generator_family = VAE(steps=vae_steps" in source and gr.REPLAY_DEFAULTS["vae_steps"] == 1000
    assert (VAE_DEFAULTS["latent"], VAE_DEFAULTS["hidden"]) == (8, 128)
    net = VAE(steps=1).fit(np.random.default_rng(11).random((1, 4, 64))).nets[0]  # the default sizes
    assert net.encoder[0].in_features == 64 and net.mu.out_features == 8 and net.decoder[-1].out_features == 64
    judge = gr._judge()
    assert type(judge).__name__ == "LogisticRegression" and list(judge.classes_) == list(range(10))
    sizes = [len(cl.split_digits(seed=s).task(t)[1]) for s in (0, 11) for t in range(5)]
    assert all(240 <= n <= 260 for n in sizes) and cl.DEFAULTS["k"] == 10


@claim(
    "08",
    "**Predict.** Exact replay with 10 stored images per class ended at 0.87",
    "Above, after every task from task 2 on (after task 1 the two are the same: nothing is replayed yet) and on "
    "every one of the 10 seeds: 0.93 at the end (median; 0.90 to 0.95) against 0.87 (0.86 to 0.90), a little below "
    "the control whose generator sees all real data (0.94)",
    "Generative replay stays above exact replay after every task from task 2 on and ends at 0.93 against 0.87, a "
    "little below its control (0.94) and joint training (0.97); fine-tuning follows $1/(\\text{tasks seen})$",
    "Generative replay largely prevents forgetting here: it beats exact replay with ten stored images per class "
    "after every task from task 2 on, on every seed, and ends at most 4 points below the control (below it on 7 of "
    "the 10 seeds)",
    "lifts class-incremental accuracy to 0.93 (median of 10 seeds), above exact replay with 10 images per class (0.87) "
    "after every task from task 2 on, on every seed",
    "Generative replay stores no image: a VAE trained on the current task plus its own samples of the earlier ones",
    "The solver keeps its old tasks",
)
def test_generative_replay_beats_exact_replay(replay_summary):
    A = {m: replay_finals(replay_summary, m) for m in replay_figures.REPLAY_METHODS}
    assert np.all(A["generative"][:, 1:] > A["replay"][:, 1:])
    assert np.array_equal(A["generative"][:, 0], A["replay"][:, 0])  # after task 1: the same, nothing replayed yet
    gen, exact, control, joint = (A[m][:, -1] for m in ("generative", "replay", "generative-real", "joint"))
    assert round(np.median(gen), 2) == 0.93 and (f"{gen.min():.2f}", f"{gen.max():.2f}") == ("0.90", "0.95")
    assert round(np.median(exact), 2) == 0.87 and (round(exact.min(), 2), round(exact.max(), 2)) == (0.86, 0.90)
    assert np.all(gen - control >= -0.04) and np.sum(gen < control) == 7 and round(np.median(control), 2) == 0.94
    assert np.median(gen) < np.median(control)
    assert round(np.median(joint), 2) == 0.97 and np.all(gen < joint)
    assert np.all(replay_stack(replay_summary, "generative")[:, -1, :4].mean(axis=1) > 0.85)  # old tasks kept
    ft = A["finetune"]
    assert np.all(np.abs(ft - cl.class_incremental_finetune_prediction(np.arange(1, 6))) < 0.03)
    stored = checked_output("08", "generative above exact replay after every task, every seed")
    assert "every seed: True" in stored and "generative       [0.98, 0.97, 0.96, 0.93]  0.90 to 0.95" in stored


@claim(
    "08",
    "Right: task 1 (digits 0 and 1) falls to 0 under fine-tuning as soon as task 2 arrives; it ends at 0.78 under "
    "exact replay (median), 0.92 with generative replay and 0.94 with the control",
    "Class-incremental learning, median and range of 10 seeds (the bars; the methods drawn side by side)",
    "Left: average accuracy over the tasks seen; middle: the same without fine-tuning, on a zoomed axis",
)
def test_replay_accuracy_caption(replay_summary):
    import matplotlib.pyplot as plt

    task1 = {m: replay_stack(replay_summary, m)[:, :, 0] for m in replay_figures.REPLAY_METHODS}
    assert np.all(task1["finetune"][:, 1:] == 0)
    medians = [round(float(np.median(task1[m][:, -1])), 2) for m in ("replay", "generative", "generative-real")]
    assert medians == [0.78, 0.92, 0.94]
    fig = replay_figures.replay_accuracy(replay_summary)
    assert "10 seeds" in fig.axes[0].get_title()
    left, middle = ([line.get_label() for line in ax.get_lines()] for ax in fig.axes[:2])
    assert "fine-tuning" in left and "fine-tuning" not in middle and len(middle) == 4
    assert middle == left[1:5] and middle[0].startswith("exact replay")
    shown = [ax.get_ylim()[0] for ax in fig.axes]
    assert shown[0] < 0 and shown[1] > 0.7  # the middle panel zooms in
    plt.close(fig)


@claim(
    "08",
    "At task 2 both generators are the same network, trained on real zeros and ones",
    "From task 3 on, the generator that learns from its own samples falls behind the control that is retrained on all "
    "real data, in the median over seeds (not on every seed at every task): by task 5 fewer of its samples are read "
    "as an earlier digit (0.85 against 0.94, median), its class mix is further from the fair shares (0.17 against "
    "0.10) and the classifier is less sure of them (0.58 against 0.66)",
    "The control's confidence falls too: one small VAE has more digits to draw at every task",
    "Its replay falls behind the control's: by task 5 its class mix is further from the fair shares on every seed and "
    "it is read as an earlier digit less often on 9 of the 10, and from task 3 on the classifier is less sure of it, "
    "on every seed",
    "But its generator is a model trained on its own output, and it starts down the road the model-collapse lessons "
    "describe: its replay drifts away from the real digits",
    "Its replay degrades task by task (medians over 10 seeds): the real-digit classifier reads it as an earlier "
    "digit less often and is less sure of it, and from task 3 on its class mix is further from the fair shares than "
    "that of a generator retrained "
    "on real data",
    "the control generator, retrained on real data, keeps a more recognisable and better balanced replay",
    "Generative replay (section 6) is where the two failures meet: it fights forgetting with synthetic data, and its "
    "generator, trained on its own samples task after task, starts down the road to collapse",
    "the share of them it reads as one of the earlier digits, how far their class mix is from the fair one",
    "What the generator replays while tasks 2 to 5 are learned, read by a classifier trained on real digits; median "
    "and range of 10 seeds",
)
def test_the_replay_degrades(replay_summary):
    import matplotlib.pyplot as plt

    fig = replay_figures.replay_classes(replay_summary)
    drawn = fig.axes[2].get_lines()[0]  # the generator's confidence: the median over the 10 seeds, tasks 2-5
    assert list(drawn.get_xdata()) == [2, 3, 4, 5]
    conf = replay_stack(replay_summary, "generative", "replay_confidence")
    assert len(conf) == 10 and np.allclose(drawn.get_ydata(), np.median(conf[:, 1:], axis=0))
    plt.close(fig)
    own, real = (replay_stack(replay_summary, m, "replay_shares") for m in ("generative", "generative-real"))
    conf_own, conf_real = (
        replay_stack(replay_summary, m, "replay_confidence") for m in ("generative", "generative-real")
    )
    assert np.array_equal(own[:, 1], real[:, 1]) and np.array_equal(conf_own[:, 1], conf_real[:, 1])  # the same network
    early_own, early_real = gr.earlier_share(own), gr.earlier_share(real)
    tv_own, tv_real = gr.fair_share_distance(own), gr.fair_share_distance(real)
    # medians: worse from task 3 on (index 2..4) on all three measures
    for t in (2, 3, 4):
        assert np.median(early_own[:, t]) < np.median(early_real[:, t])
        assert np.median(tv_own[:, t]) > np.median(tv_real[:, t])
        assert np.median(conf_own[:, t]) < np.median(conf_real[:, t])
    at5 = [round(float(np.median(v)), 2) for v in (early_own[:, 4], early_real[:, 4], tv_own[:, 4], tv_real[:, 4],
                                                     conf_own[:, 4], conf_real[:, 4])]  # fmt: skip
    assert at5 == [0.85, 0.94, 0.17, 0.10, 0.58, 0.66]
    # task 5: further from fair on every seed, less often an earlier digit on 9 of 10; confidence lower from task 3 on
    assert np.all(tv_own[:, 4] > tv_real[:, 4]) and np.sum(early_own[:, 4] < early_real[:, 4]) == 9
    assert np.all(conf_own[:, 2:] < conf_real[:, 2:])
    assert np.all(np.diff(conf_own[:, 1:], axis=1) < 0)  # falls task by task on every seed
    assert np.all(np.diff(np.median(conf_real[:, 1:], axis=0)) < 0)  # the control's falls too (median)
    # task by task (medians): read as an earlier digit less often, task after task
    assert np.all(np.diff(np.median(early_own[:, 1:], axis=0)) < 0)
    # "less balanced" holds against the control, not task by task: the distance does not grow steadily
    tv_medians = np.round(np.median(tv_own[:, 1:], axis=0), 2).tolist()
    assert tv_medians == [0.08, 0.18, 0.16, 0.17] and not np.all(np.diff(tv_medians) > 0)
    stored = checked_output("08", "replay while learning tasks 2-5, median of")
    assert "read as an earlier digit:   [0.93, 0.89, 0.87, 0.85]" in stored
    assert "classifier's confidence:    [0.78, 0.73, 0.68, 0.66]" in stored


@claim(
    "08",
    "The generator after the last task draws images that the classifier reads as an 8 in 17% to 28% of cases (the "
    "control: 12% to 17%, the fair share 10%): the excess piles up in one class",
    "No earlier digit has vanished yet: every one keeps more than 40% of its fair share at every task, on every seed; "
    "five tasks give the loop only four generations",
)
def test_eights_and_no_vanished_digit(replay_summary):
    for method, (low, high) in (("generative", (0.17, 0.28)), ("generative-real", (0.12, 0.17))):
        final = replay_stack(replay_summary, method, "final_shares")
        eights = final[:, 8]
        assert (round(eights.min(), 2), round(eights.max(), 2)) == (low, high)
        assert np.all(final.argmax(axis=1) == 8)  # the one class the excess goes to
        shares = replay_stack(replay_summary, method, "replay_shares")
        lowest = min((shares[:, t, : 2 * t] * 2 * t).min() for t in range(1, 5))
        assert lowest > 0.4
    assert replay_stack(replay_summary, "generative").shape[1] - 1 == 4


@claim(
    "08",
    "Why does the solver hardly notice?",
    "It labels the replayed images itself, so even a poorly drawn image carries the old solver's answer into the new "
    "one: what is replayed is the solver's *decision rule* more than a clean digit",
    "The test accuracy therefore hides the generator's drift",
    "To see it, measure the replay as the model-collapse lessons measure synthetic data: with a judge trained on real "
    "data, class shares against their fair shares, confidence",
    "which the solver's test accuracy hides",
    "What degrades most is not the solver's accuracy but the generator's samples (below)",
)
def test_the_solver_hardly_notices(replay_summary):
    agreement = replay_stack(replay_summary, "generative", "label_agreement")
    assert np.all(agreement[:, 4] < 0.7)  # a third of the replay is labelled against the real-digit classifier...
    gen, control = replay_finals(replay_summary, "generative"), replay_finals(replay_summary, "generative-real")
    assert np.all(np.abs(gen[:, -1] - control[:, -1]) < 0.04)  # ...yet the accuracy moves by a few points at most
    early = gr.earlier_share(replay_stack(replay_summary, "generative", "replay_shares"))
    assert np.all(early[:, 4] < early[:, 1])


@claim(
    "08",
    "The task-2 replay comes from a generator trained on real zeros and ones; by task 5 the zeros and ones have passed "
    "through three more generators, each trained partly on its predecessor's samples",
    "each with the label the real-digit classifier gives it (vermillion: not one of the digits the generator should "
    "replay)",
    "The printout gives this one run's numbers, and they show only part of the drift",
)
def test_replay_examples_figure():
    import matplotlib.pyplot as plt

    data = cl.split_digits(seed=0)
    quick = gr.run_generative_replay(seed=11, data=data, vae_steps=20, steps=10, replay_per_task=20)
    fig = replay_figures.replay_examples(quick)
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "learning task 2: replays 0-1"
    colours = [text.get_color() for text in fig.axes[0].texts]
    labels = quick.example_labels[1]
    assert len(colours) == 10 and all((c == "#D55E00") == (lab >= 2) for c, lab in zip(colours, labels, strict=True))
    plt.close(fig)
    live = next(c.source for c in notebook("08").cells if "gr.run_generative_replay(" in c.source)
    assert "vae_steps=250" in live and gr.REPLAY_DEFAULTS["vae_steps"] == 1000


QUICK_SEEDS = (11, 12)  # the quick generator (250 VAE steps) on two seeds the lesson never uses


@pytest.fixture(scope="module")
def quick_runs() -> list[gr.ReplayResult]:
    """The lesson's quick generative-replay run (250 VAE steps per task) on two fresh seeds, about 6 s each."""
    return [gr.run_generative_replay(CI, seed=seed, vae_steps=250) for seed in QUICK_SEEDS]


@claim(
    "08",
    "The classifier's confidence in the replay falls task by task (from about 0.82 to 0.56-0.57; the last digits "
    "differ between processors), as for the full generator below",
    "The share it reads as an earlier digit does not fall in this quick run (about 0.96 at task 2, 0.98 or more at "
    "task 5; "
    "above 0.9 at every task on seeds 11 and 12 too), and it sits above the full generator's (0.93 down to 0.85, "
    "median of 10 seeds)",
    "The difference is mostly one digit: the full generator's replay is read more and more often as an 8, a digit it "
    "has never been trained on (median 0.02 of its replay at task 2, 0.11 at task 5; printed in the table further "
    "below), while the quick generator's "
    "hardly ever is (0.03 or less at every task, on all three seeds)",
    "A quick generator is not the full one, and one measure can stay flat while another falls: that is why the claims "
    "below rest on three measures of the full generator's replay over 10 seeds",
)
def test_the_quick_run_shows_part_of_the_drift(replay_summary, quick_runs):
    assert QUICK_SEEDS == (11, 12)  # the seeds the text names
    live = next(c for c in notebook("08").cells if "gr.run_generative_replay(" in c.source)
    printed = "".join(o.get("text", "") for o in live.outputs)
    early0 = numbers_in(next(line for line in printed.splitlines() if "read as an earlier digit" in line))[-4:]
    conf0 = numbers_in(next(line for line in printed.splitlines() if "confidence in the replay" in line))[-4:]
    # the live run's last digits differ between x86 processors (an AVX2 AMD EPYC gave 0.99 and 0.56, an AVX-512
    # Intel Xeon 0.98 and 0.57): the committed output, and the same run trained here, must each fit the text
    live0 = gr.run_generative_replay(CI, seed=0, vae_steps=250)
    rerun = gr.earlier_share(live0.replay_shares)[1:].tolist(), live0.replay_confidence[1:].tolist()
    for early, confidence in ((early0, conf0), rerun):
        assert abs(early[0] - 0.96) <= 0.015 and early[3] >= 0.975 and min(early) > 0.9
        assert abs(confidence[0] - 0.82) <= 0.015 and 0.55 <= confidence[3] <= 0.575
        assert np.all(np.diff(confidence) < 0), "falls task by task"
    assert np.all(np.diff(conf0) < 0) and not np.all(np.diff(early0) < 0)  # one falls, the other does not (seed 0)
    eights0 = numbers_in(next(line for line in printed.splitlines() if "replay read as an 8" in line))[-4:]
    assert len(eights0) == 4 and max(eights0) <= 0.03
    full = replay_stack(replay_summary, "generative", "replay_shares")
    full_early = np.round(np.median(gr.earlier_share(full)[:, 1:], axis=0), 2)
    assert (full_early[0], full_early[-1]) == (0.93, 0.85) and min(early0) > full_early.max()
    eights = np.round(np.median(full[:, 1:, 8], axis=0), 2)
    assert (eights[0], eights[-1]) == (0.02, 0.11) and np.all(np.diff(eights) > 0)  # more and more often an 8
    table = checked_output("08", "eights in the final generator's samples").split("generative-real")[0]
    assert numbers_in(re.search(r"read as an 8:.*", table).group()) == [8, *eights.tolist()]
    off_target = 1 - gr.earlier_share(full)[:, 4]
    assert np.median(full[:, 4, 8] / off_target) > 0.5  # most of what the full generator replays off target
    for quick in quick_runs:  # the quick generator on fresh seeds: same picture as seed 0
        early = gr.earlier_share(quick.replay_shares)[1:]
        assert np.all(early > 0.9) and not np.all(np.diff(early) < 0)
        assert np.all(np.diff(quick.replay_confidence[1:]) < 0)
        assert np.all(quick.replay_shares[1:, 8] <= 0.035)
    source = live.source
    assert "vae_steps=250" in source and "seed=SEED" in source


@claim(
    "08",
    "`shares` holds the shares of the 10 digits among the images replayed while task `t` is learned (counting from 0 "
    "as in code, `t >= 1`), so the digits the generator should replay are `0, ..., 2t - 1`, each with the fair share "
    "$1/(2t)$",
    "0 for a perfectly balanced replay, 1 for a replay without any earlier digit",
    "The checker tries the 80 stored rows of the figure above and three made by hand",
)
def test_exercise_4(replay_summary):
    shares = np.zeros((5, 10))
    shares[2, :4] = 0.25
    shares[3, 9] = 1.0
    assert gr.fair_share_distance(shares)[2] == pytest.approx(0.0) and gr.fair_share_distance(shares)[3] == 1.0
    rows = sum(len(replay_summary["runs"][m]["replay_shares"]) * 4 for m in ("generative", "generative-real"))
    assert rows == 80
    assert "passed all 83 checks" in checked_output("08", "def reference_distance")


# --------------------------------------------------------------------------- section 7 and summary


@claim(
    "08",
    "| what is lost | whole earlier tasks (class-incremental fine-tuning here: to exactly zero, on every seed)",
    "| how fast | at once: one task later |",
    "What they share is a cure: **keep training on the real data of before**, or on a faithful stand-in for them",
    "the *number* of kept real examples, not a clever penalty, does most of the work",
    "EWC is the counter-example: it tries to remember through the weights alone, and in the class-incremental "
    "scenario that is not enough",
    "Stored real images are not the only way, though: generative replay keeps none and still beats exact replay with "
    "10 per class here (0.93 against 0.87): it replays about 250 images per earlier task, labelled by the previous "
    "solver, from a generator that once saw all of them (which of these matters most, these runs do not separate); "
    "joint training on all the real data (0.97) stays ahead of both",
    "both respond to keeping the real data of before, or a faithful stand-in, in the training mix",
    "Real data do it best (joint training); a generator's replay can stand in for stored real images for a while "
    "(here it beats 10 per class), though its samples drift",
)
def test_forgetting_against_collapse(grid, k_sweep, lambda_sweep, replay_summary):
    assert np.all(grid[("finetune", CI)][:, 1:, 0] == 0)  # gone one task later, and for good
    replay, ewc, ft = (finals(grid[(m, CI)]) for m in ("replay", "ewc", "finetune"))
    assert np.all(replay > ewc + 0.5) and np.all(replay > ft + 0.5)
    k_medians = [np.median(finals(k_sweep[CI][i])) for i in range(len(k_sweep["ks"]))]
    assert np.all(np.diff(k_medians) > 0) and k_medians[-1] - k_medians[0] > 0.7
    lam_best = max(np.median(finals(lambda_sweep[CI][i])) for i in range(len(lambda_sweep["lambdas"])))
    assert lam_best <= 0.2
    final = {m: replay_finals(replay_summary, m)[:, -1] for m in ("generative", "replay", "generative-real", "joint")}
    medians = {m: round(float(np.median(a)), 2) for m, a in final.items()}
    assert (medians["generative"], medians["replay"], medians["joint"]) == (0.93, 0.87, 0.97)
    assert np.all(final["generative"] > final["replay"]) and np.all(final["joint"] > final["generative"])
    assert medians["generative-real"] > medians["generative"]  # real data do it best


# --------------------------------------------------------------------------- exercise checkers

WRONG_ANSWERS = {
    "my_fair_share_distance": [
        # forgets the replayed digits that are not earlier digits at all
        "def my_fair_share_distance(shares, t):\n"
        "    p = np.asarray(shares, dtype=float)\n"
        "    return float(0.5 * np.abs(p[: 2 * t] - 1 / (2 * t)).sum())\n",
        # the fair share spread over all ten digits
        "def my_fair_share_distance(shares, t):\n"
        "    p = np.asarray(shares, dtype=float)\n"
        "    return float(0.5 * np.abs(p - 0.1).sum())\n",
        # without the factor 1/2 (runs from 0 to 2)
        "def my_fair_share_distance(shares, t):\n"
        "    p = np.asarray(shares, dtype=float)\n"
        "    return float(np.abs(p[: 2 * t] - 1 / (2 * t)).sum() + p[2 * t :].sum())\n",
        # counts the task being learned among the earlier ones (2t + 2 digits)
        "def my_fair_share_distance(shares, t):\n"
        "    p = np.asarray(shares, dtype=float)\n"
        "    n = 2 * t + 2\n"
        "    return float(0.5 * (np.abs(p[:n] - 1 / n).sum() + p[n:].sum()))\n",
    ],
    "my_average_forgetting": [
        # drop from the diagonal instead of from the best accuracy (that is minus the backward transfer)
        "def my_average_forgetting(R):\n"
        "    R = np.asarray(R, dtype=float)\n"
        "    T = len(R) - 1\n"
        "    return float(np.mean([R[j, j] - R[T, j] for j in range(T)]))\n",
        # the best accuracy taken over the last row too, so forgetting is never negative
        "def my_average_forgetting(R):\n"
        "    R = np.asarray(R, dtype=float)\n"
        "    T = len(R) - 1\n"
        "    return float(np.mean([R[j:, j].max() - R[T, j] for j in range(T)]))\n",
        # the best accuracy over the whole column, before the task was learned as well
        "def my_average_forgetting(R):\n"
        "    R = np.asarray(R, dtype=float)\n"
        "    T = len(R) - 1\n"
        "    return float(np.mean([R[:T, j].max() - R[T, j] for j in range(T)]))\n",
        # averages over all tasks, the last one (forgetting 0) included
        "def my_average_forgetting(R):\n"
        "    R = np.asarray(R, dtype=float)\n"
        "    T = len(R) - 1\n"
        "    return float(np.mean([R[j:T, j].max() - R[T, j] for j in range(T)] + [0.0]))\n",
    ],
    "my_select_replay": [
        # k examples in all, not k per class
        "def my_select_replay(labels, k, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    return rng.choice(len(labels), size=min(k, len(labels)), replace=False)\n",
        # with replacement: small classes get repeats, and k is not capped at the class size
        "def my_select_replay(labels, k, seed=0):\n"
        "    labels = np.asarray(labels)\n"
        "    rng = np.random.default_rng(seed)\n"
        "    return np.concatenate([rng.choice(np.flatnonzero(labels == c), size=k, replace=True)\n"
        "                           for c in np.unique(labels)])\n",
        # forgets to cap k at the size of a class (numpy raises for the small ones)
        "def my_select_replay(labels, k, seed=0):\n"
        "    labels = np.asarray(labels)\n"
        "    rng = np.random.default_rng(seed)\n"
        "    return np.concatenate([rng.choice(np.flatnonzero(labels == c), size=k, replace=False)\n"
        "                           for c in np.unique(labels)])\n",
        # not random at all: the first k of every class (passed the count-only check)
        "def my_select_replay(labels, k, seed=0):\n"
        "    labels = np.asarray(labels)\n"
        "    return np.concatenate([np.flatnonzero(labels == c)[:k] for c in np.unique(labels)])\n",
        # ignores the seed: numpy's global generator (passed the count-only check)
        "def my_select_replay(labels, k, seed=0):\n"
        "    labels = np.asarray(labels)\n"
        "    return np.concatenate([np.random.permutation(np.flatnonzero(labels == c))[:k]\n"
        "                           for c in np.unique(labels)])\n",
        # one array per class, not concatenated: a sentence, not numpy's "object too deep"
        "def my_select_replay(labels, k, seed=0):\n"
        "    labels = np.asarray(labels)\n"
        "    rng = np.random.default_rng(seed)\n"
        "    return [rng.permutation(np.flatnonzero(labels == c))[:k] for c in np.unique(labels)]\n",
    ],
    "my_backward_transfer": [
        # the last task counted too (its term is 0)
        "def my_backward_transfer(R):\n"
        "    R = np.asarray(R, dtype=float)\n"
        "    return float(np.mean([R[-1, j] - R[j, j] for j in range(len(R))]))\n",
        # the sign the other way round (forgetting-like)
        "def my_backward_transfer(R):\n"
        "    R = np.asarray(R, dtype=float)\n"
        "    T = len(R) - 1\n"
        "    return float(np.mean([R[j, j] - R[T, j] for j in range(T)]))\n",
        # against the best accuracy instead of the accuracy just after learning
        "def my_backward_transfer(R):\n"
        "    R = np.asarray(R, dtype=float)\n"
        "    T = len(R) - 1\n"
        "    return float(np.mean([R[T, j] - R[j:T, j].max() for j in range(T)]))\n",
    ],
}

test_checkers = checker_tests("08", WRONG_ANSWERS)
