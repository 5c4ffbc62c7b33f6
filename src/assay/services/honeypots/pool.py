"""The pool: a project's GT tasks a lead chose as honeypots, each with a difficulty (set by the
lead, or derived from annotators' past accuracy on it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid, NotFound
from assay.services.selection import BulkResult, selected_task_ids
from assay.store.models import (
    Annotation,
    Honeypot,
    QualityScore,
    Task,
)
from assay.store.types import utcnow

DIFFICULTIES = ("easy", "medium", "hard")
# A derived difficulty needs this many scored answers; with fewer a honeypot is "unrated" and
# fills any level of the difficulty mix (one or two people's scores say little of a task).
MIN_SCORES = 3
UNRATED = "unrated"


EASY_FROM = 0.8  # mean past accuracy at or above this: easy


MEDIUM_FROM = 0.5  # at or above this (and below EASY_FROM): medium; below: hard


def active_honeypots(project_id: int) -> tuple[Any, ...]:
    return (
        Honeypot.project_id == project_id,
        Honeypot.removed_at.is_(None),
        Honeypot.retired_at.is_(None),
    )


def active_pool_size(session: Session, project_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Honeypot)
        .join(Task, Task.id == Honeypot.task_id)
        .where(*active_honeypots(project_id), Task.deleted_at.is_(None))
    )
    return session.scalar(stmt) or 0


def _check_difficulty(value: Any, name: str = "difficulty") -> str | None:
    if value is None or value in DIFFICULTIES:
        return value
    raise Invalid.field(name, f"must be one of {', '.join(DIFFICULTIES)} (or null: derived)")


def add_to_pool(
    session: Session, actor: Actor, project_id: int, selection: Any, difficulty: Any = None
) -> BulkResult:
    """Put the selected tasks that have GT into the pool (skipping those without GT)."""
    authorize(session, actor, Action.HONEYPOTS_MANAGE, project_id)
    difficulty = _check_difficulty(difficulty)
    selected = selected_task_ids(session, project_id, selection)
    ids = list(session.scalars(selected))
    with_gt = set(
        session.scalars(
            select(Annotation.task_id).where(
                Annotation.task_id.in_(selected),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    )
    rows = {
        h.task_id: h
        for h in session.scalars(select(Honeypot).where(Honeypot.task_id.in_(selected)))
    }
    now = utcnow()
    new, changed, unchanged = [], 0, 0
    for task_id in ids:
        if task_id not in with_gt:
            continue
        row = rows.get(task_id)
        if row is None:
            new.append(
                {"task_id": task_id, "project_id": project_id, "difficulty": difficulty,
                 "added_by_id": actor.id, "added_at": now}
            )  # fmt: skip
        elif row.removed_at is not None or (difficulty and row.difficulty != difficulty):
            row.removed_at = None
            row.difficulty = difficulty or row.difficulty
            changed += 1
        else:
            unchanged += 1
    if new:
        session.execute(insert(Honeypot), new)
    session.flush()
    return BulkResult(len(ids), len(new) + changed, unchanged, len(ids) - len(with_gt & set(ids)))


def remove_from_pool(session: Session, actor: Actor, project_id: int, selection: Any) -> BulkResult:
    """Take the selected tasks out of the pool; their rows and exposures stay."""
    authorize(session, actor, Action.HONEYPOTS_MANAGE, project_id)
    selected = selected_task_ids(session, project_id, selection)
    n = session.scalar(select(func.count()).select_from(selected.subquery())) or 0
    changed = session.execute(
        update(Honeypot)
        .where(Honeypot.task_id.in_(selected), Honeypot.removed_at.is_(None))
        .values(removed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    in_pool = session.scalar(
        select(func.count()).select_from(Honeypot).where(Honeypot.task_id.in_(selected))
    )
    return BulkResult(n, changed, (in_pool or 0) - changed, n - (in_pool or 0))


def update_honeypot(
    session: Session, actor: Actor, project_id: int, task_id: int, /, **fields: Any
) -> Honeypot:
    """Set a honeypot's difficulty, or restore a retired one (`"retired": false`)."""
    authorize(session, actor, Action.HONEYPOTS_MANAGE, project_id)
    row = session.get(Honeypot, task_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"Task {task_id} is not a honeypot of project {project_id}.")
    if "difficulty" in fields:
        row.difficulty = _check_difficulty(fields["difficulty"])
    if "retired" in fields:
        if fields["retired"] is not False:
            raise Invalid.field("retired", "only false (restore to rotation) can be set")
        row.retired_at = None
    if "in_pool" in fields:
        if not isinstance(fields["in_pool"], bool):
            raise Invalid.field("in_pool", "must be true or false")
        row.removed_at = None if fields["in_pool"] else (row.removed_at or utcnow())
    session.flush()
    return row


def derived_difficulties(session: Session, task_ids: Iterable[int]) -> dict[int, str]:
    """Difficulty from annotators' mean past accuracy on each task; `UNRATED` with fewer than
    `MIN_SCORES` scored answers."""
    ids = list(task_ids)
    means = {
        t: (n, m)
        for t, n, m in session.execute(
            select(QualityScore.task_id, func.count(), func.avg(QualityScore.accuracy))
            .where(QualityScore.task_id.in_(ids), QualityScore.subject_kind == "annotation")
            .group_by(QualityScore.task_id)
        )
    } if ids else {}  # fmt: skip
    out = {}
    for t in ids:
        n, m = means.get(t, (0, None))
        out[t] = (
            UNRATED
            if m is None or n < MIN_SCORES
            else ("easy" if m >= EASY_FROM else "medium" if m >= MEDIUM_FROM else "hard")
        )
    return out
