"""Drive lessons in a real JupyterLab with headless Chromium: start a server, Run All, move a slider.

Shared by ``tests/test_browser.py`` (does it work?) and ``benchmarks/slider_latency.py`` (how fast?).
Needs Debian's ``chromium`` and the Python package ``playwright``; Playwright's own browser download
is never used. The server serves temporary copies of the lessons with their outputs cleared, so
nothing in the checkout is modified and every widget on the page comes from the live kernel, and
the kernel imports ``collapse_edu`` from this checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = REPO_ROOT / "lessons"
# Headless Debian chromium on a machine with no internet: without the networking flags it keeps
# trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# JupyterLab settings for the server: no autosave, no requests for news or updates.
LAB_SETTINGS = {
    "docmanager-extension/plugin": {"autosave": False},
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
# "none" attaches every cell to the page (all prompts and outputs can be read, the tests' choice);
# JupyterLab's default, "contentVisibility", lets the browser skip rendering cells off screen (what
# a learner gets, so the benchmark's choice).
DEFAULT_WINDOWING = "contentVisibility"
SERVER_START_TIMEOUT = 60


@dataclass(frozen=True)
class Slider:
    """One slider of a lesson to move: the cell whose source contains ``cell_marker``, the slider
    whose description is ``description``; ``run_button`` when that figure redraws only on Run."""

    lesson: str
    cell_marker: str
    description: str
    run_button: bool = False


# One slider per lesson that has sliders (00-03, 05, 06): the first interactive figure of each.
SLIDERS = (
    Slider("00", "overview.widget_check", "frequency"),
    Slider("01", "figures.sigma_collapse", "n"),
    Slider("02", "figures.loss_vs_count", "n", run_button=True),
    Slider("03", "figures.ngram_collapse", "generations", run_button=True),
    Slider("05", "figures.gaussian_policy", "scale", run_button=True),
    Slider("06", "toy_snapshot", "generation"),
)
# Keys pressed on the slider's handle, one redraw each: the extremes and values near them.
MOVES = ("End", "Home", "End", "ArrowLeft", "Home", "ArrowRight", "End", "Home", "PageUp", "End")


class LabError(RuntimeError):
    """The server, the page or a redraw did not behave."""


def lesson_path(number: str) -> Path:
    matches = sorted(LESSONS_DIR.glob(f"{number}_*.ipynb"))
    if not matches:
        raise LabError(f"lesson {number} is missing from {LESSONS_DIR}")
    return matches[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True)
class Lab:
    base: str
    root: Path
    log: Path
    pid: int  # of the server; the kernels are its children

    def url(self, notebook: Path) -> str:
        """The notebook alone in a fresh workspace of its own (no tabs restored from other pages)."""
        return f"{self.base}/lab/workspaces/{notebook.stem}/tree/lessons/{notebook.name}?reset"


def _copy_without_outputs(source: Path, target: Path) -> None:
    """A copy without outputs, prompt numbers or saved widget state: whatever the page shows after
    Run All comes from the live kernel."""
    notebook = nbformat.read(source, as_version=4)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, target)


@contextlib.contextmanager
def running_lab(
    notebooks: Sequence[Path], root: Path, code: Path = REPO_ROOT, windowing: str = "none"
) -> Iterator[Lab]:
    """JupyterLab on loopback (free port, no token) in ``root`` serving output-free copies of
    ``notebooks``, with the notebook windowing mode ``windowing``; its kernels import
    ``collapse_edu`` from ``code``. Stopped on exit."""
    (root / "lessons").mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        _copy_without_outputs(notebook, root / "lessons" / notebook.name)
    settings = root / "settings"
    for name, values in {**LAB_SETTINGS, "notebook-extension/tracker": {"windowingMode": windowing}}.items():
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
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [env.get("PYTHONPATH")])])
    with open(log, "wb") as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, cwd=root, env=env, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if server.poll() is not None:
                raise LabError(f"JupyterLab exited with status {server.returncode}:\n{tail(log)}")
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise LabError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n{tail(log)}")
            time.sleep(0.3)
        yield Lab(base, root, log, server.pid)
    finally:
        # the server and its kernels run in their own session: stop that group (ours alone)
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)


PROMPTS = "() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')).map(e => e.textContent.trim())"
ERRORS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .map(e => e.textContent).filter(t => /Traceback|Error:/.test(t)).map(t => t.slice(0, 600))"""
KERNEL_IDLE = "() => document.querySelector('.jp-StatusBar-Widget')?.innerText.includes('Idle')"


def open_notebook(page, url: str, kernel_timeout: float = 90) -> None:
    """Open a notebook and wait until its kernel has started (the status bar says Idle)."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_function(KERNEL_IDLE, timeout=kernel_timeout * 1000)


def run_all(page, timeout: float) -> list[str]:
    """Run > Run All Cells, then poll the input prompts until every code cell shows [number];
    fail early if execution stopped. A cell whose input is collapsed shows an empty prompt."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    deadline = time.monotonic() + timeout
    stalled_since = None
    while time.monotonic() < deadline:
        prompts = [p for p in page.evaluate(PROMPTS) if p]
        if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
            return prompts
        running = any("*" in p for p in prompts)
        if not running and page.evaluate(KERNEL_IDLE):
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 8:  # kernel idle, cells left unexecuted: an error stopped Run All
                raise LabError(f"Run All stopped early; prompts {prompts}; errors {page.evaluate(ERRORS)}")
        else:
            stalled_since = None
        time.sleep(0.5)
    raise LabError(f"cells still running after {timeout} s: {page.evaluate(PROMPTS)}")


