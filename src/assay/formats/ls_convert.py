"""Label Studio result items <-> `RegionRecord`s: percent of the image size <-> pixels.

Label Studio stores x, y, width, height and polygon points in percent (0-100) of the image's
original size; pixels are ``x_px = x_pct / 100 * width`` and back ``x_pct = x_px / width * 100``
(y and height with the image height). Rotation (degrees clockwise about the top-left corner)
is the same number on both sides. Both directions are exact within float precision (one
rounding each way, relative error <= 2**-52).

Shapes: rectanglelabels / rectangle -> "box", polygonlabels / polygon -> "polygon",
keypointlabels / keypoint -> "keypoint". Brushes (Label Studio's own RLE, not COCO's),
ellipses, choices, text areas and relations are not regions here: they are skipped and
counted in `Notes`. A region's label is its ``value.<type>`` list, or the ``labels`` of a
separate "labels" item with the same id (Label Studio's split form); several labels join,
sorted, with "|" (`label_studio.region_label`, as the scorer reads them) and split again on
the way back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assay.formats.dataset import PX_DIGITS, FormatError, Notes, RegionRecord
from assay.formats.label_config import LabelConfig
from assay.formats.label_studio import KIND_OF_TYPE, LABEL_SEPARATOR, region_label

__all__ = [
    "LABEL_SEPARATOR",
    "ls_controls",
    "ls_result_to_regions",
    "pct_to_px",
    "px_to_pct",
    "regions_to_ls_result",
]

_TYPE_OF_KIND = {"box": "rectanglelabels", "polygon": "polygonlabels", "keypoint": "keypointlabels"}
_SHAPE_OF_KIND = {"box": "rectangle", "polygon": "polygon", "keypoint": "keypoint"}


def px_to_pct(value_px: float, size_px: float) -> float:
    """Pixels -> percent of `size_px`: ``value_px / size_px * 100``."""
    return value_px / size_px * 100


def pct_to_px(value_pct: float, size_px: float) -> float:
    """Percent of `size_px` -> pixels: ``value_pct / 100 * size_px``, rounded to `PX_DIGITS`
    decimals so that whole pixels come back whole (20, not 19.999999999999996)."""
    return round(value_pct / 100 * size_px, PX_DIGITS)


def ls_controls(config: LabelConfig) -> dict[str, tuple[str, str]]:
    """Region kind -> (from_name, to_name) of the first config control of that shape, e.g.
    ``{"box": ("label", "image")}``; the `from_name` argument of `regions_to_ls_result`."""
    out: dict[str, tuple[str, str]] = {}
    for control in config.controls.values():
        for kind, shape in _SHAPE_OF_KIND.items():
            if control.shape == shape and control.to_name and kind not in out:
                out[kind] = (control.name, control.to_name[0])
    return out


def regions_to_ls_result(
    regions: Iterable[RegionRecord],
    width: float,
    height: float,
    from_name: str | Mapping[str, str | tuple[str, str]] = "label",
    to_name: str = "image",
    *,
    notes: Notes | None = None,
) -> list[dict[str, Any]]:
    """Label Studio result items (percent) for the regions of one image (pixels).

    from_name: one control name for every kind, or kind -> name or (name, to_name), e.g. the
    output of `ls_controls`. Regions of a kind without a control, and masks, are left out and
    counted in `notes`. Items carry ``original_width`` / ``original_height``, ``score`` when the
    region has one, and the region's id (``"r<i>"`` when it has none).

    >>> r = RegionRecord("a.jpg", "Zebra", x=20, y=20, w=100, h=25)
    >>> regions_to_ls_result([r], 200, 100)[0]["value"]["x"]
    10.0
    """
    notes = notes if notes is not None else Notes()
    out: list[dict[str, Any]] = []
    for i, r in enumerate(regions):
        if r.kind == "mask":
            notes.drop("mask: Label Studio brushes use another RLE; not written")
            continue
        names = _control(from_name, to_name, r.kind)
        if names is None:
            notes.drop(f"{r.kind}: the label config has no control for it; not written")
            continue
        rtype = _TYPE_OF_KIND[r.kind]
        labels = r.label.split(LABEL_SEPARATOR) if r.label else []
        if r.kind == "box":
            value: dict[str, Any] = {
                "x": px_to_pct(r.x, width),
                "y": px_to_pct(r.y, height),
                "width": px_to_pct(r.w, width),
                "height": px_to_pct(r.h, height),
                "rotation": float(r.rotation),
            }
        elif r.kind == "polygon":
            value = {
                "points": [[px_to_pct(x, width), px_to_pct(y, height)] for x, y in r.points],
                "closed": True,
            }
        else:
            value = {"x": px_to_pct(r.x, width), "y": px_to_pct(r.y, height)}
        value[rtype] = labels
        item: dict[str, Any] = {
            "id": r.region_id or f"r{i}",
            "type": rtype,
            "from_name": names[0],
            "to_name": names[1],
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": value,
        }
        if r.score is not None:
            item["score"] = r.score
        out.append(item)
    return out


def _control(
    from_name: str | Mapping[str, str | tuple[str, str]], to_name: str, kind: str
) -> tuple[str, str] | None:
    if isinstance(from_name, str):
        return from_name, to_name
    entry = from_name.get(kind)
    if entry is None:
        return None
    return (entry, to_name) if isinstance(entry, str) else (entry[0], entry[1])


def ls_result_to_regions(
    result: Sequence[Mapping[str, Any]],
    width: float | None = None,
    height: float | None = None,
    *,
    image: str,
    source: str = "annotation",
    author: str | None = None,
    job: str | None = None,
    created_at: str | None = None,
    is_ground_truth: bool = False,
    group: str | None = None,
    file: str = "result",
    notes: Notes | None = None,
) -> list[RegionRecord]:
    """Regions (pixels) of one Label Studio result (percent).

    width, height: the image size in pixels; None to use each item's original_width /
    original_height. The keyword fields (image key, source, author, ...) are copied to every
    region. Skipped item kinds are counted in `notes`. Raises FormatError naming the item,
    e.g. ``result: field 'result[2].value.width': must be a finite number >= 0, got 'a'``.
    """
    notes = notes if notes is not None else Notes()
    if not isinstance(result, Sequence) or isinstance(result, str | bytes):
        raise FormatError(file, None, "result", "must be a list of result items")
    split_labels: dict[str, list[str]] = {}
    for i, item in enumerate(result):
        if not isinstance(item, Mapping):
            raise FormatError(file, None, f"result[{i}]", "must be an object")
        if item.get("type") == "labels" and isinstance(item.get("value"), Mapping):
            labels = item["value"].get("labels")
            if isinstance(labels, list):
                split_labels.setdefault(str(item.get("id", "")), []).extend(map(str, labels))
    out: list[RegionRecord] = []
    for i, item in enumerate(result):
        rtype = item.get("type")
        kind = KIND_OF_TYPE.get(rtype) if isinstance(rtype, str) else None
        if kind is None:
            if rtype != "labels":
                notes.drop(f"{rtype}: not a region kind assay converts; skipped")
            continue
        path = f"result[{i}]"
        value = item.get("value")
        if not isinstance(value, Mapping):
            raise FormatError(file, None, f"{path}.value", "missing or not an object")
        w_img = _size(item, "original_width", width, file, path)
        h_img = _size(item, "original_height", height, file, path)
        rid = item.get("id")
        labels = value.get(rtype)
        if labels is None or labels == []:
            labels = split_labels.get(str(rid), [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise FormatError(file, None, f"{path}.value.{rtype}", "must be a list of labels")
        score = item.get("score")
        if score is not None:
            score = _num(score, file, f"{path}.score")
        common: dict[str, Any] = {
            "image": image,
            "label": region_label(labels) if labels else "",
            "kind": kind,
            "score": score,
            "author": author,
            "source": source,
            "job": job,
            "created_at": created_at,
            "is_ground_truth": is_ground_truth,
            "group": group,
            "region_id": str(rid) if rid is not None else None,
        }
        vpath = f"{path}.value"
        if kind == "box":
            w = _num(value.get("width"), file, f"{vpath}.width", minimum=0)
            h = _num(value.get("height"), file, f"{vpath}.height", minimum=0)
            out.append(
                RegionRecord(
                    x=pct_to_px(_num(value.get("x"), file, f"{vpath}.x"), w_img),
                    y=pct_to_px(_num(value.get("y"), file, f"{vpath}.y"), h_img),
                    w=pct_to_px(w, w_img),
                    h=pct_to_px(h, h_img),
                    rotation=_num(value.get("rotation", 0) or 0, file, f"{vpath}.rotation"),
                    **common,
                )
            )
        elif kind == "polygon":
            pts = value.get("points")
            if not isinstance(pts, list) or len(pts) < 3:
                raise FormatError(file, None, f"{vpath}.points", "must list at least 3 [x, y]")
            points = []
            for j, p in enumerate(pts):
                if not isinstance(p, list | tuple) or len(p) != 2:
                    raise FormatError(file, None, f"{vpath}.points[{j}]", "must be [x, y]")
                px = _num(p[0], file, f"{vpath}.points[{j}]")
                py = _num(p[1], file, f"{vpath}.points[{j}]")
                points.append((pct_to_px(px, w_img), pct_to_px(py, h_img)))
            out.append(RegionRecord(points=tuple(points), **common))
        else:
            out.append(
                RegionRecord(
                    x=pct_to_px(_num(value.get("x"), file, f"{vpath}.x"), w_img),
                    y=pct_to_px(_num(value.get("y"), file, f"{vpath}.y"), h_img),
                    **common,
                )
            )
    return out


def _size(item: Mapping[str, Any], key: str, given: float | None, file: str, path: str) -> float:
    if given is not None:
        return float(given)
    v = item.get(key)
    if v is None:
        raise FormatError(file, None, f"{path}.{key}", "missing, and no image size was given")
    v = _num(v, file, f"{path}.{key}")
    if v <= 0:
        raise FormatError(file, None, f"{path}.{key}", f"must be > 0, got {v!r}")
    return v


def _num(v: Any, file: str, field: str, minimum: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise FormatError(file, None, field, f"must be a finite number, got {v!r}")
    if minimum is not None and v < minimum:
        raise FormatError(file, None, field, f"must be >= {minimum}, got {v!r}")
    return float(v)
