"""Suspected errors in a task's ground truth, from the annotators who did the task and a model.

Pure numpy: boxes are (N, 4) float64 xyxy in pixels, origin top-left; scores are in [0, 1],
higher = more suspicious. Four kinds of suspected GT error:

- ``spurious``: a GT region most annotators did not draw (no box of theirs at IoU >= `loose`);
- ``swapped``: a GT region most annotators drew with another label;
- ``badloc``: a GT region the annotators drew as a tight cluster of boxes away from it;
- ``missing``: an object most annotators drew that the GT lacks.

`annotator_evidence` scores each kind from the annotators alone; `combine` mixes those scores
with model-only scores (cleanlab's, computed in the services) as one more voter. The formulas
are in docs/metrics.md ("GT suspects").

>>> gt = np.array([[0, 0, 10, 10.0]])
>>> ev = annotator_evidence(gt, np.array(["cat"]), np.array([[0, 0, 10, 10.0]] * 3),
...     np.array(["dog"] * 3), np.array([0, 1, 2]), 3)
>>> float(ev.swapped[0]), ev.swap_label[0]
(1.0, 'dog')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assay.geometry.boxes import iou_matrix
from assay.geometry.types import Boxes, FloatArray, IntArray

StrArray = npt.NDArray[np.str_]

KINDS = ("missing", "spurious", "swapped", "badloc")


@dataclass(frozen=True, eq=False)
class AnnotatorEvidence:
    """What the R annotators of one task say about its G GT regions and what GT lacks.

    Per GT region (G,): `matched` (G, R) index into the annotators' boxes or -1, `iou` (G, R)
    the IoU of that match (0 where none); `spurious`, `swapped`, `badloc` the scores;
    `swap_label` the label most matching annotators gave instead ("" when none);
    `consensus` (G, 4) the median of the matching annotators' boxes (nan where none).
    Per missing object (M,): `missing` its score, `missing_boxes` (M, 4) the median box of the
    cluster, `missing_labels` its majority label, `missing_members` (M, R) the annotators' box
    index or -1.
    """

    n_annotators: int
    matched: IntArray
    iou: FloatArray
    spurious: FloatArray
    swapped: FloatArray
    swap_label: StrArray
    badloc: FloatArray
    consensus: Boxes
    missing: FloatArray
    missing_boxes: Boxes
    missing_labels: StrArray
    missing_members: IntArray


def _match_one(iou: FloatArray, loose: float) -> tuple[IntArray, FloatArray]:
    """Best one-to-one matching of GT rows to one annotator's boxes (columns), label-blind."""
    g = iou.shape[0]
    idx = np.full(g, -1, dtype=np.int64)
    val = np.zeros(g)
    if iou.size == 0:
        return idx, val
    # scipy loads on first use: ~65 MiB a server would otherwise hold from its start.
    from scipy.optimize import linear_sum_assignment  # noqa: PLC0415

    rows, cols = linear_sum_assignment(-iou)
    ok = iou[rows, cols] >= loose
    idx[rows[ok]] = cols[ok]
    val[rows[ok]] = iou[rows[ok], cols[ok]]
    return idx, val


def _majority(labels: StrArray, keep: npt.NDArray[np.bool_]) -> tuple[str, int]:
    if not keep.any():
        return "", 0
    values, counts = np.unique(labels[keep], return_counts=True)
    best = int(np.argmax(counts))
    return str(values[best]), int(counts[best])


