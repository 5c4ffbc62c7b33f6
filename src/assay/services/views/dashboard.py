"""A project's dashboard: annotator performance, agreement, accuracy over time, models.

Everything here is read from stored rows (annotations, reviews, quality scores and
aggregates); the heavy numbers were computed when labels changed. `dashboard_view` is the one
dict the dashboard endpoint answers and the dashboard page renders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from assay.metrics import wilson_interval
from assay.metrics.weekly import WeeklySums, weekly_means, weekly_sums
from assay.services import authors, drift, evaluation, honeypots, quality
from assay.services.access import Action, Actor, authorize, sees_honeypots
from assay.services.annotator_work import AUTHORS_WORK, COUNTED
from assay.services.quality.tables import group_row, number
from assay.services.views.rework_figures import ReworkFigures, rework_figures
from assay.store.json_fields import JsonRegionCount
from assay.store.models import Annotation, Project, QualityScore

ACCEPTED = ("accepted", "fixed")  # review statuses whose objects count as accepted


@dataclass(frozen=True)
class TimeOnTask:
    """One annotator's timed work: the live annotations (skips included) that carry both the
    editor's active time and the wall time (`lead_time`), summed. Objects are regions of the
    annotator's own result (`Annotation.work_result`); accepted ones are those of annotations
    whose standing review accepted them (accept, or fix & accept). docs/metrics.md has the
    formulas."""

    timed: int = 0  # annotations with both times
    active_seconds: float = 0.0
    wall_seconds: float = 0.0
    objects: int = 0
    accepted_objects: int = 0

    @property
    def objects_per_minute(self) -> float | None:
        """Objects drawn per minute of active time; None without active time."""
        if self.active_seconds <= 0:
            return None
        return round(self.objects / (self.active_seconds / 60), 6)

    def cost_per_accepted_object(self, hourly_rate: float | None) -> float | None:
        """hourly_rate x active hours / accepted objects; None without a rate or accepted
        objects."""
        if hourly_rate is None or self.accepted_objects == 0:
            return None
        return round(hourly_rate * self.active_seconds / 3600 / self.accepted_objects, 6)


@dataclass(frozen=True)
class AnnotatorPerformance:
    user_id: int
    email: str | None
    annotations: int  # live, non-GT, not cancelled
    cancelled: int
    median_lead_time: float | None  # seconds
    reviewed: int
    accepted: int
    fixed: int
    rejected: int
    quality: quality.GroupQuality | None  # scores against GT; None when nothing is scored
    agreement: float | None  # mean pairwise accuracy with the others, weighted by shared tasks
    honeypot_accuracy: float | None = None  # filled once the project has honeypots
    time: TimeOnTask = TimeOnTask()
    rework: ReworkFigures | None = None  # first-pass acceptance, passes, time to acceptance

    def rate(self, n: int) -> float | None:
        return round(n / self.reviewed, 6) if self.reviewed else None

    @property
    def accuracy_ci(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the micro accuracy tp / (tp + fp + fn); None when the
        project summarises accuracy another way (macro, worst label): no interval of that."""
        if self.quality is None or self.quality.summary_accuracy is not None:
            return None
        c = self.quality.micro
        low, high = wilson_interval(c.tp, c.tp + c.fp + c.fn)
        return round(float(low), 6), round(float(high), 6)


def annotator_performance(
    session: Session,
    actor: Actor,
    project_id: int,
    agreement: quality.ProjectAgreement | None = None,
    honeypot_weeks: WeeklySums | None = None,
) -> list[AnnotatorPerformance]:
    """One row per person with annotations in the project, by email; a handful of queries.

    `agreement`: the project's agreement when the caller has it already (it scores every pair
    of annotations, the dearest part of the dashboard); `honeypot_weeks` likewise
    (`honeypot_accuracy`: empty for those who may not know the honeypots).
    """
    authorize(session, actor, Action.DASHBOARD_VIEW, project_id)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    live = (
        Annotation.project_id == project_id,
        Annotation.deleted_at.is_(None),
        AUTHORS_WORK,  # a GT someone else starred is still its author's
        COUNTED,
        Annotation.completed_by_id.is_not(None),
    )
    for user_id, cancelled, status, n in session.execute(
        select(
            Annotation.completed_by_id,
            Annotation.was_cancelled,
            Annotation.review_status,
            func.count(),
        )
        .where(*live)
        .group_by(Annotation.completed_by_id, Annotation.was_cancelled, Annotation.review_status)
    ):
        c = counts[user_id]
        if cancelled:
            c["cancelled"] += n
            continue
        c["annotations"] += n
        c[status] += n
    timed = time_on_task(session, project_id)
    lead_times: dict[int, list[float]] = defaultdict(list)
    for user_id, lead_time in session.execute(
        select(Annotation.completed_by_id, Annotation.lead_time).where(
            *live, Annotation.was_cancelled.is_(False), Annotation.lead_time.is_not(None)
        )
    ):
        lead_times[user_id].append(lead_time)
    scores = {
        int(g.key): g
        for g in quality.groups(session, actor, project_id, "annotator")
        if g.key.isdigit()
    }
    with_others = _agreement_with_others(
        agreement or quality.project_agreement(session, actor, project_id)
    )
    emails = authors.emails_of(session, counts)
    on_honeypots = honeypots.accuracy_by_annotator(
        honeypot_weeks
        if honeypot_weeks is not None
        else honeypot_accuracy(session, actor, project_id)
    )
    rework = rework_figures(session, project_id)
    rows = []
    for user_id, c in counts.items():
        times = lead_times.get(user_id)
        rows.append(
            AnnotatorPerformance(
                user_id=user_id,
                email=emails.get(user_id),
                annotations=c["annotations"],
                cancelled=c["cancelled"],
                median_lead_time=round(float(np.median(times)), 3) if times else None,
                reviewed=c["accepted"] + c["fixed"] + c["rejected"],
                accepted=c["accepted"],
                fixed=c["fixed"],
                rejected=c["rejected"],
                quality=scores.get(user_id),
                agreement=with_others.get(user_id),
                honeypot_accuracy=on_honeypots[user_id][1] if user_id in on_honeypots else None,
                time=timed.get(user_id, TimeOnTask()),
                rework=rework.get(user_id),
            )
        )
    return sorted(rows, key=lambda r: (r.email or "", r.user_id))


