"""The collapse monitor flags collapsed data, passes fresh real data, and stays in bounded memory."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from collapse_edu.gaussian import simulate_gaussian
from collapse_edu.monitor import compare_files, compare_numeric, compare_text, read_text_sample, write_html


def real_gaussian(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.normal(size=(size, 1))


@pytest.mark.parametrize("seed", range(5))
def test_fresh_real_numeric_sample_is_not_flagged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(3000, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 2.0]])
    fresh = rng.normal(size=(1000, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 2.0]])
    report = compare_numeric(reference, fresh)
    assert report.flagged == [], report.to_text()


def test_collapsed_gaussian_generation_of_lesson_01_is_flagged() -> None:
    """Lesson 01's setting: n = 100 per generation; generation 100 has median sigma about 0.37."""
    history = simulate_gaussian(n=100, generations=100, runs=1, seed=7)
    mu, sigma = history["mu"][-1, 0], history["sigma"][-1, 0]
    rng = np.random.default_rng(1)
    candidate = rng.normal(mu, sigma, size=(1000, 1))
    report = compare_numeric(real_gaussian(rng, 3000), candidate)
    assert sigma < 0.6
    assert {"variance ratio", "thinnest tail mass"} <= set(report.flagged), report.to_text()
    assert report.verdict == "flag"


def test_lost_cluster_is_flagged_and_one_shrunk_direction_is_seen() -> None:
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6]], float)
    reference = centres[rng.integers(4, size=4000)] + rng.normal(size=(4000, 2))
    two_modes = centres[rng.integers(2, size=2000)] + rng.normal(size=(2000, 2))
    assert "cluster coverage" in compare_numeric(reference, two_modes).flagged
    squashed = rng.normal(size=(2000, 2)) * np.array([1.0, 0.3])
    report = compare_numeric(rng.normal(size=(4000, 2)), squashed)
    assert report["smallest direction variance"].verdict == "flag"


def test_copies_are_flagged_as_near_duplicates() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(size=(2000, 2))
    copies = np.repeat(rng.normal(size=(200, 2)), 5, axis=0)
    report = compare_numeric(reference, copies)
    assert report["near-duplicate rate"].value == pytest.approx(0.8)
    assert report["near-duplicate rate"].verdict == "flag"


def corpus_sentences() -> list[str]:
    from pydoc_data.topics import topics

    return [line for doc in topics.values() for line in doc.splitlines() if line.strip()]


def test_fresh_real_text_is_not_flagged() -> None:
    sentences = corpus_sentences()
    half = len(sentences) // 2
    report = compare_text(sentences[:half], sentences[half:])
    assert report.flagged == [], report.to_text()


def test_repetitive_text_is_flagged() -> None:
    sentences = corpus_sentences()
    half = len(sentences) // 2
    rng = np.random.default_rng(0)
    narrow = list(rng.choice(sentences[half : half + 300], size=3000))  # few sentences, repeated
    report = compare_text(sentences[:half], narrow)
    assert {"near-duplicate rate", "rare-word survival"} <= set(report.flagged), report.to_text()


def test_bad_input_gives_clear_errors(tmp_path: Path) -> None:
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café au lait ".encode("latin-1") * 100)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="binary"):
        read_text_sample(binary)
    with pytest.raises(ValueError, match="UTF-8"):
        read_text_sample(latin)
    with pytest.raises(ValueError, match="empty"):
        read_text_sample(empty)
    with pytest.raises(FileNotFoundError):
        read_text_sample(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="columns"):
        compare_numeric(np.zeros((50, 2)) + np.arange(50)[:, None], np.ones((50, 3)))
    with pytest.raises(ValueError, match="NaN"):
        compare_numeric(np.full((50, 1), np.nan), np.ones((50, 1)))
    with pytest.raises(ValueError, match="kind"):
        compare_files(empty, empty, kind="images")


def test_csv_and_npy_files_and_html_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    np.save(tmp_path / "reference.npy", rng.normal(size=(3000, 2)))
    np.savetxt(tmp_path / "candidate.csv", 0.4 * rng.normal(size=(1000, 2)), delimiter=",", header="x,y", comments="")
    report = compare_files(tmp_path / "reference.npy", tmp_path / "candidate.csv")
    assert report.kind == "numeric" and report.verdict == "flag"
    write_html(report, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "FLAG" in page and "data:image/png;base64," in page


def test_cli_exit_status_follows_the_verdict(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    np.save(tmp_path / "reference.npy", rng.normal(size=(3000, 2)))
    np.save(tmp_path / "fresh.npy", rng.normal(size=(1000, 2)))
    np.save(tmp_path / "collapsed.npy", 0.3 * rng.normal(size=(1000, 2)))
    command = [sys.executable, "-m", "collapse_edu.cli", "monitor", str(tmp_path / "reference.npy")]
    fresh = subprocess.run([*command, str(tmp_path / "fresh.npy")], capture_output=True, text=True)
    collapsed = subprocess.run([*command, str(tmp_path / "collapsed.npy")], capture_output=True, text=True)
    missing = subprocess.run([*command, str(tmp_path / "nope.npy")], capture_output=True, text=True)
    assert fresh.returncode == 0 and "overall: OK" in fresh.stdout
    assert collapsed.returncode == 1 and "overall: FLAG" in collapsed.stdout
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_a_100_mb_text_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """The monitor keeps at most max_tokens tokens per side, whatever the file size."""
    sentences = corpus_sentences()
    block = ("\n".join(sentences) + "\n").encode()
    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:
        while handle.tell() < 100 * 2**20:
            handle.write(block)
    assert big.stat().st_size >= 100 * 2**20
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run(
        [sys.executable, "-m", "collapse_edu.cli", "monitor", str(big), str(big), "--max-tokens", "1000000"],
        capture_output=True,
        text=True,
    )
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert result.returncode == 0, result.stderr
    assert "overall: OK" in result.stdout
    assert peak_mb < 700 or before / 1024 >= 700, f"peak memory {peak_mb:.0f} MB"
