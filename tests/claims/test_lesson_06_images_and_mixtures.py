"""Claims of lesson 06 (images and mixtures), recomputed with the code the lesson calls.

The toy's component-level claims are checked on the stored long runs (seed 2024, 20 runs per fit,
remade by ``benchmarks/mixture_protocols.py``), whose first generations are recomputed here to show
that the file is what the current code produces. The digits' claims are recomputed on seeds 11-15
(two runs each), never on the lesson's own seed. Sentences that restate a checked output read it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from claimlib import checked_output, checker_tests, claim, exercise_functions, imports_cell, notebook, numbers_in

from collapse_edu import mixtures, theory
from collapse_edu.loop import DataPool, ModelSource, run_generations
from collapse_edu.mixtures import GaussianMixtureFamily, MixtureModel, PCAMixture, fit_em, kmeans_start

SEEDS = range(11, 16)
FRACTIONS = (0.0, 0.1, 0.5)
N = 1000
DEAD = 0.01


def lesson_digits(real_fraction: float, seed: int, runs: int = 2):
    """Section 3's experiment, as the lesson runs it, on another seed."""
    family = PCAMixture(dims=10, components=10)
    scorer = mixtures.DigitScorer(family, samples=500)
    return run_generations(
        family,
        DataPool(mixtures.load_digit_split().train_x),
        n=200,
        generations=20,
        runs=runs,
        seed=seed,
        policy="fresh-real",
        real_fraction=real_fraction,
        measure=scorer,
    )


@pytest.fixture(scope="module")
def digits() -> dict[float, dict[str, np.ndarray]]:
    """Section 3 on seeds 11-15, two runs each: real fraction -> metric -> (21, 10) over the 10 runs."""
    out: dict[float, dict[str, np.ndarray]] = {}
    for r in FRACTIONS:
        histories = [lesson_digits(r, seed) for seed in SEEDS]
        out[r] = {name: np.concatenate([h[name] for h in histories], axis=1) for name in histories[0].metrics}
    return out


@pytest.fixture(scope="module")
def stored():
    """The stored long runs of section 2 and their settings."""
    return mixtures.load_protocol_runs()


@pytest.fixture(scope="module")
def prefix():
    """The first 10 generations of the stored runs, recomputed with today's code (fresh and warm)."""
    return {
        name: mixtures.simulate_mixture(n=N, generations=10, runs=20, warm_start=warm, seed=2024, keep_models=False)
        for name, warm in (("fresh", False), ("warm", True))
    }


def at(runs: dict[str, np.ndarray], t: int) -> int:
    return int(np.flatnonzero(runs["generation"] == t)[0])


def lesson_function(name: str):
    """A reference solution of the lesson, run as the lesson runs it (imports cell, then its cell)."""
    namespace: dict = {}
    exec(imports_cell("06").source, namespace)  # noqa: S102
    exec(notebook("06").cells[exercise_functions("06")[name]].source, namespace)  # noqa: S102
    return namespace[name]


def toy_output() -> dict[str, float]:
    """The numbers of section 1's checked cell."""
    text = checked_output("06", "training_variance")
    found = {
        "gap": re.search(r"runs: ([\d.e+-]+) to ([\d.e+-]+)", text).groups(),
        "medians": re.search(r"whole mixture ([\d.]+), heavier component ([\d.]+), lighter ([\d.]+)", text).groups(),
        "separation": re.search(r"means ([\d.]+) at generation 1, ([\d.]+) at 300\n", text).groups(),
        "above": re.search(r"generation 300: (\d+) of 8", text).groups(),
        "run0": re.search(
            r"run 0: distance between the means ([\d.]+) at generation 1, ([\d.]+) at 300", text
        ).groups(),
        "run0_std": re.search(r"component stds \[([\d.]+) ([\d.]+)\]", text).groups(),
    }
    return {key: tuple(float(v) for v in values) for key, values in found.items()}


# --------------------------------------------------------------------------- title


@claim(
    "06",
    "**Sections** (about 40 minutes): 1. Shumailov's mixture toy (10 min)",
    "5. Exercises 1–3 (11 min)",
)
def test_section_times_add_up_to_the_total():
    title = notebook("06").cells[0].source
    outline = title[title.index("**Sections**") :]
    minutes = [int(m) for m in re.findall(r"\((\d+) min\)", outline)]
    assert sum(minutes) == 40 == notebook("06").metadata["collapse_edu"]["minutes"]
    exercises = [
        int(m) for c in notebook("06").cells for m in re.findall(r"^### Exercise.*\((\d+) min\)", c.source, re.M)
    ]
    assert sum(exercises) == minutes[-1] == 11


