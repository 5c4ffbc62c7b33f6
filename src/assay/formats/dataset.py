"""The interchange model every format reads into and writes from: images, regions in pixels.

A format module turns its files into a `Dataset` (readers) or a `Dataset`'s parts into bytes
(writers). Coordinates are pixels as floats, origin at the image's top-left corner, x to the
right, y down. A box is its top-left corner (x, y) and size (w, h), rotated `rotation` degrees
clockwise about that corner (Label Studio's convention). Readers are all-or-nothing: they parse
the whole input, go on past a bad object to count every bad one (`Problems`), and raise one
`FormatError` that names the first few and the count, so a caller writes nothing unless every
file was read. Writers record what their format cannot hold in `Notes`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from assay.geometry.masks import rle_counts

__all__ = [
    "GT_STATUSES",
    "KINDS",
    "PX_DIGITS",
    "SOURCES",
    "Dataset",
    "FormatError",
    "ImageRecord",
    "Notes",
    "Problems",
    "RegionRecord",
    "box_corners",
    "envelope",
    "polygon_area",
    "unknown_labels",
]

Kind = Literal["box", "polygon", "mask", "keypoint"]
Source = Literal["annotation", "prediction"]
GtStatus = Literal["none", "done", "empty"]
KINDS: tuple[str, ...] = ("box", "polygon", "mask", "keypoint")
SOURCES: tuple[str, ...] = ("annotation", "prediction")
GT_STATUSES: tuple[str, ...] = ("none", "done", "empty")
# Pixels computed from percent, normalized values or rotations are rounded to 1e-9 px: far
# below any labeling precision, and it removes float noise that would turn a whole pixel 20
# into 19.999999999999996 (which tools that truncate, e.g. int(float(v)), read as 19).
PX_DIGITS = 9


class FormatError(ValueError):
    """Input that a format reader rejects, located by file, line (1-based, None where the
    format has no lines, e.g. JSON paths and XML) and field.

    >>> str(FormatError("labels/img_001.txt", 3, "height", "expected 5 numbers, got 4"))
    "labels/img_001.txt line 3: field 'height': expected 5 numbers, got 4"

    `count` is how many problems the input has in all, `others` the next few after this one
    (`Problems.check`).
    """

    def __init__(
        self,
        file: str,
        line: int | None,
        field: str | None,
        reason: str,
        *,
        count: int = 1,
        others: tuple[FormatError, ...] = (),
    ) -> None:
        where = file if line is None else f"{file} line {line}"
        self.message = f"{where}: field {field!r}: {reason}" if field else f"{where}: {reason}"
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        super().__init__(self.message + more)
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
        self.count = count
        self.others = others


class Problems:
    """The bad objects of an input, every one counted, the first `KEEP` kept.

    A reader wraps each object (a COCO annotation, a YOLO line, a CSV row) in `each()` and
    calls `check()` at the end: one error that names the first problem, the count, and the
    next few, instead of stopping at the first of 300 bad rows.
    """

    KEEP = 20

    def __init__(self) -> None:
        self.found: list[FormatError] = []
        self.count = 0

    @contextmanager
    def each(self) -> Iterator[None]:
        try:
            yield
        except FormatError as exc:
            self.add(exc)

    def add(self, exc: FormatError) -> None:
        self.count += exc.count
        room = self.KEEP - len(self.found)
        if room > 0:
            self.found += [exc, *exc.others][:room]

    def check(self) -> None:
        """Raise the first problem, carrying the count and the others, if there was one."""
        if self.count:
            first = self.found[0]
            raise FormatError(
                first.file, first.line, first.field, first.reason,
                count=self.count, others=tuple(self.found[1:]),
            )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image (a task): its key (file name or relative path, unique in a dataset) and size.

    gt_status: "none" (no ground truth yet), "done" (GT finished), "empty" (done, no regions).
    jobs: names of the jobs the image is in.
    """

    key: str
    width: int
    height: int
    external_id: str | None = None
    gt_status: GtStatus = "none"
    jobs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("ImageRecord.key must not be empty")
        for name in ("width", "height"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"ImageRecord.{name} must be a positive integer, got {v!r}")
        if self.gt_status not in GT_STATUSES:
            raise ValueError(f"ImageRecord.gt_status must be one of {GT_STATUSES}")
        if not isinstance(self.jobs, tuple):
            object.__setattr__(self, "jobs", tuple(self.jobs))


