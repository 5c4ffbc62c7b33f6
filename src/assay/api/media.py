"""Local images under the media root, for the users who may see a task showing them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from assay.http.context import Ctx, context
from assay.services.tasks.media import authorize_media_file, resolve_media_path

router = APIRouter(tags=["media"])


@router.get("/data/media/{path:path}")
def media_file(path: str, request: Request, ctx: Ctx = Depends(context)) -> FileResponse:
    root = request.app.state.settings.resolved_media_root
    with ctx.read() as s:
        authorize_media_file(s, ctx.actor, path)
    return FileResponse(
        resolve_media_path(root, path), headers={"Cache-Control": "private, max-age=3600"}
    )
