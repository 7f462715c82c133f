"""``collapse-edu``: list, open, run and hand out the lessons; monitor datasets; run experiments.

    collapse-edu list                       lessons with title and expected minutes
    collapse-edu lab [--dir DIR]            open JupyterLab on the lessons (installed: on a working copy)
    collapse-edu run 01 [--out DIR]         execute a lesson headless to .ipynb + .html, print time and memory
    collapse-edu student --out DIR          build the student versions (solutions -> stubs)
    collapse-edu student --publish          regenerate lessons/student/ of a checkout
    collapse-edu student --nbgrader DIR     nbgrader source notebooks (DIR/source/<lesson>/)
    collapse-edu slides 01 [--out DIR]      a reveal.js slide deck of a lesson
    collapse-edu export --out DIR           all lessons as a static HTML site with an index
    collapse-edu monitor REF CANDIDATE      collapse symptoms of a new dataset version (exit 1 if flagged)
    collapse-edu simulate FAMILY ...        headless experiments (see cli_simulate.py)

Errors in arguments are reported in one line (exit status 2), never as a traceback; so are
files that cannot be read or written. A lesson that fails while it runs is one line too (exit
status 1). No command writes over its inputs or into the master lessons folder, and none replaces
an existing file that collapse-edu did not write itself unless ``--force`` is given (see
:mod:`collapse_edu.outputs` for how the tool marks its files).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from . import lessons as lesson_files
from .cli_simulate import SIMULATIONS, add_force_option, path_text
from .environment import use_reproducible_cpu_env
from .outputs import check_folder, check_targets


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the usage block is left to ``--help``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


MAX_TIMEOUT = 86_400  #: --timeout's largest value: a day per cell


def seconds(text: str) -> int:
    """--timeout: whole seconds >= 1 (nbclient would read 0 or a negative number as no limit at all)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, got {text!r}") from None
    if not 1 <= value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_TIMEOUT} seconds (a day) per cell, got {value}")
    return value


def at_least(minimum: int):
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _protected_folders(args: argparse.Namespace) -> list[Path]:
    """Folders no command writes into: the lessons being read, the checkout's and the installed wheel's
    master lessons, and the package itself (:func:`collapse_edu.course.protected_folders`)."""
    from .course import protected_folders

    return protected_folders(args.lessons)


def _installed(path: Path) -> bool:
    """Whether ``path`` lies in the course shipped inside the installed package (read-only)."""
    from .course import packaged_root

    root = packaged_root()
    try:
        return root is not None and path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def _a_lesson_of_the_course(path: Path, args: argparse.Namespace) -> bool:
    """Whether ``path`` is a lesson in a lessons folder the tool knows (the one in use, a checkout's), or a
    lesson or exercise notebook of a learner's copy (``lessons/`` or ``lessons/student/`` of it)."""
    from .course import course_copy_of, master_folders

    folders = master_folders()
    try:
        folders.append(lesson_files.lessons_dir(args.lessons))
    except ValueError:
        pass
    try:
        copy = course_copy_of(path.resolve())
        if copy is not None:  # the learner's own: the lessons and the exercises they work in
            folders += [copy / "lessons", copy / "lessons" / "student"]
        return any(path.resolve().parent == folder.resolve() for folder in folders)
    except OSError:
        return False


def _list(args: argparse.Namespace) -> int:
    for lesson in lesson_files.list_lessons(args.lessons):
        minutes = f"{lesson.minutes:>3} min" if lesson.minutes else "   ? min"
        print(f"{lesson.number}  {minutes}  {lesson.title}")
    return 0