def interactive_cell(page, marker: str):
    """The code cell whose source contains ``marker`` and whose output holds a slider."""
    cells = page.locator(".jp-CodeCell").filter(has=page.locator(".widget-slider"))
    cell = cells.filter(has=page.locator(".jp-InputArea", has_text=marker)).first
    if not cell.count():
        raise LabError(f"no cell with a slider whose source contains {marker!r}")
    return cell


# Arm a one-shot measurement on the cell (the page's own clock): t0 when the key press or click
# that triggers the redraw reaches the page, busy when the status line first says "drawing" (the
# kernel has started: one round trip), t1 when the output shows a new figure image that has been
# decoded, plus one animation frame (so it is on screen).
ARM = """(cell) => {
    const first = () => cell.querySelector('.jp-OutputArea-output img');
    const statuses = cell.querySelectorAll('.widget-html');
    const status = statuses[statuses.length - 1];
    const before = first()?.getAttribute('src') ?? '';
    const state = {t0: null, busy: null, t1: null};
    window.__redraw = state;
    const start = (event) => { if (state.t0 === null) state.t0 = event.timeStamp; };
    cell.addEventListener('keydown', start, {capture: true, once: true});
    cell.addEventListener('click', start, {capture: true, once: true});
    const observer = new MutationObserver(() => {
        if (state.busy === null && state.t0 !== null && status?.textContent.includes('drawing')) {
            state.busy = performance.now();
        }
        const img = first();
        if (!img || img.getAttribute('src') === before) return;
        observer.disconnect();
        img.decode().catch(() => null).then(() =>
            requestAnimationFrame(() => { state.t1 = performance.now(); }));
    });
    observer.observe(cell, {subtree: true, childList: true, characterData: true, attributes: true,
                            attributeFilter: ['src']});
}"""


def measure_redraws(
    page,
    slider: Slider,
    moves: Sequence[str] = MOVES,
    timeout: float = 60,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> list[dict]:
    """Press each key of ``moves`` on the slider's handle (then click Run if the figure has a Run
    button) and time, in the page, from that key press or click to the new figure on screen.

    Returns one record per move: the key, the slider's readout after it, the seconds, the seconds
    until the status line said "drawing" (None if the page never showed it) and, if ``cpu`` is
    given (a function returning cumulative CPU seconds by name), the CPU seconds each name used
    during the move."""
    cell = interactive_cell(page, slider.cell_marker)
    label = re.compile(rf"^\s*{re.escape(slider.description)}\s*$")
    control = cell.locator(".widget-slider").filter(has=page.locator(".widget-label", has_text=label)).first
    if not control.count():
        raise LabError(f"no slider {slider.description!r} in the cell of {slider.cell_marker}")
    handle = control.locator(".noUi-handle").first
    readout = control.locator(".widget-readout").first
    run = cell.locator("button", has_text=re.compile(r"^\s*Run\s*$")).first
    status = cell.locator(".widget-html").last
    if slider.run_button and not run.count():
        raise LabError(f"{slider.cell_marker} has no Run button")
    image = cell.locator(".jp-OutputArea-output img").first
    src = image.get_attribute("src") or ""
    if not src.startswith("data:image/png"):
        raise LabError(f"the figure of {slider.cell_marker} is not an inline PNG")
    records = []
    handle.scroll_into_view_if_needed()
    for key in moves:
        # textContent, not innerText: the browser may skip rendering cells off screen
        value = readout.text_content()
        cpu_before = cpu() if cpu else {}
        if not slider.run_button:
            page.evaluate(ARM, cell.element_handle())
        handle.focus()
        page.keyboard.press(key)
        if readout.text_content() == value:
            continue  # already at that end: nothing to redraw
        if slider.run_button:
            page.evaluate(ARM, cell.element_handle())
            run.click()
        try:
            page.wait_for_function("() => window.__redraw.t1 !== null", timeout=timeout * 1000)
        except Exception as error:
            raise LabError(
                f"{slider.cell_marker}: no new figure {timeout} s after {key}: {status.text_content()}"
            ) from error
        # the redraw ends by clearing the status line; a message there is a failed redraw
        page.wait_for_function("(e) => !e.textContent.includes('drawing')", arg=status.element_handle())
        if status.text_content().strip():
            raise LabError(f"{slider.cell_marker}: the redraw reported a problem: {status.text_content()}")
        t0, busy, t1 = page.evaluate("() => [window.__redraw.t0, window.__redraw.busy, window.__redraw.t1]")
        records.append(
            {
                "key": key,
                "value": readout.text_content(),
                "seconds": (t1 - t0) / 1000,
                "kernel_started": None if busy is None else (busy - t0) / 1000,
                "cpu": {name: used - cpu_before[name] for name, used in cpu().items()} if cpu else {},
            }
        )
    return records


def launch(playwright, chromium: str):
    return playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