@claim(
    "06",
    "Lesson 01 refitted a single Gaussian to its own samples and watched its spread shrink",
    "why the pooled variance of a mixture refitted by EM follows lesson 01's law $E[\\sigma_t^2] = a^t$ exactly, "
    "while its components split the data into islands and narrow faster than the whole",
    "a warm start from the last fit, whose component weights drift until a component starves",
    "how much a fixed share of fresh real data per generation helps, over several runs",
)
def test_learning_goals(stored):
    t = np.arange(0, 301, 100)
    assert np.all(np.diff(theory.expected_variance(t, N)) < 0)  # lesson 01's shrinking spread
    runs, _ = stored
    for name in ("fresh", "sklearn"):
        i = at(runs[name], 300)
        ratio_heavy = np.median(runs[name]["heavy_std"][i] / runs[name]["pooled_std"][i])
        ratio_light = np.median(runs[name]["light_std"][i] / runs[name]["pooled_std"][i])
        assert ratio_light < ratio_heavy < 0.8
    assert np.sum(runs["warm"]["light_weight"][-1] < DEAD) >= 5


# --------------------------------------------------------------------------- section 1


@claim(
    "06",
    "Every generation the model is fitted to **n = 1000** points, then draws 1000 new points, which are all the next "
    "generation sees (the `replace` policy)",
)
def test_toy_trains_on_its_own_n_samples():
    seen = []

    def record(model, data, t):
        seen.append(None if data is None else data.shape)
        return {}

    run_generations(
        GaussianMixtureFamily(), ModelSource(mixtures.blob_truth()), n=N, generations=3, runs=2, seed=11, measure=record
    )
    assert seen == [None, (2, N, 2), (2, N, 2), (2, N, 2)]


@claim(
    "06",
    "We fit it the way the authors' code does: a **fresh mixture every generation**, started from k-means",
    "until the mean log-likelihood changes by less than $10^{-5}$ (at most 2000 steps)",
    "`mixtures.GaussianMixtureFamily` runs this EM (`mixtures.fit_em`) for all runs at once",
    "from the same starting point it lands on scikit-learn's `GaussianMixture` fit to machine precision",
)
def test_the_papers_protocol_and_scikit_learn():
    from sklearn.mixture import GaussianMixture

    family = GaussianMixtureFamily()
    assert (family.warm_start, family.tol, family.max_iter, family.reg_covar) == (False, 1e-5, 2000, 1e-6)
    rng = np.random.default_rng(11)
    data = rng.standard_normal((4, N, 2))
    start = kmeans_start(data, 2, rng)
    ours = fit_em(data, start, tol=1e-5, max_iter=2000)
    assert np.array_equal(family.fit(data).weights, family.fit(data).weights)  # no memory between fresh fits
    from threadpoolctl import threadpool_limits

    for r in range(4):
        with threadpool_limits(limits=1):
            theirs = GaussianMixture(
                2,
                tol=1e-5,
                max_iter=2000,
                weights_init=start.weights[r],
                means_init=start.means[r],
                precisions_init=np.linalg.inv(start.covariances[r]),
            ).fit(data[r])
        assert ours.iterations[r] == theirs.n_iter_
        assert np.allclose(ours.covariances[r], theirs.covariances_, atol=1e-10)
        assert np.allclose(ours.means[r], theirs.means_, atol=1e-10)


@claim(
    "06",
    "One EM step first computes how much component *j* is responsible for point *i*",
    "then refits every component to its share of the points (the M-step), with $N_j = \\sum_i r_{ij}$",
)
def test_one_em_step_is_the_formulas():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(1, 200, 2))
    start = MixtureModel(np.array([[0.3, 0.7]]), rng.normal(size=(1, 2, 2)), np.tile(np.eye(2) * 0.8, (1, 2, 1, 1)))
    step = fit_em(x, start, max_iter=1)
    from scipy.stats import multivariate_normal

    dens = np.stack(
        [
            w * multivariate_normal(m, c).pdf(x[0])
            for w, m, c in zip(start.weights[0], start.means[0], start.covariances[0], strict=True)
        ]
    )
    r = dens / dens.sum(axis=0)
    n_j = r.sum(axis=1)
    means = (r @ x[0]) / n_j[:, None]
    covs = np.stack([(r[j, :, None] * (x[0] - means[j])).T @ (x[0] - means[j]) / n_j[j] for j in range(2)])
    assert np.allclose(step.weights[0], n_j / 200) and np.allclose(step.means[0], means)
    assert np.allclose(step.covariances[0], covs + 1e-6 * np.eye(2))


