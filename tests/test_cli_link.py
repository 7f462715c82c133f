"""``collapse-edu link``: the nbgitpuller link for a JupyterHub; bad input gives one line and exit status 2.

The link is followed by a real hub in ``tests/test_hub.py``; here its parts are checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest

from collapse_edu.cli import main
from collapse_edu.cli_link import hub_base, nbgitpuller_link, repo_folder

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def parts(link: str) -> tuple[str, str, dict[str, str]]:
    split = urlsplit(link)
    query = {key: values[0] for key, values in parse_qs(split.query, strict_parsing=True).items()}
    return f"{split.scheme}://{split.netloc}", split.path, query


@pytest.fixture
def renumbered(tmp_path: Path) -> Path:
    """Lessons whose numbers differ from the course's: the link must follow the folder, not a fixed list."""
    for name in ("00_welcome", "05_gaussian_resampling", "09_forgetting"):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}")])
        nbformat.write(notebook, tmp_path / f"{name}.ipynb")
    return tmp_path


def test_link_opens_the_lesson_in_the_cloned_folder(capsys):
    status, out, err = run_cli(capsys, "link", "--hub", "https://hub.example.org", "--lesson", "1")
    assert status == 0 and err == ""
    assert out.count("\n") == 1, "the link alone, so that $(collapse-edu link ...) works"
    origin, path, query = parts(out.strip())
    lesson01 = sorted(LESSONS_DIR.glob("01_*.ipynb"))[0].name
    assert (origin, path) == ("https://hub.example.org", "/hub/user-redirect/git-pull")
    assert query == {
        "repo": "https://github.com/collapse-edu/collapse-edu",
        "branch": "main",
        "targetpath": "collapse-edu",
        "urlpath": f"lab/tree/collapse-edu/lessons/{lesson01}",
    }


def test_default_lesson_is_the_first_and_lessons_are_found_by_number(capsys, renumbered):
    base = ("--lessons", str(renumbered), "link", "--hub", "http://127.0.0.1:8000")
    status, out, _ = run_cli(capsys, *base)
    assert status == 0 and parts(out.strip())[2]["urlpath"].endswith("/lessons/00_welcome.ipynb")
    fork = ("--repo", "git@example.org:me/course.git", "--branch", "w1")
    status, out, _ = run_cli(capsys, *base, "--lesson", "5", *fork)
    assert status == 0
    query = parts(out.strip())[2]
    assert query == {
        "repo": "git@example.org:me/course.git",
        "branch": "w1",
        "targetpath": "course",
        "urlpath": "lab/tree/course/lessons/05_gaussian_resampling.ipynb",
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://hub.example.org", "https://hub.example.org"),
        ("https://hub.example.org/", "https://hub.example.org"),
        ("https://hub.example.org/hub/home", "https://hub.example.org"),
        ("https://example.org/jupyter/hub/", "https://example.org/jupyter"),
        ("http://127.0.0.1:8000/hub", "http://127.0.0.1:8000"),
        ("https://example.org/jupyter", "https://example.org/jupyter"),
    ],
)
def test_hub_address_is_reduced_to_its_base(given, expected):
    assert hub_base(given) == expected


@pytest.mark.parametrize(
    ("repo", "folder"),
    [
        ("https://github.com/collapse-edu/collapse-edu", "collapse-edu"),
        ("https://github.com/collapse-edu/collapse-edu.git", "collapse-edu"),
        ("https://gitlab.example.org/group/sub/course/", "course"),
        ("git@github.com:me/my-fork.git", "my-fork"),
        ("ssh://git@example.org/srv/course.git", "course"),
        ("file:///srv/git/collapse-edu", "collapse-edu"),
    ],
)
def test_repo_folder_is_the_last_part_without_dot_git(repo, folder):
    assert repo_folder(repo) == folder
    assert parts(nbgitpuller_link("https://h.org", "lessons/x.ipynb", repo=repo))[2]["targetpath"] == folder


