"""Gather a project's GT tasks, their annotators' work and the model's predictions, and turn
them into suspects: one per suspected error, with its kind, scores, evidence and fingerprint.

Rectangles only (the shape cleanlab's object-detection scores and the annotators' clustering
speak); other shapes in a result are left out of the evidence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.label_studio import RegionError
from assay.formats.regions import RectangleRegions, regions_from_label_studio
from assay.geometry.boxes import iou_matrix
from assay.metrics.gt_suspects import AnnotatorEvidence, annotator_evidence, combine
from assay.services.annotator_work import ANNOTATOR_WORK, latest_by_annotator
from assay.services.suspects.model import ImageBoxes, ModelSuspicion, model_suspicion
from assay.store.models import Annotation, Prediction, Task, User

LOOSE_IOU = 0.1  # an annotator's box "is" a GT region at this IoU, whatever its label
CLUSTER_IOU = 0.5  # boxes of different annotators form one object at this IoU


@dataclass
class TaskInput:
    task_id: int
    width: float | None
    height: float | None
    gt_id: int
    gt_revision: int
    gt: RectangleRegions
    gt_items: dict[str, dict[str, Any]]
    annotators: list[tuple[int, int, RectangleRegions, dict[str, dict[str, Any]]]] = field(
        default_factory=list
    )  # (user id, annotation id, boxes, raw items by region id)
    prediction: tuple[int, str, RectangleRegions] | None = None


@dataclass(frozen=True)
class Suspect:
    task_id: int
    key: str
    kind: str
    gt_annotation_id: int
    region_id: str | None
    score: float
    annotator_score: float | None
    model_score: float | None
    evidence: dict[str, Any]
    fingerprint: str


def _rects(result: Sequence[Any], w: float | None, h: float | None) -> RectangleRegions | None:
    try:
        return regions_from_label_studio(result, w, h).rectangles
    except RegionError:
        return None  # a result whose size is unknown says nothing here


def _size(result: Sequence[Any], key: str) -> float | None:
    """The image size the result's items carry, for a task whose size is not known."""
    for item in result:
        if isinstance(item, dict) and isinstance(item.get(key), int | float) and item[key] > 0:
            return float(item[key])
    return None


def _items(result: Sequence[Any]) -> dict[str, dict[str, Any]]:
    return {str(r.get("id", "")): r for r in result if isinstance(r, dict) and r.get("id")}


def gather(session: Session, project_id: int) -> list[TaskInput]:
    """Every live task of the project with a live GT, its annotators' latest work and its
    latest prediction; three queries."""
    gts = session.execute(
        select(
            Task.id, Task.width, Task.height, Annotation.id, Annotation.revision, Annotation.result
        )
        .join(Annotation, Annotation.task_id == Task.id)
        .where(
            Task.project_id == project_id,
            Task.deleted_at.is_(None),
            Annotation.ground_truth.is_(True),
            Annotation.deleted_at.is_(None),
        )
        .order_by(Task.id)
    ).all()
    inputs: dict[int, TaskInput] = {}
    for task_id, w, h, gt_id, rev, result in gts:
        w, h = w or _size(result, "original_width"), h or _size(result, "original_height")
        rects = _rects(result, w, h)
        if rects is not None:
            inputs[task_id] = TaskInput(task_id, w, h, gt_id, rev, rects, _items(result))
    if not inputs:
        return []
    ids = list(inputs)
    work = session.execute(
        select(
            Annotation.task_id, Annotation.completed_by_id, Annotation.id, Annotation.work_result
        )
        .where(Annotation.task_id.in_(ids), *ANNOTATOR_WORK)
        .order_by(Annotation.id)
    ).all()
    latest = latest_by_annotator((t, u, (a, r)) for t, u, a, r in work)
    for task_id, per in latest.items():
        inp = inputs[task_id]
        for user_id, (ann_id, result) in per.items():
            rects = _rects(result, inp.width, inp.height)
            if rects is not None:
                inp.annotators.append((user_id, ann_id, rects, _items(result)))
    preds = session.execute(
        select(Prediction.task_id, Prediction.id, Prediction.model_version, Prediction.result)
        .where(Prediction.task_id.in_(ids), Prediction.deleted_at.is_(None))
        .order_by(Prediction.id)
    ).all()
    for task_id, pred_id, version, result in preds:  # the latest wins
        inp = inputs[task_id]
        rects = _rects(result, inp.width, inp.height)
        if rects is not None:
            inp.prediction = (pred_id, version, rects)
    return list(inputs.values())


