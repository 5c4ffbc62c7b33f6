"""What counts as an annotator's work on a task, and which of it agreement compares.

One rule for every view that compares annotators (the stored `tasks.agreement`, the task and
project agreement views, the dashboard, consensus): each annotator's **latest** live annotation
of the task that was made by hand, is not cancelled and is not the GT. An annotator's earlier
attempts are not a second opinion, so two annotations by one person never make a pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from assay.store.models import Annotation

T = TypeVar("T")

# Live annotations that stand for an annotator's work: not deleted, not cancelled, made by
# hand (a consensus annotation is a merge of others' work), not the answer key.
ANNOTATOR_WORK = (
    Annotation.deleted_at.is_(None),
    Annotation.was_cancelled.is_(False),
    Annotation.ground_truth.is_(False),
    Annotation.kind == "manual",
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
