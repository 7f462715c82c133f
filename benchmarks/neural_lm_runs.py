"""Multi-seed runs for lesson 04 (a neural language model collapses), too slow to run inside the lesson.

For every seed: train generation 0 from scratch on the real text with the lesson's settings (the
defaults of ``collapse_edu.neural_lm``), then run the generation loop from that one model for each
policy (fully synthetic, 10% fresh real text, accumulate), recording the lesson's metrics, word
survival by count and the histograms of per-sentence perplexity under generation 0
(``neural_lm.generation_measure``). Writes ``collapse_edu/results/neural_lm_runs.json`` after every
run, so an interrupted job keeps what it finished (``--resume`` skips it next time). Run from the
repository root:

    python benchmarks/neural_lm_runs.py                       # seeds 1-5, 10 generations, 3 policies
    python benchmarks/neural_lm_runs.py --seeds 6 7 --resume  # add seeds to the file
    python benchmarks/neural_lm_runs.py --bases-only          # only retrain and re-measure generation 0

``--bases-only`` keeps the runs and rewrites every seed's record of generation 0 (the measures of its
held-out text), after checking that the retrained model judges held-out text exactly as the stored
record says (so the runs still start from it).

A CUDA GPU is used when present (``--device cpu`` forces the CPU). On one core of the course
machine a seed takes about 5 CPU minutes (accumulate is most of it: its training set grows).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from collapse_edu import neural_lm
from collapse_edu.environment import RESULTS_DIR, load_average, machine_info, run_on_avx2_code_paths, write_summary
from collapse_edu.ngram import UNKNOWN_ID, load_corpus

POLICIES = {"replace": None, "fresh-real": 0.1, "accumulate": None}
DEFAULT_OUT = RESULTS_DIR / neural_lm.RESULTS_FILE


def rounded(value):
    """Floats to 5 significant digits, arrays to lists: a small, stable JSON file."""
    if isinstance(value, np.ndarray):
        return [rounded(v) for v in value.tolist()]
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.5g}")
    return value


def trained_base(corpus, seed: int, threads: int, device) -> tuple[neural_lm.TinyTransformer, dict]:
    """A seed's generation 0, trained, and what the runs file stores of it: its perplexity of held-out
    and training text, the histogram and median of its per-sentence perplexity of held-out text (all
    sentences, and only those whose words all occur in the training text: the others hold ``<unk>``, a
    word generation 0 was never taught to predict), how many sentence ends it expects per sentence, and
    the wall and CPU seconds of its training."""
    wall, cpu = time.perf_counter(), time.process_time()
    base = neural_lm.train_base(corpus, seed=seed, threads=threads, device=device)
    timing = {"seconds": round(time.perf_counter() - wall, 1), "cpu_seconds": round(time.process_time() - cpu, 1)}
    with neural_lm.torch_threads(threads):
        judged = neural_lm.sentence_perplexities(base, corpus.held_out)
        known = ~corpus.held_out.holding(UNKNOWN_ID)
        record = {
            "perplexity_real": rounded(neural_lm.lm_perplexity(base, corpus.held_out)),
            "perplexity_train": rounded(neural_lm.lm_perplexity(base, corpus.train)),
            "held_out_histogram": rounded(neural_lm.perplexity_histogram(judged)),
            "held_out_median": rounded(float(np.median(judged))),
            "held_out_known_histogram": rounded(neural_lm.perplexity_histogram(judged[known])),
            "held_out_known_median": rounded(float(np.median(judged[known]))),
            "held_out_known_sentences": int(known.sum()),
            "expected_ends_held_out": rounded(float(np.nanmean(neural_lm.expected_ends(base, corpus.held_out)))),
            "expected_ends_train": rounded(float(np.nanmean(neural_lm.expected_ends(base, corpus.train)))),
        }
    return base, {**record, **timing}


def rewrite_bases(out: Path, seeds, threads: int, device) -> None:
    """--bases-only: retrain every seed's generation 0, check it against the stored record, rewrite the record."""
    results = json.loads(out.read_text(encoding="utf-8"))
    corpus = load_corpus()
    for seed in seeds:
        key = str(seed)
        stored = results["bases"].get(key)
        if stored is None:
            raise SystemExit(f"{out} holds no generation 0 of seed {seed}")
        _, record = trained_base(corpus, seed, threads, device)
        for name in ("held_out_histogram", "held_out_median", "perplexity_real"):
            if record[name] != stored[name]:
                raise SystemExit(f"seed {seed}: the retrained generation 0 differs from the stored one ({name})")
        results["bases"][key] = record
        print(
            f"seed {seed}: generation 0 retrained and matches; held-out median {record['held_out_median']}, "
            f"in-vocabulary {record['held_out_known_median']}",
            flush=True,
        )
    write_summary(out, results, indent=1, inline_lists=True)