def _pred_scores(rects: RectangleRegions) -> np.ndarray:
    return np.nan_to_num(np.asarray(rects.scores, dtype=np.float64), nan=1.0).clip(0, 1)


def _model_of(inputs: list[TaskInput]) -> dict[int, ModelSuspicion]:
    with_pred = [i for i in inputs if i.prediction is not None]
    images = [
        ImageBoxes(
            i.gt.xyxy,
            [str(v) for v in i.gt.labels],
            i.prediction[2].xyxy,
            [str(v) for v in i.prediction[2].labels],
            _pred_scores(i.prediction[2]),
        )
        for i in with_pred
        if i.prediction is not None
    ]
    return {i.task_id: m for i, m in zip(with_pred, model_suspicion(images), strict=True)}


def _pct(box: np.ndarray, w: float | None, h: float | None) -> dict[str, float] | None:
    if not w or not h or np.isnan(box).any():
        return None
    x1, y1, x2, y2 = (float(v) for v in box)
    return {
        "x": round(x1 / w * 100, 4),
        "y": round(y1 / h * 100, 4),
        "width": round((x2 - x1) / w * 100, 4),
        "height": round((y2 - y1) / h * 100, 4),
    }


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _r(v: float | None, step: float = 0.05) -> float | None:
    """Rounded for a fingerprint: tiny numeric jitter is not new evidence."""
    return None if v is None or np.isnan(v) else round(round(v / step) * step, 2)


def _opt(v: float) -> float | None:
    return None if np.isnan(v) else round(float(v), 4)


def suspects_of_task(
    inp: TaskInput, model: ModelSuspicion | None, emails: dict[int, str], floor: float
) -> list[Suspect]:
    """The suspects of one task whose combined score is at least `floor`."""
    r = len(inp.annotators)
    owners = [np.full(len(a[2]), k) for k, a in enumerate(inp.annotators)]
    boxes = np.concatenate([a[2].xyxy for a in inp.annotators]) if r else np.zeros((0, 4))
    labels = np.concatenate([a[2].labels for a in inp.annotators]) if r else np.zeros(0, str)
    owner = np.concatenate(owners) if r else np.zeros(0, np.int64)
    ev = annotator_evidence(
        inp.gt.xyxy, inp.gt.labels, boxes, labels, owner, r, loose=LOOSE_IOU,
        cluster_iou=CLUSTER_IOU,
    )  # fmt: skip
    who = [
        {"user_id": u, "email": emails.get(u, ""), "annotation_id": a}
        for u, a, _, _ in inp.annotators
    ]
    g = len(inp.gt)
    nan = np.full(g, np.nan)
    if model is not None:
        m_swap, m_bad = model.swapped, model.badloc
        pred = inp.prediction[2] if inp.prediction else None
        # spurious in the model's eyes: cleanlab's badly-located score of a GT box that no
        # predicted box touches at all (it has nothing there to be badly located against)
        touched = (
            (iou_matrix(inp.gt.xyxy, pred.xyxy) >= LOOSE_IOU).any(axis=1)
            if pred is not None and len(pred) and g
            else np.zeros(g, bool)
        )
        m_spur = np.where(touched, np.nan, m_bad)
        m_bad = np.where(touched, m_bad, np.nan)
    else:
        m_swap = m_bad = m_spur = nan
    out: list[Suspect] = []
    per_kind = {
        "spurious": (ev.spurious, m_spur),
        "swapped": (ev.swapped, m_swap),
        "badloc": (ev.badloc, m_bad),
    }
    for kind, (a_score, m_score) in per_kind.items():
        m_arr = None if model is None else m_score
        total = combine(a_score, r, m_arr) if r else np.nan_to_num(m_score)
        for i in np.flatnonzero(total >= floor):
            out.append(_region_suspect(inp, ev, i, kind, total[i], a_score[i], m_score[i], who))
    out += _missing_suspects(inp, ev, model, who, floor)
    return out


