"""The job feedback page: an annotator hands in a job and sees the result at once.

`GET /jobs/{id}/feedback` shows the caller's own attempts (status, score against the target,
up to three hints); its form posts to `POST /jobs/{id}/submit`, which calls the same service
as `POST /api/jobs/{id}/submit` and comes back here. Nothing on the page says which tasks
were honeypots: services.honeypots gives an annotator only the score and the hints.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from assay.http.params import Id
from assay.services import jobs, projects
from assay.web.common import PageRoute, reading, render, writing

router = APIRouter(route_class=PageRoute, include_in_schema=False)

STATUS_TITLES = {
    "open": "Not handed in yet",
    "accepted": "Accepted",
    "needs_fixes": "Needs fixes",
    "to_lead": "Sent to a lead",
}


@router.get("/jobs/{job_id}/feedback")
def feedback_page(request: Request, job_id: Id) -> Response:
    with reading(request) as (s, actor):
        fb = jobs.feedback(s, actor, job_id)
        project = projects.get_project(s, actor, fb.job.project_id)
        progress = jobs.job_progress(s, [fb.job.id], actor)[fb.job.id]
        latest = fb.attempts[-1] if fb.attempts else None
        context = {
            "title": f"Feedback · {fb.job.title or f'Job {fb.job.id}'}",
            "project": project,
            "job": fb.job,
            "fb": fb,
            "latest": latest,
            "status_title": STATUS_TITLES[fb.status],
            "progress": progress,
            "error": request.query_params.get("error"),
        }
        return render(request, "job_feedback.html", context, actor)


@router.post("/jobs/{job_id}/submit")
def submit(
    request: Request, job_id: Id, submitted_csrf: str = Form("", alias="csrf_token")
) -> Response:
    with writing(request, submitted_csrf) as (s, actor):
        jobs.submit_job(s, actor, job_id)
    return RedirectResponse(f"/jobs/{job_id}/feedback", status_code=303)
