"""What a consensus merge reads: the settings of a merge, the tasks to merge, and each task's
annotators' latest work as regions and choices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.label_studio import RegionError
from assay.metrics.consensus import (
    AnnotatorRegions,
    merge_classifications,
)
from assay.metrics.consensus.project import WEIGHTINGS
from assay.metrics.scoring import regions_of
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import ANNOTATOR_WORK, latest_by_annotator
from assay.services.checks import is_finite_number, is_id, is_id_list
from assay.services.errors import Invalid
from assay.store.models import Annotation, Job, JobTask, Task

CHUNK = 500


@dataclass(frozen=True)
class MergeSettings:
    quorum: float = 0.5
    iou_threshold: float = 0.5
    weighting: str = "uniform"
    adjudicate_below: float = 0.5  # task agreement under this (or a tie) -> adjudication
    auto_accept_at: float | None = None  # every annotator at least this -> GT; None = off

    @classmethod
    def checked(cls, **fields: Any) -> MergeSettings:
        out = {}
        for name in ("quorum", "iou_threshold"):
            v = fields.get(name)
            if v is None:
                continue
            if not is_finite_number(v) or not 0 < v <= 1:
                raise Invalid.field(name, "must be a number in (0, 1]")
            out[name] = float(v)
        for name in ("adjudicate_below", "auto_accept_at"):
            v = fields.get(name)
            if v is None:
                continue
            if not is_finite_number(v) or not 0 <= v <= 1:
                raise Invalid.field(name, "must be a number in [0, 1]")
            out[name] = float(v)
        weighting = fields.get("weighting")
        if weighting is not None:
            if weighting not in WEIGHTINGS:
                raise Invalid.field("weighting", f"must be one of {', '.join(WEIGHTINGS)}")
            out["weighting"] = weighting
        return cls(**out)

    def to_json(self) -> dict[str, Any]:
        return {
            "quorum": self.quorum,
            "iou_threshold": self.iou_threshold,
            "weighting": self.weighting,
            "adjudicate_below": self.adjudicate_below,
            "auto_accept_at": self.auto_accept_at,
        }


def tasks_to_merge(
    session: Session, actor: Actor, project_id: int, task_ids: Any = None, job_id: Any = None
) -> list[int]:
    """The live tasks named by `tasks` (ids) or `job`, or the whole project; checked."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    live = select(Task.id).where(Task.project_id == project_id, Task.deleted_at.is_(None))
    if task_ids is not None and job_id is not None:
        raise Invalid.field("tasks", "give tasks or job, not both")
    if task_ids is not None:
        if not is_id_list(task_ids):
            raise Invalid.field("tasks", "must be a list of task ids")
        found = set(session.scalars(live.where(Task.id.in_(task_ids))))
        missing = [t for t in task_ids if t not in found]
        if missing:
            shown = ", ".join(map(str, missing[:10]))
            raise Invalid.field("tasks", f"not tasks of project {project_id}: {shown}")
        return sorted(found)
    if job_id is not None:
        job = session.get(Job, job_id) if is_id(job_id) else None
        if job is None or job.project_id != project_id or job.deleted_at is not None:
            raise Invalid.field("job", f"{job_id!r} is not a job of project {project_id}")
        live = live.where(Task.id.in_(select(JobTask.task_id).where(JobTask.job_id == job.id)))
    return list(session.scalars(live.order_by(Task.id)))


@dataclass(frozen=True)
class TaskInput:
    task: Task
    annotator_ids: list[int]
    regions: list[AnnotatorRegions]
    choices: list[dict[str, str]]  # per annotator: Choices control -> the chosen class


def read_inputs(session: Session, task_ids: list[int]) -> Iterator[TaskInput]:
    """Each task's annotators' work (`annotator_work`: their latest), parsed."""
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids)))}
    per_task = latest_by_annotator(
        session.execute(
            select(Annotation.task_id, Annotation.completed_by_id, Annotation.result)
            .where(Annotation.task_id.in_(task_ids), *ANNOTATOR_WORK)
            .order_by(Annotation.task_id, Annotation.id)
        )
    )
    for task_id in task_ids:
        by_user = per_task.get(task_id, {})
        if len(by_user) < 2:
            continue
        task = tasks[task_id]
        try:
            parsed = [regions_of(r, task.width, task.height) for r in by_user.values()]
        except RegionError:
            continue
        yield TaskInput(
            task,
            list(by_user),
            [AnnotatorRegions(p.rectangles.xyxy, p.rectangles.labels.astype(str)) for p in parsed],
            [{name: values[0] for name, values in p.choices.items() if values} for p in parsed],
        )


@dataclass(frozen=True)
class ChoiceVotes:
    """The consensus of one task's Choices controls: control -> (class, support, tied)."""

    classes: dict[str, tuple[str, float, bool]]

    @property
    def tied(self) -> bool:
        return any(t for _, _, t in self.classes.values())


def merge_choices(
    inputs: list[TaskInput], weighting: str, weights: dict[Any, float]
) -> list[ChoiceVotes]:
    """Per Choices control, one items x annotators matrix over the batch: majority vote (with
    the annotators' weights), or Dawid-Skene for weighting "dawid_skene"."""
    out = [ChoiceVotes({}) for _ in inputs]
    names = sorted({name for i in inputs for per in i.choices for name in per})
    people = sorted({a for i in inputs for a in i.annotator_ids})
    col = {a: j for j, a in enumerate(people)}
    for name in names:
        rows = [t for t, i in enumerate(inputs) if any(name in per for per in i.choices)]
        vocab = sorted({per[name] for i in inputs for per in i.choices if name in per})
        code = {v: k for k, v in enumerate(vocab)}
        matrix = np.full((len(rows), len(people)), -1, dtype=np.int64)
        for r, t in enumerate(rows):
            for a, per in zip(inputs[t].annotator_ids, inputs[t].choices, strict=True):
                if name in per:
                    matrix[r, col[a]] = code[per[name]]
        if weighting == "dawid_skene" and len(rows) > 1:
            merged = merge_classifications(matrix, "dawid_skene", n_classes=len(vocab))
        else:
            w = [weights.get(a, 1.0) for a in people] if weighting == "accuracy" else None
            merged = merge_classifications(matrix, "majority", weights=w, n_classes=len(vocab))
        for r, t in enumerate(rows):
            label = int(merged.labels[r])
            if label < 0:
                continue
            answers = matrix[r][matrix[r] >= 0]
            support = float((answers == label).mean()) if len(answers) else 0.0
            out[t].classes[name] = (vocab[label], round(support, 6), bool(merged.tied[r]))
    return out