def _region_suspect(
    inp: TaskInput,
    ev: AnnotatorEvidence,
    i: int,
    kind: str,
    total: float,
    a_score: float,
    m_score: float,
    who: list[dict[str, Any]],
) -> Suspect:
    region_id = inp.gt.ids[i] or f"#{i}"
    boxes_all = np.concatenate([a[2].xyxy for a in inp.annotators]) if who else np.zeros((0, 4))
    gt_label = str(inp.gt.labels[i])
    said = []
    for k, person in enumerate(who):
        j = ev.matched[i, k]
        said.append(
            {
                **person,
                "label": str(inp.annotators[k][2].labels[j - _offset(inp, k)]) if j >= 0 else None,
                "iou": round(float(ev.iou[i, k]), 4) if j >= 0 else None,
                "box": _pct(boxes_all[j], inp.width, inp.height) if j >= 0 else None,
            }
        )
    disagree = [
        s
        for s in said
        if (kind == "spurious" and s["label"] is None)
        or (kind == "swapped" and s["label"] is not None and s["label"] != gt_label)
        or (kind == "badloc" and s["iou"] is not None)
    ]
    suggested: dict[str, Any] = {}
    if kind == "swapped" and ev.swap_label[i]:
        suggested = {"label": str(ev.swap_label[i])}
    elif kind == "badloc":
        box = _pct(ev.consensus[i], inp.width, inp.height)
        if box is not None:
            suggested = {"box": box}
    elif kind == "spurious":
        suggested = {"remove": True}
    model = _model_evidence(inp, m_score)
    evidence = {
        "gt_region": {"id": region_id, "label": gt_label,
                      "box": _pct(inp.gt.xyxy[i], inp.width, inp.height)},
        "n_annotators": ev.n_annotators,
        "annotators": said,
        "disagreeing": [s["user_id"] for s in disagree],
        "model": model,
        "suggested": suggested,
    }  # fmt: skip
    fingerprint = digest(
        kind,
        region_id,
        gt_label,
        [round(float(v)) for v in inp.gt.xyxy[i]],
        sorted((s["user_id"], s["label"], _r(s["iou"])) for s in said),
        model and (model["model_version"], _r(model["score"], 0.1)),
    )
    return Suspect(
        task_id=inp.task_id,
        key=f"{inp.task_id}-{kind}-{digest(region_id)[:10]}",
        kind=kind,
        gt_annotation_id=inp.gt_id,
        region_id=region_id,
        score=round(float(total), 4),
        annotator_score=round(float(a_score), 4) if ev.n_annotators else None,
        model_score=_opt(m_score),
        evidence=evidence,
        fingerprint=fingerprint,
    )


def _offset(inp: TaskInput, k: int) -> int:
    """Where annotator k's boxes start in the concatenated arrays."""
    return sum(len(a[2]) for a in inp.annotators[:k])


def _model_evidence(inp: TaskInput, m_score: float) -> dict[str, Any] | None:
    if inp.prediction is None or np.isnan(m_score):
        return None
    return {"prediction_id": inp.prediction[0], "model_version": inp.prediction[1],
            "score": round(float(m_score), 4)}  # fmt: skip


