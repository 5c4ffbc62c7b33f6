"""Quality: every annotation and prediction of a task with GT scored against it, kept current.

Scores live in `quality_scores` (one row per scored annotation or prediction) and their sums
in `quality_aggregates` (per annotator, model version, job and project; per label and over
all labels). A change to a task's annotations, predictions or GT rescores that task only and
moves the aggregates by the difference (`rescore_tasks`); a change of settings rebuilds the
project (`recompute_project`, run as a background job).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from assay.formats.regions import RegionError
from assay.metrics import Counts, CountTable
from assay.metrics.scoring import (
    MATCH_METHODS,
    QualitySettings,
    RegionConflict,
    ResultScore,
    conflicts_of,
    mean_pairwise_accuracy,
    regions_of,
    score_result,
)
from assay.metrics.scoring_batch import score_batch
from assay.runtime import gc_paused
from assay.services import background
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import ANNOTATOR_WORK, latest_by_annotator
from assay.services.errors import Invalid
from assay.services.projects import quality_settings_of
from assay.store.db import Database
from assay.store.models import Annotation, Prediction, Project, QualityAggregate, QualityScore, Task
from assay.store.types import utcnow

CHUNK = 2000
AggKey = tuple[str, str, str]  # (group_kind, group_key, label)
AGG_FIELDS = ("n", "tp", "fp", "fn", "matched", "iou_sum", "accuracy_sum")


def get_settings(session: Session, actor: Actor, project_id: int) -> QualitySettings:
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return quality_settings_of(project)


def update_settings(
    session: Session, actor: Actor, project_id: int, **fields: Any
) -> tuple[QualitySettings, bool]:
    """Check and store new settings; returns them and whether scoring has to be redone."""
    authorize(session, actor, Action.QUALITY_SETTINGS, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    old = quality_settings_of(project)
    merged = old.to_json()
    for name, value in fields.items():
        if value is None:
            continue
        if name not in merged:
            raise Invalid.field(name, "is not a quality setting")
        merged[name] = value
    for name in ("iou_threshold", "low_overlap_threshold", "target_accuracy"):
        v = merged[name]
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 < v <= 1:
            raise Invalid.field(name, "must be a number in (0, 1]")
    if merged["match_method"] not in MATCH_METHODS:
        raise Invalid.field("match_method", f"must be one of {', '.join(MATCH_METHODS)}")
    for name in ("label_aware", "empty_is_annotated"):
        if not isinstance(merged[name], bool):
            raise Invalid.field(name, "must be true or false")
    new = QualitySettings(**merged)
    project.quality_settings = new.to_json()
    scoring_changed = {k: v for k, v in new.to_json().items() if k != "target_accuracy"} != {
        k: v for k, v in old.to_json().items() if k != "target_accuracy"
    }
    return new, scoring_changed


# -- keeping scores current -----------------------------------------------------------------


def on_labels_changed(session: Session, project_id: int, task_ids: set[int]) -> None:
    """The change handler (`services.changes`): rescore the tasks and refresh their agreement."""
    rescore_tasks(session, project_id, task_ids)
    refresh_agreement(session, project_id, task_ids)


_SET_AGREEMENT = (
    update(Task.__table__)
    .where(Task.__table__.c.id == bindparam("task_id"))
    .values(agreement=bindparam("value"), updated_at=Task.__table__.c.updated_at)
)


def refresh_agreement(session: Session, project_id: int, task_ids: Iterable[int]) -> int:
    """Recompute `Task.agreement` of these tasks: the mean pairwise accuracy between their
    annotators' latest work (`annotator_work`).

    One query per chunk (tasks outer-joined to their annotations); only changed values are
    written. Returns how many tasks changed.
    """
    ids = sorted(set(task_ids))
    if not ids:
        return 0
    project = session.get(Project, project_id)
    assert project is not None
    settings = quality_settings_of(project)
    changed = []
    for i in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Task.id, Task.agreement, Task.width, Task.height, Annotation.completed_by_id,
                   Annotation.work_result)
            .outerjoin(Annotation, and_(Annotation.task_id == Task.id, *ANNOTATOR_WORK))
            .where(Task.id.in_(ids[i : i + CHUNK]))
            .order_by(Task.id, Annotation.id)
        ).all()  # fmt: skip
        tasks = {task_id: (old, w, h) for task_id, old, w, h, _, _ in rows}
        work = latest_by_annotator(
            (task_id, user_id, result) for task_id, _, _, _, user_id, result in rows
            if result is not None
        )  # fmt: skip
        for task_id, (old, w, h) in tasks.items():
            results = list(work.get(task_id, {}).values())
            new = None
            if len(results) >= 2:
                try:
                    new = mean_pairwise_accuracy([regions_of(r, w, h) for r in results], settings)
                except RegionError:
                    new = None  # unreadable: left blank rather than failing the write
            if new != old:
                changed.append({"task_id": task_id, "value": new})
    if changed:
        session.execute(_SET_AGREEMENT, changed)
    return len(changed)


# -- computing scores ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    kind: str  # annotation | prediction
    id: int
    task_id: int
    key: str  # annotator user id, or model version
    job_id: int | None
    result: list[Any]


def _score_rows(
    session: Session, project_id: int, task_ids: list[int], settings: QualitySettings
) -> list[dict[str, Any]]:
    """Fresh score rows for the given tasks (only those with a GT).

    Reads only the columns scoring needs (no ORM objects) and scores all pairs at once with
    `score_batch`: per pair exactly what `score_result` gives, vectorised.
    """
    if not task_ids:
        return []
    with gc_paused():
        return _score_rows_now(session, project_id, task_ids, settings)


def _score_rows_now(
    session: Session, project_id: int, task_ids: list[int], settings: QualitySettings
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
    accuracy = CountTable.from_counts(sc.counts for _, sc in scored).accuracy.tolist()
    now = utcnow()
    return [
        _row(project_id, sub, gts[sub.task_id], sc, acc, now)
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
            ).where(Annotation.task_id.in_(list(gts)), *ANNOTATOR_WORK)
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
    }


def _contributions(row: dict[str, Any], sign: int) -> Iterator[tuple[AggKey, tuple[float, ...]]]:
    """What one score adds to (sign=1) or takes from (sign=-1) each aggregate it belongs to."""
    kind = "annotator" if row["subject_kind"] == "annotation" else "model"
    total = "annotations" if kind == "annotator" else "predictions"
    groups = [(kind, row["subject_key"]), (total, "")]
    if row["job_id"] is not None:
        groups.append(("job", str(row["job_id"])))
    whole = (1, row["tp"], row["fp"], row["fn"], row["matched"], row["iou_sum"], row["accuracy"])
    for gk, key in groups:
        yield (gk, key, ""), tuple(sign * v for v in whole)
        for label, (tp, fp, fn, matched, iou_sum) in row["labels"].items():
            acc = tp / (tp + fp + fn) if tp + fp + fn else 1.0
            yield (gk, key, label), tuple(sign * v for v in (1, tp, fp, fn, matched, iou_sum, acc))


def _apply_deltas(session: Session, project_id: int, deltas: dict[AggKey, list[float]]) -> None:
    """Add the deltas to the aggregate rows in one multi-row upsert."""
    rows = [
        {
            "project_id": project_id,
            "group_kind": gk,
            "group_key": key,
            "label": label,
            **dict(zip(AGG_FIELDS, d, strict=True)),
        }
        for (gk, key, label), d in deltas.items()
        if any(d)
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(QualityAggregate)
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id", "group_kind", "group_key", "label"],
        set_={f: getattr(QualityAggregate, f) + getattr(stmt.excluded, f) for f in AGG_FIELDS},
    )
    for i in range(0, len(rows), 1000):
        session.execute(stmt, rows[i : i + 1000])


def _sum_contributions(
    rows: Iterable[dict[str, Any]], sign: int, into: dict[AggKey, list[float]]
) -> None:
    """Add every row's `_contributions` to `into`, vectorised over rows.

    The very floats of adding them one at a time: each aggregate's values are summed left to
    right in row order starting from its current value (`np.bincount` adds its weights in
    order), and keys new to `into` are added in the order the rows first name them.
    """
    rows = list(rows)
    if not rows:
        return
    # Slots: per row its whole counts (label "") then its labels in dict order; values (S, 7)
    # as AGG_FIELDS: n, tp, fp, fn, matched, iou_sum, accuracy.
    items = [(r, label, v) for r, row in enumerate(rows) for label, v in row["labels"].items()]
    n_rows, n_items = len(rows), len(items)
    whole = np.array(
        [(1, w["tp"], w["fp"], w["fn"], w["matched"], w["iou_sum"], w["accuracy"]) for w in rows],
        dtype=np.float64,
    ).reshape(n_rows, len(AGG_FIELDS))
    per_label = np.ones((n_items, len(AGG_FIELDS)))
    if n_items:
        counts = np.array([v for _, _, v in items], dtype=np.float64)
        if counts.shape != (n_items, 5):
            raise ValueError("score labels must map to [tp, fp, fn, matched, iou_sum]")
        per_label[:, 1:6] = counts
        tp, total = per_label[:, 1], per_label[:, 1:4].sum(axis=1)
        np.divide(tp, total, out=per_label[:, 6], where=total != 0)  # 1.0 where nothing at all
    values = np.concatenate([whole, per_label]) * sign
    label_ids: dict[str, int] = {"": 0}
    slot_row = np.array([*range(n_rows), *(r for r, _, _ in items)], dtype=np.int64)
    slot_label = np.array(
        [0] * n_rows + [label_ids.setdefault(label, len(label_ids)) for _, label, _ in items],
        dtype=np.int64,
    )
    # Groups: per row (kind, key), (total, "") and ("job", id) unless it has no job (-1).
    group_ids: dict[tuple[str, str], int] = {}
    row_groups = np.array(
        [
            (
                group_ids.setdefault(_group(row), len(group_ids)),
                group_ids.setdefault(_total(row), len(group_ids)),
                -1
                if row["job_id"] is None
                else group_ids.setdefault(("job", str(row["job_id"])), len(group_ids)),
            )
            for row in rows
        ],
        dtype=np.int64,
    )
    # Events, one per (row, group, slot), in the order of the one-at-a-time loop.
    n_slots = len(slot_row)
    ev_slot = np.tile(np.arange(n_slots), 3)
    ev_j = np.repeat(np.arange(3), n_slots)
    ev_group = row_groups[slot_row[ev_slot], ev_j]
    real = ev_group >= 0
    ev_slot, ev_j, ev_group = ev_slot[real], ev_j[real], ev_group[real]
    order = np.lexsort((ev_slot, ev_j, slot_row[ev_slot]))
    ev_slot, ev_group = ev_slot[order], ev_group[order]
    key = ev_group * len(label_ids) + slot_label[ev_slot]
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    groups, labels = list(group_ids), list(label_ids)
    names = [
        (*groups[g], labels[lab])
        for g, lab in zip(*(x.tolist() for x in np.divmod(uniq, len(labels))), strict=True)
    ]
    zero = [0.0] * len(AGG_FIELDS)
    current = np.array([into.get(k, zero) for k in names], dtype=np.float64)
    bins = np.concatenate([np.arange(len(uniq)), inverse.reshape(-1)])
    weights = np.concatenate([current, values[ev_slot]])
    sums = np.stack(
        [np.bincount(bins, weights=weights[:, f], minlength=len(uniq)) for f in range(len(zero))],
        axis=1,
    ).tolist()
    for u in np.argsort(first, kind="stable").tolist():
        into[names[u]] = sums[u]


def _group(row: dict[str, Any]) -> tuple[str, str]:
    """A score's own group (annotator or model) and key, as in `_contributions`."""
    return ("annotator" if row["subject_kind"] == "annotation" else "model", row["subject_key"])


