"""Uploading images into a project: `POST /api/projects/{id}/images`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from assay.http.context import Ctx, context
from assay.services import tasks
from assay.services.errors import Invalid
from assay.services.io import image_uploads

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.post("/{project_id}/images", status_code=201)
async def upload_images(project_id: int, request: Request, ctx: Ctx = Depends(context)) -> Any:
    """Images as multipart form data (any field name; a `.zip` of images is unpacked): one
    task each, stored under the media root in `project-<id>/`. All or nothing: a file that is
    no readable image refuses the upload with its name. Answers `task_count` and `task_ids`."""
    form = await request.form()
    uploads = [v for _, v in form.multi_items() if hasattr(v, "read") and hasattr(v, "filename")]
    if not uploads:
        raise Invalid.field("images", "upload the images (or a zip of them) as multipart form data")
    files: dict[str, bytes] = {}
    for upload in uploads:
        name = upload.filename or "upload"
        files[name if name not in files else f"{len(files)}-{name}"] = await upload.read()
    root = request.app.state.settings.resolved_media_root

    def work() -> dict[str, Any]:
        with ctx.write() as s:
            done = image_uploads.upload_images(s, ctx.actor, project_id, files, root)
            return {"task_count": done.task_count, "task_ids": done.task_ids}

    body = await run_in_threadpool(work)
    await run_in_threadpool(tasks.refresh_after_import, ctx.db, body["task_count"])
    return body
