"""Lecture slides of a lesson (``collapse-edu slides NN``) and alt text for every figure we export.

The deck is nbconvert's reveal.js slides exporter run on a copy of the lesson whose cells carry
``slideshow`` metadata chosen here (:func:`slide_notebook`):

* every ``#``/``##`` heading starts a slide, ``###`` a vertical sub-slide, also a heading in the
  middle of a markdown cell (the cell is split there); a short introduction in the heading's cell
  stays on the slide, all other prose becomes speaker notes (press ``S``);
* each figure gets a sub-slide of its own with its caption under it (as large as the slide less that
  caption allows: :func:`figure_height`), a long caption's opening
  sentences only (those that fit in :data:`CAPTION_MAX` characters, the first always; the whole
  caption goes to the speaker notes and is the figure's alt text); the code that drew it is left out;
* short code cells that run the lesson's experiment keep their code (at most :data:`MAX_CODE_LINES`
  lines, and none when code and printout would overfill a slide) and at most
  :data:`MAX_OUTPUT_LINES` lines of what they print (a wide printout in smaller type, down to
  :data:`PRINTOUT_MIN_PX`, when that keeps its lines whole: :func:`printout_px`); a cell that would overfill its
  slide (:data:`SLIDE_LINES`) starts a sub-slide; setup, imports, solutions, checkers and cells tagged
  ``answers`` (an exercise's answer key) are left out; "Predict" prompts and exercises keep a
  sub-slide each;
* widgets are shown by the figure they drew with their defaults (a static deck has no kernel);
* a slide that still runs past the screen scrolls.

**Offline.** nbconvert's own template loads jQuery, require.js, mermaid, reveal.js and MathJax from
public CDNs when the deck is *viewed*; offline it shows no slides at all. Our template loads none
of them: reveal.js (its CSS, JavaScript and speaker-notes plugin) is written into the HTML file
itself, taken from a local copy (``$COLLAPSE_EDU_REVEAL``, or the one the ``sphinx-revealjs`` package
ships; ``pip install "collapse-edu[slides]"``), and MathJax 2 is copied next to the deck
(``mathjax/``, from the ``jupyter-server-mathjax`` package of the same extra). Without those
packages the deck falls back to the CDN copies and the command says so.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import shutil
from pathlib import Path

import jinja2
import nbformat

from .student import has_solution

MAX_CODE_LINES = 12
MAX_OUTPUT_LINES = 12  # printed lines a slide shows of a cell's output (the rest is in the notebook)
PRINTOUT_PX = 18  # the type size of printouts on a slide
PRINTOUT_MIN_PX = 14  # a wide printout is set smaller, down to this, before its lines wrap
PRINTOUT_WIDTH_PX = 1124  # the width of a printout's text on a 1280 px slide (chromium: 1137 less 2 x 6.4 padding)
MONO_EM = 0.602  # the advance of a monospace character, in em (DejaVu Sans Mono, Liberation Mono)
SLIDE_LINES = 22  # about what a 1280 x 720 slide holds, in lines of code at 20 px (:func:`_height`)
FIGURE_ROOM_PX = 650  # a figure and the caption under it share this much of a 720 px slide
CAPTION_LINE_PX = 33  # a line of caption at 24 px with its line spacing
CAPTION_LINE_CHARS = 88  # characters in a line of caption across the slide (fewer than fit: words wrap whole)
CAPTION_GAP_PX = 24  # the caption's paragraph margins
CAPTION_MAX = 260  # a caption's opening sentences shown under its figure fit in this (its first always shows)
NOTES_OVER = 500  # characters of a section's introduction beyond which only its lead stays on the slide
LEAD_MAX = 350  # the longest first paragraph a section slide shows
REVEAL_CDN = "https://unpkg.com/reveal.js@4.0.2"
MATHJAX_CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js"
MATHJAX_MARKER = ".written-by-collapse-edu"
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETUP = re.compile(r"^\s*(#.*|import .*|from .* import .*|use_house_style\(\)|check_environment\(\)|)\s*$")
_WIDGET = "application/vnd.jupyter.widget-view+json"
_EXERCISE = re.compile(r"^#+\s*Exercise\b")
#: "(The answer is in the cell after the checker.)": true of the lesson, not of a deck without those cells
_ANSWER_NOTE = re.compile(r" *\(?(?:The answer is|Both answers are)\s+in\s+the\s+cell\s+after\s+the\s+checker\.\)?")


# --------------------------------------------------------------------------- alt text


def plain_text(markdown: str) -> str:
    """Markdown of a caption as plain text for an ``alt`` attribute (emphasis, code, links, $ removed)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("$", "").replace("`", "")
    text = re.sub(r"(\*\*|\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^Figure\.\s*", "Figure: ", text)


