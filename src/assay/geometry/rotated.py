"""Rotated boxes: corners, Label Studio conversion, exact IoU by vectorised convex clipping.

A rotated box is float64 [cx, cy, w, h, angle_deg]: centre in pixels (origin top-left, y down),
width and height in pixels before rotation, and the rotation in degrees clockwise as seen on
screen, about the centre. Label Studio instead rotates about the box's top-left corner (x, y):
convert with `rotated_from_top_left` (pixels) before calling.

The intersection of two boxes is computed by Sutherland-Hodgman clipping of one quadrilateral
by the other's four edges, for all candidate pairs at once (numpy, no loop over pairs); pairs
whose axis-aligned envelopes do not overlap are skipped and get IoU 0.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, Boxes, FloatArray, RotatedBoxes

__all__ = [
    "check_rotated",
    "convex_intersection_area",
    "rotated_corners",
    "rotated_from_top_left",
    "rotated_iou_matrix",
    "rotated_to_xyxy",
    "xyxy_to_rotated",
]

_MAX_VERTICES = 12  # a quad clipped by 4 half-planes has <= 8 vertices; room for round-off


def check_rotated(boxes: npt.ArrayLike, name: str = "boxes") -> RotatedBoxes:
    """Return float64 (..., N, 5) [cx, cy, w, h, angle_deg]; ValueError names the first bad box."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 5)
    if arr.ndim < 2 or arr.shape[-1] != 5:
        raise ValueError(
            f"{name} must have shape (N, 5) [cx, cy, w, h, angle_deg], got {arr.shape}"
        )
    finite: BoolArray = np.asarray(np.isfinite(arr).all(axis=-1), dtype=bool)
    bad = ~finite | (arr[..., 2] < 0) | (arr[..., 3] < 0)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        why = "is not finite" if not finite[where] else "has negative width or height"
        raise ValueError(f"{name}[{', '.join(map(str, where))}] = {arr[where].tolist()} {why}")
    return arr


def rotated_corners(boxes: npt.ArrayLike) -> FloatArray:
    """Corners of (..., N, 5) rotated boxes as (..., N, 4, 2) pixels.

    Order: the unrotated top-left, top-right, bottom-right, bottom-left corners, each turned
    by angle_deg clockwise on screen about the centre (positive orientation in x/y terms).

    >>> (rotated_corners([[5, 5, 10, 2, 90]]).round(6) + 0.0).tolist()
    [[[6.0, 0.0], [6.0, 10.0], [4.0, 10.0], [4.0, 0.0]]]
    """
    b = check_rotated(boxes)
    theta = np.deg2rad(b[..., 4])
    cos, sin = np.cos(theta), np.sin(theta)
    hw, hh = b[..., 2] / 2, b[..., 3] / 2
    dx = np.stack([-hw, hw, hw, -hw], axis=-1)  # (..., N, 4)
    dy = np.stack([-hh, -hh, hh, hh], axis=-1)
    x = b[..., 0:1] + dx * cos[..., None] - dy * sin[..., None]
    y = b[..., 1:2] + dx * sin[..., None] + dy * cos[..., None]
    return np.stack([x, y], axis=-1)


def rotated_from_top_left(
    x: npt.ArrayLike, y: npt.ArrayLike, w: npt.ArrayLike, h: npt.ArrayLike, angle_deg: npt.ArrayLike
) -> RotatedBoxes:
    """Label Studio's rectangle (top-left corner x, y, size w, h, rotation about that corner,
    degrees clockwise; all in pixels) -> (N, 5) centre-format rotated boxes.

    >>> rotated_from_top_left([0], [0], [10], [2], [90]).round(6).tolist()
    [[-1.0, 5.0, 10.0, 2.0, 90.0]]
    """
    x, y, w, h, a = (np.asarray(v, dtype=np.float64) for v in (x, y, w, h, angle_deg))
    theta = np.deg2rad(a)
    cos, sin = np.cos(theta), np.sin(theta)
    cx = x + (w / 2) * cos - (h / 2) * sin
    cy = y + (w / 2) * sin + (h / 2) * cos
    return np.stack(np.broadcast_arrays(cx, cy, w, h, a), axis=-1)


def xyxy_to_rotated(boxes: npt.ArrayLike) -> RotatedBoxes:
    """(..., 4) xyxy boxes -> (..., 5) rotated boxes with angle 0."""
    b = np.asarray(boxes, dtype=np.float64)
    if b.size == 0:
        b = b.reshape(0, 4)
    cx = (b[..., 0] + b[..., 2]) / 2
    cy = (b[..., 1] + b[..., 3]) / 2
    return np.stack([cx, cy, b[..., 2] - b[..., 0], b[..., 3] - b[..., 1], 0 * cx], axis=-1)


def rotated_to_xyxy(boxes: npt.ArrayLike) -> Boxes:
    """Axis-aligned envelopes (..., N, 4) xyxy of (..., N, 5) rotated boxes."""
    c = rotated_corners(boxes)
    return np.concatenate([c.min(axis=-2), c.max(axis=-2)], axis=-1)