def _missing_suspects(
    inp: TaskInput,
    ev: AnnotatorEvidence,
    model: ModelSuspicion | None,
    who: list[dict[str, Any]],
    floor: float,
) -> list[Suspect]:
    """Objects the GT lacks: annotators' clusters (with the model's overlooked score of a
    predicted box on the cluster, when there is one) and overlooked predicted boxes alone."""
    pred = inp.prediction[2] if inp.prediction else None
    m_missing = model.missing if model is not None and pred is not None else np.zeros(0)
    p_boxes = pred.xyxy if pred is not None else np.zeros((0, 4))
    m_on = np.full(len(ev.missing), np.nan)
    used = np.zeros(len(p_boxes), dtype=bool)
    if len(ev.missing) and len(p_boxes):
        iou = iou_matrix(ev.missing_boxes, p_boxes)
        best = iou.argmax(axis=1)
        hit = iou[np.arange(len(best)), best] >= CLUSTER_IOU
        m_on[hit] = m_missing[best[hit]]
        used[best[hit]] = True
    r = ev.n_annotators
    a_score = ev.missing
    total = combine(a_score, r, m_on if model is not None else None)
    out = []
    for c in np.flatnonzero(total >= floor):
        members = [(k, int(j)) for k, j in enumerate(ev.missing_members[c]) if j >= 0]
        said = [
            {**who[k], "label": str(inp.annotators[k][2].labels[j - _offset(inp, k)]),
             "region_id": inp.annotators[k][2].ids[j - _offset(inp, k)],
             "box": _pct(inp.annotators[k][2].xyxy[j - _offset(inp, k)], inp.width, inp.height)}
            for k, j in members
        ]  # fmt: skip
        k0, j0 = members[0]
        template = inp.annotators[k0][3].get(inp.annotators[k0][2].ids[j0 - _offset(inp, k0)])
        out.append(
            _new_object(inp, "annotators", c, float(total[c]), float(a_score[c]),
                        m_on[c], ev.missing_boxes[c], str(ev.missing_labels[c]), said,
                        template, r)
        )  # fmt: skip
    if model is not None and pred is not None:
        alone = (~used) & ~np.isnan(m_missing)
        only = combine(np.zeros(len(p_boxes)), r, m_missing)
        for p in np.flatnonzero(alone & (only >= floor)):
            out.append(
                _new_object(inp, "model", p, float(only[p]), 0.0 if r else None, m_missing[p],
                            p_boxes[p], str(pred.labels[p]), [], None, r)
            )  # fmt: skip
    return out


def _new_object(
    inp: TaskInput,
    source: str,
    n: int,
    total: float,
    a_score: float | None,
    m_score: float,
    box: np.ndarray,
    label: str,
    said: list[dict[str, Any]],
    template: dict[str, Any] | None,
    r: int,
) -> Suspect:
    signature = sorted(s["region_id"] for s in said) or [[round(float(v)) for v in box]]
    model = _model_evidence(inp, m_score)
    evidence = {
        "gt_region": None,
        "n_annotators": r,
        "annotators": said,
        "disagreeing": [s["user_id"] for s in said],
        "model": model,
        "suggested": {"add": {"box": _pct(box, inp.width, inp.height), "label": label,
                              "from_name": (template or {}).get("from_name"),
                              "to_name": (template or {}).get("to_name")}},
    }  # fmt: skip
    fingerprint = digest(
        "missing",
        signature,
        sorted((s["user_id"], s["label"]) for s in said),
        model and (model["model_version"], _r(model["score"], 0.1)),
    )
    return Suspect(
        task_id=inp.task_id,
        key=f"{inp.task_id}-missing-{digest(source, signature)[:10]}",
        kind="missing",
        gt_annotation_id=inp.gt_id,
        region_id=None,
        score=round(total, 4),
        annotator_score=None if a_score is None or not r else round(a_score, 4),
        model_score=_opt(m_score),
        evidence=evidence,
        fingerprint=fingerprint,
    )


def compute(session: Session, project_id: int, floor: float) -> list[Suspect]:
    """Every suspect of the project at or above `floor`, highest first."""
    inputs = gather(session, project_id)
    model = _model_of(inputs)
    users = {u for i in inputs for u, *_ in i.annotators}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(users))).all())
    out = [s for i in inputs for s in suspects_of_task(i, model.get(i.task_id), emails, floor)]
    return sorted(out, key=lambda s: (-s.score, s.task_id, s.key))
