"""Idempotent imports (#16): an import sent again with the same `Idempotency-Key` (or
`import_id`) after an ambiguous failure answers the first answer and imports nothing twice,
also when the retries arrive at the same time."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from assay.store.models import Task
from builders import box

ITEMS = [{"data": {"image": f"https://cdn.example.com/flight-7/{i}.png"},
          "annotations": [{"result": [box(1, 1, 5, 5)]}]} for i in range(3)]  # fmt: skip


def _tasks(db, project_id: int) -> int:
    with db.session(write=False) as s:
        return s.scalar(select(func.count()).where(Task.project_id == project_id))


def _import(client, person, project_id, items, key=None, **query):
    headers = {**person.headers, **({"Idempotency-Key": key} if key else {})}
    q = "&".join(f"{k}={v}" for k, v in {"return_task_ids": "true", **query}.items())
    return client.post(f"/api/projects/{project_id}/import?{q}", json=items, headers=headers)


def test_a_retried_import_answers_the_first_answer_and_imports_once(client, people, project, db):
    lead, p = people["lead"], project["id"]
    first = _import(client, lead, p, ITEMS, key="flight-7-upload-1")
    assert first.status_code == 201, first.text
    again = _import(client, lead, p, ITEMS, key="flight-7-upload-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert _tasks(db, p) == 3
    by_param = _import(client, lead, p, ITEMS, import_id="flight-7-upload-1")
    assert by_param.json() == first.json() and _tasks(db, p) == 3
    assert _import(client, lead, p, ITEMS).status_code == 201  # no key: a new import
    assert _tasks(db, p) == 6
    other = _import(client, people["admin"], p, ITEMS, key="flight-7-upload-1")
    assert other.json()["task_ids"] != first.json()["task_ids"]  # keys are per user


def test_a_key_reused_for_another_request_is_refused(client, people, project, db):
    lead, p = people["lead"], project["id"]
    assert _import(client, lead, p, ITEMS, key="k1").status_code == 201
    r = _import(client, lead, p, ITEMS[:1], key="k1")
    assert r.status_code == 409 and "was used for another request" in r.text
    assert _tasks(db, p) == 3


def test_a_failed_import_leaves_its_key_free(client, people, project, db):
    lead, p = people["lead"], project["id"]
    bad = [{"data": {"image": "a.png"}, "annotations": [{"result": "not a list"}]}]
    assert _import(client, lead, p, bad, key="k2").status_code == 400
    r = _import(client, lead, p, ITEMS, key="k2")
    assert r.status_code == 201 and _tasks(db, p) == 3


def test_a_label_file_import_is_idempotent_too(client, people, project, db):
    lead, p = people["lead"], project["id"]
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
            "categories": [{"id": 1, "name": "Zebra"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4]}]}  # fmt: skip
    files = [("file", ("instances.json", json.dumps(coco).encode()))]
    url = f"/api/projects/{p}/import?format=coco&create_missing=true"
    headers = {**lead.headers, "Idempotency-Key": "coco-1"}
    first = client.post(url, files=files, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(url, files=files, headers=headers)
    assert again.json() == first.json() and _tasks(db, p) == 1


def test_retries_at_the_same_time_import_once(live_server, people, project, db):
    lead, p = people["lead"], project["id"]
    url = f"{live_server}/api/projects/{p}/import?return_task_ids=true"
    headers = {**lead.headers, "Idempotency-Key": "burst"}

    def send(_: int) -> httpx.Response:
        return httpx.post(url, json=ITEMS, headers=headers, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert [r.status_code for r in answers] == [201] * 8, [r.text for r in answers]
    assert len({json.dumps(r.json(), sort_keys=True) for r in answers}) == 1
    assert _tasks(db, p) == 3