def _total(row: dict[str, Any]) -> tuple[str, str]:
    """A score's project-wide group, as in `_contributions`."""
    return ("annotations" if row["subject_kind"] == "annotation" else "predictions", "")


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

    Called in the same transaction as the change, so scores never lag behind labels.
    Returns the number of score rows written.
    """
    ids = sorted(set(task_ids))
    if not ids or (len(ids) <= CHUNK and not _has_gt_or_scores(session, ids)):
        return 0  # most label changes happen on tasks without GT: one query, nothing to do
    project = session.get(Project, project_id)
    assert project is not None
    settings = quality_settings_of(project)
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
        _sum_contributions(old, -1, deltas)
        session.execute(delete(QualityScore).where(QualityScore.task_id.in_(chunk)))
        new = _score_rows(session, project_id, chunk, settings)
        if new:
            session.execute(QualityScore.__table__.insert(), new)
        _sum_contributions(new, 1, deltas)
        written += len(new)
    _apply_deltas(session, project_id, deltas)
    return written


def recompute_project(
    db: Database, project_id: int, progress: Callable[[int, int], None] = lambda _d, _t: None
) -> dict[str, Any]:
    """Rebuild every score and aggregate of the project, one committed chunk at a time.

    Chunks go through `rescore_tasks`, so a label change made meanwhile is never counted
    twice: whichever comes second replaces the first's rows and moves aggregates by the
    difference.
    """
    with db.session() as s:
        s.execute(delete(QualityScore).where(QualityScore.project_id == project_id))
        s.execute(delete(QualityAggregate).where(QualityAggregate.project_id == project_id))
        task_ids = list(
            s.scalars(
                select(Annotation.task_id)
                .join(Task, Task.id == Annotation.task_id)
                .where(
                    Annotation.project_id == project_id,
                    Annotation.ground_truth.is_(True),
                    Annotation.deleted_at.is_(None),
                    Task.deleted_at.is_(None),
                )
                .order_by(Annotation.task_id)
            )
        )
        shared = agreement_task_ids(s, project_id)
    total = len(task_ids) + len(shared)
    progress(0, total)
    written = 0
    for i in range(0, len(task_ids), CHUNK):
        with db.session() as s:
            written += rescore_tasks(s, project_id, task_ids[i : i + CHUNK])
        progress(min(i + CHUNK, len(task_ids)), total)
    for i in range(0, len(shared), CHUNK):
        with db.session() as s:
            refresh_agreement(s, project_id, shared[i : i + CHUNK])
        progress(len(task_ids) + min(i + CHUNK, len(shared)), total)
    return {"tasks": len(task_ids), "scores": written, "agreement_tasks": len(shared)}


def agreement_task_ids(session: Session, project_id: int) -> list[int]:
    """Tasks whose agreement may be set: work by two or more annotators, or a value now."""
    several = (
        select(Annotation.task_id)
        .where(Annotation.project_id == project_id, *ANNOTATOR_WORK)
        .group_by(Annotation.task_id)
        .having(func.count(Annotation.completed_by_id.distinct()) >= 2)
    )
    valued = select(Task.id).where(Task.project_id == project_id, Task.agreement.is_not(None))
    return sorted(set(session.scalars(several)) | set(session.scalars(valued)))


def start_recompute(db: Database, actor: Actor, project_id: int) -> int:
    """Queue a full recompute (or return the one already queued or running)."""
    with db.session(write=False) as s:
        authorize(s, actor, Action.QUALITY_SETTINGS, project_id)
        running = background.active_job(s, project_id, "quality.recompute")
        if running is not None:
            return running.id
    return background.submit(db, actor, "quality.recompute", project_id, {"project_id": project_id})


@background.job_kind("quality.recompute")
def _recompute_job(
    db: Database, _actor: Actor, params: dict[str, Any], report: Callable[[int, int], None]
) -> dict[str, Any]:
    return recompute_project(db, params["project_id"], report)


# -- reading scores --------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupQuality:
    """Micro (summed counts) and macro (mean accuracy) quality of one group, with CIs."""

    kind: str
    key: str
    label: str
    n: int
    tp: int
    fp: int
    fn: int
    matched: int
    iou_sum: float
    accuracy_sum: float

    @property
    def micro(self) -> Counts:
        return Counts(
            tp=self.tp, fp=self.fp, fn=self.fn, matched=self.matched, iou_sum=self.iou_sum
        )

    @property
    def mean_accuracy(self) -> float | None:
        return self.accuracy_sum / self.n if self.n else None


def groups(
    session: Session,
    actor: Actor,
    project_id: int,
    kind: str,
    label: str | None = "",
    key: str | None = None,
) -> list[GroupQuality]:
    """Aggregates of one kind (annotator, model, job, annotations, predictions); `label` ""
    for all labels, None for every per-label row.

    Annotators read no scores, not even their own: a score moving after an answer would tell
    them which tasks have GT (honeypots). Their feedback is the job submission's.
    """
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    stmt = select(QualityAggregate).where(
        QualityAggregate.project_id == project_id, QualityAggregate.group_kind == kind
    )
    if label is not None:
        stmt = stmt.where(QualityAggregate.label == label)
    else:
        stmt = stmt.where(QualityAggregate.label != "")
    if key is not None:
        stmt = stmt.where(QualityAggregate.group_key == key)
    rows = session.scalars(stmt.order_by(QualityAggregate.group_key, QualityAggregate.label))
    return [
        GroupQuality(
            r.group_kind,
            r.group_key,
            r.label,
            r.n,
            r.tp,
            r.fp,
            r.fn,
            r.matched,
            r.iou_sum,
            r.accuracy_sum,
        )
        for r in rows
        if r.n > 0
    ]


def score_of_annotation(session: Session, annotation_id: int) -> QualityScore | None:
    return session.scalar(select(QualityScore).where(QualityScore.annotation_id == annotation_id))


def confusion(
    session: Session, actor: Actor, project_id: int, kind: str = "annotation"
) -> dict[tuple[str, str], int]:
    """Label confusion summed over the project's scored annotations (or predictions)."""
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    out: dict[tuple[str, str], int] = defaultdict(int)
    stmt = (
        select(QualityScore.confusion)
        .where(QualityScore.project_id == project_id, QualityScore.subject_kind == kind)
        .execution_options(yield_per=5000)
    )
    for pairs in session.scalars(stmt):
        for g, p, n in pairs:
            out[(g, p)] += n
    return dict(out)


