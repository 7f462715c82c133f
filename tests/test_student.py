"""The student build: solutions become stubs with hints, nothing of the solution is left, and it runs."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import script_module
from hypothesis import given
from hypothesis import strategies as st

from collapse_edu.cli import main
from collapse_edu.lessons import lesson_paths
from collapse_edu.student import (
    BEGIN,
    CHECKER_TITLE,
    DEFAULT_HINT,
    END,
    SOLUTION_REMOVED,
    build_student_versions,
    checker_of,
    has_solution,
    strip_solutions,
    student_notebook,
)

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))

SOLUTION_CELL = textwrap.dedent(
    """\
    def shrink_factor(n, ddof=0):
        \"\"\"E[sigma_1^2] / sigma_0^2.\"\"\"
        ### BEGIN SOLUTION hint: the data have n - 1 degrees of freedom
        secret_numerator = n - 1
        return secret_numerator / (n - ddof)
        ### END SOLUTION


    class Tracker:
        def update(self, x):
            if x > 0:
                ### BEGIN SOLUTION
                self.secret_total = x
                ### END SOLUTION
            return self
    """
)


def python_of(source: str) -> str:
    """Cell source as plain Python (IPython magics such as %pip turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


# --------------------------------------------------------------------------- strip_solutions


def test_stub_replaces_the_block_at_its_indentation():
    stripped = strip_solutions(SOLUTION_CELL)
    assert "secret" not in stripped and "SOLUTION" not in stripped
    lines = stripped.splitlines()
    assert "    raise NotImplementedError('Student exercise: the data have n - 1 degrees of freedom')" in lines
    assert f"            raise NotImplementedError('Student exercise: {DEFAULT_HINT}')" in lines
    # everything outside the blocks is kept, line for line
    assert lines[:2] == SOLUTION_CELL.splitlines()[:2]
    assert "        return self" in lines

    namespace: dict = {}
    exec(compile(stripped, "<student>", "exec"), namespace)  # noqa: S102 - our own test source
    with pytest.raises(NotImplementedError, match="^Student exercise: the data have n - 1 degrees of freedom$"):
        namespace["shrink_factor"](10)
    assert namespace["Tracker"]().update(-1) is not None  # the stub only fires inside its branch
    with pytest.raises(NotImplementedError):
        namespace["Tracker"]().update(1)


hint_text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=0, max_size=40)


body_lines = st.lists(st.sampled_from(["a = 1", "b = a", "pass"]), max_size=4)


@given(indent=st.integers(0, 12), hint=hint_text, body=body_lines)
def test_stub_carries_any_hint(indent, hint, body):
    pad = " " * indent
    source = "\n".join(
        ["x = 0", f"{pad}### BEGIN SOLUTION hint: {hint}", *(pad + line for line in body), f"{pad}### END SOLUTION"]
    )
    stripped = strip_solutions(source)
    lines = stripped.splitlines()
    assert len(lines) == 2 and lines[0] == "x = 0"
    stub = ast.parse(lines[1].strip()).body[0]
    assert isinstance(stub, ast.Raise)
    message = ast.literal_eval(stub.exc.args[0])
    assert message == "Student exercise: " + (hint.strip() or DEFAULT_HINT)
    assert lines[1].startswith(pad + "raise")


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n### END SOLUTION\n", "line 2: END SOLUTION without BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "line 2: BEGIN SOLUTION inside another"),
    ],
)
def test_unbalanced_markers_raise(source, match):
    with pytest.raises(ValueError, match=match):
        strip_solutions(source)


def test_has_solution():
    assert has_solution(SOLUTION_CELL)
    assert not has_solution("x = 1  # no BEGIN SOLUTION marker at the start of a line")


# --------------------------------------------------------------------------- notebooks


