"""Input the database cannot hold, or that would break what reads it, is refused with a 4xx
naming the field (issue #16: H1, L1/L2): ids beyond the integer columns, results and task data
nested or sized past the limits of `formats.label_studio`, malformed uploads."""

from __future__ import annotations

import copy
import io
import json
import zipfile

import pytest
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy import update

from assay.app import API_ROUTERS, WEB_ROUTERS
from assay.services.checks import MAX_ID
from assay.store.models import Annotation
from builders import box, import_tasks, job_aliases, make_job


def _integer_schemas(node, path="") -> list[tuple[str, dict]]:
    """Every {"type": "integer"} schema inside `node`, with where it sits."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "integer":
            found.append((path, node))
        for key, value in node.items():
            found.extend(_integer_schemas(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_integer_schemas(value, f"{path}/{i}"))
    return found


def test_every_integer_a_route_takes_is_bounded():
    """Ids, pages and counts of every route (API and pages) declare a range, so no integer too
    large for the database reaches a query: `http.params.Id` is the usual one."""
    routes = []
    for router in (*API_ROUTERS, *WEB_ROUTERS):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            visible = copy.copy(route)
            visible.include_in_schema = True
            routes.append(visible)
    spec = get_openapi(title="all", version="0", routes=routes)
    inputs = {
        "parameters": [
            {f"{method.upper()} {path}": [op.get("parameters", []), op.get("requestBody", {})]}
            for path, ops in spec["paths"].items()
            for method, op in ops.items()
        ],
        "components": {  # the models of bodies; FastAPI's own error model is an answer
            name: schema
            for name, schema in spec.get("components", {}).get("schemas", {}).items()
            if not name.endswith("ValidationError")
        },
    }
    found = _integer_schemas(inputs)
    assert len(found) > 100  # the walk sees them
    unbounded = [where for where, schema in found if "maximum" not in schema]
    assert unbounded == [], "\n".join(unbounded)


@pytest.mark.parametrize("too_big", [MAX_ID + 1, 2**63, 10**40])
def test_ids_too_large_for_the_database_are_400_naming_the_field(client, people, too_big):
    h = people["admin"].headers
    cases = [
        ("get", f"/api/tasks/{too_big}", None, "task_id"),
        ("get", f"/api/projects/{too_big}/members", None, "project_id"),
        ("get", f"/api/tasks?project={too_big}", None, "project"),
        ("get", f"/api/projects/1/export?ids={too_big}", None, "ids[0]"),
        ("get", f"/api/projects/1/review/next?tasks=1,{too_big}", None, "tasks"),
        ("post", "/api/projects/1/members", {"user": too_big}, "user"),
        ("post", "/api/predictions", {"task": too_big, "result": []}, "task"),
    ]
    for method, url, body, field in cases:
        r = client.request(method, url, json=body, headers=h)
        assert r.status_code == 400, (url, r.text)
        assert field in r.json()["validation_errors"], (url, r.json())


def test_an_id_list_in_a_body_past_the_id_range_is_400(client, people, project):
    """Ids inside JSON bodies the services read themselves (selections, jobs, merges)."""
    lead = people["lead"]
    [task] = import_tasks(client, lead, project["id"], [{"image": "a.jpg"}])
    r = client.post(
        f"/api/dm/actions?id=delete_tasks&project={project['id']}",
        json={"selectedItems": {"all": False, "included": [task, 2**63]}},
        headers=lead.headers,
    )
    assert r.status_code == 400, r.text
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "j", "task_ids": [task, MAX_ID + 1]},
        headers=lead.headers,
    )
    assert r.status_code == 400, r.text
    assert "task_ids" in r.json()["validation_errors"]
    r = client.post(
        f"/api/tasks/{task}/annotations",
        json={"result": [box(1, 1, 5, 5)], "job": 2**63},
        headers=lead.headers,
    )
    assert r.status_code == 400, r.text
    assert "job" in r.json()["validation_errors"]


def test_json_python_cannot_parse_is_400_naming_the_body(client, people, project):
    """FastAPI parses bodies with Python's json: past its recursion limit or its 4300 digits it
    raised errors that answered without a field."""
    h = {**people["lead"].headers, "content-type": "application/json"}
    for body in (b'{"user": ' + b"9" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000):
        r = client.post(f"/api/projects/{project['id']}/members", content=body, headers=h)
        assert r.status_code == 400, r.text
        assert r.json()["validation_errors"].keys() == {"body"}, r.json()
        assert r.json()["detail"].startswith("Malformed JSON")
        assert "set_int_max_str_digits" not in r.text


def test_a_data_manager_query_python_cannot_parse_is_400(client, people, project):
    h = people["lead"].headers
    for query in ("[" * 5000 + "]" * 5000, '{"n": ' + "9" * 5000 + "}"):
        r = client.get(f"/api/tasks?project={project['id']}&query={query}", headers=h)
        assert r.status_code == 400, r.text
        assert "query" in r.json()["validation_errors"]


def test_filter_values_beyond_the_integer_columns_are_compared_or_refused(client, people, project):
    lead = people["lead"]
    [task] = import_tasks(client, lead, project["id"], [{"image": "a.jpg"}])

    def listed(item: dict) -> object:
        query = json.dumps({"filters": {"conjunction": "and", "items": [item]}})
        r = client.get(f"/api/tasks?project={project['id']}&query={query}", headers=lead.headers)
        return r.json()["total"] if r.status_code == 200 else (r.status_code, r.json())

    number = {"filter": "filter:tasks:id", "operator": "less", "type": "Number"}
    assert listed({**number, "value": 2**70}) == 1
    assert listed({**number, "value": -(2**70)}) == 0
    assert listed({**number, "operator": "in", "value": {"min": 0, "max": 10**30}}) == 1
    annotators = {"filter": "filter:tasks:annotators", "operator": "contains", "type": "List"}
    for value in (2**63, "9" * 5000):
        status, body = listed({**annotators, "value": value})
        assert status == 400 and "query.filters.items[0].value" in body["validation_errors"]
    assert task


def test_counts_and_seeds_beyond_the_integer_range_are_400_naming_them(client, people, pool):
    lead = people["lead"].headers
    url = f"/api/projects/{pool['project']}/honeypot-settings"
    for name in ("max_exposures", "min_pool_size", "max_attempts"):
        r = client.patch(url, json={name: 2**64}, headers=lead)
        assert r.status_code == 400 and name in r.json()["validation_errors"], r.text
    url = f"/api/projects/{pool['project']}/ground-truth/sample"
    for body, name in (
        ({"count": 2**64}, "count"),
        ({"count": 1, "seed": 2**64}, "seed"),
        ({"count": 1, "min_per_stratum": 2**64}, "min_per_stratum"),
    ):
        r = client.post(url, json=body, headers=lead)
        assert r.status_code == 400 and name in r.json()["validation_errors"], r.text


# -- H1: what is stored is bounded, so no one can break the lists for everyone ---------------


def nested(levels: int) -> dict:
    """{"a": {"a": ... {}}}: `levels` objects, the outer one included."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_an_annotator_cannot_store_a_region_that_breaks_the_task_list(client, people, project):
    """The attack: a region with 250 levels of `meta` was stored (201), and from then on
    `GET /api/tasks?project=` answered 500 to everyone (orjson writes at most 255 levels)."""
    lead, annotator = people["lead"], people["annotator"]
    tasks = import_tasks(client, lead, project["id"], [{"image": "a.jpg"}, {"image": "b.jpg"}])
    job = make_job(client, people, {"project": project["id"]}, tasks)["id"]
    url = f"/api/tasks/{job_aliases(client, job)[tasks[0]]}/annotations"  # as she knows it
    deep = box(1, 1, 5, 5, meta=nested(250))
    r = client.post(url, json={"job": job, "result": [deep]}, headers=annotator.headers)
    assert r.status_code == 400, r.text
    [field] = r.json()["validation_errors"]
    assert field.startswith("result[0].meta.a.a") and "deeper than 16" in r.json()["detail"]

    kept = box(1, 1, 5, 5, meta={"note": "occluded", "by": {"tool": "brush"}})
    r = client.post(url, json={"job": job, "result": [kept]}, headers=annotator.headers)
    assert r.status_code == 201, r.text
    annotation = r.json()["id"]
    assert r.json()["result"][0]["meta"] == kept["meta"]  # known keys and bounded extras kept
    r = client.patch(
        f"/api/annotations/{annotation}", json={"result": [deep]}, headers=annotator.headers
    )
    assert r.status_code == 400, r.text
    for person in people.values():
        r = client.get(f"/api/tasks?project={project['id']}", headers=person.headers)
        assert r.status_code in (200, 404), r.text  # 404: not a member of the project


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"data": {"image": "a.jpg", "d": nested(253)}}], "tasks[0].data.d.a"),
        ([{"image": "a.jpg", "d": nested(30)}], "tasks[0].d.a"),
        ([{"data": {"image": "a.jpg"}, "meta": {"m": nested(20)}}], "tasks[0].meta.m.a"),
        ([{"data": {"image": "a.jpg"}, "predictions": [{"result": [box(1, 1, 5, 5, meta=nested(20))]}]}],
         "tasks[0].predictions[0].result[0].meta.a"),
        ([{"data": {"image": "a.jpg"}, "annotations": [{"result": [box(1, 1, 5, 5, original_width=1e300)]}]}],
         "tasks[0].annotations[0].result[0].original_width"),
    ],
)  # fmt: skip
def test_an_import_past_the_bounds_is_400_naming_the_place(client, people, project, body, field):
    r = client.post(
        f"/api/projects/{project['id']}/import", json=body, headers=people["lead"].headers
    )
    assert r.status_code == 400, r.text
    assert any(f.startswith(field) for f in r.json()["validation_errors"]), r.json()


