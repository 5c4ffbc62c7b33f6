"""The small two-label project the replica and million-task benchmarks share: its label
config and a rectangle region of it, in Label Studio's form (percent of a 1000 x 1000 image)."""

from __future__ import annotations

import sys
from typing import Any

CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Zebra"/><Label value="Giraffe"/>
</RectangleLabels></View>"""


def box(x: float, y: float, w: float, h: float, label: str = "Zebra") -> dict[str, Any]:
    return {
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": 1000,
        "original_height": 1000,
        "value": {"x": x, "y": y, "width": w, "height": h, "rectanglelabels": [label]},
    }


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)
