"""Agreement between annotators: per task, per annotator pair, and chance-corrected
statistics (Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, nominal).

Reliability data follows the `krippendorff` package's layout: an (R, U) float array, one row
per rater (annotator), one column per unit (a task for task-level classes, a matched region
cluster for regions), holding category codes and nan where the rater gave no value. Label
names become codes with `assay.metrics.encode_labels`; None in the input also reads as nan.
Chance-corrected statistics are nan when chance agreement is total (a single category), and
units with fewer than two values carry no information and are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.geometry.boxes import iou_matrix
from assay.geometry.types import FloatArray, IntArray
from assay.metrics.matching import MatchMethod, match_regions
from assay.metrics.scores import count_matches

__all__ = [
    "agreement_matrix",
    "category_counts",
    "cohen_kappa_matrix",
    "cohen_kappa_score",
    "fleiss_kappa_score",
    "krippendorff_alpha_score",
    "region_reliability_data",
    "reliability_matrix",
    "task_agreement_matrix",
    "task_agreement_score",
]

IouFunction = Callable[[Any, Any], FloatArray]


def task_agreement_matrix(
    regions: Sequence[Any],
    labels: Sequence[npt.ArrayLike],
    iou: IouFunction = iou_matrix,
    *,
    threshold: float = 0.5,
    method: MatchMethod = "hungarian",
    label_aware: bool = True,
) -> FloatArray:
    """Pairwise accuracy between K annotators' region sets of one task: (K, K) float64.

    regions: K region sets in whatever form `iou` takes (default: (N_k, 4) xyxy boxes in
    pixels; pass `polygon_iou_matrix`, `rotated_iou_matrix`, ... for other shapes).
    labels: K label arrays. Entry [i, j] is the accuracy TP / (TP + FP + FN) of annotator j
    against annotator i as ground truth (symmetric for Hungarian matching); the diagonal is
    nan. Two empty sets agree fully (1.0).

    >>> a = np.array([[0, 0, 10, 10]]); b = np.array([[1, 0, 11, 10]])
    >>> task_agreement_matrix([a, b, b[:0]], [["car"], ["car"], []]).round(3).tolist()
    [[nan, 1.0, 0.0], [1.0, nan, 0.0], [0.0, 0.0, nan]]
    """
    k = len(regions)
    if len(labels) != k:
        raise ValueError(f"got {k} region sets but {len(labels)} label arrays")
    out = np.full((k, k), np.nan)
    for i in range(k):  # loop over annotator pairs, each one vectorised matching
        for j in range(i + 1, k):
            m = match_regions(
                iou(regions[i], regions[j]),
                labels[i],
                labels[j],
                threshold=threshold,
                method=method,
                label_aware=label_aware,
            )
            out[i, j] = out[j, i] = count_matches(m, labels[i], labels[j]).accuracy
    return out


def task_agreement_score(matrix: npt.ArrayLike) -> float:
    """A task's agreement: the mean over annotator pairs (upper triangle) of a
    `task_agreement_matrix`; nan with fewer than two annotators."""
    mat = np.asarray(matrix, dtype=np.float64)
    iu = np.triu_indices(len(mat), k=1)
    return float(mat[iu].mean()) if len(iu[0]) else float("nan")


def agreement_matrix(
    rater_a: npt.ArrayLike, rater_b: npt.ArrayLike, values: npt.ArrayLike, n_raters: int
) -> tuple[FloatArray, IntArray]:
    """Annotator x annotator agreement over shared tasks.

    rater_a, rater_b: (P,) int rater codes of P (task, pair) observations; values: (P,) the
    pair's agreement on that task (e.g. an entry of `task_agreement_matrix`).
    Returns (mean (R, R) float64, shared (R, R) int64): the mean value over the tasks the two
    annotators share, nan where they share none (and on the diagonal), and the number of
    shared tasks. Symmetric whichever way round each pair is given.

    >>> mean, shared = agreement_matrix([0, 0, 1], [1, 1, 2], [1.0, 0.5, 0.2], n_raters=3)
    >>> mean.round(2).tolist(), shared.tolist()
    ([[nan, 0.75, nan], [0.75, nan, 0.2], [nan, 0.2, nan]], [[0, 2, 0], [2, 0, 1], [0, 1, 0]])
    """
    a = np.asarray(rater_a, dtype=np.int64)
    b = np.asarray(rater_b, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    if not (a.shape == b.shape == v.shape) or a.ndim != 1:
        raise ValueError("rater_a, rater_b and values must be 1-D of one length")
    if (a == b).any():
        raise ValueError("a pair must name two different raters")
    keep = ~np.isnan(v)
    a, b, v = a[keep], b[keep], v[keep]
    idx = np.concatenate([a * n_raters + b, b * n_raters + a])
    size = n_raters * n_raters
    shared = np.bincount(idx, minlength=size).reshape(n_raters, n_raters)
    total = np.bincount(idx, weights=np.concatenate([v, v]), minlength=size)
    mean = np.full(size, np.nan)
    np.divide(total, shared.reshape(-1), out=mean, where=shared.reshape(-1) > 0)
    return mean.reshape(n_raters, n_raters), shared.astype(np.int64)


def reliability_matrix(
    rater: npt.ArrayLike,
    unit: npt.ArrayLike,
    value: npt.ArrayLike,
    n_raters: int,
    n_units: int,
) -> FloatArray:
    """(R, U) reliability data from (rater, unit, value) triples (e.g. task-level choices);
    nan where a rater gave no value. Raises ValueError if a rater rates a unit twice."""
    r = np.asarray(rater, dtype=np.int64)
    u = np.asarray(unit, dtype=np.int64)
    v = np.asarray(value, dtype=np.float64)
    flat = r * n_units + u
    if len(np.unique(flat)) != len(flat):
        raise ValueError("a rater has more than one value for a unit")
    out = np.full(n_raters * n_units, np.nan)
    out[flat] = v
    return out.reshape(n_raters, n_units)


def category_counts(data: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(R, U) reliability data -> ((U, C) counts of each category per unit, (C,) categories).

    This (units x categories) table is what Fleiss' kappa and statsmodels take.
    """
    d = _reliability(data)
    present = ~np.isnan(d)
    cats, inverse = np.unique(d[present], return_inverse=True)
    units = np.nonzero(present)[1]
    table = np.zeros((d.shape[1], len(cats)))
    np.add.at(table, (units, inverse.reshape(-1)), 1.0)
    return table, cats


