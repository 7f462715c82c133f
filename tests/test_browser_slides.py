"""Slides and the dark theme in a real browser (headless Debian chromium, never a downloaded one).

* ``collapse-edu slides NN`` for every lesson: the deck opens from the file system with every request
  to the network refused, reveal.js starts, every slide shows something besides its heading, no code
  cell is taller than the screen, a printout set smaller to fit keeps its lines whole, every figure
  decodes, has its caption as alt text and takes the room its slide has (caption included, no
  scrolling), and the formulas are typeset.
  (Offline needs the ``slides`` extra: reveal.js from sphinx-revealjs, MathJax from
  jupyter-server-mathjax; without them the deck uses CDNs and this test skips, or fails under CI.)
* JupyterLab in its dark theme shows a lesson's figures on their own opaque white background: the
  screenshot of a figure is light while the notebook around it is dark.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import CHROMIUM_ARGS, LESSONS_DIR, jupyterlab_server, require

from collapse_edu.lessons import list_lessons
from collapse_edu.slides import mathjax_folder, reveal_folder, write_slides

pytestmark = pytest.mark.browser

LESSONS = list_lessons(LESSONS_DIR)


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict[str, Path]:
    require(reveal_folder() is not None, 'no local reveal.js (pip install "collapse-edu[slides]")')
    require(mathjax_folder() is not None, 'no local MathJax (pip install "collapse-edu[slides]")')
    out = tmp_path_factory.mktemp("slides")
    written = {}
    for lesson in LESSONS:
        path, notices = write_slides(lesson, out)
        assert notices == [], notices
        written[lesson.number] = path
    return written


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


SLIDES = "() => Reveal.getSlides().map(s => Reveal.getIndices(s))"
CHECK_SLIDE = r"""() => {
  const slide = Reveal.getCurrentSlide();
  const box = slide.getBoundingClientRect();
  const codes = Array.from(slide.querySelectorAll('.jp-CodeCell .jp-InputArea'))
      .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height);
  const scale = Reveal.getScale();
  const images = Array.from(slide.querySelectorAll('img')).map(i => [i.naturalWidth, i.getAttribute('alt') || '',
      i.naturalHeight, i.getBoundingClientRect().height / scale, i.getBoundingClientRect().width / scale]);
  const words = s => s.replace(/\s+/g, ' ').trim();
  const headings = words(Array.from(slide.querySelectorAll('h1, h2, h3')).map(h => h.innerText).join(' '));
  let bottom = 0;
  for (const e of slide.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.height) bottom = Math.max(bottom, r.bottom);
  }
  // a printout set smaller than the rest (tagged printout_NNpx) must keep each line whole
  const printouts = slide.querySelectorAll('[class*="celltag_printout_"] .jp-OutputArea-output pre');
  const narrowed = Array.from(printouts).map(p => {
    const style = getComputedStyle(p);
    const rows = Math.round((p.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom))
                            / parseFloat(style.lineHeight));
    return [p.innerText.replace(/\n$/, '').split('\n').length, rows, style.fontSize];
  });
  return {width: box.width, height: box.height, scroll: slide.scrollHeight, text: slide.innerText.trim().length,
          headingOnly: headings.length > 0 && headings === words(slide.innerText),
          bottom: (bottom - box.top) / scale, narrowed: narrowed,
          codes: codes,
          images: images, screen: window.innerHeight, mathErrors: slide.querySelectorAll('.MathJax_Error').length};
}"""


@pytest.mark.parametrize("number", [lesson.number for lesson in LESSONS])
def test_every_slide_renders_offline_and_fits(browser, decks, number, tmp_path):
    deck = decks[number]
    notebook = nbformat.read(next(lesson.path for lesson in LESSONS if lesson.number == number), as_version=4)
    figures = sum("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    refused = []

    def offline(route):
        if route.request.url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    try:
        page.goto(deck.as_uri())
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=30_000)
        page.wait_for_function("() => !window.MathJax || MathJax.Hub.queue.pending === 0", timeout=60_000)
        indices = page.evaluate(SLIDES)
        headings = sum(1 for c in notebook.cells if c.cell_type == "markdown" and re.match(r"#{1,2} ", c.source))
        assert len(indices) >= headings + figures // 2, f"{len(indices)} slides for {headings} sections"
        shown_figures = 0
        for index in indices:
            page.evaluate(f"() => Reveal.slide({index['h']}, {index.get('v') or 0})")
            page.wait_for_timeout(50)
            slide = page.evaluate(CHECK_SLIDE)
            where = f"{deck.name} slide {index}"
            assert slide["width"] > 0 and slide["height"] > 0, f"{where} is not displayed"
            assert slide["text"] > 0 or slide["images"], f"{where} is empty"
            # before: 79 of 195 slides ran past the 720 px deck; one that still does scrolls, by a little at most
            assert slide["scroll"] <= 1.1 * 720, f"{where}: {slide['scroll']} px of content on a 720 px slide"
            for height in slide["codes"]:
                assert height <= slide["screen"], (
                    f"{where}: a code cell {height:.0f} px tall on a {slide['screen']} px screen"
                )
            # before: a section that opened with a sub-heading or an exercise left its heading alone on a slide
            assert not slide["headingOnly"], f"{where} shows nothing but its heading"
            # before: lesson 09's eight-column logs (110 characters a line) wrapped every row
            for lines, rows, size in slide["narrowed"]:
                assert rows == lines, f"{where}: a printout set at {size} to fit still wraps ({lines} lines in {rows})"
            for width, alt, height, shown_height, shown_width in slide["images"]:
                assert width > 100, f"{where}: an image did not decode"
                assert alt.startswith("Figure: "), f"{where}: image without its caption as alt text ({alt!r})"
                # before: every figure was held to 440 px, a tall one to half its size (5.5 pt type); now a
                # figure is shown whole, or as wide as the slide, or as tall as the room its caption leaves
                whole = shown_height >= height - 2 or shown_width >= min(width, 1100)
                assert whole or slide["bottom"] >= 720 - 50, (
                    f"{where}: a {width} x {height} figure shown {shown_height:.0f} px tall, "
                    f"with {720 - slide['bottom']:.0f} px of the slide left empty"
                )
                assert slide["bottom"] <= 720, f"{where}: the figure and its caption run to {slide['bottom']:.0f} px"
            shown_figures += len(slide["images"])
            assert slide["mathErrors"] == 0, f"{where}: MathJax could not typeset a formula"
        assert shown_figures == figures, f"{shown_figures} figures on the slides, {figures} in the lesson"
        typeset = page.evaluate("() => document.querySelectorAll('.MathJax').length")
        raw = "$" in "".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        assert typeset > 0 or not raw, "formulas were left as TeX"
        assert refused == [], f"the deck asked the network for {refused[:3]}"
        if number == "01":
            page.evaluate("() => Reveal.slide(1, 1)")
            page.wait_for_timeout(300)
            page.screenshot(path=str(Path(tmp_path) / "slide.png"))
    finally:
        page.close()


def _luminance(png: bytes) -> np.ndarray:
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float) / 255
    return pixels @ np.array([0.2126, 0.7152, 0.0722])


def _steady_box(page, locator, tries: int = 20) -> dict:
    """The element's bounding box once two readings 100 ms apart agree (JupyterLab keeps laying out cells
    for a moment after a scroll; under load a box read at once can be stale)."""
    box = locator.bounding_box()
    for _ in range(tries):
        page.wait_for_timeout(100)
        again = locator.bounding_box()
        if again == box:
            return box
        box = again
    return box


def test_figures_are_readable_in_jupyterlabs_dark_theme(browser, tmp_path):
    """A lesson as committed (with its figures), opened in JupyterLab Dark: the figure is light, the page dark."""
    root = tmp_path / "root"
    root.mkdir()
    lesson = LESSONS[1].path
    shutil.copy(lesson, root / lesson.name)
    settings = {
        "apputils-extension/themes": {"theme": "JupyterLab Dark"},
        "notebook-extension/tracker": {"windowingMode": "none"},
        "docmanager-extension/plugin": {"autosave": False},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    with jupyterlab_server(root, settings) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/{lesson.name}")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=180_000)
            figure = page.locator(".jp-OutputArea-output img").first
            figure.scroll_into_view_if_needed(timeout=180_000)
            page.wait_for_timeout(500)
            shot = tmp_path / "dark_theme_figure.png"
            page.screenshot(path=str(shot), full_page=False)
            inside = _luminance(figure.screenshot())  # scrolls the figure into view again if the page moved
            box = _steady_box(page, figure)  # measured after that scroll, once the layout has settled
            notebook = page.locator(".jp-Notebook").first.bounding_box()
            top = max(0.0, box["y"])
            height = min(box["y"] + box["height"], 1000) - top  # the part of the figure inside the viewport
            assert height > 20, f"the figure is not in view after scrolling to it: {box}"
            margin = page.screenshot(clip={"x": notebook["x"] + 2, "y": top, "width": 30, "height": min(height, 200)})
        finally:
            page.close()
    assert np.median(_luminance(margin)) < 0.3, "the page around the figure is not dark: dark theme not active?"
    assert inside.mean() > 0.75, (
        f"the figure is dark on the dark theme (mean luminance {inside.mean():.2f}); see {shot}"
    )
    assert np.mean(inside < 0.45) > 0.005, "the figure shows no dark ink (labels, lines) on its light background"
    print(f"dark-theme screenshot: {shot}")
