"""Bad input never ends in a traceback, a silent wrong answer or a lost file (property tests).

* Command line: generated bad argument lists for every ``collapse-edu`` sub-command end with exit
  status 2 (1 only for a monitor that ran and flagged), one line on stderr, nothing on stdout, no
  traceback, and no file created or changed. They run in-process (``cli.main``) for speed, with
  the notebook execution replaced by a stub (a bad command must be refused before anything runs),
  plus a few real subprocess calls.
* API: every public simulation function (and the closed forms) fed one bad value raises a
  ``ValueError`` or ``TypeError`` (``FileNotFoundError`` for a missing file) whose one-line message
  names the argument.

``python tests/test_bad_input.py [examples]`` counts, without stopping at the first failure, how
many generated bad inputs misbehave (the number quoted in the issue notes).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import nbformat
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collapse_edu import cli, lessons

# --------------------------------------------------------------------------- a small world of files


def _notebook(title: str, code: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(f"# {title}"), nbformat.v4.new_code_cell(code)],
        metadata={"kernelspec": lessons.KERNELSPEC, "collapse_edu": {"minutes": 5}},
    )


def make_world(root: Path) -> Path:
    """Lessons, broken lessons, data files and folders holding files the tool did not write."""
    root.mkdir(parents=True, exist_ok=True)
    master = root / "lessons"
    master.mkdir()
    exercise = "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION"
    nbformat.write(_notebook("98 · Mini", exercise), master / "98_mini.ipynb")
    nbformat.write(_notebook("99 · Other", "print(1)"), master / "99_other.ipynb")
    for name, text in (("broken", '{"a": 1}'), ("nonjson", "not json at all")):
        folder = root / name
        folder.mkdir()
        nbformat.write(_notebook("98 · Mini", "x = 1"), folder / "98_mini.ipynb")
        (folder / "97_bad.ipynb").write_text(text)
    foreign = root / "foreign"  # same names as the tool's outputs, written by someone else
    foreign.mkdir()
    for name in ("98_mini.ipynb", "98_mini.html", "index.html", "figure.png", "report.html"):
        (foreign / name).write_text("a lecturer's own file\n")
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.savetxt(data / "ref.csv", rng.normal(size=(200, 2)), delimiter=",", header="x,y", comments="")
    np.savetxt(data / "cand.csv", rng.normal(size=(100, 2)), delimiter=",")
    np.savetxt(data / "three.csv", rng.normal(size=(100, 3)), delimiter=",")
    np.savetxt(data / "few.csv", rng.normal(size=(5, 2)), delimiter=",")
    np.save(data / "ref.npy", rng.normal(size=(200, 2)))
    np.save(data / "cube.npy", rng.normal(size=(4, 4, 4)))
    np.save(data / "words.npy", np.array(["a", "b"] * 50))
    (data / "ragged.csv").write_text("1,2\n3\n4,5\n" * 20)
    (data / "nan.csv").write_text("1,2\nnan,3\n" * 20)
    (data / "latin1.csv").write_bytes("1,2\ncafé,3\n".encode("latin-1") * 20)
    (data / "latin1.txt").write_bytes("café au lait. ".encode("latin-1") * 200)
    (data / "binary.bin").write_bytes(b"\x00\x01\x02" * 100)
    (data / "empty.txt").write_text("")
    (data / "text.txt").write_text(" ".join(f"Word{i % 97} said the model number {i}." for i in range(600)))
    (data / "short.txt").write_text("Too short.")
    (data / "corpus.txt").write_text(
        "\n\n".join(f"Paragraph {p} tells a story. The story has words {p % 7} and more." for p in range(40))
    )
    texts = data / "texts"  # a text corpus given as a folder
    texts.mkdir()
    (texts / "a.txt").write_text((data / "text.txt").read_text())
    (root / "empty_dir").mkdir()
    (root / "cwd").mkdir()
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _fake_execute(path: Path, *, timeout: int = 600):
    """Stands in for running a kernel: a bad command must be refused before anything runs."""
    return nbformat.read(path, as_version=4), 0.01, None


@contextlib.contextmanager
def in_world(root: Path):
    """cwd in the world, notebook execution and JupyterLab stubbed, output captured."""
    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(root / "cwd")
    try:
        with (
            mock.patch.object(lessons, "execute_notebook", _fake_execute),
            mock.patch.object(cli.subprocess, "call", lambda command, cwd=None: 0),
            mock.patch.dict(os.environ, {"COLLAPSE_EDU_LESSONS": str(root / "lessons")}),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            yield out, err
    finally:
        os.chdir(before)


class TooSlow(Exception):
    """A bad input was not refused at once (it started a long computation)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`TooSlow` in the main thread after ``seconds`` (a refusal takes milliseconds)."""
    import signal

    def stop(*_):
        raise TooSlow(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli_problem(root: Path, argv: list[str], allowed: frozenset[int] = frozenset({2})) -> str | None:
    """What is wrong with how ``collapse-edu argv`` treated a bad command line (None: nothing)."""
    before = snapshot(root)
    escaped = None
    with in_world(root) as (out, err):
        try:
            with time_limit(20):
                status = cli.main(argv)
        except SystemExit as stop:
            status = stop.code
        except BaseException as error:  # noqa: BLE001 - the point is to see what escapes
            escaped, status = error, None
    stdout, stderr = out.getvalue(), err.getvalue()
    after = snapshot(root)
    if escaped is not None:
        return f"{type(escaped).__name__} escaped: {str(escaped)[:120]}"
    problems = []
    if status not in allowed:
        problems.append(f"exit status {status}")
    if "Traceback" in stderr + stdout:
        problems.append("traceback")
    if status == 1 and "overall: FLAG" not in stdout:
        problems.append("exit status 1 without a flagged report")
    lines = stderr.splitlines()
    if status != 1 and (len(lines) != 1 or not stderr.endswith("\n") or not lines[0].startswith("collapse-edu")):
        problems.append(f"stderr is not one collapse-edu line: {stderr[:200]!r}")
    if status == 2 and stdout:
        problems.append(f"stdout not empty: {stdout[:80]!r}")
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        problems.append(f"files created or changed: {changed[:5]}")
    return "; ".join(problems) or None


# --------------------------------------------------------------------------- bad command lines

NOT_A_NUMBER = st.sampled_from(["x", "", "1,5", "ten", "0x10", "--"])
BAD_FLOAT_TEXT = st.sampled_from(["nan", "inf", "-inf", "NaN", "x", ""])


def ints(*values: int, below: int | None = None, huge: bool = False) -> st.SearchStrategy[str]:
    """Bad integer options as text: the given values, anything below ``below``, non-integers."""
    options = [NOT_A_NUMBER, st.sampled_from(["1.5", "2e3"])]
    if values:
        options.append(st.sampled_from([str(v) for v in values]))
    if below is not None:
        options.append(st.integers(max_value=below - 1).map(str))
    if huge:
        options.append(st.integers(10**13, 10**18).map(str))
    return st.one_of(options)


def floats(*values: float, below: float | None = None, above: float | None = None) -> st.SearchStrategy[str]:
    options = [BAD_FLOAT_TEXT]
    if values:
        options.append(st.sampled_from([repr(v) for v in values]))
    if below is not None:
        options.append(st.floats(max_value=below, exclude_max=True, allow_nan=False, allow_infinity=False).map(repr))
    if above is not None:
        options.append(st.floats(min_value=above, exclude_min=True, allow_nan=False, allow_infinity=False).map(repr))
    return st.one_of(options)


def choice_text(valid: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.text(alphabet="abcdefgh-_XYZ0123", min_size=1, max_size=10).filter(lambda s: s not in valid)


POLICY = choice_text(("replace", "accumulate", "accumulate-subsample", "fresh-real"))
FRACTION = floats(below=0.0, above=1.0)
SEED = ints(below=0)

#: Paths a file option must refuse: missing folder, a file used as folder, a folder, too long a name.
BAD_PLOT = st.sampled_from(
    ["{root}/missing/x.png", "{root}/data/ref.csv/x.png", "{root}/empty_dir", "x" * 300 + ".png", "{root}/x.v2"]
)

#: per simulate family: small valid options, then {option: bad values}
FAMILIES: dict[str, tuple[list[str], dict[str, st.SearchStrategy[str]]]] = {
    "gaussian": (
        ["--n", "10", "--generations", "2", "--runs", "3"],
        {
            "--n": ints(below=2),
            "--generations": ints(below=0, huge=True),
            "--runs": ints(below=1, huge=True),
            "--ddof": st.sampled_from(["2", "-1", "x"]),
            "--policy": POLICY,
            "--seed": SEED,
        },
    ),
    "categorical": (
        ["--categories", "5", "--n", "20", "--generations", "2", "--runs", "3"],
        {
            "--categories": ints(below=1, huge=True),
            "--distribution": choice_text(("uniform", "zipf")),
            "--zipf-exponent": floats(below=0.0),
            "--n": ints(below=1),
            "--generations": ints(below=0, huge=True),
            "--runs": ints(below=1, huge=True),
            "--policy": POLICY,
            "--seed": SEED,
        },
    ),
    "ngram": (
        ["--corpus", "{root}/data/corpus.txt", "--generations", "1", "--eval-sentences", "5"],
        {
            "--order": ints(40, below=1),
            "--generations": ints(below=0, huge=True),
            "--runs": ints(below=1, huge=True),
            "--n": ints(10**6, below=1),
            "--corpus": st.sampled_from(
                ["{root}/missing.txt", "{root}/data/binary.bin", "{root}/data/empty.txt", "{root}/data/latin1.txt"]
                + ["{root}/empty_dir", "y" * 300]
            ),
            "--held-out": floats(0.95, below=0.0),
            "--temperature": floats(0.0, below=0.0),
            "--top-k": ints(below=1),
            "--eval-sentences": ints(below=1, huge=True),
            "--policy": POLICY,
            "--seed": SEED,
        },
    ),
    "mixture": (
        ["--n", "50", "--generations", "2"],
        {
            "--n": ints(below=2, huge=True),
            "--generations": ints(below=0, huge=True),
            "--runs": ints(below=1, huge=True),
            "--components": ints(below=1, huge=True),
            "--separation": floats(below=0.0, above=1e4),
            "--max-iter": ints(below=1),
            "--seed": SEED,
        },
    ),
    "regression": (
        ["--dim", "2", "--samples", "10", "--generations", "2", "--runs", "3"],
        {
            "--dim": ints(10**7, below=1),
            "--samples": ints(1, 2, below=1, huge=True),
            "--generations": ints(below=0, huge=True),
            "--runs": ints(below=1, huge=True),
            "--noise": floats(below=0.0, above=1e6),
            "--ridge": floats(below=0.0),
            "--design": choice_text(("fixed", "fresh")),
            "--policy": POLICY,
            "--seed": SEED,
        },
    ),
    "gan": (
        ["--steps", "2", "--width", "4"],
        {
            "--target": choice_text(("ring", "grid")),
            "--method": choice_text(("vanilla", "pacgan")),
            "--width": ints(5000, below=1),
            "--lr-g": floats(2.0, below=0.0),
            "--lr-d": floats(0.0, 2.0),
            "--steps": ints(10**6, below=1),
            "--seed": SEED,
        },
    ),
    "continual": (
        ["--steps", "1", "--hidden", "4"],
        {
            "--method": choice_text(("finetune", "ewc", "replay", "joint")),
            "--scenario": choice_text(("task-incremental", "class-incremental")),
            "--ewc-lambda": floats(below=0.0),
            "--k": ints(below=0),
            "--hidden": ints(10**6, below=1),
            "--steps": ints(below=1),
            "--lr": floats(0.0, below=0.0),
            "--seed": SEED,
        },
    ),
}
POLICY_FAMILIES = ("gaussian", "categorical", "ngram", "regression")


@st.composite
def bad_simulate(draw) -> list[str]:
    family = draw(st.sampled_from(sorted(FAMILIES)))
    base, options = FAMILIES[family]
    argv = ["simulate", family, *base, "--json"]
    kinds = ["option", "plot", "unknown"] + (["fraction"] * 2 if family in POLICY_FAMILIES else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "option":
        option = draw(st.sampled_from(sorted(options)))
        return [*argv, option, draw(options[option])]
    if kind == "plot":
        return [*argv, "--plot", draw(BAD_PLOT)]
    if kind == "unknown":
        return [*argv, draw(st.sampled_from(["--bogus", "--n=", "extra", "-x"]))]
    case = draw(st.sampled_from(["missing", "range", "unused"]))
    if case == "missing":  # fresh-real needs a fraction
        return [*argv, "--policy", "fresh-real"]
    if case == "range":
        return [*argv, "--policy", "fresh-real", "--real-fraction", draw(FRACTION)]
    policy = draw(st.sampled_from(["replace", "accumulate"]))
    return [*argv, "--policy", policy, "--real-fraction", draw(st.sampled_from(["0.5", "0", "1"]))]


LESSON_NAMES = ("98", "99", "098", "099", "98_mini", "99_other", "98_mini.ipynb", "99_other.ipynb")
BAD_LESSON = st.one_of(
    st.sampled_from(["1.5", "98.0", "9.8e1", "0", "100", "-1", "", "98x", " 98", "1e1", "٩٨", "97_bad", "../98"]),
    st.text(alphabet="0123456789._-abx ", max_size=8).filter(lambda s: s not in LESSON_NAMES),
)
BAD_LESSONS_DIR = st.sampled_from(["{root}/missing", "{root}/empty_dir", "{root}/data/ref.csv", "{root}/broken"])
BAD_LESSONS_DIR = st.one_of(BAD_LESSONS_DIR, st.just("{root}/nonjson"))
#: output folders that must be refused: the masters, a file, under a file, foreign files of the same name
BAD_OUT = st.sampled_from(["{root}/lessons", "{root}/data/ref.csv", "{root}/data/ref.csv/sub", "{root}/foreign"])
BAD_TIMEOUT = ints(86_401, below=1, huge=True)


@st.composite
def bad_lesson_command(draw) -> list[str]:
    command = draw(st.sampled_from(["list", "lab", "run", "student", "export"]))
    kind = draw(st.sampled_from(["lessons", "own"]))
    if kind == "lessons" or command in ("list", "lab"):
        prefix = ["--lessons", draw(BAD_LESSONS_DIR)]
        rest = {
            "list": ["list"],
            "lab": ["lab"],
            "run": ["run", "98", "--out", "{root}/cwd/out"],
            "student": ["student", "--out", "{root}/cwd/out"],
            "export": ["export", "--out", "{root}/cwd/out", "--no-execute"],
        }[command]
        if command == "list" and draw(st.booleans()):
            return ["list", draw(st.sampled_from(["extra", "--bogus"]))]
        return [*prefix, *rest]
    if command == "run":
        case = draw(st.sampled_from(["lesson", "timeout", "out", "out"]))
        if case == "lesson":
            return ["run", draw(BAD_LESSON), "--out", "{root}/cwd/out"]
        if case == "timeout":
            return ["run", "98", "--out", "{root}/cwd/out", "--timeout", draw(BAD_TIMEOUT)]
        return ["run", "98", "--out", draw(BAD_OUT)]
    if command == "student":
        out = draw(BAD_OUT)
        force = ["--force"] if out.endswith("lessons") and draw(st.booleans()) else []
        return ["student", "--out", out, *force] if draw(st.integers(0, 5)) else ["student"]
    case = draw(st.sampled_from(["out", "timeout"]))
    if case == "timeout":
        return ["export", "--out", "{root}/cwd/site", "--timeout", draw(BAD_TIMEOUT)]
    return ["export", "--out", draw(BAD_OUT), *draw(st.sampled_from([[], ["--no-execute"]]))]


DATA = "{root}/data/"
BAD_PAIRS = st.sampled_from(
    [
        ("missing.csv", "cand.csv"),
        ("ref.csv", "missing.csv"),
        ("ref.csv", "text.txt"),  # a table against text: refuse, do not compare as text
        ("text.txt", "ref.npy"),
        ("ref.csv", "three.csv"),
        ("ref.csv", "few.csv"),
        ("ref.csv", "ragged.csv"),
        ("ref.csv", "nan.csv"),
        ("ref.csv", "latin1.csv"),
        ("ref.npy", "cube.npy"),
        ("ref.npy", "words.npy"),
        ("text.txt", "binary.bin"),
        ("text.txt", "latin1.txt"),
        ("text.txt", "empty.txt"),
        ("text.txt", "short.txt"),
        ("text.txt", "../empty_dir"),
        ("ref.csv", "../empty_dir"),
    ]
)


@st.composite
def bad_monitor(draw) -> list[str]:
    kind = draw(st.sampled_from(["pair", "pair", "option", "html", "plot"]))
    good = [DATA + "ref.csv", DATA + "cand.csv"]
    if kind == "pair":
        reference, candidate = draw(BAD_PAIRS)
        if draw(st.integers(0, 9)) == 0:  # a report written into the reference folder would join the corpus
            return ["monitor", DATA + "texts", DATA + "text.txt", "--html", DATA + "texts/report.html"]
        if draw(st.integers(0, 9)) == 0:
            return ["monitor", DATA + "texts", DATA + "ref.csv", "--kind", "numeric"]
        return ["monitor", DATA + reference, DATA + candidate]
    if kind == "option":
        option, value = draw(
            st.one_of(
                st.tuples(st.just("--kind"), choice_text(("auto", "numeric", "text"))),
                st.tuples(st.just("--max-rows"), ints(below=10)),
                st.tuples(st.just("--max-tokens"), ints(below=100)),
                st.tuples(st.just("--fail-on"), choice_text(("flag", "warn", "never"))),
            )
        )
        return ["monitor", *good, option, value]
    target = draw(
        st.sampled_from(
            [DATA + "ref.csv", DATA + "cand.csv", "{root}/empty_dir", "{root}/missing/r.x", DATA + "ref.csv/r.x"]
            + ["{root}/foreign/report.html", "{root}/foreign/figure.png"]
        )
    )
    if target.endswith(".x"):
        target = target[:-2] + (".html" if kind == "html" else ".png")
    force = ["--force"] if "data/" in target and draw(st.booleans()) else []
    return ["monitor", *good, f"--{kind}", target, *force]


BAD_COMMANDS = st.one_of(bad_simulate(), bad_lesson_command(), bad_monitor())


def expand(argv: list[str], root: Path) -> list[str]:
    return [a.replace("{root}", str(root)) for a in argv]


def allowed_status(argv: list[str]) -> frozenset[int]:
    return frozenset({1, 2}) if "monitor" in argv else frozenset({2})


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return make_world(tmp_path_factory.mktemp("world"))


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(argv=BAD_COMMANDS)
def test_bad_command_lines_end_in_one_line_and_status_2(world, argv):
    argv = expand(argv, world)
    problem = cli_problem(world, argv, allowed_status(argv))
    assert problem is None, f"collapse-edu {' '.join(argv)}: {problem}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "gaussian", "--runs", "1000000000000"],
        ["monitor", DATA + "ref.csv", DATA + "cand.csv", "--html", DATA + "ref.csv"],
    ],
)
def test_bad_command_lines_in_a_real_process(world, argv):
    argv = expand(argv, world)
    before = snapshot(world)
    env = {**os.environ, "COLLAPSE_EDU_LESSONS": str(world / "lessons")}
    result = subprocess.run(
        [sys.executable, "-m", "collapse_edu.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=world / "cwd",
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("collapse-edu")
    assert snapshot(world) == before


# --------------------------------------------------------------------------- bad values for the API

WRONG_TYPE = st.sampled_from(["3", b"3", [3], {"x": 3}, object()])


def bad_int(minimum: int | None = None, maximum: int | None = None, *, huge: bool = False, none: bool = True):
    """Values an integer argument must refuse."""
    options = [WRONG_TYPE, st.sampled_from([1.5, float("nan"), float("inf"), True])]
    if none:
        options.append(st.none())
    if minimum is not None:
        options.append(st.integers(max_value=minimum - 1))
    if maximum is not None:
        options.append(st.integers(min_value=maximum + 1))
    if huge:
        options.append(st.integers(10**15, 10**18))
    return st.one_of(options)


def bad_float(minimum: float | None = None, maximum: float | None = None, *, strict: bool = False, none: bool = True):
    """Values a real argument must refuse (NaN and infinities always)."""
    options = [WRONG_TYPE, st.sampled_from([float("nan"), float("inf"), -float("inf")])]
    if none:
        options.append(st.none())
    finite = {"allow_nan": False, "allow_infinity": False}
    if minimum is not None:
        options.append(st.floats(max_value=minimum, exclude_max=not strict, **finite))
    if maximum is not None:
        options.append(st.floats(min_value=maximum, exclude_min=True, **finite))
    return st.one_of(options)


def bad_choice(valid: tuple[str, ...], *, none: bool = True):
    others = [None, 3, b"replace"] if none else [3, b"replace"]
    return st.one_of(st.text(max_size=12).filter(lambda s: s not in valid), st.sampled_from(others))


FRACTION_VALUES = bad_float(0.0, 1.0)
SEED_VALUES = st.one_of(st.integers(max_value=-1), st.sampled_from([1.5, "0", float("nan")]))
POLICY_VALUES = bad_choice(("replace", "accumulate", "accumulate-subsample", "fresh-real"))
BAD_T = st.one_of(
    st.integers(max_value=-1), st.sampled_from([float("nan"), -0.5, "3", [1, -2], np.array([0, -1]), None])
)
#: a recursion up to t must hold t values: refused (naming t) when they cannot fit in memory
BAD_STEPS = st.one_of(BAD_T, st.sampled_from([2.5, 10**15, [3, 10**16]]))


def _corpus():
    from collapse_edu.ngram import prepare_corpus

    text = "\n\n".join(f"Paragraph {p} tells a story. The story has words {p % 7} and more." for p in range(40))
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"collapse_edu_bad_input_corpus_{os.getpid()}.txt"
    path.write_text(text)
    try:
        return prepare_corpus(str(path), held_out=0.2)
    finally:
        path.unlink()


def _api_table() -> list[tuple[str, Callable, dict, dict]]:
    """(name, function, small valid keyword arguments, {argument: bad values})."""
    from collapse_edu import (
        capstone,
        categorical,
        continual,
        gan,
        gaussian,
        mixtures,
        ngram,
        regression,
        scaling,
        theory,
    )
    from collapse_edu.loop import ModelSource, run_generations

    family = gaussian.GaussianFast()
    truth = gaussian.GaussianModel(np.zeros(1), np.ones(1))
    loop_args = {"n": bad_int(1, huge=False), "generations": bad_int(0, huge=True), "runs": bad_int(1, huge=True)}
    policy_args = {"policy": POLICY_VALUES, "real_fraction": FRACTION_VALUES, "seed": SEED_VALUES}
    gaussian_t = {"t": BAD_T, "n": bad_int(2), "ddof": bad_int(0, 1), "sigma0": bad_float(0.0, strict=True)}
    table = [
        (
            "run_generations",
            run_generations,
            {"family": family, "source": ModelSource(truth), "n": 5, "generations": 2, "runs": 2},
            {**loop_args, **policy_args, "keep_models": st.sampled_from(["no", 1, None]), "curation": CURATION_VALUES},
        ),
        (
            "simulate_gaussian",
            gaussian.simulate_gaussian,
            {"n": 5, "generations": 2, "runs": 2},
            {
                **loop_args,
                "n": bad_int(2),
                **policy_args,
                "ddof": bad_int(0, 1),
                "fast": st.sampled_from(["yes", 1, 0.0, "no"]),
                "mu0": bad_float(),
                "sigma0": bad_float(0.0, 1e150, strict=True),
                "scale": bad_float(0.0, 1e6, strict=True),
            },
        ),
        (
            "simulate_categorical",
            categorical.simulate_categorical,
            {"categories": 5, "n": 20, "generations": 2, "runs": 2},
            {
                **loop_args,
                **policy_args,
                "n": bad_int(1, 10**9),  # numpy's hypergeometric draws stop at 10^9 items
                # None: the default (100 categories, zipf), chosen when no p0 is given
                "categories": bad_int(1, huge=True, none=False),
                "distribution": bad_choice(("uniform", "zipf"), none=False),
                "zipf_exponent": bad_float(0.0, none=False),
                "p0": st.sampled_from([[0.5, 0.6], [-0.5, 1.5], [np.nan, 1.0], [], "abc", [[0.5, 0.5]]]),
                "keep_frequencies": st.sampled_from(["yes", 2]),
            },
        ),
        (
            "simulate_regression",
            regression.simulate_regression,
            {"dim": 2, "samples": 10, "generations": 2, "runs": 2},
            {
                **{k: v for k, v in loop_args.items() if k != "n"},
                **policy_args,
                "dim": bad_int(1, huge=True),
                "samples": bad_int(1, huge=True),
                "noise": bad_float(0.0, regression.MAX_NOISE),
                "ridge": bad_float(0.0),
                "design": bad_choice(("fixed", "fresh")),
                "fast": st.sampled_from(["yes", 1]),
            },
        ),
        (
            "strong_collapse_errors",
            regression.strong_collapse_errors,
            {"n": [20, 40], "synthetic_fraction": 0.2, "dim": 2, "runs": 3},
            {
                "n": st.sampled_from([[3], [-5], [20.5], "20", [np.nan]]),
                "synthetic_fraction": FRACTION_VALUES,
                "dim": bad_int(1, huge=True),
                "noise": bad_float(0.0),
                "shift": bad_float(0.0),
                "runs": bad_int(1, huge=True),
                "seed": SEED_VALUES,
            },
        ),
        (
            "random_features_errors",
            regression.random_features_errors,
            {"widths": [2, 4], "synthetic_fraction": 0.2, "n": 10, "dim": 3, "runs": 2},
            {
                "widths": st.sampled_from([[0], [-1], [2.5], ["a"], [10**15]]),
                "synthetic_fraction": FRACTION_VALUES,
                "n": bad_int(1, huge=True),
                "dim": bad_int(1, huge=True),
                "noise": bad_float(0.0),
                "shift": bad_float(0.0),
                "ridge": bad_float(0.0, strict=True),
                "runs": bad_int(1, huge=True),
                "seed": SEED_VALUES,
            },
        ),
        (
            "simulate_mixture",
            mixtures.simulate_mixture,
            {"n": 30, "generations": 1, "runs": 1, "keep_models": False},
            {
                **loop_args,
                **policy_args,
                "n": bad_int(2, huge=True),
                "components": bad_int(1, huge=True),
                "separation": bad_float(0.0, mixtures.MAX_SEPARATION),
                "max_iter": bad_int(1),
                "seed": bad_int(0),
            },
        ),
        (
            "simulate_digits",
            mixtures.simulate_digits,
            {"real_fraction": 0.5, "generations": 1, "n": 60, "samples": 40},
            {
                "real_fraction": FRACTION_VALUES,
                "generations": bad_int(0, huge=True),
                "n": bad_int(2, 10**4),
                "runs": bad_int(1, huge=True),
                "dims": bad_int(1, 65),
                "components": bad_int(1),
                "samples": bad_int(40),
                "seed": bad_int(0),
            },
        ),
        (
            "simulate_memoriser",
            scaling.simulate_memoriser,
            {"samples": [10, 100], "beta": 2.0, "items": 1000, "runs": 2},
            {
                "samples": st.sampled_from([[-1], [1.5], "10", [np.nan]]),
                "beta": bad_float(1.0),
                "items": bad_int(1, huge=True),
                "cutoff": st.one_of(st.integers(max_value=0), st.integers(1001, 10**6), st.sampled_from([1.5, "3"])),
                "runs": bad_int(1, huge=True),
                "seed": SEED_VALUES,
            },
        ),
        (
            "simulate_ngram",
            ngram.simulate_ngram,
            {"corpus": _corpus(), "generations": 1, "eval_sentences": 5},
            {
                "order": bad_int(1),
                "generations": bad_int(0, huge=True),
                "runs": bad_int(1, huge=True),
                "n": bad_int(1, 10**6, none=False),
                "policy": POLICY_VALUES,
                "real_fraction": FRACTION_VALUES,
                "temperature": bad_float(0.0),
                "top_k": bad_int(1, none=False),
                "max_length": bad_int(1),
                "eval_sentences": bad_int(1, huge=True),
                "seed": bad_int(0),
                "corpus": st.sampled_from([3, b"x", ["a sentence"], "no/such/file.txt", "z" * 300, ""]),
            },
        ),
        (
            "vocabulary_survival",
            ngram.vocabulary_survival,
            {"counts": [1, 2, 5], "generations": 3},
            {
                "counts": st.sampled_from([[-1, 2], [np.nan, 3], [np.inf], "abc", [[1, 2], [3]], [1.5]]),
                "generations": BAD_T,
            },
        ),
        (
            "class_coverage",
            mixtures.class_coverage,
            {"labels": [0, 1, 2, 2], "classes": 3},
            {
                "labels": st.sampled_from([[0, 1, 5], [-1, 0], [0.5, 1], ["a"], [], [0, np.nan]]),
                "classes": bad_int(1),
                "min_share": FRACTION_VALUES,
            },
        ),
        (
            "train_gan",
            gan.train_gan,
            {"steps": 2, "width": 4, "z_dim": 2, "batch": 4, "n_samples": 20, "snapshots": 2, "progress": False},
            {
                "target": bad_choice(("ring", "grid")),
                "method": bad_choice(("vanilla", "pacgan")),
                "width": bad_int(1, 1024),
                "depth": bad_int(1, 8),
                "z_dim": bad_int(1, 1024),
                "lr_g": bad_float(0.0, 1.0),
                "lr_d": bad_float(0.0, 1.0),
                "batch": bad_int(1, 4096),
                "steps": bad_int(1, 100_000),
                "snapshots": bad_int(2, 1000),
                "n_samples": bad_int(1, 100_000),
                "seed": bad_int(0),
                "decay": st.sampled_from(["yes", 1, None]),
            },
        ),
        (
            "run_continual",
            continual.run_continual,
            {"steps": 1, "hidden": 4},
            {
                "method": bad_choice(("finetune", "ewc", "replay", "joint")),
                "scenario": bad_choice(("task-incremental", "class-incremental")),
                "ewc_lambda": bad_float(0.0, 1e30, none=False),  # None: the default of the method that uses it
                "k": bad_int(0, none=False),
                "hidden": bad_int(1, 4096),
                "steps": bad_int(1, 100_000),
                "lr": bad_float(0.0, 1.0),
                "seed": bad_int(0),
            },
        ),
        (
            "polynomial_fit",
            capstone.polynomial_fit,
            {"points": 10, "degree": 3, "heldout": 20},
            {
                "seed": bad_int(0),
                "points": bad_int(5, huge=True),
                "degree": bad_int(1, 40),
                "heldout": bad_int(10, huge=True),
            },
        ),
        (
            "curve_loop_run",
            capstone.curve_loop_run,
            {"n": 20, "degree": 3},
            {"seed": bad_int(0), "n": bad_int(2, huge=True), "degree": bad_int(1, 40)},
        ),
        ("expected_variance", theory.expected_variance, {"t": 3, "n": 10}, gaussian_t),
        ("expected_sigma", theory.expected_sigma, {"t": 3, "n": 10}, gaussian_t),
        ("sigma_quantile", theory.sigma_quantile, {"q": 0.5, "t": 3, "n": 10}, {**gaussian_t, "q": FRACTION_VALUES}),
        ("mean_drift_mse", theory.mean_drift_mse, {"t": 3, "n": 10}, gaussian_t),
        ("expected_w2_squared", theory.expected_w2_squared, {"t": 3, "n": 10}, gaussian_t),
        ("median_sigma_rule_of_thumb", theory.median_sigma_rule_of_thumb, {"t": 3, "n": 10}, gaussian_t),
        (
            "tail_mass_quantile",
            theory.tail_mass_quantile,
            {"q": 0.5, "t": 3, "n": 10},
            {**gaussian_t, "q": FRACTION_VALUES, "threshold": bad_float(0.0, strict=True)},
        ),
        (
            "regression_error_replace",
            theory.regression_error_replace,
            {"t": 3, "dim": 2, "samples": 10},
            {"t": BAD_T, "dim": bad_int(1), "samples": bad_int(4), "noise": bad_float(0.0)},
        ),
        (
            "regression_error_accumulate",
            theory.regression_error_accumulate,
            {"t": 3, "dim": 2, "samples": 10},
            {"t": BAD_STEPS, "dim": bad_int(1), "samples": bad_int(4), "design": bad_choice(("fixed", "fresh"))},
        ),
        (
            "regression_error_fresh_real",
            theory.regression_error_fresh_real,
            {"t": 3, "dim": 2, "samples": 10, "real_fraction": 0.5},
            {"t": BAD_T, "real_fraction": FRACTION_VALUES, "noise": bad_float(0.0)},
        ),
        (
            "gaussian_accumulate_moments",
            theory.gaussian_accumulate_moments,
            {"t": 3, "n": 10},
            {
                "t": BAD_STEPS,
                "n": bad_int(2),
                "scale": bad_float(0.0, strict=True),
                "sigma0": bad_float(0.0, strict=True),
            },
        ),
        (
            "biased_sampling_moments",
            theory.biased_sampling_moments,
            {"t": 3, "n": 10, "real_fraction": 0.5},
            {"t": BAD_STEPS, "n": bad_int(2), "scale": bad_float(0.0, strict=True), "real_fraction": FRACTION_VALUES},
        ),
        (
            "memoriser_error",
            theory.memoriser_error,
            {"samples": [10, 100], "beta": 2.0, "items": 100},
            {
                "samples": BAD_T,
                "beta": bad_float(1.0),
                "items": bad_int(1, huge=True),
                "cutoff": bad_int(1, 100, none=False),
            },
        ),
        (
            "memoriser_power_law",
            theory.memoriser_power_law,
            {"samples": [10, 100], "beta": 2.0, "items": 100},
            {"samples": BAD_T, "beta": bad_float(1.0), "items": bad_int(1, huge=True)},
        ),
        (
            "survival_probability",
            theory.survival_probability,
            {"p0": [0.5, 0.5], "n": 10, "generations": 3},
            {
                "n": bad_int(1, 4000),
                "generations": bad_int(0, huge=True),
                "policy": bad_choice(("replace", "accumulate", "fresh-real")),
            },
        ),
        (
            "expected_heterozygosity",
            theory.expected_heterozygosity,
            {"t": 3, "n": 10},
            {"t": BAD_T, "n": bad_int(1), "h0": bad_float(0.0, 1.0)},
        ),
        (
            "frequency_variance",
            theory.frequency_variance,
            {"t": 3, "p0": 0.3, "n": 10},
            {"t": BAD_T, "p0": FRACTION_VALUES, "n": bad_int(1), "real_fraction": FRACTION_VALUES},
        ),
        ("loss_probability", theory.loss_probability, {"c": 2, "n": 10}, {"c": BAD_T, "n": bad_int(1)}),
        (
            "fixation_time_uniform",
            theory.fixation_time_uniform,
            {"categories": 4, "n": 10},
            {"categories": st.sampled_from([0, -3, float("nan"), "4"]), "n": bad_int(1)},
        ),
        (
            "mixture_component_variance",
            theory.mixture_component_variance,
            {"t": 3, "n": 10, "weight": 0.5},
            {"t": BAD_T, "n": bad_int(2), "weight": FRACTION_VALUES},
        ),
    ]
    table += _curation_table()
    table += _lesson_calls_table()
    return table


def _lesson_calls_table() -> list[tuple[str, Callable, dict, dict]]:
    """Functions the lessons call directly, with the slips a learner makes in a cell (issue 13's review)."""
    import torch

    from collapse_edu import capstone, categorical, continual, curation, gaussian, metrics, monitor, ngram, theory, vae
    from collapse_edu.loop import ModelSource, run_generations

    truth = gaussian.GaussianModel(np.zeros(1), np.ones(1))
    reference = np.random.default_rng(0).standard_normal((40, 2))
    digits = continual.split_digits(seed=0)
    corpus = _corpus()
    bigram = ngram.fit_ngram(corpus.train, 2, len(corpus.vocab))
    return [
        (
            "run_generations (the world and the family)",
            run_generations,
            {"family": gaussian.Gaussian(), "source": ModelSource(truth), "n": 5, "generations": 2},
            {
                "family": st.sampled_from([None, "gaussian", gaussian.Gaussian, truth]),
                "source": st.sampled_from([truth, None, np.zeros(5), "real"]),
                "measure": st.sampled_from(["mean", 3]),
                "progress": st.sampled_from([1, None, 0.5]),
            },
        ),
        (
            "ModelSource(model) for a Gaussian",
            lambda model: run_generations(gaussian.Gaussian(), ModelSource(model), n=5, generations=1),
            {"model": truth},
            {
                "model": st.sampled_from(
                    [
                        gaussian.GaussianModel(np.zeros(1), -np.ones(1)),
                        gaussian.GaussianModel(np.zeros(1), np.full(1, np.nan)),
                        np.array([0.5, 0.5]),
                        None,
                    ]
                )
            },
        ),
        (
            "ModelSource(model) for categories",
            lambda model: run_generations(categorical.Categorical(), ModelSource(model), n=5, generations=1),
            {"model": np.array([0.5, 0.5])},
            {"model": st.sampled_from([[0.7, 0.2], [0.5, 0.6], [3, 1], [-0.5, 1.5], [np.nan, 1.0], [], "abc"])},
        ),
        (
            "Gaussian().fit",
            gaussian.Gaussian().fit,
            {"data": np.zeros((2, 5))},
            {"data": st.sampled_from([np.zeros(5), [[0.0, 1.0]], np.zeros((2, 3, 4)), None])},
        ),
        (
            "entropy",
            metrics.entropy,
            {"p": [0.5, 0.5]},
            {
                "p": st.sampled_from([[3, 1], [2, 2], [0.5, -0.5, 1.0], [np.nan, 1.0], None, [], "ab"]),
                "base": st.one_of(bad_float(0.0, strict=True), st.just(1.0)),
            },
        ),
        (
            "heterozygosity",
            metrics.heterozygosity,
            {"p": [0.5, 0.5]},
            {"p": st.sampled_from([[2.0, 3.0], [-1, 2], [np.nan, 1.0], None, [], "ab"])},
        ),
        (
            "surviving",
            metrics.surviving,
            {"counts": [3, 0, 1]},
            {"counts": st.sampled_from([[-1, 2], [np.nan, 1.0], None, "abc"])},
        ),
        (
            "pairwise_distances",
            metrics.pairwise_distances,
            {"a": np.zeros((3, 2)), "b": np.ones((4, 2))},
            {"chunk": st.one_of(bad_int(1), st.sampled_from([0, -1, "a"]))},
        ),
        (
            "tail_mass",
            gaussian.tail_mass,
            {"mu": 0.0, "sigma": 1.0},
            {
                "mu": REAL_ARRAY_VALUES,
                "sigma": st.one_of(REAL_ARRAY_VALUES, st.sampled_from([-1.0, [1.0, -0.5]])),
                "threshold": bad_float(0.0, strict=True),
                "mu0": bad_float(),
                "sigma0": bad_float(0.0, strict=True),
            },
        ),
        (
            "w2_gaussian",
            metrics.w2_gaussian,
            {"mu1": 0.0, "sigma1": 1.0, "mu2": 0.0, "sigma2": 1.0},
            {
                "mu1": REAL_ARRAY_VALUES,
                "sigma1": st.one_of(REAL_ARRAY_VALUES, st.just(-1.0)),
                "sigma2": st.one_of(REAL_ARRAY_VALUES, st.just(-1.0)),
            },
        ),
        (
            "biased_sampling_fixed_point",
            theory.biased_sampling_fixed_point,
            {"n": 10, "scale": 0.9, "real_fraction": 0.5},
            {"scale": st.one_of(bad_float(0.0, strict=True), st.sampled_from([1.5, 2.0, 10.0]))},
        ),
        (
            "class_mask",
            continual.class_mask,
            {"classes": [0, 1]},
            {"classes": st.sampled_from([[10], [-1], [], ["a"], [0.5]]), "n": bad_int(1)},
        ),
        (
            "continual.Adam",
            continual.Adam,
            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.01},
            {"lr": bad_float(0.0, strict=True)},
        ),
        (
            "continual.evaluate",
            continual.evaluate,
            {"model": continual.make_mlp(hidden=4), "data": digits, "scenario": "task-incremental", "after": 0},
            {"after": bad_int(0, digits.n_tasks - 1, none=False), "data": st.sampled_from([None, "digits"])},
        ),
        (
            "check_diagnose",
            capstone.check_diagnose,
            {"func": capstone.diagnose, "seeds": [101]},
            {"seeds": st.sampled_from([[], [-1], ["a"], [1.5]])},
        ),
        (
            "compare_numeric",
            monitor.compare_numeric,
            {"reference": reference, "candidate": reference},
            {"seed": SEED_VALUES},
        ),
        ("prepare_corpus", ngram.prepare_corpus, {}, {"lower": st.sampled_from(["no", 1, None])}),
        (
            "n-gram perplexity",
            ngram.perplexity,
            {"model": bigram, "sentences": corpus.held_out},
            {"model": st.sampled_from([[bigram], None, "bigram"]), "sentences": st.sampled_from([[], None, "text"])},
        ),
        (
            "sample_sentences",
            ngram.sample_sentences,
            {"model": bigram, "count": 2},
            {"model": st.sampled_from([[bigram], [[bigram]], None])},
        ),
        (
            "distinct_n",
            ngram.distinct_n,
            {"sentences": corpus.held_out},
            {"sentences": st.sampled_from([[1, 2], None])},
        ),
        (
            "window_table",
            ngram.window_table,
            {"sentences": corpus.train, "order": 2, "vocab_size": len(corpus.vocab)},
            {
                "order": bad_int(1, none=False),
                "vocab_size": st.sampled_from([corpus.vocab, "3000", 1, 0]),
                "sentences": st.sampled_from([None, [[1, 2]]]),
            },
        ),
        (
            "Vocabulary.decode",
            corpus.vocab.decode,
            {"ids": [2, 3]},
            {"ids": st.sampled_from([[10**6], [-1], "the", [1.5]])},
        ),
        (
            "next_token_distribution",
            ngram.next_token_distribution,
            {"model": bigram, "history": [2]},
            {"history": st.sampled_from([[10**6], [-3], "the"]), "model": st.sampled_from([[bigram], None])},
        ),
        (
            "VAE fit",
            lambda data: vae.VAE(steps=1).fit(data),
            {"data": np.full((1, 4, 64), 0.5)},
            {"data": st.sampled_from([np.full((1, 4, 64), 16.0), np.full((1, 4, 64), -0.5)])},
        ),
        (
            "density_ratio_verifier",
            curation.density_ratio_verifier,
            {"family": gaussian.Gaussian(), "truth": truth},
            {"family": st.sampled_from([None, "gaussian"]), "truth": st.sampled_from([None, np.zeros(2), "N(0,1)"])},
        ),
        ("Categorical", categorical.Categorical, {}, {"keep_frequencies": st.sampled_from(["no", 1, None])}),
    ]


