"""The digits retrained on their own samples by two model families, with and without curation.

Families (both refitted from scratch every generation on n images of the previous one):

* ``"pca-gmm"``: PCA to 10 dimensions plus a 10-component Gaussian mixture
  (:class:`collapse_edu.mixtures.PCAMixture`);
* ``"vae"``: a small variational autoencoder (:class:`collapse_edu.vae.VAE`).

Settings (:data:`DIGIT_SETTINGS`): ``synthetic`` (policy replace, no curation), ``self`` (the model
keeps the fraction q of its candidates it finds most likely), ``real-share`` (a fraction r of fresh
real digits every generation) and ``verified`` (a classifier trained on real digits judges the
candidates: :class:`collapse_edu.curation.ClassBalanceVerifier`, rejection sampling on the label
marginal towards the real class frequencies).

Measured every generation on fresh samples of the model (:class:`DigitQuality`): the real-digit
classifier's class coverage, class entropy and confidence, the pixel variance (variety kept), and
precision and recall (Kynkaanniemi et al. 2019, arXiv:1904.06991, k = 3;
:func:`collapse_edu.metrics.precision_recall`) against a fixed set of real training digits.

Feature space of precision and recall: the 10 leading principal components of the real training
digits (74% of their pixel variance), fitted once and shared by every family and generation. The
metric needs a space where a k-NN ball is a neighbourhood of similar digits (the paper uses a
network trained on real images). Raw pixels do not work for PCA + mixture: it does not reproduce
the fine residual detail beyond its 10 dimensions, so in pixel space its recall is near zero from
generation 0 on (measured: 0.03-0.05; the VAE about 0.45, held-out real digits 0.93), and nothing
could be seen to fade. Caveat: these are the directions of generation 0's PCA + mixture model, which
favours that family at generation 0.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from .curation import ClassBalanceVerifier
from .environment import RESULTS_DIR
from .loop import Curation, DataPool, History, run_generations
from .metrics import precision_recall
from .mixtures import DigitScorer, PCAMixture, digit_classifier, load_digit_split
from .validation import check_choice, check_fraction, check_int, check_keep, check_memory, only_for

DIGIT_FAMILIES = ("pca-gmm", "vae")
DIGIT_SETTINGS = ("synthetic", "self", "real-share", "verified")
FAMILY_LABELS = {"pca-gmm": "PCA + Gaussian mixture", "vae": "VAE"}
SETTING_LABELS = {
    "synthetic": "fully synthetic",
    "self": "self-selected (top q by own likelihood)",
    "real-share": "real share each generation",
    "verified": "verified (real-digit classifier, class balance)",
}
EMBEDDING_DIMS = 10
SUMMARY_FILE = "curation_digits.json"


def make_digit_family(name: str, seed: int = 0) -> Any:
    """A fresh model family of the digits by name (:data:`DIGIT_FAMILIES`)."""
    name = check_choice("family", name, DIGIT_FAMILIES)
    seed = check_int("seed", seed, minimum=0)
    if name == "pca-gmm":
        return PCAMixture(10, 10, seed=seed)
    from .vae import VAE

    return VAE(seed=seed)


@functools.lru_cache(maxsize=1)
def digit_embedding() -> Any:
    """The fixed feature map of precision and recall: PCA of the real training digits to 10 dimensions."""
    from sklearn.decomposition import PCA

    return PCA(EMBEDDING_DIMS, svd_solver="full").fit(load_digit_split().train_x)


def real_reference(samples: int = 500, seed: int = 0) -> np.ndarray:
    """``samples`` real training digits (a fixed random choice), embedded: the real side of precision
    and recall (the same number as the generated side, as the k-NN radii depend on the set size)."""
    samples = check_int("samples", samples, minimum=4)
    train = load_digit_split().train_x
    if samples > len(train):
        raise ValueError(f"samples must be <= {len(train)} (the real training digits), got {samples}")
    pick = np.random.default_rng(check_int("seed", seed, minimum=0)).choice(len(train), samples, replace=False)
    return digit_embedding().transform(train[pick])


def real_frequencies() -> np.ndarray:
    """The class frequencies of the real training digits (what the verifier restores)."""
    labels = load_digit_split().train_y
    return np.bincount(labels, minlength=10) / labels.size


def digit_verifier(min_confidence: float = 0.0) -> ClassBalanceVerifier:
    """The outside judge of the digits: the logistic-regression classifier trained once on the real
    training digits (:func:`collapse_edu.mixtures.digit_classifier`), accepting by class balance."""
    return ClassBalanceVerifier(digit_classifier()[0], real_frequencies(), min_confidence)


class DigitQuality(DigitScorer):
    """The loop's ``measure`` for both families: the scores of
    :class:`~collapse_edu.mixtures.DigitScorer` plus ``precision`` and ``recall`` (k = ``k``) of the
    same ``samples`` images against as many embedded real training digits."""

    def __init__(self, family: Any, samples: int = 500, grid: int = 40, seed: int = 0, k: int = 3):
        super().__init__(family, samples=samples, grid=grid, seed=seed)
        self.k = check_int("k", k, minimum=1)
        self.reference = real_reference(self.samples, seed)

    def score(self, images: np.ndarray) -> dict[str, object]:
        row = super().score(images)
        row["precision"], row["recall"] = precision_recall(self.reference, digit_embedding().transform(images), self.k)
        return row


def digit_curation(setting: str, keep: float = 0.5) -> Curation:
    """The curation step of a setting: none, ``self`` with keep q, or the class-balance verifier."""
    setting = check_choice("setting", setting, DIGIT_SETTINGS)
    if setting == "self":
        return Curation("self", keep=keep)
    if setting == "verified":
        return Curation("verifier", keep=keep, verifier=digit_verifier())
    return Curation()


#: defaults of the arguments of :func:`simulate_digit_curation` that only some settings use
SETTING_DEFAULTS = {"keep": 0.5, "real_fraction": 0.1}


def simulate_digit_curation(
    family: str = "pca-gmm",
    setting: str = "synthetic",
    *,
    generations: int = 20,
    n: int = 500,
    keep: float | None = None,
    real_fraction: float | None = None,
    samples: int = 500,
    seed: int = 0,
    progress: bool | str = False,
) -> History:
    """One run of the digits loop: ``family`` (:data:`DIGIT_FAMILIES`) retrained for ``generations``
    generations on n images each, under ``setting`` (:data:`DIGIT_SETTINGS`; ``keep`` is q of ``self``
    and ``verified``, default 0.5; ``real_fraction`` is r of ``real-share``, default 0.1; each is
    refused with a setting that does not use it). Row 0 is the model of all real training digits.
    Metrics: those of :data:`collapse_edu.mixtures.DIGIT_METRICS` plus ``precision``, ``recall``,
    ``class_share`` and ``grid`` (40 images per generation), and the family's own."""
    setting = check_choice("setting", setting, DIGIT_SETTINGS)
    keep = check_keep(
        "keep", only_for("keep", keep, SETTING_DEFAULTS["keep"], "setting", setting, ("self", "verified"))
    )
    real_fraction = only_for(
        "real_fraction", real_fraction, SETTING_DEFAULTS["real_fraction"], "setting", setting, ("real-share",)
    )
    real_fraction = check_fraction("real_fraction", real_fraction)
    generations = check_int("generations", generations, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    digits = load_digit_split()
    n = check_int("n", n, minimum=11, maximum=len(digits.train_x))
    model_family = make_digit_family(family, seed)
    quality = DigitQuality(model_family, samples=samples, seed=seed)
    check_memory(
        8.0 * ((generations + 1) * (quality.grid * 64 + 30) + 3 * 64 * (quality.samples + 2 * n / max(keep, 1e-3))),
        f"generations = {generations} with n = {n} and keep = {keep}",
        "use fewer generations, a smaller n or a larger keep",
    )
    return run_generations(
        model_family,
        DataPool(digits.train_x),
        n=n,
        generations=generations,
        policy="fresh-real" if setting == "real-share" else "replace",
        real_fraction=real_fraction if setting == "real-share" else None,
        seed=seed,
        measure=quality,
        curation=digit_curation(setting, keep),
        progress=progress,
    )


# --------------------------------------------------------------------------- precomputed summary

_LEVELS = "0123456789abcdefg"  # the 17 grey levels of the original digits (pixel value * 16)


def encode_images(images: np.ndarray) -> list[str]:
    """Images ``(k, 64)`` in [0, 1] as strings of 64 characters, one of 17 grey levels each (compact JSON)."""
    levels = np.round(16 * np.clip(np.asarray(images, float), 0.0, 1.0)).astype(int)
    return ["".join(_LEVELS[v] for v in row) for row in levels.reshape(len(levels), -1)]


def decode_images(rows: list[str]) -> np.ndarray:
    """The inverse of :func:`encode_images`: ``(k, 64)`` pixel values in [0, 1]."""
    try:
        return np.array([[_LEVELS.index(c) for c in row] for row in rows], float) / 16.0
    except ValueError:
        raise ValueError(f"images must be strings of the characters {_LEVELS!r}") from None


SUMMARY_METRICS = ("coverage", "entropy", "confidence", "pixel_variance", "precision", "recall")


def load_digit_curation(path: str | Path | None = None) -> dict:
    """The multi-seed summary written by ``benchmarks/curation_digits.py`` (in ``collapse_edu/results/``):
    ``runs[family][setting][metric]`` is a list (seeds) of per-generation lists."""
    target = Path(path) if path is not None else RESULTS_DIR / SUMMARY_FILE
    if not target.is_file():
        raise FileNotFoundError(f"no digit curation summary at {target}; run benchmarks/curation_digits.py")
    return json.loads(target.read_text(encoding="utf-8"))
