"""Scores of an annotation or prediction against ground truth, and their aggregates.

Naming rule (as scikit-learn's): `*_score` is higher-is-better, in [0, 1].

From a matching: TP = matched pairs with equal labels; FP = predictions - TP;
FN = ground-truth regions - TP. (In label-unaware matching a pair with different labels is
matched but counts as one FP and one FN.) Then

    accuracy  = TP / (TP + FP + FN)
    precision = TP / (TP + FP)
    recall    = TP / (TP + FN)
    F1        = 2 TP / (2 TP + FP + FN)

with one rule for empty sides: when ground truth and annotation are both empty every score
is 1.0 (nothing to find, nothing wrongly found); when exactly one side is empty every score
is 0.0. Mean IoU is the mean IoU of the matched pairs, nan when nothing matched.

Counts add up, so aggregates are sums (micro) and can be updated by delta; macro averages are
plain means of per-item scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from statistics import NormalDist
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, FloatArray, IntArray
from assay.metrics.matching import BatchMatching, Matching

__all__ = [
    "Aggregate",
    "CountTable",
    "Counts",
    "accuracy_score",
    "aggregate",
    "choices_indicator",
    "count_batch",
    "count_matches",
    "exact_match_score",
    "f1_score",
    "jaccard_score",
    "label_counts",
    "label_counts_batch",
    "precision_score",
    "recall_score",
    "summary_accuracy",
    "wilson_interval",
]

SUMMARY_MODES = ("micro", "macro", "worst_label")

Count = int | npt.ArrayLike


def _ratio(
    num: npt.NDArray[Any], den: npt.NDArray[Any], both_empty: npt.NDArray[np.bool_]
) -> FloatArray:
    """num / den, with 1.0 where both sides are empty and 0.0 where den is 0 otherwise."""
    out = np.where(both_empty, 1.0, 0.0)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _counts(
    tp: Count, fp: Count, fn: Count
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], bool]:
    t, p, n = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    if (t < 0).any() or (p < 0).any() or (n < 0).any():
        raise ValueError("tp, fp and fn must be non-negative counts")
    return t, p, n, t.ndim == 0 and p.ndim == 0 and n.ndim == 0


def _out(x: FloatArray, scalar: bool) -> float | FloatArray:
    return float(x) if scalar else x


@overload
def accuracy_score(tp: int, fp: int, fn: int) -> float: ...
@overload
def accuracy_score(tp: Count, fp: Count, fn: Count) -> float | FloatArray: ...
def accuracy_score(tp: Count, fp: Count, fn: Count) -> float | FloatArray:
    """TP / (TP + FP + FN); 1.0 when all are 0 (both sides empty). Scalars or arrays.

    >>> accuracy_score(3, 1, 1), accuracy_score(0, 0, 0), accuracy_score(0, 2, 0)
    (0.6, 1.0, 0.0)
    """
    t, p, n, scalar = _counts(tp, fp, fn)
    total = t + p + n
    return _out(_ratio(t, total, total == 0), scalar)


def precision_score(tp: Count, fp: Count, fn: Count) -> float | FloatArray:
    """TP / (TP + FP); with no predictions: 1.0 if there is no ground truth either, else 0.0.

    >>> precision_score(3, 1, 0), precision_score(0, 0, 0), precision_score(0, 0, 4)
    (0.75, 1.0, 0.0)
    """
    t, p, n, scalar = _counts(tp, fp, fn)
    return _out(_ratio(t, t + p, (t + p + n) == 0), scalar)


def recall_score(tp: Count, fp: Count, fn: Count) -> float | FloatArray:
    """TP / (TP + FN); with no ground truth: 1.0 if there are no predictions either, else 0.0.

    >>> recall_score(3, 0, 1), recall_score(0, 0, 0), recall_score(0, 2, 0)
    (0.75, 1.0, 0.0)
    """
    t, p, n, scalar = _counts(tp, fp, fn)
    return _out(_ratio(t, t + n, (t + p + n) == 0), scalar)


def f1_score(tp: Count, fp: Count, fn: Count) -> float | FloatArray:
    """2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall; 1.0 when all are 0.

    >>> f1_score(3, 1, 1), f1_score(0, 0, 0)
    (0.75, 1.0)
    """
    t, p, n, scalar = _counts(tp, fp, fn)
    den = 2 * t + p + n
    return _out(_ratio(2 * t, den, den == 0), scalar)


@dataclass(frozen=True)
class Counts:
    """Counts of one annotation (or a micro sum of many) against ground truth.

    tp, fp, fn: as in the module docstring. matched: matched pairs (TP plus label-mismatched
    pairs of a label-unaware matching). iou_sum: sum of the matched pairs' IoU.
    Counts add and subtract, so a stored aggregate can be updated by delta.
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0
    matched: int = 0
    iou_sum: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    @property
    def n_gt(self) -> int:
        return self.tp + self.fn

    @property
    def n_pred(self) -> int:
        return self.tp + self.fp

    @property
    def accuracy(self) -> float:
        return float(accuracy_score(self.tp, self.fp, self.fn))

    @property
    def precision(self) -> float:
        return float(precision_score(self.tp, self.fp, self.fn))

    @property
    def recall(self) -> float:
        return float(recall_score(self.tp, self.fp, self.fn))

    @property
    def f1(self) -> float:
        return float(f1_score(self.tp, self.fp, self.fn))

    @property
    def mean_iou(self) -> float:
        """Mean IoU of the matched pairs; nan when nothing matched."""
        return self.iou_sum / self.matched if self.matched else float("nan")