CURATION_VALUES = st.one_of(
    st.text(max_size=12).filter(lambda s: s not in ("none", "self", "verifier")), st.sampled_from([3, b"self", 0.5])
)
KEEP_VALUES = st.one_of(FRACTION_VALUES, st.sampled_from([0.0, -0.0]))
REAL_ARRAY_VALUES = st.sampled_from(["3", b"3", None, True, object(), {"x": 3}, float("nan"), [1.0, float("inf")]])


def _curation_table() -> list[tuple[str, Callable, dict, dict]]:
    """Curation, the VAE digits, precision/recall and generative replay (issue 16)."""
    from collapse_edu import curation, digit_curation, metrics, replay, theory, vae

    points = np.random.default_rng(0).standard_normal((20, 2))
    return [
        ("truncation_variance_factor", theory.truncation_variance_factor, {"keep": 0.5}, {"keep": KEEP_VALUES}),
        (
            "self_curation_factor",
            theory.self_curation_factor,
            {"n": 10, "keep": 0.5},
            {"n": bad_int(2), "keep": KEEP_VALUES},
        ),
        (
            "self_curation_variance",
            theory.self_curation_variance,
            {"t": 3, "n": 10, "keep": 0.5},
            {"t": BAD_T, "n": bad_int(2), "keep": KEEP_VALUES, "sigma0": bad_float(0.0, strict=True)},
        ),
        (
            "verifier_kept_moments",
            theory.verifier_kept_moments,
            {"mu": 0.0, "sigma": 1.0, "keep": 0.5},
            {
                "mu": REAL_ARRAY_VALUES,
                "sigma": st.one_of(REAL_ARRAY_VALUES, st.sampled_from([0.0, -1.0])),
                "keep": KEEP_VALUES,
            },
        ),
        (
            "verifier_curation_variance",
            theory.verifier_curation_variance,
            {"t": 3, "n": 10, "keep": 0.5},
            {"t": BAD_STEPS, "n": bad_int(2), "keep": KEEP_VALUES},
        ),
        (
            "verifier_curation_moments",
            theory.verifier_curation_moments,
            {"t": 3, "n": 10, "keep": 0.5},
            {"t": BAD_STEPS, "n": bad_int(2), "keep": KEEP_VALUES, "grid": bad_int(11, 301)},
        ),
        (
            "simulate_gaussian_curation",
            curation.simulate_gaussian_curation,
            {"n": 5, "generations": 2, "runs": 2, "settings": ("none", "learned-ratio"), "real_samples": 10},
            {
                "keep": KEEP_VALUES,
                "n": bad_int(2),
                "generations": bad_int(0, huge=True),
                "runs": bad_int(1, huge=True),
                "real_samples": bad_int(2, huge=True),
                "seed": SEED_VALUES,
                "settings": st.sampled_from([["best"], [3], []]),
            },
        ),
        (
            "simulate_mixture_curation",
            curation.simulate_mixture_curation,
            {"n": 20, "generations": 1, "runs": 1, "settings": ("none",)},
            {
                "keep": KEEP_VALUES,
                "n": bad_int(2),
                "generations": bad_int(0, huge=True),
                "runs": bad_int(1, huge=True),
                "seed": SEED_VALUES,
                "settings": st.sampled_from([["best"], [3], []]),
            },
        ),
        ("precision_recall", metrics.precision_recall, {"real": points, "generated": points}, {"k": bad_int(1, 19)}),
        (
            "simulate_digit_curation",
            digit_curation.simulate_digit_curation,
            {"generations": 0, "n": 20, "samples": 40},
            {
                "family": bad_choice(digit_curation.DIGIT_FAMILIES),
                "setting": bad_choice(digit_curation.DIGIT_SETTINGS),
                "generations": bad_int(0, huge=True),
                "n": bad_int(11, 1078),
                # None: the default of the setting that uses it
                "keep": st.one_of(bad_float(0.0, 1.0, none=False), st.sampled_from([0.0, -0.0])),
                "real_fraction": bad_float(0.0, 1.0, none=False),
                "samples": bad_int(10),
                "seed": SEED_VALUES,
            },
        ),
        (
            "VAE",
            vae.VAE,
            {},
            {
                "latent": bad_int(1, 64),
                "hidden": bad_int(1, 4096),
                "steps": bad_int(1, 100_000),
                "lr": bad_float(0.0, strict=True),
                "likelihood": bad_choice(vae.LIKELIHOODS),
            },
        ),
        (
            "run_generative_replay",
            replay.run_generative_replay,
            {"vae_steps": 1, "steps": 1, "replay_per_task": 2},
            {
                "scenario": bad_choice(("task-incremental", "class-incremental")),
                "replay_per_task": bad_int(1, none=False),
                "vae_steps": bad_int(1, 100_000),
                "steps": bad_int(1, 100_000),
                "lr": bad_float(0.0, strict=True),
                "hidden": bad_int(1, 4096),
                "seed": SEED_VALUES,
            },
        ),
    ]


