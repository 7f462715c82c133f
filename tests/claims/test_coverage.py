"""Every lesson's quantitative and comparative sentences are quoted by a claim test.

A sentence of a lesson's prose *claims* something checkable when it states a number (a decimal, a
percentage, a count of two or more digits) or a comparison (more, fewer, faster, halts, vanishes,
...). Each such sentence must be quoted (a stretch of at least 30 characters, compared folded) by a
module of ``tests/claims/``, normally in the ``@claim(...)`` decorator of the test that recomputes it,
or in a test that reads the checked output it restates. At least 90% per lesson; the rest must
restate a checked output cell. This test cannot see whether an assertion is right, only whether the
sentence has a test that says so: the ``@claim`` decorator keeps quote and prose together.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from claimlib import LESSONS_DIR, fold, notebook

CLAIMS_DIR = Path(__file__).resolve().parent
MINIMUM_SHARE = 0.9
QUOTE_WIDTH = 30

COMPARISON = re.compile(
    r"\b(more|less|fewer|larger|smaller|faster|slower|higher|lower|grow\w*|fall\w*|shrink\w*|rise\w*|"
    r"halt\w*|vanish\w*|disappear\w*|surviv\w*|beats?|better|worse|twice|half as|drops?|keeps?|loses?|"
    r"collapses?|recover\w*|prevents?|protects?)\b",
    re.I,
)
NUMBER = re.compile(r"(?<![\w^{.])(\d+\.\d+|\d+\s?%|\d{1,3}(?:,\d{3})+|\d{2,})(?![\w}])")
# Numbers that name things rather than measure them: lessons, sections, settings, papers, years.
NAMING = re.compile(
    r"\b(lessons?|sections?|exercises?|figures?|cells?|steps?|parts?|generations?|seeds?|runs?|n|t|d|k|r|K|T|"
    r"order|top-k|version|pep|chapter|table)\s*[=:]?\s*~?\d[\d.,]*\w*"
    r"|arXiv:?\s*\d+\.\d+|\b(19|20)\d\d\b|_\{?\d+\}?|\(\d+ min\)|\b\d+\s*min\b",
    re.I,
)
SKIP_LINE = re.compile(r"^\s*(#|\[!\[|\|?\s*-{3})|https?://|arXiv:\d", re.I)


def sentences(markdown: str) -> list[str]:
    """The sentences of a markdown cell, skipping headings, badges, links and reference lines."""
    lines = [line.strip() for line in markdown.splitlines() if line.strip() and not SKIP_LINE.search(line)]
    text = " ".join(lines)
    return [s.strip() for s in re.split(r"(?<=[.!?;])\s+(?=[A-Z(*\"'`$<])", text) if s.strip()]


def claims_of(number: str) -> list[str]:
    """The sentences of lesson ``number`` that state a number or a comparison (not in Further reading)."""
    found = []
    for cell in notebook(number).cells:
        if cell.cell_type != "markdown":
            continue
        source = cell.source.split("## Further reading")[0]
        for sentence in sentences(source):
            words = NAMING.sub(" ", sentence)
            if NUMBER.search(words) or COMPARISON.search(words):
                found.append(sentence)
    return found


def quoted(sentence: str, corpus: str) -> bool:
    folded = fold(sentence)
    if len(folded) <= QUOTE_WIDTH:
        return folded in corpus
    return any(folded[i : i + QUOTE_WIDTH] in corpus for i in range(0, len(folded) - QUOTE_WIDTH + 1, 5))


def claims_corpus() -> str:
    return " ".join(fold(p.read_text(encoding="utf-8")) for p in sorted(CLAIMS_DIR.glob("*.py")))


LESSON_NUMBERS = sorted(p.name[:2] for p in LESSONS_DIR.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("number", LESSON_NUMBERS)
def test_lesson_claims_are_quoted_by_claim_tests(number: str) -> None:
    corpus = claims_corpus()
    found = claims_of(number)
    missing = [s for s in found if not quoted(s, corpus)]
    share = 1 - len(missing) / len(found) if found else 1.0
    listing = "\n".join(f"  - {s}" for s in missing)
    assert share >= MINIMUM_SHARE, (
        f"lesson {number}: {len(found) - len(missing)} of {len(found)} claim sentences are quoted by a claim test "
        f"({share:.0%}, need {MINIMUM_SHARE:.0%}). Not quoted:\n{listing}"
    )


@pytest.mark.parametrize("number", LESSON_NUMBERS)
def test_every_lesson_has_a_claim_module(number: str) -> None:
    modules = list(CLAIMS_DIR.glob(f"test_lesson_{number}*.py"))
    assert len(modules) == 1, f"lesson {number} needs exactly one claim module tests/claims/test_lesson_{number}_*.py"


def test_claim_detection_examples() -> None:
    """The detector flags measured numbers and comparisons, not names of lessons, settings or years."""

    def claim(s):
        return bool(NUMBER.search(NAMING.sub(" ", s)) or COMPARISON.search(NAMING.sub(" ", s)))

    assert claim("The vocabulary drops to 1155 words.")
    assert claim("Perplexity rises about eightfold.")
    assert claim("About 37% of the words seen once are gone.")
    assert not claim("Lesson 03 uses n = 100 for generation 5 (5 min).")
    assert not claim("See Shumailov et al. 2024, arXiv:2305.17493.")
