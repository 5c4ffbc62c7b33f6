"""Detections matched to ground truth: the candidate (detection, GT) pairs with their IoUs,
then pycocotools' greedy matching in every (area range, IoU threshold) lane at once."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, BoxesXYWH, FloatArray, IntArray
from assay.metrics.coco.sorting import rank_in_runs

_PAIR_CHUNK = 4_000_000  # candidate (detection, GT) pairs per IoU block, bounds memory


def candidate_pairs(
    d_group: IntArray,
    d_boxes: BoxesXYWH,
    g_group: IntArray,
    g_boxes: BoxesXYWH,
    g_crowd: BoolArray,
    min_iou: float,
) -> tuple[IntArray, IntArray, FloatArray]:
    """All (detection, GT) pairs of the same group with IoU >= min_iou, ordered by detection
    then GT. IoU as pycocotools' C bbIou computes it, operation for operation."""
    lo = np.searchsorted(g_group, d_group, side="left")
    n_per = np.searchsorted(g_group, d_group, side="right") - lo
    ends = np.cumsum(n_per)
    out_d, out_g, out_iou = [], [], []
    start_det = 0
    n_dets = len(d_group)
    while start_det < n_dets:
        # Take detections until the block holds about _PAIR_CHUNK pairs.
        base = ends[start_det - 1] if start_det else 0
        stop = int(np.searchsorted(ends, base + _PAIR_CHUNK, side="right"))
        stop = max(stop, start_det + 1)
        cnt = n_per[start_det:stop]
        total = int(cnt.sum())
        if total:
            det = np.repeat(np.arange(start_det, stop), cnt)
            offs = np.cumsum(cnt) - cnt
            gt = np.arange(total) - np.repeat(offs - lo[start_det:stop], cnt)
            db = d_boxes[det]
            gb = g_boxes[gt]
            w = np.minimum(db[:, 2] + db[:, 0], gb[:, 2] + gb[:, 0]) - np.maximum(
                db[:, 0], gb[:, 0]
            )
            h = np.minimum(db[:, 3] + db[:, 1], gb[:, 3] + gb[:, 1]) - np.maximum(
                db[:, 1], gb[:, 1]
            )
            overlap = (w > 0) & (h > 0)
            inter = w * h
            da = db[:, 2] * db[:, 3]
            union = np.where(g_crowd[gt], da, da + gb[:, 2] * gb[:, 3] - inter)
            with np.errstate(divide="ignore", invalid="ignore"):
                iou = np.where(overlap, inter / union, 0.0)
            ok = iou >= min_iou
            out_d.append(det[ok])
            out_g.append(gt[ok])
            out_iou.append(iou[ok])
        start_det = stop
    if not out_d:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(out_d), np.concatenate(out_g), np.concatenate(out_iou)


def greedy_match(
    p_det: IntArray,
    p_gt: IntArray,
    p_iou: FloatArray,
    d_group: IntArray,
    g_ignore: BoolArray,
    g_crowd: BoolArray,
    thresholds: FloatArray,
    n_dets: int,
) -> tuple[IntArray, npt.NDArray[np.int32]]:
    """pycocotools' greedy matching for every (area range, IoU threshold) lane.

    Returns the detections that have a candidate pair (C,) and [AxTxC] int32: the GT (index
    into the sorted GT arrays) each of them matched in each lane, or -1. A detection takes,
    among GTs still free in its lane (crowds are always free) with IoU >= threshold, a
    not-ignored one if any, then the highest IoU, then the last one listed. Detections of one
    group go in rank order; groups are independent, so the loop runs over ranks with all
    groups at once.
    """
    a_count, t_count = g_ignore.shape[0], len(thresholds)
    det_pairs = np.bincount(p_det, minlength=n_dets)
    m_det = np.flatnonzero(det_pairs)
    col = np.cumsum(det_pairs > 0) - 1  # detection -> column
    det_gt = np.full((a_count, t_count, len(m_det)), -1, dtype=np.int32)
    if len(p_det) == 0:
        return m_det, det_gt
    over = p_iou[None, :] >= thresholds[:, None]  # [TxP]

    # A pair alone on both sides (its detection has no other candidate GT and its GT no other
    # candidate detection) matches exactly where its IoU reaches the threshold.
    gt_pairs = np.bincount(p_gt, minlength=g_ignore.shape[1])
    alone = (det_pairs[p_det] == 1) & (gt_pairs[p_gt] == 1)
    if alone.any():
        det_gt[:, :, col[p_det[alone]]] = np.where(over[:, alone], p_gt[alone], -1)
    rest = np.flatnonzero(~alone)
    if len(rest) == 0:
        return m_det, det_gt

    # Contended pairs. Preference inside a detection's pairs: (not ignored, IoU, GT position);
    # `pos` orders (IoU, GT position) and the not-ignored bonus lifts a pair above all others.
    p_det, p_gt, p_iou, over = p_det[rest], p_gt[rest], p_iou[rest], over[:, rest]
    n_pairs = len(p_det)
    pos = np.empty(n_pairs, dtype=np.int64)
    pos[np.lexsort((p_iou, p_det))] = np.arange(1, n_pairs + 1)  # lexsort is stable: GT order
    bonus = np.where(g_ignore[:, p_gt], 0, n_pairs + 1)  # [AxP]
    crowd = g_crowd[p_gt]
    # Step s handles the s-th contended detection of every group.
    det_has = np.zeros(n_dets, dtype=bool)
    det_has[p_det] = True
    cd = np.flatnonzero(det_has)
    step_of_det = np.zeros(n_dets, dtype=np.int64)
    step_of_det[cd] = rank_in_runs(d_group[cd])
    p_step = step_of_det[p_det]
    by_step = np.argsort(p_step, kind="stable")  # keeps detection, then GT, order
    step_bounds = np.searchsorted(p_step[by_step], np.arange(p_step.max() + 2))
    taken = np.zeros((a_count, t_count, g_ignore.shape[1]), dtype=bool)
    for s in range(len(step_bounds) - 1):
        idx = by_step[step_bounds[s] : step_bounds[s + 1]]
        g = p_gt[idx]
        dd = p_det[idx]
        free = crowd[idx][None, None, :] | ~taken[:, :, g]  # [AxTxP]
        key = np.where(free & over[None, :, idx], (pos[idx] + bonus[:, idx])[:, None, :], 0)
        seg = np.flatnonzero(np.r_[True, dd[1:] != dd[:-1]])
        best = np.maximum.reduceat(key, seg, axis=2)
        seg_len = np.diff(np.r_[seg, len(idx)])
        win = (key == np.repeat(best, seg_len, axis=2)) & (key > 0)
        a_i, t_i, j = np.nonzero(win)
        taken[a_i, t_i, g[j]] = True
        det_gt[a_i, t_i, col[dd[j]]] = g[j]
    return m_det, det_gt
