"""Generative replay: where catastrophic forgetting meets model collapse.

Shin et al., "Continual Learning with Deep Generative Replay" (NeurIPS 2017, arXiv:1705.08690):
instead of storing real examples of earlier tasks, keep a *generator* of them. At task t the
"scholar" (generator + solver) learns

* the **solver** (the MLP of :mod:`collapse_edu.continual`) on the real data of task t plus
  replayed inputs x ~ generator_{t-1}, labelled by the previous solver (its most likely class among
  the classes seen before), weighted 1/(t+1) and t/(t+1) as exact replay is. Task-incremental, where
  the heads of different tasks are never compared, every replayed input is replayed to each earlier
  task's head instead, labelled by the previous solver's answer within that task's pair, and the
  replay loss is the mean over those heads (van de Ven & Tolias, "Three scenarios for continual
  learning", arXiv:1904.07734);
* the **generator** (the VAE of :mod:`collapse_edu.vae`) on the real data of task t plus as many
  replayed samples per earlier task as task t has real images (Shin et al.'s mixing ratio 1/(t+1)).

The second line is a self-consuming loop inside continual learning: the generator's picture of the
digits 0 and 1 comes, from task 2 on, only from its own earlier samples, one more generation per
task. :func:`run_generative_replay` measures the solver (the accuracy matrix R of
:mod:`collapse_edu.continual`, class-incremental by default) and the replayed samples (which classes
a classifier trained on real digits sees in them, task by task).

``real_generator=True`` is the control without self-consumption: the generator is retrained at every
task on the real data of all tasks so far (which a continual learner would not have), so the
difference to ``False`` is what learning from its own samples costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .continual import (
    DEFAULTS,
    N_CLASSES,
    SCENARIOS,
    Adam,
    SplitDigits,
    average_accuracy,
    class_mask,
    evaluate,
    make_mlp,
    masked_logits,
    split_digits,
    torch_threads,
)
from .environment import RESULTS_DIR
from .validation import check_choice, check_float, check_int

#: Settings of the generative-replay runs (the solver's are those of :data:`collapse_edu.continual.DEFAULTS`).
REPLAY_DEFAULTS = {"replay_per_task": None, "vae_steps": 1000}


@dataclass
class ReplayResult:
    """One generative-replay run: the accuracy matrix and what the replayed samples held.

    ``replay_shares[t]`` (for t >= 1) is the share of each of the 10 classes, as a classifier trained on
    real digits labels them, among the samples replayed while learning task t (drawn from the
    generator of task t - 1); row 0 is empty (nothing is replayed for the first task). ``final_shares``:
    the same for the generator after the last task (what it would replay next). ``replay_confidence``:
    that classifier's mean top probability on the replayed samples; ``label_agreement``: the share of
    replayed samples whose label from the previous solver matches the classifier's (task-incremental:
    the previous solver's answer within the pair of the earlier task the classifier's label belongs to;
    a sample the classifier puts in no earlier task counts as a mismatch). ``examples[t]``: the
    first ``EXAMPLES`` images replayed while learning task t (row 0: zeros), ``example_labels[t]`` the
    classifier's labels of them (row 0: -1)."""

    R: np.ndarray
    replay_shares: np.ndarray
    final_shares: np.ndarray
    replay_confidence: np.ndarray
    label_agreement: np.ndarray
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    examples: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 64)), repr=False)
    example_labels: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=int), repr=False)

    @property
    def final_accuracy(self) -> float:
        return float(average_accuracy(self.R)[-1])

    def replay_coverage(self, min_share: float = 0.2) -> np.ndarray:
        """Per task t >= 1: the number of earlier classes (those of tasks 0..t-1) that receive at least
        ``min_share`` of their fair share 1 / (number of earlier classes) of the replayed samples."""
        per = N_CLASSES // len(self.R)
        out = np.zeros(len(self.R), dtype=int)
        for t in range(1, len(self.R)):
            old = self.replay_shares[t, : per * t]
            out[t] = int(np.sum(old >= min_share / (per * t)))
        return out


#: Replayed images kept per task in :attr:`ReplayResult.examples`.
EXAMPLES = 10


