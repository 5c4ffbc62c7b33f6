"""The rework loop's figures per annotator, for the dashboard and the scorecard (#18).

Over the annotator's live annotations that have a review (not undone):
- first_pass_acceptance: the share accepted (accept or fix & accept standing) without any
  reject, in [0, 1];
- passes_per_accepted: over accepted annotations, the mean number of passes, 1 + the number of
  resubmissions (services.rework) it took;
- median_time_to_acceptance: over accepted annotations, the median of (the first standing
  accept) - (the annotation's creation), in seconds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.store.models import Annotation, AnnotationRevision, Review


@dataclass(frozen=True)
class ReworkFigures:
    reviewed: int  # annotations with a review
    first_pass_acceptance: float | None
    passes_per_accepted: float | None
    median_time_to_acceptance: float | None  # seconds


@dataclass
class _One:
    user_id: int
    created_at: datetime
    rejected: bool = False
    accepted_at: datetime | None = None


def rework_figures(session: Session, project_id: int) -> dict[int, ReworkFigures]:
    """The figures of every annotator with a reviewed annotation, in two queries. The caller
    authorizes (the dashboard)."""
    live = (
        Annotation.project_id == project_id,
        Annotation.deleted_at.is_(None),
        Annotation.ground_truth.is_(False),
        Annotation.kind == "manual",
        Annotation.completed_by_id.is_not(None),
    )
    anns: dict[int, _One] = {}
    for ann_id, user_id, created, action, at, superseded in session.execute(
        select(
            Annotation.id,
            Annotation.completed_by_id,
            Annotation.created_at,
            Review.action,
            Review.created_at,
            Review.superseded_at,
        )
        .join(Review, Review.annotation_id == Annotation.id)
        .where(*live, Review.undone_at.is_(None))
        .order_by(Review.id)
    ):
        one = anns.setdefault(ann_id, _One(user_id, created))
        if action == "reject":
            one.rejected = True
        elif superseded is None and one.accepted_at is None:
            one.accepted_at = at
    resubmissions = dict(
        session.execute(
            select(AnnotationRevision.annotation_id, func.count())
            .join(Annotation, Annotation.id == AnnotationRevision.annotation_id)
            .where(*live, AnnotationRevision.action == "resubmitted")
            .group_by(AnnotationRevision.annotation_id)
        ).all()
    )
    per_user: dict[int, list[tuple[int, _One]]] = defaultdict(list)
    for ann_id, one in anns.items():
        per_user[one.user_id].append((ann_id, one))
    return {user_id: _figures(rows, resubmissions) for user_id, rows in per_user.items()}


def _figures(rows: list[tuple[int, _One]], resubmissions: dict[int, int]) -> ReworkFigures:
    accepted = [(a, o) for a, o in rows if o.accepted_at is not None]
    first_pass = sum(1 for _, o in accepted if not o.rejected)
    passes = np.array([1 + resubmissions.get(a, 0) for a, _ in accepted], dtype=float)
    waits = np.array(
        [(o.accepted_at - o.created_at).total_seconds() for _, o in accepted if o.accepted_at],
        dtype=float,
    )
    return ReworkFigures(
        reviewed=len(rows),
        first_pass_acceptance=round(first_pass / len(rows), 6),
        passes_per_accepted=round(float(passes.mean()), 6) if passes.size else None,
        median_time_to_acceptance=round(float(np.median(waits)), 3) if waits.size else None,
    )
