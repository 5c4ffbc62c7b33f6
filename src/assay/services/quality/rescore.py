"""Keeping scores current: every annotation and prediction of a task with GT scored against it
(`quality_scores`), each row recording the settings version it was computed with. A change to
a task's labels rescores that task only (`on_labels_changed`, subscribed to `services.changes`
by `assay.app`); a change of settings rescores the project (`recompute_project`, a background
job), replacing the scores of the older version chunk by chunk: until it is done, they are
still there and say which version they are of."""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from assay.metrics import CountTable
from assay.metrics.scoring import (
    QualitySettings,
    ResultScore,
    accuracies,
)
from assay.metrics.scoring_batch import score_batch
from assay.runtime import gc_paused
from assay.services import background
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import SCORED_WORK
from assay.services.ground_truth import lock_tasks
from assay.services.projects import quality_settings_of
from assay.services.quality.aggregates import AGG_FIELDS, AggKey, apply_deltas, sum_contributions
from assay.services.quality.agreement import agreement_task_ids, refresh_agreement
from assay.store.db import Database
from assay.store.models import Annotation, Prediction, Project, QualityAggregate, QualityScore, Task
from assay.store.types import utcnow

RECOMPUTE_KIND = "quality.recompute"  # the background job kind of recompute_job

CHUNK = 2000
# Tasks to score per part of a background recompute: parts are what workers share, so a
# 20k-task project is 10 parts; each part commits CHUNK tasks at a time.
PART_TASKS = 2000


def on_labels_changed(session: Session, project_id: int, task_ids: set[int]) -> None:
    """The change handler (`services.changes`): rescore the tasks and refresh their agreement.

    The tasks are locked first (`lock_tasks(exclusive=False)`): two requests that change labels
    of one task (two annotators answering a honeypot at once) rescore it one after the other,
    each reading the scores the other committed, instead of both replacing the same old ones.
    """
    lock_tasks(session, sorted(task_ids), exclusive=False)
    rescore_tasks(session, project_id, task_ids)
    refresh_agreement(session, project_id, task_ids)


@dataclass(frozen=True)
class _Subject:
    kind: str  # annotation | prediction
    id: int
    task_id: int
    key: str  # annotator user id, or model version
    job_id: int | None
    result: list[Any]


def _score_rows(
    session: Session, project_id: int, task_ids: list[int], settings: QualitySettings, version: int
) -> list[dict[str, Any]]:
    """Fresh score rows for the given tasks (only those with a GT).

    Reads only the columns scoring needs (no ORM objects) and scores all pairs at once with
    `score_batch`: per pair exactly what `score_result` gives, vectorised.
    """
    if not task_ids:
        return []
    with gc_paused():
        return _score_rows_now(session, project_id, task_ids, settings, version)


def _score_rows_now(
    session: Session, project_id: int, task_ids: list[int], settings: QualitySettings, version: int
) -> list[dict[str, Any]]:
    """`_score_rows` itself; the decoded JSON dies with this frame, before collection resumes."""
    gts, sizes, subjects = _load(session, task_ids, settings)
    tasks = list(gts)
    position = {t: i for i, t in enumerate(tasks)}
    no_size = (None, None)
    scores = score_batch(
        [gts[t].result for t in tasks],
        [s.result for s in subjects],
        [position[s.task_id] for s in subjects],
        [sizes.get(t, no_size)[0] for t in tasks],
        [sizes.get(t, no_size)[1] for t in tasks],
        settings,
    )
    # None where either side is unreadable: left unscored rather than failing the change
    scored = [(sub, sc) for sub, sc in zip(subjects, scores, strict=True) if sc is not None]
    if settings.summary == "micro":
        accuracy = CountTable.from_counts(sc.counts for _, sc in scored).accuracy.tolist()
    else:
        accuracy = accuracies([sc for _, sc in scored], settings.summary).tolist()
    now = utcnow()
    return [
        _row(project_id, sub, gts[sub.task_id], sc, acc, now, version)
        for (sub, sc), acc in zip(scored, accuracy, strict=True)
    ]


@dataclass(frozen=True)
class _GroundTruth:
    id: int
    revision: int
    result: list[Any]


