"""A dataset collapse monitor: compare a new version of a dataset with a trusted reference.

Model collapse shows in data before it shows in a model: a dataset that has absorbed synthetic
samples loses variance and tails, drops rare categories and words, repeats itself. The monitor
measures those symptoms for numeric tables and for text, and gives each a verdict:

* ``ok``    no sign of the symptom;
* ``warn``  a change larger than sampling noise but below the alarm threshold;
* ``flag``  the symptom is clearly present.

Every test compares the candidate with what a fresh sample of the same size from the reference
would give (so a smaller candidate is not blamed for being small), with a margin of several
standard errors, so a fresh sample of real data passes.

Memory is bounded: at most ``max_rows`` rows of a numeric file and ``max_tokens`` tokens of a text
source are kept (a uniform reservoir sample of rows; evenly spread blocks of text), whatever the
file size. Defaults: 200 000 rows, 2 000 000 tokens (well under 500 MB in total).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .outputs import HTML_MARKER
from .validation import check_int

VERDICTS = ("ok", "warn", "flag")
TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
UNIT = re.compile(r" \((?:bits|nats)\)$")  #: a unit at the end of a symptom's name


@dataclass(frozen=True)
class Symptom:
    """One measured symptom: the value seen, the value a fresh reference sample would give, a verdict."""

    name: str
    value: float
    expected: float
    verdict: str
    explanation: str

    @property
    def ratio_name(self) -> str:
        """The name without its unit ("next-token entropy (bits)" -> "next-token entropy"), for figures
        that show value / expected, which has none."""
        return UNIT.sub("", self.name)


@dataclass
class Report:
    """All symptoms of one comparison, with an overall verdict (the worst single verdict)."""

    kind: str
    reference_size: int
    candidate_size: int
    symptoms: list[Symptom] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: what was left out of the comparison, and why

    @property
    def verdict(self) -> str:
        return max((s.verdict for s in self.symptoms), key=VERDICTS.index, default="ok")

    @property
    def flagged(self) -> list[str]:
        return [s.name for s in self.symptoms if s.verdict == "flag"]

    def __getitem__(self, name: str) -> Symptom:
        for symptom in self.symptoms:
            if symptom.name == name:
                return symptom
        raise KeyError(f"no symptom {name!r}; measured: {', '.join(s.name for s in self.symptoms)}")

    def to_text(self) -> str:
        width = max((len(s.name) for s in self.symptoms), default=7)
        lines = [
            f"Collapse monitor ({self.kind}): reference {self.reference_size:,}, candidate {self.candidate_size:,}",
            f"{'symptom':<{width}}  {'candidate':>10}  {'expected':>10}  verdict  why",
        ]
        for s in self.symptoms:
            lines.append(
                f"{s.name:<{width}}  {s.value:>10.4g}  {s.expected:>10.4g}  {s.verdict.upper():<7}  {s.explanation}"
            )
        lines.extend(f"note: {note}" for note in self.notes)
        lines.append(f"overall: {self.verdict.upper()}" + (f" ({', '.join(self.flagged)})" if self.flagged else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "reference_size": self.reference_size,
            "candidate_size": self.candidate_size,
            "verdict": self.verdict,
            "symptoms": [s.__dict__ for s in self.symptoms],
            "notes": list(self.notes),
        }


def _verdict(shortfall: float, standard_error: float, *, warn: float, flag: float) -> str:
    """Grade a one-sided shortfall (how much lower than expected, relative) against noise and thresholds.

    ``flag`` when the shortfall exceeds ``flag`` and 4 standard errors; ``warn`` when it exceeds
    ``warn`` and 3 standard errors; else ``ok``.
    """
    if shortfall > flag and shortfall > 4 * standard_error:
        return "flag"
    if shortfall > warn and shortfall > 3 * standard_error:
        return "warn"
    return "ok"


# --------------------------------------------------------------------------- numeric data


def load_numeric(path: str | Path, *, max_rows: int = 200_000, seed: int = 0) -> np.ndarray:
    """Rows of a ``.npy`` or CSV file (header line allowed) as a 2-D float array, at most ``max_rows``
    of them (a uniform reservoir sample when the file has more)."""
    path = Path(path)
    max_rows = check_int("max_rows", max_rows, minimum=10)
    seed = check_int("seed", seed, minimum=0)
    if not _is_file(path):
        if path.is_dir():
            raise ValueError(f"{path} is a folder: numeric data is one .csv or .npy file")
        if path.exists():
            raise ValueError(f"{path} is not a regular file: numeric data is one .csv or .npy file")
        raise FileNotFoundError(f"no such file: {path}")
    rng = np.random.default_rng(seed)
    if path.suffix.lower() == ".npy":
        try:
            data = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, EOFError) as error:
            raise ValueError(f"{path.name}: not a numeric .npy array ({error})") from None
        real = np.issubdtype(data.dtype, np.number) and not np.issubdtype(data.dtype, np.complexfloating)
        if data.ndim not in (1, 2) or not real:
            raise ValueError(f"{path.name}: expected a 1-D or 2-D array of real numbers, got {data.dtype} {data.shape}")
        if len(data) == 0:
            raise ValueError(f"{path.name}: no rows")
        if data.ndim == 2:
            _check_columns(path.name, data.shape[1])  # before any row is read
        rows = np.sort(rng.choice(len(data), size=min(max_rows, len(data)), replace=False))
        table = np.asarray(data[rows], float).reshape(len(rows), -1)
    else:
        table = _reservoir_csv(path, max_rows, rng)
    if not np.all(np.isfinite(table)):
        raise ValueError(f"{path.name}: contains NaN or infinite values; drop or fill those rows first")
    _check_scale(path.name, table)
    return table


# The sizes of value the statistics can hold: they square values (variances) and raise them to the 4th
# power (kurtosis), so a column of values near 1e77 overflows to inf and one near 1e-77 underflows to 0.
# 1e-60 to 1e60 is far wider than any measurement in any unit, and keeps every statistic finite and exact.
SCALE_RANGE = (1e-60, 1e60)


def _check_scale(name: str, data: np.ndarray) -> None:
    """Refuse a column whose largest |value| is not 0 and lies outside :data:`SCALE_RANGE`."""
    scale = np.abs(data).max(axis=0)
    low, high = SCALE_RANGE
    bad = np.flatnonzero((scale > high) | ((scale > 0) & (scale < low)))
    if bad.size:
        raise ValueError(
            f"{name}: the largest |value| of column {bad[0]} is {scale[bad[0]]:.2g}; the monitor needs it to be 0 or "
            f"between {low:g} and {high:g} (its statistics use 4th powers): rescale that column"
        )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as error:  # a name too long to look up, a loop of links, ...
        raise ValueError(f"cannot read {str(path)[:80]}: {error.strerror}") from None


def _reservoir_csv(path: Path, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Algorithm R (Vitter 1985) over the lines of a CSV file: one pass, ``max_rows`` lines kept."""
    kept: list[list[float]] = []
    seen = 0
    with open(path, encoding="utf-8-sig", errors="strict") as handle:  # -sig: a byte-order mark is not data
        try:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                _check_columns(f"{path.name}, line {number},", line.count(",") + 1)  # before it becomes numbers
                try:
                    row = [float(v) for v in line.split(",")]
                except ValueError:
                    if number == 1:
                        continue  # a header line
                    raise ValueError(f"{path.name}, line {number}: not a row of numbers: {line[:60]!r}") from None
                seen += 1
                if len(kept) < max_rows:
                    kept.append(row)
                else:
                    slot = rng.integers(seen)
                    if slot < max_rows:
                        kept[slot] = row
        except UnicodeDecodeError as error:
            raise ValueError(f"{path.name}: not UTF-8 text ({error.reason}); save it as UTF-8") from None
    if not kept:
        raise ValueError(f"{path.name}: no numeric rows")
    if len({len(r) for r in kept}) != 1:
        raise ValueError(f"{path.name}: rows have different numbers of columns")
    return np.array(kept, float)


