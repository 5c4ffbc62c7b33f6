"""Acceptance: the official label-studio-sdk, used as a real user would, against a live server."""

from __future__ import annotations

import pytest
from label_studio_sdk import Client
from label_studio_sdk.client import LabelStudio

from builders import RECT_CONFIG, box


def _tasks_payload(n: int) -> list[dict]:
    return [
        {
            "data": {"image": f"https://example.com/survey/{i}.jpg"},
            "annotations": [
                {"result": [box(10 + i % 50, 10, 20, 15, label="Zebra")], "lead_time": 4.0}
            ],
            "predictions": [
                {
                    "result": [box(11 + i % 50, 10, 20, 15, label="Zebra", score=0.8)],
                    "score": 0.8,
                    "model_version": "det-v1",
                }
            ],
        }
        for i in range(n)
    ]


def test_new_client_full_flow(live_server, people):
    ls = LabelStudio(base_url=live_server, api_key=people["lead"].token)
    assert ls.users.whoami().email == "lead@example.com"

    project = ls.projects.create(title="Aerial survey", label_config=RECT_CONFIG)
    assert project.id
    assert ls.projects.get(project.id).title == "Aerial survey"
    ls.projects.update(project.id, description="Block 7")
    assert [p.id for p in ls.projects.list()] == [project.id]

    imported = ls.projects.import_tasks(
        project.id, request=_tasks_payload(250), return_task_ids=True
    )
    assert imported.task_count == 250 and imported.annotation_count == 250
    assert len(imported.task_ids) == 250

    seen = [t.id for t in ls.tasks.list(project=project.id, page_size=100)]
    assert seen == imported.task_ids  # all pages, in order, no duplicates

    task_id = seen[0]
    task = ls.tasks.get(task_id)
    assert task.data["image"].endswith("/0.jpg")
    assert len(task.annotations) == 1 and len(task.predictions) == 1

    ann = ls.annotations.create(
        id=task_id, result=[box(5, 5, 10, 10, label="Giraffe")], lead_time=2.5
    )
    assert ann.id and ann.result[0]["value"]["rectanglelabels"] == ["Giraffe"]
    updated = ls.annotations.update(id=ann.id, result=[box(6, 5, 10, 10, label="Elephant")])
    assert updated.result[0]["value"]["rectanglelabels"] == ["Elephant"]
    assert ls.annotations.get(id=ann.id).result[0]["value"]["x"] == 6
    assert len(ls.annotations.list(id=task_id)) == 2
    ls.annotations.delete(id=ann.id)
    assert [a.id for a in ls.annotations.list(id=task_id)] != [] and ann.id not in [
        a.id for a in ls.annotations.list(id=task_id)
    ]

    pred = ls.predictions.create(
        task=task_id, result=[box(1, 1, 5, 5)], score=0.42, model_version="det-v2"
    )
    assert pred.id and pred.model_version == "det-v2"
    assert {p.model_version for p in ls.predictions.list(task=task_id)} == {"det-v1", "det-v2"}
    ls.predictions.update(id=pred.id, score=0.5)
    assert ls.predictions.get(id=pred.id).score == 0.5
    ls.predictions.delete(id=pred.id)

    exported = ls.projects.exports.as_json(project.id)
    assert len(exported) == 250
    assert exported[0]["annotations"][0]["result"][0]["value"]["rectanglelabels"] == ["Zebra"]

    ls.tasks.update(id=task_id, data={"image": "https://example.com/survey/replaced.jpg"})
    assert ls.tasks.get(task_id).data["image"].endswith("replaced.jpg")
    ls.tasks.delete(task_id)
    assert len(list(ls.tasks.list(project=project.id))) == 249
    ls.projects.delete(project.id)
    assert list(ls.projects.list()) == []


def test_new_client_errors_are_readable(live_server, people):
    from label_studio_sdk.core.api_error import ApiError

    ls = LabelStudio(base_url=live_server, api_key=people["lead"].token)
    with pytest.raises(ApiError) as err:
        ls.projects.create(title="bad", label_config="<View><Image name='i' value='$image'/>")
    assert err.value.status_code == 400
    assert "label_config" in err.value.body["validation_errors"]
    bad = LabelStudio(base_url=live_server, api_key="0" * 40)
    with pytest.raises(ApiError) as err:
        bad.users.whoami()
    assert err.value.status_code == 401


def test_legacy_client_full_flow(live_server, people):
    client = Client(url=live_server, api_key=people["lead"].token)
    assert client.check_connection()["status"] == "UP"
    project = client.start_project(title="Legacy survey", label_config=RECT_CONFIG)
    assert project.id and project.title == "Legacy survey"
    assert project.parsed_label_config["label"]["labels"] == ["Elephant", "Zebra", "Giraffe"]
    project.set_params(description="via legacy")
    assert client.get_project(project.id).get_params()["description"] == "via legacy"
    assert [p.id for p in client.list_projects()] == [project.id]

    ids = project.import_tasks(_tasks_payload(130))
    assert len(ids) == 130
    tasks = project.get_tasks()
    assert [t["id"] for t in tasks] == ids
    assert project.get_tasks_ids() == ids
    page = project.get_paginated_tasks(page=2, page_size=100)
    assert len(page["tasks"]) == 30 and page["total"] == 130

    ann = project.create_annotation(
        ids[0], result=[box(2, 2, 4, 4, label="Giraffe")], ground_truth=False
    )
    assert ann["id"]
    project.update_annotation(ann["id"], result=[box(3, 2, 4, 4, label="Giraffe")])
    assert project.get_annotation(ann["id"])["result"][0]["value"]["x"] == 3
    assert len(project.list_annotations(ids[0])) == 2
    project.delete_annotation(ann["id"])
    assert len(project.list_annotations(ids[0])) == 1

    pred = project.create_prediction(
        ids[1], result=[box(5, 5, 5, 5)], score=0.6, model_version="legacy-m"
    )
    assert pred["score"] == 0.6
    single = project.create_prediction(ids[2], result=box(5, 5, 5, 5), model_version="legacy-m")
    assert isinstance(single["result"], list) and len(single["result"]) == 1
    project.create_predictions(
        [{"task": ids[3], "result": [box(1, 1, 2, 2)], "score": 0.1, "model_version": "bulk"}]
    )
    assert len(project.get_task(ids[3])["predictions"]) == 2

    exported = project.export_tasks(export_type="JSON")
    assert len(exported) == 130
    assert exported[0]["id"] == ids[0]
