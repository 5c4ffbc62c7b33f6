"""Each annotator's standing in a project's evaluation, as leads read it (the API's
`/evaluation` and the dashboard): onboarding n/N | passed | flagged | paused | pending (too
few GT answers for a verdict) | off, with the GT accuracy, its Wilson 95 % interval and how
many GT answers it rests on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, Role, authorize
from assay.services.evaluation.onboarding import progress_of
from assay.services.evaluation.pauses import pause_info, paused_users
from assay.services.evaluation.settings import OFF, ONBOARDING, ONGOING, settings_of
from assay.services.evaluation.verdicts import FAILED, PASSED, gt_accuracy
from assay.store.evaluation_models import EvaluationStanding
from assay.store.models import Project, ProjectMember, User


@dataclass(frozen=True)
class Standing:
    user_id: int
    email: str
    status: str  # off | onboarding | pending | passed | flagged | paused
    onboarding: tuple[int, int] | None  # (answered, of) while onboarding
    flagged: bool  # below the threshold (shown even when paused)
    scored: int
    accuracy: float | None
    interval: tuple[float, float] | None
    paused: dict[str, Any] | None


def standings(session: Session, actor: Actor, project_id: int) -> list[Standing]:
    """Every annotator member of the project, by user id; a handful of queries in all."""
    authorize(session, actor, Action.EVALUATION_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    cfg = settings_of(project)
    people = list(
        session.execute(
            select(User.id, User.email)
            .join(ProjectMember, ProjectMember.user_id == User.id)
            .where(ProjectMember.project_id == project_id, User.role == Role.ANNOTATOR)
            .order_by(User.id)
        )
    )
    ids = [u for u, _ in people]
    acc = gt_accuracy(session, project_id, ids)
    progress = progress_of(session, project_id, ids)
    rows = session.scalars(
        select(EvaluationStanding).where(
            EvaluationStanding.project_id == project_id, EvaluationStanding.user_id.in_(ids)
        )
    )
    kept = {s.user_id: s for s in rows}
    paused = paused_users(session, project_id)
    out = []
    for user_id, email in people:
        n, mean, low, high = acc[user_id]
        st = kept.get(user_id)
        flagged = st is not None and (st.below or st.verdict == FAILED)
        onboarding = None
        if cfg.method == ONBOARDING and (st is None or st.verdict is None):
            done = progress[user_id].answered
            if done < cfg.onboarding_tasks:
                onboarding = (done, cfg.onboarding_tasks)
        if user_id in paused:
            status = "paused"
        elif cfg.method == OFF:
            status = "off"
        elif onboarding is not None:
            status = "onboarding"
        elif flagged:
            status = "flagged"
        elif (cfg.method == ONBOARDING and st is not None and st.verdict == PASSED) or (
            cfg.method == ONGOING and n >= cfg.min_scored
        ):
            status = "passed"
        else:
            status = "pending"
        out.append(
            Standing(
                user_id,
                email,
                status,
                onboarding,
                flagged,
                n,
                mean,
                (low, high) if n else None,
                pause_info(session, paused[user_id]) if user_id in paused else None,
            )
        )
    return out
