"""The course on a real JupyterHub: many learners pull it with nbgitpuller and run lessons at the same time.

Opt-in: ``pytest --hub tests/test_hub.py`` (``scripts/test.sh``, and so CI, runs it after the other
tests). ``--hub-learners N`` or ``$COLLAPSE_EDU_HUB_LEARNERS`` sets how many learners work at once
(default 10). Needs ``jupyterhub`` and ``nbgitpuller`` (the test extra) and ``configurable-http-proxy``
(npm; ``bash scripts/setup.sh test`` installs it into ``.venv/node_modules``). Without them the tests
are skipped, unless CI is set: then they fail.

The hub runs on 127.0.0.1 with the dummy authenticator and the simple local-process spawner (each
learner's server in its own temporary home); the course comes from a bare clone of this checkout's
committed HEAD, so nothing is downloaded. Each learner logs in, follows the link that
``collapse-edu link`` prints and runs the lessons' code cells through their own server's kernel API.
Per-learner wall time, kernel CPU and peak kernel memory, and the hub's totals are printed at the end
of the run (``benchmarks/hub_load.py`` uses the same machinery to find how many learners a machine holds).
Run it without ``-n``: the figures mean something only when nothing else runs beside it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time

import nbformat
import psutil
import pytest
from conftest import require
from hub_harness import (
    PROBE,
    WORKSHOP_LESSONS,
    KernelSession,
    LocalHub,
    find_lesson_file,
    format_phase,
    hub_command,
    make_course_repo,
    proxy_command,
    pull_all,
    run_lesson,
    run_phase,
)

from collapse_edu.cli_link import nbgitpuller_link, start_page

pytestmark = pytest.mark.hub


@pytest.fixture(scope="module")
def learner_count(request: pytest.FixtureRequest) -> int:
    count = request.config.getoption("--hub-learners") or int(os.environ.get("COLLAPSE_EDU_HUB_LEARNERS", "10"))
    if count < 1:
        pytest.fail(f"--hub-learners must be >= 1, got {count}")
    return count


@pytest.fixture(scope="module")
def proxy() -> str:
    require(hub_command() is not None, "jupyterhub is not installed (pip install -e '.[test]')")
    require(
        importlib.util.find_spec("nbgitpuller") is not None, "nbgitpuller is not installed (pip install -e '.[test]')"
    )
    path = proxy_command()
    require(path is not None, "configurable-http-proxy is not installed (bash scripts/setup.sh test, needs npm)")
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course_repo(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory, proxy, course):
    """The hub, with the link to the first lesson as every learner's start page (as deploy/ configures it)."""
    first = find_lesson_file("00")
    page = start_page(nbgitpuller_link("http://hub", f"lessons/{first.name}", repo=course.url, branch=course.branch))
    with LocalHub(tmp_path_factory.mktemp("hub"), proxy=proxy, start_page=page) as running:
        yield running


def link_to(hub: LocalHub, course, lesson) -> str:
    """What ``collapse-edu link --hub URL --lesson NN --repo URL --branch B`` prints."""
    return nbgitpuller_link(hub.url, f"lessons/{lesson.name}", repo=course.url, branch=course.branch)


def test_learners_pull_the_course_and_run_a_numpy_and_a_torch_lesson_at_once(hub, course, learner_count, hub_report):
    numpy_lesson = find_lesson_file(WORKSHOP_LESSONS["numpy"])
    torch_lesson = find_lesson_file(WORKSHOP_LESSONS["torch"])
    learners = hub.add_learners(f"learner-{i + 1:02d}" for i in range(learner_count))
    start = time.perf_counter()
    ready = hub.start_servers(learners)
    pulls = pull_all(learners, link_to(hub, course, numpy_lesson))
    setup_seconds = time.perf_counter() - start

    homes = {learner.home for learner in learners}
    assert len(homes) == learner_count, "every learner needs a home of their own"
    for learner, pull in zip(learners, pulls, strict=True):
        assert pull.path == f"lab/tree/{course.folder}/lessons/{numpy_lesson.name}", pull.path
        clone = learner.home / course.folder
        assert (clone / "lessons" / torch_lesson.name).is_file(), f"{learner.name} did not get the course"
        head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert head.stdout.strip() == course.commit, f"{learner.name} pulled {head.stdout!r}, not {course.commit}"

    phases = [
        run_phase(hub, learners, f"{course.folder}/lessons/{lesson.name}") for lesson in (numpy_lesson, torch_lesson)
    ]
    hub_report.append(
        f"{learner_count} learners: servers ready after {max(ready.values()):.1f} s, course pulled by all after "
        f"{setup_seconds:.1f} s (pull {min(p.seconds for p in pulls):.1f}-{max(p.seconds for p in pulls):.1f} s each)"
    )
    hub_report.extend(format_phase(phase) for phase in phases)

    failures = [f"{run.learner} {run.lesson}: {run.errors}" for phase in phases for run in phase.runs if not run.ok]
    assert not failures, "\n".join(failures) + "\nhub log:\n" + hub.log_errors()
    for phase, uses_torch in zip(phases, (False, True), strict=True):
        for run in phase.runs:
            assert run.imported_torch is uses_torch, (
                f"{run.lesson} is listed as a {'torch' if uses_torch else 'numpy'} lesson"
            )
            assert run.peak_mb > 50 and run.cpu_s > 0.5 and run.seconds > 0, run
        assert set(phase.learner_peak_mb) == {learner.name for learner in learners}, "a learner's server was not seen"


