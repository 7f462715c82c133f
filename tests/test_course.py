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
    assert any(
        line.startswith("kept your lessons/student/01_b.ipynb (it differs from what collapse-edu put there)")
        for line in report.lines()
    )
    # the new version beside it is not a lesson of its own
    assert [p.name for p in lesson_paths(target / "lessons" / "student")] == ["00_a.ipynb", "01_b.ipynb", "03_d.ipynb"]
    # idempotent: a second run writes nothing new and still keeps the learner's file
    again = sync_course(target, source)
    assert not again.added and not again.updated and not again.removed and again.kept == report.kept
    assert edited.read_bytes() == mine
    assert len(list((target / "lessons" / "student").glob("01_b*.ipynb"))) == 2


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
    assert [rel for rel, _ in report.kept] == ["lessons/00_a.ipynb"]


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
