"""An annotator's answers on a job's honeypots scored against GT, and the hints they get: kinds
of mistakes and labels in plain words, never the GT, a task or a position."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.regions import RegionError
from assay.metrics.scoring import (
    RegionConflict,
    accuracies,
    conflicts_of,
    regions_of,
    score_result,
)
from assay.services.annotator_work import answer_order
from assay.services.projects import quality_settings_of
from assay.store.models import (
    Annotation,
    JobTask,
    Project,
    Task,
)

MAX_HINTS = 3


def score_answers(
    session: Session, project: Project, job_id: int, user_id: int
) -> tuple[float | None, list[list[Any]], list[str]]:
    """Mean accuracy of the user's answers on the job's honeypots (None without any), the
    per-task accuracies, and the hints. A skipped honeypot counts as an empty answer."""
    tasks = {
        t.id: t
        for t in session.scalars(
            select(Task)
            .join(JobTask, JobTask.task_id == Task.id)
            .where(
                JobTask.job_id == job_id, JobTask.is_honeypot.is_(True), Task.deleted_at.is_(None)
            )
        )
    }
    if not tasks:
        return None, [], []
    gts = {
        a.task_id: a
        for a in session.scalars(
            select(Annotation).where(
                Annotation.task_id.in_(tasks),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    }
    answers: dict[int, Annotation] = {}
    for a in session.scalars(
        select(Annotation)
        .where(
            Annotation.task_id.in_(tasks),
            Annotation.completed_by_id == user_id,
            Annotation.deleted_at.is_(None),
            Annotation.kind == "manual",
        )
        .order_by(*answer_order(job_id))
    ):
        answers[a.task_id] = a  # the one that counts for the job (annotator_work.work_on)
    settings = quality_settings_of(project)
    details: list[list[Any]] = []
    conflicts: list[tuple[RegionConflict, dict[str, float], dict[str, float]]] = []
    for task_id in sorted(tasks):
        gt = gts.get(task_id)
        if gt is None:
            continue  # its GT was unset since: it can't be scored
        task = tasks[task_id]
        ans = answers.get(task_id)
        result = ans.work_result if ans is not None and not ans.was_cancelled else []
        try:
            g = regions_of(gt.result, task.width, task.height)
            s = regions_of(result, task.width, task.height)
        except RegionError:
            continue
        acc = float(accuracies([score_result(g, s, settings)], settings.summary)[0])
        details.append([task_id, round(acc, 6)])
        gt_areas, areas = _box_areas(gt.result), _box_areas(result)
        conflicts += [(c, gt_areas, areas) for c in conflicts_of(g, s, settings)]
    if not details:
        return None, [], []
    score = sum(a for _, a in details) / len(details)
    return score, details, hints_of(conflicts)


def _box_areas(result: list[Any]) -> dict[str, float]:
    out = {}
    for r in result:
        v = r.get("value") or {}
        if r.get("type") == "rectanglelabels" and "width" in v and "height" in v and "id" in r:
            out[str(r["id"])] = float(v["width"]) * float(v["height"])
    return out


def hints_of(
    conflicts: list[tuple[RegionConflict, dict[str, float], dict[str, float]]],
) -> list[str]:
    """Up to three plain-word hints, the most frequent kind of mistake first.

    Each entry is a conflict with the GT's and the answer's box areas by region id (to tell a
    loose box from a tight one). The hints name kinds of mistakes and labels, never a task,
    a region or a position.
    """
    found: Counter[str] = Counter()
    for c, gt_areas, areas in conflicts:
        if c.kind == "missing":
            found["Missed objects: some objects were not labeled."] += 1
        elif c.kind == "extra":
            found["Extra regions: some regions mark no object."] += 1
        elif c.kind == "duplicate":
            found["Duplicates: the same object was labeled more than once."] += 1
        elif c.kind == "label_mismatch":
            found[f"Confused {c.gt_label} with {c.label}."] += 1
        elif c.kind == "low_overlap":
            g, a = gt_areas.get(str(c.gt_region)), areas.get(str(c.region))
            if g is not None and a is not None:
                word = (
                    "loose: include less background" if a > g else "tight: include the whole object"
                )
                found[f"Boxes too {word}."] += 1
            else:
                found["Regions off the object: follow its outline more closely."] += 1
    return [text for text, _ in found.most_common(MAX_HINTS)]
