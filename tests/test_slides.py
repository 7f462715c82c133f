"""``collapse-edu slides``: which cells a lecture deck keeps, and the tool's rules for the files it writes.

The deck in a real browser: tests/test_browser_slides.py.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import LESSONS_DIR

from collapse_edu import slides
from collapse_edu.cli import main
from collapse_edu.slides import MAX_CODE_LINES, slide_notebook

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def lecture() -> nbformat.NotebookNode:
    def code(source, outputs=()):
        cell = nbformat.v4.new_code_cell(source)
        cell.outputs = list(outputs)
        cell.execution_count = 1
        return cell

    figure = nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="sigma 0.37\n")
    long_code = "\n".join(f"x{i} = {i}" for i in range(MAX_CODE_LINES + 5))
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "# 97 · A lecture\n\n[![b](https://mybinder.org/badge_logo.svg)](x)\n\nGoals."
            ),
            code("import sys\ncheck_environment()"),
            code("from collapse_edu.plots import use_house_style\nuse_house_style()"),
            nbformat.v4.new_markdown_cell("## 1. The experiment\n\nShort intro."),
            code("history = run_generations(...)\nprint(history)", [printed]),
            code("fig = draw(history)", [figure]),
            nbformat.v4.new_markdown_cell("*Figure.* Sigma **shrinks** like $e^{-t/n}$."),
            nbformat.v4.new_markdown_cell("A long explanation. " * 40),
            code(long_code),
            nbformat.v4.new_markdown_cell("**Exercise 1** (3 min). Write f."),
            code("def f():\n    ### BEGIN SOLUTION hint: h\n    return 1\n    ### END SOLUTION"),
            code("check_function(f, lambda: 1, [{}])", [printed]),
            nbformat.v4.new_markdown_cell("## Summary\n\n- one"),
        ]
    )


def test_the_deck_keeps_headings_figures_and_short_code_and_drops_the_rest():
    deck = slide_notebook(lecture())
    kinds = [(c.cell_type, c.metadata["slideshow"]["slide_type"], c.source.splitlines()[0][:30]) for c in deck.cells]
    assert kinds[0] == ("markdown", "slide", "# 97 · A lecture")
    assert kinds[1][1] == "notes" and "mybinder" not in deck.cells[1].source  # no launch badges on a slide
    sources = "\n".join(c.source for c in deck.cells)
    assert "check_environment" not in sources and "use_house_style" not in sources, "setup cells left out"
    assert "BEGIN SOLUTION" not in sources and "check_function" not in sources, "solutions and checkers left out"
    assert "x0 = 0" not in sources, "a code cell longer than a slide is left out"
    assert ("markdown", "slide", "## 1. The experiment") in kinds and ("markdown", "-", "Short intro.") in kinds
    assert ("code", "-", "history = run_generations(...)") in kinds
    figure = next(c for c in deck.cells if c.cell_type == "code" and "draw" in c.source)
    assert figure.metadata["slideshow"]["slide_type"] == "subslide" and "remove_input" in figure.metadata["tags"]
    assert figure.outputs[0]["metadata"]["image/png"]["alt"] == "Figure: Sigma shrinks like e^{-t/n}."
    caption = deck.cells[deck.cells.index(figure) + 1]
    assert caption.metadata["slideshow"]["slide_type"] == "-" and 'class="caption"' in caption.source
    assert ("markdown", "notes", "A long explanation. A long exp") in kinds
    assert ("markdown", "subslide", "**Exercise 1** (3 min). Write ") in kinds


def test_cli_slides_writes_a_marked_deck_and_refuses_foreign_files(tmp_path, capsys, monkeypatch):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(lecture(), lessons / "97_lecture.ipynb")
    monkeypatch.setattr(slides, "reveal_folder", lambda: None)
    monkeypatch.setattr(slides, "mathjax_folder", lambda: None)
    out = tmp_path / "deck"
    assert main(["--lessons", str(lessons), "slides", "97", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "slides written to" in captured.out
    assert "reveal.js comes from a CDN" in captured.err and "MathJax from a CDN" in captured.err
    page = (out / "97_lecture.slides.html").read_text(encoding="utf-8")
    assert "<!-- written by collapse-edu -->" in page
    (image,) = re.findall(r"<img\b[^>]*>", page)
    assert 'src="data:image/png;base64,' in image and 'alt="Figure: Sigma shrinks like e^{-t/n}."' in image
    assert "jquery" not in page.lower() and "require.js" not in page and "mermaid" not in page
    assert main(["--lessons", str(lessons), "slides", "97", "--out", str(out)]) == 0  # its own file: replaced
    (out / "97_lecture.slides.html").write_text("<html>mine</html>")
    with pytest.raises(SystemExit) as stop:
        main(["--lessons", str(lessons), "slides", "97", "--out", str(out)])
    assert stop.value.code == 2 and "did not write" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["--lessons", str(lessons), "slides", "97", "--out", str(lessons)])
    assert stop.value.code == 2 and "holds the master lessons" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_real_lessons_give_a_slide_per_section_and_every_figure(path):
    """Every # and ## heading line, also one in the middle of a cell: before, those (lesson 01's sections
    6 and 8, every lesson's "Further reading") went into the speaker notes."""
    lesson = nbformat.read(path, as_version=4)
    deck = slide_notebook(lesson)
    sections = [
        text
        for c in lesson.cells
        if c.cell_type == "markdown" and "solution" not in c.metadata.get("tags", [])
        for level, text in slides._headings(c.source)
        if level <= 2
    ]
    starts = [c.source.splitlines()[0] for c in deck.cells if c.metadata["slideshow"]["slide_type"] == "slide"]
    assert [re.sub(r"^#+\s+", "", start) for start in starts] == sections
    assert "Further reading" in sections
    figures = sum("image/png" in o.get("data", {}) for c in lesson.cells for o in c.get("outputs", []))
    assert sum("image/png" in o.get("data", {}) for c in deck.cells for o in c.get("outputs", [])) == figures


