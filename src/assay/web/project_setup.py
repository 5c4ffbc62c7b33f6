"""Setting a project up in the browser: **New project** (`/projects/new`) and a project's
**Settings** (`/projects/{id}/settings`).

A new project gets a title, a description and either a label set (names and colours, one
shape type) or a pasted Label Studio config; `services.projects.label_config_for` turns the
label set into the config, as `assay project create` does. Settings change the title, the
description, the label set (a config with one labelled control) or the config's XML, and the
review settings (the rework loop: whether a reject returns the work, the reject reasons); the
service refuses a config that drops a label live annotations use, and the page says so. Every
POST carries the session's CSRF token; a refused form comes back filled in, with the
service's sentence and its field errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from assay.formats.label_config import (
    BUILD_CONTROLS,
    LabelConfigError,
    LabelSpec,
    label_specs,
    labelled_control,
)
from assay.http.params import Id
from assay.services import projects, review_settings
from assay.services.access import Action, authorize
from assay.services.errors import AssayError, Forbidden, Invalid, Unauthorized
from assay.services.tasks import predictions
from assay.store.models import Project
from assay.web.common import PALETTE, PageRoute, reading, render, writing

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SHAPES = {
    "rectangle": "Boxes",
    "polygon": "Polygons",
    "keypoint": "Keypoints",
    "choices": "Classification (one class per image)",
}
assert set(SHAPES) == set(BUILD_CONTROLS)
SHAPE_OF_CONTROL = {control: shape for shape, control in BUILD_CONTROLS.items()}
NEW_URL = "/projects/new"
BLANK_ROWS = 3


def settings_url(project_id: int) -> str:
    return f"/projects/{project_id}/settings"


def _shown(exc: AssayError) -> bool:
    return not isinstance(exc, (Forbidden, Unauthorized))


def _specs(names: list[str], colours: list[str]) -> list[LabelSpec]:
    """The label rows of the form; a row without a name is no label."""
    padded = colours + [""] * (len(names) - len(colours))
    return [
        LabelSpec(n.strip(), c.strip() or None)
        for n, c in zip(names, padded, strict=False)
        if n.strip()
    ]


def _rows(specs: list[LabelSpec], blank: int = 0) -> list[dict[str, str]]:
    """Label rows for the form, each with a colour (the palette's when it has none)."""
    rows = [
        {"name": s.name, "colour": s.colour or PALETTE[i % len(PALETTE)]}
        for i, s in enumerate(specs)
    ]
    for i in range(len(rows), len(rows) + blank):
        rows.append({"name": "", "colour": PALETTE[i % len(PALETTE)]})
    return rows


def _errors(exc: AssayError | None) -> dict[str, list[str]]:
    return dict(exc.validation_errors or {}) if exc is not None else {}


def _form_page(
    request: Request,
    form: dict[str, Any],
    project_id: int | None = None,
    error: AssayError | None = None,
    notice: str | None = None,
) -> Response:
    with reading(request) as (s, actor):
        project = None
        if project_id is None:
            authorize(s, actor, Action.PROJECT_CREATE)
            title = "New project"
        else:
            project = projects.get_project(s, actor, project_id)
            authorize(s, actor, Action.PROJECT_CHANGE, project_id)
            title = f"Settings · {project.title or f'Project {project.id}'}"
            versions = [m.model_version for m in predictions.model_versions(s, actor, project_id)]
            form.setdefault("prefill", project.show_collab_predictions)
            form.setdefault("model_version", project.model_version)
            form["model_versions"] = sorted({*versions, project.model_version} - {""})
        context = {
            "title": title,
            "project": project,
            "form": form,
            "shapes": SHAPES,
            "palette": PALETTE,
            "error": error.detail if error is not None else None,
            "errors": _errors(error),
            "notice": notice,
        }
        status = error.status_code if error is not None else 200
        return render(request, "project_form.html", context, actor, status)


@router.get(NEW_URL)
def new_project_page(request: Request) -> Response:
    form = {
        "title": "",
        "description": "",
        "shape": "rectangle",
        "mode": "labels",
        "labels": _rows([], BLANK_ROWS),
        "label_config": "",
    }
    return _form_page(request, form)


@router.post(NEW_URL)
def create_project(
    request: Request,
    title: str = Form(""),
    description: str = Form(""),
    shape: str = Form("rectangle"),
    mode: str = Form("labels"),
    label: list[str] = Form([]),
    colour: list[str] = Form([]),
    label_config: str = Form(""),
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    """Create the project from the label set (or the pasted config) and open it."""
    specs = _specs(label, colour)
    try:
        with writing(request, submitted_csrf) as (s, actor):
            pasted = label_config if mode == "xml" else None
            config = projects.label_config_for(specs, shape, pasted)
            project = projects.create_project(
                s, actor, title=title.strip(), description=description, label_config=config
            )
            project_id = project.id
    except AssayError as exc:
        if not _shown(exc):
            raise
        form = {
            "title": title, "description": description, "shape": shape, "mode": mode,
            "labels": _rows(specs, 1), "label_config": label_config,
        }  # fmt: skip
        return _form_page(request, form, error=exc)
    return RedirectResponse(f"/projects/{project_id}", status_code=303)


def _settings_form(project: Project) -> dict[str, Any]:
    reviews = review_settings.settings_of(project)
    try:
        control = labelled_control(project.label_config)
        specs = label_specs(project.label_config, control.name) if control else []
    except LabelConfigError:
        control, specs = None, []
    return {
        "title": project.title or "",
        "description": project.description or "",
        "shape": SHAPE_OF_CONTROL.get(control.type, "") if control else "",
        "control": control.type if control else None,
        "mode": "labels" if control else "xml",
        "labels": _rows(specs, 1),
        "label_config": project.label_config,
        "visibility": project.visibility,
        "hourly_rate": "" if project.hourly_rate is None else f"{project.hourly_rate:g}",
        "reject_returns_to_annotator": reviews.reject_returns_to_annotator,
        "reject_reasons": "\n".join(reviews.reject_reasons),
    }


def _rate(text: str | None) -> dict[str, Any]:
    """The form's hourly rate as a project field: blank unsets it, absent leaves it."""
    if text is None:
        return {}
    if not text.strip():
        return {"hourly_rate": None}
    try:
        return {"hourly_rate": float(text)}
    except ValueError:
        raise Invalid.field("hourly_rate", "must be a number (cost of one hour)") from None


@router.get("/projects/{project_id}/settings")
def settings_page(request: Request, project_id: Id) -> Response:
    with reading(request) as (s, actor):
        project = projects.get_project(s, actor, project_id)
        authorize(s, actor, Action.PROJECT_CHANGE, project_id)
        form = _settings_form(project)
    notice = "Saved." if "saved" in request.query_params else None
    return _form_page(request, form, project_id, notice=notice)


@router.post("/projects/{project_id}/settings")
def save_settings(
    request: Request,
    project_id: Id,
    title: str = Form(""),
    description: str = Form(""),
    mode: str = Form("labels"),
    label: list[str] = Form([]),
    colour: list[str] = Form([]),
    label_config: str = Form(""),
    prefill: str = Form(""),
    model_version: str = Form(""),
    visibility: str | None = Form(None),
    hourly_rate: str | None = Form(None),
    reviews_part: str = Form("", alias="review_settings"),
    reject_returns: str = Form("", alias="reject_returns_to_annotator"),
    reject_reasons: str = Form(""),
    submitted_csrf: str = Form("", alias="csrf_token"),
) -> Response:
    """Change the title, the description, the label set (or the config's XML), whether
    predictions pre-fill the annotate page (of which model version), who sees whose work, the
    hourly rate, and the review settings (whether a reject returns the work; the reject
    reasons, one a line)."""
    specs = _specs(label, colour)
    extra = {"visibility": visibility} if visibility is not None else {}
    reasons = [line.strip() for line in reject_reasons.splitlines() if line.strip()]
    try:
        with writing(request, submitted_csrf) as (s, actor):
            project = projects.get_project(s, actor, project_id)
            xml = mode == "xml"
            config = label_config if xml else projects.relabelled_config(project, specs)
            # The settings form sends both fields; a blank rate arrives as absent and unsets it.
            extra |= _rate(hourly_rate if visibility is None else hourly_rate or "")
            projects.update_project(
                s, actor, project_id, title=title.strip(), description=description,
                label_config=config, show_collab_predictions=bool(prefill),
                model_version=model_version.strip(), **extra,
            )  # fmt: skip
            if reviews_part:  # the form has the review part (a script may post without it)
                review_settings.update_settings(
                    s, actor, project_id,
                    reject_returns_to_annotator=bool(reject_returns), reject_reasons=reasons,
                )  # fmt: skip
    except AssayError as exc:
        if not _shown(exc):
            raise
        with reading(request) as (s, actor):
            project = projects.get_project(s, actor, project_id)
            form = _settings_form(project)
        form.update(title=title, description=description, mode=mode, label_config=label_config)
        form.update(prefill=bool(prefill), model_version=model_version)
        form.update(
            {
                k: v
                for k, v in (("visibility", visibility), ("hourly_rate", hourly_rate))
                if v is not None
            }
        )
        if reviews_part:
            form.update(
                reject_returns_to_annotator=bool(reject_returns), reject_reasons=reject_reasons
            )
        if mode != "xml":
            form["labels"] = _rows(specs, 1)
        return _form_page(request, form, project_id, error=exc)
    return RedirectResponse(f"{settings_url(project_id)}?saved=1", status_code=303)
