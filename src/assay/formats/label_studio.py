"""Label Studio results: what a result item is, and checking regions against a label config.

Regions keep Label Studio's convention: x, y, width, height and polygon points in percent
(0-100) of the original image size, origin top-left, rotation in degrees clockwise around
the top-left corner.

What a result may hold is bounded here, once, for every door that stores one (the API, the
SDK, imports of every format, the GT stage, review fixes, adjudication) and for task data and
meta: the limits below. A region keeps the keys it was sent (Label Studio's and any extras,
such as `meta`), but nothing in it nests deeper than MAX_DEPTH, no string is longer than
MAX_TEXT_LENGTH, and every number is one JSON can write back (orjson, which encodes the task
lists, stops at 255 levels and at 64-bit integers). docs/api.md lists the limits.

The rules every reader of results shares live here, once: which item types are which region
kind (`KIND_OF_TYPE`), and a region's label (`region_label`). The scorer (`regions`) and the
format converter (`ls_convert`) both read results with them, so a region labelled
["Zebra", "Elephant"] is "Elephant|Zebra" when it is scored and when it is exported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson

from assay.formats.label_config import MAX_LABEL_LENGTH, ControlTag, LabelConfig

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

MAX_REGIONS = 20_000  # regions in one result (a dense crowd-counting image has ~13k points)
MAX_POLYGON_POINTS = 10_000  # points of one polygon
MAX_TEXT_LENGTH = 100_000  # characters of any other string in a region, task data or meta
MAX_DEPTH = 16  # nesting of objects and lists: a region or task data itself is level 1
MAX_IMAGE_SIDE = 1_000_000  # original_width / original_height, pixels
MAX_TASK_JSON_BYTES = 2**20  # a task's data, and its meta, written as JSON
_INT64 = 2**63  # JSON integers must fit in 64 bits (signed), as orjson writes them


class RegionError(ValueError):
    """A region breaks a rule; `field` is its path, e.g. "result[2].value.width"."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def validate_result(result: Any, config: LabelConfig, field: str = "result") -> None:
    """Raise RegionError for the first region that does not fit the config or the bounds."""
    if not isinstance(result, list):
        raise RegionError(field, "must be a list of regions")
    if len(result) > MAX_REGIONS:
        raise RegionError(field, f"has {len(result)} regions; at most {MAX_REGIONS} are kept")
    for i, region in enumerate(result):
        try:
            check_json(region)
            _validate_region(region, config)
        except RegionError as exc:  # the checks name paths relative to the region
            raise RegionError(f"{field}[{i}]{exc.field}", exc.reason) from None


def check_json(value: Any, field: str = "") -> None:
    """Raise RegionError naming the first place in `value` (parsed JSON: dicts, lists,
    strings, numbers, booleans, None) that nests deeper than MAX_DEPTH, holds a string or key
    longer than MAX_TEXT_LENGTH, or a number JSON cannot carry back (an integer beyond 64 bits,
    NaN, infinity). `field` prefixes the path: "data" gives e.g. "data.a.b[2]"."""
    if not isinstance(value, dict | list | tuple):
        _check_scalar(value, field, None)
        return
    if _plainly_within(value, 1):
        return  # the usual case; the walk below finds (and names) what is wrong, if anything
    stack: list[tuple[Any, _Where, int]] = [(value, None, 1)]
    while stack:
        node, where, depth = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, v in items:
            kind = type(v)
            if kind is str:
                if len(v) > MAX_TEXT_LENGTH:
                    raise RegionError(
                        _path(field, (where, key)), f"is longer than {MAX_TEXT_LENGTH} characters"
                    )
            elif kind is dict or kind is list or kind is tuple:
                if depth >= MAX_DEPTH:
                    raise RegionError(
                        _path(field, (where, key)), f"nests deeper than {MAX_DEPTH} levels"
                    )
                stack.append((v, (where, key), depth + 1))
            elif v is not None and kind is not bool:
                _check_scalar(v, field, (where, key))
            if type(key) is str and len(key) > MAX_TEXT_LENGTH:
                raise RegionError(
                    _path(field, where), f"has a key longer than {MAX_TEXT_LENGTH} characters"
                )


WRITABLE_DEPTH = 250  # nesting every JSON writer here manages (orjson stops at 255)


def clipped(value: Any, depth: int = WRITABLE_DEPTH) -> Any:
    """`value` with whatever nests deeper than `depth` levels replaced by None.

    Defence in depth: the bounds keep every new label and task far from the limit, but a row
    stored before them may nest almost as deep as the database's writer goes (orjson, 254
    levels), and a list wraps it in a few more: the task list writes such a row clipped
    rather than fail the whole page."""
    if isinstance(value, dict):
        return {k: clipped(v, depth - 1) for k, v in value.items()} if depth > 0 else None
    if isinstance(value, list | tuple):
        return [clipped(v, depth - 1) for v in value] if depth > 0 else None
    return value


