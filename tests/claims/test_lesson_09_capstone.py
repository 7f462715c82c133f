"""Claims of lesson 09 (capstone): every number and comparison of its prose, recomputed with the code the
lesson calls (over seeds other than the lesson's own where randomness is involved), and its exercise
checkers against plausible wrong answers."""

from __future__ import annotations

import functools
import hashlib
import inspect
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from claimlib import checked_output, checker_tests, claim, notebook, numbers_in

from collapse_edu import capstone, curation, monitor, ngram
from collapse_edu.figures import capstone as figures
from collapse_edu.gaussian import simulate_gaussian

WORKSHOP = capstone.WORKSHOP_SEED
LESSON_CASES = range(1, 41)  # the lesson's 200 hidden-seed cases
OTHER_CASES = range(41, 81)  # 200 more, for claims that should not hinge on the lesson's cases
WARMUP_SEEDS = range(1, 21)  # 20 seeds other than the warm-up's own (0)


def lesson_code(marker: str) -> str:
    cells = [c.source for c in notebook("09").cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, f"{len(cells)} code cells contain {marker!r}"
    return cells[0]


@pytest.fixture(scope="module")
def pool() -> capstone.Pool:
    return capstone.load_pool()


@functools.cache
def cases(seeds: range) -> tuple[list, list]:
    return capstone.cases(seeds)


@functools.cache
def rules(seeds: range) -> dict:
    return capstone.best_single_column_rules(*cases(seeds))


@functools.cache
def pool_diagnoses() -> tuple[str, ...]:
    """The reference diagnosis of every run of the stored pool, in pool order."""
    pool = capstone.load_pool()
    return tuple(capstone.diagnose(pool.log(i)) for i in range(len(pool)))


def reference_share(seeds: range) -> float:
    logs, truth = cases(seeds)
    return float(np.mean([capstone.diagnose(log) == answer for log, answer in zip(logs, truth, strict=True)]))


#: The first checkpoint of tasks 2-5 in the sequential-task logs (one checkpoint per DIGIT_TASK_STEPS entry).
TASK_STARTS = [t for t in range(1, capstone.CHECKPOINTS) if t % len(capstone.DIGIT_TASK_STEPS) == 0]


def signs_of(pool: capstone.Pool, key: str, cause: str | None = None) -> list[dict]:
    return [capstone.signs(pool.log(i)) for i in pool.where(cause, key)]


# --------------------------------------------------------------------------- the time budget


@claim(
    "09",
    "Sections** (about 45 minutes) 1. Warm-up: overfitting in one picture (5 min)",
    "Five mystery runs: read the logs, write a diagnosis (25 min)",
)
def test_section_times_add_up_to_the_header_and_metadata():
    title = notebook("09").cells[0].source
    total = int(re.search(r"\*\*Sections\*\* \(about (\d+) minutes\)", title)[1])
    sections = [int(m) for m in re.findall(r"^\d+\. .*?\((\d+) min\)", title, re.M)]
    assert sum(sections) == total == notebook("09").metadata["collapse_edu"]["minutes"] == 45
    headings = [c.source for c in notebook("09").cells if c.cell_type == "markdown"]
    section_minutes = [int(m) for s in headings for m in re.findall(r"^## \d\. .*\((\d+) min\)", s, re.M)]
    exercises = [int(m) for s in headings for m in re.findall(r"^### Exercise \d: .*\((\d+) min\)", s, re.M)]
    assert section_minutes == sections
    assert sum(exercises) == 20 <= sections[1]  # the two exercises, plus five minutes of reading the logs


# --------------------------------------------------------------------------- 1. warm-up


@functools.cache
def warmup(seed: int) -> tuple[capstone.PolynomialFit, np.ndarray, np.ndarray, np.ndarray]:
    fit = capstone.polynomial_fit(seed)
    steps = np.unique(np.geomspace(1, 3e5, 60).round().astype(int))
    train, heldout = np.array([fit.errors(t) for t in steps]).T
    return fit, steps, train, heldout


@claim(
    "09",
    "a degree-15 polynomial (16 weights) is fitted to 20 noisy points of $y = \\sin(\\pi x)$",
    "The held-out points come from the same range of $x$ as the training points",
)
def test_the_warm_up_builds_what_it_says():
    source = lesson_code("PolynomialFit.from_data(")
    for piece in ("rng.uniform(-1, 1, 20)", "rng.uniform(x.min(), x.max(), 2000)", "degree=15", "0.3 * rng"):
        assert piece in source
    fit = warmup(0)[0]
    lesson_rng = np.random.default_rng(0)  # the cell's own draws, in its order
    x = lesson_rng.uniform(-1, 1, 20)
    np.testing.assert_allclose(fit.x, x)
    assert fit.degree + 1 == 16 and fit.x.min() <= fit.x_out.min() and fit.x_out.max() <= fit.x.max()


def descent_rise(fit: capstone.PolynomialFit, basis) -> tuple[float, float]:
    """The warm-up's descent in another ``basis`` ((x, degree) -> design matrix): (held-out error at
    300 000 steps / its lowest along the way, condition number of X^T X / n)."""
    descent = capstone.PolynomialDescent(fit.x, fit.y, fit.degree, basis=basis)
    X_out = basis(fit.x_out, fit.degree)
    errors = [
        np.mean((X_out @ descent.weights(t) - fit.y_out) ** 2)
        for t in np.unique(np.geomspace(1, 3e5, 60).round().astype(int))
    ]
    lam = np.clip(descent.eigenvalues, 0.0, None)
    return errors[-1] / min(errors), lam.max() / max(lam.min(), 1e-300)


@claim(
    "09",
    "by plain gradient descent on half the mean squared error, $\\lVert Xw - y\\rVert^2/2n$ (the half makes its gradient $X^\\top(Xw - y)/n$)",  # noqa: E501
    "It is written in the Legendre basis: the columns of $X$ below are the Legendre polynomials $P_0(x), \\dots, P_{15}(x)$ at the training points",  # noqa: E501
    "The path of gradient descent depends on the basis; in plain powers of $x$ the problem is far worse conditioned, and by 300 000 steps descent has overfitted much less",  # noqa: E501
)
def test_the_warm_up_descends_in_the_legendre_basis():
    fit = capstone.polynomial_fit(0)
    X = np.polynomial.legendre.legvander(fit.x, 15)
    w, eta = np.zeros(16), fit.descent.eta  # descent on |Xw - y|^2 / 2n, step by step: the exact path
    for _ in range(5):
        w = w - eta * X.T @ (X @ w - fit.y) / len(fit.x)
    np.testing.assert_allclose(fit.weights(5), w, rtol=1e-9, atol=1e-12)
    assert eta == pytest.approx(1 / np.linalg.eigvalsh(X.T @ X / len(fit.x)).max())
    fit = capstone.polynomial_fit(0)
    np.testing.assert_allclose(
        fit.predict(fit.x, 100), np.polynomial.legendre.legvander(fit.x, 15) @ fit.weights(100), rtol=1e-12
    )
    powers = lambda x, degree: np.vander(x, degree + 1, increasing=True)  # noqa: E731
    legendre = np.polynomial.legendre.legvander
    rises = []
    for seed in (0, *WARMUP_SEEDS):
        fit = capstone.polynomial_fit(seed)
        (rise_powers, cond_powers), (rise_legendre, cond_legendre) = (
            descent_rise(fit, powers),
            descent_rise(fit, legendre),
        )
        assert cond_powers > 100 * cond_legendre
        heldout = warmup(seed)[3]
        assert rise_legendre == pytest.approx(heldout[-1] / heldout.min(), rel=1e-6)  # the warm-up's own path
        rises.append((rise_powers, rise_legendre))
    rises = np.array(rises)
    assert np.mean(rises[:, 0] < rises[:, 1]) >= 0.9 and np.median(rises[:, 0]) < 0.2 * np.median(rises[:, 1])


@claim(
    "09",
    "After 100 steps the training error is already below the noise level $0.3^2 = 0.09$",
    "after 100 steps it is below the noise floor, and below the truth's own error on its training points, here and on "
    "20 other seeds (1-20, not shown)",
    "the longer it runs, the more of the noise it learns",
)
def test_training_error_is_below_the_noise_floor_after_100_steps():
    for seed in (0, *WARMUP_SEEDS):
        fit, _, train, _ = warmup(seed)
        assert fit.errors(100)[0] < min(0.09, np.mean((np.sin(np.pi * fit.x) - fit.y) ** 2))
        assert np.all(np.diff(train) <= 1e-12)  # gradient descent on one dataset: the training error never rises


@claim(
    "09",
    "The training error hardly moves any more (0.016 after 100 steps, 0.013 after 300 000 in the output below)",
    "about fivefold by 300 000 steps here (and between 1.7-fold and more than 200-fold on 20 other seeds, 1-20, not "
    "shown)",
    "the held-out error is lowest after a few dozen steps and then climbs",
)
def test_the_held_out_error_climbs_after_a_few_dozen_steps():
    out = checked_output("09", "held-out error is lowest after")
    assert "lowest after 47 steps: 0.132" in out
    lines = out.splitlines()
    assert "training MSE 0.016" in lines[1] and "training MSE 0.013" in lines[3]
    assert "held-out MSE 0.683" in lines[3] and 4.5 < 0.683 / 0.132 < 5.5
    ratios = []
    for seed in WARMUP_SEEDS:
        fit, steps, _, heldout = warmup(seed)
        assert 10 <= steps[np.argmin(heldout)] <= 400  # a few dozen, at most a few hundred steps
        ratios.append(fit.errors(300_000)[1] / heldout.min())
    assert 1.5 < min(ratios) < 2 and max(ratios) > 200


@claim(
    "09",
    "after 100 steps the polynomial roughly follows the truth; after 300 000 steps it still passes close to the training points but swings between them",  # noqa: E501
    "the training error falls below the noise floor (dashed), and below the truth's own error on these training "
    "points (dotted), within the first hundred steps and then stays almost flat",
    "while the held-out error is lowest after a few dozen steps and climbs from a few hundred steps on",
)
def test_the_warm_up_figure():
    fit, steps, train, heldout = warmup(0)
    grid = np.linspace(fit.x.min(), fit.x.max(), 400)
    assert np.max(np.abs(fit.predict(grid, 100) - np.sin(np.pi * grid))) < 0.45
    assert np.max(np.abs(fit.predict(fit.x, 300_000) - fit.y)) < 0.3
    assert np.max(np.abs(fit.predict(grid, 300_000))) > 2.0  # far beyond the curve's range of +-1
    late = train[steps >= 100]
    truth_train = np.mean((np.sin(np.pi * fit.x) - fit.y) ** 2)
    assert late.max() < truth_train < 0.09 and late.max() - late.min() < 0.005
    right = figures.overfitting_figure(fit, steps, train, heldout).axes[1]
    levels = {line.get_linestyle(): line.get_ydata()[0] for line in right.lines if len(line.get_xdata()) == 2}
    assert levels == {"--": pytest.approx(0.09), ":": pytest.approx(truth_train)}  # the floor and the truth's own
    plt.close("all")
    assert 20 <= steps[np.argmin(heldout)] <= 60
    assert np.all(np.diff(heldout[steps >= 300]) > 0) and heldout[-1] > 5 * heldout.min()


@claim(
    "09",
    "the truth $\\sin(\\pi x)$ itself has an expected error equal to the noise variance $0.3^2 = 0.09$ on any "
    "points, the noise floor",
    "On 2000 held-out points it scores close to that; on 20 training points its error is a noisy estimate of it "
    "(about half of it here: these 20 noise draws happen to be small)",
    "A model whose training error is below the truth's own on the same points has fitted noise of those points, "
    "since the truth cannot do better on them",
    "That starts early, while descent is still learning the curve, so the held-out error goes on falling for a "
    "while; after its lowest point the noise learned costs more than the curve gained",
)
def test_the_truth_scores_the_noise_variance_on_both_sets():
    out = checked_output("09", "held-out error is lowest after").splitlines()
    assert out[4] == "the truth's own error: 0.044 on the training points, 0.089 on the held-out points"
    assert out[5] == "training error below the truth's own from step 7 on" and round(0.044 / 0.09, 1) == 0.5
    for seed in (0, *WARMUP_SEEDS):
        fit, steps, train, heldout = warmup(seed)
        truth_train = np.mean((np.sin(np.pi * fit.x) - fit.y) ** 2)
        truth_out = np.mean((np.sin(np.pi * fit.x_out) - fit.y_out) ** 2)
        assert abs(truth_out - 0.09) < 0.01 and 0.02 < truth_train < 0.2  # 20 points: a noisy estimate of 0.09
        assert fit.errors(300_000)[0] < 0.09 < fit.errors(300_000)[1]
        below = steps[np.argmax(train < truth_train)]  # the first step below the truth's own training error
        assert below < steps[np.argmin(heldout)], seed  # early: the held-out error is still falling then


# --------------------------------------------------------------------------- 3. the monitor


TEXT_SEEDS = (1, 2, 3, 4, 5)  # the lesson's text run is seed 0


@functools.cache
def text_run(seed: int, generations: tuple[int, ...] = (1, 5, 10)) -> dict[str, monitor.Report]:
    """The lesson's text experiment (bigram, 2000 sentences per candidate) with ``seed``, up to the
    largest of ``generations``."""
    from threadpoolctl import threadpool_limits

    reference, _ = capstone.corpus_text()
    corpus = ngram.load_corpus()
    run = ngram.simulate_ngram(corpus, order=2, generations=max(generations), keep_models=True, seed=seed)
    reports = {}
    with threadpool_limits(1):
        for g in generations:
            text = ngram.sample_sentences(run.history.models[g][0], 2000, g).to_text(corpus.vocab)
            reports[f"generation {g}"] = monitor.compare_text(reference, text)
    return reports


@claim(
    "09",
    "the candidates are the real **held-out** text (other documents, sharing no sentence with the training text; it must pass)",  # noqa: E501
    "the real held-out text and generation 1 pass every test",
)
def test_held_out_real_text_passes_on_every_split():
    out = checked_output("09", "text_reports.items()")
    assert out.splitlines()[0].split() == ["real", "held-out", "OK", "flagged:", "-"]
    for split in range(5):  # lesson 03's split is seed 0; other document splits pass too
        reference, heldout = capstone.corpus_text(seed=split)
        assert not {" ".join(s.lower().split()) for s in heldout} & {" ".join(s.lower().split()) for s in reference}
        report = monitor.compare_text(reference, heldout)
        assert report.verdict == "ok", report.to_text()


@claim(
    "09",
    "run through the training vocabulary first, its new words would all read `<unk>`, and the monitor would rightly flag that text as repetitive",  # noqa: E501
)
def test_held_out_text_through_the_training_vocabulary_is_flagged():
    reference, _ = capstone.corpus_text()
    corpus = ngram.load_corpus()
    encoded = corpus.held_out.to_text(corpus.vocab)
    assert sum("<unk>" in s for s in encoded) > 100
    report = monitor.compare_text(reference, encoded)
    assert "distinct-1" in report.flagged


@claim(
    "09",
    "Each cell is a symptom's value in the candidate relative to a fresh real sample (the near-duplicate rate as its raw value, since a fresh real sample repeats no sentence)",  # noqa: E501
    "the real held-out text and generation 1 pass every test, and from generation 5 on the monitor flags falling distinct-2, by generation 10 lost rare words and a falling distinct-1, and by generation 20 a falling next-token entropy too",  # noqa: E501
)
def test_the_monitor_flags_text_generations_on_every_seed():
    out = checked_output("09", "text_reports.items()").splitlines()
    assert out[1].startswith("generation 1 ") and "OK" in out[1] and "distinct-2" in out[2]
    assert out[0].startswith("real held-out") and out[0].endswith("flagged: -")
    assert out[4].startswith("generation 20") and "next-token entropy" in out[4] and "entropy" not in out[3]
    assert all(
        {"rare-word survival", "distinct-1", "distinct-2"} <= set(line.split("flagged: ")[1].split(", "))
        for line in out[3:]
    )
    for seed in TEXT_SEEDS:
        reports = text_run(seed)
        assert reports["generation 1"].verdict != "flag"
        assert "distinct-2" in reports["generation 5"].flagged
        assert {"rare-word survival", "distinct-1", "distinct-2"} <= set(reports["generation 10"].flagged)


@claim(
    "09",
    "the median $\\sigma_t$ is about $e^{-t/n}$",
    "In this run the monitor flags the lost variance and three of the eight k-means clusters losing their share first (generation 20)",  # noqa: E501
    "the model's mean has wandered to −0.33, so the three clusters above 0.5 thin out, while the lowest keeps its share, and the upper 1% tail holds a tenth of its expected mass (a warning, not yet a flag)",  # noqa: E501
    "From generation 100 on ($\\sigma_t$ near 0.37) the 1% tails are empty and the emptier one is flagged as well",
    "what held on all 10 other seeds we tried (4-13, not shown) is that fresh real data pass and that by generation 200 the variance, the tails and the clusters are all flagged",  # noqa: E501
    "on other seeds it can even grow for a while",
)
def test_the_monitor_on_the_gaussian_over_seeds():
    out = checked_output("09", "compare_numeric(real, candidate)").splitlines()
    for line in out:
        sigma, theory = numbers_in(line)[1:3]
        assert abs(sigma - theory) < 0.06  # this run's sigma sits near the median theory
    many = simulate_gaussian(n=100, generations=200, runs=2000, seed=11)["sigma"]
    for t in (20, 100, 200):  # the median over 2000 runs follows e^{-t/n}
        assert abs(np.median(many[t]) / np.exp(-t / 100) - 1) < 0.05, t
    assert out[0].endswith("flagged: -") and out[1].endswith("flagged: variance ratio, cluster coverage")
    assert all("thinnest tail mass" in line for line in out[2:])
    history = simulate_gaussian(n=100, generations=200, runs=1, seed=3)  # the lesson's run, redrawn as it draws
    rng = np.random.default_rng(8)
    real = rng.normal(size=(3000, 1))
    candidates = {t: rng.normal(history["mu"][t, 0], history["sigma"][t, 0], size=(1000, 1)) for t in (0, 20, 100, 200)}
    assert round(history["mu"][20, 0], 2) == -0.33 and round(history["sigma"][100, 0], 2) == 0.37
    symptoms = {s.name: s for s in monitor.compare_numeric(real, candidates[20]).symptoms}
    assert symptoms["cluster coverage"].explanation.startswith("5 of 8")
    tail = symptoms["thinnest tail mass"]
    assert tail.verdict == "warn" and "upper 1% tail" in tail.explanation and np.isclose(tail.value, tail.expected / 10)
    from sklearn.cluster import KMeans

    clusters = KMeans(n_clusters=8, n_init=2, random_state=0).fit(real)  # the monitor's clusters
    centres = clusters.cluster_centers_[:, 0]
    ref = np.bincount(clusters.predict(real), minlength=8) / len(real)
    can = np.bincount(clusters.predict(candidates[20]), minlength=8) / 1000
    thinned = can < ref / 1.5
    assert set(np.flatnonzero(thinned)) == set(np.flatnonzero(centres > 0.5)) and thinned.sum() == 3
    lowest = np.argmin(centres)
    assert abs(can[lowest] - ref[lowest]) < 0.005
    low, high = np.quantile(real, [0.01, 0.99])  # the reference's 1% tails
    for t in (100, 200):  # from generation 100 on: both tails empty, the emptier one flagged
        assert np.sum(candidates[t] < low) == 0 and np.sum(candidates[t] > high) == 0, t
        tail = {s.name: s for s in monitor.compare_numeric(real, candidates[t]).symptoms}["thinnest tail mass"]
        assert tail.verdict == "flag" and tail.value == 0, t
    from threadpoolctl import threadpool_limits

    grew = False
    for seed in range(4, 14):
        history = simulate_gaussian(n=100, generations=200, runs=1, seed=seed)
        grew |= bool(np.any(history["sigma"][1:101, 0] > 1.2))
        rng = np.random.default_rng(seed + 100)
        real = rng.normal(size=(3000, 1))
        flagged = {}
        for t in (0, 200):
            candidate = rng.normal(history["mu"][t, 0], history["sigma"][t, 0], size=(1000, 1))
            with threadpool_limits(1):
                flagged[t] = set(monitor.compare_numeric(real, candidate).flagged)
        assert flagged[0] == set()
        assert {"variance ratio", "thinnest tail mass", "cluster coverage"} <= flagged[200], seed
    assert grew


# --------------------------------------------------------------------------- 4. the checklist


@claim(
    "09",
    "the error then stays bounded (lesson 05: replace grows like $c\\,t$, accumulate stays under $c\\,\\pi^2/6$",
)
def test_replace_grows_linearly_and_accumulate_stays_bounded():
    from collapse_edu.regression import simulate_regression

    dim, samples, sigma = 10, 100, 1.0
    c = sigma**2 * dim / (samples - dim - 1)
    replace = simulate_regression(dim, samples, 30, runs=2000, policy="replace", seed=5).mean("error")
    accumulate = simulate_regression(dim, samples, 30, runs=2000, policy="accumulate", seed=5).mean("error")
    assert abs(replace[30] / (30 * c) - 1) < 0.1
    assert accumulate.max() < c * np.pi**2 / 6 * 1.05


@claim(
    "09",
    "Filtering by the model's *own* score (keeping its most likely samples, a low temperature, top-k) trades diversity for quality and speeds collapse up",  # noqa: E501
)
def test_self_scored_filtering_speeds_collapse_up():
    corpus = ngram.load_corpus()
    for seed in range(11, 16):
        plain = ngram.simulate_ngram(corpus, generations=10, seed=seed).history
        for filtered in ({"temperature": 0.7}, {"top_k": 5}):
            history = ngram.simulate_ngram(corpus, generations=10, seed=seed, **filtered).history
            # quality by the model's own score: generation 0 (trained on real text) rates the filtered text likelier
            assert history["perplexity_self"][0, 0] < 0.7 * plain["perplexity_self"][0, 0]
            assert history["vocabulary"][10, 0] < 0.1 * plain["vocabulary"][10, 0]  # diversity lost
            assert history["perplexity_real"][10, 0] > 10 * plain["perplexity_real"][10, 0]  # collapse sooner


@claim(
    "09",
    "lesson 03: the perplexity of its own text falls while that of real text rises",
)
def test_own_text_gets_easier_while_real_text_gets_harder():
    corpus = ngram.load_corpus()
    for seed in range(11, 16):
        history = ngram.simulate_ngram(corpus, generations=10, seed=seed).history
        assert history["perplexity_self"][10, 0] < history["perplexity_self"][1, 0]
        assert history["perplexity_real"][10, 0] > history["perplexity_real"][1, 0]


@claim(
    "09",
    "lesson 01: once the tails are lost, later fits rarely bring them back",
    "lesson 02: a lost category is lost for good",
)
def test_what_is_lost_stays_lost():
    from collapse_edu.categorical import simulate_categorical

    history = simulate_categorical(categories=20, n=50, generations=200, runs=200, seed=3)
    surviving = history["surviving"]
    assert np.all(np.diff(surviving, axis=0) <= 0)  # a category once gone never comes back
    sigma = simulate_gaussian(n=100, generations=300, runs=2000, seed=3)["sigma"]
    lost = sigma[100] < 0.2
    assert np.mean(sigma[300][lost] > 0.5) < 0.01


# --------------------------------------------------------------------------- 2. the mysteries


@claim(
    "09",
    "drawn (by hidden seeds) from a stored pool of several hundred runs in three settings",
    "Every log is a real simulation with this course's code",
)
def test_the_pool_holds_several_hundred_runs_in_three_settings(pool):
    assert len(pool) >= 300
    assert {pool.setting(i) for i in range(len(pool))} == {"curve fit", "ring generator", "digit classifier"}
    assert len({pool.setting(i) for i in pool.where("healthy")}) == 3


@claim(
    "09",
    "collapse with 10% fresh real data, forgetting despite replay, a GAN stuck sharply on few modes (its quality looks healthy), overfitting that has only just begun, and healthy runs trained on mostly synthetic data or on a sequence of tasks",  # noqa: E501
    "the pool of mysteries below holds such early-stopped runs too",
)
def test_the_hard_variants_are_in_the_pool(pool):
    for key, cause in [
        ("ring-fresh", "model collapse"),
        ("digits-replay", "forgetting"),
        ("curve-tasks-replay", "forgetting"),
        ("gan-vanilla", "mode collapse"),
        ("curve-overfit-early", "overfitting"),
        ("digits-overfit-early", "overfitting"),
        ("ring-accumulate", "healthy"),
        ("curve-verified", "healthy"),
        ("digits-joint", "healthy"),
    ]:
        assert len(pool.where(cause, key)) >= 10, key
    assert capstone.variant("ring-fresh").make.keywords == {"policy": "fresh-real", "real_fraction": 0.1}
    for key in ("ring-accumulate", "curve-accumulate", "curve-verified"):
        policy = capstone.variant(key).make.keywords.get("policy", "replace")
        true_share = np.mean([capstone._loop_share(policy, None, t) for t in range(1, capstone.CHECKPOINTS + 1)])
        assert true_share > 0.7  # mostly synthetic data
        assert all(s["synthetic_share"] > 0 for s in signs_of(pool, key))  # and the audit finds some


@claim(
    "09",
    "`synthetic_share` (printed `synth_share`) | share of 20 audited training examples tagged as machine-made",
    "20 examples make a coarse count, and provenance tags get lost on the way, so it tends to come out below the true share (lost tags only lower it, though a single count of 20 can land a little above)",  # noqa: E501
)
def test_the_synthetic_share_is_a_coarse_undercount(pool):
    assert capstone.AUDIT == 20
    assert "synth_share" in str(capstone.mystery_runs(0)["A"]).splitlines()[1]  # the printed header
    values = pool.values[:, :, capstone.COLUMNS.index("synthetic_share")]
    assert np.allclose(values * 20, np.round(values * 20))  # counts out of 20
    replace = values[pool.where(key="curve-replace"), 1:].mean(axis=1)  # the true share is 1 after generation 1
    assert replace.max() <= 1.0 and np.mean(replace < 0.95) > 0.5
    rates = [capstone.tagged_share(1.0, seed) for seed in range(200)]
    assert min(rates) >= 0.3 and np.mean(np.array(rates) < 1.0) == 1.0
    # against the true share of every checkpoint of the loops with machine-made data: below on average, run by
    # run, but single counts land above it now and then, by little
    loops = {"curve-replace": ("replace", None), "curve-verified": ("replace", None), "ring-replace": ("replace", None),
             "curve-accumulate": ("accumulate", None), "ring-accumulate": ("accumulate", None),
             "ring-fresh": ("fresh-real", 0.1)}  # fmt: skip
    below, above, excess = [], 0, 0.0
    for key, (policy, real) in loops.items():
        truth = np.array([capstone._loop_share(policy, real, t) for t in range(1, capstone.CHECKPOINTS + 1)])
        audited = values[pool.where(key=key)]
        below.extend(audited.mean(axis=1) < truth.mean())
        above += int(np.sum(audited > truth + 1e-9))
        excess = max(excess, float(np.max(audited - truth)))
    assert len(below) > 150 and np.mean(below) > 0.95
    assert above > 0 and excess < 0.15


@claim(
    "09",
    "which is negative when the outputs sit densely where the points are (a density can exceed 1)",
)
def test_generator_losses_go_negative_when_outputs_cover_the_ring(pool):
    held = pool.values[:, :, capstone.COLUMNS.index("heldout_loss")]
    healthy_ring = [i for i in pool.where("healthy") if pool.setting(i) == "ring generator"]
    assert np.mean([held[i, -1] < 0 for i in healthy_ring]) > 0.8
    assert all(held[i].min() >= 0 for i in range(len(pool)) if pool.setting(i) != "ring generator")


@claim("09", "hands you nine numbers per log")
def test_signs_has_nine_numbers(pool):
    assert len(capstone.signs(pool.log(0))) == 9


@claim(
    "09",
    "it draws **40 fresh cases with other hidden seeds** and asks for at least 90% right overall and at least three in four of every cause",  # noqa: E501
)
def test_the_checker_draws_forty_fresh_cases():
    assert len(capstone.CHECK_SEEDS) * len(capstone.LABELS) == 40 and WORKSHOP not in capstone.CHECK_SEEDS
    assert capstone.PASS_SHARE == 0.9 and capstone.PASS_PER_CAUSE == 0.75
    assert not set(capstone.CHECK_SEEDS) & set(LESSON_CASES)
    workshop = set(capstone.case_runs([WORKSHOP]))  # the five logs the learner has seen are not among them
    assert len(workshop) == 5 and not workshop & set(capstone.case_runs(capstone.CHECK_SEEDS))


@claim(
    "09",
    "The checker does not test you on the five logs above, which you have seen",
)
def test_no_other_mystery_set_holds_the_workshops_runs():
    assert WORKSHOP == 2024  # what the lesson's code comments say, and that they hold
    assert (
        "WORKSHOP = capstone.WORKSHOP_SEED  # 2024, this workshop's set; the checker below uses other hidden "
        "seeds, never its runs" in lesson_code("WORKSHOP = ")
    )
    assert "capstone.cases(range(1, 41))  # 40 hidden seeds: 200 cases, none of them the workshop's" in lesson_code(
        "capstone.cases(range(1, 41))"
    )
    workshop = set(capstone.case_runs([WORKSHOP]))
    for seeds in (LESSON_CASES, OTHER_CASES, capstone.CHECK_SEEDS, range(900, 1100)):
        assert not workshop & set(capstone.case_runs(seeds))


@claim(
    "09",
    "the held-out loss on *real* data rises and the score on the oldest (real) data slips away slowly",
    "A generator also loses diversity while its outputs can stay sharp (the fully synthetic ring generator's quality stays above 0.8 at every checkpoint of every run: it loses diversity, not sharpness)",  # noqa: E501
    "A curve fit's predictions mostly do not narrow: they wander, and their spread grew in 30 of the pool's 39 curve-fit collapse runs, so falling diversity is a sign of collapse only for generators",  # noqa: E501
    "With 10% fresh real data the decline is slower and noisier: it was clear within 15 generations in 29 of 40 ring runs, which are the pool's; the other 11 are left out as unclear",  # noqa: E501
)
def test_model_collapse_signs(pool):
    replace, fresh = signs_of(pool, "ring-replace"), signs_of(pool, "ring-fresh")
    curve = signs_of(pool, "curve-replace")
    collapse = replace + fresh + curve
    assert all(s["heldout_change"] > 0 for s in replace + curve)
    assert np.mean([s["heldout_change"] > 0 for s in fresh]) > 0.9  # 10% real data: noisier
    assert all(s["oldest_lost"] > 0 for s in collapse)
    assert np.mean([s["oldest_drop"] < 0.3 for s in collapse]) > 0.9  # slowly: no cliff
    # generators lose diversity; a curve fit's spread mostly grows
    assert all(s["diversity_change"] <= -0.2 for s in replace + fresh)
    assert (sum(s["diversity_change"] > 0 for s in curve), len(curve)) == (30, 39)
    assert np.median([s["diversity_change"] for s in replace]) < np.median([s["diversity_change"] for s in fresh]) < 0
    quality = pool.values[:, -1, capstone.COLUMNS.index("quality")]
    assert np.median(quality[pool.where(key="ring-replace")]) > 0.9
    every = pool.values[pool.where(key="ring-replace"), :, capstone.COLUMNS.index("quality")]
    assert every.min() > 0.8  # at every checkpoint of every fully synthetic ring run
    assert len(capstone.variant("ring-fresh").seeds) == 40
    assert (len(fresh), len(pool.excluded["ring-fresh"])) == (29, 11)
    assert capstone.CHECKPOINTS == 15  # one checkpoint per generation


@claim(
    "09",
    "data picked by an outside verifier that knows the real world do not collapse the model although all of them are synthetic",  # noqa: E501
    "A synthetic share on its own is no diagnosis",
)
def test_verified_and_accumulated_synthetic_data_stay_healthy(pool):
    for key in ("curve-verified", "ring-accumulate", "curve-accumulate"):
        kept = len(pool.where("healthy", key))
        assert kept >= 0.9 * len(capstone.variant(key).seeds), key
    verified = signs_of(pool, "curve-verified")
    replaced = signs_of(pool, "curve-replace")
    assert np.median([s["heldout_change"] for s in verified]) < 0.2 < np.median([s["heldout_change"] for s in replaced])
    logs, truth = cases(LESSON_CASES)
    synthetic = [a for log, a in zip(logs, truth, strict=True) if capstone.signs(log)["synthetic_share"] > 0]
    assert 0.1 < np.mean([a == "healthy" for a in synthetic]) < 0.9


@claim(
    "09",
    "the score on the oldest data is lost *for good* (`oldest_lost` of 0.2 or more, the reference's mark; every forgetting run of the pool loses 0.25 or more), while the current task is learned well (quality high)",  # noqa: E501
    "with replay the loss is smaller and slower, and not always there: 16 of 40 curve-slice runs with replay lost less than 0.25 and are left out of the pool as unclear",  # noqa: E501
    "shows dips of the oldest score when a new task arrives (in 115 of the 120 new tasks of the pool's 30 joint runs), and they recover, within the task or later: nothing is lost (no joint run ends more than 0.004 below its best)",  # noqa: E501
)
def test_forgetting_and_joint_training_signs(pool):
    forgetting = [capstone.signs(pool.log(i)) for i in pool.where("forgetting")]
    assert all(s["oldest_lost"] >= 0.25 for s in forgetting)
    assert 'oldest_lost"] >= 0.2:' in inspect.getsource(capstone.diagnose)  # the reference's mark
    left_out = pool.excluded["curve-tasks-replay"]
    assert (len(left_out), len(capstone.variant("curve-tasks-replay").seeds)) == (16, 40)
    for seed in left_out[:3]:  # recomputed: they lost less than 0.25
        assert capstone.lasting_loss(capstone.make_run("curve-tasks-replay", seed)["oldest_score"]) < 0.25
    quality = pool.values[:, -1, capstone.COLUMNS.index("quality")]
    assert np.median(quality[pool.where("forgetting")]) > 0.9
    finetune, replay = signs_of(pool, "digits-finetune"), signs_of(pool, "digits-replay")
    assert np.median([s["oldest_lost"] for s in replay]) < np.median([s["oldest_lost"] for s in finetune])
    assert np.median([s["oldest_drop"] for s in replay]) < np.median([s["oldest_drop"] for s in finetune])
    joint = [pool.log(i)["oldest_score"] for i in pool.where("healthy", "digits-joint")]
    assert TASK_STARTS == [3, 6, 9, 12]
    assert len(joint) == 30 and sum(o[t] < o[t - 1] for o in joint for t in TASK_STARTS) == 115
    assert sum(o[t + 2] < o[t - 1] for o in joint for t in TASK_STARTS) > 0  # not always recovered within the task
    assert round(max(capstone.lasting_loss(o) for o in joint), 3) == 0.004


@claim(
    "09",
    "There is no gap between the two losses: the GAN sees fresh real data at every step",
)
def test_gan_losses_have_no_gap(pool):
    train, held = (pool.values[:, :, capstone.COLUMNS.index(c)] for c in ("train_loss", "heldout_loss"))
    for i in np.r_[pool.where(key="gan-vanilla"), pool.where(key="gan-pacgan")]:
        gap = np.abs(held[i, 1:] - train[i, 1:])
        assert np.median(gap) < 0.1 * np.median(np.abs(held[i, 1:])) + 0.1


@claim(
    "09",
    "the model keeps fitting the same data (the training loss falls, or stays at its floor, at every checkpoint) while the held-out loss turns and climbs; early-stopped logs show the same turn, ended sooner: their held-out loss ends 20% or more above its lowest point",  # noqa: E501
    "the classifier's accuracy even holds while its held-out loss climbs",
)
def test_overfitting_signs(pool):
    overfit = [s for i in pool.where("overfitting") for s in [capstone.signs(pool.log(i))]]
    assert all(s["train_falling"] >= 0.8 and s["heldout_turn"] >= 0.2 for s in overfit)
    for i in pool.where("overfitting"):
        floor = -np.log(1 - capstone.LIKELIHOOD_FLOOR + capstone.LIKELIHOOD_FLOOR / 10)  # sure and right: 0.009
        train = pool.log(i)["train_loss"]
        steps = np.diff(train)
        assert np.all(steps <= 1e-6)  # never rises (beyond float32 noise at the floor) ...
        stalled = train[1:][steps >= 0]
        if len(stalled) and pool.setting(i) == "curve fit":  # the least-squares fit's error is its floor
            fit = capstone.polynomial_fit(pool.seeds[i])
            X = capstone._legendre(fit.x, fit.degree)
            floor = np.mean((X @ np.linalg.lstsq(X, fit.y, rcond=None)[0] - fit.y) ** 2)
        assert np.all(np.abs(stalled - floor) < 1e-4)  # ... and where it stops falling, it sits at its floor
    for key in ("curve-overfit-early", "digits-overfit-early"):  # the same turn, ended sooner
        assert all(s["heldout_turn"] >= 0.2 for s in signs_of(pool, key))
        assert "logged only up to" in capstone.variant(key).story  # stopped early, by design
    for i in pool.where("overfitting", "digits-overfit"):
        log = pool.log(i)
        best = int(np.argmin(log["heldout_loss"]))
        assert (
            log["quality"][-1] >= log["quality"][best] - 0.03
            and log["heldout_loss"][-1] > 1.25 * log["heldout_loss"][best]
        )


@claim(
    "09",
    "Nor does a share of 0 clear a run, since tags get lost; the reference may trust it here only because every run of this pool trained on machine-made data had tags found, more than a fifth of the audited examples on average over its log",  # noqa: E501
)
def test_every_synthetic_run_of_the_pool_had_tags_found(pool):
    synthetic = ("curve-replace", "ring-replace", "ring-fresh", "curve-verified", "curve-accumulate", "ring-accumulate")
    assert {k for k in pool.keys if k not in synthetic} == {
        k for k in capstone.VARIANT_KEYS if k not in synthetic
    }  # every other variant trains on real data only ...
    real_only = [i for i in range(len(pool)) if pool.keys[i] not in synthetic]
    assert all(pool.log(i)["synthetic_share"].max() == 0 for i in real_only)  # ... and no tag is ever found there
    found = [pool.log(i)["synthetic_share"].mean() for i in range(len(pool)) if pool.keys[i] in synthetic]
    assert min(found) > 0.2
    assert min(capstone.tagged_share(1.0, seed) for seed in range(100)) < 0.4  # tags get lost


@claim(
    "09",
    "The reference has a home advantage too: each run's cause was judged from its full record by marks close to the reference's own, and the 51 of 652 runs that were no clear case are not in the pool",  # noqa: E501
    "Its 100% is the share of these 200 clear cases it names right (600 of the pool's 601 runs), not a promise for any log",  # noqa: E501
)
def test_the_reference_is_scored_on_clear_cases(pool):
    assert sum(len(v.seeds) for v in capstone.VARIANTS) == 652
    assert sum(d == cause for d, cause in zip(pool_diagnoses(), pool.causes, strict=True)) == 600 == len(pool) - 1
    assert sum(len(seeds) for seeds in pool.excluded.values()) == 51 == 652 - len(pool)
    assert reference_share(LESSON_CASES) == 1.0
    # outcome() and diagnose() share the held-out / diversity / turn marks
    for mark in ("rise >= 0.5", "diversity_fall >= 0.2", "1.2 * held[best]"):
        assert mark in inspect.getsource(capstone.outcome), mark
    for mark in ('"heldout_change"] >= 0.5', '"diversity_change"] <= -0.2', '"heldout_turn"] >= 0.2'):
        assert mark in inspect.getsource(capstone.diagnose), mark


@claim(
    "09",
    "Both log losses keep 1% of their probability spread evenly (over the 10 classes, or over the square $[-3, 3]^2$ round the ring), so one hopeless answer costs at most $\\log 1000 = 6.9$ nats in the classifier and $\\log 3600 = 8.2$ nats in a generator",  # noqa: E501
    "a classifier that is sure of every answer and right scores $-\\log 0.991 = 0.009$, not 0",
)
def test_log_losses_have_a_floor(pool):
    assert capstone.LIKELIHOOD_FLOOR == 0.01 and capstone.RING_BOX == 3.0
    assert round(np.log(10 / 0.01), 1) == 6.9 and round(np.log(36 / 0.01), 1) == 8.2
    assert round(-np.log(0.99 + 0.01 / 10), 3) == 0.009
    losses = pool.values[:, :, [capstone.COLUMNS.index("train_loss"), capstone.COLUMNS.index("heldout_loss")]]
    for setting, ceiling in (("digit classifier", np.log(1000)), ("ring generator", np.log(3600))):
        rows = [i for i in range(len(pool)) if pool.setting(i) == setting]
        assert losses[rows].max() <= ceiling + 1e-5
        assert losses[rows].max() > ceiling - 1.0  # some runs come near it
    digits = [i for i in range(len(pool)) if pool.setting(i) == "digit classifier"]
    assert losses[digits].min() == pytest.approx(-np.log(0.991), rel=1e-5)  # reached: sure and right


@claim(
    "09",
    "Each panel has its own vertical scale; losses that span a wide range (a factor of 20 or more, all positive) are drawn on a log scale",  # noqa: E501
)
def test_the_workshop_figure_scales():
    import matplotlib.pyplot as plt

    from collapse_edu.figures import capstone as figures

    logs = capstone.mystery_runs(WORKSHOP)
    fig = figures.mysteries_figure(logs)
    try:
        panels = np.asarray(fig.axes[: 3 * len(logs)]).reshape(3, len(logs))[0]  # the loss row
        for ax, (label, log) in zip(panels, logs.items(), strict=True):
            values = np.concatenate([log["train_loss"], log["heldout_loss"]])
            wide = bool(np.all(values > 0) and values.max() > 20 * values.min())
            assert ax.get_yscale() == ("log" if wide else "linear"), label
        assert {ax.get_yscale() for ax in panels} == {"log", "linear"}  # the workshop shows both
        assert len({ax.get_ylim() for ax in panels}) == len(logs)  # every panel its own scale
    finally:
        plt.close(fig)


@claim(
    "09",
    "an idealised verifier that knows the true curve draws the points it keeps from four times as many candidates, one at a time, each with a probability proportional to $p_\\mathrm{real}/p_\\mathrm{model}$ among the candidates left (importance resampling without replacement), so the points it keeps look like real data rather than like the model's",  # noqa: E501
)
def test_the_verifier_resamples_towards_the_real_distribution():
    assert inspect.signature(capstone.VerifiedFamily).parameters["oversample"].default == 4
    assert "VerifiedFamily(base, real_logpdf, model_logpdf)" in inspect.getsource(capstone.curve_loop_run)

    class Narrow:  # a model that makes its samples too narrow: N(0, 0.6^2) against the real N(0, 1)
        def sample(self, model, size, rng):
            return 0.6 * rng.standard_normal((1, size, 1))

    def normal_logpdf(x, scale):
        return (-0.5 * (x / scale) ** 2 - np.log(scale))[..., 0]

    verifier = capstone.VerifiedFamily(
        Narrow(), lambda x: normal_logpdf(x, 1.0), lambda model, x: normal_logpdf(x, 0.6), oversample=8
    )
    for seed in range(5):
        rng = np.random.default_rng(seed)
        raw, kept = Narrow().sample(None, 4000, rng), verifier.sample(None, 4000, rng)
        assert abs(kept.std() - 1.0) < abs(raw.std() - 1.0) / 2  # much nearer the real spread than the model's
    assert "p_real(x) / p_model(x)" in inspect.getdoc(capstone.VerifiedFamily)


# --------------------------------------------------------------------------- exercise checkers

WRONG_ANSWERS = {
    "lasting_loss": [
        # compares with the first value, not the best one
        "def lasting_loss(values):\n    values = np.asarray(values, float)\n    return float(values[0] - values[-1])\n",
        # counts every dip, also those that recover
        "def lasting_loss(values):\n"
        "    values = np.asarray(values, float)\n"
        "    return float(values.max() - values.min())\n",
        # the largest single fall between two checkpoints
        "def lasting_loss(values):\n"
        "    values = np.asarray(values, float)\n"
        "    return float(max(0.0, np.max(values[:-1] - values[1:])))\n",
    ],
    "diagnose": [
        # the old capstone's rule: reads a column that tells where the data came from (no such column now)
        "def diagnose(log):\n"
        "    version = log['data_version']\n"
        "    return 'model collapse' if version[-1] > version[0] else 'overfitting'\n",
        # machine-made data found: always model collapse
        "def diagnose(log):\n"
        "    s = capstone.signs(log)\n"
        "    if s['synthetic_share'] > 0:\n"
        "        return 'model collapse'\n"
        "    if s['oldest_lost'] >= 0.2:\n"
        "        return 'forgetting'\n"
        "    if s['diversity_end'] < 0.6:\n"
        "        return 'mode collapse'\n"
        "    if s['train_falling'] >= 0.8 and s['heldout_turn'] >= 0.2:\n"
        "        return 'overfitting'\n"
        "    return 'healthy'\n",
        # one column only
        "def diagnose(log):\n    return 'model collapse' if log['synthetic_share'].mean() > 0 else 'healthy'\n",
        # no run is healthy
        "def diagnose(log):\n"
        "    s = capstone.signs(log)\n"
        "    if s['synthetic_share'] > 0:\n"
        "        return 'model collapse'\n"
        "    if s['oldest_lost'] >= 0.2:\n"
        "        return 'forgetting'\n"
        "    return 'mode collapse' if s['diversity_end'] < 0.6 else 'overfitting'\n",
    ],
}
test_checkers = checker_tests("09", WRONG_ANSWERS)


@claim(
    "09",
    "diversity stays low from start to end (below 0.4 in every collapsed run of the pool), although the training data are real and fresh",  # noqa: E501
    "A GAN's log shows the second half of its training (steps 1,067 to 2,000)",
    "The collapsed GANs of this pool (lesson 07's settings) stay on the same one to three modes (median output shift below 0.03: the shares of outputs nearest each mode hardly change) and end with sharp samples (quality 0.6 or more at the last checkpoint)",  # noqa: E501
    "the pool's mark for mode collapse asks for at least half of the samples sharp, so such runs are left out",
    "A healthy PacGAN run's log also starts with low diversity (below 0.35 in every one) and climbs through the second half of training to above 0.55",  # noqa: E501
    "diversity (coverage) counts only outputs close to real points, and PacGAN's samples sharpen round the modes late (lesson 07)",  # noqa: E501
    "All 24 PacGAN-4 runs simulated for the pool (lesson 07's settings) end with samples on 7 or 8 modes, spread evenly; only 11 of them have 10 or more sharp samples (of 500) on 7 modes or more, the pool's mark for a clearly healthy run, so the other 13 are left out",  # noqa: E501
)
def test_mode_collapse_signs(pool):
    steps = np.round(np.linspace(0, 2000, capstone.GAN_RUN["snapshots"])).astype(int)
    assert (steps[capstone.GAN_LOGGED[0]], steps[capstone.GAN_LOGGED[-1]]) == (1067, 2000)
    vanilla = pool.meta["gan_outcomes"]["gan-vanilla"]  # the last snapshot's mode metrics of every run
    for i in pool.where("mode collapse"):
        log = pool.log(i)
        assert pool.keys[i] == "gan-vanilla" and capstone.GAN_VARIANTS["gan-vanilla"][1] == {}
        assert np.median(log["output_shift"][1:]) < 0.03 and log["quality"][-1] >= 0.6
        assert log["diversity"].max() < 0.4
        assert 1 <= vanilla[str(pool.seeds[i])]["modes_strict"] <= 3
        assert vanilla[str(pool.seeds[i])]["effective_modes"] <= 3
    assert len(pool.where("mode collapse")) >= 40
    assert 'high_quality"] >= 0.5' in inspect.getsource(capstone.outcome)
    for i in pool.where("healthy", "gan-pacgan"):
        diversity = pool.log(i)["diversity"]
        assert diversity[0] < 0.35 and diversity[-1] > 0.55
        assert np.mean(diversity[-5:]) > np.mean(diversity[5:10]) > np.mean(diversity[:5])  # it climbs throughout
        assert pool.log(i)["quality"][-1] > pool.log(i)["quality"][0]  # the samples sharpen
    assert "nearest <= radius" in inspect.getsource(capstone.coverage)  # only outputs near a real point count
    # outcome(): healthy needs >= 7 sharp modes, mode collapse <= 3 effective modes; the rest is left out
    assert capstone.GAN_VARIANTS["gan-pacgan"][1] == {} and len(capstone.variant("gan-pacgan").seeds) == 24
    assert (len(pool.where("healthy", "gan-pacgan")), len(pool.where("mode collapse", "gan-pacgan"))) == (11, 0)
    assert len(pool.excluded["gan-pacgan"]) == 13
    pacgan = pool.meta["gan_outcomes"]["gan-pacgan"]
    assert len(pacgan) == 24 and all(o["modes"] >= 7 and o["effective_modes"] > 7.4 for o in pacgan.values())
    assert sum(o["modes_strict"] >= 7 for o in pacgan.values()) == 11
    assert sorted(int(seed) for seed, o in pacgan.items() if o["modes_strict"] < 7) == pool.excluded["gan-pacgan"]
    assert "strict_count=10" in inspect.getsource(capstone.gan_outcome) and capstone.RING_SAMPLES == 500


@claim(
    "09",
    "So read diversity, not quality or shift, and expect the marks to overlap at the edge: one healthy PacGAN run of the pool ends at a diversity of 0.59, below the reference's mark of 0.6, and the reference calls it mode collapse (it names 600 of the pool's 601 runs right)",  # noqa: E501
)
def test_the_diversity_marks_overlap_at_the_edge(pool):
    wrong = [i for i, (d, cause) in enumerate(zip(pool_diagnoses(), pool.causes, strict=True)) if d != cause]
    assert (len(pool) - len(wrong), len(pool)) == (600, 601)
    (i,) = wrong
    assert (pool.keys[i], pool.causes[i], pool_diagnoses()[i]) == ("gan-pacgan", "healthy", "mode collapse")
    assert round(float(pool.log(i)["diversity"][-1]), 2) == 0.59
    assert 'diversity_end"] < 0.6' in inspect.getsource(capstone.diagnose)


@claim(
    "09",
    "**Healthy**: nothing is lost for good: the score on the oldest data ends within 0.14 of its best in every healthy run of the pool",  # noqa: E501
    "a healthy PacGAN run starts with low diversity and can end with blurry samples (quality as low as 0.27)",
    "joint training's held-out loss rises when a new task arrives (at all four task starts in 29 of its 30 runs) and comes down again before that task ends (in 116 of the 120 new tasks of all 30 runs)",  # noqa: E501
    "an accumulating curve fit's held-out loss can end up to 48% above its lowest point",
)
def test_healthy_runs_that_look_alarming(pool):
    healthy = [capstone.signs(pool.log(i)) for i in pool.where("healthy")]
    assert 0.13 < max(s["oldest_lost"] for s in healthy) <= 0.14
    pacgan = [pool.log(i) for i in pool.where("healthy", "gan-pacgan")]
    assert max(log["diversity"][0] for log in pacgan) < 0.35
    assert round(min(log["quality"][-1] for log in pacgan), 2) == 0.27
    joint = [pool.log(i)["heldout_loss"] for i in pool.where("healthy", "digits-joint")]
    assert TASK_STARTS == [3, 6, 9, 12] and len(joint) == 30
    assert sum(all(h[t] > h[t - 1] for t in TASK_STARTS) for h in joint) == 29
    last = [t + len(capstone.DIGIT_TASK_STEPS) - 1 for t in TASK_STARTS]  # the last checkpoint of each new task
    assert sum(h[end] < h[t] for h in joint for t, end in zip(TASK_STARTS, last, strict=True)) == 116
    turns = [s["heldout_turn"] for s in signs_of(pool, "curve-accumulate")]
    assert round(100 * max(turns)) == 48


# --------------------------------------------------------------------------- the workshop's five logs


@claim(
    "09",
    "run A's training loss falls at every checkpoint (by millionths at the end) while its held-out loss ends above "
    "its lowest point",
    "run B's losses jump up at every third checkpoint and come down again",
    "run C's held-out loss sits flat near 7 nats (close to the 8.2-nat ceiling) and its diversity stays below 0.2 while its quality climbs to 1",  # noqa: E501
    "run D's held-out loss creeps up while machine-made data are found from checkpoint 1 on",
    "run E's score on the oldest data falls to 0 by checkpoint 4",
)
def test_the_workshop_caption_describes_its_five_logs():
    logs = capstone.mystery_runs(WORKSHOP)
    a, b, c, d, e = (logs[label] for label in "ABCDE")
    assert np.all(np.diff(a["train_loss"]) < 0) and a["heldout_loss"][-1] > 1.2 * a["heldout_loss"].min()
    assert -np.diff(a["train_loss"])[-1] < 1e-5  # by millionths at the end
    jumps = np.flatnonzero(np.diff(b["train_loss"]) > 0.2) + 1
    assert list(jumps) == [3, 6, 9, 12] and b["train_loss"][-1] < 0.1
    assert np.all(np.abs(c["heldout_loss"] - 7) < 0.15) and c["heldout_loss"].max() < np.log(3600)
    assert c["diversity"].max() < 0.2 and c["quality"][-1] >= 0.995 and c["quality"][0] < 0.9
    assert d["heldout_loss"][-1] > 1.5 * d["heldout_loss"][0] and np.all(d["synthetic_share"][1:] > 0)
    assert d["synthetic_share"][0] == 0
    assert e["oldest_score"][4] == 0 and e["oldest_score"][:3].min() == 1


@claim(
    "09",
    "The reference diagnosis (`capstone.diagnose`, the solution of exercise 2) on this workshop's five logs",
)
def test_the_reference_gets_the_workshop_right():
    out = checked_output("09", "capstone.reveal(seed=WORKSHOP)")
    pairs = re.findall(r"diagnosed (.+?)\s+answer (.+?)\s*$", out, re.M)
    assert len(pairs) == 5 and all(a == b for a, b in pairs)
    assert sorted(b for _, b in pairs) == sorted(capstone.CAUSES)


# --------------------------------------------------------------------------- one column is not enough


@claim(
    "09",
    "any of 13 summaries of it (first, last, mean, largest fall, ...) and up to four thresholds",
    "How many of 200 hidden-seed cases does the best such rule get right",
    "the best single-column rules get between 44% (the synthetic share) and 76% of the 200 cases right (the output below), the reference diagnosis all of them",  # noqa: E501
)
def test_one_column_falls_short_of_the_reference():
    assert len(capstone.SUMMARIES) == 13
    logs, truth = cases(LESSON_CASES)
    assert len(logs) == 200
    out = checked_output("09", "best_single_column_rules(logs, truth)")
    shares = [numbers_in(line)[0] for line in out.splitlines()[:-1]]
    assert min(shares) == 44 and max(shares) == 76 and "100% right" in out.splitlines()[-1]
    found = rules(LESSON_CASES)
    assert round(100 * min(s for _, s in found.values())) == 44 and round(100 * max(s for _, s in found.values())) == 76
    assert reference_share(LESSON_CASES) == 1.0


@claim(
    "09",
    "The largest rise of the training loss, for example, picks out forgetting by fine-tuning on the digit tasks (rises of about 2 nats) but not on the curve slices, whose training loss rises by only a few hundredths, as a collapsing loop's does, so its rule names only half of the forgetting cases right",  # noqa: E501
    "it cannot tell a healthy fit on plenty of data from overfitting, since neither training loss ever rises",
)
def test_where_the_training_loss_rule_fails(pool):
    rule, _ = rules(LESSON_CASES)["train_loss"]
    assert rule.summary == "largest rise"
    predicted = {key: [rule(pool.log(i)) for i in pool.where(key=key)] for key in capstone.VARIANT_KEYS}
    assert np.mean([p == "forgetting" for p in predicted["digits-finetune"]]) > 0.9
    assert np.mean([p == "forgetting" for p in predicted["curve-tasks"]]) < 0.1
    jump = {key: [capstone.SUMMARIES["largest rise"](pool.log(i)["train_loss"]) for i in pool.where(key=key)]
            for key in ("digits-finetune", "curve-tasks", "curve-replace")}  # fmt: skip
    assert round(float(np.median(jump["digits-finetune"]))) == 2
    assert max(jump["curve-tasks"]) < 0.1 and np.median(jump["curve-tasks"]) > 0.01
    assert 0.5 < np.median(jump["curve-tasks"]) / np.median(jump["curve-replace"]) < 2
    logs, truth = cases(LESSON_CASES)
    forgetting = [log for log, answer in zip(logs, truth, strict=True) if answer == "forgetting"]
    assert np.mean([rule(log) == "forgetting" for log in forgetting]) == 0.5
    for key in ("curve-plenty", "digits-plenty"):
        assert np.mean([p == "overfitting" for p in predicted[key]]) > 0.9
        assert all(capstone.largest_fall(-pool.log(i)["train_loss"]) == 0 for i in pool.where(key=key))


@claim(
    "09",
    "These rules are fitted to the very cases they are scored on, and that alone is worth something: with the answers shuffled among the same logs, so that no column says anything about the cause, the best rules still get between 28% and 35% of the cases right (five shuffles, `capstone.shuffled_single_column_shares`), where naming one cause for every case gets 20%",  # noqa: E501
)
def test_fitting_alone_buys_a_third():
    logs, truth = cases(LESSON_CASES)
    found = capstone.shuffled_single_column_shares(logs, truth)
    shares = [share for column in found.values() for share in column]
    assert len(shares) == 5 * (len(capstone.COLUMNS) - 1)
    assert round(100 * min(shares)) == 28 and round(100 * max(shares)) == 35
    real = rules(LESSON_CASES)
    assert all(real[column][1] > max(found[column]) for column in found)  # the real answers beat every shuffle
    assert all(truth.count(cause) == len(truth) / 5 for cause in capstone.CAUSES)  # one cause for all: 20%


@claim(
    "09",
    "It does not flatter the real rules much, though: applied to the 125 cases of seeds 41-80 whose runs are not among these 200, they get 46% to 68% right, 8.5 points fewer than here at most",  # noqa: E501
)
def test_rules_hold_up_on_other_cases():
    fitted = rules(LESSON_CASES)
    seen = set(capstone.case_runs(LESSON_CASES))
    logs, truth = cases(OTHER_CASES)
    fresh = [i for i, run in enumerate(capstone.case_runs(OTHER_CASES)) if run not in seen]
    assert (OTHER_CASES.start, OTHER_CASES.stop - 1, len(fresh)) == (41, 80, 125)
    transferred = {column: np.mean([rule(logs[i]) == truth[i] for i in fresh]) for column, (rule, _) in fitted.items()}
    assert (round(100 * min(transferred.values())), round(100 * max(transferred.values()))) == (46, 68)
    assert max(fitted[c][1] - transferred[c] for c in fitted) == pytest.approx(0.085, abs=0.0005)
    assert all(capstone.diagnose(logs[i]) == truth[i] for i in fresh)


@claim(
    "09",
    "Every single column falls well short of it; the synthetic share alone does worst",
    "Each bar is the share of the 200 hidden-seed cases that the best rule reading only that column gets right",
)
def test_the_one_column_figure():
    found = rules(LESSON_CASES)
    shares = {c: s for c, (_, s) in found.items()}
    assert max(shares.values()) <= reference_share(LESSON_CASES) - 0.15
    assert min(shares, key=shares.get) == "synthetic_share"


@claim(
    "09",
    "after each share, the output lists the causes whose cases the rule names right at least 80% of the time: two to four per column",  # noqa: E501
)
def test_each_column_gives_away_two_to_four_causes():
    logs, truth = cases(LESSON_CASES)
    out = checked_output("09", "best_single_column_rules(logs, truth)").splitlines()[:-1]
    for line, (column, (rule, _)) in zip(out, rules(LESSON_CASES).items(), strict=True):
        caught = capstone.causes_caught(rule, logs, truth)
        assert line.startswith(column) and line.endswith("catches " + ", ".join(caught))
        assert 2 <= len(caught) <= 4
        for cause in caught:  # at least 80% of that cause's cases named right
            mine = [log for log, answer in zip(logs, truth, strict=True) if answer == cause]
            assert np.mean([rule(log) == cause for log in mine]) >= 0.8


@functools.cache
def marker_shares(seed: int) -> dict[str, list[float]]:
    return capstone.marker_column_shares(cases(LESSON_CASES)[1], seed=seed)


@claim(
    "09",
    "Under this measure, about half, once a column gives away a single cause and otherwise varies from case to case as real columns do",  # noqa: E501
    "makes up one column per cause that marks the cases of that cause without fail (a step of 5 on top of standard normal noise) and says nothing about the other four, and scores it like the real columns, five draws each",  # noqa: E501
    "Such a column gets about half of the cases right",
    "A rule that names the marked cause above the step and one other cause below it already gets two fifths (all 40 cases of each); the rest comes from splitting the noise below the step among the other causes, fitted to the very cases scored",  # noqa: E501
)
def test_a_column_that_marks_one_cause_gets_about_half():
    out = checked_output("09", "marker_column_shares(")
    low, high = numbers_in(out)[-2:]
    found = [share for draws in marker_shares(2024).values() for share in draws]
    assert len(found) == 25 and (f"{min(found):.0%}", f"{max(found):.0%}") == (f"{low:g}%", f"{high:g}%")
    for seed in (1, 2, 3):  # other draws: still about half
        shares = [share for draws in marker_shares(seed).values() for share in draws]
        assert 0.47 <= min(shares) and max(shares) <= 0.57
    truth = cases(LESSON_CASES)[1]
    assert all(truth.count(cause) == 40 for cause in capstone.CAUSES)  # each cause a fifth of the 200
    # the marked cause is named right every time: its column's best rule on the mean puts it alone above a cut
    values = [5.0 * (answer == "forgetting") + 0.0 for answer in truth]
    cuts, named, share = capstone.best_threshold_rule(values, truth)
    assert named[-1] == "forgetting" and share == 0.4  # a fifth for the marked cause, a fifth for one other
    assert min(found) > 0.4  # the fitting's bonus on top of those two fifths


@claim(
    "09",
    "Every real column but one scores above every made-up column (63% to 76%)",
    "The synthetic share scores 44%, below them: it does single out model collapse, but together with the healthy runs that had machine-made data too, and 144 of the 200 logs (every run without machine-made data) show a synthetic share of 0 at every checkpoint, equal values that no threshold can split",  # noqa: E501
)
def test_the_synthetic_share_scores_below_a_marker_column(pool):
    found = {c: s for c, (_, s) in rules(LESSON_CASES).items()}
    floor = [share for draws in marker_shares(2024).values() for share in draws]
    synthetic = found.pop("synthetic_share")
    assert synthetic < min(floor) and round(100 * synthetic) == 44
    assert all(share > max(floor) for share in found.values())
    assert (round(100 * min(found.values())), round(100 * max(found.values()))) == (63, 76)
    logs, truth = cases(LESSON_CASES)
    rule, _ = rules(LESSON_CASES)["synthetic_share"]
    collapse = [log for log, answer in zip(logs, truth, strict=True) if answer == "model collapse"]
    assert all(rule(log) == "model collapse" for log in collapse)  # singled out ...
    named = [answer for log, answer in zip(logs, truth, strict=True) if rule(log) == "model collapse"]
    assert set(named) == {"model collapse", "healthy"}  # ... together with healthy runs
    flat = [answer for log, answer in zip(logs, truth, strict=True) if log["synthetic_share"].max() == 0]
    assert len(flat) == 144 and "model collapse" not in flat
    for log, key in zip(logs, capstone.case_variants(LESSON_CASES), strict=True):  # flat = no machine-made data
        loop = capstone.variant(key).training == "retrained on its outputs"
        assert (log["synthetic_share"].max() == 0) == (not loop), key
    with_synthetic = {pool.causes[i] for i in range(len(pool)) if pool.log(i)["synthetic_share"].max() > 0}
    assert with_synthetic == {"model collapse", "healthy"}
    healthy = pool.where("healthy")
    assert 0 < np.mean([pool.log(i)["synthetic_share"].max() > 0 for i in healthy]) < 1  # some healthy runs


@claim(
    "09",
    "Because each failure belongs to one kind of training by its very definition: overfitting fits the same data ever more closely, model collapse retrains on the model's own outputs, forgetting learns tasks in turn, and mode collapse happens in a GAN's adversarial training",  # noqa: E501
    "Healthy runs come in every kind",
    "A rule that knew only how each run was trained, and named the failure of that kind, would get 80% of the 200 cases right: all but the healthy ones",  # noqa: E501
    "The logs do not say how a run was trained",
)
def test_each_failure_belongs_to_one_kind_of_training(pool):
    kinds = {cause: {pool.training(i) for i in pool.where(cause)} for cause in capstone.CAUSES}
    assert kinds.pop("healthy") == set(capstone.TRAINING_KINDS)
    assert kinds == {
        "overfitting": {"fixed data"},
        "model collapse": {"retrained on its outputs"},
        "forgetting": {"tasks in turn"},
        "mode collapse": {"adversarial"},
    }
    assert {key for key in capstone.VARIANT_KEYS if capstone.variant(key).training == "adversarial"} == {
        "gan-vanilla",
        "gan-pacgan",
    }
    out = checked_output("09", "training_kind_share(")
    assert f"{numbers_in(out.splitlines()[0])[0]:g}" == "80"
    for seeds in (LESSON_CASES, OTHER_CASES):
        named, share = capstone.training_kind_share(seeds)
        assert named == {kind: cause for cause, (kind,) in kinds.items()}
        truth = cases(seeds)[1]
        wrong = [answer for answer, kind in zip(truth, capstone.case_variants(seeds), strict=True)
                 if named[capstone.variant(kind).training] != answer]  # fmt: skip
        assert set(wrong) == {"healthy"} and len(wrong) == 40 and share == 0.8
    assert "kind" not in " ".join(capstone.COLUMNS) and "training" not in " ".join(capstone.COLUMNS)


@claim(
    "09",
    "one column can read it off the numbers, since the same data, new data every generation and a new task every few checkpoints move the training loss, the outputs and the score on the oldest data each in their own way",  # noqa: E501
    "Fitted to the kinds of training instead of the causes, the best rule of each column names the kind of 74% to 84% of the cases (the synthetic share: 55%)",  # noqa: E501
    "So a single column mostly tells you how a run was trained",
)
def test_one_column_reads_the_kind_of_training():
    out = checked_output("09", "training_kind_columns(")
    found = capstone.training_kind_columns(LESSON_CASES)
    printed = {line.split()[0]: numbers_in(line)[-1] for line in out.splitlines() if "names the kind" in line}
    assert printed == {column: round(100 * share) for column, share in found.items()}
    synthetic = found.pop("synthetic_share")
    assert (round(100 * min(found.values())), round(100 * max(found.values()))) == (74, 84)
    assert round(100 * synthetic) == 55
    for column in ("train_loss", "output_shift", "oldest_score"):  # the three columns the sentence names
        assert found[column] >= 0.74
    # reading the kind is not the fitting's doing: with the kinds shuffled among the same logs, far less
    logs = cases(LESSON_CASES)[0]
    kinds = [capstone.variant(key).training for key in capstone.case_variants(LESSON_CASES)]
    rng = np.random.default_rng(9)
    for column in ("output_shift", "quality"):
        for _ in range(2):
            shuffled = [str(k) for k in rng.permutation(kinds)]
            series = [log[column] for log in logs]
            assert capstone._best_summary_rule(series, shuffled, classes=capstone.TRAINING_KINDS)[3] < 0.5
    # a new task every few checkpoints: 3 logged checkpoints per task in both task settings
    assert len(capstone.CURVE_TASK_STEPS) == len(capstone.DIGIT_TASK_STEPS) == 3
    # "mostly": every column names the kind of more cases than it names the cause of
    found["synthetic_share"] = synthetic
    assert all(share < found[column] for column, (_, share) in rules(LESSON_CASES).items())


@claim(
    "09",
    "Not even with the checker's answers in hand",
    "The cell below fits the best rule of each column to the 40 cases that the checker of exercise 2 draws, and holds it to the checker's two marks (90% right overall, and three in four of every cause)",  # noqa: E501
    "The best, on the score on the oldest data, gets 85% right and still misses most of the healthy runs; no column passes",  # noqa: E501
)
def test_no_single_column_rule_passes_the_checker(capsys):
    assert (capstone.PASS_SHARE, capstone.PASS_PER_CAUSE) == (0.9, 0.75) and len(capstone.CHECK_SEEDS) == 8
    logs, truth = capstone.cases(capstone.CHECK_SEEDS)
    found = capstone.best_single_column_rules(logs, truth)
    for rule, _ in found.values():
        assert capstone.check_diagnose(rule) is False  # the checker itself says no
    capsys.readouterr()
    best = max(found, key=lambda column: found[column][1])
    rule, share = found[best]
    assert best == "oldest_score" and round(100 * share) == 85
    healthy = [log for log, answer in zip(logs, truth, strict=True) if answer == "healthy"]
    assert np.mean([rule(log) == "healthy" for log in healthy]) < 0.5
    out = checked_output("09", "capstone.cases(capstone.CHECK_SEEDS)")
    assert out.count("passes False") == len(capstone.COLUMNS) - 1 and "passes True" not in out
    assert "oldest_score     85% right" in out


@pytest.mark.xfail(
    strict=True,
    reason="issue 13 asks that no single column gets more than half of the cases right; with this pool the "
    "best single-column rules get 44-76% (see the lesson's 'Why one column is not enough'), and under this "
    "measure a column that marks a single cause and nothing else already gets 50-55%; and since each failure "
    "belongs to one kind of training, six columns that read the kind (74-84%) have a cause rule of 54% or more "
    "(tests/test_capstone.py::test_a_column_that_reads_the_kind_of_training_names_most_causes)",
)
def test_issue_target_no_single_column_gets_more_than_half():
    assert max(s for _, s in rules(LESSON_CASES).values()) <= 0.5


# --------------------------------------------------------------------------- checklist and summary


@claim(
    "09",
    "Selection by an *outside* verifier that knows the real world is another matter: it can keep a loop that trains on nothing but synthetic data from collapsing",  # noqa: E501
    "the model mostly stays put: on 40 seeds outside the pool its held-out loss ended less than half above its first value in 38 (median ratio 1.01), where plain replacement ended half above or more in all 40 (median 3.3)",  # noqa: E501
)
def test_an_outside_verifier_keeps_a_synthetic_loop_healthy():
    verified_seeds, replaced_seeds = range(1480, 1520), range(1340, 1380)
    assert not set(verified_seeds) & set(capstone.variant("curve-verified").seeds)  # outside the pool
    assert not set(replaced_seeds) & set(capstone.variant("curve-replace").seeds)
    change = lambda log: log["heldout_loss"][-1] / log["heldout_loss"][0]  # noqa: E731
    verified = np.array([change(capstone.make_run("curve-verified", seed)) for seed in verified_seeds])
    replaced = np.array([change(capstone.make_run("curve-replace", seed)) for seed in replaced_seeds])
    assert (verified < 1.5).sum() == 38 and f"{np.median(verified):.2f}" == "1.01"
    assert (replaced >= 1.5).sum() == 40 and f"{np.median(replaced):.1f}" == "3.3"


# --------------------------------------------------------------------------- framing sentences, questions, exercises


@claim(
    "09",
    "Four runs went wrong, each for a different reason: **overfitting**, **model collapse**, **GAN mode collapse** and **catastrophic forgetting**; the fifth is **healthy**",  # noqa: E501
    "`capstone.mystery_runs(seed)` hands out five training logs under shuffled labels A–E: one overfitting, one model collapse, one mode collapse, one forgetting and one healthy run",  # noqa: E501
)
def test_every_mystery_set_holds_four_failures_and_a_healthy_run():
    for seed in (WORKSHOP, *OTHER_CASES[:10]):
        answers = capstone.reveal(seed)
        assert list(answers) == list("ABCDE") and sorted(answers.values()) == sorted(capstone.CAUSES)
    assert len({tuple(capstone.reveal(seed).values()) for seed in OTHER_CASES}) > 20  # shuffled


@claim(
    "09",
    "**What you need**: lessons 01, 03, 05, 07 and 08 (the others help); no new maths.",
    "The collapse monitor on text and numbers (10 min) 4. A prevention checklist (5 min)",
)
def test_the_lessons_it_builds_on_exist_and_are_cited():
    from claimlib import LESSONS_DIR

    text = " ".join(c.source for c in notebook("09").cells if c.cell_type == "markdown")
    for number in ("01", "03", "05", "07", "08"):
        assert list(LESSONS_DIR.glob(f"{number}_*.ipynb"))
        assert f"lesson {number}" in text or f"lessons {number}" in text or f"{number}–" in text or f"{number}-" in text


@claim(
    "09",
    "Descent goes on to 300 000 steps.",
    "Does the training error keep falling by much, and what does the held-out error do?",
    "The held-out error is the one to watch, and what makes overfitting overfitting is the *pair*",
)
def test_the_predict_prompt_asks_about_the_warm_up_run():
    assert "300_000" in lesson_code("fit.errors(t)\n    print")
    fit, steps, train, heldout = warmup(0)
    assert steps.max() == 300_000 and "np.geomspace(1, 3e5, 60)" in lesson_code("overfitting_figure")
    tr100, ho100 = fit.errors(100)
    tr, ho = fit.errors(300_000)
    assert tr > 0.75 * tr100 and ho > 5 * heldout.min()  # barely falls; the held-out error is the one that moves


@claim(
    "09",
    "Then you point the course's *collapse monitor* at successive generations of lesson 03's text and lesson 01's Gaussian",  # noqa: E501
    "Model collapse can be caught in the *data*, before a model is trained on it.",
    "From a terminal: `collapse-edu monitor REFERENCE CANDIDATE --html report.html`.",
    "First, lesson 03's text: a bigram model trained on the course's snapshot of the CPython documentation, retrained for 20 generations on its own text",  # noqa: E501
    "The reference is 3 000 real draws from $N(0, 1)$; each candidate is 1 000 draws from the model of generation $t$",
)
def test_the_monitor_section_runs_what_it_says():
    from collapse_edu.cli import build_parser

    text_cell = lesson_code("capstone.corpus_text()")
    assert "order=2, generations=20" in text_cell and "sample_sentences(" in text_cell and "2000" in text_cell
    numbers = lesson_code("compare_numeric(real, candidate)")
    assert "size=(3000, 1)" in numbers and "size=(1000, 1)" in numbers and "for t in (0, 20, 100, 200)" in numbers
    args = build_parser().parse_args(["monitor", "a.txt", "b.txt", "--html", "report.html"])
    assert args.html == "report.html"
    reports = text_run(1)  # the data show it: generation 5's text is flagged, generation 1's is not
    assert reports["generation 1"].verdict != "flag" and reports["generation 5"].verdict == "flag"


@claim(
    "09",
    "the monitor measures a candidate on as many tokens and sentences as half of the reference holds, 21,880 tokens here, so a larger candidate is not favoured; the rest of its text goes unused",  # noqa: E501
)
def test_the_monitor_measures_candidates_at_the_references_size():
    reference, _ = capstone.corpus_text()
    corpus = ngram.load_corpus()
    run = ngram.simulate_ngram(corpus, order=2, generations=5, keep_models=True, seed=0)  # the lesson's run
    text = ngram.sample_sentences(run.history.models[5][0], 2000, 5).to_text(corpus.vocab)
    whole, shorter = (monitor.compare_text(reference, t) for t in (text, text[:1100]))  # 2,000 and 1,100 sentences
    assert whole["distinct-1"].explanation.endswith("(21,880 tokens)")
    # the candidate's own numbers are the same (the baseline's can move a little: a split whose fresh half holds
    # more than 1,100 sentences is cut to the candidate's size)
    symptoms = [[(s.name, s.value, s.verdict) for s in r.symptoms] for r in (whole, shorter)]
    assert symptoms[0] == symptoms[1]


@claim(
    "09",
    "If so, does the model get worse round after round, or not?",
    "Is something lost on the oldest data, and is it lost for good or only for a moment?",
    "Does the training loss keep falling, and does the held-out loss turn and climb?",
)
def test_the_questions_are_the_reference_diagnosis():
    import inspect

    source = inspect.getsource(capstone.diagnose)
    for sign in (
        "synthetic_share",
        "heldout_change",
        "diversity_change",
        "oldest_lost",
        "diversity_end",
        "train_falling",
        "heldout_turn",
    ):  # noqa: E501
        assert f'"{sign}"' in source


@claim(
    "09",
    "A score that dips while a model learns something new and then recovers has lost nothing; a score that ends far below its best has.",  # noqa: E501
    "Write `lasting_loss(values)`: how far the last value lies below the best value of the sequence",
    "The checker tries sequences with dips that recover, losses that stay, and a best value that comes late.",
    'Write `diagnose(log)` returning one of `"overfitting"`, `"model collapse"`, `"mode collapse"`, `"forgetting"`, `"healthy"`.',  # noqa: E501
)
def test_the_exercises_do_what_they_say():
    assert capstone.lasting_loss([1.0, 1.0, 0.2, 0.9, 1.0]) == 0.0
    assert capstone.lasting_loss([0.9, 0.1, 0.1]) == pytest.approx(0.8)
    checker = lesson_code("_ = check_function(\n    lasting_loss")
    assert "a dip that recovers" in checker and "the best comes late" in checker and "a cliff that stays" in checker
    logs, truth = cases(LESSON_CASES)
    assert {capstone.diagnose(log) for log in logs} == set(capstone.CAUSES)


@claim(
    "09",
    "Cure: keep all the real data and accumulate (lesson 05); a small share of fresh real data slows the decline and bounds it at a level set by its share (lessons 02, 03 and 05), but with 10% the ring runs still passed the pool's mark of collapse in 29 of 40 runs within 15 generations.",  # noqa: E501
    "**Healthy with synthetic data**: synthetic data were found too, but nothing degrades.",
    "Model collapse: machine-made data in training and a model that gets worse round after round (held-out loss up; a generator also loses diversity).",  # noqa: E501
    "Mode collapse: one GAN run on real data that keeps few modes.",
    "Overfitting: the same data fitted ever more closely while the held-out loss turns up.",
    "Healthy: nothing lost for good.",
)
def test_the_summary_restates_the_pool(pool):
    for i in pool.where("model collapse"):
        s = capstone.signs(pool.log(i))
        assert s["synthetic_share"] > 0 and (s["heldout_change"] >= 0.5 or s["diversity_change"] <= -0.2)
    for i in pool.where("healthy"):
        s = capstone.signs(pool.log(i))
        assert s["oldest_lost"] <= 0.15  # sampling noise of the generators' coverage, no lasting loss
        if s["synthetic_share"] > 0:
            assert s["heldout_change"] < 0.5 and s["diversity_change"] > -0.2
    fresh = signs_of(pool, "ring-fresh")  # real data in the mix slow it down
    assert np.median([s["diversity_change"] for s in fresh]) > np.median(
        [s["diversity_change"] for s in signs_of(pool, "ring-replace")]
    )  # noqa: E501
    assert all(s["diversity_end"] < 0.4 for s in (capstone.signs(pool.log(i)) for i in pool.where("mode collapse")))
    assert all(s["train_falling"] >= 0.8 for s in (capstone.signs(pool.log(i)) for i in pool.where("overfitting")))


@claim(
    "09",
    "so no single column gives the diagnosis; the combination of signals does",
    "Every failure has a hard variant, and some healthy runs look alarming (mostly synthetic data, dips while a new task is learned)",  # noqa: E501
    "A data-level monitor catches collapse before training: it passes held-out real text and fresh real numbers and flags collapsed generations by their lost diversity, rare words and tails",  # noqa: E501
    "**Diagnose before you fix.** A model that got worse may be overfitting, collapsing, mode-collapsed or forgetting, and one that looks alarming may be healthy (section 2)",  # noqa: E501
)
def test_the_summary_on_columns_and_the_monitor():
    found = rules(LESSON_CASES)
    assert max(s for _, s in found.values()) < reference_share(LESSON_CASES)
    reference, heldout = capstone.corpus_text()
    assert monitor.compare_text(reference, heldout).verdict == "ok"
    assert {"distinct-1", "rare-word survival"} <= set(text_run(1)["generation 10"].flagged)


@claim(
    "09",
    "**Keep and version the real data.** Never overwrite the original dataset; store it with a version and a checksum.",  # noqa: E501
    "Fresh real data every generation bound the drift at a level set by their share (lessons 02, 03 and 05); a small share can leave that level far down: with 10% fresh real data, 29 of the 40 ring mixtures run for this lesson's pool still collapsed within 15 generations (a held-out loss up by half, or a diversity down by a fifth).",  # noqa: E501
    "A real verifier is imperfect, and it only helps as far as it knows better than the model.",
    "**Mark provenance, and keep the marks.** Tag which examples are synthetic and which model made them",
    "Tags get lost when data are copied around; an audit of tags then tends to undercount (section 2).",
    "Prevention is mostly bookkeeping: keep real data, accumulate, verify with an outside judge, monitor, mark provenance.",  # noqa: E501
)
def test_the_checklist_habits(pool, tmp_path):
    from collapse_edu.categorical import simulate_categorical
    from collapse_edu.data import sha256_of

    checksum_file = tmp_path / "real.csv"  # the course's checksum of a stored file is the standard SHA-256
    checksum_file.write_bytes(b"x,y\n0.1,0.2\n")
    assert sha256_of(checksum_file) == hashlib.sha256(b"x,y\n0.1,0.2\n").hexdigest()
    replace = simulate_categorical(categories=20, n=100, generations=100, runs=200, seed=4)["surviving"][100]
    surviving, error_levels = {}, {}
    for share in (0.1, 0.5):  # "bound the drift at a level set by their share": two shares, two levels
        surviving[share] = simulate_categorical(
            categories=20, n=100, generations=100, runs=200, policy="fresh-real", real_fraction=share, seed=4
        )["surviving"]
        assert surviving[share][100].mean() > replace.mean() + 5  # fresh real data slow the drift
        # lesson 05's Gaussian loop: with fresh real data the squared error of the mean levels off
        mu = simulate_gaussian(n=100, generations=100, runs=400, policy="fresh-real", real_fraction=share, seed=5)["mu"]
        error = np.mean(mu**2, axis=1)
        assert error[100] < 1.2 * error[50]
        error_levels[share] = np.mean(error[50:])
    drift = simulate_gaussian(n=100, generations=100, runs=400, seed=5)["mu"] ** 2
    assert error_levels[0.1] < 0.1 * np.mean(drift[100])
    assert error_levels[0.5] < 0.5 * error_levels[0.1]  # a larger share, a level nearer the truth
    assert surviving[0.5][100].mean() > surviving[0.1][100].mean()
    # a verifier helps as far as it knows better: trained on 30, 300, 3000 real points (lesson 05's learned judge)
    for seed in range(1, 6):
        runs = curation.simulate_verifier_strength((30, 300, 3000), generations=15, runs=40, seed=seed)
        w2 = [np.mean((h["mu"] ** 2 + (h["sigma"] - 1) ** 2)[5:]) for h in runs.values()]
        assert w2[0] > w2[1] > w2[2]
    assert len(capstone.variant("ring-fresh").seeds) == 40 and len(pool.where("model collapse", "ring-fresh")) == 29
    assert len(pool.excluded["ring-fresh"]) == 11
    for s in signs_of(pool, "ring-fresh"):  # each of the 29 by the mark the sentence names
        assert s["heldout_change"] >= 0.5 or s["diversity_change"] <= -0.2
    shares = [capstone.tagged_share(0.9, seed) for seed in range(50)]
    assert max(shares) <= 0.9 and min(shares) < 0.5  # tags lost: the audit's expected share is below the truth


@claim(
    "09",
    "The near-duplicate rate has no bar: a fresh real sample repeats no sentence, so the ratio is undefined",
    "its row says n/a and gives the value",
)
def test_the_report_figure_leaves_out_the_undefined_ratio():
    reference, _ = capstone.corpus_text()
    corpus = ngram.load_corpus()
    run = ngram.simulate_ngram(corpus, order=2, generations=20, keep_models=True, seed=0)
    text = ngram.sample_sentences(run.history.models[20][0], 2000, 20).to_text(corpus.vocab)
    report = monitor.compare_text(reference, text)
    duplicates = report["near-duplicate rate"]
    assert duplicates.expected == 0.0
    fig = monitor.report_figure(report)
    (ax,) = fig.axes
    rows = [label.get_text() for label in ax.get_yticklabels()]
    bars = [patch for patch in ax.patches if patch.get_width() > 0]
    assert len(bars) == len(report.symptoms) - 1  # every symptom but the undefined ratio has a bar
    notes = [t.get_text() for t in ax.texts]
    assert notes == [f"n/a (value {duplicates.value:.2g}, expected 0)"]
    assert "next-token entropy" in rows and not any("bits" in row for row in rows)  # ratios have no unit
    table = figures.monitor_table_figure({"generation 20": report})
    assert not any("bits" in label.get_text() for label in table.axes[0].get_yticklabels())
    plt.close(fig), plt.close(table)
    out = checked_output("09", "text_reports.items()")
    assert out.splitlines()[-1].startswith("generation 20")


@claim(
    "09",
    "how much the outputs moved since the previous checkpoint, counted coarsely: how far the shares of outputs in a few fixed cells changed (total variation; 0 = the same shares, 1 = none in common)",  # noqa: E501
    "The cells are 10 bands of predicted value for the curve fit, the nearest of the 8 real modes for the generators, the predicted class for the classifier: a move within a cell does not count",  # noqa: E501
)
def test_output_shift_counts_moves_between_cells_only():
    assert "_histogram(np.searchsorted(edges, pred), 10)" in inspect.getsource(capstone._curve_log)
    assert "nearest_mode(out, target.modes)" in inspect.getsource(capstone._ring_columns)
    assert "argmax(1)" in inspect.getsource(capstone._digit_columns)
    same, moved, swapped = np.array([0.5, 0.5, 0, 0]), np.array([0.25, 0.75, 0, 0]), np.array([0, 0, 0.5, 0.5])
    assert list(capstone._shifts(np.array([same, same, moved, swapped]))) == [0.0, 0.0, 0.25, 1.0]
    from collapse_edu.gan_metrics import nearest_mode

    target = capstone.ring_target()
    rng = np.random.default_rng(0)
    on_mode = target.modes[0] + 0.05 * rng.standard_normal((200, 2))
    spread = target.modes[0] + 0.4 * rng.standard_normal((200, 2))  # off the mode, mostly still nearest to it
    cells = [capstone._histogram(nearest_mode(out, target.modes)[0], target.n_modes) for out in (on_mode, spread)]
    assert capstone._shifts(np.array(cells))[1] < 0.1  # a big move within the cell barely registers