@dataclass(frozen=True)
class AnnotationQuality:
    annotation: Annotation
    score: QualityScore | None  # None when the task has no GT (or the annotation is the GT)
    conflicts: list[RegionConflict]


def annotation_quality(session: Session, actor: Actor, annotation_id: int) -> AnnotationQuality:
    """An annotation's accuracy and its region conflicts with the GT (not for annotators: it
    would reveal which of their tasks have GT)."""
    from assay.services.ground_truth import current_gt
    from assay.services.tasks.annotations import get_annotation

    ann = get_annotation(session, actor, annotation_id)
    authorize(session, actor, Action.QUALITY_VIEW, ann.project_id)
    gt = current_gt(session, ann.task_id)
    if gt is None or gt.id == ann.id:
        return AnnotationQuality(ann, None, [])
    task = session.get(Task, ann.task_id)
    assert task is not None
    project = session.get(Project, ann.project_id)
    assert project is not None
    w, h = task.width, task.height
    try:
        found = conflicts_of(
            regions_of(gt.result, w, h),
            regions_of(ann.work_result, w, h),
            quality_settings_of(project),
        )
    except RegionError:
        found = []
    return AnnotationQuality(ann, score_of_annotation(session, ann.id), found)


@dataclass(frozen=True)
class TaskAgreement:
    annotations: list[Annotation]  # the GT (if any) first, then the others by id
    matrix: list[list[float | None]]  # accuracy of column j against row i as reference
    agreement: float | None  # mean pairwise accuracy between the annotators' latest work


