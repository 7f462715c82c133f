"""The course from an installed wheel, outside the repository: every sub-command works.

The wheel is built from a copy of the checkout (``pip wheel --no-build-isolation``: nothing is
downloaded) and installed with ``--no-deps`` into a fresh virtual environment whose dependencies
come from the environment running the tests (a ``.pth`` file adds its site-packages after the new
environment's own, so the wheel's ``collapse_edu`` is the one imported). Every command then runs in
a folder outside the checkout, without PYTHONPATH.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "collapse_edu", "lessons", "benchmarks")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout's sources."""
    root = tmp_path_factory.mktemp("build")
    source = root / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    result = subprocess.run([*command, "-w", str(root / "dist"), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    (found,) = (root / "dist").glob("collapse_edu-*.whl")
    return found


def test_the_wheel_has_the_packages_own_version(wheel):
    """One version number: the metadata's is collapse_edu.__version__, which names the copies that
    `collapse-edu lab` offers beside a changed notebook (pyproject.toml once had a second one)."""
    from collapse_edu import __version__

    archive = zipfile.ZipFile(wheel)
    (metadata,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
    assert f"\nVersion: {__version__}\n" in archive.read(metadata).decode()
    assert wheel.name.startswith(f"collapse_edu-{__version__}-")


def test_the_wheel_holds_every_module_lesson_student_version_and_benchmark(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "collapse_edu").rglob("*.py")}
    assert not modules - names, f"modules missing from the wheel (pyproject.toml packages?): {modules - names}"
    shipped = {
        "lessons": sorted((REPO_ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")),
        "lessons/student": sorted((REPO_ROOT / "lessons" / "student").glob("[0-9][0-9]_*.ipynb")),
        "benchmarks": sorted((REPO_ROOT / "benchmarks").glob("*.py")),
    }
    for folder, paths in shipped.items():
        for path in paths:
            assert f"collapse_edu/packaged/{folder}/{path.name}" in names, f"{folder}/{path.name} is not in the wheel"
    assert "collapse_edu/results/gan_seeds.json" in names and "collapse_edu/corpora/README.md" in names


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A fresh venv with the wheel installed (no dependencies downloaded: they come from this environment)."""
    root = tmp_path_factory.mktemp("venv")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "zz_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    result = subprocess.run([*install, "--ignore-installed", "-q", str(wheel)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    work = root / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COLLAPSE_EDU_LESSONS", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # nbconvert's templates and the python3 kernel spec live in the dependencies' environment
    env["JUPYTER_PATH"] = os.pathsep.join(
        filter(None, [str(Path(sys.prefix) / "share" / "jupyter"), env.get("JUPYTER_PATH")])
    )
    return {"python": python, "cli": venv / "bin" / "collapse-edu", "cwd": work, "env": env}


def run(installed: dict, *args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        cwd=installed["cwd"],
        env=installed["env"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(installed: dict, *args, status: int = 0, timeout: float = 600) -> str:
    result = run(installed, installed["cli"], *args, timeout=timeout)
    assert result.returncode == status, f"collapse-edu {' '.join(map(str, args))}: {result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_the_installed_package_is_imported_not_the_checkout(installed):
    where = run(installed, installed["python"], "-c", "import collapse_edu; print(collapse_edu.__file__)").stdout
    assert where.startswith(str(installed["python"].parents[1])), where
    assert str(REPO_ROOT) not in where


def test_list_run_student_export_from_the_wheel(installed):
    cwd = installed["cwd"]
    listed = cli(installed, "list").splitlines()
    assert len(listed) == len(sorted((REPO_ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))) and listed[0].startswith("00")
    assert "executed in" in cli(installed, "run", "00", "--out", "executed")
    assert (cwd / "executed" / "00_start_here.html").is_file()
    assert "--inplace updates a lesson of a checkout" in cli(installed, "run", "00", "--inplace", status=2)
    assert "wrote" in cli(installed, "student", "--out", "handout")
    assert len(list((cwd / "handout").glob("*.ipynb"))) == len(listed)
    assert "installed course is read-only" in cli(installed, "student", "--publish", status=2)
    assert "nbgrader source notebooks" in cli(installed, "student", "--nbgrader", "grading")
    assert (cwd / "grading" / "source" / "01_gaussian_resampling" / "01_gaussian_resampling.ipynb").is_file()
    assert "exported" in cli(installed, "export", "--no-execute", "--out", "site")
    assert (cwd / "site" / "index.html").is_file()
    assert "slides written" in cli(installed, "slides", "01", "--out", "slides")
    assert (cwd / "slides" / "01_gaussian_resampling.slides.html").is_file()


def test_simulate_and_monitor_from_the_wheel(installed):
    cwd = installed["cwd"]
    assert "generation" in cli(installed, "simulate", "gaussian", "--n", "20", "--generations", "5", "--runs", "20")
    for name, scale in (("reference.csv", 1.0), ("candidate.csv", 0.3)):
        with open(cwd / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["x", "y"])
            for i in range(200):
                writer.writerow([scale * ((i * 37) % 101 - 50) / 29, scale * ((i * 53) % 97 - 48) / 28])
    report = run(installed, installed["cli"], "monitor", "reference.csv", "candidate.csv")
    assert report.returncode in (0, 1) and "verdict" in report.stdout.lower(), report.stdout + report.stderr


def test_lab_copies_the_course_and_a_second_run_changes_nothing(installed):
    cwd = installed["cwd"]
    first = cli(installed, "lab", "--copy-only")
    copy = cwd / "collapse-edu-course"
    assert first.startswith("added ") and (copy / "lessons" / "00_start_here.ipynb").is_file()
    assert (copy / "benchmarks" / "gan_seed_table.py").is_file()
    edited = copy / "lessons" / "01_gaussian_resampling.ipynb"
    edited.write_text(edited.read_text().replace("Gaussian", "Gauss"))
    mine = edited.read_bytes()
    assert "is up to date" in cli(installed, "lab", "--copy-only")
    assert edited.read_bytes() == mine
    # the benchmark the lessons point to runs from the copy and from the package
    assert "usage" in run(installed, installed["python"], copy / "benchmarks" / "gan_seed_table.py", "--help").stdout
    module = run(installed, installed["python"], "-m", "collapse_edu.packaged.benchmarks.continual_seeds", "--help")
    assert module.returncode == 0 and "usage" in module.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_lab_starts_jupyterlab_on_the_copy_and_stops(installed):
    port = _free_port()
    args = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    args += ["--IdentityProvider.token=", "--ServerApp.password=", "--LabApp.news_url="]
    log = installed["cwd"] / "lab.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [installed["cli"], "lab", "--dir", "lab-course", *args],
            cwd=installed["cwd"],
            env=installed["env"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/lessons", timeout=2) as reply:
                    listing = reply.read().decode()
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert "00_start_here.ipynb" in listing
        assert (installed["cwd"] / "lab-course" / ".collapse-edu-course.json").is_file()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own process group (started above)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
