"""Precompute lesson 07's seed table: vanilla GAN vs PacGAN on the ring of 8 (and, optionally, the grid).

Both methods are trained with ``collapse_edu.gan.train_gan``'s defaults (the settings the lesson uses)
on seeds the lesson does not show, and scored with the literature's metrics (``collapse_edu.gan_metrics``)
on 2,500 samples from fixed noise at the end of training:

    python benchmarks/gan_seed_table.py                       # ring, seeds 100-119 (about 40 runs)
    python benchmarks/gan_seed_table.py --first-seed 100 --seeds 5 --grid-seeds 3
    python benchmarks/gan_seed_table.py --stored-runs         # only the lesson's stored PacGAN-4 run

One run takes several seconds on a free core (several times that on a busy machine); run it by hand
(``nice -n 10``), never in the test suite. Re-running on another CPU may change individual runs
(floating point), not the picture.

Output: ``collapse_edu/results/gan_seeds.json``, a JSON object with

- ``produced_by``, ``command``, ``date``, ``machine`` (Python, torch, CPU count, load average before
  and after, a note on timing);
- ``settings``: every default of ``train_gan`` used (seed, target and method excepted);
- ``metrics``: one sentence per metric name below; ``criteria``: the two claims checked, as text;
- ``runs``: one object per (target, method, seed): ``target`` ("ring" or "grid"), ``method``
  ("vanilla" or "pacgan"), ``seed``, ``modes`` (modes captured: nearest mode of >= 1 high-quality
  sample, VEEGAN's count), ``modes_strict`` (>= 20 high-quality samples), ``high_quality`` (share in
  [0, 1] of samples within 3 std of their nearest mode), ``reverse_kl`` (nats), ``top_share`` (share of
  samples whose nearest mode is the most popular one), ``seconds`` and ``cpu_seconds`` (wall clock and
  processor time of the training);
- ``summary``: one object per (target, method): ``seeds`` (how many), min / median / mean / max of
  each metric, ``collapsed`` (seeds that end on <= 2 modes with >= 50% high quality: a sharp collapse)
  and ``covered`` (seeds that capture >= 7 of 8 ring modes, >= 23 of 25 grid modes);
- ``total_seconds``: wall clock of the whole script.

With ``--stored-runs`` it instead trains the runs lesson 07 loads rather than trains live (PacGAN-4 on
the ring, seed 0, ``train_gan``'s defaults) and stores them whole in ``collapse_edu/results/gan_runs.npz``
(:func:`collapse_edu.gan.save_runs`).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

import numpy as np

from collapse_edu.environment import RESULTS_DIR, load_averages, machine_info, run_on_avx2_code_paths, write_summary
from collapse_edu.gan import METHODS, STORED_RUNS, make_target, save_runs, train_gan

# the package's results folder, where lesson 07 reads it (in a checkout or an installed package alike)
OUT = RESULTS_DIR / "gan_seeds.json"
METRICS = {
    "modes": "modes captured: modes nearest to >= 1 high-quality sample (VEEGAN, arXiv:1705.07761; PacGAN's code)",
    "modes_strict": "modes nearest to >= 20 high-quality samples (of 2,500)",
    "high_quality": "share of samples within 3 std of their nearest mode (VEEGAN, Sec. 5.1)",
    "reverse_kl": "KL(generated || true) between mode histograms (nearest mode), nats (PacGAN, arXiv:1712.04086)",
    "top_share": "share of samples whose nearest mode is the most popular one",
}
COLLAPSE_MODES, COLLAPSE_QUALITY = 2, 0.5
LESSON_STORED_RUNS = [("pacgan", 0)]  # (method, seed) of the ring runs lesson 07 loads instead of training
COVER_MISSING = {"ring": 1, "grid": 2}  # covered: at most this many modes missing (7 of 8, 23 of 25)


def collapsed(row: dict) -> bool:
    """A sharp collapse: at most 2 modes captured and at least half of the samples high quality."""
    return row["modes"] <= COLLAPSE_MODES and row["high_quality"] >= COLLAPSE_QUALITY


def covered(row: dict) -> bool:
    """Nearly full coverage: at most 1 ring mode (2 grid modes) without a high-quality sample."""
    return row["modes"] >= make_target(row["target"]).n_modes - COVER_MISSING[row["target"]]


def train_rows(target: str, seeds: list[int]) -> list[dict]:
    """One row of final metrics per method and seed, both methods at ``train_gan``'s defaults."""
    rows = []
    for method in METHODS:
        for seed in seeds:
            run = train_gan(target, method, seed=seed, progress=f"{target}, {method}, seed {seed}")
            report = run.report()
            rows.append(
                {
                    "target": target,
                    "method": method,
                    "seed": seed,
                    **report,
                    "top_share": float(run.occupancy()[-1].max()),
                    "seconds": round(run.seconds, 2),
                    "cpu_seconds": round(run.cpu_seconds, 2),
                }
            )
            print(
                f"{target} {method:>7} seed {seed}: {report['modes']} modes, {100 * report['high_quality']:.0f}% HQ, "
                f"reverse KL {report['reverse_kl']:.2f}, {run.seconds:.0f} s ({run.cpu_seconds:.0f} s CPU)",
                flush=True,
            )
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Min / median / mean / max of each metric and the two criterion counts per (target, method)."""
    out = []
    for target in dict.fromkeys(r["target"] for r in rows):
        for method in METHODS:
            group = [r for r in rows if r["target"] == target and r["method"] == method]
            if not group:
                continue
            entry: dict = {"target": target, "method": method, "seeds": len(group)}
            for key in (*METRICS, "seconds", "cpu_seconds"):
                values = np.array([r[key] for r in group], dtype=float)
                entry[key] = {
                    "min": float(values.min()),
                    "median": float(np.median(values)),
                    "mean": float(values.mean()),
                    "max": float(values.max()),
                }
            entry["collapsed"] = sum(collapsed(r) for r in group)
            entry["covered"] = sum(covered(r) for r in group)
            out.append(entry)
    return out


def markdown_table(rows: list[dict], target: str) -> str:
    """Per seed: modes captured, high-quality % and reverse KL of both methods side by side."""
    seeds = sorted({r["seed"] for r in rows if r["target"] == target})
    by = {(r["method"], r["seed"]): r for r in rows if r["target"] == target}
    lines = [
        "| seed | vanilla modes | vanilla HQ | vanilla rev. KL | PacGAN modes | PacGAN HQ | PacGAN rev. KL |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for seed in seeds:
        cells = []
        for method in METHODS:
            r = by[(method, seed)]
            cells += [f"{r['modes']}", f"{100 * r['high_quality']:.1f}%", f"{r['reverse_kl']:.2f}"]
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first-seed", type=int, default=100, help="first seed (the lesson's own runs use 0-9)")
    parser.add_argument("--seeds", type=int, default=20, help="number of ring seeds")
    parser.add_argument("--grid-seeds", type=int, default=0, help="number of 5x5-grid seeds (0: skip the grid)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--stored-runs", action="store_true", help="only train and store the lesson's PacGAN-4 run")
    args = parser.parse_args(argv)

    if args.stored_runs:
        runs = [train_gan("ring", method, seed=seed, progress=False) for method, seed in LESSON_STORED_RUNS]
        path = save_runs(runs, STORED_RUNS)
        for run in runs:
            print(f"{run.settings['method']} seed {run.settings['seed']}: {run.report()}, {run.cpu_seconds:.0f} s CPU")
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
        return 0
    start = time.perf_counter()
    load_before = load_averages()
    rows = train_rows("ring", list(range(args.first_seed, args.first_seed + args.seeds)))
    if args.grid_seeds:
        rows += train_rows("grid", list(range(args.first_seed, args.first_seed + args.grid_seeds)))
    defaults = {
        name: p.default
        for name, p in inspect.signature(train_gan).parameters.items()
        if p.default is not inspect.Parameter.empty and name not in ("seed", "progress", "target", "method")
    }
    data = {
        "produced_by": "benchmarks/gan_seed_table.py",
        "command": "python benchmarks/gan_seed_table.py " + " ".join(sys.argv[1:] if argv is None else argv),
        **machine_info("date"),
        "machine": {
            **machine_info("python", "torch", "processor=architecture", "cpus"),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_averages()],
            "note": "shared machine: wall-clock seconds include waiting for a core; cpu_seconds do not",
        },
        "settings": defaults,
        "metrics": METRICS,
        "criteria": {
            "collapsed": f"modes <= {COLLAPSE_MODES} and high_quality >= {COLLAPSE_QUALITY}",
            "covered": "modes >= 7 of 8 (ring), >= 23 of 25 (grid)",
        },
        "runs": rows,
        "summary": summarise(rows),
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    write_summary(args.out, data, indent=1)  # never leaves a half-written file behind
    for target in dict.fromkeys(r["target"] for r in rows):
        print(f"\n{target}\n" + markdown_table(rows, target))
    for entry in data["summary"]:
        print(
            f"{entry['target']:>5} {entry['method']:>8}: {entry['seeds']} seeds, "
            f"modes {entry['modes']['min']:.0f}-{entry['modes']['max']:.0f}, "
            f"HQ {100 * entry['high_quality']['min']:.0f}-{100 * entry['high_quality']['max']:.0f}%, "
            f"rev KL {entry['reverse_kl']['min']:.2f}-{entry['reverse_kl']['max']:.2f}; "
            f"sharp collapse (<= 2 modes, >= 50% HQ) {entry['collapsed']}, covered {entry['covered']}"
        )
    print(f"wrote {args.out} in {data['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
