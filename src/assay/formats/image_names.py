"""How label files name a task's image, and how a name a file gives is matched back to it.

A task's image value is a media URL (`/data/media/<path>`, percent-encoded), an external URL,
or a plain name. The region formats (COCO, VOC, YOLO, CSV) name it by its *key*: the path under
the media root, else the URL's path, else the value itself. A file from another tool names its
images as that tool saw them (`a.png`, `images/a.png`, a full URL), so a name is matched by key,
then by the same key rules applied to the name (a URL or media URL in the file), and last by the
image's *file name* (the key's last segment, which `tasks.image_name` stores indexed), among
tasks of that file name the ones sharing the most trailing folders with the name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

MEDIA_URL = "/data/media/"
URL_SCHEMES = ("http", "https", "s3", "gs")
MAX_NAME = 255


def image_key_of(value: Any) -> str | None:
    """The key of an image value (None when there is none)."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith(MEDIA_URL):
        return unquote(value[len(MEDIA_URL) :])
    parsed = urlparse(value)
    if parsed.scheme in URL_SCHEMES and parsed.path.strip("/"):
        return unquote(parsed.path.lstrip("/"))
    return value.lstrip("/")


def file_name_of(key: str) -> str:
    """The last path segment of a key (either slash), as a file name is compared."""
    return key.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1][:MAX_NAME]


def image_name_of(value: Any) -> str | None:
    """What `tasks.image_name` holds for an image value: its key's file name."""
    key = image_key_of(value)
    return file_name_of(key) or None if key else None


def shared_tail(key: str, name: str) -> int:
    """How many trailing path segments a task's key (`project-2/right/b.png`) and a name a file
    gives (`images/train/right/b.png`) have in common: 2 here; 0 for another file name."""
    a = key.replace("\\", "/").strip("/").split("/")
    b = name.replace("\\", "/").strip("/").split("/")
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
