"""Label Studio result items -> region arrays in pixels, the bridge from stored JSON to
`assay.geometry` and `assay.metrics`.

Label Studio stores x, y, width, height and polygon points in percent (0-100) of the image's
original width and height, origin top-left, and rotates a rectangle by `rotation` degrees
clockwise about its top-left corner (x, y). Here everything becomes pixels: rectangles as
rotated boxes [cx, cy, w, h, angle_deg] (centre format, as `assay.geometry.rotated`) plus
their xyxy envelopes, polygons as (K, 2) vertex arrays, keypoints as (N, 2) points. Each
shape type is its own group: matching is per shape type and label.

A region's label is its `<type>` value list (e.g. value.rectanglelabels), or the `labels` of a
separate "labels" item with the same id (Label Studio's split form); several labels join,
sorted, with "|" (`label_studio.region_label`, as the exports). Items of other kinds (textarea,
rating, relation, per-region choices) are skipped; brushes are listed in `unsupported` (Label
Studio's brush RLE is not COCO's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from assay.formats.label_studio import TYPES_OF_KIND, RegionError, region_label
from assay.geometry.boxes import iou_matrix
from assay.geometry.keypoints import point_similarity_matrix
from assay.geometry.polygons import polygon_iou_matrix, polygons_from_points
from assay.geometry.rotated import rotated_from_top_left, rotated_iou_matrix, rotated_to_xyxy
from assay.geometry.types import Boxes, FloatArray, Geometries, Points, RotatedBoxes

__all__ = [
    "KeypointRegions",
    "PolygonRegions",
    "RectangleRegions",
    "TaskRegions",
    "keypoint_iou_matrix",
    "polygon_regions_iou_matrix",
    "rectangle_iou_matrix",
    "rectangles_from_label_studio_many",
    "regions_from_label_studio",
]

RECTANGLE_TYPES = TYPES_OF_KIND["box"]
POLYGON_TYPES = TYPES_OF_KIND["polygon"]
KEYPOINT_TYPES = TYPES_OF_KIND["keypoint"]
UNSUPPORTED_TYPES = frozenset({"brushlabels", "brush", "ellipselabels", "ellipse"})

StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True, eq=False)
class _Common:
    labels: StrArray  # (N,) label names, "" for a region without a label
    scores: FloatArray  # (N,) region scores, nan where the item has none
    ids: tuple[str, ...]  # Label Studio region ids ("" where missing)
    from_names: tuple[str, ...]  # the control each region comes from

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True, eq=False)
class RectangleRegions(_Common):
    """N rectangles: `rotated` (N, 5) [cx, cy, w, h, angle_deg] in pixels, angle clockwise
    about the centre."""

    rotated: RotatedBoxes = field(default_factory=lambda: np.zeros((0, 5)))

    @cached_property
    def any_rotated(self) -> bool:
        return bool((self.rotated[:, 4] % 360 != 0).any())

    @cached_property
    def xyxy(self) -> Boxes:
        """(N, 4) axis-aligned envelopes, xyxy pixels; the boxes themselves when unrotated."""
        if not self.any_rotated:
            r = self.rotated
            half = r[:, 2:4] / 2
            return np.concatenate([r[:, :2] - half, r[:, :2] + half], axis=1)
        return rotated_to_xyxy(self.rotated)


@dataclass(frozen=True, eq=False)
class PolygonRegions(_Common):
    """N polygons: `points`, one (K_i, 2) vertex array in pixels each."""

    points: tuple[FloatArray, ...] = ()

    @cached_property
    def geometries(self) -> Geometries:
        """(N,) shapely polygons, built once on first use."""
        return polygons_from_points(self.points)


@dataclass(frozen=True, eq=False)
class KeypointRegions(_Common):
    """N single keypoints: `points` (N, 2) [x, y] in pixels."""

    points: Points = field(default_factory=lambda: np.zeros((0, 2)))


@dataclass(frozen=True, eq=False)
class TaskRegions:
    """One result (annotation or prediction) of one image, grouped by shape type.

    choices: control name -> the chosen values (task-level Choices only).
    unsupported: result types seen but not converted (e.g. "brushlabels").
    """

    rectangles: RectangleRegions
    polygons: PolygonRegions
    keypoints: KeypointRegions
    choices: Mapping[str, tuple[str, ...]]
    unsupported: tuple[str, ...] = ()


def regions_from_label_studio(
    result: Sequence[Mapping[str, Any]],
    width: float | None = None,
    height: float | None = None,
    *,
    from_name: str | None = None,
) -> TaskRegions:
    """Convert a Label Studio `result` list into pixel arrays grouped by shape type.

    width, height: the image size in pixels; when None, each item's original_width /
    original_height is used. from_name: keep only regions of this control.
    Raises RegionError naming the entry (e.g. "result[2].value.width") when an item is
    malformed, has a negative size, or no image size is known.

    >>> r = regions_from_label_studio(
    ...     [{"id": "a", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
    ...       "value": {"x": 10, "y": 20, "width": 50, "height": 25, "rotation": 0,
    ...                 "rectanglelabels": ["Zebra"]}}], width=200, height=100)
    >>> r.rectangles.xyxy.tolist(), r.rectangles.labels.tolist()
    ([[20.0, 20.0, 120.0, 45.0]], ['Zebra'])
    """
    g = _Groups()
    g.collect(result, "result", from_name)
    shape_ids = {str(it.get("id", "")) for _, _, it, _ in [*g.rects, *g.polys, *g.points]}
    choices: dict[str, tuple[str, ...]] = {}
    for prefix, i, item in g.choice_items:
        if str(item.get("id", "")) in shape_ids - {""}:
            continue  # a per-region attribute, not a task-level class
        chosen = _label_list(item["value"], "choices", f"{prefix}[{i}]")
        name = str(item.get("from_name", ""))
        choices[name] = tuple(sorted({*choices.get(name, ()), *chosen}))
    return TaskRegions(
        rectangles=_rectangles(g.rects, g.split, *_sizes(g.rects, width, height)),
        polygons=_polygons(g.polys, g.split, *_sizes(g.polys, width, height)),
        keypoints=_keypoints(g.points, g.split, *_sizes(g.points, width, height)),
        choices=choices,
        unsupported=tuple(g.unsupported),
    )


def rectangles_from_label_studio_many(
    results: Sequence[Sequence[Mapping[str, Any]]],
    widths: npt.ArrayLike | None = None,
    heights: npt.ArrayLike | None = None,
    *,
    from_name: str | None = None,
) -> tuple[RectangleRegions, npt.NDArray[np.int64]]:
    """The rectangles of R results at once: concatenated RectangleRegions (rows in result
    order) and (R,) int64 counts, ready for `assay.geometry.pad_flat`.

    widths, heights: (R,) image sizes in pixels, or None to use each item's original size.
    This is the bulk path for a full recompute: one numpy conversion for all regions.
    Errors name the entry as "results[k][i]...".
    """
    g = _Groups()
    owner: list[int] = []
    for k, result in enumerate(results):
        before = len(g.rects)
        g.collect(result, f"results[{k}]", from_name)
        owner.extend([k] * (len(g.rects) - before))
    counts = np.bincount(np.asarray(owner, dtype=np.int64), minlength=len(results))
    if widths is None or heights is None:
        w_img, h_img = _sizes(g.rects, None, None)
    else:
        own = np.asarray(owner, dtype=np.int64)
        w_img = np.asarray(widths, dtype=np.float64).reshape(-1)[own]
        h_img = np.asarray(heights, dtype=np.float64).reshape(-1)[own]
        _check_sizes(g.rects, w_img, h_img)
    return _rectangles(g.rects, g.split, w_img, h_img), counts.astype(np.int64)


def rectangle_iou_matrix(a: RectangleRegions, b: RectangleRegions) -> FloatArray:
    """(len(a), len(b)) IoU: exact rotated IoU when either side has a rotated rectangle,
    axis-aligned IoU otherwise."""
    if a.any_rotated or b.any_rotated:
        return rotated_iou_matrix(a.rotated, b.rotated)
    return iou_matrix(a.xyxy, b.xyxy)


def polygon_regions_iou_matrix(a: PolygonRegions, b: PolygonRegions) -> FloatArray:
    """(len(a), len(b)) polygon IoU."""
    return polygon_iou_matrix(a.geometries, b.geometries)


def keypoint_iou_matrix(
    a: KeypointRegions, b: KeypointRegions, sigma: float | npt.ArrayLike
) -> FloatArray:
    """(len(a), len(b)) point similarity exp(-d^2 / (2 sigma^2)), sigma in pixels: one for
    all, or (len(a),) one per point of `a` (the ground truth's, by its label)."""
    return point_similarity_matrix(a.points, b.points, sigma)


# -- helpers ---------------------------------------------------------------------------------

# (error path prefix, index in the result, the item, its value)
_Item = tuple[str, int, Mapping[str, Any], Mapping[str, Any]]


class _Groups:
    """Items of one or more results sorted by kind, in one pass."""

    def __init__(self) -> None:
        self.rects: list[_Item] = []
        self.polys: list[_Item] = []
        self.points: list[_Item] = []
        self.split: dict[str, list[str]] = {}
        self.choice_items: list[tuple[str, int, Mapping[str, Any]]] = []
        self.unsupported: dict[str, None] = {}

    def collect(self, result: Any, prefix: str, from_name: str | None) -> None:
        if not isinstance(result, list | tuple):
            raise RegionError(prefix, "must be a list of regions")
        for i, item in enumerate(result):
            if type(item) is not dict and not isinstance(item, Mapping):
                raise RegionError(f"{prefix}[{i}]", "must be an object")
            if from_name is not None and item.get("from_name") != from_name:
                continue
            kind = item.get("type")
            if kind == "relation":
                continue
            value = item.get("value")
            if type(value) is not dict and not isinstance(value, Mapping):
                raise RegionError(f"{prefix}[{i}].value", "missing or not an object")
            if kind in RECTANGLE_TYPES:
                self.rects.append((prefix, i, item, value))
            elif kind in POLYGON_TYPES:
                self.polys.append((prefix, i, item, value))
            elif kind in KEYPOINT_TYPES:
                self.points.append((prefix, i, item, value))
            elif kind == "labels":
                labels = _label_list(value, "labels", f"{prefix}[{i}]")
                self.split[f"{prefix}/{item.get('id', '')}"] = labels
            elif kind == "choices":
                self.choice_items.append((prefix, i, item))
            elif kind in UNSUPPORTED_TYPES:
                self.unsupported.setdefault(str(kind), None)


def _label_list(value: Mapping[str, Any], key: str, path: str) -> list[str]:
    labels = value.get(key)
    if labels is None:
        return []
    if type(labels) is not list or not all(type(x) is str for x in labels):
        raise RegionError(f"{path}.value.{key}", "must be a list of label names")
    return labels


def _label_of(
    prefix: str,
    i: int,
    item: Mapping[str, Any],
    value: Mapping[str, Any],
    split: dict[str, list[str]],
) -> str:
    own = value.get(str(item.get("type")))
    if type(own) is list and len(own) == 1 and type(own[0]) is str:
        return own[0]  # the common case, fast
    names = _label_list(value, str(item.get("type")), f"{prefix}[{i}]")
    if not names:
        names = split.get(f"{prefix}/{item.get('id', '')}", [])
    return region_label(names)


def _common(items: list[_Item], split: dict[str, list[str]]) -> dict[str, Any]:
    labels = [
        own[0]
        if type(own := v.get(it["type"])) is list and len(own) == 1 and type(own[0]) is str
        else _label_of(pre, i, it, v, split)
        for pre, i, it, v in items
    ]
    raw_scores = [it.get("score") for _, _, it, _ in items]
    try:
        scores = np.array(raw_scores, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        scores = np.full(len(items), np.nan)
    finite = np.isfinite(scores)
    bad = () if finite.all() else np.flatnonzero(~finite)
    for n in bad:  # None is fine (no score); anything else must be a finite number
        s = raw_scores[n]
        if s is not None:
            pre, i, _, _ = items[n]
            if not (isinstance(s, int | float) and not isinstance(s, bool) and np.isfinite(s)):
                raise RegionError(f"{pre}[{i}].score", f"must be a number, got {s!r}")
    return {
        "labels": np.array(labels, dtype=np.str_).reshape(-1),
        "scores": scores,
        "ids": tuple(str(it.get("id", "")) for _, _, it, _ in items),
        "from_names": tuple(str(it.get("from_name", "")) for _, _, it, _ in items),
    }


def _sizes(
    items: list[_Item], width: float | None, height: float | None
) -> tuple[FloatArray, FloatArray]:
    """Per-item image width and height in pixels (the given size, else the item's own)."""
    n = len(items)
    if not n:
        return np.zeros(0), np.zeros(0)
    w_img: FloatArray
    h_img: FloatArray
    if width is not None and height is not None:
        w_img, h_img = np.full(n, float(width)), np.full(n, float(height))
    else:
        w_img = _floats(
            [width if width is not None else it.get("original_width") for _, _, it, _ in items]
        )
        h_img = _floats(
            [height if height is not None else it.get("original_height") for _, _, it, _ in items]
        )
    _check_sizes(items, w_img, h_img)
    return w_img, h_img


def _check_sizes(items: list[_Item], w_img: FloatArray, h_img: FloatArray) -> None:
    if not len(items) or (
        np.isfinite(w_img).all()
        and np.isfinite(h_img).all()
        and (w_img > 0).all()
        and (h_img > 0).all()
    ):
        return
    for key, arr in (("original_width", w_img), ("original_height", h_img)):
        bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))
        if len(bad):
            pre, i, _, _ = items[int(bad[0])]
            raise RegionError(f"{pre}[{i}].{key}", "image size unknown: pass it or store it")


