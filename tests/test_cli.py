"""The ``collapse-edu`` command: list, lab, run, simulate; bad input gives one line and exit status 2."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from collapse_edu import cli, theory
from collapse_edu.cli import main

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"


def mini_lessons(folder: Path) -> Path:
    """Two small lessons in the course format (title cell, minutes, kernelspec)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, title, minutes in (("98", "Mini lesson", 5), ("99", "Another one", None)):
        metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}
        if minutes:
            metadata["collapse_edu"] = {"minutes": minutes}
        notebook = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell(f"# {number} · {title}\n\nSome text."),
                nbformat.v4.new_code_cell("print(6 * 7)"),
            ],
            metadata=metadata,
        )
        nbformat.write(notebook, folder / f"{number}_{title.lower().replace(' ', '_')}.ipynb")
    return folder


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the command in-process; returns (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def simulate_json(capsys, *argv: str) -> dict:
    status, out, _ = run_cli(capsys, "simulate", "gaussian", "--json", *argv)
    assert status == 0
    return json.loads(out)


# --------------------------------------------------------------------------- simulate gaussian


@pytest.fixture(scope="module")
def mle_run():
    return _json_of("--n", "100", "--generations", "100", "--runs", "5000", "--seed", "0")


@pytest.fixture(scope="module")
def unbiased_run():
    return _json_of("--n", "100", "--generations", "100", "--runs", "5000", "--seed", "0", "--ddof", "1")


def _json_of(*argv: str) -> dict:
    from contextlib import redirect_stdout
    from io import StringIO

    buffer = StringIO()
    with redirect_stdout(buffer):
        assert main(["simulate", "gaussian", "--json", *argv]) == 0
    return json.loads(buffer.getvalue())


def test_json_layout(mle_run):
    assert mle_run["parameters"] == {
        "n": 100,
        "generations": 100,
        "runs": 5000,
        "ddof": 0,
        "policy": "replace",
        "seed": 0,
        "path": "fast (sufficient statistics)",
    }
    rows = mle_run["generations"]
    assert [row["generation"] for row in rows] == list(range(101))
    assert set(rows[0]) >= {"sigma_median", "sigma_mean", "sigma_q05", "sigma_q95", "sigma2_mean", "mu2_mean"}
    assert rows[0]["sigma_median"] == rows[0]["sigma_mean"] == 1.0 and rows[0]["mu2_mean"] == 0.0
    for row in rows:
        assert row["sigma_q05"] <= row["sigma_q25"] <= row["sigma_median"] <= row["sigma_q75"] <= row["sigma_q95"]


def test_policies_from_the_command_line():
    """fresh-real keeps sigma near 1 (no closed form printed); accumulate-subsample takes the direct path."""
    fresh = _json_of("--generations", "50", "--runs", "2000", "--policy", "fresh-real", "--real-fraction", "0.5")
    assert fresh["parameters"]["policy"] == "fresh-real (r = 0.5)"
    assert 0.9 < fresh["generations"][-1]["sigma_median"] < 1.05
    assert "theory_sigma_median" not in fresh["generations"][-1]
    subsample = _json_of("--n", "20", "--generations", "5", "--runs", "50", "--policy", "accumulate-subsample")
    assert subsample["parameters"]["path"] == "direct"


def test_median_final_sigma_agrees_with_theory(mle_run):
    """SE of a median ~ 1 / (2 f(m) sqrt(N)), with the density f(m) ~ 0.5 / IQR (conservative for a bell)."""
    final = mle_run["generations"][-1]
    runs = mle_run["parameters"]["runs"]
    se = (final["sigma_q75"] - final["sigma_q25"]) / np.sqrt(runs)
    expected = float(theory.sigma_quantile(0.5, 100, 100, 0))
    assert final["theory_sigma_median"] == pytest.approx(expected)
    assert abs(final["sigma_median"] - expected) < 5 * se, (final["sigma_median"], expected, se)
    assert 0.3 < final["sigma_median"] < 0.45  # about exp(-1) = 0.37: collapse in n generations


def test_mle_mean_variance_and_drift_agree_with_theory(mle_run):
    final = mle_run["generations"][-1]
    runs = mle_run["parameters"]["runs"]
    # sigma_t^2 = prod of chi2_{99}/100: Var = E[s^4] - E[s^2]^2 with E[s^4] = ((99^2 + 2*99)/100^2)^t
    mean_sq = ((99**2 + 2 * 99) / 100**2) ** 100
    se = np.sqrt(mean_sq - theory.expected_variance(100, 100) ** 2) / np.sqrt(runs)
    assert abs(final["sigma2_mean"] - final["theory_sigma2_mean"]) < 5 * se
    # mu_t is close to normal: Var(mu_t^2) ~ 2 E[mu_t^2]^2; a heavier tail is allowed with 6 SE
    v = final["theory_mu2_mean"]
    assert v == pytest.approx(float(theory.mean_drift_mse(100, 100, 0)))
    assert abs(final["mu2_mean"] - v) < 6 * np.sqrt(2) * v / np.sqrt(runs)


def test_unbiased_mean_variance_stays_one_while_the_median_collapses(unbiased_run):
    """sigma_t^2 = prod chi2_{n-1}/(n-1): E = 1, Var = (1 + 2/(n-1))^t - 1 (= 6.4 at n = t = 100)."""
    final = unbiased_run["generations"][-1]
    runs = unbiased_run["parameters"]["runs"]
    se = np.sqrt((1 + 2 / 99) ** 100 - 1) / np.sqrt(runs)
    assert final["theory_sigma2_mean"] == 1.0
    assert abs(final["sigma2_mean"] - 1.0) < 5 * se
    se_median = (final["sigma_q75"] - final["sigma_q25"]) / np.sqrt(runs)
    assert abs(final["sigma_median"] - final["theory_sigma_median"]) < 5 * se_median
    assert final["sigma_median"] < 0.7  # the typical run has lost 40 % of its spread


def test_direct_path_and_table_output(capsys, tmp_path):
    data = simulate_json(capsys, "--n", "20", "--generations", "5", "--runs", "300", "--direct")
    assert data["parameters"]["path"] == "direct"
    assert len(data["generations"]) == 6

    plot = tmp_path / "sigma.png"
    status, out, _ = run_cli(
        capsys, "simulate", "gaussian", "--n", "20", "--generations", "30", "--runs", "50", "--plot", str(plot)
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["generation", "sigma_median", "sigma_mean"]
    assert lines[1].split()[0] == "0" and lines[-2].split()[0] == "30"  # first and last generation shown
    assert lines[-1] == f"figure written to {plot}"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seeded_output_is_reproducible(capsys):
    args = ("--n", "10", "--generations", "3", "--runs", "20", "--seed", "5")
    assert simulate_json(capsys, *args) == simulate_json(capsys, *args)
    assert simulate_json(capsys, *args) != simulate_json(capsys, "--n", "10", "--generations", "3", "--runs", "20")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "gaussian", "--n", "1"], "--n must be >= 2, got 1"),
        (["simulate", "gaussian", "--generations", "-3"], "--generations must be >= 0, got -3"),
        (["simulate", "gaussian", "--runs", "0"], "--runs must be >= 1, got 0"),
        (["simulate", "gaussian", "--seed", "-1"], "--seed must be >= 0, got -1"),
        (["run", "77"], "lesson must be one of 98, 99 (or a notebook path); got '77'"),
        (
            ["run", "gone.ipynb"],
            "lesson 'gone.ipynb': no such notebook; give an existing notebook path or one of 98, 99",
        ),
        (  # a path with a folder part never stands for a lesson of the same file name
            ["run", "typo/98_mini_lesson.ipynb", "--inplace"],
            "lesson 'typo/98_mini_lesson.ipynb': no such notebook (not in the working directory or the lessons folder)",
        ),
        (
            ["simulate", "regression", "--samples", "1"],
            "--samples must be >= --dim + 2 = 12 for least squares and its theory (or set --ridge > 0), got 1",
        ),
        (["simulate", "regression", "--noise", "1e300"], "--noise must be <= 1000000.0, got 1e+300"),
        (["simulate", "mixture", "--separation", "1e10"], "--separation must be <= 10000.0, got 10000000000.0"),
        (["simulate", "mixture", "--separation", "1e300"], "--separation must be <= 10000.0, got 1e+300"),
        (
            ["monitor", "", "b.csv"],
            "reference: the path is empty; give a .csv or .npy file, or a text file or folder",
        ),
        (
            ["simulate", "ngram", "--order", "99"],
            "--order must be at most 5 with 3022 word ids (n-grams are int64 keys, so the number of possible n-grams "
            "must stay below 2 ** 63), got 99; in Python, dropping rare words (prepare_corpus(min_count=...)) allows "
            "higher orders",
        ),
    ],
)
def test_bad_input_is_one_line_with_status_2(capsys, tmp_path, argv, message):
    lessons = mini_lessons(tmp_path / "lessons")
    status, out, err = run_cli(capsys, "--lessons", str(lessons), *argv)
    assert status == 2
    assert err == f"collapse-edu: error: {message}\n"
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("argv", "prog", "unknown"),
    [
        (["simulate", "gaussian", "--bogus", "3"], "collapse-edu simulate gaussian", "--bogus 3"),
        (["link", "--hub", "https://h.org", "--bogus"], "collapse-edu link", "--bogus"),
        (["list", "-x"], "collapse-edu list", "-x"),
    ],
)
def test_an_unknown_option_points_at_its_sub_command_help(capsys, argv, prog, unknown):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == ""
    assert err == f"{prog}: error: unrecognized arguments: {unknown} (see {prog} --help)\n"


