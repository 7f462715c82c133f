"""Precision and recall of generative models (Kynkaanniemi et al. 2019) on cases with known answers, and the
other measures of :mod:`collapse_edu.metrics` (entropy, surviving categories, heterozygosity, distinct-n)."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_edu.metrics import (
    distinct_n,
    entropy,
    heterozygosity,
    knn_radii,
    manifold_share,
    pairwise_distances,
    precision_recall,
    surviving,
)


def line(values) -> np.ndarray:
    return np.asarray(values, float)[:, None]


def test_knn_radii_on_a_line():
    points = line([0, 1, 3, 6, 10])
    assert np.allclose(knn_radii(points, 1), [1, 1, 2, 3, 4])
    assert np.allclose(knn_radii(points, 2), [3, 2, 3, 4, 7])
    with pytest.raises(ValueError, match="k = 5"):
        knn_radii(points, 5)


def test_manifold_share_counts_points_inside_the_union_of_balls():
    reference = line([0, 1, 3, 6, 10])  # k = 1 balls: [-1, 1], [0, 2], [1, 5], [3, 9], [6, 14]
    query = line([-1.0, -1.01, 5.5, 14.0, 14.5, 20.0])
    assert manifold_share(reference, query, 1) == pytest.approx(3 / 6)


def test_identical_sets_score_one_and_far_sets_zero():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((200, 5))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_a_generator_that_covers_half_the_data():
    """Real points on two far clusters; generated points are copies of one cluster: every generated
    point is a real one (precision 1), half of the real points are covered (recall 1/2)."""
    rng = np.random.default_rng(1)
    left = rng.standard_normal((100, 2))
    real = np.concatenate([left, left + 50.0])
    generated = np.concatenate([left, left])
    precision, recall = precision_recall(real, generated, k=3)
    assert precision == 1.0 and recall == pytest.approx(0.5)


def test_a_collapsed_generator_has_precision_but_no_recall():
    rng = np.random.default_rng(2)
    real = rng.standard_normal((300, 3))
    collapsed = np.zeros((300, 3)) + 1e-6 * rng.standard_normal((300, 3))  # every sample at the mode
    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.02
    overdispersed = 4.0 * rng.standard_normal((300, 3))  # too much variety: recall high, precision low
    precision, recall = precision_recall(real, overdispersed)
    assert precision < 0.5 < recall


def test_pairwise_distances_and_bad_shapes():
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(pairwise_distances(a, a), [[0, 5], [5, 0]])
    with pytest.raises(ValueError, match="points must be"):
        pairwise_distances(a, np.zeros((2, 3)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_points_are_refused_by_name(bad):
    """Before: a nan point scored (0.0, 0.0), a plausible answer given without a word."""
    rng = np.random.default_rng(3)
    real, generated = rng.standard_normal((50, 2)), rng.standard_normal((50, 2))
    broken = real.copy()
    broken[4, 1] = bad
    message = r"must be finite, got 1 nan or infinite value\(s\) among 100$"
    with pytest.raises(ValueError, match="^real " + message):
        precision_recall(broken, generated)
    with pytest.raises(ValueError, match="^generated " + message):
        precision_recall(real, broken)
    with pytest.raises(ValueError, match="^reference " + message):
        manifold_share(broken, generated)
    with pytest.raises(ValueError, match="^query " + message):
        manifold_share(real, broken)
    with pytest.raises(ValueError, match="^points " + message):
        knn_radii(broken)


def test_manifold_share_refuses_an_empty_query_and_mismatched_columns():
    """Before: an empty query gave nan with numpy's 'Mean of empty slice' warnings."""
    reference = line([0, 1, 3, 6, 10])
    with pytest.raises(ValueError, match=r"^query must be a non-empty \(m, p\) array of points, got shape \(0, 1\)$"):
        manifold_share(reference, np.zeros((0, 1)))
    with pytest.raises(ValueError, match=r"^query must have reference's 1 columns, got shape \(3, 2\)$"):
        manifold_share(reference, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^generated must be an \(m, p\) array with m > k = 3, got shape \(2, 1\)$"):
        precision_recall(reference, line([0, 1]))
    with pytest.raises(TypeError, match="^real must be an array of numbers"):
        precision_recall("abc", reference)


# --------------------------------------------------------------------------- the shared diversity measures


def test_entropy_in_bits_nats_and_any_base() -> None:
    """H of a uniform law over K outcomes is log_base K: 2 bits for 4, ln 4 nats, 1 in base 4; a point mass has 0."""
    uniform = np.full(4, 0.25)
    assert entropy(uniform) == pytest.approx(2.0)
    assert entropy(uniform, base=np.e) == pytest.approx(np.log(4.0))
    assert entropy(uniform, base=4.0) == pytest.approx(1.0)
    assert entropy(np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]), axis=1).tolist() == pytest.approx([1.0, 0.0])
    assert entropy(np.array([0.25, 0.75])) == pytest.approx(-(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75)))


def test_surviving_counts_every_category_seen_at_least_once() -> None:
    """A count of 1 is a surviving category as much as a count of 50; only 0 is lost."""
    counts = np.array([[1, 0, 3, 1], [0, 0, 50, 0]])
    assert surviving(counts, axis=1).tolist() == [3, 1]
    assert surviving(counts, axis=0).tolist() == [1, 0, 2, 1]


def test_heterozygosity_is_the_chance_two_draws_differ() -> None:
    """1 - sum p^2: 1 - 1/K for K equal categories; for (0.5, 0.3, 0.2) the pairs that differ,
    counted by brute force over ordered pairs."""
    assert heterozygosity(np.full(5, 0.2)) == pytest.approx(0.8)
    p = np.array([0.5, 0.3, 0.2])
    differ = sum(p[i] * p[j] for i in range(3) for j in range(3) if i != j)
    assert heterozygosity(p) == pytest.approx(differ)


def test_distinct_n_counts_different_n_grams_over_all_n_grams() -> None:
    """tokens 1 2 1 2 3: unigrams {1, 2, 3} of 5, bigrams {12, 21, 23} of 4, trigrams {121, 212, 123}
    of 3; a sequence exactly n long has one n-gram, a shorter one none."""
    tokens = np.array([1, 2, 1, 2, 3])
    assert distinct_n(tokens, 1) == pytest.approx(3 / 5)
    assert distinct_n(tokens, 2) == pytest.approx(3 / 4)
    assert distinct_n(tokens, 3) == pytest.approx(1.0)
    assert distinct_n(np.array([2, 1, 2, 1]), 2) == pytest.approx(2 / 3)  # 21 12 21: not the 2 distinct ids
    assert distinct_n(np.array([7, 8]), 2) == 1.0
    assert distinct_n(np.array([7]), 2) == 0.0
