"""Local images under the media root, and their thumbnails, for the users who may see a task
showing them."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services.tasks.media import authorize_media_file, item_media_path, resolve_media_path
from assay.services.tasks.thumbnails import thumbnail, thumbnail_etag

router = APIRouter(tags=["media"])

CACHE = "private, max-age=3600"
_CACHE = {"Cache-Control": CACHE}


class _Undated(FileResponse):
    """A file without Last-Modified and ETag: an old import's files are older (honeypots)."""

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        self.headers.setdefault("content-length", str(stat_result.st_size))


@router.get("/data/media/{path:path}")
def media_file(path: str, request: Request, ctx: Ctx = Depends(context)) -> FileResponse:
    root = request.app.state.settings.resolved_media_root
    with ctx.read() as s:
        authorize_media_file(s, ctx.actor, path)
    return FileResponse(resolve_media_path(root, path), headers={"Cache-Control": CACHE})


@router.get(
    "/data/thumbnails/{path:path}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 304: {"description": "Not modified"}},
)
def thumbnail_file(path: str, request: Request, ctx: Ctx = Depends(context)) -> Response:
    """The JPEG thumbnail (256 px on the longest side) of `/data/media/{path}`, to whoever may
    load that image; 304 when If-None-Match names its ETag."""
    settings = request.app.state.settings
    with ctx.read() as s:
        authorize_media_file(s, ctx.actor, path)
    headers = {"Cache-Control": CACHE}
    _source, etag = thumbnail_etag(settings.resolved_media_root, path)
    asked = _etags(request.headers.get("if-none-match", ""))
    if etag in asked or "*" in asked:
        return Response(status_code=304, headers={**headers, "ETag": etag})
    thumb = thumbnail(settings.resolved_media_root, settings.resolved_thumbnail_root, path)
    return FileResponse(
        thumb.path, media_type="image/jpeg", headers={**headers, "ETag": thumb.etag}
    )


def _etags(header: str) -> set[str]:
    """The entity tags an If-None-Match header names (weak ones as strong; `*` as itself)."""
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


@router.get("/data/items/{task_id}/{key}")
def task_media_file(
    task_id: Id, key: str, request: Request, ctx: Ctx = Depends(context)
) -> FileResponse:
    """The local file task data `key` shows, named by the task's id as the reader knows it:
    how annotators load their jobs' images (`services.tasks.media.opaque_data`)."""
    root = request.app.state.settings.resolved_media_root
    with ctx.read() as s:
        path = item_media_path(s, ctx.actor, task_id, key)
    return _Undated(resolve_media_path(root, path), headers=_CACHE)