def caption_of(cells: list, index: int) -> str | None:
    """The ``*Figure.*`` caption in the markdown cell after code cell ``index``, as plain text."""
    following = cells[index + 1] if index + 1 < len(cells) else None
    if following is not None and following.cell_type == "markdown" and following.source.lstrip().startswith("*Figure"):
        return plain_text(following.source)
    return None


def add_alt_text(notebook: nbformat.NotebookNode) -> int:
    """Put each figure's caption into its output's metadata (``image/png.alt``); returns how many images.

    Our templates write it as the ``alt`` attribute (nbconvert's own writes none). A figure without
    a caption gets a generic text (the lesson tests require captions)."""
    count = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        caption = caption_of(notebook.cells, index) or "Figure (no caption in the lesson)"
        for k, output in enumerate(images, start=1):
            alt = caption if len(images) == 1 else f"{caption} (image {k} of {len(images)})"
            output.setdefault("metadata", {}).setdefault("image/png", {})["alt"] = alt
            count += 1
    return count


_IMG = """{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- if output.metadata.get('image/png', {}).get('slide_height') %}
 style="max-height: {{ output.metadata['image/png']['slide_height'] | int }}px"{% endif %}
 alt="{{ (output.metadata.get('image/png', {}).get('alt') or 'Figure') | escape_html }}">
</div>
{%- endblock data_png %}
"""
PAGE_TEMPLATE = "{%- extends 'lab/index.html.j2' -%}\n" + _IMG


def html_exporter():
    """nbconvert's HTML exporter (lab template) with alt text on every figure."""
    from nbconvert import HTMLExporter

    loader = jinja2.DictLoader({"collapse_edu_page.html.j2": PAGE_TEMPLATE})
    return HTMLExporter(extra_loaders=[loader], template_file="collapse_edu_page.html.j2")


# --------------------------------------------------------------------------- which cell goes where


def _headings(source: str) -> list[tuple[int, str]]:
    """(level, text) of each markdown heading line outside code fences."""
    found, fenced = [], False
    for line in source.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            match = _HEADING.match(line)
            if match:
                found.append((len(match[1]), match[2]))
    return found


def _is_setup(cell) -> bool:
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return bool(lines) and all(_SETUP.match(line) for line in lines)


_ABBREVIATIONS = ("et al.", "e.g.", "i.e.", "cf.", "vs.", "Fig.", "Sec.", "Eq.", "approx.")


def _first_sentence(text: str) -> str:
    """The first sentence of ``text`` (one line): up to a . ! or ? followed by a space or the end, not
    the dot of "et al.", "e.g." and the like, nor of an initial ("I. Shumailov"), nor one inside quotes,
    nor the "1." that opens a numbered list."""
    text = " ".join(text.split())
    for match in re.finditer(r"[.!?](?=\s|$)", text):
        before = text[: match.end()]
        quoted = before.count('"') % 2 == 1  # a title's question mark ("Is Model Collapse Inevitable?")
        if re.fullmatch(r"\d+\.", before):  # the number of a list's first item, not a sentence
            continue
        if not quoted and not before.endswith(_ABBREVIATIONS) and not re.search(r"(^|[\s(-])[A-Z]\.$", before):
            return before
    return text


