"""The curation step of the generation loop (sample -> curate -> mix) for every policy and family
type, its judges, and the closed forms of what curation does to a Gaussian."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse_edu import theory
from collapse_edu.categorical import Categorical
from collapse_edu.curation import (
    ClassBalanceVerifier,
    LogisticVerifier,
    density_ratio_verifier,
    fit_logistic,
    gaussian_curation,
    likelihood_verifier,
    quadratic_features,
    simulate_gaussian_curation,
    simulate_mixture_curation,
)
from collapse_edu.gaussian import (
    Gaussian,
    GaussianFast,
    GaussianModel,
    MultivariateGaussian,
    MultivariateGaussianFast,
    MultivariateGaussianModel,
    simulate_gaussian,
)
from collapse_edu.loop import (
    POLICIES,
    ArrayFamily,
    Curation,
    ModelSource,
    Policy,
    check_loop_memory,
    run_generations,
)
from collapse_edu.mixtures import GaussianMixtureFamily, PCAMixture, blob_truth, load_digit_split
from collapse_edu.ngram import NGram, SentencePool, Sentences, prepare_corpus
from collapse_edu.regression import LinearModel, LinearRegression, LinearRegressionFast

# --------------------------------------------------------------------------- a family that shows its choices


class ValueFamily(ArrayFamily):
    """Samples are distinct numbers (uniform on (-1, 1), never repeated); the model's log-likelihood
    of x is -|x| (it likes values near 0). Records every sample size asked for and every batch drawn."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.drawn: list[np.ndarray] = []

    def fit(self, data: np.ndarray) -> np.ndarray:
        return np.zeros(data.shape[0])

    def sample(self, model: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        self.sizes.append(size)
        x = rng.uniform(-1, 1, (np.shape(model)[0], size))
        self.drawn.append(x)
        return x

    def broadcast(self, model, runs: int) -> np.ndarray:
        return np.zeros(runs)

    def describe(self, model) -> dict[str, np.ndarray]:
        return {"zero": np.zeros(np.shape(model)[0])}

    def log_likelihood(self, model, data: np.ndarray) -> np.ndarray:
        return -np.abs(data)


def curated_train_sets(policy: str, curation: Curation, n: int, generations: int, runs: int, real_fraction=None):
    family = ValueFamily()
    seen = {}

    def measure(model, data, t):
        if data is not None:
            seen[t] = np.array(data, copy=True)
        return {}

    run_generations(
        family,
        ModelSource(np.zeros(1), real_family=ValueFamily()),  # real draws are not recorded in family
        n=n,
        generations=generations,
        runs=runs,
        policy=policy,
        real_fraction=real_fraction,
        curation=curation,
        measure=measure,
    )
    return family, seen


@settings(max_examples=30, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    n=st.integers(2, 12),
    keep=st.sampled_from([0.1, 0.25, 0.5, 0.9, 1.0]),
    runs=st.integers(1, 3),
)
def test_self_curation_keeps_the_n_most_likely_of_ceil_n_over_q_candidates_under_every_policy(policy, n, keep, runs):
    r = 0.5 if policy == "fresh-real" else None
    family, seen = curated_train_sets(policy, Curation("self", keep=keep), n, 3, runs, r)
    n_syn = n - round(0.5 * n) if policy == "fresh-real" else n
    m = math.ceil(round(n_syn / keep, 9))
    # every synthetic draw asks for m candidates
    assert family.sizes == [m, m]
    candidates = family.drawn
    for batch in candidates:
        assert batch.shape == (runs, m)
    for t in (2, 3):
        data = seen[t]
        batch = candidates[t - 2]
        best = np.sort(np.take_along_axis(batch, np.argsort(np.abs(batch), axis=1)[:, :n_syn], axis=1), axis=1)
        # the synthetic part of the training set is exactly the n_syn candidates closest to 0
        synthetic = {
            "replace": data,
            "fresh-real": data[:, -n_syn:],
            "accumulate": data[:, -n:],
        }.get(policy)
        if synthetic is not None:
            assert np.array_equal(np.sort(synthetic, axis=1), best)
        else:  # accumulate-subsample: n drawn from the pool of real + curated items
            assert data.shape == (runs, n)
        expected_size = {"accumulate": t * n}.get(policy, n)
        assert data.shape == (runs, expected_size)


def test_curation_none_is_the_uncurated_loop_bit_for_bit():
    for policy in POLICIES:
        r = 0.3 if policy == "fresh-real" else None
        plain = simulate_gaussian(20, 6, 5, policy=policy, real_fraction=r, fast=False, seed=3)
        none = simulate_gaussian(20, 6, 5, policy=policy, real_fraction=r, fast=False, seed=3, curation=Curation())
        assert np.array_equal(plain["sigma"], none["sigma"]) and np.array_equal(plain["mu"], none["mu"])
    # and the default of simulate_gaussian stays on the fast path it used before
    assert np.array_equal(
        simulate_gaussian(20, 6, 5, seed=3)["sigma"], simulate_gaussian(20, 6, 5, seed=3, curation="none")["sigma"]
    )
    family, _ = curated_train_sets("replace", Curation(), 7, 3, 2)
    assert family.sizes == [7, 7]  # no extra candidates


def test_rejection_rule_keeps_accepted_candidates_and_random_ones_among_ties():
    accept = lambda model, x: np.where(x > 0, 0.0, -np.inf)  # noqa: E731 - a hard judge: only positive values
    family, seen = curated_train_sets("replace", Curation("verifier", keep=0.25, verifier=accept), 10, 3, 4)
    for t in (2, 3):
        assert np.all(seen[t] > 0)  # 40 candidates hold about 20 positive ones: only those are kept
    # equal weights: a uniformly random choice of n among m (not the first n)
    flat = lambda model, x: np.zeros(x.shape)  # noqa: E731
    family, seen = curated_train_sets("replace", Curation("verifier", keep=0.5, verifier=flat), 50, 2, 200)
    batch = family.drawn[0]
    first = np.isin(seen[2], batch[:, :50]).mean()
    assert 0.4 < first < 0.6


def test_curation_refuses_bad_settings_by_name():
    with pytest.raises(ValueError, match="curation"):
        Curation("best")
    with pytest.raises(ValueError, match="keep is required"):
        Curation("self")
    with pytest.raises(ValueError, match="keep"):
        Curation("self", keep=0.0)
    with pytest.raises(ValueError, match="keep"):
        Curation("self", keep=1.5)
    with pytest.raises(ValueError, match="keep, verifier and rule"):
        Curation("none", keep=0.5)
    with pytest.raises(TypeError, match="verifier"):
        Curation("verifier", keep=0.5)
    with pytest.raises(ValueError, match="rule"):
        Curation("self", keep=0.5, rule="best")
    with pytest.raises(ValueError, match="verifier is only used"):
        Curation("self", keep=0.5, verifier=lambda m, x: x)
    assert Curation("self", keep=0.5).rule == "top" and Curation("verifier", keep=0.5, verifier=len).rule == "sample"
    assert str(Curation("self", keep=0.5)) == "self (q = 0.5, top)"


@pytest.mark.parametrize(
    "family, source",
    [
        (GaussianFast(), ModelSource(GaussianModel(np.zeros(1), np.ones(1)))),
        (MultivariateGaussianFast(2), ModelSource(MultivariateGaussianModel(np.zeros((1, 2)), np.eye(2)[None]))),
        (LinearRegressionFast(2), ModelSource(LinearModel(np.zeros((1, 2))))),
    ],
)
def test_sufficient_statistics_families_refuse_curation(family, source):
    with pytest.raises(ValueError, match="curation='self' needs the individual samples"):
        run_generations(family, source, n=10, generations=2, curation=Curation("self", keep=0.5))


def test_a_family_without_scores_refuses_self_curation_and_bad_scores_are_refused():
    class NoScores(ValueFamily):
        log_likelihood = None

    with pytest.raises(TypeError, match="log_likelihood"):
        run_generations(NoScores(), ModelSource(np.zeros(1)), n=5, generations=2, curation=Curation("self", keep=0.5))
    for bad in (lambda m, x: x[:, :1], lambda m, x: np.full(x.shape, np.nan)):
        with pytest.raises(ValueError, match="curation scores"):
            curated_train_sets("replace", Curation("verifier", keep=0.5, verifier=bad), 5, 3, 1)


def test_loop_memory_counts_the_candidates():
    family = MultivariateGaussian(1000)
    check_loop_memory(family, 1000, 2, 10, Policy())  # 10 runs x 1000 samples x 1000 dims: fine
    check_loop_memory(family, 1000, 2, 10, Policy(), Curation("self", keep=0.5))
    with pytest.raises(ValueError, match="memory"):  # 10^9 candidates per run: refused before drawing
        check_loop_memory(family, 1000, 2, 10, Policy(), Curation("self", keep=1e-6))


# --------------------------------------------------------------------------- every family type


def _same(a, b) -> bool:
    if isinstance(a, list):
        return all(
            np.array_equal(x.ids, y.ids) and np.array_equal(x.offsets, y.offsets) for x, y in zip(a, b, strict=True)
        )
    return np.array_equal(a, b)


def assert_selects_top(family, model, n: int = 6, keep: float = 0.4, seed: int = 5):
    """Curation.select(self) == take(candidates, n best log-likelihoods), candidates redrawn from the same seed."""
    kept = Curation("self", keep=keep).select(family, model, n, np.random.default_rng(seed))
    m = math.ceil(n / keep)
    candidates = family.sample(model, m, np.random.default_rng(seed))
    scores = family.log_likelihood(model, candidates)
    assert scores.shape[1] == m
    best = np.sort(np.argsort(-scores, axis=1, kind="stable")[:, :n], axis=1)
    assert _same(kept, family.take(candidates, best))
    # what was dropped is never more likely than what was kept
    kept_scores = np.take_along_axis(scores, best, axis=1)
    dropped = np.ones(scores.shape, bool)
    np.put_along_axis(dropped, best, False, axis=1)
    for r in range(scores.shape[0]):
        assert scores[r][dropped[r]].max(initial=-np.inf) <= kept_scores[r].min()
    # the sample rule keeps n of the candidates too
    sampled = Curation("verifier", keep=keep, verifier=family.log_likelihood).select(
        family, model, n, np.random.default_rng(seed)
    )
    return kept, sampled, candidates


def test_self_selection_for_the_array_families():
    runs = 3
    gaussian = Gaussian()
    model = GaussianModel(np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.5, 2.0]))
    kept, sampled, _ = assert_selects_top(gaussian, model)
    assert kept.shape == sampled.shape == (runs, 6)
    # the central ones: |x - mu| of every kept sample below that of every dropped one
    mvn = MultivariateGaussian(2)
    assert_selects_top(
        mvn, MultivariateGaussianModel(np.zeros((runs, 2)), np.broadcast_to(np.diag([1.0, 4.0]), (runs, 2, 2)).copy())
    )
    logs = mvn.log_likelihood(
        MultivariateGaussianModel(np.zeros((1, 2)), np.diag([1.0, 4.0])[None]), np.array([[[1.0, 2.0]]])
    )
    assert logs[0, 0] == pytest.approx(-0.5 * (1 + 1) - np.log(2.0) - np.log(2 * np.pi))
    regression = LinearRegression(2, noise=0.5)
    assert_selects_top(regression, LinearModel(np.ones((runs, 2))))
    mixture = GaussianMixtureFamily(2)
    truth = mixture.broadcast(blob_truth(3.0, 2), runs)
    assert_selects_top(mixture, truth)


