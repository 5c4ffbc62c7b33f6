"""The errors a caller can act on. The API maps each class to one HTTP status in one place."""

from __future__ import annotations

from typing import Any


class AssayError(Exception):
    """Base for errors the caller can act on; the API maps each subclass to one status."""

    status_code = 400

    def __init__(self, detail: str, validation_errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.validation_errors = validation_errors or {}
        self.extra: dict[str, Any] = {}  # more keys of the error's JSON body (e.g. `paused`)


class Invalid(AssayError):
    """The input breaks a rule; `validation_errors` names each field and why."""

    status_code = 400

    @classmethod
    def field(cls, field: str, reason: str) -> Invalid:
        return cls(f"{field}: {reason}", {field: [reason]})


class Unauthorized(AssayError):
    """No valid credentials were given."""

    status_code = 401


class Forbidden(AssayError):
    """The actor's role does not allow this action."""

    status_code = 403


class Paused(Forbidden):
    """The annotator is paused in the project (services.evaluation): `paused` says why, since
    when and by whom, and the body carries it as `"paused"`."""

    def __init__(self, detail: str, paused: dict[str, Any]):
        super().__init__(detail)
        self.extra = {"paused": paused}


class NotFound(AssayError):
    """The object does not exist, or the actor may not know that it does."""

    status_code = 404


class Conflict(AssayError):
    """The action clashes with current state, e.g. the task is already done."""

    status_code = 409


class TooLarge(AssayError):
    """The request body is larger than the server accepts."""

    status_code = 413


class TooManyRequests(AssayError):
    """Too many failed attempts: the caller must wait `retry_after` seconds (Retry-After)."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after