def _opening(text: str, limit: int) -> str:
    """As many whole sentences of ``text`` from its start as fit in ``limit`` characters; the first
    sentence always, however long."""
    text = " ".join(text.split())
    shown = _first_sentence(text)
    while len(shown) < len(text):
        longer = shown + " " + _first_sentence(text[len(shown) :])
        if len(longer) > limit:
            break
        shown = longer
    return shown


def _lead(prose: str) -> str:
    """What a section slide shows of the section's introduction: all of it when short, else its first
    paragraph or first sentence when those are short, or the first sentence of each item of a list
    that opens it (the whole text goes to the speaker notes)."""
    if len(prose) <= NOTES_OVER:
        return prose
    paragraph = prose.split("\n\n", 1)[0].strip()
    if re.match(r"[-*] ", paragraph):  # a list (a summary, references): every item's first sentence
        items = [_first_sentence(item) for item in re.split(r"^[-*] ", paragraph, flags=re.M) if item.strip()]
        return "\n".join(f"- {item}" for item in items)
    if len(paragraph) <= LEAD_MAX and not paragraph.lstrip().startswith(("|", "*", "<")):
        return paragraph
    sentence = _first_sentence(paragraph)
    return sentence if len(sentence) <= 250 else ""


def _list_pages(text: str) -> list[str]:
    """``text`` as one piece, or a markdown list cut into pieces that each fit a slide under its heading."""
    if not text.startswith("- "):
        return [text]
    pages, page = [], []
    for item in text.split("\n"):
        candidate = "\n".join([*page, item])
        if page and _height(nbformat.v4.new_markdown_cell(candidate)) > SLIDE_LINES - 3:
            pages.append("\n".join(page))
            page = [item]
        else:
            page.append(item)
    return [*pages, "\n".join(page)]


def _split_at_headings(source: str) -> list[str]:
    """A markdown cell's text cut before every heading line that is not its first line, outside code
    fences (``` or ~~~) and HTML ``<details>`` blocks."""
    parts, current, fenced, opened = [], [], False, 0
    for line in source.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced:
            opened += line.count("<details") - line.count("</details>")
        if not fenced and opened <= 0 and _HEADING.match(line) and any(text.strip() for text in current):
            parts.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    parts.append("\n".join(current).strip("\n"))
    return [part for part in parts if part.strip()]


def _height(cell) -> int:
    """A rough height of a slide cell in lines of code (20 px type; a line of prose is 1.5 of them), long
    lines counted as they wrap and each code cell's frame as a line."""

    def lines(text: str, width: int) -> int:
        return sum(1 + len(line) // width for line in text.splitlines())

    if cell.cell_type == "markdown":  # as read: formulas and emphasis without their markup
        shown = "\n".join(plain_text(line) for line in cell.source.splitlines() if line.strip())
        return 3 * lines(shown, 70) // 2 + 1  # 30 px type with its line spacing: 1.5 lines of code
    shown = 0 if "remove_input" in cell.metadata.get("tags", []) else lines(cell.source, 90)
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    rows = 0  # a table shown as HTML or markdown: its rows, at prose size
    for data in (o.get("data", {}) for o in cell.outputs):
        if "text/markdown" in data:
            rows += 2 * len("".join(data["text/markdown"]).splitlines())
        elif "text/html" in data and "image/png" not in data:
            rows += 2 * (1 + "".join(data["text/html"]).count("<tr"))
    return shown + lines(text, _chars_per_line(printout_px(text))) + rows + (2 if text or rows else 1)


def printout_px(text: str) -> int:
    """The type size (px) of a printout on a slide: the regular :data:`PRINTOUT_PX`, or the largest
    smaller size down to :data:`PRINTOUT_MIN_PX` at which its widest line fits without wrapping (a wide
    table keeps its rows on one line each). A line too wide even for that wraps at the regular size:
    set small and wrapped would be the worst of both."""
    widest = max((len(line.rstrip()) for line in text.splitlines()), default=0)
    fits = int(PRINTOUT_WIDTH_PX / (MONO_EM * widest)) if widest else PRINTOUT_PX
    return PRINTOUT_PX if fits < PRINTOUT_MIN_PX else min(PRINTOUT_PX, fits)


def _chars_per_line(px: int) -> int:
    return int(PRINTOUT_WIDTH_PX / (MONO_EM * px))


def _shorten_output(cell) -> None:
    """Keep the first :data:`MAX_OUTPUT_LINES` printed lines of a code cell, and rows of a table it shows
    as markdown, and say how many are left out."""
    for output in cell.outputs:
        table = "".join(output.get("data", {}).get("text/markdown", "")).splitlines()
        if len(table) > MAX_OUTPUT_LINES + 2 and table[0].startswith("|"):  # a header, its rule, the rows
            more = len(table) - MAX_OUTPUT_LINES - 2
            output["data"]["text/markdown"] = "\n".join(
                [*table[: MAX_OUTPUT_LINES + 2], "", f"... ({more} more rows in the notebook)"]
            )
    lines = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").splitlines()
    if len(lines) <= MAX_OUTPUT_LINES:
        return
    kept = "\n".join(lines[:MAX_OUTPUT_LINES]) + f"\n... ({len(lines) - MAX_OUTPUT_LINES} more lines in the notebook)\n"
    others = [o for o in cell.outputs if o.output_type != "stream"]
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=kept), *others]


