"""Matching two region sets of a task (ground truth vs an annotation or prediction).

Input is an IoU-like matrix (N ground-truth rows, M predicted columns, values in [0, 1]) from
`assay.geometry`, plus labels. A pair is a *candidate* when its IoU >= threshold and > 0 and,
in label-aware mode, both labels are equal. Each region is matched at most once.

- "hungarian": among the candidates, a matching with the most pairs; among those, in
  label-unaware mode the most same-label pairs; among those, the largest total IoU
  (scipy.optimize.linear_sum_assignment on lexicographic weights). Tasks whose candidates
  already form a matching (every row and column has at most one) need no solver at all.
- "greedy": candidates are taken in order of prediction score (descending), then same label,
  then IoU (descending), then prediction index and ground-truth index; a candidate is taken
  when both its regions are still free. With distinct scores this is COCO's rule (each
  detection, best score first, takes the free ground truth it overlaps most); without scores
  it is highest-IoU-first. Computed for a whole batch by rounds of locally dominant pairs,
  which gives exactly the sequential result.

`match_batch` does this for B tasks at once on padded (B, N, M) arrays; `match_regions` is
the one-task form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, FloatArray, IntArray

__all__ = ["BatchMatching", "MatchMethod", "Matching", "match_batch", "match_regions"]

MatchMethod = Literal["hungarian", "greedy"]
METHODS: tuple[MatchMethod, ...] = ("hungarian", "greedy")


def _frozen(*arrays: npt.NDArray[Any]) -> None:
    for a in arrays:
        a.setflags(write=False)


@dataclass(frozen=True, eq=False)
class Matching:
    """The matching of one task: K matched pairs and the regions left over.

    gt_idx, pred_idx: (K,) int64 row / column indices of the matched pairs, ordered by gt_idx.
    iou: (K,) float64 IoU of each matched pair.
    unmatched_gt: (N - K,) int64 ground-truth indices with no partner, ascending.
    unmatched_pred: (M - K,) int64 prediction indices with no partner, ascending.
    Arrays are read-only.
    """

    gt_idx: IntArray
    pred_idx: IntArray
    iou: FloatArray
    unmatched_gt: IntArray
    unmatched_pred: IntArray

    def __post_init__(self) -> None:
        _frozen(self.gt_idx, self.pred_idx, self.iou, self.unmatched_gt, self.unmatched_pred)

    @property
    def n_matched(self) -> int:
        return len(self.gt_idx)

    @property
    def n_gt(self) -> int:
        return len(self.gt_idx) + len(self.unmatched_gt)

    @property
    def n_pred(self) -> int:
        return len(self.pred_idx) + len(self.unmatched_pred)

    def pred_for_gt(self) -> IntArray:
        """(N,) int64: the prediction matched to each ground-truth region, -1 if none."""
        out = np.full(self.n_gt, -1, dtype=np.int64)
        out[self.gt_idx] = self.pred_idx
        return out

    def gt_for_pred(self) -> IntArray:
        """(M,) int64: the ground-truth region matched to each prediction, -1 if none."""
        out = np.full(self.n_pred, -1, dtype=np.int64)
        out[self.pred_idx] = self.gt_idx
        return out


@dataclass(frozen=True, eq=False)
class BatchMatching:
    """Matchings of B tasks on padded arrays (N, M: the largest region counts in the batch).

    pred_for_gt: (B, N) int64, the prediction matched to each ground-truth region; -1 when
        unmatched or padding.
    gt_for_pred: (B, M) int64, the inverse; -1 when unmatched or padding.
    iou: (B, N) float64, IoU of each ground-truth region's match; nan when unmatched.
    gt_mask: (B, N) bool, True for real ground-truth regions; pred_mask: (B, M) likewise.
    """

    pred_for_gt: IntArray
    gt_for_pred: IntArray
    iou: FloatArray
    gt_mask: BoolArray
    pred_mask: BoolArray

    def __post_init__(self) -> None:
        _frozen(self.pred_for_gt, self.gt_for_pred, self.iou, self.gt_mask, self.pred_mask)

    def __len__(self) -> int:
        return len(self.pred_for_gt)

    def task(self, b: int) -> Matching:
        """The b-th task's matching, in the one-task form."""
        pfg, gfp = self.pred_for_gt[b], self.gt_for_pred[b]
        gt_idx = np.flatnonzero(pfg >= 0)
        return Matching(
            gt_idx=gt_idx,
            pred_idx=pfg[gt_idx].copy(),
            iou=self.iou[b, gt_idx].copy(),
            unmatched_gt=np.flatnonzero(self.gt_mask[b] & (pfg < 0)),
            unmatched_pred=np.flatnonzero(self.pred_mask[b] & (gfp < 0)),
        )


