"""A toy GAN on 2-D Gaussian mixtures, to watch *mode collapse* inside one training run.

Targets (the benchmarks of the mode-collapse literature, e.g. Metz et al. 2016 arXiv:1611.02163,
VEEGAN arXiv:1705.07761, PacGAN arXiv:1712.04086):

- ``ring``: 8 equally weighted Gaussians with centres on a circle of radius 2, std 0.02 each;
- ``grid``: 25 equally weighted Gaussians on a 5 x 5 grid with spacing 2 (centres at -4, -2, 0,
  2, 4 on each axis), std 0.05 each.

Generator and discriminator are small ReLU MLPs, trained with Adam on the non-saturating
binary cross-entropy loss of Goodfellow et al. 2014 (arXiv:1406.2661). Methods:

- ``vanilla``: the discriminator sees one sample at a time;
- ``pacgan``: *packing* (Lin et al. 2018, arXiv:1712.04086): the discriminator sees ``pack``
  samples at once, concatenated, all real or all generated (default ``pack=4``: PacGAN-4, one of the
  paper's PacGAN2/3/4). A generator that puts its mass on few
  modes makes packs whose members look alike, which real packs rarely do, so the discriminator
  can penalise the collapse.

This is not the recursive loop of the model-collapse lessons: a GAN trains once, on real data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import gan_metrics
from .environment import RESULTS_DIR
from .validation import TORCH_SEED_MAX, check_choice, check_float, check_int, check_memory

TARGETS = ("ring", "grid")
METHODS = ("vanilla", "pacgan")
#: Whole training runs stored for the lesson (``benchmarks/gan_seed_table.py --stored-runs`` writes them).
STORED_RUNS = RESULTS_DIR / "gan_runs.npz"


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """An equally weighted mixture of isotropic 2-D Gaussians: centres ``modes``, spread ``std``."""

    name: str
    modes: np.ndarray = field(repr=False)
    std: float

    @property
    def n_modes(self) -> int:
        return len(self.modes)

    def sample(self, n: int, seed: int | np.random.Generator = 0) -> np.ndarray:
        """``n`` real samples (numpy), shape (n, 2)."""
        n = check_int("n", n, minimum=1)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_int("seed", seed, 0))
        index = rng.integers(self.n_modes, size=n)
        return self.modes[index] + self.std * rng.standard_normal((n, 2))

    def report(self, samples: np.ndarray, strict_count: int = 20) -> dict[str, float | int]:
        """The literature's mode metrics of ``samples`` against this target (see :mod:`gan_metrics`)."""
        return gan_metrics.mode_report(samples, self.modes, self.std, strict_count=strict_count)