def _launch_line(line: str) -> bool:
    return "mybinder.org/" in line or "colab.research.google.com/" in line


def _slide(cell, kind: str) -> None:
    cell.metadata["slideshow"] = {"slide_type": kind}


def slide_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed lesson with ``slideshow`` metadata and without the cells a lecture skips."""
    source = nbformat.from_dict(notebook)
    source.metadata.pop("widgets", None)
    cells = []
    for index, cell in enumerate(source.cells):
        if index == 0 or cell.cell_type != "markdown" or "solution" in cell.metadata.get("tags", []):
            cells.append(cell)
            continue
        for k, part in enumerate(_split_at_headings(cell.source)):  # a heading in mid-cell starts its own slide
            piece = nbformat.from_dict({**cell, "source": part})
            if k and "id" in piece:
                piece["id"] = f"{piece['id'][:60]}-{k}"  # cell ids stay unique
            cells.append(piece)
    captions = {i + 1 for i, c in enumerate(cells) if c.cell_type == "code" and caption_of(cells, i) is not None}
    out = []
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), None)
    skip_next_code = False
    for index, cell in enumerate(cells):
        cell = nbformat.from_dict(cell)
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            if index in captions:
                _slide(cell, "-")  # on the figure's slide, under the figure
                full = cell.source
                cell.metadata["caption"] = plain_text(full)  # the alt text: the whole caption
                cell.source = f'<div class="caption">\n\n{_opening(full, CAPTION_MAX)}\n\n</div>'
                out.append(cell)
                if _opening(full, CAPTION_MAX) != " ".join(full.split()):
                    notes = nbformat.v4.new_markdown_cell(full)
                    _slide(notes, "notes")
                    out.append(notes)
                continue
            if "solution" in tags:
                continue
            headings = _headings(cell.source)
            starts_with_heading = bool(headings) and _HEADING.match(cell.source.lstrip().splitlines()[0] or "")
            if index == 0:
                title = cell.source.lstrip().splitlines()[0]
                rest = "\n".join(line for line in cell.source.splitlines()[1:] if not _launch_line(line)).strip()
                goals = re.search(r"^\*\*What you will learn\*\*.*?(?=\n\s*\n(?!\s*[-*] )|\Z)", rest, re.S | re.M)
                _slide(cell, "slide")
                cell.source = title + (f'\n\n<div class="goals">\n\n{goals.group(0)}\n\n</div>' if goals else "")
                out.append(cell)
                notes = nbformat.v4.new_markdown_cell(rest)
                _slide(notes, "notes")
                out.append(notes)
                continue
            if starts_with_heading:
                level = headings[0][0]
                kind = "slide" if level <= 2 else "subslide"
                lines = cell.source.lstrip().splitlines()
                heading, prose = lines[0], "\n".join(lines[1:]).strip()
                cell.source = heading
                _slide(cell, kind)
                out.append(cell)
                if prose:
                    if _EXERCISE.match(heading):  # a task is read in full; its answer is not in the deck
                        prose = _ANSWER_NOTE.sub("", prose)
                    lead = prose if _EXERCISE.match(heading) else _lead(prose)
                    if lead and lead != prose:
                        for k, part in enumerate(_list_pages(lead)):  # a long list goes on over sub-slides
                            shown = nbformat.v4.new_markdown_cell(part)
                            _slide(shown, "subslide" if k else "-")
                            out.append(shown)
                    rest = nbformat.v4.new_markdown_cell(prose)
                    _slide(rest, "-" if lead == prose else "notes")
                    out.append(rest)
                continue
            if "**Predict" in cell.source or re.match(r"^\s*(\*\*|#+\s*)Exercise\b", cell.source):
                _slide(cell, "subslide")
            else:
                _slide(cell, "notes")  # the lesson's prose: what the speaker says
            out.append(cell)
            continue
        if cell.cell_type != "code":
            continue
        if "answers" in tags:  # an exercise's answer key: not in front of the class
            continue
        if index == first_code or _is_setup(cell) or "solution" in tags or has_solution(cell.source):
            skip_next_code = has_solution(cell.source) or "solution" in tags
            continue
        if skip_next_code:  # the checker after an exercise
            skip_next_code = False
            continue
        cell.outputs = [o for o in cell.outputs if _WIDGET not in o.get("data", {}) and o.output_type != "error"]
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        if images:
            cell.outputs = images  # the figure alone (no text repr, no printed lines)
            cell.metadata["tags"] = sorted(tags | {"remove_input"})
            _slide(cell, "subslide")
            out.append(cell)
            continue
        cell.source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("# NBVAL_"))
        _shorten_output(cell)
        px = printout_px("".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))
        if px != PRINTOUT_PX:  # a wide table: a smaller type keeps its rows on one line each
            tags |= {f"printout_{px}px"}
            cell.metadata["tags"] = sorted(tags)
        code_lines = len(cell.source.splitlines())
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if code_lines > MAX_CODE_LINES:
            if not text.strip() or len(text.splitlines()) > MAX_CODE_LINES:
                continue
            cell.metadata["tags"] = sorted(tags | {"remove_input"})
        elif text.strip() and _height(cell) > SLIDE_LINES:  # code and printout together overfill a slide
            cell.metadata["tags"] = sorted(tags | {"remove_input"})
        _slide(cell, "-")
        out.append(cell)
    source.cells = _paginate(_no_bare_headings(out))
    add_alt_text_slides(source)
    return source


def _no_bare_headings(cells: list) -> list:
    """A section slide that would show its heading alone (its introduction went to the notes, or the
    section opens with a sub-heading, a "Predict" prompt or an exercise) takes the prose of the
    sub-slide after it onto itself: "8. Exercises" over "Exercise 1" and its task."""
    shown = [c for c in cells if c.metadata["slideshow"]["slide_type"] != "notes"]
    for cell, following in itertools.pairwise(shown):
        kind = cell.metadata["slideshow"]["slide_type"]
        bare = kind in ("slide", "subslide") and cell.cell_type == "markdown" and _HEADING.match(cell.source.strip())
        if bare and following.cell_type == "markdown" and following.metadata["slideshow"]["slide_type"] == "subslide":
            _slide(following, "-")
    return cells


def _paginate(cells: list) -> list:
    """Give a cell that continues a slide a sub-slide of its own when the slide is a figure's (with its
    caption) or the cell would overfill it (:data:`SLIDE_LINES`, by :func:`_height`); never the first
    cell under a slide's heading, which would leave the heading alone."""
    used, figure, shown = 0, False, 0
    for cell in cells:
        kind = cell.metadata["slideshow"]["slide_type"]
        if kind == "notes":
            continue
        caption = cell.cell_type == "markdown" and cell.source.startswith('<div class="caption">')
        full = figure or (shown > 1 and used + _height(cell) > SLIDE_LINES)
        if kind == "-" and not caption and full:
            _slide(cell, "subslide")
            kind = "subslide"
        if kind in ("slide", "subslide"):
            used, figure, shown = 0, any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])), 0
        used += 0 if caption else _height(cell)
        shown += 1
    return cells


