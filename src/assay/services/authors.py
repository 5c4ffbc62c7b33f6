"""Who wrote what: the emails behind annotation authors, for lists that name them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.store.models import User


def emails_of(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Email of each user id given, in one query; unknown ids and None are left out.

    Callers pass the authors of annotations the actor may already see (services.tasks filters
    those), so this adds no access check of its own.
    """
    wanted = {uid for uid in user_ids if uid is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.email).where(User.id.in_(wanted))).all())
