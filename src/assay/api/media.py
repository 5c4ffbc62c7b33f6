"""Local images under the media root, for signed-in users only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from assay.api.deps import Ctx, context
from assay.services.media import resolve_media_path

router = APIRouter(tags=["media"])


@router.get("/data/media/{path:path}")
def media_file(path: str, request: Request, ctx: Ctx = Depends(context)) -> FileResponse:
    root = request.app.state.settings.resolved_media_root
    return FileResponse(
        resolve_media_path(root, path), headers={"Cache-Control": "private, max-age=3600"}
    )