def mini_lesson(*, broken: bool = False) -> nbformat.NotebookNode:
    """A tiny master notebook in the lesson format, with one exercise."""
    solution = nbformat.v4.new_code_cell(
        SOLUTION_CELL if not broken else "### BEGIN SOLUTION\nx = 1\n",
        metadata={"jupyter": {"source_hidden": True}, "tags": ["solution"]},
    )
    solution.outputs = [nbformat.v4.new_output("stream", name="stdout", text="secret output\n")]
    solution.execution_count = 3
    checker = nbformat.v4.new_code_cell(
        "from collapse_edu.exercises import check_function\n"
        "check_function(shrink_factor, lambda n, ddof=0: (n - 1) / (n - ddof), [dict(n=5), dict(n=9, ddof=1)])"
    )
    checker.outputs = [nbformat.v4.new_output("stream", name="stdout", text="passed\n")]
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# 98 · Mini lesson\n\nText."),
            nbformat.v4.new_code_cell("import math\nprint(math.pi)"),
            solution,
            checker,
            nbformat.v4.new_markdown_cell("The answer is (n-1)/n because secret.", metadata={"tags": ["solution"]}),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "collapse_edu": {"minutes": 5},
        },
    )
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="3.14\n")]
    return notebook


def test_student_notebook_hides_solutions_and_leaves_the_master_alone():
    master = mini_lesson()
    student = student_notebook(master)
    solution, markdown = student.cells[2], student.cells[4]
    assert "secret" not in solution.source and "NotImplementedError" in solution.source
    assert solution.outputs == [] and solution.execution_count is None
    assert "source_hidden" not in solution.metadata.get("jupyter", {})
    assert markdown.source == SOLUTION_REMOVED
    # other cells keep their source; no output is kept anywhere (a checker's ✅ would give the answer away)
    assert student.cells[1].source == master.cells[1].source
    assert student.cells[3].source == f"{CHECKER_TITLE}\n{master.cells[3].source}", "the checker, collapsed"
    assert all(not c.outputs and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert master.cells[1].outputs and master.cells[3].outputs
    # the master is unchanged
    assert "secret_numerator" in master.cells[2].source
    assert master.cells[2].metadata["jupyter"]["source_hidden"] is True
    nbformat.validate(student)


def test_build_writes_every_lesson(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    for name in ("97_a.ipynb", "98_b.ipynb"):
        nbformat.write(mini_lesson(), lessons / name)
    out = tmp_path / "student"
    written = build_student_versions(sorted(lessons.glob("*.ipynb")), out)
    assert [p.name for p in written] == ["97_a.ipynb", "98_b.ipynb"]
    for path in written:
        assert "secret" not in path.read_text(encoding="utf-8")


def test_build_writes_nothing_on_error(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(mini_lesson(), lessons / "97_good.ipynb")
    nbformat.write(mini_lesson(broken=True), lessons / "98_bad.ipynb")
    out = tmp_path / "student"
    with pytest.raises(ValueError, match="^98_bad.ipynb: a BEGIN SOLUTION block is never closed"):
        build_student_versions(sorted(lessons.glob("*.ipynb")), out)
    assert not out.exists()


def test_cli_student_command(tmp_path, capsys):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(mini_lesson(), lessons / "98_mini.ipynb")
    out = tmp_path / "student"
    assert main(["--lessons", str(lessons), "student", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 1 student notebooks to {out}"
    assert (out / "98_mini.ipynb").is_file()


def run_notebook(path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return notebook


def stdout_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def checker_cells(notebook: nbformat.NotebookNode) -> list:
    """The checker of each exercise (:func:`collapse_edu.student.checker_of`)."""
    cells = notebook.cells
    return [checker_of(cells, i) for i, c in enumerate(cells) if c.cell_type == "code" and has_solution(c.source)]


@pytest.mark.slow
def test_student_version_of_a_mini_lesson_runs(tmp_path):
    nbformat.write(mini_lesson(), tmp_path / "98_mini.ipynb")
    (path,) = build_student_versions([tmp_path / "98_mini.ipynb"], tmp_path / "student")
    executed = run_notebook(path)
    assert "not written yet" in stdout_of(executed.cells[3])


# --------------------------------------------------------------------------- the real lessons


@pytest.fixture(scope="module")
def student_build(tmp_path_factory):
    if not LESSONS:
        pytest.skip("no lessons in lessons/ yet")
    out = tmp_path_factory.mktemp("student")
    build_student_versions(LESSONS, out)
    return out


@pytest.mark.parametrize("master", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_lessons_parse_and_hold_no_solution(student_build, master):
    original = nbformat.read(master, as_version=4)
    student = nbformat.read(student_build / master.name, as_version=4)
    assert len(student.cells) == len(original.cells)
    for before, after in zip(original.cells, student.cells, strict=True):
        if after.cell_type != "code":
            # before: "The answer is in the cell after the checker", where the student version has no answer
            assert "in the cell after the checker" not in after.source, "it points to an answer that is not there"
            continue  # a markdown cell may explain the markers in words
        lines = after.source.splitlines()
        assert not any(BEGIN.match(line) or END.match(line) for line in lines), "a solution marker is left"
        ast.parse(python_of(after.source))  # raises SyntaxError with the line if a stub broke the cell
        if has_solution(before.source):
            kept = {line.strip() for line in strip_solutions(before.source).splitlines()}
            solution = {line.strip() for line in before.source.splitlines()} - kept
            # a statement of the solution that survives as a line of its own (hints live inside the stub's string)
            leaked = sorted(line for line in solution & {line.strip() for line in lines} if len(line) > 3)
            assert not leaked, f"solution text left in the student version: {leaked}"
            assert "NotImplementedError" in after.source
    assert any(has_solution(c.source) for c in original.cells if c.cell_type == "code"), "a lesson without exercises"
    # before: the checker right under an exercise showed the reference answer (02's _reference, 01's lambda)
    where = {id(cell): i for i, cell in enumerate(original.cells)}
    checkers = [student.cells[where[id(cell)]] for cell in checker_cells(original) if cell is not None]
    assert checkers
    for checker in checkers:
        assert checker.source.startswith(CHECKER_TITLE) and checker.metadata["jupyter"]["source_hidden"] is True
        assert checker.metadata["cellView"] == "form", "Colab hides a form's code"


@pytest.mark.slow
@pytest.mark.parametrize("master", LESSONS, ids=[p.stem for p in LESSONS])
def test_student_version_runs_and_checkers_say_not_written_yet(student_build, master):
    """What CI does with the student versions (they are committed unexecuted, so nbval skips them):
    each runs top to bottom from a fresh kernel, and every checker says "not written yet"."""
    executed = run_notebook(student_build / master.name)  # raises CellExecutionError on any error
    checkers = checker_cells(nbformat.read(master, as_version=4))
    ran = [c for c in executed.cells if c.cell_type == "code"]
    by_source = {c.source.removeprefix(CHECKER_TITLE + "\n"): c for c in ran}  # a checker's title is the student's
    assert checkers, f"no exercise found in {master.name}"
    for cell in checkers:
        assert "not written yet" in stdout_of(by_source[cell.source]), cell.source


# --------------------------------------------------------------------------- the published student versions

PUBLISHED = LESSONS_DIR / "student"


def test_published_student_versions_are_in_step_with_the_lessons(student_build):
    """lessons/student/ (what the "exercises" launch links open) is exactly what the build makes now."""
    published = [p.name for p in lesson_paths(PUBLISHED)] if PUBLISHED.is_dir() else []
    assert published == [p.name for p in LESSONS], "lessons/student/ is out of step: run collapse-edu student --publish"
    for master in LESSONS:
        assert (PUBLISHED / master.name).read_bytes() == (student_build / master.name).read_bytes(), (
            f"lessons/student/{master.name} is out of step: run collapse-edu student --publish"
        )


def test_publish_writes_lessons_student_and_removes_only_its_own_stale_files(tmp_path, capsys):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(mini_lesson(), lessons / "98_mini.ipynb")
    assert main(["--lessons", str(lessons), "student", "--publish"]) == 0
    published = lessons / "student" / "98_mini.ipynb"
    first = published.read_bytes()
    assert main(["--lessons", str(lessons), "student", "--publish"]) == 0
    assert published.read_bytes() == first, "publishing twice gives the same bytes"
    # lesson 98 renumbered to 97: the old student file (ours) goes, a foreign one stays
    (lessons / "98_mini.ipynb").rename(lessons / "97_mini.ipynb")
    nbformat.write(mini_lesson(), lessons / "student" / "96_handmade.ipynb")
    capsys.readouterr()
    assert main(["--lessons", str(lessons), "student", "--publish"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 student notebooks whose lesson is gone: 98_mini.ipynb" in out
    assert "left 1 notebooks collapse-edu did not write: 96_handmade.ipynb" in out
    assert sorted(p.name for p in (lessons / "student").iterdir()) == ["96_handmade.ipynb", "97_mini.ipynb"]


# --------------------------------------------------------------------------- nothing overwritten (issue 14)


def test_student_never_writes_into_the_master_folder(tmp_path, capsys):
    """Before: `student --out lessons` rewrote every master lesson without its solutions."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(mini_lesson(), lessons / "98_mini.ipynb")
    before = (lessons / "98_mini.ipynb").read_bytes()
    for extra in ([], ["--force"]):
        with pytest.raises(SystemExit) as stop:
            main(["--lessons", str(lessons), "student", "--out", str(lessons), *extra])
        assert stop.value.code == 2
        assert "holds the master lessons: student never writes into it" in capsys.readouterr().err
    assert (lessons / "98_mini.ipynb").read_bytes() == before


def test_student_replaces_its_own_files_but_not_foreign_ones(tmp_path, capsys):
    from collapse_edu.outputs import written_by_tool

    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(mini_lesson(), lessons / "98_mini.ipynb")
    out = tmp_path / "student"
    assert main(["--lessons", str(lessons), "student", "--out", str(out)]) == 0
    assert written_by_tool(out / "98_mini.ipynb")
    assert main(["--lessons", str(lessons), "student", "--out", str(out)]) == 0  # a rebuild needs no --force
    capsys.readouterr()
    handout = tmp_path / "handout"
    handout.mkdir()
    nbformat.write(mini_lesson(), handout / "98_mini.ipynb")  # e.g. a lecturer's edited copy
    with pytest.raises(SystemExit) as stop:
        main(["--lessons", str(lessons), "student", "--out", str(handout)])
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert err.startswith("collapse-edu: error: student would replace 1 existing file that collapse-edu did not write")
    assert "secret_numerator" in (handout / "98_mini.ipynb").read_text()
    assert main(["--lessons", str(lessons), "student", "--out", str(handout), "--force"]) == 0
    assert "secret_numerator" not in (handout / "98_mini.ipynb").read_text()


def test_sync_check_reports_student_versions_out_of_step(tmp_path, capsys):
    """Before: --check looked at the masters only and said all was well over an edited student copy."""
    sync = script_module("scripts/sync_lessons.py").main
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(mini_lesson(), lessons / "98_mini.ipynb")
    assert sync(["--lessons", str(lessons)]) == 0
    assert sync(["--check", "--lessons", str(lessons)]) == 0
    assert "every student version, are up to date" in capsys.readouterr().out
    student = lessons / "student" / "98_mini.ipynb"
    edited = nbformat.read(student, as_version=4)
    edited.cells[-1].source += "\n# a stray edit"
    nbformat.write(edited, student)
    assert sync(["--check", "--lessons", str(lessons)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "student versions out of step: 98_mini.ipynb (run python scripts/sync_lessons.py; "
        "a copy edited by hand is replaced only by collapse-edu student --publish --force)"
    ]
    assert "a stray edit" in student.read_text()  # --check changes nothing
    student.unlink()  # an edited copy is no longer the tool's: publishing would not replace it without --force
    assert sync(["--check", "--lessons", str(lessons)]) == 1  # a missing copy is out of step too
    assert sync(["--lessons", str(lessons)]) == 0 and sync(["--check", "--lessons", str(lessons)]) == 0
    (lessons / "98_mini.ipynb").rename(lessons / "97_mini.ipynb")  # renumbered: 97 missing, 98 left over
    capsys.readouterr()
    assert sync(["--check", "--lessons", str(lessons)]) == 1
    assert "student versions out of step: 97_mini.ipynb, 98_mini.ipynb" in capsys.readouterr().out
