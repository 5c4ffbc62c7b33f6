"""Saved Data Manager filters: Label Studio's `/api/dm/views`, personal or project-wide
(`services.views.saved_views` has the rules)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services.errors import Invalid
from assay.services.views import saved_views

router = APIRouter(prefix="/api/dm/views", tags=["data manager"])


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: Any = None
    data: Any = None
    scope: Any = None


@router.get("")
def list_views(
    project: Id | None = Query(None), ctx: Ctx = Depends(context)
) -> list[dict[str, Any]]:
    """The project's project-wide views and the caller's own."""
    if project is None:
        raise Invalid.field("project", "is required: the id of the project whose views to list")
    with ctx.read() as s:
        return [
            serializers.saved_view(v, ctx.actor)
            for v in saved_views.list_views(s, ctx.actor, project)
        ]


@router.post("", status_code=201)
def create_view(body: ViewIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """A view: `data` (title, filters, ordering), `scope` personal (default) or project."""
    with ctx.write() as s:
        scope = body.scope if body.scope is not None else saved_views.PERSONAL
        view = saved_views.create_view(s, ctx.actor, body.project, body.data, scope)
        return serializers.saved_view(view, ctx.actor)


@router.get("/{view_id}")
def get_view(view_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return serializers.saved_view(saved_views.get_view(s, ctx.actor, view_id), ctx.actor)


@router.patch("/{view_id}")
def update_view(view_id: Id, body: ViewIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """Replace `data` and/or change `scope`; `project` cannot change."""
    sent = body.model_dump(exclude_unset=True)
    if "project" in sent:
        raise Invalid.field("project", "a view stays in its project")
    with ctx.write() as s:
        view = saved_views.update_view(s, ctx.actor, view_id, **sent)
        return serializers.saved_view(view, ctx.actor)


@router.delete("/{view_id}", status_code=204)
def delete_view(view_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        saved_views.delete_view(s, ctx.actor, view_id)
    return Response(status_code=204)