@claim(
    "06",
    "Add the M-step up over the components: what are the whole mixture's mean",
    "Exactly as fast, in expectation",
    "the M-step gives $\\sum_j w_j\\mu_j = \\bar x$",
    "the maximum-likelihood sample covariance, whatever the responsibilities",
    "So the whole mixture is refitted exactly like lesson 01's Gaussian, and $E[\\sigma_t^2] = a^t$ with "
    "$a = (n-1)/n$, about 0.74 after 300 generations",
    "The checked output below measures the identity on every fit",
    "every M-step sets the mixture's covariance to the sample covariance, so $E[\\sigma_t^2] = a^t$ exactly",
)
def test_pooled_variance_identity_and_law():
    assert round(float(theory.expected_variance(300, N)), 2) == 0.74
    low, high = toy_output()["gap"]
    assert low == high == 1e-6  # the checked output: only the diagonal term, on every fit
    for seed in SEEDS:

        def variance(model, data, t):
            return {"data": np.ones(model.runs) if data is None else data.var(axis=1).mean(axis=1)}

        h = run_generations(
            GaussianMixtureFamily(),
            ModelSource(mixtures.blob_truth()),
            n=300,
            generations=4,
            runs=3,
            seed=seed,
            measure=variance,
        )
        assert np.allclose(h["pooled_std"][1:] ** 2 - h["data"][1:], 1e-6, atol=1e-12)
    # whatever the responsibilities: random ones, then the M-step
    rng = np.random.default_rng(13)
    x = rng.normal(size=(2, 50, 3)) @ rng.normal(size=(3, 3))
    resp = rng.dirichlet(np.ones(4), size=(2, 50)).transpose(0, 2, 1)
    model = MixtureModel(*mixtures._m_step(x, mixtures._features(x)[1], resp, 0.0))
    pooled = mixtures.mixture_summary(model)["pooled_std"] ** 2
    assert np.allclose(pooled, [np.trace(np.cov(s.T, bias=True)) / 3 for s in x])
    # and the law on many runs: E[pooled variance] = a^t (n = 50, t = 8, 600 runs)
    h = mixtures.simulate_mixture(n=50, generations=8, runs=600, seed=14, keep_models=False)
    mean = np.mean(h["pooled_std"][8] ** 2)
    assert mean == pytest.approx(theory.expected_variance(8, 50), abs=4 * np.std(h["pooled_std"][8] ** 2) / 600**0.5)


@claim(
    "06",
    "Eight runs of the toy (line: median over runs, or the mean where the law is about the mean; band: 5–95% of runs)",
    "the pooled variance of the whole mixture spreads widely between runs around $a^t$ (dashed)",
    "Top right: both components narrow faster than the whole; by generation 300 the median run's heavier component "
    "has a standard deviation of 0.45 and the lighter one 0.33, against 0.72 for the whole mixture",
    "the median ratio to the whole at that generation is about 0.7 for the heavier and about 0.5 for the lighter",
    "Bottom: the lighter component keeps a weight above 0.1 in most runs, while the distance between the two means "
    "grows from about 1 to about 2: the round blob has become two islands",
    "Underneath, the paper's fresh fits split one round blob into two islands that drift apart, each narrowing "
    "faster than the whole",
)
def test_toy_figure(stored, prefix):
    out = toy_output()
    assert out["medians"] == (0.72, 0.45, 0.33)
    whole, heavy, light = out["medians"]
    assert light < heavy < whole
    assert out["above"][0] >= 6  # most of the 8 runs
    start, end = out["separation"]
    assert 0.8 < start < 1.4 and 1.5 < end < 2.5
    runs, _ = stored
    for name in ("fresh", "sklearn"):  # 40 runs of seed 2024, not the lesson's
        i = at(runs[name], 300)
        data = runs[name]
        heavy_ratio = np.median(data["heavy_std"][i] / data["pooled_std"][i])
        light_ratio = np.median(data["light_std"][i] / data["pooled_std"][i])
        assert 0.6 < heavy_ratio < 0.8 and 0.4 < light_ratio < 0.6, name
        assert np.mean(data["light_weight"][i] > 0.1) >= 0.75
        assert 1.5 < np.median(data["separation"][i]) < 2.5
        variance = data["pooled_std"] ** 2
        low, high = np.quantile(variance, [0.05, 0.95], axis=1)
        law = theory.expected_variance(data["generation"], N)
        assert np.all((low <= law * 1.02) & (law <= high * 1.02))  # the law inside the spread of runs
        assert np.mean(high - low) > 0.5  # widely spread
    assert 0.8 < np.median(prefix["fresh"]["separation"][1]) < 1.4  # about 1 at generation 1 (seed 2024)