def main() -> None:
    run_on_avx2_code_paths()  # the stored results are made on the code paths of the committed outputs
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    parser.add_argument("--device", default=None, help="cpu or cuda (default: a GPU when present)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --out and add the rest")
    parser.add_argument("--bases-only", action="store_true", help="keep the runs; retrain and re-measure generation 0")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else neural_lm.default_device()
    if args.bases_only:
        rewrite_bases(Path(args.out), args.seeds, args.threads, device)
        return

    corpus = load_corpus()
    template = neural_lm.NeuralLM(len(corpus.vocab), device=device)
    settings = {
        **neural_lm.settings_of(template),
        "n": len(corpus.train),
        "eval_sentences": 500,
        "temperature": 1.0,
        "generations": args.generations,
        "policies": {p: POLICIES[p] for p in args.policies},
        "corpus": "embedded snapshot, 10% of the documents held out (split seed 0), as in lessons 03-04",
        "count_buckets": [list(b) for b in neural_lm.COUNT_BUCKETS],
        "perplexity_bins": rounded(neural_lm.PERPLEXITY_BINS),
    }
    out = Path(args.out)
    results = {"runs": {}, "bases": {}}
    if args.resume and out.exists():
        results = json.loads(out.read_text(encoding="utf-8"))
        if results["settings"] != rounded(settings):
            raise SystemExit(f"{out} was made with other settings; run without --resume to start afresh")
    results.update(
        description="lesson 04: a tiny transformer retrained on its own text (Shumailov et al.'s fine-tune "
        "protocol); per policy and seed, one value per generation 0..G of every metric",
        settings=rounded(settings),
    )
    measure = neural_lm.generation_measure(corpus)
    start = time.perf_counter()
    for seed in args.seeds:
        key = str(seed)
        base = None
        for policy in args.policies:
            if key in results["runs"].get(policy, {}):
                continue
            if base is None:
                base, results["bases"][key] = trained_base(corpus, seed, args.threads, device)
            wall, cpu = time.perf_counter(), time.process_time()
            run = neural_lm.simulate_transformer(
                corpus,
                generations=args.generations,
                policy=policy,
                real_fraction=POLICIES[policy],
                base=base,
                seed=seed,
                threads=args.threads,
                device=device,
                measure=measure,
            )
            metrics = {name: rounded(values[:, 0]) for name, values in run.history.metrics.items()}
            results["runs"].setdefault(policy, {})[key] = {
                "metrics": metrics,
                "seconds": round(time.perf_counter() - wall, 1),
                "cpu_seconds": round(time.process_time() - cpu, 1),
            }
            ppl = metrics["perplexity_real"]
            print(
                f"seed {seed} {policy:>10}: held-out perplexity {ppl[0]:.1f} -> {ppl[-1]:.1f}, vocabulary "
                f"{metrics['vocabulary'][0]} -> {metrics['vocabulary'][-1]} "
                f"({results['runs'][policy][key]['cpu_seconds']} CPU s)",
                flush=True,
            )
            results["seeds"] = sorted({int(s) for runs in results["runs"].values() for s in runs})
            results["machine"] = {
                **machine_info("python", "torch", "processor"),
                "device": str(device),
                "threads": args.threads,
                "load_average": round(load_average(), 1),
                "seconds_this_job": round(time.perf_counter() - start, 1),
            }
            write_summary(out, results, indent=1, inline_lists=True)  # after every run: --resume keeps it
    print(f"wrote {out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