def _earlier(shares: np.ndarray) -> tuple[np.ndarray, int]:
    shares = np.asarray(shares, float)
    if shares.ndim < 2 or shares.shape[-1] != N_CLASSES or shares.shape[-2] < 2:
        raise ValueError(f"shares must have shape (..., tasks, {N_CLASSES}) with tasks >= 2, got {shares.shape}")
    return shares, N_CLASSES // shares.shape[-2]


def earlier_share(shares: np.ndarray) -> np.ndarray:
    """Per task t >= 1: the share of the replayed samples that the real-digit classifier assigns to an
    earlier class (one of tasks 0..t-1, the classes the generator was meant to replay); NaN for t = 0.
    ``shares``: ``(..., tasks, 10)`` as in :attr:`ReplayResult.replay_shares`."""
    shares, per = _earlier(shares)
    out = np.full(shares.shape[:-1], np.nan)
    for t in range(1, shares.shape[-2]):
        out[..., t] = shares[..., t, : per * t].sum(axis=-1)
    return out


def fair_share_distance(shares: np.ndarray) -> np.ndarray:
    """Per task t >= 1: the total variation distance between the replayed class mix p and the fair mix,
    1 / (number of earlier classes) on each earlier class and 0 elsewhere,
    TV = 1/2 [sum over earlier c of |p_c - 1/(2t)| + sum over the other classes of p_c] (two classes
    per task); 0 when the replay is perfectly balanced, 1 when it holds no earlier class. NaN for t = 0."""
    shares, per = _earlier(shares)
    out = np.full(shares.shape[:-1], np.nan)
    for t in range(1, shares.shape[-2]):
        earlier = shares[..., t, : per * t]
        out[..., t] = 0.5 * (np.abs(earlier - 1.0 / (per * t)).sum(axis=-1) + shares[..., t, per * t :].sum(axis=-1))
    return out


def _judge():
    from .mixtures import digit_classifier

    return digit_classifier()[0]


