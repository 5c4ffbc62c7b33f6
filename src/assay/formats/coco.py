"""COCO object-detection JSON: ground truth and bbox results, parsed into arrays.

Boxes keep COCO's convention: ``[x, y, width, height]`` in pixels, origin at the image's
top-left corner. Ground truth is the parsed instances file (``images``, ``annotations``,
``categories``); detections are the results list that ``pycocotools`` ``loadRes`` takes
(``image_id``, ``category_id``, ``bbox``, ``score`` per entry).

Parsing is pure and does not mutate its input. Every rule breach raises `CocoFormatError`
naming the entry, e.g. ``detections[17].bbox: width must be >= 0``. Large inputs are checked
with vectorised numpy; the per-entry scan runs only to name the first bad entry. Files are
parsed by orjson; when it refuses one (NaN, a non-UTF-8 byte) the standard parser decides, so
that the error is the one it always was.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from assay.geometry.types import BoolArray, BoxesXYWH, FloatArray, IntArray
from assay.runtime import gc_paused

_MISSING = object()


class CocoFormatError(ValueError):
    """COCO input breaks a rule; `field` is its path, e.g. "annotations[3].bbox"."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, eq=False)
class CocoGroundTruth:
    """A COCO ground truth as read-only arrays, in file order.

    image_ids: (I,) int64, unique.
    category_ids: (K,) int64, unique; category_names: K names in the same order.
    ann_ids, ann_image_ids, ann_category_ids: (G,) int64; ann_ids unique, the others refer to
        image_ids and category_ids.
    boxes: (G, 4) float64 [x, y, width, height] in pixels, width and height >= 0.
    areas: (G,) float64, the annotation's ``area`` field (segmentation area in COCO; it decides
        small / medium / large, not the box), ``width * height`` when the field is absent.
    iscrowd: (G,) bool.
    ignore: (G,) bool, the optional ``ignore`` field. Kept for callers; COCO evaluation does not
        use it, since pycocotools overwrites it with ``iscrowd``.

    Construct with `load_coco_gt`, or directly from arrays (validated the same way; the
    error paths then name rows, e.g. ``annotations[5].bbox``).
    """

    image_ids: IntArray
    category_ids: IntArray
    category_names: tuple[str, ...]
    ann_ids: IntArray
    ann_image_ids: IntArray
    ann_category_ids: IntArray
    boxes: BoxesXYWH
    areas: FloatArray
    iscrowd: BoolArray
    ignore: BoolArray

    def __post_init__(self) -> None:
        image_ids = _ids(self.image_ids, "images", "id")
        category_ids = _ids(self.category_ids, "categories", "id")
        n = len(np.asarray(self.ann_ids).reshape(-1))
        ann_ids = _ids(self.ann_ids, "annotations", "id")
        ann_image_ids = _ids(self.ann_image_ids, "annotations", "image_id", n)
        ann_category_ids = _ids(self.ann_category_ids, "annotations", "category_id", n)
        boxes = _boxes(self.boxes, "annotations", n)
        areas = _floats(self.areas, "annotations", "area", n)
        iscrowd = _flags(self.iscrowd, "annotations", "iscrowd", n)
        ignore = _flags(self.ignore, "annotations", "ignore", n)
        names = tuple(str(name) for name in self.category_names)
        if len(names) != len(category_ids):
            raise CocoFormatError(
                "categories", f"{len(names)} names for {len(category_ids)} category ids"
            )
        _check_unique(image_ids, "images", "id")
        _check_unique(category_ids, "categories", "id")
        _check_unique(ann_ids, "annotations", "id")
        bad = np.flatnonzero(areas < 0)
        if len(bad):
            raise CocoFormatError(f"annotations[{bad[0]}].area", "must be >= 0")
        _check_known(ann_image_ids, image_ids, "annotations", "image_id", "an image")
        _check_known(ann_category_ids, category_ids, "annotations", "category_id", "a category")
        for name, value in (
            ("image_ids", image_ids),
            ("category_ids", category_ids),
            ("ann_ids", ann_ids),
            ("ann_image_ids", ann_image_ids),
            ("ann_category_ids", ann_category_ids),
            ("boxes", boxes),
            ("areas", areas),
            ("iscrowd", iscrowd),
            ("ignore", ignore),
        ):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "category_names", names)

    @property
    def category_name(self) -> dict[int, str]:
        """Category id -> name."""
        return dict(zip(self.category_ids.tolist(), self.category_names, strict=True))


