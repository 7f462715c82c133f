"""``collapse-edu``: list, open, run and hand out the lessons; run headless experiments.

    collapse-edu list                       lessons with title and expected minutes
    collapse-edu lab                        open JupyterLab on the lessons
    collapse-edu run 01 [--out DIR]         execute a lesson headless to .ipynb + .html, print wall time
    collapse-edu student --out DIR          build the student versions (solutions -> stubs)
    collapse-edu simulate gaussian ...      recursive Gaussian fitting, summary per generation

Errors in arguments are reported in one line (exit status 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import lessons as lesson_files


def _list(args: argparse.Namespace) -> int:
    for lesson in lesson_files.list_lessons(args.lessons):
        minutes = f"{lesson.minutes:>3} min" if lesson.minutes else "   ? min"
        print(f"{lesson.number}  {minutes}  {lesson.title}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    directory = lesson_files.lessons_dir(args.lessons)
    first = lesson_files.list_lessons(directory)[0].path.name
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={directory}", first, *args.extra]
    print("Opening the course:", " ".join(command))
    return subprocess.call(command, cwd=directory)


def _run(args: argparse.Namespace) -> int:
    lesson = lesson_files.find_lesson(args.lesson, args.lessons)
    out = None if args.inplace and args.out is None else Path(args.out or "executed")
    seconds, peak_mb = lesson_files.run_lesson(lesson, out, inplace=args.inplace, timeout=args.timeout)
    where = ", ".join(
        filter(None, [str(lesson.path) if args.inplace else "", f"{out}/{lesson.name}.ipynb and .html" if out else ""])
    )
    memory = f", peak kernel memory {peak_mb:.0f} MB" if peak_mb is not None else ""
    print(f"{lesson.name}: executed in {seconds:.1f} s{memory} -> {where}")
    return 0


def _student(args: argparse.Namespace) -> int:
    from .student import build_student_versions

    paths = [lesson.path for lesson in lesson_files.list_lessons(args.lessons)]
    written = build_student_versions(paths, Path(args.out))
    print(f"wrote {len(written)} student notebooks to {args.out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    lessons = lesson_files.list_lessons(args.lessons)
    index = lesson_files.export_site(lessons, Path(args.out), execute=not args.no_execute, timeout=args.timeout)
    print(f"exported {len(lessons)} lessons; open {index}")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from .monitor import compare_files, report_figure, write_html

    report = compare_files(
        args.reference, args.candidate, kind=args.kind, max_rows=args.max_rows, max_tokens=args.max_tokens
    )
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.to_text())
    if args.html:
        write_html(report, args.html)
        print(f"report written to {args.html}", file=sys.stderr)
    if args.plot:
        report_figure(report).savefig(args.plot)
        print(f"figure written to {args.plot}", file=sys.stderr)
    levels = {"never": 3, "warn": 1, "flag": 2}
    return 1 if ("ok", "warn", "flag").index(report.verdict) >= levels[args.fail_on] else 0


# --------------------------------------------------------------------------- simulate


def _emit(args: argparse.Namespace, parameters: dict, rows: list[dict], figure: Callable[[], object] | None) -> None:
    """Print the per-generation rows as JSON (``--json``) or as a table; save ``--plot``."""
    if args.json:
        print(json.dumps({"parameters": parameters, "generations": rows}, indent=1))
    else:
        keys = list(rows[0])
        print("  ".join(f"{k:>14}" for k in keys))
        step = max(1, (len(rows) - 1) // 20)
        for row in rows[::step] if rows[-1] in rows[::step] else [*rows[::step], rows[-1]]:
            print("  ".join(f"{row[k]:>14.6g}" if isinstance(row[k], float) else f"{row[k]:>14}" for k in keys))
    if getattr(args, "plot", None) and figure is not None:
        figure().savefig(args.plot)
        print(f"figure written to {args.plot}", file=sys.stderr if args.json else sys.stdout)


def _simulate_gaussian(args: argparse.Namespace) -> int:
    from . import theory
    from .figures.gaussian import sigma_collapse
    from .gaussian import simulate_gaussian

    history = simulate_gaussian(
        n=args.n,
        generations=args.generations,
        runs=args.runs,
        ddof=args.ddof,
        fast=not args.direct,
        seed=args.seed,
        progress=not args.json,
    )
    sigma, mu = history["sigma"], history["mu"]
    rows = []
    for t in history.generations:
        q05, q25, q75, q95 = np.quantile(sigma[t], [0.05, 0.25, 0.75, 0.95])
        rows.append(
            {
                "generation": int(t),
                "sigma_median": float(np.median(sigma[t])),
                "sigma_mean": float(np.mean(sigma[t])),
                "sigma_q05": float(q05),
                "sigma_q25": float(q25),
                "sigma_q75": float(q75),
                "sigma_q95": float(q95),
                "sigma2_mean": float(np.mean(sigma[t] ** 2)),
                "mu2_mean": float(np.mean(mu[t] ** 2)),
                "theory_sigma_median": float(theory.sigma_quantile(0.5, t, args.n, args.ddof)),
                "theory_sigma2_mean": float(theory.expected_variance(t, args.n, args.ddof)),
                "theory_mu2_mean": float(theory.mean_drift_mse(t, args.n, args.ddof)),
            }
        )
    parameters = {
        "n": args.n,
        "generations": args.generations,
        "runs": args.runs,
        "ddof": args.ddof,
        "seed": args.seed,
        "path": "direct" if args.direct else "fast (sufficient statistics)",
    }
    _emit(args, parameters, rows, lambda: sigma_collapse(args.n, args.generations, args.runs, args.ddof, args.seed))
    return 0


def _add_gaussian(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("gaussian", help="refit a 1-D Gaussian to its own samples")
    p.add_argument("--n", type=int, default=100, help="samples per generation (>= 2)")
    p.add_argument("--generations", type=int, default=100)
    p.add_argument("--runs", type=int, default=1000, help="independent runs simulated together")
    p.add_argument("--ddof", type=int, default=0, choices=(0, 1), help="0: MLE fit, 1: unbiased variance")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--direct", action="store_true", help="draw all n samples instead of the exact fast path")
    p.add_argument("--json", action="store_true", help="print per-generation statistics as JSON")
    p.add_argument("--plot", metavar="FILE", help="save the sigma figure (png, pdf, svg)")
    p.set_defaults(handler=_simulate_gaussian)


def _simulate_categorical(args: argparse.Namespace) -> int:
    from . import theory
    from .categorical import simulate_categorical, starting_distribution
    from .figures.categorical import history_summary

    p0 = starting_distribution(args.categories, args.distribution, args.zipf_exponent)
    real_fraction = args.real_fraction if args.policy == "fresh-real" else None
    if args.real_fraction is not None and args.policy != "fresh-real":
        raise ValueError(f"--real-fraction is only used with --policy fresh-real, got --policy {args.policy}")
    history = simulate_categorical(
        p0,
        n=args.n,
        generations=args.generations,
        runs=args.runs,
        policy=args.policy,
        real_fraction=real_fraction,
        seed=args.seed,
        progress=not args.json,
    )
    surviving_theory = heterozygosity_theory = None
    if args.policy != "accumulate-subsample":  # no closed form for that policy
        r = real_fraction or 0.0
        if args.n <= theory.MAX_EXACT_N:
            surviving_theory = theory.expected_surviving(p0, args.n, args.generations, args.policy, r)
        heterozygosity_theory = theory.expected_heterozygosity(
            history.generations, args.n, theory.heterozygosity_of(p0), args.policy, r
        )
    surviving, heterozygosity = history["surviving"], history["heterozygosity"]
    missing = None if args.json else "n/a"  # no theory for accumulate-subsample
    rows = []
    for t in history.generations:
        rows.append(
            {
                "generation": int(t),
                "surviving_mean": float(np.mean(surviving[t])),
                "surviving_theory": missing if surviving_theory is None else float(surviving_theory[t]),
                "surviving_q05": float(np.quantile(surviving[t], 0.05)),
                "surviving_q95": float(np.quantile(surviving[t], 0.95)),
                "heterozygosity_mean": float(np.mean(heterozygosity[t])),
                "heterozygosity_theory": missing if heterozygosity_theory is None else float(heterozygosity_theory[t]),
                "one_left_share": float(np.mean(surviving[t] == 1)),
            }
        )
    parameters = {
        "categories": args.categories,
        "distribution": args.distribution,
        "zipf_exponent": args.zipf_exponent if args.distribution == "zipf" else None,
        "n": args.n,
        "generations": args.generations,
        "runs": args.runs,
        "policy": args.policy,
        "real_fraction": real_fraction,
        "seed": args.seed,
        "theory": "exact expectations (collapse_edu.theory, section Categorical)"
        if heterozygosity_theory is not None
        else "none for accumulate-subsample",
    }
    _emit(args, parameters, rows, lambda: history_summary(history, surviving_theory, heterozygosity_theory))
    return 0


def _add_categorical(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("categorical", help="refit a categorical distribution to its own samples (Wright-Fisher)")
    p.add_argument("--categories", type=int, default=100, help="number of categories K (>= 1)")
    p.add_argument("--distribution", default="zipf", choices=("uniform", "zipf"), help="starting distribution")
    p.add_argument("--zipf-exponent", type=float, default=1.0, help="s in p_i ~ i^-s (zipf only)")
    p.add_argument("--n", type=int, default=1000, help="samples per generation")
    p.add_argument("--generations", type=int, default=100)
    p.add_argument("--runs", type=int, default=200, help="independent runs simulated together")
    p.add_argument(
        "--policy", default="replace", choices=("replace", "accumulate", "accumulate-subsample", "fresh-real")
    )
    p.add_argument("--real-fraction", type=float, help="share of fresh real samples per generation (fresh-real)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print per-generation statistics as JSON")
    p.add_argument("--plot", metavar="FILE", help="save the surviving-categories figure (png, pdf, svg)")
    p.set_defaults(handler=_simulate_categorical)


def _simulate_ngram(args: argparse.Namespace) -> int:
    from .ngram import load_corpus, simulate_ngram, vocabulary_survival

    corpus = load_corpus(args.corpus, held_out=args.held_out)
    run = simulate_ngram(
        corpus,
        order=args.order,
        generations=args.generations,
        runs=args.runs,
        n=args.n,
        policy=args.policy,
        real_fraction=args.real_fraction,
        temperature=args.temperature,
        top_k=args.top_k,
        eval_sentences=args.eval_sentences,
        seed=args.seed,
        progress=False if args.json else "generations",
    )
    history = run.history
    exact_resampling = args.policy == "replace" and args.temperature == 1.0 and args.top_k is None
    if exact_resampling:  # generation 1 is fitted on real text; resampling starts after it
        counts = run.family.fit([corpus.train])[0].unigram_counts[2:]
        theory = vocabulary_survival(counts, np.maximum(history.generations - 1, 0))
    rows = []
    for t in history.generations:
        row = {"generation": int(t)}
        row.update({name: float(np.median(values[t])) for name, values in history.metrics.items()})
        if exact_resampling:
            row["theory_vocabulary"] = float(theory[t])
        rows.append(row)
    parameters = {
        "corpus": args.corpus or "pydoc (CPython reference documentation, prose)",
        "order": args.order,
        "generations": args.generations,
        "runs": args.runs,
        "n_sentences": args.n or len(corpus.train),
        "policy": str(history.policy),
        "temperature": args.temperature,
        "top_k": args.top_k,
        "seed": args.seed,
        "smoothing": "interpolated absolute discounting, D = 0.75, uniform base over the real vocabulary",
        "train_tokens": corpus.train.tokens,
        "held_out_tokens": corpus.held_out.tokens,
    }

    def figure():
        from .figures.text import collapse_dashboard

        return collapse_dashboard({str(history.policy): history}, theory_counts=counts if exact_resampling else None)

    _emit(args, parameters, rows, figure)
    return 0


def _add_ngram(simulate: argparse._SubParsersAction) -> None:
    from .loop import POLICIES

    p = simulate.add_parser("ngram", help="retrain a word n-gram language model on its own generated text")
    p.add_argument("--order", type=int, default=2, help="n-gram order K >= 1 (2: bigram)")
    p.add_argument("--generations", type=int, default=20)
    p.add_argument("--runs", type=int, default=1, help="independent runs")
    p.add_argument("--n", type=int, default=None, help="sentences per generation (default: all training sentences)")
    p.add_argument("--policy", default="replace", choices=POLICIES, help="what each generation trains on")
    p.add_argument("--real-fraction", type=float, default=None, help="fresh real share r for --policy fresh-real")
    p.add_argument("--corpus", metavar="PATH", default=None, help="UTF-8 text file or folder (default: embedded)")
    p.add_argument("--held-out", type=float, default=0.1, help="share of documents held out as unseen real text")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature > 0")
    p.add_argument("--top-k", type=int, default=None, help="sample only the k most frequent continuations")
    p.add_argument("--eval-sentences", type=int, default=500, help="sentences sampled per model for the metrics")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print per-generation metrics as JSON")
    p.add_argument("--plot", metavar="FILE", help="save the metrics figure (png, pdf, svg)")
    p.set_defaults(handler=_simulate_ngram)


def _simulate_mixture(args: argparse.Namespace) -> int:
    from . import theory
    from .figures.images import mixture_collapse
    from .mixtures import simulate_mixture

    history = simulate_mixture(
        n=args.n,
        generations=args.generations,
        runs=args.runs,
        components=args.components,
        separation=args.separation,
        max_iter=args.max_iter,
        seed=args.seed,
        keep_models=False,
        progress=not args.json,
    )
    rows = []
    for t in history.generations:
        std, weights = history["component_std"][t], history["weights"][t]
        rows.append(
            {
                "generation": int(t),
                "pooled_std_median": float(np.median(history["pooled_std"][t])),
                "min_component_std_median": float(np.median(std.min(axis=1))),
                "max_component_std_median": float(np.median(std.max(axis=1))),
                "min_weight_median": float(np.median(weights.min(axis=1))),
                "separation_median": float(np.median(history["separation"][t])),
                "theory_one_gaussian_std": float(np.sqrt(theory.expected_variance(t, args.n))),
            }
        )
    parameters = {
        "n": args.n,
        "generations": args.generations,
        "runs": args.runs,
        "components": args.components,
        "separation": args.separation,
        "max_iter": args.max_iter,
        "seed": args.seed,
        "fit": "scikit-learn GaussianMixture, full covariance, EM warm-started from the previous generation",
    }
    _emit(args, parameters, rows, lambda: mixture_collapse(history, 0))
    return 0


def _add_mixture(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("mixture", help="refit a Gaussian mixture to its own samples (Shumailov's 2-D toy)")
    p.add_argument("--n", type=int, default=1000, help="samples per generation")
    p.add_argument("--generations", type=int, default=400)
    p.add_argument("--runs", type=int, default=1, help="independent runs (fitted one after another)")
    p.add_argument("--components", type=int, default=2, help="mixture components")
    p.add_argument("--separation", type=float, default=0.0, help="0: one 2-D blob; s > 0: two blobs s apart")
    p.add_argument("--max-iter", type=int, default=10, help="EM steps per warm-started fit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print per-generation statistics as JSON")
    p.add_argument("--plot", metavar="FILE", help="save the figure of run 0 (png, pdf, svg)")
    p.set_defaults(handler=_simulate_mixture)


def _simulate_regression(args: argparse.Namespace) -> int:
    from . import theory
    from .figures.synthetic import regression_workflows
    from .regression import simulate_regression

    if args.policy == "fresh-real" and args.real_fraction is None:
        raise ValueError("--real-fraction is required with --policy fresh-real (a share r in [0, 1])")
    design = "fresh" if args.policy == "fresh-real" else args.design
    history = simulate_regression(
        args.dim,
        args.samples,
        args.generations,
        args.runs,
        policy=args.policy,
        real_fraction=args.real_fraction,
        noise=args.noise,
        ridge=args.ridge,
        design=design,
        seed=args.seed,
        progress=not args.json,
    )
    error = history["error"]
    t = history.generations
    exact = args.ridge == 0
    if not exact:
        theory_curve = None
    elif args.policy == "replace":
        theory_curve = theory.regression_error_replace(t, args.dim, args.samples, args.noise)
    elif args.policy == "accumulate":
        theory_curve = theory.regression_error_accumulate(t, args.dim, args.samples, args.noise, design=design)
    elif args.policy == "fresh-real":
        theory_curve = theory.regression_error_fresh_real(t, args.dim, args.samples, args.real_fraction, args.noise)
    else:
        theory_curve = None
    rows = []
    for k in t:
        q05, q95 = np.quantile(error[k], [0.05, 0.95])
        row = {
            "generation": int(k),
            "error_mean": float(np.mean(error[k])),
            "error_se": float(np.std(error[k]) / np.sqrt(error.shape[1])),
            "error_median": float(np.median(error[k])),
            "error_q05": float(q05),
            "error_q95": float(q95),
        }
        if theory_curve is not None:
            row["theory_error_mean"] = float(theory_curve[k])
        rows.append(row)
    parameters = {
        "policy": args.policy,
        "real_fraction": args.real_fraction,
        "dim": args.dim,
        "samples": args.samples,
        "generations": args.generations,
        "runs": args.runs,
        "noise": args.noise,
        "ridge": args.ridge,
        "design": design,
        "seed": args.seed,
        "test_error": "|w_t - w*|^2 (excess risk for x ~ N(0, I)); generation 0 is the truth",
    }
    policies = [args.policy]
    _emit(
        args,
        parameters,
        rows,
        lambda: regression_workflows(
            args.dim,
            args.samples,
            args.generations,
            args.runs,
            real_fraction=args.real_fraction or 0.0,
            design=args.design,
            policies=policies,
            seed=args.seed,
        ),
    )
    return 0


def _add_regression(simulate: argparse._SubParsersAction) -> None:
    from .loop import POLICIES

    p = simulate.add_parser("regression", help="recursive least squares: each fit relabels the next data")
    p.add_argument("--policy", choices=POLICIES, default="replace", help="what each generation trains on")
    p.add_argument("--dim", type=int, default=10, help="features d (>= 1)")
    p.add_argument("--samples", type=int, default=100, help="rows T per generation (> d + 1 for the theory)")
    p.add_argument("--generations", type=int, default=50)
    p.add_argument("--runs", type=int, default=1000, help="independent runs simulated together")
    p.add_argument("--real-fraction", type=float, default=None, help="fresh real share r (policy fresh-real)")
    p.add_argument("--noise", type=float, default=1.0, help="label noise standard deviation sigma")
    p.add_argument("--ridge", type=float, default=0.0, help="ridge penalty (0: least squares)")
    p.add_argument(
        "--design",
        choices=("fixed", "fresh"),
        default="fixed",
        help="fixed: relabel the same X each generation (Gerstgrasser et al.); fresh: new X (fresh-real: always)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print per-generation statistics as JSON")
    p.add_argument("--plot", metavar="FILE", help="save the test-error figure (png, pdf, svg)")
    p.set_defaults(handler=_simulate_regression)


def _simulate_gan(args: argparse.Namespace) -> int:
    from .figures.gan import occupancy_figure
    from .gan import gan_metrics, train_gan

    run = train_gan(
        args.target, args.method, width=args.width, lr_g=args.lr_g, lr_d=args.lr_d, steps=args.steps,
        seed=args.seed, progress=not args.json,
    )  # fmt: skip
    rows = []
    for step, samples in zip(run.steps, run.snapshots, strict=True):
        report = gan_metrics.mode_report(samples, run.target.modes, run.target.std)
        rows.append({"step": int(step), **report})
    _emit(args, {**run.settings, "seconds": round(run.seconds, 2)}, rows, lambda: occupancy_figure(run))
    return 0


def _add_gan(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("gan", help="train one toy GAN on a 2-D mixture (not recursive), mode metrics")
    p.add_argument("--target", default="ring", help="ring (8 modes) or grid (25 modes)")
    p.add_argument("--method", default="vanilla", help="vanilla or pacgan (packing 2 samples)")
    p.add_argument("--width", type=int, default=64, help="hidden units per layer of both networks")
    p.add_argument("--lr-g", type=float, default=1e-3, help="generator learning rate")
    p.add_argument("--lr-d", type=float, default=1e-3, help="discriminator learning rate")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print per-snapshot mode metrics as JSON")
    p.add_argument("--plot", metavar="FILE", help="save the mode-occupancy figure (png, pdf, svg)")
    p.set_defaults(handler=_simulate_gan)


def _simulate_continual(args: argparse.Namespace) -> int:
    from .continual import average_forgetting, run_continual
    from .figures.continual import result_figure

    result = run_continual(
        args.method, args.scenario, ewc_lambda=args.ewc_lambda, k=args.k, hidden=args.hidden, steps=args.steps,
        lr=args.lr, seed=args.seed,
    )  # fmt: skip
    rows = [
        {
            "task": i + 1,
            "average_accuracy": float(result.average_accuracy[i]),
            "average_forgetting": average_forgetting(result.R, after=i),
            **{f"accuracy_task_{j + 1}": float(result.R[i, j]) for j in range(len(result.R))},
        }
        for i in range(len(result.R))
    ]
    parameters = {"method": result.method, "scenario": result.scenario, **result.settings}
    _emit(args, {**parameters, "seconds": round(result.seconds, 2)}, rows, lambda: result_figure(result))
    return 0


def _add_continual(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("continual", help="one MLP on 5 split-digit tasks in sequence (not recursive), R rows")
    p.add_argument("--method", default="finetune", help="finetune, ewc, replay or joint")
    p.add_argument("--scenario", default="class-incremental", help="task-incremental or class-incremental")
    p.add_argument("--ewc-lambda", type=float, default=1e5, help="EWC penalty strength")
    p.add_argument("--k", type=int, default=10, help="replay: stored training examples per class")
    p.add_argument("--hidden", type=int, default=100, help="hidden units per layer")
    p.add_argument("--steps", type=int, default=100, help="full-batch Adam steps per task")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one row of the accuracy matrix per task as JSON")
    p.add_argument("--plot", metavar="FILE", help="save the accuracy-matrix figure (png, pdf, svg)")
    p.set_defaults(handler=_simulate_continual)


#: One entry per model family: a function that adds its ``simulate`` sub-command.
SIMULATIONS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_gaussian,
    _add_mixture,
    _add_ngram,
    _add_regression,
    _add_categorical,
    _add_gan,
    _add_continual,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collapse-edu", description="Model collapse, hands-on: the course tool.")
    parser.add_argument("--lessons", metavar="DIR", help="the lessons folder (default: ./lessons or the checkout's)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list the lessons").set_defaults(handler=_list)

    lab = commands.add_parser("lab", help="open JupyterLab on the lessons")
    lab.add_argument("extra", nargs="*", help="further options for jupyter lab (e.g. --port=9999)")
    lab.set_defaults(handler=_lab)

    run = commands.add_parser("run", help="execute a lesson headless into .ipynb and .html")
    run.add_argument("lesson", help="number (01), name or path of the lesson")
    run.add_argument("--out", help="output folder (default: ./executed)")
    run.add_argument("--inplace", action="store_true", help="write the executed notebook back over the lesson")
    run.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    run.set_defaults(handler=_run)

    student = commands.add_parser("student", help="build the student versions of all lessons")
    student.add_argument("--out", required=True, help="output folder")
    student.set_defaults(handler=_student)

    export = commands.add_parser("export", help="execute all lessons into a static HTML site with an index")
    export.add_argument("--out", default="site", help="output folder (default: ./site)")
    export.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    export.add_argument("--no-execute", action="store_true", help="convert the committed notebooks without running")
    export.set_defaults(handler=_export)

    monitor = commands.add_parser("monitor", help="compare a dataset version with a trusted reference")
    monitor.add_argument("reference", help="trusted data: .csv/.npy file, or a text file or folder")
    monitor.add_argument("candidate", help="the new version, same kind as the reference")
    monitor.add_argument("--kind", choices=("auto", "numeric", "text"), default="auto")
    monitor.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    monitor.add_argument("--plot", metavar="FILE", help="also write the report figure (png, pdf, svg)")
    monitor.add_argument("--json", action="store_true", help="print the report as JSON")
    monitor.add_argument("--max-rows", type=int, default=200_000, help="numeric rows kept per file")
    monitor.add_argument("--max-tokens", type=int, default=2_000_000, help="text tokens kept per side")
    monitor.add_argument(
        "--fail-on",
        choices=("flag", "warn", "never"),
        default="flag",
        help="exit with status 1 when the overall verdict reaches this level",
    )
    monitor.set_defaults(handler=_monitor)

    simulate = commands.add_parser("simulate", help="headless experiments").add_subparsers(dest="family", required=True)
    for add in SIMULATIONS:
        add(simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command == "lab":  # options for jupyter lab itself pass through
        args.extra = [*args.extra, *unknown]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.handler(args)
    except (ValueError, TypeError, FileNotFoundError) as error:
        parser.exit(2, f"collapse-edu: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
