"""Offline data for the lessons: the embedded text corpus, user text files and a checked download.

Sections:

* **Text corpora** -- the default corpus is real human-written English shipped inside the package:
  one fixed snapshot of the prose of the CPython language reference (the text ``help()`` shows,
  ``pydoc_data.topics`` of CPython 3.11.7), one document per topic, every sentence kept once
  (``collapse_edu/corpora/``, with its licence and provenance). It is the same text on every Python
  version; the live ``pydoc_data.topics`` differs from one CPython release to the next, so it is only a
  fallback source (``"pydoc"``). Any UTF-8 text file or folder can be used instead. Corpora are lists of
  :class:`Document`; :func:`split_documents` makes a seeded train / held-out split *by document* and
  :func:`held_out_without_overlap` removes from the held-out part every sentence that also occurs in
  the training part, so held-out text is text the model has never seen a sentence of.
* **Text -> sentences -> tokens**: :func:`split_sentences`, :func:`tokenize`, :func:`sentence_key`.
* **Download helper** -- :func:`download` fetches a file for online launches, verifies its SHA-256
  and caches it. Nothing in the default path of any lesson downloads.

Turning sentences into integer ids lives in :mod:`collapse_edu.ngram`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import lzma
import os
import re
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Sequence
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


_TOKEN = re.compile(r"\w+(?:['’.\-]\w+)*|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+")


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Words (letters, digits, ``_``; inner ``'``, ``-`` and ``.`` kept: "don't", "non-empty", "0.5")
    and every other non-space character as its own token (punctuation is kept)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(text.lower() if lower else text)


def split_sentences(text: str) -> list[str]:
    """Sentences of a text: paragraphs (split at blank lines), each split after ``.``, ``!`` or
    ``?`` (optionally followed by a closing quote or bracket) and whitespace."""
    sentences = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            sentences.extend(s for s in _SENTENCE_END.split(paragraph) if s)
    return sentences


def sentence_key(sentence: str) -> str:
    """The normalised form two sentences share when they are "the same sentence": lower-case tokens
    joined by single spaces (so spacing, case and line breaks do not matter)."""
    return " ".join(tokenize(sentence))


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
    """The live CPython reference documentation (``pydoc_data.topics`` of the running Python), one
    :class:`Document` per topic: a fallback source (``load_documents("pydoc")``), since its text
    changes from one CPython release to the next. The course's default is :func:`embedded_documents`.

    By default only the prose paragraphs; ``code=True`` keeps the raw text with code samples, grammar
    rules and tables. Not de-duplicated (see :func:`deduplicate_sentences`).
    """
    try:
        from pydoc_data.topics import topics
    except ImportError as error:  # some minimal Python builds strip it
        raise FileNotFoundError(
            "this Python has no pydoc_data.topics; use the embedded corpus (corpus=None) or a text file or folder"
        ) from error
    documents = [Document(name, text if code else _prose(text)) for name, text in sorted(topics.items())]
    return [doc for doc in documents if doc.text.strip()]


def deduplicate_sentences(documents: Sequence[Document]) -> list[Document]:
    """Every sentence once: a sentence whose :func:`sentence_key` occurred earlier (in this document or
    an earlier one) is dropped; a document's text becomes its remaining sentences, one paragraph each,
    and documents left empty are dropped. The CPython documentation repeats whole paragraphs across
    topics; without this, "held-out" text would partly be training text."""
    seen: set[str] = set()
    kept = []
    for doc in documents:
        sentences = []
        for sentence in split_sentences(doc.text):
            key = sentence_key(sentence)
            if key and key not in seen:
                seen.add(key)
                sentences.append(sentence)
        if sentences:
            kept.append(Document(doc.name, "\n\n".join(sentences)))
    return kept


#: The shipped corpus snapshot: prose of the CPython 3.11.7 language reference, de-duplicated.
EMBEDDED_CORPUS = Path(__file__).with_name("corpora") / "python_reference_prose.json.xz"


@functools.lru_cache(maxsize=1)
def _embedded_snapshot() -> tuple[Document, ...]:
    try:
        record = json.loads(lzma.decompress(EMBEDDED_CORPUS.read_bytes()))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the embedded corpus {EMBEDDED_CORPUS} is missing from this installation; reinstall collapse-edu "
            "or pass a text file or folder"
        ) from None
    return tuple(Document(name, "\n\n".join(sentences)) for name, sentences in record["documents"])


def embedded_documents() -> list[Document]:
    """The default corpus: the shipped snapshot (see ``collapse_edu/corpora/README.md``), one document per
    topic, every sentence once. Identical on every Python version."""
    return list(_embedded_snapshot())


def _path_kind(path: Path) -> str:
    """'dir', 'file' or 'missing'; a path the system cannot even look up (too long) is a ValueError."""
    try:
        return "dir" if path.is_dir() else "file" if path.is_file() else "missing"
    except OSError as error:
        raise ValueError(f"corpus path {str(path)[:60]!r}... cannot be used: {error.strerror}") from None


def read_text_file(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file; a clear ``ValueError`` if it is empty, binary or not UTF-8."""
    path = Path(path)
    kind = _path_kind(path)
    if kind == "missing" and path.exists():  # a device, a pipe or a socket: there, but not a file
        raise ValueError(f"corpus file {str(path)!r} is not a regular file; give a UTF-8 text file")
    if kind != "file":
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


CORPUS_SOURCES = ("embedded", "pydoc")


def load_documents(source: str | os.PathLike | None = None) -> list[Document]:
    """The corpus: ``None`` or ``"embedded"`` for the shipped snapshot, ``"pydoc"`` for the running
    Python's own documentation (de-duplicated; differs between Python releases), else a text file or
    folder (see :func:`read_documents`)."""
    if source is None or source == "embedded":
        return embedded_documents()
    if source == "pydoc":
        return deduplicate_sentences(pydoc_documents())
    if isinstance(source, str) and source == "":  # Path("") would be the current folder
        raise ValueError(
            f"corpus must be None, one of {', '.join(map(repr, CORPUS_SOURCES))} or a path to a text file or "
            "folder; got an empty path ''"
        )
    if isinstance(source, (str, os.PathLike)):
        return read_documents(source)
    raise TypeError(
        f"corpus must be None, one of {', '.join(map(repr, CORPUS_SOURCES))} or a path to a text file or folder; "
        f"got {source!r}"
    )


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


def held_out_without_overlap(train: Sequence[Document], held_out: Sequence[Document]) -> tuple[list[Document], int]:
    """The held-out documents without any sentence that also occurs in the training documents
    (compared by :func:`sentence_key`), and the number of sentences removed."""
    seen = {sentence_key(s) for doc in train for s in split_sentences(doc.text)}
    kept, removed = [], 0
    for doc in held_out:
        sentences = split_sentences(doc.text)
        fresh = [s for s in sentences if sentence_key(s) not in seen]
        removed += len(sentences) - len(fresh)
        if fresh:
            kept.append(Document(doc.name, "\n\n".join(fresh)))
    return kept, removed


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