def task_agreement(session: Session, actor: Actor, task_id: int) -> TaskAgreement:
    from assay.services.tasks import get_task

    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.QUALITY_VIEW, task.project_id)
    project = session.get(Project, task.project_id)
    assert project is not None
    settings = quality_settings_of(project)
    anns = list(
        session.scalars(
            select(Annotation)
            .where(
                Annotation.task_id == task.id,
                Annotation.deleted_at.is_(None),
                Annotation.was_cancelled.is_(False),
            )
            .order_by(Annotation.ground_truth.desc(), Annotation.id)
        )
    )
    regions = [  # the GT and a consensus as they stand; annotators' own work (`work_result`)
        regions_of(a.work_result if a.kind == "manual" and not a.ground_truth else a.result,
                   task.width, task.height)
        for a in anns
    ]  # fmt: skip
    n = len(anns)
    matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j:
                acc = float(score_result(regions[i], regions[j], settings).counts.accuracy)
                matrix[i][j] = round(acc, 6)
    work = latest_by_annotator(
        (task.id, a.completed_by_id, r)
        for a, r in sorted(zip(anns, regions, strict=True), key=lambda ar: ar[0].id)
        if not a.ground_truth and a.kind == "manual"
    )
    others = list(work.get(task.id, {}).values())
    return TaskAgreement(anns, matrix, mean_pairwise_accuracy(others, settings))


@dataclass(frozen=True)
class ProjectAgreement:
    annotators: list[int]
    matrix: list[list[float | None]]  # mean pairwise accuracy over shared tasks
    shared: list[list[int]]  # how many tasks each pair shares


def project_agreement(session: Session, actor: Actor, project_id: int) -> ProjectAgreement:
    """Annotator x annotator agreement: mean pairwise accuracy over the tasks both annotated,
    each annotator's latest work on a task (`annotator_work`).

    Computed on request over every task with two or more annotators.
    """
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    settings = quality_settings_of(project)
    rows = session.execute(
        select(
            Annotation.task_id,
            Annotation.completed_by_id,
            Annotation.work_result,
            Task.width,
            Task.height,
        )
        .join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project_id, *ANNOTATOR_WORK, Task.deleted_at.is_(None))
        .order_by(Annotation.task_id, Annotation.id)
        .execution_options(yield_per=5000)
    )
    sizes: dict[int, tuple[Any, Any]] = {}

    def work() -> Iterator[tuple[int, int | None, Any]]:
        for task_id, user_id, result, w, h in rows:
            sizes[task_id] = (w, h)
            yield task_id, user_id, result

    by_task = latest_by_annotator(work())
    people = sorted({u for per in by_task.values() for u in per})
    index = {u: i for i, u in enumerate(people)}
    total = [[0.0] * len(people) for _ in people]
    count = [[0] * len(people) for _ in people]
    for task_id, per in by_task.items():
        if len(per) < 2:
            continue
        w, h = sizes[task_id]
        try:
            regs = {u: regions_of(r, w, h) for u, r in per.items()}
        except RegionError:
            continue
        users = sorted(regs)
        for a_i, a in enumerate(users):
            for b in users[a_i + 1 :]:
                acc = float(score_result(regs[a], regs[b], settings).counts.accuracy)
                for x, y in ((a, b), (b, a)):
                    total[index[x]][index[y]] += acc
                    count[index[x]][index[y]] += 1
    matrix = [
        [round(total[i][j] / count[i][j], 6) if count[i][j] else None for j in range(len(people))]
        for i in range(len(people))
    ]
    return ProjectAgreement(people, matrix, count)