def run_generative_replay(
    scenario: str = "class-incremental",
    *,
    real_generator: bool = False,
    replay_per_task: int | None = None,
    vae_steps: int = REPLAY_DEFAULTS["vae_steps"],
    hidden: int = DEFAULTS["hidden"],
    steps: int = DEFAULTS["steps"],
    lr: float = DEFAULTS["lr"],
    seed: int = 0,
    data: SplitDigits | None = None,
    threads: int | None = 1,
) -> ReplayResult:
    """Train solver and generator on the tasks in order (see the module text) and record R[i, j].

    ``replay_per_task``: replayed samples per earlier task (default: the current task's number of
    training images). ``seed`` sets the split (unless ``data`` is given), the weights and every draw."""
    from .vae import VAE

    scenario = check_choice("scenario", scenario, SCENARIOS)
    if not isinstance(real_generator, bool):
        raise TypeError(f"real_generator must be True or False, got {real_generator!r}")
    if replay_per_task is not None:
        replay_per_task = check_int("replay_per_task", replay_per_task, minimum=1)
    vae_steps = check_int("vae_steps", vae_steps, minimum=1, maximum=100_000)  # as train_gan: hours beyond
    steps = check_int("steps", steps, minimum=1, maximum=100_000)
    lr = check_float("lr", lr, 0.0, strict_minimum=True)
    seed = check_int("seed", seed, minimum=0)
    if data is None:
        data = split_digits(seed=seed)
    elif not isinstance(data, SplitDigits):
        raise TypeError(f"data must be a SplitDigits from split_digits(), got {type(data).__name__}")

    start = time.perf_counter()
    rng = np.random.default_rng([seed, 7])
    judge = _judge()
    solver = make_mlp(hidden, seed)
    generator_family = VAE(steps=vae_steps, seed=seed, threads=threads)
    T = data.n_tasks
    R = np.zeros((T, T))
    shares = np.zeros((T, N_CLASSES))
    confidence = np.full(T, np.nan)
    agreement = np.full(T, np.nan)
    examples = np.zeros((T, EXAMPLES, 64))
    example_labels = np.full((T, EXAMPLES), -1)
    generator = None
    seen: list[int] = []
    loss_fn = nn.CrossEntropyLoss()

    with torch_threads(threads):
        for t in range(T):
            x, y = data.task(t)
            previous_seen = list(seen)
            seen = seen + list(data.task_classes[t])
            replay_x = None
            if t > 0:
                count = (replay_per_task or len(y)) * t
                samples = generator_family.sample(generator, count, rng)[0]
                replay_x = torch.from_numpy(samples.astype(np.float32))
                with torch.no_grad():
                    old_logits = solver(replay_x)
                    replay_y = masked_logits(old_logits, class_mask(previous_seen, count)).argmax(dim=1)
                    # task-incremental: the previous solver's answer within each earlier task's pair
                    head_masks = [class_mask(c, count) for c in data.task_classes[:t]]
                    head_y = [masked_logits(old_logits, m).argmax(dim=1) for m in head_masks]
                proba = judge.predict_proba(samples)
                judged = proba.argmax(axis=1)
                shares[t] = np.bincount(judged, minlength=N_CLASSES) / count
                confidence[t] = float(proba.max(axis=1).mean())
                if scenario == "class-incremental":
                    agreement[t] = float(np.mean(judged == replay_y.numpy()))
                else:
                    task_of = {c: j for j, pair in enumerate(data.task_classes[:t]) for c in pair}
                    answers = [int(head_y[task_of[d]][i]) if d in task_of else -1 for i, d in enumerate(judged)]
                    agreement[t] = float(np.mean(judged == np.array(answers)))
                kept = min(EXAMPLES, count)
                examples[t, :kept] = samples[:kept]
                example_labels[t, :kept] = judged[:kept]
            # the solver
            if scenario == "class-incremental":
                mask = class_mask(seen, len(y))
                replay_mask = None if replay_x is None else class_mask(seen, len(replay_x))
            else:
                mask = class_mask(data.task_classes[t], len(y))
            optimiser = Adam(solver.parameters(), lr=lr)
            for _ in range(steps):
                optimiser.zero_grad()
                loss = loss_fn(masked_logits(solver(x), mask), y)
                if replay_x is not None:
                    out = solver(replay_x)
                    if scenario == "class-incremental":
                        replay_loss = loss_fn(masked_logits(out, replay_mask), replay_y)
                    else:  # replayed to every earlier task's head, as that head answered before
                        heads = zip(head_masks, head_y, strict=True)
                        replay_loss = sum(loss_fn(masked_logits(out, m), h) for m, h in heads) / t
                    loss = loss / (t + 1) + replay_loss * t / (t + 1)
                loss.backward()
                optimiser.step()
            R[t] = evaluate(solver, data, scenario, t)
            # the generator
            if real_generator:
                parts = [data.task(s)[0].numpy() for s in range(t + 1)]
            else:
                parts = [x.numpy()] + ([replay_x.numpy()] if replay_x is not None else [])
            generator = generator_family.fit(np.concatenate(parts)[None])
        final = judge.predict_proba(generator_family.sample(generator, (replay_per_task or len(y)) * T, rng)[0])
        final_shares = np.bincount(final.argmax(axis=1), minlength=N_CLASSES) / len(final)

    settings = {
        "scenario": scenario,
        "real_generator": real_generator,
        "replay_per_task": replay_per_task,
        "vae_steps": vae_steps,
        "hidden": hidden,
        "steps": steps,
        "lr": lr,
        "seed": seed,
    }
    seconds = time.perf_counter() - start
    return ReplayResult(R, shares, final_shares, confidence, agreement, settings, seconds, examples, example_labels)


# --------------------------------------------------------------------------- precomputed multi-seed summary

SUMMARY_FILE = "generative_replay.json"


def load_replay_summary(path: str | None = None) -> dict:
    """The multi-seed summary written by ``benchmarks/generative_replay.py`` (in ``collapse_edu/results/``):
    ``runs[method]["R"]`` per seed, and for the generative methods the replayed class shares per task."""
    import json
    from pathlib import Path

    target = Path(path) if path is not None else RESULTS_DIR / SUMMARY_FILE
    if not target.is_file():
        raise FileNotFoundError(f"no generative-replay summary at {target}; run benchmarks/generative_replay.py")
    return json.loads(target.read_text(encoding="utf-8"))
