"""What every web page shares: templates, the HTML error handling route class, sessions.

Pages call the same services as the API, so what an actor may see is decided there, once. On
a page, errors render a small HTML page (the JSON error handlers stay in charge of /api/), and
a missing or ended login redirects to /login?next=<the page>. Every form POST carries the
session's CSRF token in `csrf_token`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from assay import __version__
from assay.formats.label_config import LabelConfig, LabelConfigError
from assay.http.context import SESSION_KEY, database, web_session_key
from assay.http.csrf import check_csrf, csrf_token
from assay.services import projects, users
from assay.services.access import Actor
from assay.services.errors import AssayError, Unauthorized
from assay.services.pagination import Page
from assay.store.models import Project

HERE = Path(__file__).parent
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# One colour per label, in label-config order; labels past the end cycle round.
PALETTE = (
    "#e8590c", "#1c7ed6", "#2f9e44", "#c2255c", "#7048e8", "#0c8599",
    "#f08c00", "#5c940d", "#3b5bdb", "#a61e4d", "#087f5b", "#862e9c",
)  # fmt: skip
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: http: https:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """The page needs a signed-in user and the session has none."""


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _static(name: str) -> str:
    return f"/static/{name}?v={__version__}"


# CommonMark with HTML off: raw HTML in a guideline is shown as text, and markdown-it makes no
# link of javascript:, vbscript:, file: or data: URLs, so what a lead writes cannot run.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown(text: str | None) -> Markup:
    """A guideline's Markdown as safe HTML (headings, lists, emphasis, links, code)."""
    return Markup(_MARKDOWN.render(text or ""))


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["when"] = when
_env.filters["iso"] = _iso
_env.filters["markdown"] = markdown
_env.globals["static"] = _static


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    actor: Actor | None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page from templates/, with what base.html needs: the actor and the CSRF token."""
    html = _env.get_template(name).render(
        {**context, "actor": actor, "csrf": csrf_token(request), "path": request.url.path}
    )
    return HTMLResponse(html, status_code=status_code)


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    actor = None
    key = web_session_key(request)
    if key is not None:
        try:
            with database(request).session(write=False) as s:
                actor = users.session_actor(s, key)
        except AssayError:
            actor = None
    titles = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
    context = {"title": titles.get(status_code, "Error"), "status": status_code, "detail": detail}
    return render(request, "error.html", context, actor, status_code)


def login_url(request: Request) -> str:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or target == "/":
        return "/login"
    return "/login?" + urlencode({"next": target})


class PageRoute(APIRoute):
    """A route whose errors become HTML: login redirect, or an error page for AssayError."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except (LoginRequired, Unauthorized):
                request.session.pop(SESSION_KEY, None)
                response = RedirectResponse(login_url(request), status_code=303)
            except AssayError as exc:
                response = await run_in_threadpool(error_page, request, exc.status_code, exc.detail)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                name = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
                detail = f"{name}: {first.get('msg', 'invalid')}"
                response = await run_in_threadpool(error_page, request, 400, detail)
            for key, value in PAGE_HEADERS.items():  # a page may set its own CSP
                response.headers.setdefault(key, value)
            return response

        return page_handler


@contextmanager
def reading(request: Request) -> Iterator[tuple[Session, Actor]]:
    """A read session and the signed-in actor; LoginRequired when there is none."""
    key = web_session_key(request)
    if key is None:
        raise LoginRequired
    with database(request).session(write=False) as s:
        yield s, users.session_actor(s, key)


@contextmanager
def writing(request: Request, submitted_csrf: str) -> Iterator[tuple[Session, Actor]]:
    """A write session and the signed-in actor, for a form POST carrying the CSRF token."""
    check_csrf(request, submitted_csrf)
    key = web_session_key(request)
    if key is None:
        raise LoginRequired
    with database(request).session(write=True) as s:
        yield s, users.session_actor(s, key)


def safe_next(value: str | None) -> str:
    """Where to go after login: a same-site path, else "/" (no open redirect).

    >>> safe_next("/projects/3?page=2"), safe_next("https://evil.example"), safe_next("//evil")
    ('/projects/3?page=2', '/', '/')
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def image_src(value: Any) -> str | None:
    """The task's image URL when it is one a page may show: http(s), data:image, site path."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if url.lower().startswith(("http://", "https://", "data:image/")) or url.startswith("/"):
        return url
    return None


def config_of(project: Project) -> LabelConfig | None:
    try:
        return projects.label_config_of(project)
    except LabelConfigError:
        return None


def label_colours(config: LabelConfig | None) -> dict[str, str]:
    """Each label's colour: its `background` in the config, else the palette's by position."""
    labels = config.labels if config else ()
    given = config.colours if config else {}
    return {label: given.get(label) or PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def pager(request: Request, pg: Page) -> dict[str, Any]:
    def url(number: int) -> str:
        params = {**request.query_params, "page": str(number)}
        return f"{request.url.path}?{urlencode(params)}"

    return {
        "number": pg.number,
        "last": max(1, -(-pg.total // pg.size)),
        "total": pg.total,
        "first_row": pg.offset + 1 if pg.total else 0,
        "last_row": min(pg.offset + pg.size, pg.total),
        "previous": url(pg.number - 1) if pg.number > 1 else None,
        "next": url(pg.number + 1) if pg.has_next else None,
    }


def region_count(result: list[Any]) -> int:
    return sum(1 for r in result if isinstance(r, dict) and r.get("type") != "relation")
