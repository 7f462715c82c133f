"""Every exercise checker of every lesson is tested against plausible wrong answers.

Each lesson's claim module defines ``test_checkers = checker_tests("NN", WRONG_ANSWERS)``; this test
reads those registrations and asks for at least two wrong implementations per exercise function.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from claimlib import LESSONS_DIR, exercise_functions

CLAIMS_DIR = Path(__file__).resolve().parent
MINIMUM_WRONG_ANSWERS = 2
LESSON_NUMBERS = sorted(p.name[:2] for p in LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))


def registered_wrong_answers(number: str) -> dict[str, list[str]]:
    modules = sorted(CLAIMS_DIR.glob(f"test_lesson_{number}*.py"))
    if not modules:
        return {}
    spec = importlib.util.spec_from_file_location(f"_claims_{number}", modules[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    checker = getattr(module, "test_checkers", None)
    return dict(getattr(checker, "wrong_answers", {}))


@pytest.mark.parametrize("number", LESSON_NUMBERS)
def test_every_checker_rejects_at_least_two_wrong_answers(number: str) -> None:
    wrong = registered_wrong_answers(number)
    short = {
        name: len(wrong.get(name, []))
        for name in exercise_functions(number)
        if len(wrong.get(name, [])) < MINIMUM_WRONG_ANSWERS
    }
    assert not short, (
        f"lesson {number}: these exercise functions have fewer than {MINIMUM_WRONG_ANSWERS} wrong answers "
        f"registered in WRONG_ANSWERS (name: count): {short}"
    )
