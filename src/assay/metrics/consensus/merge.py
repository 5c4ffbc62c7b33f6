"""Merging one task: the quorum, the weighted label vote and box median, and the triage of
the result (accept, adjudicate or keep)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assay.geometry.types import FloatArray
from assay.metrics.consensus._checks import TIE, check_unit, check_weights
from assay.metrics.consensus.clustering import cluster_regions
from assay.metrics.consensus.regions import AnnotatorRegions, Clusters, ConsensusResult

Triage = Literal["accept", "adjudicate", "keep"]


def _weighted_median(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted median of each column of values (m, d) with weights (m,) > 0; returns (d,).

    The smallest v with cumulative weight >= W/2; where the cumulative weight equals W/2
    exactly (within 1e-9 W), the mean of that value and the next (the ordinary median for
    equal weights).
    """
    order = np.argsort(values, axis=0, kind="stable")
    v = np.take_along_axis(values, order, axis=0)
    cw = np.cumsum(weights[order], axis=0)
    half = cw[-1] / 2.0
    tol = TIE * cw[-1]
    i = np.argmax(cw >= half - tol, axis=0)
    cols = np.arange(values.shape[1])
    nxt = np.minimum(i + 1, len(values) - 1)
    exact = np.abs(cw[i, cols] - half) <= tol
    return np.where(exact, (v[i, cols] + v[nxt, cols]) / 2.0, v[i, cols])


def merge_regions(
    annotations: Sequence[AnnotatorRegions | tuple[Any, Any]],
    weights: npt.ArrayLike | None = None,
    *,
    quorum: float = 0.5,
    iou_threshold: float = 0.5,
    clusters: Clusters | None = None,
) -> ConsensusResult:
    """Merge one task's n annotations into its consensus regions.

    annotations: n `AnnotatorRegions` (or (boxes, labels) pairs), boxes xyxy in pixels.
    weights: (n,) float >= 0 per annotator (None: uniform), e.g. from `reliability_weights`.
    quorum: in (0, 1], default 0.5: a cluster is kept when its members' weight is >=
        quorum × the total weight, i.e. ceil(quorum · n) annotators with uniform weights.
    iou_threshold: in (0, 1], default 0.5, see `cluster_regions`.
    clusters: the result of `cluster_regions(annotations, iou_threshold=...)` to reuse (the
        clustering does not depend on weights or quorum).

    >>> a = AnnotatorRegions([[0, 0, 10, 10]], ["cat"])
    >>> b = AnnotatorRegions([[0, 0, 12, 10]], ["cat"])
    >>> c = AnnotatorRegions([[2, 0, 12, 10], [50, 50, 60, 60]], ["dog", "cat"])
    >>> r = merge_regions([a, b, c])
    >>> r.boxes.tolist(), r.labels.tolist(), r.support.tolist(), r.tied
    ([[0.0, 0.0, 12.0, 10.0]], ['cat'], [3], False)
    """
    q = check_unit(quorum, "quorum")
    if clusters is None:
        clusters = cluster_regions(annotations, iou_threshold=iou_threshold)
    elif len(clusters.annotations) != len(annotations):
        raise ValueError("clusters were made from a different number of annotations")
    anns = clusters.annotations
    n = len(anns)
    w = check_weights(weights, n)
    total = w.sum()
    mem = clusters.members
    present = mem >= 0
    support_w = (present * w).sum(axis=1)
    kept = support_w >= q * total - TIE * total
    label_dtype = next((a.labels.dtype for a in anns if len(a)), np.dtype(object))

    boxes, labels, tied = [], [], []
    for c in np.flatnonzero(kept):
        who = np.flatnonzero(present[c] & (w > 0))
        member_boxes = np.stack([anns[a].boxes[mem[c, a]] for a in who])
        boxes.append(_weighted_median(member_boxes, w[who]))
        votes: dict[Any, float] = {}
        for a in who:
            label = anns[a].labels[mem[c, a]].item()
            votes[label] = votes.get(label, 0.0) + w[a]
        best = max(votes.values())
        top = sorted(k for k, v in votes.items() if v >= best - TIE * total)
        labels.append(top[0])
        tied.append(len(top) > 1)

    k = len(boxes)
    out_boxes = np.array(boxes, dtype=np.float64).reshape(k, 4)
    out_labels = np.array(labels) if k else np.zeros(0, label_dtype)
    out_mem = mem[kept]
    # sort the kept regions by (box, label): independent of the annotators' order
    label_rank = np.unique(out_labels.astype(object), return_inverse=True)[1] if k else []
    perm = np.lexsort((label_rank, *out_boxes.T[::-1])) if k else np.zeros(0, np.int64)
    out_boxes, out_labels, out_mem = out_boxes[perm], out_labels[perm], out_mem[perm]
    frac = (support_w[kept] / total)[perm]
    score = frac * clusters.mean_iou[kept][perm]

    # agreement: annotator a's F1 against the consensus, through cluster membership
    agree = np.ones(n)
    for a, ann in enumerate(anns):
        rows = np.flatnonzero(out_mem[:, a] >= 0)
        tp = sum(ann.labels[out_mem[r, a]].item() == out_labels[r].item() for r in rows)
        den = len(ann) + k
        agree[a] = 2.0 * tp / den if den else 1.0
    return ConsensusResult(
        boxes=out_boxes,
        labels=out_labels,
        score=score,
        support=present[kept][perm].sum(axis=1).astype(np.int64),
        support_fraction=frac,
        members=out_mem,
        tied_regions=np.array(tied, dtype=bool).reshape(k)[perm],
        annotator_agreement=agree,
        agreement=float(agree.mean()),
        n_dropped=int((~kept).sum()),
    )


def triage(
    result: ConsensusResult, *, adjudicate_below: float = 0.5, accept_at: float = 0.9
) -> Triage:
    """What to do with a task's consensus.

    "adjudicate" when a label vote tied or result.agreement < adjudicate_below; else "accept"
    (auto-accept as ground truth) when every annotator's agreement with the consensus is >=
    accept_at; else "keep" (the consensus stands, nobody is asked). Thresholds in [0, 1].
    """
    lo = check_unit(adjudicate_below, "adjudicate_below", low_open=False)
    hi = check_unit(accept_at, "accept_at", low_open=False)
    if result.tied or result.agreement < lo:
        return "adjudicate"
    if result.annotator_agreement.min() >= hi:
        return "accept"
    return "keep"
