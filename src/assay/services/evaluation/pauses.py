"""Pauses: an annotator stopped from taking work in one project, by a lead (`manual`, with a
reason) or by evaluation (`auto`, with the score that triggered it). A pause is never deleted:
unpausing closes it (who, when). `require_may_annotate` is the one gate every door asks (the
queue's `next`, creating an annotation through the API, the annotate page or a Label Studio
client); it also holds the annotation limit. Reading one's own work and feedback stays open."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, Role, authorize, is_member
from assay.services.errors import Conflict, Forbidden, Invalid, NotFound, Paused
from assay.services.evaluation.settings import settings_of
from assay.services.pagination import Page, page_of
from assay.store.evaluation_models import EvaluationPause
from assay.store.models import Annotation, Project, ProjectMember, User
from assay.store.types import utcnow

MAX_REASON = 500
MANUAL, AUTO = "manual", "auto"


def lock_member(session: Session, project_id: int, user_id: int) -> None:
    """Take the row lock of the person's membership (no-op on SQLite, whose writers queue):
    two requests pausing, unpausing or onboarding one person run one after the other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
        .with_for_update()
    )


def current_pause(session: Session, project_id: int, user_id: int) -> EvaluationPause | None:
    return session.scalars(
        select(EvaluationPause)
        .where(
            EvaluationPause.project_id == project_id,
            EvaluationPause.user_id == user_id,
            EvaluationPause.unpaused_at.is_(None),
        )
        .order_by(EvaluationPause.id.desc())
        .limit(1)
    ).first()


def paused_users(session: Session, project_id: int) -> dict[int, EvaluationPause]:
    """The project's annotators paused now, with their open pause."""
    rows = session.scalars(
        select(EvaluationPause).where(
            EvaluationPause.project_id == project_id, EvaluationPause.unpaused_at.is_(None)
        )
    )
    return {p.user_id: p for p in rows}


def contacts(session: Session, project_id: int) -> list[str]:
    """Whom a paused annotator asks: the project's leads (admins when it has none)."""
    leads = list(
        session.scalars(
            select(User.email)
            .join(ProjectMember, ProjectMember.user_id == User.id)
            .where(ProjectMember.project_id == project_id, User.role == Role.LEAD)
            .order_by(User.id)
        )
    )
    if leads:
        return leads
    stmt = select(User.email).where(User.role == Role.ADMIN, User.is_active.is_(True))
    return list(session.scalars(stmt.order_by(User.id)))


def pause_info(session: Session, pause: EvaluationPause) -> dict[str, Any]:
    """What a paused annotator is told: why, since when, by whom, whom to ask."""
    by = session.get(User, pause.paused_by_id) if pause.paused_by_id else None
    return {
        "reason": pause.reason,
        "since": pause.paused_at.isoformat().replace("+00:00", "Z"),
        "by": by.email if by is not None else "automatic evaluation",
        "trigger": pause.trigger,
        "score": pause.score,
        "contact": contacts(session, pause.project_id),
    }


def require_may_annotate(session: Session, actor: Actor, project_id: int) -> None:
    """Raise Paused (403 with `paused`) when the annotator is paused in the project, and
    Forbidden when they reached the project's annotation limit. Only annotators are held."""
    require_not_paused(session, actor, project_id)
    require_within_limit(session, actor, project_id)


def require_not_paused(session: Session, actor: Actor, project_id: int) -> None:
    """Raise Paused (403 with `paused`) when the annotator is paused in the project."""
    if actor.role != Role.ANNOTATOR:
        return
    pause = current_pause(session, project_id, actor.id)
    if pause is not None:
        project = session.get(Project, project_id)
        assert project is not None
        info = pause_info(session, pause)
        ask = ", ".join(info["contact"]) or "a lead of the project"
        raise Paused(
            f'You are paused in project "{project.title}": {pause.reason} '
            f"Ask {ask} to unpause you; your work and feedback stay readable.",
            info,
        )


def require_within_limit(session: Session, actor: Actor, project_id: int) -> None:
    """Raise Forbidden when the annotator reached the project's annotation limit (new work
    only: rework of their rejected annotations is not new work)."""
    if actor.role != Role.ANNOTATOR:
        return
    project = session.get(Project, project_id)
    assert project is not None
    limit = settings_of(project).annotation_limit
    if limit is not None:
        made = session.scalar(
            select(func.count()).where(
                Annotation.project_id == project_id,
                Annotation.completed_by_id == actor.id,
                Annotation.deleted_at.is_(None),
                Annotation.was_cancelled.is_(False),
                Annotation.kind == "manual",
            )
        )
        if (made or 0) >= limit:
            raise Forbidden(
                f'You reached the annotation limit of project "{project.title}": '
                f"{limit} annotations per annotator. Ask a lead of the project to raise it."
            )