@functools.cache
def api_table() -> dict[str, tuple[Callable, dict, dict]]:
    """Built on first use (it imports torch and prepares a corpus), not when tests are collected."""
    return {name: (function, base, bad) for name, function, base, bad in _api_table()}


@st.composite
def bad_calls(draw) -> tuple[str, str, object]:
    table = api_table()
    name = draw(st.sampled_from(sorted(table)))
    _, base, bad = table[name]
    argument = draw(st.sampled_from(sorted(bad)))
    return name, argument, draw(bad[argument])


def api_problem(name: str, argument: str, value: object) -> str | None:
    """None if ``function(**base, argument=value)`` raised ValueError/TypeError naming the argument."""
    function, base, _ = api_table()[name]
    kwargs = {**base, argument: value}
    if name in ("simulate_gaussian", "simulate_categorical", "simulate_regression", "simulate_mixture"):
        if argument == "real_fraction":
            kwargs["policy"] = "fresh-real"
            if name == "simulate_regression":
                kwargs["design"] = "fresh"
    if name == "run_generations" and argument == "real_fraction":
        kwargs["policy"] = "fresh-real"
    if name == "simulate_ngram" and argument == "real_fraction":
        kwargs["policy"] = "fresh-real"
    try:
        with contextlib.redirect_stderr(io.StringIO()), time_limit(20):
            function(**kwargs)
    except (ValueError, TypeError, FileNotFoundError) as error:  # a missing file is not a ValueError
        message = str(error)
        # a whole identifier: a plain substring test never fails for ``n``, ``t`` or ``mu``
        if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(argument)}(?![A-Za-z0-9_])", message):
            return f"{type(error).__name__} does not name {argument!r}: {message[:160]}"
        if "\n" in message.strip():
            return f"message is not one line: {message[:160]!r}"
        return None
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {str(error)[:160]}"
    return "accepted"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(call=bad_calls())
