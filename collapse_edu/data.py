"""Offline data for the lessons: the embedded text corpus, user text files and a checked download.

Sections:

* **Text corpora** -- the default corpus is real human-written English that ships inside every
  CPython: the reference documentation of the language (``pydoc_data.topics``, the text ``help()``
  shows), one document per topic. Any UTF-8 text file or folder can be used instead. Corpora are
  lists of :class:`Document`; :func:`split_documents` makes a seeded train / held-out split *by
  document*, so held-out text is text the model has never seen a sentence of.
* **Download helper** -- :func:`download` fetches a file for online launches, verifies its SHA-256
  and caches it. Nothing in the default path of any lesson downloads.

Turning documents into sentences of token ids lives in :mod:`collapse_edu.ngram`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .validation import as_rng, check_float

# --------------------------------------------------------------------------- text corpora


@dataclass(frozen=True)
class Document:
    """One document of a corpus: a name (topic or file) and its text."""

    name: str
    text: str


#: Lines that carry no prose: reST heading rules (``*****``, ``=====``) and table borders/rows.
_RULE_LINE = re.compile(r"^\s*([-=*~^+#]{3,}|[+|].*[+|])\s*$")


_EMPHASIS = re.compile(r"\*{1,2}([^*\s][^*]*?)\*{1,2}")
_WORD = re.compile(r"[A-Za-z]+")


def _is_prose(paragraph: str) -> bool:
    """A paragraph reads as prose: no interpreter prompt or grammar rule, at least half of its
    tokens are words, and it ends like a sentence (or is a short heading)."""
    if ">>>" in paragraph or "::=" in paragraph:
        return False
    tokens = re.findall(r"\w+|[^\w\s]", paragraph)
    words = sum(bool(_WORD.fullmatch(tok)) for tok in tokens)
    if not tokens or words < 0.5 * len(tokens):
        return False
    return paragraph.rstrip("\"')").endswith((".", ":", "?", "!")) or len(tokens) <= 8


def _prose(text: str) -> str:
    """The prose paragraphs of a reST-like text, joined into single lines: heading rules, tables,
    code samples and grammar rules are dropped, emphasis markers (``*word*``) removed."""
    kept = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip() and not _RULE_LINE.match(line)]
        joined = _EMPHASIS.sub(r"\1", " ".join(lines))
        if lines and _is_prose(joined):
            kept.append(joined)
    return "\n\n".join(kept)


def pydoc_documents(*, code: bool = False) -> list[Document]:
    """The CPython reference documentation (``pydoc_data.topics``), one :class:`Document` per topic.

    By default only the prose paragraphs (about 65k word and punctuation tokens); ``code=True``
    keeps the raw text with code samples, grammar rules and tables (about 114k tokens). It is
    installed with every CPython.
    """
    try:
        from pydoc_data.topics import topics
    except ImportError as error:  # some minimal Python builds strip it
        raise FileNotFoundError(
            "this Python has no pydoc_data.topics (the embedded corpus); pass a text file or folder instead"
        ) from error
    documents = [Document(name, text if code else _prose(text)) for name, text in sorted(topics.items())]
    return [doc for doc in documents if doc.text.strip()]


def _path_kind(path: Path) -> str:
    """'dir', 'file' or 'missing'; a path the system cannot even look up (too long) is a ValueError."""
    try:
        return "dir" if path.is_dir() else "file" if path.is_file() else "missing"
    except OSError as error:
        raise ValueError(f"corpus path {str(path)[:60]!r}... cannot be used: {error.strerror}") from None


def read_text_file(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file; a clear ``ValueError`` if it is empty, binary or not UTF-8."""
    path = Path(path)
    if _path_kind(path) != "file":
        raise FileNotFoundError(f"corpus file {str(path)!r} does not exist")
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise ValueError(f"corpus file {str(path)!r} looks binary (it contains NUL bytes); give a UTF-8 text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"corpus file {str(path)!r} is not UTF-8 text (undecodable byte at position {error.start}); "
            "convert it, e.g. with iconv -t utf-8"
        ) from None
    if not text.strip():
        raise ValueError(f"corpus file {str(path)!r} is empty (no text after stripping whitespace)")
    return text


def read_documents(path: str | os.PathLike) -> list[Document]:
    """Documents from a text file or a folder of text files.

    A folder gives one document per file (all non-hidden files below it, sorted by path). A single
    file gives one document per paragraph (blocks separated by blank lines), so it can still be
    split into train and held-out text by document.
    """
    path = Path(path)
    if _path_kind(path) == "dir":
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise ValueError(f"corpus folder {str(path)!r} holds no files")
        return [Document(str(p.relative_to(path)), read_text_file(p)) for p in files]
    text = read_text_file(path)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [Document(f"{path.name}:{i + 1}", p) for i, p in enumerate(paragraphs)]


def load_documents(source: str | os.PathLike | None = None) -> list[Document]:
    """The corpus: ``None`` or ``"pydoc"`` for the embedded CPython documentation, else a path."""
    if source is None or source == "pydoc":
        return pydoc_documents()
    if isinstance(source, (str, os.PathLike)):
        return read_documents(source)
    raise TypeError(f"corpus must be None, 'pydoc' or a path to a text file or folder; got {source!r}")


def split_documents(
    documents: list[Document], held_out: float = 0.1, seed: int | np.random.Generator | None = 0
) -> tuple[list[Document], list[Document]]:
    """Seeded split by document: about ``held_out`` of the documents (at least one when > 0) go to
    the held-out part, the rest (at least one) to training. Order within each part is kept."""
    held_out = check_float("held_out", held_out, 0.0, 0.9)
    if not documents:
        raise ValueError("documents must not be empty")
    if held_out == 0:
        return list(documents), []
    if len(documents) < 2:
        raise ValueError(f"held_out > 0 needs at least 2 documents, got {len(documents)}; use held_out=0")
    count = min(len(documents) - 1, max(1, int(round(held_out * len(documents)))))
    chosen = set(as_rng(seed).choice(len(documents), size=count, replace=False).tolist())
    train = [doc for i, doc in enumerate(documents) if i not in chosen]
    held = [doc for i, doc in enumerate(documents) if i in chosen]
    return train, held


# --------------------------------------------------------------------------- download helper


def cache_dir() -> Path:
    """Where downloads are kept: $COLLAPSE_EDU_CACHE, else ~/.cache/collapse-edu."""
    return Path(os.environ.get("COLLAPSE_EDU_CACHE") or Path.home() / ".cache" / "collapse-edu")


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    url: str,
    sha256: str,
    *,
    directory: str | os.PathLike | None = None,
    filename: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Fetch ``url`` into the cache once and return its path; verify the SHA-256 every time.

    A cached file with the right checksum is returned without touching the network. A download
    whose checksum differs raises ``ValueError`` and leaves nothing behind (it is written to a
    temporary file and only renamed into place once verified). For online launches only: no
    lesson downloads in its default path.
    """
    if not isinstance(url, str) or urllib.parse.urlparse(url).scheme not in ("http", "https"):
        raise ValueError(f"url must be an http:// or https:// address, got {url!r}")
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    sha256 = sha256.lower()
    timeout = check_float("timeout", timeout, 0.0, strict_minimum=True)
    folder = Path(directory) if directory is not None else cache_dir()
    name = filename or Path(urllib.parse.urlparse(url).path).name or sha256[:16]
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"filename must be a plain file name, got {name!r}")
    target = folder / name
    if target.is_file():
        if sha256_of(target) == sha256:
            return target
        target.unlink()  # stale or corrupted copy: fetch again
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != sha256:
            raise ValueError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {digest.hexdigest()}")
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target
