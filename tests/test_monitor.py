"""The collapse monitor flags collapsed data, passes fresh real data, and stays in bounded memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from collapse_edu.gaussian import simulate_gaussian
from collapse_edu.monitor import _verdict, compare_files, compare_numeric, compare_text, read_text_sample, write_html


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


def test_the_narrowest_direction_is_judged_against_fresh_samples_of_the_candidates_size() -> None:
    """At 100 rows the old margin (4 x (3 SE + 2 sqrt(d/n))) exceeded the largest possible shortfall, so even a
    constant candidate passed this test; it is now graded against pairs of fresh resamples of the reference
    (one of its size, one of the candidate's)."""
    rng = np.random.default_rng(5)
    reference = rng.normal(size=(3000, 2))
    for rows in (100, 1000):
        constant = np.full((rows, 2), 0.1) + 1e-3 * rng.normal(size=(rows, 2))
        narrowed = rng.normal(size=(rows, 2)) * [1, 0.5]
        for candidate in (constant, narrowed):
            assert compare_numeric(reference, candidate)["smallest direction variance"].verdict == "flag", rows
    expected = compare_numeric(reference, rng.normal(size=(100, 2)))["smallest direction variance"].expected
    assert 0.8 < expected < 0.95  # fresh 100-row samples are narrower along their narrowest direction than 1
    for dim, rows in ((2, 50), (10, 100), (64, 1000)):  # fresh samples, light and heavy tails: never flagged
        for seed in range(6):
            r = np.random.default_rng(seed)
            real = r.standard_t(5, size=(3000 + rows, dim)) if seed % 2 else r.normal(size=(3000 + rows, dim))
            report = compare_numeric(real[:3000], real[3000:], seed=seed)
            assert report["smallest direction variance"].verdict != "flag", (dim, rows, seed)
    # a fresh candidate as large as the reference: before, the "fresh samples" were then the reference itself
    # (drawn without replacement), all exactly 1, and every such candidate was flagged (1000 x 64: 6 of 6 seeds)
    for dim, rows in ((64, 1000), (32, 500), (10, 300), (8, 200)):
        for seed in range(3):
            r = np.random.default_rng(seed)
            report = compare_numeric(r.normal(size=(rows, dim)), r.normal(size=(rows, dim)), seed=seed)
            assert report["smallest direction variance"].verdict != "flag", (dim, rows, seed)
            assert report["smallest direction variance"].expected < 1 - np.sqrt(dim / rows), (dim, rows, seed)
    few = compare_numeric(rng.normal(size=(3000, 10)), rng.normal(size=(10, 10)))
    assert "too few for the smallest-direction test" in " ".join(few.notes)


def test_a_small_real_sample_does_not_lose_clusters_by_chance() -> None:
    """Ten real rows cannot fill eight clusters: missing some is chance, not a lost mode. Before, such
    samples were flagged on cluster coverage; now a cluster counts as lost only when so few rows would be
    rare for a real sample of the same size. Four modes of which two are gone still flag at 40 rows."""
    rng = np.random.default_rng(5)
    reference = rng.normal(size=(3000, 2))
    for _ in range(30):
        small = reference[rng.choice(len(reference), 10, replace=False)]
        assert compare_numeric(reference, small)["cluster coverage"].verdict == "ok"
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6]], float)
    four = centres[rng.integers(4, size=4000)] + rng.normal(size=(4000, 2))
    two = centres[rng.integers(2, size=40)] + rng.normal(size=(40, 2))
    assert compare_numeric(four, two, clusters=4)["cluster coverage"].verdict == "flag"


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


def test_max_tokens_holds_below_one_block(tmp_path: Path) -> None:
    """Before: a file larger than its share was read as at least one whole 1 MiB block, so --max-tokens 100
    kept 201,595 tokens of a 3.4 MB file."""
    big = tmp_path / "big.txt"
    big.write_text(("\n".join(corpus_sentences()) + "\n") * 12)
    assert big.stat().st_size > 2**21
    for max_tokens in (100, 10_000, 100_000):
        kept = sum(len(s.split()) for s in read_text_sample(big, max_tokens=max_tokens))
        assert 0.3 * max_tokens <= kept <= 1.5 * max_tokens, (max_tokens, kept)