def add_alt_text_slides(notebook: nbformat.NotebookNode) -> None:
    """Alt text for a slide notebook, whose captions are wrapped in a caption div."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        following = notebook.cells[index + 1] if index + 1 < len(notebook.cells) else None
        caption, shown = "Figure (no caption in the lesson)", ""
        if following is not None and following.cell_type == "markdown" and 'class="caption"' in following.source:
            shown = plain_text(following.source.split("\n", 1)[1].rsplit("</div>", 1)[0])
            caption = following.metadata.get("caption") or shown
        for output in cell.outputs:
            if "image/png" in output.get("data", {}):
                meta = output.setdefault("metadata", {}).setdefault("image/png", {})
                meta["alt"] = caption
                meta["slide_height"] = figure_height(shown)


def figure_height(caption: str) -> int:
    """The most height (px) a figure may take on its slide, above the part of its caption shown there:
    :data:`FIGURE_ROOM_PX` less the caption's lines (:data:`CAPTION_LINE_CHARS` characters each)."""
    lines = -(-len(caption) // CAPTION_LINE_CHARS) if caption else 0
    return FIGURE_ROOM_PX - lines * CAPTION_LINE_PX - (CAPTION_GAP_PX if caption else 0)


# --------------------------------------------------------------------------- offline assets


def reveal_folder() -> Path | None:
    """A local reveal.js (a folder with ``dist/reveal.js``): $COLLAPSE_EDU_REVEAL, else sphinx-revealjs's copy."""
    candidates = []
    if os.environ.get("COLLAPSE_EDU_REVEAL"):
        candidates.append(Path(os.environ["COLLAPSE_EDU_REVEAL"]))
    spec = importlib.util.find_spec("sphinx_revealjs")  # found, not imported (it would import Sphinx)
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "_static" / "revealjs")
    for folder in candidates:
        if (folder / "dist" / "reveal.js").is_file() and (folder / "dist" / "reveal.css").is_file():
            return folder
    return None


