"""Consensus: merge several annotators' boxes of a task into one result, and adjudicate.

Each merge is stored as its own annotation of kind "consensus" (author: nobody; updated_by:
who ran it), never touching the annotators' work; re-running replaces the task's previous
consensus annotation (soft-deleted, so its history stays). Per task a `ConsensusResult` row
keeps the agreement, whether a label vote tied, and the status:

- merged: the consensus stands;
- adjudicate: agreement below the threshold or a tied vote: waits in the adjudication queue;
- adjudicated: a lead saved a result as the task's GT from the queue;
- accepted: auto-accepted as GT (every annotator agreed above the threshold; off by default;
  recorded in GT history with action "consensus").

The merge itself is `assay.metrics.consensus` (pure numpy): boxes only; rotated boxes are
merged as their axis-aligned envelopes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from assay.formats.dataset import RegionRecord
from assay.formats.label_studio import RegionError
from assay.formats.ls_convert import ls_controls, regions_to_ls_result
from assay.metrics.consensus import (
    AnnotatorRegions,
    cluster_regions,
    merge_classifications,
    merge_many,
    reliability_weights,
)
from assay.metrics.consensus.weights import cluster_label_rows, label_weights
from assay.metrics.scoring import regions_of
from assay.services import background, quality
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import ANNOTATOR_WORK, latest_by_annotator
from assay.services.errors import Conflict, Invalid, NotFound
from assay.services.ground_truth import lock_tasks, make_ground_truth, record_changes
from assay.services.tasks import checked_result, label_config_of_project
from assay.services.tasks.annotations import add_annotation, soft_delete
from assay.store.db import Database
from assay.store.models import Annotation, ConsensusResult, Job, JobTask, Task
from assay.store.types import utcnow

WEIGHTINGS = ("uniform", "accuracy", "dawid_skene")
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
            if not _number(v) or not 0 < v <= 1:
                raise Invalid.field(name, "must be a number in (0, 1]")
            out[name] = float(v)
        for name in ("adjudicate_below", "auto_accept_at"):
            v = fields.get(name)
            if v is None:
                continue
            if not _number(v) or not 0 <= v <= 1:
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


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


# -- choosing the tasks --------------------------------------------------------------------


def tasks_to_merge(
    session: Session, actor: Actor, project_id: int, task_ids: Any = None, job_id: Any = None
) -> list[int]:
    """The live tasks named by `tasks` (ids) or `job`, or the whole project; checked."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    live = select(Task.id).where(Task.project_id == project_id, Task.deleted_at.is_(None))
    if task_ids is not None and job_id is not None:
        raise Invalid.field("tasks", "give tasks or job, not both")
    if task_ids is not None:
        if not isinstance(task_ids, list) or not all(
            isinstance(t, int) and not isinstance(t, bool) for t in task_ids
        ):
            raise Invalid.field("tasks", "must be a list of task ids")
        found = set(session.scalars(live.where(Task.id.in_(task_ids))))
        missing = [t for t in task_ids if t not in found]
        if missing:
            shown = ", ".join(map(str, missing[:10]))
            raise Invalid.field("tasks", f"not tasks of project {project_id}: {shown}")
        return sorted(found)
    if job_id is not None:
        job = session.get(Job, job_id) if isinstance(job_id, int) else None
        if job is None or job.project_id != project_id or job.deleted_at is not None:
            raise Invalid.field("job", f"{job_id!r} is not a job of project {project_id}")
        live = live.where(Task.id.in_(select(JobTask.task_id).where(JobTask.job_id == job.id)))
    return list(session.scalars(live.order_by(Task.id)))


# -- merging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TaskInput:
    task: Task
    annotator_ids: list[int]
    regions: list[AnnotatorRegions]
    choices: list[dict[str, str]]  # per annotator: Choices control -> the chosen class


def _inputs(session: Session, task_ids: list[int]) -> Iterator[_TaskInput]:
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
        yield _TaskInput(
            task,
            list(by_user),
            [AnnotatorRegions(p.rectangles.xyxy, p.rectangles.labels.astype(str)) for p in parsed],
            [{name: values[0] for name, values in p.choices.items() if values} for p in parsed],
        )


@dataclass(frozen=True)
class _ChoiceVotes:
    """The consensus of one task's Choices controls: control -> (class, support, tied)."""

    classes: dict[str, tuple[str, float, bool]]

    @property
    def tied(self) -> bool:
        return any(t for _, _, t in self.classes.values())


def _merge_choices(
    inputs: list[_TaskInput], weighting: str, weights: dict[Any, float]
) -> list[_ChoiceVotes]:
    """Per Choices control, one items x annotators matrix over the batch: majority vote (with
    the annotators' weights), or Dawid-Skene for weighting "dawid_skene"."""
    out = [_ChoiceVotes({}) for _ in inputs]
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


