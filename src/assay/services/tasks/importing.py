"""Importing tasks: all or nothing, in bulk (with their annotations and predictions), from JSON
or from a folder of images; and refreshing PostgreSQL's statistics after a big import."""

from __future__ import annotations

import logging
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.image_names import image_name_of
from assay.formats.label_config import LabelConfig
from assay.services import changes
from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_id
from assay.services.errors import Invalid, NotFound
from assay.services.ground_truth import record_changes
from assay.services.projects import guideline_in_force
from assay.services.tasks.bulk_rows import insert_returning_ids
from assay.services.tasks.media import (
    IMAGE_SUFFIXES,
    MediaScope,
    find_images,
    image_size,
    media_path_of,
    media_url,
    project_media_folder,
    resolve_media_path,
)
from assay.services.tasks.results import (
    annotation_row,
    checked_task_json,
    label_config_of_project,
    prediction_row,
)
from assay.store.db import Database
from assay.store.models import (
    Annotation,
    AnnotationRevision,
    Prediction,
    Task,
    User,
)
from assay.store.types import utcnow

MAX_ERRORS = 20


@dataclass(frozen=True)
class ImportResult:
    task_count: int
    annotation_count: int
    prediction_count: int
    task_ids: list[int]


@dataclass
class _Prepared:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    predictions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def import_tasks(
    session: Session,
    actor: Actor,
    project_id: int,
    items: Any,
    label_config: LabelConfig | None = None,
    sizes: list[tuple[int, int]] | None = None,
    into: list[int | None] | None = None,
    media_root: Path | None = None,
    shared_media: Sequence[str] = (),
) -> ImportResult:
    """Check every item first, then write them in bulk; one bad item writes nothing.

    Items are Label Studio tasks: {"data": {...}, "annotations": [...], "predictions": [...]},
    or a flat dict that is itself the data. `sizes` gives each item's image (width, height) in
    pixels when known; otherwise it is taken from the regions' original_width/height. `into`
    names, per item, an existing live task of the project to add its annotations and
    predictions to instead of creating one (None: create). `task_ids` answers the created
    tasks only. `media_root`: where a task without a size (no region tells it) that shows a
    file under the media root reads its size from that file. A created task's data may name
    local media (`/data/media/...`) only in the project's folder or `shared_media`
    (`MediaScope`); otherwise Invalid naming `tasks[i].data.<key>`.
    """
    authorize(session, actor, Action.TASKS_IMPORT, project_id)
    if not isinstance(items, list):
        if isinstance(items, dict):
            items = [items]
        else:
            raise Invalid.field("tasks", "must be a JSON list of tasks")
    if not items:
        raise Invalid.field("tasks", "is empty: nothing to import")
    config = label_config or label_config_of_project(session, project_id)
    known_users = _existing_user_ids(session, items)
    into = into if into is not None else [None] * len(items)
    scope = MediaScope(project_id, tuple(shared_media))
    scopes = [scope if existing is None else None for existing in into]
    prepared = _prepare(items, config, actor, known_users, scopes)

    if sizes is not None:
        for row, (w, h) in zip(prepared.tasks, sizes, strict=True):
            row["width"], row["height"] = w, h
    if media_root is not None:
        _sizes_from_media(prepared.tasks, media_root)
    now = utcnow()
    task_rows = [
        {**t, "project_id": project_id, "created_at": now, "updated_at": now}
        for t, existing in zip(prepared.tasks, into, strict=True)
        if existing is None
    ]
    created = insert_returning_ids(session, Task.__table__, task_rows)
    fresh = iter(created)
    task_ids = [existing if existing is not None else next(fresh) for existing in into]
    if prepared.annotations:
        ann_rows = [
            {**a, "task_id": task_ids[i], "project_id": project_id, "created_at": now,
             "updated_at": now, "revision": 1}
            for i, a in prepared.annotations
        ]  # fmt: skip
        ann_ids = insert_returning_ids(session, Annotation.__table__, ann_rows)
        in_force = guideline_in_force(session, project_id)
        session.execute(
            AnnotationRevision.__table__.insert(),
            [
                {"annotation_id": aid, "revision": 1, "action": "created", "result": a["result"],
                 "ground_truth": a["ground_truth"], "was_cancelled": a["was_cancelled"],
                 "guideline_version": in_force, "changed_by_id": actor.id, "changed_at": now}
                for aid, a in zip(ann_ids, ann_rows, strict=True)
            ],
        )  # fmt: skip
        record_changes(
            session,
            actor,
            [
                (project_id, row["task_id"], "set", None, aid, 1)
                for aid, row in zip(ann_ids, ann_rows, strict=True)
                if row["ground_truth"]
            ],
        )
        per_task = Counter(
            r["task_id"] for r in ann_rows if not r["ground_truth"] and not r["was_cancelled"]
        )
        changes.record(session, project_id, [t for t, n in per_task.items() if n >= 2])
    if prepared.predictions:
        insert_returning_ids(
            session,
            Prediction.__table__,
            [
                {**p, "task_id": task_ids[i], "project_id": project_id, "created_at": now,
                 "updated_at": now}
                for i, p in prepared.predictions
            ],
        )  # fmt: skip
    changes.record(session, project_id, [t for t in into if t is not None])
    return ImportResult(
        task_count=len(created),
        annotation_count=len(prepared.annotations),
        prediction_count=len(prepared.predictions),
        task_ids=created,
    )