def test_mixture_log_density_matches_the_component_sum():
    from scipy.stats import multivariate_normal

    from collapse_edu.mixtures import MixtureModel, mixture_log_density

    model = MixtureModel(np.array([[0.3, 0.7]]), np.array([[[-3.0, 0.0], [2.0, 1.0]]]),
                         np.array([[[[1.0, 0.5], [0.5, 2.0]], [[0.5, 0.0], [0.0, 0.25]]]]))  # fmt: skip
    x = np.array([[[0.0, 0.0], [-3.0, 1.0], [2.0, 1.2]]])
    direct = sum(
        w * multivariate_normal(mu, cov).pdf(x[0])
        for w, mu, cov in zip(model.weights[0], model.means[0], model.covariances[0], strict=True)
    )
    assert np.allclose(mixture_log_density(model, x)[0], np.log(direct))


def test_self_selection_for_the_categorical_family_keeps_the_commonest_categories():
    family = Categorical()
    model = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]])
    kept, sampled, candidates = assert_selects_top(family, model, n=10, keep=0.5)
    assert np.all(kept.sum(axis=1) == 10) and np.all(sampled.sum(axis=1) == 10)
    assert np.all(candidates.sum(axis=1) == 20)
    # items are filled from the most likely category down
    for r, order in enumerate([[0, 1, 2, 3], [3, 2, 1, 0]]):
        filled = np.minimum(np.cumsum(candidates[r, order]), 10)
        assert np.array_equal(kept[r, order], np.diff(np.concatenate(([0], filled))))
    assert np.all(np.isneginf(family.log_likelihood(np.array([[1.0, 0.0]]), np.array([[0, 3]]))))
    # and a categorical loop under self-selection loses categories faster than without
    from collapse_edu.categorical import uniform_distribution

    source = ModelSource(uniform_distribution(20)[None])
    plain = run_generations(Categorical(), source, n=100, generations=10, runs=50, seed=1)
    curated = run_generations(
        Categorical(), source, n=100, generations=10, runs=50, seed=1, curation=Curation("self", keep=0.9)
    )
    assert curated["surviving"][-1].mean() < plain["surviving"][-1].mean()


