"""Student versions of the lessons, built from the one master notebook per lesson.

In a master notebook an exercise's solution sits between two marker lines (nbgrader's style)::

    def shrink_factor(n):
        ### BEGIN SOLUTION hint: the MLE divides by n, the data have n - 1 degrees of freedom
        return (n - 1) / n
        ### END SOLUTION

The student build replaces each block by ``raise NotImplementedError("Student exercise: <hint>")``
at the block's indentation, shows the cell's input (the master hides solution cells from JupyterLab
and Colab, see :mod:`collapse_edu.launch`), replaces markdown cells tagged ``solution`` by a
placeholder, and clears every output, prompt number and saved widget state: a student notebook is a
clean worksheet whose outputs are all the learner's own (a stored output could give an answer
away, such as a checker's ✅ or a figure drawn with the solution).

``collapse-edu student --publish`` writes the student versions into ``lessons/student/`` of a
checkout (the "exercises" launch links open them); ``tests/test_student.py`` keeps them in step.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .exercises import STUB_MESSAGE

BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\b[:\s]*(?:hint:\s*)?(?P<hint>.*)$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
DEFAULT_HINT = "complete this cell, then run the checker below"
SOLUTION_REMOVED = "*The solution is in the instructor version of this lesson.*"
#: "The answer is in the cell after the checker": true of a master lesson; a student version and an nbgrader
#: version say something else there (:func:`student_notebook`, :mod:`collapse_edu.grading`)
ANSWER_AFTER = re.compile(r"\b(The answer is|Both answers are)\s+in\s+the\s+cell\s+after\s+the\s+checker")


def _answer_elsewhere(match: re.Match) -> str:
    said = "Both answers are" if match[1].startswith("Both") else "The answer is"
    return f"{said} in the instructor version of this lesson; write yours in a cell of your own first"


def strip_solutions(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block of a code cell by a NotImplementedError stub."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise ValueError(f"line {number}: BEGIN SOLUTION inside another solution block")
            inside = True
            hint = begin["hint"].strip() or DEFAULT_HINT
            out.append(f"{begin['indent']}raise NotImplementedError({(STUB_MESSAGE + hint)!r})")
        elif END.match(line):
            if not inside:
                raise ValueError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("a BEGIN SOLUTION block is never closed by END SOLUTION")
    return "\n".join(out)


def has_solution(source: str) -> bool:
    return any(BEGIN.match(line) for line in source.splitlines())


#: The first line of a checker cell in a student version (Colab shows it as the form's title)
CHECKER_TITLE = "#@title Checker: run it (its code may hold the reference answer, so it starts hidden)"


def checker_of(cells: list, index: int):
    """The checker of the exercise at ``index``: the next code cell after it (where the lesson template
    puts it), or None when there is none or that cell is another exercise. The one rule the student
    version, the nbgrader version and the tests use."""
    following = next((cell for cell in cells[index + 1 :] if cell.cell_type == "code"), None)
    return None if following is None or has_solution(following.source) else following


def hide_checker(cell) -> None:
    """Start a checker cell collapsed, on JupyterLab and on Colab (a form titled :data:`CHECKER_TITLE`):
    most checkers compare with a reference answer written out in their code."""
    from .launch import collapse_as_form

    collapse_as_form(cell, CHECKER_TITLE)


def student_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a master notebook with solutions replaced by stubs and no outputs, each checker's code
    collapsed (:func:`hide_checker`), and "the answer is in the cell after the checker" pointing to the
    instructor version, since that cell holds no answer here."""
    from .launch import drop_colab_form

    notebook = nbformat.from_dict(notebook)
    notebook.metadata.pop("widgets", None)
    exercises = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and has_solution(cell.source)]
    checkers = [checker_of(notebook.cells, i) for i in exercises]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            if has_solution(cell.source):
                drop_colab_form(cell)
                cell.source = strip_solutions(cell.source)
            elif any(cell is checker for checker in checkers):
                hide_checker(cell)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown" and "solution" in cell.metadata.get("tags", []):
            cell.source = SOLUTION_REMOVED
        elif cell.cell_type == "markdown":  # the cell after the checker says only where the answer is
            cell.source = ANSWER_AFTER.sub(_answer_elsewhere, cell.source)
    return notebook


def published_folder(lessons_folder: Path) -> Path:
    """Where ``--publish`` writes the student versions of the lessons in ``lessons_folder``."""
    return lessons_folder / "student"


def stale_student_versions(lessons: list[Path], out_dir: Path) -> tuple[list[Path], list[Path]]:
    """Student notebooks in ``out_dir`` whose master is gone (a lesson renumbered or removed):
    (written by the tool, so safe to delete; written by someone else, left alone)."""
    from .lessons import lesson_paths
    from .outputs import notebook_marker, written_by_tool

    def ours(path: Path) -> bool:  # written by the tool under this very name, and unchanged since
        return written_by_tool(path) and notebook_marker(path).get("written_as") == path.name

    names = {path.name for path in lessons}
    stale = [p for p in lesson_paths(out_dir) if p.name not in names] if out_dir.is_dir() else []
    return [p for p in stale if ours(p)], [p for p in stale if not ours(p)]


def build_student_versions(lessons: list[Path], out_dir: Path) -> list[Path]:
    """Write the student version of every lesson into ``out_dir``; returns the files written.

    Every notebook is converted before anything is written, so a bad marker leaves no
    half-built folder behind. Each student notebook carries the tool's marker in its metadata
    (:mod:`collapse_edu.outputs`), so a later build may replace it.
    """
    from .lessons import read_notebook
    from .outputs import write_notebook

    converted = []
    for path in lessons:
        notebook = read_notebook(path)
        try:
            converted.append((path.name, student_notebook(notebook)))
        except ValueError as error:
            raise ValueError(f"{path.name}: {error}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_notebook(notebook, out_dir / name) for name, notebook in converted]
