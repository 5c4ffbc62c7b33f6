"""assay.metrics: conflicts, scores, aggregates, Wilson intervals, confusion matrix,
classification scores. Hand-computed golden cases plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from assay.geometry import iou_matrix, pad_ragged
from assay.metrics import (
    UNMATCHED,
    ConflictKind,
    Counts,
    CountTable,
    accuracy_score,
    aggregate,
    choices_indicator,
    confusion_matrix,
    confusion_matrix_batch,
    count_batch,
    count_matches,
    encode_labels,
    exact_match_score,
    f1_score,
    find_conflicts,
    jaccard_score,
    label_counts,
    label_counts_batch,
    match_batch,
    match_regions,
    precision_score,
    recall_score,
    wilson_interval,
)
from assay.metrics.scores import summary_accuracy

# -- conflicts: one golden case per kind --------------------------------------------------------


def _conflicts(gt, gl, pred, pl, **kw):
    iou = iou_matrix(np.array(gt, float).reshape(-1, 4), np.array(pred, float).reshape(-1, 4))
    m = match_regions(iou, gl, pl, label_aware=kw.pop("label_aware", True))
    return find_conflicts(iou, gl, pl, m, **kw).to_records()


def test_conflict_missing() -> None:
    got = _conflicts([[0, 0, 10, 10], [50, 50, 60, 60]], ["car", "car"], [[0, 0, 10, 10]], ["car"])
    assert got == [{"kind": "missing", "gt_idx": 1, "pred_idx": None, "iou": None}]


def test_conflict_extra() -> None:
    got = _conflicts([[0, 0, 10, 10]], ["car"], [[0, 0, 10, 10], [80, 0, 90, 5]], ["car", "car"])
    assert got == [{"kind": "extra", "gt_idx": None, "pred_idx": 1, "iou": None}]


def test_conflict_label_mismatch_after_label_aware_matching() -> None:
    # same place, other label: one finding, not a "missing" plus an "extra"
    got = _conflicts([[0, 0, 10, 10]], ["car"], [[0, 0, 10, 9]], ["bus"])
    assert got == [{"kind": "label_mismatch", "gt_idx": 0, "pred_idx": 0, "iou": 0.9}]


def test_conflict_label_mismatch_in_label_unaware_matching() -> None:
    got = _conflicts([[0, 0, 10, 10]], ["car"], [[0, 0, 10, 9]], ["bus"], label_aware=False)
    assert got == [{"kind": "label_mismatch", "gt_idx": 0, "pred_idx": 0, "iou": 0.9}]


def test_conflict_low_overlap() -> None:
    # IoU 80 / 120 = 0.67: matched (>= 0.5) but below the 0.8 low-overlap threshold
    got = _conflicts([[0, 0, 10, 10]], ["car"], [[2, 0, 12, 10]], ["car"])
    assert got == [
        {"kind": "low_overlap", "gt_idx": 0, "pred_idx": 0, "iou": pytest.approx(80 / 120)}
    ]
    assert (
        _conflicts([[0, 0, 10, 10]], ["car"], [[2, 0, 12, 10]], ["car"], low_overlap_threshold=0.6)
        == []
    )


def test_conflict_duplicate() -> None:
    # two boxes on one car: the better one matches, the other covers an already matched GT
    got = _conflicts([[0, 0, 10, 10]], ["car"], [[0, 0, 10, 10], [1, 0, 11, 10]], ["car", "car"])
    assert got == [
        {"kind": "duplicate", "gt_idx": 0, "pred_idx": 1, "iou": pytest.approx(90 / 110)}
    ]


def test_conflicts_all_kinds_together_and_counts() -> None:
    gt = [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]]
    gl = ["car", "car", "bus", "car"]
    pred = [[0, 0, 10, 10], [1, 0, 11, 10], [22, 0, 32, 10], [40, 0, 50, 10], [90, 0, 95, 5]]
    pl = ["car", "car", "car", "car", "car"]
    iou = iou_matrix(np.array(gt, float), np.array(pred, float))
    c = find_conflicts(iou, gl, pl, match_regions(iou, gl, pl))
    assert c.kind.tolist() == ["label_mismatch", "low_overlap", "duplicate", "missing", "extra"]
    assert c.gt_idx.tolist() == [2, 1, 0, 3, -1]
    assert c.pred_idx.tolist() == [3, 2, 1, -1, 4]
    assert c.count() == {
        "label_mismatch": 1,
        "low_overlap": 1,
        "duplicate": 1,
        "missing": 1,
        "extra": 1,
    }
    assert len(c) == 5 and [k.value for k in ConflictKind] == list(c.count())


def test_no_conflicts_on_identical_sets_and_on_two_empty_sets() -> None:
    boxes = [[0, 0, 10, 10], [20, 20, 40, 30]]
    assert _conflicts(boxes, ["a", "b"], boxes, ["a", "b"]) == []
    assert _conflicts([], [], [], []) == []


def test_find_conflicts_checks_shapes() -> None:
    m = match_regions(np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"iou must have shape \(2, 1\)"):
        find_conflicts(np.zeros((1, 1)), ["a", "b"], ["a"], m)


# -- accuracy, precision, recall, F1 ------------------------------------------------------------


def test_scores_hand_computed() -> None:
    assert accuracy_score(3, 1, 2) == pytest.approx(0.5)
    assert precision_score(3, 1, 2) == pytest.approx(0.75)
    assert recall_score(3, 1, 2) == pytest.approx(0.6)
    assert f1_score(3, 1, 2) == pytest.approx(2 * 0.75 * 0.6 / 1.35)


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "want"),
    [
        (0, 0, 0, 1.0),  # both empty: perfect
        (0, 3, 0, 0.0),  # no ground truth, something annotated
        (0, 0, 3, 0.0),  # ground truth, nothing annotated
    ],
)
def test_degenerate_cases_follow_one_rule(tp: int, fp: int, fn: int, want: float) -> None:
    for score in (accuracy_score, precision_score, recall_score, f1_score):
        assert score(tp, fp, fn) == want, score.__name__


def test_scores_vectorised() -> None:
    tp, fp, fn = np.array([3, 0, 0, 0]), np.array([1, 0, 2, 0]), np.array([2, 0, 0, 4])
    np.testing.assert_allclose(accuracy_score(tp, fp, fn), [0.5, 1, 0, 0])
    np.testing.assert_allclose(precision_score(tp, fp, fn), [0.75, 1, 0, 0])
    with pytest.raises(ValueError, match="non-negative"):
        accuracy_score(-1, 0, 0)


def test_count_matches_label_unaware_mismatch_is_one_fp_and_one_fn() -> None:
    iou = np.array([[0.9, 0.0], [0.0, 0.8]])
    gl, pl = ["car", "bus"], ["car", "truck"]
    c = count_matches(match_regions(iou, gl, pl, label_aware=False), gl, pl)
    assert (c.tp, c.fp, c.fn, c.matched) == (1, 1, 1, 2)
    assert c.accuracy == pytest.approx(1 / 3)
    assert c.mean_iou == pytest.approx(0.85)
    assert c.n_gt == 2 and c.n_pred == 2


def test_counts_add_and_subtract_for_incremental_updates() -> None:
    a, b = Counts(3, 1, 2, 3, 2.4), Counts(1, 0, 0, 1, 0.9)
    assert a + b == Counts(4, 1, 2, 4, pytest.approx(3.3))
    assert (a + b) - b == Counts(3, 1, 2, 3, pytest.approx(2.4))
    assert Counts().accuracy == 1.0 and np.isnan(Counts().mean_iou)


box_sets = st.integers(0, 7).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, (n, 2), elements=st.floats(0, 500)),
        arrays(np.float64, (n, 2), elements=st.floats(1, 200)),
        st.lists(st.sampled_from(["cat", "dog", "cow"]), min_size=n, max_size=n),
    )
)


@settings(max_examples=200, deadline=None)
@given(box_sets, st.sampled_from(["hungarian", "greedy"]), st.booleans())
def test_accuracy_is_one_on_identical_sets(data, method: str, label_aware: bool) -> None:
    xy, wh, labels = data
    boxes = np.concatenate([xy, xy + wh], axis=1)
    iou = iou_matrix(boxes, boxes)
    m = match_regions(iou, labels, labels, method=method, label_aware=label_aware)
    c = count_matches(m, labels, labels)
    assert c.accuracy == 1.0 and c.precision == 1.0 and c.recall == 1.0 and c.f1 == 1.0
    assert len(find_conflicts(iou, labels, labels, m)) == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(box_sets, box_sets), min_size=1, max_size=6))
def test_count_batch_equals_count_matches(tasks) -> None:
    gts = [np.concatenate([g[0], g[0] + g[1]], axis=1) for g, _ in tasks]
    preds = [np.concatenate([p[0], p[0] + p[1]], axis=1) for _, p in tasks]
    vocab = ["cat", "dog", "cow"]
    gls = [encode_labels(g[2], vocab) for g, _ in tasks]
    pls = [encode_labels(p[2], vocab) for _, p in tasks]
    gb, gmask = pad_ragged([g.reshape(-1, 4) for g in gts], dtype=np.float64)
    pb, pmask = pad_ragged([p.reshape(-1, 4) for p in preds], dtype=np.float64)
    gl, _ = pad_ragged(gls, fill=-1, dtype=np.int64)
    pl, _ = pad_ragged(pls, fill=-1, dtype=np.int64)
    if gb.ndim < 3 or pb.ndim < 3:
        return
    bm = match_batch(iou_matrix(gb, pb), gl, pl, label_aware=False, gt_mask=gmask, pred_mask=pmask)
    table = count_batch(bm, gl, pl)
    singles = [
        count_matches(match_regions(iou_matrix(g, p), a, b, label_aware=False), a, b)
        for g, p, a, b in zip(gts, preds, gls, pls, strict=True)
    ]
    for t, one in enumerate(singles):
        got = table.row(t)
        assert (got.tp, got.fp, got.fn, got.matched) == (one.tp, one.fp, one.fn, one.matched)
        assert got.iou_sum == pytest.approx(one.iou_sum)
    # per-label counts and the confusion matrix, batched vs summed per task
    lt = label_counts_batch(bm, gl, pl, 3)
    ms = [bm.task(t) for t in range(len(tasks))]
    per_task = [label_counts(m, a, b, 3) for m, a, b in zip(ms, gls, pls, strict=True)]
    np.testing.assert_array_equal(lt.tp, sum(x.tp for x in per_task))
    np.testing.assert_array_equal(lt.fn, sum(x.fn for x in per_task))
    np.testing.assert_array_equal(lt.fp, sum(x.fp for x in per_task))
    cm = confusion_matrix_batch(bm, gl, pl, 3)
    np.testing.assert_array_equal(cm, confusion_matrix(ms, gls, pls, 3))
    assert cm[:3, :].sum() == sum(len(g) for g in gls)  # every GT region lands in its row
    assert cm[:, :3].sum() == sum(len(p) for p in pls)
    assert cm[3, 3] == 0


def test_label_counts_hand_computed() -> None:
    # labels 0=car, 1=bus; gt: car, car, bus; pred: car, bus(on the 2nd car), -
    iou = np.array([[0.9, 0.0], [0.0, 0.8], [0.0, 0.0]])
    gl, pl = np.array([0, 0, 1]), np.array([0, 1])
    m = match_regions(iou, gl, pl, label_aware=False)
    t = label_counts(m, gl, pl, 2)
    assert t.tp.tolist() == [1, 0] and t.fn.tolist() == [1, 1] and t.fp.tolist() == [0, 1]
    np.testing.assert_allclose(t.precision, [1.0, 0.0])
    np.testing.assert_allclose(t.recall, [0.5, 0.0])
    cm = confusion_matrix([m], [gl], [pl], 2)
    assert cm.tolist() == [[1, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert UNMATCHED == "unmatched"


def test_encode_labels_names_unknown_label() -> None:
    with pytest.raises(ValueError, match=r"labels\[1\] = 'emu' is not one of"):
        encode_labels(["cat", "emu"], ["cat", "dog"])


# -- aggregation and intervals -----------------------------------------------------------------


def test_aggregate_micro_vs_macro_per_group() -> None:
    table = CountTable.from_counts(
        [
            Counts(tp=9, fp=1, fn=0, matched=9, iou_sum=8.1),  # annotator 0
            Counts(tp=0, fp=0, fn=1),  # annotator 0: missed the only box
            Counts(tp=1, fp=1, fn=1, matched=1, iou_sum=0.6),  # annotator 1
        ]
    )
    agg = aggregate(table, groups=[0, 0, 1], n_groups=3)
    assert agg.n_items.tolist() == [2, 1, 0]
    assert agg.micro.tp.tolist() == [9, 1, 0]
    # micro accuracy: 9 / (9 + 1 + 1); macro: mean(0.9, 0.0)
    np.testing.assert_allclose(agg.micro.accuracy[:2], [9 / 11, 1 / 3])
    np.testing.assert_allclose(agg.macro_accuracy[:2], [0.45, 1 / 3])
    assert np.isnan(agg.macro_accuracy[2]) and agg.micro.accuracy[2] == 1.0
    np.testing.assert_allclose(agg.macro_mean_iou[:2], [0.9, 0.6])  # items with matches only
    np.testing.assert_allclose(agg.micro.mean_iou[:2], [0.9, 0.6])
    low, high = agg.precision_ci
    assert low[2] == 0.0 and high[2] == 1.0  # no predictions: nothing known
    assert 0 < low[0] < 0.9 < high[0] <= 1
    assert table.sum() == Counts(10, 2, 2, 10, pytest.approx(8.7))


def test_wilson_interval_matches_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(0)
    n = rng.integers(1, 500, 200)
    s = rng.integers(0, n + 1)
    s[:3], n[:3] = [0, 5, 7], [5, 5, 7]  # all failures, all successes
    for conf in (0.95, 0.9):
        low, high = wilson_interval(s, n, confidence=conf)
        want_low, want_high = proportion_confint(s, n, alpha=1 - conf, method="wilson")
        np.testing.assert_allclose(low, want_low, atol=1e-12)
        np.testing.assert_allclose(high, want_high, atol=1e-12)
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson_interval(3, 2)


# -- classification --------------------------------------------------------------------------


def test_classification_exact_match_and_jaccard() -> None:
    vocab = ["cat", "dog", "cow"]
    gt = choices_indicator([["cat"], ["cat", "dog"], [], ["cow"]], vocab)
    pred = choices_indicator([["cat"], ["dog"], [], ["cat"]], vocab)
    np.testing.assert_array_equal(exact_match_score(gt, pred), [1, 0, 1, 0])
    np.testing.assert_allclose(jaccard_score(gt, pred), [1, 0.5, 1, 0])
    with pytest.raises(ValueError, match=r"choice_sets\[1\]: 'emu' is not one of"):
        choices_indicator([["cat"], ["emu"]], vocab)


@pytest.mark.parametrize(
    "module",
    [
        "assay.metrics.matching",
        "assay.metrics.conflicts",
        "assay.metrics.scores",
        "assay.metrics.confusion",
        "assay.metrics.agreement",
        "assay.formats.regions",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_summary_accuracy_per_mode_on_a_hand_example():
    """Owner 0: Elephant tp 2 fp 1 fn 0 (2/3), Zebra fn 1 (0). Owner 1: nothing on either
    side (1.0 in every mode). Owner 2: Zebra tp 1 (1.0)."""
    owner, tp, fp, fn = [0, 0, 2], [2, 0, 1], [1, 0, 0], [0, 1, 0]
    got = {m: summary_accuracy(owner, tp, fp, fn, 3, m).round(6).tolist() for m in
           ("micro", "macro", "worst_label")}  # fmt: skip
    assert got == {
        "micro": [0.5, 1.0, 1.0],  # 2 / (2 + 1 + 1)
        "macro": [0.333333, 1.0, 1.0],  # (2/3 + 0) / 2
        "worst_label": [0.0, 1.0, 1.0],
    }
    # a label with no count at all (a label mismatch counted as one error) is no label
    assert summary_accuracy([0, 0], [1, 0], [0, 0], [1, 0], 1, "macro").tolist() == [0.5]
    with pytest.raises(ValueError, match="mode must be one of"):
        summary_accuracy(owner, tp, fp, fn, 3, "median")
