"""``collapse-edu``: list, open, run and hand out the lessons; monitor datasets; run experiments.

    collapse-edu list                       lessons with title and expected minutes
    collapse-edu lab                        open JupyterLab on the lessons
    collapse-edu run 01 [--out DIR]         execute a lesson headless to .ipynb + .html, print time and memory
    collapse-edu student --out DIR          build the student versions (solutions -> stubs)
    collapse-edu export --out DIR           all lessons as an offline HTML site with an index
    collapse-edu monitor REF CANDIDATE      collapse symptoms of a new dataset version (exit 1 if flagged)
    collapse-edu simulate FAMILY ...        headless experiments (see cli_simulate.py)

Errors in arguments are reported in one line (exit status 2), never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from . import lessons as lesson_files
from .cli_simulate import SIMULATIONS


def _list(args: argparse.Namespace) -> int:
    for lesson in lesson_files.list_lessons(args.lessons):
        minutes = f"{lesson.minutes:>3} min" if lesson.minutes else "   ? min"
        print(f"{lesson.number}  {minutes}  {lesson.title}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    directory = lesson_files.lessons_dir(args.lessons)
    first = lesson_files.list_lessons(directory)[0].path.name
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={directory}", first, *args.extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in command:
        command.append("--allow-root")  # containers and course machines often run as root
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

    from .cli_link import add_link_command  # collapse-edu link: nbgitpuller links for a JupyterHub workshop

    add_link_command(commands)
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