def test_self_selection_for_the_digit_families():
    digits = load_digit_split()
    pca = PCAMixture(4, 3)
    model = pca.fit(digits.train_x[None, :300])
    assert_selects_top(pca, pca.broadcast(model, 2))
    from collapse_edu.vae import VAE

    vae = VAE(latent=2, hidden=16, steps=20)
    vae_model = vae.fit(np.stack([digits.train_x[:60], digits.train_x[60:120]]))
    kept, _, _ = assert_selects_top(vae, vae_model)
    assert kept.shape == (2, 6, 64)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    text = [
        "The cat sat on the mat. The dog sat on the log! Did the cat see the dog?",
        "A bird sang. The bird flew over the mat, and the cat watched it.",
        "Cats and dogs are animals. Birds are animals too.",
        "The log was old. The mat was new? Nobody knows.",
    ]
    folder = tmp_path_factory.mktemp("corpus")
    for i, paragraph in enumerate(text):
        (folder / f"doc{i}.txt").write_text(paragraph, encoding="utf-8")
    return prepare_corpus(folder, held_out=0.25, seed=1)


def test_self_selection_for_the_text_families(corpus):
    family = NGram(2, corpus.vocab)
    model = family.broadcast(family.fit([corpus.train]), 2)
    kept, sampled, candidates = assert_selects_top(family, model, n=4, keep=0.5)
    assert all(isinstance(k, Sentences) and len(k) == 4 for k in kept + sampled)
    # per-event mean log-probability: minus the log of each sentence's own perplexity
    one = candidates[0].take(np.array([0]))
    assert family.log_likelihood([model[0]], [one])[0, 0] == pytest.approx(-np.log(family.perplexity(model[0], one)))
    history = run_generations(
        family, SentencePool(corpus.train), n=len(corpus.train), generations=3, runs=2, seed=0,
        curation=Curation("self", keep=0.5), policy="accumulate",
    )  # fmt: skip
    assert history["train_tokens"].shape == (4, 2)

    from collapse_edu.neural_lm import ModelConfig, NeuralLM, TrainConfig

    neural = NeuralLM(
        len(corpus.vocab),
        model=ModelConfig(len(corpus.vocab), width=8, layers=1, heads=1, context=16),
        training=TrainConfig(epochs=1.0),
        threads=1,
    )
    net = neural.fit([corpus.train])
    kept, _, _ = assert_selects_top(neural, neural.broadcast(net, 1), n=3, keep=0.5)
    assert len(kept[0]) == 3


