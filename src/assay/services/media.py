"""Local images: safe paths under the media root, sizes, and registering a folder as tasks."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Actor, Role, visible_project_ids
from assay.services.errors import Invalid, NotFound
from assay.services.tasks import (
    MEDIA_URL,
    ImportResult,
    import_tasks,
    label_config_of_project,
    task_visibility,
)
from assay.store.models import Task

__all__ = ["MEDIA_URL", "authorize_media_file", "register_images", "resolve_media_path"]
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
    if actor.role == Role.ADMIN:
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
    return MEDIA_URL + path.resolve().relative_to(root.resolve()).as_posix()


def image_size(path: Path) -> tuple[int, int]:
    """Width and height in pixels, read from the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise Invalid.field("images", f"{path.name} is not a readable image ({exc})") from None


def find_images(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def register_images(
    session: Session,
    actor: Actor,
    project_id: int,
    folder: Path,
    media_root: Path,
    on_image: Callable[[Path], None] | None = None,
) -> ImportResult:
    """Make one task per image in `folder` (recursively), all in one transaction.

    Images inside the media root are used in place; others are copied to
    `<media_root>/project-<id>/` keeping their relative paths, so the server can serve them.
    """
    folder = folder.resolve()
    if not folder.is_dir():
        raise Invalid.field("source", f"{folder} is not a folder")
    images = find_images(folder)
    if not images:
        raise Invalid.field(
            "source", f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    config = label_config_of_project(session, project_id)
    key = config.image_key()
    if key is None:
        raise Invalid.field("project", "the label config has no <Image> tag to show images in")
    root = media_root.resolve()
    items, sizes = [], []
    for path, served in _placed(images, folder, root, project_id):
        sizes.append(image_size(served))
        items.append({"data": {key: media_url(root, served)}})
        if on_image:
            on_image(path)
    return import_tasks(session, actor, project_id, items, label_config=config, sizes=sizes)


def _placed(
    images: list[Path], folder: Path, root: Path, project_id: int
) -> Iterator[tuple[Path, Path]]:
    inside = folder.is_relative_to(root)
    target = root / f"project-{project_id}"
    for path in images:
        if inside:
            yield path, path
            continue
        dest = target / path.relative_to(folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists() or dest.stat().st_size != path.stat().st_size:
            shutil.copy2(path, dest)
        yield path, dest
