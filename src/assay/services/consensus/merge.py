"""Merging: each task's annotations become one consensus annotation; clear tasks can become GT
at once, disputed ones wait for adjudication. Runs as a background job, chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.dataset import RegionRecord
from assay.formats.ls_convert import ls_controls, regions_to_ls_result
from assay.metrics.consensus import (
    merge_many,
)
from assay.services import background
from assay.services.access import Action, Actor, authorize
from assay.services.consensus.inputs import (
    CHUNK,
    WEIGHTINGS,
    ChoiceVotes,
    MergeSettings,
    TaskInput,
    merge_choices,
    read_inputs,
    tasks_to_merge,
)
from assay.services.consensus.weights import Estimate, annotator_accuracy, estimate
from assay.services.errors import Invalid
from assay.services.ground_truth import lock_tasks, record_changes
from assay.services.tasks import label_config_of_project
from assay.services.tasks.annotations import add_annotation, soft_delete
from assay.store.db import Database
from assay.store.models import Annotation, ConsensusResult
from assay.store.types import utcnow

MERGE_KIND = "consensus.merge"  # the background job kind of merge_job


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
    inputs = list(read_inputs(session, task_ids))
    counts = {"merged": 0, "adjudicate": 0, "accepted": 0, "skipped": len(task_ids) - len(inputs)}
    if not inputs:
        return counts
    results, votes = _merge(session, actor, project_id, inputs, settings, fixed)
    config = label_config_of_project(session, project_id)
    controls = ls_controls(config)
    lock_tasks(session, [i.task.id for i in inputs])
    for item, result, vote in zip(inputs, results, votes, strict=True):
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


def _merge(
    session: Session,
    actor: Actor,
    project_id: int,
    inputs: list[TaskInput],
    settings: MergeSettings,
    fixed: Estimate | None,
) -> tuple[list[Any], list[ChoiceVotes]]:
    """Each task's merged regions and Choices votes, stored nowhere."""
    accuracy = None
    if settings.weighting == "accuracy" and fixed is None:
        accuracy = annotator_accuracy(session, actor, project_id)
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
        votes = [fixed.choices.get(i.task.id, ChoiceVotes({})) for i in inputs]
    else:
        votes = merge_choices(inputs, settings.weighting, merged.weights)
    return list(merged.results), votes


def _outcome(
    item: TaskInput, result: Any, vote: ChoiceVotes, settings: MergeSettings
) -> tuple[str, float, bool]:
    """A task's status after a merge (merged | adjudicate | accepted, before checking that the
    task has no GT yet), its consensus support and whether a vote tied.

    Consensus support: the box consensus support when any annotator drew a box, the support of
    the winning class for each Choices control, averaged; a tied box label or class vote is a
    tie. Under `adjudicate_below`, or tied: adjudicate.
    """
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
    return status, agreement, tied


def preview(
    session: Session,
    actor: Actor,
    project_id: int,
    settings: MergeSettings,
    task_ids: Any = None,
    job_id: Any = None,
) -> dict[str, dict[str, int]]:
    """What a merge with these settings would do under each weighting, storing nothing: per
    weighting, the tasks it would merge, send to adjudication (and of those, tied), and
    auto-accept as GT (before checking that a task has no GT yet)."""
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    ids = tasks_to_merge(session, actor, project_id, task_ids, job_id)
    out: dict[str, dict[str, int]] = {}
    for weighting in WEIGHTINGS:
        each = replace(settings, weighting=weighting)
        fixed = estimate(session, actor, project_id, ids, each)
        counts = {"tasks": 0, "merged": 0, "adjudicate": 0, "tied": 0, "accepted": 0}
        for i in range(0, len(ids), CHUNK):
            inputs = list(read_inputs(session, ids[i : i + CHUNK]))
            if not inputs:
                continue
            results, votes = _merge(session, actor, project_id, inputs, each, fixed)
            for item, result, vote in zip(inputs, results, votes, strict=True):
                status, _, tied = _outcome(item, result, vote, each)
                counts["tasks"] += 1
                counts[status] += 1
                counts["tied"] += tied
        out[weighting] = counts
    return out


def _store(
    session: Session,
    actor: Actor,
    item: TaskInput,
    result: Any,
    vote: ChoiceVotes,
    choice_items: list[dict[str, Any]],
    controls: Any,
    settings: MergeSettings,
    job_id: int | None,
) -> str:
    """Store one task's consensus and decide its status (`_outcome`)."""
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
        retire_consensus(session, actor, old.annotation_id)
    ann = add_annotation(session, actor, task, ls_result, job_id)
    ann.kind = "consensus"
    ann.completed_by_id = None
    status, agreement, tied = _outcome(item, result, vote, settings)
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


def retire_consensus(session: Session, actor: Actor, annotation_id: int) -> None:
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
    return background.submit(db, actor, MERGE_KIND, project_id, params)


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