def cohen_kappa_score(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Cohen's kappa of two raters' category codes (U,) over the units both rated.

    kappa = (p_o - p_e) / (1 - p_e), p_o the observed share of agreement, p_e the agreement
    expected from each rater's own category shares. nan if no unit is shared or p_e = 1.

    >>> cohen_kappa_score([0, 0, 1, 1, None], [0, 1, 1, 1, 0])
    0.5
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a and b must be 1-D of one length, got {x.shape}, {y.shape}")
    both = ~np.isnan(x) & ~np.isnan(y)
    x, y = x[both], y[both]
    if not len(x):
        return float("nan")
    cats, inv = np.unique(np.concatenate([x, y]), return_inverse=True)
    c = len(cats)
    ix, iy = inv[: len(x)], inv[len(x) :]
    table = np.bincount(ix * c + iy, minlength=c * c).reshape(c, c).astype(np.float64)
    n = table.sum()
    p_o = np.trace(table) / n
    p_e = float(table.sum(axis=1) @ table.sum(axis=0)) / (n * n)
    if p_e >= 1.0:
        return float("nan")
    return float((p_o - p_e) / (1.0 - p_e))


def cohen_kappa_matrix(data: npt.ArrayLike) -> FloatArray:
    """(R, R) Cohen's kappa of every pair of raters of (R, U) reliability data; nan diagonal."""
    d = _reliability(data)
    r = len(d)
    out = np.full((r, r), np.nan)
    for i in range(r):  # loop over rater pairs; each kappa is vectorised over units
        for j in range(i + 1, r):
            out[i, j] = out[j, i] = cohen_kappa_score(d[i], d[j])
    return out


def fleiss_kappa_score(table: npt.ArrayLike) -> float:
    """Fleiss' kappa from a (U, C) table of how many raters put unit u in category c.

    P_u = (sum_c n_uc^2 - n_u) / (n_u (n_u - 1)), P = mean_u P_u,
    p_c = sum_u n_uc / sum_u n_u, P_e = sum_c p_c^2, kappa = (P - P_e) / (1 - P_e).
    Units may have different numbers of ratings n_u (units with fewer than 2 are left out);
    with a constant n this is exactly Fleiss (1971) and statsmodels' fleiss_kappa.
    nan if no unit has two ratings or P_e = 1.

    >>> round(fleiss_kappa_score([[3, 0], [0, 3], [2, 1]]), 4)
    0.55
    """
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or (t < 0).any():
        raise ValueError(f"table must be (U, C) non-negative counts, got shape {t.shape}")
    n_u = t.sum(axis=1)
    t, n_u = t[n_u >= 2], n_u[n_u >= 2]
    if not len(t):
        return float("nan")
    p_unit = ((t * t).sum(axis=1) - n_u) / (n_u * (n_u - 1))
    p_bar = p_unit.mean()
    p_cat = t.sum(axis=0) / n_u.sum()
    p_e = float((p_cat * p_cat).sum())
    if p_e >= 1.0:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def krippendorff_alpha_score(data: npt.ArrayLike) -> float:
    """Krippendorff's alpha, nominal, of (R, U) reliability data with nan for missing.

    With the coincidence matrix o_ck = sum_u (pairs of values c, k in unit u) / (m_u - 1) over
    units with m_u >= 2 values, n_c = sum_k o_ck and n = sum_c n_c:
    alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k. nan if one category only.

    >>> round(krippendorff_alpha_score([[0, 0, 1, 1], [0, 0, 1, 0]]), 4)
    0.5333
    """
    table, _ = category_counts(data)
    m_u = table.sum(axis=1)
    keep = m_u >= 2
    t, m = table[keep], m_u[keep]
    if not len(t):
        return float("nan")
    weighted = t / (m - 1)[:, None]
    o = weighted.T @ t - np.diag(weighted.sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    expected = n * n - float((n_c * n_c).sum())  # sum over c != k of n_c n_k
    if expected <= 0:
        return float("nan")
    observed = n - np.trace(o)  # sum over c != k of o_ck
    return float(1.0 - (n - 1.0) * observed / expected)


def region_reliability_data(
    regions: Sequence[Any],
    labels: Sequence[npt.ArrayLike],
    iou: IouFunction = iou_matrix,
    *,
    threshold: float = 0.5,
    absent: float | None = None,
) -> FloatArray:
    """Reliability data (R, U) for the regions R annotators drew on one task.

    Regions are clustered across annotators: annotator 0's regions start the clusters; each
    next annotator's regions are matched (Hungarian, across labels, IoU >= threshold) to the
    clusters by their mean IoU with the cluster's members, and the unmatched ones start new
    clusters. Each cluster is a unit; entry [r, u] is annotator r's label code in cluster u.
    Where annotator r has no region in the cluster the entry is nan (missing: only the label
    is judged), or `absent` (a category code of its own, so that drawing a region or not also
    counts as agreement or disagreement). Concatenate columns of several tasks to judge a
    whole job or project.

    >>> boxes = [np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 9], [50, 50, 60, 60]])]
    >>> region_reliability_data(boxes, [[0], [1, 0]]).tolist()
    [[0.0, nan], [1.0, 0.0]]
    """
    r = len(regions)
    if len(labels) != r:
        raise ValueError(f"got {r} region sets but {len(labels)} label arrays")
    labs = [np.asarray(lab, dtype=np.float64).reshape(-1) for lab in labels]
    owner_rater: list[IntArray] = []  # per rater: the cluster of each of its regions
    n_clusters = 0
    for j in range(r):
        nj = len(labs[j])
        if n_clusters and nj:
            sums = np.zeros((n_clusters, nj))
            sizes = np.zeros(n_clusters)
            for q in range(j):  # loop over earlier raters, vectorised over their regions
                if len(labs[q]):
                    np.add.at(sums, owner_rater[q], iou(regions[q], regions[j]))
                    np.add.at(sizes, owner_rater[q], 1.0)
            sim = sums / np.maximum(sizes, 1.0)[:, None]
            m = match_regions(sim, threshold=threshold)
            clusters = np.full(nj, -1, dtype=np.int64)
            clusters[m.pred_idx] = m.gt_idx
        else:
            clusters = np.full(nj, -1, dtype=np.int64)
        new = clusters < 0
        clusters[new] = n_clusters + np.arange(int(new.sum()))
        n_clusters += int(new.sum())
        owner_rater.append(clusters)
    fill = np.nan if absent is None else float(absent)
    out = np.full((r, n_clusters), fill)
    for j in range(r):
        out[j, owner_rater[j]] = labs[j]
    return out


def _reliability(data: npt.ArrayLike) -> FloatArray:
    d = np.asarray(data, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"reliability data must be (raters, units), got shape {d.shape}")
    return d
