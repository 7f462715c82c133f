"""Answer checkers: they tell a learner in words what is right or wrong, never with a traceback.

In a lesson, an exercise is a function the learner completes; its solution sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (see :mod:`collapse_edu.student`). The checker
cell after it calls :func:`check_function` (or :func:`check_value`), which prints one line per
finding and returns ``True`` when everything matches.

Every checker also records its verdict (:func:`checker`). The learner never sees this; the nbgrader
version of a lesson (:mod:`collapse_edu.grading`) uses it to turn a checker cell into an autograded
test: the cell runs as the learner sees it, then asserts that every check it ran passed.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from .validation import check_float

PASS = "✅"
FAIL = "❌"
TODO = "✏️"


def _describe(args: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" if np.ndim(v) == 0 else f"{k}=<array {np.shape(v)}>" for k, v in args.items())


def _tolerances(rtol: object, atol: object) -> tuple[float, float]:
    """The relative and absolute tolerances of a check: finite and >= 0 (an infinite or NaN tolerance
    would pass any answer, or none)."""
    return check_float("rtol", rtol, 0.0), check_float("atol", atol, 0.0)


def _compare(got: Any, expected: Any, rtol: float, atol: float, entries: Sequence[str] | None = None) -> str | None:
    """None if ``got`` matches ``expected``, else a sentence saying how it differs; ``entries`` names the
    entries of a 1-D result (what a learner cannot know by its index alone)."""
    if got is None:
        return "got None: does the function end with a `return` statement?"
    if isinstance(got, (str, bytes)):
        return f"expected a number or an array of numbers, got the text {got!r}"
    if np.asarray(got).dtype == bool and np.asarray(expected).dtype != bool:
        return f"expected a number or an array of numbers, got True/False ({got!r})"
    try:
        got_array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected a number or an array of numbers, got {type(got).__name__}"
    expected_array = np.asarray(expected, dtype=float)
    if got_array.shape != expected_array.shape:
        return f"expected shape {expected_array.shape}, got shape {got_array.shape}"
    differs = ~np.isclose(got_array, expected_array, rtol=rtol, atol=atol, equal_nan=True)
    if not np.any(differs):
        return None
    if np.any(np.isnan(got_array) & ~np.isnan(expected_array)):  # NaN where a number was expected
        return "the result contains NaN (a division by zero or the log of a negative number?)"
    if got_array.ndim == 0:
        return f"expected {float(expected_array):.6g}, got {float(got_array):.6g}"
    # the example is the worst of the entries that differ (an entry that is NaN on both sides matches)
    gap = np.where(differs, np.nan_to_num(np.abs(got_array - expected_array), nan=np.inf), -1.0)
    worst = int(np.argmax(gap))
    index = np.unravel_index(worst, got_array.shape)
    if entries is not None and got_array.ndim == 1 and len(entries) == got_array.size:
        where = entries[worst]
    else:  # Python's index (from 0), said so: a learner reads "entry 1" as the first one
        where = "at index " + (str(index[0]) if got_array.ndim == 1 else str(tuple(int(i) for i in index)))
        where += " (counting from 0)"
    return (
        f"{int(np.sum(differs))} of {got_array.size} entries differ; e.g. {where}: "
        f"expected {expected_array.flat[worst]:.6g}, got {got_array.flat[worst]:.6g}"
    )


def _snapshot(case: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a case's arguments: each call gets its own, and a learner's change to one is seen."""
    return copy.deepcopy(dict(case))


def _numbers(value: Any) -> np.ndarray | None:
    """``value`` as an array if it is numbers (an array, a list of them), else None (a generator, text, a
    model: nothing the in-place check can compare by value)."""
    if not isinstance(value, (np.ndarray, list, tuple)):
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biuf" else None


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The names of the arguments of numbers (arrays, lists) that a call changed in place."""
    changed = []
    for key, value in before.items():
        old, new = _numbers(value), _numbers(after[key])
        if old is None:
            continue
        if new is None or not np.array_equal(old, new, equal_nan=old.dtype.kind == "f"):
            changed.append(key)
    return changed


_VERDICTS: list[bool] = []
F = TypeVar("F", bound=Callable[..., bool])


def checker(func: F) -> F:
    """Decorator for an answer checker: record whether it passed (its return value) for graded versions."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> bool:
        verdict = func(*args, **kwargs)
        _VERDICTS.append(verdict is True)
        return verdict

    return wrapper  # type: ignore[return-value]


def verdict_count() -> int:
    """How many checks have run in this kernel (a mark for :func:`assert_checks_passed`)."""
    return len(_VERDICTS)


def verdicts_since(since: int) -> list[bool]:
    """The verdicts (True = passed) recorded after the mark ``since`` (see :func:`verdict_count`)."""
    return list(_VERDICTS[since:])


def assert_checks_passed(since: int) -> None:
    """Raise ``AssertionError`` unless at least one check ran after the mark ``since`` and all of them passed.

    The last line of an autograded nbgrader test cell: the checker's own printout says what is wrong.
    """
    verdicts = _VERDICTS[since:]
    if not verdicts:
        raise AssertionError("no answer checker ran in this cell")
    failed = verdicts.count(False)
    if failed:
        raise AssertionError(f"{failed} of {len(verdicts)} checks did not pass (the lines above say why)")


