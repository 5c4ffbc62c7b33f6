"""Projects, import and export: Label Studio paths and shapes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id, PageNumber, PageSize
from assay.runtime import gc_paused
from assay.services import idempotency, projects, tasks
from assay.services.errors import Invalid
from assay.services.io import exporting, label_files
from assay.services.io.unpacking import ImportLimits
from assay.services.tasks import predictions
from assay.services.views import dm_filters

VOC_CONVENTION_HELP = (
    "Pascal VOC boxes: devkit (1-based pixel indexes, inclusive: x = xmin - 1, "
    "w = xmax - xmin + 1; the default) or continuous (0-based, xmin = x, xmax = x + w)."
)

router = APIRouter(prefix="/api/projects", tags=["projects"])


def parse_json_body(raw: bytes) -> Any:
    """The request body as JSON (orjson: several times faster on big imports)."""
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"Malformed JSON: {exc}.", {"body": [str(exc)]}) from None


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str | None = None
    description: str | None = None
    label_config: str | None = None
    expert_instruction: str | None = None
    color: str | None = None
    # "Use predictions to prelabel tasks", and which model's (None or "": the latest)
    show_collab_predictions: bool | None = None
    model_version: str | None = None
    visibility: str | None = None
    hourly_rate: Any = None


def _fields(body: ProjectIn) -> dict[str, Any]:
    """The fields sent; null means unchanged, except that a null hourly_rate unsets it."""
    return {
        k: v
        for k, v in body.model_dump(exclude_unset=True).items()
        if v is not None or k == "hourly_rate"
    }


def _one(s: Any, actor: Any, project: Any) -> dict[str, Any]:
    counts = tasks.counts_seen_by(s, actor, [project.id])[project.id]
    return serializers.project(project, actor, counts)


def page_url(request: Request, page: int) -> str:
    return str(request.url.include_query_params(page=page))


@router.get("")
def list_projects(
    request: Request,
    page: PageNumber = 1,
    page_size: PageSize = 100,
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    with ctx.read() as s:
        rows, pg = projects.list_projects(s, ctx.actor, page, page_size)
        counts = tasks.counts_seen_by(s, ctx.actor, [p.id for p in rows])
        results = [serializers.project(p, ctx.actor, counts[p.id]) for p in rows]
    return {
        "count": pg.total,
        "next": page_url(request, pg.number + 1) if pg.has_next else None,
        "previous": page_url(request, pg.number - 1) if pg.number > 1 else None,
        "results": results,
    }


@router.post("", status_code=201)
def create_project(body: ProjectIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        project = projects.create_project(s, ctx.actor, **_fields(body))
        return _one(s, ctx.actor, project)


@router.get("/{project_id}")
def get_project(project_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        return _one(s, ctx.actor, projects.get_project(s, ctx.actor, project_id))


@router.patch("/{project_id}")
def update_project(project_id: Id, body: ProjectIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        project = projects.update_project(s, ctx.actor, project_id, **_fields(body))
        return _one(s, ctx.actor, project)


@router.delete("/{project_id}", status_code=204)
def delete_project(project_id: Id, ctx: Ctx = Depends(context)) -> Response:
    with ctx.write() as s:
        projects.delete_project(s, ctx.actor, project_id)
    return Response(status_code=204)


@router.post("/{project_id}/import", status_code=201)
async def import_tasks(
    project_id: Id,
    request: Request,
    return_task_ids: bool = Query(False),
    format: str | None = Query(
        None,
        description="coco | yolo | voc | ls-json | csv: the body is a multipart upload of the "
        "file(s) or a zip; without it, the body is a Label Studio JSON list of tasks.",
    ),
    as_: str | None = Query(None, alias="as", description="annotations | predictions"),
    annotator: str | None = Query(None, description="Email of the annotations' author."),
    model_version: str | None = Query(None, description="Model version of the predictions."),
    add_labels: bool = Query(False, description="Add labels the config lacks instead of failing."),
    create_missing: bool = Query(
        False,
        description="Images that match no task become tasks that show no image "
        "(default: an error naming them).",
    ),
    voc_convention: str = Query(exporting.DEFAULT_VOC_CONVENTION, description=VOC_CONVENTION_HELP),
    import_id: str | None = Query(
        None,
        description="The same as an Idempotency-Key header: a retried import with the same "
        "key answers the first answer and imports nothing.",
    ),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    key = request.headers.get("Idempotency-Key") or import_id
    if format is not None:
        return await _import_format(
            project_id, request, format, as_, annotator, model_version, add_labels,
            create_missing, voc_convention, key, ctx,
        )  # fmt: skip
    raw = await request.body()
    asked = _fingerprint(request, [raw]) if key else ""

    def work() -> tuple[dict[str, Any], int]:
        with gc_paused():
            items = parse_json_body(raw)
            with ctx.write() as s:
                earlier = idempotency.claim(s, ctx.actor, key, asked) if key else None
                if earlier is not None:
                    return earlier, 0
                result = tasks.import_tasks(
                    s, ctx.actor, project_id, items, media_root=_media_root(request),
                    shared_media=_shared_media(request),
                )  # fmt: skip
                del items
                body: dict[str, Any] = {
                    "task_count": result.task_count,
                    "annotation_count": result.annotation_count,
                    "prediction_count": result.prediction_count,
                    "predictions_count": result.prediction_count,
                    "duration": 0,
                    "file_upload_ids": [],
                    "could_be_tasks_list": False,
                    "found_formats": [],
                    "data_columns": [],
                    "task_ids": result.task_ids,
                }
                if key:
                    idempotency.remember(s, ctx.actor, key, body)
        return body, result.task_count

    body, imported = await run_in_threadpool(work)
    if imported:
        await run_in_threadpool(tasks.refresh_after_import, ctx.db, imported)
    if not return_task_ids:
        body = {k: v for k, v in body.items() if k != "task_ids"}
    return body


def _fingerprint(request: Request, body: list[bytes]) -> str:
    """What an import asks: its path, its options (the key itself aside) and its body."""
    options = sorted((k, v) for k, v in request.query_params.multi_items() if k != "import_id")
    return idempotency.fingerprint([request.url.path.encode(), repr(options).encode(), *body])


def _file_parts(files: dict[str, BinaryIO]) -> Iterator[bytes]:
    """Each uploaded file's name and the sha256 of its content, read in chunks from the
    spooled upload (then rewound for the import)."""
    for name, handle in sorted(files.items()):
        digest = hashlib.sha256()
        for chunk in iter(lambda handle=handle: handle.read(1 << 20), b""):
            digest.update(chunk)
        handle.seek(0)
        yield name.encode()
        yield digest.digest()


def _media_root(request: Request) -> Path:
    return request.app.state.settings.resolved_media_root


def _shared_media(request: Request) -> tuple[str, ...]:
    return request.app.state.settings.shared_media_folders


async def _import_format(
    project_id: Id,
    request: Request,
    fmt: str,
    as_: str | None,
    annotator: str | None,
    model_version: str | None,
    add_labels: bool,
    create_missing: bool,
    voc_convention: str,
    key: str | None,
    ctx: Ctx,
) -> dict[str, Any]:
    """A multipart upload. The form parser spools uploads over 1 MiB to disk; the import reads
    from those files only what the format needs (`label_files.unpacking`), never a whole upload
    or zip into memory."""
    form = await request.form()
    uploads = [v for _, v in form.multi_items() if hasattr(v, "read") and hasattr(v, "filename")]
    if not uploads:
        raise Invalid.field("file", "upload the file(s) as multipart form data")
    files = {upload.filename or "upload": upload.file for upload in uploads}
    asked = _fingerprint(request, list(_file_parts(files))) if key else ""

    def work() -> tuple[dict[str, Any], int]:
        with ctx.write() as s:
            earlier = idempotency.claim(s, ctx.actor, key, asked) if key else None
            if earlier is not None:
                return earlier, 0
            done = label_files.import_files(
                s, ctx.actor, project_id, fmt.lower(), files, as_=as_, annotator=annotator,
                model_version=model_version, add_labels=add_labels,
                create_missing=create_missing, media_root=_media_root(request),
                voc_convention=voc_convention, shared_media=_shared_media(request),
                limits=ImportLimits.of(request.app.state.settings),
            )  # fmt: skip
            body = {
                "task_count": done.tasks_created,
                "matched_task_count": done.tasks_matched,
                "annotation_count": done.annotations,
                "prediction_count": done.predictions,
                "replaced_prediction_count": done.predictions_replaced,
                "labels_added": done.labels_added,
                "notes": done.notes,
                "task_ids": done.task_ids,
            }
            if key:
                idempotency.remember(s, ctx.actor, key, body)
        return body, done.tasks_created + done.tasks_matched

    body, touched = await run_in_threadpool(work)
    if touched:
        await run_in_threadpool(tasks.refresh_after_import, ctx.db, touched)
    return body


@router.get("/{project_id}/export")
def export_project(
    project_id: Id,
    export_type_camel: str | None = Query(None, alias="exportType"),
    export_type: str | None = Query(None),
    download_all_tasks: bool | None = Query(
        None, description="Also tasks without annotations (default: JSON no, other formats yes)."
    ),
    ids: list[Id] | None = Query(None),
    ids_brackets: list[Id] | None = Query(None, alias="ids[]", description="Same as ids."),
    query: str | None = Query(
        None, description="Data Manager query, JSON: filters and selectedItems (as /api/tasks)."
    ),
    ground_truth_only: bool = Query(
        False, description="Only the answer key: tasks with GT, GT annotation only."
    ),
    as_of: datetime | None = Query(
        None, description="ISO-8601: the answer key as it was at that time."
    ),
    review_status: str | None = Query(
        None, description="Only annotations of these review statuses, e.g. accepted,fixed."
    ),
    job: Id | None = Query(None, description="Only this job's tasks and annotations."),
    annotator: Id | None = Query(None, description="Only this annotator's annotations."),
    model_version: str | None = Query(
        None, description="Only this model's predictions (region formats: export them)."
    ),
    voc_convention: str = Query(exporting.DEFAULT_VOC_CONVENTION, description=VOC_CONVENTION_HELP),
    ctx: Ctx = Depends(context),
) -> StreamingResponse:
    """Export as JSON (Label Studio), COCO, YOLO, VOC or CSV, streamed; YOLO, VOC and CSV
    come as a zip. Both SDKs' spellings of the type and of the task ids are accepted."""
    kind = export_type_camel or export_type or "JSON"
    selection = dm_filters.export_selection(ctx.actor, dm_filters.parse_query(query))
    flt = exporting.export_filter(
        kind, download_all_tasks, [*(ids or []), *(ids_brackets or [])], ground_truth_only,
        as_of, review_status, job, annotator, model_version, selection,
    )  # fmt: skip
    file = exporting.open_export(
        ctx.db, ctx.actor, project_id, kind, flt, voc_convention=voc_convention
    )
    return StreamingResponse(
        file.chunks,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


@router.get("/{project_id}/model-versions")
def model_versions(
    project_id: Id,
    extended: bool = Query(False, description="A list with each version's latest prediction."),
    include_live_models: bool = Query(
        False, description="With extended: `live` lists connected ML backends (assay has none)."
    ),
    ctx: Ctx = Depends(context),
) -> Any:
    """Label Studio's `{model_version: prediction count}`; `extended=true`:
    `{"static": [{model_version, count, latest}], "live": null}`, latest first."""
    with ctx.read() as s:
        versions = predictions.model_versions(s, ctx.actor, project_id)
    if not extended:
        return {v.model_version: v.count for v in versions}
    static = [
        {"model_version": v.model_version, "count": v.count, "latest": serializers.iso(v.latest)}
        for v in versions
    ]
    return {"static": static, "live": [] if include_live_models else None}


@router.get("/{project_id}/members")
def list_members(project_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    with ctx.read() as s:
        return [serializers.user(u) for u in projects.list_members(s, ctx.actor, project_id)]


class MemberIn(BaseModel):
    user: Id


@router.post("/{project_id}/members", status_code=201)
def add_member(project_id: Id, body: MemberIn, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.write() as s:
        projects.add_member(s, ctx.actor, project_id, body.user)
    return {"project": project_id, "user": body.user}


@router.delete("/{project_id}/members/{user_id}", status_code=204)
def remove_member(project_id: Id, user_id: Id, ctx: Ctx = Depends(context)) -> Response:
    """Take a person out of the project; their labels stay."""
    with ctx.write() as s:
        projects.remove_member(s, ctx.actor, project_id, user_id)
    return Response(status_code=204)
