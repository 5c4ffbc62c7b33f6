"""The GT re-check queue: GT tasks a new guideline version asks a lead to look at again, and
how each was resolved (confirmed unchanged, or changed: the GT's new revision). The lead walks
it in the GT-stage editor one task at a time (`next_recheck`), oldest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict, Invalid, NotFound
from assay.services.ground_truth import current_gt
from assay.services.pagination import Page, page_of
from assay.services.tasks import label_config_of_project, resolve_task
from assay.services.tasks.annotations import update_annotation
from assay.store.guideline_models import GuidelineRecheck
from assay.store.models import Annotation, GroundTruthChange, Task
from assay.store.types import utcnow

RECHECK_STATUSES = ("pending", "confirmed", "changed")
MAX_RECHECK_LABELS = 1000


@dataclass(frozen=True)
class RecheckProgress:
    total: int
    done: int
    remaining: int


@dataclass(frozen=True)
class RecheckTask:
    """A waiting task as the editor opens it: the queue entry, the task and its GT now."""

    item: GuidelineRecheck
    task: Task
    ground_truth: Annotation | None


def checked_recheck(session: Session, project_id: int, value: Any) -> frozenset[str] | None:
    """`recheck` of a publish: None (no re-check), "all" (every GT task: an empty set) or
    {"labels": [...]} (GT tasks whose GT has one of these labels of the label config)."""
    if value is None:
        return None
    if value == "all":
        return frozenset()
    if not isinstance(value, dict) or set(value) != {"labels"}:
        raise Invalid.field("recheck", 'must be "all" or {"labels": [label, ...]}')
    labels = value["labels"]
    if (
        not isinstance(labels, list)
        or not labels
        or len(labels) > MAX_RECHECK_LABELS
        or not all(isinstance(x, str) for x in labels)
    ):
        raise Invalid.field("recheck.labels", "must be a non-empty list of label names")
    known = set(label_config_of_project(session, project_id).labels)
    unknown = sorted(set(labels) - known)
    if unknown:
        raise Invalid.field("recheck.labels", f"not in the label config: {', '.join(unknown)}")
    return frozenset(labels)


def _labels_of(result: list[Any]) -> set[str]:
    found: set[str] = set()
    for region in result or []:
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict):
            continue
        for key, names in value.items():
            if (key.endswith("labels") or key == "choices") and isinstance(names, list):
                found.update(n for n in names if isinstance(n, str))
    return found


def queue_rechecks(session: Session, project_id: int, version: int, labels: frozenset[str]) -> int:
    """Put the project's GT tasks whose GT was made under an older version (and, if `labels`,
    has one of them) into the queue; a task already waiting is asked for by `version` now.
    Answers how many tasks wait for this version."""
    last_change = (
        select(func.max(GroundTruthChange.id))
        .where(GroundTruthChange.project_id == project_id)
        .group_by(GroundTruthChange.task_id)
    )
    made_under = {
        task_id: version
        for task_id, version in session.execute(
            select(GroundTruthChange.task_id, GroundTruthChange.guideline_version).where(
                GroundTruthChange.id.in_(last_change)
            )
        )
    }
    gts = session.scalars(
        select(Annotation)
        .join(Task, Task.id == Annotation.task_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.ground_truth.is_(True),
            Annotation.deleted_at.is_(None),
            Task.deleted_at.is_(None),
        )
        .order_by(Annotation.task_id)
    ).all()
    waiting = {
        r.task_id: r
        for r in session.scalars(
            select(GuidelineRecheck).where(
                GuidelineRecheck.project_id == project_id, GuidelineRecheck.status == "pending"
            )
        )
    }
    chosen = [
        gt
        for gt in gts
        if (made_under.get(gt.task_id) or 0) < version
        and (not labels or labels & _labels_of(gt.result))
    ]
    for gt in chosen:
        row = waiting.get(gt.task_id)
        if row is None:
            session.add(
                GuidelineRecheck(
                    project_id=project_id,
                    task_id=gt.task_id,
                    guideline_version=version,
                    gt_annotation_id=gt.id,
                    gt_revision=gt.revision,
                    status="pending",
                )
            )
        else:  # asked for by this version now, against the GT as it is now
            row.guideline_version = version
            row.gt_annotation_id, row.gt_revision = gt.id, gt.revision
    session.flush()
    return len(chosen)


def _progress(session: Session, project_id: int) -> RecheckProgress:
    counts = {
        state: n
        for state, n in session.execute(
            select(GuidelineRecheck.status, func.count())
            .where(GuidelineRecheck.project_id == project_id)
            .group_by(GuidelineRecheck.status)
        )
    }
    total = sum(counts.values())
    remaining = counts.get("pending", 0)
    return RecheckProgress(total=total, done=total - remaining, remaining=remaining)


def list_recheck(
    session: Session,
    actor: Actor,
    project_id: int,
    status: str | None,
    page: int,
    page_size: int,
) -> tuple[list[tuple[GuidelineRecheck, Annotation | None]], Page, RecheckProgress]:
    """The queue, oldest first, each with the task's GT now; progress over the whole queue."""
    authorize(session, actor, Action.GUIDELINE_RECHECK, project_id)
    if status is not None and status not in RECHECK_STATUSES:
        raise Invalid.field("status", f"must be one of {', '.join(RECHECK_STATUSES)}")
    progress = _progress(session, project_id)
    stmt = select(GuidelineRecheck).where(GuidelineRecheck.project_id == project_id)
    if status is not None:
        stmt = stmt.where(GuidelineRecheck.status == status)
    count = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pg = page_of(page, page_size, count)
    rows = session.scalars(
        stmt.order_by(GuidelineRecheck.id).offset(pg.offset).limit(pg.size)
    ).all()
    gts = {
        a.task_id: a
        for a in session.scalars(
            select(Annotation).where(
                Annotation.task_id.in_([r.task_id for r in rows]),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    }
    return [(r, gts.get(r.task_id)) for r in rows], pg, progress


def next_recheck(
    session: Session, actor: Actor, project_id: int, after: int | None = None
) -> tuple[RecheckTask | None, RecheckProgress]:
    """The waiting task the editor shows next: the oldest, or with `after` (the task on
    screen, skipped) the one queued after it, round to the oldest again; None when none
    waits. Tasks deleted since they were queued are passed over."""
    authorize(session, actor, Action.GUIDELINE_RECHECK, project_id)
    waiting = (
        select(GuidelineRecheck, Task)
        .join(Task, Task.id == GuidelineRecheck.task_id)
        .where(
            GuidelineRecheck.project_id == project_id,
            GuidelineRecheck.status == "pending",
            Task.deleted_at.is_(None),
        )
        .order_by(GuidelineRecheck.id)
        .limit(1)
    )
    row = None
    if after is not None:
        skipped = select(GuidelineRecheck.id).where(
            GuidelineRecheck.project_id == project_id,
            GuidelineRecheck.status == "pending",
            GuidelineRecheck.task_id == after,
        )
        row = session.execute(
            waiting.where(GuidelineRecheck.id > skipped.scalar_subquery())
        ).first()
    if row is None:
        row = session.execute(waiting).first()
    progress = _progress(session, project_id)
    if row is None:
        return None, progress
    item, task = row
    return RecheckTask(item, task, current_gt(session, task.id)), progress


def resolve_recheck(
    session: Session,
    actor: Actor,
    project_id: int,
    task_id: int,
    confirm: Any,
    result: Any = None,
) -> GuidelineRecheck:
    """Resolve a waiting task: `confirm` true records the GT unchanged (refused once it has
    changed); false records it changed, with the GT's new revision (refused while unchanged).
    `result` with false is the lead's edit from the editor: it becomes the GT's new revision
    (the ordinary GT edit, rescoring included) and the resolution in one step."""
    authorize(session, actor, Action.GUIDELINE_RECHECK, project_id)
    if not isinstance(confirm, bool):
        raise Invalid.field("confirm", "must be true (unchanged) or false (the GT was changed)")
    if result is not None and (confirm or not isinstance(result, list)):
        raise Invalid.field("result", 'goes with "confirm": false, as a list of result items')
    task, _ = resolve_task(session, actor, task_id)
    if task.project_id != project_id:
        raise NotFound(f"Task {task_id} not found.")
    item = session.scalar(
        select(GuidelineRecheck)
        .where(
            GuidelineRecheck.project_id == project_id,
            GuidelineRecheck.task_id == task.id,
            GuidelineRecheck.status == "pending",
        )
        .with_for_update()
    )
    if item is None:
        raise NotFound(f"Task {task_id} is not waiting for a re-check.")
    gt = current_gt(session, task.id)
    if result is not None:
        if gt is None:
            raise Conflict(f"Task {task_id} has no GT now: set one before re-checking it.")
        gt = update_annotation(session, actor, gt.id, result=result)
        _note_edit(session, gt, item.guideline_version)
    changed = gt is None or gt.id != item.gt_annotation_id or gt.revision != item.gt_revision
    if confirm and changed:
        raise Conflict(
            f"The GT of task {task_id} changed since it was queued: resolve it with "
            '"confirm": false to record the change.'
        )
    if not confirm and not changed:
        raise Conflict(
            f"The GT of task {task_id} is unchanged since it was queued: edit it first, or "
            'resolve it with "confirm": true.'
        )
    item.status = "changed" if changed else "confirmed"
    item.resolved_annotation_id = gt.id if gt is not None else None
    item.resolved_revision = gt.revision if gt is not None else None
    item.resolved_by_id = actor.id
    item.resolved_at = utcnow()
    session.flush()
    return item


def _note_edit(session: Session, gt: Annotation, version: int) -> None:
    """The GT history's entry of this edit says why it was made."""
    change = session.scalar(
        select(GroundTruthChange)
        .where(
            GroundTruthChange.task_id == gt.task_id,
            GroundTruthChange.action == "edited",
            GroundTruthChange.revision == gt.revision,
        )
        .order_by(GroundTruthChange.id.desc())
        .limit(1)
    )
    if change is not None:
        change.note = f"re-checked for guideline version {version}"