def test_a_notebook_with_nothing_to_show_gets_a_sentence(tmp_path, capsys, monkeypatch):
    """Before: nbconvert's "All cells are hidden, cannot create slideshow", naming no notebook."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    setup_only = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np")])
    nbformat.write(setup_only, lessons / "96_setup_only.ipynb")
    monkeypatch.setattr(slides, "reveal_folder", lambda: None)
    monkeypatch.setattr(slides, "mathjax_folder", lambda: None)
    with pytest.raises(SystemExit) as stop:
        main(["--lessons", str(lessons), "slides", "96", "--out", str(tmp_path / "deck")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith("collapse-edu: error: 96_setup_only.ipynb: no cell is left to show on a slide")


def test_long_sections_outputs_and_answer_keys():
    """Before: a figure's slide also carried the code after it, a long printout ran off the slide, an
    exercise's answer key was shown, and a lead stopped at "et al."."""
    printed = "\n".join(f"line {i}" for i in range(40)) + "\n"
    cells = [
        nbformat.v4.new_markdown_cell("# 96 · Deck"),
        nbformat.v4.new_code_cell("import numpy"),
        nbformat.v4.new_markdown_cell(
            "## 1. One\n\nShort.\n\n## 2. Two\n\n" + "Shumailov et al. (2024) show it. " + "More. " * 100
        ),
        nbformat.v4.new_code_cell("fig = draw()"),
        nbformat.v4.new_markdown_cell("*Figure.* A figure."),
        nbformat.v4.new_code_cell("print(table)"),
        nbformat.v4.new_code_cell("print(answers)"),
        nbformat.v4.new_markdown_cell(
            "## Summary\n\n- First point. Detail.\n- Second point, e.g. this. More.\n" + "x " * 300
        ),
    ]
    cells[3].outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG})]
    cells[5].outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    cells[6].outputs = [nbformat.v4.new_output("stream", name="stdout", text="run A: overfitting\n")]
    cells[6].metadata["tags"] = ["answers"]
    deck = slide_notebook(nbformat.v4.new_notebook(cells=cells))
    shown = [(c.metadata["slideshow"]["slide_type"], (c.source.splitlines() or [""])[0][:40]) for c in deck.cells]
    assert ("slide", "## 1. One") in shown and ("slide", "## 2. Two") in shown  # split mid-cell
    assert ("-", "Shumailov et al. (2024) show it.") in shown
    assert ("subslide", "print(table)") in shown  # not on the figure's slide
    table = next(c for c in deck.cells if c.source == "print(table)")
    assert table.outputs[0]["text"].splitlines()[-1] == "... (28 more lines in the notebook)"
    assert "print(answers)" not in [c.source for c in deck.cells]
    summary = deck.cells[[c.source for c in deck.cells].index("## Summary") + 1]
    assert (
        summary.source == "- First point.\n- Second point, e.g. this."
        and summary.metadata["slideshow"]["slide_type"] == "-"
    )


