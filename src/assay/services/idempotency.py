"""Idempotent writes: a request sent with an `Idempotency-Key` is done once per user and key.

A client whose import timed out or lost its connection cannot know whether it happened; with a
key it sends the same request again and gets the first answer, and nothing is imported twice.
The key is claimed in the write's own transaction (`claim`), so the key and the write commit
together or not at all: after a failed write the key is free again. Two requests with one key
at the same time: the second waits for the first's transaction (the unique index) and then
answers its answer. The same key with a different request is refused (it is a client bug).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assay.services.access import Actor
from assay.services.errors import Conflict, Invalid
from assay.store.bookkeeping import IdempotentRequest

MAX_KEY = 255


def fingerprint(parts: Iterable[bytes]) -> str:
    """What identifies a request (method and path, query, body): their sha256."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise Invalid.field("Idempotency-Key", f"must be 1 to {MAX_KEY} printable characters")
    return key


def claim(session: Session, actor: Actor, key: str, print_: str) -> dict[str, Any] | None:
    """The answer of the earlier request with this key, or None: then this request is the first
    and the key is claimed in this transaction (`remember` stores the answer)."""
    key = check_key(key)
    earlier = _find(session, actor, key)
    if earlier is None:
        try:
            with session.begin_nested():
                session.add(IdempotentRequest(user_id=actor.id, key=key, fingerprint=print_))
                session.flush()
            return None
        except IntegrityError:  # another request with this key committed meanwhile
            earlier = _find(session, actor, key)
            if earlier is None:  # pragma: no cover - it rolled back: the unique index let us in
                raise
    if earlier.fingerprint != print_:
        raise Conflict(
            f"Idempotency-Key {key!r} was used for another request; use a new key for a new one."
        )
    if earlier.answer is None:  # pragma: no cover - claimed and answered in one transaction
        raise Conflict(f"the request with Idempotency-Key {key!r} is still running")
    return earlier.answer


def remember(session: Session, actor: Actor, key: str, answer: dict[str, Any]) -> None:
    """Store the answer of the request that claimed the key."""
    row = _find(session, actor, check_key(key))
    assert row is not None, "claim the key first"
    row.answer = answer


def _find(session: Session, actor: Actor, key: str) -> IdempotentRequest | None:
    return session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == actor.id, IdempotentRequest.key == key
        )
    )
