"""Answer checkers: right, wrong, stub, exception and shape each get a clear sentence."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_edu.exercises import FAIL, PASS, TODO, check_function, check_value


def reference(n, ddof=0):
    return (n - 1) / (n - ddof)


CASES = [dict(n=2), dict(n=10), dict(n=100, ddof=1)]


def test_right_function(capsys):
    def shrink(n, ddof=0):
        return (n - 1) / (n - ddof)

    assert check_function(shrink, reference, CASES) is True
    out = capsys.readouterr().out
    assert out == f"{PASS} shrink passed all 3 checks.\n"


def test_wrong_function_names_the_case(capsys):
    def shrink(n, ddof=0):
        return (n - 1) / n  # ignores ddof

    assert check_function(shrink, reference, CASES, hint="use ddof") is False
    out = capsys.readouterr().out
    assert f"{FAIL} shrink(n=100, ddof=1) [case 3 of 3]: expected 1, got 0.99." in out
    assert "1 of 3 checks failed. Hint: use ddof" in out
    assert PASS not in out


def test_stub_says_not_written_yet(capsys):
    def shrink(n, ddof=0):
        raise NotImplementedError("Student exercise: divide by n - ddof")

    assert check_function(shrink, reference, CASES) is False
    out = capsys.readouterr().out
    assert out.strip() == f"{TODO} shrink is not written yet: Student exercise: divide by n - ddof"
    assert "not written yet" in out


def test_a_stub_behind_a_wrapper_is_named_by_its_own_name(capsys):
    """A checker may call the learner's function through its own wrapper (lesson 01's fast_step_moments around
    fast_step); "not written yet" names the exercise, not the wrapper."""

    def fast_step(n, ddof=0):
        raise NotImplementedError("Student exercise: draw the sufficient statistics")

    def fast_step_moments(n, ddof=0):
        return fast_step(n, ddof) + 1

    assert check_function(fast_step_moments, reference, CASES) is False
    assert capsys.readouterr().out.startswith(f"{TODO} fast_step is not written yet: Student exercise: draw")

    def uses_library(n, ddof=0):  # a NotImplementedError that is no exercise stub: the function called is named
        raise NotImplementedError("no such method")

    assert check_function(uses_library, reference, CASES) is False
    assert capsys.readouterr().out.startswith(f"{TODO} uses_library is not written yet: no such method")


NBGRADER_STUBS = '''
from collapse_edu.exercises import check_function


def fast_step(mu, sigma, n):
    """One generation."""
    # Hint: draw the sufficient statistics
    raise NotImplementedError()


def fast_step_moments(n):
    return fast_step(0.0, 1.0, n)


def shrink(n, ddof=0):
    raise NotImplementedError()


check_function(fast_step_moments, lambda n: n, [{"n": 2}])
check_function(shrink, reference, [{"n": 2}])
'''


def test_nbgraders_bare_stub_names_the_exercise_without_a_dangling_colon(capsys):
    """Before: nbgrader's release stub, a bare ``raise NotImplementedError()`` in the notebook (``__main__``),
    read "✏️ fast_step_moments is not written yet: ": the checker's wrapper, then nothing after the colon."""
    exec(NBGRADER_STUBS, {"__name__": "__main__", "reference": reference})
    assert capsys.readouterr().out.splitlines() == [
        f"{TODO} fast_step is not written yet.",
        f"{TODO} shrink is not written yet.",
    ]

    def from_a_library(n, ddof=0):  # a bare NotImplementedError outside the notebook: the function called is named
        raise NotImplementedError()

    assert check_function(from_a_library, reference, CASES) is False
    assert capsys.readouterr().out == f"{TODO} from_a_library is not written yet.\n"


def test_exception_is_reported_not_raised(capsys):
    def shrink(n, ddof=0):
        if n == 2:
            return 1 / 0
        return (n - 1) / (n - ddof)

    assert check_function(shrink, reference, [dict(n=2), dict(n=10)]) is False
    out = capsys.readouterr().out
    assert f"{FAIL} shrink(n=2) [case 1 of 2] raised ZeroDivisionError: division by zero" in out
    assert "1 of 2 checks failed." in out


