"""A tiny decoder-only transformer language model that plugs into the generation loop.

The model reads the same word tokens as the n-gram model of :mod:`collapse_edu.ngram` (same corpus,
same held-out split, same vocabulary: id 0 ``<s>`` starts a sentence and marks its end, id 1 is
``<unk>``), so perplexities, vocabulary survival and distinct-n of the two models sit on the same axes.

* **Architecture** (Radford et al. 2018/2019, "GPT"): token + learned position embeddings, ``layers``
  pre-norm blocks of causal multi-head self-attention (Vaswani et al. 2017, arXiv:1706.03762) and a
  4x GELU MLP, a final layer norm, and an output layer tied to the token embedding (Press & Wolf
  2017, arXiv:1608.05859). About 0.3 M parameters at the defaults, most of them the embedding.
* **Training**: next-token cross-entropy on whole sentences (``<s> w1 ... wn`` predicts
  ``w1 ... wn <s>``), cut at ``context`` tokens, AdamW, batches of sentences of similar length.
* **Sampling**: many sentences in parallel with a key/value cache (each step attends one new query
  per sentence to the cached keys and values: O(length) work per token instead of O(length^2)),
  temperature and top-k; finished sentences leave the batch.
* **Protocol** (Shumailov et al., "AI models collapse when trained on recursively generated data",
  Nature 631, 2024, arXiv:2305.17493, section on language models): the first fit trains from
  scratch on real text (their generation-0 model); every later fit *fine-tunes a copy of that
  model* on the data the generation loop hands it. ``protocol="scratch"`` trains every generation
  from scratch instead.

torch is imported here only: the numpy lessons never pay for it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .loop import Policy
from .ngram import NGramRun, SentenceFamily, SentencePool, Sentences, TextCorpus, load_corpus, sample_metrics
from .validation import as_rng, check_choice, check_float, check_int

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

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, minimum=2)
        check_int("width", self.width, minimum=4)
        check_int("layers", self.layers, minimum=1)
        check_int("heads", self.heads, minimum=1)
        check_int("context", self.context, minimum=2)
        if self.width % self.heads:
            raise ValueError(f"width must be a multiple of heads, got width={self.width}, heads={self.heads}")


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position i sees positions <= i; ``cache`` holds the keys and
    values of earlier positions for incremental decoding."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        if cache is not None:  # one new position: attend to everything cached, no mask needed
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(batch, length, width)), (k, v)


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attention = CausalSelfAttention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor, cache=None):
        attended, cache = self.attention(self.norm1(x), cache)
        x = x + attended
        return x + self.mlp(self.norm2(x)), cache


class TinyTransformer(nn.Module):
    """A decoder-only transformer over word ids; the output layer shares the embedding matrix."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.width)
        self.position = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config.width, config.heads) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.width)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor, caches=None, start: int = 0):
        """Logits for every position of ``ids`` (batch, length); with ``caches`` (one per block) the
        ids continue cached sequences at position ``start``. Returns (logits, new caches)."""
        positions = torch.arange(start, start + ids.shape[1], device=ids.device)
        x = self.embed(ids) + self.position(positions)
        new_caches = []
        for i, block in enumerate(self.blocks):
            x, cache = block(x, None if caches is None else caches[i])
            new_caches.append(cache)
        return self.norm(x) @ self.embed.weight.T, new_caches

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


# --------------------------------------------------------------------------- data <-> tensors


