"""A tiny decoder-only transformer language model that plugs into the generation loop.

The model reads the same word tokens as the n-gram model of :mod:`collapse_edu.ngram` (same corpus,
same held-out split, same vocabulary: id 0 ``<s>`` starts a sentence and marks its end, id 1 is
``<unk>``), so perplexities, vocabulary survival and distinct-n of the two models sit on the same axes.

* **Architecture** (Radford et al. 2018/2019, "GPT"): token + learned position embeddings, ``layers``
  pre-norm blocks of causal multi-head self-attention (Vaswani et al. 2017, arXiv:1706.03762) and a
  4x GELU MLP, a final layer norm, and an output layer tied to the token embedding (Press & Wolf
  2017, arXiv:1608.05859). About 0.3 M parameters at the defaults, two thirds of them the embedding.
* **Training**: next-token cross-entropy on whole sentences (``<s> w1 ... wn`` predicts
  ``w1 ... wn <s>``), cut at ``context`` tokens, AdamW, batches of sentences of similar length, the
  learning rate warmed up (from scratch) and decayed linearly to zero. Logits are computed only where
  a word is predicted (never on padding): the output layer over the whole vocabulary is most of the
  work of a step.
* **Perplexity**: exp(-mean log P) over every predicted word and sentence end, as the n-gram lesson
  measures it. A softmax gives every word a probability > 0, so no smoothing is needed.
* **Sampling**: many sentences in parallel with a key/value cache (each step attends one new query
  per sentence to the cached keys and values: O(length) work per token instead of O(length^2)),
  temperature and top-k; a token is drawn by inverting the cumulative distribution at one uniform
  number per sentence (``torch.multinomial`` was 20 times slower here); finished sentences leave
  the batch.
* **Protocol** (Shumailov et al., "AI models collapse when trained on recursively generated data",
  Nature 631, 2024, arXiv:2305.17493, section on language models): the first fit trains from
  scratch on real text (their generation-0 model); every later fit *fine-tunes a copy of that
  model* on the data the generation loop hands it. ``protocol="scratch"`` trains every generation
  from scratch instead.

torch is imported here only: the numpy lessons never pay for it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .environment import RESULTS_DIR
from .loop import History, Policy, run_generations
from .ngram import SentenceFamily, SentencePool, Sentences, TextCorpus, TextRun, load_corpus, sample_metrics
from .validation import TORCH_SEED_MAX, as_rng, check_choice, check_float, check_int, check_memory, check_numbers

PROTOCOLS = ("finetune", "scratch")
END = 0  #: ``<s>``: the token every sentence starts from and ends with
IGNORE = -100  #: target id of padding (no loss)

# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the transformer."""

    vocab_size: int
    width: int = 64
    layers: int = 2
    heads: int = 4
    context: int = 64
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, minimum=2)
        check_float("dropout", self.dropout, 0.0, 0.9)
        check_int("width", self.width, minimum=4, maximum=4096)
        check_int("layers", self.layers, minimum=1, maximum=64)
        check_int("heads", self.heads, minimum=1, maximum=64)
        check_int("context", self.context, minimum=2, maximum=4096)
        if self.width % self.heads:
            raise ValueError(f"width must be a multiple of heads, got width={self.width}, heads={self.heads}")


def _check_net_memory(config: ModelConfig) -> None:
    """Refuse, before torch allocates it, a :class:`TinyTransformer` whose float32 parameters (4 bytes
    each) would not fit in memory. Its parameters: word and position embeddings (the output layer shares
    the word embedding), per block two layer norms (4w), attention (4w^2 + 4w) and the MLP (8w^2 + 5w),
    and the final layer norm (2w)."""
    w = config.width
    parameters = (config.vocab_size + config.context) * w + config.layers * (12 * w * w + 13 * w) + 2 * w
    check_memory(
        4.0 * parameters,
        f"a transformer with vocab_size = {config.vocab_size}, width = {w}, layers = {config.layers} "
        f"({parameters:,} parameters)",
        "use a smaller vocab_size, width or layers",
    )


Cache = tuple[torch.Tensor, torch.Tensor]


def empty_caches(config: ModelConfig, batch: int, length: int, device: torch.device | str = "cpu") -> list[Cache]:
    """Key and value buffers, one pair per block, for ``batch`` sequences of up to ``length`` positions:
    :meth:`TinyTransformer.hidden` writes each new position's keys and values into them."""
    shape = (batch, config.heads, length, config.width // config.heads)
    return [(torch.empty(shape, device=device), torch.empty(shape, device=device)) for _ in range(config.layers)]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position i sees positions <= i. With a ``cache`` (key and value
    buffers from :func:`empty_caches`) the new positions start at ``start``: their keys and values are
    written into the buffers and the queries attend to everything up to them (incremental decoding)."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, cache: Cache | None = None, start: int = 0) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        if cache is not None:
            stop = start + length
            cache[0][:, :, start:stop] = k
            cache[1][:, :, start:stop] = v
            k, v = cache[0][:, :, :stop], cache[1][:, :, :stop]
        if start == 0:
            p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, is_causal=length > 1, dropout_p=p)
        elif length == 1:  # one new position sees everything before it: no mask
            y = F.scaled_dot_product_attention(q, k, v)
        else:  # several new positions after cached ones: query i sees the cache and new positions <= i
            seen = torch.ones(length, start + length, dtype=torch.bool, device=x.device).tril(start)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=seen)
        return self.out(y.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = CausalSelfAttention(width, heads, dropout)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: Cache | None = None, start: int = 0) -> torch.Tensor:
        x = x + self.drop(self.attention(self.norm1(x), cache, start))
        return x + self.drop(self.mlp(self.norm2(x)))


