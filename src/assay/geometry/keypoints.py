"""Keypoints: COCO object keypoint similarity (OKS) and a distance similarity for single points.

Keypoint sets are (N, K, 3) [x, y, v] in pixels, origin top-left; v is COCO's visibility
(0 not labeled, 1 labeled but hidden, 2 visible); only v > 0 counts on the ground-truth side.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, FloatArray

__all__ = ["COCO_PERSON_SIGMAS", "oks_matrix", "point_similarity_matrix"]

# COCO's per-keypoint sigmas for the 17 person keypoints (nose ... right ankle).
COCO_PERSON_SIGMAS = (
    np.array(
        [
            0.26,
            0.25,
            0.25,
            0.35,
            0.35,
            0.79,
            0.79,
            0.72,
            0.72,
            0.62,
            0.62,
            1.07,
            1.07,
            0.87,
            0.87,
            0.89,
            0.89,
        ]
    )
    / 10.0
)


def oks_matrix(
    gt: npt.ArrayLike,
    dt: npt.ArrayLike,
    sigmas: npt.ArrayLike,
    areas: npt.ArrayLike,
    gt_boxes: npt.ArrayLike | None = None,
) -> FloatArray:
    """Object keypoint similarity between every ground-truth and detected keypoint set, as
    pycocotools' COCOeval.computeOks (transposed: rows are ground truth).

    gt: (N, K, 3) [x, y, v] pixels; dt: (M, K, 2) or (M, K, 3) pixels (v ignored).
    sigmas: (K,) per-keypoint constants (COCO_PERSON_SIGMAS for people).
    areas: (N,) ground-truth object areas in square pixels (the scale s^2).
    gt_boxes: (N, 4) xyxy pixels, only used for ground truth with no labeled keypoint: then
    COCO measures each detected point's distance to the box grown by its size on every side.
    Without boxes such ground truth scores 0.
    Returns (N, M) float64 in [0, 1]:
    OKS = mean over labeled k of exp(-d_k^2 / (2 * s^2 * (2 sigma_k)^2)), s^2 = area + eps.

    >>> gt = np.array([[[10.0, 10.0, 2.0]]])
    >>> oks_matrix(gt, np.array([[[10.0, 10.0]]]), [0.1], [100.0])
    array([[1.]])
    """
    g = np.asarray(gt, dtype=np.float64)
    d = np.asarray(dt, dtype=np.float64)
    sig = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    k = len(sig)
    if g.ndim == 2 and g.size == 0:
        g = g.reshape(0, k, 3)
    if d.ndim == 2 and d.size == 0:
        d = d.reshape(0, k, 2)
    if g.ndim != 3 or g.shape[1:] != (k, 3):
        raise ValueError(f"gt must have shape (N, {k}, 3) [x, y, v], got {g.shape}")
    if d.ndim != 3 or d.shape[1] != k or d.shape[2] not in (2, 3):
        raise ValueError(f"dt must have shape (M, {k}, 2 or 3), got {d.shape}")
    area = np.asarray(areas, dtype=np.float64).reshape(-1)
    if area.shape != (len(g),):
        raise ValueError(f"areas must have shape ({len(g)},), got {area.shape}")
    var = (2 * sig) ** 2  # (K,)
    vis: BoolArray = np.asarray(g[:, :, 2] > 0, dtype=bool)  # (N, K)
    dx = d[None, :, :, 0] - g[:, None, :, 0]  # (N, M, K)
    dy = d[None, :, :, 1] - g[:, None, :, 1]
    none_vis: BoolArray = np.asarray(~vis.any(axis=1), dtype=bool)  # (N,)
    if none_vis.any() and gt_boxes is not None:
        bb = np.asarray(gt_boxes, dtype=np.float64).reshape(len(g), 4)
        w, h = bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1]
        x0, x1 = (bb[:, 0] - w)[:, None, None], (bb[:, 0] + 2 * w)[:, None, None]
        y0, y1 = (bb[:, 1] - h)[:, None, None], (bb[:, 1] + 2 * h)[:, None, None]
        xd, yd = d[None, :, :, 0], d[None, :, :, 1]
        bdx = np.maximum(0, x0 - xd) + np.maximum(0, xd - x1)
        bdy = np.maximum(0, y0 - yd) + np.maximum(0, yd - y1)
        dx = np.where(none_vis[:, None, None], bdx, dx)
        dy = np.where(none_vis[:, None, None], bdy, dy)
    e = (dx**2 + dy**2) / var / (area[:, None, None] + np.spacing(1)) / 2
    sim = np.exp(-e)
    if gt_boxes is not None:
        weight = np.where(none_vis[:, None], True, vis)[:, None, :]  # all k when none labeled
    else:
        weight = vis[:, None, :]
    n = weight.sum(axis=-1)
    out: FloatArray = np.zeros((len(g), len(d)), dtype=np.float64)
    np.divide((sim * weight).sum(axis=-1), n, out=out, where=n > 0)
    return out


def point_similarity_matrix(
    a: npt.ArrayLike, b: npt.ArrayLike, sigma: float | npt.ArrayLike
) -> FloatArray:
    """Similarity in [0, 1] of single points (Label Studio keypoints), usable as an IoU.

    a: (N, 2), b: (M, 2) [x, y] pixels; sigma: pixels, one for all or (N,) one per row of `a`
    (per ground-truth point, as COCO's OKS takes the constant of the ground truth's keypoint
    type). Returns (N, M) exp(-d^2 / (2 sigma^2)), 1 for equal points; 0.5 at
    d = sigma * sqrt(2 ln 2) ~ 1.18 sigma, so the default matching threshold 0.5 accepts points
    about one sigma apart. Any positive finite sigma works: the distance is divided by sigma
    before squaring, so a tiny sigma gives 0 (or 1 for equal points), never nan.

    >>> point_similarity_matrix([[0, 0]], [[3, 4]], sigma=5).round(4)
    array([[0.6065]])
    >>> point_similarity_matrix([[0, 0], [0, 0]], [[3, 4]], sigma=[5, 2.5]).round(4)
    array([[0.6065],
           [0.1353]])
    """
    pa = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    pb = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    sig = np.asarray(sigma, dtype=np.float64)
    if sig.ndim:
        sig = sig.reshape(-1)
        if sig.shape != (len(pa),):
            raise ValueError(f"sigma must be a number or have shape ({len(pa)},), got {sig.shape}")
    if not (np.isfinite(sig).all() and (sig > 0).all()):
        raise ValueError(f"sigma must be > 0 pixels and finite, got {sigma}")
    per_row = sig.reshape(-1, 1, 1) if sig.ndim else sig
    with np.errstate(over="ignore"):  # a tiny sigma: inf, exp(-inf) = 0
        z = (pa[:, None, :] - pb[None, :, :]) / per_row  # (N, M, 2) distances in sigmas
        out: FloatArray = np.exp(-0.5 * (z**2).sum(axis=-1))
    return out