@claim(
    "06",
    "Run 0 at six generations: generation 1 splits the round blob between two overlapping components",
    "later the two pull apart into separate islands, and by generation 300 each is a narrow ellipse, much smaller "
    "than the truth's $1\\sigma$ circle (component standard deviations 0.32 and 0.38: checked output above)",
)
def test_snapshot_caption():
    out = toy_output()
    assert out["run0_std"] == (0.32, 0.38) and max(out["run0_std"]) < 0.5
    start, end = out["run0"]
    assert start < 2 * 1.0 < 2 * end  # overlapping (means closer than the truth's 2 sigma) then apart


# --------------------------------------------------------------------------- section 2


@claim(
    "06",
    "a fit needs fewer EM steps (about 4 per fit instead of about 9 in the stored runs below)",
    "The warm start teaches something after all: a fine-tuned model inherits its predecessor's proportions",
    "retraining from scratch resets them (here to a k-means split), at the price of more EM steps per fit",
)
def test_warm_start_needs_fewer_steps(stored):
    runs, _ = stored
    warm, fresh = (runs[name]["em_iterations"][1:].mean() for name in ("warm", "fresh"))
    assert 3.5 < warm < 5 and 8 < fresh < 11


def test_stored_runs_are_what_the_code_produces(stored, prefix):
    """The first generations of the stored file, recomputed: the file is today's code's output."""
    runs, meta = stored
    assert meta["settings"]["seed"] == 2024 and meta["settings"]["n"] == N
    for name in ("fresh", "warm"):
        for t in (0, 10):
            i = at(runs[name], t)
            for metric in ("light_weight", "light_std", "pooled_std"):
                assert np.allclose(runs[name][metric][i], prefix[name][metric][t], rtol=2e-3, atol=1e-4), (name, t)


@claim(
    "06",
    "Over 1000 generations, will they lose a component (weight below 0.01) about equally often?",
    "In the 20 stored runs the warm start had lost a component by generation 1000 in 9 runs, the fresh fit in none "
    "(nor had scikit-learn's `GaussianMixture`, refitted from scratch as in the authors' code)",
    "the median weight of the lighter component was 0.12 against 0.34 (0.28 with scikit-learn; checked output below)",
    "A weight that has drifted to almost 0 rarely recovers: all 9 warm-start runs that ever fell below 0.01 were "
    "below it at generation 1000, though 3 of them climbed back above it for a while",
    "a random walk with nothing pulling it back, like a frequency in lesson 02's Wright–Fisher model",
    "A fresh fit splits the data anew with k-means every generation, which puts both components back to work",
    "warm-started EM lets the weights drift like lesson 02's frequencies until a component dies (9 of 20 runs by "
    "generation 1000, against none with a fresh fit, ours or scikit-learn's)",
)
def test_protocol_answer(stored):
    runs, meta = stored
    text = checked_output("06", "load_protocol_runs")
    rows = {
        label: numbers_in(line)
        for label, line in zip(("fresh", "sklearn", "warm"), text.splitlines()[1:4], strict=True)
    }
    dead = {name: int(np.sum(runs[name]["light_weight"][-1] < DEAD)) for name in ("fresh", "sklearn", "warm")}
    assert dead == {"fresh": 0, "sklearn": 0, "warm": 9}
    assert [rows[name][0] for name in ("fresh", "sklearn", "warm")] == [0, 0, 9]
    assert [rows[name][1] for name in ("fresh", "sklearn", "warm")] == [0.34, 0.28, 0.12]
    warm = runs["warm"]["light_weight"] < DEAD
    ever = warm.any(axis=0)
    came_back = [r for r in np.flatnonzero(ever) if not warm[np.argmax(warm[:, r]) :, r].all()]
    assert ever.sum() == 9 and warm[-1, ever].all() and len(came_back) == 3
    # drift without pull-back: the warm weights spread out, the fresh fit's do not drift to 0
    assert np.median(runs["warm"]["light_weight"][-1]) < 0.5 * np.median(runs["fresh"]["light_weight"][-1])
    assert meta["summary"]["warm"]["dead (light weight < 0.01)"] == 9


