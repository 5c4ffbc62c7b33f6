"""Pascal VOC XML <-> `Dataset`: one ``<annotation>`` file per image with its size and boxes.

Two conventions for ``bndbox`` (`VOC_CONVENTIONS`), chosen by the caller:

- ``devkit`` (the default): the VOC devkit's pixel indexes, 1-based with inclusive bounds, so
  a box of one pixel has ``xmin == xmax``. The box covering the pixels ``xmin..xmax`` is the
  continuous ``[xmin - 1, xmax)``: ``x = xmin - 1``, ``w = xmax - xmin + 1`` (same for y).
  Written as whole pixels, rounded as the devkit's tools (MATLAB's ``round``) would: halves
  up, ``xmin = round(x) + 1``, ``xmax = round(x + w)``, kept in ``1..width`` and at least one
  pixel wide (``xmax >= xmin``). Read: ``1 <= xmin <= xmax <= width``; fractional values are
  taken as they are.
- ``continuous``: continuous pixel coordinates, 0-based, as Label Studio's and CVAT's exports
  write them: ``xmin = x``, ``ymin = y``, ``xmax = x + w``, ``ymax = y + h``. Values may be
  fractional; integral values are written without a decimal point. Read: ``0 <= xmin <= xmax
  <= width``.

A box outside those bounds is rejected by the reader.

Read: ``filename``, ``size/width``, ``size/height``, each ``object``'s ``name`` and ``bndbox``;
an optional ``score`` or ``confidence`` makes the object a prediction. ``pose``,
``truncated``, ``difficult`` and ``occluded`` are ignored. DOCTYPE and entity declarations are
rejected (no external or expanding entities are ever resolved).

Write: boxes only. Polygons, masks and keypoints are dropped, rotation is written as the
axis-aligned envelope, and scores, authors, jobs, timestamps and GT flags are dropped; each is
counted in `Notes`, and so are (devkit) boxes rounded to whole pixels or widened to one pixel.

Errors name the file, the line of the element when known, and a path with 0-based object
indexes, e.g. ``Annotations/a.xml line 14: field 'object[2].bndbox.xmax': 650 is outside
the image (width 640)``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from xml.parsers import expat

from assay.formats.dataset import (
    Dataset,
    FormatError,
    ImageRecord,
    Notes,
    Problems,
    RegionRecord,
    envelope,
)

__all__ = [
    "DEFAULT_VOC_CONVENTION",
    "VOC_CONVENTIONS",
    "VOC_CONVENTION_TEXT",
    "check_convention",
    "iter_voc_files",
    "read_voc",
    "read_voc_files",
    "voc_path",
    "voc_xml",
]

VOC_CONVENTIONS: tuple[str, ...] = ("devkit", "continuous")
DEFAULT_VOC_CONVENTION = "devkit"
# each convention in a phrase, e.g. for the notes that come with an export
VOC_CONVENTION_TEXT = {
    "devkit": "in the VOC devkit's convention (1-based pixel indexes, xmax and ymax inclusive)",
    "continuous": "in continuous pixel coordinates (0-based, xmax = x + width)",
}


def check_convention(convention: str) -> str:
    """The convention if it is one of `VOC_CONVENTIONS`; else ValueError naming them."""
    if convention not in VOC_CONVENTIONS:
        raise ValueError(
            f"VOC convention must be one of {', '.join(VOC_CONVENTIONS)}, got {convention!r}"
        )
    return convention


def voc_path(image_key: str) -> str:
    """``Annotations/<image key with .xml>``, e.g. ``Annotations/train/a.xml``."""
    return str(PurePosixPath("Annotations", image_key.replace("\\", "/")).with_suffix(".xml"))


# -- reading ------------------------------------------------------------------------------


@dataclass
class _El:
    tag: str
    line: int
    text: str = ""
    children: list[_El] = field(default_factory=list)

    def find(self, tag: str) -> _El | None:
        return next((c for c in self.children if c.tag == tag), None)


def _parse(data: bytes | str, file: str) -> _El:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_El] = []
    roots: list[_El] = []

    def start(tag: str, _attrs: Any) -> None:
        el = _El(tag, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(el)
        stack.append(el)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text += text

    def refuse(*_args: Any) -> None:
        raise FormatError(
            file, parser.CurrentLineNumber, None, "DOCTYPE and entities are not allowed"
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise FormatError(
            file, e.lineno, None, f"malformed XML: {expat.errors.messages[e.code]}"
        ) from None
    return roots[0]


def read_voc(
    data: bytes | str,
    *,
    file: str = "annotation.xml",
    model_version: str | None = None,
    convention: str = DEFAULT_VOC_CONVENTION,
) -> tuple[ImageRecord, list[RegionRecord]]:
    """Read one VOC XML file: the image (key = ``filename``) and its box regions, its boxes in
    the `convention` (``devkit``: 1-based inclusive pixel indexes; ``continuous``)."""
    devkit = check_convention(convention) == "devkit"
    root = _parse(data, file)
    if root.tag != "annotation":
        raise FormatError(
            file, root.line, None, f"root element must be <annotation>, not <{root.tag}>"
        )
    name_el = _child(root, "filename", file, "")
    key = name_el.text.strip()
    if not key:
        raise FormatError(file, name_el.line, "filename", "is empty")
    size = _child(root, "size", file, "")
    width = _int(_child(size, "width", file, "size"), file, "size.width")
    height = _int(_child(size, "height", file, "size"), file, "size.height")
    image = ImageRecord(key=key, width=width, height=height)
    regions = []
    problems = Problems()
    objects = [c for c in root.children if c.tag == "object"]
    for i, obj in enumerate(objects):
        with problems.each():
            regions.append(_object(obj, i, file, image, devkit, model_version))
    problems.check()
    return image, regions


def _object(
    obj: _El, i: int, file: str, image: ImageRecord, devkit: bool, model_version: str | None
) -> RegionRecord:
    """The box region of the i-th <object>."""
    path = f"object[{i}]"
    label_el = _child(obj, "name", file, path)
    label = label_el.text.strip()
    if not label:
        raise FormatError(file, label_el.line, f"{path}.name", "is empty")
    box = _child(obj, "bndbox", file, path)
    v = {k: _num(_child(box, k, file, f"{path}.bndbox"), file, f"{path}.bndbox.{k}")
         for k in ("xmin", "ymin", "xmax", "ymax")}  # fmt: skip
    for lo, hi, limit, what in (
        ("xmin", "xmax", image.width, "width"),
        ("ymin", "ymax", image.height, "height"),
    ):
        for k in (lo, hi):
            if not int(devkit) <= v[k] <= limit:
                raise FormatError(
                    file, box.find(k).line, f"{path}.bndbox.{k}",  # type: ignore[union-attr]
                    _outside(v[k], what, limit, devkit),
                )  # fmt: skip
        if v[hi] < v[lo]:
            raise FormatError(
                file, box.find(hi).line, f"{path}.bndbox.{hi}",  # type: ignore[union-attr]
                f"{_fmt(v[hi])} is less than {lo} {_fmt(v[lo])}",
            )  # fmt: skip
    score_el = obj.find("score") or obj.find("confidence")
    score = _num(score_el, file, f"{path}.{score_el.tag}") if score_el else None
    x0, y0 = (v["xmin"] - 1, v["ymin"] - 1) if devkit else (v["xmin"], v["ymin"])
    return RegionRecord(
        image=image.key,
        label=label,
        kind="box",
        x=x0,
        y=y0,
        w=v["xmax"] - x0,
        h=v["ymax"] - y0,
        score=score,
        source="prediction" if score is not None else "annotation",
        author=model_version if score is not None else None,
        origin=f"{file}: {path} (image {image.key!r})",
    )


def _outside(value: float, what: str, limit: int, devkit: bool) -> str:
    if not devkit:
        return f"{_fmt(value)} is outside the image ({what} {limit})"
    hint = "; 0-based files read with voc_convention=continuous" if value == 0 else ""
    return f"{_fmt(value)} is outside the image ({what} {limit}: devkit pixels 1..{limit}{hint})"


def read_voc_files(
    files: Mapping[str, bytes | str],
    *,
    model_version: str | None = None,
    convention: str = DEFAULT_VOC_CONVENTION,
) -> Dataset:
    """Read every ``*.xml`` of relative path -> content (`read_voc`); labels in first-use
    order. Two files for the same ``filename`` are an error."""
    images: list[ImageRecord] = []
    regions: list[RegionRecord] = []
    seen: dict[str, str] = {}
    problems = Problems()
    for path in sorted(files):
        if not path.lower().endswith(".xml"):
            continue
        with problems.each():
            image, regs = read_voc(
                files[path], file=path, model_version=model_version, convention=convention
            )
            if image.key in seen:
                raise FormatError(
                    path, None, "filename", f"{image.key!r} is also in {seen[image.key]}"
                )
            seen[image.key] = path
            images.append(image)
            regions.extend(regs)
    problems.check()
    labels = tuple(dict.fromkeys(r.label for r in regions))
    return Dataset(tuple(images), tuple(regions), labels)


def _child(el: _El, tag: str, file: str, path: str) -> _El:
    found = el.find(tag)
    if found is None:
        raise FormatError(file, el.line, f"{path}.{tag}" if path else tag, "missing")
    return found


def _num(el: _El, file: str, field: str) -> float:
    text = el.text.strip()
    try:
        v = float(text)
    except ValueError:
        raise FormatError(file, el.line, field, f"{text!r} is not a number") from None
    if not math.isfinite(v):
        raise FormatError(file, el.line, field, f"{text!r} is not a finite number")
    return v


def _int(el: _El, file: str, field: str) -> int:
    v = _num(el, file, field)
    if v != int(v) or v <= 0:
        raise FormatError(
            file, el.line, field, f"must be a positive integer, got {el.text.strip()!r}"
        )
    return int(v)


# -- writing ------------------------------------------------------------------------------


def voc_xml(
    image: ImageRecord,
    regions: Iterable[RegionRecord],
    notes: Notes | None = None,
    *,
    convention: str = DEFAULT_VOC_CONVENTION,
) -> bytes:
    """One image's VOC XML (UTF-8, with an XML declaration), its boxes in the `convention`."""
    devkit = check_convention(convention) == "devkit"
    notes = notes if notes is not None else Notes()
    root = ET.Element("annotation")
    key = PurePosixPath(image.key.replace("\\", "/"))
    ET.SubElement(root, "folder").text = str(key.parent) if str(key.parent) != "." else ""
    ET.SubElement(root, "filename").text = image.key
    size = ET.SubElement(root, "size")
    for tag, value in (("width", image.width), ("height", image.height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for r in regions:
        if r.kind != "box":
            notes.drop(f"{r.kind}: VOC holds boxes only; not written")
            continue
        if r.rotated:
            notes.drop("rotation: written as the axis-aligned envelope")
        if r.score is not None:
            notes.drop("score: VOC has no field for it")
        if r.author is not None or r.job is not None or r.created_at is not None:
            notes.drop("author, job, timestamp: VOC has no field for them")
        if r.is_ground_truth:
            notes.drop("is_ground_truth: VOC has no field for it")
        x, y, w, h = envelope(r)
        if devkit:
            bounds: tuple[float, ...] = _devkit_box(x, y, w, h, image, notes)
        else:
            bounds = (x, y, x + w, y + h)
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = r.label
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        box = ET.SubElement(obj, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), bounds, strict=True):
            ET.SubElement(box, tag).text = _fmt(value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def iter_voc_files(
    items: Iterable[tuple[ImageRecord, Iterable[RegionRecord]]],
    *,
    notes: Notes | None = None,
    convention: str = DEFAULT_VOC_CONVENTION,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(Annotations/<stem>.xml, content)`` per image, one image at a time."""
    check_convention(convention)
    notes = notes if notes is not None else Notes()
    for image, regions in items:
        yield voc_path(image.key), voc_xml(image, regions, notes, convention=convention)


def _devkit_box(
    x: float, y: float, w: float, h: float, image: ImageRecord, notes: Notes
) -> tuple[int, int, int, int]:
    """The devkit's (xmin, ymin, xmax, ymax) of a continuous box: first and last pixel, 1-based
    and inclusive, ``round(x) + 1`` and ``round(x + w)`` with halves up, kept in the image and
    at least one pixel wide.

    >>> _devkit_box(0, 2.5, 1, 4.99, ImageRecord("a", 10, 10), Notes())
    (1, 4, 1, 7)
    """
    out = []
    widened = False
    for lo, hi, limit in ((x, x + w, image.width), (y, y + h, image.height)):
        first = min(max(_round_half_up(lo) + 1, 1), limit)
        last = min(_round_half_up(hi), limit)
        widened |= last < first
        out.append((first, max(last, first)))
    if not all(float(v).is_integer() for v in (x, y, x + w, y + h)):
        notes.drop("fractional pixels: rounded to whole pixels (devkit convention)")
    if widened:
        notes.drop("box under one pixel: written as one pixel (devkit convention)")
    (xmin, xmax), (ymin, ymax) = out
    return xmin, ymin, xmax, ymax


def _round_half_up(v: float) -> int:
    """MATLAB's round for v >= 0 (the devkit's tools): 2.5 -> 3 (Python's round gives 2)."""
    floor = math.floor(v)
    return floor + (v - floor >= 0.5)


def _fmt(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
