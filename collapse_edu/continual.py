"""Catastrophic forgetting: one small network trained on a sequence of tasks (lesson 08).

This is a contrast lesson, not a collapse loop: the data stay real and clean, but the *task*
changes. The 8x8 handwritten digits that ship with scikit-learn are split into 5 tasks of two
classes each ({0, 1}, {2, 3}, ..., {8, 9}); an MLP is trained on them one after another, and after
each task it is tested on every task. That gives the accuracy matrix

    R[i, j] = accuracy on the test set of task j after training on tasks 0..i.

Two scenarios (van de Ven & Tolias, "Three scenarios for continual learning", arXiv:1904.07734):

* ``"task-incremental"``: the task id is given at test time; the network answers with the two
  output units of that task (one head per task, implemented as masked logits).
* ``"class-incremental"``: no task id; the network chooses among all classes seen so far.

Methods: plain fine-tuning; EWC (Kirkpatrick et al. 2017, arXiv:1612.00796) with a diagonal
Fisher penalty; experience replay of ``k`` stored real examples per class; joint training on all
tasks so far (the upper bound). Summaries: average accuracy, average forgetting (Chaudhry et al.
2018, arXiv:1801.10112) and backward transfer (Lopez-Paz & Ranzato 2017, arXiv:1706.08840).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .environment import RESULTS_DIR
from .validation import TORCH_SEED_MAX, as_rng, check_choice, check_float, check_int, check_times, only_for

METHODS = ("finetune", "ewc", "replay", "joint")
SCENARIOS = ("task-incremental", "class-incremental")
METHOD_LABELS = {
    "finetune": "fine-tuning",
    "ewc": "EWC",
    "replay": "replay",
    "joint": "joint (upper bound)",
}
N_CLASSES = 10

#: Settings of the lesson's runs (``benchmarks/continual_seeds.py`` records their timings and the machine load).
DEFAULTS = {"hidden": 100, "steps": 100, "lr": 0.01, "ewc_lambda": 1e5, "k": 10}
#: Largest EWC strength: far beyond it the float32 penalty overflows (to nan weights near 1e39).
EWC_LAMBDA_MAX = 1e30
#: Most Adam steps per task (train_gan's cap too): beyond it a run would take hours without a progress bar.
MAX_STEPS = 100_000


# --------------------------------------------------------------------------- data


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)


@dataclass(frozen=True)
class SplitDigits:
    """The digits split into tasks; pixels scaled to [0, 1]; train/test stratified by class."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    task_classes: tuple[tuple[int, ...], ...]

    @property
    def n_tasks(self) -> int:
        return len(self.task_classes)

    def task(self, t: int, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and labels of task ``t`` (``split`` is ``"train"`` or ``"test"``)."""
        t = check_int("t", t, 0, self.n_tasks - 1)
        check_choice("split", split, ("train", "test"))
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        keep = torch.isin(y, torch.tensor(self.task_classes[t]))
        return x[keep], y[keep]

    def seen(self, t: int) -> list[int]:
        """All classes of tasks 0..t: what a class-incremental network chooses among after task ``t``."""
        t = check_int("t", t, 0, self.n_tasks - 1)
        return [c for task in self.task_classes[: t + 1] for c in task]


def split_digits(n_tasks: int = 5, test_fraction: float = 0.3, seed: int = 0) -> SplitDigits:
    """Split sklearn's digits (1797 images, no download) into ``n_tasks`` tasks of consecutive classes.

    ``n_tasks`` must divide the 10 classes into groups of at least two: 2 or 5.
    """
    n_tasks = check_int("n_tasks", n_tasks, 2, 5)
    if N_CLASSES % n_tasks:
        raise ValueError(f"n_tasks must split the 10 digit classes evenly into groups of >= 2 (2 or 5); got {n_tasks}")
    test_fraction = check_float("test_fraction", test_fraction, 0.05, 0.9)
    seed = check_int("seed", seed, minimum=0, maximum=TORCH_SEED_MAX)
    x, y = _digits()
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in range(N_CLASSES):  # stratified: the same test fraction of every class
        members = np.flatnonzero(y == c)
        test[rng.choice(members, size=round(test_fraction * members.size), replace=False)] = True
    x_tr, y_tr, x_te, y_te = x[~test], y[~test], x[test], y[test]
    per = N_CLASSES // n_tasks
    tasks = tuple(tuple(range(t * per, (t + 1) * per)) for t in range(n_tasks))
    as_t = torch.from_numpy
    return SplitDigits(as_t(x_tr.copy()), as_t(y_tr.copy()), as_t(x_te.copy()), as_t(y_te.copy()), tasks)


# --------------------------------------------------------------------------- model and pieces


def make_mlp(hidden: int = 100, seed: int = 0) -> nn.Sequential:
    """64 pixels -> hidden -> hidden (ReLU) -> 10 logits, initialised from ``seed`` (global RNG untouched)."""
    hidden = check_int("hidden", hidden, 1, 4096)
    seed = check_int("seed", seed, minimum=0, maximum=TORCH_SEED_MAX)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Linear(64, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, N_CLASSES),
        )


def class_mask(classes: Sequence[int], n: int = 1) -> torch.Tensor:
    """Boolean mask of shape (n, 10): True on the output units a sample may choose from."""
    n = check_int("n", n, minimum=1)
    try:
        chosen = [check_int("classes", c, 0, N_CLASSES - 1) for c in classes]
    except TypeError as error:
        raise TypeError(f"classes must be a list of digits 0-{N_CLASSES - 1}: {error}") from None
    if not chosen:
        raise ValueError(f"classes must name at least one digit 0-{N_CLASSES - 1}, got none")
    mask = torch.zeros(n, N_CLASSES, dtype=torch.bool)
    mask[:, chosen] = True
    return mask


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits with the units outside ``mask`` set to -inf (softmax gives them probability 0)."""
    return logits.masked_fill(~mask, float("-inf"))


def select_replay(labels: np.ndarray | torch.Tensor, k: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """Indices of a replay buffer: ``k`` examples of every class in ``labels``, drawn at random
    without replacement (all of a class if it has fewer than ``k``), sorted by class then index."""
    k = check_int("k", k, minimum=0)
    rng = as_rng(seed)
    labels = np.asarray(labels)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen.append(np.sort(rng.choice(members, size=min(k, members.size), replace=False)))
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def diagonal_fisher(model: nn.Sequential, x: torch.Tensor, classes: Sequence[int]) -> dict[str, torch.Tensor]:
    """Diagonal of the Fisher information of p(y | x) over the output units ``classes``:

        F = mean_x  sum_c p(c | x) (d log p(c | x) / d theta)^2

    (the model's own predictive distribution, as in Kirkpatrick et al. 2017, arXiv:1612.00796).
    Per-example gradients of a linear layer z = W a + b are outer(delta, a) and delta, with
    delta = d log p / d z, so their squares sum to (p delta^2)^T a^2 without a loop over examples.
    """
    columns = list(classes)
    inputs, outputs = [], []
    h = x
    for layer in model:
        if isinstance(layer, nn.Linear):
            inputs.append(h.detach())
            h = layer(h)
            outputs.append(h)
        else:
            h = layer(h)
    log_p = torch.log_softmax(h[:, columns], dim=-1)
    probs = log_p.detach().exp()
    fisher = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    linear_names = [name for name, layer in model.named_children() if isinstance(layer, nn.Linear)]
    for c in range(len(columns)):
        deltas = torch.autograd.grad(log_p[:, c].sum(), outputs, retain_graph=c < len(columns) - 1)
        weight = probs[:, c : c + 1] / len(x)
        for name, a, delta in zip(linear_names, inputs, deltas, strict=True):
            fisher[f"{name}.weight"] += (weight * delta**2).T @ a**2
            fisher[f"{name}.bias"] += (weight * delta**2).sum(dim=0)
    return fisher


class Adam:
    """Adam (Kingma & Ba 2014, arXiv:1412.6980) in a few lines, the same update as ``torch.optim.Adam``
    (written out here because importing ``torch.optim`` costs seconds on a busy machine)."""

    def __init__(self, params: Sequence[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        lr = check_float("lr", lr, 0.0, 1.0, strict_minimum=True)
        betas = tuple(check_float("betas", b, 0.0, 1.0) for b in betas)
        self.params = list(params)
        self.lr, (self.beta1, self.beta2), self.eps, self.t = lr, betas, 1e-8, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        bias1, bias2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            m.mul_(self.beta1).add_(p.grad, alpha=1 - self.beta1)
            v.mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
            p.addcdiv_(m, (v.sqrt() / bias2**0.5).add_(self.eps), value=-self.lr / bias1)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (None: leave it), then restore the previous number."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- summaries of R


def _check_matrix(R: np.ndarray) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 1:
        raise ValueError(f"R must be a square accuracy matrix (tasks x tasks), got shape {R.shape}")
    if not np.all((R >= 0) & (R <= 1)):  # also false for NaN
        found = "NaN" if np.isnan(R).any() else f"values from {R.min():g} to {R.max():g}"
        raise ValueError(f"R must hold accuracies in [0, 1] (shares of right answers, not percentages), got {found}")
    return R


def average_accuracy(R: np.ndarray) -> np.ndarray:
    """A_i = mean_{j <= i} R[i, j]: average accuracy over the tasks seen, after each task i."""
    R = _check_matrix(R)
    return np.array([R[i, : i + 1].mean() for i in range(len(R))])


def forgetting(R: np.ndarray, after: int | None = None) -> np.ndarray:
    """Forgetting of each earlier task j < k after training task k (default: the last one),

        f_j^k = max_{j <= l < k} R[l, j] - R[k, j]

    (Chaudhry et al. 2018, arXiv:1801.10112; the max runs over the rows after task j was learned).
    """
    R = _check_matrix(R)
    k = len(R) - 1 if after is None else check_int("after", after, 0, len(R) - 1)
    return np.array([R[j:k, j].max() - R[k, j] for j in range(k)])


def average_forgetting(R: np.ndarray, after: int | None = None) -> float:
    """F_k = mean_{j < k} f_j^k (Chaudhry et al. 2018, arXiv:1801.10112); 0 after the first task."""
    f = forgetting(R, after)
    return float(f.mean()) if f.size else 0.0


def backward_transfer(R: np.ndarray) -> float:
    """BWT = 1/(T-1) sum_{i < T-1} (R[T-1, i] - R[i, i]) (Lopez-Paz & Ranzato 2017, arXiv:1706.08840).

    Negative: learning later tasks hurt the earlier ones (forgetting)."""
    R = _check_matrix(R)
    T = len(R)
    if T < 2:
        return 0.0
    return float(np.mean([R[T - 1, i] - R[i, i] for i in range(T - 1)]))


# --------------------------------------------------------------------------- training


@dataclass
class ContinualResult:
    """One sequential run: the accuracy matrix and how it was made."""

    R: np.ndarray
    method: str
    scenario: str
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    #: what the run measured on the way, e.g. ``"fisher_total"``: EWC's sum of F over all weights, per task
    diagnostics: dict = field(default_factory=dict)

    @property
    def average_accuracy(self) -> np.ndarray:
        return average_accuracy(self.R)

    @property
    def final_accuracy(self) -> float:
        """Average accuracy over all tasks after the last one."""
        return float(self.average_accuracy[-1])

    @property
    def forgetting(self) -> float:
        return average_forgetting(self.R)

    @property
    def backward_transfer(self) -> float:
        return backward_transfer(self.R)

    @property
    def label(self) -> str:
        return f"{METHOD_LABELS[self.method]}, {self.scenario}"


def _train_masks(scenario: str, data: SplitDigits, t: int, y: torch.Tensor, task_of: torch.Tensor) -> torch.Tensor:
    """Output units each training sample may choose from while learning task t."""
    if scenario == "class-incremental":
        return class_mask(data.seen(t), len(y))
    table = torch.stack([class_mask(classes)[0] for classes in data.task_classes])
    return table[task_of]


def evaluate(model: nn.Module, data: SplitDigits, scenario: str, after: int) -> np.ndarray:
    """Test accuracy on every task after training tasks 0..after (one row of R).

    Task-incremental: argmax over the task's own classes. Class-incremental: argmax over all
    classes seen so far (a task not yet seen therefore scores 0)."""
    scenario = check_choice("scenario", scenario, SCENARIOS)
    if not isinstance(data, SplitDigits):
        raise TypeError(f"data must be the SplitDigits of split_digits(), got {type(data).__name__}")
    seen = data.seen(check_int("after", after, 0, data.n_tasks - 1))
    row = np.zeros(data.n_tasks)
    with torch.no_grad():
        for j in range(data.n_tasks):
            x, y = data.task(j, "test")
            classes = data.task_classes[j] if scenario == "task-incremental" else seen
            pred = masked_logits(model(x), class_mask(classes, len(y))).argmax(dim=1)
            row[j] = (pred == y).double().mean().item()
    return row


def _merge_penalties(
    importance: dict[str, torch.Tensor],
    anchor: dict[str, torch.Tensor],
    fisher: dict[str, torch.Tensor],
    params: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Add one task's EWC penalty F (theta - theta*)^2 to the running sum, kept as one quadratic:

        sum_s F_s (theta - theta*_s)^2 = F (theta - m)^2 + const,  F = sum_s F_s,  m = sum_s F_s theta*_s / F,

    which has the same gradient as one penalty per earlier task, at the cost of one."""
    merged_importance, merged_anchor = {}, {}
    for name, p in params.items():
        star = p.detach().clone()
        old_f = importance.get(name, torch.zeros_like(star))
        old_m = anchor.get(name, torch.zeros_like(star))
        total = old_f + fisher[name]
        safe = torch.where(total > 0, total, torch.ones_like(total))
        merged_importance[name] = total
        merged_anchor[name] = torch.where(total > 0, (old_f * old_m + fisher[name] * star) / safe, star)
    return merged_importance, merged_anchor


def run_continual(
    method: str = "finetune",
    scenario: str = "class-incremental",
    *,
    ewc_lambda: float | None = None,
    k: int | None = None,
    hidden: int = DEFAULTS["hidden"],
    steps: int = DEFAULTS["steps"],
    lr: float = DEFAULTS["lr"],
    seed: int = 0,
    data: SplitDigits | None = None,
    threads: int | None = 1,
) -> ContinualResult:
    """Train one MLP on the tasks in order and record R[i, j] (accuracy on task j after task i).

    Each task: ``steps`` full-batch Adam steps (learning rate ``lr``, optimiser restarted per task)
    on the cross-entropy of the masked logits. Methods:

    * ``"finetune"``: only the current task's data.
    * ``"ewc"``: plus (ewc_lambda / 2) sum_s sum_i F_s,i (theta_i - theta*_s,i)^2 over every earlier
      task s, with F_s the diagonal Fisher at the end of task s (Kirkpatrick et al., arXiv:1612.00796).
    * ``"replay"``: plus the loss on a buffer of ``k`` real training examples per earlier class;
      the current task gets weight 1/(t+1), the buffer t/(t+1) (as in van de Ven & Tolias, arXiv:1904.07734).
    * ``"joint"``: all training data of tasks 0..t (the upper bound).

    ``seed`` sets the train/test split (unless ``data`` is given), the initial weights and the buffer.
    ``ewc_lambda`` (default ``DEFAULTS["ewc_lambda"]``) is for ``"ewc"`` only and ``k`` (default
    ``DEFAULTS["k"]``) for ``"replay"`` only: given with another method, either is refused, since the
    run would ignore it.
    """
    method = check_choice("method", method, METHODS)
    scenario = check_choice("scenario", scenario, SCENARIOS)
    if ewc_lambda is not None:
        ewc_lambda = check_float("ewc_lambda", ewc_lambda, 0.0, EWC_LAMBDA_MAX)
    if k is not None:
        k = check_int("k", k, minimum=0)
    ewc_lambda = only_for("ewc_lambda", ewc_lambda, DEFAULTS["ewc_lambda"], "method", method, ("ewc",))
    k = only_for("k", k, DEFAULTS["k"], "method", method, ("replay",))
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    lr = check_float("lr", lr, 0.0, 1.0, strict_minimum=True)
    seed = check_int("seed", seed, minimum=0, maximum=TORCH_SEED_MAX)
    if threads is not None:
        threads = check_int("threads", threads, minimum=1)
    if data is None:
        data = split_digits(seed=seed)
    elif not isinstance(data, SplitDigits):
        raise TypeError(f"data must be a SplitDigits from split_digits(), got {type(data).__name__}")

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    model = make_mlp(hidden, seed)
    T = data.n_tasks
    R = np.zeros((T, T))
    importance: dict[str, torch.Tensor] = {}  # EWC: sum of the earlier tasks' Fishers ...
    anchor: dict[str, torch.Tensor] = {}  # ... and their Fisher-weighted mean of theta*
    fisher_totals: list[float] = []
    buffer_x, buffer_y, buffer_task = (torch.zeros(0, 64), torch.zeros(0, dtype=torch.long), torch.zeros(0).long())
    loss_fn = nn.CrossEntropyLoss()

    with torch_threads(threads):
        for t in range(T):
            if method == "joint":
                parts = [data.task(s) for s in range(t + 1)]
                x = torch.cat([p[0] for p in parts])
                y = torch.cat([p[1] for p in parts])
                task_of = torch.cat([torch.full((len(p[1]),), s) for s, p in enumerate(parts)])
            else:
                x, y = data.task(t)
                task_of = torch.full((len(y),), t)
            mask = _train_masks(scenario, data, t, y, task_of)
            use_buffer = method == "replay" and len(buffer_y) > 0
            if use_buffer:
                buffer_mask = _train_masks(scenario, data, t, buffer_y, buffer_task)
            optimiser = Adam(model.parameters(), lr=lr)
            for _ in range(steps):
                optimiser.zero_grad()
                loss = loss_fn(masked_logits(model(x), mask), y)
                if use_buffer:
                    replay_loss = loss_fn(masked_logits(model(buffer_x), buffer_mask), buffer_y)
                    loss = loss / (t + 1) + replay_loss * t / (t + 1)
                if method == "ewc" and importance and ewc_lambda > 0:
                    penalty = sum(
                        (importance[name] * (p - anchor[name]) ** 2).sum() for name, p in model.named_parameters()
                    )
                    loss = loss + 0.5 * ewc_lambda * penalty
                loss.backward()
                optimiser.step()
            R[t] = evaluate(model, data, scenario, t)
            if method == "ewc":
                classes = data.task_classes[t] if scenario == "task-incremental" else data.seen(t)
                fisher = diagonal_fisher(model, x, classes)
                fisher_totals.append(float(sum(f.sum() for f in fisher.values())))
                importance, anchor = _merge_penalties(importance, anchor, fisher, dict(model.named_parameters()))
            if method == "replay" and k > 0:
                keep = torch.from_numpy(select_replay(y.numpy(), k, rng))
                buffer_x = torch.cat([buffer_x, x[keep]])
                buffer_y = torch.cat([buffer_y, y[keep]])
                buffer_task = torch.cat([buffer_task, torch.full((len(keep),), t)])

    settings = {"hidden": hidden, "steps": steps, "lr": lr, "seed": seed, "threads": threads}
    if method == "ewc":
        settings["ewc_lambda"] = ewc_lambda
    if method == "replay":
        settings["k"] = k
    diagnostics = {"fisher_total": fisher_totals} if method == "ewc" else {}
    return ContinualResult(R, method, scenario, settings, time.perf_counter() - start, diagnostics)


def run_grid(
    methods: Sequence[str] | str = METHODS,
    scenarios: Sequence[str] | str = SCENARIOS,
    seeds: Sequence[int] = (0,),
    progress: bool | str = False,
    data: SplitDigits | None = None,
    **kwargs,
) -> dict[tuple[str, str], list[ContinualResult]]:
    """:func:`run_continual` for every method x scenario x seed; results keyed by (method, scenario).

    A single name (``"finetune"``) is one method or scenario. Each seed gets its own train/test split, unless
    ``data`` is given (then all seeds share it)."""
    methods = [methods] if isinstance(methods, str) else methods  # one method, not its letters
    scenarios = [scenarios] if isinstance(scenarios, str) else scenarios
    methods = [check_choice("methods", m, METHODS) for m in methods]
    scenarios = [check_choice("scenarios", s, SCENARIOS) for s in scenarios]
    seeds = [check_int("seeds", s, minimum=0) for s in seeds]
    if not (methods and scenarios and seeds):
        raise ValueError("methods, scenarios and seeds must each name at least one entry")
    jobs = [(m, s, seed) for s in scenarios for m in methods for seed in seeds]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc=progress if isinstance(progress, str) else "runs")
    if data is not None and not isinstance(data, SplitDigits):
        raise TypeError(f"data must be a SplitDigits from split_digits(), got {type(data).__name__}")
    splits = {seed: data if data is not None else split_digits(seed=seed) for seed in seeds}
    results: dict[tuple[str, str], list[ContinualResult]] = {}
    for m, s, seed in jobs:
        results.setdefault((m, s), []).append(run_continual(m, s, seed=seed, data=splits[seed], **kwargs))
    return results


def class_incremental_finetune_prediction(tasks_seen: np.ndarray | int) -> np.ndarray:
    """Average accuracy of class-incremental fine-tuning if it learns each new task perfectly and
    forgets every earlier one completely: 1 / (number of tasks seen) (van de Ven & Tolias, arXiv:1904.07734)."""
    given, tasks_seen = tasks_seen, check_times("tasks_seen", tasks_seen, integer=True)
    if np.any(tasks_seen < 1):
        raise ValueError(f"tasks_seen must be whole numbers >= 1, got {given!r}")
    return 1.0 / tasks_seen


# --------------------------------------------------------------------------- precomputed multi-seed summary

SUMMARY_FILE = "continual_summary.json"


def load_summary(path: str | None = None) -> dict:
    """The multi-seed summary written by ``benchmarks/continual_seeds.py`` (shipped in
    ``collapse_edu/results/``): accuracy matrices per method, scenario and seed, and sweeps over k and lambda."""
    import json
    from pathlib import Path

    target = Path(path) if path is not None else RESULTS_DIR / SUMMARY_FILE
    if not target.is_file():
        raise FileNotFoundError(f"no continual-learning summary at {target}; run benchmarks/continual_seeds.py")
    return json.loads(target.read_text(encoding="utf-8"))