@dataclass(frozen=True)
class Estimate:
    """What one merge holds fixed over all its tasks, estimated before its first batch, so the
    result of a task does not depend on which batch it fell in: the annotators' vote weights
    (None: uniform) and, for Dawid-Skene, each task's Choices votes."""

    weights: dict[int, float] | None = None
    choices: dict[int, _ChoiceVotes] | None = None


def _annotator_accuracy(session: Session, actor: Actor, project_id: int) -> dict[int, float]:
    return {
        int(g.key): g.mean_accuracy
        for g in quality.groups(session, actor, project_id, "annotator")
        if g.key.isdigit() and g.mean_accuracy is not None
    }


def estimate(
    session: Session, actor: Actor, project_id: int, task_ids: list[int], settings: MergeSettings
) -> Estimate:
    """The weights of a merge of these tasks, read CHUNK tasks at a time.

    "accuracy": each annotator's accuracy vs GT now (later auto-accepted GT does not move it).
    "dawid_skene": one estimate over the labels of every shared region (and, per Choices
    control, every answer) of all the tasks.
    """
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    if settings.weighting == "uniform":
        return Estimate()
    if settings.weighting == "accuracy":
        people: set[int] = set()
        for i in range(0, len(task_ids), CHUNK):
            people.update(
                session.scalars(
                    select(Annotation.completed_by_id)
                    .distinct()
                    .where(
                        Annotation.task_id.in_(task_ids[i : i + CHUNK]),
                        Annotation.completed_by_id.is_not(None),
                        *ANNOTATOR_WORK,
                    )
                )
            )
        order = sorted(people)
        accuracy = _annotator_accuracy(session, actor, project_id)
        w = reliability_weights([accuracy.get(a, math.nan) for a in order])
        return Estimate(weights={a: float(x) for a, x in zip(order, w, strict=True)})
    column: dict[int, int] = {}
    code: dict[Any, int] = {}
    blocks: list[tuple[np.ndarray, list[int]]] = []
    voters: list[_TaskInput] = []
    for i in range(0, len(task_ids), CHUNK):
        for item in _inputs(session, task_ids[i : i + CHUNK]):
            cols = [column.setdefault(a, len(column)) for a in item.annotator_ids]
            labels = sorted({lab.item() for r in item.regions for lab in r.labels})
            for lab in labels:
                code.setdefault(lab, len(code))
            rows = cluster_label_rows(
                cluster_regions(item.regions, iou_threshold=settings.iou_threshold),
                range(len(cols)), len(cols), labels,
            )  # fmt: skip
            to_global = np.array([code[lab] for lab in labels] + [-1], dtype=np.int64)
            blocks.append((to_global[rows], cols))  # -1 indexes the trailing -1
            if any(item.choices):
                voters.append(_TaskInput(item.task, item.annotator_ids, [], item.choices))
    by_name = sorted(code)  # codes in sorted label order, as merge_many numbers them
    renumber = np.array([by_name.index(lab) for lab in code] + [-1], dtype=np.int64)
    matrix = np.full((sum(len(b) for b, _ in blocks), len(column)), -1, dtype=np.int64)
    at = 0
    for b, cols in blocks:
        matrix[at : at + len(b), cols] = renumber[b]
        at += len(b)
    weights = None
    if len(matrix):
        w, _ = label_weights(matrix, len(code))
        weights = {a: float(w[j]) for a, j in column.items()}
    votes = _merge_choices(voters, "dawid_skene", {})
    return Estimate(weights, {v.task.id: vote for v, vote in zip(voters, votes, strict=True)})


def merge_tasks(
    session: Session,
    actor: Actor,
    project_id: int,
    task_ids: list[int],
    settings: MergeSettings,
    job_id: int | None = None,
    fixed: Estimate | None = None,
) -> dict[str, int]:
    """Merge the tasks with two or more annotators; returns counts by outcome.

    `fixed`: weights estimated over a whole merge (`estimate`) when these tasks are one batch
    of it; without it they are estimated over these tasks.
    """
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    inputs = list(_inputs(session, task_ids))
    counts = {"merged": 0, "adjudicate": 0, "accepted": 0, "skipped": len(task_ids) - len(inputs)}
    if not inputs:
        return counts
    accuracy = None
    if settings.weighting == "accuracy" and fixed is None:
        accuracy = _annotator_accuracy(session, actor, project_id)
    try:
        merged = merge_many(
            [i.regions for i in inputs],
            [i.annotator_ids for i in inputs],
            weighting=settings.weighting,  # type: ignore[arg-type]
            accuracy=accuracy,
            quorum=settings.quorum,
            iou_threshold=settings.iou_threshold,
            weights=fixed.weights if fixed else None,
        )
    except ValueError as exc:
        raise Invalid.field("settings", str(exc)) from None
    if fixed is not None and fixed.choices is not None:
        votes = [fixed.choices.get(i.task.id, _ChoiceVotes({})) for i in inputs]
    else:
        votes = _merge_choices(inputs, settings.weighting, merged.weights)
    config = label_config_of_project(session, project_id)
    controls = ls_controls(config)
    lock_tasks(session, [i.task.id for i in inputs])
    for item, result, vote in zip(inputs, merged.results, votes, strict=True):
        choice_items = [
            {"from_name": name, "to_name": config.controls[name].to_name[0], "type": "choices",
             "value": {"choices": [label]}}
            for name, (label, _, _) in vote.classes.items()
            if name in config.controls
        ]  # fmt: skip
        status = _store(session, actor, item, result, vote, choice_items, controls, settings,
                        job_id)  # fmt: skip
        counts[status] += 1
    return counts


