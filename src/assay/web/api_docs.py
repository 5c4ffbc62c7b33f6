"""`/api/docs`: the API's Swagger UI, its script and style served from the installed
`swagger-ui-bundle` package (never copied into the repo, never from a CDN), so it renders on a
machine without internet. Without that package the page falls back to FastAPI's default, which
loads them from a CDN."""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from assay.services.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}
ASSET_URL = "/static-lib/swagger-ui/"
YEAR = 365 * 24 * 3600


@cache
def swagger_ui_folder() -> tuple[Path, str] | None:
    """The folder of Swagger UI's dist files in the installed swagger-ui-bundle package, and
    the package's version; None when it is not installed."""
    spec = importlib.util.find_spec("swagger_ui_bundle")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package.rglob("swagger-ui-bundle.js"), key=lambda p: str(p))
    if not found:
        return None
    try:
        release = version("swagger-ui-bundle")
    except PackageNotFoundError:
        release = "0"
    return found[-1].parent, release


@router.get("/api/docs")
def docs() -> HTMLResponse:
    folder = swagger_ui_folder()
    if folder is None:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="assay API")
    v = folder[1]
    return get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="assay API",
        swagger_js_url=f"{ASSET_URL}swagger-ui-bundle.js?v={v}",
        swagger_css_url=f"{ASSET_URL}swagger-ui.css?v={v}",
        swagger_favicon_url="/static/favicon.svg",
    )


@router.get(ASSET_URL + "{name}")
def asset(name: str) -> Response:
    """Swagger UI's script or style from the package, cached for a year (the URL names the
    package's version)."""
    folder = swagger_ui_folder()
    if folder is None or name not in ASSETS or not (folder[0] / name).is_file():
        raise NotFound("File not found.")
    headers = {"Cache-Control": f"public, max-age={YEAR}, immutable"}
    return FileResponse(folder[0] / name, media_type=ASSETS[name], headers=headers)
