"""What counts as an annotator's work on a task, and which of it agreement compares.

One rule for every view that compares annotators (the stored `tasks.agreement`, the task and
project agreement views, the dashboard, consensus): each annotator's **latest** live annotation
of the task that was made by hand, is not cancelled and is not an answer key made as one (a
GT annotation someone else starred stays its author's work: `AUTHORS_WORK`). An annotator's earlier
attempts are not a second opinion, so two annotations by one person never make a pair.

And one rule for what counts as work on a task of a job (`work_on`), which the queue, job
progress, My work and the hand-in share: a person's live annotation of the task, however it was
made -- inside this job (the annotate page sends `"job"`), inside another job, or through the
Label Studio API without any job. A skipped task (a cancelled annotation) is worked on but not
annotated. Consensus results are nobody's work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import case, or_, select

from assay.store.models import Annotation, GroundTruthChange, JobAssignee

T = TypeVar("T")

# An annotation that counts as one in annotation counts (projects, task lists, the Data
# Manager's total_annotations): a person's work, not a consensus result (a merge of others').
COUNTED = Annotation.kind == "manual"

# The GT annotation stays its author's work when someone else made it the GT (a lead starring
# an annotator's annotation, or picking it in bulk): it still counts as hers in counts,
# scorecards and agreement. An annotation its author made the GT (the GT stage's Done,
# adjudication, a lead starring her own) is the answer key only.
_STARRED_BY_SOMEONE_ELSE = (
    select(GroundTruthChange.id)
    .where(
        GroundTruthChange.task_id == Annotation.task_id,
        GroundTruthChange.to_annotation_id == Annotation.id,
        GroundTruthChange.changed_by_id.is_distinct_from(Annotation.completed_by_id),
    )
    .exists()
)
AUTHORS_WORK = or_(Annotation.ground_truth.is_(False), _STARRED_BY_SOMEONE_ELSE)

# Live annotations that stand for an annotator's work: not deleted, not cancelled, made by
# hand (a consensus annotation is a merge of others' work), and not an answer key made as one
# (`AUTHORS_WORK`): what agreement, consensus and counts compare.
ANNOTATOR_WORK = (
    Annotation.deleted_at.is_(None),
    Annotation.was_cancelled.is_(False),
    COUNTED,
    AUTHORS_WORK,
)

# The same, without the GT: what is scored against the GT and what reviewers get.
SCORED_WORK = (
    Annotation.deleted_at.is_(None),
    Annotation.was_cancelled.is_(False),
    Annotation.ground_truth.is_(False),
    COUNTED,
)


def latest_by_annotator(rows: Iterable[tuple[int, int | None, T]]) -> dict[int, dict[int, T]]:
    """task id -> annotator id -> their latest item, from (task, annotator, item) rows.

    Rows must come in annotation id order (later rows win). Annotations without an author
    (their user was removed) are nobody's opinion and are left out. Annotators are listed in
    id order, so results do not depend on who edited last.
    """
    by_task: dict[int, dict[int, T]] = {}
    for task_id, user_id, item in rows:
        if user_id is not None:
            by_task.setdefault(task_id, {})[user_id] = item
    return {t: dict(sorted(per.items())) for t, per in by_task.items()}


def work_on(task_id: Any, job_id: Any, user_id: Any = None, *, skipped: bool = True) -> Any:
    """EXISTS: the task has work that counts for the job (module docstring).

    `task_id` and `job_id` are columns or values (e.g. `JobTask.task_id`, `JobTask.job_id`).
    With `user_id`, that person's work; without, anyone's made in the job or any assignee's.
    `skipped=False` leaves skipped tasks out (they are worked on, not annotated).
    """
    if user_id is not None:
        whose: Any = Annotation.completed_by_id == user_id
    else:
        assignees = select(JobAssignee.user_id).where(JobAssignee.job_id == job_id)
        whose = or_(Annotation.job_id == job_id, Annotation.completed_by_id.in_(assignees))
    where = [
        Annotation.task_id == task_id,
        Annotation.deleted_at.is_(None),
        Annotation.kind == "manual",
        whose,
    ]
    if not skipped:
        where.append(Annotation.was_cancelled.is_(False))
    return select(Annotation.id).where(*where).exists()


def answer_order(job_id: Any) -> tuple[Any, ...]:
    """ORDER BY for a person's annotations of one task, so that the last one is the answer
    that counts for the job (`work_on`): the latest made in the job, else their latest."""
    return (case((Annotation.job_id == job_id, 1), else_=0), Annotation.id)