def mathjax_folder() -> Path | None:
    """A local MathJax 2 (``MathJax.js`` with its SVG output): the jupyter-server-mathjax package's copy."""
    if os.environ.get("COLLAPSE_EDU_MATHJAX"):
        folder = Path(os.environ["COLLAPSE_EDU_MATHJAX"])
        return folder if (folder / "MathJax.js").is_file() else None
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if (folder / "MathJax.js").is_file() and (folder / "jax" / "output" / "HTML-CSS").is_dir() else None


#: The parts of MathJax 2 the deck loads (TeX input, HTML-CSS output with the STIX web fonts it ships).
MATHJAX_PARTS = (
    "MathJax.js",
    "LICENSE",
    "config",
    "extensions",
    "jax/input",
    "jax/output/HTML-CSS",
    "jax/element",
    "fonts",
)
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"


def copy_mathjax(source: Path, target: Path) -> None:
    """Copy the parts of MathJax the deck needs to ``target`` (a folder the tool owns: it holds a marker,
    written first, so that a copy cut short is still known as the tool's). A folder of that name the
    tool did not write is never removed, not even with ``--force``: it may hold anything."""
    if target.exists() and not (target / MATHJAX_MARKER).exists():
        raise ValueError(
            f"{target} exists and was not written by collapse-edu: move it away (it is not replaced, not even "
            "with --force) or choose another --out"
        )
    if (target / MATHJAX_MARKER).exists() and (target / MATHJAX_MARKER).read_text().strip() == str(source):
        return  # already there
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    (target / MATHJAX_MARKER).write_text("(being copied)\n")
    for part in MATHJAX_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, target / part)
        elif src.is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
    (target / MATHJAX_MARKER).write_text(f"{source}\n")


