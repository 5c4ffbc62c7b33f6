"""One top-level key of a JSON column (and the region count of a result) as SQL, the same on
SQLite and PostgreSQL.

SQLite's `json_extract` returns a JSON number as a number and PostgreSQL's `->>` as text, and a
cast of a non-number fails on PostgreSQL, so each reading names what it wants and gets NULL for
anything else:

- `JsonText`: the value's text (a string as it is, a number or true/false as JSON writes it);
  NULL when the key is missing or null.
- `JsonNumber`: the value when it is a JSON number, else NULL.
- `JsonBool`: the value when it is true or false, else NULL.

The key is taken literally (`"a.b"` is one key, not a path); it may not contain a double quote,
which SQLite's JSON paths cannot hold (`check_key`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, Text, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def check_key(key: str) -> str | None:
    """Why `key` cannot be read from a JSON column, or None when it can."""
    if not key:
        return "is empty"
    if '"' in key:
        return "may not contain a double quote"
    return None


class _JsonKey(FunctionElement[Any]):
    inherit_cache = True

    def __init__(self, column: Any, key: str) -> None:
        # The key and SQLite's path to it are both clauses, so they are part of the cache key.
        super().__init__(column, literal(key, String), literal(f'$."{key}"', String))


class JsonText(_JsonKey):
    type = Text()
    inherit_cache = True


class JsonNumber(_JsonKey):
    type = Float()
    inherit_cache = True


class JsonBool(_JsonKey):
    type = Boolean()
    inherit_cache = True


def _parts(element: _JsonKey, compiler: SQLCompiler, **kw: Any) -> tuple[str, str, str]:
    column, key, path = element.clauses
    return (
        compiler.process(column, **kw),
        compiler.process(key, **kw),
        compiler.process(path, **kw),
    )


@compiles(JsonText, "sqlite")
def _text_sqlite(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    col, _, path = _parts(element, compiler, **kw)
    return (
        f"CASE json_type({col}, {path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        f"WHEN 'null' THEN NULL ELSE CAST(json_extract({col}, {path}) AS TEXT) END"
    )


@compiles(JsonText, "postgresql")
def _text_pg(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    col, key, _ = _parts(element, compiler, **kw)
    return f"({col} ->> {key})"


@compiles(JsonNumber, "sqlite")
def _number_sqlite(element: JsonNumber, compiler: SQLCompiler, **kw: Any) -> str:
    col, _, path = _parts(element, compiler, **kw)
    return (
        f"CASE WHEN json_type({col}, {path}) IN ('integer', 'real') "
        f"THEN json_extract({col}, {path}) END"
    )


@compiles(JsonNumber, "postgresql")
def _number_pg(element: JsonNumber, compiler: SQLCompiler, **kw: Any) -> str:
    col, key, _ = _parts(element, compiler, **kw)
    return (
        f"CASE WHEN jsonb_typeof({col} -> {key}) = 'number' "
        f"THEN CAST({col} ->> {key} AS DOUBLE PRECISION) END"
    )


@compiles(JsonBool, "sqlite")
def _bool_sqlite(element: JsonBool, compiler: SQLCompiler, **kw: Any) -> str:
    col, _, path = _parts(element, compiler, **kw)
    return f"CASE json_type({col}, {path}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"


@compiles(JsonBool, "postgresql")
def _bool_pg(element: JsonBool, compiler: SQLCompiler, **kw: Any) -> str:
    col, key, _ = _parts(element, compiler, **kw)
    return (
        f"CASE WHEN jsonb_typeof({col} -> {key}) = 'boolean' "
        f"THEN CAST({col} ->> {key} AS BOOLEAN) END"
    )


class JsonRegionCount(FunctionElement[Any]):
    """How many regions a Label Studio result (a JSON list column) holds: its items that are
    not relations (`type` other than "relation"), as `web.common.region_count` counts them;
    0 for an empty list."""

    type = Integer()
    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)


@compiles(JsonRegionCount, "sqlite")
def _regions_sqlite(element: JsonRegionCount, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.clauses.clauses[0], **kw)
    return (
        f"(SELECT count(*) FROM json_each({col}) AS r "
        "WHERE r.type = 'object' AND coalesce(json_extract(r.value, '$.type'), '') != 'relation')"
    )


@compiles(JsonRegionCount, "postgresql")
def _regions_pg(element: JsonRegionCount, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.clauses.clauses[0], **kw)
    return (
        f"(SELECT count(*) FROM jsonb_array_elements({col}) AS r(v) "
        "WHERE jsonb_typeof(r.v) = 'object' AND coalesce(r.v ->> 'type', '') != 'relation')"
    )
