"""The annotate page: an assignee works through their queue of a job in the box editor.

`GET /jobs/{id}/annotate` renders the editor's shell (the GT stage's editor modules, see
static/annotate.js) and what it needs to start: the box control, its labels and colours, the
task data key of the image, the job's size and the tasks the person already worked on in it
(where Back goes), and the project's guideline in force with what changed since the person
last read it (its Markdown shown as escaped text). Everything else is the JSON API the
annotator's API clients use: `GET /api/jobs/{id}/next`, `POST /api/tasks/{id}/annotations`
with `job`, `PATCH /api/annotations/{id}`, `POST /api/jobs/{id}/submit`,
`GET /api/jobs/{id}/feedback`, `POST /api/tasks/{id}/edge-cases` (Flag as ambiguous),
`POST /api/projects/{id}/guidelines/read`.
Nothing here knows which tasks are honeypots: the page and its requests are the same for
every task. Who may open it is decided by services.jobs (its assignees only).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.http.params import Id
from assay.services import guidelines, jobs, projects
from assay.store.models import Job
from assay.web.common import PageRoute, config_of, reading, render
from assay.web.editor_setup import editor_setup, nothing_to_edit
from assay.web.feedback import STATUS_TITLES

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/jobs/{job_id}/annotate")
def annotate_page(request: Request, job_id: Id) -> Response:
    with reading(request) as (s, actor):
        job = jobs.job_to_annotate(s, actor, job_id)
        project = projects.get_project(s, actor, job.project_id)
        config = config_of(project)
        setup = editor_setup(config)
        context: dict[str, Any] = {
            "title": f"Annotate · {_job_title(job)}",
            "project": project,
            "job": job,
            "payload": None,
            "blocked": None,
            "guideline": guidelines.guideline_view(s, actor, project.id, 1, 1),
        }
        if setup is None:
            context["blocked"] = nothing_to_edit(
                "the annotate page has nothing to draw. Use the API or a Label Studio client."
            )
            return render(request, "annotate.html", context, actor, status_code=409)
        context["payload"] = {
            "job": {"id": job.id, "title": _job_title(job)},
            "me": actor.id,
            **setup,
            "total": jobs.job_progress(s, [job.id], actor)[job.id].total,
            "worked_on": jobs.worked_on(s, actor, job.id),
            "status_titles": STATUS_TITLES,
            "urls": _api_urls(job)
            | {
                "guideline_read": f"/api/projects/{project.id}/guidelines/read",
                "my_edge_cases": f"/api/projects/{project.id}/edge-cases?task={{task}}",
            },
        }
        return render(request, "annotate.html", context, actor)


def _api_urls(job: Job) -> dict[str, str]:
    """The JSON API the page calls; `{task}` and `{annotation}` stand for the current ids."""
    return {
        "next": f"/api/jobs/{job.id}/next",
        "task": "/api/tasks/{task}",
        "annotations": "/api/tasks/{task}/annotations",
        "annotation": "/api/annotations/{annotation}",
        "submit": f"/api/jobs/{job.id}/submit",
        "feedback": f"/api/jobs/{job.id}/feedback",
        "feedback_page": f"/jobs/{job.id}/feedback",
        "edge_cases": "/api/tasks/{task}/edge-cases",
    }


def _job_title(job: Job) -> str:
    return job.title or f"Job {job.id}"