def test_task_data_and_meta_past_the_bounds_are_400_on_every_door(client, people, project):
    lead = people["lead"].headers
    [task] = import_tasks(client, people["lead"], project["id"], [{"image": "a.jpg"}])
    doors = [
        ("post", "/api/tasks", {"project": project["id"], "data": {"image": "a", "n": 10**30}},
         "data.n"),
        ("post", "/api/tasks", {"project": project["id"], "data": {"image": "a"},
                                "meta": {"m": nested(20)}}, "meta.m"),
        ("patch", f"/api/tasks/{task}", {"data": {"image": "a", "t": "x" * 2**21}}, "data"),
        ("patch", f"/api/tasks/{task}", {"meta": nested(40)}, "meta.a"),
        ("post", "/api/predictions", {"task": task, "result": [box(1, 1, 5, 5, meta=nested(40))]},
         "result[0].meta"),
        ("post", f"/api/projects/{project['id']}/import/predictions",
         [{"task": task, "result": [box(1, 1, 5, 5, meta=nested(40))]}], "[0].result[0].meta"),
    ]  # fmt: skip
    for method, url, body, field in doors:
        r = client.request(method, url, json=body, headers=lead)
        assert r.status_code == 400, (url, r.text)
        assert any(field in f for f in r.json()["validation_errors"]), (url, r.json())


