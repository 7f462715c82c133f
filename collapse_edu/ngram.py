"""A fast word-level n-gram language model that plugs into the generation loop.

Text becomes **sentences of integer ids** (:class:`Sentences`: one flat id array plus offsets).
Each sentence is padded with ``order - 1`` boundary tokens ``<s>`` in front and ends with one
``<s>`` (the end-of-sentence event), so a model generates a corpus of whole sentences.

**Counting** is vectorised numpy, with no Python loop per token: every window (K - 1 previous
tokens, next token) becomes one int64 key in base V (the vocabulary size), so the key of its last
m tokens is ``key % V**m`` and of its context ``key // V``. One sort counts the windows (an LSD
radix sort: K stable argsorts of 16-bit digits when V <= 65536); each lower order is a sort of
the (far fewer) different windows' suffixes. This needs V**K < 2**63 (K <= 4
for a 50k-word vocabulary). The counts of every order 1..K are kept: the top order drives
sampling, the lower ones the smoothing. Sampled text carries its window counts with it, so a
model of generated text (or of a growing pool of it) is refitted without recounting.

**Sampling** draws many sentences at once: each step looks up every unfinished sentence's
context row, draws the next token from cumulative sums through a guide table, and jumps to the next
context through a precomputed successor table. Temperature T reweights a row's counts to
``c^(1/T)``; top-k keeps a row's k most frequent continuations. :func:`sample_runs` lays the tables of
several models (the runs of one generation) end to end and draws all their sentences in one pass.

The model that is *fitted* is the maximum-likelihood count table P(w | h) = c(h, w) / c(h): the
optimum of the next-token cross-entropy on the training text, which is the model studied by
Seddik et al., "How Bad is Training on Synthetic Data? A Statistical Analysis of Language
Model Collapse", arXiv:2404.05090. Generation samples from it.

**Perplexity** of any text uses *interpolated absolute discounting* (Ney, Essen & Kneser 1994),
recursively down to a uniform distribution over the whole vocabulary:

    P_m(w | h) = (max(c(h, w) - D, 0) + D * N1+(h) * P_{m-1}(w | h')) / c(h)   if c(h) > 0,
    P_m(w | h) = P_{m-1}(w | h')                                               otherwise,
    P_0(w) = 1 / V,

with h' the history h without its oldest word, N1+(h) the number of different words seen after
h and D = 0.75. Every probability is > 0, so perplexity is finite even for unseen words (which
map to ``<unk>``). V is the size of the *real* vocabulary fixed before the first generation, so
perplexities of different generations are comparable.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .data import (
    CORPUS_SOURCES,
    Document,
    held_out_without_overlap,
    load_documents,
    split_documents,
    split_sentences,
    tokenize,
)
from .loop import History, Measure, Policy, run_generations
from .validation import as_rng, check_bool, check_float, check_int, check_memory, check_times

BOUNDARY = "<s>"  #: id 0: pads the start of a sentence and marks its end
UNKNOWN = "<unk>"  #: id 1: any word outside the training vocabulary
UNKNOWN_ID = 1  #: the id of :data:`UNKNOWN`

# --------------------------------------------------------------------------- text -> sentences


def detokenize(tokens: Sequence[str]) -> str:
    """Join tokens into readable text: no space before closing punctuation or after opening
    brackets, and straight double quotes hug what they enclose (they alternate open / close)."""
    pieces: list[str] = []
    attach = True  # the next token joins the previous one without a space
    quote_open = False
    for token in tokens:
        if token == '"':
            quote_open = not quote_open
            pieces.append(token if attach or not quote_open else " " + token)
            attach = quote_open
            continue
        glue = attach or token in ".,;:!?)]}’"
        pieces.append(token if glue else " " + token)
        attach = token in "([{"
    return "".join(pieces)


class Vocabulary:
    """Words <-> integer ids. Id 0 is ``<s>``, id 1 is ``<unk>``, then words by falling frequency.

    Strings are counted and looked up with Python's C-level ``Counter`` and ``dict`` (hashing);
    everything after encoding works on integer arrays.
    """

    def __init__(self, words: Sequence[str]):
        words = list(words)
        if words[:2] != [BOUNDARY, UNKNOWN] or len(set(words)) != len(words):
            raise ValueError(f"words must start with {BOUNDARY!r}, {UNKNOWN!r} and hold no duplicates")
        self.words = np.array(words, dtype=object)
        self.index = dict(zip(words[2:], range(2, len(words)), strict=True))  # a literal '<s>' in text is unknown

    @classmethod
    def build(cls, tokens: Iterable[str], min_count: int = 1) -> Vocabulary:
        """Vocabulary of the tokens seen at least ``min_count`` times."""
        min_count = check_int("min_count", min_count, minimum=1)
        counts = Counter(tokens)
        for special in (BOUNDARY, UNKNOWN):
            counts.pop(special, None)
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls([BOUNDARY, UNKNOWN, *words])

    @classmethod
    def build_encoded(cls, tokens: Sequence[str], min_count: int = 1) -> tuple[Vocabulary, np.ndarray]:
        """The vocabulary of ``tokens`` and their ids in one pass: a ``defaultdict`` hands every new
        token the next type id (C-level ``map``, no Python loop); type ids -> counts, no sorting."""
        min_count = check_int("min_count", min_count, minimum=1)
        types: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        inverse = np.fromiter(map(types.__getitem__, tokens), np.int32, len(tokens))
        words = list(types)
        counts = np.bincount(inverse, minlength=len(words))
        for special in (BOUNDARY, UNKNOWN):  # a literal '<s>' or '<unk>' in text is unknown
            if special in types:
                counts[types[special]] = 0
        candidates = np.flatnonzero(counts >= min_count)
        names = np.array(words)[candidates]
        rank = np.lexsort((names, -counts[candidates]))  # by falling count, then name
        ids = np.ones(len(words), np.int32)  # dropped words -> <unk>
        ids[candidates[rank]] = np.arange(2, len(rank) + 2, dtype=np.int32)
        return cls([BOUNDARY, UNKNOWN, *names[rank].tolist()]), ids[inverse]

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids of the tokens (``<unk>`` = 1 for words outside the vocabulary)."""
        return np.fromiter(map(self.index.get, tokens, itertools.repeat(1)), np.int32, len(tokens))

    def decode(self, ids: np.ndarray) -> list[str]:
        ids = _token_ids("ids", ids, len(self.words))
        return self.words[ids].tolist()


