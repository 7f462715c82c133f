"""Judges for the curation step of the generation loop (sample -> curate -> mix).

:class:`~collapse_edu.loop.Curation` keeps n of m = ceil(n / q) candidates by a score. ``self`` scores
a candidate by the current model's own log-likelihood; ``verifier`` asks a judge that the experiment
supplies, ``verifier(model, candidates) -> log weight (runs, m)``. This module holds the judges:

* :func:`density_ratio_verifier`: the oracle, log p_real(x) - log p_model(x), with the loop's default
  rule ``"sample"`` (rejection sampling) it turns the model's samples into (nearly) real ones;
* :func:`likelihood_verifier`: how likely the *real* distribution finds a candidate; with rule
  ``"top"`` this is "keep the most realistic", which still narrows a Gaussian like self-selection;
* :class:`LogisticVerifier`: a classifier of real against synthetic, trained each generation on a
  fixed set of real samples and the candidates; its logit estimates log p_real/p_model + const
  (the density-ratio trick; Azadi et al., "Discriminator Rejection Sampling", arXiv:1810.06758);
* :class:`ClassBalanceVerifier`: a classifier trained on real labelled data (the digits) that
  accepts a candidate of predicted class c with weight pi_c / s_c (real class share over the
  candidates' share): rejection sampling on the label marginal, which restores class balance.

Why a ratio and not a quality score: keeping the top q of *any* fixed score of x truncates the
candidate distribution to a region, so it keeps less than the candidates' variance (a two-sided
truncation of a Gaussian keeps kappa(q) of it, :func:`collapse_edu.theory.truncation_variance_factor`).
Accepting with probability proportional to p_real/p_model instead reweights the candidates towards
p_real: the kept density is min(p_model, p_real / M) (:func:`collapse_edu.theory.verifier_kept_moments`).

Verification in the literature: Feng et al., "Beyond Model Collapse: Scaling Up with Synthesized
Data Requires Verification", arXiv:2406.07515; Yi et al., "Escaping Model Collapse via Synthetic
Data Verification: Near-term Improvements and Long-term Convergence", arXiv:2510.16657.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .loop import Curation, History, ModelSource, Policy, run_generations
from .validation import (
    as_rng,
    check_choice,
    check_finite_array,
    check_float,
    check_fraction,
    check_int,
    check_keep,
    check_memory,
)

# --------------------------------------------------------------------------- judges


def density_ratio_verifier(family: Any, truth: Any) -> Callable[[Any, Any], np.ndarray]:
    """The oracle judge: log p_real(x) - log p_model(x), both from ``family.log_likelihood``, with the
    real world ``truth`` a model of the same family (for example ``GaussianModel(0, 1)``)."""
    if not (callable(getattr(family, "log_likelihood", None)) and callable(getattr(family, "broadcast", None))):
        raise TypeError(f"family must be a model family with log_likelihood, such as Gaussian(), got {family!r:.60}")
    try:  # a truth the family cannot use fails here, by name, not later in the loop
        family.broadcast(truth, 1)
    except (TypeError, ValueError, AttributeError) as error:
        raise TypeError(f"truth must be a model of the family's kind: {error}") from None

    def verifier(model: Any, candidates: Any) -> np.ndarray:
        runs = _runs(candidates)
        return family.log_likelihood(family.broadcast(truth, runs), candidates) - family.log_likelihood(
            model, candidates
        )

    return verifier


def likelihood_verifier(family: Any, truth: Any) -> Callable[[Any, Any], np.ndarray]:
    """log p_real(x): how typical the real world finds a candidate (use it with rule ``"top"`` to keep
    the most realistic ones; it narrows the kept samples around the real mode)."""

    def verifier(model: Any, candidates: Any) -> np.ndarray:
        return family.log_likelihood(family.broadcast(truth, _runs(candidates)), candidates)

    return verifier


def _runs(candidates: Any) -> int:
    return len(candidates) if isinstance(candidates, list) else np.shape(candidates)[0]


def quadratic_features(x: np.ndarray) -> np.ndarray:
    """x ``(runs, m)`` -> (x, x^2); x ``(runs, m, d)`` -> (x_i, x_i x_j for i <= j): the features in which
    the log ratio of two Gaussians is linear."""
    x = np.asarray(x, float)
    if x.ndim == 2:
        return np.stack([x, x**2], axis=-1)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (runs, m) or (runs, m, d), got {x.shape}")
    i, j = np.triu_indices(x.shape[-1])
    return np.concatenate([x, x[..., i] * x[..., j]], axis=-1)


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, ridge: float = 1e-3, iterations: int = 30
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L2-penalised logistic regression, one per run, by Newton's method (IRLS), vectorised over runs.

    ``features`` ``(runs, N, p)`` are standardised per run (mean, std returned); the intercept is not
    penalised. Minimises sum_i log(1 + exp(-y_i' f(x_i))) + ridge N |w|^2 / 2 with y' = +-1 over N rows
    (ridge |w|^2 / 2 per row, scikit-learn's C = 1 / (ridge N)). Returns
    (weights ``(runs, p + 1)``, feature means, feature stds)."""
    features = np.asarray(features, float)
    labels = np.asarray(labels, float)
    mean = features.mean(axis=1, keepdims=True)
    std = np.maximum(features.std(axis=1, keepdims=True), 1e-12)
    design = np.concatenate([np.ones(features.shape[:2] + (1,)), (features - mean) / std], axis=2)
    runs, count, p = design.shape
    penalty = ridge * count * np.eye(p)
    penalty[0, 0] = 0.0
    w = np.zeros((runs, p))
    for _ in range(iterations):
        prob = 1.0 / (1.0 + np.exp(-np.clip(np.einsum("rnp,rp->rn", design, w), -40, 40)))
        gradient = np.einsum("rnp,rn->rp", design, labels - prob) - w @ penalty
        curvature = np.einsum("rnp,rn,rnq->rpq", design, prob * (1 - prob) + 1e-9, design) + penalty
        step = np.linalg.solve(curvature, gradient[..., None])[..., 0]
        w = w + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w, mean, std


