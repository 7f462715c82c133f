"""The exported static site opens in a real browser with every lesson and every figure present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, LESSONS_DIR

from collapse_edu.lessons import export_site, list_lessons

pytestmark = pytest.mark.browser


def image_outputs(notebook: Path) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    return sum("image/png" in o.get("data", {}) for c in cells if c["cell_type"] == "code" for o in c["outputs"])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The committed (executed) lessons converted to HTML, as `collapse-edu export --no-execute` does."""
    out = tmp_path_factory.mktemp("site")
    return export_site(list_lessons(LESSONS_DIR), out, execute=False, progress=False)


def test_index_links_every_lesson_and_each_page_shows_its_figures(chromium, site: Path) -> None:
    from playwright.sync_api import sync_playwright

    lessons = list_lessons(LESSONS_DIR)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        try:
            page.goto(site.as_uri())
            assert page.title() == "Model collapse, hands-on"
            links = page.locator("table a").evaluate_all("links => links.map(a => a.textContent)")
            for lesson in lessons:
                assert lesson.title in links, f"the index does not link {lesson.name}"
            for lesson in lessons:
                page.locator("table a", has_text=lesson.title).first.click()
                page.wait_for_load_state("load")
                assert page.url.endswith(f"{lesson.name}.html")
                shown = page.locator("img[src^='data:image/png']")
                expected = image_outputs(lesson.path)
                assert shown.count() == expected, f"{lesson.name}: {shown.count()} figures shown, {expected} stored"
                widths = shown.evaluate_all("images => images.map(i => i.naturalWidth)")
                assert all(w > 100 for w in widths), f"{lesson.name}: an image did not decode"
                assert page.locator("h1").first.inner_text().startswith(lesson.number)
                page.go_back()
        finally:
            browser.close()
