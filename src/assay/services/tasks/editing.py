"""Changing and soft-deleting tasks (their labels are kept)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from assay.formats.image_names import image_name_of
from assay.services import changes
from assay.services.access import Action, Actor, authorize
from assay.services.selection import BulkResult, selected_task_ids
from assay.services.tasks.media import MediaScope, media_path_of, media_paths_of
from assay.services.tasks.results import checked_task_json, label_config_of_project
from assay.services.tasks.visibility import get_task
from assay.store.models import (
    Task,
)
from assay.store.types import utcnow


def update_task(
    session: Session,
    actor: Actor,
    task_id: int,
    data: Any = None,
    meta: Any = None,
    shared_media: Sequence[str] = (),
) -> Task:
    """Replace the task's data and/or meta. New data may name local media only in the
    project's folder or `shared_media` (`MediaScope`); the media the task shows already it
    keeps, even from elsewhere (a task written before that rule)."""
    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.TASK_CHANGE, task.project_id)
    if data is not None:
        data = checked_task_json(data, "data")
        MediaScope(task.project_id, tuple(shared_media)).check(
            data, "data", keep=media_paths_of(task.data)
        )
        task.data = data
        task.media_path = media_path_of(data)
        field_name = label_config_of_project(session, task.project_id).image_key()
        task.image_name = image_name_of(data.get(field_name)) if field_name else None
    if meta is not None:
        task.meta = checked_task_json(meta, "meta")
    task.updated_at = utcnow()
    session.flush()
    return task


def delete_task(session: Session, actor: Actor, task_id: int) -> None:
    """Soft-delete: the task leaves lists and exports; its annotations stay in the database."""
    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.TASK_DELETE, task.project_id)
    task.deleted_at = utcnow()
    task.deleted_by_id = actor.id
    changes.record(session, task.project_id, [task.id])


def delete_selected_tasks(session: Session, actor: Actor, project_id: int, selection: Any) -> Any:
    """Soft-delete the selected tasks (Label Studio's `delete_tasks` data-manager action)."""
    authorize(session, actor, Action.TASK_DELETE, project_id)
    selected = selected_task_ids(session, project_id, selection)
    ids = list(session.scalars(selected))
    now = utcnow()
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        session.execute(
            update(Task).where(Task.id.in_(chunk)).values(deleted_at=now, deleted_by_id=actor.id)
        )
    changes.record(session, project_id, ids)
    return BulkResult(len(ids), len(ids), 0, 0)
