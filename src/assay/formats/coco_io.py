"""COCO instances JSON <-> `Dataset`: boxes, polygons, RLE masks, categories, image sizes,
scores; a streaming writer and a reader for COCO results (detections) files.

Coordinates are COCO's own: pixels, origin top-left, ``bbox = [x, y, width, height]``,
polygons ``[x1, y1, x2, y2, ...]``, masks as RLE ``{"size": [h, w], "counts": ...}`` (counts a
list of ints, or COCO's compressed string; kept as given). `assay.formats.coco` is the
separate array loader that evaluation uses.

Writing (`write_coco`): categories get ids 1..K in the order of `labels` (the label config's
order, so ids are stable between exports); images ids 1..N and annotation ids 1..M in the
order given. A box is ``bbox`` plus its 4 corners as ``segmentation`` (pycocotools' segm
evaluation needs one on every annotation; readers, assay's included, that see a single
4-point polygon equal to the bbox's corners read a box); a rotated box becomes a 4-point
polygon with its axis-aligned envelope as ``bbox`` (other tools see a polygon; assay reads the
rotation back from the ``assay`` field); keypoints are dropped (COCO keypoints need a
skeleton per category). ``iscrowd`` is always 0. With ``extras=True`` (default) each image
and annotation carries an ``assay`` object with what COCO has no field for (external id, GT
status, jobs; source, author, job, created_at, is_ground_truth, group, region id), which
pycocotools and other readers ignore.

Reading (`read_coco`): an annotation with a non-empty ``segmentation`` becomes polygons (one
region per part) or a mask, else a box from ``bbox`` (``geometry="box"`` always takes the bbox).
A COCO "annotation" is one object: all the objects of one image (and one author) are one
assay annotation, so regions get no ``group`` unless the file carries assay's extras (its own
export round-trips exactly). An annotation with ``score`` is a prediction whose author is
`model_version`. ``iscrowd`` is not kept (counted in notes).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import orjson

from assay.formats.dataset import (
    Dataset,
    FormatError,
    ImageRecord,
    Notes,
    Problems,
    RegionRecord,
    box_corners,
    envelope,
    polygon_area,
)
from assay.geometry.masks import rle_area, rle_counts

__all__ = ["read_coco", "read_coco_results", "write_coco"]

CHUNK_BYTES = 1 << 16
_REGION_EXTRAS = ("author", "job", "created_at", "is_ground_truth", "group", "region_id")


# -- reading ------------------------------------------------------------------------------


def read_coco(
    source: str | os.PathLike[str] | bytes | Mapping[str, Any],
    *,
    file: str | None = None,
    geometry: Literal["auto", "box"] = "auto",
    model_version: str | None = None,
) -> Dataset:
    """Read a COCO instances file: a path, the file's bytes, or its parsed JSON.

    file: the name used in errors (default: the path's name, else "annotations.json").
    Returns images (key = ``file_name``, external id = the COCO image id), regions and the
    category names in file order. Raises FormatError naming the first problem and counting all,
    e.g. ``annotations.json: field 'annotations[4].category_id': 9 is not a category id (known:
    1, 2) (and 3 more problems)``.
    """
    data, file = _load(source, file, "annotations.json")
    if not isinstance(data, Mapping):
        raise FormatError(file, None, None, "must be a JSON object with images and categories")
    notes = Notes()
    images_json = _list(data, "images", file)
    categories_json = _list(data, "categories", file)
    anns = _list(data, "annotations", file) if "annotations" in data else []

    problems = Problems()
    categories: dict[int, str] = {}
    for i, c in enumerate(categories_json):
        with problems.each():
            _category(c, i, file, categories)

    images: list[ImageRecord] = []
    by_id: dict[int, ImageRecord] = {}
    keys: set[str] = set()
    for i, im in enumerate(images_json):
        with problems.each():
            record, iid = _image(im, i, file, by_id, keys)
            images.append(record)
            by_id[iid] = record
            keys.add(record.key)
    problems.check()  # an object of a bad image or category would only repeat the problem

    regions: list[RegionRecord] = []
    for i, ann in enumerate(anns):
        with problems.each():
            regions.extend(
                _annotation(ann, i, file, by_id, categories, geometry, model_version, notes)
            )
    problems.check()
    return Dataset(tuple(images), tuple(regions), tuple(categories.values()), notes)


def _category(c: Any, i: int, file: str, categories: dict[int, str]) -> None:
    path = f"categories[{i}]"
    cid = _int(_get(c, "id", file, path), file, f"{path}.id")
    name = _get(c, "name", file, path)
    if not isinstance(name, str) or not name:
        raise FormatError(file, None, f"{path}.name", "must be a non-empty string")
    if cid in categories:
        raise FormatError(file, None, f"{path}.id", f"{cid} is listed twice")
    if name in categories.values():
        raise FormatError(file, None, f"{path}.name", f"{name!r} is listed twice")
    categories[cid] = name


def _image(
    im: Any, i: int, file: str, by_id: dict[int, ImageRecord], keys: set[str]
) -> tuple[ImageRecord, int]:
    path = f"images[{i}]"
    iid = _int(_get(im, "id", file, path), file, f"{path}.id")
    key = _get(im, "file_name", file, path)
    if not isinstance(key, str) or not key:
        raise FormatError(file, None, f"{path}.file_name", "must be a non-empty string")
    w = _int(_get(im, "width", file, path), file, f"{path}.width", positive=True)
    h = _int(_get(im, "height", file, path), file, f"{path}.height", positive=True)
    if iid in by_id:
        raise FormatError(file, None, f"{path}.id", f"{iid} is listed twice")
    if key in keys:
        raise FormatError(file, None, f"{path}.file_name", f"{key!r} is listed twice")
    extra = im.get("assay") if isinstance(im.get("assay"), Mapping) else {}
    try:
        record = ImageRecord(
            key=key,
            width=w,
            height=h,
            external_id=extra.get("external_id") if extra else str(iid),
            gt_status=extra.get("gt_status", "none"),
            jobs=tuple(str(j) for j in extra.get("jobs", ())),
        )
    except ValueError as e:
        raise FormatError(file, None, f"{path}.assay", str(e)) from None
    return record, iid


def read_coco_results(
    source: str | os.PathLike[str] | bytes | Sequence[Mapping[str, Any]],
    *,
    images: Mapping[int, ImageRecord],
    categories: Mapping[int, str],
    model_version: str | None = None,
    file: str | None = None,
) -> Dataset:
    """Read a COCO results (detections) file: a JSON list of ``{image_id, category_id, bbox,
    score}`` (optionally ``segmentation``), as pycocotools' ``loadRes`` takes.

    images: COCO image id -> image (e.g. from the ground-truth file, or task ids);
    categories: category id -> label (e.g. ``{i + 1: label}`` over the config's labels).
    Every entry becomes a prediction region with author `model_version`.
    """
    data, file = _load(source, file, "results.json")
    if not isinstance(data, list):
        raise FormatError(file, None, None, "must be a JSON list of detections")
    notes = Notes()
    problems = Problems()
    regions: list[RegionRecord] = []
    for i, det in enumerate(data):
        with problems.each():
            if not isinstance(det, Mapping):
                raise FormatError(file, None, f"[{i}]", "must be an object")
            if "score" not in det:
                raise FormatError(file, None, f"[{i}].score", "missing (a detection needs a score)")
            regions.extend(
                _annotation(det, i, file, images, categories, "auto", model_version, notes, "")
            )
    problems.check()
    used = {r.image for r in regions}
    listed = tuple(im for im in images.values() if im.key in used)
    return Dataset(listed, tuple(regions), tuple(categories.values()), notes)


def _annotation(
    ann: Any,
    i: int,
    file: str,
    images: Mapping[int, ImageRecord],
    categories: Mapping[int, str],
    geometry: str,
    model_version: str | None,
    notes: Notes,
    where: str = "annotations",
) -> list[RegionRecord]:
    path = f"{where}[{i}]"
    if not isinstance(ann, Mapping):
        raise FormatError(file, None, path, "must be an object")
    iid = _int(_get(ann, "image_id", file, path), file, f"{path}.image_id")
    image = images.get(iid)
    if image is None:
        raise FormatError(file, None, f"{path}.image_id", f"{iid} is not an image id")
    cid = _int(_get(ann, "category_id", file, path), file, f"{path}.category_id")
    label = categories.get(cid)
    if label is None:
        known = ", ".join(map(str, sorted(categories))) or "none"
        raise FormatError(
            file, None, f"{path}.category_id", f"{cid} is not a category id (known: {known})"
        )
    score = ann.get("score")
    if score is not None:
        score = _float(score, file, f"{path}.score")
    if ann.get("iscrowd"):
        notes.drop("iscrowd: imported as an ordinary region")
    extra = ann.get("assay") if isinstance(ann.get("assay"), Mapping) else None
    common: dict[str, Any] = {
        "image": image.key,
        "label": label,
        "score": score,
        "source": "prediction" if score is not None else "annotation",
        "author": model_version if score is not None else None,
        # A COCO file's objects are one annotation per image (and author): every COCO file
        # numbers its objects, so grouping by that id would split an image's answer key into
        # one annotation per object. Only assay's own extras name an annotation (below).
        "group": None,
        "origin": f"{file}: {path} (image {image.key!r})",
    }
    if extra is not None:
        common["source"] = extra.get("source", "annotation")
        if common["source"] not in ("annotation", "prediction"):
            raise FormatError(file, None, f"{path}.assay.source", "must be annotation/prediction")
        for key in _REGION_EXTRAS:
            common[key] = extra.get(key, False if key == "is_ground_truth" else None)
    seg = ann.get("segmentation")
    rot = extra.get("box") if extra is not None else None
    if rot is not None and geometry == "auto":
        if not (isinstance(rot, list) and len(rot) == 5):
            raise FormatError(file, None, f"{path}.assay.box", "must be [x, y, w, h, rotation]")
        x, y, w, h, a = (_float(v, file, f"{path}.assay.box") for v in rot)
        return [RegionRecord(kind="box", x=x, y=y, w=w, h=h, rotation=a, **common)]
    if geometry == "auto" and isinstance(seg, Mapping):
        return [RegionRecord(kind="mask", mask=_rle(seg, image, file, f"{path}.segmentation"),
                             **common)]  # fmt: skip
    bbox = ann.get("bbox")
    if (
        isinstance(seg, list)
        and len(seg) == 1
        and isinstance(bbox, list)
        and len(bbox) == 4
        and _is_box_polygon(seg[0], bbox)
        and not (extra and extra.get("kind") == "polygon")
    ):
        seg = None  # a box written as its 4 corners: read it from bbox, exactly
    if geometry == "auto" and isinstance(seg, list) and seg:
        parts = seg if isinstance(seg[0], list) else [seg]
        if len(parts) > 1:
            notes.drop("multi-part polygon: split into one polygon region per part", len(parts))
        out = []
        for j, part in enumerate(parts):
            field = f"{path}.segmentation[{j}]"
            if not isinstance(part, list) or len(part) < 6 or len(part) % 2:
                raise FormatError(file, None, field, "must be [x1, y1, x2, y2, ...], >= 3 points")
            xy = [_float(v, file, field) for v in part]
            out.append(
                RegionRecord(
                    kind="polygon", points=tuple(zip(xy[::2], xy[1::2], strict=True)), **common
                )
            )
        return out
    if seg is not None and not isinstance(seg, list | Mapping):
        raise FormatError(file, None, f"{path}.segmentation", "must be a list or an RLE object")
    if geometry == "box" and seg:
        notes.drop("segmentation: read as its bbox (geometry='box')")
    bbox = _get(ann, "bbox", file, path)
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise FormatError(
            file, None, f"{path}.bbox", f"must be [x, y, width, height], got {bbox!r}"
        )
    x, y, w, h = (_float(v, file, f"{path}.bbox") for v in bbox)
    if w < 0 or h < 0:
        raise FormatError(file, None, f"{path}.bbox", f"width and height must be >= 0, got {bbox}")
    return [RegionRecord(kind="box", x=x, y=y, w=w, h=h, **common)]


def _is_box_polygon(poly: Any, bbox: list[Any]) -> bool:
    try:
        x, y, w, h = (float(v) for v in bbox)
        return [float(v) for v in poly] == [x, y, x + w, y, x + w, y + h, x, y + h]
    except (TypeError, ValueError):
        return False


def _rle(seg: Mapping[str, Any], image: ImageRecord, file: str, field: str) -> dict[str, Any]:
    size = seg.get("size")
    counts = seg.get("counts")
    if size != [image.height, image.width]:
        raise FormatError(
            file, None, f"{field}.size", f"must be [{image.height}, {image.width}], got {size!r}"
        )
    if not isinstance(counts, str | list):
        raise FormatError(file, None, f"{field}.counts", "must be a string or a list of ints")
    rle = {"size": [image.height, image.width], "counts": counts}
    try:
        rle_counts(rle)  # type: ignore[arg-type]
    except (ValueError, TypeError) as e:
        raise FormatError(file, None, f"{field}.counts", str(e)) from None
    return rle


def _load(source: Any, file: str | None, default: str) -> tuple[Any, str]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        file = file or path.name
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise FormatError(file, None, None, f"cannot read: {e.strerror}") from None
    elif isinstance(source, bytes | bytearray | memoryview):
        raw, file = bytes(source), file or default
    else:
        return source, file or default
    try:
        return json.loads(raw), file
    except json.JSONDecodeError as e:
        raise FormatError(
            file, e.lineno, None, f"malformed JSON: {e.msg} (column {e.colno})"
        ) from None
    except UnicodeDecodeError as e:
        raise FormatError(file, None, None, f"not UTF-8 text: {e.reason}") from None


def _list(data: Mapping[str, Any], key: str, file: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise FormatError(file, None, key, "missing or not a list")
    return value


def _get(obj: Any, key: str, file: str, path: str) -> Any:
    if not isinstance(obj, Mapping):
        raise FormatError(file, None, path, "must be an object")
    if key not in obj:
        raise FormatError(file, None, f"{path}.{key}", "missing")
    return obj[key]


def _int(v: Any, file: str, field: str, positive: bool = False) -> int:
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    if ok and isinstance(v, float):
        ok = math.isfinite(v) and v == int(v)
    if not ok or (positive and v <= 0):
        want = "a positive integer" if positive else "an integer"
        raise FormatError(file, None, field, f"must be {want}, got {v!r}")
    return int(v)


def _float(v: Any, file: str, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise FormatError(file, None, field, f"must be a finite number, got {v!r}")
    return float(v)


# -- writing ------------------------------------------------------------------------------


def write_coco(
    images: Iterable[ImageRecord],
    regions: Iterable[RegionRecord],
    labels: Sequence[str],
    *,
    notes: Notes | None = None,
    extras: bool = True,
    info: Mapping[str, Any] | None = None,
    ids_from_external: bool = False,
) -> Iterator[bytes]:
    """Stream a COCO instances file as UTF-8 JSON chunks of about 64 KiB.

    `images` is consumed first, then `regions` (each naming an image of `images` by key); the
    document is never built whole, so memory is one small entry per image (its key, id and
    size) however many regions there are. labels: category names, ids 1..K in this order.
    What COCO cannot hold is counted in `notes`. Raises ValueError for a region whose image
    or label is not listed (a caller bug: check labels with `unknown_labels` first).
    ids_from_external: use each image's `external_id` (an integer, e.g. the task id) as its
    COCO id, so detection results written against the export name the images back.
    """
    notes = notes if notes is not None else Notes()
    cat_ids = {label: i + 1 for i, label in enumerate(labels)}
    buf = _Chunker()
    head = {"info": dict(info or {"description": "exported by assay"}), "licenses": []}
    yield from buf.add(orjson.dumps(head)[:-1])
    cats = [{"id": i, "name": label, "supercategory": ""} for label, i in cat_ids.items()]
    yield from buf.add(b',"categories":' + orjson.dumps(cats) + b',"images":[')
    index: dict[str, tuple[int, int, int]] = {}
    for image in images:
        if image.key in index:
            raise ValueError(f"image {image.key!r} is listed twice")
        iid = int(image.external_id) if ids_from_external and image.external_id else len(index) + 1
        first = not index
        index[image.key] = (iid, image.width, image.height)
        entry: dict[str, Any] = {
            "id": iid,
            "file_name": image.key,
            "width": image.width,
            "height": image.height,
        }
        if extras:
            extra: dict[str, Any] = {"gt_status": image.gt_status}
            if image.external_id is not None:
                extra["external_id"] = image.external_id
            if image.jobs:
                extra["jobs"] = list(image.jobs)
            entry["assay"] = extra
        yield from buf.add((b"" if first else b",") + orjson.dumps(entry))
    yield from buf.add(b'],"annotations":[')
    aid = 0
    for r in regions:
        found = index.get(r.image)
        if found is None:
            raise ValueError(f"region on image {r.image!r}, which is not in the images")
        cid = cat_ids.get(r.label)
        if cid is None:
            raise ValueError(f"label {r.label!r} is not in the categories")
        ann = _coco_annotation(r, found, cid, notes, extras)
        if ann is None:
            continue
        aid += 1
        ann["id"] = aid
        yield from buf.add((b"," if aid > 1 else b"") + orjson.dumps(ann))
    yield from buf.add(b"]}")
    yield from buf.flush()


def _coco_annotation(
    r: RegionRecord, image: tuple[int, int, int], cid: int, notes: Notes, extras: bool
) -> dict[str, Any] | None:
    iid, width, height = image
    extra: dict[str, Any] = {}
    if r.kind == "keypoint":
        notes.drop("keypoint: COCO keypoints need a skeleton per category; not written")
        return None
    if r.kind == "box" and not r.rotated:
        # pycocotools' segm evaluation needs a segmentation on every annotation
        seg: Any = [[r.x, r.y, r.x + r.w, r.y, r.x + r.w, r.y + r.h, r.x, r.y + r.h]]
        area = r.w * r.h
    elif r.kind == "box":
        notes.drop("rotated box: written as a 4-point polygon with its envelope as bbox")
        corners = box_corners(r.x, r.y, r.w, r.h, r.rotation)
        seg = [[c for p in corners for c in p]]
        area = r.w * r.h
        extra["box"] = [r.x, r.y, r.w, r.h, r.rotation]
    elif r.kind == "polygon":
        seg = [[c for p in r.points for c in p]]
        area = polygon_area(r.points)
        extra["kind"] = "polygon"
    else:
        mask = dict(r.mask or {})
        if [int(v) for v in mask.get("size", ())] != [height, width]:
            raise ValueError(f"mask size {mask.get('size')} is not the image's [{height}, {width}]")
        seg = {"size": [height, width], "counts": mask["counts"]}
        area = float(rle_area(seg))  # type: ignore[arg-type]
    x, y, w, h = envelope(r)
    ann: dict[str, Any] = {
        "id": 0,
        "image_id": iid,
        "category_id": cid,
        "bbox": [x, y, w, h],
        "area": area,
        "iscrowd": 0,
        "segmentation": seg,
    }
    if r.score is not None:
        ann["score"] = r.score
    if extras:
        extra["source"] = r.source
        for key in _REGION_EXTRAS:
            value = getattr(r, key)
            if value is not None and value is not False:
                extra[key] = value
        ann["assay"] = extra
    return ann


class _Chunker:
    """Collects small byte strings and hands them out in chunks of about CHUNK_BYTES."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> Iterator[bytes]:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CHUNK_BYTES:
            yield from self.flush()

    def flush(self) -> Iterator[bytes]:
        if self.parts:
            out = b"".join(self.parts)
            self.parts.clear()
            self.size = 0
            yield out
