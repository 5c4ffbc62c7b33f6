"""Periodic audits: a seeded sample of recent tasks, stratified by model confidence, handed to
the GT stage as a job (services.jobs, no honeypots); the model's accuracy against the GT the
audit produces says whether it still performs as measured. Tasks someone reported (field
feedback) are taken first.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from assay.metrics import drift as metrics
from assay.metrics.scores import Counts
from assay.services import jobs
from assay.services.access import Action, Actor, authorize
from assay.services.checks import MAX_ID, is_count
from assay.services.errors import Invalid
from assay.services.ground_truth.sampling import allocate
from assay.store.drift_models import Audit, Feedback
from assay.store.models import Annotation, JobTask, Prediction, QualityScore, Task

MAX_STRATA = 20
RECENT_FACTOR = 5  # by default the sample is drawn from the 5 x size most recent tasks


@dataclass(frozen=True)
class AuditRow:
    audit: Audit
    total: int
    done: int  # tasks whose GT stage is finished
    scored: int  # model predictions scored against their GT
    accuracy: float | None  # once every task is done
    accuracy_so_far: float | None

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done == self.total


def _check(size: Any, model_version: Any, seed: Any, strata: Any, recent: Any) -> None:
    if not is_count(size, 1):
        raise Invalid.field("size", f"must be a whole number from 1 to {MAX_ID}")
    if model_version is not None and (not isinstance(model_version, str) or not model_version):
        raise Invalid.field("model_version", "must be a model version name")
    if seed is not None and not is_count(seed):
        raise Invalid.field("seed", f"must be an integer from 0 to {MAX_ID}")
    if not is_count(strata, 1) or strata > MAX_STRATA:
        raise Invalid.field("strata", f"must be a whole number from 1 to {MAX_STRATA}")
    if recent is not None and (not is_count(recent, 1) or recent < size):
        raise Invalid.field("recent", "must be a whole number, at least size")


def _candidates(session: Session, project_id: int, model_version: str | None) -> list[Any]:
    """Tasks an audit may take, newest first, with their highest prediction confidence: live,
    not done, without GT, not in an earlier audit, with a scored prediction (of the version)."""
    has_gt = (
        select(Annotation.id)
        .where(
            Annotation.task_id == Task.id,
            Annotation.ground_truth.is_(True),
            Annotation.deleted_at.is_(None),
        )
        .exists()
    )
    audited = (
        select(JobTask.task_id)
        .join(Audit, Audit.job_id == JobTask.job_id)
        .where(Audit.project_id == project_id)
    )
    stmt = (
        select(Task.id, Task.created_at, func.max(Prediction.score).label("confidence"))
        .join(Prediction, Prediction.task_id == Task.id)
        .where(
            Task.project_id == project_id,
            Task.deleted_at.is_(None),
            Task.gt_status == "none",
            ~has_gt,
            Task.id.not_in(audited),
            Prediction.deleted_at.is_(None),
            Prediction.score.is_not(None),
        )
        .group_by(Task.id, Task.created_at)
        .order_by(Task.created_at.desc(), Task.id.desc())
    )
    if model_version is not None:
        stmt = stmt.where(Prediction.model_version == model_version)
    return list(session.execute(stmt))


def create_audit(
    session: Session,
    actor: Actor,
    project_id: int,
    size: Any = None,
    model_version: Any = None,
    seed: Any = None,
    strata: Any = 4,
    recent: Any = None,
    assignees: Any = None,
    title: Any = None,
) -> tuple[Audit, list[int]]:
    """Sample `size` tasks into a new GT-stage job and record how (the same seed over the
    same tasks draws the same sample): reported tasks first, oldest report first; the rest
    from the `recent` newest tasks (default 5 x size), split into `strata` quantile strata of
    their confidence, each giving its proportional share (services.ground_truth.allocate)."""
    authorize(session, actor, Action.DRIFT_MANAGE, project_id)
    _check(size, model_version, seed, strata, recent)
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    rows = _candidates(session, project_id, model_version)
    eligible = {r.id for r in rows}
    reported: list[int] = []
    for task in session.scalars(
        select(Feedback.task_id)
        .where(Feedback.project_id == project_id, Feedback.audit_id.is_(None))
        .order_by(Feedback.created_at, Feedback.id)
    ):
        if task in eligible and task not in reported and len(reported) < size:
            reported.append(task)
    pool = [r for r in rows if r.id not in set(reported)][: recent or RECENT_FACTOR * size]
    need = size - len(reported)
    if need > len(pool):
        raise Invalid.field(
            "size",
            f"asks for {size} tasks but only {len(pool) + len(reported)} recent task(s) "
            "without ground truth have a scored prediction"
            + (f" of {model_version!r}" if model_version else ""),
        )
    rng = random.Random(seed)
    confidence = np.array([r.confidence for r in pool], dtype=float)
    stratum = metrics.quantile_strata(confidence, strata)
    members: dict[int, list[int]] = defaultdict(list)
    for r, k in zip(pool, stratum.tolist(), strict=True):
        members[k].append(r.id)
    sizes = {str(k): len(v) for k, v in sorted(members.items())}
    take = allocate(sizes, need)
    drawn: list[int] = []
    described = []
    for k, ids in sorted(members.items()):
        picked = rng.sample(sorted(ids), take[str(k)])
        drawn += picked
        scores = confidence[stratum == k]
        described.append(
            {
                "stratum": k,
                "low": round(float(scores.min()), 6),
                "high": round(float(scores.max()), 6),
                "population": len(ids),
                "sampled": len(picked),
            }
        )
    rng.shuffle(drawn)
    chosen = reported + drawn
    if title is None:
        title = f"Audit ({size} tasks{', ' + model_version if model_version else ''}, seed {seed})"
    job = jobs.create_job(
        session, actor, project_id, title, chosen, assignees, with_honeypots=False
    )
    audit = Audit(
        project_id=project_id,
        job_id=job.id,
        model_version=model_version,
        size=size,
        seed=seed,
        sampling={
            "population": len(pool),
            "recent": recent or RECENT_FACTOR * size,
            "strata": described,
            "reported": reported,
        },
        created_by_id=actor.id,
    )
    session.add(audit)
    session.flush()
    if reported:
        session.execute(
            update(Feedback)
            .where(
                Feedback.project_id == project_id,
                Feedback.audit_id.is_(None),
                Feedback.task_id.in_(reported),
            )
            .values(audit_id=audit.id)
        )
    return audit, chosen


def list_audits(session: Session, actor: Actor, project_id: int) -> list[AuditRow]:
    """Every audit, newest first, with its progress and the model's accuracy on it."""
    authorize(session, actor, Action.DRIFT_VIEW, project_id)
    audits = list(
        session.scalars(
            select(Audit)
            .where(Audit.project_id == project_id)
            .order_by(Audit.created_at.desc(), Audit.id.desc())
        )
    )
    by_job = {a.job_id: a for a in audits}
    tasks: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for job_id, task_id, status in session.execute(
        select(JobTask.job_id, JobTask.task_id, Task.gt_status)
        .join(Task, Task.id == JobTask.task_id)
        .where(JobTask.job_id.in_(list(by_job)), Task.deleted_at.is_(None))
    ):
        tasks[job_id].append((task_id, status != "none"))
    audit_of_task: dict[int, list[Audit]] = defaultdict(list)
    for job_id, members in tasks.items():
        for task_id, _ in members:
            audit_of_task[task_id].append(by_job[job_id])
    counts: dict[int, Counts] = defaultdict(Counts)
    scored: dict[int, int] = defaultdict(int)
    for s in session.execute(
        select(QualityScore.task_id, QualityScore.subject_key, QualityScore.tp)
        .add_columns(QualityScore.fp, QualityScore.fn, QualityScore.matched, QualityScore.iou_sum)
        .where(
            QualityScore.project_id == project_id,
            QualityScore.subject_kind == "prediction",
            QualityScore.task_id.in_(list(audit_of_task)),
        )
    ):
        for a in audit_of_task[s.task_id]:
            if a.model_version is None or a.model_version == s.subject_key:
                counts[a.id] += Counts(s.tp, s.fp, s.fn, s.matched, s.iou_sum)
                scored[a.id] += 1
    out = []
    for a in audits:
        members = tasks[a.job_id]
        done = sum(d for _, d in members)
        so_far = counts[a.id].accuracy if scored[a.id] else None
        finished = bool(members) and done == len(members)
        out.append(
            AuditRow(a, len(members), done, scored[a.id], so_far if finished else None, so_far)
        )
    return out
