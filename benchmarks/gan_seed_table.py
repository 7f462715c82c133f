"""Precompute lesson 07's multi-seed table: vanilla GAN vs PacGAN-2 on the ring (and the grid).

Too slow to train live in the lesson (one 3000-step run takes about 8 s on a free core, several
times that on a busy machine), so the lesson loads the JSON this script writes:

    python benchmarks/gan_seed_table.py                     # ring, seeds 0-9; grid, seeds 0-2
    python benchmarks/gan_seed_table.py --ring-seeds 5 --grid-seeds 0

The settings are collapse_edu.gan.train_gan's defaults (the ones the lesson uses). Output:
collapse_edu/results/gan_seeds.json (settings, machine, one row per run, a summary per target and
method). Re-running on another CPU may change individual runs (floating point), not the picture.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import collapse_edu
from collapse_edu.gan import METHODS, seed_table, train_gan

# the package's results folder, where lesson 06 reads it (in a checkout or an installed package alike)
OUT = Path(collapse_edu.__file__).resolve().parent / "results" / "gan_seeds.json"


def summarise(rows: list[dict]) -> list[dict]:
    """Min / median / max of each metric per (target, method)."""
    out = []
    for target in dict.fromkeys(r["target"] for r in rows):
        for method in METHODS:
            group = [r for r in rows if r["target"] == target and r["method"] == method]
            if not group:
                continue
            entry = {"target": target, "method": method, "seeds": len(group)}
            for key in ("modes", "modes_strict", "high_quality", "reverse_kl", "seconds"):
                values = np.array([r[key] for r in group], dtype=float)
                entry[key] = {
                    "min": float(values.min()),
                    "median": float(np.median(values)),
                    "max": float(values.max()),
                }
            out.append(entry)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ring-seeds", type=int, default=10, help="seeds 0..N-1 on the ring")
    parser.add_argument("--grid-seeds", type=int, default=3, help="seeds 0..N-1 on the 5x5 grid (0: skip)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rows = seed_table("ring", METHODS, range(args.ring_seeds))
    if args.grid_seeds:
        rows += seed_table("grid", METHODS, range(args.grid_seeds))
    defaults = {
        name: p.default
        for name, p in inspect.signature(train_gan).parameters.items()
        if p.default is not inspect.Parameter.empty and name not in ("seed", "progress", "target", "method")
    }
    data = {
        "produced_by": "benchmarks/gan_seed_table.py",
        "command": "python benchmarks/gan_seed_table.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.date.today().isoformat(),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "note": "2-core machine shared with other jobs: seconds are inflated",
        },
        "settings": defaults,
        "metrics": {
            "modes": "modes nearest to >= 1 high-quality sample (VEEGAN, arXiv:1705.07761)",
            "modes_strict": "modes nearest to >= 20 high-quality samples",
            "high_quality": "share of samples within 3 std of the nearest mode",
            "reverse_kl": "KL(generated || true) between mode histograms, nats (PacGAN, arXiv:1712.04086)",
        },
        "runs": rows,
        "summary": summarise(rows),
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(args.out)  # never leave a half-written file behind
    for entry in data["summary"]:
        print(
            f"{entry['target']:>5} {entry['method']:>8}: "
            f"modes {entry['modes']['min']:.0f}-{entry['modes']['max']:.0f}, "
            f">=20: {entry['modes_strict']['min']:.0f}-{entry['modes_strict']['max']:.0f}, "
            f"HQ {100 * entry['high_quality']['min']:.0f}-{100 * entry['high_quality']['max']:.0f}%, "
            f"rev KL {entry['reverse_kl']['min']:.2f}-{entry['reverse_kl']['max']:.2f}"
        )
    print(f"wrote {args.out} in {data['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