def test_a_100_mb_text_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """The monitor keeps at most max_tokens tokens per side, whatever the file size. Its peak memory
    is measured inside its own process (VmHWM), so neither an earlier child process nor the test
    process itself can mask it."""
    sentences = corpus_sentences()
    block = ("\n".join(sentences) + "\n").encode()
    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:
        while handle.tell() < 100 * 2**20:
            handle.write(block)
    assert big.stat().st_size >= 100 * 2**20
    # VmHWM is this process's own peak (a new one at exec); ru_maxrss can carry the peak of the
    # process that forked it (Linux keeps it across exec), i.e. of the pytest worker.
    program = (
        "import re, resource, sys\n"
        "from collapse_edu.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "try:\n"
        "    peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "except OSError:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == 'darwin' else 1)\n"
        "print('PEAK_KB', peak, file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, "monitor", str(big), str(big), "--max-tokens", "1000000"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "overall: OK" in result.stdout
    peak_mb = int(result.stderr.split("PEAK_KB")[-1].split()[0]) / 1024
    assert peak_mb < 700, f"peak memory {peak_mb:.0f} MB"


# --------------------------------------------------------------------------- hardening (issue 14)


def three_normal_columns(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.normal(size=(size, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 2.0]])


@pytest.mark.parametrize("seed", range(3))
def test_a_constant_column_is_reported_and_the_rest_compared(seed: int) -> None:
    """Before: a fresh sample with a column of 5.0 was flagged (smallest direction 0) and the tail
    test read "OK p = 1" from a NaN."""
    rng = np.random.default_rng(seed)
    reference = np.c_[three_normal_columns(rng, 3000), np.full(3000, 5.0)]
    fresh = np.c_[three_normal_columns(rng, 1000), np.full(1000, 5.0)]
    report = compare_numeric(reference, fresh)
    assert report.flagged == [], report.to_text()
    constant = report["constant columns"]
    assert (constant.value, constant.expected, constant.verdict) == (1, 1, "ok")
    assert "column 3 (= 5) constant in both" in constant.explanation
    assert any("constant reference column" in note for note in report.notes)
    assert all(np.isfinite(s.value) for s in report.symptoms), report.to_text()
    assert "column 3" not in report["thinnest tail mass"].explanation
    # the other columns are still compared: a shrunk candidate is caught
    shrunk = fresh.copy()
    shrunk[:, :3] *= 0.4
    assert "variance ratio" in compare_numeric(reference, shrunk).flagged


def test_constant_files_and_constant_against_varying() -> None:
    rng = np.random.default_rng(0)
    both = compare_numeric(np.full((100, 1), 5.0), np.full((100, 1), 5.0))
    assert both.verdict == "ok" and [s.name for s in both.symptoms] == ["constant columns"]
    assert "only the constant columns were compared" in both.to_text()
    assert "nan" not in both.to_text().lower()
    varying = compare_numeric(np.full((100, 1), 5.0), rng.normal(size=(100, 1)))
    assert varying["constant columns"].verdict == "warn"  # before: "variance ratio inf ... ok"
    assert "inf" not in varying.to_text()
    collapsed = compare_numeric(rng.normal(size=(500, 2)), np.c_[rng.normal(size=200), np.zeros(200)])
    assert "constant columns" in collapsed.flagged
    assert "constant only in the candidate" in collapsed["constant columns"].explanation


def test_a_rare_binary_column_held_constant_by_a_small_sample_is_not_flagged() -> None:
    """A fresh sample of 50 rows often misses a 1% value: no evidence of collapse."""
    rng = np.random.default_rng(1)
    reference = np.c_[rng.normal(size=2000), rng.random(2000) < 0.01]
    candidate = np.c_[rng.normal(size=50), np.zeros(50)]
    assert "constant columns" not in compare_numeric(reference, candidate).flagged


def test_linearly_dependent_columns_do_not_flag_a_fresh_sample() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(3000, 2)), rng.normal(size=(1000, 2))
    report = compare_numeric(np.c_[x, x.sum(1)], np.c_[y, y.sum(1)])
    assert report.flagged == [], report.to_text()
    assert any("without spread" in note for note in report.notes)


