"""Precompute the capstone's pool of mystery runs (lesson 09).

Every mystery log of the capstone comes from a real simulation with the course's own code. Most
settings take well under a second per run and could be made live; the GAN runs take tens of seconds
each on a shared laptop CPU. This script runs them all once and stores the logs (a few hundred
numbers per run) in ``collapse_edu/results/capstone_pool.npz``; the lesson and its checker read that
file.

    python benchmarks/capstone_pool.py                 # everything (GAN runs cached between calls)
    python benchmarks/capstone_pool.py --gan-only      # train the GAN runs only (stage 1)

Stage 1 trains the GANs with ``collapse_edu.gan.train_gan``'s *defaults* (vanilla and PacGAN-4 on
the ring of 8) and caches their snapshots under ``--cache`` (keyed by the settings, so a change of
the GAN defaults retrains). Stage 2 turns every run of every variant into a log
(:func:`collapse_edu.capstone.build_pool`). Re-run the whole script after the GAN defaults change.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from collapse_edu import capstone
from collapse_edu.environment import machine_info, run_on_avx2_code_paths

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "collapse-edu" / "capstone-gan"


def gan_defaults() -> dict:
    """``train_gan``'s keyword defaults (what the runs use), without run-only switches."""
    from collapse_edu.gan import train_gan

    skip = {"seed", "progress", "threads", "snapshots", "n_samples", "method", "target"}
    return {
        name: p.default
        for name, p in inspect.signature(train_gan).parameters.items()
        if p.default is not inspect.Parameter.empty and name not in skip
    }


def gan_settings(method: str, changes: dict) -> dict:
    """Everything a GAN run of the pool is trained with."""
    return {"method": method, **gan_defaults(), **changes, **capstone.GAN_RUN}


def gan_key(method: str, changes: dict, seed: int) -> str:
    settings = json.dumps({**gan_settings(method, changes), "seed": seed}, sort_keys=True)
    return hashlib.sha256(settings.encode()).hexdigest()[:16]


def gan_snapshots(method: str, changes: dict, seed: int, cache: Path) -> tuple[np.ndarray, float]:
    """The snapshots of one run (``capstone.GAN_RUN`` says how many, of how many points), cached."""
    from collapse_edu.gan import train_gan

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{method}-{seed}-{gan_key(method, changes, seed)}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return stored["snapshots"], float(stored["seconds"])
    run = train_gan("ring", method, seed=seed, progress=False, **{**changes, **capstone.GAN_RUN})
    snapshots = run.snapshots.astype(np.float32)
    np.savez_compressed(path, snapshots=snapshots, steps=run.steps, seconds=run.seconds)
    return snapshots, run.seconds


def main(argv: list[str] | None = None) -> int:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--gan-only", action="store_true", help="train (and cache) the GAN runs, then stop")
    parser.add_argument("--out", type=Path, default=capstone.POOL_FILE)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    gan_runs: dict[str, list[np.ndarray]] = {}
    seconds = []
    for key, (method, changes, seeds) in capstone.GAN_VARIANTS.items():
        for seed in seeds:
            snapshots, took = gan_snapshots(method, changes, seed, args.cache)
            gan_runs.setdefault(key, []).append(snapshots)
            seconds.append(took)
            print(f"{key} seed {seed}: {took:.0f} s", flush=True)
    if args.gan_only:
        return 0
    pool = capstone.build_pool(gan_runs, progress=True)
    gan_outcomes = {}  # the mode metrics behind each GAN run's cause, kept or left out (lesson 09 quotes them)
    for key, (_, _, seeds) in capstone.GAN_VARIANTS.items():
        pairs = zip(seeds, gan_runs[key], strict=True)
        gan_outcomes[key] = {str(seed): capstone.plain_outcome(capstone.gan_outcome(s)) for seed, s in pairs}
    meta = {
        "produced_by": "benchmarks/capstone_pool.py",
        "command": "python benchmarks/capstone_pool.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        **machine_info("date"),
        "machine": machine_info("python", "processor=architecture", "cpus"),
        "gan_settings": {key: gan_settings(m, c) for key, (m, c, _) in capstone.GAN_VARIANTS.items()},
        "gan_seconds_median": float(np.median(seconds)) if seconds else None,
        "gan_outcomes": gan_outcomes,
        "total_seconds": round(time.perf_counter() - start),
    }
    capstone.save_pool(pool, args.out, meta)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
