"""Pure numpy geometry: regions as arrays, IoU matrices, keypoint similarity.

Conventions: pixels, origin at the image's top-left corner, x right, y down; axis-aligned boxes
as xyxy; rotated boxes as [cx, cy, w, h, angle_deg] with the angle clockwise on screen about the
centre; masks as COCO RLE. Every `*_matrix(a, b)` returns (len(a), len(b)) float64 in [0, 1],
rows for `a` (ground truth, by convention) and columns for `b` (the annotation or prediction).
No database, no HTTP: importable on its own.
"""

from assay.geometry.boxes import (
    box_area,
    check_boxes,
    iou_matrix,
    pad_flat,
    pad_ragged,
    xywh_to_xyxy,
    xyxy_to_xywh,
)
from assay.geometry.keypoints import COCO_PERSON_SIGMAS, oks_matrix, point_similarity_matrix
from assay.geometry.masks import (
    rle_area,
    rle_compress,
    rle_counts,
    rle_decode,
    rle_decompress,
    rle_encode,
    rle_iou_matrix,
)
from assay.geometry.polygons import as_geometries, polygon_iou_matrix, polygons_from_points
from assay.geometry.rotated import (
    check_rotated,
    convex_intersection_area,
    rotated_corners,
    rotated_from_top_left,
    rotated_iou_matrix,
    rotated_to_xyxy,
    xyxy_to_rotated,
)

__all__ = [
    "COCO_PERSON_SIGMAS",
    "as_geometries",
    "box_area",
    "check_boxes",
    "check_rotated",
    "convex_intersection_area",
    "iou_matrix",
    "oks_matrix",
    "pad_flat",
    "pad_ragged",
    "point_similarity_matrix",
    "polygon_iou_matrix",
    "polygons_from_points",
    "rle_area",
    "rle_compress",
    "rle_counts",
    "rle_decode",
    "rle_decompress",
    "rle_encode",
    "rle_iou_matrix",
    "rotated_corners",
    "rotated_from_top_left",
    "rotated_iou_matrix",
    "rotated_to_xyxy",
    "xywh_to_xyxy",
    "xyxy_to_rotated",
    "xyxy_to_xywh",
]
