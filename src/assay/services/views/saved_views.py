"""Saved Data Manager filters (Label Studio's views, `/api/dm/views`): a title, filters and an
ordering kept under a name, personal or project-wide.

- personal: only its owner lists, reads, applies, changes and deletes it;
- project: every member who may open the project's Data Manager (`Action.TASK_VIEW`) lists,
  reads and applies it; only leads and admins (`Action.DM_VIEWS_SHARE`) make, change or delete
  one. Applying a view is applying its filters: what the filters may name follows the one who
  applies it (`dm_filters`: an annotator applying a ground-truth filter is refused), and the
  tasks it lists are only those the applier may see.
Deleting keeps the row with `deleted_at` set.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assay.formats.label_studio import RegionError, check_json
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Forbidden, Invalid, NotFound
from assay.services.views import dm_filters
from assay.store.models import SavedView
from assay.store.types import utcnow

PERSONAL = "personal"
PROJECT = "project"
SCOPES = (PERSONAL, PROJECT)
MAX_TITLE = 200
MAX_DATA_BYTES = 64 * 1024
# What a view's `data` may hold: the filters and ordering assay applies, and the display state
# a Data Manager client keeps with a view (kept as sent, applied by the client).
CHECKED_KEYS = ("title", "filters", "ordering")
DISPLAY_KEYS = ("type", "target", "hiddenColumns", "columnsWidth", "columnsDisplayType")


def checked_data(raw: Any) -> dict[str, Any]:
    """A view's `data`, checked: a title, Label Studio filters and ordering (as `dm_filters`
    reads them) and display state; anything else is refused by name."""
    if not isinstance(raw, dict):
        raise Invalid.field("data", 'must be an object: {"title": .., "filters": .., ...}')
    unknown = sorted(set(raw) - {*CHECKED_KEYS, *DISPLAY_KEYS})
    if unknown:
        raise Invalid.field(f"data.{unknown[0]}", "is not a view setting assay keeps")
    title = raw.get("title", "")
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise Invalid.field("data.title", f"must be a string of at most {MAX_TITLE} characters")
    dm_filters.parse_filters(raw.get("filters"), "data.filters")
    dm_filters.parse_ordering(raw.get("ordering"), "data.ordering")
    try:
        check_json(raw, "data")
    except RegionError as exc:
        raise Invalid.field(exc.field or "data", exc.reason) from None
    if len(orjson.dumps(raw)) > MAX_DATA_BYTES:
        raise Invalid.field("data", f"is over {MAX_DATA_BYTES // 1024} KiB as JSON")
    return {**raw, "title": title}


def _checked_scope(value: Any) -> str:
    if value not in SCOPES:
        raise Invalid.field("scope", f"must be one of {', '.join(SCOPES)}")
    return value


def may_change(actor: Actor, view: SavedView) -> bool:
    """Whether the actor may rename, refilter or delete the view (which the UI offers)."""
    if view.scope == PROJECT:
        return actor.may(Action.DM_VIEWS_SHARE)
    return view.owner_id == actor.id


def _visible(actor: Actor) -> Any:
    return or_(SavedView.scope == PROJECT, SavedView.owner_id == actor.id)


def list_views(session: Session, actor: Actor, project_id: int) -> list[SavedView]:
    """The project's views the actor sees: project-wide ones, then their own, oldest first."""
    authorize(session, actor, Action.TASK_VIEW, project_id)
    stmt = (
        select(SavedView)
        .where(
            SavedView.project_id == project_id,
            SavedView.deleted_at.is_(None),
            _visible(actor),
        )
        .order_by(SavedView.id)
    )
    return list(session.scalars(stmt))


def get_view(session: Session, actor: Actor, view_id: int) -> SavedView:
    """A view the actor sees; NotFound for another person's personal view."""
    view = session.get(SavedView, view_id)
    if view is None or view.deleted_at is not None:
        raise NotFound(f"View {view_id} not found.")
    authorize(session, actor, Action.TASK_VIEW, view.project_id)
    if view.scope == PERSONAL and view.owner_id != actor.id:
        raise NotFound(f"View {view_id} not found.")
    return view


