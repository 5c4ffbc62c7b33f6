"""Suspects from people: a reviewer's "GT error" decision on a group of conflicts (conflict
diagnosis, services.quality.diagnosis) names the group's tasks; each stays a suspect, ranked at
the top, until its GT changes after the decision, the group gets a later decision, or the lead
dismisses it (it comes back only with a new decision)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.suspects.evidence import Suspect, digest
from assay.store.diagnosis_models import ConflictDecision
from assay.store.models import Annotation, GroundTruthChange, Task, User

KIND = "gt_error"
SCORE = 1.0  # a person looked and said the GT is wrong: above every computed score's doubt


def _standing(session: Session, project_id: int) -> list[ConflictDecision]:
    """The project's gt_error decisions still standing: each group's latest decision."""
    latest: dict[str, ConflictDecision] = {}
    for d in session.scalars(
        select(ConflictDecision)
        .where(ConflictDecision.project_id == project_id)
        .order_by(ConflictDecision.id)
    ):
        latest[d.group_key] = d
    return [d for d in latest.values() if d.decision == KIND]


def _gt_regions(conflict_ids: list[Any], task_of: dict[int, int]) -> dict[int, set[str]]:
    """Task -> the GT region ids the decided conflicts name (annotation:kind:GT region:region;
    "#label" where the GT side has no region)."""
    out: dict[int, set[str]] = defaultdict(set)
    for cid in conflict_ids:
        parts = str(cid).split(":")
        if len(parts) < 4 or not parts[0].isdigit() or int(parts[0]) not in task_of:
            continue
        if parts[2] and not parts[2].startswith("#"):
            out[task_of[int(parts[0])]].add(parts[2])
    return out


def reviewer_suspects(session: Session, project_id: int) -> list[Suspect]:
    """One suspect per GT task that a standing gt_error decision names and whose GT has not
    changed since: evidence is the decisions (group, note, who, when, the GT regions named)."""
    standing = _standing(session, project_id)
    if not standing:
        return []
    named = {int(t) for d in standing for t in d.task_ids}
    gts = dict(
        session.execute(
            select(Annotation.task_id, Annotation.id)
            .join(Task, Task.id == Annotation.task_id)
            .where(
                Annotation.task_id.in_(named),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
                Task.deleted_at.is_(None),
            )
        ).all()
    )
    last_change = dict(
        session.execute(
            select(GroundTruthChange.task_id, func.max(GroundTruthChange.changed_at))
            .where(GroundTruthChange.task_id.in_(named))
            .group_by(GroundTruthChange.task_id)
        ).all()
    )
    annotations = {int(str(c).split(":")[0]) for d in standing for c in d.conflicts
                   if str(c).split(":")[0].isdigit()}  # fmt: skip
    task_of = dict(
        session.execute(
            select(Annotation.id, Annotation.task_id).where(Annotation.id.in_(annotations))
        ).all()
    )
    emails = dict(
        session.execute(
            select(User.id, User.email).where(User.id.in_({d.decided_by_id for d in standing}))
        ).all()
    )
    per_task: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for d in standing:
        regions = _gt_regions(d.conflicts, task_of)
        for t in sorted({int(t) for t in d.task_ids}):
            changed = last_change.get(t)
            if t not in gts or (changed is not None and changed > d.decided_at):
                continue  # no GT to suspect, or it was changed after the decision
            per_task[t].append(
                {"decision_id": d.id, "group": d.group_key, "note": d.note,
                 "decided_by": d.decided_by_id, "email": emails.get(d.decided_by_id, ""),
                 "decided_at": d.decided_at.isoformat(),
                 "gt_regions": sorted(regions.get(t, ()))}
            )  # fmt: skip
    return [
        Suspect(
            task_id=t,
            key=f"{t}-gterror-{digest(KIND, t)[:10]}",  # the shape every suspect key has
            kind=KIND,
            gt_annotation_id=gts[t],
            region_id=None,
            score=SCORE,
            annotator_score=None,
            model_score=None,
            evidence={
                "gt_region": None,
                "n_annotators": 0,
                "annotators": [],
                "disagreeing": [],
                "model": None,
                "suggested": {},
                "reviewer_decisions": decisions,
            },
            fingerprint=digest(KIND, sorted(x["decision_id"] for x in decisions)),
        )
        for t, decisions in sorted(per_task.items())
    ]
