"""The VAE digit family, the digits loop with curation, and their figures (small, fast settings)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from collapse_edu.digit_curation import (
    DIGIT_SETTINGS,
    SUMMARY_METRICS,
    decode_images,
    digit_verifier,
    encode_images,
    load_digit_curation,
    real_frequencies,
    real_reference,
    simulate_digit_curation,
)
from collapse_edu.loop import ArrayFamily, Curation, DataPool, run_generations
from collapse_edu.mixtures import load_digit_split
from collapse_edu.vae import VAE, TinyVAE


@pytest.fixture(scope="module")
def digits():
    return load_digit_split()


def small_vae(**kwargs) -> VAE:
    return VAE(latent=2, hidden=16, steps=kwargs.pop("steps", 40), **kwargs)


def test_vae_fits_samples_and_scores_with_the_expected_shapes(digits):
    family = small_vae()
    model = family.fit(np.stack([digits.train_x[:80], digits.train_x[80:160]]))
    assert model.runs == 2 and model.reconstruction.shape == model.kl.shape == (2,)
    images = family.sample(model, 7, np.random.default_rng(0))
    assert images.shape == (2, 7, 64) and images.min() >= 0 and images.max() <= 1
    scores = family.log_likelihood(model, images)
    assert scores.shape == (2, 7) and np.all(np.isfinite(scores))
    assert set(family.describe(model)) == {"reconstruction", "kl"}
    assert family.broadcast(family.fit(digits.train_x[None, :50]), 3).runs == 3


def test_vae_is_seeded_and_leaves_torch_state_alone(digits):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = small_vae(seed=1).fit(digits.train_x[None, :100])
    after = torch.rand(1)
    assert torch.equal(before, after)  # the fit used its own generator
    b = small_vae(seed=1).fit(digits.train_x[None, :100])
    rng = [np.random.default_rng(4) for _ in range(2)]
    assert np.array_equal(small_vae().sample(a, 5, rng[0]), small_vae().sample(b, 5, rng[1]))
    c = small_vae(seed=2).fit(digits.train_x[None, :100])
    assert not np.allclose(
        small_vae().sample(a, 5, np.random.default_rng(4)), small_vae().sample(c, 5, np.random.default_rng(4))
    )


def test_training_lowers_the_negative_elbo(digits):
    x = torch.tensor(digits.train_x[:200], dtype=torch.float32)
    untrained = TinyVAE(2, 16)
    with torch.no_grad():
        before = sum(untrained.elbo_terms(x, None)).mean().item()
    family = small_vae(steps=150)
    model = family.fit(digits.train_x[None, :200])
    assert model.reconstruction[0] + model.kl[0] < before - 10


def test_vae_refuses_bad_input(digits):
    with pytest.raises(ValueError, match="likelihood"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="latent"):
        VAE(latent=0)
    with pytest.raises(ValueError, match="data must have shape"):
        small_vae().fit(digits.train_x[:10])
    with pytest.raises(ValueError, match="n must be >= 2"):
        small_vae().fit(digits.train_x[None, :1])


def test_vae_in_the_loop_with_a_real_share_and_curation(digits):
    history = run_generations(small_vae(), DataPool(digits.train_x), n=60, generations=2, runs=2, seed=0,
                              policy="fresh-real", real_fraction=0.5, curation=Curation("self", keep=0.5))  # fmt: skip
    assert history["kl"].shape == (3, 2)


class FixedCandidates(ArrayFamily):
    """A "model" whose candidates are given images (to curate a known set)."""

    def __init__(self, images: np.ndarray):
        self.images = images

    def sample(self, model, size: int, rng) -> np.ndarray:
        assert size == self.images.shape[1]
        return self.images


def test_the_digit_verifier_restores_the_real_class_balance(digits):
    """Candidates with the classes in unequal numbers: after class-balanced rejection sampling with
    q = 0.5, the kept shares move towards the real frequencies."""
    judge = digit_verifier()
    labels = digits.train_y
    rng = np.random.default_rng(0)
    counts = [100, 80, 40, 40, 30, 30, 30, 20, 15, 15]  # 400 real digits, 0 and 1 over-represented
    pick = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False) for c, k in enumerate(counts)])
    candidates = digits.train_x[pick][None]
    kept = Curation("verifier", keep=0.5, verifier=judge).select(FixedCandidates(candidates), None, 200, rng)
    classifier = judge.classifier
    before = np.bincount(classifier.predict(candidates[0]), minlength=10) / 400
    after = np.bincount(classifier.predict(kept[0]), minlength=10) / 200
    target = real_frequencies()
    assert np.abs(after - target).sum() < 0.5 * np.abs(before - target).sum()
    assert real_frequencies().sum() == pytest.approx(1.0) and real_reference(50).shape == (50, 10)


@pytest.mark.parametrize("setting", DIGIT_SETTINGS)
def test_simulate_digit_curation_records_every_metric(setting):
    history = simulate_digit_curation("pca-gmm", setting, generations=2, n=120, samples=60, seed=0)
    for metric in SUMMARY_METRICS:
        assert history[metric].shape == (3, 1)
    assert np.all((0 <= history["precision"]) & (history["precision"] <= 1))
    assert history.curation.name == {"self": "self", "verified": "verifier"}.get(setting, "none")


def test_digit_curation_refuses_bad_names():
    with pytest.raises(ValueError, match="family"):
        simulate_digit_curation("gan")
    with pytest.raises(ValueError, match="setting"):
        simulate_digit_curation("vae", "best")


def test_digit_figures_draw_from_a_summary(tmp_path):
    from collapse_edu.figures import curation as figures

    gens = 3
    metric_rows = {m: [[0.5] * (gens + 1), [0.6] * (gens + 1)] for m in SUMMARY_METRICS}
    summary = {
        "seeds": [0, 1],
        "settings": {"keep": 0.5, "real_fraction": 0.1},
        "runs": {f: {s: metric_rows for s in DIGIT_SETTINGS} for f in ("pca-gmm", "vae")},
        "real": {m: 0.9 for m in SUMMARY_METRICS},
        "grid_generations": [0, 1, 3],
        "grids": {
            f: {s: [encode_images(np.full((20, 64), 0.5))] * 3 for s in DIGIT_SETTINGS} for f in ("pca-gmm", "vae")
        },
    }
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    loaded = load_digit_curation(path)
    fig = figures.digit_curation(loaded)
    assert len(fig.axes) == 8
    plt.close(fig)
    fig = figures.digit_curation_grids(loaded, "vae")
    assert len(fig.axes) == 4 * 3
    plt.close(fig)
    with pytest.raises(ValueError, match="generations"):
        figures.digit_curation_grids(loaded, "vae", generations=[2])
    with pytest.raises(FileNotFoundError, match="curation_digits"):
        load_digit_curation(tmp_path / "missing.json")


def test_images_round_trip_through_their_compact_encoding(digits):
    rows = encode_images(digits.train_x[:5])
    assert all(len(row) == 64 for row in rows)
    assert np.allclose(decode_images(rows), digits.train_x[:5])  # the digits have exactly 17 grey levels
    with pytest.raises(ValueError, match="images must be strings"):
        decode_images(["z" * 64])
