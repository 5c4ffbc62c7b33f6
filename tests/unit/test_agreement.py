"""assay.metrics.agreement: per-task and pairwise agreement, Cohen's / Fleiss' kappa and
Krippendorff's alpha against statsmodels, the krippendorff package and published examples."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

from assay.geometry import polygon_iou_matrix
from assay.metrics import (
    agreement_matrix,
    category_counts,
    cohen_kappa_matrix,
    cohen_kappa_score,
    fleiss_kappa_score,
    krippendorff_alpha_score,
    region_reliability_data,
    reliability_matrix,
    task_agreement_matrix,
    task_agreement_score,
)

# -- Cohen's kappa ------------------------------------------------------------------------------


def test_cohen_kappa_matches_statsmodels_on_random_ratings() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        c = int(rng.integers(2, 6))
        n = int(rng.integers(5, 200))
        a = rng.integers(0, c, n).astype(float)
        b = np.where(rng.random(n) < 0.6, a, rng.integers(0, c, n)).astype(float)
        a[rng.random(n) < 0.1] = np.nan  # missing ratings are left out
        both = ~np.isnan(a)
        table = np.zeros((c, c))
        np.add.at(table, (a[both].astype(int), b[both].astype(int)), 1)
        # statsmodels wants a square table over the categories actually used
        used = np.flatnonzero(table.sum(0) + table.sum(1))
        want = cohens_kappa(table[np.ix_(used, used)]).kappa
        assert cohen_kappa_score(a, b) == pytest.approx(want, abs=1e-12)


def test_cohen_kappa_hand_computed_and_degenerate() -> None:
    # 2x2 table [[20, 5], [10, 15]]: p_o = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5 -> 0.4
    a = [0] * 25 + [1] * 25
    b = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    assert cohen_kappa_score(a, b) == pytest.approx(0.4)
    assert np.isnan(cohen_kappa_score([1, 1, 1], [1, 1, 1]))  # one category: undefined
    assert np.isnan(cohen_kappa_score([None, 1], [2, None]))  # nothing shared
    assert cohen_kappa_score(a, a) == 1.0


def test_cohen_kappa_matrix() -> None:
    data = np.array([[0, 1, 1, 0, np.nan], [0, 1, 0, 0, 1], [1, 0, 0, 1, 1]], dtype=float)
    k = cohen_kappa_matrix(data)
    assert k.shape == (3, 3) and np.isnan(np.diag(k)).all()
    np.testing.assert_allclose(k, k.T, equal_nan=True)
    assert k[0, 1] == pytest.approx(cohen_kappa_score(data[0], data[1]))
    assert k[0, 2] == pytest.approx(-1.0)


# -- Fleiss' kappa ------------------------------------------------------------------------------


def test_fleiss_kappa_published_example() -> None:
    # Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories -> 0.210
    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa_score(table) == pytest.approx(0.20993, abs=5e-5)
    assert fleiss_kappa_score(table) == pytest.approx(
        fleiss_kappa(table, method="fleiss"), abs=1e-12
    )


def test_fleiss_kappa_matches_statsmodels_on_random_tables() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        units, cats, raters = (
            int(rng.integers(3, 60)),
            int(rng.integers(2, 6)),
            int(rng.integers(2, 9)),
        )
        ratings = rng.integers(0, cats, (units, raters))
        data = ratings.T.astype(float)  # (raters, units)
        table, _ = category_counts(data)
        assert table.sum(axis=1).tolist() == [raters] * units
        assert fleiss_kappa_score(table) == pytest.approx(
            fleiss_kappa(table, method="fleiss"), abs=1e-12
        )


def test_fleiss_kappa_degenerate() -> None:
    assert np.isnan(fleiss_kappa_score([[3, 0], [2, 0]]))  # one category used
    assert np.isnan(fleiss_kappa_score([[1, 0], [0, 1]]))  # no unit rated twice
    with pytest.raises(ValueError, match="non-negative counts"):
        fleiss_kappa_score([[-1, 2]])


# -- Krippendorff's alpha -----------------------------------------------------------------------


def test_krippendorff_alpha_published_example() -> None:
    # Krippendorff's reliability data example (3 coders, 15 units, nan = missing), as in the
    # `krippendorff` package documentation
    text = (
        "*    *    *    *    *    3    4    1    2    1    1    3    3    *    3",
        "1    *    2    1    3    3    4    3    *    *    *    *    *    *    *",
        "*    *    2    1    3    4    4    *    2    1    1    3    3    *    4",
    )
    data = np.array([[np.nan if v == "*" else float(v) for v in row.split()] for row in text])
    want = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert want == pytest.approx(0.691, abs=1e-3)
    assert krippendorff_alpha_score(data) == pytest.approx(want, abs=1e-12)


def test_krippendorff_alpha_matches_package_on_random_data() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        raters, units, cats = (
            int(rng.integers(2, 7)),
            int(rng.integers(4, 80)),
            int(rng.integers(2, 6)),
        )
        truth = rng.integers(0, cats, units)
        data = np.where(
            rng.random((raters, units)) < 0.7, truth, rng.integers(0, cats, (raters, units))
        ).astype(float)
        data[rng.random((raters, units)) < 0.25] = np.nan
        if len(np.unique(data[~np.isnan(data)])) < 2 or ((~np.isnan(data)).sum(0) >= 2).sum() == 0:
            continue
        want = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert krippendorff_alpha_score(data) == pytest.approx(want, abs=1e-10)


def test_krippendorff_alpha_degenerate() -> None:
    assert np.isnan(krippendorff_alpha_score([[1, 1], [1, 1]]))
    assert krippendorff_alpha_score([[0, 1, 2], [0, 1, 2]]) == 1.0
    assert np.isnan(krippendorff_alpha_score([[0, np.nan], [np.nan, 1]]))  # nothing pairable


def test_reliability_matrix_from_triples() -> None:
    data = reliability_matrix([0, 1, 1, 2], [0, 0, 2, 1], [5, 5, 7, 6], n_raters=3, n_units=3)
    np.testing.assert_array_equal(data, [[5, np.nan, np.nan], [5, np.nan, 7], [np.nan, 6, np.nan]])
    with pytest.raises(ValueError, match="more than one value"):
        reliability_matrix([0, 0], [1, 1], [1, 2], n_raters=1, n_units=2)


# -- region agreement ----------------------------------------------------------------------------


def test_task_agreement_matrix_and_score() -> None:
    a = np.array([[0, 0, 10, 10], [20, 0, 30, 10]])
    b = np.array([[0, 0, 10, 10], [20, 0, 30, 10]])
    c = np.array([[0, 0, 10, 10]])
    mat = task_agreement_matrix([a, b, c], [["car", "bus"], ["car", "bus"], ["car"]])
    # a vs b identical: 1; a vs c: TP 1, FN 1 -> 1/2; b vs c likewise
    np.testing.assert_allclose(mat, [[np.nan, 1, 0.5], [1, np.nan, 0.5], [0.5, 0.5, np.nan]])
    assert task_agreement_score(mat) == pytest.approx(2 / 3)
    assert np.isnan(task_agreement_score(task_agreement_matrix([a], [["car", "bus"]])))


def test_task_agreement_matrix_with_polygons() -> None:
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
    mat = task_agreement_matrix(
        [[square], [square + 1], [square + 8]], [["a"], ["a"], ["a"]], polygon_iou_matrix
    )
    assert mat[0, 1] == 1.0 and mat[0, 2] == 0.0


def test_agreement_matrix_over_shared_tasks() -> None:
    # three tasks; pairs (0,1) twice, (1,2) once, (2,0) once given the other way round
    mean, shared = agreement_matrix([0, 1, 1, 2], [1, 0, 2, 0], [1.0, 0.5, 0.25, 0.4], n_raters=4)
    assert shared.tolist() == [[0, 2, 1, 0], [2, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
    assert mean[0, 1] == mean[1, 0] == 0.75
    assert mean[0, 2] == 0.4 and mean[1, 2] == 0.25
    assert np.isnan(mean[3]).all() and np.isnan(np.diag(mean)).all()
    with pytest.raises(ValueError, match="two different raters"):
        agreement_matrix([1], [1], [1.0], n_raters=2)


def test_region_reliability_data_clusters_regions_across_annotators() -> None:
    # three annotators, one task, two objects; annotator 2 calls object A "bus" and misses B
    boxes = [
        np.array([[0, 0, 10, 10], [50, 50, 70, 70]]),
        np.array([[51, 50, 71, 70], [0, 0, 10, 11], [200, 200, 210, 210]]),
        np.array([[1, 0, 11, 10]]),
    ]
    labels = [[0, 1], [1, 0, 0], [2]]  # 0 car, 1 truck, 2 bus
    data = region_reliability_data(boxes, labels)
    # clusters: A (first car), B (truck), C (annotator 1's extra car)
    np.testing.assert_array_equal(data, [[0, 1, np.nan], [0, 1, 0], [2, np.nan, np.nan]])
    with_absent = region_reliability_data(boxes, labels, absent=-1)
    np.testing.assert_array_equal(with_absent, [[0, 1, -1], [0, 1, 0], [2, -1, -1]])
    # alpha over these units agrees with the package
    want = krippendorff.alpha(reliability_data=with_absent, level_of_measurement="nominal")
    assert krippendorff_alpha_score(with_absent) == pytest.approx(want, abs=1e-12)


def test_region_reliability_data_with_empty_annotators() -> None:
    empty = np.zeros((0, 4))
    data = region_reliability_data([empty, np.array([[0, 0, 5, 5]]), empty], [[], [3], []])
    np.testing.assert_array_equal(data, [[np.nan], [3], [np.nan]])
    assert region_reliability_data([empty, empty], [[], []]).shape == (2, 0)
