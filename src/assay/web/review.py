"""The review stream page: a reviewer accepts, fixes & accepts, or rejects annotations one at
a time, in the order they choose.

The page is plain JS (static/review.js, with the editor's panes and tools from
static/editor_*.js) over the JSON API: `GET /api/projects/{id}/review/next`, `POST
/api/annotations/{id}/reviews`, `GET /api/annotations/{id}/quality`. This module renders the
shell and what the script needs to start. Who may review is decided by services.review, as
for the API: annotators get the 403 page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from assay.http.params import Id
from assay.services import authors, projects, review, review_settings
from assay.services.access import Action, Role
from assay.services.checks import MAX_ID, is_id
from assay.services.errors import Invalid
from assay.web.common import PageRoute, config_of, label_colours, reading, render
from assay.web.editor_setup import editor_setup

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ORDER_TITLES = {
    "task": "Task id",
    "annotator": "Annotator",
    "agreement": "Lowest pairwise agreement first",
    "confidence": "Lowest model confidence first",
    "accuracy": "Lowest accuracy vs GT first",
}


def _user_id(value: str | None) -> int | None:
    if not value:
        return None
    user_id = int(value) if value.isdigit() and len(value) <= len(str(MAX_ID)) else None
    if not is_id(user_id):
        raise Invalid.field("annotator", "must be a user id")
    return user_id


@router.get("/projects/{project_id}/review")
def review_page(
    request: Request,
    project_id: Id,
    order: str = Query("task"),
    annotator_: str | None = Query(None, alias="annotator"),
    tasks_: str | None = Query(None, alias="tasks"),
) -> Response:
    """The review stream of a project, optionally limited to one annotator or some tasks.

    `annotator` may be empty (the form's "Everyone"); `tasks` is the data manager's selection.
    """
    subset = review.task_subset(tasks_)
    annotator = _user_id(annotator_)
    with reading(request) as (s, actor):
        # the service checks the role and the order; its counts give the first progress
        first = review.next_for_review(s, actor, project_id, order, annotator, subset)
        project = projects.get_project(s, actor, project_id)
        config = config_of(project)
        setup = editor_setup(config)
        members = projects.list_members(s, actor, project_id)
        annotators = [u for u in members if u.role == Role.ANNOTATOR]
        people = authors.emails_of(s, [u.id for u in members] + [actor.id])
        if first.annotation is not None:
            people.update(authors.emails_of(s, [first.annotation.completed_by_id]))
        image_key = setup["image_key"] if setup else (config.image_key() if config else None)
        payload: dict[str, Any] = {
            "project": project.id,
            "order": order,
            "annotator": annotator,
            "tasks": subset,
            "control": setup["control"] if setup else None,
            "labels": setup["labels"] if setup else [],
            "tools": setup["tools"] if setup else [],
            "fields": setup["fields"] if setup else [],
            "colours": label_colours(config),
            "image_key": image_key,
            "people": {str(uid): email for uid, email in people.items()},
            "sees_quality": actor.may(Action.QUALITY_VIEW),
            "urls": {
                "next": f"/api/projects/{project.id}/review/next",
                "review": "/api/annotations/{annotation}/reviews",
                "undo": "/api/reviews/{review}/undo",
                "quality": "/api/annotations/{annotation}/quality",
                "project": f"/projects/{project.id}",
            },
        }
        reasons = review_settings.get_settings(s, actor, project_id).reject_reasons
        context = {
            "title": f"Review · {project.title or f'Project {project.id}'}",
            "reasons": [*reasons, review_settings.OTHER],
            "project": project,
            "payload": payload,
            "orders": ORDER_TITLES,
            "order": order,
            "annotators": annotators,
            "annotator": annotator,
            "subset": subset,
            "first": {"total": first.total, "reviewed": first.total - first.remaining},
            "can_fix": setup is not None,
        }
        return render(request, "review.html", context, actor)
