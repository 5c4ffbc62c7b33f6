"""pycocotools' default bbox evaluation parameters: IoU and recall thresholds, area ranges,
detections per image, and the names of the 12 summary stats."""

from __future__ import annotations

import numpy as np

from assay.geometry.types import FloatArray

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
