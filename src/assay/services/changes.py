"""Change events of labels: which tasks' annotations, predictions or GT changed in a unit of work.

Label-changing code calls `record`; just before the session commits, every subscribed handler
gets each project's changed tasks once. The handlers (rescoring, agreement) are subscribed
where the application is assembled (`assay.app`), never as a side effect of an import, so
what runs on commit is written in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session

ChangeHandler = Callable[[Session, int, set[int]], None]

_CHANGED = "assay.changes.tasks"
_handlers: list[ChangeHandler] = []


def record(session: Session, project_id: int, task_ids: Iterable[int]) -> None:
    """Note that these tasks' labels changed; handlers see them once, just before commit."""
    changed: dict[int, set[int]] = session.info.setdefault(_CHANGED, {})
    changed.setdefault(project_id, set()).update(task_ids)


def subscribe(handler: ChangeHandler) -> None:
    """Call `handler(session, project_id, task_ids)` before every commit that changed labels."""
    if handler not in _handlers:
        _handlers.append(handler)
    if not event.contains(Session, "before_commit", _dispatch):
        event.listen(Session, "before_commit", _dispatch)


def _dispatch(session: Session) -> None:
    changed: dict[int, set[int]] = session.info.pop(_CHANGED, {})
    for project_id, task_ids in changed.items():
        for handler in _handlers:
            handler(session, project_id, task_ids)
