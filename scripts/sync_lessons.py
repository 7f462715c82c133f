"""Bring every master lesson's launch links and hidden solutions up to date, then republish lessons/student/.

    python scripts/sync_lessons.py           # rewrite what is out of date (idempotent: a second run changes nothing)
    python scripts/sync_lessons.py --check   # change nothing; exit 1 and name the lessons that are out of date

Run it after a lesson is added, renumbered or edited. For each ``lessons/NN_name.ipynb`` it

* rewrites the title cell's launch links (exercises and with-solutions, on Binder and Colab) for
  the lesson's current file name (:func:`collapse_edu.launch.set_launch_links`);
* gives every solution cell the Colab form title and the hiding flags
  (:func:`collapse_edu.launch.hide_solutions`): hidden in JupyterLab and on Colab alike;

touching nothing else (outputs and execution counts stay as committed), and then runs
``collapse-edu student --publish`` so that ``lessons/student/`` matches the lessons.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from collapse_edu.cli import main as cli
from collapse_edu.launch import sync_master
from collapse_edu.lessons import lesson_paths

LESSONS = Path(__file__).resolve().parents[1] / "lessons"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report what is out of date, change nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in lesson_paths(LESSONS):
        notebook = nbformat.read(path, as_version=4)
        if sync_master(notebook, path.name):
            stale.append(path.name)
            if not args.check:
                nbformat.write(notebook, path)
    if args.check:
        if stale:
            print(f"out of date: {', '.join(stale)} (run python scripts/sync_lessons.py)")
            return 1
        print("every lesson's launch links and hidden solutions are up to date")
        return 0
    print(f"updated {len(stale)} lessons: {', '.join(stale)}" if stale else "every lesson was already up to date")
    return cli(["--lessons", str(LESSONS), "student", "--publish"])


if __name__ == "__main__":
    sys.exit(main())