def _lab(args: argparse.Namespace) -> int:
    """JupyterLab on the lessons. From an installed wheel (or with --dir, or started inside a copy) the
    course is first copied into a working folder, or that copy brought up to date
    (:func:`collapse_edu.course.sync_course`), and JupyterLab opens its first exercise notebook."""
    from .course import DEFAULT_COPY, learners_copy, sync_course

    directory = lesson_files.lessons_dir(args.lessons)
    # started inside a copy (JupyterLab's terminal opens there): that copy, not a new one inside it
    # or run again from where it made one: that copy, brought up to date
    here = learners_copy() if args.dir is None and not args.lessons else None
    if args.dir is None and here is None and not args.copy_only and not _installed(directory):
        first = lesson_files.list_lessons(directory)[0].path.name
        root = directory
    else:
        if args.lessons:
            raise ValueError("--lessons cannot be combined with --dir or --copy-only (they copy the whole course)")
        folder = Path(args.dir) if args.dir else here or Path(DEFAULT_COPY)
        report = sync_course(folder)
        for line in report.lines():
            print(line)
        if args.copy_only:
            return 0
        root = folder.resolve()
        opened = lesson_files.lesson_paths(root / "lessons" / "student") or lesson_files.lesson_paths(root / "lessons")
        first = opened[0].relative_to(root).as_posix()
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}", first, *args.extra]
    if not any("default_url" in option for option in args.extra):
        # the links JupyterLab prints (and "/") lead to the first lesson, not to the bare file browser
        command.append(f"--LabApp.default_url=/lab/tree/{quote(first)}")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in command:
        command.append("--allow-root")  # containers and course machines often run as root
    print("Opening the course:", " ".join(command))
    return subprocess.call(command, cwd=root)


def _run(args: argparse.Namespace) -> int:
    lesson = lesson_files.find_lesson(args.lesson, args.lessons)
    if args.inplace and _installed(lesson.path):
        raise ValueError(
            "--inplace updates a lesson of a checkout; this one belongs to the installed package "
            "(run `collapse-edu lab --copy-only` for a copy of your own, or use --out DIR)"
        )
    if args.inplace and not args.force and not _a_lesson_of_the_course(lesson.path, args):
        raise ValueError(
            f"--inplace rewrites a lesson of the course's lessons folder; {lesson.path} is not one "
            "(use --out DIR, or add --force to execute it in place all the same)"
        )
    out = None if args.inplace and args.out is None else Path(args.out or "executed")
    if out is not None:  # checked before the lesson runs, not after
        protected = _protected_folders(args)
        check_folder(out, protected=protected, what="run --out")
        check_targets(
            lesson_files.output_files(lesson, out),
            inputs=[lesson.path],
            protected=protected,
            force=args.force,
            what=f"run {args.lesson}",
            new_folders=True,
        )
    seconds, peak_mb = lesson_files.run_lesson(lesson, out, inplace=args.inplace, timeout=args.timeout)
    where = ", ".join(
        filter(None, [str(lesson.path) if args.inplace else "", f"{out}/{lesson.name}.ipynb and .html" if out else ""])
    )
    memory = f", peak kernel memory {peak_mb:.0f} MB" if peak_mb is not None else ""
    shown = os.path.relpath(lesson.path) if _within(lesson.path, Path.cwd()) else str(lesson.path)
    ran = "" if args.inplace else f" (the lesson: {shown})"  # --inplace names it already
    print(f"{lesson.name}: executed in {seconds:.1f} s{memory} -> {where}{ran}")
    return 0


def _student(args: argparse.Namespace) -> int:
    from .student import build_student_versions, published_folder, stale_student_versions

    paths = [lesson.path for lesson in lesson_files.list_lessons(args.lessons)]
    if args.nbgrader:
        from .grading import nbgrader_targets, write_nbgrader_config, write_nbgrader_sources

        protected = _protected_folders(args)
        course = check_folder(args.nbgrader, protected=protected, what="student --nbgrader")
        targets = nbgrader_targets(paths, course)
        check_targets(
            targets,
            inputs=paths,
            protected=protected,
            force=args.force,
            what="student --nbgrader",
            new_folders=True,
        )
        written = write_nbgrader_sources(paths, course)
        print(f"wrote {len(written)} nbgrader source notebooks to {course / 'source'} (one assignment per lesson)")
        config = course / "nbgrader_config.py"
        if write_nbgrader_config(course):
            print(f'wrote {config} (course id "collapse-edu"; edit it to change the id)')
        else:
            print(f"left {config} as it is (nbgrader needs c.CourseDirectory.course_id set in it)")
        return 0
    if args.publish:
        folder = lesson_files.lessons_dir(args.lessons)
        if _installed(folder):
            raise ValueError("--publish updates lessons/student/ of a checkout; the installed course is read-only")
        out = published_folder(folder)
        # lessons/student of this folder, really: not a link elsewhere, not a student folder's own student/
        others = [f for f in _protected_folders(args) if not f.resolve() == folder.resolve()]
        published = folder.resolve().name == "student" and lesson_files.lesson_paths(folder.resolve().parent)
        if out.is_symlink() or published or any(folder.resolve().is_relative_to(f.resolve()) for f in others):
            raise ValueError(
                f"--publish writes {out}, which leads into other lessons ({out.resolve()}): "
                "run it with --lessons set to the master lessons folder itself"
            )
        protected = others
    else:
        protected = _protected_folders(args)
        out = check_folder(args.out, protected=protected, what="student")
        if out.resolve() == (Path.cwd() / "lessons").resolve():  # lessons_dir() would read them as the lessons
            raise ValueError(
                "student would write into ./lessons, which the other commands read as the course's lessons; "
                "choose another --out"
            )
    check_targets(
        [out / p.name for p in paths],
        inputs=paths,
        protected=protected,
        force=args.force,
        what="student",
        new_folders=True,
    )
    written = build_student_versions(paths, out)
    print(f"wrote {len(written)} student notebooks to {out}")
    if args.publish:
        ours, foreign = stale_student_versions(paths, out)
        for path in ours:
            path.unlink()
        if ours:
            print(f"removed {len(ours)} student notebooks whose lesson is gone: {', '.join(p.name for p in ours)}")
        if foreign:
            print(f"left {len(foreign)} notebooks collapse-edu did not write: {', '.join(p.name for p in foreign)}")
    return 0


