"""nbgrader source notebooks built from the master lessons (``collapse-edu student --nbgrader DIR``).

nbgrader (https://nbgrader.readthedocs.io) reads *source* notebooks whose cells carry
``metadata.nbgrader``; ``nbgrader generate_assignment`` turns them into the release that students get
and ``nbgrader autograde`` scores submissions. A master lesson maps onto it like this:

* a code cell with ``### BEGIN SOLUTION hint: ...`` / ``### END SOLUTION`` -> an *autograded answer*
  cell (``solution: true``); the hint becomes a ``# Hint:`` comment above the region, which
  nbgrader replaces by its own ``raise NotImplementedError()`` stub;
* the checker cell after it -> an *autograded test* cell (``grade: true``, 1 point, locked): a comment
  naming the functions it checks, then, between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``,
  its source as the learner sees it, framed by two lines that assert that every check it ran passed.
  The release keeps the comment only (the checker holds the reference answers); ``nbgrader autograde``
  puts the hidden part back. Checkers print rather than raise; each records its verdict
  (:func:`collapse_edu.exercises.checker`), and :func:`collapse_edu.exercises.assert_checks_passed`
  turns "❌" or "not written yet" into an ``AssertionError``, so the cell scores 0 unless every check passed;
* a markdown cell tagged ``solution`` that answers a question (``<details><summary>Answer...``) -> a
  *manually graded answer* (1 point); one that explains a code exercise's solution (lesson 09's
  "Solution: the tell-tale signs") asks nothing, so it becomes the student version's pointer, locked;
* every other markdown cell (the instructions) -> *read-only* (locked), without the title cell's launch
  links (they open the public lessons, the masters with solutions among them), and "The answer is in
  the cell after the checker" reads "Write your answer in the cell after the checker".

``grade_id`` values are stable: ``solution_<function>`` / ``check_<function>`` from the first
function the exercise defines, ``answer_<cell id>`` and ``text_<cell id>`` from the cells' nbformat
ids, so regenerating after an edit keeps the gradebook's records attached.
:func:`write_nbgrader_config` gives the course folder a minimal ``nbgrader_config.py`` (the course id).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .launch import LAUNCH_HOSTS, drop_colab_form
from .student import ANSWER_AFTER, BEGIN, SOLUTION_REMOVED, checker_of, has_solution

SCHEMA_VERSION = 3
CHECK_BEFORE = (
    "from collapse_edu.exercises import assert_checks_passed, verdict_count  # nbgrader: the checks below must pass\n"
    "_checks_before = verdict_count()\n"
)
CHECK_AFTER = "\nassert_checks_passed(_checks_before)  # nbgrader: 0 points unless every check above passed\n"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
#: A markdown answer cell: the answer to a question the instructions ask (``<details><summary>Answer...``).
_WRITTEN_ANSWER = re.compile(r"^\s*<details>\s*<summary>\s*Answers?\b")
NBGRADER_CONFIG = '''"""nbgrader's settings for this course (written by `collapse-edu student --nbgrader`)."""

