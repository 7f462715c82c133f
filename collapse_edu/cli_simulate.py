"""``collapse-edu simulate FAMILY``: headless experiments for lecture slides and scripts.

One sub-command per model family. Each runs the family's simulation, prints per-generation (gan:
per-snapshot; continual: per-task) summaries, next to their theory where one exists, as a table or
``--json``, and saves with ``--plot`` a figure drawn from that same run (the numbers printed, with
the theory where one is printed).
The ``--plot`` file is checked before the simulation starts (see :mod:`collapse_edu.outputs`).
Shared options come from :func:`add_output_options` and
:func:`add_policy_options`; a new family adds one ``_add_<family>`` function to ``SIMULATIONS``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable

import numpy as np

from .categorical import ZIPF_EXPONENT
from .loop import POLICIES


def add_force_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="replace existing files that collapse-edu did not write")


def add_output_options(p: argparse.ArgumentParser, *, rows: str, figure: str) -> None:
    """--seed, --json, --plot and --force: every simulation has them."""
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help=f"print {rows} as JSON")
    p.add_argument("--plot", type=path_text, metavar="FILE", help=f"save {figure} (png, pdf, svg; no extension: png)")
    add_force_option(p)


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars only for a person watching: not with --json, and not when stderr is a file or pipe
    (a log would fill with carriage-return frames)."""
    return not args.json and sys.stderr.isatty()


def path_text(text: str) -> str:
    """A file or folder name from the command line: not empty (an empty one would silently mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a file or folder, got an empty string")
    return text


def checked(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The handler, after checking that its --plot file may be written (before any simulation)."""

    def run(args: argparse.Namespace) -> int:
        if args.plot:
            from .course import protected_folders
            from .outputs import check_targets, figure_path

            inputs = [args.corpus] if getattr(args, "corpus", None) else []
            protected = protected_folders(getattr(args, "lessons", None))
            what = f"simulate {args.family}"
            check_targets([figure_path(args.plot)], inputs=inputs, protected=protected, force=args.force, what=what)
        try:
            return handler(args)
        except (ValueError, TypeError) as error:
            message = option_names(str(error), vars(args))
            raise (ValueError if isinstance(error, ValueError) else TypeError)(message) from None

    return run


def option_names(message: str, options: Iterable[str]) -> str:
    """``message`` with the Python names of the command's options written as they are typed on the command
    line: "real_fraction must be ..." -> "--real-fraction must be ...", "ridge > 0" -> "--ridge > 0",
    "use held_out=0" -> "use --held-out 0" (only a name that a rule, a comparison or a value follows)."""
    for name in sorted(options, key=len, reverse=True):
        flag = "--" + name.replace("_", "-")
        message = re.sub(rf"(?<![\w-]){re.escape(name)}(?= (?:must|is|needs)\b)", flag, message)
        message = re.sub(rf"(?:^|(?<=set )|(?<=use )){re.escape(name)}(?= [<>]=? )", flag, message)
        message = re.sub(rf"(?<![\w-]){re.escape(name)}=(?=[\w.-])", flag + " ", message)
    return message


def only_with(args: argparse.Namespace, option: str, chooser: str, value: str, default: object) -> object:
    """The value of ``--option`` (``default`` when it was not given); refused when it was given but
    ``--chooser`` is not ``value``, since the simulation would ignore it without a word."""
    given = getattr(args, option)
    chosen = getattr(args, chooser)
    if given is not None and chosen != value:
        flag, choice = (f"--{name.replace('_', '-')}" for name in (option, chooser))
        raise ValueError(f"{flag} is only used with {choice} {value}, got {choice} {chosen}")
    return default if given is None else given


def add_policy_options(p: argparse.ArgumentParser) -> None:
    """--policy and --real-fraction: the generation loop's data policy."""
    p.add_argument("--policy", choices=POLICIES, default="replace", help="what each generation trains on")
    p.add_argument("--real-fraction", type=float, default=None, help="share r of fresh real data (policy fresh-real)")