@claim(
    "06",
    "Running both protocols for 1000 generations over 20 runs takes minutes",
    "`python benchmarks/mixture_protocols.py` remakes the file in a few minutes; with `--sklearn-runs 20` it also "
    "refits scikit-learn's `GaussianMixture` from scratch every generation",
    "which takes about 20 minutes more",
)
def test_stored_file_and_its_cost(stored):
    runs, meta = stored
    assert meta["settings"]["runs"] == 20 and meta["settings"]["generations"] == 1000
    assert list(runs["fresh"]["generation"][:3]) == [0, 10, 20]
    ours = sum(meta["seconds"][name] for name in ("fresh", "warm", "warm10"))
    assert 60 < ours < 600 and 600 < meta["seconds"]["sklearn"] < 1800  # measured on a busy 2-core machine
    assert (meta["settings"]["tol"], meta["settings"]["max_iter"]) == (1e-5, 2000)


@claim(
    "06",
    "20 runs per protocol over 1000 generations (line: median, band: 5–95% of runs; thin grey: scikit-learn's "
    "fresh fit, median)",
    "With a fresh fit, ours or scikit-learn's, the lighter component keeps a median weight around 0.3, and a "
    "component that nearly empties is refilled later (no fresh-fit run has a dead component at generation 1000)",
    "with a warm start the lighter weight drifts down and the count of dead components climbs, with brief "
    "recoveries, to 9 of 20",
    "The lighter component's standard deviation falls under both protocols, about four times further with the warm "
    "start by generation 1000 (median 0.013 against 0.055)",
    "The pooled variance (bottom right) behaves alike under all three fits, spread widely around $a^t$",
    "Both protocols fit the same model to the same kind of data, and by the M-step identity both keep the pooled "
    "variance on $a^t$",
)
def test_protocol_figure(stored):
    runs, _ = stored
    for name in ("fresh", "sklearn"):
        weight = runs[name]["light_weight"]
        assert 0.25 < np.median(np.median(weight[1:], axis=1)) < 0.4
        emptied = (weight < DEAD).any(axis=0)
        assert emptied.any() and not (weight[-1] < DEAD).any()  # some nearly emptied, all refilled by t = 1000
    dead = (runs["warm"]["light_weight"] < DEAD).sum(axis=1)
    assert dead[-1] == dead.max() == 9 and np.any(np.diff(dead) < 0)
    assert np.median(runs["warm"]["light_weight"][-1]) < np.median(runs["warm"]["light_weight"][at(runs["warm"], 100)])
    light = {name: np.median(runs[name]["light_std"][-1]) for name in ("fresh", "warm")}
    assert (round(light["warm"], 3), round(light["fresh"], 3)) == (0.013, 0.055)
    assert 3.5 < light["fresh"] / light["warm"] < 5
    assert all(np.median(runs[name]["light_std"][-1]) < 0.2 for name in ("fresh", "sklearn", "warm"))
    law = theory.expected_variance(runs["fresh"]["generation"], N)
    for name in ("fresh", "sklearn", "warm"):
        low, high = np.quantile(runs[name]["pooled_std"] ** 2, [0.05, 0.95], axis=1)
        assert np.all((low <= 1.02 * law) & (law <= 1.02 * high)), name
        middle = np.mean(runs[name]["pooled_std"][at(runs[name], 500)] ** 2)
        assert middle == pytest.approx(theory.expected_variance(500, N), rel=0.25), name


# --------------------------------------------------------------------------- section 3


@claim(
    "06",
    "The data are scikit-learn's **1797 real 8×8 handwritten digits**",
    "split once into 1078 training and 719 test images",
    "Generation 0 is the model of all 1078 real training digits",
)
def test_digit_split_and_generation_zero():
    split = mixtures.load_digit_split()
    assert (len(split.train_x), len(split.test_x), split.train_x.shape[1]) == (1078, 719, 64)
    family = PCAMixture()
    h = run_generations(family, DataPool(split.train_x), n=200, generations=1, runs=1, seed=11, keep_models=True)
    direct = family.fit(split.train_x[None])
    assert np.allclose(h.models[0].mixture.weights, direct.mixture.weights)


