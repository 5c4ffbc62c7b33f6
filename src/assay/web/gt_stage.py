"""The ground-truth stage pages: a project's job list, the editor of a job's GT stage and its
completion page.

The editor is plain JS (static/editor*.js) over the JSON API (`/api/jobs/{id}/ground-truth/...`,
`/api/tasks/{id}/references`); this page renders its shell and what it needs to start: the
box control's from_name/to_name, its labels and their colours, the task data key of the image.
Who may run the stage is decided by services.gt_stage, as for the API.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from assay.http.params import Id, PageNumber
from assay.services import authors, gt_stage, jobs, projects
from assay.services.access import Action, Actor, sees_ground_truth
from assay.services.errors import Conflict
from assay.store.models import Job, Project
from assay.web.common import (
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    PageRoute,
    config_of,
    pager,
    reading,
    render,
)
from assay.web.editor_setup import editor_setup, nothing_to_edit

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def stage_url(job_id: int) -> str:
    return f"/jobs/{job_id}/ground-truth"


def complete_url(job_id: int) -> str:
    return f"/jobs/{job_id}/ground-truth/complete"


def feedback_url(job_id: int) -> str:
    return f"/jobs/{job_id}/feedback"


def annotate_url(job_id: int) -> str:
    return f"/jobs/{job_id}/annotate"


@router.get("/projects/{project_id}/jobs")
def job_list(
    request: Request,
    project_id: Id,
    page: PageNumber = 1,
    page_size: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
) -> Response:
    """The project's jobs with their progress; leads and admins get the GT stage links."""
    with reading(request) as (s, actor):
        project = projects.get_project(s, actor, project_id)
        views, pg = jobs.list_jobs(s, actor, project_id, page, page_size)
        mine = [v.job.id for v in views if actor.id in v.assignee_ids]
        remaining = jobs.remaining_by_job(s, mine, actor.id)
        sees_people = actor.may(Action.JOBS_VIEW_ALL)
        emails = (
            authors.emails_of(s, {u for v in views for u in v.assignee_ids}) if sees_people else {}
        )
        rows = [
            {
                "job": v.job,
                "tasks": len(v.task_ids),
                "assignees": [emails.get(u, f"user {u}") for u in v.assignee_ids],
                "progress": v.progress,
                "stage": stage_url(v.job.id),
                "complete": complete_url(v.job.id),
                # an assignee hands the job in and sees the result there
                "feedback": feedback_url(v.job.id) if actor.id in v.assignee_ids else None,
                "annotate": annotate_url(v.job.id) if v.job.id in remaining else None,
                "started": remaining.get(v.job.id, 0) < len(v.task_ids),
            }
            for v in views
        ]
        context = {
            "title": f"Jobs · {_project_title(project)}",
            "project": project,
            "rows": rows,
            "sees_people": sees_people,
            "sees_gt": sees_ground_truth(actor),
            "runs_stage": actor.may(Action.GT_STAGE),
            # "New job" leads to the data manager, where the tasks are picked
            "new_job": f"/projects/{project.id}?new_job=1"
            if actor.may(Action.JOBS_MANAGE)
            else None,
            "pages": pager(request, pg),
        }
        return render(request, "jobs.html", context, actor)


@router.get("/jobs/{job_id}/ground-truth")
def stage_page(request: Request, job_id: Id, back: bool = Query(False)) -> Response:
    """The editor. At 100 % it sends the lead to the completion page, unless `back` asks to
    start from the last finished task (the completion page's "go back" link)."""
    with reading(request) as (s, actor):
        try:
            state = gt_stage.next_task(s, actor, job_id)
        except Conflict as exc:  # raised after the access check: the job is not ready
            return _blocked(request, s, actor, job_id, exc.detail)
        if state.current is None and not back:
            return RedirectResponse(complete_url(job_id), status_code=303)
        project = projects.get_project(s, actor, state.job.project_id)
        config = config_of(project)
        setup = editor_setup(config)
        if setup is None:
            detail = nothing_to_edit("the ground-truth editor has nothing to edit.")
            return _blocked(request, s, actor, job_id, detail)
        assignees = jobs.views_of(s, [state.job], actor)[0].assignee_ids
        payload = {
            "job": {"id": state.job.id, "title": _job_title(state.job)},
            **setup,
            "people": {
                str(uid): email
                for uid, email in authors.emails_of(s, [*assignees, actor.id]).items()
            },
            "start": "previous" if back else "next",
            "urls": _api_urls(state.job),
        }
        context = {
            "title": f"Ground truth · {_job_title(state.job)}",
            "project": project,
            "job": state.job,
            "payload": payload,
            "blocked": None,
        }
        return render(request, "gt_stage.html", context, actor)


@router.get("/jobs/{job_id}/ground-truth/complete")
def stage_complete(request: Request, job_id: Id) -> Response:
    """How the job's GT stage ended: tasks done, empty, still open, and GT regions."""
    with reading(request) as (s, actor):
        try:
            state = gt_stage.next_task(s, actor, job_id)
        except Conflict as exc:
            return _blocked(request, s, actor, job_id, exc.detail)
        project = projects.get_project(s, actor, state.job.project_id)
        context = {
            "title": f"Ground truth finished · {_job_title(state.job)}",
            "project": project,
            "job": state.job,
            "finished": state.current is None,
            "counts": state.counts or gt_stage.stage_counts(s, state.job),
            "progress": state.progress,
            "stage": stage_url(job_id),
        }
        return render(request, "gt_stage_complete.html", context, actor)


def _blocked(request: Request, s: Session, actor: Actor, job_id: int, detail: str) -> Response:
    """The editor page with a message instead of the editor, e.g. job not fully annotated."""
    job = jobs.get_job(s, actor, job_id)
    project = projects.get_project(s, actor, job.project_id)
    context = {
        "title": f"Ground truth · {_job_title(job)}",
        "project": project,
        "job": job,
        "payload": None,
        "blocked": detail,
    }
    return render(request, "gt_stage.html", context, actor, status_code=409)


def _api_urls(job: Job) -> dict[str, str]:
    """The JSON API the editor calls; `{task}` stands for the current task's id."""
    return {
        "next": f"/api/jobs/{job.id}/ground-truth/next",
        "previous": f"/api/jobs/{job.id}/ground-truth/previous",
        "done": "/api/tasks/{task}/ground-truth/done",
        "references": "/api/tasks/{task}/references",
        "complete": complete_url(job.id),
        "jobs": f"/projects/{job.project_id}/jobs",
    }


def _job_title(job: Job) -> str:
    return job.title or f"Job {job.id}"


def _project_title(project: Project) -> str:
    return project.title or f"Project {project.id}"