@dataclass(frozen=True, eq=False)
class CocoDetections:
    """Bbox detections as read-only arrays, in input order.

    image_ids, category_ids: (D,) int64.
    boxes: (D, 4) float64 [x, y, width, height] in pixels, width and height >= 0.
    scores: (D,) float64, finite; higher means more confident (any range).

    Construct with `load_coco_dets` (which also checks the image ids against a ground truth),
    or directly from arrays.
    """

    image_ids: IntArray
    category_ids: IntArray
    boxes: BoxesXYWH
    scores: FloatArray

    def __post_init__(self) -> None:
        n = len(np.asarray(self.image_ids).reshape(-1))
        object.__setattr__(self, "image_ids", _ids(self.image_ids, "detections", "image_id"))
        object.__setattr__(
            self, "category_ids", _ids(self.category_ids, "detections", "category_id", n)
        )
        object.__setattr__(self, "boxes", _boxes(self.boxes, "detections", n))
        object.__setattr__(self, "scores", _floats(self.scores, "detections", "score", n))

    def __len__(self) -> int:
        return len(self.scores)


def load_coco_gt(source: str | os.PathLike[str] | Mapping[str, Any]) -> CocoGroundTruth:
    """Parse a COCO instances file (path) or its parsed JSON (dict) into `CocoGroundTruth`.

    Needs ``images`` (each with an integer ``id``), ``categories`` (``id``, optional ``name``)
    and ``annotations`` (``id``, ``image_id``, ``category_id``, ``bbox`` [x, y, w, h] with
    w, h >= 0; optional ``area`` (default w * h), ``iscrowd`` 0/1 (default 0) and
    ``ignore``). Ids may be integers or integral floats. Segmentations are not read.

    Raises CocoFormatError naming the first bad entry (malformed JSON, a missing field, a
    negative size, a duplicate id, an annotation on an unknown image or category).
    """
    # No collection walks the parsed entries (most of a parse's time otherwise); they are
    # freed by reference counting once read into columns, before collection resumes.
    with gc_paused():
        return _load_gt(_read_json(source, "ground truth"))


def _load_gt(data: Any) -> CocoGroundTruth:
    if not isinstance(data, Mapping):
        raise CocoFormatError(
            "ground truth", "must be a JSON object with images, annotations, categories"
        )
    images = _list(data, "images")
    categories = _list(data, "categories")
    annotations = _list(data, "annotations")
    image_ids = _column(images, "images", "id")
    category_ids = _column(categories, "categories", "id")
    names = tuple(str(c.get("name", c["id"])) for c in categories)  # entries checked above
    ann_ids = _column(annotations, "annotations", "id")
    ann_image_ids = _column(annotations, "annotations", "image_id")
    ann_category_ids = _column(annotations, "annotations", "category_id")
    boxes = _box_column(annotations, "annotations")
    n = len(annotations)
    areas = _optional_column(annotations, "annotations", "area")
    if areas is None:
        areas = boxes[:, 2] * boxes[:, 3] if n else np.zeros(0)
    elif np.isnan(areas).any():  # some entries lack the field
        missing = np.isnan(areas)
        areas[missing] = boxes[missing, 2] * boxes[missing, 3]
    iscrowd = _flag_column(annotations, "annotations", "iscrowd")
    ignore = _flag_column(annotations, "annotations", "ignore")
    return CocoGroundTruth(
        image_ids=image_ids,
        category_ids=category_ids,
        category_names=names,
        ann_ids=ann_ids,
        ann_image_ids=ann_image_ids,
        ann_category_ids=ann_category_ids,
        boxes=boxes,
        areas=areas,
        iscrowd=iscrowd,
        ignore=ignore,
    )


def load_coco_dets(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]], gt: CocoGroundTruth
) -> CocoDetections:
    """Parse COCO bbox results (path or parsed JSON list) into `CocoDetections`.

    Each entry needs ``image_id`` (an image of `gt`), ``category_id``, ``bbox`` [x, y, w, h]
    (pixels, w, h >= 0) and a finite ``score``; other fields (``id``, ``area``, ``segmentation``)
    are ignored, as pycocotools' ``loadRes`` recomputes them. A category id that `gt` does not
    list is accepted here; `coco_evaluate` skips such detections, as pycocotools does.

    Raises CocoFormatError naming the first bad entry, e.g.
    ``detections[3].image_id: 999 is not an image of the ground truth``.
    """
    # No collection walks the parsed entries (most of a parse's time otherwise); they are
    # freed by reference counting once read into columns, before collection resumes.
    with gc_paused():
        return _load_dets(_read_json(source, "detections"), gt)


def _load_dets(data: Any, gt: CocoGroundTruth) -> CocoDetections:
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise CocoFormatError("detections", "must be a JSON array of detection objects")
    dets = CocoDetections(
        image_ids=_column(data, "detections", "image_id"),
        category_ids=_column(data, "detections", "category_id"),
        boxes=_box_column(data, "detections"),
        scores=_float_column(data, "detections", "score"),
    )
    check_detection_images(dets, gt)
    return dets


