"""Multi-seed results for lesson 08 (catastrophic forgetting), too slow to run inside the lesson.

Writes ``collapse_edu/results/continual_summary.json``, for seeds 0..9 with the lesson's settings
(``collapse_edu.continual.DEFAULTS``):

* ``runs``: the accuracy matrix R of every method x scenario (``"method|scenario"`` -> one R per seed);
* ``fisher_total``: for EWC, the sum of the diagonal Fisher over all weights after each task;
* ``k_sweep``: replay with k = 0, 1, 2, 5, 10, 20, 50 stored examples per class;
* ``lambda_sweep``: EWC with lambda = 0 and 1e1 ... 1e8 (the playground's slider reaches 1e8).

Each sweep stores the final average accuracy and the whole matrix R of every run (and, for EWC, the
Fisher totals). Runs that are the same by construction are computed once: EWC with lambda = 0 and
replay with k = 0 are fine-tuning (``tests/test_continual.py`` checks that bit for bit), and the
sweeps' lambda = 1e5 and k = 10 are the main grid's runs. Run from the repository root:

    python benchmarks/continual_seeds.py            # about 320 runs, 0.5-4 s each on one core
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from collapse_edu.continual import (
    DEFAULTS,
    METHODS,
    SCENARIOS,
    SUMMARY_FILE,
    ContinualResult,
    run_continual,
    split_digits,
)
from collapse_edu.environment import RESULTS_DIR, load_average, machine_info, run_on_avx2_code_paths, write_summary

KS = (0, 1, 2, 5, 10, 20, 50)
LAMBDAS = (0.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)


def main() -> None:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. SEEDS-1, for the grid and the sweeps")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args()

    start, load_before = time.perf_counter(), load_average()
    seeds = list(range(args.seeds))
    splits = {seed: split_digits(seed=seed) for seed in seeds}
    done: dict[tuple, ContinualResult] = {}
    seconds: list[float] = []

    def run(method: str, scenario: str, seed: int, *, ewc_lambda: float = DEFAULTS["ewc_lambda"],
            k: int = DEFAULTS["k"]) -> ContinualResult:  # fmt: skip
        if (method == "ewc" and ewc_lambda == 0) or (method == "replay" and k == 0):
            method = "finetune"  # the same run, bit for bit
        key = (method, scenario, seed, ewc_lambda if method == "ewc" else None, k if method == "replay" else None)
        if key not in done:
            settings = {"ewc_lambda": ewc_lambda} if method == "ewc" else {"k": k} if method == "replay" else {}
            result = run_continual(method, scenario, seed=seed, data=splits[seed], **settings)
            done[key] = result
            seconds.append(result.seconds)
            print(f"{method:9s} {scenario:18s} seed {seed} lambda {ewc_lambda:g} k {k}: "
                  f"final {result.final_accuracy:.3f}", flush=True)  # fmt: skip
        return done[key]

    def matrix(result: ContinualResult) -> list:
        return result.R.round(4).tolist()

    def fisher(result: ContinualResult) -> list | None:
        totals = result.diagnostics.get("fisher_total")
        return None if totals is None else [float(f"{f:.3g}") for f in totals]

    runs = {f"{m}|{s}": [matrix(run(m, s, seed)) for seed in seeds] for s in SCENARIOS for m in METHODS}
    fisher_total = {f"ewc|{s}": [fisher(run("ewc", s, seed)) for seed in seeds] for s in SCENARIOS}

    k_sweep: dict = {"k": list(KS), "matrices": {}}
    lambda_sweep: dict = {"ewc_lambda": list(LAMBDAS), "matrices": {}, "fisher_total": {}}
    for scenario in SCENARIOS:
        by_k = [[run("replay", scenario, seed, k=k) for seed in seeds] for k in KS]
        k_sweep[scenario] = [[round(r.final_accuracy, 4) for r in row] for row in by_k]
        k_sweep["matrices"][scenario] = [[matrix(r) for r in row] for row in by_k]
        by_lambda = [[run("ewc", scenario, seed, ewc_lambda=lam) for seed in seeds] for lam in LAMBDAS]
        lambda_sweep[scenario] = [[round(r.final_accuracy, 4) for r in row] for row in by_lambda]
        lambda_sweep["matrices"][scenario] = [[matrix(r) for r in row] for row in by_lambda]
        lambda_sweep["fisher_total"][scenario] = [[fisher(r) for r in row] for row in by_lambda]

    summary = {
        "description": "lesson 08: accuracy matrices R[i][j] (accuracy on task j after task i), split digits, 5 tasks",
        "settings": DEFAULTS,
        "seeds": seeds,
        "sweep_seeds": seeds,
        "runs": runs,
        "fisher_total": fisher_total,
        "k_sweep": k_sweep,
        "lambda_sweep": lambda_sweep,
        "machine": {
            **machine_info("python", "torch", "processor"),
            "threads": 1,
            "distinct_runs": len(done),
            "median_seconds_per_run": round(float(np.median(seconds)), 2),
            "total_seconds": round(time.perf_counter() - start, 1),
            "load_average_before_after": [round(load_before, 1), round(load_average(), 1)],
        },
    }
    path = write_summary(Path(args.out) / SUMMARY_FILE, summary)
    print(f"wrote {path} ({path.stat().st_size // 1024} kB) in {summary['machine']['total_seconds']} s")


if __name__ == "__main__":
    main()
