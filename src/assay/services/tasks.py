"""Tasks: import (all-or-nothing, bulk), list a page with its regions, change, soft-delete."""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from assay.formats.label_config import LabelConfig
from assay.formats.label_studio import RegionError, validate_result
from assay.services import changes
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid, NotFound
from assay.services.ground_truth import record_changes
from assay.services.pagination import Page, page_of
from assay.services.projects import ProjectCounts, label_config_of, project_counts
from assay.store.db import Database
from assay.store.models import (
    Annotation,
    AnnotationRevision,
    Job,
    JobAssignee,
    JobTask,
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
class TaskPage:
    tasks: list[Task]
    annotations: dict[int, list[Annotation]]
    predictions: dict[int, list[Prediction]]
    page: Page
    total_annotations: int
    total_predictions: int


@dataclass
class _Prepared:
    tasks: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    predictions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


MEDIA_URL = "/data/media/"


def media_path_of(data: dict[str, Any]) -> str | None:
    """The media-root path of the first value of the task data served from the media root."""
    for value in data.values():
        if isinstance(value, str) and value.startswith(MEDIA_URL):
            return unquote(value[len(MEDIA_URL) :])[:1000]
    return None


def get_task(session: Session, actor: Actor, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.TASK_VIEW, task.project_id)
    scope = task_visibility(actor)
    if scope and session.scalar(select(Task.id).where(Task.id == task.id, *scope)) is None:
        raise NotFound(f"Task {task_id} not found.")
    return task


def counts_seen_by(
    session: Session, actor: Actor, project_ids: list[int]
) -> dict[int, ProjectCounts]:
    """`project_counts` over what this actor may see: for an annotator their tasks
    (`task_visibility`) and their own annotations only."""
    return project_counts(
        session, project_ids, task_visibility(actor), annotation_visibility(actor)
    )


def task_visibility(actor: Actor) -> tuple[Any, ...]:
    """Filters on Task for what this actor may see among their projects' tasks.

    Annotators work on their own jobs only: in a project that organizes work in jobs they see
    the tasks of the jobs they are assigned to and the tasks they annotated, nothing else.
    In a project without jobs (annotators picking tasks, as in Label Studio) every task.
    """
    if actor.may(Action.ANNOTATIONS_VIEW_ALL):
        return ()
    live_jobs = (Job.deleted_at.is_(None),)
    projects_with_jobs = select(Job.project_id).where(*live_jobs)
    my_jobs_tasks = (
        select(JobTask.task_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .join(Job, Job.id == JobTask.job_id)
        .where(JobAssignee.user_id == actor.id, *live_jobs)
    )
    annotated = select(Annotation.task_id).where(
        Annotation.completed_by_id == actor.id, Annotation.deleted_at.is_(None)
    )
    return (
        or_(
            Task.project_id.not_in(projects_with_jobs),
            Task.id.in_(my_jobs_tasks),
            Task.id.in_(annotated),
        ),
    )


def import_tasks(
    session: Session,
    actor: Actor,
    project_id: int,
    items: Any,
    label_config: LabelConfig | None = None,
    sizes: list[tuple[int, int]] | None = None,
    into: list[int | None] | None = None,
) -> ImportResult:
    """Check every item first, then write them in bulk; one bad item writes nothing.

    Items are Label Studio tasks: {"data": {...}, "annotations": [...], "predictions": [...]},
    or a flat dict that is itself the data. `sizes` gives each item's image (width, height) in
    pixels when known; otherwise it is taken from the regions' original_width/height. `into`
    names, per item, an existing live task of the project to add its annotations and
    predictions to instead of creating one (None: create). `task_ids` answers the created
    tasks only.
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
    prepared = _prepare(items, config, actor, known_users)

    if sizes is not None:
        for row, (w, h) in zip(prepared.tasks, sizes, strict=True):
            row["width"], row["height"] = w, h
    now = utcnow()
    into = into if into is not None else [None] * len(prepared.tasks)
    task_rows = [
        {**t, "project_id": project_id, "created_at": now, "updated_at": now}
        for t, existing in zip(prepared.tasks, into, strict=True)
        if existing is None
    ]
    created = _insert_returning_ids(session, Task.__table__, task_rows)
    fresh = iter(created)
    task_ids = [existing if existing is not None else next(fresh) for existing in into]
    if prepared.annotations:
        ann_rows = [
            {**a, "task_id": task_ids[i], "project_id": project_id, "created_at": now,
             "updated_at": now, "revision": 1}
            for i, a in prepared.annotations
        ]  # fmt: skip
        ann_ids = _insert_returning_ids(session, Annotation.__table__, ann_rows)
        session.execute(
            AnnotationRevision.__table__.insert(),
            [
                {"annotation_id": aid, "revision": 1, "action": "created", "result": a["result"],
                 "ground_truth": a["ground_truth"], "was_cancelled": a["was_cancelled"],
                 "changed_by_id": actor.id, "changed_at": now}
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
        session.execute(
            Prediction.__table__.insert(),
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


def _insert_returning_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows in bulk; answers their new ids in the rows' order.

    SQLAlchemy keeps RETURNING in parameter order on SQLite only by sending one row per
    statement, so there the ids are given explicitly instead: a writer holds SQLite's write
    lock (BEGIN IMMEDIATE), so the ids after the largest are free and stay so until commit
    (and a deferred transaction that raced another writer fails instead of clashing).
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "sqlite":
        start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(start, start + len(rows)))
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        session.execute(table.insert(), rows)
        return ids
    return list(
        session.scalars(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    )


def label_config_of_project(session: Session, project_id: int) -> LabelConfig:
    from assay.store.models import Project

    project = session.get(Project, project_id)
    assert project is not None
    return label_config_of(project)


def _existing_user_ids(session: Session, items: list[Any]) -> set[int]:
    wanted = {
        a.get("completed_by")
        for item in items
        if isinstance(item, dict)
        for a in (item.get("annotations") or [])
        if isinstance(a, dict) and isinstance(a.get("completed_by"), int)
    }
    if not wanted:
        return set()
    return set(session.scalars(select(User.id).where(User.id.in_(wanted))))


def _prepare(
    items: list[Any], config: LabelConfig, actor: Actor, known_users: set[int]
) -> _Prepared:
    out = _Prepared()
    errors: dict[str, list[str]] = {}
    for i, item in enumerate(items):
        try:
            _prepare_one(i, item, config, actor, known_users, out)
        except Invalid as exc:
            errors.update(exc.validation_errors)
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        first = next(iter(errors))
        raise Invalid(
            f"Nothing was imported: {len(errors)} task(s) have errors, first {first}: "
            f"{errors[first][0]}",
            errors,
        )
    return out


def _prepare_one(
    i: int, item: Any, config: LabelConfig, actor: Actor, known_users: set[int], out: _Prepared
) -> None:
    path = f"tasks[{i}]"
    if not isinstance(item, dict):
        raise Invalid.field(path, "must be an object")
    if "data" in item:
        data = item["data"]
        if not isinstance(data, dict):
            raise Invalid.field(f"{path}.data", "must be an object")
        meta = item.get("meta") or {}
        if not isinstance(meta, dict):
            raise Invalid.field(f"{path}.meta", "must be an object")
    else:
        data, meta = item, {}
    missing = [obj.value for obj in config.objects.values() if obj.value not in data]
    if missing:
        raise Invalid.field(f"{path}.data", f"has no {missing[0]!r}, which the label config reads")
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
        row = _annotation_row(ann, config, apath)
        author = ann.get("completed_by")
        row["completed_by_id"] = author if author in known_users else actor.id
        if row["ground_truth"] and any(r["ground_truth"] for _, r in staged_ann):
            raise Invalid.field(f"{apath}.ground_truth", "a task has at most one ground truth")
        staged_ann.append((index, row))
        width, height = width or _size(row["result"])[0], height or _size(row["result"])[1]
    staged_pred: list[tuple[int, dict[str, Any]]] = []
    for j, pred in enumerate(predictions or []):
        row = prediction_row(pred, config, f"{path}.predictions[{j}]")
        staged_pred.append((index, row))
    out.tasks.append(
        {"data": data, "meta": meta, "width": width, "height": height,
         "media_path": media_path_of(data)}
    )  # fmt: skip
    out.annotations.extend(staged_ann)
    out.predictions.extend(staged_pred)


def _size(result: list[dict[str, Any]]) -> tuple[int | None, int | None]:
    for region in result:
        w, h = region.get("original_width"), region.get("original_height")
        if w and h:
            return int(w), int(h)
    return None, None


def checked_result(result: Any, config: LabelConfig, field: str) -> list[Any]:
    try:
        validate_result(result, config, field)
    except RegionError as exc:
        raise Invalid.field(exc.field, exc.reason) from None
    return result


def _annotation_row(ann: Any, config: LabelConfig, path: str) -> dict[str, Any]:
    if not isinstance(ann, dict):
        raise Invalid.field(path, "must be an object")
    result = checked_result(ann.get("result", []), config, f"{path}.result")
    lead_time = ann.get("lead_time")
    if lead_time is not None and not isinstance(lead_time, int | float):
        raise Invalid.field(f"{path}.lead_time", "must be a number of seconds")
    return {
        "result": result,
        "ground_truth": bool(ann.get("ground_truth", False)),
        "was_cancelled": bool(ann.get("was_cancelled", False)),
        "lead_time": lead_time,
    }


def prediction_row(pred: Any, config: LabelConfig, path: str) -> dict[str, Any]:
    if not isinstance(pred, dict):
        raise Invalid.field(path, "must be an object")
    result = checked_result(
        _as_result_list(pred.get("result", []), config), config, f"{path}.result"
    )
    score = pred.get("score")
    if score is not None and (not isinstance(score, int | float) or isinstance(score, bool)):
        raise Invalid.field(f"{path}.score", "must be a number")
    version = pred.get("model_version") or ""
    if not isinstance(version, str):
        version = str(version)
    return {"result": result, "score": score, "model_version": version[:200]}


def _as_result_list(result: Any, config: LabelConfig) -> Any:
    """The legacy SDK sends a prediction's result as one region or as a bare class name."""
    if isinstance(result, dict):
        return [result]
    if isinstance(result, str):
        choices = next((c for c in config.controls.values() if c.type == "Choices"), None)
        if choices is None:
            return result  # validation names the problem
        return [
            {"from_name": choices.name, "to_name": choices.to_name[0], "type": "choices",
             "value": {"choices": [result]}}
        ]  # fmt: skip
    return result


def list_tasks(
    session: Session,
    actor: Actor,
    project_id: int,
    page: int = 1,
    page_size: int = 100,
    with_regions: bool = True,
    has_ground_truth: bool | None = None,
    review_status: str | None = None,
) -> TaskPage:
    """One page of a project's tasks with their live annotations and predictions.

    Three queries whatever the page size: the page, its annotations, its predictions.
    Annotators get only the tasks `task_visibility` shows them, with their own annotations
    only. `has_ground_truth` filters on whether the
    task has a GT annotation, `review_status` on whether one of its annotations has that
    review status (leads, reviewers and admins only).
    """
    authorize(session, actor, Action.TASK_VIEW, project_id)
    live: tuple[Any, ...] = (Task.project_id == project_id, Task.deleted_at.is_(None))
    if has_ground_truth is not None:
        authorize(session, actor, Action.GROUND_TRUTH_VIEW, project_id)
        gt = aliased(Annotation)
        has_gt = (
            select(gt.id)
            .where(gt.task_id == Task.id, gt.ground_truth.is_(True), gt.deleted_at.is_(None))
            .correlate(Task)
            .exists()
        )
        live = (*live, has_gt if has_ground_truth else ~has_gt)
    if review_status is not None:
        from assay.services import review

        authorize(session, actor, Action.REVIEW, project_id)
        live = (*live, review.has_review_status(review.check_review_status(review_status)))
    scope = task_visibility(actor)
    live = (*live, *scope)
    ann_filter = annotation_visibility(actor)
    filtered = has_ground_truth is not None or review_status is not None or bool(scope)
    if filtered:
        total, total_ann, total_pred = _filtered_counts(session, project_id, live, ann_filter)
    else:
        total, total_ann, total_pred = _live_counts(session, project_id, ann_filter)
    pg = page_of(page, page_size, total)
    # Late row lookup: page through the ids alone (an index-only scan of ix_tasks_project_live),
    # then fetch just the page's rows; an OFFSET over full rows would read every skipped task.
    page_ids = (
        select(Task.id).where(*live).order_by(Task.id).offset(pg.offset).limit(pg.size)
    ).scalar_subquery()
    tasks = list(session.scalars(select(Task).where(Task.id.in_(page_ids)).order_by(Task.id)))
    annotations, predictions = (
        regions_of(session, actor, [t.id for t in tasks]) if with_regions else ({}, {})
    )
    return TaskPage(tasks, annotations, predictions, pg, total_ann, total_pred)


def _live_counts(
    session: Session, project_id: int, ann_filter: tuple[Any, ...]
) -> tuple[int, int, int]:
    """(live tasks, live annotations on them, live predictions on them) in one query.

    Each annotation/prediction count is the project's live rows minus those on deleted tasks:
    indexed counts instead of a join over every row. The deleted tasks drive the second part
    (`IN`, through ix_annotations_task / ix_predictions_task), so it costs as much as there
    are deleted tasks, on both databases.
    """
    deleted = select(Task.id).where(Task.project_id == project_id, Task.deleted_at.is_not(None))

    def count(model: Any, *where: Any) -> Any:
        return select(func.count()).select_from(model).where(*where).scalar_subquery()

    def live_rows(model: Any, *where: Any) -> tuple[Any, ...]:
        return (model.project_id == project_id, model.deleted_at.is_(None), *where)

    def gone_rows(model: Any, *where: Any) -> tuple[Any, ...]:
        # No project_id term: it would tempt SQLite (no statistics) into scanning the
        # project's rows; the deleted tasks are the project's, so are their rows.
        return (model.task_id.in_(deleted), model.deleted_at.is_(None), *where)

    row = session.execute(
        select(
            count(Task, Task.project_id == project_id, Task.deleted_at.is_(None)),
            count(Annotation, *live_rows(Annotation, *ann_filter)),
            count(Annotation, *gone_rows(Annotation, *ann_filter)),
            count(Prediction, *live_rows(Prediction)),
            count(Prediction, *gone_rows(Prediction)),
        )
    ).one()
    tasks, ann, ann_gone, pred, pred_gone = (n or 0 for n in row)
    return tasks, ann - ann_gone, pred - pred_gone


def _filtered_counts(
    session: Session, project_id: int, live: tuple[Any, ...], ann_filter: tuple[Any, ...]
) -> tuple[int, int, int]:
    """(tasks, their live annotations, their live predictions) for a filtered task list."""

    def on_tasks(model: Any, *where: Any) -> Any:
        return (
            select(func.count())
            .select_from(model)
            .join(Task, Task.id == model.task_id)
            .where(model.project_id == project_id, model.deleted_at.is_(None), *where, *live)
            .scalar_subquery()
        )

    row = session.execute(
        select(
            select(func.count()).select_from(Task).where(*live).scalar_subquery(),
            on_tasks(Annotation, *ann_filter),
            on_tasks(Prediction),
        )
    ).one()
    tasks, ann, pred = (n or 0 for n in row)
    return tasks, ann, pred


_vacuum_lock = threading.Lock()
_vacuum_again = threading.Event()


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


def annotation_visibility(actor: Actor) -> tuple[Any, ...]:
    """Filters on Annotation for what this actor may see: annotators see only their own."""
    if actor.may(Action.ANNOTATIONS_VIEW_ALL):
        return ()
    return (Annotation.completed_by_id == actor.id,)


def regions_of(
    session: Session,
    actor: Actor,
    task_ids: list[int],
    with_annotations: bool = True,
    with_predictions: bool = True,
) -> tuple[dict[int, list[Annotation]], dict[int, list[Prediction]]]:
    """The tasks' live annotations the actor may see and their predictions, by task."""
    annotations: dict[int, list[Annotation]] = defaultdict(list)
    predictions: dict[int, list[Prediction]] = defaultdict(list)
    if not task_ids:
        return annotations, predictions
    for a in (
        ()
        if not with_annotations
        else session.scalars(
            select(Annotation)
            .where(
                Annotation.task_id.in_(task_ids),
                Annotation.deleted_at.is_(None),
                *annotation_visibility(actor),
            )
            .order_by(Annotation.id)
        )
    ):
        annotations[a.task_id].append(a)
    if with_predictions and actor.may(Action.PREDICTION_VIEW):
        for p in session.scalars(
            select(Prediction)
            .where(Prediction.task_id.in_(task_ids), Prediction.deleted_at.is_(None))
            .order_by(Prediction.id)
        ):
            predictions[p.task_id].append(p)
    return annotations, predictions


def update_task(
    session: Session, actor: Actor, task_id: int, data: Any = None, meta: Any = None
) -> Task:
    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.TASK_CHANGE, task.project_id)
    if data is not None:
        if not isinstance(data, dict):
            raise Invalid.field("data", "must be an object")
        task.data = data
        task.media_path = media_path_of(data)
    if meta is not None:
        if not isinstance(meta, dict):
            raise Invalid.field("meta", "must be an object")
        task.meta = meta
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
    from sqlalchemy import update

    from assay.services.ground_truth import BulkResult
    from assay.services.selection import selected_task_ids

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