def _load(
    session: Session, task_ids: list[int], settings: QualitySettings
) -> tuple[dict[int, _GroundTruth], dict[int, tuple[Any, Any]], list[_Subject]]:
    """The tasks' GTs (by task id), image sizes (by task id), and what to score against them:
    live annotations that are not cancelled, then live predictions."""
    gts = {
        task_id: _GroundTruth(gt_id, revision, result)
        for gt_id, task_id, revision, result in session.execute(
            select(Annotation.id, Annotation.task_id, Annotation.revision, Annotation.result).where(
                Annotation.task_id.in_(task_ids),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    }
    if not gts:
        return {}, {}, []
    sizes = {
        t: (w, h)
        for t, w, h in session.execute(
            select(Task.id, Task.width, Task.height).where(Task.id.in_(list(gts)))
        )
    }
    subjects = [
        _Subject("annotation", a_id, task_id, str(user_id or ""), job_id, result)
        for a_id, task_id, user_id, job_id, result in session.execute(
            select(
                Annotation.id,
                Annotation.task_id,
                Annotation.completed_by_id,
                Annotation.job_id,
                Annotation.work_result,
            ).where(Annotation.task_id.in_(list(gts)), *SCORED_WORK)
        )
    ] + [
        _Subject("prediction", p_id, task_id, model_version or "", None, result)
        for p_id, task_id, model_version, result in session.execute(
            select(
                Prediction.id, Prediction.task_id, Prediction.model_version, Prediction.result
            ).where(Prediction.task_id.in_(list(gts)), Prediction.deleted_at.is_(None))
        )
    ]
    if not settings.empty_is_annotated:
        subjects = [s for s in subjects if s.kind == "prediction" or s.result]
    return gts, sizes, subjects


def _row(
    project_id: int,
    sub: _Subject,
    gt: _GroundTruth,
    score: ResultScore,
    accuracy: float,
    now: Any,
    version: int,
) -> dict[str, Any]:
    c = score.counts
    return {
        "project_id": project_id,
        "task_id": sub.task_id,
        "subject_kind": sub.kind,
        "subject_key": sub.key,
        "annotation_id": sub.id if sub.kind == "annotation" else None,
        "prediction_id": sub.id if sub.kind == "prediction" else None,
        "job_id": sub.job_id,
        "gt_annotation_id": gt.id,
        "gt_revision": gt.revision,
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        "matched": c.matched,
        "iou_sum": c.iou_sum,
        "accuracy": accuracy,  # c.accuracy, computed for all rows at once
        "labels": score.labels,
        "confusion": score.confusion,
        "computed_at": now,
        "settings_version": version,
    }


def _has_gt_or_scores(session: Session, task_ids: list[int]) -> bool:
    """Whether any of these tasks has a live GT annotation or stored scores."""
    gt = select(Annotation.id).where(
        Annotation.task_id.in_(task_ids),
        Annotation.ground_truth.is_(True),
        Annotation.deleted_at.is_(None),
    )
    scored = select(QualityScore.id).where(QualityScore.task_id.in_(task_ids))
    return session.scalar(select(gt.exists() | scored.exists())) or False


def rescore_tasks(session: Session, project_id: int, task_ids: Iterable[int]) -> int:
    """Recompute the scores of these tasks and move the aggregates by the difference.

    Called in the same transaction as the change, so scores never lag behind labels, by a
    caller that holds the tasks' locks (`on_labels_changed`, `recompute_project`).
    Returns the number of score rows written.
    """
    ids = sorted(set(task_ids))
    if not ids or (len(ids) <= CHUNK and not _has_gt_or_scores(session, ids)):
        return 0  # most label changes happen on tasks without GT: one query, nothing to do
    project = session.get(Project, project_id)
    assert project is not None
    settings, version = quality_settings_of(project), project.quality_settings_version
    deltas: dict[AggKey, list[float]] = defaultdict(lambda: [0.0] * len(AGG_FIELDS))
    written = 0
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        old = [
            {
                "subject_kind": s.subject_kind, "subject_key": s.subject_key, "job_id": s.job_id,
                "tp": s.tp, "fp": s.fp, "fn": s.fn, "matched": s.matched, "iou_sum": s.iou_sum,
                "accuracy": s.accuracy, "labels": s.labels,
            }
            for s in session.scalars(select(QualityScore).where(QualityScore.task_id.in_(chunk)))
        ]  # fmt: skip
        sum_contributions(old, -1, deltas)
        session.execute(delete(QualityScore).where(QualityScore.task_id.in_(chunk)))
        new = _score_rows(session, project_id, chunk, settings, version)
        if new:
            session.execute(QualityScore.__table__.insert(), new)
        sum_contributions(new, 1, deltas)
        written += len(new)
    apply_deltas(session, project_id, deltas)
    return written


def recompute_project(
    db: Database,
    project_id: int,
    progress: Callable[[int, int], None] = lambda _d, _t: None,
    *,
    rebuild: bool = True,
) -> dict[str, Any]:
    """Rescore every task of the project with GT or scores, one committed chunk at a time,
    then the tasks whose scores are still of an older settings version (settings changed
    while it ran), until none is left. In this process: the parts of `recompute_parts` one
    after another, as one worker runs them.

    rebuild: first delete every score and aggregate and build them again from nothing (an
    explicit recompute, e.g. after an upgrade); False (after a settings change) replaces
    them chunk by chunk, so that until a task's turn its scores of the older version are
    still read, and reported as such.

    Chunks go through `rescore_tasks`, so a label change made meanwhile is never counted
    twice: whichever comes second replaces the first's rows and moves aggregates by the
    difference.
    """
    parts = recompute_parts(db, project_id, rebuild=rebuild)
    total, results = sum(size for _, size in parts), []
    progress(0, total)
    for part, _size in parts:
        before = sum(r["tasks"] + r["agreement_tasks"] for r in results)
        results.append(
            recompute_part(db, part, lambda done, _t, b=before: progress(b + done, total))
        )
    return finish_recompute(db, project_id, results)


def recompute_parts(
    db: Database, project_id: int, *, rebuild: bool, part_tasks: int | None = None
) -> list[tuple[dict[str, Any], int]]:
    """Split a recompute into parts over task-id ranges, each at most `part_tasks` tasks to
    score (default PART_TASKS) plus the tasks whose agreement it refreshes; (params, size)
    per part.

    With rebuild, the project's scores and aggregates are deleted first (by the planner, once).
    A part lists its tasks: running it again rewrites exactly them.
    """
    with db.session() as s:
        if rebuild:
            s.execute(delete(QualityScore).where(QualityScore.project_id == project_id))
            s.execute(delete(QualityAggregate).where(QualityAggregate.project_id == project_id))
        gt_tasks = (
            select(Annotation.task_id)
            .join(Task, Task.id == Annotation.task_id)
            .where(
                Annotation.project_id == project_id,
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
                Task.deleted_at.is_(None),
            )
        )
        scored = select(QualityScore.task_id).where(QualityScore.project_id == project_id)
        task_ids = sorted(set(s.scalars(gt_tasks)) | set(s.scalars(scored)))
        shared = agreement_task_ids(s, project_id)  # sorted
    if not task_ids and not shared:
        return []
    # Range bounds every `part_tasks` tasks to score (or agreement tasks, when none are scored).
    keys, step = task_ids or shared, part_tasks or PART_TASKS
    edges = [None, *keys[step::step], None]  # a part holds ids below its bound
    parts = []
    for low, high in itertools.pairwise(edges):
        tasks, agreement = _in_range(task_ids, low, high), _in_range(shared, low, high)
        if tasks or agreement:
            params = {"project_id": project_id, "tasks": tasks, "agreement_tasks": agreement}
            parts.append((params, len(tasks) + len(agreement)))
    return parts


def _in_range(ids: list[int], low: int | None, high: int | None) -> list[int]:
    """The sorted ids with low <= id < high (None: unbounded)."""
    start = 0 if low is None else bisect.bisect_left(ids, low)
    stop = len(ids) if high is None else bisect.bisect_left(ids, high)
    return ids[start:stop]


def recompute_part(
    db: Database, params: dict[str, Any], progress: Callable[[int, int], None]
) -> dict[str, Any]:
    """Rescore a part's tasks and refresh its tasks' agreement, a committed chunk at a time.
    Idempotent: scores of a task are replaced, aggregates moved by the difference."""
    project_id, task_ids = params["project_id"], params["tasks"]
    shared = params["agreement_tasks"]
    total = len(task_ids) + len(shared)
    written = _rescore_in_chunks(db, project_id, task_ids, lambda done: progress(done, total))
    for i in range(0, len(shared), CHUNK):
        with db.session() as s:
            lock_tasks(s, shared[i : i + CHUNK], exclusive=False)
            refresh_agreement(s, project_id, shared[i : i + CHUNK])
        progress(len(task_ids) + min(i + CHUNK, len(shared)), total)
    return {"tasks": len(task_ids), "scores": written, "agreement_tasks": len(shared)}


def finish_recompute(
    db: Database, project_id: int, results: list[dict[str, Any]]
) -> dict[str, Any]:
    """After every part: rescore the tasks still scored with an older settings version (the
    settings changed meanwhile), until none is left; the whole recompute's result."""
    written = sum(r["scores"] for r in results)
    while stale := stale_tasks(db, project_id):
        written += _rescore_in_chunks(db, project_id, stale, lambda _done: None)
    with db.session(write=False) as s:
        version = s.scalar(select(Project.quality_settings_version).where(Project.id == project_id))
    return {
        "tasks": sum(r["tasks"] for r in results),
        "scores": written,
        "agreement_tasks": sum(r["agreement_tasks"] for r in results),
        "settings_version": version,
        "parts": len(results),
    }


def _rescore_in_chunks(
    db: Database, project_id: int, task_ids: list[int], done: Callable[[int], None]
) -> int:
    written = 0
    for i in range(0, len(task_ids), CHUNK):
        with db.session() as s:
            lock_tasks(s, task_ids[i : i + CHUNK], exclusive=False)
            written += rescore_tasks(s, project_id, task_ids[i : i + CHUNK])
        done(min(i + CHUNK, len(task_ids)))
    return written


def stale_tasks(db: Database, project_id: int) -> list[int]:
    """The tasks with a score computed with an older version of the project's settings."""
    with db.session(write=False) as s:
        current = select(Project.quality_settings_version).where(Project.id == project_id)
        return list(
            s.scalars(
                select(QualityScore.task_id)
                .where(
                    QualityScore.project_id == project_id,
                    QualityScore.settings_version < current.scalar_subquery(),
                )
                .distinct()
                .order_by(QualityScore.task_id)
            )
        )


def projects_to_recompute(
    session: Session, actor: Actor, project_ids: Sequence[int] | None = None
) -> list[int]:
    """The projects a full recompute covers: `project_ids`, or every live project (by id).
    Raises as `authorize` unless the actor may change the quality settings of each of them,
    before anything is recomputed."""
    if project_ids:
        ids = list(project_ids)
    else:
        live = select(Project.id).where(Project.deleted_at.is_(None)).order_by(Project.id)
        ids = list(session.scalars(live))
    for project_id in ids:
        authorize(session, actor, Action.QUALITY_SETTINGS, project_id)
    return ids


def running_recompute(session: Session, project_id: int) -> int | None:
    """The id of the project's queued or running recompute, if there is one."""
    job = background.active_job(session, project_id, RECOMPUTE_KIND)
    return job.id if job is not None else None


def start_recompute(db: Database, actor: Actor, project_id: int, *, rebuild: bool = True) -> int:
    """Queue a recompute (or return the one already queued or running: it ends with the
    tasks whose scores are of an older settings version, so it also covers a change made
    while it runs). rebuild: as in `recompute_project`; False after a settings change."""
    with db.session(write=False) as s:
        authorize(s, actor, Action.QUALITY_SETTINGS, project_id)
        running = background.active_job(s, project_id, RECOMPUTE_KIND)
        if running is not None:
            return running.id
    params = {"project_id": project_id, "rebuild": rebuild}
    return background.submit(db, actor, RECOMPUTE_KIND, project_id, params)


def plan_recompute(
    db: Database, _actor: Actor, params: dict[str, Any]
) -> list[tuple[dict[str, Any], int]]:
    """A recompute job's parts (`background.register_partitioned`)."""
    return recompute_parts(db, params["project_id"], rebuild=params.get("rebuild", True))


def recompute_job_part(
    db: Database, _actor: Actor, params: dict[str, Any], report: Callable[[int, int], None]
) -> dict[str, Any]:
    return recompute_part(db, params, report)


def finish_recompute_job(
    db: Database, _actor: Actor, params: dict[str, Any], results: list[dict[str, Any]]
) -> dict[str, Any]:
    return finish_recompute(db, params["project_id"], results)
