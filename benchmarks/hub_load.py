"""How many learners one machine holds: the course on a real JupyterHub, N learners running a lesson at once.

Uses the machinery of the hub test (``tests/hub_harness.py``): JupyterHub and configurable-http-proxy
on 127.0.0.1, the dummy authenticator, one local server per learner in its own home, the course
pulled by every learner through the nbgitpuller link, and each lesson run cell by cell through the
learner's kernel websocket, all learners starting at the same moment (the worst case: the whole room
presses *Run All* together). Needs the test extra and ``bash scripts/setup.sh test`` (the proxy).

    python benchmarks/hub_load.py                      # largest N with every learner through lesson 01 in < 120 s
    python benchmarks/hub_load.py --counts 2 4         # only these N
    python benchmarks/hub_load.py --lesson torch --counts 4 8    # the torch lesson of the hub test instead
    python benchmarks/hub_load.py --per-lesson         # one learner alone runs every lesson: CPU s and memory

The search doubles N from ``--start`` until a trial fails (some learner needs ``--limit`` seconds or
more, or a cell fails), then bisects between the last N that held and the first that did not. Every
trial uses new learners (new homes, so each kernel builds matplotlib's font cache as a new learner's
does) and stops their servers afterwards. Wall times depend on what else the machine runs: the load
average is printed with every trial; run it on a quiet machine. CPU seconds and memory depend little
on the load. ``--json FILE`` keeps every figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from collapse_edu.environment import require_source_checkout  # noqa: E402

sys.path.insert(0, str(require_source_checkout(__file__, "hub_harness.py")))  # a real JupyterHub, as the hub test

from hub_harness import (  # noqa: E402
    LESSONS_DIR,
    WORKSHOP_LESSONS,
    LocalHub,
    Phase,
    TreeMonitor,
    find_lesson_file,
    format_phase,
    load_average,
    make_course_repo,
    median,
    proxy_command,
    pull_all,
    run_phase,
)

from collapse_edu.cli_link import nbgitpuller_link  # noqa: E402
from collapse_edu.environment import machine_info, write_summary  # noqa: E402


def machine() -> dict:
    return machine_info(
        "date=datetime",
        "platform",
        "processor",
        "cores=cpus",
        "memory_gb",
        "python",
        "jupyterhub",
        "load_average_at_start=load_averages",
    )


def trial(hub: LocalHub, course, lesson: Path, count: int, tag: str) -> tuple[Phase, dict]:
    """``count`` new learners: start, pull, measure idle servers, run the lesson together, stop."""
    learners = hub.add_learners(f"{tag}-{i + 1:03d}" for i in range(count))
    start = time.perf_counter()
    ready = hub.start_servers(learners)
    link = nbgitpuller_link(hub.url, f"lessons/{lesson.name}", repo=course.url, branch=course.branch)
    pulls = pull_all(learners, link)
    idle = TreeMonitor(hub, learners)
    idle.sample()
    setup = {
        "servers_ready_s": max(ready.values()),
        "pulled_s": time.perf_counter() - start,
        "pull_s": [p.seconds for p in pulls],
        "idle_server_pss_mb": idle.learner_peak_mb,
        "idle_tree_pss_mb": idle.peak_pss_mb,
    }
    try:
        phase = run_phase(hub, learners, f"{course.folder}/lessons/{lesson.name}")
    finally:
        hub.stop_servers(learners)
    return phase, setup


def held(phase: Phase, limit: float) -> bool:
    return phase.ok and max(run.seconds for run in phase.runs) < limit


def summary_row(count: int, phase: Phase, setup: dict, limit: float) -> str:
    walls = [run.seconds for run in phase.runs]
    idle = list(setup["idle_server_pss_mb"].values())
    verdict = "holds" if held(phase, limit) else ("cell failed" if not phase.ok else f">= {limit:.0f} s")
    return (
        f"| {count} | {median(walls):.1f} | {max(walls):.1f} | {sum(r.cpu_s for r in phase.runs):.0f} | "
        f"{max(r.peak_mb for r in phase.runs):.0f} | {sum(idle) / max(len(idle), 1):.0f} | "
        f"{max(phase.learner_peak_mb.values(), default=float('nan')):.0f} | {phase.peak_pss_mb:.0f} | "
        f"{phase.load_before:.1f} / {phase.load_max:.1f} | {verdict} |"
    )


HEADER = (
    "| N | median wall s | max wall s | kernel CPU s (all) | max peak kernel MB | idle server PSS MB | "
    "max server+kernel PSS MB | hub tree peak PSS MB | load before / max | verdict |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
)


def search(args, hub, course, lesson, record) -> None:
    rows, results = [], {}

    def attempt(count: int) -> bool:
        phase, setup = trial(hub, course, lesson, count, f"n{count}")
        results[count] = held(phase, args.limit)
        rows.append(summary_row(count, phase, setup, args.limit))
        record["trials"].append({"learners": count, "setup": setup, "phase": phase.as_dict()})
        print(format_phase(phase), flush=True)
        print(HEADER + "\n" + rows[-1], flush=True)
        return results[count]

    if args.counts:
        for count in args.counts:
            attempt(count)
    else:
        best, worst, count = 0, None, args.start
        while count <= args.max:
            if attempt(count):
                best, count = count, count * 2
            else:
                worst = count
                break
        while worst is not None and worst - best > max(1, best // 8):
            middle = (best + worst) // 2
            if attempt(middle):
                best = middle
            else:
                worst = middle
        record["largest_n"] = best
        record["first_failing_n"] = worst
    print(f"\n{lesson.stem}: every learner must finish in under {args.limit:.0f} s\n{HEADER}")
    print("\n".join(rows))
    if "largest_n" in record:
        beyond = f", {record['first_failing_n']} did not" if record["first_failing_n"] else f" (tried up to {args.max})"
        print(f"\nlargest N that held: {record['largest_n']}{beyond}")


def per_lesson(hub, course, record) -> None:
    """One learner alone runs every lesson in turn: peak kernel memory, kernel CPU s, wall s."""
    (learner,) = hub.add_learners(["alone"])
    hub.start_servers([learner])
    lessons = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))
    pull_all([learner], nbgitpuller_link(hub.url, f"lessons/{lessons[0].name}", repo=course.url, branch=course.branch))
    idle = TreeMonitor(hub, [learner])
    idle.sample()
    rows = []
    for lesson in lessons:
        phase = run_phase(hub, [learner], f"{course.folder}/lessons/{lesson.name}", interval=1.0)
        run = phase.runs[0]
        record["lessons"].append({"lesson": lesson.stem, **phase.as_dict()})
        rows.append(
            f"| {lesson.stem} | {'torch' if run.imported_torch else 'numpy'} | {run.seconds:.1f} | {run.cpu_s:.1f} | "
            f"{run.peak_mb:.0f} | {phase.learner_peak_mb.get(learner.name, float('nan')):.0f} | "
            f"{phase.load_before:.1f} / {phase.load_max:.1f} | {'ok' if run.ok else run.errors[0][:60]} |"
        )
        print(rows[-1], flush=True)
    hub.stop_servers([learner])
    record["idle_server_pss_mb"] = idle.learner_peak_mb.get(learner.name)
    record["hub_and_proxy_pss_mb"] = idle.hub_and_proxy_mb
    print(
        "\n| lesson | kind | wall s | kernel CPU s | peak kernel MB | server+kernel peak PSS MB | load before / max | "
        "result |\n|---|---|---:|---:|---:|---:|---|---|"
    )
    print("\n".join(rows))
    print(
        f"\nidle server (no kernel) PSS {record['idle_server_pss_mb']:.0f} MB; "
        f"hub + proxy PSS {record['hub_and_proxy_pss_mb']:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="numpy", help="numpy, torch (WORKSHOP_LESSONS), a number or a name")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds every learner must finish in")
    parser.add_argument("--start", type=int, default=4, help="first N of the search")
    parser.add_argument("--max", type=int, default=128, help="largest N to try")
    parser.add_argument("--counts", type=int, nargs="+", help="try exactly these N (no search)")
    parser.add_argument("--per-lesson", action="store_true", help="one learner runs every lesson alone instead")
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    args = parser.parse_args()
    if args.counts and min(args.counts) < 1 or args.start < 1 or args.limit <= 0:
        parser.error("--counts and --start must be >= 1 and --limit > 0")
    proxy = proxy_command()
    if proxy is None:
        parser.error("configurable-http-proxy not found: run bash scripts/setup.sh test (needs npm)")
    lesson = find_lesson_file(WORKSHOP_LESSONS.get(args.lesson, args.lesson))
    record = {"machine": machine(), "lesson": lesson.stem, "limit_s": args.limit, "trials": [], "lessons": []}
    print(f"machine: {record['machine']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hub-load-") as work:
        course = make_course_repo(Path(work))
        with LocalHub(Path(work) / "hub", proxy=proxy) as hub:
            if args.per_lesson:
                per_lesson(hub, course, record)
            else:
                search(args, hub, course, lesson, record)
    record["load_average_at_end"] = load_average()
    if args.json:
        write_summary(args.json, record, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