def test_an_edited_notebook_survives_a_server_restart_mid_lesson_and_a_new_pull(hub, course, hub_report):
    lesson = find_lesson_file(WORKSHOP_LESSONS["numpy"])
    first = find_lesson_file("00")
    (learner,) = hub.add_learners(["restarted"])
    hub.start_servers([learner])
    # logging in lands on the start page: the course is pulled and the first lesson opens
    assert learner.pull(f"{hub.url}/").path == f"lab/tree/{course.folder}/lessons/{first.name}"
    link = link_to(hub, course, lesson)
    path = f"{course.folder}/lessons/{lesson.name}"
    on_disk = learner.home / path
    original = on_disk.read_bytes()

    # half the lesson run, its outputs kept, a note added, saved as JupyterLab saves
    notebook = learner.read_notebook(path)
    code = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"]
    kernel = KernelSession(learner, path)
    for i in code[: len(code) // 2]:
        outputs, reply = kernel.execute(notebook["cells"][i]["source"])
        assert reply["status"] == "ok", outputs
        notebook["cells"][i]["outputs"] = outputs
        notebook["cells"][i]["execution_count"] = reply["execution_count"]
    next_cell = notebook["cells"][code[len(code) // 2]]["source"]
    notebook["cells"].insert(0, nbformat.v4.new_markdown_cell("My notes: sigma shrinks faster when n is small."))
    learner.save_notebook(path, notebook)
    saved, saved_model = on_disk.read_bytes(), learner.read_notebook(path)
    assert saved != original and "My notes" in saved.decode()

    # the next cell is running when the server is stopped
    kernel_pid = json_probe(kernel)["pid"]
    server_pid = hub.server_pid(learner)
    kernel.wait_busy(kernel.send_execute(next_cell), timeout=120)
    hub.stop_server(learner)
    kernel.close()
    assert gone(kernel_pid) and gone(server_pid), "the stopped server left its kernel or itself running"

    hub.start_servers([learner])
    assert on_disk.read_bytes() == saved, "the saved notebook changed when the server restarted"
    assert learner.read_notebook(path) == saved_model

    # the lecturer pushes a fix to another lesson; the learner clicks the link again
    note = "Workshop note: lesson 01 comes next."
    course.commit_change(f"lessons/{first.name}", lambda file: add_markdown(file, note), "Workshop note in lesson 00")
    learner.pull(link)
    assert on_disk.read_bytes() == saved, "pulling again changed the learner's edited notebook"
    assert note in (learner.home / course.folder / "lessons" / first.name).read_text(), (
        "the lecturer's fix did not arrive"
    )

    # and the learner carries on: the edited notebook runs top to bottom on the restarted server
    run = run_lesson(learner, path)
    assert run.ok, run.errors
    hub_report.append(
        f"restart mid-lesson: edited {lesson.name} unchanged after the stop, the restart and a new pull; "
        f"then ran in {run.seconds:.1f} s"
    )


def test_a_failing_cell_is_reported_and_stops_the_run(hub):
    (learner,) = hub.add_learners(["checker"])
    hub.start_servers([learner])
    cells = [nbformat.v4.new_code_cell(code) for code in ("x = 6 * 7", "1 / 0", "print('never reached')")]
    learner.save_notebook("broken.ipynb", nbformat.v4.new_notebook(cells=cells))
    run = run_lesson(learner, "broken.ipynb")
    assert not run.ok and run.cells == 2, run
    assert "ZeroDivisionError" in run.errors[0] and run.errors[0].startswith("cell 2:"), run.errors
    hub.stop_server(learner)


def json_probe(kernel: KernelSession) -> dict:
    import json

    outputs, reply = kernel.execute(PROBE)
    assert reply["status"] == "ok", outputs
    return json.loads("".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream"))


def gone(pid: int | None, timeout: float = 60) -> bool:
    """True once no live process has this pid (a zombie waiting to be reaped counts as gone)."""
    assert pid is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.5)
    return False


def add_markdown(file, text: str) -> None:
    notebook = nbformat.read(file, as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(text))
    nbformat.write(notebook, file)