@dataclass(frozen=True, eq=False)
class CountTable:
    """Counts of many items (annotations, tasks, labels, groups) as (R,) arrays; the score
    properties are (R,) arrays following the same rules as `Counts`."""

    tp: IntArray
    fp: IntArray
    fn: IntArray
    matched: IntArray
    iou_sum: FloatArray

    def __post_init__(self) -> None:
        for f in fields(self):
            getattr(self, f.name).setflags(write=False)

    def __len__(self) -> int:
        return len(self.tp)

    @classmethod
    def from_counts(cls, counts: Iterable[Counts]) -> CountTable:
        rows = list(counts)
        return cls(
            tp=np.array([c.tp for c in rows], dtype=np.int64),
            fp=np.array([c.fp for c in rows], dtype=np.int64),
            fn=np.array([c.fn for c in rows], dtype=np.int64),
            matched=np.array([c.matched for c in rows], dtype=np.int64),
            iou_sum=np.array([c.iou_sum for c in rows], dtype=np.float64),
        )

    def row(self, i: int) -> Counts:
        return Counts(
            int(self.tp[i]),
            int(self.fp[i]),
            int(self.fn[i]),
            int(self.matched[i]),
            float(self.iou_sum[i]),
        )

    def sum(self) -> Counts:
        """Micro total: the summed counts of all rows."""
        return Counts(
            int(self.tp.sum()),
            int(self.fp.sum()),
            int(self.fn.sum()),
            int(self.matched.sum()),
            float(self.iou_sum.sum()),
        )

    @property
    def accuracy(self) -> FloatArray:
        return np.asarray(accuracy_score(self.tp, self.fp, self.fn))

    @property
    def precision(self) -> FloatArray:
        return np.asarray(precision_score(self.tp, self.fp, self.fn))

    @property
    def recall(self) -> FloatArray:
        return np.asarray(recall_score(self.tp, self.fp, self.fn))

    @property
    def f1(self) -> FloatArray:
        return np.asarray(f1_score(self.tp, self.fp, self.fn))

    @property
    def mean_iou(self) -> FloatArray:
        out = np.full(len(self.tp), np.nan)
        np.divide(self.iou_sum, self.matched, out=out, where=self.matched > 0)
        return out


def count_matches(
    matching: Matching,
    gt_labels: npt.ArrayLike | None = None,
    pred_labels: npt.ArrayLike | None = None,
) -> Counts:
    """Counts of one annotation from its matching; labels (N,), (M,) decide which matched
    pairs are TP (all of them when labels are None, as after a label-aware matching).

    >>> from assay.metrics.matching import match_regions
    >>> m = match_regions(np.array([[0.9, 0.0], [0.0, 0.2]]))
    >>> c = count_matches(m)
    >>> (c.tp, c.fp, c.fn, c.accuracy, round(c.mean_iou, 2))
    (1, 1, 1, 0.3333333333333333, 0.9)
    """
    g, p = matching.gt_idx, matching.pred_idx
    if gt_labels is None or pred_labels is None:
        tp = len(g)
    else:
        tp = int((np.asarray(gt_labels)[g] == np.asarray(pred_labels)[p]).sum())
    return Counts(
        tp=tp,
        fp=matching.n_pred - tp,
        fn=matching.n_gt - tp,
        matched=len(g),
        iou_sum=float(matching.iou.sum()),
    )