def test_argparse_rejects_bad_choices(capsys):
    status, _, err = run_cli(capsys, "simulate", "gaussian", "--ddof", "2")
    assert status == 2 and "argument --ddof: invalid choice: " in err
    status, _, err = run_cli(capsys, "simulate", "gaussian", "--n", "ten")
    assert status == 2 and "--n: invalid int value: 'ten'" in err
    status, _, err = run_cli(capsys, "simulate", "nosuchfamily")
    assert status == 2 and "invalid choice: 'nosuchfamily'" in err


def test_missing_lessons_folder(capsys, tmp_path):
    status, _, err = run_cli(capsys, "--lessons", str(tmp_path), "list")
    assert status == 2
    assert err == f"collapse-edu: error: lessons folder {tmp_path} holds no lesson notebooks (NN_name.ipynb)\n"
    status, _, err = run_cli(capsys, "--lessons", str(tmp_path / "missing"), "list")
    assert status == 2 and err == f"collapse-edu: error: lessons folder {tmp_path / 'missing'} does not exist\n"


@pytest.mark.slow
def test_no_traceback_from_the_real_command():
    """The installed entry point, in a fresh process: one line on stderr, status 2."""
    result = subprocess.run(
        [sys.executable, "-m", "collapse_edu.cli", "simulate", "gaussian", "--n", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == "collapse-edu: error: --n must be >= 2, got 1\n"  # as typed
    assert result.stdout == ""


# --------------------------------------------------------------------------- list, lab, run


def test_list(capsys, tmp_path):
    lessons = mini_lessons(tmp_path / "lessons")
    status, out, _ = run_cli(capsys, "--lessons", str(lessons), "list")
    assert status == 0
    assert out.splitlines() == ["98    5 min  98 · Mini lesson", "99     ? min  99 · Another one"]


@pytest.mark.skipif(not list(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb")), reason="no lessons in lessons/ yet")
def test_list_the_course(capsys):
    status, out, _ = run_cli(capsys, "--lessons", str(LESSONS_DIR), "list")
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == len(list(LESSONS_DIR.glob("[0-9][0-9]_*.ipynb")))
    for line in lines:
        number, rest = line.split(maxsplit=1)
        assert number.isdigit() and len(number) == 2
        assert "min" in rest and "?" not in rest.split("min")[0], f"lesson {number} has no minutes in its metadata"


@pytest.fixture
def lab_command(monkeypatch):
    """Catch the JupyterLab command instead of starting it."""
    started: dict = {}

    def fake_call(command, cwd):
        started.update(command=command, cwd=cwd)
        return 0

    monkeypatch.setattr(cli.subprocess, "call", fake_call)
    return started


def test_lab_starts_jupyterlab_on_the_first_lesson(capsys, tmp_path, lab_command):
    lessons = mini_lessons(tmp_path / "lessons")
    status, out, _ = run_cli(capsys, "--lessons", str(lessons), "lab")
    assert status == 0
    command = lab_command["command"]
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={lessons.resolve()}" in command
    assert command[4] == "98_mini_lesson.ipynb"
    assert "--LabApp.default_url=/lab/tree/98_mini_lesson.ipynb" in command  # the printed links open the lesson
    assert ("--allow-root" in command) == (os.geteuid() == 0)  # JupyterLab refuses root without it
    assert lab_command["cwd"] == lessons.resolve()
    assert out.startswith("Opening the course:")


def test_lab_passes_options_on_to_jupyterlab(capsys, tmp_path, lab_command):
    lessons = mini_lessons(tmp_path / "lessons")
    status, _, _ = run_cli(capsys, "--lessons", str(lessons), "lab", "--port=9999")
    command = lab_command["command"]
    assert status == 0 and command[5] == "--port=9999" and command.count("--allow-root") <= 1
    status, _, _ = run_cli(capsys, "--lessons", str(lessons), "lab", "--LabApp.default_url=/lab")
    assert status == 0 and [c for c in lab_command["command"] if "default_url" in c] == ["--LabApp.default_url=/lab"]


@pytest.mark.slow
def test_run_a_lesson_to_ipynb_and_html(capsys, tmp_path):
    """Lesson 00 if it exists (the README's first lesson), else a mini lesson in the same format."""
    lesson_00 = sorted(LESSONS_DIR.glob("00_*.ipynb"))
    lessons = LESSONS_DIR if lesson_00 else mini_lessons(tmp_path / "lessons")
    name = lesson_00[0].stem if lesson_00 else "98_mini_lesson"
    before = (lessons / f"{name}.ipynb").read_bytes()
    out = tmp_path / "executed"
    status, stdout, err = run_cli(capsys, "--lessons", str(lessons), "run", name[:2], "--out", str(out))
    assert status == 0, err
    assert stdout.startswith(f"{name}: executed in ") and f"-> {out}/{name}.ipynb and .html" in stdout
    ran = stdout.rstrip().rpartition("(the lesson: ")[2].removesuffix(")")  # which file ran
    assert Path(ran).resolve() == (lessons / f"{name}.ipynb").resolve()
    executed = nbformat.read(out / f"{name}.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell ran"
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    html = (out / f"{name}.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert (lessons / f"{name}.ipynb").read_bytes() == before, "run --out must not touch the lesson"


# --------------------------------------------------------------------------- hardening (issue 14)


@pytest.mark.parametrize("name", ["1.5", "98.0", "٩٨", " 98", "98x"])
def test_run_refuses_a_lesson_number_that_is_not_one(capsys, tmp_path, name):
    """Before: "1.5" ran lesson 01 (its stem "1" matched)."""
    lessons = mini_lessons(tmp_path / "lessons")
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "run", name)
    assert status == 2 and out == ""
    assert err == f"collapse-edu: error: lesson must be one of 98, 99 (or a notebook path); got {name!r}\n"


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "must be 1 to 86400 seconds (a day) per cell, got 0"), ("-5", "got -5"), ("99999999999999999999", "got 9")],
)
def test_timeout_must_be_positive(capsys, tmp_path, value, message):
    """nbclient reads 0 or a negative timeout as "no limit": refused instead."""
    lessons = mini_lessons(tmp_path / "lessons")
    for command in (["run", "98"], ["export"]):
        status, _, err = run_cli(capsys, "--lessons", str(lessons), *command, "--timeout", value)
        assert status == 2 and message in err and len(err.splitlines()) == 1


def test_argparse_errors_are_one_line(capsys):
    status, _, err = run_cli(capsys, "simulate", "gaussian", "--ddof", "2")
    assert status == 2 and len(err.splitlines()) == 1 and "usage:" not in err
    assert err.startswith("collapse-edu simulate gaussian: error: argument --ddof: invalid choice: ")
    assert err.endswith("(see collapse-edu simulate gaussian --help)\n")


@pytest.fixture
def no_kernel(monkeypatch):
    """Execution replaced by a stub that counts its calls (checks must come before it)."""
    calls = []

    def execute(path, *, timeout=600):
        calls.append(path)
        return nbformat.read(path, as_version=4), 0.5, 12.0

    monkeypatch.setattr(cli.lesson_files, "execute_notebook", execute)
    return calls


def test_run_out_checks_every_file_before_the_lesson_runs(capsys, tmp_path, no_kernel):
    from collapse_edu.outputs import written_by_tool

    lessons = mini_lessons(tmp_path / "lessons")
    out = tmp_path / "executed"
    out.mkdir()
    (out / "98_mini_lesson.html").write_text("a lecturer's page")
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "run", "98", "--out", str(out))
    assert status == 2 and no_kernel == []
    assert f"would replace 1 existing file that collapse-edu did not write: {out / '98_mini_lesson.html'}" in err
    assert (out / "98_mini_lesson.html").read_text() == "a lecturer's page"
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "run", "98", "--out", str(out), "--force")
    assert status == 0 and len(no_kernel) == 1
    assert written_by_tool(out / "98_mini_lesson.html") and written_by_tool(out / "98_mini_lesson.ipynb")
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "run", "98", "--out", str(out))
    assert status == 0, err  # its own files are replaced without --force
    for bad, message in (
        (lessons, "holds the master lessons: run --out never writes into it"),
        (lessons / "98_mini_lesson.ipynb", "is a file, not a folder"),
        (lessons / "98_mini_lesson.ipynb" / "sub", "is a file, not a folder"),
    ):
        status, _, err = run_cli(capsys, "--lessons", str(lessons), "run", "98", "--out", str(bad), "--force")
        assert status == 2 and message in err, err
    assert len(no_kernel) == 2


