"""Label Studio's Data Manager filter language, checked and turned into SQL conditions on Task.

What `GET /api/tasks?query=`, `POST /api/dm/actions` and the export (`?query=`, an assay
addition) accept, in Label Studio's shapes:

    {"filters": {"conjunction": "and" | "or",
                 "items": [{"filter": "filter:tasks:<field>", "operator": "<op>",
                            "type": "<Type>", "value": <value>}, ...]},
     "ordering": ["tasks:<field>" | "-tasks:<field>"],
     "selectedItems": {"all": true, "excluded": [...]} | {"all": false, "included": [...]}}

Every item is applied or refused: an unknown field, operator or type, or a value of the wrong
shape, is an `Invalid` naming it (`filters.items[2].operator: ...`), never skipped. The fields,
their types and operators are the table `FIELDS`; the negative operators (`not_equal`,
`not_in`, `not_contains`, `not_in_list`) match exactly the tasks their positive form does not,
including tasks where the value is missing. Conditions are SQL (EXISTS and correlated counts),
so a filter costs queries, not a loop over tasks.

What an actor may filter by follows what they may see: `ground_truth` needs
`access.sees_ground_truth` and `review_status` the review role (Forbidden otherwise, as the
`ground_truth` and `review_status` query parameters of the task list), and `annotators` and the
annotation counts count only the annotations the actor sees (`annotation_visibility`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import eq, ge, gt, le, lt
from typing import Any

from sqlalchemy import and_, case, false, func, not_, or_, select
from sqlalchemy.orm import aliased

from assay.services import review
from assay.services.access import Action, Actor, role_plural, sees_ground_truth
from assay.services.annotator_work import COUNTED
from assay.services.checks import MAX_ID, is_id, is_int, is_number
from assay.services.errors import Forbidden, Invalid
from assay.services.selection import ALL, Selection
from assay.services.task_aliases import alias_order, knows_aliases
from assay.services.tasks.visibility import annotation_visibility
from assay.store.json_fields import JsonBool, JsonNumber, JsonText, check_key
from assay.store.models import Annotation, Prediction, Task

FILTER_PREFIX = "filter:tasks:"
ORDER_PREFIX = "tasks:"
DATA = "data."

COMPARE = frozenset({"equal", "not_equal", "less", "greater", "less_or_equal", "greater_or_equal"})
RANGE = frozenset({"in", "not_in"})  # value {"min": a, "max": b}, both ends included
LISTED = frozenset({"in_list", "not_in_list"})  # value [a, b, ...]
NUMBER_OPS = COMPARE | RANGE
TEXT_OPS = frozenset({"equal", "not_equal", "contains", "not_contains", "empty"}) | LISTED
# Label Studio types the value of a task.data column by its object tag; all compare as text.
TEXT_TYPES = ("String", "Unknown", "Image", "Audio", "AudioPlus", "Video")

# field -> value type -> operators
FIELDS: dict[str, dict[str, frozenset[str]]] = {
    "id": {"Number": NUMBER_OPS | LISTED},
    "total_annotations": {"Number": NUMBER_OPS | {"empty"}},
    "cancelled_annotations": {"Number": NUMBER_OPS | {"empty"}},
    "total_predictions": {"Number": NUMBER_OPS | {"empty"}},
    "created_at": {"Datetime": NUMBER_OPS},
    "updated_at": {"Datetime": NUMBER_OPS},
    "ground_truth": {"Boolean": frozenset({"equal", "not_equal"})},
    "review_status": {"String": frozenset({"equal", "not_equal"}) | LISTED},
    "annotators": {"List": frozenset({"contains", "not_contains", "empty"})},
    "data.<key>": {
        **{t: TEXT_OPS for t in TEXT_TYPES},
        "Number": NUMBER_OPS | {"empty"},
        "Boolean": frozenset({"equal", "not_equal", "empty"}),
    },
}
ORDER_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "total_annotations",
    "cancelled_annotations",
    "total_predictions",
    "ground_truth",
    "data.<key>",
)
MAX_LISTED = 30_000


@dataclass(frozen=True)
class Item:
    """One checked filter item; `value` converted for its type (see `_value`)."""

    field: str  # "id", "data.image", ...
    operator: str
    type: str
    value: Any


@dataclass(frozen=True)
class Filters:
    conjunction: str  # "and" | "or"
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool


@dataclass(frozen=True)
class DmQuery:
    """A checked `query`: filters, ordering, and the raw `selectedItems` (checked by
    `selection.selected_task_ids` against the project)."""

    filters: Filters | None = None
    ordering: Ordering | None = None
    selected_items: Any = None


# -- parsing ---------------------------------------------------------------------------------


def parse_query(raw: str | None, selected_items: str | None = None) -> DmQuery:
    """The JSON string of Label Studio's `query` parameter, checked; `selected_items` is the
    JSON of a separate `selectedItems` parameter (the SDK's `selected_items`)."""
    body = _json(raw, "query") if raw else {}
    if not isinstance(body, dict):
        raise Invalid.field("query", 'must be a JSON object: {"filters": ..., "ordering": ...}')
    items = body.get("selectedItems")
    if selected_items:
        if items is not None:
            raise Invalid.field("selectedItems", "give it once: as a parameter or in query")
        items = _json(selected_items, "selectedItems")
    return DmQuery(
        parse_filters(body.get("filters"), "query.filters"),
        parse_ordering(body.get("ordering"), "query.ordering"),
        items,
    )


def _json(raw: str, name: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as e:  # a 5,000-digit integer is a ValueError too
        raise Invalid.field(name, f"is not JSON ({str(e).split(';')[0]})") from None
    except RecursionError:
        raise Invalid.field(name, "is JSON nested too deep") from None


def parse_filters(raw: Any, name: str = "filters") -> Filters | None:
    """Label Studio's `filters`, checked item by item; None when absent."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Invalid.field(name, 'must be {"conjunction": "and" | "or", "items": [...]}')
    conjunction = raw.get("conjunction")
    if conjunction not in ("and", "or"):
        raise Invalid.field(f"{name}.conjunction", f"{conjunction!r} is not and / or")
    items = raw.get("items", [])
    if not isinstance(items, list):
        raise Invalid.field(f"{name}.items", "must be a list of filter items")
    return Filters(conjunction, tuple(_item(v, f"{name}.items[{i}]") for i, v in enumerate(items)))


def parse_ordering(raw: Any, name: str = "ordering") -> Ordering | None:
    """Label Studio's `ordering`: at most one field, `tasks:<field>`, `-` first for descending."""
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise Invalid.field(name, 'must be a list of one field, e.g. ["-tasks:created_at"]')
    if len(raw) > 1:
        raise Invalid.field(name, f"orders by one field only; got {len(raw)}: {', '.join(raw)}")
    text = raw[0]
    descending = text.startswith("-")
    field = text.removeprefix("-").removeprefix("filter:").removeprefix(ORDER_PREFIX)
    kind = _kind(field)
    if kind not in ORDER_FIELDS:
        shown = ", ".join(ORDER_PREFIX + f for f in ORDER_FIELDS)
        raise Invalid.field(name, f"{text!r} is not supported; one of {shown} (-: descending)")
    if kind == "data.<key>" and (why := check_key(field[len(DATA) :])):
        raise Invalid.field(name, f"{text!r}: the data key {why}")
    return Ordering(field, descending)


def _kind(field: str) -> str:
    return "data.<key>" if field.startswith(DATA) else field


def _item(raw: Any, at: str) -> Item:
    if not isinstance(raw, dict):
        raise Invalid.field(at, 'must be {"filter": .., "operator": .., "type": .., "value": ..}')
    for key in ("child_filter", "child_filters"):
        if raw.get(key):
            raise Invalid.field(f"{at}.{key}", "child filters are not supported")
    name = raw.get("filter")
    if not isinstance(name, str) or not name.startswith(FILTER_PREFIX):
        raise Invalid.field(f"{at}.filter", f"{name!r} is not a task filter (filter:tasks:<field>)")
    field = name[len(FILTER_PREFIX) :]
    types = FIELDS.get(_kind(field))
    if types is None:
        shown = ", ".join(FILTER_PREFIX + f for f in FIELDS)
        raise Invalid.field(f"{at}.filter", f"{name!r} is not supported; one of {shown}")
    if field.startswith(DATA) and (why := check_key(field[len(DATA) :])):
        raise Invalid.field(f"{at}.filter", f"{name!r}: the data key {why}")
    kind = raw.get("type")
    if kind not in types:
        raise Invalid.field(
            f"{at}.type", f"{kind!r} is not supported for {name}; use {' or '.join(types)}"
        )
    operator = raw.get("operator")
    if operator not in types[kind]:
        raise Invalid.field(
            f"{at}.operator",
            f"{operator!r} is not supported for {name} ({kind}); one of "
            + ", ".join(sorted(types[kind])),
        )
    if raw.get("value") is None:
        raise Invalid.field(f"{at}.value", "is required (a filter without a value is not applied)")
    value = _value(raw["value"], kind, operator, f"{at}.value")
    if field == "review_status":
        for status in value if operator in LISTED else (value,):
            if status not in review.REVIEW_STATUSES:
                shown = ", ".join(review.REVIEW_STATUSES)
                raise Invalid.field(f"{at}.value", f"{status!r} is not a review status: {shown}")
    return Item(field, operator, kind, value)


def _value(raw: Any, kind: str, operator: str, at: str) -> Any:
    """The value in the form the SQL wants: a bool for `empty`; (min, max) for in / not_in;
    a tuple for in_list / not_in_list; else one scalar of the type."""
    if operator == "empty":
        return _boolean(raw, at)
    if operator in RANGE:
        if not isinstance(raw, dict) or "min" not in raw or "max" not in raw:
            raise Invalid.field(at, 'must be {"min": ..., "max": ...} for in / not_in')
        return (_scalar(raw["min"], kind, f"{at}.min"), _scalar(raw["max"], kind, f"{at}.max"))
    if operator in LISTED:
        if not isinstance(raw, list) or len(raw) > MAX_LISTED:
            raise Invalid.field(at, f"must be a list (at most {MAX_LISTED} values) for {operator}")
        return tuple(_scalar(v, kind, f"{at}[{i}]") for i, v in enumerate(raw))
    return _scalar(raw, kind, at)


def _scalar(raw: Any, kind: str, at: str) -> Any:
    if kind == "Number":
        try:
            number = raw if is_number(raw) else float(raw) if isinstance(raw, str) else None
            if is_int(number) and abs(number) > MAX_ID:  # beyond integer columns: as a float
                number = float(number)
        except (ValueError, OverflowError):
            number = None
        return number if number is not None and math.isfinite(number) else _fail(at, "a number")
    if kind == "Datetime":
        if not isinstance(raw, str):
            return _fail(at, "an ISO-8601 date and time, e.g. 2026-01-31T12:00:00.000Z")
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            return _fail(at, "an ISO-8601 date and time, e.g. 2026-01-31T12:00:00.000Z")
        return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if kind == "Boolean":
        return _boolean(raw, at)
    if kind == "List":  # annotators: a user id
        if isinstance(raw, str) and raw.isdigit() and len(raw) <= len(str(MAX_ID)):
            raw = int(raw)
        return raw if is_id(raw) else _fail(at, "a user id")
    if isinstance(raw, str):
        return raw
    if is_number(raw):  # compared with the value's text, as JSON writes the number
        return json.dumps(raw)
    return _fail(at, "a string")


def _boolean(raw: Any, at: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return _fail(at, "true or false")


def _fail(at: str, what: str) -> Any:
    raise Invalid.field(at, f"must be {what}")


# -- SQL ---------------------------------------------------------------------------------------


def conditions(actor: Actor, filters: Filters | None) -> tuple[Any, ...]:
    """The filters as conditions on Task (empty when there are none), for the actor."""
    if filters is None or not filters.items:
        return ()
    parts = [_condition(actor, item) for item in filters.items]
    return (and_(*parts) if filters.conjunction == "and" else or_(*parts),)


def order_by(actor: Actor, ordering: Ordering | None) -> tuple[Any, ...]:
    """ORDER BY terms for the ordering, ties (and no ordering) by id; missing values last."""
    if ordering is None or ordering.field == "id":
        return (Task.id.desc() if ordering and ordering.descending else Task.id,)
    key = _sort_key(actor, ordering.field)
    term = key.desc() if ordering.descending else key.asc()
    return (term.nulls_last(), Task.id)


def selection(actor: Actor, body: dict[str, Any]) -> Selection:
    """What a data-manager action acts on: the body's `selectedItems` AND its `filters`.

    `ordering` is checked too (an action over a set of tasks does not depend on it).
    """
    order_by(actor, parse_ordering(body.get("ordering")))
    where = conditions(actor, parse_filters(body.get("filters")))
    return Selection(body.get("selectedItems"), where)


def export_selection(actor: Actor, query: DmQuery) -> Selection | None:
    """The tasks an export's `query` keeps (None: no query). Exports go in id order."""
    if query.ordering not in (None, Ordering("id", descending=False)):
        raise Invalid.field("query.ordering", "exports are written in task id order only")
    if query.filters is None and query.selected_items is None:
        return None
    items = query.selected_items if query.selected_items is not None else ALL
    return Selection(items, conditions(actor, query.filters))


def has_ground_truth() -> Any:
    """A condition on Task: it has a live GT annotation."""
    gt = aliased(Annotation)
    return (
        select(gt.id)
        .where(gt.task_id == Task.id, gt.ground_truth.is_(True), gt.deleted_at.is_(None))
        .correlate(Task)
        .exists()
    )


def _negate(positive: Any, nullable: bool) -> Any:
    """Exactly the tasks `positive` leaves out: with `nullable`, also those where it is NULL."""
    return not_(func.coalesce(positive, false())) if nullable else not_(positive)


_COMPARISONS = {"equal": eq, "less": lt, "greater": gt, "less_or_equal": le, "greater_or_equal": ge}


def _compare(column: Any, op: str, value: Any, nullable: bool = False) -> Any:
    positive = op.removeprefix("not_")
    if positive == "in":
        expr = and_(column >= value[0], column <= value[1])
    elif positive == "in_list":
        expr = column.in_(value)
    elif positive == "contains":
        expr = column.icontains(value, autoescape=True)
    else:
        expr = _COMPARISONS[positive](column, value)
    return _negate(expr, nullable) if op.startswith("not_") else expr


def _annotations(actor: Actor, *where: Any) -> Any:
    """The live annotations of the task (correlated) that the actor sees."""
    return (
        select(Annotation.id)
        .where(
            Annotation.task_id == Task.id,
            Annotation.deleted_at.is_(None),
            *annotation_visibility(actor),
            *where,
        )
        .correlate(Task)
    )


def _count(actor: Actor, field: str) -> Any:
    """total_annotations / cancelled_annotations / total_predictions of each task, as the
    task's JSON gives them to the actor."""
    if field == "total_predictions":
        stmt = select(func.count(Prediction.id)).where(
            Prediction.task_id == Task.id, Prediction.deleted_at.is_(None)
        )
    else:
        cancelled = Annotation.was_cancelled.is_(field == "cancelled_annotations")
        stmt = _annotations(actor, cancelled, COUNTED).with_only_columns(func.count(Annotation.id))
    return stmt.correlate(Task).scalar_subquery()


def may_use(actor: Actor, field: str) -> bool:
    """Whether the actor may filter or order by the field (for offering it in a page)."""
    try:
        _may_filter(actor, field)
    except Forbidden:
        return False
    return True


def _may_filter(actor: Actor, field: str) -> None:
    if field == "ground_truth" and not sees_ground_truth(actor):
        raise Forbidden(f"{role_plural(actor.role)} cannot filter or order by ground truth.")
    if field == "review_status" and not actor.may(Action.REVIEW):
        raise Forbidden(f"{role_plural(actor.role)} cannot filter by review status.")
    if field in ("created_at", "updated_at") and knows_aliases(actor):
        # their tasks carry their job's times (services.task_aliases); the real ones would
        # tell the older tasks, the honeypots, apart
        raise Forbidden(
            f"{role_plural(actor.role)} cannot filter or order by {field}: "
            "their tasks carry the times of their jobs."
        )


def _condition(actor: Actor, item: Item) -> Any:
    field, op, value = item.field, item.operator, item.value
    _may_filter(actor, field)
    if field == "id":  # the id the actor sees: an annotator's alias (services.task_aliases)
        return _compare(alias_order(actor) if knows_aliases(actor) else Task.id, op, value)
    if field in ("created_at", "updated_at"):
        return _compare(getattr(Task, field), op, value)
    if field in ("total_annotations", "cancelled_annotations", "total_predictions"):
        if op == "empty":  # no annotations (predictions) is empty, as in Label Studio
            return _count(actor, field) == 0 if value else _count(actor, field) != 0
        return _compare(_count(actor, field), op, value)
    if field == "ground_truth":
        has = has_ground_truth()
        return has if value == (op == "equal") else ~has
    if field == "review_status":
        statuses = value if op in LISTED else (value,)
        has = or_(false(), *(review.has_review_status(s) for s in statuses))
        return ~has if op.startswith("not_") else has
    if field == "annotators":
        if op == "empty":
            someone = _annotations(actor, Annotation.completed_by_id.is_not(None)).exists()
            return ~someone if value else someone
        by = _annotations(actor, Annotation.completed_by_id == value).exists()
        return by if op == "contains" else ~by
    return _data_condition(field[len(DATA) :], item)


def _data_condition(key: str, item: Item) -> Any:
    """A task.data key: absent, null and "" are empty; Number compares JSON numbers, Boolean
    true / false, the text types the value's text (contains: case-insensitive)."""
    text = JsonText(Task.data, key)
    if item.operator == "empty":
        empty = or_(text.is_(None), text == "")
        return empty if item.value else ~empty
    if item.type == "Number":
        column: Any = JsonNumber(Task.data, key)
    elif item.type == "Boolean":
        column = JsonBool(Task.data, key)
    else:
        column = text
    return _compare(column, item.operator, item.value, nullable=True)


def _sort_key(actor: Actor, field: str) -> Any:
    if field in ("created_at", "updated_at"):
        _may_filter(actor, field)
        return getattr(Task, field)
    if field in ("total_annotations", "cancelled_annotations", "total_predictions"):
        return _count(actor, field)
    if field == "ground_truth":
        _may_filter(actor, field)
        return case((has_ground_truth(), 1), else_=0)
    return JsonText(Task.data, field[len(DATA) :])