def count_batch(
    matching: BatchMatching,
    gt_labels: npt.ArrayLike | None = None,
    pred_labels: npt.ArrayLike | None = None,
) -> CountTable:
    """Counts of B annotations from a batch matching: a (B,)-row CountTable.

    gt_labels (B, N), pred_labels (B, M) padded as for `match_batch`.
    """
    pfg = matching.pred_for_gt
    hit = pfg >= 0
    if gt_labels is None or pred_labels is None:
        tp_mask = hit
    else:
        gl, pl = np.asarray(gt_labels), np.asarray(pred_labels)
        partner = np.take_along_axis(pl, np.maximum(pfg, 0), axis=1) if pl.shape[1] else gl
        tp_mask = hit & (gl == partner)
    tp = tp_mask.sum(axis=1).astype(np.int64)
    n_gt = matching.gt_mask.sum(axis=1)
    n_pred = matching.pred_mask.sum(axis=1)
    return CountTable(
        tp=tp,
        fp=(n_pred - tp).astype(np.int64),
        fn=(n_gt - tp).astype(np.int64),
        matched=hit.sum(axis=1).astype(np.int64),
        iou_sum=np.where(hit, matching.iou, 0.0).sum(axis=1),
    )


def label_counts(
    matching: Matching, gt_labels: npt.ArrayLike, pred_labels: npt.ArrayLike, n_labels: int
) -> CountTable:
    """Per-label counts of one annotation: an (L,)-row CountTable for label codes 0..L-1.

    A label's TP are matched pairs with that label on both sides; its FN are its other
    ground-truth regions, its FP its other predictions; matched and iou_sum go by the
    ground-truth label.
    """
    gl = np.asarray(gt_labels, dtype=np.int64)
    pl = np.asarray(pred_labels, dtype=np.int64)
    g, p = matching.gt_idx, matching.pred_idx
    return _label_table(gl, pl, gl[g], pl[p], matching.iou, n_labels)


def label_counts_batch(
    matching: BatchMatching, gt_labels: npt.ArrayLike, pred_labels: npt.ArrayLike, n_labels: int
) -> CountTable:
    """Per-label counts summed over a batch: (L,) rows; labels (B, N) / (B, M) int codes."""
    gl = np.asarray(gt_labels, dtype=np.int64)
    pl = np.asarray(pred_labels, dtype=np.int64)
    tb, tg = np.nonzero(matching.pred_for_gt >= 0)
    tp_ = matching.pred_for_gt[tb, tg]
    return _label_table(
        gl[matching.gt_mask],
        pl[matching.pred_mask],
        gl[tb, tg],
        pl[tb, tp_],
        matching.iou[tb, tg],
        n_labels,
    )


def _label_table(
    all_gt: IntArray,
    all_pred: IntArray,
    pair_gt: IntArray,
    pair_pred: IntArray,
    pair_iou: FloatArray,
    n_labels: int,
) -> CountTable:
    for name, arr in (("gt_labels", all_gt), ("pred_labels", all_pred)):
        if len(arr) and (arr.min() < 0 or arr.max() >= n_labels):
            raise ValueError(f"{name} must be codes in [0, {n_labels}), got {arr.min()}..")
    same = pair_gt == pair_pred
    tp = np.bincount(pair_gt[same], minlength=n_labels)
    n_gt = np.bincount(all_gt, minlength=n_labels)
    n_pred = np.bincount(all_pred, minlength=n_labels)
    return CountTable(
        tp=tp.astype(np.int64),
        fp=(n_pred - tp).astype(np.int64),
        fn=(n_gt - tp).astype(np.int64),
        matched=np.bincount(pair_gt, minlength=n_labels).astype(np.int64),
        iou_sum=np.bincount(pair_gt, weights=pair_iou, minlength=n_labels).astype(np.float64),
    )


