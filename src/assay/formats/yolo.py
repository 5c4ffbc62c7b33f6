"""YOLO (Ultralytics) datasets <-> `Dataset`: ``data.yaml`` with the class names and one
``labels/<image stem>.txt`` per image.

A label line is ``class x_center y_center width height [confidence]`` for a box, or
``class x1 y1 x2 y2 x3 y3 ... [confidence]`` for a polygon (segment), every coordinate
normalized by the image size (0-1): ``x_center = (x + w / 2) / W``, ``width = w / W`` and back
``w = width * W``, ``x = x_center * W - w / 2`` (y and height with H). A line with 5 or 6
numbers is a box, 7 or more a segment (an even count of coordinates, plus an optional
confidence). The label file of ``images/train/a.jpg`` is ``labels/train/a.txt`` (the last
``images`` folder becomes ``labels``); of ``a.jpg``, ``labels/a.txt``.

YOLO files hold no image sizes: readers take them from the caller (``key -> (width, height)``),
since this layer opens no images. Writers drop what YOLO has no field for: rotation (written
as the axis-aligned envelope), masks, keypoints, authors, jobs, timestamps, GT flags, and
scores unless ``scores=True``; each is counted in `Notes`. Coordinates are written with
Python's shortest exact float repr, so write -> read is exact up to the normalization's
rounding (relative error ~1e-16).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from assay.formats.dataset import (
    PX_DIGITS,
    Dataset,
    FormatError,
    ImageRecord,
    Notes,
    Problems,
    RegionRecord,
    envelope,
)

__all__ = ["iter_yolo_files", "read_yolo", "read_yolo_dir", "yolo_label_path"]

# Normalized coordinates may overshoot 0-1 by float rounding of the normalization itself.
SLACK = 1e-9
BOX_FIELDS = ("class", "x_center", "y_center", "width", "height", "confidence")


# Text files of a YOLO folder or zip that hold no labels: assay's own export notes what the
# format dropped in NOTES.txt at the top (re-importing that zip must work).
NOT_LABELS = frozenset({"NOTES.txt"})


def yolo_label_path(image_key: str) -> str:
    """The label file of an image: the last ``images`` folder becomes ``labels`` (or
    ``labels/`` is prefixed), the extension becomes ``.txt``.

    >>> yolo_label_path("images/train/a.jpg"), yolo_label_path("b.png")
    ('labels/train/a.txt', 'labels/b.txt')
    """
    parts = list(PurePosixPath(image_key.replace("\\", "/")).parts)
    if "images" in parts[:-1]:
        i = len(parts) - 2 - parts[-2::-1].index("images")
        parts[i] = "labels"
    else:
        parts.insert(0, "labels")
    return str(PurePosixPath(*parts).with_suffix(".txt"))


# -- reading ------------------------------------------------------------------------------


def read_yolo(
    files: Mapping[str, bytes | str],
    image_sizes: Mapping[str, tuple[int, int]],
    *,
    model_version: str | None = None,
    names: Sequence[str] | None = None,
) -> Dataset:
    """Read a YOLO dataset given as relative path -> content (a directory or a zip's members).

    files: ``data.yaml`` (or any top-level ``*.yaml`` with ``names``; or ``classes.txt``, one
    name a line) and ``*.txt`` label files; other files are ignored. names: class names, to
    use instead of the yaml. image_sizes: image key -> (width, height) for every image of the
    dataset (images without a label file are images without regions). Lines with a
    confidence become predictions with author `model_version`.

    Raises FormatError with file, line and field, e.g.
    ``labels/img_001.txt line 3: field 'height': expected 5 numbers ..., got 4``.
    """
    files = {k.replace("\\", "/").removeprefix("./"): v for k, v in files.items()}
    class_names = list(names) if names is not None else _names(files)
    images = [ImageRecord(key=k, width=int(w), height=int(h)) for k, (w, h) in image_sizes.items()]
    by_label = _label_index(image_sizes)
    regions: list[RegionRecord] = []
    problems = Problems()
    for path in sorted(files):
        if (
            not path.endswith(".txt")
            or path in NOT_LABELS
            or PurePosixPath(path).name == "classes.txt"
        ):
            continue
        with problems.each():
            image = _match(path, by_label, image_sizes)
            w, h = image_sizes[image]
            regions.extend(_read_lines(files[path], path, image, w, h, class_names, model_version))
    problems.check()
    return Dataset(tuple(images), tuple(regions), tuple(class_names))


def read_yolo_dir(root: str, image_sizes: Mapping[str, tuple[int, int]], **kw: Any) -> Dataset:
    """`read_yolo` over the ``*.yaml`` and ``*.txt`` files under a directory."""
    base = Path(root)
    files = {
        p.relative_to(base).as_posix(): p.read_bytes()
        for p in base.rglob("*")
        if p.is_file() and p.suffix in (".txt", ".yaml", ".yml")
    }
    return read_yolo(files, image_sizes, **kw)


def _names(files: Mapping[str, bytes | str]) -> list[str]:
    # yaml loads on first use, not with the server (memory: docs/architecture.md).
    import yaml  # noqa: PLC0415

    yamls = [p for p in files if "/" not in p and p.endswith((".yaml", ".yml"))]
    if "data.yaml" in yamls:
        yamls = ["data.yaml"]
    for path in yamls:
        try:
            data = yaml.safe_load(_text(files[path], path))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise FormatError(path, line, None, f"malformed YAML: {e}") from None
        if not isinstance(data, Mapping) or "names" not in data:
            continue
        raw = data["names"]
        if isinstance(raw, list) and all(isinstance(n, str) and n for n in raw):
            return list(raw)
        if isinstance(raw, Mapping):
            try:
                idx = {int(k): v for k, v in raw.items()}
            except (TypeError, ValueError):
                idx = {}
            if sorted(idx) == list(range(len(idx))) and all(
                isinstance(n, str) and n for n in idx.values()
            ):
                return [idx[i] for i in range(len(idx))]
        raise FormatError(
            path, None, "names", "must be a list of names or a mapping 0..K-1 -> name"
        )
    if "classes.txt" in files:
        return [
            n.strip() for n in _text(files["classes.txt"], "classes.txt").splitlines() if n.strip()
        ]
    raise FormatError("data.yaml", None, "names", "missing: no data.yaml with names was found")


def _label_index(image_sizes: Mapping[str, tuple[int, int]]) -> dict[str, str]:
    return {yolo_label_path(k): k for k in image_sizes}


def _match(path: str, by_label: Mapping[str, str], image_sizes: Mapping[str, Any]) -> str:
    if path in by_label:
        return by_label[path]
    stem = PurePosixPath(path).stem
    same = [k for k in image_sizes if PurePosixPath(k).stem == stem]
    if len(same) == 1:
        return same[0]
    reason = "no image of the dataset matches" if not same else f"{len(same)} images match"
    raise FormatError(path, None, None, f"{reason} this label file (by stem {stem!r})")


def _text(data: bytes | str, file: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FormatError(file, None, None, f"not UTF-8 text: {e.reason}") from None


def _read_lines(
    data: bytes | str,
    file: str,
    image: str,
    width: int,
    height: int,
    names: Sequence[str],
    model_version: str | None,
) -> list[RegionRecord]:
    out: list[RegionRecord] = []
    problems = Problems()
    for n, line in enumerate(_text(data, file).splitlines(), start=1):
        with problems.each():
            region = _read_line(line, n, file, image, width, height, names, model_version)
            if region is not None:
                out.append(region)
    problems.check()
    return out


def _read_line(
    line: str,
    n: int,
    file: str,
    image: str,
    width: int,
    height: int,
    names: Sequence[str],
    model_version: str | None,
) -> RegionRecord | None:
    """The region of line `n` of a label file (None for a blank or comment line)."""
    tokens = line.split()
    if not tokens or tokens[0].startswith("#"):
        return None
    count = len(tokens)
    if count < 5:
        raise FormatError(
            file, n, BOX_FIELDS[count],
            f"expected 5 numbers (class x_center y_center width height), got {count}",
        )  # fmt: skip
    is_box = count in (5, 6)
    names_of = BOX_FIELDS if is_box else _segment_fields(count)
    values = [_number(t, file, n, names_of[i]) for i, t in enumerate(tokens)]
    cls = values[0]
    if cls != int(cls) or not 0 <= cls < len(names):
        raise FormatError(file, n, "class", f"{tokens[0]} is not a class index 0..{len(names) - 1}")
    has_conf = count == 6 if is_box else count % 2 == 0
    coords = values[1:-1] if has_conf else values[1:]
    for i, v in enumerate(coords):
        if not -SLACK <= v <= 1 + SLACK:
            raise FormatError(
                file, n, names_of[i + 1], f"{tokens[i + 1]} is outside 0-1 (normalized)"
            )
    score = values[-1] if has_conf else None
    common: dict[str, Any] = {
        "image": image,
        "label": names[int(cls)],
        "score": score,
        "source": "prediction" if has_conf else "annotation",
        "author": model_version if has_conf else None,
        "origin": f"{file} line {n}",
    }
    if is_box:
        cx, cy, wn, hn = coords
        w, h = wn * width, hn * height
        x, y = cx * width - w / 2, cy * height - h / 2
        return RegionRecord(kind="box", x=_px(x, 1), y=_px(y, 1), w=_px(w, 1), h=_px(h, 1),
                            **common)  # fmt: skip
    pts = tuple(
        (_px(x, width), _px(y, height)) for x, y in zip(coords[::2], coords[1::2], strict=True)
    )
    return RegionRecord(kind="polygon", points=pts, **common)


def _px(normalized: float, size: int) -> float:
    return round(normalized * size, PX_DIGITS)


def _segment_fields(count: int) -> list[str]:
    fields = ["class"]
    for i in range(1, (count - 1) // 2 + 1):
        fields += [f"x{i}", f"y{i}"]
    if len(fields) < count:
        fields.append("confidence")
    return fields


def _number(token: str, file: str, line: int, field: str) -> float:
    try:
        v = float(token)
    except ValueError:
        raise FormatError(file, line, field, f"{token!r} is not a number") from None
    if not math.isfinite(v):
        raise FormatError(file, line, field, f"{token!r} is not a finite number")
    return v


# -- writing ------------------------------------------------------------------------------


def iter_yolo_files(
    items: Iterable[tuple[ImageRecord, Iterable[RegionRecord]]],
    labels: Sequence[str],
    *,
    scores: bool = False,
    notes: Notes | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(relative path, content)``: ``data.yaml`` first, then one label file per image
    (empty for an image without regions, so negatives stay in the dataset), one image at a
    time. labels: class names, index = position. scores: append each region's confidence
    (a predictions file). What YOLO cannot hold is counted in `notes`.
    """
    # yaml loads on first use, not with the server (memory: docs/architecture.md).
    import yaml  # noqa: PLC0415

    notes = notes if notes is not None else Notes()
    cls_of = {label: i for i, label in enumerate(labels)}
    head = {"path": ".", "train": "images", "val": "images", "names": dict(enumerate(labels))}
    yield "data.yaml", yaml.safe_dump(head, sort_keys=False, allow_unicode=True).encode()
    for image, regions in items:
        lines = []
        for r in regions:
            line = _line(r, image, cls_of, scores, notes)
            if line is not None:
                lines.append(line)
        yield yolo_label_path(image.key), "".join(s + "\n" for s in lines).encode()


def _line(
    r: RegionRecord, image: ImageRecord, cls_of: Mapping[str, int], scores: bool, notes: Notes
) -> str | None:
    cls = cls_of.get(r.label)
    if cls is None:
        raise ValueError(f"label {r.label!r} is not in the class names")
    if r.kind in ("mask", "keypoint"):
        notes.drop(f"{r.kind}: YOLO detection/segment files cannot hold it; not written")
        return None
    if r.author is not None or r.job is not None or r.created_at is not None:
        notes.drop("author, job, timestamp: YOLO has no field for them")
    if r.is_ground_truth:
        notes.drop("is_ground_truth: YOLO has no field for it")
    W, H = image.width, image.height
    if r.kind == "box":
        if r.rotated:
            notes.drop("rotation: written as the axis-aligned envelope")
        x, y, w, h = envelope(r)
        nums = [(x + w / 2) / W, (y + h / 2) / H, w / W, h / H]
    else:
        nums = [v for px, py in r.points for v in (px / W, py / H)]
    if r.score is not None:
        if scores:
            nums.append(r.score)
        else:
            notes.drop("score: written only in predictions files (scores=True)")
    return " ".join([str(cls), *map(repr, map(float, nums))])
