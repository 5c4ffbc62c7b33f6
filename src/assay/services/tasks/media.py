"""Local images: safe paths under the media root, their sizes, the task data that points at them,
which of them a project's tasks may show, and who may load them.

A project's images are as private as the project. A task shows local media only from its
project's folder (`project-<id>/`, where `assay import` copies images) or a shared folder
(ASSAY_SHARED_MEDIA); `MediaScope` is that rule, checked wherever task data is written. A file is
served only to whoever may see a live task showing it (`authorize_media_file`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.image_names import MEDIA_URL
from assay.services.access import Actor, in_every_project, visible_project_ids
from assay.services.errors import Invalid, NotFound
from assay.services.task_aliases import in_my_jobs_condition, knows_aliases
from assay.services.tasks.visibility import resolve_task, task_visibility
from assay.store.models import (
    Task,
)

MAX_MEDIA_PATH = 1000  # characters, as tasks.media_path holds
ITEM_URL = "/data/items/"  # + <alias>/<data key>: a job task's local media, as annotators see it


def media_path_of(data: dict[str, Any]) -> str | None:
    """The media-root path of the first value of the task data served from the media root."""
    for value in data.values():
        if isinstance(value, str) and value.startswith(MEDIA_URL):
            return unquote(value[len(MEDIA_URL) :])[:MAX_MEDIA_PATH]
    return None


def project_media_folder(project_id: int) -> str:
    """The folder under the media root that holds a project's own images."""
    return f"project-{project_id}"


@dataclass(frozen=True)
class MediaScope:
    """The media-root folders a project's tasks may show: the project's own folder and the
    shared ones (plain relative paths without slashes at either end, e.g. `datasets/coco`)."""

    project_id: int
    shared: tuple[str, ...] = ()

    def refusal(self, relative: str) -> str | None:
        """Why a task of the project may not show the media-root file `relative`; None if it may.

        >>> MediaScope(1).refusal("project-2/secret.jpg")
        'is outside project-1/, the only media folder tasks of project 1 may show'
        """
        if "\x00" in relative or any(
            part in ("", ".", "..") for part in re.split(r"[/\\]", relative)
        ):
            return "is not a plain path under the media root (no empty, '.' or '..' segments)"
        folders = (project_media_folder(self.project_id), *self.shared)
        if any(relative.startswith(f"{folder}/") for folder in folders):
            return None
        shown = ", ".join(f"{f}/" for f in folders)
        if not self.shared:
            return (
                f"is outside {shown}, the only media folder tasks of project "
                f"{self.project_id} may show"
            )
        return f"is outside the media folders tasks of project {self.project_id} may show: {shown}"

    def check(self, data: dict[str, Any], where: str, keep: Collection[str] = ()) -> None:
        """Raise Invalid naming `<where>.<key>` for the first value of the task data that is a
        media URL the project may not show. `keep`: media paths the task shows already (a task
        written before this rule keeps them through an edit)."""
        for key, value in data.items():
            if not isinstance(value, str) or not value.startswith(MEDIA_URL):
                continue
            relative = unquote(value[len(MEDIA_URL) :])
            # the path as tasks.media_path holds it (cut short) is the one served
            stored = relative[:MAX_MEDIA_PATH]
            reason = None if relative in keep else self.refusal(relative) or self.refusal(stored)
            if reason:
                raise Invalid.field(f"{where}.{key}", f"{value[:200]} {reason}")


def media_paths_of(data: Any) -> set[str]:
    """Every media-root path the task data's values name."""
    if not isinstance(data, dict):
        return set()
    return {
        unquote(v[len(MEDIA_URL) :])
        for v in data.values()
        if isinstance(v, str) and v.startswith(MEDIA_URL)
    }


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
    (project-7/scan_001.png), and a project's images are as private as the project. New tasks
    show only their project's media (`MediaScope`); a task written before that rule that shows
    another folder's file still shows it, to whoever may see that task.
    """
    if in_every_project(actor.role):
        return
    stmt = select(Task.id).where(
        Task.media_path == relative, Task.deleted_at.is_(None), *task_visibility(actor)
    )
    if knows_aliases(actor):  # their jobs' files only by `ITEM_URL`: no path names an import
        stmt = stmt.where(~in_my_jobs_condition(actor))
    visible = visible_project_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(Task.project_id.in_(visible))
    if session.execute(stmt.limit(1)).first() is None:
        raise NotFound("File not found.")


def opaque_data(data: dict[str, Any], alias: int) -> dict[str, Any]:
    """Task data as an annotator of its job reads it: each local media URL replaced by one
    naming only the alias and the data key (`ITEM_URL`), so that no folder or file name tells
    an old import (honeypots) from a new one. External http(s) URLs are left as they are."""
    return {
        key: f"{ITEM_URL}{alias}/{quote(key, safe='')}"
        if isinstance(value, str) and value.startswith(MEDIA_URL)
        else value
        for key, value in data.items()
    }


def item_media_path(session: Session, actor: Actor, task_id: int, key: str) -> str:
    """The media-root path behind `ITEM_URL<task_id>/<key>` for the actor: the local file the
    task's data `key` shows, if they may see the task (`resolve_task`: an alias, or a real id
    for those who know real ids). NotFound otherwise."""
    task, _ = resolve_task(session, actor, task_id)
    value = task.data.get(key) if isinstance(task.data, dict) else None
    if not isinstance(value, str) or not value.startswith(MEDIA_URL):
        raise NotFound("File not found.")
    return unquote(value[len(MEDIA_URL) :])


def media_url(root: Path, path: Path) -> str:
    """The URL a task's data holds for a file under the media root, percent-encoded: a browser
    and the SDK read `herd#1 (copy).jpg` unencoded as `herd` plus a fragment."""
    return MEDIA_URL + quote(path.resolve().relative_to(root.resolve()).as_posix())


def image_size(path: Path) -> tuple[int, int]:
    """Width and height in pixels, read from the header only."""
    # PIL loads on first use, not with the server (memory: docs/architecture.md).
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise Invalid.field("images", f"{path.name} is not a readable image ({exc})") from None


def find_images(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
