"""Confusion matrix over labels, from matchings, with an "unmatched" row and column.

Rows are ground-truth labels, columns predicted labels, both label codes 0..L-1, and index L is
"unmatched": a matched pair adds 1 at [gt label, predicted label]; a ground-truth region with no
partner adds 1 at [gt label, L] (missed); a prediction with no partner adds 1 at [L, predicted
label] (extra). [L, L] stays 0. Off-diagonal label cells can only fill from a label-unaware
matching (`match_regions(..., label_aware=False)`), which is what a confusion matrix wants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assay.geometry.types import IntArray
from assay.metrics.matching import BatchMatching, Matching

__all__ = ["UNMATCHED", "confusion_matrix", "confusion_matrix_batch", "encode_labels"]

UNMATCHED = "unmatched"


def encode_labels(labels: npt.ArrayLike, vocabulary: Sequence[str]) -> IntArray:
    """Label names (N,) -> int64 codes (N,), the positions in `vocabulary`.

    Raises ValueError naming the first label that is not in the vocabulary.

    >>> encode_labels(["dog", "cat", "dog"], ["cat", "dog"]).tolist()
    [1, 0, 1]
    """
    arr = np.asarray(labels).reshape(-1)
    vocab = np.asarray(list(vocabulary))
    if not len(arr):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(vocab, kind="stable")
    pos = np.searchsorted(vocab[order], arr)
    pos = np.minimum(pos, len(vocab) - 1) if len(vocab) else pos
    found = vocab[order][pos] == arr if len(vocab) else np.zeros(len(arr), bool)
    if not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise ValueError(f"labels[{i}] = {arr[i].item()!r} is not one of {list(vocabulary)}")
    return order[pos].astype(np.int64)


def confusion_matrix(
    matchings: Sequence[Matching],
    gt_labels: Sequence[npt.ArrayLike],
    pred_labels: Sequence[npt.ArrayLike],
    n_labels: int,
) -> IntArray:
    """(L + 1, L + 1) int64 counts over many tasks; per task a Matching and its label codes.

    >>> from assay.metrics.matching import match_regions
    >>> iou = np.array([[0.9, 0.0], [0.0, 0.0]])
    >>> m = match_regions(iou, [0, 1], [1, 0], label_aware=False)
    >>> confusion_matrix([m], [[0, 1]], [[1, 0]], n_labels=2).tolist()
    [[0, 1, 0], [0, 0, 1], [1, 0, 0]]
    """
    if not (len(matchings) == len(gt_labels) == len(pred_labels)):
        raise ValueError("matchings, gt_labels and pred_labels must have one entry per task")
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    for m, gl, pl in zip(matchings, gt_labels, pred_labels, strict=True):
        g = np.asarray(gl, dtype=np.int64)
        p = np.asarray(pl, dtype=np.int64)
        rows += [g[m.gt_idx], g[m.unmatched_gt], np.full(len(m.unmatched_pred), n_labels)]
        cols += [p[m.pred_idx], np.full(len(m.unmatched_gt), n_labels), p[m.unmatched_pred]]
    return _count(np.concatenate([*rows, []]), np.concatenate([*cols, []]), n_labels)


def confusion_matrix_batch(
    matching: BatchMatching, gt_labels: npt.ArrayLike, pred_labels: npt.ArrayLike, n_labels: int
) -> IntArray:
    """(L + 1, L + 1) int64 counts over a batch; labels (B, N) / (B, M) int codes, padded."""
    gl = np.asarray(gt_labels, dtype=np.int64)
    pl = np.asarray(pred_labels, dtype=np.int64)
    pfg, gfp = matching.pred_for_gt, matching.gt_for_pred
    hit_b, hit_g = np.nonzero(pfg >= 0)
    miss = matching.gt_mask & (pfg < 0)
    extra = matching.pred_mask & (gfp < 0)
    rows = np.concatenate([gl[hit_b, hit_g], gl[miss], np.full(int(extra.sum()), n_labels)])
    cols = np.concatenate(
        [pl[hit_b, pfg[hit_b, hit_g]], np.full(int(miss.sum()), n_labels), pl[extra]]
    )
    return _count(rows, cols, n_labels)


def _count(rows: npt.ArrayLike, cols: npt.ArrayLike, n_labels: int) -> IntArray:
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    size = n_labels + 1
    if len(r) and (r.min() < 0 or r.max() > n_labels or c.min() < 0 or c.max() > n_labels):
        raise ValueError(f"label codes must lie in [0, {n_labels})")
    return np.bincount(r * size + c, minlength=size * size).reshape(size, size).astype(np.int64)