def summary_accuracy(
    owner: npt.ArrayLike,
    tp: npt.ArrayLike,
    fp: npt.ArrayLike,
    fn: npt.ArrayLike,
    n_owners: int,
    mode: str = "micro",
) -> FloatArray:
    """(G,) the accuracy of G owners (annotations, or annotators...) from their per-label counts.

    owner: (E,) int in [0, G), the owner of each of E (owner, label) entries; tp, fp, fn: (E,)
    that label's counts. mode:
    - "micro": sum the counts over labels, then TP / (TP + FP + FN): every region weighs the
      same, so frequent labels dominate;
    - "macro": the mean over the owner's labels of each label's TP / (TP + FP + FN): every label
      weighs the same;
    - "worst_label": the lowest of those per-label accuracies.
    The owner's labels are those in its ground truth or in what it drew, with at least one
    count (with `label_mismatch` "one" a drawn label may have none: it is left out). An owner
    with no such label (both sides empty) scores 1.0 in every mode, as `accuracy_score(0, 0, 0)`.

    >>> # GT 2 Elephant + 1 Zebra; both Elephants found, Zebra missed, one extra Elephant
    >>> [round(float(summary_accuracy([0, 0], [2, 0], [1, 0], [0, 1], 1, m)[0]), 4)
    ...  for m in ("micro", "macro", "worst_label")]
    [0.5, 0.3333, 0.0]
    """
    if mode not in SUMMARY_MODES:
        raise ValueError(f"mode must be one of {SUMMARY_MODES}, got {mode!r}")
    own = np.asarray(owner, dtype=np.int64).reshape(-1)
    t, p, n = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (tp, fp, fn))
    counted = (t + p + n) > 0  # a label with no count (a forgiven label mismatch) is no label
    own, t, p, n = own[counted], t[counted], p[counted], n[counted]
    if mode == "micro":

        def total(x: FloatArray) -> FloatArray:
            return np.bincount(own, weights=x, minlength=n_owners)[:n_owners]

        return np.asarray(accuracy_score(total(t), total(p), total(n)), dtype=np.float64)
    per_label = np.asarray(accuracy_score(t, p, n), dtype=np.float64)
    n_labels = np.bincount(own, minlength=n_owners)[:n_owners]
    out = np.ones(n_owners)
    if mode == "macro":
        sums = np.bincount(own, weights=per_label, minlength=n_owners)[:n_owners]
        np.divide(sums, n_labels, out=out, where=n_labels > 0)
    else:
        worst = np.full(n_owners, np.inf)
        np.minimum.at(worst, own, per_label)
        out = np.where(n_labels > 0, worst, 1.0)
    return out


