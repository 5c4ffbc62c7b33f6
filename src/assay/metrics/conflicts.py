"""Conflicts: what is wrong with each region of an annotation, given its matching to GT.

Kinds (one row per finding; a matched pair can have two):
- label_mismatch: a ground-truth region and a predicted one overlap (IoU >= threshold) but
  their labels differ. Either a matched pair with different labels (label-unaware matching)
  or, after a label-aware matching, a pair found by matching the leftover ground truth to the
  leftover predictions across labels.
- low_overlap: a matched pair whose IoU is below `low_overlap_threshold` (default 0.8).
- duplicate: a leftover prediction that overlaps (IoU >= threshold) a ground-truth region
  already matched to another prediction, i.e. it covers an object twice.
- missing: a ground-truth region with no partner and no label-mismatch pair.
- extra: a prediction with no partner that is neither a label mismatch nor a duplicate.
Every leftover region gets exactly one of label_mismatch / duplicate / missing / extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.geometry.types import FloatArray, IntArray
from assay.metrics.matching import Matching, match_regions

__all__ = ["ConflictKind", "Conflicts", "find_conflicts"]


class ConflictKind(StrEnum):
    """The kinds of conflict, in the order `find_conflicts` lists them."""

    LABEL_MISMATCH = "label_mismatch"
    LOW_OVERLAP = "low_overlap"
    DUPLICATE = "duplicate"
    MISSING = "missing"
    EXTRA = "extra"


@dataclass(frozen=True, eq=False)
class Conflicts:
    """K conflicts of one annotation against ground truth, as parallel read-only arrays.

    kind: (K,) str, a ConflictKind value.
    gt_idx: (K,) int64 ground-truth region, -1 for "extra".
    pred_idx: (K,) int64 predicted region, -1 for "missing".
    iou: (K,) float64 IoU of the pair, nan for "missing" and "extra".
    """

    kind: npt.NDArray[np.str_]
    gt_idx: IntArray
    pred_idx: IntArray
    iou: FloatArray

    def __post_init__(self) -> None:
        for a in (self.kind, self.gt_idx, self.pred_idx, self.iou):
            a.setflags(write=False)

    def __len__(self) -> int:
        return len(self.kind)

    def count(self) -> dict[str, int]:
        """Number of conflicts of each kind, every kind present (0 when none)."""
        return {k.value: int((self.kind == k.value).sum()) for k in ConflictKind}

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per conflict (kind, gt_idx, pred_idx, iou), None for absent fields."""
        return [
            {
                "kind": str(k),
                "gt_idx": int(g) if g >= 0 else None,
                "pred_idx": int(p) if p >= 0 else None,
                "iou": None if np.isnan(v) else float(v),
            }
            for k, g, p, v in zip(self.kind, self.gt_idx, self.pred_idx, self.iou, strict=True)
        ]


def find_conflicts(
    iou: npt.ArrayLike,
    gt_labels: npt.ArrayLike,
    pred_labels: npt.ArrayLike,
    matching: Matching,
    *,
    threshold: float | npt.ArrayLike = 0.5,
    low_overlap_threshold: float = 0.8,
) -> Conflicts:
    """List the conflicts of one annotation against ground truth.

    iou: (N, M) the matrix the matching was made from; gt_labels (N,), pred_labels (M,).
    matching: from `match_regions` (label-aware or not), with the same `threshold`: a float
        or (N,) one per ground-truth region.
    Returns Conflicts ordered by kind (ConflictKind order), then by index.

    >>> iou = np.array([[0.7, 0.0, 0.6], [0.0, 0.9, 0.0], [0.0, 0.0, 0.0]])
    >>> m = match_regions(iou, ["car", "car", "bus"], ["car", "bus", "car"])
    >>> [c["kind"] for c in find_conflicts(iou, ["car", "car", "bus"], ["car", "bus", "car"],
    ...                                    m).to_records()]
    ['label_mismatch', 'low_overlap', 'duplicate', 'missing']
    """
    arr = np.asarray(iou, dtype=np.float64)
    gl, pl = np.asarray(gt_labels), np.asarray(pred_labels)
    if arr.ndim != 2 or arr.shape != (len(gl), len(pl)):
        raise ValueError(f"iou must have shape ({len(gl)}, {len(pl)}), got {arr.shape}")
    if (matching.n_gt, matching.n_pred) != arr.shape:
        raise ValueError(
            f"matching is for {matching.n_gt} x {matching.n_pred} regions, iou is {arr.shape}"
        )
    thr = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (len(gl),))
    g, p, v = matching.gt_idx, matching.pred_idx, matching.iou
    parts: list[tuple[str, IntArray, IntArray, FloatArray]] = []

    # label mismatches: matched pairs across labels, then leftovers matched across labels
    mis = gl[g] != pl[p]
    ug, up = matching.unmatched_gt, matching.unmatched_pred
    sub = arr[np.ix_(ug, up)]
    sub = np.where(gl[ug][:, None] != pl[up][None, :], sub, 0.0)
    second = match_regions(sub, threshold=thr[ug])
    mg, mp = ug[second.gt_idx], up[second.pred_idx]
    order = np.argsort(np.concatenate([g[mis], mg]), kind="stable")
    parts.append(
        (
            ConflictKind.LABEL_MISMATCH,
            np.concatenate([g[mis], mg])[order],
            np.concatenate([p[mis], mp])[order],
            np.concatenate([v[mis], second.iou])[order],
        )
    )
    low = v < low_overlap_threshold
    parts.append((ConflictKind.LOW_OVERLAP, g[low], p[low], v[low]))

    left_gt = np.setdiff1d(ug, mg)
    left_pred = np.setdiff1d(up, mp)
    # duplicates: leftover predictions covering an already matched ground-truth region
    if len(g) and len(left_pred):
        cover = arr[np.ix_(g, left_pred)]
        best = cover.argmax(axis=0)
        best_iou = cover[best, np.arange(len(left_pred))]
        dup = (best_iou >= thr[g][best]) & (best_iou > 0)
    else:
        best = np.zeros(len(left_pred), dtype=np.int64)
        best_iou = np.zeros(len(left_pred))
        dup = np.zeros(len(left_pred), dtype=bool)
    parts.append((ConflictKind.DUPLICATE, g[best[dup]], left_pred[dup], best_iou[dup]))
    none_g = np.full(len(left_gt), -1, dtype=np.int64)
    parts.append((ConflictKind.MISSING, left_gt, none_g, np.full(len(left_gt), np.nan)))
    extra = left_pred[~dup]
    none_p = np.full(len(extra), -1, dtype=np.int64)
    parts.append((ConflictKind.EXTRA, none_p, extra, np.full(len(extra), np.nan)))

    return Conflicts(
        kind=np.concatenate([np.full(len(gi), str(k)) for k, gi, _, _ in parts]).astype(np.str_),
        gt_idx=np.concatenate([gi for _, gi, _, _ in parts]).astype(np.int64),
        pred_idx=np.concatenate([pi for _, _, pi, _ in parts]).astype(np.int64),
        iou=np.concatenate([vi for *_, vi in parts]).astype(np.float64),
    )
