"""Every committed lesson follows the template of docs/authoring.md.

nbval (``pytest --nbval-lax lessons``) re-executes the lessons and compares their checked cells;
these tests check what nbval cannot: that the committed notebook is executed in order, carries
its metadata, badges, checked cells, exercises and references, and builds a student version.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from collapse_edu import REPOSITORY
from collapse_edu.launch import sync_master
from collapse_edu.lessons import KERNELSPEC, list_lessons
from collapse_edu.student import BEGIN, has_solution, student_notebook

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
LESSON_PATHS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def python_source(cell: nbformat.NotebookNode) -> str:
    """Cell source with IPython magics (%pip, !cmd) blanked out, so it parses as Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


@pytest.fixture(params=LESSON_PATHS, ids=lambda p: p.stem)
def lesson(request: pytest.FixtureRequest) -> tuple[Path, nbformat.NotebookNode]:
    return request.param, nbformat.read(request.param, as_version=4)


def test_lessons_exist_and_are_numbered_in_order() -> None:
    numbers = [int(p.name[:2]) for p in LESSON_PATHS]
    assert numbers[:2] == [0, 1], "lessons 00 and 01 are the foundation"
    assert numbers == list(range(len(numbers))), f"lesson numbers have a gap: {numbers}"


def test_metadata(lesson) -> None:
    path, notebook = lesson
    assert notebook.metadata.get("kernelspec") == KERNELSPEC, "JupyterLab asks for a kernel without it"
    minutes = notebook.metadata.get("collapse_edu", {}).get("minutes")
    assert isinstance(minutes, int) and 5 <= minutes <= 60, "metadata collapse_edu.minutes: the learner's time"


def test_title_cell_has_title_badges_and_goals(lesson) -> None:
    path, notebook = lesson
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.name[:2]}")
    binder = f"mybinder.org/v2/gh/{REPOSITORY}/main?urlpath=lab/tree/lessons/{path.name}"
    colab = f"colab.research.google.com/github/{REPOSITORY}/blob/main/lessons/{path.name}"
    assert binder in first.source, "Binder badge must open this very lesson"
    assert colab in first.source, "Colab badge must open this very lesson"
    assert re.search(r"what you will learn", first.source, re.I)
    assert re.search(r"what you need", first.source, re.I)


def test_launch_links_and_hidden_solutions_are_current(lesson) -> None:
    """Two launch links per platform (exercises, with solutions) for this very file, and every solution
    cell hidden in JupyterLab and on Colab (see collapse_edu/launch.py)."""
    path, notebook = lesson
    copy = nbformat.from_dict(notebook)
    assert not sync_master(copy, path.name), f"{path.name} is out of date: run python scripts/sync_lessons.py"


def test_setup_cell_installs_on_colab_and_checks_versions(lesson) -> None:
    _, notebook = lesson
    setup = code_cells(notebook)[0].source
    assert "google.colab" in setup and "pip install" in setup and "check_environment(" in setup


