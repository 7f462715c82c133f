"""Lessons 00-06 in a real JupyterLab, driven by headless Chromium: widgets render and redraw the figure.

For each numpy lesson the test runs all cells, checks that the controls render as widgets (not as
their text form), moves one slider (``browser_lab.SLIDERS``) to its ends and back, and checks that
each move brings a new figure, and that a redraw's progress bars show under the controls (lesson 03's
first Run simulates 60 generations) and are gone when the figure is. It prints the redraw latencies
(key press or Run click to the new figure on screen), also shown in pytest's summary, but asserts no
speed: that is measured by hand with ``benchmarks/slider_latency.py``.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the Python package ``playwright``;
Playwright's own browser download is never used. Without chromium the test is skipped, unless the
environment variable CI is set, in which case it fails. The server serves temporary copies of the
lessons with their outputs cleared, so nothing in the checkout is saved or modified and every
widget on the page comes from the live kernel.
"""

from __future__ import annotations

import re
import statistics
import time

import pytest
from browser_lab import (
    SLIDERS,
    LabError,
    interactive_cell,
    launch,
    lesson_path,
    measure_redraws,
    open_notebook,
    run_all,
    running_lab,
    tail,
)

pytestmark = pytest.mark.browser

RUN_ALL_TIMEOUT = 240
REDRAW_TIMEOUT = 60
MOVES = ("End", "Home", "End")
# Note whether a progress bar ever shows in the control panel's output area (widgets.interact_figure).
WATCH_PROGRESS = """(cell) => {
    window.__progressSeen = false;
    const seen = () => cell.querySelector('.widget-output progress, .widget-output .widget-hprogress');
    new MutationObserver(() => { if (seen()) window.__progressSeen = true; })
        .observe(cell, {subtree: true, childList: true});
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on loopback (free port, no token) serving output-free copies of the numpy lessons 00-03, 05 and 06."""
    paths = []
    for slider in SLIDERS:
        try:
            paths.append(lesson_path(slider.lesson))
        except LabError as error:
            pytest.fail(str(error))
    try:
        with running_lab(paths, tmp_path_factory.mktemp("lab")) as running:
            yield running
    except LabError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def browser(chromium, lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, chromium)
        yield browser
        browser.close()


@pytest.mark.parametrize("slider", SLIDERS, ids=lambda s: f"lesson{s.lesson}")
def test_lesson_widgets_render_and_redraw_the_figure(slider, lab, browser, tmp_path, record_property):
    path = lesson_path(slider.lesson)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    started = time.monotonic()
    try:
        open_notebook(page, lab.url(path))
        phases = {"kernel idle": time.monotonic() - started}
        assert page.locator(".widget-slider").count() == 0  # nothing is rendered before the kernel runs
        prompts = run_all(page, RUN_ALL_TIMEOUT)
        assert len(prompts) > 10
        phases["run all"] = time.monotonic() - started

        # real sliders, not the text repr of the widgets
        assert page.locator(".widget-slider").count() >= 1, "no .widget-slider rendered"
        as_text = re.compile(r"\[controls:|interactive\(children=")
        text_reprs = page.locator(".jp-OutputArea-output", has_text=as_text)
        assert text_reprs.count() == 0, f"widgets shown as text: {text_reprs.first.inner_text()}"

        # each move of the slider (and click on Run, if the figure has one) shows a new inline PNG
        # within REDRAW_TIMEOUT, and the status line reports no problem (measure_redraws raises)
        cell = interactive_cell(page, slider.cell_marker)
        page.evaluate(WATCH_PROGRESS, cell.element_handle())
        records = measure_redraws(page, slider, MOVES, timeout=REDRAW_TIMEOUT)
        if slider.lesson == "03":  # its first Run simulates 60 generations: the bar shows under the controls
            assert page.evaluate("() => window.__progressSeen"), "no progress bar under the controls during the run"
        assert cell.locator(".widget-output progress, .widget-output .widget-hprogress").count() == 0
        assert len(records) >= 2, f"the slider moved only {len(records)} times"
        assert len({r["value"] for r in records}) == 2, f"the slider did not reach both ends: {records}"
        phases["redrawn"] = time.monotonic() - started
    except Exception:
        shot = tmp_path / f"browser_failure_{slider.lesson}.png"
        page.screenshot(path=str(shot), full_page=False)
        print(f"screenshot: {shot}\nserver log:\n{tail(lab.log)}")
        raise
    finally:
        page.close()

    seconds = [r["seconds"] for r in records]
    latencies = ", ".join(f"{slider.description} = {r['value']}: {r['seconds']:.2f} s" for r in records)
    summary = (
        f"lesson {slider.lesson} ({slider.cell_marker}{', Run button' if slider.run_button else ''}) "
        f"redraw {latencies}; median {statistics.median(seconds):.2f} s"
    )
    print(summary)
    print("seconds since the page opened:", ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    record_property("redraw_latency", summary)
    # the checkout's lesson was never served, so it cannot have been modified
    assert (lab.root / "lessons" / path.name).is_file()
