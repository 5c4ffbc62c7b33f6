"""Apply Alembic migrations programmatically; `assay serve` and the tests call this on start.

A database already at the head revision is recognised without loading Alembic (about 11 MiB
of a server's resident memory, and a tenth of a second at start): `heads()` reads the
revision ids from the migration files, `upgrade` compares them with `alembic_version`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """What Alembic compares with the models: everything but procrastinate's own tables."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate"))


@cache
def heads() -> frozenset[str]:
    """The head revisions of the migration scripts: every revision no other one revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (rev := _REVISION.search(source)) is not None:
            revisions.add(rev.group(1))
        if (down := _DOWN_REVISION.search(source)) is not None:
            revised.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - revised)


def at_head(engine: Engine) -> bool:
    """Whether the database's `alembic_version` holds exactly the migration scripts' heads."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        stored = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    return bool(stored) and stored == heads()


def alembic_config(engine: Engine) -> Config:
    # Alembic loads only when a database needs migrating (memory: see the module docstring).
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction; on SQLite with foreign keys off while tables are rebuilt.

    SQLite alters tables by copying them (Alembic batch mode); with foreign keys on, dropping
    the old copy would cascade into or fail on the rows that point at it. They are switched
    off for the migration and the result is checked before commit.
    """
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to `revision`; a no-op without Alembic when "head" is asked and already there."""
    if revision == "head" and at_head(engine):
        return
    from alembic import command  # noqa: PLC0415  (memory: see the module docstring)

    cfg = alembic_config(engine)
    with _migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command  # noqa: PLC0415  (memory: see the module docstring)

    cfg = alembic_config(engine)
    with _migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