@claim(
    "06",
    "**PCA** to 10 dimensions, then 2. a **Gaussian mixture** with 10 components (full covariance) in that space, "
    "fitted fresh (k-means, then EM)",
    "Each generation trains on **n = 200 images**: a fraction *r* of fresh real training digits (drawn from a "
    "`DataPool` of the 1078) and $(1 - r)\\,n$ samples of the previous model",
    "The experiment is the same loop as the toy's, with another family plugged in and a measurement added",
    "`DigitScorer` draws 500 images from every generation's model (from its own random stream, so measuring never "
    "changes the loop) and scores them",
)
def test_digit_loop():
    from sklearn.decomposition import PCA

    split = mixtures.load_digit_split()
    family = PCAMixture()
    model = family.fit(split.train_x[None, :200])
    assert model.basis.shape == (1, 10, 64) and model.mixture.weights.shape == (1, 10)
    theirs = PCA(10, svd_solver="full").fit(split.train_x[:200]).components_
    assert np.allclose(model.basis[0].T @ model.basis[0], theirs.T @ theirs, atol=1e-8)  # the same subspace

    class Counting(DataPool):
        def __init__(self, data):
            super().__init__(data)
            self.sizes: list[int] = []

        def draw(self, family, size, runs, rng):
            self.sizes.append(size)
            return super().draw(family, size, runs, rng)

    pool = Counting(split.train_x)
    plain = run_generations(family, pool, n=200, generations=3, runs=2, seed=11, policy="fresh-real", real_fraction=0.1)
    assert pool.sizes == [200, 20, 20]  # the first fit sees 200 real images, later ones 20 real + 180 synthetic
    scored = run_generations(
        family,
        DataPool(split.train_x),
        n=200,
        generations=3,
        runs=2,
        seed=11,
        policy="fresh-real",
        real_fraction=0.1,
        measure=mixtures.DigitScorer(family, samples=500),
    )
    assert np.array_equal(plain["latent_variance"], scored["latent_variance"])  # measuring never changes the loop


@claim(
    "06",
    "**What we compare against.** For this model there is no formula like $a^t$",
    "**generation 0**, the same model fitted to all the real training digits",
    "**held-out real test digits** (what even generation 0 does not capture)",
    "The dotted line is what 500 real test digits score",
)
def test_references(digits):
    real = mixtures.real_digit_scores()
    stored = numbers_in(checked_output("06", "digit_classifier()"))
    assert stored[:2] == [719, 0.97]
    assert real["pixel_variance"] > 1.4 * digits[0.0]["pixel_variance"][0].max()  # generation 0 misses variety


@claim(
    "06",
    "Run 0: 40 samples per generation, sorted by the class the classifier gives them (generation 0 is the same model "
    "in every row)",
    "Fully synthetic (top), the samples get blurrier and the mix of classes drifts, some classes filling several rows "
    "while others thin out or vanish",
    "with 10% real (middle) the drift is slower; with 50% real (bottom) generation 20 looks much like generation 1",
    "Which classes grow or vanish changes from run to run",
    "without real data some classes get far more than their 10% and others fade out",
)
def test_grid_and_class_share_captions(digits):
    assert np.array_equal(digits[0.0]["grid"][0], digits[0.5]["grid"][0])  # the same generation 0 in every row
    synthetic = digits[0.0]
    share = synthetic["class_share"][20]  # (runs, 10)
    assert np.all(synthetic["coverage"][20] < 10)  # some class vanished in every run
    assert np.mean(share.max(axis=1) >= 0.2) >= 0.8 and np.mean(share.min(axis=1) < 0.02) >= 0.8
    assert len(set(share.argmax(axis=1))) >= 3  # the class that takes over differs between runs
    assert np.median(synthetic["confidence"][20]) < synthetic["confidence"][0, 0]  # blurrier
    entropy = {r: np.median(digits[r]["entropy"][20]) for r in FRACTIONS}
    assert entropy[0.0] < entropy[0.1] < entropy[0.5]
    half = digits[0.5]
    assert np.median(half["pixel_variance"][20] / half["pixel_variance"][1]) > 0.9
    assert np.all(half["coverage"][20] == 10) and np.median(half["entropy"][20]) > 3.15


# --------------------------------------------------------------------------- section 4