def wilson_interval(
    successes: npt.ArrayLike, trials: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion successes / trials (arrays broadcast).

    With z the two-sided normal quantile (1.96 for 95 %) and p = successes / trials:
    centre = (p + z^2 / 2n) / (1 + z^2 / n),
    half width = z sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n).
    Returns (low, high) arrays in [0, 1]; (0, 1) where trials is 0 (nothing known).
    For precision use (TP, TP + FP); for recall (TP, TP + FN).

    >>> low, high = wilson_interval(8, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.4902, 0.9433)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if (s < 0).any() or (s > n).any():
        raise ValueError("successes must lie between 0 and trials")
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    empty = n == 0
    low = np.where(empty, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(empty, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


@dataclass(frozen=True, eq=False)
class Aggregate:
    """Scores of G groups of items (per annotator, model version, label, job, project...).

    n_items: (G,) items per group.
    micro: (G,)-row CountTable of summed counts; its .accuracy, .precision, ... are the micro
        scores (ratios of sums).
    macro_accuracy, macro_precision, macro_recall, macro_f1: (G,) means of the items' scores;
        macro_mean_iou: mean over items that matched anything. nan for a group with no items.
    precision_ci, recall_ci: (low, high) Wilson intervals on the micro counts.
    """

    n_items: IntArray
    micro: CountTable
    macro_accuracy: FloatArray
    macro_precision: FloatArray
    macro_recall: FloatArray
    macro_f1: FloatArray
    macro_mean_iou: FloatArray
    precision_ci: tuple[FloatArray, FloatArray]
    recall_ci: tuple[FloatArray, FloatArray]


def aggregate(
    table: CountTable,
    groups: npt.ArrayLike | None = None,
    n_groups: int | None = None,
    confidence: float = 0.95,
) -> Aggregate:
    """Aggregate per-item counts into G groups, micro and macro, in one vectorised pass.

    table: (R,) items. groups: (R,) int codes in [0, G) (None: all in group 0).
    n_groups: G (default max code + 1).

    >>> t = CountTable.from_counts([Counts(tp=1, fp=1), Counts(tp=2)])
    >>> a = aggregate(t)
    >>> a.micro.accuracy.round(3).tolist(), a.macro_accuracy.round(3).tolist()
    ([0.75], [0.75])
    """
    r = len(table)
    grp = np.zeros(r, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    if grp.shape != (r,):
        raise ValueError(f"groups must have shape ({r},), got {grp.shape}")
    if r and grp.min() < 0:
        raise ValueError("group codes must be >= 0")
    g = n_groups if n_groups is not None else (int(grp.max()) + 1 if r else 1)

    def total(x: npt.NDArray[Any]) -> FloatArray:
        return np.asarray(np.bincount(grp, weights=x, minlength=g)[:g], dtype=np.float64)

    n_items = np.bincount(grp, minlength=g)[:g].astype(np.int64)
    micro = CountTable(
        tp=total(table.tp).astype(np.int64),
        fp=total(table.fp).astype(np.int64),
        fn=total(table.fn).astype(np.int64),
        matched=total(table.matched).astype(np.int64),
        iou_sum=total(table.iou_sum),
    )

    def mean(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = np.full(g, np.nan)
        np.divide(total(x), n_items, out=out, where=n_items > 0)
        return out

    miou = table.mean_iou
    has = ~np.isnan(miou)
    n_has = np.bincount(grp[has], minlength=g)[:g]
    macro_iou = np.full(g, np.nan)
    iou_total = np.bincount(grp[has], weights=miou[has], minlength=g)[:g]
    np.divide(iou_total, n_has, out=macro_iou, where=n_has > 0)
    return Aggregate(
        n_items=n_items,
        micro=micro,
        macro_accuracy=mean(table.accuracy),
        macro_precision=mean(table.precision),
        macro_recall=mean(table.recall),
        macro_f1=mean(table.f1),
        macro_mean_iou=macro_iou,
        precision_ci=wilson_interval(micro.tp, micro.tp + micro.fp, confidence),
        recall_ci=wilson_interval(micro.tp, micro.tp + micro.fn, confidence),
    )


# -- classification (Choices) -------------------------------------------------------------


def choices_indicator(choice_sets: Sequence[Iterable[str]], vocabulary: Sequence[str]) -> BoolArray:
    """T choice sets -> (T, C) bool indicator over `vocabulary` (C choices).

    Raises ValueError naming the first choice not in the vocabulary.

    >>> choices_indicator([["cat"], [], ["dog", "cat"]], ["cat", "dog"]).astype(int).tolist()
    [[1, 0], [0, 0], [1, 1]]
    """
    index = {c: i for i, c in enumerate(vocabulary)}
    rows: list[int] = []
    cols: list[int] = []
    for t, chosen in enumerate(choice_sets):
        for c in chosen:
            if c not in index:
                raise ValueError(f"choice_sets[{t}]: {c!r} is not one of {list(vocabulary)}")
            rows.append(t)
            cols.append(index[c])
    out = np.zeros((len(choice_sets), len(index)), dtype=bool)
    out[rows, cols] = True
    return out


def exact_match_score(gt: npt.ArrayLike, pred: npt.ArrayLike) -> FloatArray:
    """(T,) 1.0 where the chosen sets are equal, else 0.0; gt, pred (T, C) bool indicators.

    >>> exact_match_score([[1, 0], [1, 1]], [[1, 0], [1, 0]]).tolist()
    [1.0, 0.0]
    """
    g, p = _indicators(gt, pred)
    out: FloatArray = (g == p).all(axis=1).astype(np.float64)
    return out


def jaccard_score(gt: npt.ArrayLike, pred: npt.ArrayLike) -> FloatArray:
    """(T,) |gt & pred| / |gt | pred| per item (multi-choice); 1.0 when both are empty.

    >>> jaccard_score([[1, 1, 0], [0, 0, 0]], [[1, 0, 1], [0, 0, 0]]).round(3).tolist()
    [0.333, 1.0]
    """
    g, p = _indicators(gt, pred)
    inter = (g & p).sum(axis=1)
    union = (g | p).sum(axis=1)
    return _ratio(inter, union, union == 0)


def _indicators(gt: npt.ArrayLike, pred: npt.ArrayLike) -> tuple[BoolArray, BoolArray]:
    g = np.asarray(gt, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    if g.ndim != 2 or g.shape != p.shape:
        raise ValueError(f"gt and pred must be (T, C) of one shape, got {g.shape}, {p.shape}")
    return g, p