SLIDES_CSS = """
html, body, main, .reveal { height: 100%; margin: 0; }
/* speaker-friendly sizes: readable from the back of a lecture hall at 1280 x 720 */
.reveal .slides { text-align: left; }
.reveal .jp-RenderedHTMLCommon, .reveal .jp-RenderedMarkdown { font-size: 30px; line-height: 1.35; }
.reveal .jp-RenderedHTMLCommon h1 { font-size: 56px; } .reveal .jp-RenderedHTMLCommon h2 { font-size: 46px; }
.reveal .jp-RenderedHTMLCommon h3 { font-size: 38px; }
.reveal .jp-InputArea pre, .reveal .highlight pre, .reveal .jp-OutputArea-output pre {
  font-size: 20px !important; line-height: 1.3; }
/* printouts a size smaller, so a table's rows fit a line more often; a wider table is set smaller
   still (its cell tagged printout_NNpx by slide_notebook), and a line wider than that wraps */
.reveal .jp-OutputArea-output pre { font-size: 18px !important; white-space: pre-wrap; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; }
.reveal a.anchor-link { display: none; }
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt { display: none; }
/* a figure's own max-height (figure_height: the slide less its caption) overrides this */
.reveal .jp-RenderedImage img { max-height: 440px; max-width: 100%; width: auto; background: #fff; }
.reveal .caption { font-size: 24px; color: #222; }
.reveal .goals { font-size: 24px; }
.reveal section { height: 100%; }
/* a slide still taller than the screen scrolls, so nothing is cut off */
.reveal .slides section:not(.stack) { overflow-y: auto; }
"""
SLIDES_CSS += "\n".join(
    f".reveal .celltag_printout_{px}px .jp-OutputArea-output pre {{ font-size: {px}px !important; }}"
    for px in range(PRINTOUT_MIN_PX, PRINTOUT_PX)
)

SLIDES_TEMPLATE = (
    "{%- extends 'reveal/index.html.j2' -%}\n"
    + _IMG
    + """
{%- block header -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>{{ resources.collapse.title | escape_html }} (slides)</title>
{% if resources.collapse.reveal_css %}<style>{{ resources.collapse.reveal_css }}</style>
{% else %}<link rel="stylesheet" href="{{ resources.collapse.reveal_cdn }}/dist/reveal.css">
<link rel="stylesheet" href="{{ resources.collapse.reveal_cdn }}/dist/theme/white.css">{% endif %}
{% for css in resources.inlining.css -%}<style type="text/css">{{ css }}</style>{% endfor %}
{{ resources.include_css("static/index.css") }}
{{ resources.include_css("static/theme-light.css") }}
{{ resources.include_css("static/custom_reveal.css") }}
<style>{{ resources.collapse.css }}</style>
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  showMathMenu: false, messageStyle: "none",
  tex2jax: {inlineMath: [['$','$'], ["\\\\(","\\\\)"]], displayMath: [['$$','$$'], ["\\\\[","\\\\]"]],
            processEscapes: true, processEnvironments: true},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}
});
</script>
<script src="{{ resources.collapse.mathjax_url }}"></script>
</head>
{%- endblock header -%}

{% block footer_js %}
{% if resources.collapse.reveal_js %}<script>{{ resources.collapse.reveal_js }}</script>
<script>{{ resources.collapse.notes_js }}</script>
{% else %}<script src="{{ resources.collapse.reveal_cdn }}/dist/reveal.js"></script>
<script src="{{ resources.collapse.reveal_cdn }}/plugin/notes/notes.js"></script>{% endif %}
<script>
Reveal.initialize({controls: true, progress: true, history: true, hash: true, slideNumber: "c/t",
                   transition: "none", width: 1280, height: 720, margin: 0.04,
                   plugins: typeof RevealNotes === "undefined" ? [] : [RevealNotes]});
Reveal.on("slidechanged", function (event) {
  if (window.MathJax && MathJax.Hub) { MathJax.Hub.Queue(["Rerender", MathJax.Hub, event.currentSlide]); }
});
</script>
{% endblock footer_js %}
"""
)


