"""The edge-case log: an annotator flags a task as ambiguous with a comment; a lead answers it
and resolves it by linking it to the guideline version that settles it. Annotators see their
own entries and the answers only, and know the task by the id they sent (its alias)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize, require_project_access
from assay.services.checks import is_id
from assay.services.errors import Conflict, Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.services.tasks import resolve_task
from assay.store.guideline_models import EdgeCase, GuidelineVersion
from assay.store.models import JobTask
from assay.store.types import utcnow

EDGE_CASE_STATUSES = ("open", "answered", "resolved")
MAX_COMMENT = 5_000
MAX_ANSWER = 10_000


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid.field(name, "must be a non-empty string")
    if len(value) > limit:
        raise Invalid.field(name, f"must be at most {limit} characters")
    return value


def flag_edge_case(session: Session, actor: Actor, task_id: int, comment: Any) -> EdgeCase:
    task, job_id = resolve_task(session, actor, task_id)
    authorize(session, actor, Action.ANNOTATION_CREATE, task.project_id)
    case = EdgeCase(
        project_id=task.project_id,
        task_id=task.id,
        job_id=job_id,
        comment=_text(comment, "comment", MAX_COMMENT),
        status="open",
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    session.add(case)
    session.flush()
    return case


def list_edge_cases(
    session: Session,
    actor: Actor,
    project_id: int,
    status: str | None,
    page: int,
    page_size: int,
    task_id: int | None = None,
) -> tuple[list[EdgeCase], Page]:
    """Newest first; everyone's for those who may see them, one's own for everyone else.

    `task_id` (as the actor knows it: an alias names its task in that job only) keeps the
    entries of that task, and for an alias only those flagged in its job, so that the list
    never ties two of a person's aliases to one task.
    """
    authorize(session, actor, Action.PROJECT_VIEW, project_id)
    if status is not None and status not in EDGE_CASE_STATUSES:
        raise Invalid.field("status", f"must be one of {', '.join(EDGE_CASE_STATUSES)}")
    stmt = select(EdgeCase).where(EdgeCase.project_id == project_id)
    if task_id is not None:
        task, job_id = resolve_task(session, actor, task_id)
        if task.project_id != project_id:
            raise NotFound(f"Task {task_id} not found.")
        stmt = stmt.where(EdgeCase.task_id == task.id)
        if job_id is not None:
            stmt = stmt.where(EdgeCase.job_id == job_id)
    if status is not None:
        stmt = stmt.where(EdgeCase.status == status)
    if not actor.may(Action.EDGE_CASES_VIEW_ALL):
        stmt = stmt.where(EdgeCase.created_by_id == actor.id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pg = page_of(page, page_size, total)
    rows = session.scalars(stmt.order_by(EdgeCase.id.desc()).offset(pg.offset).limit(pg.size))
    return list(rows), pg


def shown_task_ids(session: Session, actor: Actor, cases: list[EdgeCase]) -> dict[int, int | None]:
    """The task id each entry shows the actor: the alias it was flagged by in the author's job
    for those who know tasks by alias, else the real id."""
    if actor.may(Action.EDGE_CASES_VIEW_ALL):
        return {c.id: c.task_id for c in cases}
    pairs = {(c.job_id, c.task_id) for c in cases if c.job_id is not None}
    aliases = (
        dict(
            ((j, t), a)
            for j, t, a in session.execute(
                select(JobTask.job_id, JobTask.task_id, JobTask.alias).where(
                    tuple_(JobTask.job_id, JobTask.task_id).in_(list(pairs))
                )
            )
        )
        if pairs
        else {}
    )
    # flagged by alias: that alias, or none once the task left the job (a rerolled honeypot);
    # never the real id, which would name the task outside the job
    return {
        c.id: aliases.get((c.job_id, c.task_id)) if c.job_id is not None else c.task_id
        for c in cases
    }


def _managed(session: Session, actor: Actor, case_id: int) -> EdgeCase:
    case = session.get(EdgeCase, case_id, with_for_update=True)
    if case is None:
        raise NotFound(f"Edge case {case_id} not found.")
    require_project_access(session, actor, case.project_id)
    if case.created_by_id != actor.id and not actor.may(Action.EDGE_CASES_VIEW_ALL):
        raise NotFound(f"Edge case {case_id} not found.")
    authorize(session, actor, Action.EDGE_CASES_MANAGE, case.project_id)
    return case


def answer_edge_case(session: Session, actor: Actor, case_id: int, answer: Any) -> EdgeCase:
    case = _managed(session, actor, case_id)
    if case.status == "resolved":
        raise Conflict(f"Edge case {case_id} is resolved already.")
    case.answer = _text(answer, "answer", MAX_ANSWER)
    case.answered_by_id, case.answered_at = actor.id, utcnow()
    case.status = "answered"
    session.flush()
    return case


def resolve_edge_case(
    session: Session, actor: Actor, case_id: int, version: Any, answer: Any = None
) -> EdgeCase:
    """Resolved by a published version of the project's guideline (its change log lists it);
    an answer may come along."""
    case = _managed(session, actor, case_id)
    if case.status == "resolved":
        raise Conflict(f"Edge case {case_id} is resolved already.")
    if not is_id(version):
        raise Invalid.field("guideline_version", "must be a version number")
    exists = session.scalar(
        select(GuidelineVersion.id).where(
            GuidelineVersion.project_id == case.project_id, GuidelineVersion.version == version
        )
    )
    if exists is None:
        raise Invalid.field("guideline_version", "is no published version of this guideline")
    if answer is not None:
        case.answer = _text(answer, "answer", MAX_ANSWER)
        case.answered_by_id, case.answered_at = actor.id, utcnow()
    case.guideline_version = version
    case.resolved_by_id, case.resolved_at = actor.id, utcnow()
    case.status = "resolved"
    session.flush()
    return case
