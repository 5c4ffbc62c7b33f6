"""Engines and sessions.

SQLite gets WAL, foreign keys and a busy timeout on every connection. Writers there begin with
`BEGIN IMMEDIATE` so two concurrent writers queue on the busy timeout instead of failing on a
stale snapshot; readers begin deferred and never wait for writers (WAL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from assay.store.models import Project

_KEPT = "assay_kept_projects"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with orjson for JSON columns (labels are JSON: this is the hot path)."""
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping round trip per checkout; connections are recycled before servers drop them.
    return create_engine(url, pool_recycle=1800, pool_size=10, max_overflow=20, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite so the "begin" event decides.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@event.listens_for(Session, "loaded_as_persistent")
def _keep_projects(session: Session, instance: object) -> None:
    """Hold loaded projects for the session's life, so `session.get(Project, id)` is one query.

    The identity map only holds weak references: the authorization check, the label config
    and the change handlers of one request each load the project and drop it, and each
    `session.get` would then go back to the database for the same row.
    """
    if isinstance(instance, Project):
        session.info.setdefault(_KEPT, []).append(instance)


@dataclass(frozen=True)
class Database:
    """One engine, and session factories for reading and for writing."""

    engine: Engine
    reader: sessionmaker[Session]
    writer: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str, **kwargs: Any) -> Database:
        engine = make_engine(url, **kwargs)
        write_bind = (
            engine.execution_options(sqlite_immediate=True) if is_sqlite(engine) else engine
        )
        return cls(
            engine=engine,
            reader=sessionmaker(engine, expire_on_commit=False),
            writer=sessionmaker(write_bind, expire_on_commit=False),
        )

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        session = (self.writer if write else self.reader)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
