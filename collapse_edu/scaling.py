"""Scaling laws bend when the training data lose their tail: a Zipf memoriser.

Dohmatob et al., "A Tale of Tails: Model Collapse as a Change of Scaling Laws", arXiv:2402.07043.
The world is a Zipf law over items (p_i proportional to i^-beta, beta > 1). A *memoriser* answers an
item correctly if and only if it saw that item in training, so its test error is the probability mass
of the items it never saw. Trained on T clean draws its error falls like T^-(1 - 1/beta), a clean
power law. If the training data come from a model that has lost the tail (everything above rank k is
never produced, e.g. after top-k sampling or a few generations of collapse), the error can never fall
below the lost tail mass sum_{i > k} p_i ~ k^-(beta - 1): the scaling law bends into a plateau.

Closed forms: :func:`collapse_edu.theory.memoriser_error` and :func:`collapse_edu.theory.memoriser_power_law`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .theory import zipf_probabilities
from .validation import as_rng, check_int, check_memory


def simulate_memoriser(
    samples: int | Sequence[int] | np.ndarray,
    beta: float = 2.0,
    *,
    items: int = 100_000,
    cutoff: int | None = None,
    runs: int = 20,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Test error of a memoriser trained on T draws from the Zipf law cut at rank ``cutoff``
    (None: the clean law), tested on the full law. Returns ``(len(samples), runs)``.

    Each run draws the training counts of all items at once (multinomial); error = sum of p_i over
    the items with count 0."""
    p = zipf_probabilities(items, beta)
    k = items if cutoff is None else check_int("cutoff", cutoff, minimum=1, maximum=items)
    q = p[:k] / p[:k].sum()
    runs = check_int("runs", runs, minimum=1)
    check_memory(16.0 * runs * k, f"runs = {runs} with {k} items", "use fewer runs or items")
    rng = as_rng(seed)
    sizes = np.atleast_1d(np.asarray(samples))
    out = np.empty((sizes.size, runs))
    tail = p[k:].sum()
    for i, size in enumerate(sizes):
        size = check_int("samples", size, minimum=0)
        counts = rng.multinomial(size, q, size=runs)
        out[i] = tail + (counts == 0) @ p[:k]
    return out
