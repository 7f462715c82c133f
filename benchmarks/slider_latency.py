"""Benchmark: how fast a lesson's figure answers its slider in a real JupyterLab (headless Chromium).

For one slider per lesson that has one (``tests/browser_lab.py``'s ``SLIDERS``) it opens the lesson in
JupyterLab, runs all cells, then presses keys on the slider's handle (the extremes and values next
to them; for a figure with a Run button, it moves the slider and clicks Run) and times, with the
page's own clock, from the key press or click to the new figure decoded and on screen. That is
the whole round trip: the widget message to the kernel, the simulation, drawing the figure, the
PNG on the wire and the browser showing it. Prints a markdown table of the median and the worst
latency per lesson, when the kernel's first answer (the "drawing" status) came back, the median
CPU seconds per redraw of the Jupyter server with its kernel and of the browser (Linux), the
machine and its load average. Wall-clock latency grows with what else the machine runs; the CPU
seconds hardly do, and bound the latency on an idle machine from below.

Needs Debian's ``chromium`` and the Python package ``playwright`` (never ``playwright install``).

    python benchmarks/slider_latency.py                    # the lessons with a slider (00-03, 05, 06), 10 moves each
    python benchmarks/slider_latency.py --lessons 01 05 --moves 6
    python benchmarks/slider_latency.py --code /tmp/old    # the kernel imports collapse_edu from there
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from collapse_edu.environment import require_source_checkout  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(require_source_checkout(__file__, "browser_lab.py")))  # JupyterLab in Chromium, as the tests

import browser_lab  # noqa: E402

from collapse_edu.environment import load_average, machine_info, write_summary  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far, user + system) for every process (Linux /proc)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            table[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
        except (OSError, ValueError, IndexError):
            continue
    return table


def tree_cpu(table: dict[int, tuple[int, float]], root: int, exclude: int | None = None) -> float:
    """CPU seconds used so far by ``root`` and its descendants (not those of ``exclude``)."""
    total, frontier = 0.0, [root]
    while frontier:
        total += sum(table[pid][1] for pid in frontier if pid in table)
        frontier = [pid for pid, (parent, _) in table.items() if parent in frontier and pid != exclude]
    return total


def cpu_probe(server: int):
    """CPU seconds used so far by the Jupyter server with its kernels, and by the browser
    (this script's other descendants: Playwright's driver and Chromium)."""

    def probe() -> dict[str, float]:
        table = process_table()
        return {"kernel": tree_cpu(table, server), "browser": tree_cpu(table, os.getpid(), exclude=server)}

    return probe


def measure(lessons: list[str], moves: int, code: Path, run_all_timeout: float, windowing: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    sliders = [s for s in browser_lab.SLIDERS if s.lesson in lessons]
    keys = [browser_lab.MOVES[i % len(browser_lab.MOVES)] for i in range(moves)]
    results = []
    with (
        tempfile.TemporaryDirectory() as root,
        browser_lab.running_lab(
            [browser_lab.lesson_path(s.lesson) for s in sliders], Path(root), code, windowing
        ) as lab,
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
                    cpu = cpu_probe(lab.pid) if Path("/proc/self/stat").exists() else None
                    records = browser_lab.measure_redraws(page, slider, keys, cpu=cpu)
                except browser_lab.LabError as error:  # report it, measure the other lessons
                    shot = Path(tempfile.gettempdir()) / f"slider_latency_{slider.lesson}.png"
                    page.screenshot(path=str(shot))
                    print(f"lesson {slider.lesson} FAILED ({shot}): {error}", file=sys.stderr, flush=True)
                    page.close()
                    continue
                seconds = [r["seconds"] for r in records]
                started = [r["kernel_started"] for r in records if r["kernel_started"] is not None]

                def median_cpu(name: str, records: list[dict] = records) -> float:
                    used = [r["cpu"][name] for r in records if name in r["cpu"]]
                    return statistics.median(used) if used else float("nan")

                results.append(
                    {
                        "lesson": slider.lesson,
                        "figure": slider.cell_marker,
                        "slider": slider.description + (" + Run" if slider.run_button else ""),
                        "records": records,
                        "median": statistics.median(seconds),
                        "worst": max(seconds),
                        "kernel_started": statistics.median(started) if started else float("nan"),
                        "kernel_cpu": median_cpu("kernel"),
                        "browser_cpu": median_cpu("browser"),
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
        "--windowing",
        default=browser_lab.DEFAULT_WINDOWING,
        help="JupyterLab's notebook windowing mode (default: JupyterLab's own default, what learners get)",
    )
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M")
    results = measure(args.lessons, args.moves, args.code.resolve(), args.run_all_timeout, args.windowing)
    print(
        "| lesson | figure | slider | redraws | median (s) | worst (s) | kernel answered (s) "
        "| kernel CPU (s) | browser CPU (s) | load average |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['lesson']} | `{r['figure']}` | {r['slider']} | {len(r['records'])} | {r['median']:.2f} "
            f"| {r['worst']:.2f} | {r['kernel_started']:.2f} | {r['kernel_cpu']:.2f} | {r['browser_cpu']:.2f} "
            f"| {r['load_before']:.1f}-{r['load_after']:.1f} |"
        )
    m = machine_info("cpu_model", "cpus", "python")
    machine = f"{m['cpu_model']}, {m['cpus']} cores, Python {m['python']}, {started}"
    print(f"\nMachine: {machine}; JupyterLab windowing mode {args.windowing}; kernel code from {args.code}")
    if args.json:
        write_summary(args.json, {"machine": machine, "code": str(args.code), "results": results}, indent=1)


if __name__ == "__main__":
    main()