def rotated_iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Pairwise exact IoU of rotated boxes.

    a: (..., N, 5) [cx, cy, w, h, angle_deg], pixels, degrees clockwise about the centre.
    b: (..., M, 5) same; leading batch dimensions must broadcast with a's.
    Returns (..., N, M) float64 in [0, 1]; 0 where boxes do not overlap or have zero area.

    >>> rotated_iou_matrix([[0, 0, 2, 2, 0]], [[0, 0, 2, 2, 45]]).round(4)
    array([[0.7071]])
    """
    a = check_rotated(a, "a")
    b = check_rotated(b, "b")
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, lead + a.shape[-2:])
    b = np.broadcast_to(b, lead + b.shape[-2:])
    ca, cb = rotated_corners(a), rotated_corners(b)
    area_a = a[..., 2] * a[..., 3]
    area_b = b[..., 2] * b[..., 3]
    env_a = np.concatenate([ca.min(axis=-2), ca.max(axis=-2)], axis=-1)[..., :, None, :]
    env_b = np.concatenate([cb.min(axis=-2), cb.max(axis=-2)], axis=-1)[..., None, :, :]
    cand = (np.minimum(env_a[..., 2], env_b[..., 2]) > np.maximum(env_a[..., 0], env_b[..., 0])) & (
        np.minimum(env_a[..., 3], env_b[..., 3]) > np.maximum(env_a[..., 1], env_b[..., 1])
    )
    cand &= (area_a[..., :, None] > 0) & (area_b[..., None, :] > 0)
    out = np.zeros(cand.shape, dtype=np.float64)
    idx = np.nonzero(cand)
    if len(idx[0]):
        ia, ib = (*idx[:-2], idx[-2]), (*idx[:-2], idx[-1])
        inter = convex_intersection_area(ca[ia], cb[ib])
        union = area_a[ia] + area_b[ib] - inter
        out[idx] = np.clip(inter / union, 0.0, 1.0)
    return out


def convex_intersection_area(subject: npt.ArrayLike, clip: npt.ArrayLike) -> FloatArray:
    """Areas (P,) of the intersections of P pairs of convex polygons with V vertices each.

    subject, clip: (P, V, 2) vertices in positive orientation (counter-clockwise in x/y terms,
    as `rotated_corners` returns them). Sutherland-Hodgman, vectorised over the P pairs.
    """
    subj = np.asarray(subject, dtype=np.float64)
    clp = np.asarray(clip, dtype=np.float64)
    p, v = subj.shape[0], subj.shape[1]
    buf = np.zeros((p, _MAX_VERTICES, 2))
    buf[:, :v] = subj
    n = np.full(p, v, dtype=np.int64)
    slots = np.arange(_MAX_VERTICES)
    for e in range(clp.shape[1]):
        e0 = clp[:, e][:, None, :]  # (P, 1, 2)
        e1 = clp[:, (e + 1) % clp.shape[1]][:, None, :]
        ex, ey = e1[..., 0] - e0[..., 0], e1[..., 1] - e0[..., 1]
        # side > 0: left of the edge, i.e. inside a positively oriented polygon
        side = ex * (buf[..., 1] - e0[..., 1]) - ey * (buf[..., 0] - e0[..., 0])  # (P, S)
        live = slots[None, :] < n[:, None]
        nxt = np.where(slots[None, :] + 1 < n[:, None], slots[None, :] + 1, 0)
        q = np.take_along_axis(buf, nxt[..., None], axis=1)
        sq = np.take_along_axis(side, nxt, axis=1)
        inside_p, inside_q = side >= 0, sq >= 0
        cross = live & (inside_p != inside_q)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(cross, side / (side - sq), 0.0)
        inter_pt = buf + t[..., None] * (q - buf)
        keep_q = live & inside_q
        # per slot: first the crossing point (if any), then q (if inside)
        cand = np.stack([inter_pt, q], axis=2).reshape(p, 2 * _MAX_VERTICES, 2)
        valid = np.stack([cross, keep_q], axis=2).reshape(p, 2 * _MAX_VERTICES)
        pos = np.cumsum(valid, axis=1) - 1
        valid &= pos < _MAX_VERTICES
        buf = np.zeros((p, _MAX_VERTICES, 2))
        r, c = np.nonzero(valid)
        buf[r, pos[r, c]] = cand[r, c]
        n = valid.sum(axis=1)
    # shoelace; pad the tail with the first vertex so the wrap-around terms vanish
    live = slots[None, :] < n[:, None]
    closed = np.where(live[..., None], buf, buf[:, :1, :])
    x, y = closed[..., 0], closed[..., 1]
    xn, yn = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    area: FloatArray = 0.5 * np.abs((x * yn - xn * y).sum(axis=1))
    area[n < 3] = 0.0
    return area