def test_export_refuses_foreign_files_and_marks_its_own(capsys, tmp_path):
    from collapse_edu.outputs import HTML_MARKER

    lessons = mini_lessons(tmp_path / "lessons")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>course page</p>")
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "export", "--out", str(site), "--no-execute")
    assert status == 2 and f"did not write: {site / 'index.html'}; add --force" in err
    assert not (site / "98_mini_lesson.html").exists()
    argv = ["--lessons", str(lessons), "export", "--out", str(site), "--no-execute", "--force"]
    status, _, err = run_cli(capsys, *argv)
    assert status == 0 and "\r" not in err and "lessons:" not in err  # no progress frames into a log or pipe
    assert (
        HTML_MARKER in (site / "index.html").read_text() and HTML_MARKER in (site / "99_another_one.html").read_text()
    )
    assert run_cli(capsys, *argv[:-1])[0] == 0  # again, without --force: all files are its own
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "export", "--out", str(lessons), "--force")
    assert status == 2 and "holds the master lessons" in err


def test_export_index_says_what_needs_the_internet(capsys, tmp_path):
    """Before: the index said "the pages work offline"; MathJax, the widgets and the badges come from the internet."""
    import re

    lessons = mini_lessons(tmp_path / "lessons")
    status, _, _ = run_cli(capsys, "--lessons", str(lessons), "export", "--out", str(tmp_path / "site"), "--no-execute")
    index = re.sub(r"\s+", " ", (tmp_path / "site" / "index.html").read_text())
    assert status == 0 and "work offline" not in index
    assert "readable offline; formulas are typeset only online (MathJax from a CDN)" in index


