"""Uploading images into a project: `POST /api/projects/{id}/images`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services import idempotency, tasks
from assay.services.errors import Invalid
from assay.services.io import image_uploads

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.post("/{project_id}/images", status_code=201)
async def upload_images(
    project_id: Id,
    request: Request,
    import_id: str | None = Query(
        None, description="The same as an Idempotency-Key header: a retry imports nothing."
    ),
    ctx: Ctx = Depends(context),
) -> Any:
    """Images as multipart form data (any field name; a `.zip` of images is unpacked): one
    task each, stored under the media root in `project-<id>/`. All or nothing: a file that is
    no readable image refuses the upload with its name. Answers `task_count` and `task_ids`.
    An `Idempotency-Key` header makes a retry answer the first answer, as for imports."""
    key = request.headers.get("Idempotency-Key") or import_id
    form = await request.form()
    uploads = [v for _, v in form.multi_items() if hasattr(v, "read") and hasattr(v, "filename")]
    if not uploads:
        raise Invalid.field("images", "upload the images (or a zip of them) as multipart form data")
    files: dict[str, bytes] = {}
    for upload in uploads:
        name = upload.filename or "upload"
        files[name if name not in files else f"{len(files)}-{name}"] = await upload.read()
    root = request.app.state.settings.resolved_media_root
    asked = (
        idempotency.fingerprint(
            [
                request.url.path.encode(),
                *(p for n, d in sorted(files.items()) for p in (n.encode(), d)),
            ]
        )
        if key
        else ""
    )

    def work() -> tuple[dict[str, Any], int]:
        with ctx.write() as s:
            earlier = idempotency.claim(s, ctx.actor, key, asked) if key else None
            if earlier is not None:
                return earlier, 0
            done = image_uploads.upload_images(s, ctx.actor, project_id, files, root)
            body = {"task_count": done.task_count, "task_ids": done.task_ids}
            if key:
                idempotency.remember(s, ctx.actor, key, body)
            return body, done.task_count

    body, imported = await run_in_threadpool(work)
    await run_in_threadpool(tasks.refresh_after_import, ctx.db, imported)
    return body
