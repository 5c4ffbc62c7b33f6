"""Project export in Label Studio JSON, streamed: memory stays flat whatever the project size."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import exists, select

from assay.services.access import Action, Actor, authorize
from assay.services.tasks import regions_of
from assay.store.db import Database
from assay.store.models import Annotation, Task

CHUNK = 1000
EXPORT_TYPES = ("JSON", "JSON_MIN")


def check_export(db: Database, actor: Actor, project_id: int, export_type: str) -> None:
    """Run the checks before streaming starts, so that errors are still proper 4xx answers."""
    from assay.services.errors import Invalid

    if export_type.upper() not in EXPORT_TYPES:
        raise Invalid.field("exportType", f"must be one of {', '.join(EXPORT_TYPES)}")
    with db.session(write=False) as s:
        authorize(s, actor, Action.PROJECT_EXPORT, project_id)


def iter_export_json(
    db: Database,
    actor: Actor,
    project_id: int,
    task_row: Any,
    all_tasks: bool = False,
    task_ids: list[int] | None = None,
) -> Iterator[bytes]:
    """Yield a JSON array of tasks, CHUNK tasks per query round (keyset pagination on id).

    `task_row(task, annotations, predictions)` makes each task's dict, so the API and the CLI
    share one shape.
    """
    yield b"["
    first = True
    last_id = 0
    with db.session(write=False) as s:
        while True:
            stmt = select(Task).where(
                Task.project_id == project_id, Task.deleted_at.is_(None), Task.id > last_id
            )
            if task_ids:
                stmt = stmt.where(Task.id.in_(task_ids))
            if not all_tasks:
                stmt = stmt.where(
                    exists().where(Annotation.task_id == Task.id, Annotation.deleted_at.is_(None))
                )
            tasks = list(s.scalars(stmt.order_by(Task.id).limit(CHUNK)))
            if not tasks:
                break
            annotations, predictions = regions_of(s, actor, [t.id for t in tasks])
            parts = []
            for t in tasks:
                row = task_row(t, annotations.get(t.id, []), predictions.get(t.id, []))
                parts.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            chunk = ",".join(parts)
            yield (chunk if first else "," + chunk).encode()
            first = False
            last_id = tasks[-1].id
            s.expunge_all()
    yield b"]"