@pytest.mark.parametrize(("content", "reason"), [('{"a": 1}', "not a readable Jupyter notebook"), ("{", "JSON")])
def test_a_malformed_notebook_is_named(capsys, tmp_path, content, reason):
    lessons = mini_lessons(tmp_path / "lessons")
    (lessons / "97_broken.ipynb").write_text(content)
    for command in (["list"], ["student", "--out", str(tmp_path / "s")], ["run", "98"]):
        status, _, err = run_cli(capsys, "--lessons", str(lessons), *command)
        assert status == 2 and str(lessons / "97_broken.ipynb") in err and reason in err, err
        assert len(err.splitlines()) == 1


def test_simulate_plot_is_checked_before_the_run_and_reports_the_file_written(capsys, tmp_path):
    from collapse_edu.outputs import written_by_tool

    small = ["simulate", "gaussian", "--n", "10", "--generations", "3", "--runs", "5"]
    status, out, err = run_cli(capsys, *small, "--plot", str(tmp_path / "missing" / "s.png"))
    assert status == 2 and out == "" and "does not exist" in err
    status, out, _ = run_cli(capsys, *small, "--plot", str(tmp_path / "sigma"))
    assert status == 0 and out.splitlines()[-1] == f"figure written to {tmp_path / 'sigma.png'}"
    assert written_by_tool(tmp_path / "sigma.png") and not (tmp_path / "sigma").exists()
    status, _, err = run_cli(capsys, *small, "--plot", str(tmp_path / "sigma.png"))
    assert status == 0, err  # its own figure
    foreign = tmp_path / "photo.png"
    foreign.write_bytes(b"\x89PNG\r\n\x1a\n not ours")
    status, out, err = run_cli(capsys, *small, "--plot", str(foreign))
    assert status == 2 and out == "" and "add --force to replace them" in err
    assert run_cli(capsys, *small, "--plot", str(foreign), "--force")[0] == 0
    status, _, err = run_cli(capsys, *small, "--plot", str(tmp_path / "sigma.v2"))
    assert status == 2 and "cannot save a figure as .v2" in err
    status, _, err = run_cli(capsys, *small, "--plot", str(tmp_path / ".png"))  # was written as .png.png
    assert status == 2 and "has no file name before its extension" in err and not (tmp_path / ".png.png").exists()


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["simulate", "gaussian", "--runs", "1000000000000"], "runs = 1000000000000"),
        (["simulate", "gaussian", "--n", "1000000000000", "--direct"], "n = 1000000000000"),
        (["simulate", "categorical", "--categories", "100000000000"], "categories = 100000000000"),
        (["simulate", "regression", "--runs", "1000000000000"], "runs = 1000000000000"),
    ],
)
def test_huge_sizes_are_refused_with_the_memory_they_need(capsys, argv, name):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == "" and len(err.splitlines()) == 1
    assert name in err and "needs about" in err and "available here: use fewer" in err


def test_simulate_gaussian_fresh_real_needs_a_fraction_in_the_api_too():
    from collapse_edu.gaussian import simulate_gaussian

    with pytest.raises(ValueError, match="real_fraction is required with policy='fresh-real'"):
        simulate_gaussian(policy="fresh-real")


def test_simulate_gan_defaults_are_train_gans(capsys):
    """`simulate gan` without options trains the GAN of lesson 07: train_gan's own defaults, and its
    help names the packing degree pacgan uses (before: 3000 steps, 2 discriminator updates, "packing 2")."""
    import inspect

    from collapse_edu.gan import train_gan

    default = {name: param.default for name, param in inspect.signature(train_gan).parameters.items()}
    args = cli.build_parser().parse_args(["simulate", "gan"])
    for option in ("target", "method", "width", "lr_g", "lr_d", "steps", "d_steps"):
        assert getattr(args, option) == default[option], option
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["simulate", "gan", "--help"])
    assert f"packing {default['pack']} samples" in " ".join(capsys.readouterr().out.split())


def test_interrupt_is_one_line(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_list", interrupted)
    status, _, err = run_cli(capsys, "list")
    assert status == 130 and err == "collapse-edu: interrupted\n"


@pytest.mark.parametrize("form", [["--port", "8899"], ["--port=8899"]])
def test_lab_passes_options_through_in_both_forms(capsys, tmp_path, lab_command, form):
    """Before: `lab --port 8899` reached JupyterLab as `... 8899 --port` ("expected one argument")."""
    lessons = mini_lessons(tmp_path / "lessons")
    status, _, _ = run_cli(capsys, "--lessons", str(lessons), "lab", *form, "--no-browser")
    command = lab_command["command"]
    assert status == 0 and command[5 : 5 + len(form) + 1] == [*form, "--no-browser"]
    from jupyterlab.labapp import LabApp

    app = LabApp()
    app.parse_command_line([c for c in command[3:] if c != "--allow-root"])
    assert app.config.ServerApp.port == 8899
    status, _, _ = run_cli(capsys, "lab", "--lessons", str(lessons), *form)  # --lessons after lab is ours
    assert status == 0 and f"--ServerApp.root_dir={lessons.resolve()}" in lab_command["command"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "source, raised",
    [
        ("1 / 0", "ZeroDivisionError: division by zero"),
        ('raise ValueError("boom\\nsecond line")', "ValueError: boom second line"),  # a message of two lines
    ],
)
def test_a_failing_lesson_is_one_line_with_status_1(capsys, tmp_path, source, raised):
    lessons = mini_lessons(tmp_path / "lessons")
    notebook = nbformat.read(lessons / "98_mini_lesson.ipynb", as_version=4)
    notebook.cells[1].source = source
    nbformat.write(notebook, lessons / "98_mini_lesson.ipynb")
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "run", "98", "--out", str(tmp_path / "out"))
    assert status == 1 and out == ""
    assert err == f"collapse-edu: error: 98_mini_lesson.ipynb: cell 2 raised {raised}\n"