class LogisticVerifier:
    """A classifier of real against synthetic, refitted every generation: real samples ``real``
    (label 1, fixed: the judge's knowledge of the world) against the candidates (label 0), by
    :func:`fit_logistic` on ``features`` (default :func:`quadratic_features`, exact for Gaussians).

    Its logit is log(p_real/p_model) + log(N_real/m) where the classifier is right, so the loop's
    rule ``"sample"`` (invariant to the constant) performs discriminator rejection sampling (Azadi et
    al., arXiv:1810.06758). What it learns of the world is only its real sample: a model curated by
    it converges to that sample's distribution, its "knowledge centre" (Yi et al., arXiv:2510.16657).

    ``real`` is ``(N, ...)`` shared by every run or ``(runs, N, ...)``, one judge per run."""

    def __init__(
        self,
        real: np.ndarray,
        features: Callable[[np.ndarray], np.ndarray] = quadratic_features,
        ridge: float = 1e-3,
    ):
        self.real = check_finite_array("real", real)
        # (N, ...) or (runs, N, ...): a (1, N) array is one run's N samples (the call tells which)
        if self.real.ndim < 1 or (self.real.shape[0] < 2 and (self.real.ndim < 2 or self.real.shape[1] < 2)):
            raise ValueError("real must hold at least two real samples")
        if not callable(features):
            raise TypeError("features must be a callable mapping samples (runs, m, ...) to (runs, m, p)")
        self.features = features
        self.ridge = check_float("ridge", ridge, 0.0)

    def __call__(self, model: Any, candidates: np.ndarray) -> np.ndarray:
        candidates = np.asarray(candidates, float)
        runs, m = candidates.shape[:2]
        real = self.real
        if real.ndim == candidates.ndim - 1:
            real = np.broadcast_to(real, (runs, *real.shape))
        if real.shape[0] != runs or real.shape[2:] != candidates.shape[2:]:
            raise ValueError(f"real must have shape (N, ...) or ({runs}, N, ...) like the candidates, got {real.shape}")
        if real.shape[1] < 2:
            raise ValueError(f"real must hold at least two real samples per run, got shape {self.real.shape}")
        both = self.features(np.concatenate([real, candidates], axis=1))
        labels = np.concatenate([np.ones(real.shape[1]), np.zeros(m)])
        w, mean, std = fit_logistic(both, np.broadcast_to(labels, both.shape[:2]), self.ridge)
        own = (both[:, real.shape[1] :] - mean) / std
        return w[:, :1] + np.einsum("rnp,rp->rn", own, w[:, 1:])


