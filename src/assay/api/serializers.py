"""Rows to Label Studio JSON shapes. What an actor may see is decided by services.access.

Tasks, annotations and predictions are `services.tasks.ls_json`'s, which the JSON export writes too.
"""

from __future__ import annotations

from typing import Any

from assay.formats.label_config import LabelConfigError, parse_label_config
from assay.services.access import Action, Actor, sees_ground_truth
from assay.services.gt_stage import Reference, StageState
from assay.services.io.snapshots import BASE_TYPE, SnapshotView
from assay.services.jobs import JobProgress, JobView
from assay.services.projects import ProjectCounts
from assay.services.rework import Rejection
from assay.services.task_aliases import AS_THEY_ARE, SeenTasks
from assay.services.tasks.ls_json import annotation, iso, prediction, task
from assay.services.views import saved_views
from assay.store.models import (
    AnnotationRevision,
    GroundTruthChange,
    Project,
    Review,
    SavedView,
    User,
)

__all__ = [
    "annotation",
    "export_snapshot",
    "gt_change",
    "iso",
    "job",
    "prediction",
    "progress",
    "project",
    "reference",
    "rejection",
    "review",
    "revision",
    "stage_state",
    "task",
    "user",
    "user_simple",
]


def user(u: User) -> dict[str, Any]:
    return {
        **user_simple(u),
        "role": u.role,
        "is_active": u.is_active,
        "initials": (u.first_name[:1] + u.last_name[:1]).upper() or u.email[:2].upper(),
        "date_joined": iso(u.created_at),
        "last_activity": iso(u.last_activity),
    }


def user_simple(u: User) -> dict[str, Any]:
    """Label Studio's UserSimple: who created an export."""
    return {
        "id": u.id,
        "email": u.email,
        "username": u.username,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "avatar": None,
    }


def export_snapshot(v: SnapshotView, with_options: bool = False) -> dict[str, Any]:
    """An export snapshot in Label Studio's shape (plus `background_job`, whose progress
    `/api/background-jobs/{id}` tells); `with_options` adds the options, as a create answers."""
    out: dict[str, Any] = {
        "id": v.id,
        "title": v.title,
        "created_by": user_simple(v.created_by) if v.created_by else None,
        "created_at": iso(v.created_at),
        "finished_at": iso(v.finished_at),
        "status": v.status,
        "md5": v.md5,
        "counters": {"task_number": v.task_number} if v.task_number is not None else {},
        "converted_formats": [
            {
                "id": f.id,
                "status": f.status,
                "export_type": f.export_type,
                "traceback": f.error or None,
            }
            for f in v.files
            if f.export_type != BASE_TYPE
        ],
        "background_job": v.background_job,
    }
    if with_options:
        out.update(v.options)
    return out


def project(p: Project, actor: Actor, counts: ProjectCounts | None = None) -> dict[str, Any]:
    """A project; its ground-truth counts only for roles that may see ground truth."""
    counts = counts or ProjectCounts()
    try:
        parsed = parse_label_config(p.label_config).parsed_label_config()
    except LabelConfigError:
        parsed = {}
    out = {
        "id": p.id,
        "title": p.title,
        "description": p.description,
        "label_config": p.label_config,
        "parsed_label_config": parsed,
        "expert_instruction": p.expert_instruction,
        "show_instruction": bool(p.expert_instruction),
        "color": p.color,
        "created_by": {"id": p.created_by_id} if p.created_by_id else None,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "is_published": True,
        "is_draft": False,
        "maximum_annotations": 1,
        "show_collab_predictions": p.show_collab_predictions,
        "model_version": p.model_version,
        "task_number": counts.task_number,
        "num_tasks_with_annotations": counts.num_tasks_with_annotations,
        "total_annotations_number": counts.total_annotations_number,
        "total_predictions_number": counts.total_predictions_number,
        "finished_task_number": counts.num_tasks_with_annotations,
        "visibility": p.visibility,
    }
    if actor.may(Action.DASHBOARD_VIEW):
        out["hourly_rate"] = p.hourly_rate
    if sees_ground_truth(actor):
        coverage = (
            100 * counts.ground_truth_number / counts.task_number if counts.task_number else 0.0
        )
        out.update(
            ground_truth_number=counts.ground_truth_number,
            done_number=counts.done_number,
            empty_number=counts.empty_number,
            ground_truth_coverage=round(coverage, 2),
        )
    return out