# --------------------------------------------------------------------------- what a review of the CLI found


def test_no_output_folder_below_the_master_lessons(capsys, tmp_path, no_kernel):
    """Before: `run 01 --out lessons/student` overwrote a published student notebook with its solutions."""
    lessons = mini_lessons(tmp_path / "lessons")
    for argv in (
        ["run", "98", "--out", str(lessons / "student")],
        ["export", "--no-execute", "--out", str(lessons / "student")],
        ["slides", "98", "--out", str(lessons / "sub" / "deck")],
        ["student", "--out", str(lessons / "student")],
    ):
        status, out, err = run_cli(capsys, "--lessons", str(lessons), *argv, "--force")
        assert status == 2 and out == "" and "which holds the master lessons" in err, (argv, err)
        assert err.count("\n") == 1
    assert no_kernel == [] and sorted(p.name for p in lessons.iterdir()) == [
        "98_mini_lesson.ipynb",
        "99_another_one.ipynb",
    ]


def test_monitor_and_simulate_write_no_file_into_the_master_lessons(capsys, tmp_path, monkeypatch):
    """Before: `monitor ... --html lessons/student/01_....ipynb` overwrote a published student notebook (it carries
    the tool's marker, so no --force was needed), `--force --html lessons/x.html` wrote among the master lessons,
    and `simulate gaussian --plot lessons/x.png` left a stray figure there."""
    lessons = mini_lessons(tmp_path / "lessons")
    (lessons / "student").mkdir()
    published = lessons / "student" / "98_mini_lesson.ipynb"
    published.write_text('{"made by": "collapse-edu"}')
    monkeypatch.chdir(tmp_path)
    rows = "x,y\n" + "".join(f"{i},{i * i % 7}\n" for i in range(40))
    for name in ("reference.csv", "candidate.csv"):
        (tmp_path / name).write_text(rows)
    for argv in (
        ["monitor", "reference.csv", "candidate.csv", "--html", str(published)],
        ["monitor", "reference.csv", "candidate.csv", "--html", str(lessons / "report.html"), "--force"],
        ["monitor", "reference.csv", "candidate.csv", "--plot", str(lessons / "report.png")],
        ["simulate", "gaussian", "--generations", "2", "--plot", str(lessons / "x.png")],
        ["simulate", "gaussian", "--generations", "2", "--plot", str(lessons / "student" / "x.png"), "--force"],
    ):
        status, out, err = run_cli(capsys, "--lessons", str(lessons), *argv)
        assert status == 2 and out == "" and "holds the master lessons" in err, (argv, err)
        assert err.count("\n") == 1
    assert published.read_text() == '{"made by": "collapse-edu"}'
    assert sorted(p.name for p in lessons.rglob("*")) == sorted(
        ["98_mini_lesson.ipynb", "99_another_one.ipynb", "student", "98_mini_lesson.ipynb"]
    )
    status, out, err = run_cli(capsys, "monitor", "reference.csv", "candidate.csv", "--html", "report.html")
    assert status == 0 and (tmp_path / "report.html").is_file(), err  # anywhere else, as before


def test_a_file_that_only_mentions_the_course_is_not_taken_for_ours(capsys, tmp_path):
    """Before: a figure or page whose text held "collapse-edu" counted as written by the tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from collapse_edu.outputs import HTML_MARKER, save_figure, written_by_tool

    notes = tmp_path / "notes.svg"
    notes.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>My lecture notes on collapse-edu</text></svg>')
    figure = plt.figure()
    figure.savefig(tmp_path / "shot.png", metadata={"Title": "screenshot of collapse-edu lesson"})
    quoted = tmp_path / "quoted.html"
    quoted.write_text(f"<!doctype html>\n<html><body><p>The tool marks its pages with</p>\n<pre>{HTML_MARKER}</pre>")
    for path in (notes, tmp_path / "shot.png", quoted):
        assert not written_by_tool(path), path
    for suffix in ("png", "svg", "svgz", "pdf", "eps"):  # and its own figures still are
        assert written_by_tool(save_figure(figure, tmp_path / f"ours.{suffix}")), suffix
    import gzip  # a gzipped SVG of someone else's is not ours

    (tmp_path / "notes.svgz").write_bytes(gzip.compress(notes.read_bytes()))
    assert not written_by_tool(tmp_path / "notes.svgz")
    plt.close(figure)
    reference = tmp_path / "ref.csv"
    np.savetxt(reference, np.random.default_rng(0).normal(size=(60, 2)), delimiter=",")
    before = notes.read_bytes()
    status, _, err = run_cli(capsys, "monitor", str(reference), str(reference), "--plot", str(notes))
    assert status == 2 and "did not write" in err and notes.read_bytes() == before


def test_a_learners_edits_and_copies_are_theirs(capsys, tmp_path):
    """Before: a rebuild replaced an edited student notebook, and --publish deleted a learner's copy."""
    lessons = mini_lessons(tmp_path / "lessons")
    out = tmp_path / "student"
    assert run_cli(capsys, "--lessons", str(lessons), "student", "--out", str(out))[0] == 0
    assert run_cli(capsys, "--lessons", str(lessons), "student", "--out", str(out))[0] == 0  # its own: replaced
    edited = out / "98_mini_lesson.ipynb"
    notebook = nbformat.read(edited, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("my_answer = 42"))
    nbformat.write(notebook, edited)
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "student", "--out", str(out))
    assert status == 2 and f"did not write: {edited}" in err and "my_answer" in edited.read_text()
    published = lessons / "student"
    assert run_cli(capsys, "--lessons", str(lessons), "student", "--publish")[0] == 0
    copy = published / "98_mini_lesson - my attempt.ipynb"
    copy.write_bytes((published / "98_mini_lesson.ipynb").read_bytes())  # an untouched copy under another name
    status, out_text, _ = run_cli(capsys, "--lessons", str(lessons), "student", "--publish")
    assert status == 0 and copy.exists() and "left 1 notebooks collapse-edu did not write" in out_text


