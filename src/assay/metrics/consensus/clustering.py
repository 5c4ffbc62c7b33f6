"""Clustering of one task's regions across annotators (average linkage, one region per
annotator per cluster): the first step of a consensus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.geometry.boxes import iou_matrix
from assay.geometry.types import IntArray
from assay.metrics.consensus._checks import check_unit
from assay.metrics.consensus.regions import AnnotatorRegions, Clusters


def _as_annotations(
    annotations: Sequence[AnnotatorRegions | tuple[Any, Any]],
) -> tuple[AnnotatorRegions, ...]:
    out = tuple(a if isinstance(a, AnnotatorRegions) else AnnotatorRegions(*a) for a in annotations)
    if not out:
        raise ValueError("annotations must hold at least one annotator's regions")
    return out


def _dense_rank(keys: Sequence[npt.NDArray[Any]]) -> IntArray:
    """Rank of each row by the given key columns (first column primary); equal rows share it."""
    n = len(keys[0])
    order = np.lexsort(tuple(reversed(keys)))
    rank = np.zeros(n, dtype=np.int64)
    if n:
        stacked = [k[order] for k in keys]
        new = np.zeros(n, dtype=bool)
        new[0] = True
        for k in stacked:
            new[1:] |= k[1:] != k[:-1]
        rank[order] = np.cumsum(new) - 1
    return rank


def cluster_regions(
    annotations: Sequence[AnnotatorRegions | tuple[Any, Any]], *, iou_threshold: float = 0.5
) -> Clusters:
    """Cluster one task's regions across annotators, at most one region per annotator per cluster.

    annotations: n annotators' `AnnotatorRegions` (or (boxes, labels) pairs), in any order.
    iou_threshold: in (0, 1], default 0.5.

    Label-agnostic (labels are voted later). Permuting the annotators permutes the columns of
    `members` and nothing else, as long as no annotator repeats a region identical in
    coordinates and label to another annotator's (then input order breaks the tie).

    >>> a = AnnotatorRegions([[0, 0, 10, 10]], ["cat"])
    >>> b = AnnotatorRegions([[1, 0, 10, 10], [50, 50, 60, 60]], ["dog", "cat"])
    >>> cluster_regions([a, b]).members.tolist()
    [[0, 0], [-1, 1]]
    """
    t = check_unit(iou_threshold, "iou_threshold")
    anns = _as_annotations(annotations)
    n = len(anns)
    sizes = np.array([len(a) for a in anns], dtype=np.int64)
    owner = np.repeat(np.arange(n), sizes)
    local = np.concatenate([np.arange(s) for s in sizes]) if n else np.zeros(0, np.int64)
    boxes = np.concatenate([a.boxes for a in anns]).reshape(-1, 4)
    labels = np.concatenate([a.labels.astype(object) for a in anns])
    r = len(boxes)
    iou = iou_matrix(boxes, boxes)
    _, label_rank = np.unique(labels, return_inverse=True) if r else (None, np.zeros(0, np.int64))
    key = _dense_rank([boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], label_rank])

    # candidate pairs i < j of different annotators, ordered by IoU then by canonical keys
    pi, pj = np.triu_indices(r, k=1)
    cand = (owner[pi] != owner[pj]) & (iou[pi, pj] >= t) & (iou[pi, pj] > 0)
    pi, pj = pi[cand], pj[cand]
    lo, hi = np.minimum(key[pi], key[pj]), np.maximum(key[pi], key[pj])
    order = np.lexsort((pj, pi, hi, lo, -iou[pi, pj]))

    cluster_of = np.arange(r)
    groups: dict[int, list[int]] = {i: [i] for i in range(r)}
    owners: dict[int, int] = {i: 1 << int(owner[i]) for i in range(r)}  # annotator bit sets
    for p in order:
        ci, cj = int(cluster_of[pi[p]]), int(cluster_of[pj[p]])
        if ci == cj or owners[ci] & owners[cj]:
            continue
        gi, gj = groups[ci], groups[cj]
        if iou[np.ix_(gi, gj)].mean() < t:
            continue
        keep, gone = min(ci, cj), max(ci, cj)
        groups[keep] = gi + gj
        owners[keep] = owners[ci] | owners[cj]
        cluster_of[groups[gone]] = keep
        del groups[gone], owners[gone]

    members = np.full((len(groups), n), -1, dtype=np.int64)
    mean_iou = np.ones(len(groups))
    sort_keys = []
    for c, g in enumerate(groups.values()):
        members[c, owner[g]] = local[g]
        if len(g) > 1:
            sub = iou[np.ix_(g, g)]
            mean_iou[c] = sub[np.triu_indices(len(g), k=1)].mean()
        sort_keys.append(sorted(key[g].tolist()))
    perm = sorted(range(len(groups)), key=lambda c: sort_keys[c])
    return Clusters(
        annotations=anns, members=members[perm], mean_iou=mean_iou[perm], iou_threshold=t
    )