@dataclass(frozen=True, slots=True)
class RegionRecord:
    """One region of one image, in pixels.

    kind "box": x, y (top-left corner), w, h, rotation (degrees clockwise about (x, y)).
    kind "polygon": points ((x, y), ...), at least 3.
    kind "mask": mask, a COCO RLE {"size": [height, width], "counts": list[int] | str}.
    kind "keypoint": x, y.
    score: the model's confidence (predictions), None when unknown.
    author: the annotator's email or the model version. source: "annotation" or "prediction".
    group: the annotation (or prediction) the region belongs to, so regions of one annotation
    stay together; region_id: the region's own id (Label Studio's result item id).
    created_at: ISO 8601 time, as text.
    """

    image: str
    label: str
    kind: Kind = "box"
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    rotation: float = 0.0
    points: tuple[tuple[float, float], ...] = ()
    mask: Mapping[str, Any] | None = None
    score: float | None = None
    author: str | None = None
    source: Source = "annotation"
    job: str | None = None
    created_at: str | None = None
    is_ground_truth: bool = False
    group: str | None = None
    region_id: str | None = None
    # Where in its file the region came from, for errors found later (e.g. "instances.json:
    # annotations[17] (image 'herd_01.png')"); not part of the region.
    origin: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"RegionRecord.kind must be one of {KINDS}, got {self.kind!r}")
        if self.source not in SOURCES:
            raise ValueError(f"RegionRecord.source must be one of {SOURCES}, got {self.source!r}")
        if self.kind == "polygon" and len(self.points) < 3:
            raise ValueError("a polygon needs at least 3 points")
        if self.kind == "mask" and not (isinstance(self.mask, Mapping) and "size" in self.mask):
            raise ValueError("a mask region needs mask={'size': [h, w], 'counts': ...}")
        if not isinstance(self.points, tuple) or any(not isinstance(p, tuple) for p in self.points):
            object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in self.points))

    @property
    def rotated(self) -> bool:
        return self.kind == "box" and self.rotation % 360 != 0


@dataclass(frozen=True, slots=True)
class Dataset:
    """What a reader returns: images, regions (each naming its image by key), and the label
    names in the order the source lists them (categories, data.yaml names, first use)."""

    images: tuple[ImageRecord, ...]
    regions: tuple[RegionRecord, ...]
    labels: tuple[str, ...]
    notes: Notes = field(default_factory=lambda: Notes())


class Notes:
    """What a reader skipped or a writer could not hold, counted by reason.

    >>> n = Notes(); n.drop("rotation: written as the axis-aligned envelope"); n.drop("score")
    >>> n.summary()
    ['rotation: written as the axis-aligned envelope (1 region)', 'score (1 region)']
    """

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def drop(self, reason: str, count: int = 1) -> None:
        if count:
            self.counts[reason] += count

    def __bool__(self) -> bool:
        return bool(self.counts)

    def __repr__(self) -> str:
        return f"Notes({dict(self.counts)!r})"

    def summary(self) -> list[str]:
        """One line per reason, in first-seen order."""
        return [f"{r} ({n} region{'s' if n != 1 else ''})" for r, n in self.counts.items()]


def unknown_labels(regions: Iterable[RegionRecord], known: Iterable[str]) -> list[str]:
    """Labels used by `regions` that `known` (e.g. the project's config labels) lacks, sorted;
    the import service rejects the file listing them, or adds them (``--add-labels``)."""
    allowed = set(known)
    return sorted({r.label for r in regions} - allowed)


def box_corners(
    x: float, y: float, w: float, h: float, rotation: float
) -> list[tuple[float, float]]:
    """The 4 corners of a box rotated `rotation` degrees clockwise about its top-left corner
    (y down), in order top-left, top-right, bottom-right, bottom-left of the unrotated box."""
    if rotation % 360 == 0:
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    a = math.radians(rotation)
    cos, sin = math.cos(a), math.sin(a)
    unit = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
    return [
        (round(x + dx * cos - dy * sin, PX_DIGITS), round(y + dx * sin + dy * cos, PX_DIGITS))
        for dx, dy in unit
    ]


def envelope(region: RegionRecord) -> tuple[float, float, float, float]:
    """The axis-aligned bounding box (x, y, w, h) in pixels of any region kind; for a keypoint
    its point with zero size, for a mask its set pixels (all zero for an empty mask)."""
    if region.kind == "box":
        if not region.rotated:
            return region.x, region.y, region.w, region.h
        pts = box_corners(region.x, region.y, region.w, region.h, region.rotation)
    elif region.kind == "polygon":
        pts = list(region.points)
    elif region.kind == "keypoint":
        return region.x, region.y, 0.0, 0.0
    else:
        return _mask_bbox(region.mask)  # type: ignore[arg-type]
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def polygon_area(points: Iterable[tuple[float, float]]) -> float:
    """Area of a simple polygon (shoelace formula), always >= 0."""
    pts = list(points)
    s = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
        s += x0 * y1 - x1 * y0
    return abs(s) / 2


def _mask_bbox(rle: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """Bounding box of an RLE's set pixels, from its runs (column-major), no pixel decode."""
    h = int(rle["size"][0])
    runs = rle_counts(rle)  # type: ignore[arg-type]
    ends = np.cumsum(runs)
    starts = ends - runs
    fg = (np.arange(len(runs)) % 2 == 1) & (runs > 0)
    if not fg.any() or h == 0:
        return 0.0, 0.0, 0.0, 0.0
    s, e = starts[fg], ends[fg] - 1  # first and last pixel offset of each set run
    x0, x1 = int(s.min() // h), int(e.max() // h)
    spans = (e // h) > (s // h)  # a run crossing a column boundary covers every row between
    ys = np.concatenate([s % h, e % h])
    y0, y1 = int(ys.min()), int(ys.max())
    if spans.any():  # from row r of column c on into column c + 1: rows r..h-1 and 0..r'
        y0, y1 = 0, h - 1
    return float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)
