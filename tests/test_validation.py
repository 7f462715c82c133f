"""Argument checks: one-line errors that name the argument and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collapse_edu.validation import as_rng, check_choice, check_float, check_fraction, check_int


@given(st.integers(-(10**6), 10**6))
def test_check_int_accepts_integers_in_range(value):
    assert check_int("k", value) == value
    assert check_int("k", np.int64(value)) == value
    assert type(check_int("k", np.int32(7))) is int
    if value >= 0:
        assert check_int("k", value, minimum=0) == value
    else:
        with pytest.raises(ValueError, match=rf"^k must be >= 0, got {value}$"):
            check_int("k", value, minimum=0)


@pytest.mark.parametrize("bad", [1.0, 2.5, "3", None, True, False, np.float64(2.0), [1]])
def test_check_int_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="^runs must be an integer, got "):
        check_int("runs", bad)


def test_check_int_maximum():
    assert check_int("ddof", 1, 0, 1) == 1
    with pytest.raises(ValueError, match="^ddof must be <= 1, got 2$"):
        check_int("ddof", 2, 0, 1)


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False))
def test_check_float_range(value, minimum):
    if value >= minimum:
        assert check_float("x", value, minimum) == value
    else:
        with pytest.raises(ValueError, match="^x must be >= "):
            check_float("x", value, minimum)


def test_check_float_details():
    assert check_float("t", 3) == 3.0 and type(check_float("t", 3)) is float
    assert check_float("t", np.float32(0.5)) == 0.5
    assert check_float("t", 0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="^temperature must be > 0.0, got 0.0$"):
        check_float("temperature", 0.0, 0.0, strict_minimum=True)
    with pytest.raises(ValueError, match="^t must be <= 2.0, got 3.0$"):
        check_float("t", 3.0, maximum=2.0)
    for bad in (float("nan"), float("inf"), -np.inf):
        with pytest.raises(ValueError, match="^t must be finite"):
            check_float("t", bad)
    for bad in ("1.0", None, True, 1j):
        with pytest.raises(TypeError, match="^t must be a number, got "):
            check_float("t", bad)


@given(st.floats(0.0, 1.0))
def test_check_fraction_accepts_the_unit_interval(r):
    assert check_fraction("real_fraction", r) == r


@given(st.one_of(st.floats(max_value=-1e-12), st.floats(min_value=1.0 + 1e-12)).filter(np.isfinite))
def test_check_fraction_rejects_outside(r):
    with pytest.raises(ValueError, match="^real_fraction must be (>= 0.0|<= 1.0)"):
        check_fraction("real_fraction", r)


def test_check_choice():
    assert check_choice("policy", "replace", ("replace", "accumulate")) == "replace"
    assert check_choice("policy", "b", iter(["a", "b"])) == "b"  # any iterable of choices
    with pytest.raises(ValueError, match="^policy must be one of 'replace', 'accumulate'; got 'recycle'$"):
        check_choice("policy", "recycle", ("replace", "accumulate"))
    with pytest.raises(TypeError, match="^policy must be one of 'a'; got 3$"):
        check_choice("policy", 3, ("a",))


def test_as_rng():
    rng = np.random.default_rng(1)
    assert as_rng(rng) is rng
    assert isinstance(as_rng(None), np.random.Generator)
    assert as_rng(5).random() == np.random.default_rng(5).random()
    with pytest.raises(ValueError, match="^seed must be >= 0"):
        as_rng(-3)
    with pytest.raises(TypeError, match="^seed must be an integer"):
        as_rng("0")


@pytest.mark.parametrize(
    "check",
    [
        lambda: check_int("n", 1, minimum=2),
        lambda: check_float("scale", -1.0, 0.0),
        lambda: check_fraction("r", 2.0),
        lambda: check_choice("estimator", "x", ["a"]),
    ],
)
def test_messages_are_one_line(check):
    with pytest.raises((ValueError, TypeError)) as info:
        check()
    assert "\n" not in str(info.value)