class ClassBalanceVerifier:
    """A classifier trained on real labelled data as the judge (the digits): a candidate predicted
    as class c gets the log weight log(pi_c / s_c), pi_c the real class frequency and s_c the share of
    this run's candidates predicted as c. With the rule ``"sample"`` the kept class shares move to
    pi (as far as the candidates allow: a class the model no longer draws cannot be restored).

    ``min_confidence`` > 0 also rejects (-inf) candidates whose top class probability is lower, a
    quality filter on top of the balance. ``classifier`` has ``predict_proba(x (m, d))``."""

    def __init__(self, classifier: Any, frequencies: Sequence[float], min_confidence: float = 0.0):
        if not callable(getattr(classifier, "predict_proba", None)):
            raise TypeError("classifier must have a predict_proba method (a fitted scikit-learn classifier)")
        self.classifier = classifier
        freq = np.asarray(frequencies, float)
        if freq.ndim != 1 or freq.size < 2 or np.any(freq <= 0) or not np.isclose(freq.sum(), 1.0):
            raise ValueError("frequencies must be positive class frequencies that sum to 1")
        self.log_frequencies = np.log(freq)
        self.min_confidence = check_fraction("min_confidence", min_confidence)

    def __call__(self, model: Any, candidates: np.ndarray) -> np.ndarray:
        candidates = np.asarray(candidates, float)
        runs, m = candidates.shape[:2]
        proba = self.classifier.predict_proba(candidates.reshape(runs * m, -1)).reshape(runs, m, -1)
        labels = proba.argmax(axis=2)
        classes = self.log_frequencies.size
        share = np.stack([np.bincount(row, minlength=classes) for row in labels]) / m
        with np.errstate(divide="ignore"):
            weight = self.log_frequencies[labels] - np.log(np.take_along_axis(share, labels, axis=1))
        if self.min_confidence > 0:
            weight = np.where(proba.max(axis=2) >= self.min_confidence, weight, -np.inf)
        return weight


# --------------------------------------------------------------------------- experiments

GAUSSIAN_SETTINGS = ("none", "self", "real-likelihood", "oracle-ratio", "learned-ratio")
SETTING_LABELS = {
    "none": "no curation",
    "self": "self-selection (model's own likelihood, top q)",
    "real-likelihood": "judge: real likelihood, top q",
    "oracle-ratio": r"verifier: exact ratio $p_{real}/p_{model}$, rejection sampling",
    "learned-ratio": "verifier: real-vs-synthetic classifier, rejection sampling",
}


def gaussian_curation(
    setting: str,
    keep: float,
    *,
    real_samples: int = 1000,
    runs: int = 1,
    seed: int | np.random.Generator = 0,
) -> Curation:
    """The :class:`~collapse_edu.loop.Curation` of a named setting for the 1-D Gaussian loop (truth
    N(0, 1)). ``learned-ratio`` draws one fixed real set of ``real_samples`` per run for its judge."""
    from .gaussian import Gaussian, GaussianModel

    setting = check_choice("setting", setting, GAUSSIAN_SETTINGS)
    keep = check_keep("keep", keep)
    real_samples = check_int("real_samples", real_samples, minimum=2)
    runs = check_int("runs", runs, minimum=1)
    if not isinstance(seed, np.random.Generator):
        seed = check_int("seed", seed, minimum=0)
    family = Gaussian()
    truth = GaussianModel(np.array([0.0]), np.array([1.0]))
    if setting == "none":
        return Curation()
    if setting == "self":
        return Curation("self", keep=keep)
    if setting == "real-likelihood":
        return Curation("verifier", keep=keep, verifier=likelihood_verifier(family, truth), rule="top")
    if setting == "oracle-ratio":
        return Curation("verifier", keep=keep, verifier=density_ratio_verifier(family, truth))
    check_memory(8.0 * runs * real_samples, f"runs = {runs} with real_samples = {real_samples}", "use fewer of either")
    real = as_rng(seed).standard_normal((runs, real_samples))
    return Curation("verifier", keep=keep, verifier=LogisticVerifier(real))


def _settings(settings: object, choices: Sequence[str]) -> list[str]:
    """Curation settings by name: a sequence of them, or one name alone (not its letters)."""
    if isinstance(settings, str):
        settings = [settings]
    if not isinstance(settings, Iterable):
        raise TypeError(
            f"settings must be a setting or a sequence of them ({', '.join(map(repr, choices))}); got {settings!r:.40}"
        )
    settings = [check_choice("settings", s, choices) for s in settings]
    if not settings:
        raise ValueError("settings must name at least one curation setting")
    return settings