def test_shape_mismatch(capsys):
    def moments(x):
        return np.array([x.mean(), x.std(), 0.0])

    def moments_ref(x):
        return np.array([x.mean(), x.std()])

    assert check_function(moments, moments_ref, [dict(x=np.arange(5.0))]) is False
    out = capsys.readouterr().out
    assert "moments(x=<array (5,)>): expected shape (2,), got shape (3,)." in out


def test_array_difference_points_at_an_entry(capsys):
    def f(x):
        return x + np.array([0.0, 0.0, 1.0])

    assert check_function(f, lambda x: x, [dict(x=np.zeros(3))]) is False
    out = capsys.readouterr().out
    assert "1 of 3 entries differ; e.g. at index 2 (counting from 0): expected 0, got 1." in out
    assert check_function(lambda x: x + np.eye(2)[1:], lambda x: x, [dict(x=np.zeros((1, 2)))]) is False
    assert "e.g. at index (0, 1) (counting from 0): expected 0, got 1." in capsys.readouterr().out


def test_something_that_is_not_a_function_is_said_once(capsys):
    """Before: one "raised TypeError: 'int' object is not callable" per case (46 lines from capstone's
    check_diagnose, which goes through the same call_learner)."""
    from collapse_edu.capstone import check_diagnose

    said = (
        f"{FAIL} TypeError: the checker needs your function itself, got int 3: pass its name without brackets, "
        "e.g. check(my_function), not check(my_function(...))\n"
    )
    assert check_function(3, reference, CASES) is False
    assert capsys.readouterr().out == said
    assert check_diagnose(3) is False
    assert capsys.readouterr().out == said


def test_non_numeric_and_nan(capsys):
    assert check_value("seven", 7.0, name="the median") is False
    assert "the median: expected a number or an array of numbers, got the text 'seven'." in capsys.readouterr().out
    assert check_value("0.5", 0.5) is False  # a number written as text is not the number
    assert "got the text '0.5'" in capsys.readouterr().out
    assert check_value(True, 1.0) is False and "got True/False" in capsys.readouterr().out
    assert check_value(np.nan, 7.0) is False
    assert "contains NaN" in capsys.readouterr().out
    assert check_value({"a": 1}, 7.0) is False and "got dict" in capsys.readouterr().out


def test_a_missing_return_is_named(capsys):
    def forgot(x):
        x + 1  # noqa: B018 - the learner's slip under test

    assert check_function(forgot, lambda x: x + 1, [dict(x=1.0)]) is False
    assert "got None: does the function end with a `return` statement?" in capsys.readouterr().out


def test_boolean_answers_are_fine_where_booleans_are_expected():
    assert check_value(np.array([True, False]), np.array([True, False])) is True


def test_cases_must_be_a_non_empty_list_of_dicts():
    with pytest.raises(ValueError, match="cases must hold at least one case"):
        check_function(abs, abs, [])
    with pytest.raises(TypeError, match="cases must be a list of keyword-argument dicts, got dict"):
        check_function(abs, abs, {"x": 1})
    with pytest.raises(ValueError, match="cases must hold at least one case, each a dict"):
        check_function(abs, abs, [1, 2])


def test_check_value(capsys):
    assert check_value(0.5 + 1e-9, 0.5, name="a") is True
    assert capsys.readouterr().out == f"{PASS} a is correct.\n"
    assert check_value(0.6, 0.5, name="a", hint="look at n") is False
    assert capsys.readouterr().out == f"{FAIL} a: expected 0.5, got 0.6. Hint: look at n\n"
    assert check_value(np.ones((2, 2)), np.ones(4)) is False
    assert "expected shape (4,), got shape (2, 2)" in capsys.readouterr().out


@pytest.mark.parametrize(("got", "ok"), [(1.0 + 5e-7, True), (1.0 + 5e-3, False)])
def test_tolerances(capsys, got, ok):
    assert check_value(got, 1.0) is ok
    assert check_value(got, 1.0, rtol=1e-2) is True


