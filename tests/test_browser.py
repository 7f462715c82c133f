"""Lesson 01 in a real JupyterLab, driven by headless Chromium: the widgets render and redraw the figure.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the Python package ``playwright``;
Playwright's own browser download is never used. Without chromium the test is skipped, unless the
environment variable CI is set, in which case it fails. The server serves a temporary copy of the
lesson with its outputs cleared, so nothing in the checkout is saved or modified and every widget on
the page comes from the live kernel.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

LESSON = Path(__file__).resolve().parents[1] / "lessons" / "01_gaussian_resampling.ipynb"
# JupyterLab settings for the test server: every cell attached to the page (so all prompts can be
# read), no autosave, no requests for news or updates.
LAB_SETTINGS = {
    "notebook-extension/tracker": {"windowingMode": "none"},
    "docmanager-extension/plugin": {"autosave": False},
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
SERVER_START_TIMEOUT = 60
RUN_ALL_TIMEOUT = 120
REDRAW_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on loopback (free port, no token) serving a temporary copy of lesson 01."""
    if not LESSON.is_file():
        pytest.fail(f"{LESSON.name} is missing from lessons/")
    root = tmp_path_factory.mktemp("lab")
    (root / "lessons").mkdir()
    # a copy without outputs, prompt numbers or saved widget state: whatever the page shows after
    # Run All comes from the live kernel
    notebook = nbformat.read(LESSON, as_version=4)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, root / "lessons" / LESSON.name)
    settings = root / "settings"
    for name, values in LAB_SETTINGS.items():
        target = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    port = _free_port()
    log = root / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--allow-root",
    ]
    with open(log, "wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with status {server.returncode}:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n{_tail(log)}")
            time.sleep(0.3)
        yield {"url": f"{base}/lab/tree/lessons/{LESSON.name}", "root": root, "log": log}
    finally:
        # the server and its kernels run in their own session: stop that group (ours alone)
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(server.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.wait(timeout=5)


PROMPTS = "() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')).map(e => e.textContent.trim())"
ERRORS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .map(e => e.innerText).filter(t => /Traceback|Error:/.test(t)).map(t => t.slice(0, 600))"""


def _wait_until_all_cells_ran(page, timeout: float) -> list[str]:
    """Poll the input prompts until every code cell shows [number]; fail early if execution stopped.

    A cell whose input is collapsed (the exercises' solution cells) shows an empty prompt."""
    deadline = time.monotonic() + timeout
    stalled_since = None
    while time.monotonic() < deadline:
        prompts = [p for p in page.evaluate(PROMPTS) if p]
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return prompts
        running = any("*" in p for p in prompts)
        if not running and "Idle" in page.inner_text(".jp-StatusBar-Widget", timeout=5000):
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 8:  # kernel idle, cells left unexecuted: an error stopped Run All
                raise AssertionError(f"Run All stopped early; prompts {prompts}; errors {page.evaluate(ERRORS)}")
        else:
            stalled_since = None
        time.sleep(0.5)
    raise AssertionError(f"cells still running after {timeout} s: {page.evaluate(PROMPTS)}")


def test_lesson_01_widgets_render_and_redraw_the_figure(chromium, lab, tmp_path):
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            page.goto(lab["url"])
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            # the kernel has started when the status bar says Idle
            page.wait_for_function(
                "() => document.querySelector('.jp-StatusBar-Widget')?.innerText.includes('Idle')", timeout=90_000
            )

            phases = {"kernel idle": time.monotonic() - started}
            assert page.locator(".widget-slider").count() == 0  # nothing is rendered before the kernel runs
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            prompts = _wait_until_all_cells_ran(page, RUN_ALL_TIMEOUT)
            assert len(prompts) > 10
            phases["run all"] = time.monotonic() - started

            # a real slider, not the text repr of the widget
            sliders = page.locator(".widget-slider")
            assert sliders.count() >= 1, "no .widget-slider rendered"
            as_text = re.compile(r"\[controls:|interactive\(children=")
            text_reprs = page.locator(".jp-OutputArea-output", has_text=as_text)
            assert text_reprs.count() == 0, f"widgets shown as text: {text_reprs.first.inner_text()}"

            # the first interactive figure: the cell holding a slider, and the figure in its output
            cell = page.locator(".jp-CodeCell").filter(has=page.locator(".widget-slider")).first
            figure = cell.locator(".jp-OutputArea-output img").first
            before = figure.get_attribute("src")
            assert before and before.startswith("data:image/png"), "the interactive figure is not an inline image"
            readout = cell.locator(".widget-slider .widget-readout").first
            value_before = readout.inner_text()

            handle = cell.locator(".widget-slider .noUi-handle").first
            handle.scroll_into_view_if_needed()
            handle.click()
            page.keyboard.press("End")
            run_button = cell.locator("button", has_text=re.compile(r"^\s*Run\s*$"))
            if run_button.count():  # interact_figure(..., run_button=True)
                run_button.first.click()

            deadline = time.monotonic() + REDRAW_TIMEOUT
            after = before
            while time.monotonic() < deadline:
                after = cell.locator(".jp-OutputArea-output img").first.get_attribute("src")
                if after and after != before:
                    break
                time.sleep(0.5)
            assert readout.inner_text() != value_before, "the slider did not move"
            assert after != before, f"the figure was not redrawn within {REDRAW_TIMEOUT} s"
            phases["redrawn"] = time.monotonic() - started
            assert after.startswith("data:image/png")
            status = cell.locator(".widget-html").last.inner_text()
            assert status.strip() == "", f"the redraw reported a problem: {status}"
        except Exception:
            shot = tmp_path / "browser_failure.png"
            page.screenshot(path=str(shot), full_page=False)
            print(f"screenshot: {shot}\nserver log:\n{_tail(lab['log'])}")
            raise
        finally:
            browser.close()
    print("browser test, seconds since the page opened:", ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    # the checkout's lesson was never served, so it cannot have been modified
    assert (lab["root"] / "lessons" / LESSON.name).is_file()
