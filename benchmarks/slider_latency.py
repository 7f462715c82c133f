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
    nice -n 10 python benchmarks/slider_latency.py --kernel-nice 0   # busy shared machine
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


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def measure(
    lessons: list[str], moves: int, code: Path, run_all_timeout: float, kernel_nice: int | None = None
) -> list[dict]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    sliders = [s for s in browser_lab.SLIDERS if s.lesson in lessons]
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
                    if kernel_nice is not None:  # the redraws at this priority, the rest as started
                        for pid in children(lab.pid):
                            os.setpriority(os.PRIO_PROCESS, pid, kernel_nice)
                    load = load_average()
                    records = browser_lab.measure_redraws(page, slider, keys)
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
        "--kernel-nice",
        type=int,
        help="niceness of the lesson's kernel while the slider moves (Linux; e.g. 0 when this script runs "
        "under nice -n 10 on a shared machine, so that Run All stays polite and the redraws do not queue)",
    )
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M")
    results = measure(args.lessons, args.moves, args.code.resolve(), args.run_all_timeout, args.kernel_nice)
    print("| lesson | figure | slider | redraws | median (s) | worst (s) | kernel started (s) | load average |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['lesson']} | `{r['figure']}` | {r['slider']} | {len(r['records'])} | {r['median']:.2f} "
            f"| {r['worst']:.2f} | {r['kernel_started']:.2f} | {r['load_before']:.1f}-{r['load_after']:.1f} |"
        )
    machine = f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {started}"
    nice = f"; kernel niceness {args.kernel_nice} while measuring" if args.kernel_nice is not None else ""
    print(f"\nMachine: {machine}; kernel code from {args.code}; this script's niceness {os.nice(0)}{nice}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "code": str(args.code), "results": results}, indent=1))


if __name__ == "__main__":
    main()
