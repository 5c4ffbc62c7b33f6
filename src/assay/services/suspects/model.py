"""Model-only evidence of GT errors: cleanlab's object-detection label-issue scores.

`cleanlab.object_detection.rank` is the reference method (ObjectLab): per GT box a swap and a
badly-located quality score, per predicted box an overlooked score, each in [0, 1] where low
means a likely issue. Here they become suspicions (1 - quality) beside the annotators' evidence.
cleanlab is heavy (it pulls in scikit-learn and pandas: seconds of start-up and tens of MiB):
only this module imports it, and only when a listing of suspects first needs model scores, so
a server that never lists suspects never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assay.geometry.types import Boxes, FloatArray


@dataclass(frozen=True)
class ImageBoxes:
    """One image: GT boxes (G, 4) xyxy pixels with labels, the model's boxes (P, 4) with labels
    and confidences in [0, 1]."""

    gt_boxes: Boxes
    gt_labels: Sequence[str]
    pred_boxes: Boxes
    pred_labels: Sequence[str]
    pred_scores: FloatArray


@dataclass(frozen=True)
class ModelSuspicion:
    """Per image: `swapped` and `badloc` (G,) per GT box, `missing` (P,) per predicted box
    (nan where cleanlab has no opinion), `image` 1 - cleanlab's label quality of the image."""

    swapped: FloatArray
    badloc: FloatArray
    missing: FloatArray
    image: float


def _inputs(
    images: Sequence[ImageBoxes],
) -> tuple[list[dict[str, np.ndarray]], list[np.ndarray], list[np.ndarray]]:
    """cleanlab's labels and predictions (one array per class and image), and per image the
    order cleanlab reads the predicted boxes in (class by class)."""
    classes = sorted({str(v) for im in images for v in (*im.gt_labels, *im.pred_labels)}) or [""]
    index = {c: i for i, c in enumerate(classes)}
    labels, predictions, orders = [], [], []
    for im in images:
        labels.append(
            {
                "bboxes": np.asarray(im.gt_boxes, dtype=np.float64).reshape(-1, 4),
                "labels": np.array([index[str(v)] for v in im.gt_labels], dtype=np.int64),
            }
        )
        boxes = np.asarray(im.pred_boxes, dtype=np.float64).reshape(-1, 4)
        codes = np.array([index[str(v)] for v in im.pred_labels], dtype=np.int64)
        rows = np.concatenate([boxes, np.asarray(im.pred_scores, dtype=np.float64)[:, None]], 1)
        per_class = np.empty(len(classes), dtype=object)
        for k in range(len(classes)):
            per_class[k] = rows[codes == k].reshape(-1, 5)
        predictions.append(per_class)
        orders.append(np.argsort(codes, kind="stable"))
    return labels, predictions, orders


def _unpermute(values: np.ndarray, order: np.ndarray) -> FloatArray:
    out = np.full(len(order), np.nan)
    out[order] = np.asarray(values, dtype=np.float64)
    return out


def model_suspicion(images: Sequence[ImageBoxes]) -> list[ModelSuspicion]:
    """cleanlab's scores for every image in one call per score kind."""
    if not images:
        return []
    # Loaded on first use, not at start-up (see the module's docstring).
    from cleanlab.object_detection import rank  # noqa: PLC0415

    labels, predictions, orders = _inputs(images)
    swap = rank.compute_swap_box_scores(labels=labels, predictions=predictions)
    badloc = rank.compute_badloc_box_scores(labels=labels, predictions=predictions)
    overlooked = rank.compute_overlooked_box_scores(labels=labels, predictions=predictions)
    quality = rank.get_label_quality_scores(labels, predictions, verbose=False)
    return [
        ModelSuspicion(
            swapped=1.0 - np.asarray(swap[i], dtype=np.float64),
            badloc=1.0 - np.asarray(badloc[i], dtype=np.float64),
            missing=1.0 - _unpermute(overlooked[i], orders[i]),
            image=float(1.0 - quality[i]),
        )
        for i in range(len(images))
    ]