def time_on_task(session: Session, project_id: int) -> dict[int, TimeOnTask]:
    """Each annotator's timed work in the project (`TimeOnTask`), in one query."""
    regions = JsonRegionCount(Annotation.work_result)
    drawn = Annotation.was_cancelled.is_(False)
    accepted = drawn & Annotation.review_status.in_(ACCEPTED)
    rows = session.execute(
        select(
            Annotation.completed_by_id,
            func.count(),
            func.sum(Annotation.active_time),
            func.sum(Annotation.lead_time),
            func.sum(case((drawn, regions), else_=0)),
            func.sum(case((accepted, regions), else_=0)),
        )
        .where(
            Annotation.project_id == project_id,
            Annotation.deleted_at.is_(None),
            Annotation.ground_truth.is_(False),
            Annotation.kind == "manual",
            Annotation.completed_by_id.is_not(None),
            Annotation.active_time.is_not(None),
            Annotation.lead_time.is_not(None),
        )
        .group_by(Annotation.completed_by_id)
    )
    return {
        user_id: TimeOnTask(n, float(active or 0), float(wall or 0), int(obj or 0), int(ok or 0))
        for user_id, n, active, wall, obj, ok in rows
    }


def honeypot_accuracy(session: Session, actor: Actor, project_id: int) -> WeeklySums:
    """Each annotator's weekly accuracy on honeypots, for those who may know which tasks are
    honeypots (leads and admins); empty for everyone else, whose dashboard shows no honeypot
    numbers at all."""
    if not sees_honeypots(actor):
        return {}
    return honeypots.weekly_accuracy(session, project_id)


def _agreement_with_others(result: quality.ProjectAgreement) -> dict[int, float]:
    out = {}
    for i, user_id in enumerate(result.annotators):
        shared = np.array(result.shared[i], dtype=float)
        values = np.array([v if v is not None else 0.0 for v in result.matrix[i]])
        if shared.sum():
            out[user_id] = round(float((values * shared).sum() / shared.sum()), 6)
    return out


@dataclass(frozen=True)
class WeekAccuracy:
    week: date  # the Monday the week starts on
    scored: int
    mean_accuracy: float


def accuracy_by_week(
    session: Session, actor: Actor, project_id: int
) -> dict[int, list[WeekAccuracy]]:
    """Each annotator's mean accuracy against GT per week of annotation, oldest week first."""
    authorize(session, actor, Action.DASHBOARD_VIEW, project_id)
    weeks = weekly_sums(
        session.execute(
            select(QualityScore.subject_key, Annotation.created_at, QualityScore.accuracy)
            .join(Annotation, Annotation.id == QualityScore.annotation_id)
            .where(QualityScore.project_id == project_id, QualityScore.subject_kind == "annotation")
            .execution_options(yield_per=5000)
        )
    )
    return {
        user_id: [WeekAccuracy(*w) for w in weekly_means(per)]
        for user_id, per in sorted(weeks.items())
    }