def real_fraction(args: argparse.Namespace) -> float | None:
    """The --real-fraction value, required with --policy fresh-real and refused without it."""
    if args.policy == "fresh-real" and args.real_fraction is None:
        raise ValueError("--real-fraction is required with --policy fresh-real (a share r in [0, 1])")
    if args.policy != "fresh-real" and args.real_fraction is not None:
        raise ValueError(f"--real-fraction is only used with --policy fresh-real, got --policy {args.policy}")
    return args.real_fraction


def emit(args: argparse.Namespace, parameters: dict, rows: list[dict], figure: Callable[[], object] | None) -> None:
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
        import matplotlib.pyplot as plt

        from .outputs import save_figure

        drawn = figure()
        written = save_figure(drawn, args.plot)
        plt.close(drawn)
        print(f"figure written to {written}", file=sys.stderr if args.json else sys.stdout)


def _simulate_gaussian(args: argparse.Namespace) -> int:
    from . import theory
    from .figures.gaussian import sigma_history
    from .gaussian import simulate_gaussian

    history = simulate_gaussian(
        n=args.n,
        generations=args.generations,
        runs=args.runs,
        ddof=args.ddof,
        fast=False if args.direct else None,
        policy=args.policy,
        real_fraction=real_fraction(args),
        seed=args.seed,
        progress=show_progress(args),
    )
    replace = args.policy == "replace"  # the closed forms below are for the replace policy
    sigma, mu = history["sigma"], history["mu"]
    moments = None  # exact (E[sigma_t^2], E[mu_t^2]) of the MLE loop under accumulate and fresh-real
    if args.ddof == 0 and args.policy == "accumulate":
        moments = theory.gaussian_accumulate_moments(history.generations, args.n)
    elif args.ddof == 0 and args.policy == "fresh-real":
        moments = theory.biased_sampling_moments(history.generations, args.n, 1.0, args.real_fraction)
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
            }
        )
        if replace:
            rows[-1]["theory_sigma_median"] = float(theory.sigma_quantile(0.5, t, args.n, args.ddof))
            rows[-1]["theory_sigma2_mean"] = float(theory.expected_variance(t, args.n, args.ddof))
            rows[-1]["theory_mu2_mean"] = float(theory.mean_drift_mse(t, args.n, args.ddof))
        elif moments is not None:
            rows[-1]["theory_sigma2_mean"] = float(moments[0][t])
            rows[-1]["theory_mu2_mean"] = float(moments[1][t])
    parameters = {
        "n": args.n,
        "generations": args.generations,
        "runs": args.runs,
        "ddof": args.ddof,
        "policy": str(history.policy),
        "seed": args.seed,
        "path": "direct" if args.direct or args.policy == "accumulate-subsample" else "fast (sufficient statistics)",
    }
    emit(
        args,
        parameters,
        rows,
        lambda: sigma_history(
            history,
            args.ddof,
            theory_variance=None if moments is None else moments[0],
            theory_label="theory: exact mean",
        ),
    )
    return 0


