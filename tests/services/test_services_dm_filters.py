"""The Data Manager filter language (services.views.dm_filters): what it accepts, what it refuses
by name, and the tasks its SQL picks, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from label_studio_sdk.data_manager import Column, Filters, Operator, Type
from sqlalchemy import select

from assay.services import projects, tasks
from assay.services.errors import Forbidden, Invalid
from assay.services.selection import Selection, selected_task_ids
from assay.services.views import dm_filters
from assay.services.views.task_list import list_tasks
from assay.store.models import Task
from builders import RECT_CONFIG, actor_of, annotate, box, counting_queries

# The values of task.data of each task, in task order: strings, numbers, booleans, a number
# kept as a string, "" and missing keys, a key with a dot.
DATA = [
    {"image": "a.jpg", "site": "North ridge", "n": 1, "flag": True, "a.b": "dot"},
    {"image": "b.jpg", "site": "south", "n": 2.5, "flag": False},
    {"image": "c.jpg", "site": "", "n": "3", "flag": "true"},
    {"image": "d.jpg", "n": None},
    {"image": "e.jpg", "site": "NORTH", "n": 10, "flag": True},
]


@pytest.fixture
def made(db, people):
    lead = actor_of(people["lead"])
    with db.session() as s:
        project = projects.create_project(s, lead, title="Filters", label_config=RECT_CONFIG)
        for key in ("reviewer", "annotator", "annotator2"):
            projects.add_member(s, lead, project.id, people[key].id)
        ids = tasks.import_tasks(s, lead, project.id, [{"data": d} for d in DATA]).task_ids
    return project.id, ids


def _item(field, operator, kind, value):
    return Filters.item(field, operator, kind, Filters.value(value))


def _picked(db, actor, project_id, *items, conjunction="and"):
    flt = dm_filters.parse_filters(Filters.create(conjunction, list(items)))
    with db.session() as s:
        where = dm_filters.conditions(actor, flt)
        stmt = select(Task.id).where(Task.project_id == project_id, *where).order_by(Task.id)
        return list(s.scalars(stmt))


def test_data_fields_by_type_and_operator(db, people, made):
    p, t = made
    lead = actor_of(people["lead"])
    site, n, flag = Column.data("site"), Column.data("n"), Column.data("flag")
    cases = [
        (_item(site, Operator.EQUAL, Type.String, "south"), [t[1]]),
        # the negation is the exact complement, missing and "" included
        (_item(site, Operator.NOT_EQUAL, Type.String, "south"), [t[0], t[2], t[3], t[4]]),
        (_item(site, Operator.CONTAINS, Type.String, "north"), [t[0], t[4]]),  # any case
        (_item(site, Operator.NOT_CONTAINS, Type.String, "north"), [t[1], t[2], t[3]]),
        (_item(site, Operator.EMPTY, Type.String, True), [t[2], t[3]]),
        (_item(site, Operator.EMPTY, Type.String, False), [t[0], t[1], t[4]]),
        (_item(site, Operator.IN_LIST, Type.String, ["south", "NORTH"]), [t[1], t[4]]),
        (_item(site, Operator.NOT_IN_LIST, Type.String, ["south"]), [t[0], t[2], t[3], t[4]]),
        (_item(Column.data("image"), "equal", "Image", "c.jpg"), [t[2]]),  # LS's column type
        # Number compares JSON numbers only: "3" is text
        (_item(n, Operator.GREATER, Type.Number, 2), [t[1], t[4]]),
        (_item(n, Operator.LESS_OR_EQUAL, Type.Number, 2.5), [t[0], t[1]]),
        (_item(n, Operator.IN, Type.Number, {"min": 1, "max": 3}), [t[0], t[1]]),
        (_item(n, Operator.NOT_IN, Type.Number, {"min": 1, "max": 3}), [t[2], t[3], t[4]]),
        (_item(n, Operator.EQUAL, Type.Number, "10"), [t[4]]),  # a numeric string value
        (_item(n, Operator.EMPTY, Type.Number, True), [t[3]]),
        (_item(n, Operator.EQUAL, Type.String, "3"), [t[2]]),
        (_item(n, Operator.EQUAL, Type.String, 2.5), [t[1]]),  # a number as JSON writes it
        (_item(flag, Operator.EQUAL, Type.Boolean, True), [t[0], t[4]]),  # "true" is text
        (_item(flag, Operator.NOT_EQUAL, Type.Boolean, True), [t[1], t[2], t[3]]),
        (_item(flag, Operator.EQUAL, Type.String, "true"), [t[0], t[2], t[4]]),
        (_item(Column.data("a.b"), Operator.EQUAL, Type.String, "dot"), [t[0]]),  # one key
    ]
    for item, expected in cases:
        assert _picked(db, lead, p, item) == expected, item


def test_task_fields_and_conjunctions(db, people, made):
    p, t = made
    lead = actor_of(people["lead"])
    annotate(db, people["annotator"], t[0], [box(1, 1, 5, 5)])
    annotate(db, people["annotator2"], t[0], [box(2, 1, 5, 5)], gt=False)
    annotate(db, people["lead"], t[1], [box(1, 1, 5, 5)], gt=True)
    id_ = Column.id
    cases = [
        ([_item(id_, Operator.GREATER, Type.Number, t[2])], [t[3], t[4]]),
        ([_item(id_, Operator.IN_LIST, Type.Number, [t[0], t[4]])], [t[0], t[4]]),
        ([_item(id_, Operator.NOT_IN, Type.Number, {"min": t[1], "max": t[3]})], [t[0], t[4]]),
        ([_item(Column.total_annotations, Operator.EQUAL, Type.Number, 2)], [t[0]]),
        ([_item(Column.total_annotations, Operator.EMPTY, Type.Number, False)], [t[0], t[1]]),
        ([_item(Column.total_predictions, Operator.EMPTY, Type.Number, True)], t),
        ([_item(Column.ground_truth, Operator.EQUAL, Type.Boolean, True)], [t[1]]),
        ([_item(Column.ground_truth, Operator.NOT_EQUAL, Type.Boolean, True)], [t[0], *t[2:]]),
        ([_item(Column.annotators, Operator.CONTAINS, Type.List, people["annotator2"].id)], [t[0]]),
        (
            [_item(Column.annotators, Operator.NOT_CONTAINS, Type.List, people["lead"].id)],
            [t[0], *t[2:]],
        ),
        ([_item(Column.annotators, Operator.EMPTY, Type.List, True)], t[2:]),
        ([_item("tasks:review_status", "equal", "String", "none")], [t[0]]),  # GT is no work
        (
            [
                _item(id_, Operator.EQUAL, Type.Number, t[0]),
                _item(Column.data("site"), Operator.EQUAL, Type.String, "south"),
            ],
            [],
        ),
    ]
    for items, expected in cases:
        assert _picked(db, lead, p, *items) == expected, items
    either = [
        _item(id_, "equal", "Number", t[0]),
        _item(Column.data("site"), "equal", "String", "south"),
    ]
    assert _picked(db, lead, p, *either, conjunction="or") == [t[0], t[1]]
    assert _picked(db, lead, p) == t  # no items: every task


def test_datetimes_compare_in_utc(db, people, made):
    p, t = made
    lead = actor_of(people["lead"])
    with db.session() as s:
        created = s.get(Task, t[0]).created_at
    before = created.replace(year=created.year - 1)
    after = created.replace(year=created.year + 1)
    span = {"min": before.isoformat(), "max": after.isoformat()}
    assert _picked(db, lead, p, _item(Column.created_at, "in", "Datetime", span)) == t
    naive_future = after.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _picked(db, lead, p, _item(Column.updated_at, "greater", "Datetime", naive_future)) == []
    assert _picked(db, lead, p, _item(Column.created_at, "less", "Datetime", naive_future)) == t


def test_an_annotator_counts_and_filters_only_their_own_annotations(db, people, made):
    p, t = made
    annotate(db, people["annotator"], t[0], [box(1, 1, 5, 5)])
    annotate(db, people["annotator2"], t[0], [box(2, 1, 5, 5)])
    annotate(db, people["annotator2"], t[1], [box(2, 1, 5, 5)])
    me = actor_of(people["annotator"])
    other = people["annotator2"].id
    assert _picked(db, me, p, _item(Column.annotators, "contains", "List", other)) == []
    assert _picked(db, me, p, _item(Column.total_annotations, "greater", "Number", 0)) == [t[0]]
    for field, kind, value in [
        (Column.ground_truth, "Boolean", True),
        ("tasks:review_status", "String", "accepted"),
    ]:
        words = field.split(":")[1].replace("_", " ")
        with pytest.raises(Forbidden, match=f"Annotators cannot .*{words}"):
            _picked(db, me, p, _item(field, "equal", kind, value))
    with pytest.raises(Forbidden, match="cannot filter or order by ground truth"):
        dm_filters.order_by(me, dm_filters.parse_ordering(["tasks:ground_truth"]))


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"conjunction": "xor", "items": []}, "filters.conjunction"),
        ({"conjunction": "and", "items": {}}, "filters.items"),
        (Filters.create("and", [_item(Column.agreement, "greater", "Number", 1)]), "filter:tasks:agreement"),
        (Filters.create("and", [_item(Column.inner_id, "equal", "Number", 1)]), "filter:tasks:inner_id"),
        (Filters.create("and", [{"filter": "filter:annotations:id", "operator": "equal", "type": "Number", "value": 1}]), "filter:annotations:id"),
        (Filters.create("and", [_item(Column.id, Operator.REGEX, Type.Number, "1")]), "'regex'"),
        (Filters.create("and", [_item(Column.id, Operator.CONTAINS, Type.Number, 1)]), "'contains'"),
        (Filters.create("and", [_item(Column.id, "equal", Type.String, "1")]), "'String'"),
        (Filters.create("and", [_item(Column.data("site"), "starts_with", "String", "x")]), "'starts_with'"),
        (Filters.create("and", [_item(Column.data("site"), "greater", "String", "x")]), "'greater'"),
        (Filters.create("and", [_item(Column.data("t"), "equal", "Datetime", "2026-01-01")]), "'Datetime'"),
        (Filters.create("and", [_item(Column.data('a"b'), "equal", "String", "x")]), "double quote"),
        (Filters.create("and", [_item(Column.data(""), "equal", "String", "x")]), "is empty"),
        (Filters.create("and", [_item(Column.id, "equal", "Number", None)]), "value: is required"),
        (Filters.create("and", [_item(Column.id, "equal", "Number", "x")]), "must be a number"),
        (Filters.create("and", [_item(Column.id, "equal", "Number", True)]), "must be a number"),
        (Filters.create("and", [_item(Column.id, "in", "Number", 3)]), '"min"'),
        (Filters.create("and", [_item(Column.id, "in_list", "Number", 3)]), "must be a list"),
        (Filters.create("and", [_item(Column.created_at, "greater", "Datetime", "yesterday")]), "ISO-8601"),
        (Filters.create("and", [_item(Column.total_annotations, "empty", "Number", "maybe")]), "true or false"),
        (Filters.create("and", [_item(Column.annotators, "contains", "List", "bob")]), "a user id"),
        (Filters.create("and", [_item("tasks:review_status", "equal", "String", "great")]), "'great' is not a review status"),
        (Filters.create("and", [{**_item(Column.id, "equal", "Number", 1), "child_filter": {"filter": "filter:tasks:id"}}]), "child filters"),
    ],
)  # fmt: skip
def test_what_is_not_supported_is_refused_by_name(filters, named):
    with pytest.raises(Invalid) as err:
        dm_filters.parse_filters(filters)
    assert named in err.value.detail
    assert next(iter(err.value.validation_errors)).startswith("filters")


@pytest.mark.parametrize(
    ("ordering", "named"),
    [
        (["tasks:agreement"], "'tasks:agreement'"),
        (["tasks:annotators"], "'tasks:annotators'"),
        (["tasks:id", "tasks:created_at"], "one field only"),
        ("tasks:id", "must be a list"),
        (['tasks:data.a"b'], "double quote"),
    ],
)
def test_unsupported_ordering_is_refused_by_name(ordering, named):
    with pytest.raises(Invalid, match="ordering") as err:
        dm_filters.parse_ordering(ordering)
    assert named in err.value.detail


def test_query_json_is_checked(db, people):
    with pytest.raises(Invalid, match="query: is not JSON"):
        dm_filters.parse_query("{filters")
    with pytest.raises(Invalid, match=r"query\.filters\.items"):
        dm_filters.parse_query('{"filters": {"conjunction": "and", "items": 1}}')
    with pytest.raises(Invalid, match="selectedItems: give it once"):
        dm_filters.parse_query('{"selectedItems": {"all": true}}', '{"all": true}')
    q = dm_filters.parse_query(
        '{"ordering": ["-tasks:data.site"]}', '{"all": true, "excluded": [3]}'
    )
    assert q.ordering == dm_filters.Ordering("data.site", True)
    assert q.selected_items == {"all": True, "excluded": [3]}


def test_ordering_by_each_field(db, people, made):
    p, t = made
    lead = actor_of(people["lead"])
    annotate(db, people["annotator"], t[3], [box(1, 1, 5, 5)])
    annotate(db, people["annotator2"], t[3], [box(2, 1, 5, 5)])
    annotate(db, people["lead"], t[2], [box(1, 1, 5, 5)], gt=True)

    def ordered(field):
        q = dm_filters.DmQuery(ordering=dm_filters.parse_ordering([field]))
        with db.session() as s:
            return [x.id for x in list_tasks(s, lead, p, query=q, with_regions=False).tasks]

    assert ordered("-tasks:id") == t[::-1]
    assert ordered("tasks:id") == t
    assert ordered("-tasks:total_annotations") == [t[3], t[2], t[0], t[1], t[4]]
    assert ordered("-tasks:ground_truth") == [t[2], t[0], t[1], t[3], t[4]]
    # text order, missing last either way; ties by id
    assert ordered("tasks:data.site") == [t[2], t[4], t[0], t[1], t[3]]
    assert ordered("-tasks:data.site") == [t[1], t[0], t[4], t[2], t[3]]


def test_selection_is_filters_and_selected_items(db, people, made):
    p, t = made
    lead = actor_of(people["lead"])
    where = dm_filters.conditions(
        lead,
        dm_filters.parse_filters(
            Filters.create("and", [_item(Column.id, "greater", "Number", t[1])])
        ),
    )
    with db.session() as s:
        every = Selection({"all": True, "excluded": [t[4]]}, where)
        assert list(s.scalars(selected_task_ids(s, p, every))) == [t[2], t[3]]
        some = Selection({"all": False, "included": [t[0], t[3]]}, where)
        assert list(s.scalars(selected_task_ids(s, p, some))) == [t[3]]
        with pytest.raises(Invalid, match="selectedItems"):
            selected_task_ids(s, p, Selection(None, where))


def test_a_filtered_page_costs_the_same_queries_whatever_its_size(db, people, made):
    p, _ = made
    lead = actor_of(people["lead"])
    flt = Filters.create(
        "or",
        [
            _item(Column.total_annotations, "empty", "Number", True),
            _item(Column.annotators, "contains", "List", people["annotator"].id),
            _item(Column.data("site"), "contains", "String", "north"),
        ],
    )
    q = dm_filters.DmQuery(
        dm_filters.parse_filters(flt), dm_filters.parse_ordering(["-tasks:total_annotations"])
    )

    def queries():
        with db.session() as s, counting_queries(db) as seen:
            list_tasks(s, lead, p, query=q)
        return len(seen)

    few = queries()
    with db.session() as s:
        tasks.import_tasks(s, lead, p, [{"data": d} for d in DATA * 20])
    assert queries() == few
