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
detections, in the order `evaluate` runs it: `groups` sorts GT and detections by (image,
category) group; `matching` computes the IoUs of every group in one flat pass (only pairs with
IoU >= 0.5 are kept) and runs the greedy matching of all groups in lockstep over detection
ranks, for all 4 area ranges x 10 IoU thresholds at once (a pair that no other detection or GT
competes for is settled without the loop); `accumulation` builds precision and recall from
radix sorts (`sorting`), counts at the true positives only, and one segmented max for the
precision envelope. `params` holds pycocotools' default parameters.
"""

from __future__ import annotations

from assay.metrics.coco.evaluate import CategoryAP, CocoEvaluation, coco_evaluate
from assay.metrics.coco.params import (
    AREA_NAMES,
    AREA_RANGES,
    IOU_THRESHOLDS,
    MAX_DETS,
    RECALL_THRESHOLDS,
    STAT_NAMES,
)

__all__ = [
    "AREA_NAMES",
    "AREA_RANGES",
    "IOU_THRESHOLDS",
    "MAX_DETS",
    "RECALL_THRESHOLDS",
    "STAT_NAMES",
    "CategoryAP",
    "CocoEvaluation",
    "coco_evaluate",
]