def _add_gaussian(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("gaussian", help="refit a 1-D Gaussian to its own samples")
    p.add_argument("--n", type=int, default=100, help="samples per generation (>= 2)")
    p.add_argument("--generations", type=int, default=100)
    p.add_argument("--runs", type=int, default=1000, help="independent runs simulated together")
    p.add_argument("--ddof", type=int, default=0, choices=(0, 1), help="0: MLE fit, 1: unbiased variance")
    p.add_argument("--direct", action="store_true", help="draw all n samples instead of the exact fast path")
    add_policy_options(p)
    add_output_options(p, rows="per-generation statistics", figure="the sigma figure")
    p.set_defaults(handler=checked(_simulate_gaussian))


def _simulate_categorical(args: argparse.Namespace) -> int:
    from . import theory
    from .categorical import simulate_categorical, starting_distribution
    from .figures.categorical import history_summary

    args.zipf_exponent = only_with(args, "zipf_exponent", "distribution", "zipf", ZIPF_EXPONENT)
    p0 = starting_distribution(args.categories, args.distribution, args.zipf_exponent)
    r = real_fraction(args)
    history = simulate_categorical(
        p0,
        n=args.n,
        generations=args.generations,
        runs=args.runs,
        policy=args.policy,
        real_fraction=r,
        seed=args.seed,
        progress=show_progress(args),
    )
    surviving_theory = heterozygosity_theory = None
    if args.policy != "accumulate-subsample":  # no closed form for that policy
        if args.n <= theory.MAX_EXACT_N:
            surviving_theory = theory.expected_surviving(p0, args.n, args.generations, args.policy, r or 0.0)
        heterozygosity_theory = theory.expected_heterozygosity(
            history.generations, args.n, theory.heterozygosity_of(p0), args.policy, r or 0.0
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
        "real_fraction": r,
        "seed": args.seed,
        "theory": "exact expectations (collapse_edu.theory, section Categorical)"
        if heterozygosity_theory is not None
        else "none for accumulate-subsample",
    }
    emit(args, parameters, rows, lambda: history_summary(history, surviving_theory, heterozygosity_theory))
    return 0


def _add_categorical(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("categorical", help="refit a categorical distribution to its own samples (Wright-Fisher)")
    p.add_argument("--categories", type=int, default=100, help="number of categories K (>= 1)")
    p.add_argument("--distribution", default="zipf", choices=("uniform", "zipf"), help="starting distribution")
    p.add_argument("--zipf-exponent", type=float, help=f"s in p_i ~ i^-s (zipf only; default {ZIPF_EXPONENT:g})")
    p.add_argument("--n", type=int, default=1000, help="samples per generation")
    p.add_argument("--generations", type=int, default=100)
    p.add_argument("--runs", type=int, default=200, help="independent runs simulated together")
    add_policy_options(p)
    add_output_options(p, rows="per-generation statistics", figure="the surviving-categories figure")
    p.set_defaults(handler=checked(_simulate_categorical))


def _simulate_ngram(args: argparse.Namespace) -> int:
    from .ngram import load_corpus, simulate_ngram, vocabulary_by_generation

    corpus = load_corpus(args.corpus, held_out=args.held_out)
    run = simulate_ngram(
        corpus,
        order=args.order,
        generations=args.generations,
        runs=args.runs,
        n=args.n,
        policy=args.policy,
        real_fraction=real_fraction(args),
        temperature=args.temperature,
        top_k=args.top_k,
        eval_sentences=args.eval_sentences,
        seed=args.seed,
        progress="generations" if show_progress(args) else False,
    )
    history = run.history
    exact_resampling = args.policy == "replace" and args.temperature == 1.0 and args.top_k is None
    kept = (args.n or len(corpus.train)) / len(corpus.train)  # the share of real sentences generation 1 sees
    if exact_resampling:  # generation 1 is fitted on real text; resampling starts after it
        counts = run.family.fit([corpus.train])[0].unigram_counts[2:]
        theory = vocabulary_by_generation(counts, history.generations, kept)
    rows = []
    for t in history.generations:
        row = {"generation": int(t)}
        row.update({name: float(np.median(values[t])) for name, values in history.metrics.items()})
        if exact_resampling:
            row["theory_vocabulary"] = float(theory[t])
        rows.append(row)
    parameters = {
        "corpus": args.corpus or "embedded snapshot of the CPython 3.11.7 reference documentation (prose)",
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

        sampling = f"temperature {args.temperature:g}" + (f", top-k {args.top_k}" if args.top_k else "")
        return collapse_dashboard(
            {str(history.policy): history},
            theory_counts=counts if exact_resampling else None,
            theory_kept=kept,
            reference=args.policy != "replace",  # the level of the model of all real text
            title=f"order-{args.order} n-gram, {history.policy}, {sampling} (median of {args.runs} run(s))",
        )

    emit(args, parameters, rows, figure)
    return 0


def _add_ngram(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("ngram", help="retrain a word n-gram language model on its own generated text")
    p.add_argument("--order", type=int, default=2, help="n-gram order K >= 1 (2: bigram)")
    p.add_argument("--generations", type=int, default=20)
    p.add_argument("--runs", type=int, default=1, help="independent runs")
    p.add_argument("--n", type=int, default=None, help="sentences per generation (default: all training sentences)")
    add_policy_options(p)
    p.add_argument(
        "--corpus", type=path_text, metavar="PATH", default=None, help="UTF-8 text file or folder (default: embedded)"
    )
    p.add_argument("--held-out", type=float, default=0.1, help="share of documents held out as unseen real text")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature > 0")
    p.add_argument("--top-k", type=int, default=None, help="sample only the k most frequent continuations")
    p.add_argument("--eval-sentences", type=int, default=500, help="sentences sampled per model for the metrics")
    add_output_options(p, rows="per-generation metrics", figure="the metrics figure")
    p.set_defaults(handler=checked(_simulate_ngram))


def _simulate_transformer(args: argparse.Namespace) -> int:
    from .neural_lm import ModelConfig, TrainConfig, settings_of, simulate_transformer
    from .ngram import load_corpus

    corpus = load_corpus(args.corpus, held_out=args.held_out)
    run = simulate_transformer(
        corpus,
        generations=args.generations,
        runs=args.runs,
        n=args.n,
        policy=args.policy,
        real_fraction=real_fraction(args),
        protocol=args.protocol,
        temperature=args.temperature,
        top_k=args.top_k,
        model=ModelConfig(len(corpus.vocab), width=args.width, layers=args.layers),
        training=TrainConfig(epochs=args.epochs, finetune_epochs=args.finetune_epochs),
        eval_sentences=args.eval_sentences,
        seed=args.seed,
        threads=args.threads,
        progress="generations" if show_progress(args) else False,
    )
    history = run.history
    rows = []
    for t in history.generations:
        row = {"generation": int(t)}
        row.update({name: float(np.median(values[t])) for name, values in history.metrics.items()})
        rows.append(row)
    parameters = {
        "corpus": args.corpus or "embedded snapshot of the CPython 3.11.7 reference documentation (prose)",
        "generations": args.generations,
        "runs": args.runs,
        "n_sentences": args.n or len(corpus.train),
        "policy": str(history.policy),
        "temperature": args.temperature,
        "top_k": args.top_k,
        "seed": args.seed,
        **settings_of(run.family),
        "parameters": run.family.base.parameter_count(),
        "device": str(run.family.device),
        "generation_0": "trained from scratch on the real text; generation 1 fine-tunes it on the real text again",
        "train_tokens": corpus.train.tokens,
        "held_out_tokens": corpus.held_out.tokens,
    }

    def figure():
        from .figures.text import collapse_dashboard

        return collapse_dashboard({str(history.policy): history}, reference=args.policy != "replace")

    emit(args, parameters, rows, figure)
    return 0


def _add_transformer(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("transformer", help="retrain a tiny transformer language model on its own generated text")
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--runs", type=int, default=1, help="independent runs (trained one after another)")
    p.add_argument("--n", type=int, default=None, help="sentences per generation (default: all training sentences)")
    add_policy_options(p)
    p.add_argument("--protocol", choices=("finetune", "scratch"), default="finetune", help="later generations "
                   "fine-tune the generation-0 model (Shumailov et al.) or train from scratch")  # fmt: skip
    p.add_argument(
        "--corpus", type=path_text, metavar="PATH", default=None, help="UTF-8 text file or folder (default: embedded)"
    )
    p.add_argument("--held-out", type=float, default=0.1, help="share of documents held out as unseen real text")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature > 0")
    p.add_argument("--top-k", type=int, default=None, help="sample only the k most likely next words")
    p.add_argument("--width", type=int, default=64, help="model width (a multiple of the 4 heads)")
    p.add_argument("--layers", type=int, default=2, help="transformer blocks")
    p.add_argument("--epochs", type=float, default=8.0, help="passes over the real text for generation 0")
    p.add_argument("--finetune-epochs", type=float, default=1.0, help="passes over each later generation's data")
    p.add_argument("--eval-sentences", type=int, default=500, help="sentences sampled per model for the metrics")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a shared machine)")
    add_output_options(p, rows="per-generation metrics", figure="the metrics figure")
    p.set_defaults(handler=checked(_simulate_transformer))


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
        warm_start=args.warm_start,
        tol=args.tol,
        max_iter=args.max_iter,
        seed=args.seed,
        keep_models=False,
        progress=show_progress(args),
    )
    rows = []
    for t in history.generations:
        rows.append(
            {
                "generation": int(t),
                "pooled_variance_mean": float(np.mean(history["pooled_std"][t] ** 2)),
                "theory_pooled_variance": float(theory.expected_variance(t, args.n)),
                "pooled_std_median": float(np.median(history["pooled_std"][t])),
                "light_std_median": float(np.median(history["light_std"][t])),
                "heavy_std_median": float(np.median(history["heavy_std"][t])),
                "light_weight_median": float(np.median(history["light_weight"][t])),
                "separation_median": float(np.median(history["separation"][t])),
            }
        )
    parameters = {
        "n": args.n,
        "generations": args.generations,
        "runs": args.runs,
        "components": args.components,
        "separation": args.separation,
        "warm_start": args.warm_start,
        "tol": args.tol,
        "max_iter": args.max_iter,
        "seed": args.seed,
        "fit": "EM, full covariance, "
        + ("warm-started from the previous fit" if args.warm_start else "a fresh k-means start every generation"),
    }
    emit(args, parameters, rows, lambda: mixture_collapse(history))
    return 0


def _add_mixture(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("mixture", help="refit a Gaussian mixture to its own samples (Shumailov's 2-D toy)")
    p.add_argument("--n", type=int, default=1000, help="samples per generation")
    p.add_argument("--generations", type=int, default=300)
    p.add_argument("--runs", type=int, default=4, help="independent runs (fitted together)")
    p.add_argument("--components", type=int, default=2, help="mixture components")
    p.add_argument("--separation", type=float, default=0.0, help="0: one 2-D blob; s > 0: two blobs s apart")
    p.add_argument("--warm-start", action="store_true", help="start EM from the previous fit (default: fresh fit)")
    p.add_argument("--tol", type=float, default=1e-5, help="EM stops when the mean log-likelihood changes less")
    p.add_argument("--max-iter", type=int, default=2000, help="at most this many EM steps per fit")
    add_output_options(p, rows="per-generation statistics over runs", figure="the figure over runs")
    p.set_defaults(handler=checked(_simulate_mixture))


def _simulate_regression(args: argparse.Namespace) -> int:
    from . import theory
    from .figures.synthetic import regression_history
    from .regression import simulate_regression

    r = real_fraction(args)
    if args.policy == "fresh-real" and args.design == "fixed":
        raise ValueError("--design fixed relabels the same rows every generation; --policy fresh-real needs fresh rows")
    design = args.design or ("fresh" if args.policy == "fresh-real" else "fixed")
    if args.ridge == 0 and args.samples < args.dim + 2:  # the simulation needs > dim rows, its theory dim + 2
        raise ValueError(
            f"--samples must be >= --dim + 2 = {args.dim + 2} for least squares and its theory "
            f"(or set --ridge > 0), got {args.samples}"
        )
    history = simulate_regression(
        args.dim,
        args.samples,
        args.generations,
        args.runs,
        policy=args.policy,
        real_fraction=r,
        noise=args.noise,
        ridge=args.ridge,
        design=design,
        seed=args.seed,
        progress=show_progress(args),
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
    laws = {"replace": "theory: c t", "accumulate": "theory: accumulated sum", "fresh-real": "theory (approx.)"}
    emit(
        args,
        parameters,
        rows,
        lambda: regression_history(
            history,
            args.dim,
            args.samples,
            noise=args.noise,
            ridge=args.ridge,
            design=design,
            theory_error=theory_curve,
            theory_label=laws.get(args.policy, "theory"),
        ),
    )
    return 0


def _add_regression(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("regression", help="recursive least squares: each fit relabels the next data")
    add_policy_options(p)
    p.add_argument("--dim", type=int, default=10, help="features d (>= 1)")
    p.add_argument("--samples", type=int, default=100, help="rows T per generation (> d + 1 for the theory)")
    p.add_argument("--generations", type=int, default=50)
    p.add_argument("--runs", type=int, default=1000, help="independent runs simulated together")
    p.add_argument("--noise", type=float, default=1.0, help="label noise standard deviation sigma")
    p.add_argument("--ridge", type=float, default=0.0, help="ridge penalty (0: least squares)")
    p.add_argument(
        "--design",
        choices=("fixed", "fresh"),
        default=None,
        help="fixed (default): relabel the same X each generation (Gerstgrasser et al.); fresh: new X "
        "(the default with --policy fresh-real, which needs it)",
    )
    add_output_options(p, rows="per-generation statistics", figure="the test-error figure")
    p.set_defaults(handler=checked(_simulate_regression))


def _simulate_gan(args: argparse.Namespace) -> int:
    from .figures.gan import occupancy_figure
    from .gan import gan_metrics, train_gan

    run = train_gan(
        args.target, args.method, width=args.width, lr_g=args.lr_g, lr_d=args.lr_d, steps=args.steps,
        d_steps=args.d_steps, seed=args.seed, progress=show_progress(args),
    )  # fmt: skip
    rows = []
    for step, samples in zip(run.steps, run.snapshots, strict=True):
        report = gan_metrics.mode_report(samples, run.target.modes, run.target.std)
        rows.append({"step": int(step), **report})
    emit(args, {**run.settings, "seconds": round(run.seconds, 2)}, rows, lambda: occupancy_figure(run))
    return 0


def _add_gan(simulate: argparse._SubParsersAction) -> None:
    import inspect

    from .gan import train_gan  # numpy only; torch is imported when a GAN trains

    # one source for the defaults: train_gan's own (those of lesson 07)
    default = {name: param.default for name, param in inspect.signature(train_gan).parameters.items()}
    p = simulate.add_parser("gan", help="train one toy GAN on a 2-D mixture (not recursive), mode metrics")
    p.add_argument("--target", default=default["target"], help="ring (8 modes) or grid (25 modes)")
    p.add_argument("--method", default=default["method"], help=f"vanilla or pacgan (packing {default['pack']} samples)")
    p.add_argument("--width", type=int, default=default["width"], help="hidden units per layer of both networks")
    p.add_argument("--lr-g", type=float, default=default["lr_g"], help="generator learning rate")
    p.add_argument("--lr-d", type=float, default=default["lr_d"], help="discriminator learning rate")
    p.add_argument("--steps", type=int, default=default["steps"], help="generator updates")
    p.add_argument("--d-steps", type=int, default=default["d_steps"], help="discriminator updates per generator update")
    add_output_options(p, rows="per-snapshot mode metrics", figure="the mode-occupancy figure")
    p.set_defaults(handler=checked(_simulate_gan))


def _simulate_continual(args: argparse.Namespace) -> int:
    from .continual import average_forgetting, run_continual
    from .figures.continual import result_figure

    ewc_lambda = only_with(args, "ewc_lambda", "method", "ewc", None)
    k = only_with(args, "k", "method", "replay", None)
    result = run_continual(
        args.method, args.scenario, ewc_lambda=ewc_lambda, k=k, hidden=args.hidden, steps=args.steps, lr=args.lr,
        seed=args.seed,
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
    emit(args, {**parameters, "seconds": round(result.seconds, 2)}, rows, lambda: result_figure(result))
    return 0


def _add_continual(simulate: argparse._SubParsersAction) -> None:
    p = simulate.add_parser("continual", help="one MLP on 5 split-digit tasks in sequence (not recursive), R rows")
    p.add_argument("--method", default="finetune", help="finetune, ewc, replay or joint")
    p.add_argument("--scenario", default="class-incremental", help="task-incremental or class-incremental")
    p.add_argument("--ewc-lambda", type=float, help="EWC penalty strength (ewc only; default 1e5)")
    p.add_argument("--k", type=int, help="stored training examples per class (replay only; default 10)")
    p.add_argument("--hidden", type=int, default=100, help="hidden units per layer")
    p.add_argument("--steps", type=int, default=100, help="full-batch Adam steps per task")
    p.add_argument("--lr", type=float, default=0.01)
    add_output_options(p, rows="one row of the accuracy matrix per task", figure="the accuracy-matrix figure")
    p.set_defaults(handler=checked(_simulate_continual))


#: One entry per model family: a function that adds its ``simulate`` sub-command.
SIMULATIONS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_gaussian,
    _add_mixture,
    _add_ngram,
    _add_transformer,
    _add_regression,
    _add_categorical,
    _add_gan,
    _add_continual,
]
