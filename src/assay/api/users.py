"""Users: Label Studio's /api/users paths and shapes. Only admins manage users; everyone may
read and change their own name and password. DELETE deactivates (users carry labels)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services import users

router = APIRouter(prefix="/api/users", tags=["users"])


class UserIn(BaseModel):
    """A new user. Label Studio fields assay does not keep (phone, newsletters) are ignored."""

    model_config = ConfigDict(extra="ignore")

    email: str
    role: str = "annotator"
    password: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class UserChange(BaseModel):
    """Fields to change; absent or null fields stay as they are."""

    model_config = ConfigDict(extra="ignore")

    email: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    role: str | None = None
    is_active: bool | None = None
    password: str | None = None
    current_password: str | None = None


@router.get("")
def list_users(
    is_active: bool | None = Query(None, description="Only active (true) or inactive (false)."),
    role: str | None = Query(None, description="Only this role."),
    ordering: str = Query("id", description="A field name; '-' first for descending."),
    ctx: Ctx = Depends(context),
) -> list[dict[str, Any]]:
    with ctx.read() as s:
        rows = users.list_users(s, ctx.actor, is_active=is_active, role=role, ordering=ordering)
        return [serializers.user(u) for u in rows]


@router.post("", status_code=201)
def create_user(body: UserIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    """The new user with its API `token`: the only time the token can be read."""
    with ctx.write() as s:
        user, token = users.add_user(
            s,
            ctx.actor,
            body.email,
            body.role,
            password=body.password,
            first_name=body.first_name or "",
            last_name=body.last_name or "",
            username=body.username,
        )
        return {**serializers.user(user), "token": token}


@router.get("/{user_id}")
def get_user(user_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return serializers.user(users.view_user(s, ctx.actor, user_id))


@router.patch("/{user_id}")
def update_user(user_id: Id, body: UserChange, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        user = users.update_user(
            s,
            ctx.actor,
            user_id,
            **body.model_dump(exclude_none=True),
            keep_session=ctx.credentials.session_key,
        )
        return serializers.user(user)


@router.delete("/{user_id}", status_code=204)
def deactivate_user(user_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        users.deactivate_user(s, ctx.actor, user_id)
    return Response(status_code=204)
