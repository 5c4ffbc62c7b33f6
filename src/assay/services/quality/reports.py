"""Reading scores: quality by annotator, model, job and label (micro and macro, with intervals),
the label confusion, and one annotation's score with its conflicts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.formats.regions import RegionError
from assay.metrics import Counts
from assay.metrics.scores import summary_accuracy
from assay.metrics.scoring import (
    RegionConflict,
    conflicts_of,
    regions_of,
)
from assay.services.access import Action, Actor, authorize
from assay.services.ground_truth import current_gt
from assay.services.projects import quality_settings_of
from assay.services.tasks.annotations import get_annotation
from assay.store.models import Annotation, Project, QualityAggregate, QualityScore, Task


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
    # the oldest settings version among the group's scores: below the project's current
    # version while a recompute has not reached all of them
    settings_version: int | None = None
    # the group's accuracy over labels as the project's `summary` says (None: micro, the
    # accuracy of the summed counts); only on rows of all labels
    summary_accuracy: float | None = None

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
    versions = _oldest_versions(session, project_id, kind)
    out = [
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
            versions.get(r.group_key),
        )
        for r in rows
        if r.n > 0
    ]
    project = session.get(Project, project_id)
    assert project is not None
    mode = quality_settings_of(project).summary
    if mode == "micro" or label != "" or not out:
        return out
    by_label = _label_summary(session, project_id, kind, [g.key for g in out], mode)
    return [replace(g, summary_accuracy=by_label.get(g.key)) for g in out]


def _label_summary(
    session: Session, project_id: int, kind: str, keys: list[str], mode: str
) -> dict[str, float]:
    """{group key: its accuracy over labels by `mode`} from the per-label aggregates."""
    rows = session.execute(
        select(
            QualityAggregate.group_key,
            QualityAggregate.tp,
            QualityAggregate.fp,
            QualityAggregate.fn,
        ).where(
            QualityAggregate.project_id == project_id,
            QualityAggregate.group_kind == kind,
            QualityAggregate.label != "",
            QualityAggregate.n > 0,
            QualityAggregate.group_key.in_(keys),
        )
    ).all()
    index = {k: i for i, k in enumerate(keys)}
    acc = summary_accuracy(
        [index[r[0]] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        len(keys),
        mode,
    )
    return dict(zip(keys, acc.tolist(), strict=True))


def _oldest_versions(session: Session, project_id: int, kind: str) -> dict[str, int]:
    """{group key: the oldest settings version of its scores} for one kind of group, in one
    grouped query over the project's scores."""
    subject = "annotation" if kind in ("annotator", "annotations", "job") else "prediction"
    key = {
        "annotator": QualityScore.subject_key,
        "model": QualityScore.subject_key,
        "job": QualityScore.job_id,
    }.get(kind)
    oldest = func.min(QualityScore.settings_version)
    where = (QualityScore.project_id == project_id, QualityScore.subject_kind == subject)
    if key is None:  # the project's totals: key ""
        v = session.scalar(select(oldest).where(*where))
        return {} if v is None else {"": v}
    return {
        str(k): v
        for k, v in session.execute(select(key, oldest).where(*where).group_by(key))
        if k is not None
    }


@dataclass(frozen=True)
class ScoreVersions:
    """Which settings version a project's stored scores are of: `current` is the settings'
    version, `oldest` the oldest among the scores (None: nothing scored), `stale` how many
    scores are of an older version than `current` (a recompute has yet to replace them)."""

    current: int
    oldest: int | None
    stale: int

    def to_json(self) -> dict[str, Any]:
        return {"settings_version": self.current, "oldest": self.oldest, "stale": self.stale}


def score_versions(session: Session, actor: Actor, project_id: int) -> ScoreVersions:
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    current = project.quality_settings_version
    oldest, stale = session.execute(
        select(
            func.min(QualityScore.settings_version),
            func.count(QualityScore.id).filter(QualityScore.settings_version < current),
        ).where(QualityScore.project_id == project_id)
    ).one()
    return ScoreVersions(current, oldest, stale or 0)


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
    current_settings_version: int = 1  # the project's; the score's own is score.settings_version


def annotation_quality(session: Session, actor: Actor, annotation_id: int) -> AnnotationQuality:
    """An annotation's accuracy and its region conflicts with the GT (not for annotators: it
    would reveal which of their tasks have GT)."""
    ann = get_annotation(session, actor, annotation_id)
    authorize(session, actor, Action.QUALITY_VIEW, ann.project_id)
    gt = current_gt(session, ann.task_id)
    project = session.get(Project, ann.project_id)
    assert project is not None
    current = project.quality_settings_version
    if gt is None or gt.id == ann.id:
        return AnnotationQuality(ann, None, [], current)
    task = session.get(Task, ann.task_id)
    assert task is not None
    w, h = task.width, task.height
    try:
        found = conflicts_of(
            regions_of(gt.result, w, h),
            regions_of(ann.work_result, w, h),
            quality_settings_of(project),
        )
    except RegionError:
        found = []
    return AnnotationQuality(ann, score_of_annotation(session, ann.id), found, current)
