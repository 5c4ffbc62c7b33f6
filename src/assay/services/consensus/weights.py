"""How much each annotator's work counts: accuracy against GT as it stood at the start of the
merge, or Dawid-Skene over every shared region and Choices answer; estimated once per merge."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.metrics.consensus import (
    cluster_regions,
    reliability_weights,
)
from assay.metrics.consensus.weights import cluster_label_rows, label_weights
from assay.services import quality
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import ANNOTATOR_WORK
from assay.services.consensus.inputs import (
    CHUNK,
    ChoiceVotes,
    MergeSettings,
    TaskInput,
    merge_choices,
    read_inputs,
)
from assay.store.models import Annotation


@dataclass(frozen=True)
class Estimate:
    """What one merge holds fixed over all its tasks, estimated before its first batch, so the
    result of a task does not depend on which batch it fell in: the annotators' vote weights
    (None: uniform) and, for Dawid-Skene, each task's Choices votes."""

    weights: dict[int, float] | None = None
    choices: dict[int, ChoiceVotes] | None = None


def annotator_accuracy(session: Session, actor: Actor, project_id: int) -> dict[int, float]:
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
        accuracy = annotator_accuracy(session, actor, project_id)
        w = reliability_weights([accuracy.get(a, math.nan) for a in order])
        return Estimate(weights={a: float(x) for a, x in zip(order, w, strict=True)})
    column: dict[int, int] = {}
    code: dict[Any, int] = {}
    blocks: list[tuple[np.ndarray, list[int]]] = []
    voters: list[TaskInput] = []
    for i in range(0, len(task_ids), CHUNK):
        for item in read_inputs(session, task_ids[i : i + CHUNK]):
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
                voters.append(TaskInput(item.task, item.annotator_ids, [], item.choices))
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
    votes = merge_choices(voters, "dawid_skene", {})
    return Estimate(weights, {v.task.id: vote for v, vote in zip(voters, votes, strict=True)})