@claim(
    "06",
    "**classes covered**: classes that get at least 2% of the samples (a fifth of a fair share)",
    "the **class entropy** in bits (3.32 when all ten are equally common)",
    "Ten equally common classes give $\\log_2 10 \\approx 3.32$; a single class gives 0",
)
def test_metric_definitions():
    assert mixtures.class_coverage(np.repeat(np.arange(10), [10] + [54] * 9), min_share=0.02) == 10
    assert mixtures.class_coverage(np.repeat(np.arange(10), [9] + [55] * 9), min_share=0.02) == 9
    assert 0.02 == pytest.approx(0.1 / 5)
    class_entropy = lesson_function("class_entropy")
    assert round(class_entropy(np.arange(10)), 2) == 3.32 and class_entropy(np.zeros(7, int)) == 0


@claim(
    "06",
    "Six runs per policy (line: median, band: 5–95% of runs); generation 0 is every curve's first point",
    "Fully synthetic (blue) loses classes, class entropy and pixel variance generation after generation",
    "10% real (vermillion) loses less on each of the three, and 50% real (green) stays close to generation 0",
    "Even generation 0 has only about 60% of the real digits' pixel variance",
    "loses **classes** (every fully synthetic run lost at least one by generation 20) and **variety** (pixel variance)",
    "Fresh **real data** each generation slows the loss (10%) or keeps the model near generation 0 (50%) over the 20 "
    "generations run here",
    "how a generative model of real images loses classes and variety when it feeds on itself",
)
def test_metrics_figure(digits):
    zero = digits[0.0]
    for name in ("entropy", "pixel_variance"):
        medians = np.median(zero[name][[0, 5, 10, 20]], axis=1)
        assert np.all(np.diff(medians) < 0), name  # generation after generation
    assert np.median(zero["coverage"][20]) < np.median(zero["coverage"][10]) <= 10
    kept = {r: np.median(digits[r]["pixel_variance"][20] / digits[r]["pixel_variance"][0]) for r in FRACTIONS}
    assert kept[0.0] < kept[0.1] < kept[0.5] and kept[0.5] > 0.85
    assert np.median(digits[0.1]["coverage"][20]) >= np.median(zero["coverage"][20]) + 1
    assert np.median(digits[0.5]["entropy"][20]) > digits[0.5]["entropy"][0, 0] - 0.15
    # the lesson's own runs, from its checked output: (median, fewest, most) classes, entropy, variance kept
    text = checked_output("06", "pixel variance kept")
    pattern = (
        r"real: +([\d.]+) classes covered \(10; runs: (\d+) to (\d+)\), class entropy ([\d.]+) bits.*kept ([\d.]+)"
    )
    synthetic, ten, half = ([float(v) for v in m] for m in re.findall(pattern, text))
    assert synthetic[2] < 10  # every run of the lesson lost a class, too
    assert synthetic[4] < ten[4] < half[4] and synthetic[3] < ten[3] and synthetic[0] < ten[0]
    generation0 = float(re.search(r"generation 0: pixel variance ([\d.]+)", text)[1])
    real = float(re.search(r"pixel variance ([\d.]+)", checked_output("06", "digit_classifier()"))[1])
    assert 0.55 < generation0 / real < 0.65  # about 60%


@claim(
    "06",
    "Neither recursion nor real data turns the samples into copies of training images: for every policy and "
    "generation the median distance to the nearest training image stays between about 1.1 and 1.3, above the 1.08 "
    "of held-out real digits",
    "Generation 0's samples already sit much closer to a class average (1.09) than real digits do (1.59)",
    "Without real data the samples move closer still (a median of about 0.95 at generation 20), while with 50% real "
    "data they stay near generation 0's level",
    "Classifier confidence falls below generation 0's 0.82 for every policy (the model's samples are blurrier than "
    "real digits, which score 0.89)",
    "its samples move closer to class averages rather than to copies of training images",
)
def test_copying_or_averaging(digits):
    real = mixtures.real_digit_scores()
    assert (round(real["nearest_real"], 2), round(real["nearest_average"], 2), round(real["confidence"], 2)) == (
        1.08,
        1.59,
        0.89,
    )
    for r in FRACTIONS:
        nearest = np.median(digits[r]["nearest_real"], axis=1)
        assert np.all((1.1 <= nearest) & (nearest <= 1.3)) and np.all(nearest > real["nearest_real"]), r
        assert np.median(digits[r]["confidence"][20]) < digits[r]["confidence"][0, 0]
    zero = digits[0.0]["nearest_average"]
    assert zero[0, 0] == pytest.approx(1.09, abs=0.03) and 0.9 < np.median(zero[20]) < 1.0  # 1.09: the lesson's
    assert abs(np.median(digits[0.5]["nearest_average"][20]) - zero[0, 0]) < 0.06
    text = checked_output("06", "pixel variance kept")
    assert re.search(r"confidence ([\d.]+), distance to the nearest class average ([\d.]+)", text).groups() == (
        "0.82",
        "1.09",
    )