def create_view(
    session: Session, actor: Actor, project_id: Any, data: Any, scope: Any = PERSONAL
) -> SavedView:
    """A new view of the project; a project-wide one only by a lead or admin."""
    if not isinstance(project_id, int) or isinstance(project_id, bool):
        raise Invalid.field("project", "is required: the id of the view's project")
    authorize(session, actor, Action.TASK_VIEW, project_id)
    scope = _checked_scope(scope)
    if scope == PROJECT:
        authorize(session, actor, Action.DM_VIEWS_SHARE, project_id)
    view = SavedView(
        project_id=project_id,
        owner_id=actor.id,
        scope=scope,
        data=checked_data(data if data is not None else {}),
    )
    session.add(view)
    session.flush()
    return view


def update_view(session: Session, actor: Actor, view_id: int, **fields: Any) -> SavedView:
    """Change a view's `data` (replaced whole) and/or `scope`: its owner a personal view, a lead
    or admin a project-wide one; only they make a view project-wide."""
    view = get_view(session, actor, view_id)
    if not may_change(actor, view):
        raise Forbidden("Only a lead or admin may change a project-wide view.")
    if "scope" in fields:
        scope = _checked_scope(fields["scope"])
        if scope == PROJECT and not actor.may(Action.DM_VIEWS_SHARE):
            raise Forbidden("Only a lead or admin may make a view project-wide.")
        view.scope = scope
    if "data" in fields:
        view.data = checked_data(fields["data"])
    view.updated_at = utcnow()
    session.flush()
    return view


def delete_view(session: Session, actor: Actor, view_id: int) -> None:
    view = get_view(session, actor, view_id)
    if not may_change(actor, view):
        raise Forbidden("Only a lead or admin may delete a project-wide view.")
    view.deleted_at = utcnow()
    session.flush()


def query_of(session: Session, actor: Actor, view_id: int, project_id: int) -> dm_filters.DmQuery:
    """The view's filters and ordering as a Data Manager query, for listing the project's tasks
    (`GET /api/tasks?view=`); Invalid when the view is of another project."""
    view = get_view(session, actor, view_id)
    if view.project_id != project_id:
        raise Invalid.field("view", f"view {view_id} is not of project {project_id}")
    return dm_filters.DmQuery(
        dm_filters.parse_filters(view.data.get("filters"), "view.filters"),
        dm_filters.parse_ordering(view.data.get("ordering"), "view.ordering"),
    )


def page_data(
    base: dict[str, Any] | None,
    ground_truth: bool | None,
    review_status: str | None,
    ordering: str | None,
) -> dict[str, Any]:
    """The filters and ordering of the data-manager page as a view's `data` (without title):
    the selected view's (`base`) with the page's ground-truth and review-status filters ANDed
    on, and the page's ordering in place of the view's. Invalid when an `or` view would need
    more items (Label Studio's filters do not nest)."""
    base = base or {}
    filters = base.get("filters") or {"conjunction": "and", "items": []}
    extra = []
    if ground_truth is not None:
        extra.append(
            {"filter": "filter:tasks:ground_truth", "operator": "equal", "type": "Boolean",
             "value": ground_truth}
        )  # fmt: skip
    if review_status is not None:
        extra.append(
            {"filter": "filter:tasks:review_status", "operator": "equal", "type": "String",
             "value": review_status}
        )  # fmt: skip
    items = list(filters.get("items", []))
    if extra and filters.get("conjunction") == "or" and len(items) > 1:
        raise Invalid.field(
            "filters", "this view's filters are joined by OR; the page's filters cannot be added"
        )
    conjunction = "and" if extra else filters.get("conjunction")
    data: dict[str, Any] = {"filters": {"conjunction": conjunction, "items": items + extra}}
    if ordering is not None:
        data["ordering"] = [ordering]
    elif base.get("ordering"):
        data["ordering"] = base["ordering"]
    dm_filters.parse_filters(data["filters"], "filters")
    dm_filters.parse_ordering(data.get("ordering"), "ordering")
    return data