def check_task_json(value: Any, field: str) -> None:
    """Raise RegionError unless a task's `data` (or `meta`) is an object within the bounds of
    `check_json` that writes to at most MAX_TASK_JSON_BYTES of JSON."""
    if not isinstance(value, dict):
        raise RegionError(field, "must be an object")
    check_json(value, field)
    size = len(orjson.dumps(value))
    if size > MAX_TASK_JSON_BYTES:
        raise RegionError(field, f"is {size} bytes of JSON; at most {MAX_TASK_JSON_BYTES}")


def _plainly_within(node: dict[str, Any] | list[Any], depth: int) -> bool:
    """`check_json`'s bounds, fast (it runs on every region of every import), for plain JSON
    types only: False for anything else (a tuple, a numpy float), which the full walk then
    judges."""
    is_dict = type(node) is dict
    for key, v in node.items() if is_dict else enumerate(node):  # type: ignore[union-attr]
        kind = type(v)
        if kind is str:
            if len(v) > MAX_TEXT_LENGTH:
                return False
        elif kind is dict or kind is list:
            if depth >= MAX_DEPTH or not _plainly_within(v, depth + 1):
                return False
        elif kind is float:
            if v - v != 0.0:  # NaN or infinity
                return False
        elif kind is int:
            if not -_INT64 <= v < _INT64:
                return False
        elif v is not None and kind is not bool:
            return False
        if is_dict and len(key) > MAX_TEXT_LENGTH:
            return False
    return True


def _check_scalar(v: Any, field: str, where: _Where) -> None:
    if isinstance(v, bool) or v is None:
        return
    if isinstance(v, int):
        if not -_INT64 <= v < _INT64:
            raise RegionError(_path(field, where), "is an integer beyond 64 bits")
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise RegionError(_path(field, where), "must be a finite number")
    elif isinstance(v, str):
        if len(v) > MAX_TEXT_LENGTH:
            raise RegionError(_path(field, where), f"is longer than {MAX_TEXT_LENGTH} characters")
    else:
        raise RegionError(_path(field, where), f"is not a JSON value ({type(v).__name__})")


# Where a value sits in a JSON document: (parent's place, key or index); None is the top.
_Where = tuple[Any, str | int] | None


def _path(field: str, where: _Where) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return field + "".join(reversed(parts))


def _validate_region(region: Any, config: LabelConfig, path: str = "") -> None:
    if not isinstance(region, dict):
        raise RegionError(path, "must be an object")
    if region.get("type") == "relation":
        return  # links two regions by id; carries no geometry or label
    from_name = region.get("from_name")
    control = config.controls.get(from_name) if isinstance(from_name, str) else None
    if control is None:
        known = ", ".join(sorted(config.controls))
        raise RegionError(
            f"{path}.from_name", f"{_shown(from_name)} is not a control (known: {known})"
        )
    to_name = region.get("to_name")
    if to_name not in control.to_name:
        raise RegionError(
            f"{path}.to_name", f"{_shown(to_name)} is not labeled by {control.name!r}"
        )
    rtype = region.get("type")
    if rtype != control.result_type:
        raise RegionError(f"{path}.type", f"must be {control.result_type!r} for {control.name!r}")
    value = region.get("value")
    if not isinstance(value, dict):
        raise RegionError(f"{path}.value", "missing or not an object")
    size = (region.get("original_width"), region.get("original_height"))
    for key, v in zip(("original_width", "original_height"), size, strict=True):
        if v is not None and not (_positive_number(v) and v <= MAX_IMAGE_SIDE):
            raise RegionError(
                f"{path}.{key}", f"must be a positive number of pixels, at most {MAX_IMAGE_SIDE}"
            )
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
    if len(region_label(labels)) > MAX_LABEL_LENGTH:  # one name, or several joined by "|"
        raise RegionError(
            f"{vpath}.{key}", f"the label is longer than {MAX_LABEL_LENGTH} characters"
        )
    allowed = control.labels
    for label in labels:
        if label not in allowed:
            raise RegionError(
                f"{vpath}.{key}",
                f"unknown label {_shown(label)} (known: {', '.join(allowed)})",
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
    if len(points) > MAX_POLYGON_POINTS:
        raise RegionError(
            f"{vpath}.points",
            f"has {len(points)} points; a polygon has at most {MAX_POLYGON_POINTS}",
        )
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


def _shown(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: dict[str, Any], key: str, vpath: str) -> float:
    v = value.get(key)
    if v is None:
        raise RegionError(f"{vpath}.{key}", "missing")
    if not _is_number(v):
        raise RegionError(f"{vpath}.{key}", f"must be a number, got {_shown(v)}")
    return float(v)


_REAL = (int, float)
_PLAIN = frozenset((int, float))  # exact types: bool is an int subclass, but not a number here


def _is_number(v: Any) -> bool:
    return isinstance(v, _REAL) and v is not True and v is not False and math.isfinite(v)


def _positive_number(v: Any) -> bool:
    return _is_number(v) and v > 0