# --------------------------------------------------------------------------- judges


def test_density_ratio_verifier_turns_model_samples_into_real_ones():
    """Model N(0, 2^2), truth N(0, 1): the ratio is at most 2, so with q = 0.1 (M = 10) rejection
    sampling is exact and the kept samples are N(0, 1) draws."""
    family = Gaussian()
    truth = GaussianModel(np.zeros(1), np.ones(1))
    model = GaussianModel(np.zeros(1), np.array([2.0]))
    kept = Curation("verifier", keep=0.1, verifier=density_ratio_verifier(family, truth)).select(
        family, model, 20_000, np.random.default_rng(0)
    )
    assert kept.var() == pytest.approx(1.0, abs=0.04) and abs(kept.mean()) < 0.03
    # model narrower than the truth: what is kept follows min(p_model, p_real / M) (theory)
    narrow = GaussianModel(np.array([0.3]), np.array([0.5]))
    kept = Curation("verifier", keep=0.5, verifier=density_ratio_verifier(family, truth)).select(
        family, narrow, 20_000, np.random.default_rng(1)
    )
    mean, var = theory.verifier_kept_moments(0.3, 0.5, 0.5)
    assert kept.mean() == pytest.approx(mean, abs=0.02) and kept.var() == pytest.approx(var, rel=0.04)
    assert 0.25 < var and mean < 0.3  # wider than the model, pulled towards the truth
    # the real-likelihood judge with rule top narrows instead
    top = Curation("verifier", keep=0.5, verifier=likelihood_verifier(family, truth), rule="top").select(
        family, model, 20_000, np.random.default_rng(0)
    )
    assert top.var() == pytest.approx(4 * theory.truncation_variance_factor(0.5), rel=0.05)


