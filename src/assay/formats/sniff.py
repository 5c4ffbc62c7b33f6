"""What a label file looks like, from its first bytes: so that a file given as one format but
written in another (Pascal VOC XML given as COCO, a zip given as JSON) is refused with the
format it seems to be, not with a parse error deep inside the wrong reader."""

from __future__ import annotations

import re

__all__ = ["FORMAT_NAMES", "looks_like"]

FORMAT_NAMES = {
    "coco": "a COCO JSON file",
    "ls-json": "Label Studio JSON (a list of tasks)",
    "voc": "Pascal VOC XML",
    "yolo": "YOLO label lines",
    "csv": "a CSV file",
    "zip": "a zip archive",
}
HEAD = 65536  # bytes read to decide
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def looks_like(data: bytes) -> str | None:
    """The format (a key of FORMAT_NAMES) the bytes look like, or None when unsure."""
    if data[:4] == b"PK\x03\x04":
        return "zip"
    head = data[:HEAD].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<":
        return "voc" if b"<annotation" in head else None
    if head[:1] == b"{":
        if b'"images"' in head or b'"categories"' in head:
            return "coco"
        return "ls-json" if b'"data"' in head else None
    if head[:1] == b"[":
        first = head[: head.find(b"}") + 1] if b"}" in head else head
        if b'"data"' in first:
            return "ls-json"
        return "coco" if b'"image_id"' in first else None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return None
    if "," in lines[0] and "image" in lines[0].lower():
        return "csv"
    if all(len(t := line.split()) >= 5 and all(_NUMBER.match(v) for v in t) for line in lines):
        return "yolo"
    return None
