"""The suspects of a project: refreshed from the current evidence, listed by task, confirmed
(the GT is fixed through the ordinary GT edit, with the reason in its history) or dismissed
(not suggested again until its evidence changes)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.services.suspects.evidence import compute
from assay.services.suspects.reviewer import reviewer_suspects
from assay.services.tasks.annotations import update_annotation
from assay.store.models import Annotation, GroundTruthChange
from assay.store.suspect_models import GtSuspect, GtSuspectDecision
from assay.store.types import utcnow

FLOOR = 0.3  # suspects below this combined score are not listed (nor stored)
MAX_REASON = 2000


@dataclass(frozen=True)
class TaskSuspects:
    task_id: int
    score: float  # the task's suspicion: its highest suspect's
    gt_annotation_id: int
    suspects: list[GtSuspect]


def refresh(session: Session, project_id: int) -> list[GtSuspect]:
    """Recompute the project's suspects (computed evidence and reviewers' "GT error"
    decisions) and store them in place of the previous ones; a suspect decided before with the
    same evidence (key and fingerprint) is left out."""
    decided = set(
        session.execute(
            select(GtSuspectDecision.key, GtSuspectDecision.fingerprint).where(
                GtSuspectDecision.project_id == project_id
            )
        )
    )
    found = reviewer_suspects(session, project_id) + compute(session, project_id, FLOOR)
    fresh = [s for s in found if (s.key, s.fingerprint) not in decided]
    session.execute(delete(GtSuspect).where(GtSuspect.project_id == project_id))
    now = utcnow()
    if fresh:
        session.execute(
            insert(GtSuspect),
            [
                {"project_id": project_id, "task_id": s.task_id, "key": s.key, "kind": s.kind,
                 "gt_annotation_id": s.gt_annotation_id, "region_id": s.region_id,
                 "score": s.score, "annotator_score": s.annotator_score,
                 "model_score": s.model_score, "evidence": s.evidence,
                 "fingerprint": s.fingerprint, "computed_at": now}
                for s in fresh
            ],
        )  # fmt: skip
    session.flush()
    return list(
        session.scalars(
            select(GtSuspect)
            .where(GtSuspect.project_id == project_id)
            .order_by(GtSuspect.score.desc(), GtSuspect.task_id, GtSuspect.key)
        )
    )


def list_suspects(
    session: Session, actor: Actor, project_id: int, page: int, page_size: int
) -> tuple[list[TaskSuspects], Page]:
    """Tasks with suspects, most suspicious first, each with its suspects highest first."""
    authorize(session, actor, Action.GROUND_TRUTH_VIEW, project_id)
    rows = refresh(session, project_id)
    by_task: dict[int, list[GtSuspect]] = {}
    for row in rows:
        by_task.setdefault(row.task_id, []).append(row)
    ranked = [TaskSuspects(t, rs[0].score, rs[0].gt_annotation_id, rs) for t, rs in by_task.items()]
    pg = page_of(page, page_size, len(ranked))
    return ranked[pg.offset : pg.offset + pg.size], pg


def authorize_view(session: Session, actor: Actor, project_id: int) -> None:
    """Leads, reviewers and admins see suspects (the GT's weak spots); annotators never."""
    authorize(session, actor, Action.GROUND_TRUTH_VIEW, project_id)


def _suspect(session: Session, actor: Actor, project_id: int, key: str) -> GtSuspect:
    authorize(session, actor, Action.GROUND_TRUTH_CHANGE, project_id)
    row = session.scalar(
        select(GtSuspect).where(GtSuspect.project_id == project_id, GtSuspect.key == key)
    )
    if row is None:
        raise NotFound(f"Suspect {key!r} not found (decided already, or its evidence is gone).")
    return row


def _reason(value: Any, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Invalid.field("reason", "is required: say why, in a sentence")
    if len(value) > MAX_REASON:
        raise Invalid.field("reason", f"must be at most {MAX_REASON} characters")
    return value.strip()


def _decide(
    session: Session, actor: Actor, row: GtSuspect, decision: str, reason: str,
    gt_revision: int | None,
) -> GtSuspectDecision:  # fmt: skip
    made = GtSuspectDecision(
        project_id=row.project_id, task_id=row.task_id, key=row.key, kind=row.kind,
        fingerprint=row.fingerprint, decision=decision, reason=reason, score=row.score,
        evidence=row.evidence, gt_revision=gt_revision, decided_by_id=actor.id,
        decided_at=utcnow(),
    )  # fmt: skip
    session.add(made)
    session.delete(row)
    session.flush()
    return made


def dismiss(
    session: Session, actor: Actor, project_id: int, key: str, reason: Any
) -> GtSuspectDecision:
    """The GT is right: record who, when and why; not suggested again until the evidence
    changes (a new fingerprint)."""
    row = _suspect(session, actor, project_id, key)
    return _decide(session, actor, row, "dismissed", _reason(reason, True), None)


def fixed_result(gt_result: list[Any], row: GtSuspect) -> list[Any]:
    """The GT result with the suspect's suggested fix applied: a spurious region left out, a
    swapped label replaced, a badly located box moved to the annotators' median box, a
    missing object added."""
    suggested = row.evidence.get("suggested") or {}
    if not suggested:  # e.g. a reviewer's "GT error": the lead says what is right
        raise Invalid.field("result", "no fix to suggest here: send the corrected result")
    out = copy.deepcopy(gt_result)
    if row.kind == "missing":
        add = suggested.get("add") or {}
        if not add.get("box") or not add.get("from_name") or not add.get("to_name"):
            raise Invalid.field("result", "no fix to suggest here: send the corrected result")
        out.append(
            {"id": uuid.uuid4().hex[:10], "type": "rectanglelabels",
             "from_name": add["from_name"], "to_name": add["to_name"],
             "value": {**add["box"], "rotation": 0, "rectanglelabels": [add["label"]]}}
        )  # fmt: skip
        return out
    regions = [i for i, r in enumerate(out) if isinstance(r, dict) and r.get("id") == row.region_id]
    if not regions:
        raise Invalid.field("result", "the GT region is gone: send the corrected result")
    if row.kind == "spurious":
        return [r for i, r in enumerate(out) if i not in regions]
    for i in regions:
        value = out[i].setdefault("value", {})
        if row.kind == "swapped" and suggested.get("label"):
            kind = out[i].get("type", "rectanglelabels")
            value[kind if kind.endswith("labels") else "rectanglelabels"] = [suggested["label"]]
        elif row.kind == "badloc" and suggested.get("box"):
            value.update(suggested["box"])
            value["rotation"] = 0
        else:
            raise Invalid.field("result", "no fix to suggest here: send the corrected result")
    return out


def confirm(
    session: Session,
    actor: Actor,
    project_id: int,
    key: str,
    reason: Any = None,
    result: Any = None,
) -> tuple[GtSuspectDecision, Annotation]:
    """The GT is wrong: fix it through the ordinary GT edit (a new revision, rescoring of
    every score that depended on it) with `result`, or the suggested fix when None; the GT
    history's entry says "suspect confirmed: <kind> ... <reason>"."""
    row = _suspect(session, actor, project_id, key)
    why = _reason(reason, False)
    gt = session.get(Annotation, row.gt_annotation_id)
    if gt is None or gt.deleted_at is not None or not gt.ground_truth:
        raise NotFound(f"Suspect {key!r} not found (its GT changed since).")
    if result is not None and not isinstance(result, list):
        raise Invalid.field("result", "must be a list of Label Studio result items")
    new = fixed_result(gt.result, row) if result is None else result
    before = gt.revision
    fixed = update_annotation(session, actor, gt.id, result=new)
    note = (
        f"suspect confirmed: {row.kind}"
        + (f" region {row.region_id}" if row.region_id else "")
        + (f": {why}" if why else "")
    )
    if fixed.revision != before:
        change = session.scalar(
            select(GroundTruthChange)
            .where(GroundTruthChange.task_id == gt.task_id, GroundTruthChange.action == "edited")
            .order_by(GroundTruthChange.id.desc())
            .limit(1)
        )
        if change is not None:
            change.note = note
    return _decide(session, actor, row, "confirmed", why, fixed.revision), fixed


def decisions(
    session: Session, actor: Actor, project_id: int, page: int, page_size: int
) -> tuple[list[GtSuspectDecision], Page]:
    """Every decision of the project, newest first."""
    authorize(session, actor, Action.GROUND_TRUTH_VIEW, project_id)
    rows = list(
        session.scalars(
            select(GtSuspectDecision)
            .where(GtSuspectDecision.project_id == project_id)
            .order_by(GtSuspectDecision.id.desc())
        )
    )
    pg = page_of(page, page_size, len(rows))
    return rows[pg.offset : pg.offset + pg.size], pg