@pytest.mark.parametrize(
    ("tolerances", "error", "match"),
    [
        ({"rtol": float("inf")}, ValueError, "^rtol must be finite"),  # before: any answer was correct
        ({"rtol": float("nan")}, ValueError, "^rtol must be finite"),
        ({"rtol": -1e-6}, ValueError, "^rtol must be >= 0"),
        ({"atol": float("inf")}, ValueError, "^atol must be finite"),
        ({"atol": float("nan")}, ValueError, "^atol must be finite"),
        ({"atol": -1.0}, ValueError, "^atol must be >= 0"),
        ({"atol": "0.1"}, TypeError, "^atol must be a number"),
    ],
)
def test_tolerances_must_be_finite_and_not_negative(tolerances, error, match, capsys):
    with pytest.raises(error, match=match):
        check_value(1.0, 2.0, **tolerances)
    with pytest.raises(error, match=match):
        check_function(lambda x: x, lambda x: x + 1, [{"x": 1.0}], **tolerances)
    assert capsys.readouterr().out == ""  # refused before any verdict is printed
    assert check_value(1.0, 1.0, rtol=0, atol=0) is True


def test_a_function_that_changes_its_input_is_told_and_cannot_fool_the_reference(capsys):
    """Before: the reference was called after the learner's function on the same arrays, so centring the
    data in place (``x -= x.mean()``) and then reporting its mean passed ("passed all 3 checks")."""

    def fit(x):
        x -= x.mean()
        return x.mean(), np.sqrt(np.mean(x**2))

    def reference(x):
        return x.mean(), x.std()

    cases = [{"x": np.array([1.0, 2.0, 4.0])}, {"x": np.array([0.0, 3.0])}]
    assert check_function(fit, reference, cases) is False
    out = capsys.readouterr().out
    assert "fit(x=<array (3,)>) [case 1 of 2]: changed its input x in place; work on a copy" in out
    assert np.array_equal(cases[0]["x"], [1.0, 2.0, 4.0]), "the case itself is left as it was"
    assert check_function(lambda x: (x.mean(), x.std()), reference, cases) is True


def test_the_example_entry_is_one_that_differs_and_a_nan_in_its_place_is_no_error(capsys):
    """Before: the example was the argmax of |got - expected|, which lands on a NaN that matches
    ("at index 1: expected nan, got nan"), and any NaN was called a division by zero."""
    expected = np.array([0.5, np.nan, 0.25])
    assert check_function(lambda: np.array([1.0, np.nan, 0.25]), lambda: expected, [{}]) is False
    out = capsys.readouterr().out
    assert "1 of 3 entries differ; e.g. at index 0 (counting from 0): expected 0.5, got 1." in out
    assert "NaN" not in out
    assert check_function(lambda: np.array([0.5, np.nan, np.nan]), lambda: expected, [{}]) is False
    assert "the result contains NaN" in capsys.readouterr().out  # NaN where a number was expected


def test_named_entries_and_the_learners_name_in_a_wrapped_check(capsys):
    """Before: a checker that wraps the learner's function spoke of the wrapper ("fast_step_moments")
    and of "index 2", which the learner cannot decode."""
    assert check_function(lambda n: np.array([0.0, 1.0]), lambda n: np.array([0.0, 0.5]), [{"n": 3}],
                          name="step", entries=["mean", "spread"]) is False  # fmt: skip
    assert "❌ step(n=3): 1 of 2 entries differ; e.g. spread: expected 0.5, got 1." in capsys.readouterr().out
    assert check_function(lambda n: n, lambda n: n, [{"n": 3}]) is True
    assert "passed its check." in capsys.readouterr().out  # not "passed all 1 checks"
    assert check_function(lambda: None, lambda: 1.0, [{}]) is False
    assert "`return` statement?\n" in capsys.readouterr().out  # no "?." at the end


def test_arguments_that_are_not_numbers_are_not_said_to_change(capsys):
    """Before: a generator, an array of text or any object without value equality was reported as "changed
    its input ... in place" (a deep copy is never == the original)."""

    def draw(rng, n, names):
        return float(n)

    case = {"rng": np.random.default_rng(0), "n": 5, "names": np.array(["a", "b"])}
    assert check_function(draw, lambda rng, n, names: 5.0, [case]) is True
    assert "in place" not in capsys.readouterr().out

    def grows(x):
        x.append(1.0)
        return 0.0

    assert check_function(grows, lambda x: 0.0, [{"x": [1.0, 2.0]}]) is False  # a list of numbers: still checked
    assert "changed its input x in place" in capsys.readouterr().out
