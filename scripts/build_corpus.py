"""Rebuild the shipped text corpus, ``collapse_edu/corpora/python_reference_prose.json.xz``.

The snapshot is the prose of the CPython language reference as the running Python ships it in
``pydoc_data.topics`` (the snapshot in the repository was built with CPython 3.11.7), one document per
topic, every sentence kept once (:func:`collapse_edu.data.deduplicate_sentences`). Rebuilding with
another Python gives another text and changes every number the text lessons print: only rebuild on
purpose, then re-execute lessons 03 onwards and update the checked outputs.

    python scripts/build_corpus.py            # writes the snapshot and prints its statistics
"""

from __future__ import annotations

import json
import lzma
import platform

from collapse_edu.data import EMBEDDED_CORPUS, deduplicate_sentences, pydoc_documents, sha256_of, split_sentences


def main() -> None:
    raw = pydoc_documents()
    documents = deduplicate_sentences(raw)
    record = {
        "source": "pydoc_data.topics (prose paragraphs) of CPython " + platform.python_version(),
        "licence": "Python Software Foundation License Version 2 (see LICENSE-PSF.txt)",
        "built_by": "scripts/build_corpus.py",
        "documents": [[doc.name, split_sentences(doc.text)] for doc in documents],
    }
    payload = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    EMBEDDED_CORPUS.parent.mkdir(exist_ok=True)
    EMBEDDED_CORPUS.write_bytes(lzma.compress(payload, preset=9))
    before = sum(len(split_sentences(doc.text)) for doc in raw)
    after = sum(len(sentences) for _, sentences in record["documents"])
    print(
        f"{EMBEDDED_CORPUS}: {len(documents)} documents, {after} sentences ({before - after} repeats dropped), "
        f"{EMBEDDED_CORPUS.stat().st_size / 1024:.0f} KiB, sha256 {sha256_of(EMBEDDED_CORPUS)}"
    )


if __name__ == "__main__":
    main()