def ring_target(n_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Target:
    """``n_modes`` Gaussians with centres (r cos 2 pi k / K, r sin 2 pi k / K) and std ``std``."""
    n_modes = check_int("n_modes", n_modes, minimum=1)
    radius = check_float("radius", radius, 0.0, strict_minimum=True)
    std = check_float("std", std, 0.0, strict_minimum=True)
    check_memory(48.0 * n_modes, f"n_modes = {n_modes}", "use fewer modes")  # angles, cosines, sines, centres
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    return Target("ring", radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid_target(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Target:
    """``side`` x ``side`` Gaussians on a centred square grid with ``spacing`` between centres."""
    side = check_int("side", side, minimum=1)
    spacing = check_float("spacing", spacing, 0.0, strict_minimum=True)
    std = check_float("std", std, 0.0, strict_minimum=True)
    check_memory(48.0 * side * side, f"side = {side} ({side * side} modes)", "use a smaller side")  # grids, centres
    axis = spacing * (np.arange(side) - (side - 1) / 2)
    xs, ys = np.meshgrid(axis, axis, indexing="ij")
    return Target("grid", np.stack([xs.ravel(), ys.ravel()], axis=1), std)


def make_target(name: str) -> Target:
    """The standard ``ring`` (8 modes, radius 2, std 0.02) or ``grid`` (5 x 5, spacing 2, std 0.05)."""
    name = check_choice("target", name, TARGETS)
    return ring_target() if name == "ring" else grid_target()


# --------------------------------------------------------------------------- networks


def mlp(n_in: int, width: int, depth: int, n_out: int):
    """``depth`` hidden ReLU layers of ``width`` units between ``n_in`` inputs and ``n_out`` outputs."""
    from torch import nn

    layers: list[nn.Module] = []
    size = n_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    layers.append(nn.Linear(size, n_out))
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------- training


@dataclass
class GANRun:
    """What one training run leaves behind.

    ``steps``: the steps at which snapshots were taken; ``snapshots[i]``: generated samples (numpy,
    shape (n_samples, 2)) at ``steps[i]``, always from the same fixed noise, so a point's movement
    is the generator's movement; ``samples``: the final snapshot; ``d_loss`` / ``g_loss``: losses
    at every step (``d_loss``: that of the step's last discriminator update); ``seconds`` /
    ``cpu_seconds``: wall-clock and processor time of the training (on a shared machine the wall
    clock also counts the time other jobs held the core).
    """

    target: Target
    settings: dict
    steps: np.ndarray
    snapshots: np.ndarray
    d_loss: np.ndarray
    g_loss: np.ndarray
    seconds: float
    cpu_seconds: float = float("nan")

    @property
    def samples(self) -> np.ndarray:
        """The generator's samples at the end of training."""
        return self.snapshots[-1]

    def report(self, strict_count: int = 20) -> dict[str, float | int]:
        """Mode metrics of the final samples."""
        return self.target.report(self.samples, strict_count=strict_count)

    def occupancy(self, quality_only: bool = False) -> np.ndarray:
        """Share of samples on each mode (nearest mode; high-quality ones only if ``quality_only``) at each
        snapshot, shape (snapshots, modes). The rows with ``quality_only=False`` are the histograms p of the
        reverse KL."""
        t = self.target
        return (
            np.stack([gan_metrics.mode_counts(s, t.modes, t.std, quality_only=quality_only) for s in self.snapshots])
            / (self.snapshots.shape[1])
        )

    def modes_over_training(self, min_count: int = 1) -> np.ndarray:
        """Modes captured (>= ``min_count`` high-quality samples) at each snapshot."""
        counts = np.round(self.occupancy(quality_only=True) * self.snapshots.shape[1])
        return (counts >= min_count).sum(axis=1)


def _snapshot_steps(steps: int, snapshots: int) -> np.ndarray:
    """``snapshots`` steps spread evenly from the first update to the last, both included."""
    return np.unique(np.round(np.linspace(0, steps, snapshots)).astype(int))


def adversarial_step(
    generator, discriminator, opt_g, opt_d, real_batch, fake_batch, d_steps: int = 3
) -> tuple[float, float]:
    """One training step of a GAN (Goodfellow et al. 2014, arXiv:1406.2661, Algorithm 1).

    ``d_steps`` discriminator updates on the loss -log D(real) - log(1 - D(fake)), then one generator
    update on the non-saturating loss -log D(fake) with fresh noise. ``real_batch()`` and
    ``fake_batch()`` return a batch of (packed) real and generated points; D outputs logits, so
    -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l). Returns the last
    discriminator loss and the generator loss.
    """
    import torch
    from torch.nn.functional import softplus

    for _ in range(d_steps):
        with torch.no_grad():
            fake = fake_batch()
        real = real_batch()
        logits = discriminator(torch.cat([real, fake]))  # real packs -> 1, generated packs -> 0
        d_loss = softplus(-logits[: len(real)]).mean() + softplus(logits[len(real) :]).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
    g_loss = softplus(-discriminator(fake_batch())).mean()  # the generator wants D to say "real"
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def train_gan(
    target: str | Target = "ring",
    method: str = "vanilla",
    *,
    pack: int = 4,
    width: int = 64,
    depth: int = 2,
    z_dim: int = 256,
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    batch: int = 128,
    steps: int = 2000,
    d_steps: int = 3,
    decay: bool = True,
    snapshots: int = 31,
    n_samples: int = 2500,
    seed: int = 0,
    threads: int = 1,
    progress: bool | str = True,
) -> GANRun:
    """Train a GAN on a 2-D mixture and return snapshots of its samples.

    One step = ``d_steps`` discriminator updates, then one generator update (the k of Goodfellow
    et al. 2014, Algorithm 1), each on ``batch`` real and ``batch`` generated samples (with packing:
    ``batch`` packs of ``pack`` samples each). Discriminator loss: -log D(real) - log(1 - D(fake));
    generator loss: the non-saturating -log D(fake). Adam with betas (0.5, 0.999); with ``decay``
    both learning rates fall linearly to zero over the second half of training.

    The discriminator's strength is the lever of mode collapse: the closer D is to optimal, the
    closer the non-saturating generator update comes to descending KL(P_g || P_data) - 2 JSD
    (Arjovsky & Bottou 2017, arXiv:1701.04862, Thm. 2.5), a reverse KL that charges dearly for
    samples off the data but little for a missing mode. ``d_steps`` (and ``lr_d / lr_g``, the ratio
    Metz et al. 2016 vary) set that strength. ``seed`` fixes everything (``torch.manual_seed`` for
    the weights, separate seeded generators for noise and data), so the same arguments give the same
    run on one machine. ``threads`` sets ``torch.set_num_threads`` for the run (restored afterwards):
    the networks are small, so one thread is as fast as two and leaves the other core free.
    """
    import torch

    target = target if isinstance(target, Target) else make_target(target)
    method = check_choice("method", method, METHODS)
    if method != "pacgan" and pack != 4:  # 4, the default, cannot be told from a pack left out
        raise ValueError(f"pack is only used with method 'pacgan', got method {method!r}; leave pack out")
    pack = check_int("pack", pack, minimum=2, maximum=8) if method == "pacgan" else 1
    width = check_int("width", width, minimum=1, maximum=1024)
    depth = check_int("depth", depth, minimum=1, maximum=8)
    z_dim = check_int("z_dim", z_dim, minimum=1, maximum=1024)
    lr_g = check_float("lr_g", lr_g, 0.0, 1.0, strict_minimum=True)
    lr_d = check_float("lr_d", lr_d, 0.0, 1.0, strict_minimum=True)
    batch = check_int("batch", batch, minimum=1, maximum=4096)
    steps = check_int("steps", steps, minimum=1, maximum=100_000)
    d_steps = check_int("d_steps", d_steps, minimum=1, maximum=20)
    snapshots = check_int("snapshots", snapshots, minimum=2, maximum=1000)
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=100_000)
    seed = check_int("seed", seed, minimum=0, maximum=TORCH_SEED_MAX)
    threads = check_int("threads", threads, minimum=1, maximum=256)
    if not isinstance(decay, bool):
        raise TypeError(f"decay must be True or False, got {decay!r}")
    settings = {
        "target": target.name,
        "method": method,
        "pack": pack,
        "width": width,
        "depth": depth,
        "z_dim": z_dim,
        "lr_g": lr_g,
        "lr_d": lr_d,
        "batch": batch,
        "steps": steps,
        "d_steps": d_steps,
        "decay": decay,
        "n_samples": n_samples,
        "seed": seed,
    }

    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        torch.manual_seed(seed)
        generator = mlp(z_dim, width, depth, 2)
        discriminator = mlp(2 * pack, width, depth, 1)
        noise = torch.Generator().manual_seed(seed + 1)
        data = torch.Generator().manual_seed(seed + 2)
        fixed_z = torch.randn(n_samples, z_dim, generator=torch.Generator().manual_seed(seed + 3))
        modes = torch.as_tensor(target.modes, dtype=torch.float32)

        # fused Adam: the same update rule in fewer kernel calls (the networks are tiny, calls dominate)
        opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g, betas=(0.5, 0.999), fused=True)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(0.5, 0.999), fused=True)
        half = steps // 2

        def factor(step: int) -> float:  # 1 for the first half, then linearly down to 0
            return 1.0 if not decay or step < half else max(0.0, (steps - step) / max(1, steps - half))

        n_points = batch * pack

        def real_batch() -> torch.Tensor:
            index = torch.randint(len(modes), (n_points,), generator=data)
            points = modes[index] + target.std * torch.randn(n_points, 2, generator=data)
            return points.reshape(batch, 2 * pack)

        def fake_batch() -> torch.Tensor:
            return generator(torch.randn(n_points, z_dim, generator=noise)).reshape(batch, 2 * pack)

        snapshot_at = set(_snapshot_steps(steps, snapshots).tolist())
        taken_steps: list[int] = []
        taken: list[np.ndarray] = []
        d_losses = np.empty(steps)
        g_losses = np.empty(steps)

        def snapshot(step: int) -> None:
            with torch.no_grad():
                taken.append(generator(fixed_z).numpy().astype(float))
            taken_steps.append(step)

        bar = None
        if progress:
            from tqdm.auto import tqdm

            label = progress if isinstance(progress, str) else f"{method} GAN on the {target.name}"
            bar = tqdm(total=steps, desc=label, unit="step", mininterval=0.5, leave=False)
        for step in range(steps):
            if step in snapshot_at:
                snapshot(step)
            scale = factor(step)
            opt_g.param_groups[0]["lr"] = lr_g * scale
            opt_d.param_groups[0]["lr"] = lr_d * scale
            d_losses[step], g_losses[step] = adversarial_step(
                generator, discriminator, opt_g, opt_d, real_batch, fake_batch, d_steps
            )
            if bar is not None and (step + 1) % 50 == 0:
                bar.update(50)
        snapshot(steps)
        if bar is not None:
            bar.close()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        torch.set_num_threads(old_threads)
    return GANRun(
        target=target,
        settings=settings,
        steps=np.asarray(taken_steps),
        snapshots=np.stack(taken),
        d_loss=d_losses,
        g_loss=g_losses,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
    )


