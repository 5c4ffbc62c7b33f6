"""Thumbnails of local images: what a page that lists many tasks loads instead of the image.

A thumbnail is a JPEG whose longest side is `THUMBNAIL_SIDE` pixels, made with Pillow the first
time it is asked for and kept in the thumbnail folder (`<data_dir>/thumbnails` by default) under
a name derived from the media path. It is remade when its image changes (the file's size or
modification time, which its ETag also names). It is readable exactly when its image is
(`media.authorize_media_file`): the caller authorizes first, this module only makes files.

Two first requests for the same thumbnail each write a temporary file beside it and rename it
into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assay.formats.image_names import MEDIA_URL
from assay.services.errors import NotFound
from assay.services.tasks.media import resolve_media_path

if TYPE_CHECKING:
    from PIL import Image

THUMBNAIL_SIDE = 256  # pixels, the longest side
THUMBNAIL_URL = "/data/thumbnails/"
_VERSION = "1"  # bump when the way thumbnails are made changes: every ETag and file changes
_QUALITY = 80


@dataclass(frozen=True)
class Thumbnail:
    """A thumbnail on disk and the ETag that names its image's version."""

    path: Path
    etag: str  # quoted, as the ETag header carries it


def thumbnail_url(image_url: str | None) -> str | None:
    """The thumbnail URL of a task image URL: local media get one, any other URL is itself.

    >>> thumbnail_url("/data/media/project-1/a%20b.jpg"), thumbnail_url("https://x/y.jpg")
    ('/data/thumbnails/project-1/a%20b.jpg', 'https://x/y.jpg')
    """
    if image_url and image_url.startswith(MEDIA_URL):
        return THUMBNAIL_URL + image_url[len(MEDIA_URL) :]
    return image_url


def thumbnail_etag(media_root: Path, relative: str) -> tuple[Path, str]:
    """The image file `relative` names under the media root and its thumbnail's ETag; NotFound
    as for the image itself. Reads the file's metadata only."""
    source = resolve_media_path(media_root, relative)
    stat = source.stat()
    key = f"{_VERSION}\x00{relative}\x00{stat.st_size}\x00{stat.st_mtime_ns}"
    return source, f'"{hashlib.sha256(key.encode()).hexdigest()[:32]}"'


def thumbnail(media_root: Path, thumbnail_root: Path, relative: str) -> Thumbnail:
    """The thumbnail of the media-root file `relative`, made now if it is missing or stale.

    NotFound when there is no such file or it is not an image Pillow can read.
    """
    source, etag = thumbnail_etag(media_root, relative)
    name = hashlib.sha256(relative.encode()).hexdigest()
    path = thumbnail_root / name[:2] / f"{name}-{etag.strip(chr(34))}.jpg"
    if not path.is_file():
        _make(source, path)
    return Thumbnail(path, etag)


def _make(source: Path, target: Path) -> None:
    """Write the thumbnail of `source` to `target` through a temporary file and a rename."""
    # PIL loads on first use, not with the server (memory: docs/architecture.md).
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(source) as im:
            im.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # JPEG: decode at a smaller scale
            small = ImageOps.exif_transpose(im)
            small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
            small = _flattened(small)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise NotFound("No thumbnail: the file is not an image that can be read.") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as out:
            small.save(out, format="JPEG", quality=_QUALITY, optimize=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    for stale in target.parent.glob(f"{target.name.rsplit('-', 1)[0]}-*.jpg"):
        if stale != target:  # the thumbnail of an older version of the image
            stale.unlink(missing_ok=True)


def _flattened(im: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over white, palettes and 16-bit greys converted."""
    # PIL loads on first use, not with the server (memory: docs/architecture.md).
    from PIL import Image  # noqa: PLC0415

    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if im.mode == "I;16" or im.mode == "I":
        return im.point(lambda v: v / 256).convert("L").convert("RGB")
    return im.convert("RGB")
