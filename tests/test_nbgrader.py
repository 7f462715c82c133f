"""``collapse-edu student --nbgrader``: real nbgrader releases the lessons and grades them.

The round trip runs nbgrader itself (the optional extra ``nbgrader``; CI installs it): the source
notebooks are written by the tool, ``nbgrader generate_assignment`` makes the release, and
``nbgrader autograde`` scores two submissions of it: one with the reference solutions filled in
(every autograded test cell scores full points) and one handed in as released, with nbgrader's
stubs (every test cell scores zero). The checkers are hidden tests: no release shows a reference answer.
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
from traitlets.config.loader import PyFileConfigLoader

from collapse_edu.cli import main
from collapse_edu.exercises import assert_checks_passed, check_value, verdict_count
from collapse_edu.grading import (
    CHECK_AFTER,
    CHECK_BEFORE,
    HIDDEN_BEGIN,
    HIDDEN_END,
    NBGRADER_CONFIG,
    nbgrader_notebook,
    nbgrader_solution_source,
)
from collapse_edu.launch import BINDER_BADGE
from collapse_edu.student import BEGIN, END, SOLUTION_REMOVED, has_solution

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
    checkers = {c.id: c.source for c in master.cells if c.cell_type == "code"}
    for cell in tests:
        visible, hidden = _split_hidden(cell.source)
        assert hidden == CHECK_BEFORE + checkers[cell.id].rstrip("\n") + CHECK_AFTER, "the checker, whole, is hidden"
        assert visible and all(line.startswith("# ") for line in visible), "the release keeps a comment only"
        assert cell.metadata["nbgrader"]["points"] == 1 and cell.metadata["nbgrader"]["locked"]
    for cell in graded.cells:
        if cell.cell_type == "markdown" and not cell.metadata["nbgrader"]["solution"]:
            assert cell.metadata["nbgrader"]["locked"], "instructions are read-only"
        if cell.cell_type == "code":
            assert not cell.outputs and "#@title" not in cell.source
    # what the learner sees in the normal lesson is unchanged
    assert nbformat.read(path, as_version=4) == master


def _split_hidden(source: str) -> tuple[list[str], str]:
    """A test cell's lines before ``### BEGIN HIDDEN TESTS`` and the hidden region's text (with its last newline)."""
    before, rest = source.split(HIDDEN_BEGIN + "\n")
    hidden, after = rest.split(HIDDEN_END)
    assert after == "" and HIDDEN_BEGIN not in hidden
    return before.splitlines(), hidden


@pytest.mark.parametrize("path", LESSON_PATHS, ids=[p.stem for p in LESSON_PATHS])
def test_written_answers_are_asked_for_and_the_release_links_no_solutions(path):
    """Before: lessons 05 and 06 said "The answer is in the cell after the checker" above nbgrader's empty
    "YOUR ANSWER HERE" cell, lesson 09's worked solution became an answer cell that no question asks for, and
    every title cell linked the masters with solutions."""
    master = nbformat.read(path, as_version=4)
    graded = nbgrader_notebook(master, path.name)
    assert BINDER_BADGE in master.cells[0].source
    assert "mybinder.org" not in graded.cells[0].source and "colab.research" not in graded.cells[0].source
    assert graded.cells[0].source.splitlines()[0] == master.cells[0].source.splitlines()[0]
    cells = graded.cells
    for index, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "markdown":
            continue
        text = " ".join(cell.source.split())
        assert "answer is in the cell after" not in text and "answers are in the cell after" not in text
        if "in the cell after the checker" in text and not meta["solution"]:
            test = next(c for c in cells[index + 1 :] if c.metadata.get("nbgrader", {}).get("grade"))
            after = cells[cells.index(test) + 1]
            assert test.cell_type == "code" and after.metadata["nbgrader"]["solution"], f"cell {index}: no answer cell"
        if meta["solution"]:  # a manually graded answer: the instructions before it ask a question
            assert cell.source.split("\n")[1].startswith("<details><summary>Answer"), cell.source[:80]
            asked = next(c for c in reversed(cells[:index]) if c.cell_type == "markdown")
            assert "?" in asked.source, f"cell {index}: no question before the answer cell"
    if path.name.startswith("09_"):  # its worked solution ("the tell-tale signs") is no answer: the pointer, locked
        worked = next(c for c in cells if c.id == "508b7e94")
        assert worked.source == SOLUTION_REMOVED and worked.metadata["nbgrader"]["locked"]
        assert not worked.metadata["nbgrader"]["grade"]
    answers = sum(c.cell_type == "markdown" and c.metadata["nbgrader"]["solution"] for c in cells)
    expected = {"05": 3, "06": 1, "07": 1}.get(path.name[:2], 0)
    assert answers == expected


def _course_with(lessons: list[Path], folder: Path) -> Path:
    folder.mkdir()
    for path in lessons:
        shutil.copy(path, folder / path.name)
    return folder


def test_student_nbgrader_writes_a_config_with_the_course_id_and_keeps_an_existing_one(tmp_path, capsys):
    """Before: no nbgrader_config.py, so nbgrader warned on every command and collect/release_assignment
    stopped with "No course id specified"."""
    lessons = _course_with(LESSON_PATHS[1:2], tmp_path / "lessons")
    course = tmp_path / "course"
    argv = ["--lessons", str(lessons), "student", "--nbgrader", str(course)]
    assert main(argv) == 0
    config = course / "nbgrader_config.py"
    assert f'wrote {config} (course id "collapse-edu"' in capsys.readouterr().out
    assert config.read_text(encoding="utf-8") == NBGRADER_CONFIG
    loaded = PyFileConfigLoader(config.name, path=str(course)).load_config()
    assert loaded.CourseDirectory.course_id == "collapse-edu"
    assert "Exchange" not in loaded, "nothing that needs a server"

    config.write_text('c = get_config()\nc.CourseDirectory.course_id = "stats-101"\n', encoding="utf-8")
    assert main([*argv, "--force"]) == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "nbgrader_config.py" in line]
    assert said == [f"left {config} as it is (nbgrader needs c.CourseDirectory.course_id set in it)"]
    assert config.read_text(encoding="utf-8") == 'c = get_config()\nc.CourseDirectory.course_id = "stats-101"\n'


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

    made = _nbgrader("generate_assignment", assignment, "--force", course=course)
    assert "No nbgrader_config.py file found" not in made.stdout + made.stderr, "the course folder has its config"
    release_path = course / "release" / assignment / path.name
    release = nbformat.read(release_path, as_version=4)
    released_text = release_path.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in released_text and "raise NotImplementedError()" in released_text
    assert "# Hint: " in released_text, "our hints survive nbgrader's stub"
    assert "HIDDEN TESTS" not in released_text and "_checks_before" not in released_text, "the checkers are hidden"

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

    # the feedback on the stubs names the functions to write, fast_step not the checker's fast_step_moments
    _nbgrader("generate_feedback", assignment, "--force", course=course)
    feedback = (course / "feedback" / "stubs" / assignment / f"{assignment}.html").read_text(encoding="utf-8")
    for name in ("fast_step", "shrink_factor", "tail_beyond"):
        assert f"{name} is not written yet." in feedback
    assert "fast_step_moments is not written yet" not in feedback and "not written yet: " not in feedback


def _has_nbgrader() -> bool:
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
def test_no_release_shows_a_reference_answer(tmp_path):
    """Before: the released test cells held the checkers' references inline (lesson 01's ``lambda n: n *
    np.log(2)``, the ``def _reference...`` bodies of lessons 02-04); now every test cell of every release is
    a comment, and nbgrader puts the checker back only at autograde."""
    require(_has_nbgrader(), 'nbgrader is not installed (pip install "collapse-edu[nbgrader]")')
    course = tmp_path / "course"
    assert main(["--lessons", str(LESSONS_DIR), "student", "--nbgrader", str(course)]) == 0
    for path in LESSON_PATHS:
        _nbgrader("generate_assignment", path.stem, "--force", course=course)
        source = nbformat.read(course / "source" / path.stem / path.name, as_version=4)
        release = nbformat.read(course / "release" / path.stem / path.name, as_version=4)
        released_text = "\n".join(cell.source for cell in release.cells)
        hidden = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
        assert hidden and all(HIDDEN_BEGIN in c.source for c in hidden)
        for cell in hidden:  # every function and lambda of a checker: the references and the checker's helpers
            for line in _split_hidden(cell.source)[1].splitlines():
                if line.lstrip().startswith("def ") or "lambda" in line:
                    assert line.strip() not in released_text, f"{path.stem} releases {line.strip()!r}"
        for cell in release.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                lines = cell.source.splitlines()
                assert lines and all(line.startswith("# ") for line in lines), f"{path.stem}: {cell.source!r}"
            if meta.get("solution") and cell.cell_type == "markdown":
                assert cell.source == "YOUR ANSWER HERE"
        assert "with solutions" not in release.cells[0].source
    released_01 = (course / "release" / "01_gaussian_resampling" / "01_gaussian_resampling.ipynb").read_text()
    assert "lambda n: n * np.log(2)" not in released_01
    for name in ("02_discrete_tails", "03_ngram_text_collapse", "04_neural_lm_collapse"):
        assert "def _reference" not in (course / "release" / name / f"{name}.ipynb").read_text()