def _floats(values: list[Any]) -> FloatArray:
    """Numbers (None -> nan) as float64; anything else -> nan, to be reported by the caller."""
    try:
        arr = np.array(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        arr = np.array([_float_or_nan(v) for v in values], dtype=np.float64).reshape(-1)
    return arr


def _float_or_nan(v: Any) -> float:
    if isinstance(v, int | float):
        return float(v)
    return float("nan")


def _numbers(items: list[_Item], keys: tuple[str, ...], defaults: dict[str, float]) -> FloatArray:
    """(len(items), len(keys)) float64 from the items' values; names the first bad entry."""
    raw = [[v.get(k) for k in keys] for _, _, _, v in items]
    for k, d in defaults.items():
        c = keys.index(k)
        for row in raw:
            if row[c] is None:
                row[c] = d
    try:
        arr = np.array(raw, dtype=np.float64).reshape(len(items), len(keys))
        ok = bool(np.isfinite(arr).all())
    except (TypeError, ValueError):
        ok = False
    if ok:
        return arr
    for n, row in enumerate(raw):  # slow path, only to name the bad entry
        for k, x in zip(keys, row, strict=True):
            if not np.isfinite(_float_or_nan(x)):
                pre, i, _, _ = items[n]
                raise RegionError(f"{pre}[{i}].value.{k}", f"must be a number, got {x!r}")
    raise AssertionError("unreachable")  # pragma: no cover


_EMPTY_RECTS = RectangleRegions(
    labels=np.zeros(0, np.str_), scores=np.zeros(0), ids=(), from_names=(), rotated=np.zeros((0, 5))
)


def _rectangles(
    items: list[_Item], split: dict[str, list[str]], w_img: FloatArray, h_img: FloatArray
) -> RectangleRegions:
    if not items:
        return _EMPTY_RECTS
    rows = [
        (v.get("x"), v.get("y"), v.get("width"), v.get("height"), v.get("rotation") or 0.0)
        for _, _, _, v in items
    ]
    v: FloatArray
    try:
        v = np.array(rows, dtype=np.float64).reshape(len(items), 5)
        ok = bool(np.isfinite(v).all())
    except (TypeError, ValueError):
        ok = False
    if not ok:  # the slow path names the bad entry
        v = _numbers(items, ("x", "y", "width", "height", "rotation"), {"rotation": 0.0})
    for col, key in ((2, "width"), (3, "height")):
        if (v[:, col] < 0).any():
            first = int(np.flatnonzero(v[:, col] < 0)[0])
            pre, i, _, _ = items[first]
            raise RegionError(f"{pre}[{i}].value.{key}", f"must be >= 0, got {v[first, col]}")
    sx, sy = w_img / 100.0, h_img / 100.0
    x, y, w, h, angle = v[:, 0] * sx, v[:, 1] * sy, v[:, 2] * sx, v[:, 3] * sy, v[:, 4]
    if (angle % 360 == 0).all():
        rotated = np.stack([x + w / 2, y + h / 2, w, h, angle], axis=1)
    else:
        rotated = rotated_from_top_left(x, y, w, h, angle).reshape(-1, 5)
    return RectangleRegions(**_common(items, split), rotated=rotated)


_EMPTY_POLYS = PolygonRegions(
    labels=np.zeros(0, np.str_), scores=np.zeros(0), ids=(), from_names=(), points=()
)


def _polygons(
    items: list[_Item], split: dict[str, list[str]], w_img: FloatArray, h_img: FloatArray
) -> PolygonRegions:
    if not items:
        return _EMPTY_POLYS
    pts = []
    for n, (pre, i, _, value) in enumerate(items):
        raw = value.get("points")
        try:
            arr = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.zeros((0,))
        if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 3 or not np.isfinite(arr).all():
            raise RegionError(f"{pre}[{i}].value.points", "must be 3 or more [x, y] numbers")
        pts.append(arr * np.array([w_img[n], h_img[n]]) / 100.0)
    return PolygonRegions(**_common(items, split), points=tuple(pts))


_EMPTY_POINTS = KeypointRegions(
    labels=np.zeros(0, np.str_), scores=np.zeros(0), ids=(), from_names=(), points=np.zeros((0, 2))
)


def _keypoints(
    items: list[_Item], split: dict[str, list[str]], w_img: FloatArray, h_img: FloatArray
) -> KeypointRegions:
    if not items:
        return _EMPTY_POINTS
    v = _numbers(items, ("x", "y"), {})
    pts = np.stack([v[:, 0] * w_img / 100.0, v[:, 1] * h_img / 100.0], axis=1)
    return KeypointRegions(**_common(items, split), points=pts)
