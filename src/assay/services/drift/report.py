"""The drift report: a model version's prediction confidence per day or week against a
reference set (PSI, KS, mean drop, each with an alert), and its accuracy against GT where GT
exists, overall and on audited tasks (an audit is an unbiased sample; other GT may not be).

One query per table (predictions with their live tasks, quality scores, audit tasks); the
grouping is numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.metrics import drift as metrics
from assay.metrics.scores import Counts
from assay.services.access import Action, Actor, authorize
from assay.services.drift.settings import DriftThresholds, thresholds_of
from assay.services.errors import Invalid
from assay.store.drift_models import Audit
from assay.store.models import JobTask, Prediction, QualityScore, Task

WINDOWS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive
    n: int
    mean_confidence: float | None
    histogram: list[int]
    psi: float
    ks_statistic: float
    ks_pvalue: float
    scored: int  # predictions scored against GT
    accuracy: float | None
    audit_scored: int  # ... of them on audited tasks
    audit_accuracy: float | None
    is_reference: bool
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DriftReport:
    model_version: str
    window: str
    thresholds: DriftThresholds
    reference: dict[str, Any]
    windows: list[Window]


def _num(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else round(float(v), 6)


def window_json(w: Window) -> dict[str, Any]:
    return {
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "n": w.n,
        "mean_confidence": _num(w.mean_confidence),
        "histogram": w.histogram,
        "psi": _num(w.psi),
        "ks_statistic": _num(w.ks_statistic),
        "ks_pvalue": _num(w.ks_pvalue),
        "scored": w.scored,
        "accuracy": _num(w.accuracy),
        "audit_scored": w.audit_scored,
        "audit_accuracy": _num(w.audit_accuracy),
        "is_reference": w.is_reference,
        "alerts": w.alerts,
    }


def report_json(r: DriftReport) -> dict[str, Any]:
    return {
        "model_version": r.model_version,
        "window": r.window,
        "settings": r.thresholds.to_json(),
        "bins": [round(float(e), 6) for e in metrics.EDGES],
        "reference": r.reference,
        "windows": [window_json(w) for w in r.windows],
        "alerts": sum(len(w.alerts) for w in r.windows),
    }


def _date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid.field(name, "must be a date, YYYY-MM-DD") from None


def _versions(session: Session, project_id: int) -> list[str]:
    return sorted(
        session.scalars(
            select(Prediction.model_version)
            .where(
                Prediction.project_id == project_id,
                Prediction.deleted_at.is_(None),
                Prediction.score.is_not(None),
            )
            .distinct()
        )
    )


def latest_model_version(session: Session, project_id: int) -> str | None:
    """The version of the project's most recent scored prediction: the one a dashboard shows."""
    return session.scalar(
        select(Prediction.model_version)
        .join(Task, Task.id == Prediction.task_id)
        .where(
            Prediction.project_id == project_id,
            Prediction.deleted_at.is_(None),
            Prediction.score.is_not(None),
            Task.deleted_at.is_(None),
        )
        .order_by(Prediction.created_at.desc(), Prediction.id.desc())
        .limit(1)
    )


def _accuracy(rows: np.ndarray) -> float | None:
    """Micro accuracy of the summed [tp, fp, fn, matched, iou_sum] rows (None for no rows)."""
    if not len(rows):
        return None
    tp, fp, fn, matched, iou = rows.sum(axis=0)
    return Counts(int(tp), int(fp), int(fn), int(matched), float(iou)).accuracy


def _alerts(t: DriftThresholds, ref_mean: float, w_mean: float, p: float, k: float) -> list:
    out = []
    if not math.isnan(ref_mean) and ref_mean - w_mean > t.mean_drop_threshold:
        out.append(
            {
                "kind": "mean_drop",
                "value": _num(ref_mean - w_mean),
                "threshold": t.mean_drop_threshold,
                "message": f"mean confidence fell by {ref_mean - w_mean:.3f} "
                f"(from {ref_mean:.3f} to {w_mean:.3f})",
            }
        )
    if not math.isnan(p) and p > t.psi_threshold:
        out.append(
            {
                "kind": "psi",
                "value": _num(p),
                "threshold": t.psi_threshold,
                "message": f"confidence distribution shifted: PSI {p:.3f}",
            }
        )
    if not math.isnan(k) and k < t.ks_p_threshold:
        out.append(
            {
                "kind": "ks",
                "value": _num(k),
                "threshold": t.ks_p_threshold,
                "message": f"confidence distribution differs (KS p = {k:.2g})",
            }
        )
    return out


