"""Scout-style CSV tables: one row per image (images CSV) and one row per box (annotations
CSV). UTF-8, comma-separated, RFC 4180 quoting, a header row first.

Images CSV, `IMAGES_HEADER`:
    image       the image key (file name or relative path)
    width       pixels, positive integer
    height      pixels, positive integer
    gt_status   none | done | empty (ground truth not yet / finished / finished, no regions)
    jobs        the job names, separated by ";" (empty: in no job)

Annotations CSV, `ANNOTATIONS_HEADER`:
    image            the image key
    x, y, w, h       the box in pixels: top-left corner, width, height
    confidence       the region's score, empty for none
    label            the label name
    source           annotation | prediction
    author           the annotator's email or the model version, may be empty
    job              the job name, may be empty
    timestamp        ISO 8601 creation time, may be empty
    is_ground_truth  true | false

Reading takes the columns by name (any order, extra columns ignored); ``image``, ``x``, ``y``,
``w``, ``h`` and ``label`` are required, the others default (source: "prediction" when a
confidence is given, else "annotation"). Booleans read true/false/1/0/yes/no. Numbers are
written in Python's shortest exact float repr, so write -> read is exact.

The annotations CSV holds boxes only: a rotated box is written as its axis-aligned envelope;
polygons, masks and keypoints are dropped (counted in `Notes`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from typing import Any

from assay.formats.dataset import (
    GT_STATUSES,
    FormatError,
    ImageRecord,
    Notes,
    Problems,
    RegionRecord,
    envelope,
)

__all__ = [
    "ANNOTATIONS_HEADER",
    "IMAGES_HEADER",
    "JOB_SEPARATOR",
    "iter_annotations_csv",
    "iter_images_csv",
    "read_annotations_csv",
    "read_images_csv",
]

IMAGES_HEADER = ("image", "width", "height", "gt_status", "jobs")
ANNOTATIONS_HEADER = (
    "image", "x", "y", "w", "h", "confidence", "label", "source", "author", "job", "timestamp",
    "is_ground_truth",
)  # fmt: skip
JOB_SEPARATOR = ";"
ROWS_PER_CHUNK = 1000
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})

Source = str | bytes | Iterable[str]


# -- writing ------------------------------------------------------------------------------


def iter_images_csv(images: Iterable[ImageRecord]) -> Iterator[bytes]:
    """Stream the images CSV as UTF-8 chunks (header first, then ~1000 rows a chunk)."""
    rows = (
        (im.key, im.width, im.height, im.gt_status, JOB_SEPARATOR.join(im.jobs)) for im in images
    )
    return _stream(IMAGES_HEADER, rows)


def iter_annotations_csv(
    regions: Iterable[RegionRecord], *, notes: Notes | None = None
) -> Iterator[bytes]:
    """Stream the annotations CSV as UTF-8 chunks; boxes only (see the module doc)."""
    notes = notes if notes is not None else Notes()

    def rows() -> Iterator[tuple[Any, ...]]:
        for r in regions:
            if r.kind != "box":
                notes.drop(f"{r.kind}: the annotations CSV holds boxes only; not written")
                continue
            if r.rotated:
                notes.drop("rotation: written as the axis-aligned envelope")
            x, y, w, h = envelope(r)
            yield (
                r.image, _num(x), _num(y), _num(w), _num(h),
                "" if r.score is None else _num(r.score), r.label, r.source, r.author or "",
                r.job or "", r.created_at or "", "true" if r.is_ground_truth else "false",
            )  # fmt: skip

    return _stream(ANNOTATIONS_HEADER, rows())


def _stream(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow(row)
        if n % ROWS_PER_CHUNK == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


def _num(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


# -- reading ------------------------------------------------------------------------------


def read_images_csv(source: Source, *, file: str = "images.csv") -> list[ImageRecord]:
    """Read an images CSV (text, UTF-8 bytes, or lines). Raises FormatError with the line and
    column, e.g. ``images.csv line 4: field 'width': 'abc' is not a number``."""
    out: list[ImageRecord] = []
    seen: set[str] = set()
    for line, row in _rows(source, file, IMAGES_HEADER[:3]):
        key = _text(row, "image", file, line, required=True)
        if key in seen:
            raise FormatError(file, line, "image", f"{key!r} is listed twice")
        seen.add(key)
        status = (row.get("gt_status") or "none").strip().lower()
        if status not in GT_STATUSES:
            raise FormatError(file, line, "gt_status", f"{status!r} is not one of none/done/empty")
        jobs = tuple(j.strip() for j in (row.get("jobs") or "").split(JOB_SEPARATOR) if j.strip())
        out.append(
            ImageRecord(
                key=key,
                width=_int(row, "width", file, line),
                height=_int(row, "height", file, line),
                gt_status=status,  # type: ignore[arg-type]
                jobs=jobs,
            )
        )
    return out


def read_annotations_csv(source: Source, *, file: str = "annotations.csv") -> list[RegionRecord]:
    """Read an annotations CSV into box regions (text, UTF-8 bytes, or lines); every bad row
    is counted in the error."""
    out: list[RegionRecord] = []
    problems = Problems()
    for line, row in _rows(source, file, ("image", "x", "y", "w", "h", "label")):
        with problems.each():
            out.append(_region(row, line, file))
    problems.check()
    return out


def _region(row: dict[str, str], line: int, file: str) -> RegionRecord:
    score = _float(row, "confidence", file, line, required=False)
    source_ = (row.get("source") or "").strip().lower() or (
        "prediction" if score is not None else "annotation"
    )
    if source_ not in ("annotation", "prediction"):
        raise FormatError(file, line, "source", f"{source_!r} is not annotation/prediction")
    flag = (row.get("is_ground_truth") or "").strip().lower()
    if flag not in _TRUE | _FALSE:
        raise FormatError(file, line, "is_ground_truth", f"{flag!r} is not true/false")
    w = _float(row, "w", file, line)
    h = _float(row, "h", file, line)
    for name, v in (("w", w), ("h", h)):
        if v is not None and v < 0:
            raise FormatError(file, line, name, f"must be >= 0, got {row[name]!r}")
    return RegionRecord(
        image=_text(row, "image", file, line, required=True),
        label=_text(row, "label", file, line, required=True),
        kind="box",
        x=_float(row, "x", file, line),  # type: ignore[arg-type]
        y=_float(row, "y", file, line),  # type: ignore[arg-type]
        w=w,  # type: ignore[arg-type]
        h=h,  # type: ignore[arg-type]
        score=score,
        source=source_,  # type: ignore[arg-type]
        author=_text(row, "author", file, line) or None,
        job=_text(row, "job", file, line) or None,
        created_at=_text(row, "timestamp", file, line) or None,
        is_ground_truth=flag in _TRUE,
        origin=f"{file} line {line}",
    )


def _rows(
    source: Source, file: str, required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise FormatError(file, None, None, f"not UTF-8 text: {e.reason}") from None
    lines = io.StringIO(source, newline="") if isinstance(source, str) else source
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            raise FormatError(file, 1, None, "empty file: expected a header row")
        header = [h.strip().lstrip("\ufeff") for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise FormatError(file, 1, missing[0], f"missing column (header: {','.join(header)})")
        prev = reader.line_num
        for values in reader:
            line = prev + 1  # the first physical line of the record
            prev = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) > len(header):
                raise FormatError(
                    file, line, None, f"{len(values)} values for {len(header)} columns"
                )
            yield line, dict(zip(header, values, strict=False))
    except csv.Error as e:
        raise FormatError(file, reader.line_num, None, f"malformed CSV: {e}") from None


def _text(row: dict[str, str], col: str, file: str, line: int, required: bool = False) -> str:
    v = row.get(col) or ""
    if required and not v.strip():
        raise FormatError(file, line, col, "is empty")
    return v


def _float(
    row: dict[str, str], col: str, file: str, line: int, required: bool = True
) -> float | None:
    text = (row.get(col) or "").strip()
    if not text:
        if required:
            raise FormatError(file, line, col, "is empty")
        return None
    try:
        v = float(text)
    except ValueError:
        raise FormatError(file, line, col, f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise FormatError(file, line, col, f"{text!r} is not a finite number")
    return v


def _int(row: dict[str, str], col: str, file: str, line: int) -> int:
    v = _float(row, col, file, line)
    assert v is not None
    if v != int(v) or v <= 0:
        raise FormatError(file, line, col, f"must be a positive integer, got {row[col]!r}")
    return int(v)