def simulate_gaussian_curation(
    settings: Sequence[str] | str = ("none", "self", "oracle-ratio"),
    *,
    keep: float = 0.5,
    n: int = 100,
    generations: int = 30,
    runs: int = 1000,
    real_samples: int = 1000,
    policy: Policy | str = "replace",
    real_fraction: float | None = None,
    seed: int = 0,
) -> dict[str, History]:
    """The 1-D Gaussian loop (truth N(0, 1), MLE, direct path) under each curation ``setting`` of
    :data:`GAUSSIAN_SETTINGS` (or the one named), the same seed for all; keyed by setting. Metrics
    ``mu``, ``sigma``."""
    from .gaussian import simulate_gaussian

    keep = check_keep("keep", keep)
    seed = check_int("seed", seed, minimum=0)
    runs = check_int("runs", runs, minimum=1)
    real_samples = check_int("real_samples", real_samples, minimum=2)
    settings = _settings(settings, GAUSSIAN_SETTINGS)
    judge_seed = np.random.default_rng([seed, 1])
    return {
        s: simulate_gaussian(
            n,
            generations,
            runs,
            policy=policy,
            real_fraction=real_fraction,
            seed=seed,
            fast=False,  # every setting on the direct path: the same draws up to the first curation
            curation=gaussian_curation(s, keep, real_samples=real_samples, runs=runs, seed=judge_seed),
        )
        for s in settings
    }


MIXTURE_SETTINGS = ("none", "self", "oracle-ratio", "learned-ratio")


def simulate_mixture_curation(
    settings: Sequence[str] | str = MIXTURE_SETTINGS,
    *,
    keep: float = 0.5,
    n: int = 500,
    generations: int = 100,
    runs: int = 5,
    components: int = 2,
    real_samples: int = 2000,
    seed: int = 0,
) -> dict[str, History]:
    """Shumailov's mixture toy (a ``components``-component full-covariance mixture refitted to its own
    samples, truth one 2-D blob N(0, I)) under each curation setting; keyed by setting. The judges
    compare with the truth: ``oracle-ratio`` its exact density, ``learned-ratio`` a quadratic
    real-vs-synthetic classifier on ``real_samples`` fixed real points per run."""
    from .mixtures import GaussianMixtureFamily, blob_truth

    keep = check_keep("keep", keep)
    seed = check_int("seed", seed, minimum=0)
    runs = check_int("runs", runs, minimum=1)
    real_samples = check_int("real_samples", real_samples, minimum=2)
    check_memory(16.0 * runs * real_samples, f"runs = {runs} with real_samples = {real_samples}", "use fewer of either")
    settings = _settings(settings, MIXTURE_SETTINGS)
    truth = blob_truth(0.0, components)
    out = {}
    for s in settings:
        family = GaussianMixtureFamily(components, seed=seed)
        if s == "none":
            curation = Curation()
        elif s == "self":
            curation = Curation("self", keep=keep)
        elif s == "oracle-ratio":
            curation = Curation("verifier", keep=keep, verifier=density_ratio_verifier(family, truth))
        else:
            real = np.random.default_rng([seed, 1]).standard_normal((runs, real_samples, 2))
            curation = Curation("verifier", keep=keep, verifier=LogisticVerifier(real))
        out[s] = run_generations(
            family, ModelSource(truth), n=n, generations=generations, runs=runs, seed=seed, curation=curation
        )
    return out


def simulate_verifier_strength(
    real_samples: Sequence[int] = (100, 1000, 10000),
    *,
    keep: float = 0.5,
    n: int = 100,
    generations: int = 30,
    runs: int = 200,
    seed: int = 0,
) -> dict[int, History]:
    """The 1-D Gaussian loop curated by learned verifiers (``learned-ratio``) trained on each number of
    real samples; keyed by that number. A judge trained on N real points knows the world only to
    O(1/N): the loop settles near what the judge knows (Yi et al., arXiv:2510.16657)."""
    if isinstance(real_samples, (str, bytes)) or not isinstance(real_samples, Iterable):
        raise TypeError(
            "real_samples must be a sequence of sizes of the verifier's real set (integers >= 2), such as "
            f"(100, 1000); got {type(real_samples).__name__} {real_samples!r:.40}"
        )
    real_samples = [check_int("real_samples", s, minimum=2) for s in real_samples]
    if not real_samples:
        raise ValueError("real_samples must name at least one size of the verifier's real set")
    return {
        s: simulate_gaussian_curation(
            ("learned-ratio",), keep=keep, n=n, generations=generations, runs=runs, real_samples=s, seed=seed
        )["learned-ratio"]
        for s in real_samples
    }