class TinyTransformer(nn.Module):
    """A decoder-only transformer over word ids; the output layer shares the embedding matrix."""

    def __init__(self, config: ModelConfig):
        if not isinstance(config, ModelConfig):
            raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
        _check_net_memory(config)
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.width)
        self.position = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config.width, config.heads, config.dropout) for _ in range(config.layers))
        self.drop = nn.Dropout(config.dropout)
        self.norm = nn.LayerNorm(config.width)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @property
    def device(self) -> torch.device:
        return self.embed.weight.device

    def hidden(self, ids: torch.Tensor, caches: Sequence[Cache] | None = None, start: int = 0) -> torch.Tensor:
        """Final hidden states (batch, length, width) of ``ids`` (batch, length) at positions
        ``start, start + 1, ...``. With ``caches`` (from :func:`empty_caches`, one pair per block) the
        ids continue sequences whose first ``start`` positions are cached; their keys and values are
        cached in turn. Without, ``start`` must be 0."""
        if start + ids.shape[1] > self.config.context:
            raise ValueError(
                f"positions must stay below the context ({self.config.context}), got {start + ids.shape[1]}"
            )
        if caches is None and start:
            raise ValueError("start > 0 needs the caches of the earlier positions")
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.drop(self.embed(ids) + self.position(positions))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i], start)
        return self.norm(x)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Next-token logits: the hidden states times the (tied) embedding matrix."""
        return hidden @ self.embed.weight.T

    def forward(self, ids: torch.Tensor, caches: Sequence[Cache] | None = None, start: int = 0) -> torch.Tensor:
        """Logits (batch, length, vocab) for every position of ``ids`` (see :meth:`hidden`)."""
        return self.logits(self.hidden(ids, caches, start))

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (None: leave it), then restore the previous number."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, minimum=1, maximum=256))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_device() -> torch.device:
    """A CUDA GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# --------------------------------------------------------------------------- data <-> tensors


