"""Label Studio results: what a result item is, and checking regions against a label config.

Regions keep Label Studio's convention: x, y, width, height and polygon points in percent
(0-100) of the original image size, origin top-left, rotation in degrees clockwise around
the top-left corner.

The rules every reader of results shares live here, once: which item types are which region
kind (`KIND_OF_TYPE`), and a region's label (`region_label`). The scorer (`regions`) and the
format converter (`ls_convert`) both read results with them, so a region labelled
["Zebra", "Elephant"] is "Elephant|Zebra" when it is scored and when it is exported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from assay.formats.label_config import ControlTag, LabelConfig

LABEL_SEPARATOR = "|"
KIND_OF_TYPE = {
    "rectanglelabels": "box",
    "rectangle": "box",
    "polygonlabels": "polygon",
    "polygon": "polygon",
    "keypointlabels": "keypoint",
    "keypoint": "keypoint",
}
TYPES_OF_KIND = {
    kind: frozenset(t for t, k in KIND_OF_TYPE.items() if k == kind)
    for kind in ("box", "polygon", "keypoint")
}


def region_label(names: Sequence[str]) -> str:
    """A region's label from its label list: one name as is, several joined, sorted, with
    "|" (Label Studio keeps them in click order, which says nothing)."""
    if len(names) == 1:
        return names[0]
    return LABEL_SEPARATOR.join(sorted(names))


# Percent slack for regions that touch the border after float round trips.
BORDER_SLACK = 1e-3


class RegionError(ValueError):
    """A region breaks a rule; `field` is its path, e.g. "result[2].value.width"."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def validate_result(result: Any, config: LabelConfig, field: str = "result") -> None:
    """Raise RegionError for the first region that does not fit the config."""
    if not isinstance(result, list):
        raise RegionError(field, "must be a list of regions")
    for i, region in enumerate(result):
        try:
            _validate_region(region, config)
        except RegionError as exc:  # the checks name paths relative to the region
            raise RegionError(f"{field}[{i}]{exc.field}", exc.reason) from None


def _validate_region(region: Any, config: LabelConfig, path: str = "") -> None:
    if not isinstance(region, dict):
        raise RegionError(path, "must be an object")
    if region.get("type") == "relation":
        return  # links two regions by id; carries no geometry or label
    from_name = region.get("from_name")
    control = config.controls.get(from_name) if isinstance(from_name, str) else None
    if control is None:
        known = ", ".join(sorted(config.controls))
        raise RegionError(f"{path}.from_name", f"{from_name!r} is not a control (known: {known})")
    to_name = region.get("to_name")
    if to_name not in control.to_name:
        raise RegionError(f"{path}.to_name", f"{to_name!r} is not labeled by {control.name!r}")
    rtype = region.get("type")
    if rtype != control.result_type:
        raise RegionError(f"{path}.type", f"must be {control.result_type!r} for {control.name!r}")
    value = region.get("value")
    if not isinstance(value, dict):
        raise RegionError(f"{path}.value", "missing or not an object")
    size = (region.get("original_width"), region.get("original_height"))
    for key, v in zip(("original_width", "original_height"), size, strict=True):
        if v is not None and not _positive_number(v):
            raise RegionError(f"{path}.{key}", "must be a positive number")
    score = region.get("score")
    if score is not None and not _is_number(score):
        raise RegionError(f"{path}.score", "must be a number")
    vpath = f"{path}.value" if path else ".value"
    shape = control.shape
    if shape == "rectangle":
        sized = _positive_number(size[0]) and _positive_number(size[1])
        _check_rectangle(value, vpath, size if sized else None)
    elif shape == "polygon":
        _check_polygon(value, vpath)
    elif shape == "keypoint":
        _check_point(value, vpath)
    if control.labels:
        _check_labels(value, control, vpath)


def _check_labels(value: dict[str, Any], control: ControlTag, vpath: str) -> None:
    key = control.result_type
    labels = value.get(key)
    if labels is None:
        raise RegionError(f"{vpath}.{key}", "missing: list the region's label")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise RegionError(f"{vpath}.{key}", "must be a list of label names")
    if not labels:
        raise RegionError(f"{vpath}.{key}", "is empty")
    allowed = control.labels
    for label in labels:
        if label not in allowed:
            raise RegionError(
                f"{vpath}.{key}",
                f"unknown label {label!r} (known: {', '.join(allowed)})",
            )
    if control.type == "Choices" and not control.multiple and len(labels) > 1:
        raise RegionError(f"{vpath}.{key}", "takes one choice; the control is single-choice")