def saved_view(v: SavedView, actor: Actor) -> dict[str, Any]:
    """A saved Data Manager filter (Label Studio's view, plus `scope`: personal | project, and
    `can_change`: whether the caller may rename, refilter or delete it)."""
    return {
        "id": v.id,
        "project": v.project_id,
        "user": v.owner_id,
        "scope": v.scope,
        "data": v.data,
        "can_change": saved_views.may_change(actor, v),
        "created_at": iso(v.created_at),
        "updated_at": iso(v.updated_at),
    }


def review(r: Review, seen: SeenTasks = AS_THEY_ARE, job_id: int | None = None) -> dict[str, Any]:
    """A review; its task as `seen` names it (`job_id`: the reviewed annotation's job)."""
    return {
        "id": r.id,
        "annotation": r.annotation_id,
        "task": seen.id_of(r.task_id, job_id),
        "project": r.project_id,
        "created_by": r.reviewer_id,
        "action": r.action,
        "accepted": r.action != "reject",
        "reason": r.reason,
        "comment": r.comment,
        "reviewed_revision": r.reviewed_revision,
        "fixed_revision": r.fixed_revision,
        "created_at": iso(r.created_at),
        "undone_at": iso(r.undone_at),
        "undone_by": r.undone_by_id,
        "superseded_at": iso(r.superseded_at),  # answered by a resubmission
    }


def gt_change(c: GroundTruthChange) -> dict[str, Any]:
    return {
        "id": c.id,
        "project": c.project_id,
        "task": c.task_id,
        "action": c.action,
        "from_annotation": c.from_annotation_id,
        "to_annotation": c.to_annotation_id,
        "revision": c.revision,
        "guideline_version": c.guideline_version,
        "changed_by": c.changed_by_id,
        "changed_at": iso(c.changed_at),
        "note": c.note,
    }


def revision(r: AnnotationRevision, actor: Actor) -> dict[str, Any]:
    out: dict[str, Any] = {
        "annotation": r.annotation_id,
        "revision": r.revision,
        "action": r.action,
        "result": r.result,
        "was_cancelled": r.was_cancelled,
        "guideline_version": r.guideline_version,
        "changed_by": r.changed_by_id,
        "changed_at": iso(r.changed_at),
    }
    if sees_ground_truth(actor):
        out["ground_truth"] = r.ground_truth
    return out


def progress(p: JobProgress) -> dict[str, Any]:
    return {
        "total": p.total,
        "annotated": p.annotated,
        "annotated_percent": p.annotated_percent,
        "done": p.done,
        "done_percent": p.done_percent,
        "fully_annotated": p.fully_annotated,
    }


def job(v: JobView) -> dict[str, Any]:
    return {
        "id": v.job.id,
        "project": v.job.project_id,
        "title": v.job.title,
        "task_ids": v.task_ids,
        "assignees": v.assignee_ids,
        "replicas": v.job.replicas,
        "created_by": v.job.created_by_id,
        "created_at": iso(v.job.created_at),
        "accepted_at": iso(v.job.accepted_at),
        "accepted_by": v.job.accepted_by_id,
        "progress": progress(v.progress),
    }


def rejection(r: Rejection) -> dict[str, Any]:
    """Why rejected work came back to its annotator: the reject's reason, comment, reviewer."""
    who = r.reviewer
    name = (f"{who.first_name} {who.last_name}".strip() or who.email) if who else ""
    return {
        "review": r.review.id,
        "reason": r.review.reason,
        "comment": r.review.comment,
        "reviewer": {"id": r.review.reviewer_id, "name": name},
        "rejected_at": iso(r.review.created_at),
        "reviewed_revision": r.review.reviewed_revision,
    }


def reference(r: Reference) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "id": r.id,
        "title": r.title,
        "job": r.job_id,
        "annotator": r.annotator_id,
        "model_version": r.model_version,
        "score": r.score,
        "result": r.result,
    }


def stage_state(state: StageState, actor: Actor) -> dict[str, Any]:
    """The GT stage's answer: the current task with its starting regions, or completion."""
    out: dict[str, Any] = {"job": state.job.id, "progress": progress(state.progress)}
    if state.current is None:
        out.update(complete=True, task=None, counts=state.counts)
        return out
    cur = state.current
    out.update(
        complete=False,
        task=task(cur.task, actor),
        annotations=[annotation(a, actor) for a in cur.annotations],
        start_from=cur.start_annotator,
        ground_truth=annotation(cur.ground_truth, actor) if cur.ground_truth else None,
        regions=cur.start_regions,
    )
    return out