_REMEMBERED: dict[tuple, GANRun] = {}  #: cached_run's runs by their settings, oldest first
_REMEMBER = 16  #: runs kept


def cached_run(
    target: str = "ring",
    method: str = "vanilla",
    width: int = 64,
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    steps: int = 2000,
    seed: int = 0,
    d_steps: int = 3,
    progress: bool | str = False,
) -> GANRun:
    """:func:`train_gan` remembered per argument set, so a lesson and its widget share one run
    (the defaults are :func:`train_gan`'s; ``progress`` shows a bar while a new run trains).

    Treat the returned run as read-only: the same object comes back on every call.
    """
    check_choice("target", target, TARGETS)
    check_choice("method", method, METHODS)
    lr_g = check_float("lr_g", lr_g, 0.0, 1.0, strict_minimum=True)
    lr_d = check_float("lr_d", lr_d, 0.0, 1.0, strict_minimum=True)
    width = check_int("width", width, minimum=1, maximum=1024)
    steps = check_int("steps", steps, minimum=1, maximum=100_000)
    seed = check_int("seed", seed, minimum=0, maximum=TORCH_SEED_MAX)
    d_steps = check_int("d_steps", d_steps, minimum=1, maximum=20)
    key = (target, method, width, lr_g, lr_d, steps, seed, d_steps)
    if key not in _REMEMBERED:
        while len(_REMEMBERED) >= _REMEMBER:
            _REMEMBERED.pop(next(iter(_REMEMBERED)))
        settings = {"width": width, "lr_g": lr_g, "lr_d": lr_d, "steps": steps, "seed": seed, "d_steps": d_steps}
        _REMEMBERED[key] = train_gan(target, method, progress=progress, **settings)
    return _REMEMBERED[key]