def slides_target(lesson, out: Path) -> Path:
    """The deck file ``collapse-edu slides`` writes for ``lesson`` into ``out``."""
    return out / f"{lesson.name}.slides.html"


def write_slides(lesson, out: Path) -> tuple[Path, list[str]]:
    """Write the deck of ``lesson`` (an executed lesson) into ``out``; returns (file, notices).

    The notices say what is not offline (reveal.js or MathJax from a CDN) and how to fix it."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    from .lessons import read_notebook
    from .outputs import mark_html

    notebook = slide_notebook(read_notebook(lesson.path))
    notices = []
    collapse = {"title": lesson.title, "css": SLIDES_CSS, "reveal_cdn": REVEAL_CDN}
    reveal = reveal_folder()
    if reveal is not None:
        collapse["reveal_css"] = (
            (reveal / "dist" / "reveal.css").read_text(encoding="utf-8") + "\n" + _theme_css(reveal)
        )
        collapse["reveal_js"] = _script((reveal / "dist" / "reveal.js").read_text(encoding="utf-8"))
        notes = reveal / "plugin" / "notes" / "notes.js"
        collapse["notes_js"] = _script(notes.read_text(encoding="utf-8")) if notes.is_file() else ""
    else:
        notices.append(
            "reveal.js comes from a CDN when the deck is viewed (no local copy found): "
            'pip install "collapse-edu[slides]" or set COLLAPSE_EDU_REVEAL for an offline deck'
        )
    mathjax = mathjax_folder()
    if mathjax is not None:
        if (out / "mathjax").exists() and not (out / "mathjax" / MATHJAX_MARKER).exists():
            raise ValueError(
                f"{out / 'mathjax'} exists and was not written by collapse-edu: move it away (it is not replaced, "
                "not even with --force) or choose another --out"
            )
        collapse["mathjax_url"] = f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    else:
        collapse["mathjax_url"] = f"{MATHJAX_CDN}?config={MATHJAX_CONFIG}"
        notices.append(
            "formulas are typeset by MathJax from a CDN when the deck is viewed: "
            'pip install "collapse-edu[slides]" for a local copy'
        )
    loader = jinja2.DictLoader({"collapse_edu_slides.html.j2": SLIDES_TEMPLATE})
    config = Config()
    config.TagRemovePreprocessor.remove_input_tags = {"remove_input"}
    config.TagRemovePreprocessor.enabled = True
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    exporter = SlidesExporter(config=config, extra_loaders=[loader], template_file="collapse_edu_slides.html.j2")
    try:
        body, _ = exporter.from_notebook_node(notebook, resources={"collapse": collapse})
    except ValueError as error:  # nbconvert's "All cells are hidden" named no notebook
        if "hidden" not in str(error):
            raise
        raise ValueError(
            f"{lesson.path.name}: no cell is left to show on a slide (setup, solution and skipped cells are left "
            "out of a deck); add a markdown cell or a figure"
        ) from None
    out.mkdir(parents=True, exist_ok=True)
    if mathjax is not None:
        copy_mathjax(mathjax, out / "mathjax")
    target = slides_target(lesson, out)
    target.write_text(mark_html(body), encoding="utf-8")
    return target, notices


def _script(text: str) -> str:
    """JavaScript safe to put inside a <script> element."""
    return text.replace("</script", "<\\/script")


def _theme_css(reveal: Path) -> str:
    """reveal.js's 'white' theme without its web-font import (offline: the system's sans-serif)."""
    theme = reveal / "dist" / "theme" / "white.css"
    if not theme.is_file():
        return ""
    return re.sub(r"@import url\([^)]*\);?", "", theme.read_text(encoding="utf-8"))