def _existing_user_ids(session: Session, items: list[Any]) -> set[int]:
    wanted = {
        a.get("completed_by")
        for item in items
        if isinstance(item, dict) and isinstance(item.get("annotations"), list)
        for a in item["annotations"]
        if isinstance(a, dict) and is_id(a.get("completed_by"))
    }
    if not wanted:
        return set()
    return set(session.scalars(select(User.id).where(User.id.in_(wanted))))


def _prepare(
    items: list[Any],
    config: LabelConfig,
    actor: Actor,
    known_users: set[int],
    scopes: list[MediaScope | None],
) -> _Prepared:
    """Check and convert every item; `scopes`: per item, the media rule of a task it creates
    (None: it adds to an existing task, whose data is not written)."""
    out = _Prepared()
    errors: dict[str, list[str]] = {}  # the first MAX_ERRORS, by field
    bad = 0  # every task with an error
    for i, (item, scope) in enumerate(zip(items, scopes, strict=True)):
        try:
            _prepare_one(i, item, config, actor, known_users, out, scope)
        except Invalid as exc:
            bad += 1
            if len(errors) < MAX_ERRORS:
                errors.update(exc.validation_errors)
    if errors:
        first = next(iter(errors))
        raise Invalid(
            f"Nothing was imported: {bad} task(s) have errors, first {first}: {errors[first][0]}",
            errors,
        )
    return out


def _prepare_one(
    i: int,
    item: Any,
    config: LabelConfig,
    actor: Actor,
    known_users: set[int],
    out: _Prepared,
    scope: MediaScope | None,
) -> None:
    path = f"tasks[{i}]"
    if not isinstance(item, dict):
        raise Invalid.field(path, "must be an object")
    if "data" in item:
        data = checked_task_json(item["data"], f"{path}.data")
        meta = checked_task_json(item.get("meta") or {}, f"{path}.meta")
    else:
        data, meta = checked_task_json(item, path), {}
    missing = [obj.value for obj in config.objects.values() if obj.value not in data]
    if missing:
        raise Invalid.field(f"{path}.data", f"has no {missing[0]!r}, which the label config reads")
    if scope is not None:
        scope.check(data, f"{path}.data")
    index = len(out.tasks)
    width = height = None
    annotations = item.get("annotations") if "data" in item else None
    predictions = item.get("predictions") if "data" in item else None
    for key, value in (("annotations", annotations), ("predictions", predictions)):
        if value is not None and not isinstance(value, list):
            raise Invalid.field(f"{path}.{key}", "must be a list")
    staged_ann: list[tuple[int, dict[str, Any]]] = []
    for j, ann in enumerate(annotations or []):
        apath = f"{path}.annotations[{j}]"
        row = annotation_row(ann, config, apath)
        author = ann.get("completed_by")
        row["completed_by_id"] = author if is_id(author) and author in known_users else actor.id
        if row["ground_truth"] and any(r["ground_truth"] for _, r in staged_ann):
            raise Invalid.field(f"{apath}.ground_truth", "a task has at most one ground truth")
        staged_ann.append((index, row))
        width, height = width or _size(row["result"])[0], height or _size(row["result"])[1]
    staged_pred: list[tuple[int, dict[str, Any]]] = []
    for j, pred in enumerate(predictions or []):
        row = prediction_row(pred, config, f"{path}.predictions[{j}]")
        staged_pred.append((index, row))
    field_name = config.image_key()
    out.tasks.append(
        {"data": data, "meta": meta, "width": width, "height": height,
         "media_path": media_path_of(data),
         "image_name": image_name_of(data.get(field_name)) if field_name else None}
    )  # fmt: skip
    out.annotations.extend(staged_ann)
    out.predictions.extend(staged_pred)


