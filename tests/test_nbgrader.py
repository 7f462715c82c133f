"""``collapse-edu student --nbgrader``: real nbgrader releases the lessons and grades them.

The round trip runs nbgrader itself (the optional extra ``nbgrader``; CI installs it): the source
notebooks are written by the tool, ``nbgrader generate_assignment`` makes the release, and
``nbgrader autograde`` scores two submissions of it: one with the reference solutions filled in
(every autograded test cell scores full points) and one handed in as released, with nbgrader's
stubs (every test cell scores zero).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import LESSONS_DIR, require

from collapse_edu.cli import main
from collapse_edu.exercises import assert_checks_passed, check_value, verdict_count
from collapse_edu.grading import CHECK_AFTER, CHECK_BEFORE, nbgrader_notebook, nbgrader_solution_source
from collapse_edu.student import BEGIN, END, has_solution

LESSON_PATHS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def test_solution_markers_become_nbgraders_with_the_hint_kept():
    source = (
        "#@title Solution\ndef f(n):\n    ### BEGIN SOLUTION hint: divide by n\n    return 1 / n\n    ### END SOLUTION"
    )
    converted = nbgrader_solution_source(source).splitlines()
    assert converted == [
        "def f(n):",
        "    # Hint: divide by n",
        "    ### BEGIN SOLUTION",
        "    return 1 / n",
        "    ### END SOLUTION",
    ]


def test_assert_checks_passed_needs_a_check_and_every_check_passing(capsys):
    mark = verdict_count()
    with pytest.raises(AssertionError, match="no answer checker ran"):
        assert_checks_passed(mark)
    check_value(1.0, 1.0)
    assert_checks_passed(mark)
    check_value(2.0, 1.0)
    with pytest.raises(AssertionError, match="1 of 2 checks did not pass"):
        assert_checks_passed(mark)
    capsys.readouterr()


@pytest.mark.parametrize("path", LESSON_PATHS, ids=[p.stem for p in LESSON_PATHS])
def test_every_lesson_converts_with_stable_unique_grade_ids(path):
    master = nbformat.read(path, as_version=4)
    graded = nbgrader_notebook(master, path.name)
    again = nbgrader_notebook(master, path.name)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in graded.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    assert ids == [c.metadata["nbgrader"]["grade_id"] for c in again.cells if "nbgrader" in c.metadata]
    solutions = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
    tests = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert len(solutions) == sum(c.cell_type == "code" and has_solution(c.source) for c in master.cells)
    assert len(tests) == len(solutions), "one autograded test cell per exercise"
    for cell in tests:
        assert cell.source.startswith(CHECK_BEFORE) and cell.source.endswith(CHECK_AFTER)
        assert cell.metadata["nbgrader"]["points"] == 1 and cell.metadata["nbgrader"]["locked"]
    for cell in graded.cells:
        if cell.cell_type == "markdown" and not cell.metadata["nbgrader"]["solution"]:
            assert cell.metadata["nbgrader"]["locked"], "instructions are read-only"
        if cell.cell_type == "code":
            assert not cell.outputs and "#@title" not in cell.source
    # what the learner sees in the normal lesson is unchanged
    assert nbformat.read(path, as_version=4) == master


def _nbgrader(*args: str, course: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}", "--Execute.timeout=600"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")  # alembic
    result = subprocess.run(command, cwd=course, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _fill_in(release: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release with every solution cell as the source has it (the reference answers), markers removed."""
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells if "nbgrader" in c.metadata}
    filled = nbformat.from_dict(release)
    for cell in filled.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            lines = by_id[meta["grade_id"]].source.splitlines()
            cell.source = "\n".join(line for line in lines if not (BEGIN.match(line) or END.match(line)))
    return filled


ROUND_TRIP = [p for p in LESSON_PATHS if p.name[:2] == "01"]  # three exercises, one defining two functions


@pytest.mark.slow
@pytest.mark.parametrize("path", ROUND_TRIP, ids=[p.stem for p in ROUND_TRIP])
def test_nbgrader_round_trip_full_points_for_the_reference_and_zero_for_stubs(tmp_path, path):
    try:
        from nbgrader.api import Gradebook
    except ImportError:
        require(False, 'nbgrader is not installed (pip install "collapse-edu[nbgrader]")')
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    shutil.copy(path, lessons / path.name)
    course = tmp_path / "course"
    assert main(["--lessons", str(lessons), "student", "--nbgrader", str(course)]) == 0
    assignment = path.stem
    source_nb = nbformat.read(course / "source" / assignment / path.name, as_version=4)

    _nbgrader("generate_assignment", assignment, "--force", course=course)
    release_path = course / "release" / assignment / path.name
    release = nbformat.read(release_path, as_version=4)
    released_text = release_path.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in released_text and "raise NotImplementedError()" in released_text
    assert "# Hint: " in released_text, "our hints survive nbgrader's stub"

    for student, notebook in (("reference", _fill_in(release, source_nb)), ("stubs", release)):
        target = course / "submitted" / student / assignment / path.name
        target.parent.mkdir(parents=True)
        nbformat.write(notebook, target)
    _nbgrader("autograde", assignment, "--force", course=course)

    tests = [c.metadata["nbgrader"]["grade_id"] for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests = [g for g in tests if g.startswith("check_")]
    assert tests
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, expected in (("reference", 1.0), ("stubs", 0.0)):
            notebook = gradebook.find_submission_notebook(path.stem, assignment, student)
            scores = {g.name: (g.auto_score, g.max_score) for g in notebook.grades if g.name in tests}
            assert set(scores) == set(tests)
            for name, (auto, maximum) in scores.items():
                assert maximum == 1
                assert auto == expected * maximum, f"{student}: {name} scored {auto} of {maximum}"
