"""Guideline versions: publish (a new version, never an edit), read the one in force or any
other, and what each member has read and what changed since."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize, require_project_access
from assay.services.errors import Forbidden, Invalid, NotFound
from assay.services.guidelines.recheck import checked_recheck, queue_rechecks
from assay.services.pagination import Page, page_of
from assay.store.guideline_models import EdgeCase, GuidelineRead, GuidelineVersion
from assay.store.models import Project
from assay.store.types import utcnow

MAX_MARKDOWN = 200_000  # characters of one version's text
MAX_CHANGE_LOG = 10_000


@dataclass(frozen=True)
class GuidelineView:
    """What a member sees of a project's guideline: the version in force, the version they
    last read, the versions published since (their change logs) and, for those who may read
    the history, a page of every version."""

    current: GuidelineVersion | None
    read_version: int | None
    unread_since: list[GuidelineVersion]
    history: list[GuidelineVersion] | None
    page: Page | None


def _text(body: dict[str, Any], name: str, limit: int, required: bool) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Invalid.field(name, "must be a non-empty string" if required else "must be a string")
    if len(value) > limit:
        raise Invalid.field(name, f"must be at most {limit} characters")
    return value


def publish(
    session: Session, actor: Actor, project_id: int, body: dict[str, Any]
) -> tuple[GuidelineVersion, int]:
    """A new version from `{"markdown", "change_log", "recheck"}`, in force at once; answers
    it and how many GT tasks it put into the re-check queue."""
    authorize(session, actor, Action.GUIDELINE_PUBLISH, project_id)
    for name in sorted(set(body) - {"markdown", "change_log", "recheck"}):
        raise Invalid.field(name, "is not accepted here; send markdown, change_log, recheck")
    markdown = _text(body, "markdown", MAX_MARKDOWN, required=True)
    change_log = _text(body, "change_log", MAX_CHANGE_LOG, required=False)
    labels = checked_recheck(session, project_id, body.get("recheck"))
    # The project row is the lock: two publishes number their versions one after the other.
    project = session.scalar(select(Project).where(Project.id == project_id).with_for_update())
    assert project is not None
    number = (
        session.scalar(
            select(func.max(GuidelineVersion.version)).where(
                GuidelineVersion.project_id == project_id
            )
        )
        or 0
    ) + 1
    made = GuidelineVersion(
        project_id=project_id,
        version=number,
        markdown=markdown,
        change_log=change_log,
        author_id=actor.id,
        created_at=utcnow(),
    )
    session.add(made)
    project.guideline_version = number
    session.flush()
    queued = queue_rechecks(session, project_id, number, labels) if labels is not None else 0
    _mark(session, actor, project_id, number)  # its author has read it
    session.flush()
    return made, queued


def _versions(session: Session, project_id: int) -> Any:
    return select(GuidelineVersion).where(GuidelineVersion.project_id == project_id)


def _read_version(session: Session, actor: Actor, project_id: int) -> int | None:
    return session.scalar(
        select(GuidelineRead.version).where(
            GuidelineRead.project_id == project_id, GuidelineRead.user_id == actor.id
        )
    )


def guideline_view(
    session: Session, actor: Actor, project_id: int, page: int, page_size: int
) -> GuidelineView:
    project = require_project_access(session, actor, project_id)
    authorize(session, actor, Action.PROJECT_VIEW, project_id)
    current = None
    if project.guideline_version is not None:
        current = session.scalar(
            _versions(session, project_id).where(
                GuidelineVersion.version == project.guideline_version
            )
        )
    read = _read_version(session, actor, project_id)
    unread = list(
        session.scalars(
            _versions(session, project_id)
            .where(GuidelineVersion.version > (read or 0))
            .order_by(GuidelineVersion.version.desc())
        )
    )
    history, pg = None, None
    if actor.may(Action.GUIDELINE_HISTORY):
        total = session.scalar(
            select(func.count()).where(GuidelineVersion.project_id == project_id)
        )
        pg = page_of(page, page_size, total or 0)
        history = list(
            session.scalars(
                _versions(session, project_id)
                .order_by(GuidelineVersion.version.desc())
                .offset(pg.offset)
                .limit(pg.size)
            )
        )
    return GuidelineView(current, read, unread, history, pg)


def get_version(session: Session, actor: Actor, project_id: int, version: int) -> GuidelineVersion:
    """One version; those who may not read the history get the version in force only."""
    project = require_project_access(session, actor, project_id)
    authorize(session, actor, Action.PROJECT_VIEW, project_id)
    found = session.scalar(
        _versions(session, project_id).where(GuidelineVersion.version == version)
    )
    if found is None:
        raise NotFound(f"Guideline version {version} not found.")
    if version != project.guideline_version and not actor.may(Action.GUIDELINE_HISTORY):
        raise Forbidden("You may read the guideline version in force only.")
    return found


def _mark(session: Session, actor: Actor, project_id: int, version: int) -> None:
    row = session.scalar(
        select(GuidelineRead)
        .where(GuidelineRead.project_id == project_id, GuidelineRead.user_id == actor.id)
        .with_for_update()
    )
    if row is None:
        session.add(
            GuidelineRead(
                project_id=project_id, user_id=actor.id, version=version, read_at=utcnow()
            )
        )
    elif row.version < version:
        row.version, row.read_at = version, utcnow()


def mark_read(session: Session, actor: Actor, project_id: int, version: Any) -> int:
    """The member has read the guideline up to `version` (default: the one in force); a read
    never goes back to an older version. Answers the version now recorded."""
    project = require_project_access(session, actor, project_id)
    authorize(session, actor, Action.PROJECT_VIEW, project_id)
    if project.guideline_version is None:
        raise NotFound("This project has no guideline yet.")
    if version is None:
        version = project.guideline_version
    if isinstance(version, bool) or not isinstance(version, int):
        raise Invalid.field("version", "must be a version number")
    if not 1 <= version <= project.guideline_version:
        raise Invalid.field("version", f"must be between 1 and {project.guideline_version}")
    _mark(session, actor, project_id, version)
    session.flush()
    return _read_version(session, actor, project_id) or version


def resolved_by_version(
    session: Session, actor: Actor, project_id: int, versions: list[int]
) -> dict[int, list[EdgeCase]]:
    """The edge cases each version resolved, for its change log: all of them for those who
    see everyone's edge cases, one's own for everyone else."""
    stmt = select(EdgeCase).where(
        EdgeCase.project_id == project_id,
        EdgeCase.status == "resolved",
        EdgeCase.guideline_version.in_(versions),
    )
    if not actor.may(Action.EDGE_CASES_VIEW_ALL):
        stmt = stmt.where(EdgeCase.created_by_id == actor.id)
    out: dict[int, list[EdgeCase]] = {v: [] for v in versions}
    for case in session.scalars(stmt.order_by(EdgeCase.id)):
        out[case.guideline_version].append(case)  # type: ignore[index]
    return out