#: What :func:`call_learner` returns for a stub that is not written yet (or no function at all: a checker
#: stops at once on it), and for any other error.
STUB, RAISED = object(), object()


def call_learner(where: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` for a learner's function, with every failure said in words.

    Returns the result, :data:`STUB` after printing "not written yet" for a stub that still raises
    ``NotImplementedError`` (or after saying that ``func`` is not a function at all), or :data:`RAISED`
    after printing the error (``where`` names the call).
    """
    if not callable(func):  # one sentence, not one failure per case
        shown = repr(func)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        print(
            f"{FAIL} TypeError: the checker needs your function itself, got {type(func).__name__} {shown}: "
            "pass its name without brackets, e.g. check(my_function), not check(my_function(...))"
        )
        return STUB
    try:
        return func(*args, **kwargs)
    except NotImplementedError as stub:
        said = str(stub)  # nbgrader's stub, a bare NotImplementedError(), says nothing: no dangling colon
        print(f"{TODO} {_stub_name(stub, func)} is not written yet" + (f": {said}" if said else "."))
        return STUB
    except Exception as error:  # noqa: BLE001 - any learner error becomes a sentence
        print(f"{FAIL} {where} raised {type(error).__name__}: {error}")
        return RAISED


#: How every exercise stub of a student notebook starts its NotImplementedError (collapse_edu.student writes them).
STUB_MESSAGE = "Student exercise: "


def _stub_name(stub: NotImplementedError, func: Callable[..., Any]) -> str:
    """The exercise that is not written yet: the function whose stub raised ``stub``, even when a checker
    calls it through a wrapper of its own (``fast_step_moments`` around ``fast_step``). A stub is ours
    (``STUB_MESSAGE``) or nbgrader's bare ``NotImplementedError()`` raised in the learner's notebook
    (``__main__``); any other ``NotImplementedError`` names ``func``."""
    frame = stub.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is not None:
        code, notebook = frame.tb_frame.f_code, frame.tb_frame.f_globals.get("__name__") == "__main__"
        if str(stub).startswith(STUB_MESSAGE) or (not str(stub) and notebook and code.co_name != "<module>"):
            return code.co_name
    return getattr(func, "__name__", "your function")


@checker
def check_value(
    answer: Any, expected: Any, *, name: str = "your answer", rtol: float = 1e-6, atol: float = 1e-12, hint: str = ""
) -> bool:
    """Compare one answer with the expected value and say what is wrong."""
    rtol, atol = _tolerances(rtol, atol)
    problem = _compare(answer, expected, rtol, atol)
    if problem is None:
        print(f"{PASS} {name} is correct.")
        return True
    print(f"{FAIL} {name}: {_sentence(problem)}" + (f" Hint: {hint}" if hint else ""))
    return False


@checker
def check_function(
    func: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Mapping[str, Any]],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-12,
    hint: str = "",
    name: str | None = None,
    entries: Sequence[str] | None = None,
) -> bool:
    """Call ``func`` and ``reference`` on every case (keyword arguments) and compare the results.

    A stub that still raises ``NotImplementedError`` is reported as "not done yet". Each call gets its
    own copy of the case, so a function that changes its input in place is told so (and cannot change
    what the reference sees). ``name`` is what the lines call ``func`` (default: its own name; a checker
    that wraps the learner's function names the learner's), ``entries`` names the entries of a 1-D
    result.
    """
    rtol, atol = _tolerances(rtol, atol)
    if isinstance(cases, (str, bytes, Mapping)) or not isinstance(cases, Sequence):
        raise TypeError(f"cases must be a list of keyword-argument dicts, got {type(cases).__name__}")
    if not cases or not all(isinstance(case, Mapping) for case in cases):
        raise ValueError("cases must hold at least one case, each a dict of keyword arguments")
    name = name or getattr(func, "__name__", "your function")
    failures = 0
    for number, case in enumerate(cases, 1):
        # cases of the same shapes read alike: each line says which case it is
        where = f"{name}({_describe(case)})" + (f" [case {number} of {len(cases)}]" if len(cases) > 1 else "")
        given = _snapshot(case)
        got = call_learner(where, func, **given)
        if got is STUB:
            return False
        if got is RAISED:
            failures += 1
            continue
        changed = _changed(case, given)
        if changed:
            print(
                f"{FAIL} {where}: changed its input {', '.join(changed)} in place; work on a copy "
                f"(e.g. x = x - x.mean(), not x -= x.mean())."
            )
            failures += 1
            continue
        problem = _compare(got, reference(**_snapshot(case)), rtol, atol, entries)
        if problem is not None:
            print(f"{FAIL} {where}: {_sentence(problem)}")
            failures += 1
    if failures:
        print(f"{failures} of {len(cases)} checks failed." + (f" Hint: {hint}" if hint else ""))
        return False
    print(f"{PASS} {name} passed " + (f"all {len(cases)} checks." if len(cases) > 1 else "its check."))
    return True


def _sentence(text: str) -> str:
    """``text`` ended with a full stop, unless it ends with one already (or with a question mark)."""
    return text if text.endswith((".", "?", "!")) else text + "."