def test_a_label_file_import_past_the_bounds_is_400(client, people, project):
    tasks = json.dumps([{"data": {"image": "z.jpg", "d": nested(40)}}]).encode()
    r = client.post(
        f"/api/projects/{project['id']}/import?format=ls-json",
        files={"file": ("tasks.json", tasks, "application/json")},
        headers=people["lead"].headers,
    )
    assert r.status_code == 400, r.text
    assert any(f.startswith("tasks[0].data.d") for f in r.json()["validation_errors"])


def test_a_zip_with_a_bad_crc_is_400_naming_the_file(client, people, project):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tasks.json", json.dumps([{"image": "q.jpg"}]))
    raw = bytearray(buf.getvalue())
    central = raw.find(b"PK\x01\x02")
    raw[14] ^= 0xFF  # the CRC-32 in the member's local header ...
    raw[central + 16] ^= 0xFF  # ... and in the central directory
    r = client.post(
        f"/api/projects/{project['id']}/import?format=ls-json",
        files={"file": ("tasks.zip", bytes(raw), "application/zip")},
        headers=people["lead"].headers,
    )
    assert r.status_code == 400, r.text
    assert "CRC" in r.json()["validation_errors"]["file"][0]


def test_a_row_stored_before_the_bounds_still_lists(client, db, people, project):
    """Defence in depth: a region nested as deep as the database's writer allows, stored
    before the bounds, is written clipped instead of failing every task list."""
    lead = people["lead"]
    [task] = import_tasks(client, lead, project["id"], [{"image": "a.jpg"}])
    r = client.post(
        f"/api/tasks/{task}/annotations", json={"result": [box(1, 1, 5, 5)]}, headers=lead.headers
    )
    with db.session() as s:
        s.execute(
            update(Annotation)
            .where(Annotation.id == r.json()["id"])
            .values(result=[box(1, 1, 5, 5, meta=nested(250))])
        )
    r = client.get(f"/api/tasks?project={project['id']}", headers=lead.headers)
    assert r.status_code == 200, r.text
    region = r.json()["tasks"][0]["annotations"][0]["result"][0]
    assert region["value"]["rectanglelabels"] == ["Elephant"] and "meta" in region