def _check_rectangle(
    value: dict[str, Any], vpath: str, image_size: tuple[float, float] | None
) -> None:
    x, y, w, h = value.get("x"), value.get("y"), value.get("width"), value.get("height")
    if (  # fast path for the usual plain numbers; otherwise _number names what is wrong
        type(x) in _PLAIN and type(y) in _PLAIN and type(w) in _PLAIN and type(h) in _PLAIN
        and math.isfinite(x + y + w + h)
    ):  # fmt: skip
        x, y, w, h = float(x), float(y), float(w), float(h)
    else:
        x, y, w, h = (_number(value, k, vpath) for k in ("x", "y", "width", "height"))
    if w <= 0:
        raise RegionError(f"{vpath}.width", f"must be > 0, got {w}")
    if h <= 0:
        raise RegionError(f"{vpath}.height", f"must be > 0, got {h}")
    rotation = value.get("rotation", 0) or 0
    if not _is_number(rotation):
        raise RegionError(f"{vpath}.rotation", "must be a number of degrees")
    if rotation % 360 == 0:
        xs, ys = (x, x + w), (y, y + h)
    else:
        # Rotate in pixels (percent units differ along x and y on non-square images).
        sx, sy = image_size if image_size else (100.0, 100.0)
        sx, sy = sx / 100, sy / 100
        a = math.radians(rotation)
        cos, sin = math.cos(a), math.sin(a)
        corners = [(0.0, 0.0), (w * sx, 0.0), (w * sx, h * sy), (0.0, h * sy)]
        xs = tuple(x + (cx * cos - cy * sin) / sx for cx, cy in corners)
        ys = tuple(y + (cx * sin + cy * cos) / sy for cx, cy in corners)
    if min(xs) < -BORDER_SLACK or max(xs) > 100 + BORDER_SLACK:
        raise RegionError(f"{vpath}.x", "region lies outside the image (x must stay in 0-100 %)")
    if min(ys) < -BORDER_SLACK or max(ys) > 100 + BORDER_SLACK:
        raise RegionError(f"{vpath}.y", "region lies outside the image (y must stay in 0-100 %)")


def _check_polygon(value: dict[str, Any], vpath: str) -> None:
    points = value.get("points")
    if not isinstance(points, list):
        raise RegionError(f"{vpath}.points", "missing: a list of [x, y] points in percent")
    if len(points) < 3:
        raise RegionError(
            f"{vpath}.points", f"a polygon needs at least 3 points, got {len(points)}"
        )
    for j, p in enumerate(points):
        if not (isinstance(p, Sequence) and len(p) == 2 and all(_is_number(c) for c in p)):
            raise RegionError(f"{vpath}.points[{j}]", "must be [x, y] numbers")
        if not all(-BORDER_SLACK <= c <= 100 + BORDER_SLACK for c in p):
            raise RegionError(f"{vpath}.points[{j}]", "lies outside the image (0-100 %)")


def _check_point(value: dict[str, Any], vpath: str) -> None:
    for key in ("x", "y"):
        v = _number(value, key, vpath)
        if not -BORDER_SLACK <= v <= 100 + BORDER_SLACK:
            raise RegionError(f"{vpath}.{key}", "lies outside the image (0-100 %)")


def _number(value: dict[str, Any], key: str, vpath: str) -> float:
    v = value.get(key)
    if v is None:
        raise RegionError(f"{vpath}.{key}", "missing")
    if not _is_number(v):
        raise RegionError(f"{vpath}.{key}", f"must be a number, got {v!r}")
    return float(v)


_REAL = (int, float)
_PLAIN = frozenset((int, float))  # exact types: bool is an int subclass, but not a number here


def _is_number(v: Any) -> bool:
    return isinstance(v, _REAL) and v is not True and v is not False and math.isfinite(v)


def _positive_number(v: Any) -> bool:
    return _is_number(v) and v > 0
