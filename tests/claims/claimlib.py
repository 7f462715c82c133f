"""What the claim tests share: the lessons' prose, the decorator that ties a test to the sentence it
backs, the stored outputs of checked cells, and the harness that runs an exercise's checker cell.

See ``tests/claims/README.md`` for the convention.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from collapse_edu import exercises
from collapse_edu.student import checker_of, has_solution, strip_solutions

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
CHECKED = "# NBVAL_CHECK_OUTPUT"
PASSED = "✅"
FAILED = "❌"
NOT_WRITTEN = "not written yet"


# --------------------------------------------------------------------------- the lessons' text


def fold(text: str) -> str:
    """Text as prose and quotes are compared: lower case, without Markdown emphasis, code ticks, LaTeX
    dollars and backslashes, underscores, braces, with all whitespace runs as one space."""
    text = re.sub(r"[*_`$\\{}]", "", text.lower())
    return re.sub(r"\s+", " ", text).strip()


@functools.cache
def lesson_path(number: str) -> Path:
    matches = sorted(LESSONS_DIR.glob(f"{number}_*.ipynb"))
    if len(matches) != 1:
        raise LookupError(f"no single lesson {number}_*.ipynb in {LESSONS_DIR}: {matches}")
    return matches[0]


@functools.cache
def notebook(number: str) -> nbformat.NotebookNode:
    """The committed lesson notebook (read once per test process)."""
    return nbformat.read(lesson_path(number), as_version=4)


@functools.cache
def prose(number: str) -> str:
    """All markdown of a lesson, folded (see :func:`fold`)."""
    return fold("\n".join(c.source for c in notebook(number).cells if c.cell_type == "markdown"))


def assert_in_lesson(number: str, quote: str) -> None:
    """Fail unless ``quote`` stands in lesson ``number``'s markdown (compared folded)."""
    if fold(quote) not in prose(number):
        raise AssertionError(
            f"lesson {number} no longer says: {quote!r}\n"
            "The sentence and its claim test have drifted apart: update the test's quote (and what it asserts) "
            "together with the prose."
        )


