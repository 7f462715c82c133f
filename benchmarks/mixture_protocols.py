"""Precompute lesson 06's long mixture runs: a fresh fit every generation (Shumailov et al.'s
protocol) against EM warm-started from the previous generation's fit, over many runs.

The lesson runs the toy live for a few hundred generations; the paper's horizon (1000+ generations,
20 runs, both protocols) takes minutes, so the lesson loads the file this script writes:

    python benchmarks/mixture_protocols.py                      # 20 runs x 1000 generations, both protocols
    python benchmarks/mixture_protocols.py --sklearn-runs 20    # + the authors' code path (scikit-learn), slow

Without ``--sklearn-runs`` the scikit-learn runs already in the output file (if any) are kept.

Both protocols use collapse_edu.mixtures.GaussianMixtureFamily (tol 1e-5, at most 2000 EM steps; the
only difference is where EM starts) in the generation loop, n = 1000 points per generation, one 2-D
blob N(0, I) as the real world. ``--sklearn-runs`` adds the same loop with a new scikit-learn
``GaussianMixture`` per run and generation (k-means start, tol 1e-5, max_iter 2000, full covariances:
the settings of the authors' GMM notebook), to show that our vectorised EM gives the same picture.

Output: collapse_edu/results/mixture_protocols.npz, every ``--every``-th generation of the per-run
metrics (float16, about 60 kB), with the settings, the machine and the run times as a JSON string ``meta``.
Another CPU may change single runs (floating point), not the counts over runs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from collapse_edu.environment import machine_info, run_on_avx2_code_paths
from collapse_edu.loop import ModelSource, run_generations
from collapse_edu.mixtures import RESULTS, GaussianMixtureFamily, MixtureModel, blob_truth, simulate_mixture

# the package's results folder, where lesson 06 reads it (in a checkout or an installed package alike)
OUT = RESULTS
KEEP = ("light_weight", "light_std", "heavy_std", "pooled_std", "separation", "em_iterations")


class SklearnFreshFit(GaussianMixtureFamily):
    """The authors' protocol with scikit-learn itself: a new ``GaussianMixture`` for every run and
    generation (k-means start, tol 1e-5, max_iter 2000, full covariances), fitted one after another."""

    def __init__(self, components: int = 2, seed: int = 0):
        super().__init__(components, seed=seed)
        self.fits = 0

    def fit(self, data: np.ndarray) -> MixtureModel:
        from sklearn.mixture import GaussianMixture

        parts = []
        for r in range(data.shape[0]):
            gm = GaussianMixture(
                self.components,
                covariance_type="full",
                tol=1e-5,
                max_iter=2000,
                random_state=np.random.RandomState([self.seed, self.fits, r]),
            ).fit(data[r])
            parts.append((gm.weights_, gm.means_, gm.covariances_, gm.n_iter_))
        self.fits += 1
        weights, means, covariances, iterations = (np.stack(p) for p in zip(*parts, strict=True))
        return MixtureModel(weights, means, covariances, iterations)


def thin(metrics: dict[str, np.ndarray], generation: np.ndarray, every: int) -> dict[str, np.ndarray]:
    """Every ``every``-th generation (and the last) of each metric, as float16 (3 significant digits;
    weights below 6e-8 become 0): small enough to ship with the package."""
    keep = (generation % every == 0) | (generation == generation[-1])
    out = {name: np.asarray(metrics[name])[keep].astype(np.float16) for name in KEEP}
    out["generation"] = generation[keep].astype(np.int32)
    return out


def final_summary(history) -> dict:
    light = history["light_weight"][-1]
    return {
        "dead (light weight < 0.01)": int(np.sum(light < 0.01)),
        "median light weight": round(float(np.median(light)), 3),
        "median pooled std": round(float(np.median(history["pooled_std"][-1])), 3),
        "median light std": round(float(np.median(history["light_std"][-1])), 3),
        "median heavy std": round(float(np.median(history["heavy_std"][-1])), 3),
        "mean EM steps per fit": round(float(history["em_iterations"][1:].mean()), 1),
    }


def main(argv: list[str] | None = None) -> int:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2024, help="not the lesson's seed")
    parser.add_argument("--every", type=int, default=10, help="keep every k-th generation in the file")
    parser.add_argument("--sklearn-runs", type=int, default=0, help="runs of the scikit-learn reference (0: skip)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    arrays: dict[str, np.ndarray] = {}
    machine = machine_info("processor", "cpus", "system")
    meta: dict = {
        "settings": {
            "n": args.n,
            "runs": args.runs,
            "generations": args.generations,
            "seed": args.seed,
            "components": 2,
            "tol": 1e-5,
            "max_iter": 2000,
            "truth": "one 2-D blob N(0, I)",
            "protocols": "fresh: k-means start every generation; warm: EM starts from the previous fit; "
            "warm10: warm start with at most 10 EM steps and tol 1e-4 (the lesson's earlier setting)",
        },
        "machine": f"{machine['processor']}, {machine['cpus']} CPUs, {machine['system']}",
        **machine_info("python", "date"),
        "seconds": {},
        "summary": {},
    }
    protocols = {
        "fresh": {"warm_start": False},
        "warm": {"warm_start": True},
        "warm10": {"warm_start": True, "max_iter": 10, "tol": 1e-4},  # the lesson's earlier setting
    }
    for name, options in protocols.items():
        start = time.perf_counter()
        history = simulate_mixture(
            n=args.n,
            generations=args.generations,
            runs=args.runs,
            **options,
            seed=args.seed,
            keep_models=False,
            progress=f"{name} fit",
        )
        meta["seconds"][name] = round(time.perf_counter() - start, 1)
        meta["summary"][name] = final_summary(history)
        if name != "warm10":  # its summary is enough
            kept = thin(history.metrics, history.generations, args.every)
            arrays.update({f"{name}/{key}": value for key, value in kept.items()})
        print(name, meta["seconds"][name], "s", meta["summary"][name], flush=True)
    if args.sklearn_runs:
        import sklearn.mixture  # noqa: F401 - load its BLAS and OpenMP libraries before limiting them
        from threadpoolctl import threadpool_limits

        start = time.perf_counter()
        with threadpool_limits(limits=1):  # BLAS and scikit-learn's OpenMP k-means: one thread each
            history = run_generations(
                SklearnFreshFit(seed=args.seed),
                ModelSource(blob_truth()),
                n=args.n,
                generations=args.generations,
                runs=args.sklearn_runs,
                seed=args.seed + 1,
                progress="scikit-learn fresh fit",
            )
        meta["seconds"]["sklearn"] = round(time.perf_counter() - start, 1)
        meta["summary"]["sklearn"] = final_summary(history)
        meta["settings"]["sklearn_runs"] = args.sklearn_runs
        meta["sklearn_date"] = meta["date"]
        kept = thin(history.metrics, history.generations, args.every)
        arrays.update({f"sklearn/{key}": value for key, value in kept.items()})
        print("sklearn", meta["seconds"]["sklearn"], "s", meta["summary"]["sklearn"], flush=True)
    elif args.out.is_file():  # keep the slow scikit-learn reference of an earlier run
        with np.load(args.out) as old:
            earlier = json.loads(str(old["meta"]))
            if "sklearn" in earlier["summary"]:
                stored = {key.split("/", 1)[1]: old[key] for key in old.files if key.startswith("sklearn/")}
                kept = thin(stored, stored["generation"], args.every)
                arrays.update({f"sklearn/{key}": value for key, value in kept.items()})
                meta["summary"]["sklearn"] = earlier["summary"]["sklearn"]
                meta["seconds"]["sklearn"] = earlier["seconds"]["sklearn"]
                meta["settings"]["sklearn_runs"] = earlier["settings"]["sklearn_runs"]
                meta["sklearn_date"] = earlier.get("sklearn_date", earlier["date"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
