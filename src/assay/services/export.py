"""Project export in Label Studio JSON, streamed: memory stays flat whatever the project size."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select

from assay.services import ground_truth
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid
from assay.services.tasks import regions_of
from assay.store.db import Database
from assay.store.models import Annotation, Prediction, Task

CHUNK = 1000
EXPORT_TYPES = ("JSON", "JSON_MIN")

# (task, annotations, predictions, answer key entry or None) -> one exported task
TaskRow = Callable[
    [Task, list[Annotation], list[Prediction], "ground_truth.AnswerKeyEntry | None"], dict[str, Any]
]


def check_export(
    db: Database, actor: Actor, project_id: int, export_type: str, ground_truth_only: bool = False
) -> None:
    """Run the checks before streaming starts, so that errors are still proper 4xx answers."""
    if export_type.upper() not in EXPORT_TYPES:
        raise Invalid.field("exportType", f"must be one of {', '.join(EXPORT_TYPES)}")
    with db.session(write=False) as s:
        authorize(s, actor, Action.PROJECT_EXPORT, project_id)
        if ground_truth_only:
            authorize(s, actor, Action.GROUND_TRUTH_VIEW, project_id)


def iter_export_json(
    db: Database,
    actor: Actor,
    project_id: int,
    task_row: TaskRow,
    all_tasks: bool = False,
    task_ids: list[int] | None = None,
    ground_truth_only: bool = False,
    as_of: datetime | None = None,
) -> Iterator[bytes]:
    """Yield a JSON array of tasks, CHUNK tasks per query round (keyset pagination on id).

    `ground_truth_only` exports the answer key: each task that has GT with only its GT
    annotation; with `as_of`, the answer key exactly as it was then (tasks that existed,
    the GT annotation and the regions of that time).
    """
    yield b"["
    first = True
    last_id = 0
    with db.session(write=False) as s:
        while True:
            stmt = select(Task).where(
                ground_truth.tasks_as_of(project_id, as_of), Task.id > last_id
            )
            if task_ids:
                stmt = stmt.where(Task.id.in_(task_ids))
            if not all_tasks and not ground_truth_only:
                stmt = stmt.where(
                    exists().where(Annotation.task_id == Task.id, Annotation.deleted_at.is_(None))
                )
            tasks = list(s.scalars(stmt.order_by(Task.id).limit(CHUNK)))
            if not tasks:
                break
            ids = [t.id for t in tasks]
            rows = []
            if ground_truth_only:
                key = ground_truth.answer_key(s, ids, as_of)
                anns = {
                    a.id: a
                    for a in s.scalars(
                        select(Annotation).where(
                            Annotation.id.in_([e.annotation_id for e in key.values()])
                        )
                    )
                }
                rows = [
                    task_row(t, [anns[key[t.id].annotation_id]], [], key[t.id])
                    for t in tasks
                    if t.id in key
                ]
            else:
                annotations, predictions = regions_of(s, actor, ids)
                rows = [
                    task_row(t, annotations.get(t.id, []), predictions.get(t.id, []), None)
                    for t in tasks
                ]
            if rows:
                chunk = ",".join(
                    json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows
                )
                yield (chunk if first else "," + chunk).encode()
                first = False
            last_id = tasks[-1].id
            s.expunge_all()
    yield b"]"
