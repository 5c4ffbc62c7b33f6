"""`coco_evaluate` and its results: the evaluation's steps (group, match, accumulate) run in
order, then the 12 summary stats and the per-category AP, as pycocotools summarizes."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from assay.formats.coco import CocoDetections, CocoGroundTruth, load_coco_dets, load_coco_gt
from assay.geometry.types import FloatArray, IntArray
from assay.metrics.coco.accumulation import accumulate
from assay.metrics.coco.groups import group_detections, group_truth
from assay.metrics.coco.matching import candidate_pairs, greedy_match
from assay.metrics.coco.params import (
    AREA_NAMES,
    AREA_RANGES,
    IOU_THRESHOLDS,
    MAX_DETS,
    RECALL_THRESHOLDS,
    STAT_NAMES,
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


def _evaluate(gt: CocoGroundTruth, dets: CocoDetections) -> CocoEvaluation:
    img_ids = np.unique(gt.image_ids)
    cat_ids = np.unique(gt.category_ids)
    truth = group_truth(gt, img_ids, cat_ids)
    d = group_detections(dets, img_ids, cat_ids)
    thresholds = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)
    p_det, p_gt, p_iou = candidate_pairs(
        d.group, d.boxes, truth.group, truth.boxes, truth.crowd, thresholds.min()
    )
    m_det, m_gt = greedy_match(
        p_det, p_gt, p_iou, d.group, truth.ignore, truth.crowd, thresholds, len(d.group)
    )
    precision, recall, num_dets = accumulate(truth, d, m_det, m_gt, len(cat_ids))

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