def _sizes_from_media(rows: list[dict[str, Any]], root: Path) -> None:
    """Give a task no region sized (no annotation, or an empty result: "nothing here") the
    size of its media file, read from the header, so the exports that need a size (COCO,
    YOLO, VOC) list it. A missing or unreadable file leaves the size unknown."""
    for row in rows:
        if row["width"] is None and row["media_path"]:
            try:
                row["width"], row["height"] = image_size(
                    resolve_media_path(root, row["media_path"])
                )
            except (NotFound, Invalid):
                continue


def _size(result: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    for region in result:
        w, h = region.get("original_width"), region.get("original_height")
        if w and h:
            return int(w), int(h)
    return None, None


_vacuum_lock = threading.Lock()


_vacuum_again = threading.Event()


BIG_IMPORT = 1000  # tasks created or matched; from this many on, statistics are refreshed


def refresh_after_import(db: Database, tasks_imported: int, wait: bool = False) -> bool:
    """The rule after every import (API or command line): a big one (BIG_IMPORT tasks created
    or matched, or more) refreshes PostgreSQL's statistics (`refresh_statistics`); smaller
    ones leave it to autovacuum. Whether it refreshed."""
    if tasks_imported < BIG_IMPORT:
        return False
    refresh_statistics(db, wait=wait)
    return True


def refresh_statistics(db: Database, wait: bool = False) -> None:
    """After a big import on PostgreSQL, VACUUM (ANALYZE) the big tables in the background.

    ANALYZE lets the planner see the new row counts; VACUUM marks the new pages all-visible, so
    the task list's counts and paging are index-only scans instead of reading every new row
    (about 120 ms against 25 ms per list at 100k tasks). Concurrent requests coalesce into one
    more run; nothing waits for it unless `wait` (the CLI, which exits right after).
    """
    if db.engine.dialect.name != "postgresql":
        return
    _vacuum_again.set()
    if not _vacuum_lock.acquire(blocking=False):
        return  # the running vacuum will run once more

    def run() -> None:
        try:
            while _vacuum_again.is_set():
                _vacuum_again.clear()
                with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM (ANALYZE) tasks, annotations, predictions")
        except Exception:  # a failed vacuum only costs speed; autovacuum catches up
            logging.getLogger("assay.tasks").exception("VACUUM after import failed")
        finally:
            _vacuum_lock.release()

    thread = threading.Thread(target=run, name="assay-vacuum", daemon=True)
    thread.start()
    if wait:
        thread.join()


def register_images(
    session: Session,
    actor: Actor,
    project_id: int,
    folder: Path,
    media_root: Path,
    on_image: Callable[[Path], None] | None = None,
    shared_media: Sequence[str] = (),
) -> ImportResult:
    """Make one task per image in `folder` (recursively), all in one transaction.

    An image that lies (symlinks resolved) where the project's tasks may show media, its own
    folder `<media_root>/project-<id>/` or a `shared_media` folder, is used in place; any other,
    also one elsewhere under the media root, is copied to `<media_root>/project-<id>/` keeping
    its path relative to `folder`, so the server can serve it to the project (`MediaScope`).
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
    scope = MediaScope(project_id, tuple(shared_media))
    items, sizes = [], []
    for path, served in _placed(images, folder, root, scope):
        sizes.append(image_size(served))
        items.append({"data": {key: media_url(root, served)}})
        if on_image:
            on_image(path)
    return import_tasks(
        session, actor, project_id, items, label_config=config, sizes=sizes,
        shared_media=shared_media,
    )  # fmt: skip


def _placed(
    images: list[Path], folder: Path, root: Path, scope: MediaScope
) -> Iterator[tuple[Path, Path]]:
    """Each image with the file the server serves for it: itself where the project may show
    it, else its copy in the project's folder."""
    target = root / project_media_folder(scope.project_id)
    for path in images:
        real = path.resolve()
        if real.is_relative_to(root) and scope.refusal(real.relative_to(root).as_posix()) is None:
            yield path, real
            continue
        dest = target / path.relative_to(folder)
        if dest.resolve() == real:  # a link in the project's folder to a file outside it
            raise Invalid.field(
                "source", f"{path} links to {real}, outside the media folders of the project"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists() or dest.stat().st_size != path.stat().st_size:
            shutil.copy2(path, dest)
        yield path, dest
