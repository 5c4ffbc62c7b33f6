"""The survey in Label Studio's terms: the project's label config, and boxes as
`rectanglelabels` regions in percent of the image size."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Final

from assay.demo.synth.records import SPECIES, Animal, Box, ScoredBox

# Region colours in the editor: saturated so they stand out on tan and green ground.
_LABEL_COLOURS: Final[dict[str, str]] = {
    "Elephant": "#E6194B",
    "Giraffe": "#FFE119",
    "Zebra": "#4363D8",
    "Buffalo": "#F032E6",
}
LABEL_CONFIG: Final = (
    "<View>\n"
    '  <Image name="image" value="$image" zoom="true"/>\n'
    '  <RectangleLabels name="label" toName="image">\n'
    + "".join(f'    <Label value="{s}" background="{_LABEL_COLOURS[s]}"/>\n' for s in SPECIES)
    + "  </RectangleLabels>\n"
    "</View>\n"
)


def _region_id(index: int, label: str, value: tuple[float, ...], taken: set[str]) -> str:
    """A 10-character id, stable for the same region at the same place in the result."""
    salt = 0
    while True:
        text = f"{index}:{salt}:{label}:{value}".encode()
        region_id = hashlib.blake2b(text, digest_size=5).hexdigest()
        if region_id not in taken:
            taken.add(region_id)
            return region_id
        salt += 1


def to_label_studio_result(
    boxes: Iterable[Animal | Box | ScoredBox],
    width: int,
    height: int,
    from_name: str = "label",
    to_name: str = "image",
) -> list[dict[str, Any]]:
    """Label Studio `rectanglelabels` regions for pixel boxes on a `width` x `height` image.

    Boxes are (x, y, w, h) in pixels, origin top-left; regions hold x, y, width, height in
    percent (0-100) of the image size, rotation 0. Boxes are clipped to the image; a box
    left with no area (wholly outside) is dropped. ScoredBox adds the region's "score".
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width} x {height}")
    regions: list[dict[str, Any]] = []
    taken: set[str] = set()
    for index, box in enumerate(boxes):
        x0, x1 = min(max(float(box.x), 0.0), width), min(max(float(box.x + box.w), 0.0), width)
        y0, y1 = min(max(float(box.y), 0.0), height), min(max(float(box.y + box.h), 0.0), height)
        if x1 <= x0 or y1 <= y0:
            continue
        x, y = 100.0 * x0 / width, 100.0 * y0 / height
        w, h = 100.0 * (x1 - x0) / width, 100.0 * (y1 - y0) / height
        region: dict[str, Any] = {
            "id": _region_id(index, box.label, (x, y, w, h), taken),
            "type": "rectanglelabels",
            "from_name": from_name,
            "to_name": to_name,
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {
                "x": x,
                "y": y,
                "width": w,
                "height": h,
                "rotation": 0,
                "rectanglelabels": [box.label],
            },
        }
        if isinstance(box, ScoredBox):
            region["score"] = box.score
        regions.append(region)
    return regions
