"""Benchmark: how fast a lesson's figure answers its slider in a real JupyterLab (headless Chromium).

For one slider per numpy lesson (``tests/browser_lab.py``'s ``SLIDERS``) it opens the lesson in
JupyterLab, runs all cells, then presses keys on the slider's handle (the extremes and values next
to them; for a figure with a Run button, it moves the slider and clicks Run) and times, with the
page's own clock, from the key press or click to the new figure decoded and on screen. That is
the whole round trip: the widget message to the kernel, the simulation, drawing the figure, the
PNG on the wire and the browser showing it. Prints a markdown table of the median and the worst
latency per lesson, the machine and its load average.

Needs Debian's ``chromium`` and the Python package ``playwright`` (never ``playwright install``).

    python benchmarks/slider_latency.py                    # lessons 00-05, 10 moves each
    python benchmarks/slider_latency.py --lessons 01 05 --moves 6
    python benchmarks/slider_latency.py --code /tmp/old    # the kernel imports collapse_edu from there
    nice -n 10 python benchmarks/slider_latency.py --measure-nice 0  # busy shared machine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

import browser_lab  # noqa: E402


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def descendants(pid: int) -> list[int]:
    """Process ids of the children of ``pid``, their children and so on (Linux /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def renice_all(niceness: int) -> None:
    """Set the niceness of this process and all its descendants: server, kernels, browser."""
    for pid in [os.getpid(), *descendants(os.getpid())]:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
        except (ProcessLookupError, PermissionError):
            pass


def measure(
    lessons: list[str], moves: int, code: Path, run_all_timeout: float, measure_nice: int | None = None
) -> list[dict]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    sliders = [s for s in browser_lab.SLIDERS if s.lesson in lessons]
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    keys = [browser_lab.MOVES[i % len(browser_lab.MOVES)] for i in range(moves)]
    results = []
    with (
        tempfile.TemporaryDirectory() as root,
        browser_lab.running_lab([browser_lab.lesson_path(s.lesson) for s in sliders], Path(root), code) as lab,
        sync_playwright() as playwright,
    ):
        browser = browser_lab.launch(playwright, chromium)
        try:
            for slider in sliders:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                try:
                    browser_lab.open_notebook(page, lab.url(browser_lab.lesson_path(slider.lesson)))
                    browser_lab.run_all(page, run_all_timeout)
                    load = load_average()
                    if measure_nice is not None:  # only the redraws at this priority
                        renice_all(measure_nice)
                    try:
                        records = browser_lab.measure_redraws(page, slider, keys)
                    finally:
                        if measure_nice is not None:
                            renice_all(niceness)
                except browser_lab.LabError as error:  # report it, measure the other lessons
                    shot = Path(tempfile.gettempdir()) / f"slider_latency_{slider.lesson}.png"
                    page.screenshot(path=str(shot))
                    print(f"lesson {slider.lesson} FAILED ({shot}): {error}", file=sys.stderr, flush=True)
                    page.close()
                    continue
                seconds = [r["seconds"] for r in records]
                started = [r["kernel_started"] for r in records if r["kernel_started"] is not None]
                results.append(
                    {
                        "lesson": slider.lesson,
                        "figure": slider.cell_marker,
                        "slider": slider.description + (" + Run" if slider.run_button else ""),
                        "records": records,
                        "median": statistics.median(seconds),
                        "worst": max(seconds),
                        "kernel_started": statistics.median(started) if started else float("nan"),
                        "load_before": load,
                        "load_after": load_average(),
                    }
                )
                moves = ", ".join(
                    f"{r['value']} {r['seconds']:.2f} ({r['kernel_started'] or float('nan'):.2f})" for r in records
                )
                print(f"lesson {slider.lesson}, value seconds (kernel started): {moves}", file=sys.stderr, flush=True)
                page.close()
        finally:
            browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="+", default=[s.lesson for s in browser_lab.SLIDERS])
    parser.add_argument("--moves", type=int, default=10, help="slider moves (redraws) per lesson")
    parser.add_argument("--code", type=Path, default=REPO_ROOT, help="checkout whose collapse_edu the kernel imports")
    parser.add_argument("--run-all-timeout", type=float, default=300)
    parser.add_argument(
        "--measure-nice",
        type=int,
        help="niceness of this script, the server, the kernels and the browser while the slider moves "
        "(Linux; e.g. 0 when the script runs under nice -n 10 on a shared machine: Run All stays polite, "
        "the redraws are measured at normal priority)",
    )
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M")
    results = measure(args.lessons, args.moves, args.code.resolve(), args.run_all_timeout, args.measure_nice)
    print("| lesson | figure | slider | redraws | median (s) | worst (s) | kernel started (s) | load average |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['lesson']} | `{r['figure']}` | {r['slider']} | {len(r['records'])} | {r['median']:.2f} "
            f"| {r['worst']:.2f} | {r['kernel_started']:.2f} | {r['load_before']:.1f}-{r['load_after']:.1f} |"
        )
    machine = f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {started}"
    nice = f", {args.measure_nice} while the slider moved" if args.measure_nice is not None else ""
    print(f"\nMachine: {machine}; kernel code from {args.code}; niceness {os.nice(0)}{nice}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "code": str(args.code), "results": results}, indent=1))


if __name__ == "__main__":
    main()
