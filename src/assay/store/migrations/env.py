"""Alembic environment: runs on the connection handed in by assay.store.migrate."""

from alembic import context

from assay.store import (  # noqa: F401 (their tables join Base's metadata)
    bookkeeping,
    diagnosis_models,
    drift_models,
    evaluation_models,
    guideline_models,
    models,
    suspect_models,
)
from assay.store.base import Base
from assay.store.migrate import include_name

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic's own CLI is used
    from assay.settings import get_settings
    from assay.store.db import make_engine

    connection = make_engine(get_settings().resolved_database_url).connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
