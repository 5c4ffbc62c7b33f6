"""Tasks, annotations and predictions as Label Studio JSON: the shape the API answers and the
JSON export writes, so the two cannot disagree.

What the actor is shown about ground truth follows `access.sees_ground_truth`; the ids, times
and local media URLs of the tasks of an annotator's jobs are those `task_aliases.SeenTasks`
gives (an alias, the job's creation, `media.opaque_data`); times are ISO-8601 in UTC with a
trailing "Z".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from assay.services.access import Actor, sees_ground_truth, shows_annotation_details
from assay.services.ground_truth import AnswerKeyEntry
from assay.services.task_aliases import AS_THEY_ARE, SeenTasks
from assay.services.tasks.media import opaque_data
from assay.store.models import Annotation, Prediction, Task


@dataclass(frozen=True)
class ShownTask:
    """What of a task's identity a reader sees: its id, data and times (`task_aliases`)."""

    id: int
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def shown(t: Task, seen: SeenTasks = AS_THEY_ARE) -> ShownTask:
    """The task as `seen` shows it: by alias, with its job's times and opaque local media, to
    an annotator of its job; as it is to everyone else."""
    shown_id = seen.id_of(t.id)
    if shown_id == t.id:
        return ShownTask(t.id, t.data, t.created_at, t.updated_at)
    at = seen.time_of(t.id, t.created_at)
    return ShownTask(shown_id, opaque_data(t.data, shown_id), at, at)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def annotation(
    a: Annotation,
    actor: Actor,
    result: list[Any] | None = None,
    ground_truth: bool | None = None,
    seen: SeenTasks = AS_THEY_ARE,
) -> dict[str, Any]:
    """An annotation; `result`/`ground_truth` override the row's (an older answer key's state);
    its task as `seen` names it (the alias of the annotation's job, else of the reader's)."""
    out: dict[str, Any] = {
        "id": a.id,
        "task": seen.id_of(a.task_id, a.job_id),
        "project": a.project_id,
        "job": a.job_id,
        "completed_by": a.completed_by_id,
        # annotation (a person's work) | consensus (merged from several; counts for nobody)
        "kind": "consensus" if a.kind == "consensus" else "annotation",
        "result": a.result,
        "was_cancelled": a.was_cancelled,
        "skip_reason": a.skip_reason,
        "lead_time": a.lead_time,
        "active_time": a.active_time,
        "revision": a.revision,
        "review_status": a.review_status,
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "updated_by": a.updated_by_id,
    }
    if not shows_annotation_details(actor, a):
        # A co-assignee's annotation in a shared project: the author's own work, with the same
        # keys as any annotation but nothing of its review, revisions or time.
        out |= {
            "result": a.work_result,
            "skip_reason": None,
            "lead_time": None,
            "active_time": None,
            "revision": None,
            "review_status": None,
            "updated_at": out["created_at"],
            "updated_by": a.completed_by_id,
        }
    if sees_ground_truth(actor):
        out["ground_truth"] = a.ground_truth if ground_truth is None else ground_truth
    if result is not None:
        out["result"] = result
    return out


def prediction(p: Prediction, seen: SeenTasks = AS_THEY_ARE) -> dict[str, Any]:
    return {
        "id": p.id,
        "task": seen.id_of(p.task_id),
        "project": p.project_id,
        "model_version": p.model_version,
        "score": p.score,
        "result": p.result,
        "model": None,
        "model_run": None,
        "created_at": iso(seen.time_of(p.task_id, p.created_at)),
        "updated_at": iso(seen.time_of(p.task_id, p.updated_at)),
    }


def people_work(annotations: list[Annotation]) -> tuple[list[Annotation], list[Annotation]]:
    """(counted, live): a task's annotations that are someone's work (not a consensus, a merge
    of others'), and those of them not skipped: what `total_annotations` counts."""
    counted = [a for a in annotations if a.kind != "consensus"]
    return counted, [a for a in counted if not a.was_cancelled]


def task(
    t: Task,
    actor: Actor,
    annotations: list[Annotation] | None = None,
    predictions: list[Prediction] | None = None,
    seen: SeenTasks = AS_THEY_ARE,
) -> dict[str, Any]:
    """A task as `seen` shows it (`shown`)."""
    annotations = annotations or []
    predictions = predictions or []
    counted, live = people_work(annotations)
    me = shown(t, seen)
    out = {
        "id": me.id,
        "project": t.project_id,
        "data": me.data,
        "meta": t.meta,
        "width": t.width,
        "height": t.height,
        "created_at": iso(me.created_at),
        "updated_at": iso(me.updated_at),
        "is_labeled": bool(live),
        "overlap": 1,
        "total_annotations": len(live),
        "cancelled_annotations": len(counted) - len(live),
        "total_predictions": len(predictions),
        "annotators": [
            {"user_id": uid}
            for uid in sorted({a.completed_by_id for a in annotations if a.completed_by_id})
        ],
        "annotations": [annotation(a, actor, seen=seen) for a in annotations],
        "predictions": [prediction(p, seen) for p in predictions],
        "drafts": [],
        "file_upload": None,
    }
    if sees_ground_truth(actor):
        out["ground_truth"] = any(a.ground_truth for a in annotations)
        out["gt_status"] = t.gt_status
        out["done_at"] = iso(t.done_at)
        out["done_by"] = t.done_by_id
    return out


ExportRow = Callable[
    [Task, list[Annotation], list[Prediction], AnswerKeyEntry | None], dict[str, Any]
]


def export_row(actor: Actor, prediction_ids: bool = False) -> ExportRow:
    """The exported task of Label Studio JSON: the task with its annotations and predictions,
    or, for an answer key entry, with only its GT annotation as of the key's revision.

    `prediction_ids`: predictions as their ids only (Label Studio's `predictions.only_id`
    serialization option of export snapshots)."""

    def row(
        t: Task, anns: list[Annotation], preds: list[Prediction], key: AnswerKeyEntry | None
    ) -> dict[str, Any]:
        if key is None:
            out = task(t, actor, anns, preds)
            if prediction_ids:
                out["predictions"] = [p.id for p in preds]
            return out
        out = task(t, actor, anns[:1], [])  # labeled, by the GT's author, like any task
        out["annotations"] = [annotation(anns[0], actor, result=key.result, ground_truth=True)]
        out["annotations"][0]["revision"] = key.revision
        out["ground_truth"] = True
        return out

    return row