def seed_table(
    target: str = "ring", methods: Sequence[str] | str = METHODS, seeds: Sequence[int] = range(5), **settings
) -> list[dict]:
    """Train every method on every seed; one row of final mode metrics (and the run times) per run.
    ``methods`` may name a single method (``"vanilla"``)."""
    methods = [methods] if isinstance(methods, str) else methods  # one method, not its letters
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a sequence of seeds (integers >= 0), such as range(5); got {seeds!r:.40}")
    if not isinstance(methods, Iterable):
        raise TypeError(
            f"methods must be a method or a sequence of them ({', '.join(map(repr, METHODS))}); got {methods!r:.40}"
        )
    methods = [check_choice("methods", m, METHODS) for m in methods]
    seeds = [check_int("seeds", seed, minimum=0, maximum=TORCH_SEED_MAX) for seed in seeds]
    if not (methods and seeds):
        raise ValueError("methods and seeds must each name at least one")
    rows = []
    for method in methods:
        for seed in seeds:
            run = train_gan(target, method, seed=seed, progress=f"{method}, seed {seed}", **settings)
            rows.append(
                {
                    "target": run.target.name,
                    "method": method,
                    "seed": int(seed),
                    **run.report(),
                    "seconds": round(run.seconds, 2),
                    "cpu_seconds": round(run.cpu_seconds, 2),
                }
            )
    return rows