def test_lab_copy_only_never_deletes_outside_its_folder_or_an_edited_offer(tmp_path):
    """Before: a manifest naming ../victim.txt made `lab --copy-only` delete it; an edited offered copy was
    overwritten on the next sync."""
    from collapse_edu.course import MANIFEST, sha256, sync_course

    folder = tmp_path / "course"
    sync_course(folder)
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"]["../victim.txt"] = {"sha256": sha256(victim), "version": "0"}
    manifest["files"][str(victim)] = {"sha256": sha256(victim), "version": "0"}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    report = sync_course(folder)
    assert victim.read_text() == "mine" and not report.removed
    lesson = next(iter(sorted((folder / "lessons").glob("0*.ipynb"))))
    lesson.write_text(lesson.read_text() + " ")  # the learner's change
    manifest = json.loads((folder / MANIFEST).read_text())
    rel = lesson.relative_to(folder).as_posix()
    manifest["files"][rel]["sha256"] = "0" * 64  # as if the course had moved on since
    (folder / MANIFEST).write_text(json.dumps(manifest))
    (offered,) = [folder / new for old, new in sync_course(folder).kept if old == rel]
    offered.write_text(offered.read_text() + "# my notes")  # the learner works in the offered copy
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][rel]["sha256"] = "0" * 64
    (folder / MANIFEST).write_text(json.dumps(manifest))
    sync_course(folder)
    assert offered.read_text().endswith("# my notes")


def test_unexpected_errors_and_multi_line_messages_are_one_line(capsys, tmp_path):
    """Before: numeric overflow and pgf (which needs LaTeX) ended in tracebacks."""
    status, _, err = run_cli(capsys, "simulate", "categorical", "--generations", "2", "--runs", "2", "--n", str(10**20))
    assert status in (1, 2) and err.count("\n") == 1 and "Traceback" not in err
    status, _, err = run_cli(capsys, "simulate", "gaussian", "--generations", "2", "--plot", str(tmp_path / "x.pgf"))
    assert status == 2 and "cannot save a figure as .pgf" in err and err.count("\n") == 1
    status, _, err = run_cli(capsys, "monitor", str(tmp_path / "missing.csv"), str(tmp_path / "other.csv"))
    assert status == 2 and "no such file or folder" in err
    np.savez(tmp_path / "ref.npz", a=np.zeros(3))
    status, _, err = run_cli(capsys, "monitor", str(tmp_path / "ref.npz"), str(tmp_path / "ref.npz"))
    assert status == 2 and "save it as one of those first" in err


def test_two_lessons_with_one_number_are_ambiguous(capsys, tmp_path):
    """Before: `slides 98` silently took the first of 98_a and 98_b."""
    lessons = mini_lessons(tmp_path / "lessons")
    (lessons / "98_mini_lesson_copy.ipynb").write_bytes((lessons / "98_mini_lesson.ipynb").read_bytes())
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "slides", "98", "--out", str(tmp_path / "deck"))
    assert status == 2 and "lesson '98' is ambiguous: 98_mini_lesson.ipynb, 98_mini_lesson_copy.ipynb" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--lessons", "", "list"],
        ["simulate", "gaussian", "--plot", ""],
        ["monitor", "a.csv", "b.csv", "--html", " "],
        ["run", "98", "--out", ""],
        ["lab", "--dir", "", "--copy-only"],
    ],
)
def test_an_empty_path_is_refused_not_replaced_by_the_default(capsys, argv):
    """Before: `--plot ""` silently drew nothing and `--lessons ""` silently used the default folder."""
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == "" and "must name a file or folder, got an empty string" in err


@pytest.mark.parametrize("family", ["gaussian", "categorical", "ngram", "transformer", "mixture", "regression", "gan",
                                    "continual"])  # fmt: skip
def test_every_simulation_checks_its_plot_before_it_runs(capsys, tmp_path, family, monkeypatch):
    """Before: `simulate transformer --plot x.png` wrote over a figure collapse-edu had not made."""
    picture = tmp_path / "x.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n a lecturer's picture")
    monkeypatch.setattr(cli_simulate_module(), "emit", lambda *a: pytest.fail("the simulation ran"))
    status, _, err = run_cli(capsys, "simulate", family, "--plot", str(picture))
    assert status == 2 and "did not write" in err and picture.read_bytes().endswith(b"a lecturer's picture")


def cli_simulate_module():
    from collapse_edu import cli_simulate

    return cli_simulate


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "gan", "--seed", str(10**23)], "--seed must be <= 4611686018427387904"),
        (["simulate", "continual", "--seed", str(10**23)], "--seed must be <= 4611686018427387904"),
        (["simulate", "gaussian", "--n", str(10**20)], "--n must be <= 9007199254740992"),
        (["simulate", "transformer", "--temperature", "1e-50"], "--temperature must be >= 1e-06"),
        (["simulate", "continual", "--lr", "1e308"], "--lr must be <= 1.0"),
    ],
)
def test_values_beyond_what_the_arithmetic_holds_are_refused_by_name(capsys, argv, message):
    """Before: overflow or NaN tracebacks from torch and numpy."""
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and out == "" and message in err and err.count("\n") == 1


def test_ngram_theory_follows_a_smaller_n(capsys):
    """With --n below the corpus's sentence count, generation 1 sees only a share of the real text, and
    the theory column says so (before, it ignored --n and stayed at the whole text's vocabulary)."""
    argv = ["simulate", "ngram", "--json", "--generations", "3", "--runs", "4", "--n", "200", "--eval-sentences", "20"]
    status, out, _ = run_cli(capsys, *argv)
    assert status == 0
    rows = json.loads(out)["generations"]
    observed = np.array([row["vocabulary"] for row in rows])
    theory = np.array([row["theory_vocabulary"] for row in rows])
    assert theory[0] == observed[0] and theory[1] < 0.5 * theory[0]
    assert np.all(np.abs(observed[1:] / theory[1:] - 1) < 0.07), (observed, theory)


def test_student_copies_never_land_in_dot_lessons(capsys, tmp_path, monkeypatch):
    """./lessons is where every command looks for the course first: student copies written there would be
    run, listed and copied as the lessons themselves."""
    lessons = mini_lessons(tmp_path / "course")
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "student", "--out", "lessons")
    assert status == 2 and out == "" and not (tmp_path / "lessons").exists()
    assert err.startswith("collapse-edu: error: student would write into ./lessons") and err.count("\n") == 1


def test_python_names_in_messages_become_options():
    from collapse_edu.cli_simulate import option_names

    options = ["held_out", "ridge", "order", "real_fraction"]
    assert option_names("held_out > 0 needs 2 documents; use held_out=0", options) == (
        "--held-out > 0 needs 2 documents; use --held-out 0"
    )
    assert option_names("(or set ridge > 0)", options) == "(or set --ridge > 0)"
    assert option_names("real_fraction must be in [0, 1]", options) == "--real-fraction must be in [0, 1]"
    assert option_names("vocab_size ** order < 2 ** 63", options) == "vocab_size ** order < 2 ** 63"  # no rule


