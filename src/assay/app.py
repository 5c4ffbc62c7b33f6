"""Assembly, done once: what reacts to label changes and which function runs each kind of
background job (for every way of starting: the server, the CLI, a worker, the tests), and the
ASGI application with the API's and the web pages' routers, the session and request
middleware, the error handlers and the background queue.

Nothing registers itself on import: every router the app serves, every change handler and every
job kind is listed here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from assay import __version__
from assay.api import (
    conflicts,
    consensus,
    dashboard,
    dm_views,
    drift,
    evaluation,
    exports,
    ground_truth,
    guidelines,
    honeypots,
    images,
    jobs,
    media,
    predictions,
    projects,
    quality,
    reviews,
    suspects,
    system,
    tasks,
    users,
)
from assay.api.errors import install_error_handlers
from assay.http.middleware import (
    BodyLimit,
    BodyTimeout,
    OptionalTrailingSlash,
    SecureCookiesOverHttps,
)
from assay.services import background, changes
from assay.services import evaluation as evaluation_service
from assay.services.consensus import MERGE_KIND, merge_job
from assay.services.io.snapshots import SNAPSHOT_KIND, snapshot_job
from assay.services.quality import (
    RECOMPUTE_KIND,
    finish_recompute_job,
    on_labels_changed,
    plan_recompute,
    recompute_job_part,
)
from assay.settings import Settings, get_settings
from assay.store import migrate
from assay.store.db import Database
from assay.web import (
    adjudication,
    annotate,
    api_docs,
    common,
    feedback,
    gt_stage,
    my_work,
    people,
    project_setup,
    review,
    routes,
    transfer,
)
from assay.web import (
    conflicts as conflicts_page,
)
from assay.web import dashboard as dashboard_page
from assay.web import guidelines as guidelines_page
from assay.web import (
    suspects as suspects_page,
)

API_ROUTERS = (
    system.router,
    projects.router,
    images.router,
    exports.router,
    tasks.router,
    predictions.router,
    ground_truth.router,
    dm_views.router,
    suspects.router,
    guidelines.router,
    jobs.router,
    quality.router,
    conflicts.router,
    reviews.router,
    honeypots.router,
    evaluation.router,
    drift.router,
    consensus.router,
    users.router,
    dashboard.router,
    media.router,
)
WEB_ROUTERS = (
    project_setup.router,  # before routes: /projects/new is no project id
    routes.router,
    transfer.router,
    gt_stage.router,
    annotate.router,
    review.router,
    dashboard_page.router,
    dashboard_page.assets,
    feedback.router,
    adjudication.router,
    suspects_page.router,
    guidelines_page.router,
    conflicts_page.router,
    my_work.router,
    people.router,
    api_docs.router,
)
STATIC = common.HERE / "static"


def wire_services() -> None:
    """Subscribe the change handlers and register the background job kinds (idempotent)."""
    changes.subscribe(on_labels_changed)
    changes.subscribe(
        evaluation_service.on_labels_changed
    )  # after rescoring: reads the fresh scores
    background.register_partitioned(
        RECOMPUTE_KIND, plan_recompute, recompute_job_part, finish_recompute_job
    )
    background.register_kind(MERGE_KIND, merge_job)
    background.register_kind(SNAPSHOT_KIND, snapshot_job)


def create_app(
    settings: Settings | None = None, db: Database | None = None, run_migrations: bool = True
) -> FastAPI:
    """Build the app; migrations run here so every way of starting serves an up-to-date schema."""
    wire_services()
    settings = settings or get_settings()
    db = db or Database.connect(settings.resolved_database_url)
    if run_migrations:
        migrate.upgrade(db.engine)
    queue = background.use_queue(db, settings.background_queue)
    background.use_stalled_after(settings.stalled_after_s)
    if run_migrations and db.engine.dialect.name == "sqlite":
        background.fail_interrupted(db)  # one server per SQLite file: its jobs died with it

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = None
        if queue == "procrastinate" and settings.embedded_worker:
            stop = background.start_embedded_worker(db)
        yield
        if stop is not None:
            stop()

    app = FastAPI(
        lifespan=lifespan,
        title="assay",
        version=__version__,
        description="Ground truth and annotation quality; speaks the Label Studio REST API.",
        docs_url=None,  # web.api_docs serves it, with Swagger UI from an installed package
        openapi_url="/api/openapi.json",
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.db = db
    app.state.settings = settings
    install_error_handlers(app)
    for router in (*API_ROUTERS, *WEB_ROUTERS):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # Innermost first. The cookie holds a server-side session's key (http.context), is HttpOnly
    # and SameSite=Lax, and Secure per ASSAY_SECURE_COOKIES; the proxy headers of trusted
    # proxies set the client's address and scheme before anything looks at them.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="assay_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=settings.secure_cookies == "true",
    )
    if settings.secure_cookies == "auto":
        app.add_middleware(SecureCookiesOverHttps)
    if settings.trusted_proxies.strip():
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_body_mb * 2**20))
    app.add_middleware(BodyTimeout, seconds=settings.body_timeout_s)
    app.add_middleware(OptionalTrailingSlash)
    return app
