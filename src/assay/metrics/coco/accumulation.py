"""pycocotools' accumulate(): from the matches, precision at the 101 recall thresholds and
the recall reached, per IoU threshold, category, area range and detections per image."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, FloatArray, IntArray
from assay.metrics.coco.groups import Dets, Truth
from assay.metrics.coco.params import AREA_RANGES, IOU_THRESHOLDS, MAX_DETS, RECALL_THRESHOLDS
from assay.metrics.coco.sorting import stable_argsort_by

_EPS = np.spacing(1)


def accumulate(
    truth: Truth, d: Dets, m_det: IntArray, m_gt: npt.NDArray[np.int32], n_cats: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """pycocotools' accumulate(): precision [TxRxKxAxM], recall [TxKxAxM] and the number of
    detections evaluated per category (K,)."""
    t_count, r_count, a_count = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), len(AREA_RANGES)
    m_count = len(MAX_DETS)
    n_dets = len(d.group)
    # Per category, detections of all images by (-score, image, input order): a stable sort
    # of the (image, category, -score, input order) order by (category, score rank).
    acc = stable_argsort_by(d.cat, d.score_rank, d.n_scores)
    acc_pos = np.empty(n_dets, dtype=np.int64)
    acc_pos[acc] = np.arange(n_dets)
    cat_start = np.searchsorted(d.cat[acc], np.arange(n_cats + 1))
    # The matched detections as columns in accumulation order.
    col_of_det = np.full(n_dets, -1, dtype=np.int64)
    col_of_det[m_det] = np.arange(len(m_det))
    col_order = col_of_det[acc]
    col_order = col_order[col_order >= 0]
    m_det, m_gt = m_det[col_order], m_gt[:, :, col_order]
    cols = _Columns(pos=acc_pos[m_det], cat=d.cat[m_det])
    col_rank = d.rank[m_det]
    rank_acc = d.rank[acc]
    in_top = {m: rank_acc < m for m in MAX_DETS if m < MAX_DETS[-1]}  # [D] per cut-off
    any_zero_id = bool(truth.zero_id.any())
    v_first = _first_tp_needed(truth.npig)  # [KxAxR]
    # Filled as [AxMxTxKxR] / [AxMxTxK], transposed at the end.
    precision = np.empty((a_count, m_count, t_count, n_cats, r_count))
    recall = np.empty((a_count, m_count, t_count, n_cats))
    for a in range(a_count):
        # pycocotools' dtIgnore / dtMatches per lane, for the matched columns only: a true
        # positive counts; a detection matched to an ignored GT does not; any other counts
        # unless its box is outside the area range (`counted_unmatched`).
        got = m_gt[a]  # [TxC]
        matched = got >= 0
        g_ign = matched & truth.ignore[a][got]  # got == -1 reads the last GT: masked
        tp = matched & ~g_ign
        if any_zero_id:
            tp &= ~truth.zero_id[got]
        out = d.out[a][m_det]
        delta = (tp & out).astype(np.int8) - (g_ign & ~out)  # counted - assumed
        tp_cells = _Cells.of(tp)
        de_cells = _Cells.of(delta)
        de_v = delta.reshape(-1)[de_cells.flat]
        counted_unmatched = ~d.out[a][acc]  # [D] in accumulation order
        has_gt = truth.npig[:, a] > 0
        for m, max_det in enumerate(MAX_DETS):
            if max_det >= MAX_DETS[-1]:
                tp_m, de_m, de_v_m = tp_cells, de_cells, de_v
                base = np.cumsum(counted_unmatched, dtype=np.int64)
            else:
                tp_m = tp_cells.where(col_rank[tp_cells.col] < max_det)
                keep = col_rank[de_cells.col] < max_det
                de_m, de_v_m = de_cells.where(keep), de_v[keep]
                base = np.cumsum(counted_unmatched & in_top[max_det], dtype=np.int64)
            q, n_tp = _precision_at_recalls(
                tp_m, de_m, de_v_m, cols, base, cat_start, v_first[:, a, :], t_count
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                rc = n_tp / truth.npig[:, a][None, :]
            recall[a, m] = np.where(has_gt[None, :], rc, -1.0)
            precision[a, m] = np.where(has_gt[None, :, None], q, -1.0)
    return (
        np.ascontiguousarray(precision.transpose(2, 4, 3, 0, 1)),
        np.ascontiguousarray(recall.transpose(2, 3, 0, 1)),
        np.diff(cat_start),
    )


def _first_tp_needed(npig: IntArray) -> IntArray:
    """[KxAxR] the least number of true positives v with v / npig >= recall threshold r,
    in float64 as pycocotools compares (its searchsorted of tp / npig); 0 where npig == 0."""
    n = np.maximum(npig, 1).astype(np.float64)[:, :, None]
    thr = RECALL_THRESHOLDS[None, None, :]
    guess = np.maximum(np.floor(thr * n) - 2, 0)
    cand = guess[..., None] + np.arange(6)  # the exact answer is within guess .. guess + 5
    ok = (cand / n[..., None]) >= thr[..., None]
    v = guess + np.argmax(ok, axis=-1)
    return np.where(npig[:, :, None] > 0, v, 0).astype(np.int64)


class _Cells(NamedTuple):
    """Non-zero cells of a [TxC] array, sorted by (threshold, column)."""

    flat: IntArray  # t * C + column
    t: IntArray
    col: IntArray

    @classmethod
    def of(cls, arr: np.ndarray) -> _Cells:
        flat = np.flatnonzero(arr)
        t = flat // arr.shape[1] if arr.shape[1] else flat
        return cls(flat, t, flat - t * arr.shape[1])

    def where(self, keep: BoolArray) -> _Cells:
        return _Cells(self.flat[keep], self.t[keep], self.col[keep])


class _Columns(NamedTuple):
    """The detections that have a candidate GT, in accumulation order."""

    pos: IntArray  # (C,) position in accumulation order, increasing
    cat: IntArray  # (C,) category index, non-decreasing


def _precision_at_recalls(
    tp: _Cells,
    de: _Cells,
    de_v: npt.NDArray[np.int8],
    cols: _Columns,
    base: IntArray,
    cat_start: IntArray,
    v_first: IntArray,
    t_count: int,
) -> tuple[FloatArray, IntArray]:
    """Interpolated precision of every (threshold, category) run at the recall thresholds.

    Detections are in accumulation order (category, -score, image, input order); category k
    holds positions cat_start[k]:cat_start[k+1]. base: [D] running count of the detections
    that count (are not ignored) if unmatched. `tp` are the true-positive (threshold, column)
    cells; `de` the cells where counting differs from `base`'s assumption, by de_v (+1 or
    -1). v_first: [KxR] as from `_first_tp_needed`. Returns q [TxKxR] and the true-positive
    counts [TxK].

    At the v-th true positive of a run, precision is v / (counted so far + eps), as
    pycocotools computes tp / (fp + tp + eps). Precision only rises at true positives, so
    its monotone envelope read at recall threshold r is the max over the true positives
    numbered >= max(v_first, 1), and 0 when the run has fewer.
    """
    n_cats = len(cat_start) - 1
    r_count = v_first.shape[1]
    if n_cats == 0:
        return np.zeros((t_count, 0, r_count)), np.zeros((t_count, 0), dtype=np.int64)
    k = cols.cat[tp.col]
    run = tp.t * n_cats + k  # non-decreasing
    n_tp = np.bincount(run, minlength=t_count * n_cats)
    run_start = np.cumsum(n_tp) - n_tp
    v = np.arange(1, len(run) + 1) - run_start[run]  # true positive number inside its run
    counted = base[cols.pos[tp.col]] - np.concatenate([[0], base])[cat_start[k]]
    if len(de.flat):
        # + the corrections of the same run up to this column: each correction applies from
        # the first true positive at or after its column to the end of its run.
        de_run = de.t * n_cats + cols.cat[de.col]
        first = np.searchsorted(tp.flat, de.flat, side="left")
        last = run_start[de_run] + n_tp[de_run]
        w = de_v.astype(np.float64)
        diff = np.bincount(first, w, len(run) + 1) - np.bincount(last, w, len(run) + 1)
        counted += np.cumsum(diff[:-1]).astype(np.int64)
    pr = v.astype(np.float64) / (counted.astype(np.float64) + _EPS)

    # Envelope at the runs' entries s (0-based, non-decreasing in r): max over pr[s:].
    n_tp = n_tp.reshape(t_count, n_cats)
    s = np.minimum(np.maximum(v_first, 1)[None, :, :] - 1, n_tp[:, :, None])  # [TxKxR]
    idx = (run_start.reshape(t_count, n_cats)[:, :, None] + s).reshape(-1)
    pr_ext = np.append(pr, 0.0)  # so that idx == len(pr) is a valid reduceat index
    part = np.maximum.reduceat(pr_ext, idx)  # max over [idx[i], idx[i+1]) where non-empty
    part[np.r_[idx[1:] == idx[:-1], idx[-1] >= len(pr)]] = 0.0
    part = part.reshape(t_count, n_cats, r_count)
    env = np.maximum.accumulate(part[:, :, ::-1], axis=2)[:, :, ::-1]
    q = np.where(s < n_tp[:, :, None], env, 0.0)
    return q, n_tp