def test_special_characters_survive_the_round_trip():
    link = nbgitpuller_link("https://h.org", "lessons/01_a b&c=d.ipynb", repo="https://h.org/a/r", branch="x/y")
    assert " " not in link and link.count("&") == 3, "every value is percent-encoded"
    assert parts(link)[2] == {
        "repo": "https://h.org/a/r",
        "branch": "x/y",
        "targetpath": "r",
        "urlpath": "lab/tree/r/lessons/01_a b&c=d.ipynb",
    }


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--hub", "hub.example.org"], "--hub"),
        (["--hub", "ftp://hub.example.org"], "--hub"),
        (["--hub", "https://hub.example.org/?next=x"], "--hub"),
        (["--hub", "https://"], "--hub"),
        (["--hub", "https://h.org", "--lesson", "42"], "lesson must be one of"),
        (["--hub", "https://h.org", "--repo", "not a url"], "--repo"),
        (["--hub", "https://h.org", "--repo", "https://github.com"], "--repo"),
        (["--hub", "https://h.org", "--repo", "https://h.org/a/r?x=1"], "--repo"),
        (["--hub", "https://h.org", "--branch", "a..b"], "--branch"),
        (["--hub", "https://h.org", "--branch=-x"], "--branch"),
        (["--hub", "https://h.org", "--branch", "feature/"], "--branch"),
        (["--hub", "https://hub.example.org/ with space"], "--hub"),  # before: a broken link was printed
        (["--hub", "https://hub.example.org:abc"], "--hub"),
        (["--hub", 'https://hub.example.org/"><script>'], "--hub"),
        (["--hub", "https://[::1"], "--hub"),  # before: "error: Invalid IPv6 URL", which named no option
    ],
)
def test_bad_input_is_one_line_with_status_2(capsys, argv, named):
    status, out, err = run_cli(capsys, "link", *argv)
    assert status == 2 and out == ""
    assert err.startswith("collapse-edu: error: ") and named in err and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_missing_hub_is_refused_by_the_parser(capsys):
    status, _, err = run_cli(capsys, "link", "--lesson", "01")
    assert status == 2 and "--hub" in err and "Traceback" not in err


def test_installed_command_prints_the_link():
    done = subprocess.run(
        [sys.executable, "-m", "collapse_edu.cli", "link", "--hub", "https://hub.example.org/", "--lesson", "00"],
        capture_output=True,
        text=True,
        cwd=LESSONS_DIR.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com")


def test_start_page_is_the_link_without_the_host(capsys):
    argv = ("link", "--hub", "https://example.org/jupyter/", "--lesson", "01")
    _, link, _ = run_cli(capsys, *argv)
    status, page, err = run_cli(capsys, *argv, "--start-page")
    assert status == 0 and err == ""
    assert page.startswith("/jupyter/hub/user-redirect/git-pull?")
    assert link.strip() == "https://example.org" + page.strip()


def test_a_notebook_outside_the_course_gets_no_link_and_a_student_copy_its_own(capsys, tmp_path):
    """Before: --lesson mine/notes.ipynb printed a link to lessons/notes.ipynb, which the repository lacks, and
    --lesson lessons/student/01_... linked to the lesson with solutions."""
    lessons = Path(__file__).resolve().parents[1] / "lessons"
    mine = tmp_path / "01_my_notes.ipynb"
    mine.write_bytes((lessons / "01_gaussian_resampling.ipynb").read_bytes())
    status, out, err = run_cli(capsys, "link", "--hub", "https://h.org", "--lesson", str(mine))
    assert status == 2 and out == "" and "--lesson must be one of the course's lessons" in err
    student = lessons / "student" / "01_gaussian_resampling.ipynb"
    status, out, _ = run_cli(capsys, "link", "--hub", "https://h.org", "--lesson", str(student))
    assert status == 0 and parts(out.strip())[2]["urlpath"].endswith("/lessons/student/01_gaussian_resampling.ipynb")


def test_a_student_path_inside_the_lessons_folder_links_to_the_student_copy(capsys, tmp_path, monkeypatch):
    """Before: --lesson student/01_... (relative to the lessons folder, from elsewhere) was matched by file name
    to the lesson with solutions."""
    lessons = Path(__file__).resolve().parents[1] / "lessons"
    monkeypatch.chdir(tmp_path)
    argv = ("--lessons", str(lessons), "link", "--hub", "https://h.org", "--lesson")
    status, out, _ = run_cli(capsys, *argv, "student/01_gaussian_resampling.ipynb")
    assert status == 0 and parts(out.strip())[2]["urlpath"].endswith("/lessons/student/01_gaussian_resampling.ipynb")
    status, out, err = run_cli(capsys, *argv, "elsewhere/01_gaussian_resampling.ipynb")
    assert status == 2 and out == "" and "no such notebook" in err
