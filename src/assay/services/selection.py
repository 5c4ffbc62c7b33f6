"""Data-manager selections, and what a bulk action over one did.

A selection is Label Studio's `selectedItems`, {"all": false, "included": [ids]} or
{"all": true, "excluded": [ids]}, optionally narrowed by the conditions of Data Manager
filters (`Selection.where`, made by `services.views.dm_filters`): the selected tasks are those
that match the filters AND are selected, as in Label Studio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from assay.services.access import Actor
from assay.services.checks import is_id_list
from assay.services.errors import Invalid
from assay.services.task_aliases import named_tasks
from assay.store.models import Task

MAX_INCLUDED = 30_000


@dataclass(frozen=True)
class Selection:
    """`selectedItems` and the SQL conditions on Task that Data Manager filters add to it."""

    items: Any
    where: tuple[Any, ...] = ()


ALL: dict[str, Any] = {"all": True, "excluded": []}


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did to the selected tasks."""

    selected: int
    changed: int  # tasks whose GT is now different
    unchanged: int  # tasks that already had the wanted GT
    skipped: int  # tasks with nothing to act on (e.g. no annotation by that annotator)


def selected_task_ids(
    session: Session, project_id: int, selection: Any, actor: Actor | None = None
) -> Select[tuple[int]]:
    """A subquery of the live task ids the selection names, after checking it.

    With `actor`, the ids are those the actor knows the tasks by (an annotator's aliases,
    `task_aliases.named_tasks`), as in a task list they ask for.

    `selection` is a `Selection` or a bare `selectedItems`. Raises Invalid for a malformed or
    empty selection, or ids that are not live tasks of the project (named in the error), so a
    bulk action never half-applies to a wrong list. The filters' conditions (`Selection.where`)
    narrow the result; an included id that does not match them is left out, not an error.
    """
    where: tuple[Any, ...] = ()
    if isinstance(selection, Selection):
        selection, where = selection.items, selection.where
    if not isinstance(selection, dict) or not isinstance(selection.get("all"), bool):
        raise Invalid.field(
            "selectedItems",
            'must be {"all": false, "included": [...]} or {"all": true, "excluded": [...]}',
        )
    live = select(Task.id).where(Task.project_id == project_id, Task.deleted_at.is_(None))
    key = "excluded" if selection["all"] else "included"
    ids = selection.get(key, [])
    if not is_id_list(ids):
        raise Invalid.field(f"selectedItems.{key}", "must be a list of task ids")
    if len(ids) > MAX_INCLUDED:
        raise Invalid.field(
            f"selectedItems.{key}", f"at most {MAX_INCLUDED} ids; select all and exclude instead"
        )
    named = named_tasks(session, actor, ids) if actor is not None else {i: i for i in ids}
    real = [named[i] for i in ids if i in named]
    if selection["all"]:
        return (live.where(Task.id.not_in(real)) if real else live).where(*where)
    if not ids:
        raise Invalid.field("selectedItems.included", "is empty: select at least one task")
    found = set(session.scalars(live.where(Task.id.in_(real))))
    missing = sorted(i for i in set(ids) if named.get(i) not in found)
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise Invalid.field("selectedItems.included", f"not tasks of project {project_id}: {shown}")
    return live.where(Task.id.in_(real), *where)
