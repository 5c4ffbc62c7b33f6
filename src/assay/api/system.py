"""Health, version and the current user."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel

from assay import __version__
from assay.api import serializers
from assay.http.context import Ctx, context
from assay.services import users

router = APIRouter()


@router.get("/health", tags=["system"])
def health() -> dict[str, str]:
    return {"status": "UP"}


@router.get("/api/version", tags=["system"])
def version() -> dict[str, object]:
    return {
        "release": __version__,
        "assay": {"version": __version__},
        "label-studio-os-package": {"version": "1.23.0"},
        "label-studio-os-backend": {"version": "1.23.0"},
        "edition": "Community",
    }


@router.get("/api/current-user/whoami", tags=["users"])
def whoami(ctx: Ctx = Depends(context)) -> dict[str, object]:
    with ctx.read() as s:
        return serializers.user(users.get_user(s, ctx.actor.id))


@router.post("/api/current-user/reset-token", tags=["users"])
def reset_token(ctx: Ctx = Depends(context)) -> dict[str, str]:
    with ctx.write() as s:
        return {"token": users.reset_token(s, ctx.actor.id)}


class PasswordChange(BaseModel):
    current_password: str
    new_password: str


@router.post("/api/current-user/password", tags=["users"], status_code=204)
def change_password(body: PasswordChange, ctx: Ctx = Depends(context)) -> Response:
    """A new password for yourself; the current one must be given. Ends your other web
    sessions; your API token stays."""
    with ctx.write() as s:
        users.change_password(
            s,
            ctx.actor,
            body.current_password,
            body.new_password,
            keep_session=ctx.credentials.session_key,
        )
    return Response(status_code=204)
