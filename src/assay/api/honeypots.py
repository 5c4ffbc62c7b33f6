"""Honeypots (pool, settings, rotation reports), job submit with immediate feedback, and
sampling the ground-truth set."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services import honeypots, jobs
from assay.services.access import Actor, sees_honeypots
from assay.services.ground_truth import sampling as gt_sampling
from assay.store.models import JobSubmission

router = APIRouter(prefix="/api", tags=["honeypots"])


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    fraction: Any = None
    count: Any = None
    strategy: Any = "random"
    strata: Any = None
    seed: Any = None
    min_per_stratum: Any = 0
    title: Any = None
    assignees: Any = None
    task_ids: Any = None


def _settings(cfg: honeypots.HoneypotSettings) -> dict[str, Any]:
    return cfg.to_json()


def _attempt(sub: JobSubmission, actor: Actor) -> dict[str, Any]:
    """One attempt; which tasks were honeypots (`details`) only for leads and admins."""
    out: dict[str, Any] = {
        "attempt": sub.attempt,
        "status": sub.status,
        "score": sub.score,
        "target": sub.target,
        "hints": sub.hints,
        "submitted_at": serializers.iso(sub.submitted_at),
    }
    if sees_honeypots(actor):
        out.update(
            id=sub.id,
            job=sub.job_id,
            annotator=sub.user_id,
            honeypots=sub.honeypots,
            details=[{"task": t, "accuracy": a} for t, a in sub.details],
        )
    return out


def _feedback(fb: jobs.Feedback, actor: Actor) -> dict[str, Any]:
    latest = fb.attempts[-1] if fb.attempts else None
    return {
        "job": fb.job.id,
        "status": fb.status,
        "score": latest.score if latest else None,
        "target": latest.target if latest else None,
        "hints": latest.hints if latest else [],
        "attempt": len(fb.attempts),
        "max_attempts": fb.max_attempts,
        "attempts_left": fb.attempts_left,
        "attempts": [_attempt(a, actor) for a in fb.attempts],
    }


@router.get("/projects/{project_id}/honeypot-settings")
def get_settings(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return _settings(honeypots.get_settings(s, ctx.actor, project_id))


@router.patch("/projects/{project_id}/honeypot-settings")
def update_settings(
    project_id: Id, body: dict[str, Any] = Body(default_factory=dict), ctx: Ctx = Depends(context)
) -> dict[str, Any]:
    """`per_job` (count or fraction 0-1), `max_exposures`, `difficulty_mix` (sums to 1),
    `min_pool_size`, `max_attempts`."""
    with ctx.write() as s:
        return _settings(honeypots.update_settings(s, ctx.actor, project_id, **body))


@router.get("/projects/{project_id}/honeypots")
def pool(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Every honeypot: difficulty, exposures, annotators' accuracy on it, retired, in pool."""
    with ctx.read() as s:
        rows = honeypots.pool_report(s, ctx.actor, project_id)
        return {
            "count": len(rows),
            "results": [
                {
                    "task": r.task_id,
                    "difficulty": r.difficulty,
                    "difficulty_source": "set" if r.difficulty_set else "derived",
                    "exposures": r.exposures,
                    "scored": r.scored,
                    "accuracy": r.accuracy,
                    "retired": r.retired,
                    "in_pool": r.in_pool,
                    "added_at": serializers.iso(r.added_at),
                }
                for r in rows
            ],
        }


