"""People and project members: the pages behind `/api/users/` and `/api/projects/{id}/members`.

`GET /people` lists users for admins and leads (services.users decides who may); admins add
people (the new API token is shown once, on the answer to that POST), change roles and
deactivate or reactivate them. `GET /projects/{id}/members` lists a project's members; those
who may manage members add people by email and remove them (labels stay); the annotators'
evaluation standing is shown to those who may read it (services.evaluation), and leads pause
(with a reason) and unpause annotators there. Every POST carries
the session's CSRF token. A rule the service refuses (the last active admin, a taken or
malformed email, an unknown person) comes back as the page with the service's sentence;
Forbidden and NotFound about the page itself stay the plain error page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from assay.http.params import Id
from assay.services import evaluation, projects, users
from assay.services.access import Action, Role
from assay.services.errors import AssayError, Forbidden, Unauthorized
from assay.web.common import PageRoute, reading, render, writing

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ROLES = tuple(r.value for r in Role)
ACTIVE_FILTERS = ((None, "Everyone"), (True, "Active"), (False, "Deactivated"))


def _shown(exc: AssayError) -> bool:
    """Whether the page shows the error itself (else the plain error page does)."""
    return not isinstance(exc, (Forbidden, Unauthorized))


def _url(path: str, **params: Any) -> str:
    kept = {k: ("true" if v is True else "false" if v is False else v) for k, v in params.items()}
    kept = {k: v for k, v in kept.items() if v is not None}
    return f"{path}?{urlencode(kept)}" if kept else path


def _filter(label: str, current: bool, role: str | None, active: bool | None) -> dict[str, Any]:
    return {"label": label, "current": current, "url": _url("/people", role=role, active=active)}


def _people(
    request: Request,
    role: str | None = None,
    active: bool | None = None,
    *,
    error: str | None = None,
    created: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with reading(request) as (s, actor):
        rows = users.list_users(s, actor, is_active=active, role=role)
        context = {
            "title": "People",
            "people": rows,
            "roles": ROLES,
            "manages": actor.may(Action.USERS_MANAGE),
            "role_filters": [
                _filter(r or "All roles", r == role, r, active) for r in (None, *ROLES)
            ],
            "active_filters": [_filter(label, a is active, role, a) for a, label in ACTIVE_FILTERS],
            "error": error,
            "created": created,
            "form": form or {"email": "", "role": Role.ANNOTATOR.value},
        }
        return render(request, "people.html", context, actor, status_code)


@router.get("/people")
def people_page(
    request: Request, role: str | None = Query(None), active: bool | None = Query(None)
) -> Response:
    """Everyone with an account, filtered by role and by active."""
    return _people(request, role or None, active)


@router.post("/people")
def add_person(
    request: Request,
    email: str = Form(""),
    role: str = Form(Role.ANNOTATOR.value),
    password: str = Form(""),
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    """Add a user; the answer shows their API token, this once."""
    try:
        with writing(request, submitted_csrf) as (s, actor):
            user, token = users.add_user(s, actor, email, role, password=password or None)
            created = {"email": user.email, "role": user.role, "token": token}
    except AssayError as exc:
        if not _shown(exc):
            raise
        form = {"email": email, "role": role}
        return _people(request, error=exc.detail, form=form, status_code=exc.status_code)
    return _people(request, created=created)


def _change(request: Request, submitted_csrf: str, user_id: int, **change: Any) -> Response:
    try:
        with writing(request, submitted_csrf) as (s, actor):
            users.update_user(s, actor, user_id, **change)
    except AssayError as exc:
        if not _shown(exc):
            raise
        return _people(request, error=exc.detail, status_code=exc.status_code)
    return RedirectResponse("/people", status_code=303)


@router.post("/people/{user_id}/role")
def change_role(
    request: Request,
    user_id: Id,
    role: str = Form(""),
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    return _change(request, submitted_csrf, user_id, role=role)


@router.post("/people/{user_id}/active")
def change_active(
    request: Request,
    user_id: Id,
    active: bool = Form(...),
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    """Deactivate (`active=false`) or bring back (`active=true`); nobody is deleted."""
    return _change(request, submitted_csrf, user_id, is_active=active)


def members_url(project_id: int) -> str:
    return f"/projects/{project_id}/members"


def _members(
    request: Request,
    project_id: int,
    *,
    error: str | None = None,
    email: str = "",
    status_code: int = 200,
) -> Response:
    with reading(request) as (s, actor):
        project = projects.get_project(s, actor, project_id)
        members = projects.list_members(s, actor, project_id)
        manages = actor.may(Action.MEMBERS_MANAGE)
        ids = {u.id for u in members}
        candidates = (
            [u.email for u in users.list_users(s, actor, is_active=True) if u.id not in ids]
            if manages
            else []
        )
        standing = (
            {st.user_id: st for st in evaluation.standings(s, actor, project_id)}
            if actor.may(Action.EVALUATION_VIEW)
            else None
        )
        added = request.query_params.get("added")
        notice = None
        if added is not None:
            notice = next((f"Added {u.email}." for u in members if str(u.id) == added), None)
        elif "removed" in request.query_params:
            notice = "Removed from the project; their labels stay."
        elif "paused" in request.query_params:
            notice = "Paused: they keep reading their work but take no new tasks."
        elif "unpaused" in request.query_params:
            notice = "Unpaused: they can take tasks again."
        context = {
            "title": f"Members · {project.title or f'Project {project.id}'}",
            "project": project,
            "members": members,
            "manages": manages,
            "standing": standing,
            "pauses": actor.may(Action.EVALUATION_MANAGE),
            "candidates": candidates,
            "me": actor.id,
            "error": error,
            "notice": notice,
            "email": email,
        }
        return render(request, "members.html", context, actor, status_code)


@router.get("/projects/{project_id}/members")
def members_page(request: Request, project_id: Id) -> Response:
    return _members(request, project_id)


@router.post("/projects/{project_id}/members")
def add_member(
    request: Request,
    project_id: Id,
    email: str = Form(""),
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    """Add the person with this email to the project."""
    try:
        with writing(request, submitted_csrf) as (s, actor):
            projects.get_project(s, actor, project_id)
            user = users.find_by_email(s, actor, email)
            projects.add_member(s, actor, project_id, user.id)
            user_id = user.id
    except AssayError as exc:
        if not _shown(exc):
            raise
        return _members(
            request, project_id, error=exc.detail, email=email, status_code=exc.status_code
        )
    return RedirectResponse(f"{members_url(project_id)}?added={user_id}", status_code=303)


@router.post("/projects/{project_id}/members/{user_id}/remove")
def remove_member(
    request: Request,
    project_id: Id,
    user_id: Id,
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    try:
        with writing(request, submitted_csrf) as (s, actor):
            projects.remove_member(s, actor, project_id, user_id)
    except AssayError as exc:
        if not _shown(exc):
            raise
        return _members(request, project_id, error=exc.detail, status_code=exc.status_code)
    return RedirectResponse(f"{members_url(project_id)}?removed=1", status_code=303)


@router.post("/projects/{project_id}/members/{user_id}/pause")
def pause_member(
    request: Request,
    project_id: Id,
    user_id: Id,
    reason: str = Form(""),
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    """Pause an annotator of the project, with the reason they will be shown."""
    try:
        with writing(request, submitted_csrf) as (s, actor):
            evaluation.pause_member(s, actor, project_id, user_id, reason)
    except AssayError as exc:
        if not _shown(exc):
            raise
        return _members(request, project_id, error=exc.detail, status_code=exc.status_code)
    return RedirectResponse(f"{members_url(project_id)}?paused={user_id}", status_code=303)


@router.post("/projects/{project_id}/members/{user_id}/unpause")
def unpause_member(
    request: Request,
    project_id: Id,
    user_id: Id,
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    """Unpause: the pause is kept in the project's list, closed by the actor."""
    try:
        with writing(request, submitted_csrf) as (s, actor):
            evaluation.unpause_member(s, actor, project_id, user_id)
    except AssayError as exc:
        if not _shown(exc):
            raise
        return _members(request, project_id, error=exc.detail, status_code=exc.status_code)
    return RedirectResponse(f"{members_url(project_id)}?unpaused={user_id}", status_code=303)