def test_logistic_verifier_learns_the_log_ratio_of_two_gaussians():
    rng = np.random.default_rng(0)
    real = rng.standard_normal(20_000)
    candidates = 2.0 * rng.standard_normal((1, 20_000))
    logit = LogisticVerifier(real, ridge=0.0)(None, candidates)[0]
    x = candidates[0]
    true = -0.5 * x**2 + x**2 / 8  # log N(x; 0, 1) - log N(x; 0, 4) up to a constant
    slope = np.polyfit(x**2, logit, 1)[0]
    assert slope == pytest.approx(-3 / 8, rel=0.08)
    assert np.corrcoef(logit, true)[0, 1] > 0.99
    features = quadratic_features(np.zeros((2, 5, 3)))
    assert features.shape == (2, 5, 3 + 6)
    with pytest.raises(ValueError, match="real must have shape"):
        LogisticVerifier(np.zeros((3, 4)))(None, np.zeros((2, 5)))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_logistic_verifier_refuses_non_finite_real_samples(bad):
    """Before: a nan real sample was accepted; the judge then trained on nan features."""
    real = np.random.default_rng(0).standard_normal((2, 30))
    real[1, 7] = bad
    with pytest.raises(ValueError, match=r"^real must be finite, got 1 nan or infinite value\(s\) among 60$"):
        LogisticVerifier(real)
    with pytest.raises(TypeError, match="^real must be an array of numbers"):
        LogisticVerifier(None)


def test_fit_logistic_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.standard_normal(300) > 0).astype(float)
    w, mean, std = fit_logistic(x[None], y[None], ridge=0.0)
    reference = LogisticRegression(C=1e10, max_iter=1000).fit((x - mean[0]) / std[0], y)
    assert np.allclose(w[0, 1:], reference.coef_[0], rtol=1e-3)
    assert w[0, 0] == pytest.approx(reference.intercept_[0], abs=1e-3)