def test_committed_executed_in_order_without_errors(lesson) -> None:
    _, notebook = lesson
    cells = code_cells(notebook)
    counts = [cell.execution_count for cell in cells]
    assert None not in counts, "a stored cell was never executed: nbval would skip it"
    assert counts == list(range(1, len(cells) + 1)), f"execution counts out of order: {counts}"
    errors = [o for cell in cells for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"committed error output: {errors[0].ename if errors else ''}"
    for cell in cells:
        assert ast.parse(python_source(cell)) is not None


def test_at_least_three_checked_cells_with_output(lesson) -> None:
    _, notebook = lesson
    checked = [c for c in code_cells(notebook) if c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checked) >= 3
    for cell in checked:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert re.search(r"\d", text), f"a checked cell must print numbers: {cell.source[:80]!r}"


def test_figures_have_captions(lesson) -> None:
    """The markdown cell after a cell that shows a figure starts with a one-sentence caption."""
    _, notebook = lesson
    cells = notebook.cells
    for index, cell in enumerate(cells[:-1]):
        shows_image = cell.cell_type == "code" and any("image/png" in o.get("data", {}) for o in cell.outputs)
        if shows_image:
            following = cells[index + 1]
            assert following.cell_type == "markdown" and following.source.lstrip().startswith("*Figure."), (
                f"figure in cell {index} has no '*Figure.*' caption after it"
            )


def test_exercises_have_hidden_solutions_and_checkers(lesson) -> None:
    _, notebook = lesson
    cells = notebook.cells
    solutions = [i for i, c in enumerate(cells) if c.cell_type == "code" and has_solution(c.source)]
    assert len(solutions) >= 2, "at least two exercises with solutions"
    for i in solutions:
        assert cells[i].metadata.get("jupyter", {}).get("source_hidden") is True, "solution input starts collapsed"
        for line in cells[i].source.splitlines():
            match = BEGIN.match(line)
            if match:
                assert match["hint"].strip(), "every solution block carries a hint for the student stub"
        checker = next(c for c in cells[i + 1 :] if c.cell_type == "code")
        assert "check_" in checker.source, "the cell after an exercise checks it"


def test_summary_and_further_reading_with_arxiv(lesson) -> None:
    _, notebook = lesson
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert re.search(r"^#+ .*summary", text, re.I | re.M)
    assert re.search(r"^#+ .*further reading", text, re.I | re.M)
    if not text.startswith("# 00"):
        assert re.search(r"arXiv[: ]\s*\d{4}\.\d{4,5}", text), "cite the papers with their arXiv ids"


def test_student_version_keeps_no_solution(lesson) -> None:
    _, notebook = lesson
    student = student_notebook(notebook)
    for master, cell in zip(notebook.cells, student.cells, strict=True):
        if cell.cell_type != "code":
            continue
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
        if has_solution(master.source):
            assert 'raise NotImplementedError("Student exercise: ' in cell.source or (
                "raise NotImplementedError('Student exercise: " in cell.source
            )
            assert not cell.outputs
        ast.parse(python_source(cell))


def test_list_reads_every_lesson() -> None:
    listed = list_lessons(LESSONS_DIR)
    assert [lesson.path for lesson in listed] == LESSON_PATHS
    assert all(lesson.title and lesson.minutes for lesson in listed)


# --------------------------------------------------------------------------- what a reader sees

#: The experiment each lesson shows as a short visible cell (the package only draws the result).
VISIBLE_EXPERIMENT = {
    "01": "run_generations(",
    "02": "run_generations(",
    "03": "run_generations(",
    "04": "run_generations(",
    "05": "run_generations(",
    "06": "run_generations(",
    "07": "getsource(gan.adversarial_step)",  # the GAN training step Algorithm 1 describes, shown
    "08": "loss.backward()",  # the training loop over the task sequence, written out
}


def test_no_figure_shown_twice_and_no_bare_results(lesson) -> None:
    """A figure appears once per cell; a cell does not end by echoing True/False or None."""
    _, notebook = lesson
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        images = [o["data"]["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == len(set(images)), f"cell {index} shows the same figure twice"
        for output in cell.outputs:
            if output.output_type == "execute_result":
                text = output.get("data", {}).get("text/plain", "").strip()
                assert text not in ("True", "False", "None"), f"cell {index} echoes a bare {text}"


def test_no_progress_bar_left_in_outputs(lesson) -> None:
    """Saved notebooks carry no frozen tqdm bar ("0%| | 0/20"): the runner strips them."""
    _, notebook = lesson
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") + output.get("data", {}).get("text/plain", "")
            assert not re.search(r"\d+%\|", text), f"cell {index} keeps a progress bar: {text[:60]!r}"


_NOT_PROSE = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|<[^>]+>|\]\([^)]*\)|https?://\S+", re.S)
_ASCII_MATH = re.compile(
    r"\b[A-Za-z]{1,8}_\{?[A-Za-z0-9]|\w\^\(?[-\w]|\b(sigma|mu|lambda|chi2?|delta|alpha|epsilon|theta)\b"
)


def test_formulas_are_typeset(lesson) -> None:
    """Formulas in the prose are LaTeX (``$\\sigma_{t+1}$``), not ASCII such as sigma_{t+1} or e^-c."""
    _, notebook = lesson
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        text = _NOT_PROSE.sub(" ", cell.source)
        match = _ASCII_MATH.search(text)
        assert match is None, f"cell {index}: ASCII formula {text[max(0, match.start() - 30) : match.end() + 30]!r}"


def test_predict_before_you_run_prompts(lesson) -> None:
    """At least two "Predict" prompts whose answer waits in a collapsed <details> block."""
    path, notebook = lesson
    prompts = [
        c
        for c in notebook.cells
        if c.cell_type == "markdown" and "**Predict" in c.source and re.search(r"<details>.*</details>", c.source, re.S)
    ]
    assert len(prompts) >= 2, f"{path.name}: {len(prompts)} predict-before-you-run prompts, need 2"


def test_first_experiment_is_visible(lesson) -> None:
    """The lesson shows its experiment as code a learner can read and change, not only a figure call."""
    path, notebook = lesson
    call = VISIBLE_EXPERIMENT.get(path.name[:2])
    if call is None:
        return
    assert any(c.cell_type == "code" and call in c.source for c in notebook.cells), (
        f"{path.name}: no visible cell calls {call}"
    )


def test_exercises_have_time_estimates(lesson) -> None:
    _, notebook = lesson
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if re.match(r"^(#+\s*|\*\*)Exercise\b", line):
                assert re.search(r"\(\s*\d+\s*min", line), f"exercise without a time estimate: {line!r}"


def test_widgets_see_the_objects_the_lesson_built(lesson) -> None:
    """A widget's callback runs after *Run All*, with whatever its names are bound to then: every lesson
    name a widget cell reads (a model, a simulation, a helper) is bound in one cell only, so no later cell
    (a table's loop variable, say) can swap it for something else. Lesson 04's explorer once got a dict of
    stored numbers instead of its generation-0 network, and every live setting failed."""
    path, notebook = lesson
    trees = [ast.parse(python_source(cell)) for cell in code_cells(notebook)]
    bound: dict[str, set[int]] = {}
    for k, tree in enumerate(trees):
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names = [node.id]
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
            for name in names:
                bound.setdefault(name, set()).add(k)
    widgets = [k for k, cell in enumerate(code_cells(notebook)) if "interact_figure(" in cell.source]
    for k in widgets:
        read = {n.id for n in ast.walk(trees[k]) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        rebound = {name: sorted(bound[name]) for name in read if len(bound.get(name, ())) > 1}
        assert not rebound, f"{path.name}: the widget in code cell {k} reads names bound in several cells: {rebound}"


def test_markdown_table_rows_are_whole(lesson) -> None:
    """A line break inside a table row ends the table there: lesson 00's "your machine" row once broke
    in two, and its second half showed as a paragraph with bare | characters."""
    _, notebook = lesson
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.lstrip().startswith("|"):
                assert line.rstrip().endswith("|"), f"a table row broken in two: {line[-60:]!r} / {lines[i + 1][:60]!r}"