def _as_table(name: str, data: np.ndarray) -> np.ndarray:
    kind = np.asarray(data).dtype.kind
    if kind in "cb":  # complex would lose its imaginary part, booleans are no measurement (as the CLI says)
        raise TypeError(f"{name} must be a numeric 2-D array of real numbers, got {np.asarray(data).dtype} values")
    try:
        data = np.asarray(data, float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric 2-D array (rows, columns)") from None
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or len(data) < 10:
        raise ValueError(f"{name} must be a 2-D array (rows, columns) with at least 10 rows, got shape {data.shape}")
    if data.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {data.shape}): the monitor needs at least one")
    _check_columns(name, data.shape[1])
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{name} contains NaN or infinite values")
    _check_scale(name, data)
    return data


#: the widest table the monitor reads: its direction checks cost columns^2 memory and columns^3 time
#: (1024 columns: about 18 s and 370 MB; 20 000 columns ran for minutes into 6.4 GB)
MAX_COLUMNS = 4096


def _check_columns(name: str, columns: int) -> None:
    """Refuse more than :data:`MAX_COLUMNS` columns, before the rows are read."""
    if columns > MAX_COLUMNS:
        raise ValueError(
            f"{name} has {columns} columns; the monitor reads at most {MAX_COLUMNS} (reduce the dimension first, "
            "e.g. to the leading principal components)"
        )


def _constant_columns(data: np.ndarray) -> np.ndarray:
    """Columns with a single value (spread below 1e-12 of their magnitude)."""
    spread = data.max(axis=0) - data.min(axis=0)
    return spread <= 1e-12 * np.abs(data).max(axis=0)


