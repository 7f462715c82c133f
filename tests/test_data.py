"""Offline data: the embedded corpus, user text files, the split by document, the checked download."""

from __future__ import annotations

import functools
import hashlib
import http.server
import sys
import threading

import pytest

from collapse_edu import data
from collapse_edu.ngram import prepare_corpus

# --------------------------------------------------------------------------- text corpora


def test_pydoc_corpus_is_real_english_prose():
    documents = data.pydoc_documents()
    assert len(documents) > 50
    text = " ".join(d.text for d in documents)
    words = text.split()
    assert len(words) > 30_000
    assert ">>>" not in text and "::=" not in text and "*****" not in text
    assert text.count(" the ") > 1000
    raw = data.pydoc_documents(code=True)
    assert sum(len(d.text) for d in raw) > sum(len(d.text) for d in documents)


def test_read_file_and_folder(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("First paragraph. Two sentences.\n\nSecond one.\n\n\nThird.", encoding="utf-8")
    docs = data.read_documents(path)
    assert [d.text for d in docs] == ["First paragraph. Two sentences.", "Second one.", "Third."]
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Bee.", encoding="utf-8")
    (folder / "sub" / "c.md").write_text("\ufeffSea.", encoding="utf-8")  # a BOM is dropped
    (folder / ".hidden").write_bytes(b"\x00\x01")
    docs = data.load_documents(folder)
    assert [(d.name, d.text) for d in docs] == [("b.txt", "Bee."), ("sub/c.md", "Sea.")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"  \n\t\n", "empty"),
        (b"abc\x00def", "binary"),
        (b"caf\xe9 au lait", "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    ],
)
def test_bad_corpus_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        data.load_documents(path)
    with pytest.raises(ValueError, match=message):
        prepare_corpus(path)


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_documents(tmp_path / "nope.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no files"):
        data.load_documents(tmp_path / "empty")
    with pytest.raises(TypeError, match="corpus"):
        data.load_documents(42)
    only_punctuation = tmp_path / "p.txt"
    only_punctuation.write_text("...", encoding="utf-8")
    with pytest.raises(ValueError, match="held_out"):
        prepare_corpus(only_punctuation)  # one paragraph = one document: nothing to hold out


def test_split_by_document_is_seeded_and_disjoint():
    docs = [data.Document(str(i), f"text {i}.") for i in range(20)]
    train, held = data.split_documents(docs, 0.2, seed=3)
    assert len(held) == 4 and len(train) == 16
    assert {d.name for d in train}.isdisjoint({d.name for d in held})
    assert data.split_documents(docs, 0.2, seed=3) == (train, held)
    assert data.split_documents(docs, 0.2, seed=4) != (train, held)
    assert data.split_documents(docs, 0.0) == (docs, [])
    with pytest.raises(ValueError, match="held_out"):
        data.split_documents(docs, 0.95)
    with pytest.raises(ValueError, match="at least 2 documents"):
        data.split_documents(docs[:1], 0.1)


def test_corpus_split_keeps_held_out_words_unknown():
    corpus = prepare_corpus(held_out=0.1, seed=0)
    assert len(corpus.train_documents) + len(corpus.held_out_documents) == len(data.embedded_documents())
    assert set(corpus.train_documents).isdisjoint(corpus.held_out_documents)
    assert corpus.train.tokens > 40_000 and corpus.held_out.tokens > 5_000
    assert (corpus.train.ids != 1).all()  # every training word is in the vocabulary
    assert (corpus.held_out.ids == 1).any()  # some held-out words are new


# The shipped snapshot: fixed bytes, every sentence once, the same text on every Python.
EMBEDDED_SHA256 = "20505710b558d12959d075400987b6ab7643c273b40d55d4457555c97877b2bf"


def test_embedded_corpus_is_the_documented_snapshot():
    assert data.sha256_of(data.EMBEDDED_CORPUS) == EMBEDDED_SHA256
    readme = (data.EMBEDDED_CORPUS.parent / "README.md").read_text(encoding="utf-8")
    assert EMBEDDED_SHA256 in readme
    assert (
        (data.EMBEDDED_CORPUS.parent / "LICENSE-PSF.txt").read_text().startswith("PYTHON SOFTWARE FOUNDATION LICENSE")
    )
    documents = data.embedded_documents()
    keys = [data.sentence_key(s) for doc in documents for s in data.split_sentences(doc.text)]
    assert len(documents) == 68 and len(keys) == 2684
    assert len(set(keys)) == len(keys), "every sentence once"
    assert data.load_documents() == documents == data.load_documents("embedded")


@pytest.mark.skipif(sys.version_info[:3] != (3, 11, 7), reason="the snapshot was built from CPython 3.11.7")
def test_embedded_corpus_equals_the_live_documentation_it_was_built_from():
    assert data.load_documents("pydoc") == data.embedded_documents()


def test_held_out_shares_no_sentence_with_training():
    for source in (None, "pydoc"):
        corpus = prepare_corpus(source, held_out=0.1, seed=0)
        train = {tuple(corpus.train[i]) for i in range(len(corpus.train))}
        assert not any(tuple(corpus.held_out[i]) in train for i in range(len(corpus.held_out)))


def test_overlapping_held_out_sentences_are_removed(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("The cat sat. A dog ran.", encoding="utf-8")
    (folder / "b.txt").write_text("the  CAT sat. Birds fly.", encoding="utf-8")
    train, held = data.split_documents(data.load_documents(folder), 0.5, seed=0)
    kept, removed = data.held_out_without_overlap(train, held)
    assert removed == 1 and len(kept) == 1
    assert "cat" not in kept[0].text.lower()
    deduplicated = data.deduplicate_sentences(data.load_documents(folder))
    assert [d.text for d in deduplicated] == ["The cat sat.\n\nA dog ran.", "Birds fly."]


# --------------------------------------------------------------------------- download helper


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server for tmp_path/www; counts its requests."""
    root = tmp_path / "www"
    root.mkdir()
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_caches(server, tmp_path):
    root, base, hits = server
    payload = b"A small corpus.\n\nServed on loopback.\n"
    (root / "corpus.txt").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    cache = tmp_path / "cache"
    path = data.download(f"{base}/corpus.txt", digest, directory=cache)
    assert path == cache / "corpus.txt" and path.read_bytes() == payload
    assert data.download(f"{base}/corpus.txt", digest.upper(), directory=cache) == path
    assert len(hits) == 1  # the second call was served from the cache
    path.write_bytes(b"corrupted")  # a damaged cache is fetched again
    assert data.download(f"{base}/corpus.txt", digest, directory=cache).read_bytes() == payload
    assert len(hits) == 2
    assert [d.text for d in data.read_documents(path)] == ["A small corpus.", "Served on loopback."]


def test_download_checksum_mismatch_leaves_nothing(server, tmp_path):
    root, base, _ = server
    (root / "corpus.txt").write_bytes(b"something else")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.download(f"{base}/corpus.txt", "0" * 64, directory=cache)
    assert list(cache.iterdir()) == []


def test_download_argument_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="url"):
        data.download("ftp://example.org/x.txt", "0" * 64, directory=tmp_path)
    with pytest.raises(ValueError, match="sha256"):
        data.download("http://127.0.0.1/x.txt", "abc", directory=tmp_path)
    with pytest.raises(ValueError, match="timeout"):
        data.download("http://127.0.0.1/x.txt", "0" * 64, directory=tmp_path, timeout=0)
    monkeypatch.setenv("COLLAPSE_EDU_CACHE", str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c"


def test_a_corpus_path_that_is_not_a_file_is_not_called_missing():
    """Before: --corpus /dev/null said the file "does not exist"."""
    from pathlib import Path

    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null here")
    with pytest.raises(ValueError, match=r"^corpus file '/dev/null' is not a regular file; give a UTF-8 text file"):
        data.read_text_file("/dev/null")