# --------------------------------------------------------------------------- stored runs


def _run_key(target: str, method: str, seed: int) -> str:
    return f"{target}-{method}-{seed}"


def save_runs(runs: Sequence[GANRun], path: str | Path = STORED_RUNS) -> Path:
    """Store whole runs (snapshots, losses, settings) in one compressed file.

    Snapshots are kept as float32, the generator's own precision, so a stored run gives exactly the
    metrics of the run itself (31 snapshots of 2,500 points: about 600 KB)."""
    if not runs:
        raise ValueError("runs must hold at least one GANRun")
    arrays: dict[str, np.ndarray] = {}
    for run in runs:
        s = run.settings
        key = _run_key(s["target"], s["method"], s["seed"])
        arrays[f"{key}/snapshots"] = run.snapshots.astype(np.float32)
        arrays[f"{key}/steps"] = run.steps
        arrays[f"{key}/d_loss"] = run.d_loss.astype(np.float32)
        arrays[f"{key}/g_loss"] = run.g_loss.astype(np.float32)
        meta = {"settings": s, "seconds": run.seconds, "cpu_seconds": run.cpu_seconds}
        arrays[f"{key}/meta"] = np.array(json.dumps(meta))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def stored_run(method: str = "pacgan", seed: int = 0, target: str = "ring", path: str | Path = STORED_RUNS) -> GANRun:
    """A run that :func:`save_runs` stored (the lesson loads its PacGAN run, so that it need not train it
    live); ``settings`` say what it was trained with (``train_gan``'s defaults when the file was made)."""
    method = check_choice("method", method, METHODS)
    target = check_choice("target", target, TARGETS)
    seed = check_int("seed", seed, minimum=0, maximum=TORCH_SEED_MAX)
    key = _run_key(target, method, seed)
    if not Path(path).is_file():
        raise FileNotFoundError(f"no stored GAN runs at {path}; benchmarks/gan_seed_table.py writes them (save_runs)")
    try:
        stored = np.load(path)
    except (ValueError, OSError):  # not an .npz (numpy's own message speaks of allow_pickle)
        raise ValueError(f"{path} is not a file of stored GAN runs (an .npz written by save_runs)") from None
    if not isinstance(stored, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array, not stored GAN runs (an .npz written by save_runs)")
    with stored:
        names = sorted({name.split("/")[0] for name in stored.files})
        if f"{key}/meta" not in stored.files:
            raise ValueError(f"no stored run {key!r} in {path}; stored: {', '.join(names)}")
        meta = json.loads(str(stored[f"{key}/meta"]))
        return GANRun(
            target=make_target(target),
            settings=meta["settings"],
            steps=stored[f"{key}/steps"],
            snapshots=stored[f"{key}/snapshots"].astype(float),
            d_loss=stored[f"{key}/d_loss"].astype(float),
            g_loss=stored[f"{key}/g_loss"].astype(float),
            seconds=meta["seconds"],
            cpu_seconds=meta["cpu_seconds"],
        )