def test_public_functions_refuse_bad_values_by_name(call):
    name, argument, value = call
    problem = api_problem(name, argument, value)
    assert problem is None, f"{name}({argument}={value!r}): {problem}"


def test_fresh_real_without_a_fraction_is_refused():
    """Before: simulate_gaussian(policy='fresh-real') silently used r = 0."""
    from collapse_edu.gaussian import simulate_gaussian

    with pytest.raises(ValueError, match="real_fraction is required with policy='fresh-real'"):
        simulate_gaussian(5, 2, 2, policy="fresh-real")


FIGURES_WITH_SEEDS = (
    ("categorical", "real_samples_not_fraction"),
    ("categorical", "fresh_real_vocabulary"),
    ("categorical", "fixation_figure"),
    ("categorical", "heterozygosity_decay"),
    ("gaussian", "fast_vs_direct"),
    ("gaussian", "w2_distance"),
    ("gaussian", "density_snapshots"),
    ("synthetic", "tail_cut_scaling"),
    ("synthetic", "strong_collapse"),
    ("synthetic", "biased_sampling"),
    ("synthetic", "regression_workflows"),
    ("synthetic", "gaussian_workflows"),
    ("text", "generated_text"),
)


@pytest.mark.parametrize(("module", "name"), FIGURES_WITH_SEEDS)
@pytest.mark.parametrize("seed", [None, -1, 1.5, "3"])
def test_figure_functions_refuse_a_bad_seed_by_name(module, name, seed):
    """Figures that derive seeds (seed + i) check ``seed`` first, before any simulation runs."""
    import importlib

    function = getattr(importlib.import_module(f"collapse_edu.figures.{module}"), name)
    needed = {"run": None} if name == "generated_text" else {}  # the seed is checked before the run is used
    with pytest.raises((TypeError, ValueError), match="^seed"):
        function(seed=seed, **needed)


