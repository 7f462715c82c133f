"""A learner's working copy of the course (``collapse-edu lab`` from an installed package).

An upgrade is played out with two fake "installed" courses: version 1 is copied, the learner edits
one lesson and runs another, version 2 changes both, adds a lesson and drops one.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from collapse_edu import course
from collapse_edu.cli import main
from collapse_edu.course import MANIFEST, sync_course
from collapse_edu.lessons import lesson_paths


def fake_course(root: Path, version: int, names=("00_a", "01_b", "02_c")) -> Path:
    for folder in ("lessons", "lessons/student", "benchmarks"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in names:
        for folder in ("lessons", "lessons/student"):
            notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name} version {version}")])
            nbformat.write(notebook, root / folder / f"{name}.ipynb")
    (root / "benchmarks" / "bench.py").write_text(f"print({version})\n")
    return root


def test_first_copy_then_nothing_to_do(tmp_path):
    source = fake_course(tmp_path / "v1", 1)
    target = tmp_path / "mine"
    report = sync_course(target, source)
    assert len(report.added) == 7 and not report.updated and not report.kept
    assert (target / "lessons" / "student" / "01_b.ipynb").read_bytes() == (
        source / "lessons" / "student" / "01_b.ipynb"
    ).read_bytes()
    manifest = json.loads((target / MANIFEST).read_text())
    assert manifest["written_by"] == "collapse-edu" and set(manifest["files"]) == set(report.added)
    again = sync_course(target, source)
    assert not again.changed and len(again.unchanged) == 7
    assert again.lines() == [f"the course in {target} is up to date (7 files)"]


def test_upgrade_keeps_the_learners_changes_and_says_so(tmp_path):
    target = tmp_path / "mine"
    sync_course(target, fake_course(tmp_path / "v1", 1))
    edited = target / "lessons" / "student" / "01_b.ipynb"
    edited.write_text(edited.read_text().replace("version 1", "my answer"))
    mine = edited.read_bytes()
    source = fake_course(tmp_path / "v2", 2, names=("00_a", "01_b", "03_d"))
    report = sync_course(target, source)
    # untouched files take the new version; the edited one is kept and the new one put beside it
    assert "version 2" in (target / "lessons" / "00_a.ipynb").read_text()
    assert "benchmarks/bench.py" in report.updated
    assert edited.read_bytes() == mine
    ((rel, beside),) = report.kept
    assert rel == "lessons/student/01_b.ipynb" and beside.startswith("lessons/student/01_b.v")
    assert (target / beside).read_bytes() == (source / rel).read_bytes()
    assert "lessons/03_d.ipynb" in report.added
    assert set(report.removed) == {"lessons/02_c.ipynb", "lessons/student/02_c.ipynb"}  # unchanged, gone upstream
    assert not (target / "lessons" / "02_c.ipynb").exists()
    assert f"kept your {rel} (you changed it); the course's new version is beside it: {beside}" in report.lines()
    # the new version beside it is not a lesson of its own
    assert [p.name for p in lesson_paths(target / "lessons" / "student")] == ["00_a.ipynb", "01_b.ipynb", "03_d.ipynb"]
    # idempotent: a second run writes nothing new, keeps the learner's file and offers nothing again
    again = sync_course(target, source)
    assert not again.changed and again.lines() == [f"the course in {target} is up to date (7 files)"]
    assert edited.read_bytes() == mine
    assert len(list((target / "lessons" / "student").glob("01_b*.ipynb"))) == 2


def test_a_version_offered_once_is_not_offered_again(tmp_path, monkeypatch):
    """Before: every later run announced the offer again, wrote it back after the learner deleted it,
    and a release that left the file as it was offered a second copy under the new version's name."""
    target = tmp_path / "mine"
    sync_course(target, fake_course(tmp_path / "v1", 1))
    edited = target / "lessons" / "00_a.ipynb"
    edited.write_text("my notes")
    source = fake_course(tmp_path / "v2", 2)
    ((_, beside),) = [kept for kept in sync_course(target, source).kept if kept[0] == "lessons/00_a.ipynb"]
    (target / beside).unlink()  # the learner has seen it and does not want it
    assert not sync_course(target, source).changed and not (target / beside).exists()
    monkeypatch.setattr(course, "__version__", "9.9.9")  # a release in which this lesson did not change
    assert not sync_course(target, source).changed
    assert [p.name for p in (target / "lessons").glob("00_a*")] == ["00_a.ipynb"] and edited.read_text() == "my notes"
    changed_again = fake_course(tmp_path / "v3", 3)  # but a newer version of it is offered
    ((_, newer),) = [kept for kept in sync_course(target, changed_again).kept if kept[0] == "lessons/00_a.ipynb"]
    assert ".v9.9.9-" in newer and "version 3" in (target / newer).read_text()


