"""One place that turns every error into Label Studio's error shape:
{"status_code": 400, "detail": "...", "validation_errors": {"field": ["why"]}}, and says so
in the OpenAPI document."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from assay.http.middleware import BodyTooLarge
from assay.services.errors import AssayError, TooManyRequests

log = logging.getLogger("assay.api")


def error_response(
    status: int,
    detail: str,
    validation_errors: dict[str, list[str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {"status_code": status, "detail": detail, "validation_errors": validation_errors or {}}
    return JSONResponse({**body, **(extra or {})}, status_code=status)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, list[str]] = {}
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            reason = err.get("ctx", {}).get("error", "invalid JSON")
            return error_response(400, f"Malformed JSON: {reason}.", {"body": [str(reason)]})
        name = _field_name(tuple(err.get("loc", ())))
        errors.setdefault(name, []).append(err.get("msg", "invalid"))
    first = next(iter(errors), "body")
    return error_response(400, f"{first}: {errors.get(first, ['invalid'])[0]}", errors)


def _assay(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssayError)
    response = error_response(exc.status_code, exc.detail, exc.validation_errors, exc.extra)
    if exc.status_code == 401:
        response.headers["WWW-Authenticate"] = "Token"
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


# FastAPI's answer when Python's JSON parser fails other than on syntax: nested past the
# recursion limit, an integer of more than 4300 digits. The parser's error is its cause.
_UNPARSED_BODY = "There was an error parsing the body"


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "Error."
    if exc.status_code == 400 and detail == _UNPARSED_BODY:
        cause = exc.__cause__
        if isinstance(cause, BodyTooLarge):
            return error_response(413, str(cause))
        if isinstance(cause, RecursionError):
            return error_response(
                400, "Malformed JSON: nested too deep.", {"body": ["nested too deep"]}
            )
        if isinstance(cause, ValueError):
            reason = str(cause).split(";")[0]  # not Python's advice on raising its digit limit
            return error_response(400, f"Malformed JSON: {reason}.", {"body": [reason]})
        return error_response(400, "The request body could not be read.", {"body": [detail]})
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No such endpoint: {request.method} {request.url.path}"
    if exc.status_code == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}."
    return error_response(exc.status_code, detail)


def _gone(request: Request, exc: Exception) -> JSONResponse:
    """The client left (or its body stalled, `http.middleware.BodyTimeout`) mid-body."""
    return error_response(400, "The request body ended early.", {"body": ["ended early"]})


def _busy(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database busy: %s", exc)
    response = error_response(503, "The database is busy; retry the request.")
    response.headers["Retry-After"] = "1"
    return response


def _clash(request: Request, exc: Exception) -> JSONResponse:
    log.warning("integrity error: %s", exc)
    return error_response(409, "A concurrent change conflicted with this one; retry the request.")


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "Internal server error; the server log has the details.")


# The statuses an endpoint may answer with the error shape, as the OpenAPI document lists them
# (FastAPI would list 422 and its own validation body, which assay never sends).
ERROR_STATUSES = {
    "400": "Bad input; `validation_errors` names the field.",
    "401": "No token, or a bad one.",
    "403": "The role does not allow it.",
    "404": "Not found, or not yours to see.",
    "408": "The request body stalled.",
    "409": "The action clashes with the current state.",
    "413": "The request body is too large.",
    "503": "The database is busy; retry.",
}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["status_code", "detail", "validation_errors"],
    "properties": {
        "status_code": {"type": "integer"},
        "detail": {"type": "string"},
        "validation_errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def _document_errors(app: FastAPI) -> None:
    """Every operation of the OpenAPI document answers ERROR_STATUSES in the error shape."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        error = {"$ref": "#/components/schemas/Error"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                for status, description in ERROR_STATUSES.items():
                    responses.setdefault(
                        status,
                        {"description": description,
                         "content": {"application/json": {"schema": error}}},
                    )  # fmt: skip
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = ERROR_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    _document_errors(app)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(AssayError, _assay)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ClientDisconnect, _gone)
    app.add_exception_handler(OperationalError, _busy)
    app.add_exception_handler(IntegrityError, _clash)
    app.add_exception_handler(Exception, _unexpected)