# --------------------------------------------------------------------------- exercises


@claim(
    "06",
    "Why do the two agree, up to the $10^{-6}$ on the diagonal, wherever EM starts and however few steps it takes?",
    "is $10^{-6} I$ up to rounding",
    "For every point the responsibilities add up to 1",
    "No property of the responsibilities is used, so it holds after every M-step",
)
def test_exercise_2_answer():
    pooled_covariance = lesson_function("pooled_covariance")
    rng = np.random.default_rng(0)
    points = rng.normal(size=(1, 500, 2)) * [2.0, 0.5]
    start = MixtureModel(np.array([[0.5, 0.5]]), rng.normal(size=(1, 2, 2)), np.tile(np.eye(2), (1, 2, 1, 1)))
    for steps in (1, 3, 50):
        fit = fit_em(points, start, max_iter=steps)
        gap = pooled_covariance(fit.weights[0], fit.means[0], fit.covariances[0]) - np.cov(points[0].T, bias=True)
        assert np.allclose(gap, 1e-6 * np.eye(2), atol=1e-12)


@claim(
    "06",
    "A model that memorised its training set would score near 0 against it",
)
def test_exercise_3_memorised():
    nearest_distance = lesson_function("nearest_distance")
    train = mixtures.load_digit_split().train_x[:100]
    assert np.allclose(nearest_distance(train[:10], train), 0.0)


# --------------------------------------------------------------------------- exercise checkers

WRONG_ANSWERS = {
    "class_entropy": [
        # natural logarithm instead of bits
        "def class_entropy(labels, classes=10):\n"
        "    share = np.bincount(labels, minlength=classes) / len(labels)\n"
        "    share = share[share > 0]\n"
        "    return float(-(share * np.log(share)).sum())\n",
        # forgets to skip the empty classes: 0 log 0 gives NaN
        "def class_entropy(labels, classes=10):\n"
        "    share = np.bincount(labels, minlength=classes) / len(labels)\n"
        "    with np.errstate(divide='ignore', invalid='ignore'):\n"
        "        return float(-(share * np.log2(share)).sum())\n",
        # the entropy of a uniform share over the classes seen, whatever their counts
        "def class_entropy(labels, classes=10):\n    return float(np.log2(len(np.unique(labels))))\n",
    ],
    "pooled_covariance": [
        # only the within-component part
        "def pooled_covariance(weights, means, covariances):\n"
        "    return np.einsum('k,kij->ij', np.asarray(weights), np.asarray(covariances))\n",
        # forgets to subtract mu mu^T
        "def pooled_covariance(weights, means, covariances):\n"
        "    w, m, c = np.asarray(weights), np.asarray(means), np.asarray(covariances)\n"
        "    return np.einsum('k,kij->ij', w, c + m[:, :, None] * m[:, None, :])\n",
        # unweighted: the plain average of the covariances plus the spread of the means
        "def pooled_covariance(weights, means, covariances):\n"
        "    return np.asarray(covariances).mean(axis=0) + np.cov(np.asarray(means).T, bias=True)\n",
    ],
    "nearest_distance": [
        # squared distance: forgets the square root
        "def nearest_distance(samples, reference):\n"
        "    return ((samples[:, None, :] - reference[None]) ** 2).sum(axis=-1).min(axis=1)\n",
        # the minimum over the wrong axis: nearest sample for each reference row
        "def nearest_distance(samples, reference):\n"
        "    return np.sqrt(((samples[:, None, :] - reference[None]) ** 2).sum(axis=-1)).min(axis=0)\n",
        # the mean distance instead of the nearest one
        "def nearest_distance(samples, reference):\n"
        "    return np.sqrt(((samples[:, None, :] - reference[None]) ** 2).sum(axis=-1)).mean(axis=1)\n",
    ],
}

test_checkers = checker_tests("06", WRONG_ANSWERS)