def test_first_sentences_of_references_and_lists():
    """Before: every reference of "Further reading" showed as its first initial ("- I."), and a summary
    dropped the points beyond a character budget."""
    reference = 'I. Shumailov, S.-W. Kim, "Is Model Collapse Inevitable? Breaking the Curse", ICML 2024. More.'
    assert slides._first_sentence(reference) == reference.removesuffix(" More.")
    assert slides._first_sentence("Shumailov et al. (2024) show it. Then.") == "Shumailov et al. (2024) show it."
    points = "\n".join(f"- Point {k} is long enough to matter {'x' * 200}. Detail." for k in range(8))
    lead = slides._lead(points)
    assert lead.count("\n- ") == 7 and "Detail" not in lead  # every point, each its first sentence
    pages = slides._list_pages(lead)
    assert len(pages) > 1 and "\n".join(pages) == lead  # split over sub-slides, nothing lost


def test_wide_printouts_exercises_and_sections_that_open_with_a_sub_heading():
    """Before: lesson 09's eight-column logs (110 characters a line) wrapped every row at 18 px; an exercise
    whose task opened with a long sentence showed its heading alone (the task went to the notes); so did a
    section that opened with a sub-heading ("8. Exercises"); and a numbered list's lead was "1."."""
    assert slides.printout_px("x" * 80) == slides.PRINTOUT_PX
    assert slides.printout_px("x" * 110) == 16  # fits at 16 px: 110 x 0.602 x 16 = 1060 of 1120 px
    assert slides.printout_px("x" * 300) == slides.PRINTOUT_PX  # wraps anyway: at the regular size
    assert slides._first_sentence("1. Weaken it. 2. Then more.") == "1. Weaken it."
    task = "Write `f(x)`: " + "a long sentence " * 30 + "end. (The answer is in the cell after the checker.)"
    cells = [
        nbformat.v4.new_markdown_cell("# 95 · Deck"),
        nbformat.v4.new_code_cell("import numpy"),
        nbformat.v4.new_markdown_cell(f"## 8. Exercises\n\n### Exercise 1 (3 min)\n\n{task}"),
        nbformat.v4.new_code_cell("print(table)"),
    ]
    cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text=("y" * 110 + "\n") * 3)]
    deck = slide_notebook(nbformat.v4.new_notebook(cells=cells))
    kinds = {c.source: c.metadata["slideshow"]["slide_type"] for c in deck.cells}
    assert kinds["## 8. Exercises"] == "slide"
    assert kinds["### Exercise 1 (3 min)"] == "-", "on the section's slide, not a sub-slide after a bare heading"
    shown = task.removesuffix(" (The answer is in the cell after the checker.)")  # the deck has neither
    assert kinds[shown] == "-", "an exercise's task is shown, not sent to the notes"
    table = next(c for c in deck.cells if c.source == "print(table)")
    assert "printout_16px" in table.metadata["tags"]