def _constant_symptom(reference: np.ndarray, candidate: np.ndarray) -> Symptom | None:
    """Zero-variance columns, compared explicitly: a column the candidate holds at one value while the
    reference varies has lost all its spread (flag, unless a fresh reference sample of the candidate's
    size would often be constant too: sum_v p_v^n over the reference's values v); a column constant in
    the reference that the candidate changes is new behaviour, not collapse (warn)."""
    ref_const, can_const = _constant_columns(reference), _constant_columns(candidate)
    if not (ref_const.any() or can_const.any()):
        return None
    same = ref_const & can_const & np.isclose(reference[0], candidate[0], rtol=1e-9, atol=0)
    collapsed = np.flatnonzero(can_const & ~ref_const)
    changed = np.flatnonzero(ref_const & ~same)
    chance = max(
        (float(np.sum((np.unique(reference[:, j], return_counts=True)[1] / len(reference)) ** len(candidate)))
         for j in collapsed),
        default=0.0,
    )  # fmt: skip
    parts = []
    if same.any():
        parts.append(f"column {_columns(np.flatnonzero(same), reference[0])} constant in both")
    if collapsed.size:
        parts.append(f"column {_columns(collapsed, candidate[0])} constant only in the candidate (no spread left)")
    if changed.size:
        parts.append(f"column {_columns(changed, reference[0])} constant in the reference but not in the candidate")
    if collapsed.size and chance < 1e-4:
        verdict = "flag"
    elif collapsed.size and chance < 1e-2 or changed.size:
        verdict = "warn"
    else:
        verdict = "ok"
    return Symptom("constant columns", float(can_const.sum()), float(ref_const.sum()), verdict, "; ".join(parts))


def _columns(index: np.ndarray, values: np.ndarray) -> str:
    shown = ", ".join(f"{i} (= {values[i]:.4g})" for i in index[:4])
    return shown + (f" and {index.size - 4} more" if index.size > 4 else "")