def _annotator(session: Session, project_id: int, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not is_member(session, user_id, project_id):
        raise NotFound(f"User {user_id} is not a member of project {project_id}.")
    if user.role != Role.ANNOTATOR:
        raise Invalid.field("user", f"is a {user.role}: only annotators are paused")
    return user


def _reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_REASON:
        raise Invalid.field("reason", f"must be text of 1 to {MAX_REASON} characters")
    return value.strip()


def pause_member(
    session: Session, actor: Actor, project_id: int, user_id: int, reason: Any
) -> EvaluationPause:
    """A lead pauses an annotator of the project (Conflict when already paused)."""
    authorize(session, actor, Action.EVALUATION_MANAGE, project_id)
    text = _reason(reason)
    _annotator(session, project_id, user_id)
    lock_member(session, project_id, user_id)
    if current_pause(session, project_id, user_id) is not None:
        raise Conflict(f"User {user_id} is already paused in project {project_id}.")
    pause = EvaluationPause(
        project_id=project_id,
        user_id=user_id,
        reason=text,
        trigger=MANUAL,
        paused_by_id=actor.id,
        paused_at=utcnow(),
    )
    session.add(pause)
    session.flush()
    return pause


def auto_pause(
    session: Session, project_id: int, user_id: int, reason: str, score: float, scored: int
) -> EvaluationPause | None:
    """Evaluation pauses an annotator (nothing when a pause is open already)."""
    lock_member(session, project_id, user_id)
    if current_pause(session, project_id, user_id) is not None:
        return None
    pause = EvaluationPause(
        project_id=project_id,
        user_id=user_id,
        reason=reason,
        trigger=AUTO,
        score=round(score, 6),
        scored=scored,
        paused_at=utcnow(),
    )
    session.add(pause)
    session.flush()
    return pause


def unpause_member(
    session: Session, actor: Actor, project_id: int, user_id: int
) -> EvaluationPause:
    """Close the annotator's open pause (kept, with who unpaused and when)."""
    authorize(session, actor, Action.EVALUATION_MANAGE, project_id)
    _annotator(session, project_id, user_id)
    lock_member(session, project_id, user_id)
    pause = current_pause(session, project_id, user_id)
    if pause is None:
        raise Conflict(f"User {user_id} is not paused in project {project_id}.")
    now = utcnow()
    for open_pause in _open_pauses(session, project_id, user_id):
        open_pause.unpaused_by_id, open_pause.unpaused_at = actor.id, now
    session.flush()
    return pause


def _open_pauses(session: Session, project_id: int, user_id: int) -> list[EvaluationPause]:
    """Every open pause of the person (one, unless two were taken at the same moment)."""
    return list(
        session.scalars(
            select(EvaluationPause).where(
                EvaluationPause.project_id == project_id,
                EvaluationPause.user_id == user_id,
                EvaluationPause.unpaused_at.is_(None),
            )
        )
    )


def list_pauses(
    session: Session,
    actor: Actor,
    project_id: int,
    page: int,
    page_size: int,
    current: bool | None = None,
) -> tuple[list[EvaluationPause], Page]:
    """The project's pauses, newest first; `current` true: open ones only, false: closed."""
    authorize(session, actor, Action.EVALUATION_VIEW, project_id)
    where = [EvaluationPause.project_id == project_id]
    if current is not None:
        col = EvaluationPause.unpaused_at
        where.append(col.is_(None) if current else col.is_not(None))
    total = session.scalar(select(func.count()).select_from(EvaluationPause).where(*where)) or 0
    pg = page_of(page, page_size, total)
    rows = session.scalars(
        select(EvaluationPause)
        .where(*where)
        .order_by(EvaluationPause.paused_at.desc(), EvaluationPause.id.desc())
        .offset(pg.offset)
        .limit(pg.size)
    )
    return list(rows), pg


def current_pauses(session: Session, actor: Actor) -> list[tuple[Project, dict[str, Any]]]:
    """The actor's own open pauses, each with its project and what they are told (My work)."""
    rows = session.execute(
        select(EvaluationPause, Project)
        .join(Project, Project.id == EvaluationPause.project_id)
        .where(
            EvaluationPause.user_id == actor.id,
            EvaluationPause.unpaused_at.is_(None),
            Project.deleted_at.is_(None),
        )
        .order_by(EvaluationPause.id)
    ).all()
    return [(project, pause_info(session, pause)) for pause, project in rows]