def match_regions(
    iou: npt.ArrayLike,
    gt_labels: npt.ArrayLike | None = None,
    pred_labels: npt.ArrayLike | None = None,
    threshold: float | npt.ArrayLike = 0.5,
    method: MatchMethod = "hungarian",
    scores: npt.ArrayLike | None = None,
    label_aware: bool = True,
) -> Matching:
    """Match one task's ground truth (rows) to predictions (columns).

    iou: (N, M) float64 in [0, 1], e.g. `assay.geometry.iou_matrix(gt_boxes, pred_boxes)`.
    gt_labels: (N,), pred_labels: (M,) label codes or names; None means one class for all.
    threshold: minimum IoU of a match (>=), default 0.5; a pair with IoU 0 never matches.
        A float, or (N,) one per ground-truth region (per-label thresholds looked up by its
        label: the ground-truth region's threshold applies to every pair in its row).
    method: "hungarian" (default) or "greedy", see the module docstring.
    scores: (M,) prediction scores for "greedy" (higher first); None or nan sorts last.
    label_aware: True matches only equal labels; False matches across labels (preferring
        equal ones) so that `find_conflicts` can report label mismatches.

    >>> iou = np.array([[0.9, 0.6], [0.0, 0.55]])
    >>> m = match_regions(iou, ["cat", "cat"], ["cat", "cat"])
    >>> m.gt_idx.tolist(), m.pred_idx.tolist(), m.unmatched_pred.tolist()
    ([0, 1], [0, 1], [])
    >>> match_regions(iou, ["cat", "dog"], ["cat", "cat"]).unmatched_gt.tolist()
    [1]
    """
    arr = np.asarray(iou, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"iou must be an (N, M) matrix, got shape {arr.shape}")
    n, m = arr.shape
    gl = _labels(gt_labels, n, "gt_labels")
    pl = _labels(pred_labels, m, "pred_labels")
    sc = None if scores is None else np.asarray(scores, dtype=np.float64).reshape(1, -1)
    thr = np.asarray(threshold, dtype=np.float64)
    batch = match_batch(
        arr[None],
        gl[None],
        pl[None],
        threshold=thr if thr.ndim == 0 else thr.reshape(1, -1),
        method=method,
        scores=sc,
        label_aware=label_aware,
    )
    return batch.task(0)


