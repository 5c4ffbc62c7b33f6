"""Bulk inserts of rows whose ids the caller needs, or that fire the count triggers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def insert_returning_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows in bulk, as multi-row statements; answers their new ids in the rows'
    order. Every bulk INSERT into tasks, annotations and predictions goes this way: each
    statement fires the count triggers (migration 0030) once, where an executemany would
    fire them once per row.

    SQLAlchemy keeps RETURNING in parameter order on SQLite only by sending one row per
    statement, so there the ids are given explicitly instead: a writer holds SQLite's write
    lock (BEGIN IMMEDIATE), so the ids after the largest are free and stay so until commit
    (and a deferred transaction that raced another writer fails instead of clashing).
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "sqlite":
        start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(start, start + len(rows)))
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        session.execute(table.insert(), rows)
        return ids
    return list(
        session.scalars(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    )