def test_a_reader_that_stops_early_is_no_error():
    """``collapse-edu simulate ... | head -1``: the pipe closes while rows are still coming (400 kB, more
    than a pipe holds); before, this ended in "collapse-edu: error: Broken pipe" and status 2."""
    argv = [sys.executable, "-m", "collapse_edu.cli", "simulate", "gaussian", "--generations", "2000", "--runs", "3"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().split()[0] == b"generation"
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and b"error" not in err.lower() and b"Traceback" not in err  # progress bar only


def test_zipf_exponent_is_refused_for_a_uniform_start(capsys):
    status, out, err = run_cli(capsys, "simulate", "categorical", "--distribution", "uniform", "--zipf-exponent", "3")
    assert status == 2 and out == ""
    assert err == (
        "collapse-edu: error: --zipf-exponent is only used with --distribution zipf, got --distribution uniform\n"
    )
    status, out, _ = run_cli(capsys, "simulate", "categorical", "--generations", "2", "--json")
    assert status == 0 and json.loads(out)["parameters"]["zipf_exponent"] == 1.0  # the default, when not given


def test_a_notebook_without_cell_ids_runs_without_warnings(tmp_path):
    """nbformat adds the missing ids; its multi-line MissingIDFieldWarning no longer lands on the terminal."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "print(6 * 7)"}
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "noid.ipynb").write_text(json.dumps(notebook))
    argv = [sys.executable, "-m", "collapse_edu.cli", "run", "noid.ipynb", "--out", "out"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "42" in (tmp_path / "out" / "noid.ipynb").read_text()


def test_progress_bars_only_for_a_terminal(capsys, monkeypatch):
    """A bar on a file or pipe would fill a log with carriage-return frames; on a terminal it shows."""
    from collapse_edu.cli_simulate import show_progress

    status, _, err = run_cli(capsys, "simulate", "ngram", "--generations", "3", "--n", "200")
    assert status == 0 and "\r" not in err and "it/s" not in err
    shown = argparse.Namespace(json=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert show_progress(shown) and not show_progress(argparse.Namespace(json=True))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not show_progress(shown)


# --------------------------------------------------------------------------- the CLI's writes: links, the package


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_no_command_writes_into_the_package(capsys, tmp_path, no_kernel, monkeypatch):
    """Before: every command but `lab` wrote into the collapse_edu package (`run 01 --out collapse_edu`,
    `simulate ... --plot collapse_edu/fig.png`, ...), also through a link to it."""
    import collapse_edu

    package = Path(collapse_edu.__file__).resolve().parent
    before = sorted(p.name for p in package.iterdir())
    lessons = mini_lessons(tmp_path / "lessons")
    (tmp_path / "pk").symlink_to(package)
    monkeypatch.chdir(tmp_path)
    rows = "x,y\n" + "".join(f"{i},{i * i % 7}\n" for i in range(40))
    (tmp_path / "a.csv").write_text(rows)
    (tmp_path / "b.csv").write_text(rows)
    for argv in (
        ["run", "98", "--out", str(package)],
        ["run", "98", "--out", str(tmp_path / "pk")],
        ["slides", "98", "--out", str(package / "deck")],
        ["student", "--out", str(package / "x")],
        ["student", "--nbgrader", str(package / "nbg")],
        ["export", "--no-execute", "--out", str(package / "site")],
        ["simulate", "gaussian", "--generations", "2", "--plot", str(package / "fig.png")],
        ["monitor", "a.csv", "b.csv", "--html", str(tmp_path / "pk" / "r.html")],
    ):
        status, out, err = run_cli(capsys, "--lessons", str(lessons), *argv, "--force")
        assert status == 2 and out == "" and "the collapse_edu package's own files" in err, (argv, err)
        assert err.count("\n") == 1
    assert sorted(p.name for p in package.iterdir()) == before and no_kernel == []


def test_an_output_file_that_is_a_link_into_the_lessons_is_refused(capsys, tmp_path, no_kernel):
    """Before: `student --out DIR` wrote through DIR/98_....ipynb when it linked to a published student notebook
    (which carries the tool's marker, so without --force), and `run`, `slides` and `export` did the same with
    --force; only the output folder itself was checked."""
    lessons = mini_lessons(tmp_path / "lessons")
    (lessons / "student").mkdir()
    published = lessons / "student" / "98_mini_lesson.ipynb"
    published.write_text("{}")
    masters = _tree(lessons)
    for argv, name, target in (
        (["student"], "98_mini_lesson.ipynb", published),
        (["run", "98"], "98_mini_lesson.ipynb", lessons / "99_another_one.ipynb"),
        (["slides", "98"], "98_mini_lesson.slides.html", published),
        (["export", "--no-execute"], "index.html", published),
    ):
        out_folder = tmp_path / f"out_{argv[0]}"
        out_folder.mkdir()
        (out_folder / name).symlink_to(target)
        status, out, err = run_cli(capsys, "--lessons", str(lessons), *argv, "--out", str(out_folder), "--force")
        assert status == 2 and "leads into" in err and "the master lessons" in err, (argv, err)
    assert _tree(lessons) == masters and no_kernel == []


def test_nbgrader_and_publish_do_not_follow_links_into_the_lessons(capsys, tmp_path):
    """Before: `student --nbgrader DIR` wrote into lessons/ through DIR/source linked there, and `student --publish`
    on a folder whose student/ linked to another course's lessons/student deleted all ten of them ("removed 10
    student notebooks whose lesson is gone"); `--lessons lessons/student student --publish` wrote
    lessons/student/student/."""
    lessons = mini_lessons(tmp_path / "lessons")
    status, _, err = run_cli(capsys, "--lessons", str(lessons), "student", "--publish")
    assert status == 0, err
    masters = _tree(lessons)
    (tmp_path / "nbg").mkdir()
    (tmp_path / "nbg" / "source").symlink_to(lessons)
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "student", "--nbgrader", str(tmp_path / "nbg"))
    assert status == 2 and "the master lessons" in err, err
    other = mini_lessons(tmp_path / "other")
    (other / "99_another_one.ipynb").unlink()
    (other / "student").symlink_to(lessons / "student")
    status, out, err = run_cli(capsys, "--lessons", str(other), "student", "--publish")
    assert status == 2 and "leads into other lessons" in err, err
    status, out, err = run_cli(capsys, "--lessons", str(lessons / "student"), "student", "--publish")
    assert status == 2 and "leads into other lessons" in err, err
    assert _tree(lessons) == masters


def test_slides_never_removes_a_mathjax_folder_it_did_not_write(capsys, tmp_path, monkeypatch):
    """Before: `slides 00 --out DIR --force` ran rmtree on a DIR/mathjax/ of someone else's (notes.txt gone)."""
    from collapse_edu import slides

    source = tmp_path / "mj"
    (source / "jax").mkdir(parents=True)
    (source / "MathJax.js").write_text("//")
    monkeypatch.setattr(slides, "mathjax_folder", lambda: source)
    lessons = mini_lessons(tmp_path / "lessons")
    deck = tmp_path / "deck"
    (deck / "mathjax").mkdir(parents=True)
    (deck / "mathjax" / "notes.txt").write_text("mine")
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "slides", "98", "--out", str(deck), "--force")
    assert status == 2 and "not replaced, not even with --force" in err, err
    assert (deck / "mathjax" / "notes.txt").read_text() == "mine"
    other = tmp_path / "deck2"
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "slides", "98", "--out", str(other))
    assert status == 0, err
    assert (other / "mathjax" / slides.MATHJAX_MARKER).read_text().strip() == str(source)