def compare_numeric(reference: np.ndarray, candidate: np.ndarray, *, clusters: int = 8, seed: int = 0) -> Report:
    """Symptoms of collapse in numeric data (rows = samples, columns = features).

    Columns that are constant (zero variance) in the reference are compared on their own (symptom
    ``constant columns``) and left out of every other test, which need a spread to compare against;
    the report's notes say so, as they say when a test had nothing to measure."""
    reference = _as_table("reference", reference)
    candidate = _as_table("candidate", candidate)
    if reference.shape[1] != candidate.shape[1]:
        raise ValueError(f"reference has {reference.shape[1]} columns, candidate {candidate.shape[1]}")
    clusters = check_int("clusters", clusters, minimum=2, maximum=50)
    seed = check_int("seed", seed, minimum=0)
    n_r, n_c = len(reference), len(candidate)
    report = Report("numeric", n_r, n_c)

    constant = _constant_symptom(reference, candidate)
    if constant is not None:
        report.symptoms.append(constant)
    varying = ~_constant_columns(reference)
    if not varying.any():
        report.notes.append("every column of the reference is constant: only the constant columns were compared")
        return report
    if not varying.all():
        kept = np.flatnonzero(varying)
        report.notes.append(
            f"{np.sum(~varying)} constant reference column(s) left out of the other tests; they use column(s) "
            + ", ".join(map(str, kept[:8]))
            + (" ..." if kept.size > 8 else "")
        )
    columns = np.flatnonzero(varying)
    reference, candidate = reference[:, varying], candidate[:, varying]

    # Variance: log-ratio of total variance; its sampling SE is about sqrt(2/n_c + 2/n_r) for Gaussian data
    # (inflated by the kurtosis for heavy tails, hence the margins).
    v_ref, v_can = reference.var(axis=0), candidate.var(axis=0)
    ratio = v_can.sum() / v_ref.sum()
    se = np.sqrt(2 / n_c + 2 / n_r) * _kurtosis_factor(reference)
    report.symptoms.append(
        Symptom(
            "variance ratio",
            ratio,
            1.0,
            _verdict(1 - ratio, se, warn=0.1, flag=0.25),
            "total variance of the candidate / reference",
        )
    )

    # Covariance: variance along the candidate's narrowest direction in the reference's whitened
    # coordinates, so one shrunk direction shows even when the total variance is kept. Directions in
    # which the reference itself has no spread (linearly dependent columns) are left out.
    if reference.shape[1] > 1:
        white, redundant = _whitener(reference)
        if redundant:
            report.notes.append(
                f"the reference has {redundant} direction(s) without spread (linearly dependent columns): "
                "left out of the smallest-direction test"
            )
        few = [(name, rows) for name, rows in (("reference", n_r), ("candidate", n_c)) if rows <= white.shape[1]]
        if white.shape[1] > 1 and few:
            name, rows = few[0]
            report.notes.append(
                f"the {name} has {rows} rows for {white.shape[1]} directions: too few for the smallest-direction test"
            )
        elif white.shape[1] > 1:
            smallest = _smallest_direction_variance(candidate, reference.mean(0), white)
            # graded against pairs of fresh resamples of the reference (reference-sized, candidate-sized):
            # real data are narrower along their narrowest direction than the reference, and scatter
            null = _fresh_smallest_variances(reference, white, n_c, seed)
            expected, spread = float(np.median(null)), float(np.std(null))
            if expected <= 0:  # resamples of the reference without spread along some direction
                report.notes.append(
                    "fresh resamples of the reference have no spread along some direction: smallest-direction "
                    "test skipped"
                )
            else:
                report.symptoms.append(
                    Symptom(
                        "smallest direction variance",
                        smallest,
                        expected,
                        _verdict(1 - smallest / expected, spread / expected, warn=0.2, flag=0.4),
                        "variance along the candidate's narrowest direction, in reference units (expected: the "
                        f"median of {len(null)} pairs of fresh resamples of the reference, one of its size and one "
                        "of the candidate's)",
                    )
                )

    # Tails: for every column and side, the share of candidate rows beyond the reference's 1% / 99%
    # quantile. The thinnest tail is graded with an exact Poisson test (Bonferroni over the tails).
    # A side with no reference rows beyond its quantile (a column of few distinct values) has no tail.
    from scipy.stats import poisson

    low, high = np.quantile(reference, [0.01, 0.99], axis=0)
    ref_counts = np.concatenate([np.sum(reference < low, 0), np.sum(reference > high, 0)]) / n_r
    can_counts = np.concatenate([np.sum(candidate < low, 0), np.sum(candidate > high, 0)])
    has_tail = ref_counts > 0
    if not has_tail.any():
        report.notes.append("no column has reference values beyond its 1% / 99% quantiles: tail test skipped")
    else:
        expected_counts = ref_counts * n_c
        shares = np.where(has_tail, can_counts / np.where(has_tail, expected_counts, 1.0), np.inf)
        thinnest = int(np.argmin(shares))
        tails = int(has_tail.sum())
        p_value = min(1.0, tails * poisson.cdf(can_counts[thinnest], expected_counts[thinnest]))
        ratio = shares[thinnest]
        verdict = "flag" if ratio < 0.5 and p_value < 1e-4 else "warn" if ratio < 0.75 and p_value < 1e-2 else "ok"
        side = "lower" if thinnest < reference.shape[1] else "upper"
        report.symptoms.append(
            Symptom(
                "thinnest tail mass",
                can_counts[thinnest] / n_c,
                ref_counts[thinnest],
                verdict,
                f"share of rows in the {side} 1% tail of column {columns[thinnest % reference.shape[1]]}"
                f" (the emptiest tail; p = {p_value:.1g})",
            )
        )

    # Modes: k-means clusters of the reference; a cluster whose candidate share fell below a quarter of its
    # reference share (or 4 standard errors below it) is lost, provided so few candidate rows would be rare
    # for a real sample of the candidate's size (binomial tail below 0.001 / k): a small real sample misses a
    # cluster by chance. No more clusters than the reference has distinct rows.
    from scipy.stats import binom
    from sklearn.cluster import KMeans

    fit_rows = reference[: min(n_r, 5_000)]
    k = min(clusters, n_r // 10, len(np.unique(fit_rows, axis=0)))
    if k < 2:
        report.notes.append("the reference has fewer than 2 distinct rows to cluster: cluster test skipped")
    else:
        model = KMeans(n_clusters=k, n_init=2, random_state=seed).fit(fit_rows)
        ref_share = np.bincount(model.predict(reference), minlength=k) / n_r
        can_share = np.bincount(model.predict(candidate), minlength=k) / n_c
        noise = 4 * np.sqrt(ref_share * (1 - ref_share) / n_c)
        rare = binom.cdf(np.round(can_share * n_c), n_c, ref_share) < 0.001 / k
        lost = np.sum((can_share < np.maximum(ref_share / 4, ref_share - noise)) & rare)
        coverage = 1 - lost / k
        report.symptoms.append(
            Symptom(
                "cluster coverage",
                coverage,
                1.0,
                "flag" if lost >= 2 else "warn" if lost == 1 else "ok",
                f"{k - lost} of {k} reference clusters keep a fair share of rows",
            )
        )

    report.symptoms.append(_duplicate_symptom(_numeric_keys(reference, v_ref), _numeric_keys(candidate, v_ref)))
    return report


def _smallest_direction_variance(data: np.ndarray, centre: np.ndarray, white: np.ndarray) -> float:
    """The smallest eigenvalue of the covariance of ``data`` in the whitened coordinates ``white``."""
    return float(np.clip(np.linalg.eigvalsh(np.cov((data - centre) @ white, rowvar=False)).min(), 0, None))


FRESH_SAMPLES = 40  #: pairs of fresh resamples of the reference that calibrate the smallest-direction test


def _fresh_smallest_variances(reference: np.ndarray, white: np.ndarray, size: int, seed: int) -> np.ndarray:
    """What the smallest-direction test gives real data: for each of :data:`FRESH_SAMPLES` pairs of
    independent resamples of the reference rows (with replacement; the bootstrap), one of the reference's
    size and one of ``size`` rows, the smallest eigenvalue of the second's covariance relative to the
    first's (the generalised eigenvalue of the pair, as the test reads the candidate against the reference).
    The candidate and the reference are two samples that both scatter: a fresh candidate of the
    reference's own size is narrower along its narrowest direction by about (1 - sqrt(d/n))^2 and more."""
    rng = np.random.default_rng([seed, 7])
    whitened = (reference - reference.mean(0)) @ white  # covariance exactly the identity
    rows = len(whitened)
    found = []
    for _ in range(FRESH_SAMPLES):
        base = np.cov(whitened[rng.integers(rows, size=rows)], rowvar=False)
        root = np.linalg.cholesky(base + 1e-12 * np.trace(base) * np.eye(len(base)))
        drawn = np.cov(whitened[rng.integers(rows, size=size)], rowvar=False)
        relative = np.linalg.solve(root, np.linalg.solve(root, drawn).T)  # root^-1 drawn root^-T
        found.append(float(np.clip(np.linalg.eigvalsh((relative + relative.T) / 2).min(), 0, None)))
    return np.array(found)


def _kurtosis_factor(data: np.ndarray) -> float:
    centred = data - data.mean(0)
    kurt = np.mean(centred**4, axis=0) / np.maximum(np.mean(centred**2, axis=0) ** 2, 1e-300)
    return float(np.sqrt(max(1.0, (np.mean(kurt) - 1) / 2)))


def _whitener(data: np.ndarray) -> tuple[np.ndarray, int]:
    """Columns mapping data to unit variance along every direction in which the data vary, and the
    number of directions without spread (eigenvalues below 1e-10 of the largest) that it drops."""
    values, vectors = np.linalg.eigh(np.cov(data, rowvar=False))
    keep = values > 1e-10 * values.max()
    return vectors[:, keep] / np.sqrt(values[keep]), int(np.sum(~keep))


def _numeric_keys(data: np.ndarray, reference_variance: np.ndarray) -> list[bytes]:
    """Rows rounded to 1e-6 of the reference's standard deviation: equal keys are near-duplicates."""
    grid = 1e-6 * np.sqrt(np.maximum(reference_variance, 1e-300))
    return [row.tobytes() for row in np.round(data / grid).astype(np.int64)]


def _duplicate_symptom(reference_keys: list, candidate_keys: list) -> Symptom:
    """Near-duplicate rate: share of items equal to an earlier item, against the reference's rate at the
    same size (duplicates grow with size, so the reference is cut to the candidate's size)."""
    n = min(len(reference_keys), len(candidate_keys))
    rate = lambda keys: 1 - len(set(keys)) / len(keys)  # noqa: E731
    expected = rate(reference_keys[:n])
    seen = rate(candidate_keys)
    se = np.sqrt(max(expected, 1 / n) / n)
    excess = seen - expected
    verdict = "flag" if excess > 0.05 and excess > 4 * se else "warn" if excess > 0.01 and excess > 3 * se else "ok"
    return Symptom("near-duplicate rate", seen, expected, verdict, "share of items repeating an earlier item")


# --------------------------------------------------------------------------- text


def tokenize(text: str) -> list[str]:
    """Lower-case word and punctuation tokens."""
    return TOKEN.findall(text.lower())


def iter_text_files(source: str | Path) -> Iterator[Path]:
    path = Path(source)
    if _is_file(path):
        yield path
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise ValueError(f"folder {path} holds no files")
        yield from files
    elif path.exists():  # a device, a pipe, a socket: no end to read to, or nothing to read
        raise ValueError(f"{path} is not a regular file: give a UTF-8 text file or a folder of them")
    else:
        raise FileNotFoundError(f"no such file or folder: {path}")


def read_text_sample(source: str | Path, *, max_tokens: int = 2_000_000, block_chars: int = 1 << 20) -> list[str]:
    """Sentences (lines and sentence ends) from a text file or folder, in bounded memory.

    Reads whole files while the running total stays under ``max_tokens`` tokens; beyond that it
    keeps evenly spaced blocks of ``block_chars`` characters, so a 100 MB file costs no more memory
    than a few MB of text. Raises ``ValueError`` for binary or non-UTF-8 input.
    """
    max_tokens = check_int("max_tokens", max_tokens, minimum=100)
    budget_chars = max_tokens * 6  # about 6 characters per token in English
    sentences: list[str] = []
    files = list(iter_text_files(source))
    sizes = [p.stat().st_size for p in files]
    total = sum(sizes)
    if total == 0:
        raise ValueError(f"{source}: the corpus is empty")
    keep = min(1.0, budget_chars / total)
    for path, size in zip(files, sizes, strict=True):
        for chunk in _read_blocks(path, size, keep, block_chars):
            sentences.extend(s.strip() for s in SENTENCE_END.split(chunk) if s.strip())
    if not sentences:
        raise ValueError(f"{source}: no text found")
    return sentences


def _read_blocks(path: Path, size: int, keep: float, block_chars: int) -> Iterator[str]:
    with open(path, "rb") as handle:
        head = handle.read(8192)
        if b"\x00" in head:
            raise ValueError(f"{path.name}: looks binary (NUL bytes); the monitor reads UTF-8 text")
        handle.seek(0)
        if keep >= 1.0:
            blocks: Iterable[int] = [0]
            length = size
        else:  # about size * keep characters in all: blocks of block_chars, or one smaller block
            length = max(1, min(block_chars, int(size * keep)))
            count = max(1, int(size * keep / length))
            blocks = np.linspace(0, max(0, size - length), count).astype(int)
        for offset in blocks:
            handle.seek(int(offset))
            raw = handle.read(length)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                if offset == 0 and keep >= 1.0 or error.start < len(raw) - 4 and error.start > 4:
                    raise ValueError(
                        f"{path.name}: not UTF-8 text ({error.reason} at byte {offset + error.start})"
                    ) from None
                text = raw.decode("utf-8", errors="ignore")  # a block boundary cut a character in two
            if offset:
                text = text.split("\n", 1)[-1]  # start at a line boundary
            yield text


TEXT_STATISTICS_TOKENS = 300_000  # statistics are computed on at most this many tokens per side


def compare_text(
    reference: str | Path | list[str],
    candidate: str | Path | list[str],
    *,
    max_tokens: int = 2_000_000,
    rare_max_count: int = 3,
    splits: int = 8,
    seed: int = 0,
) -> Report:
    """Symptoms of collapse in text: rare-word survival, distinct-n, repetition, next-token entropy,
    duplicate sentences. ``reference`` / ``candidate`` are a file, a folder, or a list of sentences;
    a ``str`` that holds a line break or is too long to be a file name is the text itself.

    The baseline is empirical, because real text is bursty (a rare word comes with its topic) and
    corpora are uneven: the reference is cut into 20 contiguous blocks, and ``splits`` times half of
    the blocks play "the data we trained on" and the other half "a fresh real sample". The mean over
    splits is the expected value and their spread the noise a verdict must beat. Each statistic is
    computed on the same number of tokens on both sides (at most 300 000). ``max_tokens`` bounds what
    is read of a file or folder (at about 6 characters a token); a list of sentences or a text given
    as a ``str`` is taken whole.
    """
    rare_max_count = check_int("rare_max_count", rare_max_count, minimum=1)
    max_tokens = check_int("max_tokens", max_tokens, minimum=100)
    seed = check_int("seed", seed, minimum=0)
    splits = check_int("splits", splits, minimum=2, maximum=100)
    ref_sentences = _sentences("reference", reference, max_tokens)
    can_sentences = _sentences("candidate", candidate, max_tokens)
    ref_tokens = [t for t in (tokenize(s) for s in ref_sentences) if t]
    can_tokens = [t for t in (tokenize(s) for s in can_sentences) if t]
    can_flat = [t for s in can_tokens for t in s]
    ref_size = sum(map(len, ref_tokens))
    if ref_size < 400 or len(ref_tokens) < 20:
        raise ValueError(f"reference text has {ref_size} tokens in {len(ref_tokens)} sentences; need >= 400 in >= 20")
    if len(can_flat) < 200:
        raise ValueError(f"candidate text has {len(can_flat)} tokens; the monitor needs at least 200")

    blocks = np.array_split(np.arange(len(ref_tokens)), 20)
    rng = np.random.default_rng(seed)
    baseline: dict[str, list[float]] = {}
    observed: dict[str, float] = {}
    for split in range(splits + 1):
        order = rng.permutation(20)
        seen_idx = np.concatenate([blocks[b] for b in order[:10]])
        fresh_idx = np.concatenate([blocks[b] for b in order[10:]])
        seen = [ref_tokens[i] for i in seen_idx]
        fresh = [ref_tokens[i] for i in fresh_idx]
        fresh_flat = [t for s in fresh for t in s]
        n = min(len(fresh_flat), len(can_flat), TEXT_STATISTICS_TOKENS)
        sentences = min(len(fresh), len(can_tokens))
        counts = Counter(t for s in seen for t in s)
        rare = {w for w, c in counts.items() if c <= rare_max_count}
        fresh_stats = _text_statistics(fresh_flat[:n], fresh[:sentences], rare)
        if split == 0:  # the candidate is measured against the same rare words and sizes as split 0's fresh half
            observed = _text_statistics(can_flat[:n], can_tokens[:sentences], rare)
            sizes = (n, len(rare))
        for name, value in fresh_stats.items():
            baseline.setdefault(name, []).append(value)

    report = Report("text", ref_size, len(can_flat))
    explanations = {
        "rare-word survival": f"share of {sizes[1]:,} rare reference words (count <= {rare_max_count}) present",
        "distinct-1": f"different words / all words ({sizes[0]:,} tokens)",
        "distinct-2": f"different word pairs / all pairs ({sizes[0]:,} tokens)",
        "next-token entropy (bits)": "conditional entropy of a word given the previous word",
        "repeated 4-grams": "share of 4-grams that repeat an earlier one",
        "near-duplicate rate": "share of sentences repeating an earlier sentence",
    }
    higher_is_worse = {"repeated 4-grams", "near-duplicate rate"}
    for name, values in baseline.items():
        expected, spread = float(np.mean(values)), float(np.std(values, ddof=1))
        value = observed[name]
        if name in higher_is_worse:
            shortfall = (value - expected) / max(1 - expected, 1e-12)
            noise = spread / max(1 - expected, 1e-12)
        else:
            shortfall = 1 - value / expected if expected else 0.0
            noise = spread / expected if expected else 0.0
        verdict = _verdict(shortfall, noise, warn=0.15, flag=0.3)
        report.symptoms.append(Symptom(name, value, expected, verdict, explanations[name]))
    return report


def _sentences(name: str, source: object, max_tokens: int) -> list[str]:
    """Sentences of a list of sentences, of a text given as a ``str``, or of a file or folder."""
    if isinstance(source, (list, tuple)):
        if not all(isinstance(sentence, str) for sentence in source):
            raise TypeError(f"{name} as a list must hold sentences (str)")
        return list(source)
    if isinstance(source, str) and ("\n" in source or len(source) > 255 or "\x00" in source):
        return [s.strip() for s in SENTENCE_END.split(source) if s.strip()]
    if not isinstance(source, (str, Path)):
        raise TypeError(f"{name} must be a path, a text or a list of sentences, got {type(source).__name__}")
    try:
        return read_text_sample(source, max_tokens=max_tokens)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{name}: no such file or folder: {str(source)[:80]} (to compare a text itself, pass it with its line "
            "breaks or as a list of sentences)"
        ) from None


def _text_statistics(tokens: list[str], sentences: list[list[str]], rare: set[str]) -> dict[str, float]:
    present = set(tokens)
    keys = [" ".join(s) for s in sentences]
    return {
        "rare-word survival": len(rare & present) / max(len(rare), 1),
        "distinct-1": _distinct(tokens, 1),
        "distinct-2": _distinct(tokens, 2),
        "next-token entropy (bits)": _next_token_entropy(tokens),
        "repeated 4-grams": 1 - _distinct(tokens, 4),
        "near-duplicate rate": 1 - len(set(keys)) / max(len(keys), 1),
    }


def _distinct(tokens: list[str], order: int) -> float:
    grams = list(zip(*(tokens[i:] for i in range(order)), strict=False))
    return len(set(grams)) / max(len(grams), 1)


def _next_token_entropy(tokens: list[str]) -> float:
    """H(W_{i+1} | W_i) in bits from bigram counts: sum over contexts of p(context) H(next | context)."""
    pairs = Counter(zip(tokens[:-1], tokens[1:], strict=False))
    context = Counter(tokens[:-1])
    total = len(tokens) - 1
    return -sum(c / total * np.log2(c / context[a]) for (a, _), c in pairs.items())


# --------------------------------------------------------------------------- entry points


NUMERIC_SUFFIXES = (".npy", ".csv")


def compare_files(
    reference: str | Path,
    candidate: str | Path,
    *,
    kind: str = "auto",
    max_rows: int = 200_000,
    max_tokens: int = 2_000_000,
) -> Report:
    """Compare two files or folders; ``kind`` is 'numeric' (.csv/.npy), 'text', or 'auto' (by suffix).

    With 'auto', a numeric file (.csv or .npy, any case) against a text file or folder is refused:
    a table compared as text would give a meaningless report."""
    if kind not in ("auto", "numeric", "text"):
        raise ValueError(f"kind must be 'auto', 'numeric' or 'text', got {kind!r}")
    for name, given in (("reference", reference), ("candidate", candidate)):
        if str(given) == "":  # Path("") would be the current folder
            raise ValueError(f"{name}: the path is empty; give a .csv or .npy file, or a text file or folder")
        path = Path(given)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.suffix.lower() in (".npz", ".pkl", ".pickle", ".parquet", ".xlsx", ".h5", ".hdf5"):
            raise ValueError(
                f"{path}: the monitor reads numeric tables as .csv or .npy (one array) and text as plain files; "
                f"save it as one of those first"
            )
        if path.is_dir() and not any(p.is_file() and not p.name.startswith(".") for p in path.rglob("*")):
            raise ValueError(f"folder {path} holds no files")
    if kind == "auto":
        numeric = [Path(p).suffix.lower() in NUMERIC_SUFFIXES and not Path(p).is_dir() for p in (reference, candidate)]
        if numeric[0] != numeric[1]:
            table, text = (reference, candidate) if numeric[0] else (candidate, reference)
            raise ValueError(
                f"{table} is a numeric table but {text} is text: the monitor compares like with like "
                "(use --kind numeric or --kind text to read both the same way)"
            )
        kind = "numeric" if numeric[0] else "text"
    if kind == "numeric":
        return compare_numeric(load_numeric(reference, max_rows=max_rows), load_numeric(candidate, max_rows=max_rows))
    return compare_text(reference, candidate, max_tokens=max_tokens)


def report_figure(report: Report):
    """Bar chart: each symptom's candidate value relative to its expected value, coloured by verdict."""
    from .plots import new_figure

    colours = {"ok": "#009E73", "warn": "#E69F00", "flag": "#D55E00"}
    hatches = {"ok": "", "warn": "//", "flag": "xx"}
    fig, (ax,) = new_figure(width=9, height=0.55 * len(report.symptoms) + 1.8)
    names = [s.ratio_name for s in report.symptoms][::-1]
    for y, s in enumerate(report.symptoms[::-1]):
        if s.expected:
            ax.barh(y, s.value / s.expected, color=colours[s.verdict], hatch=hatches[s.verdict], edgecolor="black")
        else:  # no ratio: say so in the row rather than leave it blank like a value of 0
            ax.text(0.02, y, f"n/a (value {s.value:.2g}, expected 0)", va="center", fontsize=10)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1.5)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.4)  # every row in full, with or without a bar
    from matplotlib.patches import Patch

    present = [v for v in VERDICTS if any(s.verdict == v for s in report.symptoms)]
    handles = [Patch(facecolor=colours[v], hatch=hatches[v], edgecolor="black", label=v) for v in present]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="verdict")  # off the bars
    ax.set_xlabel("candidate / expected (1 = like a fresh reference sample)")
    ax.set_title(f"Collapse monitor ({report.kind}): overall {report.verdict.upper()}")
    return fig