def test_labels_and_colors_longer_than_their_columns_are_400(client, people, project):
    """PostgreSQL enforces column sizes that SQLite ignores: a label longer than the scores'
    label column failed every annotation of a task with GT there, a long color the project."""
    lead = people["lead"].headers
    long = "L" * 201
    config = (
        '<View><Image name="image" value="$image"/><RectangleLabels name="label" '
        f'toName="image"><Label value="{long}"/></RectangleLabels></View>'
    )
    for body, field in (
        ({"title": "p", "label_config": config}, "label_config"),
        ({"title": "p", "label_config": project["label_config"], "color": "#" + "F" * 16}, "color"),
    ):
        r = client.post("/api/projects", json=body, headers=lead)
        assert r.status_code == 400 and field in r.json()["validation_errors"], r.text
    [task] = import_tasks(client, people["lead"], project["id"], [{"image": "a.jpg"}])
    region = box(1, 1, 5, 5)  # short names that, joined with "|", are past the column
    region["value"]["rectanglelabels"] = ["Elephant", "Zebra", "Giraffe"] * 10
    r = client.post(f"/api/tasks/{task}/annotations", json={"result": [region]}, headers=lead)
    assert r.status_code == 400, r.text
    coco = {
        "images": [{"id": 1, "file_name": "new.jpg", "width": 100, "height": 100}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        "categories": [{"id": 1, "name": long}],
    }
    r = client.post(
        f"/api/projects/{project['id']}/import?format=coco&add_labels=true&create_missing=true",
        files={"file": ("coco.json", json.dumps(coco).encode())},
        headers=lead,
    )
    assert r.status_code == 400 and "labels" in r.json()["validation_errors"], r.text


def test_ids_and_numbers_inside_imported_items_are_checked_not_crashed_on(client, people, project):
    """What schemathesis cannot reach (bodies of free JSON), found by sending each field odd
    values: ids beyond the integer columns or of the wrong type, a lead time past a double."""
    lead = people["lead"].headers
    [task] = import_tasks(client, people["lead"], project["id"], [{"image": "a.jpg"}])
    url = f"/api/projects/{project['id']}/import"
    item = {"data": {"image": "b.jpg"}}
    for body, field in (
        ([{**item, "annotations": 7}], "tasks[0].annotations"),
        ([{**item, "annotations": [{"result": [], "lead_time": -(2**63)}]}],
         "tasks[0].annotations[0].lead_time"),
        ([{**item, "annotations": [{"result": [], "lead_time": 2**64}]}],
         "tasks[0].annotations[0].lead_time"),
    ):  # fmt: skip
        r = client.post(url, json=body, headers=lead)
        assert r.status_code == 400 and field in r.json()["validation_errors"], r.text
    r = client.post(
        url, json=[{**item, "annotations": [{"result": [], "completed_by": [1]}]}], headers=lead
    )
    assert r.status_code == 201, r.text  # an author who is no user: the importer is
    for value in ([task], 2**64):
        r = client.post(f"{url}/predictions", json=[{"task": value, "result": []}], headers=lead)
        assert r.status_code == 400 and "predictions[0].task" in r.json()["validation_errors"]
    r = client.post(
        f"/api/projects/{project['id']}/consensus/merge", json={"job": 2**64}, headers=lead
    )
    assert r.status_code == 400 and "job" in r.json()["validation_errors"], r.text
    r = client.post(
        f"/api/tasks/{task}/annotations", json={"result": [], "lead_time": 1e300}, headers=lead
    )
    assert r.status_code == 400 and "lead_time" in r.json()["validation_errors"], r.text


def test_settings_bodies_naming_the_services_own_parameters_are_refused_not_500(
    client, people, project
):
    """A PATCH body is the service's keyword arguments: a key named like one of its own
    parameters (`session`, `actor`, `project_id`) was a TypeError, 500."""
    pid = project["id"]
    paths = (
        f"/api/projects/{pid}/evaluation-settings",
        f"/api/projects/{pid}/drift-settings",
        f"/api/projects/{pid}/honeypot-settings",
        f"/api/projects/{pid}/review-settings",
    )
    for path in paths:
        for key in ("session", "actor", "project_id"):
            r = client.patch(path, json={key: 1}, headers=people["lead"].headers)
            assert r.status_code == 400 and key in r.text, (path, key, r.status_code, r.text)


def test_an_integer_beyond_any_float_is_a_bad_number_not_a_500(client, people, project):
    """`math.isfinite` raises on ints past float's range: every finite-number check of a
    setting goes through `checks.is_finite_number`, which says no."""
    lead, pid = people["lead"].headers, project["id"]
    huge = 10**400
    answers = {
        "consensus quorum": client.post(
            f"/api/projects/{pid}/consensus/preview", json={"quorum": huge}, headers=lead
        ),
        "drift psi": client.patch(
            f"/api/projects/{pid}/drift-settings", json={"psi_threshold": huge}, headers=lead
        ),
        "quality oks": client.patch(
            f"/api/projects/{pid}/quality-settings", json={"oks_sigmas": {"Zebra": huge}},
            headers=lead,
        ),
    }  # fmt: skip
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 400), {
        k: r.text for k, r in answers.items()
    }
