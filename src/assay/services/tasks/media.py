"""Local images: safe paths under the media root, their sizes, the task data that points at them,
and who may load them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.image_names import MEDIA_URL
from assay.services.access import Actor, in_every_project, visible_project_ids
from assay.services.errors import Invalid, NotFound
from assay.services.tasks.visibility import task_visibility
from assay.store.models import (
    Task,
)


def media_path_of(data: dict[str, Any]) -> str | None:
    """The media-root path of the first value of the task data served from the media root."""
    for value in data.values():
        if isinstance(value, str) and value.startswith(MEDIA_URL):
            return unquote(value[len(MEDIA_URL) :])[:1000]
    return None


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif"})


def resolve_media_path(root: Path, relative: str) -> Path:
    """The file `relative` names under `root`; NotFound for anything that would leave it."""
    root = root.resolve()
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")):
        raise NotFound("File not found.")
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("File not found.")
    return path


def authorize_media_file(session: Session, actor: Actor, relative: str) -> None:
    """A file is served to whoever may see a live task showing it (admins: any file).

    NotFound otherwise, as for a file that does not exist: media paths are easy to guess
    (project-7/scan_001.png), and a project's images are as private as the project.
    """
    if in_every_project(actor.role):
        return
    stmt = select(Task.id).where(
        Task.media_path == relative, Task.deleted_at.is_(None), *task_visibility(actor)
    )
    visible = visible_project_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Task.project_id.in_(visible))
    if session.execute(stmt.limit(1)).first() is None:
        raise NotFound("File not found.")


def media_url(root: Path, path: Path) -> str:
    """The URL a task's data holds for a file under the media root, percent-encoded: a browser
    and the SDK read `herd#1 (copy).jpg` unencoded as `herd` plus a fragment."""
    return MEDIA_URL + quote(path.resolve().relative_to(root.resolve()).as_posix())


def image_size(path: Path) -> tuple[int, int]:
    """Width and height in pixels, read from the header only."""
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise Invalid.field("images", f"{path.name} is not a readable image ({exc})") from None


def find_images(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