def claim(number: str, *quotes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as the evidence for sentences of lesson ``number``.

    The test first checks that every quote still stands in the lesson's prose, then runs. A quote is
    copied from the lesson's markdown (any stretch of a sentence that names what is claimed; folded
    comparison, see :func:`fold`)."""
    if not quotes:
        raise ValueError("claim() needs at least one quoted sentence")

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(test)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for quote in quotes:
                assert_in_lesson(number, quote)
            return test(*args, **kwargs)

        wrapper.claim_lesson = number  # type: ignore[attr-defined]
        wrapper.claim_quotes = quotes  # type: ignore[attr-defined]
        return pytest.mark.claim(wrapper)

    return decorate


def checked_output(number: str, marker: str) -> str:
    """The stored text output of the one checked cell of lesson ``number`` whose source contains
    ``marker`` (for claims that restate a checked number: nbval keeps that output true)."""
    cells = [
        c
        for c in notebook(number).cells
        if c.cell_type == "code" and c.source.lstrip().startswith(CHECKED) and marker in c.source
    ]
    if len(cells) != 1:
        raise LookupError(f"lesson {number}: {len(cells)} checked cells contain {marker!r}, expected exactly 1")
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text`` (``1,234`` and ``5.6e-03`` included), in order."""
    return [float(m.replace(",", "")) for m in re.findall(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?", text)]


# --------------------------------------------------------------------------- exercises and checkers


def _runnable(source: str) -> str:
    """A cell's source without IPython magics and shell escapes."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def imports_cell(number: str) -> nbformat.NotebookNode:
    """The lesson's imports cell: the first code cell after the setup cell."""
    return [c for c in notebook(number).cells if c.cell_type == "code"][1]


def exercise_cells(number: str) -> list[tuple[int, nbformat.NotebookNode, nbformat.NotebookNode]]:
    """(index, solution cell, checker cell) of every exercise: a code cell with a solution block, and
    the next code cell after it, which checks it."""
    cells = notebook(number).cells
    found = []
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and has_solution(cell.source):
            found.append((index, cell, checker_of(cells, index)))
    return found


def exercise_functions(number: str) -> dict[str, int]:
    """Name of every function a learner writes -> index of its solution cell."""
    names = {}
    for index, cell, _ in exercise_cells(number):
        for match in re.finditer(r"^def (\w+)\(", cell.source, re.M):
            names[match[1]] = index
    return names


def run_checker(number: str, solution_index: int, *, replacement: str | None = None, student: bool = False) -> str:
    """Run one exercise's checker the way a learner meets it; return what it printed.

    Executes, in a fresh namespace, the imports cell, the solution cell (the student stub when
    ``student``), then ``replacement`` (source that redefines the learner's function, e.g. a plausible
    wrong answer) and finally the checker cell. A checker may rely on nothing else from the lesson:
    that keeps it runnable on its own and testable here."""
    cells = notebook(number).cells
    solution = cells[solution_index]
    checker = next(c for c in cells[solution_index + 1 :] if c.cell_type == "code")
    sources = [imports_cell(number).source, strip_solutions(solution.source) if student else solution.source]
    if replacement is not None:
        sources.append(replacement)
    sources.append(checker.source)
    namespace: dict[str, Any] = {"__name__": f"lesson_{number}"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for source in sources:
            exec(compile(_runnable(source), f"<lesson {number}>", "exec"), namespace)  # noqa: S102
    import matplotlib.pyplot as plt

    plt.close("all")
    return printed.getvalue()


def verdict_count() -> int:
    return exercises.verdict_count()


def recorded_verdicts(since: int) -> list[bool]:
    """The pass/fail verdicts the checkers recorded since the mark ``since`` (see ``@checker``)."""
    return exercises.verdicts_since(since)


def checker_tests(number: str, wrong_answers: dict[str, Iterable[str]]) -> Callable[..., None]:
    """A parametrized test over every exercise of lesson ``number``: the reference solution passes,
    the student stub says "not written yet", and every wrong answer in ``wrong_answers`` (function
    name -> sources of plausible wrong implementations) is rejected.

    Use in a lesson's claim module as ``test_checkers = checker_tests("01", WRONG_ANSWERS)``."""
    functions = exercise_functions(number)
    unknown = sorted(set(wrong_answers) - set(functions))
    if unknown:
        raise ValueError(f"lesson {number} has no exercise function {unknown}; it has {sorted(functions)}")
    cases = [pytest.param(functions[name], None, id=f"{name}-solution") for name in functions]
    cases += [pytest.param(functions[name], "student", id=f"{name}-stub") for name in functions]
    for name, sources in wrong_answers.items():
        cases += [pytest.param(functions[name], src, id=f"{name}-wrong{i}") for i, src in enumerate(sources, 1)]

    @pytest.mark.parametrize(("solution_index", "replacement"), cases)
    def test_checker(solution_index: int, replacement: str | None) -> None:
        # The verdicts the checkers record are what an nbgrader test cell asserts (collapse_edu.grading).
        mark = verdict_count()
        if replacement is None:
            out = run_checker(number, solution_index)
            assert PASSED in out and FAILED not in out, f"the reference solution must pass its checker:\n{out}"
            verdicts = recorded_verdicts(mark)
            assert verdicts and all(verdicts), f"the checker must record a passing verdict (nbgrader), got {verdicts}"
        elif replacement == "student":
            out = run_checker(number, solution_index, student=True)
            assert NOT_WRITTEN in out and PASSED not in out, f"the student stub must read 'not written yet':\n{out}"
            assert not all(recorded_verdicts(mark) or [False]), "a stub must not earn points"
        else:
            out = run_checker(number, solution_index, replacement=replacement)
            assert FAILED in out, f"the checker accepted a wrong answer:\n{replacement}\nIt printed:\n{out}"
            assert False in recorded_verdicts(mark), "the wrong answer must record a failing verdict (nbgrader)"

    test_checker.wrong_answers = {name: list(src) for name, src in wrong_answers.items()}  # type: ignore[attr-defined]
    return test_checker