def check_detection_images(dets: CocoDetections, gt: CocoGroundTruth) -> None:
    """Raise CocoFormatError naming the first detection whose image is not in `gt`."""
    _check_known(dets.image_ids, gt.image_ids, "detections", "image_id", "an image", "ground truth")


# -- reading ------------------------------------------------------------------------------


def _read_json(source: Any, what: str) -> Any:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        raw = path.read_bytes()
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard parser decides, so that what it accepts (NaN) is named per field
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise CocoFormatError(
                str(path), f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}"
            ) from e
        except UnicodeDecodeError as e:
            raise CocoFormatError(str(path), f"not UTF-8 text: {e.reason}") from e
    if isinstance(source, bytes | bytearray):
        raise CocoFormatError(what, "pass a path or parsed JSON, not bytes")
    return source


def _list(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = data.get(key, _MISSING)
    if value is _MISSING:
        raise CocoFormatError(
            key, "missing (a COCO ground truth needs images, annotations, categories)"
        )
    if not isinstance(value, list | tuple):
        raise CocoFormatError(key, "must be a list")
    return value


def _values(items: Sequence[Any], where: str, key: str) -> list[Any]:
    """The `key` field of every entry; names the first entry that is no object or lacks it."""
    try:
        return list(map(itemgetter(key), items))
    except (KeyError, TypeError, IndexError):
        pass
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise CocoFormatError(f"{where}[{i}]", f"must be an object, got {type(item).__name__}")
        if key not in item:
            raise CocoFormatError(f"{where}[{i}].{key}", "missing")
    raise CocoFormatError(where, f"cannot read {key!r}")  # pragma: no cover


# -- columns: fast path with numpy, per-entry scan to name the first bad entry ---------------


def _column(items: Sequence[Mapping[str, Any]], where: str, key: str) -> IntArray:
    values = _values(items, where, key)
    arr = np.array(values) if values else np.zeros(0, dtype=np.int64)
    if arr.ndim == 1 and arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.ndim == 1 and arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if np.all(finite) and np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
            return arr.astype(np.int64)
    for i, v in enumerate(values):
        _int_value(v, f"{where}[{i}].{key}")
    raise CocoFormatError(f"{where}.{key}", "must be integers")  # pragma: no cover


def _int_value(v: Any, field: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise CocoFormatError(field, f"must be an integer, got {v!r}")
    if isinstance(v, float) and not (math.isfinite(v) and v == int(v) and abs(v) < 2**53):
        raise CocoFormatError(field, f"must be an integer, got {v!r}")
    if not -(2**63) <= int(v) < 2**63:
        raise CocoFormatError(field, f"out of the 64-bit range: {v!r}")
    return int(v)


def _float_column(items: Sequence[Mapping[str, Any]], where: str, key: str) -> FloatArray:
    values = _values(items, where, key)
    arr = np.array(values) if values else np.zeros(0)
    if arr.ndim == 1 and arr.dtype.kind in "iuf":
        arr = arr.astype(np.float64, copy=False)
        if np.isfinite(arr).all():
            return arr
    for i, v in enumerate(values):
        _float_value(v, f"{where}[{i}].{key}")
    raise CocoFormatError(f"{where}.{key}", "must be finite numbers")  # pragma: no cover


def _float_value(v: Any, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise CocoFormatError(field, f"must be a finite number, got {v!r}")
    return float(v)


def _optional_column(items: Sequence[Mapping[str, Any]], where: str, key: str) -> FloatArray | None:
    """Float column of an optional field, NaN where absent; None when no entry has it."""
    try:
        return _float_column(items, where, key)
    except CocoFormatError as e:
        if e.reason != "missing":
            raise
    present = [key in item for item in items]
    if not any(present):
        return None
    values = [item.get(key, 0.0) for item in items]
    for i, v in enumerate(values):
        if present[i]:
            _float_value(v, f"{where}[{i}].{key}")
    arr = np.array(values, dtype=np.float64)
    arr[~np.array(present)] = math.nan
    return arr


def _flag_column(items: Sequence[Mapping[str, Any]], where: str, key: str) -> BoolArray:
    if not any(key in item for item in items):
        return np.zeros(len(items), dtype=bool)
    values = [item.get(key, 0) for item in items]
    arr = np.array(values)
    if arr.ndim == 1 and arr.dtype.kind in "biuf" and np.isin(arr, (0, 1)).all():
        return arr.astype(bool)
    for i, v in enumerate(values):
        if isinstance(v, bool) or (isinstance(v, int | float) and v in (0, 1)):
            continue
        raise CocoFormatError(f"{where}[{i}].{key}", f"must be 0 or 1, got {v!r}")
    raise CocoFormatError(f"{where}.{key}", "must be 0 or 1")  # pragma: no cover


def _box_column(items: Sequence[Mapping[str, Any]], where: str) -> BoxesXYWH:
    values = _values(items, where, "bbox")
    if not values:
        return np.zeros((0, 4))
    try:
        arr = np.array(values)
    except ValueError:  # ragged
        arr = None
    if arr is not None and arr.ndim == 2 and arr.shape[1] == 4 and arr.dtype.kind in "iuf":
        return arr.astype(np.float64, copy=False)  # values are checked by the dataclass
    for i, v in enumerate(values):
        field = f"{where}[{i}].bbox"
        if not isinstance(v, list | tuple) or len(v) != 4:
            raise CocoFormatError(field, f"must be [x, y, width, height], got {v!r}")
        for x in v:
            _float_value(x, field)
    raise CocoFormatError(f"{where}.bbox", "must be lists of 4 numbers")  # pragma: no cover


# -- array checks (shared by the loaders and direct construction) ---------------------------


def _ids(value: Any, where: str, key: str, n: int | None = None) -> IntArray:
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.ndim != 1:
        raise CocoFormatError(f"{where}.{key}", f"must be a 1-d array, got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise CocoFormatError(f"{where}.{key}", f"has {len(arr)} values for {n} entries")
    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.round(arr)))
        if len(bad):
            raise CocoFormatError(
                f"{where}[{bad[0]}].{key}", f"must be an integer, got {arr[bad[0]]!r}"
            )
    elif arr.dtype.kind not in "iu":
        raise CocoFormatError(f"{where}.{key}", f"must be integers, got dtype {arr.dtype}")
    return _frozen(arr.astype(np.int64))


def _floats(value: Any, where: str, key: str, n: int) -> FloatArray:
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.astype(np.float64)
    if arr.ndim != 1 or len(arr) != n or arr.dtype.kind not in "iuf":
        raise CocoFormatError(f"{where}.{key}", f"must be {n} numbers, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if len(bad):
        raise CocoFormatError(
            f"{where}[{bad[0]}].{key}", f"must be a finite number, got {arr[bad[0]]!r}"
        )
    return _frozen(arr)


def _flags(value: Any, where: str, key: str, n: int) -> BoolArray:
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.astype(bool)
    if arr.ndim != 1 or len(arr) != n or arr.dtype.kind not in "biuf":
        raise CocoFormatError(f"{where}.{key}", f"must be {n} flags, got {arr.dtype} {arr.shape}")
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if len(bad):
        raise CocoFormatError(f"{where}[{bad[0]}].{key}", f"must be 0 or 1, got {arr[bad[0]]!r}")
    return _frozen(arr.astype(bool))


def _boxes(value: Any, where: str, n: int) -> BoxesXYWH:
    arr = np.asarray(value)
    if arr.size == 0:
        arr = arr.astype(np.float64).reshape(0, 4)
    if arr.ndim != 2 or arr.shape != (n, 4) or arr.dtype.kind not in "iuf":
        raise CocoFormatError(
            f"{where}.bbox", f"must be ({n}, 4) numbers, got {arr.dtype} {arr.shape}"
        )
    arr = arr.astype(np.float64)
    finite = np.isfinite(arr).all(axis=1)
    bad = np.flatnonzero(~finite | (arr[:, 2] < 0) | (arr[:, 3] < 0))
    if len(bad):
        i = bad[0]
        if not finite[i]:
            reason = f"must be finite numbers, got {arr[i].tolist()!r}"
        elif arr[i, 2] < 0:
            reason = f"width must be >= 0, got {arr[i, 2]!r}"
        else:
            reason = f"height must be >= 0, got {arr[i, 3]!r}"
        raise CocoFormatError(f"{where}[{i}].bbox", reason)
    return _frozen(arr)


def _check_unique(ids: IntArray, where: str, key: str) -> None:
    if len(ids) < 2:
        return
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(dup):
        later = order[dup + 1]
        i = int(later.min())
        first = int(np.flatnonzero(ids == ids[i])[0])
        raise CocoFormatError(f"{where}[{i}].{key}", f"{ids[i]} repeats {where}[{first}].{key}")


def _check_known(
    values: IntArray,
    known: IntArray,
    where: str,
    key: str,
    what: str,
    of: str = "ground truth",
) -> None:
    if len(values) == 0:
        return
    ref = np.sort(known)
    pos = np.searchsorted(ref, values)
    ok = (pos < len(ref)) & (ref[np.minimum(pos, len(ref) - 1)] == values) if len(ref) else None
    bad = np.flatnonzero(~ok) if ok is not None else np.arange(len(values))
    if len(bad):
        i = bad[0]
        raise CocoFormatError(f"{where}[{i}].{key}", f"{values[i]} is not {what} of the {of}")


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, copy=True)
    arr.flags.writeable = False
    return arr
