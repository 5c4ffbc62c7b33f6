"""COCO bbox evaluation: the 12 standard stats and per-class AP, equal to pycocotools.

`coco_evaluate` reproduces ``pycocotools.cocoeval.COCOeval(iouType="bbox")`` with its default
parameters (evaluate + accumulate + summarize), including its conventions:

- IoU of boxes [x, y, w, h]; against a crowd GT (``iscrowd=1``) it is
  intersection / area(detection).
- Per image and category, detections are ranked by score (a stable sort, so equal scores keep
  input order) and only the first 100 are evaluated. Each detection, best first, takes the
  unmatched GT with the highest IoU >= threshold (the last one listed on IoU ties); a GT that
  is not ignored beats an ignored one whatever their IoUs; a crowd GT can take any number of
  detections.
- A GT is ignored in an area range when it is a crowd or its ``area`` field (not its box)
  lies outside the range (bounds inclusive). A detection is ignored when it matches an ignored
  GT, or matches nothing and its box area w * h lies outside the range. Ignored detections
  count neither as true nor as false positives; ignored GTs are not counted in recall.
- Per category and area range, the detections of all images are ranked by score (ties: lower
  image id first, then input order); precision is made monotone (the max to its right) and
  read at the 101 recall thresholds 0, 0.01, ..., 1 (0 past the last recall reached).
- The GT ``ignore`` field has no effect (pycocotools overwrites it with ``iscrowd``), and a
  detection matched to a GT whose annotation id is 0 counts as unmatched (pycocotools stores
  matches by GT id and reads 0 as "no match"). Detections of a category that the GT does not
  list are skipped; `CocoEvaluation.skipped_detections` counts them.

The implementation is vectorised numpy, without loops over images, categories or
detections: IoUs of every (image, category) group in one flat pass (only pairs with IoU >=
0.5 are kept); the greedy matching of all groups in lockstep over detection ranks, for all
4 area ranges x 10 IoU thresholds at once (a pair that no other detection or GT competes for
is settled without the loop); the accumulation from radix sorts, counts at the true
positives only, and one segmented max for the precision envelope.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from assay.formats.coco import (
    CocoDetections,
    CocoFormatError,
    CocoGroundTruth,
    load_coco_dets,
    load_coco_gt,
)
from assay.geometry.types import BoolArray, BoxesXYWH, FloatArray, IntArray

# pycocotools' Params.setDetParams(), written the same way so the floats are the same.
IOU_THRESHOLDS: FloatArray = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1)
RECALL_THRESHOLDS: FloatArray = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1)
MAX_DETS: tuple[int, int, int] = (1, 10, 100)
AREA_RANGES: tuple[tuple[float, float], ...] = (
    (0.0**2, 1e5**2),
    (0.0**2, 32.0**2),
    (32.0**2, 96.0**2),
    (96.0**2, 1e5**2),
)
AREA_NAMES: tuple[str, ...] = ("all", "small", "medium", "large")
STAT_NAMES: tuple[str, ...] = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)
# (precision?, IoU threshold or None for all, area name, max dets) for each stat.
_STAT_SPECS: tuple[tuple[bool, float | None, str, int], ...] = (
    (True, None, "all", 100),
    (True, 0.5, "all", 100),
    (True, 0.75, "all", 100),
    (True, None, "small", 100),
    (True, None, "medium", 100),
    (True, None, "large", 100),
    (False, None, "all", 1),
    (False, None, "all", 10),
    (False, None, "all", 100),
    (False, None, "small", 100),
    (False, None, "medium", 100),
    (False, None, "large", 100),
)
_EPS = np.spacing(1)
_PAIR_CHUNK = 4_000_000  # candidate (detection, GT) pairs per IoU block, bounds memory


@dataclass(frozen=True)
class CategoryAP:
    """One category's results at area "all", 100 detections per image.

    ap: mean precision over IoU 0.50:0.95 and the 101 recall thresholds (-1 without GT).
    ap50, ap75: the same at IoU 0.50 and 0.75 only.
    num_gt: GT boxes that count (not crowd); num_dets: detections evaluated (at most 100 per
    image).
    """

    category_id: int
    name: str
    ap: float
    ap50: float
    ap75: float
    num_gt: int
    num_dets: int


@dataclass(frozen=True, eq=False)
class CocoEvaluation:
    """COCO bbox evaluation results; arrays are read-only.

    stats: (12,) float64 in `STAT_NAMES` order: AP, AP50, AP75, APs, APm, APl, AR1, AR10,
        AR100, ARs, ARm, ARl; each is the mean of the entries of `precision` / `recall` that
        are not -1, or -1 when all are.
    per_class: category id -> `CategoryAP`, in ascending id order (read-only mapping).
    precision: [TxRxKxAxM] float64, precision at IoU threshold t, recall threshold r,
        category k (ascending id), area range a (all, small, medium, large) and max
        detections m (1, 10, 100); -1 where the category has no GT that counts in that area
        range.
    recall: [TxKxAxM] float64, the highest recall reached; -1 as for precision.
    iou_thresholds (T=10), recall_thresholds (R=101), category_ids (K), area_ranges (A=4, 2),
        area_names, max_dets (M=3): the axes.
    skipped_detections: detections whose category the ground truth does not list.
    """

    stats: FloatArray
    stat_names: tuple[str, ...]
    per_class: Mapping[int, CategoryAP]
    precision: FloatArray
    recall: FloatArray
    iou_thresholds: FloatArray
    recall_thresholds: FloatArray
    category_ids: IntArray
    area_ranges: FloatArray
    area_names: tuple[str, ...]
    max_dets: tuple[int, ...]
    skipped_detections: int

    def as_dict(self) -> dict[str, float]:
        """Stat name -> value, e.g. {"AP": 0.372, "AP50": 0.581, ...}."""
        return dict(zip(self.stat_names, self.stats.tolist(), strict=True))


def coco_evaluate(
    gt: CocoGroundTruth | Mapping[str, Any] | str | os.PathLike[str],
    dets: CocoDetections | Sequence[Mapping[str, Any]] | str | os.PathLike[str],
) -> CocoEvaluation:
    """COCO bbox evaluation of detections against a ground truth, as pycocotools computes it.

    gt: parsed COCO instances JSON (dict with images, annotations, categories), a path to
        that file, or a `CocoGroundTruth`. Every image listed is evaluated, also those
        without annotations.
    dets: list of {image_id, category_id, bbox [x, y, w, h] in pixels, score} (the COCO
        results format), a path to that file, or a `CocoDetections`. Every image_id must be
        an image of `gt`.
    Returns a `CocoEvaluation`. Inputs are not modified; nothing is printed.

    Raises CocoFormatError naming the first bad entry (e.g.
    ``detections[3].image_id: 999 is not an image of the ground truth``).

    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "cat"}],
    ...       "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
    ...                        "bbox": [10, 10, 50, 40], "area": 2000, "iscrowd": 0}]}
    >>> dets = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 40], "score": 0.9}]
    >>> r = coco_evaluate(gt, dets)
    >>> round(r.as_dict()["AP"], 6), r.as_dict()["APs"], r.per_class[1].name
    (1.0, -1.0, 'cat')
    """
    if not isinstance(gt, CocoGroundTruth):
        gt = load_coco_gt(gt)
    if not isinstance(dets, CocoDetections):
        dets = load_coco_dets(dets, gt)
    return _evaluate(gt, dets)


# -- the evaluation ----------------------------------------------------------------------


class _Truth(NamedTuple):
    """GT sorted by (image, category) group, input order inside a group."""

    group: IntArray  # (G,) image index * K + category index, non-decreasing
    boxes: BoxesXYWH  # (G, 4)
    crowd: BoolArray  # (G,)
    zero_id: BoolArray  # (G,) annotation id == 0
    ignore: BoolArray  # [AxG] pycocotools' gtIgnore per area range
    npig: IntArray  # [KxA] GTs that count (not ignored) per category and area range


class _Dets(NamedTuple):
    """Detections of known categories, the first 100 by score of each (image, category)
    group, sorted by (group, -score, input order)."""

    group: IntArray  # (D,)
    rank: IntArray  # (D,) position inside the group
    cat: IntArray  # (D,) category index
    score_rank: IntArray  # (D,) dense rank of the score, 0 = highest
    n_scores: int  # distinct scores
    boxes: BoxesXYWH  # (D, 4)
    out: BoolArray  # [AxD] box area w * h outside the area range
    skipped: int  # detections of categories that the GT does not list


def _evaluate(gt: CocoGroundTruth, dets: CocoDetections) -> CocoEvaluation:
    img_ids = np.unique(gt.image_ids)
    cat_ids = np.unique(gt.category_ids)
    truth = _truth(gt, img_ids, cat_ids)
    d = _detections(dets, img_ids, cat_ids)
    thresholds = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)
    p_det, p_gt, p_iou = _candidate_pairs(
        d.group, d.boxes, truth.group, truth.boxes, truth.crowd, thresholds.min()
    )
    m_det, m_gt = _match(
        p_det, p_gt, p_iou, d.group, truth.ignore, truth.crowd, thresholds, len(d.group)
    )
    precision, recall, num_dets = _accumulate(truth, d, m_det, m_gt, len(cat_ids))

    stats = np.array([_summarize(precision, recall, *spec) for spec in _STAT_SPECS])
    names = gt.category_name
    per_class = {}
    for k, cid in enumerate(cat_ids.tolist()):
        s = precision[:, :, k, 0, len(MAX_DETS) - 1]
        per_class[cid] = CategoryAP(
            category_id=cid,
            name=names[cid],
            ap=_mean_valid(s),
            ap50=_mean_valid(s[_threshold_index(0.5)]),
            ap75=_mean_valid(s[_threshold_index(0.75)]),
            num_gt=int(truth.npig[k, 0]),
            num_dets=int(num_dets[k]),
        )
    return CocoEvaluation(
        stats=_ro(stats),
        stat_names=STAT_NAMES,
        per_class=MappingProxyType(per_class),
        precision=_ro(precision),
        recall=_ro(recall),
        iou_thresholds=_ro(IOU_THRESHOLDS.copy()),
        recall_thresholds=_ro(RECALL_THRESHOLDS.copy()),
        category_ids=_ro(cat_ids),
        area_ranges=_ro(np.array(AREA_RANGES)),
        area_names=AREA_NAMES,
        max_dets=MAX_DETS,
        skipped_detections=d.skipped,
    )


def _outside(area: FloatArray) -> BoolArray:
    """[AxN] area outside each area range (bounds inclusive, as pycocotools)."""
    lo = np.array([r[0] for r in AREA_RANGES])[:, None]
    hi = np.array([r[1] for r in AREA_RANGES])[:, None]
    return (area[None, :] < lo) | (area[None, :] > hi)


def _truth(gt: CocoGroundTruth, img_ids: IntArray, cat_ids: IntArray) -> _Truth:
    n_cats = len(cat_ids)
    g_cat = np.searchsorted(cat_ids, gt.ann_category_ids)
    group = np.searchsorted(img_ids, gt.ann_image_ids) * n_cats + g_cat
    order = np.argsort(group, kind="stable")
    crowd = gt.iscrowd[order]
    ignore = crowd[None, :] | _outside(gt.areas[order])
    g_cat = g_cat[order]
    npig = np.stack([np.bincount(g_cat[~ign], minlength=n_cats) for ign in ignore], axis=1).reshape(
        n_cats, len(AREA_RANGES)
    )
    return _Truth(
        group=group[order],
        boxes=gt.boxes[order],
        crowd=crowd,
        zero_id=gt.ann_ids[order] == 0,
        ignore=ignore,
        npig=npig.astype(np.int64),
    )


def _detections(dets: CocoDetections, img_ids: IntArray, cat_ids: IntArray) -> _Dets:
    n_cats = len(cat_ids)
    d_img = np.searchsorted(img_ids, dets.image_ids)
    if len(img_ids):
        unknown = np.flatnonzero(img_ids[np.minimum(d_img, len(img_ids) - 1)] != dets.image_ids)
    else:
        unknown = np.arange(len(dets))
    if len(unknown):
        i = unknown[0]
        raise CocoFormatError(
            f"detections[{i}].image_id", f"{dets.image_ids[i]} is not an image of the ground truth"
        )
    d_cat = np.searchsorted(cat_ids, dets.category_ids)
    known = d_cat < n_cats
    known[known] = cat_ids[d_cat[known]] == dets.category_ids[known]
    keep = np.flatnonzero(known)
    group = d_img[keep] * n_cats + d_cat[keep]
    # Scores as dense ranks, best first (equal scores share a rank), then one stable sort by
    # (group, score rank): input order inside ties, as pycocotools' mergesort.
    uniq, inv = np.unique(dets.scores[keep], return_inverse=True)
    score_rank = len(uniq) - 1 - inv.reshape(-1)
    order = _stable_argsort_by(group, score_rank, len(uniq))
    group = group[order]
    rank = _rank_in_runs(group)
    top = rank < MAX_DETS[-1]
    src = keep[order[top]]  # index into `dets`
    boxes = dets.boxes[src]
    return _Dets(
        group=group[top],
        rank=rank[top],
        cat=d_cat[src],
        score_rank=score_rank[order[top]],
        n_scores=len(uniq),
        boxes=boxes,
        out=_outside(boxes[:, 2] * boxes[:, 3]),
        skipped=len(dets) - len(keep),
    )


def _accumulate(
    truth: _Truth, d: _Dets, m_det: IntArray, m_gt: npt.NDArray[np.int32], n_cats: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """pycocotools' accumulate(): precision [TxRxKxAxM], recall [TxKxAxM] and the number of
    detections evaluated per category (K,)."""
    t_count, r_count, a_count = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), len(AREA_RANGES)
    m_count = len(MAX_DETS)
    n_dets = len(d.group)
    # Per category, detections of all images by (-score, image, input order): a stable sort
    # of the (image, category, -score, input order) order by (category, score rank).
    acc = _stable_argsort_by(d.cat, d.score_rank, d.n_scores)
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


def _stable_argsort_by(major: IntArray, minor: IntArray, n_minor: int) -> IntArray:
    """Stable argsort by (major, minor), non-negative integers with minor < n_minor."""
    if len(major) == 0 or int(major.max()) < 2**62 // max(n_minor, 1):
        return _stable_argsort(major * n_minor + minor)
    return np.lexsort((minor, major))  # the combined key would overflow int64


def _stable_argsort(keys: IntArray) -> IntArray:
    """np.argsort(keys, kind="stable") for non-negative integer keys, as 16-bit radix passes
    (numpy radix-sorts 16-bit keys), least significant first: O(n) per pass.

    >>> _stable_argsort(np.array([70000, 3, 70000, 0, 3])).tolist()
    [3, 1, 4, 0, 2]
    """
    order = np.arange(len(keys))
    if len(keys) == 0:
        return order
    top = int(keys.max())
    shift = 0
    while True:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def _rank_in_runs(keys: IntArray) -> IntArray:
    """Position of each element inside its run of equal consecutive keys.

    >>> _rank_in_runs(np.array([5, 5, 7, 7, 7, 2])).tolist()
    [0, 1, 0, 1, 2, 0]
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(n, dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    idx = np.arange(n)
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))


def _candidate_pairs(
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


def _match(
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
    step_of_det[cd] = _rank_in_runs(d_group[cd])
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


def _threshold_index(iou: float) -> int:
    return int(np.flatnonzero(iou == IOU_THRESHOLDS)[0])


def _mean_valid(s: FloatArray) -> float:
    valid = s[s > -1]
    return float(np.mean(valid)) if len(valid) else -1.0


def _summarize(
    precision: FloatArray, recall: FloatArray, ap: bool, iou: float | None, area: str, max_det: int
) -> float:
    """pycocotools' COCOeval.summarize()._summarize, same selection and same mean."""
    a = [AREA_NAMES.index(area)]
    m = [MAX_DETS.index(max_det)]
    s = precision if ap else recall
    if iou is not None:
        s = s[np.where(iou == IOU_THRESHOLDS)[0]]
    s = s[:, :, :, a, m] if ap else s[:, :, a, m]
    valid = s[s > -1]
    return float(np.mean(valid)) if len(valid) else -1.0


def _ro(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr
