"""Import and export in the browser: `/projects/{id}/import` and `/projects/{id}/export`.

The import page uploads with XMLHttpRequest straight to the API (`POST
/api/projects/{id}/images` for images or a zip of them, `POST /api/projects/{id}/import?format=`
for label files), with the session cookie and the CSRF header, so the upload shows its
progress and the API's answer (counts, or `detail` and `validation_errors`) is shown as it is.
The export page is a plain GET form: `/projects/{id}/export/download` checks the options and
redirects to `GET /api/projects/{id}/export` with them, which streams the file as an
attachment (the session authenticates API GETs). Who may: the services decide (importing:
leads and admins; exporting: whoever may export).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from assay.formats.voc import DEFAULT_VOC_CONVENTION
from assay.http.params import Id
from assay.services import projects
from assay.services.access import Action, authorize
from assay.services.errors import Invalid
from assay.services.io.label_files import IMPORT_FORMATS
from assay.services.tasks import predictions
from assay.web.common import PageRoute, reading, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FORMAT_TITLES = {
    "coco": "COCO (instances JSON, or a detections results list)",
    "yolo": "YOLO (data.yaml + labels/*.txt, zipped)",
    "voc": "Pascal VOC (XML files, or a zip)",
    "csv": "CSV (annotations.csv, optionally images.csv)",
    "ls-json": "Label Studio JSON",
}
assert set(FORMAT_TITLES) == set(IMPORT_FORMATS)
EXPORT_TITLES = {
    "JSON": "JSON (Label Studio)",
    "COCO": "COCO",
    "YOLO": "YOLO (zip)",
    "VOC": "Pascal VOC (zip)",
    "CSV": "CSV (zip)",
}


def import_url(project_id: int) -> str:
    return f"/projects/{project_id}/import"


def export_url(project_id: int) -> str:
    return f"/projects/{project_id}/export"


def _crumb(project: Any) -> str:
    return project.title or f"Project {project.id}"


@router.get("/projects/{project_id}/import")
def import_page(request: Request, project_id: Id) -> Response:
    with reading(request) as (s, actor):
        project = projects.get_project(s, actor, project_id)
        authorize(s, actor, Action.TASKS_IMPORT, project_id)
        members = projects.list_members(s, actor, project_id)
        versions = [v.model_version for v in predictions.model_versions(s, actor, project_id)]
        context = {
            "title": f"Import · {_crumb(project)}",
            "project": project,
            "formats": FORMAT_TITLES,
            "members": [u for u in members if u.is_active],
            "versions": [v for v in versions if v],
            "urls": {
                "images": f"/api/projects/{project_id}/images",
                "labels": f"/api/projects/{project_id}/import",
                "project": f"/projects/{project_id}",
            },
        }
        return render(request, "project_import.html", context, actor)


def _ids(ids: str | None, ids_brackets: list[str] | None) -> list[int]:
    """Task ids from `ids=3,5,8` and `ids[]=3&ids[]=5`; Invalid naming a part that is none."""
    parts = [p.strip() for p in ",".join([ids or "", *(ids_brackets or [])]).split(",")]
    bad = [p for p in parts if p and not p.isdigit()]
    if bad:
        raise Invalid.field("ids", f'"{bad[0]}" is not a task id')
    return sorted({int(p) for p in parts if p})


@router.get("/projects/{project_id}/export")
def export_page(
    request: Request,
    project_id: Id,
    ids: str | None = Query(None),
    ids_brackets: list[str] | None = Query(None, alias="ids[]"),
) -> Response:
    """The export form; `ids=3,5,8` (or `ids[]=`) offers exporting only those tasks."""
    with reading(request) as (s, actor):
        project = projects.get_project(s, actor, project_id)
        authorize(s, actor, Action.PROJECT_EXPORT, project_id)
        versions = [v.model_version for v in predictions.model_versions(s, actor, project_id)]
        context = {
            "title": f"Export · {_crumb(project)}",
            "project": project,
            "types": EXPORT_TITLES,
            "versions": [v for v in versions if v],
            "ids": _ids(ids, ids_brackets),
            "sees_gt": actor.may(Action.GROUND_TRUTH_VIEW),
        }
        return render(request, "project_export.html", context, actor)


@router.get("/projects/{project_id}/export/download")
def export_download(
    request: Request,
    project_id: Id,
    export_type: str = Query("JSON", alias="exportType"),
    ground_truth_only: bool = Query(False),
    accepted_only: bool = Query(False),
    as_of: str = Query(""),
    model_version: str = Query(""),
    all_tasks: bool = Query(False),
    ids: str | None = Query(None),
) -> Response:
    """Check the export form's options and hand over to the API's streamed export.

    `as_of` is the form's date and time (`2026-12-03T10:30`, read as UTC), only with GT only;
    `accepted_only` keeps accepted and fixed-and-accepted annotations.
    """
    with reading(request) as (s, actor):
        projects.get_project(s, actor, project_id)
        authorize(s, actor, Action.PROJECT_EXPORT, project_id)
    if export_type not in EXPORT_TITLES:
        raise Invalid.field("exportType", f"must be one of {', '.join(EXPORT_TITLES)}")
    params: dict[str, str | list[str]] = {"exportType": export_type}
    if export_type == "JSON":
        params["download_all_tasks"] = "true" if all_tasks else "false"
    if ground_truth_only:
        params["ground_truth_only"] = "true"
    if as_of.strip():
        if not ground_truth_only:
            raise Invalid.field("as_of", "goes with ground truth only: the answer key then")
        params["as_of"] = _utc(as_of.strip()).isoformat()
    if accepted_only:
        params["review_status"] = "accepted,fixed"
    if model_version.strip():
        params["model_version"] = model_version.strip()
    if export_type == "VOC":
        params["voc_convention"] = DEFAULT_VOC_CONVENTION
    chosen = _ids(ids, None)
    if chosen:
        params["ids"] = [str(i) for i in chosen]
    target = f"/api/projects/{project_id}/export?{urlencode(params, doseq=True)}"
    return RedirectResponse(target, status_code=303)


def _utc(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid.field("as_of", f'"{text}" is no date and time (2026-12-03T10:30)') from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