def confusion_table(pairs: dict[tuple[str, str], int]) -> tuple[list[str], list[list[int]]]:
    """Label names (``unmatched`` last) and the GT-row x predicted-column count matrix."""
    names = [*sorted({g for g, _ in pairs} | {p for _, p in pairs} - {"unmatched"}), "unmatched"]
    index = {n: i for i, n in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for (g, p), n in pairs.items():
        matrix[index[g]][index[p]] += n
    return names, matrix


def performance_rows(
    session: Session,
    actor: Actor,
    project_id: int,
    agreement: quality.ProjectAgreement | None = None,
    honeypot_weeks: WeeklySums | None = None,
) -> list[dict[str, Any]]:
    """The Annotator Performance table, one flat row per annotator (also the CSV scorecard)."""
    project = session.get(Project, project_id)
    hourly_rate = project.hourly_rate if project is not None else None
    rows = []
    standing = (
        {st.user_id: st for st in evaluation.standings(session, actor, project_id)}
        if actor.may(Action.EVALUATION_VIEW)
        else {}
    )  # GT accuracy on honeypots: leads and admins only, as honeypot accuracy
    for r in annotator_performance(session, actor, project_id, agreement, honeypot_weeks):
        q = group_row(r.quality) if r.quality else {}
        ci = r.accuracy_ci
        st = standing.get(r.user_id)
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
                "timed_annotations": r.time.timed,
                "active_time": round(r.time.active_seconds, 3),
                "wall_time": round(r.time.wall_seconds, 3),
                "objects": r.time.objects,
                "objects_per_minute": r.time.objects_per_minute,
                "accepted_objects": r.time.accepted_objects,
                "cost_per_accepted_object": r.time.cost_per_accepted_object(hourly_rate),
                "first_pass_acceptance": r.rework.first_pass_acceptance if r.rework else None,
                "passes_per_accepted": r.rework.passes_per_accepted if r.rework else None,
                "median_time_to_acceptance": (
                    r.rework.median_time_to_acceptance if r.rework else None
                ),
                **_evaluation_columns(st),
            }
        )
    return rows


def _evaluation_columns(st: evaluation.Standing | None) -> dict[str, Any]:
    """The scorecard's evaluation columns (services.evaluation): status, onboarding progress
    ("n/N"), flag, GT answers scored, GT accuracy and its Wilson 95 % interval; empty for
    people who are not evaluated (not annotators) and for readers who may not see them."""
    return {
        "evaluation": st.status if st else None,
        "evaluation_onboarding": f"{st.onboarding[0]}/{st.onboarding[1]}"
        if st and st.onboarding
        else None,
        "evaluation_flagged": st.flagged if st else None,
        "gt_scored": st.scored if st else None,
        "gt_accuracy": st.accuracy if st else None,
        "gt_accuracy_ci": list(st.interval) if st and st.interval else [None, None],
    }


def dashboard_view(session: Session, actor: Actor, project_id: int) -> dict[str, Any]:
    """The dashboard's numbers, as the API answers them and the dashboard page renders them:
    which quality settings version the scores are of (`scores`, see `quality.ScoreVersions`,
    with the running recompute if any), annotator performance, the agreement matrix, accuracy
    (and, for leads, honeypot accuracy) per week, label confusion and the model versions
    against GT."""
    agreement = quality.project_agreement(session, actor, project_id)
    honeypot_weeks = honeypot_accuracy(session, actor, project_id)
    people = performance_rows(session, actor, project_id, agreement, honeypot_weeks)
    weeks = accuracy_by_week(session, actor, project_id)
    names, matrix = confusion_table(quality.confusion(session, actor, project_id))
    models = quality.groups(session, actor, project_id, "model")
    on_honeypots = {u: weekly_means(per) for u, per in honeypot_weeks.items()}
    emails = authors.emails_of(session, [*agreement.annotators, *weeks, *on_honeypots])
    project = session.get(Project, project_id)
    return {
        "project": project_id,
        "hourly_rate": project.hourly_rate if project is not None else None,
        "scores": {
            **quality.score_versions(session, actor, project_id).to_json(),
            "summary": quality.get_settings(session, actor, project_id).summary,
            "recompute_job": quality.running_recompute(session, project_id),
        },
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
                "weeks": [_week(w.week, w.scored, w.mean_accuracy) for w in series],
            }
            for user_id, series in sorted(weeks.items())
        ],
        "honeypot_accuracy_over_time": [
            {
                "annotator": user_id,
                "email": emails.get(user_id),
                "weeks": [_week(d, n, acc) for d, n, acc in series],
            }
            for user_id, series in sorted(on_honeypots.items())
        ],
        "confusion": {"labels": names, "matrix": matrix},
        "models": [{"model_version": g.key, **group_row(g)} for g in models],
        "drift": _drift(session, actor, project_id),
    }


def _drift(session: Session, actor: Actor, project_id: int) -> dict[str, Any] | None:
    """The weekly drift report of the latest scored model version, for who may see drift."""
    if not actor.may(Action.DRIFT_VIEW):
        return None
    version = drift.latest_model_version(session, project_id)
    if version is None:
        return None
    return drift.report_json(drift.drift_report(session, actor, project_id, version, "week"))


def _week(week: date, scored: int, mean_accuracy: float) -> dict[str, Any]:
    return {"week": week.isoformat(), "scored": scored, "mean_accuracy": number(mean_accuracy)}
