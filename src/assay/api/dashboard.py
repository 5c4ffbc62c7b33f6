"""The project dashboard as JSON, and the annotator scorecard as CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from assay.api.quality import _num, _table, group_row
from assay.http.context import Ctx, context
from assay.metrics.weekly import WeeklySums, weekly_means
from assay.services import authors, honeypots, quality
from assay.services.access import Action, Actor
from assay.services.views import dashboard

router = APIRouter(prefix="/api", tags=["dashboard"])


def annotator_rows(
    s: Session,
    actor: Actor,
    project_id: int,
    agreement: quality.ProjectAgreement | None = None,
    honeypot_weeks: WeeklySums | None = None,
) -> list[dict[str, Any]]:
    """The Annotator Performance table, one flat row per annotator (also the CSV scorecard)."""
    rows = []
    for r in dashboard.annotator_performance(s, actor, project_id, agreement, honeypot_weeks):
        q = group_row(r.quality) if r.quality else {}
        ci = r.accuracy_ci
        rows.append(
            {
                "annotator": r.user_id,
                "email": r.email,
                "annotations": r.annotations,
                "cancelled": r.cancelled,
                "median_lead_time": r.median_lead_time,
                "reviewed": r.reviewed,
                "accepted": r.accepted,
                "fixed": r.fixed,
                "rejected": r.rejected,
                "accept_rate": r.rate(r.accepted),
                "fix_rate": r.rate(r.fixed),
                "reject_rate": r.rate(r.rejected),
                "scored": q.get("scored", 0),
                "accuracy": q.get("accuracy"),
                "accuracy_ci": list(ci) if ci else [None, None],
                "mean_accuracy": q.get("mean_accuracy"),
                "precision": q.get("precision"),
                "recall": q.get("recall"),
                "f1": q.get("f1"),
                "agreement": r.agreement,
                "honeypot_accuracy": r.honeypot_accuracy,
            }
        )
    return rows


@router.get("/projects/{project_id}/dashboard")
def project_dashboard(project_id: int, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Annotator performance, agreement matrix, weekly accuracy, confusion, models vs GT."""
    with ctx.read() as s:
        return dashboard_json(s, ctx.actor, project_id)


def dashboard_json(s: Session, actor: Actor, project_id: int) -> dict[str, Any]:
    """The dashboard's numbers; the dashboard page renders the same dict."""
    agreement = quality.project_agreement(s, actor, project_id)
    honeypot_weeks = (  # which tasks are honeypots is for leads only
        honeypots.weekly_accuracy(s, project_id) if actor.may(Action.HONEYPOTS_VIEW) else {}
    )
    people = annotator_rows(s, actor, project_id, agreement, honeypot_weeks)
    weeks = dashboard.accuracy_by_week(s, actor, project_id)
    names, matrix = dashboard.confusion_table(quality.confusion(s, actor, project_id))
    models = quality.groups(s, actor, project_id, "model")
    on_honeypots = {u: weekly_means(per) for u, per in honeypot_weeks.items()}
    emails = authors.emails_of(s, [*agreement.annotators, *weeks, *on_honeypots])
    return {
        "project": project_id,
        "annotators": people,
        "agreement": {
            "annotators": [{"id": a, "email": emails.get(a)} for a in agreement.annotators],
            "matrix": agreement.matrix,
            "shared_tasks": agreement.shared,
        },
        "accuracy_over_time": [
            {
                "annotator": user_id,
                "email": emails.get(user_id),
                "weeks": [_week(w) for w in series],
            }
            for user_id, series in sorted(weeks.items())
        ],
        "honeypot_accuracy_over_time": [
            {
                "annotator": user_id,
                "email": emails.get(user_id),
                "weeks": [
                    {"week": d.isoformat(), "scored": n, "mean_accuracy": _num(acc)}
                    for d, n, acc in series
                ],
            }
            for user_id, series in sorted(on_honeypots.items())
        ],
        "confusion": {"labels": names, "matrix": matrix},
        "models": [{"model_version": g.key, **group_row(g)} for g in models],
    }


def _week(w: dashboard.WeekAccuracy) -> dict[str, Any]:
    return {"week": w.week.isoformat(), "scored": w.scored, "mean_accuracy": _num(w.mean_accuracy)}


@router.get("/projects/{project_id}/dashboard/annotators")
def annotator_scorecard(
    project_id: int, format: str = Query("json"), ctx: Ctx = Depends(context)
) -> Any:
    """The Annotator Performance table; `?format=csv` for the scorecard file."""
    with ctx.read() as s:
        rows = annotator_rows(s, ctx.actor, project_id)
    return _table(rows, format, f"project-{project_id}-annotator-scorecard")