@router.patch("/projects/{project_id}/honeypots/{task_id}")
def update_honeypot(
    project_id: Id,
    task_id: Id,
    body: dict[str, Any] = Body(default_factory=dict),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """`difficulty` (easy, medium, hard or null = derived), `retired: false` restores,
    `in_pool`."""
    with ctx.write() as s:
        h = honeypots.update_honeypot(s, ctx.actor, project_id, task_id, **body)
        return {
            "task": h.task_id,
            "difficulty": h.difficulty,
            "retired": h.retired_at is not None,
            "in_pool": h.removed_at is None,
        }


@router.get("/projects/{project_id}/honeypots/health")
def pool_health(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        h = honeypots.pool_health(s, ctx.actor, project_id)
        return {
            "active": h.active_total,
            "by_difficulty": h.active,
            "retired": h.retired,
            "removed": h.removed,
            "share_retired": h.share_retired,
            "min_pool_size": h.min_pool_size,
            "low": h.active_total < h.min_pool_size,
            "warnings": h.warnings,
        }


@router.get("/projects/{project_id}/honeypots/annotators")
def annotators(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Per annotator: accuracy on honeypots overall and per week, and every job attempt."""
    with ctx.read() as s:
        rows = honeypots.annotator_report(s, ctx.actor, project_id)
        return {
            "results": [
                {
                    "annotator": r.user_id,
                    "scored": r.scored,
                    "accuracy": r.accuracy,
                    "weeks": [
                        {"week": w.isoformat(), "scored": n, "accuracy": a} for w, n, a in r.weeks
                    ],
                    "attempts": [_attempt(a, ctx.actor) for a in r.attempts],
                }
                for r in rows
            ]
        }


@router.get("/jobs/{job_id}/honeypots")
def job_honeypots(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        rows = jobs.list_job_honeypots(s, ctx.actor, job_id)
        return {
            "job": job_id,
            "results": [
                {"task": r.task_id, "position": r.position, "difficulty": r.difficulty}
                for r in rows
            ],
        }


@router.post("/jobs/{job_id}/honeypots/reroll")
def reroll(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """A fresh choice of honeypots for a job nobody has started; 409 once it has annotations."""
    with ctx.write() as s:
        chosen = jobs.reroll(s, ctx.actor, job_id)
        view = jobs.views_of(s, [jobs.get_job(s, ctx.actor, job_id)], ctx.actor)[0]
        return {"job": serializers.job(view), "honeypots": chosen}


@router.post("/jobs/{job_id}/submit")
def submit(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """The assignee hands in the job: its honeypots are scored; below the project's target
    the job comes back as `needs_fixes` with hints, after `max_attempts` it goes `to_lead`."""
    with ctx.write() as s:
        return _feedback(jobs.submit_job(s, ctx.actor, job_id), ctx.actor)


@router.get("/jobs/{job_id}/feedback")
def feedback(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """The caller's own attempts at the job: status, score, hints."""
    with ctx.read() as s:
        return _feedback(jobs.feedback(s, ctx.actor, job_id), ctx.actor)


@router.get("/jobs/{job_id}/submissions")
def submissions(job_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Every attempt of every assignee, with the per-honeypot scores (leads and admins)."""
    with ctx.read() as s:
        subs = jobs.submissions(s, ctx.actor, job_id)
        return {"count": len(subs), "results": [_attempt(a, ctx.actor) for a in subs]}


@router.post("/projects/{project_id}/ground-truth/sample", status_code=201)
def sample(project_id: Id, body: SampleIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Sample the GT set (random or stratified, reproducible by `seed`) into a new job."""
    with ctx.write() as s:
        smp = gt_sampling.sample_ground_truth(
            s, ctx.actor, project_id, **body.model_dump(exclude_unset=False)
        )
        return {
            "job": serializers.job(jobs.views_of(s, [smp.job], ctx.actor)[0]),
            "task_ids": smp.task_ids,
            "sampled": len(smp.task_ids),
            "population": smp.population,
            "project_tasks": smp.project_tasks,
            "share": smp.share,
            "strategy": smp.strategy,
            "strata_by": smp.strata_by,
            "strata": [
                {
                    "stratum": r.key,
                    "population": r.population,
                    "expected": r.expected,
                    "sampled": r.sampled,
                    "oversampled": r.oversampled,
                }
                for r in smp.strata
            ],
            "seed": smp.seed,
            "warnings": smp.warnings,
        }