def test_fit_logistic_ridge_matches_scikit_learn() -> None:
    """With ridge > 0 the fit is scikit-learn's L2 logistic regression on the standardised features with
    C = 1 / (ridge N): the penalty is ridge |w|^2 / 2 per sample (ridge N |w|^2 / 2 on the summed loss),
    and the intercept is not penalised (neither is scikit-learn's, with lbfgs). ridge = 0.05, N = 300."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 2))
    y = (x[:, 0] + 0.5 * x[:, 1] + 1.0 + rng.standard_normal(300) > 0).astype(float)
    w, mean, std = fit_logistic(x[None], y[None], ridge=0.05)
    reference = LogisticRegression(C=1 / (0.05 * 300), tol=1e-12, max_iter=10_000).fit((x - mean[0]) / std[0], y)
    np.testing.assert_allclose(w[0, 1:], reference.coef_[0], rtol=1e-6)  # Newton converges to ~1e-9
    assert w[0, 0] == pytest.approx(reference.intercept_[0], abs=1e-6)
    np.testing.assert_allclose(mean[0, 0], x.mean(axis=0), rtol=1e-12)  # standardised per feature
    np.testing.assert_allclose(std[0, 0], x.std(axis=0), rtol=1e-12)


def test_class_balance_verifier_weights_by_real_over_candidate_share():
    class Sign:
        """A "classifier" of 1-D points: class 1 if x > 0."""

        def predict_proba(self, x):
            positive = (x[:, 0] > 0).astype(float)
            return np.stack([1 - positive, positive], axis=1)

    judge = ClassBalanceVerifier(Sign(), [0.5, 0.5])
    candidates = np.array([[[1.0], [2.0], [3.0], [-1.0]]])
    weights = judge(None, candidates)[0]
    assert np.allclose(weights, np.log([0.5 / 0.75] * 3 + [0.5 / 0.25]))
    judge = ClassBalanceVerifier(Sign(), [0.5, 0.5], min_confidence=0.9)
    assert np.all(np.isfinite(judge(None, candidates)))  # the sign classifier is always sure
    with pytest.raises(ValueError, match="frequencies"):
        ClassBalanceVerifier(Sign(), [0.7, 0.7])
    with pytest.raises(TypeError, match="predict_proba"):
        ClassBalanceVerifier(object(), [0.5, 0.5])


def test_class_balance_verifier_rejects_only_below_min_confidence() -> None:
    """``min_confidence`` rejects (-inf) candidates whose top class probability is LOWER; one exactly at it is
    kept. A "classifier" that gives x as the probability of class 1: at min_confidence 0.75, x = 0.6 (top
    0.6) is rejected, x = 0.75 (top exactly 0.75) and x = 0.1 (top 0.9, class 0) are kept. The shares still
    count every candidate: class 1 three of four, so log(0.5 / 0.75); class 0 log(0.5 / 0.25)."""

    class Linear:
        def predict_proba(self, x: np.ndarray) -> np.ndarray:
            return np.stack([1 - x[:, 0], x[:, 0]], axis=1)

    judge = ClassBalanceVerifier(Linear(), [0.5, 0.5], min_confidence=0.75)
    weights = judge(None, np.array([[[0.75], [0.6], [0.1], [0.9]]]))[0]
    np.testing.assert_allclose(weights, [np.log(2 / 3), -np.inf, np.log(2.0), np.log(2 / 3)])


def test_gaussian_curation_judges_know_the_real_world() -> None:
    """The named settings judge against the truth N(0, 1). ``real-likelihood`` keeps the top q by
    log N(x; 0, 1), i.e. the n candidates nearest 0 (here from a model N(2, 1): 10 of 20, none dropped nearer
    0 than one kept). ``learned-ratio``'s judge sees a real sample of N(0, 1): with 100 000 draws its mean and
    std are within 5 standard errors (5 / sqrt(N) and 5 / sqrt(2 N)) of 0 and 1."""
    model = GaussianModel(np.array([2.0]), np.array([1.0]))
    curation = gaussian_curation("real-likelihood", 0.5)
    kept = curation.select(Gaussian(), model, 10, np.random.default_rng(3))
    candidates = Gaussian().sample(model, 20, np.random.default_rng(3))[0]
    distance = np.sort(np.abs(candidates))
    np.testing.assert_array_equal(np.sort(np.abs(kept[0])), distance[:10])
    assert distance[9] < distance[10]
    real = gaussian_curation("learned-ratio", 0.5, real_samples=100_000, seed=0).verifier.real
    assert real.shape == (1, 100_000)
    assert abs(real.mean()) < 5 / np.sqrt(real.size)
    assert abs(real.std() - 1) < 5 / np.sqrt(2 * real.size)


# --------------------------------------------------------------------------- theory against simulation


def test_truncation_factor_limits_and_exact_finite_n_factor():
    assert theory.truncation_variance_factor(1.0) == 1.0
    assert theory.truncation_variance_factor(0.5) == pytest.approx(0.14265, abs=1e-4)
    q = 1e-3  # a thin central slice is almost uniform on (-z, z): variance z^2 / 3
    z = q * np.sqrt(np.pi / 2)
    assert theory.truncation_variance_factor(q) == pytest.approx(z**2 / 3, rel=1e-3)
    assert theory.self_curation_factor(10, 1.0) == pytest.approx(0.9)
    assert theory.self_curation_factor(5000, 0.5) == pytest.approx(
        (1 - 1 / 5000) * theory.truncation_variance_factor(0.5), rel=2e-3
    )
    rng = np.random.default_rng(0)
    for n, q in ((10, 0.5), (40, 0.8)):
        m = math.ceil(n / q)
        z = rng.standard_normal((40_000, m))
        kept = np.take_along_axis(z, np.argsort(np.abs(z), axis=1)[:, :n], axis=1)
        v = kept.var(axis=1)
        assert theory.self_curation_factor(n, q) == pytest.approx(v.mean(), abs=4 * v.std() / 200)


def test_self_curation_variance_matches_the_loop():
    n, q, t = 20, 0.5, np.arange(5)
    history = simulate_gaussian(n, 4, 20_000, seed=1, curation=Curation("self", keep=q))
    simulated = (history["sigma"] ** 2).mean(axis=1)
    assert np.allclose(simulated, theory.self_curation_variance(t, n, q), rtol=0.05)
    assert np.allclose(theory.self_curation_variance(t, n, 1.0), theory.expected_variance(t, n))


def test_verifier_curation_variance_matches_the_loop_and_self_collapses_faster():
    results = simulate_gaussian_curation(
        ("none", "self", "oracle-ratio"), keep=0.5, n=50, generations=8, runs=2000, seed=2
    )
    t = np.arange(9)
    verifier = (results["oracle-ratio"]["sigma"] ** 2).mean(axis=1)
    assert np.allclose(verifier, theory.verifier_curation_variance(t, 50, 0.5), rtol=0.04)
    plain = (results["none"]["sigma"] ** 2).mean(axis=1)
    curated = (results["self"]["sigma"] ** 2).mean(axis=1)
    assert np.all(curated[2:] < 0.2 * plain[2:]) and np.all(verifier[2:] > plain[2:] - 0.02)
    # all settings share the draws up to the first curation
    assert np.array_equal(results["none"]["sigma"][:2], results["self"]["sigma"][:2])


def test_verifier_kept_moments_limits_and_numerical_integration():
    assert np.allclose(theory.verifier_kept_moments(0.0, 1.0, 0.5), (0.0, 1.0))
    mean, var = theory.verifier_kept_moments(1.0, 0.7, 1.0)  # q = 1 keeps the model itself
    assert mean == pytest.approx(1.0) and var == pytest.approx(0.49)
    mean, var = theory.verifier_kept_moments(0.5, 0.8, 0.01)  # q -> 0: (nearly) the truth
    assert abs(mean) < 0.02 and var == pytest.approx(1.0, rel=0.03)
    x = np.linspace(-15, 15, 600_001)
    real = np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)
    for mu, sigma, q in ((0.3, 0.5, 0.5), (-0.4, 0.9, 0.9), (0.2, 1.5, 0.3), (1.0, 2.0, 0.6)):
        model = np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
        log_c = [-40.0, 40.0]
        for _ in range(70):  # c by bisection on the grid: int min(p_model, c p_real) = q
            middle = sum(log_c) / 2
            log_c[int(np.trapezoid(np.minimum(model, np.exp(middle) * real), x) > q)] = middle
        kept = np.minimum(model, np.exp(sum(log_c) / 2) * real)
        kept /= np.trapezoid(kept, x)
        grid_mean = np.trapezoid(x * kept, x)
        grid_var = np.trapezoid((x - grid_mean) ** 2 * kept, x)
        mean, var = theory.verifier_kept_moments(mu, sigma, q)
        assert mean == pytest.approx(grid_mean, abs=1e-5) and var == pytest.approx(grid_var, rel=1e-5)
    means, variances = theory.verifier_kept_moments([0.0, 0.3], [1.0, 0.5], 0.5)  # vectorised
    assert means.shape == variances.shape == (2,)


def test_verifier_chain_reduces_to_the_uncurated_laws_at_q_1():
    t = np.array([1, 5, 10, 30])
    s, m = theory.verifier_curation_moments(t, 100, 1.0)
    assert np.allclose(s, theory.expected_variance(t, 100), rtol=0.005)
    assert np.allclose(m, theory.mean_drift_mse(t, 100), rtol=0.06)


def test_a_weak_verifier_matches_its_chain_not_the_typical_model():
    """q = 0.9: the verifier's pull is weak, the variance drifts down (about 14% by t = 30), as the
    chain of (mu, sigma^2) says; a deterministic map of the typical model would stay near a = 0.99."""
    results = simulate_gaussian_curation(("oracle-ratio",), keep=0.9, n=100, generations=30, runs=1000, seed=4)
    simulated = (results["oracle-ratio"]["sigma"] ** 2).mean(axis=1)
    t = np.array([5, 10, 20, 30])
    assert np.allclose(simulated[t], theory.verifier_curation_variance(t, 100, 0.9), rtol=0.03)
    assert simulated[30] < 0.9


def test_mixture_toy_self_selection_shrinks_and_the_verifier_holds():
    results = simulate_mixture_curation(("none", "self", "oracle-ratio"), n=200, generations=6, runs=2, seed=0)
    std = {k: h["pooled_std"][-1] for k, h in results.items()}
    assert np.all(std["self"] < 0.5) and np.all(std["oracle-ratio"] > 0.85)


@pytest.mark.parametrize("seed", range(4))
def test_mixture_toy_learned_judge_holds_the_loop_where_its_real_points_are(seed: int) -> None:
    """The learned judge's real set is the truth N(0, I): with 2 000 real points it holds the pooled std at 1
    (mean of 5 runs within 0.02 of 1 at generation 10 on seeds 0-5). A real set drawn 1.2 times too wide pulls
    the loop to 1.18-1.20 within 5 generations; so 0.05 separates the two."""
    history = simulate_mixture_curation("learned-ratio", n=500, generations=10, runs=5, real_samples=2000, seed=seed)[
        "learned-ratio"
    ]
    assert np.all(history["pooled_std"][0] == pytest.approx(1.0))
    assert abs(history["pooled_std"][-1].mean() - 1.0) < 0.05, history["pooled_std"][-1]


def test_curation_figures_draw_simulation_and_theory():
    import matplotlib.pyplot as plt

    from collapse_edu.curation import simulate_verifier_strength
    from collapse_edu.figures import curation as figures

    results = simulate_gaussian_curation(("none", "self", "oracle-ratio"), keep=0.5, n=20, generations=4, runs=50)
    fig = figures.gaussian_curation(results, 0.5)
    left = fig.axes[0]
    dashed = [  # theory: dashed without markers (matplotlib reports every dash pattern as "--")
        line
        for line in left.lines
        if line.get_linestyle() == "--" and line.get_marker() in ("None", "none", "") and len(line.get_xdata()) == 5
    ]
    assert len(dashed) == 3  # one theory curve per setting with a theory
    assert np.allclose(dashed[1].get_ydata(), theory.self_curation_variance(np.arange(5), 20, 0.5))
    plt.close(fig)
    strength = simulate_verifier_strength((20, 200), n=20, generations=3, runs=20)
    fig = figures.verifier_strength(strength, results["none"])
    assert len([c for c in fig.axes[0].collections]) == 3  # three bands
    plt.close(fig)
    fig = figures.mixture_curation(simulate_mixture_curation(("none", "self"), n=60, generations=2, runs=2))
    assert len(fig.axes) == 2
    plt.close(fig)


# --------------------------------------------------------------------------- bad input (audit)


def test_simulate_gaussian_curation_takes_one_setting_by_name():
    """Before: simulate_gaussian_curation("self") iterated the letters ("settings must be one of ...; got 's'")."""
    one = simulate_gaussian_curation("self", n=5, generations=2, runs=3)
    assert list(one) == ["self"]
    np.testing.assert_array_equal(
        one["self"]["sigma"], simulate_gaussian_curation(["self"], n=5, generations=2, runs=3)["self"]["sigma"]
    )
    assert list(simulate_mixture_curation("none", n=20, generations=1, runs=1)) == ["none"]
    with pytest.raises(TypeError, match="^settings must be a setting or a sequence"):
        simulate_gaussian_curation(3)


def test_simulate_verifier_strength_refuses_a_single_size_in_words():
    """Before: "'int' object is not iterable"."""
    from collapse_edu.curation import simulate_verifier_strength

    for sizes in (100, "100"):
        with pytest.raises(TypeError, match=r"^real_samples must be a sequence of sizes .* such as \(100, 1000\)"):
            simulate_verifier_strength(sizes)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": "x"}, TypeError, "^seed must be an integer"),  # before: accepted for every setting ...
        ({"seed": -1}, ValueError, "^seed must be >= 0"),
        ({"runs": float("nan")}, TypeError, "^runs must be an integer"),  # ... and runs too
        ({"runs": 0}, ValueError, "^runs must be >= 1"),
        ({"real_samples": 1}, ValueError, "^real_samples must be >= 2"),
    ],
)
def test_gaussian_curation_checks_its_arguments_for_every_setting(kwargs, error, match):
    from collapse_edu.curation import gaussian_curation

    for setting in ("self", "learned-ratio"):
        with pytest.raises(error, match=match):
            gaussian_curation(setting, 0.5, **kwargs)


def test_gaussian_curation_checks_keep_for_every_setting():
    from collapse_edu.curation import gaussian_curation

    for setting in ("none", "learned-ratio"):
        with pytest.raises(ValueError, match="^keep must be"):
            gaussian_curation(setting, 1.5)
    assert gaussian_curation("learned-ratio", 0.5, runs=2, seed=np.random.default_rng(0)).name == "verifier"


def test_a_learned_verifier_works_with_a_single_run():
    """Before: runs=1 gave a (1, N) real set that LogisticVerifier refused as "at least two real samples"."""
    history = simulate_gaussian_curation("learned-ratio", n=5, generations=2, runs=1, real_samples=20)
    assert history["learned-ratio"]["sigma"].shape == (3, 1)
    assert list(simulate_mixture_curation("learned-ratio", n=20, generations=1, runs=1, real_samples=40)) == [
        "learned-ratio"
    ]
    one_run = LogisticVerifier(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="^real must hold at least two real samples per run"):
        one_run(None, np.zeros((2, 4, 5)))  # (1, 5) shared by two runs: one sample of five numbers


@pytest.mark.parametrize(
    ("setting", "kwargs", "match"),
    [
        ("synthetic", {"keep": 0.1}, "^keep is only used with setting 'self' or 'verified', got setting 'synthetic'"),
        ("real-share", {"keep": 0.1}, "^keep is only used with setting 'self' or 'verified'"),
        ("self", {"real_fraction": 0.5}, "^real_fraction is only used with setting 'real-share', got setting 'self'"),
        ("verified", {"real_fraction": 0.5}, "^real_fraction is only used with setting 'real-share'"),
    ],
)
def test_simulate_digit_curation_refuses_an_argument_its_setting_ignores(setting, kwargs, match):
    """Before: the setting dropped keep or real_fraction without a word."""
    from collapse_edu.digit_curation import simulate_digit_curation

    with pytest.raises(ValueError, match=match):
        simulate_digit_curation("pca-gmm", setting, generations=0, n=20, samples=40, **kwargs)


def test_simulate_digit_curation_takes_the_arguments_of_its_setting():
    from collapse_edu.digit_curation import simulate_digit_curation

    for setting, kwargs in (("self", {"keep": 0.3}), ("real-share", {"real_fraction": 0.2}), ("synthetic", {})):
        history = simulate_digit_curation("pca-gmm", setting, generations=1, n=20, samples=40, **kwargs)
        assert history["coverage"].shape == (2, 1)
    with pytest.raises(ValueError, match="^keep must be"):
        simulate_digit_curation("pca-gmm", "self", generations=0, n=20, samples=40, keep=1.5)