def match_batch(
    iou: npt.ArrayLike,
    gt_labels: npt.ArrayLike | None = None,
    pred_labels: npt.ArrayLike | None = None,
    *,
    threshold: float | npt.ArrayLike = 0.5,
    method: MatchMethod = "hungarian",
    scores: npt.ArrayLike | None = None,
    label_aware: bool = True,
    gt_mask: npt.ArrayLike | None = None,
    pred_mask: npt.ArrayLike | None = None,
) -> BatchMatching:
    """Match B tasks at once, each as `match_regions` would.

    iou: (B, N, M) float64, padded; gt_labels: (B, N); pred_labels: (B, M) (None: one class).
    gt_mask: (B, N) bool and pred_mask: (B, M) bool mark real regions (default: all real);
    `assay.geometry.pad_flat` / `pad_ragged` build padded arrays and masks.
    threshold: a float, or (B, N) one per ground-truth region (any value on padding).
    scores: (B, M) for "greedy". Other parameters as in `match_regions`.

    Vectorised over the batch: only tasks whose candidate pairs do not already form a
    matching reach the Hungarian solver, one small call each.
    """
    arr = np.asarray(iou, dtype=np.float64)
    if arr.ndim != 3:
        raise ValueError(f"iou must be a (B, N, M) array, got shape {arr.shape}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    b, n, m = arr.shape
    thr = np.asarray(threshold, dtype=np.float64)
    if thr.ndim == 0:
        thr = np.broadcast_to(thr, (b, n))
    if thr.shape != (b, n):
        raise ValueError(f"threshold must be a float or have shape {(b, n)}, got {thr.shape}")
    if thr.size and not ((thr >= 0.0) & (thr <= 1.0)).all():
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    gm = np.ones((b, n), bool) if gt_mask is None else np.asarray(gt_mask, dtype=bool)
    pm = np.ones((b, m), bool) if pred_mask is None else np.asarray(pred_mask, dtype=bool)
    if gm.shape != (b, n) or pm.shape != (b, m):
        raise ValueError(
            f"masks must have shapes {(b, n)} and {(b, m)}, got {gm.shape}, {pm.shape}"
        )
    gl = _labels(gt_labels, (b, n), "gt_labels")
    pl = _labels(pred_labels, (b, m), "pred_labels")
    same = gl[:, :, None] == pl[:, None, :]
    valid = (arr >= thr[:, :, None]) & (arr > 0) & gm[:, :, None] & pm[:, None, :]
    if label_aware:
        valid &= same
    if method == "hungarian":
        pfg = _hungarian(arr, valid, same)
    else:
        sc = None
        if scores is not None:
            sc = np.asarray(scores, dtype=np.float64)
            if sc.shape != (b, m):
                raise ValueError(f"scores must have shape {(b, m)}, got {sc.shape}")
        pfg = _greedy(arr, valid, same, sc)
    gfp = np.full((b, m), -1, dtype=np.int64)
    tb, tg = np.nonzero(pfg >= 0)
    gfp[tb, pfg[tb, tg]] = tg
    matched_iou = np.full((b, n), np.nan)
    matched_iou[tb, tg] = arr[tb, tg, pfg[tb, tg]]
    return BatchMatching(
        pred_for_gt=pfg, gt_for_pred=gfp, iou=matched_iou, gt_mask=gm.copy(), pred_mask=pm.copy()
    )


def _labels(
    labels: npt.ArrayLike | None, shape: int | tuple[int, ...], name: str
) -> npt.NDArray[Any]:
    if labels is None:
        return np.zeros(shape, dtype=np.int64)
    arr = np.asarray(labels)
    want = (shape,) if isinstance(shape, int) else shape
    if arr.shape != want:
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    return arr


def _hungarian(iou: FloatArray, valid: BoolArray, same: BoolArray) -> IntArray:
    b, n, m = iou.shape
    pfg = np.full((b, n), -1, dtype=np.int64)
    if n == 0 or m == 0:
        return pfg
    row_deg = valid.sum(axis=2)
    col_deg = valid.sum(axis=1)
    simple = (row_deg <= 1).all(axis=1) & (col_deg <= 1).all(axis=1)
    take = (row_deg == 1) & simple[:, None]
    pfg[take] = valid.argmax(axis=2)[take]
    competing = np.flatnonzero(~simple)
    if len(competing):
        # Imported here on purpose, not to dodge a circle: only tasks whose candidates compete
        # need the assignment solver, and scipy.optimize costs every process ~30 MiB at start.
        from scipy.optimize import linear_sum_assignment  # noqa: PLC0415
    for t in competing:  # only tasks with competing candidates
        rows = np.flatnonzero(row_deg[t])
        cols = np.flatnonzero(col_deg[t])
        sub = np.ix_(rows, cols)
        v = valid[t][sub]
        k = min(len(rows), len(cols))
        tier_label = k + 1.0  # > any total IoU of a matching
        tier_pair = k * (tier_label + 1.0) + 1.0  # > any label + IoU total of a matching
        weight = np.where(v, tier_pair + tier_label * same[t][sub] + iou[t][sub], 0.0)
        r, c = linear_sum_assignment(weight, maximize=True)
        ok = v[r, c]
        pfg[t, rows[r[ok]]] = cols[c[ok]]
    return pfg


def _greedy(
    iou: FloatArray, valid: BoolArray, same: BoolArray, scores: FloatArray | None
) -> IntArray:
    b, n, m = iou.shape
    pfg = np.full((b, n), -1, dtype=np.int64)
    bi, gi, pj = np.nonzero(valid)
    if not len(bi):
        return pfg
    sc = np.zeros(len(bi)) if scores is None else np.nan_to_num(scores[bi, pj], nan=-np.inf)
    # one strict total order over all candidates; the last key is the primary one
    order = np.lexsort((gi, pj, -iou[bi, gi, pj], ~same[bi, gi, pj], -sc))
    big = len(order)
    tasks = np.unique(bi)
    local = np.searchsorted(tasks, bi)
    rank = np.full((len(tasks), n, m), big, dtype=np.int64)
    rank[local[order], gi[order], pj[order]] = np.arange(big)
    # Rounds: take every candidate that ranks first in both its row and its column (locally
    # dominant); those are exactly the pairs the sequential greedy would take, in any order.
    while True:
        dom = (
            (rank < big)
            & (rank == rank.min(axis=2, keepdims=True))
            & (rank == rank.min(axis=1, keepdims=True))
        )
        tb, tg, tp = np.nonzero(dom)
        if not len(tb):
            break
        pfg[tasks[tb], tg] = tp
        rank[tb, tg, :] = big
        rank[tb, :, tp] = big
    return pfg
