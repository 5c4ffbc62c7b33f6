"""The ASGI application: routers, middleware and error handlers, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from assay import __version__
from assay.api import (
    consensus,
    dashboard,
    ground_truth,
    honeypots,
    jobs,
    media,
    predictions,
    projects,
    quality,
    reviews,
    system,
    tasks,
    users,
)
from assay.api.errors import install_error_handlers
from assay.api.middleware import BodyLimit, OptionalTrailingSlash
from assay.app import wire_services
from assay.services import background
from assay.settings import Settings, get_settings
from assay.store import migrate
from assay.store.db import Database


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
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        redirect_slashes=False,
    )
    app.state.db = db
    app.state.settings = settings
    install_error_handlers(app)
    routers = (
        system,
        projects,
        tasks,
        predictions,
        ground_truth,
        jobs,
        quality,
        reviews,
        honeypots,
        consensus,
        users,
    )
    for module in (*routers, dashboard, media):
        app.include_router(module.router)

    from assay.web import routes as web_routes

    web_routes.install(app, settings)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="assay_session",
        max_age=settings.session_max_age_s,
        same_site="lax",
        https_only=False,
    )
    app.add_middleware(BodyLimit, max_bytes=int(settings.max_body_mb * 2**20))
    app.add_middleware(OptionalTrailingSlash)
    return app