def write_html(report: Report, path: str | Path) -> None:
    """A self-contained HTML page: the table of symptoms and the figure (embedded PNG)."""
    buffer = io.BytesIO()
    figure = report_figure(report)
    figure.savefig(buffer, format="png")
    import matplotlib.pyplot as plt

    plt.close(figure)
    image = base64.b64encode(buffer.getvalue()).decode()
    rows = "\n".join(
        f"<tr class='{s.verdict}'><td>{html.escape(s.name)}</td><td>{s.value:.4g}</td><td>{s.expected:.4g}</td>"
        f"<td>{s.verdict.upper()}</td><td>{html.escape(s.explanation)}</td></tr>"
        for s in report.symptoms
    )
    notes = "".join(f"<p>Note: {html.escape(note)}</p>" for note in report.notes)
    Path(path).write_text(
        f"""<!doctype html>
{HTML_MARKER}
<html lang="en"><head><meta charset="utf-8">
<title>Collapse monitor: {report.verdict.upper()}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} td,th{{padding:.3em .8em;text-align:left}}
.ok td:nth-child(4){{color:#009E73}} .warn td:nth-child(4){{color:#B07000}}
.flag td:nth-child(4){{color:#D55E00;font-weight:bold}}</style>
</head><body><h1>Collapse monitor ({report.kind}): {report.verdict.upper()}</h1>
<p>Reference: {report.reference_size:,} {"rows" if report.kind == "numeric" else "tokens"};
candidate: {report.candidate_size:,}.
"Expected" is what a fresh sample of the reference of the candidate's size gives.</p>
<table><tr><th>symptom</th><th>candidate</th><th>expected</th><th>verdict</th><th>what it measures</th></tr>
{rows}</table>
{notes}
<img alt="Each symptom's candidate value relative to a fresh reference sample" src="data:image/png;base64,{image}">
</body></html>""",
        encoding="utf-8",
    )
