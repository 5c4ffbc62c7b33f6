"""What the data manager (a project's task table) shows beyond the task page itself.

The header counts, the Ground Truth column, the Accuracy and Agreement columns and the Review
and Reviewers columns, each decided here for the actor: annotators never learn which tasks
have ground truth or are done, so they get None for those, and never see quality or reviews.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services import authors, honeypots, review
from assay.services.access import Action, Actor, authorize, sees_ground_truth
from assay.services.tasks import counts_seen_by
from assay.store.models import Annotation, Honeypot, QualityScore, Task, User


@dataclass(frozen=True)
class TableHeader:
    """A project's counts as one actor may see them.

    `annotations` counts only the actor's own for annotators. The GT fields are None for
    actors who may not see ground truth.
    """

    tasks: int
    annotations: int
    predictions: int
    ground_truth: int | None = None  # tasks with a GT annotation
    done: int | None = None  # tasks whose GT stage finished with regions
    empty: int | None = None  # tasks whose GT stage finished empty

    @property
    def coverage(self) -> float | None:
        """Percent of tasks with GT, in [0, 100]; 0 for a project without tasks."""
        if self.ground_truth is None:
            return None
        return 100 * self.ground_truth / self.tasks if self.tasks else 0.0


@dataclass(frozen=True)
class GroundTruthCell:
    """A task's GT annotation and who made it."""

    annotation_id: int
    author_id: int | None
    author_email: str | None


def table_header(session: Session, actor: Actor, project_id: int) -> TableHeader:
    """The counts over a project's live tasks; for annotators over what they may see."""
    authorize(session, actor, Action.PROJECT_VIEW, project_id)
    counts = counts_seen_by(session, actor, [project_id])[project_id]
    tasks, annotations = counts.task_number, counts.total_annotations_number
    predictions = counts.total_predictions_number
    if not sees_ground_truth(actor):
        return TableHeader(tasks, annotations, predictions)
    return TableHeader(
        tasks=tasks,
        annotations=annotations,
        predictions=predictions,
        ground_truth=counts.ground_truth_number,
        done=counts.done_number,
        empty=counts.empty_number,
    )


def ground_truth_cells(
    session: Session, actor: Actor, project_id: int, task_ids: list[int]
) -> dict[int, GroundTruthCell]:
    """The GT annotation and its author's email for each of the tasks that has one.

    One query whatever the number of tasks. Raises Forbidden for actors who may not see GT.
    """
    authorize(session, actor, Action.GROUND_TRUTH_VIEW, project_id)
    if not task_ids:
        return {}
    stmt = (
        select(Annotation.task_id, Annotation.id, Annotation.completed_by_id, User.email)
        .outerjoin(User, User.id == Annotation.completed_by_id)
        .where(
            Annotation.project_id == project_id,
            Annotation.task_id.in_(task_ids),
            Annotation.ground_truth.is_(True),
            Annotation.deleted_at.is_(None),
        )
    )
    return {t: GroundTruthCell(a, uid, email) for t, a, uid, email in session.execute(stmt)}


@dataclass(frozen=True)
class HoneypotCell:
    """A task in the honeypot pool: its difficulty, set by a lead or derived."""

    difficulty: str
    derived: bool  # not set by a lead: from annotators' past accuracy on it


def honeypot_cells(
    session: Session, actor: Actor, project_id: int, task_ids: list[int]
) -> dict[int, HoneypotCell]:
    """The tasks of `task_ids` in the project's honeypot pool (not removed, not retired).

    Two queries whatever the number of tasks. Raises Forbidden for actors who may not know
    which tasks are honeypots (annotators).
    """
    authorize(session, actor, Action.HONEYPOTS_VIEW, project_id)
    if not task_ids:
        return {}
    rows = dict(
        session.execute(
            select(Honeypot.task_id, Honeypot.difficulty).where(
                *honeypots.active_honeypots(project_id), Honeypot.task_id.in_(task_ids)
            )
        ).all()
    )
    derived = honeypots.derived_difficulties(session, [t for t, d in rows.items() if d is None])
    return {t: HoneypotCell(d or derived[t], d is None) for t, d in rows.items()}