def test_nothing_is_written_when_a_file_stands_where_the_course_has_a_folder(tmp_path):
    """Before: the benchmarks were copied, then the copy stopped at lessons/ ("File exists"), without a manifest."""
    target = tmp_path / "mine"
    target.mkdir()
    (target / "lessons").write_text("x")
    with pytest.raises(ValueError, match=r"mine/lessons is a file where the course has a folder; move it away"):
        sync_course(target, fake_course(tmp_path / "v1", 1))
    assert sorted(p.name for p in target.iterdir()) == ["lessons"]


def test_no_copy_inside_another_copy_or_inside_the_package(tmp_path):
    source = fake_course(tmp_path / "v1", 1)
    target = tmp_path / "mine"
    sync_course(target, source)
    for nested in (target / "lessons", target / "collapse-edu-course"):
        with pytest.raises(ValueError, match=f"lies inside the course copy {target}: bring that one up to date"):
            sync_course(nested, source, dry_run=True)
    assert not sync_course(target, source).changed  # the copy itself is fine
    package = Path(course.__file__).resolve().parent
    with pytest.raises(ValueError, match="lies inside the course's own files"):
        sync_course(package / "my-course", source, dry_run=True)
    assert not (package / "my-course").exists()


def test_the_lessons_folder_of_a_learners_copy(tmp_path, monkeypatch):
    """Before: from the folder `lab` copies into, `run 00` ran the installed lesson, not the learner's copy."""
    from collapse_edu.lessons import find_lesson, lessons_dir

    monkeypatch.delenv("COLLAPSE_EDU_LESSONS", raising=False)
    copy = tmp_path / course.DEFAULT_COPY
    sync_course(copy, fake_course(tmp_path / "v1", 1))
    monkeypatch.chdir(tmp_path)  # where `lab` was run
    assert lessons_dir() == copy / "lessons" and find_lesson("01").path == copy / "lessons" / "01_b.ipynb"
    monkeypatch.chdir(copy / "lessons" / "student")  # inside the copy, as JupyterLab's terminal may be
    assert lessons_dir() == copy / "lessons"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # no copy here: the checkout's or the installed lessons
    assert lessons_dir() != copy / "lessons"


def test_a_changed_file_with_nothing_newer_is_left_alone(tmp_path):
    source = fake_course(tmp_path / "v1", 1)
    target = tmp_path / "mine"
    sync_course(target, source)
    edited = target / "lessons" / "00_a.ipynb"
    edited.write_text("my notes")
    report = sync_course(target, source)
    assert not report.changed and edited.read_text() == "my notes"
    assert len(list((target / "lessons").glob("00_a*"))) == 1


def test_a_foreign_file_in_the_way_is_kept(tmp_path):
    target = tmp_path / "mine"
    (target / "lessons").mkdir(parents=True)
    (target / "lessons" / "00_a.ipynb").write_text("{}")  # not from us, no manifest entry
    report = sync_course(target, fake_course(tmp_path / "v1", 1))
    assert (target / "lessons" / "00_a.ipynb").read_text() == "{}"
    assert [rel for rel, _ in report.kept] == ["lessons/00_a.ipynb"] and report.foreign == ["lessons/00_a.ipynb"]
    assert report.lines()[-1].startswith("kept your lessons/00_a.ipynb (collapse-edu did not write it); the course's")


