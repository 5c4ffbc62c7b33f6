"""Reports for leads: the pool with each honeypot's exposures and answer scores, the pool's
health, and each annotator's honeypot accuracy (over all and by week)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.metrics.weekly import WeeklySums, weekly_means, weekly_sums
from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_int
from assay.services.honeypots.pool import DIFFICULTIES, UNRATED, derived_difficulties
from assay.services.honeypots.rotation import exposure_counts
from assay.services.honeypots.settings import settings_of
from assay.store.models import (
    Annotation,
    Honeypot,
    JobSubmission,
    JobTask,
    Project,
    QualityScore,
    Task,
)


@dataclass(frozen=True)
class HoneypotRow:
    task_id: int
    difficulty: str
    difficulty_set: bool  # set by a lead (else derived)
    exposures: int
    scored: int  # annotators' answers on it as a honeypot, scored against GT
    accuracy: float | None  # their mean accuracy
    retired: bool
    in_pool: bool
    added_at: datetime


def _honeypot_answer_scores() -> Any:
    """Quality scores of annotations made on a task while it was a honeypot of that job."""
    return (
        select(
            QualityScore.task_id,
            QualityScore.subject_key,
            Annotation.created_at,
            QualityScore.accuracy,
        )
        .join(Annotation, Annotation.id == QualityScore.annotation_id)
        .join(
            JobTask,
            (JobTask.job_id == Annotation.job_id) & (JobTask.task_id == Annotation.task_id),
        )
        .where(JobTask.is_honeypot.is_(True), QualityScore.subject_kind == "annotation")
    )


def pool_report(session: Session, actor: Actor, project_id: int) -> list[HoneypotRow]:
    authorize(session, actor, Action.HONEYPOTS_VIEW, project_id)
    rows = list(
        session.scalars(
            select(Honeypot)
            .join(Task, Task.id == Honeypot.task_id)
            .where(Honeypot.project_id == project_id, Task.deleted_at.is_(None))
            .order_by(Honeypot.task_id)
        )
    )
    ids = [h.task_id for h in rows]
    derived = derived_difficulties(session, [h.task_id for h in rows if h.difficulty is None])
    exposures = exposure_counts(session, ids)
    acc: dict[int, list[float]] = defaultdict(list)
    for task_id, _key, _at, accuracy in session.execute(
        _honeypot_answer_scores().where(QualityScore.project_id == project_id)
    ):
        acc[task_id].append(accuracy)
    return [
        HoneypotRow(
            h.task_id,
            h.difficulty or derived[h.task_id],
            h.difficulty is not None,
            exposures.get(h.task_id, 0),
            len(acc[h.task_id]),
            round(sum(acc[h.task_id]) / len(acc[h.task_id]), 6) if acc[h.task_id] else None,
            h.retired_at is not None,
            h.removed_at is None,
            h.added_at,
        )
        for h in rows
    ]


@dataclass(frozen=True)
class PoolHealth:
    active: dict[str, int]  # difficulty -> active honeypots
    active_total: int
    retired: int
    removed: int
    share_retired: float | None  # retired / (active + retired)
    min_pool_size: int
    warnings: list[str]


def pool_health(session: Session, actor: Actor, project_id: int) -> PoolHealth:
    rows = pool_report(session, actor, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    cfg = settings_of(project)
    active = {d: 0 for d in (*DIFFICULTIES, UNRATED)}
    for r in rows:
        if r.in_pool and not r.retired:
            active[r.difficulty] += 1
    total = sum(active.values())
    retired = sum(1 for r in rows if r.in_pool and r.retired)
    removed = sum(1 for r in rows if not r.in_pool)
    warnings = []
    if total < cfg.min_pool_size:
        warnings.append(
            f"The pool runs low: {total} active honeypot(s), fewer than min_pool_size "
            f"{cfg.min_pool_size}. Add fresh GT tasks to the pool."
        )
    if is_int(cfg.per_job) and cfg.per_job > total:
        warnings.append(f"per_job asks for {cfg.per_job} honeypots but only {total} are active.")
    for d in DIFFICULTIES:
        if cfg.difficulty_mix.get(d, 0) > 0 and active[d] == 0 and active[UNRATED] == 0:
            warnings.append(f"No active {d} honeypots: jobs get other difficulties instead.")
    share = round(retired / (total + retired), 6) if total + retired else None
    return PoolHealth(active, total, retired, removed, share, cfg.min_pool_size, warnings)


@dataclass(frozen=True)
class AnnotatorHoneypots:
    user_id: int
    scored: int
    accuracy: float | None
    weeks: list[tuple[date, int, float]]  # (Monday, scored, mean accuracy), oldest first
    attempts: list[JobSubmission]


def accuracy_by_annotator(weeks: WeeklySums) -> dict[int, tuple[int, float]]:
    """Each annotator's (scored honeypot answers, mean accuracy), from `weekly_accuracy`."""
    out = {}
    for user_id, per in weeks.items():
        n = sum(int(v[0]) for v in per.values())
        if n:
            out[user_id] = (n, round(sum(v[1] for v in per.values()) / n, 6))
    return out


def answer_sums(
    session: Session, project_id: int, user_ids: list[int]
) -> dict[int, tuple[int, float]]:
    """Each of these annotators' (honeypot answers scored, sum of their accuracies): their GT
    accuracy as evaluation (services.evaluation) reads it, in one query."""
    if not user_ids:
        return {}
    sums: dict[int, tuple[int, float]] = {}
    for _task, key, _at, accuracy in session.execute(
        _honeypot_answer_scores().where(
            QualityScore.project_id == project_id,
            QualityScore.subject_key.in_([str(u) for u in user_ids]),
        )
    ):
        n, total = sums.get(int(key), (0, 0.0))
        sums[int(key)] = (n + 1, total + float(accuracy))
    return sums


def weekly_accuracy(session: Session, project_id: int) -> WeeklySums:
    """Annotator -> Monday of the week -> [honeypot answers scored, accuracy sum]."""
    return weekly_sums(
        (key, at, accuracy)
        for _task, key, at, accuracy in session.execute(
            _honeypot_answer_scores().where(QualityScore.project_id == project_id)
        )
    )


def annotator_report(session: Session, actor: Actor, project_id: int) -> list[AnnotatorHoneypots]:
    """Per annotator: honeypot accuracy overall and per week, and every job attempt."""
    authorize(session, actor, Action.HONEYPOTS_VIEW, project_id)
    weeks = weekly_accuracy(session, project_id)
    attempts: dict[int, list[JobSubmission]] = defaultdict(list)
    for sub in session.scalars(
        select(JobSubmission)
        .where(JobSubmission.project_id == project_id)
        .order_by(JobSubmission.submitted_at, JobSubmission.id)
    ):
        attempts[sub.user_id].append(sub)
    out = []
    for user_id in sorted(set(weeks) | set(attempts)):
        ws = sorted(weeks[user_id].items())
        n = sum(int(v[0]) for _, v in ws)
        total = sum(v[1] for _, v in ws)
        out.append(
            AnnotatorHoneypots(
                user_id,
                n,
                round(total / n, 6) if n else None,
                weekly_means(weeks[user_id]),
                attempts[user_id],
            )
        )
    return out
