"""Generative replay against exact replay and fine-tuning over seeds (the forgetting lesson).

Writes ``collapse_edu/results/generative_replay.json``: class-incremental accuracy matrices R of
fine-tuning, exact replay (k real examples stored per class), generative replay (a VAE that learns
from the current task's real digits plus its own samples of earlier tasks; Shin et al. 2017,
arXiv:1705.08690), the same with a generator retrained on all real data so far (the control
without self-consumption) and joint training, for seeds 0..9; and for the generative runs the class
shares of the replayed samples per task as a classifier trained on real digits sees them. Run from
the repository root (CPU and wall time are recorded with the load average):

    nice -n 10 python benchmarks/generative_replay.py    # 10 seeds: about 4 CPU minutes, 10 s per generative run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from collapse_edu.continual import DEFAULTS, run_continual, split_digits
from collapse_edu.environment import RESULTS_DIR, RunClock, machine_info, run_on_avx2_code_paths, write_summary
from collapse_edu.replay import REPLAY_DEFAULTS, SUMMARY_FILE, run_generative_replay


def main() -> None:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args()

    clock = RunClock()
    scenario = "class-incremental"
    runs: dict = {m: {"R": []} for m in ("finetune", "replay", "generative", "generative-real", "joint")}
    for key in ("generative", "generative-real"):
        runs[key].update(replay_shares=[], final_shares=[], replay_coverage=[], replay_confidence=[],
                         label_agreement=[])  # fmt: skip
    seconds: dict = {m: [] for m in runs}
    for seed in range(args.seeds):
        data = split_digits(seed=seed)
        for method in ("finetune", "replay", "joint"):
            start = time.process_time()
            result = run_continual(method, scenario, seed=seed, data=data)
            seconds[method].append(time.process_time() - start)
            runs[method]["R"].append(result.R.round(4).tolist())
        for key, real in (("generative", False), ("generative-real", True)):
            start = time.process_time()
            result = run_generative_replay(scenario, real_generator=real, seed=seed, data=data)
            seconds[key].append(time.process_time() - start)
            entry = runs[key]
            entry["R"].append(result.R.round(4).tolist())
            entry["replay_shares"].append(result.replay_shares.round(4).tolist())
            entry["final_shares"].append(result.final_shares.round(4).tolist())
            entry["replay_coverage"].append(result.replay_coverage().tolist())
            entry["replay_confidence"].append(np.nan_to_num(result.replay_confidence, nan=-1).round(4).tolist())
            entry["label_agreement"].append(np.nan_to_num(result.label_agreement, nan=-1).round(4).tolist())
        finals = {m: round(float(np.mean(np.asarray(runs[m]["R"][-1])[-1])), 3) for m in runs}
        print(f"seed {seed}: final average accuracy {finals}", flush=True)

    summary = {
        "description": "class-incremental split digits: generative replay vs exact replay vs fine-tuning; "
        "replay_* are -1 where nothing is replayed (task 1)",
        "scenario": scenario,
        "settings": {"solver": DEFAULTS, "generative": REPLAY_DEFAULTS},
        "seeds": list(range(args.seeds)),
        "runs": runs,
        "machine": {
            **machine_info("python", "torch", "processor"),
            "threads": 1,
            "median_cpu_seconds_per_run": {m: round(float(np.median(s)), 2) for m, s in seconds.items()},
            **clock.record(),
        },
    }
    path = write_summary(Path(args.out) / SUMMARY_FILE, summary)
    print(f"wrote {path}: {summary['machine']}")


if __name__ == "__main__":
    main()