def _slides(args: argparse.Namespace) -> int:
    from .slides import slides_target, write_slides

    lesson = lesson_files.find_lesson(args.lesson, args.lessons)
    protected = _protected_folders(args)
    out = check_folder(args.out, protected=protected, what="slides")
    target = slides_target(lesson, out)
    check_folder(out / "mathjax", protected=protected, what="slides")  # MathJax is copied there
    check_targets(
        [target],
        inputs=[lesson.path],
        protected=protected,
        force=args.force,
        what=f"slides {args.lesson}",
        new_folders=True,
    )
    written, notices = write_slides(lesson, out)
    print(f"{lesson.name}: slides written to {written} (open it in a browser; S shows the speaker notes)")
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    lessons = lesson_files.list_lessons(args.lessons)
    protected = _protected_folders(args)
    out = check_folder(args.out, protected=protected, what="export")
    targets = [out / "index.html", *(path for lesson in lessons for path in lesson_files.output_files(lesson, out))]
    inputs = [lesson.path for lesson in lessons]
    check_targets(targets, inputs=inputs, protected=protected, force=args.force, what="export", new_folders=True)
    # a bar only for a person watching: a log or pipe would fill with carriage-return frames
    progress = sys.stderr.isatty()
    index = lesson_files.export_site(lessons, out, execute=not args.no_execute, timeout=args.timeout, progress=progress)
    print(f"exported {len(lessons)} lessons; open {index}")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from .monitor import compare_files, report_figure, write_html
    from .outputs import figure_path, save_figure

    outputs = ([Path(args.html)] if args.html else []) + ([figure_path(args.plot)] if args.plot else [])
    inputs, protected = [args.reference, args.candidate], _protected_folders(args)
    check_targets(outputs, inputs=inputs, protected=protected, force=args.force, what="monitor")
    report = compare_files(
        args.reference, args.candidate, kind=args.kind, max_rows=args.max_rows, max_tokens=args.max_tokens
    )
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.to_text())
    if args.html:
        write_html(report, args.html)
        print(f"report written to {args.html}", file=sys.stderr)
    if args.plot:
        import matplotlib.pyplot as plt

        figure = report_figure(report)
        written = save_figure(figure, args.plot)
        plt.close(figure)
        print(f"figure written to {written}", file=sys.stderr)
    levels = {"never": 3, "warn": 1, "flag": 2}
    return 1 if ("ok", "warn", "flag").index(report.verdict) >= levels[args.fail_on] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="collapse-edu", description="Model collapse, hands-on: the course tool.")
    parser.add_argument(
        "--lessons",
        type=path_text,
        metavar="DIR",
        help="the lessons folder (default: ./lessons, else those of your copy from `lab`, else the checkout's, "
        "else the installed package's)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list the lessons").set_defaults(handler=_list)

    lab = commands.add_parser(
        "lab",
        help="open JupyterLab on the lessons (from an installed package: on a working copy of the course)",
        description="In a checkout, open the lessons. From an installed package (or with --dir), first copy the "
        "course into a working folder, or bring an earlier copy up to date: new and unchanged lessons are "
        "copied, a notebook you changed is kept and the new version is put beside it.",
    )
    lab.add_argument("--dir", type=path_text, help="working copy of the course (default: ./collapse-edu-course)")
    lab.add_argument("--copy-only", action="store_true", help="copy or update the course, do not start JupyterLab")
    lab.add_argument("extra", nargs="*", help="further options for jupyter lab (--port 9999 or --port=9999)")
    lab.set_defaults(handler=_lab)

    run = commands.add_parser("run", help="execute a lesson headless into .ipynb and .html")
    run.add_argument("lesson", help="number (01), name or path of the lesson")
    run.add_argument("--out", type=path_text, help="output folder (default: ./executed)")
    run.add_argument(
        "--inplace",
        action="store_true",
        help="write the executed notebook back over the lesson (a lesson of the lessons folder, or of your copy from "
        "`lab`; any other notebook needs --force)",
    )
    run.add_argument("--timeout", type=seconds, default=600, help="seconds allowed per cell (>= 1)")
    add_force_option(run)
    run.set_defaults(handler=_run)

    student = commands.add_parser("student", help="build the student versions of all lessons")
    where = student.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=path_text, help="output folder (never the master lessons folder)")
    where.add_argument(
        "--publish", action="store_true", help="regenerate lessons/student/ of the checkout (the exercises links)"
    )
    where.add_argument(
        "--nbgrader", type=path_text, metavar="DIR", help="nbgrader course folder: writes DIR/source/<lesson>/"
    )
    add_force_option(student)
    student.set_defaults(handler=_student)

    slides = commands.add_parser("slides", help="a reveal.js slide deck of a lesson, for lectures")
    slides.add_argument("lesson", help="number (01), name or path of the lesson")
    slides.add_argument("--out", type=path_text, default="slides", help="output folder (default: ./slides)")
    add_force_option(slides)
    slides.set_defaults(handler=_slides)

    export = commands.add_parser("export", help="execute all lessons into a static HTML site with an index")
    export.add_argument("--out", type=path_text, default="site", help="output folder (default: ./site)")
    export.add_argument("--timeout", type=seconds, default=600, help="seconds allowed per cell (>= 1)")
    export.add_argument("--no-execute", action="store_true", help="convert the committed notebooks without running")
    add_force_option(export)
    export.set_defaults(handler=_export)

    monitor = commands.add_parser("monitor", help="compare a dataset version with a trusted reference")
    monitor.add_argument("reference", help="trusted data: .csv/.npy file, or a text file or folder")
    monitor.add_argument("candidate", help="the new version, same kind as the reference")
    monitor.add_argument("--kind", choices=("auto", "numeric", "text"), default="auto")
    monitor.add_argument("--html", type=path_text, metavar="FILE", help="also write a self-contained HTML report")
    monitor.add_argument("--plot", type=path_text, metavar="FILE", help="also write the report figure (png, pdf, svg)")
    monitor.add_argument("--json", action="store_true", help="print the report as JSON")
    monitor.add_argument("--max-rows", type=at_least(10), default=200_000, help="numeric rows kept per file")
    monitor.add_argument("--max-tokens", type=at_least(100), default=2_000_000, help="text tokens kept per side")
    monitor.add_argument(
        "--fail-on",
        choices=("flag", "warn", "never"),
        default="flag",
        help="exit with status 1 when the overall verdict reaches this level",
    )
    add_force_option(monitor)
    monitor.set_defaults(handler=_monitor)

    simulate = commands.add_parser("simulate", help="headless experiments").add_subparsers(dest="family", required=True)
    for add in SIMULATIONS:
        add(simulate)

    from .cli_link import add_link_command  # collapse-edu link: nbgitpuller links for a JupyterHub workshop

    add_link_command(commands)
    return parser


