"""Label Studio Data Manager filters through the real label-studio-sdk, against a live server:
the task list, every data-manager action and the export apply them (filters AND selectedItems),
and what is not supported is a 400 that names it (issue #15, item 4)."""

from __future__ import annotations

import json

import pytest
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.data_manager import Column, Filters, Operator, Type

from builders import box

N = 10


def _items(n: int = N) -> list[dict]:
    """Task i: image i.jpg, site north for even i and south for odd (none for 9), n = i."""
    out = []
    for i in range(n):
        data = {"image": f"https://example.com/survey/{i}.jpg", "n": i}
        if i < 9:
            data["site"] = "north" if i % 2 == 0 else "south"
        out.append({"data": data})
    return out


@pytest.fixture
def survey(live_server, client, people, project):
    """The project with N tasks: task 1 annotated by the annotator (and GT by the lead), task 2
    by both annotators, task 3 with a prediction."""
    lead = LabelStudio(base_url=live_server, api_key=people["lead"].token)
    ids = lead.projects.import_tasks(project["id"], request=_items(), return_task_ids=True).task_ids
    for who, i in [("annotator", 1), ("annotator", 2), ("annotator2", 2)]:
        r = client.post(
            f"/api/tasks/{ids[i]}/annotations",
            json={"result": [box(10, 10, 5, 5)]},
            headers=people[who].headers,
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"/api/tasks/{ids[1]}/annotations",
        json={"result": [box(10, 10, 5, 5)], "ground_truth": True},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    lead.predictions.create(task=ids[3], result=[box(1, 1, 5, 5)], score=0.5, model_version="m1")
    return lead, project["id"], ids


def _listed(ls, project_id, filters=None, ordering=None, **query):
    if filters is not None:
        query["filters"] = filters
    if ordering is not None:
        query["ordering"] = ordering
    pager = ls.tasks.list(project=project_id, query=json.dumps(query), fields="task_only")
    return [t.id for t in pager]


def _one(field, operator, kind, value, maximum=None):
    return Filters.create(
        Filters.AND, [Filters.item(field, operator, kind, Filters.value(value, maximum))]
    )


def test_task_list_applies_each_filter_family(survey, people):
    ls, p, t = survey
    cases = [
        (_one(Column.id, Operator.EQUAL, Type.Number, t[4]), [4]),
        (_one(Column.id, Operator.GREATER, Type.Number, t[7]), [8, 9]),
        (_one(Column.id, Operator.IN, Type.Number, t[2], t[4]), [2, 3, 4]),
        (_one(Column.id, Operator.NOT_IN, Type.Number, t[1], t[8]), [0, 9]),
        (_one(Column.total_annotations, Operator.GREATER, Type.Number, 1), [1, 2]),
        (_one(Column.total_annotations, Operator.EMPTY, Type.Number, False), [1, 2]),
        (_one(Column.total_predictions, Operator.EQUAL, Type.Number, 1), [3]),
        (_one(Column.ground_truth, Operator.EQUAL, Type.Boolean, True), [1]),
        (_one(Column.annotators, Operator.CONTAINS, Type.List, people["annotator2"].id), [2]),
        (_one(Column.annotators, Operator.EMPTY, Type.List, False), [1, 2]),
        (_one(Column.data("image"), Operator.CONTAINS, Type.String, "/7.JPG"), [7]),
        (_one(Column.data("site"), Operator.EQUAL, Type.String, "south"), [1, 3, 5, 7]),
        (_one(Column.data("site"), Operator.NOT_CONTAINS, Type.String, "north"), [1, 3, 5, 7, 9]),
        (_one(Column.data("site"), Operator.EMPTY, Type.String, True), [9]),
        (_one(Column.data("n"), Operator.LESS, Type.Number, 2), [0, 1]),
        (_one(Column.data("n"), Operator.IN, Type.Number, 3, 5), [3, 4, 5]),
        (_one(Column.created_at, Operator.GREATER, Type.Datetime, "2000-01-01T00:00:00.000000Z"), list(range(N))),
        (_one(Column.created_at, Operator.LESS, Type.Datetime, "2000-01-01T00:00:00.000000Z"), []),
        (
            Filters.create(Filters.OR, [
                Filters.item(Column.id, Operator.EQUAL, Type.Number, Filters.value(t[0])),
                Filters.item(Column.data("n"), Operator.GREATER_OR_EQUAL, Type.Number, Filters.value(8)),
            ]),
            [0, 8, 9],
        ),
        (
            Filters.create(Filters.AND, [
                Filters.item(Column.data("site"), Operator.EQUAL, Type.String, Filters.value("north")),
                Filters.item(Column.data("n"), Operator.GREATER, Type.Number, Filters.value(4)),
            ]),
            [6, 8],
        ),
    ]  # fmt: skip
    for filters, expected in cases:
        assert _listed(ls, p, filters) == [t[i] for i in expected], filters
    selected = {"all": True, "excluded": [t[3]]}
    site_south = _one(Column.data("site"), Operator.EQUAL, Type.String, "south")
    assert _listed(ls, p, site_south, selectedItems=selected) == [t[1], t[5], t[7]]


def test_updated_at_filter(survey):
    ls, p, t = survey
    before = max(x.updated_at for x in ls.tasks.list(project=p, fields="task_only"))
    ls.tasks.update(id=t[5], data={"image": "https://example.com/survey/5b.jpg", "n": 5})
    assert _listed(ls, p, _one(Column.updated_at, Operator.GREATER, Type.Datetime, before)) == [
        t[5]
    ]
    up_to = _one(Column.updated_at, Operator.LESS_OR_EQUAL, Type.Datetime, before)
    assert _listed(ls, p, up_to) == [x for x in t if x != t[5]]


def test_ordering(survey):
    ls, p, t = survey
    assert _listed(ls, p, ordering=["-tasks:id"]) == t[::-1]
    by_annotations = _listed(ls, p, ordering=["-tasks:total_annotations"])
    assert by_annotations[:2] == [t[1], t[2]] and by_annotations[2:] == [
        t[i] for i in (0, *range(3, N))
    ]
    north_by_n = _listed(
        ls, p, _one(Column.data("site"), Operator.EQUAL, Type.String, "north"), ["-tasks:data.n"]
    )
    # data values order as text
    assert north_by_n == [t[8], t[6], t[4], t[2], t[0]]


def test_pages_follow_the_ordering(survey, client, people):
    _, p, t = survey
    query = json.dumps({"ordering": ["-tasks:id"]})
    r = client.get(
        f"/api/tasks?project={p}&page=2&page_size=3&query={query}", headers=people["lead"].headers
    )
    assert [x["id"] for x in r.json()["tasks"]] == [t[6], t[5], t[4]] and r.json()["total"] == N


def test_delete_tasks_with_filters_deletes_only_the_match(survey):
    ls, p, t = survey
    ls.actions.create(
        id="delete_tasks",
        project=p,
        filters=_one(Column.data("image"), Operator.CONTAINS, Type.String, "/7.jpg"),
        selected_items={"all": True, "excluded": []},
    )
    assert _listed(ls, p) == [t[i] for i in range(N) if i != 7]


def test_every_action_acts_on_filters_and_selected_items(survey, client, people):
    """Each action over "all tasks, but task 0" with a filter matching tasks 0..2 acts on 1 and 2."""
    _, p, t = survey
    lead = people["lead"].headers
    first_three = _one(Column.id, Operator.LESS_OR_EQUAL, Type.Number, t[2])
    extra = {
        "set_ground_truths": {"annotator": people["annotator"].id},
        "assign_reviewers": {"reviewers": [people["reviewer"].id]},
    }
    actions = [a["id"] for a in client.get(f"/api/dm/actions?project={p}", headers=lead).json()]
    assert "delete_tasks" in actions
    for action in [a for a in actions if a != "delete_tasks"] + ["delete_tasks"]:
        body = {
            "filters": first_three,
            "selectedItems": {"all": True, "excluded": [t[0]]},
            **extra.get(action, {}),
        }
        r = client.post(f"/api/dm/actions?id={action}&project={p}", json=body, headers=lead)
        assert r.status_code == 200, (action, r.text)
        assert r.json()["selected"] == 2, (action, r.json())
    listed = client.get(f"/api/tasks?project={p}&fields=task_only", headers=lead).json()["tasks"]
    assert [x["id"] for x in listed] == [t[0], *t[3:]]


def test_action_with_included_ids_outside_the_filters_leaves_them(survey, client, people):
    _, p, t = survey
    body = {
        "filters": _one(Column.ground_truth, Operator.EQUAL, Type.Boolean, True),
        "selectedItems": {"all": False, "included": [t[0], t[1]]},
    }
    r = client.post(
        f"/api/dm/actions?id=delete_ground_truths&project={p}",
        json=body,
        headers=people["lead"].headers,
    )
    assert r.status_code == 200 and r.json()["selected"] == 1 and r.json()["changed"] == 1


@pytest.mark.parametrize(
    ("filters", "ordering", "named"),
    [
        (_one(Column.agreement, Operator.GREATER, Type.Number, 0.5), None, "filter:tasks:agreement"),
        (_one(Column.completed_at, Operator.GREATER, Type.Datetime, "2026-01-01T00:00:00.000000Z"), None, "filter:tasks:completed_at"),
        (_one(Column.predictions_score, Operator.GREATER, Type.Number, 0.5), None, "filter:tasks:predictions_score"),
        (_one(Column.data("site"), Operator.REGEX, Type.String, "^n"), None, "'regex'"),
        (_one(Column.id, Operator.EQUAL, Type.String, "3"), None, "'String'"),
        (_one(Column.id, Operator.EQUAL, Type.Number, "three"), None, "must be a number"),
        ({"conjunction": "nor", "items": []}, None, "conjunction"),
        (None, ["tasks:agreement"], "'tasks:agreement'"),
        (None, ["tasks:id", "-tasks:created_at"], "one field only"),
    ],
)  # fmt: skip
def test_unsupported_is_a_400_naming_it(survey, filters, ordering, named):
    ls, p, _ = survey
    with pytest.raises(ApiError) as err:
        _listed(ls, p, filters, ordering)
    assert err.value.status_code == 400 and named in err.value.body["detail"]
    with pytest.raises(ApiError) as err:
        ls.actions.create(
            id="delete_tasks",
            project=p,
            filters=filters,
            ordering=ordering,
            selected_items={"all": True, "excluded": []},
        )
    assert err.value.status_code == 400 and named in err.value.body["detail"]
    assert len(_listed(ls, p)) == N  # nothing deleted


def test_saved_views_apply_through_the_sdk_and_actions_refuse_them(survey):
    """A view saved with the SDK (`views.create`) lists its tasks with `tasks.list(view=)`
    (issue #18); a view that is not there is a 404, and actions refuse `view` (send filters)."""
    ls, p, ids = survey
    north = Filters.create(
        Filters.AND, [Filters.item(Column.data("site"), Operator.EQUAL, Type.String, Filters.value("north"))]
    )  # fmt: skip
    view = ls.views.create(project=p, data={"filters": north, "ordering": ["-tasks:id"]})
    assert view.project == p
    assert [v.id for v in ls.views.list(project=p)] == [view.id]
    listed = [t.id for t in ls.tasks.list(project=p, view=view.id, fields="task_only")]
    assert listed == [ids[8], ids[6], ids[4], ids[2], ids[0]]
    with pytest.raises(ApiError) as err:
        list(ls.tasks.list(project=p, view=view.id + 1000))
    assert err.value.status_code == 404
    with pytest.raises(ApiError) as err:
        ls.actions.create(id="delete_tasks", project=p, view=view.id, selected_items={"all": True, "excluded": []})  # fmt: skip
    assert err.value.status_code == 400 and "view" in err.value.body["detail"]
    assert len(_listed(ls, p)) == N


def test_annotators_may_not_learn_ground_truth_by_filtering(survey, live_server, people, client):
    _, p, t = survey
    annotator = LabelStudio(base_url=live_server, api_key=people["annotator"].token)
    for filters, ordering in [
        (_one(Column.ground_truth, Operator.EQUAL, Type.Boolean, False), None),
        (_one("tasks:review_status", "equal", "String", "accepted"), None),
        (None, ["-tasks:ground_truth"]),
    ]:
        with pytest.raises(ApiError) as err:
            _listed(annotator, p, filters, ordering)
        assert err.value.status_code == 403
    # the annotator's own annotations count, no one else's
    other = _one(Column.annotators, Operator.CONTAINS, Type.List, people["annotator2"].id)
    assert _listed(annotator, p, other) == []
    counted = _one(Column.total_annotations, Operator.EQUAL, Type.Number, 1)
    assert _listed(annotator, p, counted) == [t[1], t[2]]


def test_export_takes_ids_brackets_and_query(survey, client, people):
    _, p, t = survey
    lead = people["lead"].headers
    url = f"/api/projects/{p}/export?exportType=JSON&download_all_tasks=true"

    def exported(params: str) -> list[int]:
        r = client.get(url + params, headers=lead)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()]

    assert exported(f"&ids[]={t[3]}&ids[]={t[5]}") == [t[3], t[5]]
    south = json.dumps({"filters": _one(Column.data("site"), Operator.EQUAL, Type.String, "south")})
    assert exported(f"&query={south}") == [t[1], t[3], t[5], t[7]]
    assert exported(f"&query={south}&ids[]={t[3]}") == [t[3]]
    both = json.dumps({**json.loads(south), "selectedItems": {"all": True, "excluded": [t[1]]}})
    assert exported(f"&query={both}") == [t[3], t[5], t[7]]
    for query, named in [
        (json.dumps({"ordering": ["-tasks:id"]}), "query.ordering"),
        (
            json.dumps({"filters": _one(Column.agreement, "greater", "Number", 1)}),
            "filter:tasks:agreement",
        ),
    ]:
        r = client.get(url + f"&query={query}", headers=lead)
        assert r.status_code == 400 and named in r.json()["detail"], r.text