def test_monitor_files_upper_case_npy_and_named_decoding_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    np.save(tmp_path / "ref.npy", rng.normal(size=(300, 2)))
    (tmp_path / "ref.npy").rename(tmp_path / "REF.NPY")
    np.save(tmp_path / "cand.npy", rng.normal(size=(200, 2)))
    assert compare_files(tmp_path / "REF.NPY", tmp_path / "cand.npy").kind == "numeric"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"x,y\n1,2\n" + "café,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"^latin.csv: not UTF-8 text"):
        compare_files(latin, tmp_path / "cand.npy")
    nan = tmp_path / "nan.csv"
    nan.write_text("1,2\n" * 20 + "nan,3\n")
    with pytest.raises(ValueError, match=r"^nan.csv: contains NaN"):
        compare_files(nan, tmp_path / "cand.npy")


def test_a_table_against_text_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    np.savetxt(tmp_path / "ref.csv", rng.normal(size=(100, 2)), delimiter=",")
    text = tmp_path / "cand.txt"
    text.write_text("Some sentence here. " * 300)
    with pytest.raises(ValueError, match="is a numeric table but .* is text: the monitor compares like with like"):
        compare_files(tmp_path / "ref.csv", text)
    with pytest.raises(ValueError, match="numeric table"):
        compare_files(text, tmp_path / "ref.csv")


def test_compare_text_takes_a_long_string_as_the_text_itself() -> None:
    """Before: OSError "File name too long"."""
    sentences = corpus_sentences()
    half = len(sentences) // 2
    report = compare_text("\n".join(sentences[:half]), " ".join(sentences[half : half + 4000]))
    assert report.kind == "text" and report.candidate_size > 1000
    with pytest.raises(FileNotFoundError, match="candidate: no such file or folder: missing.txt"):
        compare_text(sentences[:half], "missing.txt")


def cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collapse_edu.cli", *argv], capture_output=True, text=True)


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    from collapse_edu.cli import main

    try:
        status = main(list(argv))
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_monitor_never_writes_over_its_inputs_or_foreign_files(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(9)
    reference, candidate = tmp_path / "ref.csv", tmp_path / "cand.csv"
    np.savetxt(reference, rng.normal(size=(200, 2)), delimiter=",")
    np.savetxt(candidate, rng.normal(size=(100, 2)), delimiter=",")
    before = reference.read_bytes()
    for extra in ([], ["--force"]):
        status, out, err = run_main(capsys, "monitor", str(reference), str(candidate), "--html", str(reference), *extra)
        assert status == 2 and out == "" and "is an input of monitor: refusing to write over it" in err
    assert reference.read_bytes() == before
    page = tmp_path / "notes.html"
    page.write_text("my notes")
    status, _, err = run_main(capsys, "monitor", str(reference), str(candidate), "--html", str(page))
    assert status == 2 and "did not write: " + str(page) + "; add --force to replace them" in err
    assert page.read_text() == "my notes"
    status, _, err = run_main(capsys, "monitor", str(reference), str(candidate), "--html", str(page), "--force")
    assert status == 0 and "written by collapse-edu" in page.read_text()
    status, _, err = run_main(capsys, "monitor", str(reference), str(candidate), "--html", str(page))
    assert status == 0, err  # its own file: replaced without --force
    status, _, err = run_main(capsys, "monitor", str(reference), str(candidate), "--html", str(tmp_path))
    assert status == 2 and "is a folder: give a file name" in err
    status, _, err = run_main(
        capsys, "monitor", str(reference), str(candidate), "--plot", str(tmp_path / "no" / "f.png")
    )
    assert status == 2 and "the folder " + str(tmp_path / "no") + " does not exist" in err


def test_monitor_plot_without_extension_reports_the_file_written(tmp_path: Path, capsys) -> None:
    from collapse_edu.outputs import written_by_tool

    rng = np.random.default_rng(10)
    np.save(tmp_path / "ref.npy", rng.normal(size=(200, 2)))
    np.save(tmp_path / "cand.npy", rng.normal(size=(100, 2)))
    status, _, err = run_main(capsys, "monitor", str(tmp_path / "ref.npy"), str(tmp_path / "cand.npy"), "--plot",
                              str(tmp_path / "noext"))  # fmt: skip
    assert status == 0 and f"figure written to {tmp_path / 'noext.png'}" in err
    assert not (tmp_path / "noext").exists() and written_by_tool(tmp_path / "noext.png")


def test_a_byte_order_mark_empty_and_complex_arrays(tmp_path: Path) -> None:
    """Before: a CSV saved with a byte-order mark lost its first row as a 'header'; an empty .npy gave a
    reshape error; a complex one lost its imaginary part with a warning."""
    from collapse_edu.monitor import load_numeric

    rows = np.arange(60.0).reshape(30, 2)
    text = "\n".join(",".join(f"{v:g}" for v in row) for row in rows)
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert np.array_equal(load_numeric(tmp_path / "bom.csv"), rows)
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty.npy: no rows"):
        load_numeric(tmp_path / "empty.npy")
    np.save(tmp_path / "complex.npy", np.ones((20, 2), complex))
    with pytest.raises(ValueError, match="complex.npy: expected a 1-D or 2-D array of real numbers"):
        load_numeric(tmp_path / "complex.npy")


def test_data_of_extreme_scale_are_refused_by_name(tmp_path: Path, capsys) -> None:
    """Before: values ~1e200 gave RuntimeWarnings and "variance ratio nan ... OK"; a reference ~1e-200
    "variance ratio inf ... OK". Every other scale gives the same report as the data in unit size."""
    rng = np.random.default_rng(12)
    reference, candidate = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    reference, candidate = reference / np.abs(reference).max(0), candidate / np.abs(candidate).max(0)
    for scale in (1.01e-60, 1e59):
        assert (
            compare_numeric(reference * scale, candidate * scale).to_text()
            == compare_numeric(reference, candidate).to_text()
        )
    with pytest.raises(ValueError, match=r"^reference: the largest \|value\| of column 0 is 1e\+200; "):
        compare_numeric(reference * 1e200, reference * 1e200)
    with pytest.raises(ValueError, match=r"^candidate: .* is 1e-200; the monitor needs it to be 0 or between 1e-60"):
        compare_numeric(reference, candidate * 1e-200)
    np.save(tmp_path / "huge.npy", reference * 1e200)
    np.save(tmp_path / "tiny.npy", reference * 1e-200)
    np.save(tmp_path / "unit.npy", reference)
    for pair in (("huge.npy", "huge.npy"), ("tiny.npy", "unit.npy"), ("unit.npy", "tiny.npy")):
        bad = "huge.npy" if "huge.npy" in pair else "tiny.npy"
        status, out, err = run_main(capsys, "monitor", *(str(tmp_path / name) for name in pair))
        assert status == 2 and out == "" and len(err.splitlines()) == 1
        assert err.startswith(f"collapse-edu: error: {bad}: the largest |value| of column 0 is 1e")


def test_an_empty_path_and_an_empty_folder_are_named(tmp_path: Path, capsys) -> None:
    """Before: "" was the current folder ("b.csv is a numeric table but  is text") and an empty folder
    was "text"."""
    table = tmp_path / "b.csv"
    np.savetxt(table, np.random.default_rng(13).normal(size=(50, 2)), delimiter=",")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="^reference: the path is empty; give a .csv or .npy file"):
        compare_files("", table)
    with pytest.raises(ValueError, match="^candidate: the path is empty"):
        compare_files(table, "")
    for pair in ((tmp_path / "empty", table), (table, tmp_path / "empty")):
        with pytest.raises(ValueError, match=f"^folder {tmp_path / 'empty'} holds no files$"):
            compare_files(*pair)
    status, _, err = run_main(capsys, "monitor", str(tmp_path / "empty"), str(table))
    assert status == 2 and err == f"collapse-edu: error: folder {tmp_path / 'empty'} holds no files\n"


