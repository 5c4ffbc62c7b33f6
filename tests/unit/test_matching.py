"""assay.metrics.matching: Hungarian and greedy matching, one task and batched, against
brute-force and sequential reference implementations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.geometry import iou_matrix, pad_ragged
from assay.metrics import BatchMatching, Matching, match_batch, match_regions


def _check_valid(m: Matching, iou: np.ndarray, gl, pl, threshold: float, label_aware: bool) -> None:
    n, k = iou.shape
    assert len(set(m.gt_idx.tolist())) == len(m.gt_idx)  # no GT matched twice
    assert len(set(m.pred_idx.tolist())) == len(m.pred_idx)  # no prediction matched twice
    assert sorted([*m.gt_idx.tolist(), *m.unmatched_gt.tolist()]) == list(range(n))
    assert sorted([*m.pred_idx.tolist(), *m.unmatched_pred.tolist()]) == list(range(k))
    np.testing.assert_array_equal(m.iou, iou[m.gt_idx, m.pred_idx])
    assert (m.iou >= threshold).all() and (m.iou > 0).all()
    if label_aware:
        assert (np.asarray(gl)[m.gt_idx] == np.asarray(pl)[m.pred_idx]).all()


def _brute_force_best(iou: np.ndarray, gl, pl, threshold: float, label_aware: bool) -> tuple:
    """The lexicographic optimum (pairs, same-label pairs, total IoU) over all matchings."""
    n, m = iou.shape
    gl, pl = np.asarray(gl), np.asarray(pl)
    cand = [
        (i, j)
        for i in range(n)
        for j in range(m)
        if iou[i, j] >= threshold and iou[i, j] > 0 and (not label_aware or gl[i] == pl[j])
    ]
    best = (0, 0, 0.0)
    for r in range(1, min(n, m) + 1):
        for pairs in itertools.combinations(cand, r):
            if len({i for i, _ in pairs}) < r or len({j for _, j in pairs}) < r:
                continue
            key = (r, sum(gl[i] == pl[j] for i, j in pairs), sum(iou[i, j] for i, j in pairs))
            if key[:2] > best[:2] or (key[:2] == best[:2] and key[2] > best[2]):
                best = key
    return best


def _sequential_greedy(iou, gl, pl, threshold, label_aware, scores) -> dict[int, int]:
    """Reference: sort candidate pairs by (score desc, same label, IoU desc, pred, gt) and take
    each whose regions are both free, one by one."""
    n, m = iou.shape
    sc = np.zeros(m) if scores is None else np.nan_to_num(np.asarray(scores, float), nan=-np.inf)
    pairs = []
    for i in range(n):
        for j in range(m):
            same = gl[i] == pl[j]
            if iou[i, j] >= threshold and iou[i, j] > 0 and (same or not label_aware):
                pairs.append((-sc[j], not same, -iou[i, j], j, i))
    taken_g, taken_p, out = set(), set(), {}
    for *_, j, i in sorted(pairs):
        if i not in taken_g and j not in taken_p:
            taken_g.add(i)
            taken_p.add(j)
            out[i] = j
    return out


@st.composite
def problems(draw: st.DrawFn, max_n: int = 5, max_m: int = 5):
    n = draw(st.integers(0, max_n))
    m = draw(st.integers(0, max_m))
    # IoU values from a small grid so that ties happen
    vals = draw(
        st.lists(
            st.sampled_from([0.0, 0.0, 0.3, 0.5, 0.55, 0.6, 0.75, 0.9, 1.0]),
            min_size=n * m,
            max_size=n * m,
        )
    )
    iou = np.array(vals, dtype=float).reshape(n, m)
    gl = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    pl = np.array(draw(st.lists(st.integers(0, 2), min_size=m, max_size=m)), dtype=np.int64)
    scores = draw(
        st.none() | st.lists(st.sampled_from([0.1, 0.5, 0.9, float("nan")]), min_size=m, max_size=m)
    )
    return iou, gl, pl, scores


# -- golden cases -----------------------------------------------------------------------------


def test_hungarian_prefers_more_matches_over_higher_total_iou() -> None:
    # gt0 fits pred0 almost perfectly, but taking it leaves gt1 unmatched
    iou = np.array([[0.99, 0.5], [0.5, 0.0]])
    m = match_regions(iou)
    assert m.gt_idx.tolist() == [0, 1] and m.pred_idx.tolist() == [1, 0]
    # greedy (highest IoU first) takes the 0.99 pair and misses one
    g = match_regions(iou, method="greedy")
    assert g.gt_idx.tolist() == [0] and g.pred_idx.tolist() == [0]
    assert g.unmatched_gt.tolist() == [1] and g.unmatched_pred.tolist() == [1]


def test_hungarian_breaks_ties_by_total_iou() -> None:
    iou = np.array([[0.9, 0.6], [0.6, 0.7]])
    m = match_regions(iou)
    assert m.pred_idx.tolist() == [0, 1]
    np.testing.assert_array_equal(m.iou, [0.9, 0.7])


def test_threshold_is_inclusive_and_zero_never_matches() -> None:
    iou = np.array([[0.5, 0.0], [0.0, 0.4999]])
    assert match_regions(iou).gt_idx.tolist() == [0]
    assert match_regions(iou, threshold=0.0).gt_idx.tolist() == [0, 1]
    assert match_regions(np.zeros((2, 2)), threshold=0.0).n_matched == 0


def test_label_aware_and_unaware() -> None:
    iou = np.array([[0.9, 0.0], [0.0, 0.8]])
    gl, pl = ["car", "bus"], ["car", "truck"]
    aware = match_regions(iou, gl, pl)
    assert aware.gt_idx.tolist() == [0] and aware.unmatched_gt.tolist() == [1]
    assert aware.unmatched_pred.tolist() == [1]
    unaware = match_regions(iou, gl, pl, label_aware=False)
    assert unaware.gt_idx.tolist() == [0, 1] and unaware.pred_idx.tolist() == [0, 1]


def test_label_unaware_prefers_same_label_over_iou() -> None:
    # gt "cat" overlaps a "dog" more than a "cat"; across labels the cat still wins
    iou = np.array([[0.6, 0.9]])
    for method in ("hungarian", "greedy"):
        m = match_regions(iou, ["cat"], ["cat", "dog"], label_aware=False, method=method)
        assert m.pred_idx.tolist() == [0], method


def test_greedy_follows_scores_like_coco() -> None:
    # the confident detection takes the GT it overlaps best, even if that starves another
    iou = np.array([[0.9, 0.6], [0.7, 0.0]])
    m = match_regions(iou, method="greedy", scores=[0.2, 0.95])
    assert dict(zip(m.gt_idx.tolist(), m.pred_idx.tolist(), strict=True)) == {0: 1, 1: 0}
    m = match_regions(iou, method="greedy", scores=[0.95, 0.2])
    assert dict(zip(m.gt_idx.tolist(), m.pred_idx.tolist(), strict=True)) == {0: 0}


def test_empty_sides() -> None:
    for n, m in [(0, 0), (0, 3), (2, 0)]:
        for method in ("hungarian", "greedy"):
            r = match_regions(np.zeros((n, m)), method=method)
            assert r.n_matched == 0 and r.n_gt == n and r.n_pred == m
            assert r.unmatched_gt.tolist() == list(range(n))
            assert r.unmatched_pred.tolist() == list(range(m))


def test_matching_arrays_are_read_only_and_inverse_maps() -> None:
    m = match_regions(np.array([[0.0, 0.9], [0.0, 0.0]]))
    with pytest.raises(ValueError):
        m.gt_idx[0] = 1
    assert m.pred_for_gt().tolist() == [1, -1]
    assert m.gt_for_pred().tolist() == [-1, 0]


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        match_regions(np.zeros((1, 1)), method="best")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"iou must be an \(N, M\) matrix"):
        match_regions(np.zeros(3))
    with pytest.raises(ValueError, match=r"gt_labels must have shape \(2,\)"):
        match_regions(np.zeros((2, 1)), ["a"], ["a"])
    with pytest.raises(ValueError, match="threshold must be in"):
        match_regions(np.zeros((1, 1)), threshold=1.5)
    with pytest.raises(ValueError, match=r"scores must have shape \(1, 2\)"):
        match_regions(np.zeros((1, 2)), method="greedy", scores=[1.0])


def test_works_on_real_boxes_with_string_labels() -> None:
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]])
    pred = np.array([[21, 20, 31, 30], [0, 1, 10, 11], [100, 100, 110, 110]])
    m = match_regions(
        iou_matrix(gt, pred), ["zebra", "zebra", "giraffe"], ["zebra", "zebra", "zebra"]
    )
    assert dict(zip(m.gt_idx.tolist(), m.pred_idx.tolist(), strict=True)) == {0: 1, 1: 0}
    assert m.unmatched_gt.tolist() == [2] and m.unmatched_pred.tolist() == [2]


# -- properties against references ------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(problems(), st.booleans(), st.sampled_from([0.5, 0.6]))
def test_hungarian_is_the_lexicographic_optimum(
    problem, label_aware: bool, threshold: float
) -> None:
    iou, gl, pl, _ = problem
    m = match_regions(iou, gl, pl, threshold=threshold, label_aware=label_aware)
    _check_valid(m, iou, gl, pl, threshold, label_aware)
    best = _brute_force_best(iou, gl, pl, threshold, label_aware)
    got = (m.n_matched, int((gl[m.gt_idx] == pl[m.pred_idx]).sum()), float(m.iou.sum()))
    assert got[:2] == best[:2]
    assert got[2] == pytest.approx(best[2], abs=1e-9)


@settings(max_examples=400, deadline=None)
@given(problems(), st.booleans())
def test_greedy_equals_the_sequential_rule(problem, label_aware: bool) -> None:
    iou, gl, pl, scores = problem
    m = match_regions(iou, gl, pl, method="greedy", scores=scores, label_aware=label_aware)
    _check_valid(m, iou, gl, pl, 0.5, label_aware)
    want = _sequential_greedy(iou, gl, pl, 0.5, label_aware, scores)
    assert dict(zip(m.gt_idx.tolist(), m.pred_idx.tolist(), strict=True)) == want


@settings(max_examples=100, deadline=None)
@given(
    st.lists(problems(), min_size=1, max_size=8),
    st.sampled_from(["hungarian", "greedy"]),
    st.booleans(),
)
def test_batch_equals_one_task_at_a_time(batch, method: str, label_aware: bool) -> None:
    ious = [p[0] for p in batch]
    n = max(i.shape[0] for i in ious)
    m = max(i.shape[1] for i in ious)
    padded = np.zeros((len(batch), n, m))
    for t, i in enumerate(ious):
        padded[t, : i.shape[0], : i.shape[1]] = i
        padded[t, i.shape[0] :, :] = 1.0  # padding must never match, whatever it holds
        padded[t, :, i.shape[1] :] = 1.0
    gl, gmask = pad_ragged([p[1] for p in batch], fill=0, dtype=np.int64)
    pl, pmask = pad_ragged([p[2] for p in batch], fill=0, dtype=np.int64)
    gl, gmask = _widen(gl, gmask, n), _widen(gmask, gmask, n)
    pl, pmask = _widen(pl, pmask, m), _widen(pmask, pmask, m)
    scores = None
    if method == "greedy":
        scores = np.zeros((len(batch), m))
        for t, p in enumerate(batch):
            if p[3] is not None:
                scores[t, : len(p[3])] = p[3]
    bm = match_batch(
        padded,
        gl,
        pl,
        method=method,
        label_aware=label_aware,
        scores=scores,
        gt_mask=gmask,
        pred_mask=pmask,
    )
    assert isinstance(bm, BatchMatching) and len(bm) == len(batch)
    for t, (iou, g, p, _) in enumerate(batch):
        one = match_regions(
            iou,
            g,
            p,
            method=method,
            label_aware=label_aware,
            scores=None if scores is None else scores[t, : len(p)],
        )
        got = bm.task(t)
        assert got.gt_idx.tolist() == one.gt_idx.tolist()
        assert got.pred_idx.tolist() == one.pred_idx.tolist()
        assert got.unmatched_gt.tolist() == one.unmatched_gt.tolist()
        assert got.unmatched_pred.tolist() == one.unmatched_pred.tolist()
        np.testing.assert_array_equal(got.iou, one.iou)


def _widen(arr: np.ndarray, mask: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((arr.shape[0], width), dtype=arr.dtype)
    out[:, : arr.shape[1]] = arr
    return out


def test_batch_with_competing_candidates_reaches_the_solver() -> None:
    # task 0 is simple (one candidate per row and column); task 1 needs linear_sum_assignment
    iou = np.array([[[0.9, 0.0], [0.0, 0.7]], [[0.99, 0.5], [0.5, 0.0]]])
    bm = match_batch(iou)
    assert bm.pred_for_gt.tolist() == [[0, 1], [1, 0]]
    assert bm.gt_for_pred.tolist() == [[0, 1], [1, 0]]
    np.testing.assert_array_equal(bm.iou, [[0.9, 0.7], [0.5, 0.5]])
