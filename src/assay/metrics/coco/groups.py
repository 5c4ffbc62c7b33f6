"""The ground truth and the detections as flat arrays sorted by (image, category) group, with
pycocotools' ignore flags per area range and its cut of 100 detections per group."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from assay.formats.coco import CocoDetections, CocoFormatError, CocoGroundTruth
from assay.geometry.types import BoolArray, BoxesXYWH, FloatArray, IntArray
from assay.metrics.coco.params import AREA_RANGES, MAX_DETS
from assay.metrics.coco.sorting import rank_in_runs, stable_argsort_by


class Truth(NamedTuple):
    """GT sorted by (image, category) group, input order inside a group."""

    group: IntArray  # (G,) image index * K + category index, non-decreasing
    boxes: BoxesXYWH  # (G, 4)
    crowd: BoolArray  # (G,)
    zero_id: BoolArray  # (G,) annotation id == 0
    ignore: BoolArray  # [AxG] pycocotools' gtIgnore per area range
    npig: IntArray  # [KxA] GTs that count (not ignored) per category and area range


class Dets(NamedTuple):
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


def _outside(area: FloatArray) -> BoolArray:
    """[AxN] area outside each area range (bounds inclusive, as pycocotools)."""
    lo = np.array([r[0] for r in AREA_RANGES])[:, None]
    hi = np.array([r[1] for r in AREA_RANGES])[:, None]
    return (area[None, :] < lo) | (area[None, :] > hi)


def group_truth(gt: CocoGroundTruth, img_ids: IntArray, cat_ids: IntArray) -> Truth:
    """The GT by group of the sorted `img_ids` x `cat_ids`, with its ignore flags."""
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
    return Truth(
        group=group[order],
        boxes=gt.boxes[order],
        crowd=crowd,
        zero_id=gt.ann_ids[order] == 0,
        ignore=ignore,
        npig=npig.astype(np.int64),
    )


def group_detections(dets: CocoDetections, img_ids: IntArray, cat_ids: IntArray) -> Dets:
    """The detections by group, best 100 of each; CocoFormatError for an unknown image."""
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
    order = stable_argsort_by(group, score_rank, len(uniq))
    group = group[order]
    rank = rank_in_runs(group)
    top = rank < MAX_DETS[-1]
    src = keep[order[top]]  # index into `dets`
    boxes = dets.boxes[src]
    return Dets(
        group=group[top],
        rank=rank[top],
        cat=d_cat[src],
        score_rank=score_rank[order[top]],
        n_scores=len(uniq),
        boxes=boxes,
        out=_outside(boxes[:, 2] * boxes[:, 3]),
        skipped=len(dets) - len(keep),
    )
