"""Local images under the media root, for the users who may see a task showing them."""

from __future__ import annotations

import os

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services.tasks.media import authorize_media_file, item_media_path, resolve_media_path

router = APIRouter(tags=["media"])

_CACHE = {"Cache-Control": "private, max-age=3600"}


class _Undated(FileResponse):
    """A file without Last-Modified and ETag: an old import's files are older (honeypots)."""

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        self.headers.setdefault("content-length", str(stat_result.st_size))


@router.get("/data/media/{path:path}")
def media_file(path: str, request: Request, ctx: Ctx = Depends(context)) -> FileResponse:
    root = request.app.state.settings.resolved_media_root
    with ctx.read() as s:
        authorize_media_file(s, ctx.actor, path)
    return FileResponse(resolve_media_path(root, path), headers=_CACHE)


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
