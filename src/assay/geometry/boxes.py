"""Axis-aligned boxes: IoU matrices, xywh <-> xyxy, padding ragged region sets into batches.

Boxes are float64 [x_min, y_min, x_max, y_max] (xyxy) in pixels, origin top-left. Label
Studio stores percent of the image size: convert in `assay.formats` before calling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, Boxes, BoxesXYWH, FloatArray, IntArray

__all__ = [
    "box_area",
    "check_boxes",
    "iou_matrix",
    "pad_flat",
    "pad_ragged",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
]


def check_boxes(boxes: npt.ArrayLike, name: str = "boxes") -> Boxes:
    """Return `boxes` as float64 (..., N, 4) xyxy; raise ValueError naming the first bad box.

    A box is bad when a coordinate is not finite or x_max < x_min or y_max < y_min.

    >>> check_boxes([[0, 0, -1, 5]])
    Traceback (most recent call last):
    ...
    ValueError: boxes[0] = [0.0, 0.0, -1.0, 5.0] has negative width or height (xyxy expected)
    """
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 4)
    if arr.ndim < 2 or arr.shape[-1] != 4:
        raise ValueError(
            f"{name} must have shape (N, 4) [x_min, y_min, x_max, y_max], got {arr.shape}"
        )
    finite: BoolArray = np.asarray(np.isfinite(arr).all(axis=-1), dtype=bool)
    bad = ~finite | (arr[..., 2] < arr[..., 0]) | (arr[..., 3] < arr[..., 1])
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        index = ", ".join(map(str, where))
        why = (
            "is not finite" if not finite[where] else "has negative width or height (xyxy expected)"
        )
        raise ValueError(f"{name}[{index}] = {arr[where].tolist()} {why}")
    return arr


def box_area(boxes: npt.ArrayLike) -> FloatArray:
    """Areas in square pixels of (..., N, 4) xyxy boxes; returns (..., N)."""
    b = check_boxes(boxes)
    return (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Pairwise IoU of axis-aligned boxes.

    a: (..., N, 4) float64, [x_min, y_min, x_max, y_max] in pixels, origin top-left.
    b: (..., M, 4) float64, same convention; leading batch dimensions must broadcast with a's.
    Returns (..., N, M) float64 in [0, 1]; 0 where boxes do not overlap or both have zero area.
    Raises ValueError naming the first box with negative size or a non-finite coordinate.

    >>> iou_matrix(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10]])).round(3)
    array([[0.333]])
    """
    a = check_boxes(a, "a")
    b = check_boxes(b, "b")
    a_ = a[..., :, None, :]
    b_ = b[..., None, :, :]
    iw = np.minimum(a_[..., 2], b_[..., 2]) - np.maximum(a_[..., 0], b_[..., 0])
    ih = np.minimum(a_[..., 3], b_[..., 3]) - np.maximum(a_[..., 1], b_[..., 1])
    np.maximum(iw, 0.0, out=iw)
    np.maximum(ih, 0.0, out=ih)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a[..., :, None] + area_b[..., None, :] - inter
    out: FloatArray = np.zeros(inter.shape, dtype=np.float64)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def xywh_to_xyxy(boxes: npt.ArrayLike) -> Boxes:
    """(..., 4) [x_min, y_min, width, height] -> [x_min, y_min, x_max, y_max], pixels.

    >>> xywh_to_xyxy([[10, 20, 5, 5]])
    array([[10., 20., 15., 25.]])
    """
    b = np.array(boxes, dtype=np.float64)
    if b.ndim == 1 and b.size == 0:
        b = b.reshape(0, 4)
    if b.shape[-1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) [x, y, w, h], got {b.shape}")
    b[..., 2:] += b[..., :2]
    return b


def xyxy_to_xywh(boxes: npt.ArrayLike) -> BoxesXYWH:
    """(..., 4) [x_min, y_min, x_max, y_max] -> [x_min, y_min, width, height], pixels.

    >>> xyxy_to_xywh([[10, 20, 15, 25]])
    array([[10., 20.,  5.,  5.]])
    """
    b = np.array(boxes, dtype=np.float64)
    if b.ndim == 1 and b.size == 0:
        b = b.reshape(0, 4)
    if b.shape[-1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) xyxy, got {b.shape}")
    b[..., 2:] -= b[..., :2]
    return b


def pad_ragged(
    arrays: Sequence[npt.ArrayLike], fill: float | int = 0, dtype: npt.DTypeLike = None
) -> tuple[npt.NDArray[np.generic], BoolArray]:
    """Stack B arrays of shape (n_b, *rest) into (B, max n_b, *rest) plus a (B, max n_b) mask.

    The mask is True where a real row sits; padded rows hold `fill`. Use it to batch one region
    set per task for `iou_matrix` and `assay.metrics.match_batch`.

    >>> padded, mask = pad_ragged([np.ones((2, 4)), np.ones((0, 4))])
    >>> padded.shape, mask.tolist()
    ((2, 2, 4), [[True, True], [False, False]])
    """
    arrs = [np.asarray(x, dtype=dtype) for x in arrays]
    counts = np.fromiter((len(x) for x in arrs), dtype=np.int64, count=len(arrs))
    if not arrs:
        return np.zeros((0, 0), dtype=dtype or np.float64), np.zeros((0, 0), dtype=bool)
    nonempty = [x for x in arrs if len(x)]
    rest = nonempty[0].shape[1:] if nonempty else arrs[0].shape[1:]
    flat = (
        np.concatenate([x.reshape((len(x), *rest)) for x in arrs])
        if nonempty
        else np.zeros((0, *rest), dtype=arrs[0].dtype)
    )
    return pad_flat(flat, counts, fill)


def pad_flat(
    values: npt.ArrayLike, counts: npt.ArrayLike, fill: float | int = 0
) -> tuple[npt.NDArray[np.generic], BoolArray]:
    """Scatter concatenated rows (R, *rest), `counts` (B,) rows per task, into (B, C, *rest).

    C = max(counts). Returns the padded array (holding `fill` in padding) and a (B, C) mask.
    Vectorised: this is how rows read from a database in task order become a batch.

    >>> padded, mask = pad_flat(np.arange(3.0), [2, 0, 1], fill=-1)
    >>> padded.tolist(), mask.sum(axis=1).tolist()
    ([[0.0, 1.0], [-1.0, -1.0], [2.0, -1.0]], [2, 0, 1])
    """
    vals = np.asarray(values)
    cnt: IntArray = np.asarray(counts, dtype=np.int64)
    if cnt.ndim != 1 or (cnt < 0).any():
        raise ValueError("counts must be a 1-D array of non-negative integers")
    if int(cnt.sum()) != len(vals):
        raise ValueError(f"counts sum to {int(cnt.sum())} but there are {len(vals)} rows")
    width = int(cnt.max()) if len(cnt) else 0
    mask = np.arange(width)[None, :] < cnt[:, None]
    padded = np.full((len(cnt), width, *vals.shape[1:]), fill, dtype=vals.dtype)
    padded[mask] = vals
    return padded, mask