def test_complex_and_boolean_tables_are_refused() -> None:
    """Before: a complex candidate lost its imaginary part (a ComplexWarning only) and was judged OK."""
    real = np.random.default_rng(0).normal(size=(50, 2))
    for wrong, kind in ((real + 1j, "complex128"), (real > 0, "bool")):
        with pytest.raises(TypeError, match=rf"^candidate must be a numeric 2-D array of real numbers, got {kind}"):
            compare_numeric(real, wrong)


# --------------------------------------------------------------------------- the grading rules, against exact laws


def normal_grid(size: int, scale: float = 1.0) -> np.ndarray:
    """``size`` evenly spaced quantiles of N(0, scale^2) as one column: a sample without sampling noise."""
    from scipy import stats

    return scale * stats.norm.ppf((np.arange(size) + 0.5) / size)[:, None]


def test_verdict_follows_its_documented_rule() -> None:
    """flag needs a shortfall beyond ``flag`` AND beyond 4 SE; warn beyond ``warn`` AND beyond 3 SE.
    Hand-picked points on each side of each margin (warn = 0.1, flag = 0.25, as for the variance ratio)."""
    cases = [
        (0.50, 0.10, "flag"),  # 0.5 > 0.25 and > 0.4
        (0.30, 0.09, "warn"),  # beyond flag, but 0.3 < 4 SE = 0.36; 0.3 > 3 SE = 0.27
        (0.30, 0.20, "ok"),  # 0.3 < 3 SE = 0.6: noise
        (0.20, 0.01, "warn"),  # many SE, but below the flag threshold
        (0.05, 0.001, "ok"),  # many SE, but below the warn threshold
        (-0.5, 0.01, "ok"),  # more than expected is no shortfall
    ]
    for shortfall, se, expected in cases:
        assert _verdict(shortfall, se, warn=0.1, flag=0.25) == expected, (shortfall, se)


def test_variance_ratio_margin_holds_the_noise_of_both_samples() -> None:
    """For Gaussian samples the variance ratio of a fresh candidate (n_c rows) to the reference (n_r rows)
    follows F(n_c - 1, n_r - 1). With n_c = n_r = 100 a candidate at the F law's 0.1% quantile (0.53) is
    real data and must not be warned (the SE must count both samples: sqrt(2/n_c + 2/n_r) = 0.2, not
    0.14). A 15% loss of variance at 5 000 rows each (F probability 5e-9) is far beyond noise: not ok."""
    from scipy import stats

    low = stats.f.ppf(0.001, 99, 99)
    assert 0.5 < low < 0.56
    fresh_like = compare_numeric(normal_grid(100), normal_grid(100, np.sqrt(low)))["variance ratio"]
    assert fresh_like.value == pytest.approx(low) and fresh_like.verdict == "ok", fresh_like
    assert stats.f.cdf(0.85, 4999, 4999) < 1e-8
    narrowed = compare_numeric(normal_grid(5000), normal_grid(5000, np.sqrt(0.85)))["variance ratio"]
    assert narrowed.value == pytest.approx(0.85) and narrowed.verdict in ("warn", "flag"), narrowed


def test_variance_ratio_margin_widens_with_the_kurtosis() -> None:
    """Heavy tails make the sample variance noisier: Var(s^2) / sigma^4 = (kurtosis - 1) / n. For Student's t
    with 7 degrees of freedom (kurtosis 5) a fresh 100-row sample falls at the 0.1% quantile of its variance
    ratio, estimated here by Monte Carlo (50 000 draws), to about 0.54: such a real sample must not be warned.
    A margin for Gaussian noise (kurtosis 3) would warn it (3 SE = 0.42 < its shortfall of about 0.46)."""
    from scipy import stats

    nu, size = 7, 100
    reference = stats.t.ppf((np.arange(20_000) + 0.5) / 20_000, nu)[:, None]
    draws = np.random.default_rng(0).standard_t(nu, size=(50_000, size))
    low = float(np.quantile(draws.var(axis=1), 0.001) / reference.var())
    assert 0.5 < low < 0.58, low
    grid = stats.t.ppf((np.arange(size) + 0.5) / size, nu)
    candidate = grid * np.sqrt(low * reference.var() / grid.var())
    symptom = compare_numeric(reference, candidate[:, None])["variance ratio"]
    assert symptom.value == pytest.approx(low) and symptom.verdict == "ok", symptom


