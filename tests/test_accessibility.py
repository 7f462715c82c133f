"""Accessibility (the Notebooks-for-All checklist): headings, alt text, figures readable on dark themes.

* one H1 per lesson, and headings in order (no level skipped on the way down), in the masters and
  in the student versions built from them;
* every figure image in the exported HTML carries alt text, and it is the figure's caption;
* every stored figure is opaque (a transparent PNG puts black labels on JupyterLab's dark page);
  the house style makes it so, with the Okabe-Ito palette and a distinct line style and marker per
  series. ``tests/test_browser_slides.py`` checks the slides and takes the
  dark-theme screenshot.
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import LESSONS_DIR

from collapse_edu.lessons import write_html
from collapse_edu.slides import caption_of, plain_text
from collapse_edu.student import student_notebook

LESSON_PATHS = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))
_HEADING = re.compile(r"^(#{1,6})\s+\S")


def headings(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(level, line) of every markdown heading, in order, outside code fences."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        fenced = False
        for line in cell.source.splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced and _HEADING.match(line):
                found.append((len(_HEADING.match(line)[1]), line.strip()[:60]))
    return found


def heading_problems(notebook: nbformat.NotebookNode) -> list[str]:
    found = headings(notebook)
    problems = []
    if [level for level, _ in found].count(1) != 1:
        problems.append(f"{[level for level, _ in found].count(1)} H1 headings (want exactly one)")
    if found and found[0][0] != 1:
        problems.append(f"the first heading is not the H1: {found[0][1]!r}")
    for (before, _), (level, line) in zip(found, found[1:], strict=False):
        if level > before + 1:
            problems.append(f"H{before} followed by H{level}: {line!r}")
    return problems


def test_heading_problems_are_found():
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("## Intro\n# Title\n### Skipped a level\n```\n# not a heading\n```")]
    )
    assert heading_problems(notebook) == [
        "the first heading is not the H1: '## Intro'",
        "H1 followed by H3: '### Skipped a level'",
    ]


@pytest.mark.parametrize("path", LESSON_PATHS, ids=[p.stem for p in LESSON_PATHS])
def test_one_h1_and_headings_in_order(path: Path):
    master = nbformat.read(path, as_version=4)
    assert heading_problems(master) == [], path.name
    assert heading_problems(student_notebook(master)) == [], f"student version of {path.name}"


def _alpha_minimum(png: str) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(png)))
    return int(np.asarray(image.convert("RGBA"))[..., 3].min())


@pytest.mark.parametrize("path", LESSON_PATHS, ids=[p.stem for p in LESSON_PATHS])
def test_every_stored_figure_is_opaque(path: Path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                assert _alpha_minimum(output["data"]["image/png"]) == 255, f"cell {index}: transparent pixels"


def test_the_house_style_draws_opaque_figures():
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    from collapse_edu.plots import use_house_style

    with mpl.rc_context({"figure.facecolor": (1, 1, 1, 0), "savefig.transparent": True}):  # as matplotlib-inline
        use_house_style()
        figure, axes = plt.subplots()
        axes.plot([0, 1], [1, 0])
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    assert _alpha_minimum(base64.b64encode(buffer.getvalue()).decode()) == 255


def test_the_house_style_is_colour_blind_safe_with_distinct_line_styles():
    """README, Accessibility: the Okabe-Ito palette, and series told apart by line style and marker too."""
    import matplotlib as mpl

    from collapse_edu.plots import OKABE_ITO, THEORY_STYLE, series_style, use_house_style

    assert OKABE_ITO == ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
    with mpl.rc_context():
        use_house_style()
        assert [c.lower() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]] == [c.lower() for c in OKABE_ITO]
    styles = [series_style(i) for i in range(len(OKABE_ITO))]
    for key in ("color", "linestyle", "marker"):
        assert len({repr(style[key]) for style in styles}) == len(styles), key
    assert all(style["linestyle"] not in ("--", ":") for style in styles)  # dashes: theory; dots: reference levels
    assert THEORY_STYLE["linestyle"] == "--"


def test_a_band_is_outlined_in_its_series_line_style():
    """Before: every band had the same thin solid outline, so two overlapping bands were told apart by colour
    alone, and pairs such as blue and pink merge for protanopes (CIEDE2000 3.3 between the fills)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from collapse_edu.plots import plot_band, series_style

    fig, ax = plt.subplots()
    runs = np.random.default_rng(0).normal(size=(20, 30))
    for i in range(4):
        plot_band(ax, np.arange(20), runs + i, label=str(i), i=i)
    dashes = [ax.collections[i].get_linestyle()[0] for i in range(4)]
    plt.close(fig)
    assert dashes[0] == (0.0, None)  # the first series: solid, as before
    assert len({repr(d) for d in dashes}) == 4, dashes  # each band's outline: its series' own pattern
    assert series_style(1)["linestyle"] != "-"


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "img" and (attributes.get("src") or "").startswith("data:image/png"):
            self.found.append(attributes)


@pytest.mark.parametrize("path", LESSON_PATHS, ids=[p.stem for p in LESSON_PATHS])
def test_exported_html_gives_every_figure_its_caption_as_alt_text(path: Path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    expected = []
    for index, cell in enumerate(notebook.cells):
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        for k in range(len(images)):
            caption = caption_of(notebook.cells, index)
            expected.append(caption if len(images) == 1 else f"{caption} (image {k + 1} of {len(images)})")
    write_html(notebook, tmp_path / "page.html")
    parser = Images()
    parser.feed((tmp_path / "page.html").read_text(encoding="utf-8"))
    assert [image.get("alt") for image in parser.found] == expected
    assert all(alt and alt.startswith("Figure: ") for alt in expected)


def test_plain_text_of_a_caption():
    caption = "*Figure.* The median (**solid**) of $\\sigma_t$ follows `theory` ([paper](https://x))."
    assert plain_text(caption) == "Figure: The median (solid) of \\sigma_t follows theory (paper)."