@dataclass(frozen=True, eq=False)
class Sentences:
    """A batch of sentences: ``ids`` holds all token ids end to end, sentence i is
    ``ids[offsets[i]:offsets[i + 1]]`` (no boundary tokens stored).

    ``tables`` caches the n-gram window counts per (order, V) (see :func:`window_table`); sampling
    fills it for free and :meth:`concat` merges it, so refitting on a growing pool of text
    (policy ``accumulate``) costs the number of different n-grams, not the number of tokens.
    """

    ids: np.ndarray
    offsets: np.ndarray
    tables: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or self.offsets.size < 1 or self.offsets[0] != 0 or self.offsets[-1] != self.ids.size:
            raise ValueError("offsets must start at 0 and end at len(ids)")

    @classmethod
    def from_lists(cls, sentences: Sequence[Sequence[int]]) -> Sentences:
        lengths = np.array([len(s) for s in sentences], np.int64)
        ids = np.concatenate([np.asarray(s, np.int32) for s in sentences]) if len(sentences) else np.zeros(0, np.int32)
        return cls(ids.astype(np.int32), np.concatenate(([0], np.cumsum(lengths))).astype(np.int64))

    @classmethod
    def concat(cls, parts: Sequence[Sentences]) -> Sentences:
        ids = np.concatenate([p.ids for p in parts])
        lengths = np.concatenate([p.lengths for p in parts])
        joined = cls(ids, np.concatenate(([0], np.cumsum(lengths))).astype(np.int64))
        for key in set.intersection(*(set(p.tables) for p in parts)):
            keys = np.concatenate([p.tables[key][0] for p in parts])
            counts = np.concatenate([p.tables[key][1] for p in parts])
            joined.tables[key] = _reduce(keys, counts, digits=key[0], base=key[1])
        return joined

    def __len__(self) -> int:
        return self.offsets.size - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def tokens(self) -> int:
        """Number of word and punctuation tokens (end-of-sentence events not counted)."""
        return int(self.ids.size)

    def take(self, index: np.ndarray) -> Sentences:
        """The sentences at ``index`` (vectorised gather)."""
        index = np.asarray(index, np.int64)
        lengths = self.lengths[index]
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        shift = np.repeat(self.offsets[index] - offsets[:-1], lengths)
        return Sentences(self.ids[np.arange(offsets[-1]) + shift], offsets)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def holding(self, token: int) -> np.ndarray:
        """Per sentence: whether it holds ``token`` (e.g. :data:`UNKNOWN_ID`)."""
        found = np.zeros(len(self), bool)
        found[np.repeat(np.arange(len(self)), self.lengths)[self.ids == token]] = True
        return found

    def to_text(self, vocab: Vocabulary, count: int | None = None) -> list[str]:
        """The first ``count`` sentences as readable strings."""
        count = len(self) if count is None else min(count, len(self))
        return [detokenize(vocab.decode(self[i])) for i in range(count)]


def encode_documents(documents: Sequence[Document], vocab: Vocabulary, lower: bool = True) -> Sentences:
    """Split documents into sentences, tokenize and encode them (empty sentences dropped)."""
    token_lists = [tokenize(s, lower) for doc in documents for s in split_sentences(doc.text)]
    token_lists = [t for t in token_lists if t]
    lengths = np.array([len(t) for t in token_lists], np.int64)
    flat = [tok for t in token_lists for tok in t]
    return Sentences(vocab.encode(flat), np.concatenate(([0], np.cumsum(lengths))).astype(np.int64))


@dataclass(frozen=True)
class TextCorpus:
    """A corpus ready for the loop: the real vocabulary, training and held-out sentences.

    ``held_out_removed`` counts the held-out sentences dropped because they also occur in the
    training text (see :func:`collapse_edu.data.held_out_without_overlap`)."""

    vocab: Vocabulary
    train: Sentences
    held_out: Sentences
    train_documents: tuple[str, ...]
    held_out_documents: tuple[str, ...]
    held_out_removed: int = 0

    def __repr__(self) -> str:
        return (
            f"TextCorpus({len(self.vocab) - 2} word types; train: {len(self.train)} sentences, "
            f"{self.train.tokens} tokens, {len(self.train_documents)} documents; held out: "
            f"{len(self.held_out)} sentences, {self.held_out.tokens} tokens, {len(self.held_out_documents)} documents)"
        )


def prepare_corpus(
    source: str | object | None = None,
    *,
    held_out: float = 0.1,
    seed: int = 0,
    lower: bool = True,
    min_count: int = 1,
) -> TextCorpus:
    """Load a corpus (``None``: the embedded snapshot; ``"pydoc"``; or a text file or folder), split
    it by document (seeded), drop held-out sentences that also occur in the training part, and encode
    both with the vocabulary of the training part."""
    lower = check_bool("lower", lower)
    documents = load_documents(source)
    train_docs, held_docs = split_documents(documents, held_out, seed)
    held_docs, removed = held_out_without_overlap(train_docs, held_docs)
    train_tokens = [tok for doc in train_docs for tok in tokenize(doc.text, lower)]
    if not train_tokens:
        raise ValueError(f"corpus {source!r} has no words in its training part")
    vocab = Vocabulary.build(train_tokens, min_count)
    return TextCorpus(
        vocab,
        encode_documents(train_docs, vocab, lower),
        encode_documents(held_docs, vocab, lower),
        tuple(d.name for d in train_docs),
        tuple(d.name for d in held_docs),
        removed,
    )


# --------------------------------------------------------------------------- the model


