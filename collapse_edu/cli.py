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


#: One entry per model family: a function that adds its ``simulate`` sub-command.
SIMULATIONS: list[Callable[[argparse._SubParsersAction], None]] = [_add_gaussian]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collapse-edu", description="Model collapse, hands-on: the course tool.")
    parser.add_argument("--lessons", metavar="DIR", help="the lessons folder (default: ./lessons or the checkout's)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list the lessons").set_defaults(handler=_list)

    lab = commands.add_parser("lab", help="open JupyterLab on the lessons")
    lab.add_argument("extra", nargs=argparse.REMAINDER, help="further options for jupyter lab")
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

    simulate = commands.add_parser("simulate", help="headless experiments").add_subparsers(dest="family", required=True)
    for add in SIMULATIONS:
        add(simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, FileNotFoundError) as error:
        parser.exit(2, f"collapse-edu: error: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