def test_thinnest_tail_p_value_is_bonferroni_corrected_over_the_tails() -> None:
    """One column has two tails, so the thinnest one's exact Poisson p-value is doubled. The reference
    (10 000 rows) has 1% beyond each quantile; 2 000 candidate rows expect 20 there. With 5 rows in the lower
    tail, P(Poisson(20) <= 5) = 7.2e-5 but the corrected p = 1.4e-4 misses the 1e-4 flag level: warn."""
    from scipy import stats

    candidate = np.concatenate([np.full(5, -3.0), np.linspace(-1.5, 1.5, 1975), np.full(20, 3.0)])[:, None]
    tail = compare_numeric(normal_grid(10_000), candidate)["thinnest tail mass"]
    p_value = 2 * stats.poisson.cdf(5, 20)
    assert 1e-4 < p_value < 1e-2
    assert tail.value == pytest.approx(5 / 2000) and tail.expected == pytest.approx(0.01)
    assert f"p = {p_value:.1g})" in tail.explanation and tail.verdict == "warn", tail


def test_tails_at_less_than_half_their_mass_are_flagged() -> None:
    """A Gaussian narrowed to sigma = 0.88 keeps Phi(-2.326 / 0.88) = 0.41% of rows beyond the reference's 1%
    quantile: 41% of the tail mass, on 20 000 rows each (82 rows where 200 are expected, Poisson p ~ 1e-25).
    The symptom is clearly present: flag."""
    from scipy import stats

    share = stats.norm.cdf(stats.norm.ppf(0.01) / 0.88)
    assert 0.0040 < share < 0.0042
    tail = compare_numeric(normal_grid(20_000), normal_grid(20_000, 0.88))["thinnest tail mass"]
    assert tail.value == pytest.approx(share, abs=1 / 20_000) and tail.verdict == "flag", tail


def four_separated_clusters(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    """Rows around four centres 20 apart (unit noise), ``counts[i]`` of them around centre i: k-means with
    k = 4 finds the centres and assigns every row to its own, so the cluster shares are exactly counts / total."""
    centres = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], float)
    labels = np.repeat(np.arange(4), counts)
    return centres[labels] + rng.normal(size=(len(labels), 2))