def _store(
    session: Session,
    actor: Actor,
    item: _TaskInput,
    result: Any,
    vote: _ChoiceVotes,
    choice_items: list[dict[str, Any]],
    controls: Any,
    settings: MergeSettings,
    job_id: int | None,
) -> str:
    """Store one task's consensus and decide its status.

    Agreement: the box consensus agreement when any annotator drew a box, the support of the
    winning class for each Choices control, averaged; a tied box label or class vote is a tie.
    """
    task = item.task
    w, h = task.width or 100, task.height or 100
    records = [
        RegionRecord(
            image="", label=str(label), x=float(x1), y=float(y1), w=float(x2 - x1),
            h=float(y2 - y1), score=round(float(score), 6),
        )
        for (x1, y1, x2, y2), label, score in zip(
            result.boxes, result.labels, result.score, strict=True
        )
    ]  # fmt: skip
    ls_result = regions_to_ls_result(records, w, h, controls) + choice_items
    old = session.get(ConsensusResult, task.id)
    if old is not None and old.annotation_id is not None:
        _retire(session, actor, old.annotation_id)
    ann = add_annotation(session, actor, task, ls_result, job_id)
    ann.kind = "consensus"
    ann.completed_by_id = None
    drew = any(len(r) for r in item.regions)
    parts = ([float(result.agreement)] if drew or not vote.classes else []) + [
        support for _, support, _ in vote.classes.values()
    ]
    agreement = round(sum(parts) / len(parts), 6)
    tied = bool(result.tied) or vote.tied
    status = "merged"
    if tied or agreement < settings.adjudicate_below:
        status = "adjudicate"
    elif settings.auto_accept_at is not None:
        # every annotator agrees: each one's box F1 reaches the threshold, each chose the class
        boxes_ok = float(np.min(result.annotator_agreement)) >= settings.auto_accept_at
        classes_ok = all(support == 1.0 for _, support, _ in vote.classes.values())
        if (boxes_ok or not drew) and classes_ok:
            status = "accepted"
    row = old or ConsensusResult(task_id=task.id, project_id=task.project_id)
    row.annotation_id = ann.id
    row.annotators = len(item.annotator_ids)
    row.agreement = agreement
    row.tied = tied
    row.status = status
    row.settings = settings.to_json()
    row.merged_by_id = actor.id
    row.merged_at = utcnow()
    row.adjudicated_by_id = None
    row.adjudicated_at = None
    if old is None:
        session.add(row)
    session.flush()
    if status == "accepted":
        _accept_as_gt(session, actor, ann)
    return "merged" if status == "merged" else status


def _retire(session: Session, actor: Actor, annotation_id: int) -> None:
    """Soft-delete an earlier consensus annotation (unless it became GT, which stays)."""
    ann = session.get(Annotation, annotation_id)
    if ann is None or ann.deleted_at is not None or ann.ground_truth:
        return
    soft_delete(session, actor, ann)


def _accept_as_gt(session: Session, actor: Actor, ann: Annotation) -> None:
    """Auto-accept: the consensus becomes GT when the task has none; history says how."""
    current = session.scalar(
        select(Annotation.id).where(
            Annotation.task_id == ann.task_id,
            Annotation.ground_truth.is_(True),
            Annotation.deleted_at.is_(None),
        )
    )
    if current is not None:
        return  # an existing answer key is never replaced automatically
    ann.ground_truth = True
    session.flush()
    record_changes(
        session, actor, [(ann.project_id, ann.task_id, "consensus", None, ann.id, ann.revision)]
    )


def start_merge(db: Database, actor: Actor, project_id: int, **params: Any) -> int:
    """Check the request, then merge in the background, CHUNK tasks per transaction."""
    settings = MergeSettings.checked(
        **{k: params.get(k) for k in ("quorum", "iou_threshold", "weighting",
                                      "adjudicate_below", "auto_accept_at")}
    )  # fmt: skip
    with db.session(write=False) as s:
        task_ids = tasks_to_merge(s, actor, project_id, params.get("tasks"), params.get("job"))
    if not task_ids:
        raise Invalid.field("tasks", "no tasks to merge")
    params = {"project_id": project_id, "tasks": task_ids, "job": params.get("job"),
              "settings": settings.to_json()}  # fmt: skip
    return background.submit(db, actor, "consensus.merge", project_id, params)


