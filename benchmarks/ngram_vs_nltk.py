"""Fit and generation throughput of collapse_edu's n-gram model against ``nltk.lm.MLE``.

Both get the same tokenized sentences of the CPython reference documentation of the running Python
(``pydoc_data.topics``, read by ``data.pydoc_documents``: the raw text with code samples, about 111k
tokens on Python 3.11.7 and other counts on other Pythons, or with ``--prose`` the prose paragraphs
only) and the same order; nltk is a benchmark-only dependency (``pip install nltk``). Run from the
repository root:

    python benchmarks/ngram_vs_nltk.py [--orders 2 3] [--prose]

Prints a markdown table (tokens per second, higher is better) and the machine it ran on.
"fit" for collapse_edu includes building the vocabulary and encoding the token strings to ids,
as nltk's ``fit`` does; "count only" is the counting of already-encoded ids. "generate" makes
whole sentences from the start padding to the end token and counts every generated token
including the ends: nltk one token per ``MLE.generate`` call, collapse_edu all sentences at once
(as many sentences as the corpus has, and ten times as many in "generate x10").
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from collapse_edu.data import pydoc_documents
from collapse_edu.environment import machine_info
from collapse_edu.ngram import Sentences, Vocabulary, fit_ngram, sample_sentences, split_sentences, tokenize


def corpus_sentences(prose: bool) -> list[list[str]]:
    documents = pydoc_documents(code=not prose)
    sentences = [tokenize(s) for doc in documents for s in split_sentences(doc.text)]
    return [s for s in sentences if s]


def seconds(function, repeat: int) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ours(sentences: list[list[str]], order: int, repeat: int) -> dict[str, float]:
    flat = [token for s in sentences for token in s]
    lengths = np.array([len(s) for s in sentences])
    offsets = np.concatenate(([0], np.cumsum(lengths)))

    def fit_from_strings():
        vocab, ids = Vocabulary.build_encoded(flat)
        batch = Sentences(ids, offsets)  # a fresh batch: nothing cached
        return vocab, fit_ngram(batch, order, len(vocab))

    vocab, model = fit_from_strings()
    ids = vocab.encode(flat)
    fit_seconds = seconds(fit_from_strings, repeat)
    count_seconds = seconds(lambda: fit_ngram(Sentences(ids, offsets), order, len(vocab)), repeat)
    rates = {"fit": len(flat) / fit_seconds, "count only": len(flat) / count_seconds}
    for label, size in (("generate", len(sentences)), ("generate x10", 10 * len(sentences))):
        generated = []

        def generate(size=size, generated=generated):
            generated.append(sample_sentences(model, size, np.random.default_rng(len(generated))))

        elapsed = seconds(generate, repeat)
        rates[label] = (generated[-1].tokens + len(generated[-1])) / elapsed
    return rates


def nltk_mle(sentences: list[list[str]], order: int, generate_tokens: int) -> dict[str, float]:
    """nltk's MLE on the same sentences. Generation makes whole sentences as collapse_edu does:
    start from the padding, call ``generate`` once per token, stop at ``</s>`` (or 256 tokens)."""
    import random

    from nltk.lm import MLE
    from nltk.lm.preprocessing import padded_everygram_pipeline

    tokens = sum(len(s) for s in sentences)
    model = MLE(order)
    start = time.perf_counter()
    train, vocab = padded_everygram_pipeline(order, sentences)
    model.fit(train, vocab)
    fit_seconds = time.perf_counter() - start
    generator = random.Random(0)
    generated = 0
    start = time.perf_counter()
    while generated < generate_tokens:
        history = ["<s>"] * (order - 1)
        for _ in range(256):
            token = model.generate(1, text_seed=history, random_seed=generator)
            history.append(token)
            generated += 1
            if token == "</s>":
                break
    generate_seconds = time.perf_counter() - start
    return {"fit": tokens / fit_seconds, "generate": generated / generate_seconds}


def machine() -> str:
    m = machine_info("cpu_model", "usable_cores", "system", "release", "python", "numpy", "nltk")
    return (
        f"{m['cpu_model']}, {m['usable_cores']} cores available, {m['system']} {m['release']}; Python "
        f"{m['python']}, numpy {m['numpy']}, nltk {m['nltk']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[2, 3])
    parser.add_argument(
        "--prose", action="store_true", help="prose paragraphs only (68,268 tokens; not the lessons' smaller corpus)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of collapse_edu per measurement (median)")
    parser.add_argument("--nltk-tokens", type=int, default=2000, help="tokens nltk generates")
    args = parser.parse_args()

    sentences = corpus_sentences(args.prose)
    tokens = sum(len(s) for s in sentences)
    corpus = "pydoc_data.topics, prose" if args.prose else "pydoc_data.topics, raw text"
    print(f"Corpus: {corpus}: {len(sentences)} sentences, {tokens} tokens\n")
    print("| order | measure | nltk.lm.MLE (tokens/s) | collapse_edu (tokens/s) | speed-up |")
    print("| --- | --- | ---: | ---: | ---: |")
    for order in args.orders:
        theirs = nltk_mle(sentences, order, args.nltk_tokens)
        mine = ours(sentences, order, args.repeat)
        for measure in ("fit", "count only", "generate", "generate x10"):
            reference = theirs[{"count only": "fit", "generate x10": "generate"}.get(measure, measure)]
            shown = f"{reference:,.0f}" if measure in theirs else "-"
            note = {"count only": " (vs nltk fit)", "generate x10": " (vs nltk generate)"}.get(measure, "")
            print(f"| {order} | {measure} | {shown} | {mine[measure]:,.0f} | {mine[measure] / reference:,.0f}x{note} |")
    print(f"\nMachine: {machine()}")


if __name__ == "__main__":
    main()
