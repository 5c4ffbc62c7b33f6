"""Verdicts, taken where honeypot answers are scored: `on_labels_changed` is a change handler
(services.changes) that `assay.app` subscribes after rescoring, so it reads the fresh scores.

Each annotator who answered one of the changed honeypots gets their GT accuracy (all their
scored honeypot answers in the project) and its Wilson 95 % interval recomputed. No verdict
before `min_scored` answers. Onboarding: once every onboarding task is answered, one verdict,
passed or failed (a fail pauses with `auto_pause`, and is flagged). Ongoing: a fall below the
threshold is acted on when it happens (flag; pause with `auto_pause`), once per fall, so a lead
who unpauses someone is not overruled until they rise above it and fall again."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.metrics import wilson_interval
from assay.services.access import Role
from assay.services.evaluation.onboarding import progress_of
from assay.services.evaluation.pauses import auto_pause
from assay.services.evaluation.settings import (
    OFF,
    ONBOARDING,
    ONGOING,
    EvaluationSettings,
    settings_of,
)
from assay.services.honeypots import answer_sums
from assay.store.evaluation_models import EvaluationStanding
from assay.store.models import Annotation, JobTask, Project, User
from assay.store.types import utcnow

PASSED, FAILED = "passed", "failed"


def gt_accuracy(
    session: Session, project_id: int, user_ids: list[int]
) -> dict[int, tuple[int, float | None, float, float]]:
    """Each annotator's (GT answers scored, mean accuracy or None, Wilson 95 % low, high)."""
    sums = answer_sums(session, project_id, user_ids)
    n = [sums.get(u, (0, 0.0))[0] for u in user_ids]
    total = [sums.get(u, (0, 0.0))[1] for u in user_ids]
    low, high = wilson_interval(total, n)
    return {
        u: (n[i], round(total[i] / n[i], 6) if n[i] else None, round(float(low[i]), 6),
            round(float(high[i]), 6))
        for i, u in enumerate(user_ids)
    }  # fmt: skip


def _answerers(session: Session, project_id: int, task_ids: set[int]) -> list[int]:
    """Annotators with an answer on one of these tasks where it is a honeypot of the job."""
    stmt = (
        select(Annotation.completed_by_id)
        .join(
            JobTask,
            (JobTask.job_id == Annotation.job_id) & (JobTask.task_id == Annotation.task_id),
        )
        .join(User, User.id == Annotation.completed_by_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.task_id.in_(sorted(task_ids)),
            JobTask.is_honeypot.is_(True),
            User.role == Role.ANNOTATOR,
        )
        .distinct()
    )
    return sorted(session.scalars(stmt))


def on_labels_changed(session: Session, project_id: int, task_ids: set[int]) -> None:
    """The change handler: evaluate the annotators who answered these tasks as honeypots."""
    project = session.get(Project, project_id)
    if project is None:
        return
    cfg = settings_of(project)
    if cfg.method == OFF:
        return
    users = _answerers(session, project_id, task_ids)
    if users:
        evaluate(session, project_id, cfg, users)


def _reason(cfg: EvaluationSettings, value: float, scored: int, when: str) -> str:
    what = "the Wilson 95 % lower bound of your GT accuracy" if cfg.use_wilson_lower_bound \
        else "your GT accuracy"  # fmt: skip
    return (
        f"{when}, {what} was {value:.1%} over {scored} GT tasks, below the project's "
        f"minimum of {cfg.min_accuracy:.1%}."
    )


def evaluate(
    session: Session, project_id: int, cfg: EvaluationSettings, user_ids: list[int]
) -> None:
    """Update the annotators' standings; flag and (with auto_pause) pause the failing ones."""
    acc = gt_accuracy(session, project_id, user_ids)
    progress = progress_of(session, project_id, user_ids) if cfg.method == ONBOARDING else {}
    standings = {
        s.user_id: s
        for s in session.scalars(
            select(EvaluationStanding).where(
                EvaluationStanding.project_id == project_id,
                EvaluationStanding.user_id.in_(user_ids),
            )
        )
    }
    now = utcnow()
    for user_id in user_ids:
        n, mean, low, _high = acc[user_id]
        st = standings.get(user_id)
        if st is None:
            st = EvaluationStanding(project_id=project_id, user_id=user_id, below=False)
            session.add(st)
        st.scored, st.accuracy, st.updated_at = n, mean, now
        if n < cfg.min_scored or mean is None:
            continue
        value = cfg.threshold_value(mean, low)
        below = value < cfg.min_accuracy
        act: str | None = None
        if cfg.method == ONGOING:
            if below and not st.below:
                act = "Under ongoing evaluation"
            st.below = below
        elif (
            cfg.method == ONBOARDING
            and st.verdict is None
            and progress[user_id].answered >= cfg.onboarding_tasks
        ):
            st.verdict, st.verdict_at, st.below = (FAILED if below else PASSED), now, below
            if below:
                act = "After onboarding"
        if act is not None and cfg.auto_pause:
            auto_pause(session, project_id, user_id, _reason(cfg, value, n, act), value, n)
    session.flush()
