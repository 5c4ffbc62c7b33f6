"""Export formats and export snapshots (Label Studio's `/api/projects/{id}/exports`): a
snapshot is written by a background job, one file per export type, and downloaded later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from assay.api import serializers
from assay.http.context import Ctx, context
from assay.http.params import Id
from assay.services.io import exporting, snapshots

router = APIRouter(prefix="/api/projects", tags=["export snapshots"])


def export_root(request: Request) -> Path:
    """Where this server's snapshot files are (`ASSAY_EXPORT_ROOT`)."""
    return request.app.state.settings.resolved_export_root


@router.get("/{project_id}/export/formats")
def export_formats(project_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    """The export types, as Label Studio lists formats: name, title, description, tags."""
    with ctx.read() as s:
        return exporting.formats_of(s, ctx.actor, project_id)


@router.get("/{project_id}/exports")
def list_exports(project_id: Id, ctx: Ctx = Depends(context)) -> list[dict[str, Any]]:
    """The project's snapshots, newest first."""
    with ctx.read() as s:
        views = snapshots.list_snapshots(s, ctx.actor, project_id)
        return [serializers.export_snapshot(v) for v in views]


@router.post("/{project_id}/exports", status_code=201)
def create_export(
    project_id: Id,
    body: Any = Body(None),
    interpolate_key_frames: bool | None = Query(
        None, description="Accepted as Label Studio's: it concerns video, not images."
    ),
    root: Path = Depends(export_root),
    ctx: Ctx = Depends(context),
) -> dict[str, Any]:
    """Start a snapshot: `{title, task_filter_options, annotation_filter_options,
    serialization_options}`; an option assay cannot honour is a 400 naming it."""
    export_id = snapshots.create_snapshot(ctx.db, ctx.actor, project_id, body, root)
    with ctx.read() as s:
        view = snapshots.get_snapshot(s, ctx.actor, project_id, export_id)
        return serializers.export_snapshot(view, with_options=True)


@router.get("/{project_id}/exports/{export_id}")
def get_export(project_id: Id, export_id: Id, ctx: Ctx = Depends(context)) -> dict[str, Any]:
    with ctx.read() as s:
        view = snapshots.get_snapshot(s, ctx.actor, project_id, export_id)
        return serializers.export_snapshot(view)


@router.delete("/{project_id}/exports/{export_id}", status_code=204)
def delete_export(
    project_id: Id,
    export_id: Id,
    root: Path = Depends(export_root),
    ctx: Ctx = Depends(context),
) -> Response:
    """Remove the snapshot's files; the record of it stays."""
    snapshots.delete_snapshot(ctx.db, ctx.actor, project_id, export_id, root)
    return Response(status_code=204)


@router.get("/{project_id}/exports/{export_id}/download")
def download_export(
    project_id: Id,
    export_id: Id,
    export_type_camel: str | None = Query(None, alias="exportType"),
    export_type: str | None = Query(None),
    root: Path = Depends(export_root),
    ctx: Ctx = Depends(context),
) -> FileResponse:
    """The snapshot's file in an export type (default JSON), as an attachment."""
    kind = export_type_camel or export_type or snapshots.BASE_TYPE
    with ctx.read() as s:
        file = snapshots.open_snapshot_file(s, ctx.actor, project_id, export_id, kind, root)
    return FileResponse(file.path, media_type=file.media_type, filename=file.filename)
