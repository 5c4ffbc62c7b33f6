"""Array aliases shared by `assay.geometry` and `assay.metrics`.

Conventions everywhere in the pure core: coordinates in pixels, origin at the image's top-left
corner, x to the right, y down; rotation in degrees, clockwise as seen on screen (y down).
A leading `...` in a shape means optional batch dimensions (one per task in a batch).
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Boxes = npt.NDArray[np.float64]  # (N, 4) [x_min, y_min, x_max, y_max] (xyxy), pixels
BoxesXYWH = npt.NDArray[np.float64]  # (N, 4) [x_min, y_min, width, height], pixels
RotatedBoxes = npt.NDArray[np.float64]  # (N, 5) [cx, cy, w, h, angle_deg] centre format, pixels
Points = npt.NDArray[np.float64]  # (N, 2) [x, y], pixels
Keypoints = npt.NDArray[np.float64]  # (N, K, 3) [x, y, visibility] per keypoint, pixels
Labels = npt.NDArray[Any]  # (N,) label codes (int) or names (str), compared with ==
Geometries = npt.NDArray[np.object_]  # (N,) shapely geometries


class Rle(TypedDict):
    """COCO run-length encoding of a binary mask of `size` = [height, width].

    `counts` alternates runs of 0 and 1 pixels in column-major (Fortran) order, starting with
    a (possibly empty) run of 0s; either a list of ints (uncompressed) or COCO's compressed
    ASCII string.
    """

    size: list[int]
    counts: list[int] | str