def merge_job(
    db: Database, actor: Actor, params: dict[str, Any], report: Callable[[int, int], None]
) -> dict[str, Any]:
    """Estimate the weights once, then merge CHUNK tasks per transaction, so progress shows
    and a failure keeps what is done."""
    project_id, task_ids = params["project_id"], params["tasks"]
    settings = MergeSettings(**params["settings"])
    totals = {"merged": 0, "adjudicate": 0, "accepted": 0, "skipped": 0}
    report(0, len(task_ids))
    with db.session(write=False) as s:
        fixed = estimate(s, actor, project_id, task_ids, settings)
    for i in range(0, len(task_ids), CHUNK):
        with db.session() as s:
            counts = merge_tasks(
                s, actor, project_id, task_ids[i : i + CHUNK], settings, params["job"], fixed
            )
        for k, v in counts.items():
            totals[k] += v
        report(min(i + CHUNK, len(task_ids)), len(task_ids))
    return {"tasks": len(task_ids), **totals, "settings": settings.to_json()}


# -- reading, removing, adjudicating -------------------------------------------------------


@dataclass(frozen=True)
class TaskConsensus:
    task: Task
    result: ConsensusResult | None
    annotation: Annotation | None
    annotations: list[Annotation]  # the annotators' (manual, live, non-cancelled), by id


def task_consensus(session: Session, actor: Actor, task_id: int) -> TaskConsensus:
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.QUALITY_VIEW, task.project_id)
    row = session.get(ConsensusResult, task_id)
    ann = session.get(Annotation, row.annotation_id) if row and row.annotation_id else None
    if ann is not None and ann.deleted_at is not None:
        ann = None
    anns = list(
        session.scalars(
            select(Annotation)
            .where(
                Annotation.task_id == task_id,
                Annotation.deleted_at.is_(None),
                Annotation.was_cancelled.is_(False),
                Annotation.kind == "manual",
            )
            .order_by(Annotation.id)
        )
    )
    return TaskConsensus(task, row, ann, anns)


def remove_consensus(session: Session, actor: Actor, task_id: int) -> None:
    """Take a task's consensus away: its annotation is soft-deleted (unless it became GT)."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, task.project_id)
    row = session.get(ConsensusResult, task_id)
    if row is None:
        raise NotFound(f"Task {task_id} has no consensus.")
    if row.annotation_id is not None:
        _retire(session, actor, row.annotation_id)
    session.delete(row)
    session.flush()


def _waiting(project_id: int) -> Select[tuple[ConsensusResult]]:
    """The project's live tasks in the adjudication queue."""
    return (
        select(ConsensusResult)
        .join(Task, Task.id == ConsensusResult.task_id)
        .where(
            ConsensusResult.project_id == project_id,
            ConsensusResult.status == "adjudicate",
            Task.deleted_at.is_(None),
        )
    )


def waiting_count(session: Session, actor: Actor, project_id: int) -> int:
    """How many of the project's tasks wait for adjudication (one count query)."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    return session.scalar(select(func.count()).select_from(_waiting(project_id).subquery())) or 0


def next_to_adjudicate(session: Session, actor: Actor, project_id: int) -> tuple[Task | None, int]:
    """The waiting task with the lowest agreement first (ties: tied votes first, then id)."""
    remaining = waiting_count(session, actor, project_id)
    waiting = _waiting(project_id)
    row = session.scalars(
        waiting.order_by(
            ConsensusResult.agreement, ConsensusResult.tied.desc(), ConsensusResult.task_id
        ).limit(1)
    ).first()
    return (session.get(Task, row.task_id) if row else None), remaining


def adjudicate(session: Session, actor: Actor, task_id: int, result: Any) -> Annotation:
    """The lead's result for a task in the queue becomes its GT (a new annotation by them)."""
    task = session.get(Task, task_id)
    if task is None or task.deleted_at is not None:
        raise NotFound(f"Task {task_id} not found.")
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, task.project_id)
    row = session.get(ConsensusResult, task_id)
    if row is None or row.status != "adjudicate":
        raise Conflict(f"Task {task_id} is not waiting for adjudication.")
    if result is None:
        raise Invalid.field("result", "is required: the adjudicated regions")
    checked = checked_result(result, label_config_of_project(session, task.project_id), "result")
    ann = add_annotation(session, actor, task, checked)
    make_ground_truth(session, actor, ann)
    row.status = "adjudicated"
    row.adjudicated_by_id = actor.id
    row.adjudicated_at = utcnow()
    session.flush()
    return ann