def sentence_batch(sentences: Sentences, index: np.ndarray, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``<s> w1 .. wn`` and targets ``w1 .. wn <s>`` of the sentences at ``index``, cut to
    ``context`` positions and right-padded (inputs with ``<s>``, targets with ``IGNORE``). A sentence
    longer than the context keeps its first ``context`` predictions (the last one its next word)."""
    index = np.asarray(index, np.int64)
    lengths = np.minimum(sentences.lengths[index] + 1, context)  # predictions per row
    width = int(lengths.max())
    column = np.arange(width)
    inside = column[None, :] < lengths[:, None]
    starts = sentences.offsets[index][:, None]
    ids = np.append(sentences.ids, END)  # one spare id: every index below is valid, even with no words
    words = ids[np.minimum(starts + column[None, :], sentences.ids.size)]  # the j-th word of each row
    is_word = column[None, :] < sentences.lengths[index][:, None]
    targets = np.where(inside, np.where(is_word, words, END), IGNORE).astype(np.int64)
    inputs = np.full((len(index), width), END, np.int64)
    inputs[:, 1:] = np.where(inside[:, 1:], targets[:, :-1], END)
    return torch.from_numpy(inputs), torch.from_numpy(targets)


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of sentences of similar length (little padding): shuffle, sort within
    chunks of 50 batches by length, cut into batches, shuffle the batches."""
    order = rng.permutation(len(lengths))
    chunk = 50 * batch_size
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


# --------------------------------------------------------------------------- training and scoring


@dataclass(frozen=True)
class TrainConfig:
    """How a generation is trained. From scratch (the first fit, or ``protocol="scratch"``):
    ``epochs`` passes over the data at peak rate ``learning_rate``, warmed up linearly over the first
    ``warmup`` share of the steps. A fine-tune: ``finetune_epochs`` passes at ``finetune_learning_rate``.
    Both decay the rate linearly to zero."""

    epochs: float = 8.0
    finetune_epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 3e-3
    finetune_learning_rate: float = 2e-3
    warmup: float = 0.05
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        check_float("epochs", self.epochs, 0.0, 1000.0, strict_minimum=True)
        check_float("finetune_epochs", self.finetune_epochs, 0.0, 1000.0, strict_minimum=True)
        check_int("batch_size", self.batch_size, minimum=1, maximum=65536)
        check_float("learning_rate", self.learning_rate, 0.0, 1.0, strict_minimum=True)
        check_float("finetune_learning_rate", self.finetune_learning_rate, 0.0, 1.0, strict_minimum=True)
        check_float("warmup", self.warmup, 0.0, 1.0)
        check_float("weight_decay", self.weight_decay, 0.0)


def _predicted(net: TinyTransformer, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets of the positions that predict something (padding dropped)."""
    hidden = net.hidden(inputs)
    keep = targets != IGNORE
    return net.logits(hidden[keep]), targets[keep]


def train(
    net: TinyTransformer,
    sentences: Sentences,
    *,
    epochs: float,
    learning_rate: float,
    batch_size: int = 32,
    weight_decay: float = 0.01,
    warmup: float = 0.0,
    rng: np.random.Generator | int | None = 0,
    progress: bool | str = False,
) -> list[float]:
    """Next-token cross-entropy training for ``epochs`` passes over ``sentences`` (a fraction counts):
    AdamW, the rate warmed up linearly over the first ``warmup`` share of the steps, then decayed
    linearly to zero. Returns the loss of every step (nats per predicted token)."""
    if not isinstance(sentences, Sentences) or len(sentences) == 0:
        raise ValueError("sentences must be a Sentences batch with at least one sentence to train on")
    _check_net_and_words(net, sentences)
    epochs = check_float("epochs", epochs, 0.0, 1000.0, strict_minimum=True)
    learning_rate = check_float("learning_rate", learning_rate, 0.0, 1.0, strict_minimum=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    warmup = check_float("warmup", warmup, 0.0, 1.0)
    rng = as_rng(rng)
    steps = max(1, math.ceil(epochs * math.ceil(len(sentences) / batch_size)))
    batches: list[np.ndarray] = []
    while len(batches) < steps:
        batches.extend(_length_batches(sentences.lengths, batch_size, rng))
    batches = batches[:steps]
    warm = int(warmup * steps)

    def rate(step: int) -> float:
        return (step + 1) / (warm + 1) if step < warm else 1.0 - (step - warm) / (steps - warm)

    optimizer = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay, betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    device = net.device
    net.train()
    losses = []
    label = progress if isinstance(progress, str) else "training"
    for index in tqdm(batches, desc=label, disable=not progress, leave=False):
        inputs, targets = sentence_batch(sentences, index, net.config.context)
        logits, targets = _predicted(net, inputs.to(device), targets.to(device))
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    net.eval()
    return losses


def _check_net_and_words(net: object, sentences: object | None = None) -> None:
    """``net`` a :class:`TinyTransformer` and ``sentences`` (when given) a :class:`Sentences` batch whose word
    ids the net knows (ids of another vocabulary would index past its embedding table)."""
    if not isinstance(net, TinyTransformer):
        raise TypeError(f"net must be a TinyTransformer (train_base, stored_base), got {type(net).__name__}")
    if sentences is None:
        return
    if not isinstance(sentences, Sentences):
        raise TypeError(f"sentences must be a Sentences batch, got {type(sentences).__name__}")
    largest = int(sentences.ids.max()) if sentences.ids.size else -1
    if largest >= net.config.vocab_size:
        raise ValueError(
            f"sentences hold word id {largest}, but the net knows {net.config.vocab_size} words: encode them with "
            "the vocabulary the net was trained on"
        )


@torch.no_grad()
def sentence_log_likelihoods(
    net: TinyTransformer, sentences: Sentences, tokens_per_batch: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Log-probability (nats) of every sentence, its words and its end, and the number of predicted
    events per sentence (length + 1, cut at the context). Sentences are scored in batches of similar
    length holding about ``tokens_per_batch`` predictions (memory: that many rows of vocabulary logits)."""
    _check_net_and_words(net, sentences)
    tokens_per_batch = check_int("tokens_per_batch", tokens_per_batch, minimum=1)
    net.eval()
    log_p = np.zeros(len(sentences))
    events = np.minimum(sentences.lengths + 1, net.config.context)
    order = np.argsort(events, kind="stable")
    start = 0
    for stop in range(1, len(order) + 1):  # sorted by length: the last row of a batch is its longest
        if stop < len(order) and int(events[order[stop]]) * (stop + 1 - start) <= tokens_per_batch:
            continue
        index = order[start:stop]
        inputs, targets = sentence_batch(sentences, index, net.config.context)
        keep = targets != IGNORE
        logits, flat = _predicted(net, inputs.to(net.device), targets.to(net.device))
        token_log_p = -F.cross_entropy(logits, flat, reduction="none").double().cpu()
        row = torch.nonzero(keep)[:, 0]
        log_p[index] = torch.zeros(len(index), dtype=torch.float64).index_add_(0, row, token_log_p).numpy()
        start = stop
    return log_p, events


@torch.no_grad()
def expected_ends(net: TinyTransformer, sentences: Sentences, tokens_per_batch: int = 4096) -> np.ndarray:
    """Per sentence, the sum over its predictions of the model's probability that the sentence ends
    there: the number of ends the model expects in it (1 for a model calibrated on sentence ends).
    Sentences cut at the context are left out (NaN)."""
    if not isinstance(sentences, Sentences):
        raise TypeError(f"sentences must be a Sentences batch, got {type(sentences).__name__}")
    net.eval()
    ends = np.full(len(sentences), np.nan)
    whole = np.flatnonzero(sentences.lengths + 1 <= net.config.context)
    rows = max(1, tokens_per_batch // net.config.context)
    for start in range(0, whole.size, rows):
        index = whole[start : start + rows]
        inputs, targets = sentence_batch(sentences, index, net.config.context)
        p_end = torch.softmax(net(inputs.to(net.device)), dim=-1)[..., END]
        ends[index] = (p_end * (targets != IGNORE).to(net.device)).sum(dim=1).cpu().numpy()
    return ends


def lm_perplexity(net: TinyTransformer, sentences: Sentences) -> float:
    """exp(-mean log P) per predicted event (words and sentence ends), as :func:`ngram.perplexity`."""
    if not isinstance(sentences, Sentences) or len(sentences) == 0:
        raise ValueError("sentences must hold at least one sentence to measure perplexity")
    log_p, events = sentence_log_likelihoods(net, sentences)
    return float(np.exp(-log_p.sum() / events.sum()))


def sentence_perplexities(net: TinyTransformer, sentences: Sentences) -> np.ndarray:
    """Perplexity of each sentence on its own: exp(-log P(sentence) / events)."""
    log_p, events = sentence_log_likelihoods(net, sentences)
    return np.exp(-log_p / events)


#: the lowest sampling temperature: below it the logits' differences divided by T leave float32's range
MIN_TEMPERATURE = 1e-6


def _draw(logits: torch.Tensor, generator: torch.Generator, temperature: float, top_k: int | None) -> torch.Tensor:
    """One token per row from softmax(logits / T), restricted to the top k: the first index whose
    cumulative weight exceeds u times the total, u ~ U(0, 1) (inverse-CDF sampling). The weights are
    computed in place in one new rows-by-vocabulary buffer (and top-k masks a copy of the logits), so the
    caller's logits are never changed."""
    if top_k is not None and top_k < logits.shape[1]:
        threshold = torch.topk(logits, top_k, dim=1).values[:, -1:]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    cumulative = (logits - logits.max(dim=1, keepdim=True).values).div_(temperature).exp_().cumsum_(dim=1)
    u = torch.rand(logits.shape[0], 1, generator=generator, device=logits.device)
    token = torch.searchsorted(cumulative, u * cumulative[:, -1:], right=True)
    over = token[:, 0] >= logits.shape[1]  # u * total rounded up to the total (about 1 in 10^7)
    if over.any():
        token[over] = torch.searchsorted(cumulative[over], cumulative[over][:, -1:])  # the last drawable id
    return token


@torch.no_grad()
def generate(
    net: TinyTransformer,
    count: int,
    generator: torch.Generator | int = 0,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_length: int | None = None,
    batch_size: int = 1024,
) -> Sentences:
    """``count`` sentences sampled in parallel with a key/value cache. Each starts at ``<s>`` and
    ends when ``<s>`` is drawn or after ``max_length`` words (default: the context minus one).
    Temperature T samples from softmax(logits / T); top-k keeps the k largest logits."""
    _check_net_and_words(net)
    count = check_int("count", count, minimum=0)
    temperature = check_float("temperature", temperature, MIN_TEMPERATURE)
    limit = net.config.context - 1
    max_length = limit if max_length is None else check_int("max_length", max_length, 1, limit)
    if top_k is not None:
        top_k = check_int("top_k", top_k, 1, net.config.vocab_size)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if not isinstance(generator, torch.Generator):
        seed = check_int("generator", generator, minimum=0, maximum=TORCH_SEED_MAX)
        generator = torch.Generator(device=net.device).manual_seed(seed)
    # the sentences kept (8 bytes a word and about 100 of list overhead each): refused before hours of sampling
    what = f"count = {count} sentences of up to {max_length} words"
    check_memory(count * (8.0 * max_length + 100), what, "draw fewer")
    net.eval()
    words: list[np.ndarray] = []
    for first in range(0, count, batch_size):
        size = min(batch_size, count - first)
        out = np.zeros((size, max_length), np.int64)
        lengths = np.full(size, max_length, np.int64)
        rows = np.arange(size)  # the row of ``out`` each batch row writes, -1 once it has ended
        caches = empty_caches(net.config, size, max_length, net.device)
        token = torch.full((size, 1), END, dtype=torch.long, device=net.device)
        for step in range(max_length):
            hidden = net.hidden(token, caches, start=step)
            token = _draw(net.logits(hidden[:, -1]), generator, temperature, top_k)
            drawn = token[:, 0].cpu().numpy()
            writing = rows >= 0
            ended = writing & (drawn == END)
            out[rows[writing & ~ended], step] = drawn[writing & ~ended]
            lengths[rows[ended]] = step
            rows[ended] = -1
            alive = np.flatnonzero(rows >= 0)
            if alive.size == 0:
                break
            if alive.size <= 0.75 * rows.size:  # drop the ended rows once they are many
                keep = torch.from_numpy(alive).to(net.device)
                for k, v in caches:  # moved to the front of their own buffers: only the positions written so far
                    k[: alive.size, :, : step + 1], v[: alive.size, :, : step + 1] = (
                        k[keep, :, : step + 1],
                        v[keep, :, : step + 1],
                    )
                caches = [(k[: alive.size], v[: alive.size]) for k, v in caches]
                rows, token = rows[alive], token[keep]
        words.extend(out[i, : lengths[i]] for i in range(size))
    return Sentences.from_lists(words)


# --------------------------------------------------------------------------- the loop family


@dataclass(eq=False)
class NeuralLMModel:
    """One trained network plus what the history records of it: the word types and tokens of the
    data it was trained on, and the loss of every training step."""

    net: TinyTransformer = field(repr=False)
    vocabulary: int
    tokens: int
    losses: list[float] = field(default_factory=list, repr=False)
    from_scratch: bool = False


def word_types(sentences: Sentences) -> int:
    """Number of different words (ids >= 2) in ``sentences``."""
    return int(np.count_nonzero(np.bincount(sentences.ids, minlength=2)[2:]))


class NeuralLM(SentenceFamily):
    """A tiny transformer family for :func:`~collapse_edu.loop.run_generations`.

    Data: a list with one :class:`~collapse_edu.ngram.Sentences` per run; model: a list with one
    :class:`NeuralLMModel` per run. ``fit`` trains: the first call from scratch (that model is the
    ``base``, Shumailov et al.'s generation 0), later calls fine-tune a copy of ``base`` (or, with
    ``protocol="scratch"``, train from scratch again). A ``base`` handed in (a network already
    trained on the real text) is returned by the first fit instead of training it again, so several
    experiments can share one generation-0 model. ``sample`` generates whole sentences with
    ``temperature``/``top_k``; ``describe`` records the vocabulary (word types) and tokens of the
    training data and, with ``held_out`` text, the model's perplexity on it. ``threads`` sets the
    torch threads while the family works (restored afterwards; ``None`` leaves torch's choice): one
    thread by default, because on a shared 2-core machine two threads made training ten times
    slower (the second thread waits for a busy core). ``device`` defaults to a GPU when present.
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        model: ModelConfig | None = None,
        training: TrainConfig | None = None,
        protocol: str = "finetune",
        temperature: float = 1.0,
        top_k: int | None = None,
        held_out: Sentences | None = None,
        base: TinyTransformer | None = None,
        seed: int = 0,
        threads: int | None = 1,
        device: str | torch.device | None = None,
        progress: bool = False,
    ):
        vocab_size = check_int("vocab_size", vocab_size, minimum=2)
        self.config = model or ModelConfig(vocab_size)
        if not isinstance(self.config, ModelConfig):
            raise TypeError(f"model must be a ModelConfig, got {type(model).__name__}")
        if self.config.vocab_size != vocab_size:
            raise ValueError(f"model.vocab_size ({self.config.vocab_size}) must equal vocab_size ({vocab_size})")
        _check_net_memory(self.config)  # before a run starts, not when generation 0 is trained
        self.training = training or TrainConfig()
        if not isinstance(self.training, TrainConfig):
            raise TypeError(f"training must be a TrainConfig, got {type(training).__name__}")
        self.protocol = check_choice("protocol", protocol, PROTOCOLS)
        self.temperature = check_float("temperature", temperature, MIN_TEMPERATURE)
        self.top_k = None if top_k is None else check_int("top_k", top_k, 1, vocab_size)
        if held_out is not None and not isinstance(held_out, Sentences):
            raise TypeError(f"held_out must be a Sentences batch or None, got {type(held_out).__name__}")
        self.held_out = held_out if held_out is not None and len(held_out) else None
        self.seed = check_int("seed", seed, minimum=0)
        self.threads = None if threads is None else check_int("threads", threads, minimum=1, maximum=256)
        self.device = torch.device(device) if device is not None else default_device()
        if base is not None:
            if not isinstance(base, TinyTransformer) or base.config != self.config:
                raise ValueError("base must be a TinyTransformer with this family's model configuration")
            base = base.to(self.device).eval()
        self.base: TinyTransformer | None = base  # generation 0: trained from scratch on real text
        self._base_given = base is not None
        self.progress = progress
        self._fits = 0

    def fit(self, data: Sequence[Sentences]) -> list[NeuralLMModel]:
        """One network per run: the first call trains from scratch (generation 0, kept as ``base``),
        every later call fine-tunes a copy of ``base`` on the run's data."""
        self._fits += 1
        rng = np.random.default_rng([self.seed, self._fits])
        with torch_threads(self.threads):
            return [self._fit_one(run, rng) for run in data]

    def _fit_one(self, sentences: Sentences, rng: np.random.Generator) -> NeuralLMModel:
        t = self.training
        if self._fits == 1 and self._base_given:  # generation 0 handed in, already trained on the real text
            return NeuralLMModel(self.base, word_types(sentences), sentences.tokens, [], from_scratch=True)
        from_scratch = self._fits == 1 or self.protocol == "scratch"
        if from_scratch:
            torch.manual_seed(int(rng.integers(2**31)))
            net = TinyTransformer(self.config).to(self.device)
            epochs, rate, warmup = t.epochs, t.learning_rate, t.warmup
        else:  # Shumailov et al.: every later generation fine-tunes a copy of generation 0
            net = copy.deepcopy(self.base)
            epochs, rate, warmup = t.finetune_epochs, t.finetune_learning_rate, 0.0
        progress = ("generation 0, from scratch" if from_scratch else "fine-tuning") if self.progress else False
        losses = train(
            net,
            sentences,
            epochs=epochs,
            learning_rate=rate,
            batch_size=t.batch_size,
            weight_decay=t.weight_decay,
            warmup=warmup,
            rng=rng,
            progress=progress,
        )
        if self.base is None:
            self.base = net
        return NeuralLMModel(net, word_types(sentences), sentences.tokens, losses, from_scratch)

    def sample(self, model: Sequence[NeuralLMModel], size: int, rng: np.random.Generator) -> list[Sentences]:
        out = []
        with torch_threads(self.threads):
            for m in model:
                generator = torch.Generator(device=self.device).manual_seed(int(as_rng(rng).integers(2**62)))
                out.append(generate(m.net, size, generator, temperature=self.temperature, top_k=self.top_k))
        return out

    def perplexity(self, model: NeuralLMModel, sentences: Sentences) -> float:
        with torch_threads(self.threads):
            return lm_perplexity(model.net, sentences)

    def log_likelihood(self, model: Sequence[NeuralLMModel], data: Sequence[Sentences]) -> np.ndarray:
        """Mean log-probability per predicted event of every sentence, ``(runs, sentences)``."""
        rows = []
        for m, run in zip(model, data, strict=True):
            log_p, events = sentence_log_likelihoods(m.net, run)
            rows.append(log_p / events)
        return np.stack(rows)

    def describe(self, model: Sequence[NeuralLMModel]) -> dict[str, np.ndarray]:
        values = {
            "vocabulary": np.array([m.vocabulary for m in model]),
            "train_tokens": np.array([m.tokens for m in model]),
        }
        if self.held_out is not None:
            values["perplexity_real"] = np.array([self.perplexity(m, self.held_out) for m in model])
        return values


# --------------------------------------------------------------------------- experiments


def train_base(
    corpus: TextCorpus | str | None = None,
    *,
    model: ModelConfig | None = None,
    training: TrainConfig | None = None,
    seed: int = 0,
    threads: int | None = 1,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> TinyTransformer:
    """Generation 0 on its own: a transformer trained from scratch on all real training sentences,
    exactly as the first fit of :class:`NeuralLM` (same seed stream) trains it."""
    corpus = load_corpus(corpus)
    family = NeuralLM(
        len(corpus.vocab), model=model, training=training, seed=seed, threads=threads, device=device, progress=progress
    )
    return family.fit([corpus.train])[0].net


_BASES: dict[int, TinyTransformer] = {}
BASE_FILE = "neural_lm_base.npz"  #: generation 0 of seed 0, stored by ``benchmarks/neural_lm_base.py``


def _results_file(path: str | None, name: str) -> Path:
    """``path`` if given, else the package's stored result ``name`` (``collapse_edu/results/``)."""
    return Path(path) if path is not None else RESULTS_DIR / name


def base_recipe(corpus: TextCorpus, seed: int = 0, training: TrainConfig | None = None) -> dict:
    """What a generation-0 network of :func:`train_base` depends on: the model settings (the
    defaults), the ``training`` settings (default: the defaults), ``seed``, and a digest of the
    corpus's training and held-out token ids. A stored base is used only for its own recipe."""
    digest = hashlib.sha256()
    for part in (corpus.train, corpus.held_out):
        digest.update(np.ascontiguousarray(part.ids, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(part.offsets, dtype=np.int64).tobytes())
    return {
        "model": asdict(ModelConfig(len(corpus.vocab))),
        "training": asdict(training or TrainConfig()),
        "seed": int(seed),
        "corpus_sha256": digest.hexdigest(),
    }


def save_base(
    net: TinyTransformer,
    corpus: TextCorpus,
    seed: int = 0,
    training: TrainConfig | None = None,
    path: str | None = None,
) -> str:
    """Store a generation-0 network, trained by :func:`train_base` with these arguments, with its
    :func:`base_recipe` (float32, compressed). Returns the path written."""
    if not isinstance(net, TinyTransformer) or net.config != ModelConfig(len(corpus.vocab)):
        raise ValueError("net must be a TinyTransformer with the default model settings for this corpus")
    target = _results_file(path, BASE_FILE)
    weights = {name: value.detach().cpu().numpy() for name, value in net.state_dict().items()}
    recipe = json.dumps(base_recipe(corpus, seed, training), sort_keys=True)
    np.savez_compressed(target, recipe=np.array(recipe), **weights)
    return str(target)


def stored_base(corpus: TextCorpus, seed: int = 0, path: str | None = None) -> TinyTransformer | None:
    """The stored generation-0 network (``collapse_edu/results/neural_lm_base.npz`` or ``path``) if
    its recipe is this corpus's, this seed's and today's defaults (:func:`base_recipe`), else None."""
    target = _results_file(path, BASE_FILE)
    if not target.is_file():
        return None
    with np.load(target, allow_pickle=False) as stored:
        if json.loads(str(stored["recipe"])) != base_recipe(corpus, seed):
            return None
        weights = {name: torch.from_numpy(stored[name]) for name in stored.files if name != "recipe"}
    net = TinyTransformer(ModelConfig(len(corpus.vocab)))
    net.load_state_dict(weights)
    return net.eval()


def base_model(seed: int = 0, *, progress: bool = False) -> TinyTransformer:
    """Generation 0 of the embedded corpus with the default settings: the stored network
    (:func:`stored_base`, what ``train_base(None, seed=0)`` trains in about 20 s on one core) when
    there is one for ``seed``, else trained by :func:`train_base` (a progress bar with ``progress``);
    made once per session and then reused."""
    seed = check_int("seed", seed, minimum=0)
    if seed not in _BASES:
        corpus = load_corpus(None)
        _BASES[seed] = stored_base(corpus, seed) or train_base(corpus, seed=seed, progress=progress)
    return _BASES[seed]


@dataclass
class NeuralLMRun(TextRun):
    """What :func:`simulate_transformer` returns: the history and what is needed to read it."""

    family: NeuralLM
    simulator = "simulate_transformer"

    def _write(self, model: NeuralLMModel, count: int, seed: int) -> Sentences:
        seed = check_int("seed", seed, minimum=0, maximum=TORCH_SEED_MAX)
        generator = torch.Generator(device=self.family.device).manual_seed(seed)
        with torch_threads(self.family.threads):
            return generate(model.net, count, generator, temperature=self.family.temperature, top_k=self.family.top_k)


def simulate_transformer(
    corpus: TextCorpus | str | None = None,
    *,
    generations: int = 5,
    runs: int = 1,
    n: int | None = None,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    protocol: str = "finetune",
    temperature: float = 1.0,
    top_k: int | None = None,
    model: ModelConfig | None = None,
    training: TrainConfig | None = None,
    base: TinyTransformer | None = None,
    eval_sentences: int = 500,
    seed: int = 0,
    threads: int | None = 1,
    device: str | torch.device | None = None,
    keep_models: bool = False,
    measure=None,
    progress: bool | str = False,
) -> NeuralLMRun:
    """The n-gram experiment of :func:`collapse_edu.ngram.simulate_ngram` with the transformer:
    train on the real text (generation 0, or take ``base``), generate ``n`` sentences (default: as
    many as the real training text), train the next generation on data chosen by ``policy``
    (fine-tuning the generation-0 model, or from scratch), repeat. Records the same metrics under
    the same names (``vocabulary``, ``train_tokens``, ``perplexity_real``, ``perplexity_self``,
    ``distinct_1``, ``distinct_2``, ``sentence_length``), so both models plot on the same axes.
    ``measure(family, model, data, t)`` may add more per-generation numbers."""
    corpus = load_corpus(corpus)
    seed = check_int("seed", seed, minimum=0)
    eval_sentences = check_int("eval_sentences", eval_sentences, minimum=1)
    n = len(corpus.train) if n is None else check_int("n", n, minimum=1, maximum=len(corpus.train))
    family = NeuralLM(
        len(corpus.vocab),
        model=model,
        training=training,
        protocol=protocol,
        temperature=temperature,
        top_k=top_k,
        held_out=corpus.held_out,
        base=base,
        seed=seed,
        threads=threads,
        device=device,
    )
    loop_seed, eval_seed = np.random.SeedSequence(seed).spawn(2)
    metrics = sample_metrics(family, eval_sentences, np.random.default_rng(eval_seed))

    def measure_all(models, data, t):
        values = dict(metrics(models, data, t))
        if measure is not None:
            values.update(measure(family, models, data, t))
        return values

    history = run_generations(
        family,
        SentencePool(corpus.train),
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        seed=np.random.default_rng(loop_seed),
        measure=measure_all,
        keep_models=keep_models,
        progress=progress,
    )
    return NeuralLMRun(history, corpus, family)


RESULTS_FILE = "neural_lm_runs.json"  #: the precomputed runs (``benchmarks/neural_lm_runs.py``)


def load_runs(path: str | None = None) -> dict:
    """The precomputed multi-seed runs of lesson 04 from ``collapse_edu/results/`` (or ``path``):
    settings, seeds, and per policy and seed one value per generation of every metric."""
    target = _results_file(path, RESULTS_FILE)
    if not target.is_file():
        raise FileNotFoundError(f"no precomputed runs at {target}: make them with python benchmarks/neural_lm_runs.py")
    return json.loads(target.read_text(encoding="utf-8"))


def runs_history(results: dict, policy: str) -> History:
    """One policy of :func:`load_runs` as a :class:`~collapse_edu.loop.History` whose runs are the
    seeds: ``history[name]`` has shape (generations + 1, seeds, ...)."""
    policies = results["settings"]["policies"]
    if policy not in results["runs"]:
        raise ValueError(f"policy must be one of {', '.join(map(repr, results['runs']))}; got {policy!r}")
    seeds = [str(s) for s in results["seeds"] if str(s) in results["runs"][policy]]
    names = results["runs"][policy][seeds[0]]["metrics"]
    metrics = {
        name: np.stack([np.asarray(results["runs"][policy][s]["metrics"][name], float) for s in seeds], axis=1)
        for name in names
    }
    return History(Policy.coerce(policy, policies[policy]), results["settings"]["n"], metrics)


#: Real-word count buckets of the survival curves: (lowest, highest) count in the real training text.
COUNT_BUCKETS = ((1, 1), (2, 2), (3, 3), (4, 7), (8, 15), (16, None))
#: Bin edges of the per-sentence perplexity histograms: log-spaced from 1 to 10^5, ten bins a decade.
PERPLEXITY_BINS = np.logspace(0, 5, 51)


def perplexity_histogram(perplexities) -> np.ndarray:
    """Counts of per-sentence perplexities in :data:`PERPLEXITY_BINS` (values above 10^5 go to the last
    bin). A perplexity exp(-log P / events) is finite and >= 1; nan, infinity or a value below 1 is refused
    (nan was dropped without a word, values below 1 counted in the first bin)."""
    perplexities = check_numbers("perplexities", perplexities, minimum=1.0)
    return np.histogram(np.clip(perplexities, 1, 1e5 - 1), PERPLEXITY_BINS)[0]


def share_above(histogram, level: float = 1000.0) -> np.ndarray:
    """Share of the sentences of a :data:`PERPLEXITY_BINS` histogram (last axis) whose perplexity is
    above ``level``, which must be one of the bin edges (1, 10^0.1, ..., 10^5)."""
    edge = np.flatnonzero(np.isclose(PERPLEXITY_BINS, level, rtol=1e-9))
    if edge.size != 1:
        raise ValueError(f"level must be a bin edge of PERPLEXITY_BINS (10^k for k = 0, 0.1, ..., 5); got {level!r}")
    counts = np.asarray(histogram, float)
    return counts[..., int(edge[0]) :].sum(-1) / counts.sum(-1)


def bucket_of(counts: np.ndarray) -> np.ndarray:
    """The :data:`COUNT_BUCKETS` index of every count (-1 for 0)."""
    counts = np.asarray(counts)
    index = np.full(counts.shape, -1)
    for b, (low, high) in enumerate(COUNT_BUCKETS):
        index[(counts >= low) & ((counts <= high) if high is not None else True)] = b
    return index


def distinct_pairs(sentences: Sentences, pairs: int = 5000) -> float:
    """distinct-2 at a fixed sample size: different word pairs among the first ``pairs`` pairs of
    neighbouring words inside sentences (all of them when there are fewer). distinct-n of a whole
    sample grows as the sample shrinks, so shorter sentences alone would raise it."""
    pairs = check_int("pairs", pairs, minimum=1)
    ids = sentences.ids.astype(np.int64)
    inside = np.ones(ids.size, bool)  # position i starts a pair unless it is the last word of its sentence
    inside[sentences.offsets[1:][sentences.lengths > 0] - 1] = False
    start = np.flatnonzero(inside[:-1])[:pairs] if ids.size > 1 else np.zeros(0, np.int64)
    if start.size == 0:
        return 0.0
    codes = ids[start] * (int(ids.max()) + 1) + ids[start + 1]
    return float(np.unique(codes).size / codes.size)


def generation_measure(corpus: TextCorpus, n: int | None = None):
    """A ``measure`` for :func:`simulate_transformer` that records, per generation and run:

    * ``judged_histogram`` (counts in :data:`PERPLEXITY_BINS`) and ``judged_median`` of the
      per-sentence perplexity, under the generation-0 model, of the last ``n`` sentences the
      generation trained on: the text its predecessor wrote (Shumailov et al.'s histogram; for
      ``accumulate`` the newest corpus of the pool, for generations 0 and 1 the real text);
    * ``distinct_pairs``: :func:`distinct_pairs` of those sentences (repetition at a fixed size);
    * ``surviving_by_count``: per :data:`COUNT_BUCKETS` bucket, how many of the real words seen
      that often in the real training text occur in the generation's training data;
    * ``words_back``: word types in the generation's training data that were missing from the
      previous generation's (0 for a count model: a word once lost never returns)."""
    corpus = load_corpus(corpus)
    n = len(corpus.train) if n is None else check_int("n", n, minimum=1)
    vocab_size = len(corpus.vocab)
    real_bucket = bucket_of(np.bincount(corpus.train.ids, minlength=vocab_size))
    real_bucket[:2] = -1
    previous: dict[int, np.ndarray] = {}

    def measure(family: NeuralLM, models, data, t):
        rows: dict[str, list] = {k: [] for k in ("judged_histogram", "judged_median", "distinct_pairs")}
        rows.update(surviving_by_count=[], words_back=[])
        for r, run in enumerate(data):
            newest = run.take(np.arange(max(0, len(run) - n), len(run)))
            with torch_threads(family.threads):
                judged = sentence_perplexities(family.base, newest)
            rows["judged_histogram"].append(perplexity_histogram(judged))
            rows["judged_median"].append(float(np.median(judged)))
            rows["distinct_pairs"].append(distinct_pairs(newest))
            present = np.bincount(run.ids, minlength=vocab_size) > 0
            rows["surviving_by_count"].append(
                np.bincount(real_bucket[present & (real_bucket >= 0)], minlength=len(COUNT_BUCKETS))
            )
            back = present[2:] & ~previous[r][2:] if t > 0 and r in previous else np.zeros(0, bool)
            rows["words_back"].append(int(back.sum()))
            previous[r] = present
        return rows

    return measure


def settings_of(family: NeuralLM) -> dict:
    """The model and training settings of a family, as plain numbers (for result files)."""
    return {"model": asdict(family.config), "training": asdict(family.training), "protocol": family.protocol}
