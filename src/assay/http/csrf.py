"""CSRF protection of the web session: one token per session, checked on every unsafe request.

Web forms carry the token in a `csrf_token` field, the pages' JS in the `X-CSRFToken` header;
API clients authenticating with a token are not subject to it (no ambient credentials).
"""

from __future__ import annotations

import secrets

from fastapi import Request

from assay.services.errors import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrftoken"


def csrf_token(request: Request) -> str:
    """The web session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Forbidden unless `submitted` is the session's CSRF token."""
    expected = request.session.get("csrf")
    if not expected or not submitted or not secrets.compare_digest(expected, submitted):
        raise Forbidden("CSRF check failed: reload the page and try again.")
