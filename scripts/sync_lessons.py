"""Bring every master lesson's launch links and hidden solutions up to date, then republish lessons/student/.

    python scripts/sync_lessons.py           # rewrite what is out of date (idempotent: a second run changes nothing)
    python scripts/sync_lessons.py --check   # change nothing; exit 1 and name what is out of date

Run it after a lesson is added, renumbered or edited. For each ``lessons/NN_name.ipynb`` it

* rewrites the title cell's launch links (exercises and with-solutions, on Binder and Colab) for
  the lesson's current file name (:func:`collapse_edu.launch.set_launch_links`);
* gives every solution cell the Colab form title and the hiding flags
  (:func:`collapse_edu.launch.hide_solutions`): hidden in JupyterLab and on Colab alike;

touching nothing else (outputs and execution counts stay as committed), and then runs
``collapse-edu student --publish`` so that ``lessons/student/`` matches the lessons. ``--check``
reports both: masters out of date, and student versions that differ from what the publish writes now
(or are missing, or belong to a lesson that is gone).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import nbformat

from collapse_edu.cli import main as cli
from collapse_edu.launch import sync_master
from collapse_edu.lessons import lesson_paths
from collapse_edu.student import build_student_versions, published_folder, stale_student_versions

LESSONS = Path(__file__).resolve().parents[1] / "lessons"


def student_versions_out_of_step(lessons: Path) -> list[str]:
    """The names of the notebooks in ``lessons/student/`` that ``student --publish`` would write
    differently now, would add, or would remove (its own copies of lessons that are gone)."""
    masters = lesson_paths(lessons)
    published = published_folder(lessons)
    with tempfile.TemporaryDirectory() as scratch:
        built = build_student_versions(masters, Path(scratch))
        differ = [
            path.name
            for path in built
            if not (published / path.name).is_file() or (published / path.name).read_bytes() != path.read_bytes()
        ]
    removable, _ = stale_student_versions(masters, published)
    return differ + [path.name for path in removable]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report what is out of date, change nothing")
    parser.add_argument("--lessons", type=Path, default=LESSONS, help="the master lessons' folder (default: lessons/)")
    args = parser.parse_args(argv)
    stale = []
    for path in lesson_paths(args.lessons):
        notebook = nbformat.read(path, as_version=4)
        if sync_master(notebook, path.name):
            stale.append(path.name)
            if not args.check:
                nbformat.write(notebook, path)
    if args.check:
        students = student_versions_out_of_step(args.lessons)
        if stale:
            print(f"out of date: {', '.join(stale)} (run python scripts/sync_lessons.py)")
        if students:
            print(
                f"student versions out of step: {', '.join(students)} (run python scripts/sync_lessons.py; "
                "a copy edited by hand is replaced only by collapse-edu student --publish --force)"
            )
        if stale or students:
            return 1
        print("every lesson's launch links and hidden solutions, and every student version, are up to date")
        return 0
    print(f"updated {len(stale)} lessons: {', '.join(stale)}" if stale else "every lesson was already up to date")
    return cli(["--lessons", str(args.lessons), "student", "--publish"])


if __name__ == "__main__":
    sys.exit(main())