@dataclass(frozen=True)
class QualityCell:
    """A task's quality in the table; None where there is nothing to compute."""

    accuracy: float | None  # mean accuracy of its scored annotations against its GT
    agreement: float | None  # mean pairwise accuracy between its annotations (two or more)


def quality_cells(
    session: Session, actor: Actor, project_id: int, task_ids: list[int]
) -> dict[int, QualityCell]:
    """Accuracy and agreement of each of the tasks, for actors who may view quality.

    Two queries whatever the number of tasks: the mean stored score per task, and the tasks'
    stored agreement (kept current by `quality.refresh_agreement`).
    Raises Forbidden for actors who may not view quality.
    """
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    if not task_ids:
        return {}
    accuracy: dict[int, float] = {
        t: float(mean)
        for t, mean in session.execute(
            select(QualityScore.task_id, func.avg(QualityScore.accuracy))
            .where(
                QualityScore.project_id == project_id,
                QualityScore.task_id.in_(task_ids),
                QualityScore.subject_kind == "annotation",
            )
            .group_by(QualityScore.task_id)
        )
        if mean is not None
    }
    agreement: dict[int, float] = {
        t: a
        for t, a in session.execute(
            select(Task.id, Task.agreement).where(
                Task.id.in_(task_ids), Task.agreement.is_not(None)
            )
        )
    }
    return {
        t: QualityCell(accuracy.get(t), agreement.get(t))
        for t in task_ids
        if t in accuracy or t in agreement
    }


@dataclass(frozen=True)
class ReviewCell:
    """A task's review state: its annotations by review status, and its reviewers' emails.

    Counts are over live, non-cancelled, non-GT annotations (what the review stream offers);
    `assigned` are the reviewers assigned to the task, `reviewed` those with a standing review
    of one of its annotations.
    """

    accepted: int = 0
    fixed: int = 0
    rejected: int = 0
    pending: int = 0  # not reviewed yet
    assigned: list[str] = field(default_factory=list)
    reviewed: list[str] = field(default_factory=list)

    @property
    def reviewable(self) -> int:
        return self.accepted + self.fixed + self.rejected + self.pending


def review_cells(
    session: Session,
    actor: Actor,
    project_id: int,
    task_ids: list[int],
    annotations: dict[int, list[Annotation]],
) -> dict[int, ReviewCell]:
    """The Review and Reviewers cells of the tasks, for actors who may review.

    `annotations` are the tasks' live annotations as the page already loaded them
    (views.task_list.list_tasks), so the statuses cost no query; the reviewers cost three (assigned,
    reviewed, their emails) whatever the number of tasks. Raises Forbidden for annotators.
    """
    authorize(session, actor, Action.REVIEW, project_id)
    people = review.reviewers_of(session, task_ids)
    emails = authors.emails_of(
        session, {u for r in people.values() for u in (*r.assigned, *r.reviewed)}
    )

    def named(ids: list[int]) -> list[str]:
        return sorted(emails.get(u, f"user {u}") for u in ids)

    out: dict[int, ReviewCell] = {}
    for task_id in task_ids:
        statuses = Counter(
            a.review_status
            for a in annotations.get(task_id, [])
            if not a.was_cancelled
            and not a.ground_truth
            and a.deleted_at is None
            and a.kind == "manual"  # a consensus result is not reviewed
        )
        who = people.get(task_id)
        out[task_id] = ReviewCell(
            accepted=statuses["accepted"],
            fixed=statuses["fixed"],
            rejected=statuses["rejected"],
            pending=statuses["none"],
            assigned=named(who.assigned) if who else [],
            reviewed=named(who.reviewed) if who else [],
        )
    return out