def sentence_batch(sentences: Sentences, index: np.ndarray, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``<s> w1 .. wn`` and targets ``w1 .. wn <s>`` of the sentences at ``index``, cut to
    ``context`` positions and right-padded (inputs with ``<s>``, targets with ``IGNORE``)."""
    lengths = np.minimum(sentences.lengths[index] + 1, context)
    width = int(lengths.max())
    inputs = np.full((len(index), width), END, np.int64)
    targets = np.full((len(index), width), IGNORE, np.int64)
    for row, (i, length) in enumerate(zip(index, lengths, strict=True)):
        words = sentences[i]
        inputs[row, 1:length] = words[: length - 1]
        targets[row, :length] = np.append(words, END)[:length]  # a cut sentence predicts its next word
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
    """How a generation is trained: from scratch (the first fit, or ``protocol="scratch"``) for
    ``epochs`` passes over the data, a fine-tune for ``finetune_epochs`` passes."""

    epochs: float = 8.0
    finetune_epochs: float = 1.0
    batch_size: int = 64
    learning_rate: float = 3e-3
    finetune_learning_rate: float = 1e-3
    weight_decay: float = 0.01

    def __post_init__(self) -> None:
        check_float("epochs", self.epochs, 0.0, strict_minimum=True)
        check_float("finetune_epochs", self.finetune_epochs, 0.0, strict_minimum=True)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("learning_rate", self.learning_rate, 0.0, strict_minimum=True)
        check_float("finetune_learning_rate", self.finetune_learning_rate, 0.0, strict_minimum=True)
        check_float("weight_decay", self.weight_decay, 0.0)


def train(
    net: TinyTransformer,
    sentences: Sentences,
    *,
    epochs: float,
    learning_rate: float,
    batch_size: int,
    weight_decay: float,
    rng: np.random.Generator,
) -> list[float]:
    """Next-token cross-entropy training for ``epochs`` passes (a fraction counts), with the learning
    rate decayed linearly to zero; returns the loss of every step (nats per token)."""
    if len(sentences) == 0:
        raise ValueError("sentences must hold at least one sentence to train on")
    batches: list[np.ndarray] = []
    while len(batches) < max(1, math.ceil(epochs * math.ceil(len(sentences) / batch_size))):
        batches.extend(_length_batches(sentences.lengths, batch_size, rng))
    batches = batches[: max(1, math.ceil(epochs * math.ceil(len(sentences) / batch_size)))]
    optimizer = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay, betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / len(batches))
    net.train()
    losses = []
    for index in batches:
        inputs, targets = sentence_batch(sentences, index, net.config.context)
        logits, _ = net(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    net.eval()
    return losses


@torch.no_grad()
def sentence_log_likelihoods(
    net: TinyTransformer, sentences: Sentences, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Log-probability (nats) of every sentence, its words and its end, and the number of predicted
    events per sentence (length + 1, cut at the context)."""
    net.eval()
    log_p = np.zeros(len(sentences))
    events = np.zeros(len(sentences), np.int64)
    order = np.argsort(sentences.lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        inputs, targets = sentence_batch(sentences, index, net.config.context)
        logits, _ = net(inputs)
        token_log_p = -F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
        log_p[index] = token_log_p.sum(dim=1).double().numpy()
        events[index] = (targets != IGNORE).sum(dim=1).numpy()
    return log_p, events


def lm_perplexity(net: TinyTransformer, sentences: Sentences) -> float:
    """exp(-mean log P) per predicted event (words and sentence ends), as :func:`ngram.perplexity`."""
    if len(sentences) == 0:
        raise ValueError("sentences must hold at least one sentence to measure perplexity")
    log_p, events = sentence_log_likelihoods(net, sentences)
    return float(np.exp(-log_p.sum() / events.sum()))


def sentence_perplexities(net: TinyTransformer, sentences: Sentences) -> np.ndarray:
    """Perplexity of each sentence on its own: exp(-log P(sentence) / events)."""
    log_p, events = sentence_log_likelihoods(net, sentences)
    return np.exp(-log_p / events)


@torch.no_grad()
def generate(
    net: TinyTransformer,
    count: int,
    generator: torch.Generator,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_length: int | None = None,
    batch_size: int = 4096,
) -> Sentences:
    """``count`` sentences sampled in parallel with a key/value cache. Each starts at ``<s>`` and
    ends when ``<s>`` is drawn or after ``max_length`` words (default: the context minus one).
    Temperature T samples from softmax(logits / T); top-k keeps the k largest logits."""
    count = check_int("count", count, minimum=0)
    temperature = check_float("temperature", temperature, 0.0, strict_minimum=True)
    limit = net.config.context - 1
    max_length = limit if max_length is None else check_int("max_length", max_length, 1, limit)
    if top_k is not None:
        top_k = check_int("top_k", top_k, 1, net.config.vocab_size)
    net.eval()
    words: list[np.ndarray] = []
    for start in range(0, count, batch_size):
        size = min(batch_size, count - start)
        out = np.zeros((size, max_length), np.int64)
        lengths = np.full(size, max_length, np.int64)
        alive = torch.arange(size)
        token = torch.full((size, 1), END, dtype=torch.long)
        caches = None
        for step in range(max_length):
            logits, caches = net(token, caches, start=step)
            logits = logits[:, -1] / temperature
            if top_k is not None and top_k < logits.shape[1]:
                threshold = torch.topk(logits, top_k, dim=1).values[:, -1:]
                logits = logits.masked_fill(logits < threshold, float("-inf"))
            token = torch.multinomial(torch.softmax(logits, dim=1), 1, generator=generator)
            drawn = token[:, 0].numpy()
            ended = drawn == END
            lengths[alive[ended].numpy()] = step
            keep = torch.from_numpy(~ended)
            alive, token = alive[keep], token[keep]
            out[alive.numpy(), step] = drawn[~ended]
            if alive.numel() == 0:
                break
            caches = [(k[keep], v[keep]) for k, v in caches]
        words.extend(out[i, : lengths[i]] for i in range(size))
    return Sentences.from_lists(words)


# --------------------------------------------------------------------------- the loop family


@dataclass(eq=False)
class NeuralLMModel:
    """One trained network plus what the history records of it: the word types and tokens of the
    data it was trained on."""

    net: TinyTransformer = field(repr=False)
    vocabulary: int
    tokens: int
    losses: list[float] = field(default_factory=list, repr=False)


class NeuralLM(SentenceFamily):
    """A tiny transformer family for :func:`~collapse_edu.loop.run_generations`.

    Data: a list with one :class:`~collapse_edu.ngram.Sentences` per run; model: a list with one
    :class:`NeuralLMModel` per run. ``fit`` trains (the first call from scratch, later calls
    fine-tune a copy of that first model, as Shumailov et al. do; ``protocol="scratch"`` trains
    every fit from scratch); ``sample`` generates whole sentences with ``temperature``/``top_k``;
    ``describe`` records the training data's vocabulary and tokens and, with ``held_out`` text,
    the model's perplexity on it.
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
        seed: int = 0,
        threads: int | None = None,
    ):
        self.config = model or ModelConfig(check_int("vocab_size", vocab_size, minimum=2))
        if self.config.vocab_size != vocab_size:
            raise ValueError(f"model.vocab_size ({self.config.vocab_size}) must equal vocab_size ({vocab_size})")
        self.training = training or TrainConfig()
        self.protocol = check_choice("protocol", protocol, PROTOCOLS)
        self.temperature = check_float("temperature", temperature, 0.0, strict_minimum=True)
        self.top_k = None if top_k is None else check_int("top_k", top_k, 1, vocab_size)
        self.held_out = held_out if held_out is not None and len(held_out) else None
        self.seed = check_int("seed", seed, minimum=0)
        self.threads = threads
        self.base: TinyTransformer | None = None  # the first model, trained from scratch on real text
        self._fits = 0

    def _fit_one(self, sentences: Sentences, rng: np.random.Generator) -> NeuralLMModel:
        if self.threads:
            torch.set_num_threads(self.threads)
        t = self.training
        from_scratch = self.base is None or self.protocol == "scratch"
        if from_scratch:
            torch.manual_seed(int(rng.integers(2**31)))
            net = TinyTransformer(self.config)
            epochs, rate = t.epochs, t.learning_rate
        else:
            net = copy.deepcopy(self.base)
            epochs, rate = t.finetune_epochs, t.finetune_learning_rate
        losses = train(
            net,
            sentences,
            epochs=epochs,
            learning_rate=rate,
            batch_size=t.batch_size,
            weight_decay=t.weight_decay,
            rng=rng,
        )
        if self.base is None:
            self.base = net
        ids = sentences.ids
        return NeuralLMModel(net, int(np.count_nonzero(np.bincount(ids, minlength=2)[2:])), int(ids.size), losses)

    def fit(self, data: Sequence[Sentences]) -> list[NeuralLMModel]:
        self._fits += 1
        rng = np.random.default_rng([self.seed, self._fits])
        return [self._fit_one(run, rng) for run in data]

    def sample(self, model: Sequence[NeuralLMModel], size: int, rng: np.random.Generator) -> list[Sentences]:
        out = []
        for m in model:
            generator = torch.Generator().manual_seed(int(as_rng(rng).integers(2**63)))
            out.append(generate(m.net, size, generator, temperature=self.temperature, top_k=self.top_k))
        return out

    def perplexity(self, model: NeuralLMModel, sentences: Sentences) -> float:
        return lm_perplexity(model.net, sentences)

    def describe(self, model: Sequence[NeuralLMModel]) -> dict[str, np.ndarray]:
        values = {
            "vocabulary": np.array([m.vocabulary for m in model]),
            "train_tokens": np.array([m.tokens for m in model]),
        }
        if self.held_out is not None:
            values["perplexity_real"] = np.array([lm_perplexity(m.net, self.held_out) for m in model])
        return values


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
    eval_sentences: int = 500,
    seed: int = 0,
    keep_models: bool = False,
    progress: bool | str = False,
) -> NGramRun:
    """The n-gram experiment of :func:`collapse_edu.ngram.simulate_ngram` with the transformer:
    train on the real text, generate ``n`` sentences (default: as many as the real training text),
    train the next generation on data chosen by ``policy`` (fine-tuning the first model, or from
    scratch), repeat. Records the same metrics under the same names (``vocabulary``,
    ``train_tokens``, ``perplexity_real``, ``perplexity_self``, ``distinct_1``, ``distinct_2``,
    ``sentence_length``), so both models plot on the same axes."""
    from .loop import run_generations

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
        seed=seed,
    )
    loop_seed, eval_seed = np.random.SeedSequence(seed).spawn(2)
    history = run_generations(
        family,
        SentencePool(corpus.train),
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        seed=np.random.default_rng(loop_seed),
        measure=sample_metrics(family, eval_sentences, np.random.default_rng(eval_seed)),
        keep_models=keep_models,
        progress=progress,
    )
    return NGramRun(history, corpus, family)