def test_run_inplace_rewrites_only_a_lesson_of_the_course(capsys, tmp_path, no_kernel):
    """Before: `run PATH --inplace` executed and rewrote any notebook at all, without --force."""
    lessons = mini_lessons(tmp_path / "lessons")
    foreign = tmp_path / "mine" / "01_mine.ipynb"
    foreign.parent.mkdir()
    foreign.write_bytes((lessons / "98_mini_lesson.ipynb").read_bytes())
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "run", str(foreign), "--inplace")
    assert status == 2 and "is not one (use --out DIR, or add --force" in err, err
    assert no_kernel == []
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "run", "98", "--inplace")
    assert status == 0 and len(no_kernel) == 1, err  # a lesson of the lessons folder in use: as before


def test_a_notebook_that_breaks_the_format_is_named_in_one_line(capsys, tmp_path):
    """Before: a markdown cell whose source was a number gave "AttributeError: 'int' object has no attribute
    'splitlines' (unexpected...)", exit status 1, in list, run and slides."""
    lessons = mini_lessons(tmp_path / "lessons")
    broken = json.loads((lessons / "98_mini_lesson.ipynb").read_text())
    broken["cells"][0]["source"] = 7
    (lessons / "98_mini_lesson.ipynb").write_text(json.dumps(broken))
    for argv in (["list"], ["run", "98", "--out", str(tmp_path / "o")], ["slides", "98", "--out", str(tmp_path / "s")]):
        status, out, err = run_cli(capsys, "--lessons", str(lessons), *argv)
        assert status == 2 and "not a readable Jupyter notebook (cell 1 has no text as its source)" in err, err
        assert err.count("\n") == 1


def test_ctrl_c_while_a_lesson_runs_is_one_line_and_status_130(tmp_path):
    """Before: Ctrl-C a few seconds into `run 01` printed a traceback ending in asyncio's CancelledError, or
    "error: AssertionError", both with status 1."""
    import signal
    import subprocess
    import sys
    import time

    lessons = mini_lessons(tmp_path / "lessons")
    slow = nbformat.read(lessons / "98_mini_lesson.ipynb", as_version=4)
    slow.cells[1].source = "import time\nfor _ in range(600):\n    time.sleep(0.1)"
    nbformat.write(slow, lessons / "98_mini_lesson.ipynb")
    command = [
        sys.executable,
        "-m",
        "collapse_edu",
        "--lessons",
        str(lessons),
        "run",
        "98",
        "--out",
        str(tmp_path / "o"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)  # the kernel is up and running the cell
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err == "collapse-edu: interrupted\n", (process.returncode, err[-500:])


def test_lessons_may_follow_the_command(capsys, tmp_path):
    """Before: `list --lessons DIR` gave "unrecognized arguments: --lessons DIR" (only lab took it there)."""
    lessons = mini_lessons(tmp_path / "lessons")
    for argv in (
        ["list", "--lessons", str(lessons)],
        ["list", f"--lessons={lessons}"],
        ["--lessons", str(lessons), "list"],
    ):
        status, out, err = run_cli(capsys, *argv)
        assert status == 0 and out.startswith("98    5 min  98 · Mini lesson"), (argv, out, err)


def test_a_folder_named_like_a_notebook_is_said_to_be_a_folder(capsys, tmp_path):
    """Before: `run DIR/01_x.ipynb` on a folder of that name said "no such notebook"."""
    lessons = mini_lessons(tmp_path / "lessons")
    (tmp_path / "01_x.ipynb").mkdir()
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "run", str(tmp_path / "01_x.ipynb"))
    assert status == 2 and "is a folder, not a notebook file" in err, err


def test_an_output_folder_that_takes_no_files_is_refused_before_the_lesson_runs(capsys, tmp_path, no_kernel):
    """Before: `run 01 --out /proc` (as root, whom the permission bits let write anywhere) executed the whole
    lesson and only then failed with "No such file or directory"."""
    lessons = mini_lessons(tmp_path / "lessons")
    status, out, err = run_cli(capsys, "--lessons", str(lessons), "run", "98", "--out", "/proc")
    assert status == 2 and "cannot write into /proc" in err and no_kernel == [], err


def test_run_inplace_on_the_exercises_of_a_learners_copy(capsys, tmp_path, no_kernel, monkeypatch):
    """A learner's copy (made by lab) keeps its exercises in lessons/student/: --inplace runs them there, as
    it did before it was limited to the course's lessons folders."""
    from collapse_edu.course import MANIFEST

    copy = tmp_path / "collapse-edu-course"
    lessons = mini_lessons(copy / "lessons")
    mini_lessons(lessons / "student")
    (copy / MANIFEST).write_text('{"written_by": "collapse-edu", "files": {}}')
    monkeypatch.chdir(copy)
    status, out, err = run_cli(capsys, "run", "lessons/student/98_mini_lesson.ipynb", "--inplace")
    assert status == 0 and len(no_kernel) == 1, err