def _histories(sentences: Sentences, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Every prediction event of the padded sentences: ``history`` (events, order - 1) holds the
    previous tokens (last column = the latest), ``target`` the predicted token (0 = end).

    The events are the words with a 0 after each sentence; the history at lag j is that stream
    shifted by j. Since an end is 0 = ``<s>``, lag 1 needs no padding at all and lag j only zeros
    the first j - 1 events of each sentence."""
    lengths = sentences.lengths
    ends = sentences.offsets[1:] + np.arange(lengths.size)  # event index of each sentence end
    target = np.zeros(sentences.tokens + lengths.size, np.int32)
    is_word = np.ones(target.size, bool)
    is_word[ends] = False
    target[is_word] = sentences.ids
    history = np.zeros((order - 1, target.size), np.int32)  # one row per lag, transposed at the end
    position = np.arange(target.size) - np.repeat(ends - lengths, lengths + 1) if order > 2 else None
    for lag in range(1, order):
        row = history[order - 1 - lag]
        row[lag:] = target[:-lag]
        if lag > 1:
            row[position < lag - 1] = 0
    return history.T, target


def _check_key_space(order: int, vocab_size: int) -> None:
    # the highest order whose vocab_size ** order stays below 2 ** 63 (at most 63: a vocabulary has >= 2 ids);
    # found by counting up, never by raising vocab_size to a huge order (a million-digit integer)
    if vocab_size <= 1:  # one word id: a single possible n-gram of any order
        return
    highest = next(o for o in range(1, 64) if vocab_size ** (o + 1) >= 2**63)
    if order > highest:
        raise ValueError(
            f"order must be at most {highest} with {vocab_size} word ids (n-grams are int64 keys, so the number of "
            f"possible n-grams must stay below 2 ** 63), got {order}; in Python, dropping rare words "
            "(prepare_corpus(min_count=...)) allows higher orders"
        )


def _keys(history: np.ndarray, target: np.ndarray, vocab_size: int) -> np.ndarray:
    """Integer key of each window (h_1, ..., h_{K-1}, w) in base V, oldest token most significant:
    the key of its last m tokens is ``key % V**m`` and of its context ``key // V``."""
    key = np.zeros(target.size, np.int64)
    for column in (*history.T, target):
        key *= vocab_size
        key += column
    return key


def _sort_order(keys: np.ndarray, *, digits: int, base: int, columns: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """A stable order that sorts ``keys`` of ``digits`` digits in base ``base``. When every digit
    fits uint16 it is an LSD radix sort, one stable (radix) argsort of uint16 per digit, several
    times faster than a comparison sort of int64. ``columns`` hands over the digits ready-made,
    least significant first (the token columns of the windows); otherwise they come from the keys."""
    if base > 2**16 or digits > 8:
        return np.argsort(keys, kind="stable")
    if columns is None:
        columns = [(keys // base**i) % base for i in range(digits)]
    order = np.argsort(columns[0].astype(np.uint16), kind="stable")
    for digit in columns[1:]:
        order = order[np.argsort(digit.astype(np.uint16)[order], kind="stable")]
    return order


def _runs(keys: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The different values of the sorted ``keys`` and their total counts (1 per key without
    ``counts``)."""
    if keys.size == 0:
        return keys, np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    totals = np.diff(np.append(starts, keys.size)) if counts is None else np.add.reduceat(counts, starts)
    return keys[starts], totals.astype(np.int64)


def _reduce(keys: np.ndarray, counts: np.ndarray, *, digits: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted different keys (``digits`` digits in base ``base``) and their total counts."""
    order = _sort_order(keys, digits=digits, base=base)
    return _runs(keys[order], counts[order])


def _token_ids(name: str, ids: object, vocab_size: int) -> np.ndarray:
    """``ids`` as an int64 array of token ids, each in 0 .. vocab_size - 1 (ValueError/TypeError naming ``name``)."""
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{name} must be token ids (integers), got the text {ids!r:.40}; encode it with the vocabulary")
    array = np.asarray(ids)
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be token ids (integers), got {array.dtype} values")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        raise ValueError(f"{name} must be token ids from 0 to {vocab_size - 1}, got {array.min()} to {array.max()}")
    return array


def _one(value: object, kind: type, name: str, made_by: str) -> None:
    """TypeError naming ``name`` unless ``value`` is a ``kind`` (a list of them gets a hint)."""
    if not isinstance(value, kind):
        hint = " (a list, one per run: pick one, e.g. history.models[t][0])" if isinstance(value, (list, tuple)) else ""
        raise TypeError(f"{name} must be one {kind.__name__} ({made_by}), got {type(value).__name__}{hint}")


def window_table(sentences: Sentences, order: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The different windows (previous ``order - 1`` tokens, next token) of the padded sentences
    as sorted integer keys (see :func:`_keys`), with their counts: everything an order-K model
    needs, lower orders being suffixes. Cached in ``sentences.tables`` per (order, V).
    The sort takes its digits straight from the token columns (no key arithmetic)."""
    _one(sentences, Sentences, "sentences", "a corpus part or sampled text")
    order = check_int("order", order, minimum=1)
    largest = int(sentences.ids.max()) if sentences.ids.size else 0
    vocab_size = check_int("vocab_size", vocab_size, minimum=largest + 1)
    _check_key_space(order, vocab_size)  # as fit_ngram: larger keys would overflow int64 without a word
    if (order, vocab_size) not in sentences.tables:
        history, target = _histories(sentences, order)
        keys = _keys(history, target, vocab_size)
        columns = [target, *history.T[::-1]]
        sentences.tables[order, vocab_size] = _runs(
            keys[_sort_order(keys, digits=order, base=vocab_size, columns=columns)]
        )
    return sentences.tables[order, vocab_size]


@dataclass(frozen=True, eq=False)
class NGramModel:
    """Counts of all orders 1..K of one fitted model; level m holds n-grams of m tokens.

    Per level: sorted gram keys (the last m tokens of a window in base V) and their counts;
    sorted context keys (gram key // V), each context's total count and number of different
    next tokens. For the top level, ``successor[g]`` is the context row that follows gram g.
    """

    order: int
    vocab_size: int
    context_keys: tuple[np.ndarray, ...]
    gram_keys: tuple[np.ndarray, ...]
    gram_counts: tuple[np.ndarray, ...]
    context_totals: tuple[np.ndarray, ...]
    context_types: tuple[np.ndarray, ...]
    successor: np.ndarray
    start: int
    _samplers: dict = field(default_factory=dict, repr=False)

    @property
    def events(self) -> int:
        """Number of training prediction events (tokens plus one end per sentence)."""
        return int(self.gram_counts[0].sum())

    @property
    def tokens(self) -> int:
        """Number of training tokens (prediction events minus the sentence ends)."""
        return self.events - int(self.unigram_counts[0])

    @cached_property
    def unigram_counts(self) -> np.ndarray:
        """Count of every id as a predicted token, shape (V,) (id 0 counts sentence ends)."""
        counts = np.zeros(self.vocab_size, np.int64)
        counts[self.gram_keys[0]] = self.gram_counts[0]
        return counts

    @property
    def vocabulary(self) -> int:
        """Number of word types the model can still produce (ids >= 2 with a count)."""
        return int(np.count_nonzero(self.unigram_counts[2:]))

    def entropy(self) -> float:
        """Mean next-token entropy of the count table in bits, weighted by how often each context
        occurs in the training text: H = -sum_{h,w} c(h,w)/N log2(c(h,w)/c(h))."""
        counts = self.gram_counts[-1].astype(float)
        totals = np.repeat(self.context_totals[-1], self.context_types[-1])
        return float(-(counts * np.log2(counts / totals)).sum() / counts.sum())


def fit_ngram(sentences: Sentences, order: int, vocab_size: int) -> NGramModel:
    """Maximum-likelihood counts of orders 1..``order``: one sort of the window keys for the top
    level, a sort of the (fewer) different windows' suffixes per lower level, a bincount for
    unigrams. No Python loop over tokens."""
    order = check_int("order", order, minimum=1)
    vocab_size = check_int("vocab_size", vocab_size, minimum=2)
    _check_key_space(order, vocab_size)
    if not isinstance(sentences, Sentences) or len(sentences) == 0:
        raise ValueError("sentences must be a Sentences batch with at least one sentence to fit a model")
    if sentences.tokens and (int(sentences.ids.max()) >= vocab_size or int(sentences.ids.min()) < 0):
        raise ValueError(f"token ids must be in [0, vocab_size = {vocab_size}), got {int(sentences.ids.max())}")
    keys, counts = window_table(sentences, order, vocab_size)
    levels: dict[str, list[np.ndarray]] = {k: [] for k in ("ck", "gk", "gc", "tot", "typ")}
    for m in range(1, order + 1):
        if m == order:
            grams, gram_counts = keys, counts
        elif m == 1:
            unigrams = np.bincount(keys % vocab_size, weights=counts, minlength=vocab_size).astype(np.int64)
            grams = np.flatnonzero(unigrams)
            gram_counts = unigrams[grams]
        else:
            grams, gram_counts = _reduce(keys % vocab_size**m, counts, digits=m, base=vocab_size)
        context = grams // vocab_size  # sorted, since the grams are
        starts = np.flatnonzero(np.concatenate(([True], context[1:] != context[:-1])))
        levels["ck"].append(context[starts])
        levels["gk"].append(grams)
        levels["gc"].append(gram_counts)
        levels["tot"].append(np.add.reduceat(gram_counts, starts))
        levels["typ"].append(np.diff(np.append(starts, grams.size)))
    # Successor of gram (h, w): the context made of h without its oldest token, then w (its last
    # K - 1 tokens); after the end token, the sentence start (context key 0 = <s> ... <s>, row 0).
    top_contexts = levels["ck"][-1]
    following = keys % vocab_size ** (order - 1)
    if vocab_size ** (order - 1) <= 4 * keys.size:  # a dense context -> row table is cheaper than a search
        row_of = np.zeros(vocab_size ** (order - 1), np.int64)
        row_of[top_contexts] = np.arange(top_contexts.size)
        successor = row_of[following]
    else:
        successor = np.minimum(np.searchsorted(top_contexts, following), top_contexts.size - 1)
    successor = np.where(keys % vocab_size == 0, 0, successor)
    return NGramModel(order, vocab_size, *(tuple(levels[k]) for k in ("ck", "gk", "gc", "tot", "typ")), successor, 0)


def _level_counts(model: NGramModel, history: np.ndarray, target: np.ndarray):
    """For each event and level m = 1..K: (context total, context types, gram count); zero for
    contexts and grams the model never saw. Found by binary search in the sorted keys."""
    vocab_size = model.vocab_size
    full = _keys(history, target, vocab_size)
    for m in range(1, model.order + 1):
        key = full % vocab_size**m if m < model.order else full
        contexts, grams = model.context_keys[m - 1], model.gram_keys[m - 1]
        row = np.minimum(np.searchsorted(contexts, key // vocab_size), contexts.size - 1)
        known = contexts[row] == key // vocab_size
        where = np.minimum(np.searchsorted(grams, key), grams.size - 1)
        total = np.where(known, model.context_totals[m - 1][row], 0)
        types = np.where(known, model.context_types[m - 1][row], 0)
        count = np.where(grams[where] == key, model.gram_counts[m - 1][where], 0)
        yield total, types, count


def smoothed_probability(
    model: NGramModel, history: np.ndarray, target: np.ndarray, discount: float = 0.75
) -> np.ndarray:
    """P(target | history) under interpolated absolute discounting (see module doc); always > 0.

    ``history`` has shape (events, order - 1), latest token last; ``target`` shape (events,).
    """
    discount = check_float("discount", discount, 0.0, 1.0, strict_minimum=True)
    history = np.asarray(history, np.int64).reshape(target.size, model.order - 1)
    target = np.asarray(target, np.int64)
    if target.size and (target.min() < 0 or target.max() >= model.vocab_size):
        raise ValueError(f"target ids must be in [0, {model.vocab_size})")
    p = np.full(target.size, 1.0 / model.vocab_size)
    for total, types, count in _level_counts(model, history, target):
        with np.errstate(divide="ignore", invalid="ignore"):
            mixed = (np.maximum(count - discount, 0.0) + discount * types * p) / total
        p = np.where(total > 0, mixed, p)
    return p


def next_token_distribution(model: NGramModel, history: Sequence[int], discount: float = 0.75) -> np.ndarray:
    """The smoothed distribution over all V ids after ``history`` (its last order - 1 ids are
    used; missing ones are ``<s>``)."""
    _one(model, NGramModel, "model", "fit_ngram's result")
    history = _token_ids("history", history, model.vocab_size)
    context = np.zeros(model.order - 1, np.int64)
    history = history[-(model.order - 1) :] if model.order > 1 else np.zeros(0, np.int64)
    if history.size:
        context[-history.size :] = history
    targets = np.arange(model.vocab_size)
    return smoothed_probability(model, np.broadcast_to(context, (targets.size, context.size)), targets, discount)


def log_likelihood(model: NGramModel, sentences: Sentences, discount: float = 0.75) -> tuple[float, int]:
    """Total natural-log probability of the sentences (every token and every sentence end) and
    the number of predicted events."""
    history, target = _histories(sentences, model.order)
    return float(np.log(smoothed_probability(model, history, target, discount)).sum()), int(target.size)


def sentence_log_likelihoods(model: NGramModel, sentences: Sentences, discount: float = 0.75) -> np.ndarray:
    """Mean natural-log probability per predicted event (its words and its end) of every sentence."""
    history, target = _histories(sentences, model.order)
    events = sentences.lengths + 1
    owner = np.repeat(np.arange(len(sentences)), events)
    log_p = np.log(smoothed_probability(model, history, target, discount))
    return np.bincount(owner, weights=log_p, minlength=len(sentences)) / events


def perplexity(model: NGramModel, sentences: Sentences, discount: float = 0.75) -> float:
    """exp(-mean log P) per predicted event (tokens and sentence ends), smoothed: finite always."""
    _one(model, NGramModel, "model", "fit_ngram's result")
    _one(sentences, Sentences, "sentences", "a corpus part or sampled text")
    if len(sentences) == 0:
        raise ValueError("sentences must hold at least one sentence to measure perplexity")
    total, events = log_likelihood(model, sentences, discount)
    return float(np.exp(-total / events))


def _sampler(model: NGramModel, temperature: float, top_k: int | None):
    """Sampling tables of the top level, cached per (temperature, top_k): row pointers and sizes,
    each gram's within-row cumulative weight, the guide table, tokens and successors."""
    key = (temperature, top_k)
    if key in model._samplers:
        return model._samplers[key]
    grams, counts = model.gram_keys[-1], model.gram_counts[-1].astype(float)
    types = model.context_types[-1]
    rows, tokens = np.repeat(np.arange(types.size), types), grams % model.vocab_size
    pointer = np.concatenate(([0], np.cumsum(types)))
    weights = counts
    if temperature != 1.0:
        row_max = np.maximum.reduceat(counts, pointer[:-1])
        weights = (counts / row_max[rows]) ** (1.0 / temperature)  # the row's top token keeps weight 1
    if top_k is not None:
        order = np.lexsort((-counts, rows))  # per row, most frequent first (ties: lower id first)
        rank = np.empty(order.size, np.int64)
        rank[order] = np.arange(order.size) - pointer[rows[order]]
        weights = np.where(rank < top_k, weights, 0.0)
    # Within-row cumulative weights: entry e covers u in [end[e] - w[e], end[e]) of its row, u ~ U(0, 1).
    cumulative = np.cumsum(weights)
    row_start = np.concatenate(([0.0], cumulative))[pointer[:-1]]
    end = (cumulative - row_start[rows]) / (cumulative[pointer[1:] - 1] - row_start)[rows]
    last = np.maximum.reduceat(np.where(weights > 0, np.arange(weights.size), -1), pointer[:-1])
    end = np.where(np.arange(end.size) >= last[rows], 1.0, end)  # exact 1 from the last drawable entry on
    # Guide table (Chen & Asau 1974): bucket j of a row with n entries starts at the first entry whose
    # interval reaches j / n, so a draw starts there and moves on by about one entry on average.
    bucket = np.arange(weights.size) - pointer[rows]
    guide = np.searchsorted(rows + end, rows + bucket / types[rows], side="right")
    table = (pointer, types, end, guide, tokens.astype(np.int32), model.successor)
    model._samplers[key] = table
    return table


def _check_sampling(temperature: float, top_k: int | None, max_length: int) -> tuple[float, int | None, int]:
    temperature = check_float("temperature", temperature, 0.0, strict_minimum=True)
    if top_k is not None:
        top_k = check_int("top_k", top_k, minimum=1)
    return temperature, top_k, check_int("max_length", max_length, minimum=1)


def sample_sentences(
    model: NGramModel,
    count: int,
    rng: np.random.Generator | int | None = 0,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_length: int = 256,
) -> Sentences:
    """Generate ``count`` sentences in parallel from the count table (temperature / top-k applied).

    Per step, every unfinished sentence draws u ~ U(0, 1) and takes the continuation of its context
    whose cumulative-weight interval holds u, found through a guide table in O(1) expected time
    (Chen & Asau 1974). A sentence stops at ``<s>`` or after ``max_length`` tokens.
    """
    _one(model, NGramModel, "model", "fit_ngram's result")
    return sample_runs([model], count, rng, temperature=temperature, top_k=top_k, max_length=max_length)[0]


def sample_runs(
    models: Sequence[NGramModel],
    count: int,
    rng: np.random.Generator | int | None = 0,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_length: int = 256,
) -> list[Sentences]:
    """``count`` sentences from each of several models (one per run of the loop) in one pass, as
    :func:`sample_sentences` does for one: the models' sampling tables are laid end to end, so
    every step advances the sentences of all runs together. With one model the draws are exactly
    those of :func:`sample_sentences`."""
    count = check_int("count", count, minimum=0)
    temperature, top_k, max_length = _check_sampling(temperature, top_k, max_length)
    rng = as_rng(rng)
    models = list(models)
    if not models or len({(m.order, m.vocab_size) for m in models}) != 1:
        raise ValueError("models must be a non-empty list of n-gram models of one order and vocabulary size")
    tables = [_sampler(m, temperature, top_k) for m in models]
    row_base = np.cumsum([0] + [t[1].size for t in tables])  # first row of each model
    gram_base = np.cumsum([0] + [t[2].size for t in tables])  # first gram of each model
    if len(tables) == 1:
        pointer, types, end, guide, tokens, successor = tables[0]
    else:
        pointer = np.concatenate([t[0][:-1] + g for t, g in zip(tables, gram_base, strict=False)] + [gram_base[-1:]])
        types, end, tokens = (np.concatenate([t[i] for t in tables]) for i in (1, 2, 4))
        guide = np.concatenate([t[3] + g for t, g in zip(tables, gram_base, strict=False)])
        successor = np.concatenate([t[5] + r for t, r in zip(tables, row_base, strict=False)])
    total = count * len(models)
    # the token table (4 bytes a place), the lengths and rows (8 each), the grams drawn (8 a token)
    check_memory(total * (12.0 * max_length + 24), f"count = {count} sentences x {len(models)} models", "draw fewer")
    out = np.zeros((total, max_length), np.int32)
    lengths = np.full(total, max_length, np.int64)
    active = np.arange(total)
    row = np.repeat(row_base[:-1] + np.array([m.start for m in models]), count)
    drawn = []  # the grams drawn: their counts are the window tables of the samples
    for step in range(max_length):
        if active.size == 0:
            break
        u = rng.random(active.size)
        n = types[row]
        gram = guide[pointer[row] + np.minimum((u * n).astype(np.int64), n - 1)]
        behind = np.flatnonzero(end[gram] <= u)
        while behind.size:  # walk forward to the entry whose interval holds u
            gram[behind] += 1
            behind = behind[end[gram[behind]] <= u[behind]]
        drawn.append(gram)
        token = tokens[gram]
        going = token != 0
        lengths[active[~going]] = step
        active, gram = active[going], gram[going]
        out[active, step] = token[going]
        row = successor[gram]
    # Window tables for free: drawn gram counts, plus a forced end for sentences cut at max_length.
    all_counts = np.bincount(np.concatenate(drawn), minlength=gram_base[-1]) if drawn else np.zeros(gram_base[-1], int)
    samples = []
    for j, model in enumerate(models):
        mine = slice(j * count, (j + 1) * count)
        keep = np.arange(max_length) < lengths[mine, None]
        offsets = np.concatenate(([0], np.cumsum(lengths[mine]))).astype(np.int64)
        sentences = Sentences(out[mine][keep], offsets)
        counts = all_counts[gram_base[j] : gram_base[j + 1]]
        keys, counts = model.gram_keys[-1][counts > 0], counts[counts > 0]
        cut = (active >= mine.start) & (active < mine.stop)
        if cut.any():  # cut sentences end after their last context
            last = model.context_keys[-1][row[cut] - row_base[j]] * model.vocab_size
            keys = np.concatenate([keys, last])
            counts = np.concatenate([counts, np.ones(last.size, np.int64)])
            keys, counts = _reduce(keys, counts, digits=model.order, base=model.vocab_size)
        sentences.tables[model.order, model.vocab_size] = (keys, counts.astype(np.int64))
        samples.append(sentences)
    return samples


# --------------------------------------------------------------------------- text metrics


def distinct_n(sentences: Sentences, n: int = 1) -> float:
    """distinct-n: different n-grams / all n-grams, counting n-grams inside sentences only
    (Li et al., "A Diversity-Promoting Objective Function for Neural Conversation Models",
    NAACL 2016, arXiv:1510.03055)."""
    _one(sentences, Sentences, "sentences", "a corpus part or sampled text")
    n = check_int("n", n, minimum=1)
    lengths = sentences.lengths
    spans = np.maximum(lengths - n + 1, 0)
    if spans.sum() == 0:
        return 0.0
    starts = np.repeat(sentences.offsets[:-1] - np.concatenate(([0], np.cumsum(spans)[:-1])), spans)
    starts = starts + np.arange(spans.sum())
    base = int(sentences.ids.max()) + 1
    code = sentences.ids[starts].astype(np.int64)
    for i in range(1, n):  # rank-compress, then append the next token: keys never overflow
        code = np.unique(code, return_inverse=True)[1].ravel() * base + sentences.ids[starts + i]
    return float(np.unique(code).size / code.size)


def vocabulary_survival(counts: np.ndarray, generations: int | np.ndarray, kept: float = 1.0) -> np.ndarray:
    """Expected number of word types still present after t generations of resampling, in the
    branching-process (Poisson) approximation of the Wright-Fisher model: a word seen c times
    has a Poisson number of copies in the next corpus, each of which again leaves Poisson(1)
    copies, so it is lost by generation t with probability q_t^c, q_0 = 0, q_{t+1} = exp(q_t - 1).
    Exact in the limit of rare words in a large corpus; after one generation 1 - q_1^c = 1 - e^-c
    approximates the multinomial 1 - (1 - c/N)^N. If the corpus the resampling starts from is a
    random share ``kept`` of the counted text (and every later corpus as small), each of a word's c
    occurrences is in it with probability ``kept`` (binomial thinning), so the word is lost with
    probability E[q_t^K], K ~ Binomial(c, kept): (1 - kept + kept q_t)^c. (A share of whole
    sentences keeps or drops a word's occurrences in one sentence together, so this runs a few
    percent high for small shares.)"""
    try:
        counts = np.asarray(counts, float)
    except (TypeError, ValueError):
        raise TypeError(f"counts must be a 1-D array of word counts, got {counts!r:.80}") from None
    if counts.ndim != 1 or not np.all(np.isfinite(counts)) or np.any(counts < 0) or np.any(counts % 1):
        raise ValueError(f"counts must be a 1-D array of whole numbers >= 0, got {counts!r:.80}")
    counts = counts[counts > 0]
    kept = check_float("kept", kept, 0.0, 1.0)
    t = np.atleast_1d(check_times("generations", generations, integer=True))
    last = float(t.max()) if t.size else 0.0
    check_memory(8.0 * (last + 1 + t.size * counts.size), f"generations up to {last:g}", "ask for fewer generations")
    t = t.astype(int)
    q = np.zeros(int(t.max()) + 1 if t.size else 1)
    for i in range(1, q.size):
        q[i] = np.exp(q[i - 1] - 1.0)
    survive = 1.0 - (1.0 - kept + kept * q[t][:, None]) ** counts[None, :]
    result = survive.sum(axis=1)
    return result if np.ndim(generations) else result[0]


def vocabulary_by_generation(counts: np.ndarray, generations: int | np.ndarray, kept: float = 1.0) -> np.ndarray:
    """Expected vocabulary at each generation of the text loop under pure resampling (policy
    replace, T = 1, no top-k), from the real text's word ``counts``: generation 0 is the real text
    itself (every word type); generation 1 is fitted on a random share ``kept`` of the real
    sentences (all of them by default), so generation g >= 1 has been resampled g - 1 times from
    it (:func:`vocabulary_survival`)."""
    g = np.atleast_1d(check_times("generations", generations, integer=True))
    result = vocabulary_survival(counts, np.maximum(g - 1, 0), kept)
    result[g == 0] = vocabulary_survival(counts, 0)  # the real text: every word type
    return result if np.ndim(generations) else float(result[0])


# --------------------------------------------------------------------------- the loop family


class SentenceFamily:
    """The data methods of every text family (data: a list with one :class:`Sentences` per run):
    joining corpora (accumulate), drawing sentences without replacement (accumulate-subsample) and
    repeating one model for many runs. :class:`NGram` and the neural language model share them."""

    def pool(self, parts: Sequence[Sequence[Sentences]]) -> list[Sentences]:
        return [Sentences.concat(runs) for runs in zip(*parts, strict=True)]

    def subsample(self, data: Sequence[Sentences], size: int, rng: np.random.Generator) -> list[Sentences]:
        out = []
        for run in data:
            if size > len(run):
                raise ValueError(f"size must be <= {len(run)} (the sentences available), got {size}")
            out.append(run.take(rng.choice(len(run), size=size, replace=False)))
        return out

    def broadcast(self, model: Any, runs: int) -> list[Any]:
        """One model per run: a single model (or a list of one) repeated, or a list of ``runs`` models."""
        models = list(model) if isinstance(model, (list, tuple)) else [model]
        if len(models) not in (1, runs):
            raise ValueError(f"model must be one model or a list of {runs} (one per run), got a list of {len(models)}")
        return models * runs if len(models) == 1 else models

    def take(self, data: Sequence[Sentences], index: np.ndarray) -> list[Sentences]:
        """The sentences ``index[r]`` of every run r (what curation keeps)."""
        return [run.take(rows) for run, rows in zip(data, np.asarray(index), strict=True)]


class NGram(SentenceFamily):
    """An order-K n-gram family for :func:`~collapse_edu.loop.run_generations`.

    Data: a list with one :class:`Sentences` per run. Model: a list with one
    :class:`NGramModel` per run. ``fit`` counts (maximum likelihood), ``sample`` generates whole
    sentences with ``temperature`` / ``top_k``; ``describe`` records vocabulary size, training
    tokens, next-token entropy and, with ``held_out`` text, its smoothed perplexity.
    """

    def __init__(
        self,
        order: int = 2,
        vocab_size: int | Vocabulary = 2,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        max_length: int = 256,
        discount: float = 0.75,
        held_out: Sentences | None = None,
    ):
        self.order = check_int("order", order, minimum=1)
        if isinstance(vocab_size, Vocabulary):
            vocab_size = len(vocab_size)
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2)
        _check_key_space(self.order, self.vocab_size)
        self.temperature, self.top_k, self.max_length = _check_sampling(temperature, top_k, max_length)
        self.discount = check_float("discount", discount, 0.0, 1.0, strict_minimum=True)
        if held_out is not None and len(held_out) == 0:
            held_out = None
        self.held_out = held_out

    def fit(self, data: Sequence[Sentences]) -> list[NGramModel]:
        return [fit_ngram(run, self.order, self.vocab_size) for run in data]

    def sample(self, model: Sequence[NGramModel], size: int, rng: np.random.Generator) -> list[Sentences]:
        return sample_runs(model, size, rng, temperature=self.temperature, top_k=self.top_k, max_length=self.max_length)

    def perplexity(self, model: NGramModel, sentences: Sentences) -> float:
        """Smoothed perplexity of ``sentences`` under one model (see :func:`perplexity`)."""
        return perplexity(model, sentences, self.discount)

    def log_likelihood(self, model: Sequence[NGramModel], data: Sequence[Sentences]) -> np.ndarray:
        """Mean log-probability per event (words and end) of every sentence, ``(runs, sentences)``:
        minus the log of its perplexity, so longer sentences are not penalised (perplexity filtering)."""
        return np.stack([sentence_log_likelihoods(m, run, self.discount) for m, run in zip(model, data, strict=True)])

    def describe(self, model: Sequence[NGramModel]) -> dict[str, np.ndarray]:
        values = {
            "vocabulary": np.array([m.vocabulary for m in model]),
            "train_tokens": np.array([m.tokens for m in model]),
            "entropy": np.array([m.entropy() for m in model]),
        }
        if self.held_out is not None:
            values["perplexity_real"] = np.array([perplexity(m, self.held_out, self.discount) for m in model])
        return values


class SentencePool:
    """The real world as a fixed set of real sentences (like :class:`~collapse_edu.loop.DataPool`):
    draws are without replacement; generation 0 is the model of all of them."""

    def __init__(self, sentences: Sentences):
        if not isinstance(sentences, Sentences) or len(sentences) == 0:
            raise ValueError("sentences must be a non-empty Sentences batch of real text")
        self.sentences = sentences

    def draw(self, family: NGram, size: int, runs: int, rng: np.random.Generator) -> list[Sentences]:
        if size > len(self.sentences):
            raise ValueError(f"n must be <= {len(self.sentences)} (the real sentences available), got {size}")
        return [self.sentences.take(rng.choice(len(self.sentences), size=size, replace=False)) for _ in range(runs)]

    def reference(self, family: NGram, runs: int):
        data = [self.sentences]
        return family.broadcast(family.fit(data), runs), data


def sample_metrics(family: Any, eval_sentences: int, rng: np.random.Generator) -> Measure:
    """The loop's ``measure`` for every text family: ``eval_sentences`` fresh samples of each model
    give ``perplexity_self`` (the model's perplexity on its own text), ``distinct_1``, ``distinct_2``
    and ``sentence_length``. The family supplies ``sample`` and ``perplexity(model, sentences)``.
    distinct-n grows as the sample shrinks, so compare settings at the same ``eval_sentences``."""

    def measure(model: Sequence[Any], data: Any, t: int) -> Mapping[str, np.ndarray]:
        rows: dict[str, list[float]] = {
            "perplexity_self": [],
            "distinct_1": [],
            "distinct_2": [],
            "sentence_length": [],
        }
        for sample, m in zip(family.sample(model, eval_sentences, rng), model, strict=True):
            rows["perplexity_self"].append(family.perplexity(m, sample))
            rows["distinct_1"].append(distinct_n(sample, 1))
            rows["distinct_2"].append(distinct_n(sample, 2))
            rows["sentence_length"].append(float(sample.lengths.mean()))
        return {k: np.array(v) for k, v in rows.items()}

    return measure


# --------------------------------------------------------------------------- experiments


@dataclass
class TextRun:
    """What a text simulation returns: the history and what is needed to read it. Subclasses say how
    a kept model writes (:meth:`_write`) and which function keeps the models (``simulator``)."""

    history: History
    corpus: TextCorpus
    family: SentenceFamily
    simulator = "the simulation"  #: the function whose ``keep_models=True`` keeps the models

    def text(self, generation: int, count: int = 3, seed: int = 0, run: int = 0) -> list[str]:
        """``count`` sentences generated by the model of ``generation`` (needs ``keep_models``)."""
        if not self.history.models:
            raise ValueError(f"models were not kept: call {self.simulator}(..., keep_models=True)")
        models = self.history.models[check_int("generation", generation, 0, len(self.history.models) - 1)]
        model = models[check_int("run", run, 0, len(models) - 1)]
        return self._write(model, check_int("count", count, minimum=1), seed).to_text(self.corpus.vocab)

    def _write(self, model: Any, count: int, seed: int) -> Sentences:
        raise NotImplementedError


@dataclass
class NGramRun(TextRun):
    """What :func:`simulate_ngram` returns: the history and what is needed to read it."""

    family: NGram
    simulator = "simulate_ngram"

    def _write(self, model: NGramModel, count: int, seed: int) -> Sentences:
        family = self.family
        return sample_sentences(
            model, count, seed, temperature=family.temperature, top_k=family.top_k, max_length=family.max_length
        )


_CORPUS_CACHE: dict[tuple, TextCorpus] = {}


def load_corpus(corpus: TextCorpus | str | None = None, *, held_out: float = 0.1, seed: int = 0) -> TextCorpus:
    """A :class:`TextCorpus` as given, or prepared from a source (see :func:`prepare_corpus`); the
    built-in sources (``None``/``"embedded"``, ``"pydoc"``) are prepared once per (held_out, seed)
    and cached."""
    if isinstance(corpus, TextCorpus):
        return corpus
    # checked before the cache lookup, whose key must be hashable (a list gave "unhashable type")
    held_out = check_float("held_out", held_out, 0.0, 0.9)
    if seed is not None and not isinstance(seed, np.random.Generator):
        seed = check_int("seed", seed, minimum=0)
    if corpus not in (None, *CORPUS_SOURCES):
        return prepare_corpus(corpus, held_out=held_out, seed=seed)
    key = (corpus or "embedded", held_out, seed)
    if key not in _CORPUS_CACHE:
        _CORPUS_CACHE[key] = prepare_corpus(corpus, held_out=held_out, seed=seed)
    return _CORPUS_CACHE[key]


def simulate_ngram(
    corpus: TextCorpus | str | None = None,
    *,
    order: int = 2,
    generations: int = 20,
    runs: int = 1,
    n: int | None = None,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_length: int = 256,
    eval_sentences: int = 500,
    seed: int = 0,
    keep_models: bool = False,
    progress: bool | str = False,
) -> NGramRun:
    """Train an n-gram model on real text, generate ``n`` sentences (default: as many as the real
    training text has), retrain on data chosen by ``policy``, and repeat.

    Recorded per generation and run: ``vocabulary`` (word types the model can produce),
    ``train_tokens``, ``entropy`` (mean next-token entropy, bits), ``perplexity_real`` (held-out
    real text), and from ``eval_sentences`` fresh samples of each model: ``perplexity_self``,
    ``distinct_1``, ``distinct_2`` and ``sentence_length``.
    """
    corpus = load_corpus(corpus)
    seed = check_int("seed", seed, minimum=0)
    eval_sentences = check_int("eval_sentences", eval_sentences, minimum=1)
    n = len(corpus.train) if n is None else check_int("n", n, minimum=1, maximum=len(corpus.train))
    runs = check_int("runs", runs, minimum=1)
    check_memory(
        24.0 * eval_sentences * runs * (corpus.train.tokens / len(corpus.train) + 1),
        f"eval_sentences = {eval_sentences} with runs = {runs}",
        "sample fewer eval_sentences",
    )
    family = NGram(
        order,
        corpus.vocab,
        temperature=temperature,
        top_k=top_k,
        max_length=max_length,
        held_out=corpus.held_out,
    )
    loop_seed, eval_seed = np.random.SeedSequence(seed).spawn(2)
    measure = sample_metrics(family, eval_sentences, np.random.default_rng(eval_seed))
    history = run_generations(
        family,
        SentencePool(corpus.train),
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        seed=np.random.default_rng(loop_seed),
        measure=measure,
        keep_models=keep_models,
        progress=progress,
    )
    return NGramRun(history, corpus, family)