def _lessons_first(argv: list[str]) -> list[str]:
    """``--lessons DIR`` given after the command (``list --lessons DIR``) moved before it, where the parser
    reads it: it belongs to every command."""
    commands = {"list", "lab", "run", "student", "slides", "export", "monitor", "simulate", "link"}
    start, i = None, 0
    while i < len(argv) and start is None:  # the command: the first name not given as --lessons' value
        if argv[i] == "--lessons":
            i += 1
        elif argv[i] in commands:
            start = i
        i += 1
    if start is None:
        return argv
    head, tail, moved = argv[:start], [], []
    rest = argv[start:]
    while rest:
        token = rest.pop(0)
        if token == "--lessons" and rest:
            moved += [token, rest.pop(0)]
        elif token.startswith("--lessons="):
            moved.append(token)
        else:
            tail.append(token)
    return head + moved + tail


def _split_lab(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """For ``lab``: (our arguments, JupyterLab's arguments in their order), else None.

    Everything after ``lab`` goes to JupyterLab as typed, so ``--port 8899`` works as well as
    ``--port=8899``; only ``--lessons DIR``, ``--dir DIR``, ``--copy-only`` and ``-h`` are ours."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--lessons":
            i += 2
        elif token.startswith("--lessons=") or token in ("-h", "--help"):
            i += 1
        elif token == "lab":
            before, after, theirs = list(argv[:i]), ["lab"], []
            rest = list(argv[i + 1 :])
            while rest:  # (a --lessons after the command was moved before it: _lessons_first)
                token = rest.pop(0)
                if token in ("-h", "--help", "--copy-only"):
                    after.append(token)
                elif token == "--dir":  # ours, so a missing value is ours to report (not JupyterLab's usage)
                    after += [token, rest.pop(0)] if rest and not rest[0].startswith("-") else [token]
                elif token.startswith("--dir="):
                    after.append(token)
                else:
                    theirs.append(token)
            return before + after, theirs
        else:
            return None
    return None


def _one_line(message: object) -> str:
    """A message on one line: every run of whitespace (line breaks included) becomes one space."""
    return " ".join(str(message).split())


PATH_OPTIONS = ("plot", "out", "dir", "html")  #: options that name a file or folder to write


def _os_message(error: OSError, args: argparse.Namespace | None = None) -> str:
    """'--plot /proc/x.png: No such file or directory' rather than '[Errno 2] ...': the path, after
    the option that named it (or named a folder above it) when there is one."""
    if error.filename is None or error.strerror is None:
        return str(error)
    name = str(error.filename)
    for option in PATH_OPTIONS:
        given = getattr(args, option, None)
        if isinstance(given, str) and given and _within(Path(name), Path(given)):
            return f"--{option} {given[:120]}: {error.strerror}" + ("" if name == given else f" ({name[:120]})")
    return f"{name[:120]}: {error.strerror}"


def _within(path: Path, folder: Path) -> bool:
    """True if ``path`` is ``folder`` or lies inside it (compared as absolute paths)."""
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(folder))


def main(argv: Sequence[str] | None = None) -> int:
    use_reproducible_cpu_env()  # for the kernels it starts (the console script sets it before numpy loads, too)
    # a notebook written without cell ids gets them from nbformat; its multi-line warning is noise on a terminal
    warnings.filterwarnings("ignore", message="Cell is missing an id field")
    parser = build_parser()
    argv = _lessons_first(list(sys.argv[1:] if argv is None else argv))
    lab = _split_lab(argv)
    if lab is not None:
        args = parser.parse_args(lab[0])
        args.extra = lab[1]
    else:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # said by the sub-command that got them, which names its own --help
            prog = " ".join(["collapse-edu", args.command, *([args.family] if args.command == "simulate" else [])])
            parser.exit(2, f"{prog}: error: unrecognized arguments: {' '.join(unknown)} (see {prog} --help)\n")
    try:
        return args.handler(args)
    except (ValueError, TypeError) as error:
        parser.exit(2, f"collapse-edu: error: {_one_line(error)}\n")
    except lesson_files.LessonError as error:
        parser.exit(1, f"collapse-edu: error: {_one_line(error)}\n")
    except MemoryError as error:
        parser.exit(2, f"collapse-edu: error: out of memory ({error or 'an allocation failed'}); use smaller sizes\n")
    except BrokenPipeError:  # the reader stopped early (``collapse-edu list | head -1``): nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 0
    except OSError as error:
        parser.exit(2, f"collapse-edu: error: {_one_line(_os_message(error, args))}\n")
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C; inside a running kernel it cancels its task
        parser.exit(130, "collapse-edu: interrupted\n")
    except Exception as error:  # noqa: BLE001 - a bug of ours still ends in one line, not a traceback
        parser.exit(
            1,
            f"collapse-edu: error: {type(error).__name__}: {_one_line(error)[:200]} (unexpected: the values may be "
            "outside what the computation can handle; please report it if they are not)\n",
        )


if __name__ == "__main__":
    sys.exit(main())