def test_a_cluster_is_lost_below_a_quarter_or_4_se_of_its_share_and_only_if_rare_after_bonferroni() -> None:
    """A cluster is lost when its candidate share is below a quarter of its reference share or 4 standard
    errors below it, and so few rows would be rare for a real sample: binomial tail below 0.001 / k.
    Reference: 4 clusters of 1 000 rows (share 1/4), k = 4, so the rare level is 0.00025.

    * 50 rows, 3 in cluster 0: 0.06 < 1/16, but P(Binomial(50, 1/4) <= 3) = 5.0e-4 is above 0.001 / 4: kept (ok).
    * 100 rows, 9 in cluster 0: SE = sqrt(1/4 * 3/4 / 100) = 0.0433, 1/4 - 4 SE = 0.0768; 0.09 is above that
      and above 1/16 (though below half the share): kept (ok), even though P(Binomial(100, 1/4) <= 9) = 4.3e-5.
    * 100 rows, 7 in cluster 0: 0.07 < 0.0768 and P(<= 7) = 3.0e-6: lost, one of four clusters (warn)."""
    from scipy import stats

    rng = np.random.default_rng(20)
    reference = four_separated_clusters(rng, [1000] * 4)
    share, k = 0.25, 4
    cases = [(50, 3, "ok"), (100, 9, "ok"), (100, 7, "warn")]
    for rows, in_first, verdict in cases:
        rest = rows - in_first
        candidate = four_separated_clusters(rng, [in_first, rest // 3, rest // 3, rest - 2 * (rest // 3)])
        se = np.sqrt(share * (1 - share) / rows)
        below = in_first / rows < max(share / 4, share - 4 * se)
        rare = stats.binom.cdf(in_first, rows, share) < 0.001 / k
        assert (below and rare) == (verdict == "warn"), (rows, in_first)
        symptom = compare_numeric(reference, candidate, clusters=k)["cluster coverage"]
        lost = 1 if verdict == "warn" else 0
        assert (symptom.value, symptom.verdict) == (1 - lost / k, verdict), (rows, in_first, symptom)
    assert 0.00025 < stats.binom.cdf(3, 50, share) < 0.001  # rare without the Bonferroni factor, not with it
    assert share / 4 < 0.09 < share / 2 and stats.binom.cdf(9, 100, share) < 0.00025


def test_near_duplicates_are_graded_against_the_noise_of_a_duplicate_count() -> None:
    """Near-duplicate rate: ``flag`` when the excess over the reference's rate (at the candidate's size) is
    above 0.05 and 4 SE, ``warn`` above 0.01 and 3 SE, with SE = sqrt(max(rate, 1/n) / n), the noise of a
    Poisson count of duplicates (at least one duplicate's worth). The reference's rows are all distinct
    (rate 0).

    * 1 000 rows, 80 copies of earlier rows: excess 0.08 > 0.05 and > 4 SE = 4 sqrt(0.001 / 1000) = 0.004: flag.
    * 20 rows, 2 copies: excess 0.1 > 0.05, but SE = sqrt(0.05 / 20) = 0.05, so 0.1 < 3 SE = 0.15: ok
      (P(Poisson(1) >= 2) = 0.26: two repeats in 20 rows is no evidence)."""
    from scipy import stats

    rng = np.random.default_rng(21)
    reference = rng.normal(size=(3000, 2))
    for rows, copies, verdict in ((1000, 80, "flag"), (20, 2, "ok")):
        distinct = rng.normal(size=(rows - copies, 2))
        candidate = np.r_[distinct, distinct[:copies]]
        symptom = compare_numeric(reference, candidate)["near-duplicate rate"]
        assert symptom.expected == 0 and symptom.value == pytest.approx(copies / rows), symptom
        assert symptom.verdict == verdict, (rows, copies, symptom)
    assert stats.poisson.sf(1, 1) > 0.25


def test_reservoir_sampling_keeps_every_csv_row_with_equal_probability(tmp_path: Path) -> None:
    """Algorithm R keeps each of N rows with probability max_rows / N. A CSV of N = 100 numbered rows read
    with max_rows = 10 under 300 seeds: each row is kept Binomial(300, 0.1) times (mean 30), and each
    of the ten groups of ten consecutive rows about 300 times. Pearson's chi-square over the groups (9 degrees
    of freedom; conservative here, as each draw keeps exactly 10 rows without replacement) stays below its
    0.1% quantile, 27.9; no row is never kept (probability 0.9^300 = 2e-14 per row)."""
    from scipy import stats

    from collapse_edu.monitor import load_numeric

    path = tmp_path / "rows.csv"
    path.write_text("row\n" + "\n".join(str(i) for i in range(100)) + "\n")
    seeds = 300
    kept = np.zeros(100, int)
    for seed in range(seeds):
        rows = load_numeric(path, max_rows=10, seed=seed)[:, 0].astype(int)
        assert rows.shape == (10,) and len(set(rows)) == 10
        kept[rows] += 1
    groups = kept.reshape(10, 10).sum(axis=1)
    expected = seeds * 10 / 10
    statistic = float(np.sum((groups - expected) ** 2 / expected))
    assert statistic < stats.chi2.ppf(0.999, 9), (statistic, groups)
    assert kept.min() > 0, kept


def paired_reference_sentences() -> list[str]:
    """2 000 sentences of 3 words, each written twice in a row: every fresh half of the reference (10 blocks
    of 100 sentences, pairs never cut) has exactly half its sentences repeated, so the baseline of the
    near-duplicate rate is 0.5 with no spread."""
    return [f"alpha{i} beta{i} gamma{i}" for i in range(1000) for _ in range(2)]


def test_text_repetition_excess_is_relative_to_the_room_left_above_the_expected_rate() -> None:
    """For symptoms where higher is worse, the shortfall is (value - expected) / (1 - expected): the share of
    what was still unrepeated that became repeated. Expected near-duplicate rate 0.5 (no spread):
    a candidate of 1 000 sentences with 300 distinct (rate 0.7) has shortfall 0.2 / 0.5 = 0.4 > 0.3: flag;
    with 400 distinct (rate 0.6), 0.1 / 0.5 = 0.2, between 0.15 and 0.3: warn."""
    reference = paired_reference_sentences()
    for distinct, rate, verdict in ((300, 0.7, "flag"), (400, 0.6, "warn")):
        candidate = [f"delta{j % distinct} epsilon{j % distinct} zeta" for j in range(1000)]
        symptom = compare_text(reference, candidate)["near-duplicate rate"]
        assert symptom.expected == pytest.approx(0.5) and symptom.value == pytest.approx(rate), symptom
        assert symptom.verdict == verdict, (distinct, symptom)


def test_repeated_4_grams_count_four_word_windows_only() -> None:
    """The share of 4-grams that repeat an earlier one. The candidate "p q r w0 p q r w1 ... p q r w99" repeats
    the 3-gram "p q r" 99 times but no 4-gram (each 4-word window holds one w_i at a fixed offset): 0. The
    4-gram "p q r s" repeated 100 times (400 tokens, 397 windows, 4 distinct) gives 1 - 4 / 397."""
    reference = paired_reference_sentences()
    fresh_phrase = [f"p q r w{i}" for i in range(100)]
    assert compare_text(reference, fresh_phrase)["repeated 4-grams"].value == 0
    loop = compare_text(reference, ["p q r s"] * 100)["repeated 4-grams"]
    assert loop.value == pytest.approx(1 - 4 / 397, rel=1e-12)


def test_next_token_entropy_is_in_bits() -> None:
    """H(W_{i+1} | W_i) in bits. In "a x a y" x 100 (400 tokens, 399 pairs) "a" is the context of 200 pairs and is
    followed by x or y equally (1 bit); x and y always by "a" (0 bits). So H = 200 / 399 x H2(1/2, 1/2) =
    200 / 399 bits (0.347 in nats)."""
    from scipy import stats

    symptom = compare_text(paired_reference_sentences(), ["a x a y"] * 100)["next-token entropy (bits)"]
    assert symptom.value == pytest.approx(200 / 399 * stats.entropy([0.5, 0.5], base=2), rel=1e-12)


def test_wide_tables_are_refused_in_one_line_before_they_are_read(tmp_path):
    """Before: a reference with no more rows than columns gave "ZeroDivisionError: float division by zero
    (unexpected ...)", a 200 x 20 000 table ran for minutes into 6.4 GB, and a (20, 0) table was said to have
    too few rows."""
    from collapse_edu import monitor

    rng = np.random.default_rng(0)
    np.save(tmp_path / "wide.npy", rng.normal(size=(20, monitor.MAX_COLUMNS + 1)))
    np.save(tmp_path / "empty.npy", np.zeros((20, 0)))
    (tmp_path / "wide.csv").write_text(",".join(["1"] * (monitor.MAX_COLUMNS + 1)) + "\n")
    for name in ("wide.npy", "wide.csv"):
        with pytest.raises(ValueError, match=f"has {monitor.MAX_COLUMNS + 1} columns; the monitor reads at most"):
            monitor.load_numeric(tmp_path / name)
    empty = monitor.load_numeric(tmp_path / "empty.npy")
    with pytest.raises(ValueError, match="has no columns"):
        monitor.compare_numeric(empty, empty)
    square = rng.normal(size=(12, 20))  # the direction test needs more reference rows than directions
    report = monitor.compare_numeric(square, square)
    assert "smallest direction variance" not in [s.name for s in report.symptoms]
    assert any("smallest-direction test skipped" in note for note in report.notes)
    monitor.compare_numeric(rng.normal(size=(300, 20)), square)  # a small candidate: as before


def test_a_device_is_not_a_regular_file():
    """Before: `monitor /dev/zero ...` said "no such file or folder"."""
    from collapse_edu import monitor

    with pytest.raises(ValueError, match="/dev/zero is not a regular file"):
        monitor.read_text_sample("/dev/zero")
    with pytest.raises(ValueError, match="/dev/null is not a regular file"):
        monitor.load_numeric("/dev/null")
