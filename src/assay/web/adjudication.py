"""The adjudication page: a lead walks the project's adjudication queue (tasks whose consensus
tied or agreed too little), edits the consensus boxes and saves the result as ground truth.

The page is plain JS (static/adjudication.js, with the editor's panes, tools and compare tabs
from static/editor_*.js) over the JSON API: `GET /api/projects/{id}/adjudication/next` and
`POST /api/tasks/{id}/adjudicate`. This module renders the shell and what the script needs to
start. Who may adjudicate is decided by services.consensus, as for the API: everyone but leads
and admins gets the 403 page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.http.params import Id
from assay.services import authors, consensus, projects
from assay.web.common import PageRoute, config_of, label_colours, reading, render
from assay.web.editor_setup import editor_setup, nothing_to_edit

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def adjudication_url(project_id: int) -> str:
    return f"/projects/{project_id}/adjudication"


@router.get("/projects/{project_id}/adjudication")
def adjudication_page(request: Request, project_id: Id) -> Response:
    """The editor over the adjudication queue, lowest consensus support (and tied votes) first."""
    with reading(request) as (s, actor):
        remaining = consensus.waiting_count(s, actor, project_id)  # the role check
        project = projects.get_project(s, actor, project_id)
        config = config_of(project)
        setup = editor_setup(config)
        members = projects.list_members(s, actor, project_id)
        people = authors.emails_of(s, [u.id for u in members] + [actor.id])
        payload: dict[str, Any] | None = None
        if setup is not None:
            payload = {
                "project": project.id,
                **setup,
                "colours": label_colours(config),
                "people": {str(uid): email for uid, email in people.items()},
                "urls": {
                    "next": f"/api/projects/{project.id}/adjudication/next",
                    "adjudicate": "/api/tasks/{task}/adjudicate",
                    "project": f"/projects/{project.id}",
                },
            }
        context = {
            "title": f"Adjudication · {project.title or f'Project {project.id}'}",
            "project": project,
            "payload": payload,
            "remaining": remaining,
            "blocked": (None if payload else nothing_to_edit("adjudication has nothing to edit.")),
        }
        return render(request, "adjudication.html", context, actor, 200 if payload else 409)
