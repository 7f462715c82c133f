"""Multi-seed summary for lesson 07 (catastrophic forgetting), too slow to run inside the lesson.

Writes ``collapse_edu/results/continual_summary.json``: the accuracy matrix R of every method x
scenario for seeds 0..9 with the lesson's settings (``collapse_edu.continual.DEFAULTS``), and the
final average accuracy for a sweep over the replay buffer size k and the EWC strength lambda
(seeds 0..4). Run from the repository root:

    python benchmarks/continual_seeds.py            # about 220 runs, 0.5-3 s each on one core
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import collapse_edu
from collapse_edu.continual import DEFAULTS, METHODS, SCENARIOS, SUMMARY_FILE, run_continual, split_digits

KS = (0, 1, 2, 5, 10, 20, 50)
LAMBDAS = (0.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds of the main grid")
    parser.add_argument("--sweep-seeds", type=int, default=5, help="seeds of the k and lambda sweeps")
    # the package's results folder, where lesson 07 reads it (in a checkout or an installed package alike)
    parser.add_argument("--out", default=str(Path(collapse_edu.__file__).resolve().parent / "results"))
    args = parser.parse_args()

    start = time.perf_counter()
    splits = {seed: split_digits(seed=seed) for seed in range(max(args.seeds, args.sweep_seeds))}
    runs: dict[str, list] = {}
    seconds = []
    for scenario in SCENARIOS:
        for method in METHODS:
            for seed in range(args.seeds):
                result = run_continual(method, scenario, seed=seed, data=splits[seed])
                runs[f"{method}|{scenario}"] = [*runs.get(f"{method}|{scenario}", []), result.R.round(4).tolist()]
                seconds.append(result.seconds)
                print(f"{method:9s} {scenario:18s} seed {seed}: final {result.final_accuracy:.3f}", flush=True)

    k_sweep: dict[str, list] = {"k": list(KS)}
    lambda_sweep: dict[str, list] = {"ewc_lambda": list(LAMBDAS)}
    for scenario in SCENARIOS:
        k_sweep[scenario] = [
            [
                run_continual("replay", scenario, k=k, seed=s, data=splits[s]).final_accuracy
                for s in range(args.sweep_seeds)
            ]
            for k in KS
        ]
        lambda_sweep[scenario] = [
            [
                run_continual("ewc", scenario, ewc_lambda=lam, seed=s, data=splits[s]).final_accuracy
                for s in range(args.sweep_seeds)
            ]
            for lam in LAMBDAS
        ]
        print(f"sweeps done for {scenario}", flush=True)

    summary = {
        "description": "lesson 07: accuracy matrices R[i][j] (accuracy on task j after task i), split digits, 5 tasks",
        "settings": DEFAULTS,
        "seeds": list(range(args.seeds)),
        "sweep_seeds": list(range(args.sweep_seeds)),
        "runs": runs,
        "k_sweep": k_sweep,
        "lambda_sweep": lambda_sweep,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "processor": platform.processor() or platform.machine(),
            "threads": 1,
            "median_seconds_per_run": float(np.median(seconds)),
            "total_seconds": round(time.perf_counter() - start, 1),
        },
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / SUMMARY_FILE} in {summary['machine']['total_seconds']} s")


if __name__ == "__main__":
    main()
