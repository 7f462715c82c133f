"""Speed of the tiny transformer of lesson 04 on this machine: training, scoring and sampling tokens/s.

Times, with one and with two torch threads, on the lesson's corpus and model (``neural_lm`` defaults):

* **training**: one pass over the real training text (batches of 32 sentences, AdamW);
* **scoring**: the perplexity of the held-out text (forward passes only);
* **sampling**: 2,130 sentences (one generation's corpus) with the key/value cache and inverse-CDF
  draws, next to a naive sampler that recomputes the whole prefix every step and draws with
  ``torch.multinomial`` (on 500 sentences: it is slow).

Prints tokens per second of wall time and per CPU second (``time.process_time``), with the load
average, because the course machine is shared. Run from the repository root:

    python benchmarks/neural_lm_speed.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from collapse_edu import neural_lm
from collapse_edu.environment import load_average, machine_info
from collapse_edu.ngram import Sentences, load_corpus


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


@torch.no_grad()
def naive_generate(net: neural_lm.TinyTransformer, count: int, seed: int) -> Sentences:
    """The slow way: every step runs the whole prefix through the network (no cache) and draws with
    ``torch.multinomial``; finished sentences stay in the batch."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.zeros((count, 1), dtype=torch.long)
    done = torch.zeros(count, dtype=torch.bool)
    for _ in range(net.config.context - 1):
        probabilities = torch.softmax(net(ids)[:, -1], dim=1)
        token = torch.multinomial(probabilities, 1, generator=generator)
        token[done] = 0
        ids = torch.cat([ids, token], dim=1)
        done |= token[:, 0] == 0
        if done.all():
            break
    words = []
    for row in ids[:, 1:].numpy():
        end = np.flatnonzero(row == 0)
        words.append(row[: end[0] if end.size else row.size])
    return Sentences.from_lists(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    corpus = load_corpus()
    events = corpus.train.tokens + len(corpus.train)
    m = machine_info("processor", "cpus", "python", "torch")
    print(f"machine: {m['processor']}, {m['cpus']} cores, Python {m['python']}, torch {m['torch']}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        net = neural_lm.TinyTransformer(neural_lm.ModelConfig(len(corpus.vocab)))
        load = load_average()
        _, wall, cpu = timed(lambda net=net: neural_lm.train(net, corpus.train, epochs=1.0, learning_rate=3e-3))
        print(f"threads {threads}, load {load:.1f}: training {events / wall:8,.0f} tokens/s wall, "
              f"{events / cpu:8,.0f} per CPU s ({net.parameter_count():,} parameters)")  # fmt: skip
        held = corpus.held_out.tokens + len(corpus.held_out)
        _, wall, cpu = timed(lambda net=net: neural_lm.lm_perplexity(net, corpus.held_out))
        print(f"threads {threads}: scoring  {held / wall:8,.0f} tokens/s wall, {held / cpu:8,.0f} per CPU s")
        sample, wall, cpu = timed(lambda net=net: neural_lm.generate(net, len(corpus.train), 0))
        tokens = sample.tokens + len(sample)
        print(f"threads {threads}: sampling {tokens / wall:8,.0f} tokens/s wall, {tokens / cpu:8,.0f} per CPU s "
              f"(cache; {len(sample)} sentences, {tokens:,} tokens incl. ends)")  # fmt: skip
        slow, wall, cpu = timed(lambda net=net: naive_generate(net, 500, 0))
        tokens = slow.tokens + len(slow)
        print(f"threads {threads}: sampling {tokens / wall:8,.0f} tokens/s wall, {tokens / cpu:8,.0f} per CPU s "
              f"(naive: no cache, torch.multinomial; {tokens:,} tokens)")  # fmt: skip
        print(f"threads {threads}: load average now {load_average():.1f}")


if __name__ == "__main__":
    main()