def test_the_copy_never_goes_into_master_lessons(tmp_path, monkeypatch):
    source = fake_course(tmp_path / "v1", 1)
    monkeypatch.setattr(course, "master_folders", lambda: [source / "lessons"])
    with pytest.raises(ValueError, match="holds the master lessons|inside the course's own files"):
        sync_course(source / "lessons", source)
    with pytest.raises(ValueError, match="inside the course's own files"):
        sync_course(source / "benchmarks" / "x", source)


def test_a_foreign_manifest_is_refused(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / MANIFEST).write_text('{"files": {}}')
    with pytest.raises(ValueError, match="not written by collapse-edu"):
        sync_course(target, fake_course(tmp_path / "v1", 1))


def test_lab_copy_only_from_the_checkout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["lab", "--copy-only"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("added ")
    copied = tmp_path / course.DEFAULT_COPY
    assert lesson_paths(copied / "lessons") and (copied / "benchmarks" / "gan_seed_table.py").is_file()
    assert main(["lab", "--copy-only", "--dir", str(copied)]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_lab_refuses_lessons_with_a_copy(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--lessons", "lessons", "lab", "--copy-only"])
    assert stop.value.code == 2
    assert "--lessons cannot be combined with --dir or --copy-only" in capsys.readouterr().err


def test_lab_on_a_copy_opens_the_first_student_lesson(tmp_path, capsys, monkeypatch):
    """With --dir the course is copied and JupyterLab's links lead to the first exercise notebook."""
    started: dict = {}
    monkeypatch.setattr("collapse_edu.cli.subprocess.call", lambda command, cwd: started.update(command=command) or 0)
    assert main(["lab", "--dir", str(tmp_path / "course")]) == 0
    capsys.readouterr()
    command = started["command"]
    assert command[4] == "lessons/student/00_start_here.ipynb"
    assert "--LabApp.default_url=/lab/tree/lessons/student/00_start_here.ipynb" in command


def test_lab_started_inside_a_copy_updates_that_copy(tmp_path, capsys, monkeypatch):
    """Before: inside a copy, `lab` opened its master lessons (with solutions) without an update, and
    `lab --copy-only` made a second copy inside the first."""
    started: dict = {}
    monkeypatch.setattr("collapse_edu.cli.subprocess.call", lambda command, cwd: started.update(command=command) or 0)
    copy = tmp_path / "course"
    assert main(["lab", "--copy-only", "--dir", str(copy)]) == 0
    monkeypatch.chdir(copy / "lessons")
    capsys.readouterr()
    assert main(["lab", "--copy-only"]) == 0
    assert capsys.readouterr().out == f"the course in {copy} is up to date ({len(course.course_files(copy))} files)\n"
    assert not (copy / "lessons" / course.DEFAULT_COPY).exists() and not (copy / course.DEFAULT_COPY).exists()
    assert main(["lab"]) == 0
    command = started["command"]
    assert command[3] == f"--ServerApp.root_dir={copy}" and command[4] == "lessons/student/00_start_here.ipynb"


def test_lab_dir_without_a_value_is_refused_in_one_line(capsys):
    """Before: `lab --dir` copied into ./collapse-edu-course; with JupyterLab options after it, JupyterLab
    printed its whole usage."""
    for argv in (["lab", "--copy-only", "--dir"], ["lab", "--dir", "--port", "8897"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "argument --dir: expected one argument" in err


def test_lab_run_again_from_the_same_folder_updates_its_copy(tmp_path, capsys, monkeypatch):
    """Before (review): the second `lab` from where the first made ./collapse-edu-course found that copy's
    lessons, took them for a checkout's, and opened the masters (solutions) without an update."""
    started: dict = {}
    monkeypatch.setattr("collapse_edu.cli.subprocess.call", lambda command, cwd: started.update(command=command) or 0)
    monkeypatch.chdir(tmp_path)
    assert main(["lab", "--copy-only"]) == 0
    capsys.readouterr()
    assert main(["lab"]) == 0
    copy = tmp_path / course.DEFAULT_COPY
    assert capsys.readouterr().out.startswith(f"the course in {course.DEFAULT_COPY} is up to date")
    assert started["command"][3:5] == [f"--ServerApp.root_dir={copy}", "lessons/student/00_start_here.ipynb"]


def test_paths_into_a_copy_are_judged_by_where_they_lead(tmp_path, monkeypatch):
    """Before (review): `..` from inside a copy was refused as lying in it, and a link into a copy was not."""
    source = fake_course(tmp_path / "v1", 1)
    copy = tmp_path / "base" / "copy"
    sync_course(copy, source)
    monkeypatch.chdir(copy)
    assert sync_course("..", source, dry_run=True).added  # the copy's parent: a fresh copy, allowed
    (tmp_path / "link").symlink_to(copy / "lessons")
    with pytest.raises(ValueError, match="lies inside the course copy"):
        sync_course(tmp_path / "link" / "nested", source, dry_run=True)


def test_an_offer_recorded_by_an_older_manifest_is_not_made_again(tmp_path):
    """A manifest written before offered_sha256 existed names the offered file only."""
    target = tmp_path / "mine"
    sync_course(target, fake_course(tmp_path / "v1", 1))
    (target / "lessons" / "00_a.ipynb").write_text("my notes")
    source = fake_course(tmp_path / "v2", 2)
    ((_, beside),) = [kept for kept in sync_course(target, source).kept if kept[0] == "lessons/00_a.ipynb"]
    manifest = json.loads((target / MANIFEST).read_text())
    del manifest["files"]["lessons/00_a.ipynb"]["offered_sha256"]
    (target / MANIFEST).write_text(json.dumps(manifest))
    (target / beside).unlink()
    assert not sync_course(target, source).changed and not (target / beside).exists()


def test_the_copy_never_writes_through_a_link_into_the_package_or_a_temporary_name(tmp_path):
    """Before: with DIR/benchmarks linked to the package, `lab --copy-only --dir DIR` wrote the course's
    benchmarks into collapse_edu/; and each file went through the fixed name TARGET.part, so a file of that
    name was clobbered and a link of that name was written through (into a master lesson, into cli.py)."""
    import collapse_edu

    package = Path(collapse_edu.__file__).resolve().parent
    before = sorted(p.name for p in package.iterdir())
    source = fake_course(tmp_path / "v1", 1)
    target = tmp_path / "mine"
    target.mkdir()
    (target / "benchmarks").symlink_to(package)
    with pytest.raises(ValueError, match="leads into the course's own files"):
        sync_course(target, source)
    assert sorted(p.name for p in package.iterdir()) == before
    (target / "benchmarks").unlink()
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    (target / "lessons").mkdir()
    (target / "lessons" / "00_a.ipynb.part").symlink_to(precious)
    (target / "lessons" / "01_b.ipynb.part").write_text("a file of mine")
    sync_course(target, source)
    assert precious.read_text() == "mine"
    assert (target / "lessons" / "01_b.ipynb.part").read_text() == "a file of mine"
    assert not list(target.rglob(".*.part"))  # the tool's own temporary files are all renamed into place


def test_the_copy_has_the_permissions_of_ordinary_files(tmp_path):
    """Before: the copy went through mkstemp's private temporary files, so every lesson of it was 0600 (a
    course folder shared on a hub, --dir /srv/course, was readable by its maker alone)."""
    import os
    import stat

    mask = os.umask(0o022)
    try:
        target = tmp_path / "mine"
        sync_course(target, fake_course(tmp_path / "v1", 1))
    finally:
        os.umask(mask)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in target.rglob("*.ipynb")}
    assert modes == {0o644}, [oct(m) for m in modes]
