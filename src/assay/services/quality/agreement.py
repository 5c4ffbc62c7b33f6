"""Agreement between annotators: the stored `Task.agreement` (which the review stream sorts by),
and task and project agreement read on demand; all pair each annotator's latest work
(`services.annotator_work`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm import Session

from assay.formats.regions import RegionError
from assay.metrics.scoring import (
    mean_pairwise_accuracy,
    regions_of,
    score_result,
)
from assay.services.access import Action, Actor, authorize
from assay.services.annotator_work import ANNOTATOR_WORK, latest_by_annotator
from assay.services.projects import quality_settings_of
from assay.services.tasks.visibility import get_task
from assay.store.models import Annotation, Project, Task

CHUNK = 2000  # tasks per query

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


@dataclass(frozen=True)
class TaskAgreement:
    annotations: list[Annotation]  # the GT (if any) first, then the others by id
    matrix: list[list[float | None]]  # accuracy of column j against row i as reference
    agreement: float | None  # mean pairwise accuracy between the annotators' latest work


def task_agreement(session: Session, actor: Actor, task_id: int) -> TaskAgreement:
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
    authored = set(  # annotations that count as their author's work, the starred GT too
        session.scalars(select(Annotation.id).where(Annotation.task_id == task.id, *ANNOTATOR_WORK))
    )
    regions = [  # the GT and a consensus as they stand; annotators' own work (`work_result`)
        regions_of(a.work_result if a.kind == "manual" and not a.ground_truth else a.result,
                   task.width, task.height)
        for a in anns
    ]  # fmt: skip

    def own_regions(a: Annotation) -> Any:
        return regions_of(a.work_result, task.width, task.height)

    n = len(anns)
    matrix: list[list[float | None]] = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j:
                acc = float(score_result(regions[i], regions[j], settings).counts.accuracy)
                matrix[i][j] = round(acc, 6)
    work = latest_by_annotator(  # the author's own result, also of a starred GT
        (task.id, a.completed_by_id, r if not a.ground_truth else own_regions(a))
        for a, r in sorted(zip(anns, regions, strict=True), key=lambda ar: ar[0].id)
        if a.id in authored
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

    Computed on request over the tasks with two or more annotators' work: those with a
    `Task.agreement` (kept with every label change by `refresh_agreement`, under the same rule),
    so a project of a million singly annotated tasks reads none of their annotations.
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
        .where(
            Annotation.project_id == project_id,
            *ANNOTATOR_WORK,
            Task.deleted_at.is_(None),
            Task.agreement.is_not(None),
        )
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