# --------------------------------------------------------------------------- counting (not a test)


def count(examples: int = 300) -> dict:
    """Draw bad inputs like the tests do and count, without stopping, those that misbehave."""
    import tempfile

    from hypothesis import Phase

    tally: dict = {"cli": [0, 0, []], "api": [0, 0, []]}
    quiet = settings(max_examples=examples, phases=[Phase.generate], database=None, deadline=None, derandomize=True)
    with tempfile.TemporaryDirectory() as folder:
        root = make_world(Path(folder) / "world")

        @quiet
        @given(argv=BAD_COMMANDS)
        def commands(argv):
            argv = expand(argv, root)
            problem = cli_problem(root, argv, allowed_status(argv))
            tally["cli"][0] += 1
            if problem:
                tally["cli"][1] += 1
                tally["cli"][2].append(f"{' '.join(argv)[:150]} -> {problem[:150]}")

        @quiet
        @given(call=bad_calls())
        def calls(call):
            problem = api_problem(*call)
            tally["api"][0] += 1
            if problem:
                tally["api"][1] += 1
                tally["api"][2].append(f"{call[0]}({call[1]}={call[2]!r:.60}) -> {problem[:150]}")

        commands()
        calls()
    return tally


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    result = count(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    for part, (tried, bad, details) in result.items():
        print(f"{part}: {tried} bad inputs tried, {bad} misbehaved")
        for line in sorted(set(details)):
            print("   ", line)
    print(json.dumps({part: value[:2] for part, value in result.items()}))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["student", "--out", "/proc/collapse-edu-test"], "--out /proc/collapse-edu-test: No such file or directory"),
        (["run", "01", "--out", "/proc/collapse-edu-test"], "--out /proc/collapse-edu-test: No such file or directory"),
    ],
)
def test_a_folder_the_system_refuses_is_named_by_its_option(argv, expected, capsys):
    """/proc accepts no new folders even for root: the one-line error names the option, without '[Errno 2]'."""
    if not Path("/proc/self").exists():
        pytest.skip("needs a Linux /proc")
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and err == f"collapse-edu: error: {expected}" and "Errno" not in err


def test_os_errors_name_the_option_and_the_file_inside_its_folder(tmp_path):
    args = cli.argparse.Namespace(out=str(tmp_path), plot=None)
    inside = PermissionError(13, "Permission denied", str(tmp_path / "01.ipynb"))
    assert cli._os_message(inside, args) == f"--out {tmp_path}: Permission denied ({tmp_path / '01.ipynb'})"
    elsewhere = PermissionError(13, "Permission denied", "/elsewhere/x")
    assert cli._os_message(elsewhere, args) == "/elsewhere/x: Permission denied"
    assert cli._os_message(FileNotFoundError("no lesson called x"), args) == "no lesson called x"
