"""Polygons: building shapely geometry arrays and the pairwise IoU matrix.

Polygons are (K, 2) arrays of [x, y] vertices in pixels, origin top-left, K >= 3, either
orientation, closed implicitly. Self-intersecting polygons (a "bow tie" an annotator drew) are
repaired with shapely's make_valid (each lobe counts) before any area is taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from assay.geometry.types import FloatArray, Geometries

if TYPE_CHECKING:
    import shapely

__all__ = ["as_geometries", "polygon_iou_matrix", "polygons_from_points"]


def polygons_from_points(points: Sequence[npt.ArrayLike]) -> Geometries:
    """N polygons from N vertex arrays (K_i, 2) in pixels -> (N,) object array of shapely
    Polygons, built in one vectorised call and repaired where invalid.

    Raises ValueError naming the first polygon with fewer than 3 vertices or a bad shape.

    >>> polygons_from_points([[[0, 0], [4, 0], [4, 4]]])[0].area
    8.0
    """
    arrs = [np.asarray(p, dtype=np.float64) for p in points]
    for i, p in enumerate(arrs):
        if p.ndim != 2 or p.shape[1] != 2:
            raise ValueError(f"polygon[{i}] must have shape (K, 2) [x, y], got {p.shape}")
        if len(p) < 3:
            raise ValueError(f"polygon[{i}] needs at least 3 vertices, got {len(p)}")
        if not np.isfinite(p).all():
            raise ValueError(f"polygon[{i}] has a coordinate that is not finite")
    if not arrs:
        return np.empty(0, dtype=object)
    # shapely loads on first use, not with the server (memory: docs/architecture.md).
    import shapely  # noqa: PLC0415

    counts = np.fromiter((len(p) for p in arrs), dtype=np.int64, count=len(arrs))
    # close each ring: append its first vertex
    closed = np.concatenate([np.concatenate([p, p[:1]]) for p in arrs])
    rings = shapely.linearrings(closed, indices=np.repeat(np.arange(len(arrs)), counts + 1))
    return _repair(shapely.polygons(rings))


def as_geometries(polygons: Sequence[npt.ArrayLike] | Geometries) -> Geometries:
    """Accept a shapely geometry array as is (repairing invalid ones) or build one from
    vertex arrays with `polygons_from_points`."""
    if isinstance(polygons, np.ndarray) and polygons.dtype == object:
        return _repair(polygons)
    # shapely loads on first use, not with the server (memory: docs/architecture.md).
    import shapely  # noqa: PLC0415

    seq = list(polygons)
    if seq and isinstance(seq[0], shapely.Geometry):
        return _repair(np.asarray(seq, dtype=object))
    return polygons_from_points(seq)


def polygon_iou_matrix(
    a: Sequence[npt.ArrayLike] | Geometries, b: Sequence[npt.ArrayLike] | Geometries
) -> FloatArray:
    """Pairwise IoU of polygons.

    a: N polygons, b: M polygons, each a (K, 2) vertex array in pixels or a shapely geometry.
    Returns (N, M) float64 in [0, 1]: area(a_i & b_j) / area(a_i | b_j), 0 where they do not
    intersect or both have zero area. Only pairs whose envelopes intersect (an STRtree query)
    are intersected, with one vectorised shapely call.

    >>> square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    >>> shifted = [[5, 0], [15, 0], [15, 10], [5, 10]]
    >>> polygon_iou_matrix([square], [shifted]).round(3)
    array([[0.333]])
    """
    ga, gb = as_geometries(a), as_geometries(b)
    out = np.zeros((len(ga), len(gb)), dtype=np.float64)
    if not len(ga) or not len(gb):
        return out
    # shapely loads on first use, not with the server (memory: docs/architecture.md).
    import shapely  # noqa: PLC0415

    ib, ia = shapely.STRtree(ga).query(gb)  # envelope test only: cheap prefilter
    if not len(ia):
        return out
    inter = shapely.area(shapely.intersection(ga[ia], gb[ib]))
    area_a, area_b = shapely.area(ga), shapely.area(gb)
    union = area_a[ia] + area_b[ib] - inter
    iou = np.zeros_like(inter)
    np.divide(inter, union, out=iou, where=union > 0)
    out[ia, ib] = np.clip(iou, 0.0, 1.0)
    return out


def _repair(geoms: Geometries) -> Geometries:
    # shapely loads on first use, not with the server (memory: docs/architecture.md).
    import shapely  # noqa: PLC0415

    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        try:
            fixed = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        except TypeError:  # shapely < 2.1: default method, then keep polygonal parts
            fixed = shapely.make_valid(geoms[bad])
            fixed = np.asarray([_polygonal(g) for g in fixed], dtype=object)
        geoms[bad] = fixed
    return geoms


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    # shapely loads on first use, not with the server (memory: docs/architecture.md).
    import shapely  # noqa: PLC0415

    if isinstance(g, shapely.GeometryCollection):
        parts = [p for p in g.geoms if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
        return shapely.union_all(parts) if parts else shapely.Polygon()
    return g
