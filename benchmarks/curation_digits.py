"""Multi-seed digits experiments with curation, too slow to run inside a lesson.

Writes ``collapse_edu/results/curation_digits.json``: for both model families (PCA + Gaussian
mixture, VAE) and every setting of :data:`collapse_edu.digit_curation.DIGIT_SETTINGS` (fully
synthetic, self-selected, a real share, verified by a real-digit classifier), the per-generation
class coverage, class entropy, classifier confidence, pixel variance, precision and recall
(Kynkaanniemi et al. 2019, k = 3, in a 10-d PCA embedding of the real digits) for every seed; the
same numbers for held-out real digits; and 20 sample images of seed 0 at a few generations (17 grey
levels, :func:`collapse_edu.digit_curation.encode_images`).
Run from the repository root (CPU time and wall time are recorded with the load average):

    nice -n 10 python benchmarks/curation_digits.py               # 5 seeds, 20 generations: about 12 CPU minutes
    python benchmarks/curation_digits.py --seeds 2 --generations 5 --out /tmp/x   # a quick look
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from collapse_edu.digit_curation import (
    DIGIT_FAMILIES,
    DIGIT_SETTINGS,
    EMBEDDING_DIMS,
    SUMMARY_FILE,
    SUMMARY_METRICS,
    DigitQuality,
    encode_images,
    simulate_digit_curation,
)
from collapse_edu.environment import RESULTS_DIR, RunClock, machine_info, run_on_avx2_code_paths, write_summary
from collapse_edu.mixtures import PCAMixture, load_digit_split
from collapse_edu.vae import VAE_DEFAULTS

GRID_GENERATIONS = (0, 1, 5, 10, 20)


def real_scores(samples: int, seed: int = 0) -> dict[str, float]:
    """The metrics of ``samples`` held-out real test digits (precision and recall against the same
    real training reference the models are measured against)."""
    digits = load_digit_split()
    pick = np.random.default_rng(seed).choice(len(digits.test_x), samples, replace=False)
    row = DigitQuality(PCAMixture(), samples=samples, seed=seed).score(digits.test_x[pick])
    return {name: round(float(row[name]), 4) for name in SUMMARY_METRICS}


def main() -> None:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--n", type=int, default=500, help="training images per generation")
    parser.add_argument("--keep", type=float, default=0.5, help="keep fraction q of self and verified")
    parser.add_argument("--real-fraction", type=float, default=0.1, help="real share r of real-share")
    parser.add_argument("--families", nargs="+", default=list(DIGIT_FAMILIES), choices=DIGIT_FAMILIES)
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args()

    torch.set_num_threads(1)
    clock = RunClock()
    runs: dict = {}
    last_shares: dict = {}
    grids: dict = {}
    seconds: dict = {}
    stored = [g for g in GRID_GENERATIONS if g <= args.generations]
    for family in args.families:
        runs[family], last_shares[family], grids[family], seconds[family] = {}, {}, {}, {}
        for setting in DIGIT_SETTINGS:
            per_metric = {m: [] for m in SUMMARY_METRICS}
            shares, times = [], []
            for seed in range(args.seeds):
                start = time.process_time()
                history = simulate_digit_curation(
                    family,
                    setting,
                    generations=args.generations,
                    n=args.n,
                    keep=args.keep if setting in ("self", "verified") else None,  # each setting its own
                    real_fraction=args.real_fraction if setting == "real-share" else None,
                    seed=seed,
                )
                times.append(time.process_time() - start)
                for m in SUMMARY_METRICS:
                    per_metric[m].append(np.round(history[m][:, 0].astype(float), 4).tolist())
                shares.append(np.round(history["class_share"][-1, 0], 4).tolist())
                if seed == 0:
                    grid = history["grid"][stored, 0, ::2]  # (generations, 20, 64): every other of 40 sorted by class
                    grids[family][setting] = [encode_images(images) for images in grid]
                last = {m: per_metric[m][-1][-1] for m in ("coverage", "entropy", "pixel_variance", "recall")}
                print(f"{family:8s} {setting:11s} seed {seed}: {times[-1]:5.1f} CPU s, last {last}", flush=True)
            runs[family][setting] = per_metric
            last_shares[family][setting] = shares
            seconds[family][setting] = round(float(np.median(times)), 1)

    summary = {
        "description": "digits retrained on their own samples: two families x four settings, metrics per generation",
        "settings": {
            "n": args.n,
            "generations": args.generations,
            "keep": args.keep,
            "real_fraction": args.real_fraction,
            "samples": 500,
            "k": 3,
            "embedding_dims": EMBEDDING_DIMS,
            "pca_gmm": {"dims": 10, "components": 10},
            "vae": VAE_DEFAULTS,
        },
        "seeds": list(range(args.seeds)),
        "runs": runs,
        "last_class_share": last_shares,
        "real": real_scores(500),
        "grid_generations": stored,
        "grids": grids,
        "machine": {
            **machine_info("python", "torch", "processor"),
            "threads": 1,
            "median_cpu_seconds_per_run": seconds,
            **clock.record(),
        },
    }
    path = write_summary(Path(args.out) / SUMMARY_FILE, summary)
    print(f"wrote {path}: {summary['machine']}")


if __name__ == "__main__":
    main()