def drift_report(
    session: Session,
    actor: Actor,
    project_id: int,
    model_version: str | None = None,
    window: str = "week",
    reference_model_version: str | None = None,
    reference_from: str | None = None,
    reference_to: str | None = None,
) -> DriftReport:
    """Per window of the predictions' creation date: n, mean confidence, histogram over the
    fixed bins, PSI and KS against the reference set, accuracy vs GT, and alerts.

    The reference set: the predictions of `reference_model_version` (default: the same
    version) made from `reference_from` to `reference_to` (inclusive dates, each optional);
    given none of the three, the first window.
    """
    authorize(session, actor, Action.DRIFT_VIEW, project_id)
    if window not in WINDOWS:
        raise Invalid.field("window", f"must be one of {', '.join(WINDOWS)}")
    ref_from, ref_to = _date("reference_from", reference_from), _date("reference_to", reference_to)
    if ref_from and ref_to and ref_from > ref_to:
        raise Invalid.field("reference_to", "is before reference_from")
    thresholds = thresholds_of(session, project_id)
    wanted = {v for v in (model_version, reference_model_version) if v is not None}
    stmt = (
        select(Prediction.id, Prediction.task_id, Prediction.model_version, Prediction.score)
        .add_columns(Prediction.created_at)
        .join(Task, Task.id == Prediction.task_id)
        .where(
            Prediction.project_id == project_id,
            Prediction.deleted_at.is_(None),
            Prediction.score.is_not(None),
            Task.deleted_at.is_(None),
        )
    )
    if model_version is not None:
        stmt = stmt.where(Prediction.model_version.in_(wanted))
    rows = session.execute(stmt).all()
    if model_version is None:
        found = sorted({r.model_version for r in rows})
        if len(found) != 1:
            raise Invalid.field(
                "model_version",
                "is required: the project's scored model versions are "
                + (", ".join(repr(v) for v in found) or "none"),
            )
        model_version = found[0]
    for name, v in (
        ("model_version", model_version),
        ("reference_model_version", reference_model_version),
    ):
        if v is not None and not any(r.model_version == v for r in rows):
            known = ", ".join(repr(x) for x in _versions(session, project_id)) or "none"
            raise Invalid.field(name, f"has no scored predictions (scored versions: {known})")
    pred_id = np.array([r.id for r in rows], dtype=np.int64)
    task_id = np.array([r.task_id for r in rows], dtype=np.int64)
    version = np.array([r.model_version for r in rows], dtype=object)
    score = np.array([r.score for r in rows], dtype=float)
    day = np.array([r.created_at.date() for r in rows], dtype="datetime64[D]")
    key = day if window == "day" else metrics.week_start(day)

    mine = version == model_version
    if reference_model_version is None and ref_from is None and ref_to is None:
        first = key[mine].min()
        ref = mine & (key == first)
        reference = {"kind": "first_window", "model_version": model_version}
    else:
        ref = version == (reference_model_version or model_version)
        if ref_from is not None:
            ref &= day >= np.datetime64(ref_from)
        if ref_to is not None:
            ref &= day <= np.datetime64(ref_to)
        if not ref.any():
            raise Invalid.field(
                "reference_from" if ref_from or ref_to else "reference_model_version",
                "selects no scored predictions: the reference set is empty",
            )
        reference = {
            "kind": "chosen",
            "model_version": reference_model_version or model_version,
            "from": ref_from.isoformat() if ref_from else None,
            "to": ref_to.isoformat() if ref_to else None,
        }
    ref_scores = score[ref]
    ref_mean = float(ref_scores.mean())
    reference |= {
        "n": int(ref.sum()),
        "mean_confidence": _num(ref_mean),
        "histogram": metrics.histogram(ref_scores).tolist(),
    }

    # accuracy against GT: the model's stored quality scores, summed per window
    counts = np.zeros((len(rows), 5))
    scored = np.zeros(len(rows), dtype=bool)
    at = {int(p): i for i, p in enumerate(pred_id)}
    for s in session.execute(
        select(
            QualityScore.prediction_id,
            QualityScore.tp,
            QualityScore.fp,
            QualityScore.fn,
            QualityScore.matched,
            QualityScore.iou_sum,
        ).where(
            QualityScore.project_id == project_id,
            QualityScore.subject_kind == "prediction",
            QualityScore.subject_key == model_version,
        )
    ):
        i = at.get(s.prediction_id)
        if i is not None:
            counts[i] = (s.tp, s.fp, s.fn, s.matched, s.iou_sum)
            scored[i] = True
    audited_tasks = np.fromiter(
        session.scalars(
            select(JobTask.task_id)
            .join(Audit, Audit.job_id == JobTask.job_id)
            .where(Audit.project_id == project_id)
        ),
        dtype=np.int64,
    )
    audited = np.isin(task_id, audited_tasks)

    keys, inverse = np.unique(key[mine], return_inverse=True)
    s_mine, c_mine = score[mine], counts[mine]
    sc_mine, au_mine = scored[mine], audited[mine]
    n = np.bincount(inverse, minlength=len(keys))
    means = np.bincount(inverse, weights=s_mine, minlength=len(keys)) / n
    span = timedelta(days=WINDOWS[window] - 1)
    out = []
    for w, start in enumerate(keys):
        in_w = inverse == w
        current = s_mine[in_w]
        p = metrics.psi(ref_scores, current)
        k = metrics.ks(ref_scores, current)
        is_ref = reference["kind"] == "first_window" and w == 0
        begin = start.astype(date)
        out.append(
            Window(
                start=begin,
                end=begin + span,
                n=int(n[w]),
                mean_confidence=float(means[w]),
                histogram=metrics.histogram(current).tolist(),
                psi=p,
                ks_statistic=k.statistic,
                ks_pvalue=k.pvalue,
                scored=int((in_w & sc_mine).sum()),
                accuracy=_accuracy(c_mine[in_w & sc_mine]),
                audit_scored=int((in_w & sc_mine & au_mine).sum()),
                audit_accuracy=_accuracy(c_mine[in_w & sc_mine & au_mine]),
                is_reference=is_ref,
                alerts=[]
                if is_ref
                else _alerts(thresholds, ref_mean, float(means[w]), p, k.pvalue),
            )
        )
    return DriftReport(model_version, window, thresholds, reference, out)