def annotator_evidence(
    gt_boxes: Boxes,
    gt_labels: StrArray,
    boxes: Boxes,
    labels: StrArray,
    owner: IntArray,
    n_annotators: int,
    *,
    loose: float = 0.1,
    cluster_iou: float = 0.5,
) -> AnnotatorEvidence:
    """Score each GT region and each object the GT lacks from R annotators' boxes.

    gt_boxes (G, 4), gt_labels (G,); boxes (A, 4), labels (A,), owner (A,) the annotator of
    each box in 0..R-1; `n_annotators` R counts annotators with an empty result too.
    A GT region and an annotator's box correspond when a label-blind one-to-one matching per
    annotator pairs them at IoU >= `loose`; annotators' leftover boxes of different annotators
    at IoU >= `cluster_iou` form the objects the GT may lack.
    """
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, dtype=str)
    labels = np.asarray(labels, dtype=str)
    owner = np.asarray(owner, dtype=np.int64)
    g, r = len(gt_boxes), int(n_annotators)
    iou_all = iou_matrix(gt_boxes, boxes) if len(boxes) and g else np.zeros((g, len(boxes)))
    matched = np.full((g, r), -1, dtype=np.int64)
    iou = np.zeros((g, r))
    for k in range(r):  # a handful of annotators per task; regions stay vectorised
        cols = np.flatnonzero(owner == k)
        idx, val = _match_one(iou_all[:, cols], loose)
        matched[:, k] = np.where(idx >= 0, cols[np.maximum(idx, 0)] if len(cols) else -1, -1)
        iou[:, k] = val
    found = matched >= 0
    denom = max(r, 1)
    spurious = 1.0 - found.sum(axis=1) / denom if r else np.zeros(g)
    # labels the matching annotators gave, "" where none matched
    given = np.where(found, labels[np.maximum(matched, 0)] if len(labels) else "", "")
    other = found & (given != gt_labels[:, None])
    swapped = np.zeros(g)
    swap_label = np.full(g, "", dtype=object)
    for i in np.flatnonzero(other.any(axis=1)):  # only GT regions someone relabelled
        lab, n = _majority(given[i], other[i])
        swapped[i], swap_label[i] = n / denom, lab
    consensus = np.full((g, 4), np.nan)
    badloc = np.zeros(g)
    if g and r and len(boxes):
        member = np.where(found[..., None], boxes[np.maximum(matched, 0)], np.nan)  # (G, R, 4)
        some = found.any(axis=1)
        consensus[some] = np.nanmedian(member[some], axis=1)
        has = found.sum(axis=1) >= 2
        cons_ok = np.where(has[:, None], consensus, 0.0)
        to_gt = np.diag(iou_matrix(cons_ok, gt_boxes)) if g else np.zeros(0)
        # tightness: mean IoU of each member box to its cluster's median box
        flat = np.where(found[..., None], member, 0.0).reshape(-1, 4)
        rep = np.repeat(cons_ok, r, axis=0)
        lo = np.maximum(flat[:, :2], rep[:, :2])
        hi = np.minimum(flat[:, 2:], rep[:, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        union = (
            np.prod(flat[:, 2:] - flat[:, :2], axis=1)
            + np.prod(rep[:, 2:] - rep[:, :2], axis=1)
            - inter
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            each = np.where(union > 0, inter / union, 0.0).reshape(g, r)
        tight = np.where(has, (each * found).sum(axis=1) / np.maximum(found.sum(axis=1), 1), 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            away = np.clip(1.0 - to_gt / np.where(tight > 0, tight, 1.0), 0.0, 1.0)
        badloc = np.where(has, found.sum(axis=1) / denom * away, 0.0)
    miss = _missing(boxes, labels, owner, r, matched, cluster_iou)
    return AnnotatorEvidence(
        n_annotators=r,
        matched=matched,
        iou=iou,
        spurious=np.asarray(spurious, dtype=np.float64),
        swapped=swapped,
        swap_label=swap_label.astype(str),
        badloc=badloc,
        consensus=consensus,
        missing=miss[0],
        missing_boxes=miss[1],
        missing_labels=miss[2],
        missing_members=miss[3],
    )


def _missing(
    boxes: Boxes,
    labels: StrArray,
    owner: IntArray,
    r: int,
    matched: IntArray,
    cluster_iou: float,
) -> tuple[FloatArray, Boxes, StrArray, IntArray]:
    """Clusters of annotators' boxes no GT region took: connected components of boxes of
    different annotators at IoU >= `cluster_iou`; score = distinct annotators / R."""
    taken = np.zeros(len(boxes), dtype=bool)
    taken[matched[matched >= 0]] = True
    left = np.flatnonzero(~taken)
    empty = (np.zeros(0), np.zeros((0, 4)), np.zeros(0, dtype=str), np.zeros((0, r), np.int64))
    if not len(left) or not r:
        return empty
    sub = iou_matrix(boxes[left], boxes[left])
    link = (sub >= cluster_iou) & (owner[left][:, None] != owner[left][None, :])
    i, j = np.nonzero(link)
    # scipy loads on first use: ~65 MiB a server would otherwise hold from its start.
    from scipy.sparse import coo_matrix  # noqa: PLC0415
    from scipy.sparse.csgraph import connected_components  # noqa: PLC0415

    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(left), len(left)))
    n, comp = connected_components(graph, directed=False)
    members = np.full((n, r), -1, dtype=np.int64)
    members[comp, owner[left]] = left  # one box per annotator and cluster (the last one wins)
    counts = (members >= 0).sum(axis=1)
    med = np.full((n, 4), np.nan)
    labs = np.full(n, "", dtype=object)
    for c in range(n):  # one small cluster each
        idx = members[c][members[c] >= 0]
        med[c] = np.median(boxes[idx], axis=0)
        labs[c] = _majority(labels[idx], np.ones(len(idx), dtype=bool))[0]
    return counts / r, med, labs.astype(str), members


def combine(annotator: FloatArray, n_annotators: int, model: FloatArray | None) -> FloatArray:
    """The combined suspicion: the model counts as one more voter beside R annotators,
    ``(R * a + m) / (R + 1)``; `a` alone without a model, `m` alone without annotators.
    `model` may hold nan where the model says nothing (then `a` alone)."""
    a = np.asarray(annotator, dtype=np.float64)
    if model is None:
        return a
    m = np.asarray(model, dtype=np.float64)
    if n_annotators <= 0:
        return np.nan_to_num(m)
    mixed = (n_annotators * a + m) / (n_annotators + 1)
    return np.where(np.isnan(m), a, mixed)