c = get_config()  # noqa: F821 - nbgrader defines get_config
c.CourseDirectory.course_id = "collapse-edu"
'''
_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


def _metadata(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION}
    meta["solution"] = solution
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_solution_source(source: str) -> str:
    """Our solution markers as nbgrader's: the hint moves to a comment line above ``### BEGIN SOLUTION``."""
    from .launch import COLAB_TITLE

    out = []
    for line in source.split("\n"):
        if line == COLAB_TITLE or line.lstrip().startswith(("#@title", "# @title")):
            continue
        begin = BEGIN.match(line)
        if begin:
            if begin["hint"].strip():
                out.append(f"{begin['indent']}# Hint: {begin['hint'].strip()}")
            out.append(f"{begin['indent']}### BEGIN SOLUTION")
        else:
            out.append(line)
    return "\n".join(out)


def _names(functions: list[str]) -> str:
    return functions[0] if len(functions) == 1 else ", ".join(functions[:-1]) + " and " + functions[-1]


def hidden_checker_source(checker: str, functions: list[str]) -> str:
    """A checker cell as an autograded test: a comment the release keeps, the checker hidden until autograde."""
    what = _names(functions) if functions else "your answer"
    note = (
        f"# This cell checks {what} when your notebook is graded. The checks and their reference\n"
        "# answers are not in your copy: try your code on examples of your own before you hand it in.\n"
    )
    checker = checker.rstrip("\n")
    return f"{note}{HIDDEN_BEGIN}\n{CHECK_BEFORE}{checker}{CHECK_AFTER}{HIDDEN_END}"


def _without_launch_links(source: str) -> str:
    """A title cell without its launch line (it links the public lessons, the masters with solutions among them)."""
    lines = [line for line in source.split("\n") if not any(host in line for host in LAUNCH_HOSTS)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _write_your_answer(match: re.Match) -> str:
    what = "both answers" if match[1].startswith("Both") else "your answer"
    return f"Write {what} in the cell after the checker"


def nbgrader_notebook(notebook: nbformat.NotebookNode, name: str = "lesson") -> nbformat.NotebookNode:
    """An nbgrader source notebook made from a master lesson (a copy; outputs cleared)."""
    notebook = nbformat.from_dict(notebook)
    notebook.metadata.pop("widgets", None)
    used: set[str] = set()

    def unique(grade_id: str) -> str:
        base, k = re.sub(r"[^A-Za-z0-9_-]", "_", grade_id), 1
        grade_id = base
        while grade_id in used:
            k += 1
            grade_id = f"{base}_{k}"
        used.add(grade_id)
        return grade_id

    cells = notebook.cells
    for cell in cells:
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    exercise = 0
    title = next((cell for cell in cells if cell.cell_type == "markdown"), None)
    for index, cell in enumerate(cells):
        if "nbgrader" in cell.metadata:  # a checker, already made a test cell
            continue
        ident = cell.get("id") or f"cell{index}"
        if cell.cell_type == "code" and has_solution(cell.source):
            exercise += 1
            functions = _DEF.findall(cell.source)
            function = (functions or [f"exercise{exercise}"])[0]
            drop_colab_form(cell)
            cell.source = nbgrader_solution_source(cell.source)
            cell.metadata["nbgrader"] = _metadata(unique(f"solution_{function}"), solution=True)
            checker = checker_of(cells, index)
            if checker is None:
                raise ValueError(f"{name}: exercise {function} has no checker cell after it")
            checker.source = hidden_checker_source(checker.source, functions)
            checker.metadata["nbgrader"] = _metadata(unique(f"check_{function}"), grade=True, locked=True, points=1)
        elif cell.cell_type == "markdown" and "solution" in cell.metadata.get("tags", []):
            if _WRITTEN_ANSWER.match(cell.source):
                cell.source = f"### BEGIN SOLUTION\n{cell.source}\n### END SOLUTION"
                cell.metadata["nbgrader"] = _metadata(unique(f"answer_{ident}"), solution=True, grade=True, points=1)
            else:  # a worked solution's explanation, no question asked: not an answer to grade
                cell.source = SOLUTION_REMOVED
                cell.metadata["nbgrader"] = _metadata(unique(f"text_{ident}"), locked=True)
        elif cell.cell_type == "markdown":
            source = _without_launch_links(cell.source) if cell is title else cell.source
            source = ANSWER_AFTER.sub(_write_your_answer, source)
            # prose that names the markers would read to nbgrader as a misplaced solution region
            cell.source = source.replace("BEGIN SOLUTION", "BEGIN&#32;SOLUTION").replace(
                "END SOLUTION", "END&#32;SOLUTION"
            )
            cell.metadata["nbgrader"] = _metadata(unique(f"text_{ident}"), locked=True)
    if not exercise:
        raise ValueError(f"{name}: no exercise (### BEGIN SOLUTION) to grade")
    return notebook


def assignment_name(lesson: Path) -> str:
    """nbgrader's assignment for a lesson: its file stem (``01_gaussian_resampling``)."""
    return lesson.stem


def nbgrader_targets(lessons: list[Path], course: Path) -> list[Path]:
    """The files :func:`write_nbgrader_sources` writes: ``COURSE/source/<lesson>/<lesson>.ipynb``."""
    return [course / "source" / assignment_name(path) / path.name for path in lessons]


def write_nbgrader_sources(lessons: list[Path], course: Path) -> list[Path]:
    """Write one nbgrader assignment per lesson below ``course`` (nbgrader's course directory).

    Every notebook is converted before anything is written (a bad lesson leaves nothing behind);
    each carries the tool's marker, so a rebuild may replace it."""
    from .lessons import read_notebook
    from .outputs import write_notebook

    converted = []
    for path in lessons:
        converted.append(nbgrader_notebook(read_notebook(path), path.name))
    written = []
    for notebook, target in zip(converted, nbgrader_targets(lessons, course), strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(write_notebook(notebook, target))
    return written


def write_nbgrader_config(course: Path) -> bool:
    """Write ``course/nbgrader_config.py`` (the course id) unless one exists; True if written."""
    target = course / "nbgrader_config.py"
    if target.exists() or target.is_symlink():
        return False
    course.mkdir(parents=True, exist_ok=True)
    target.write_text(NBGRADER_CONFIG, encoding="utf-8")
    return True
