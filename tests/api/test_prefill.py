"""Predictions pre-fill the annotate page (issue #17): a project setting, Label Studio's
`show_collab_predictions` ("Use predictions to prelabel tasks", off by default) with its
`model_version`; `GET /api/jobs/{id}/next` then carries the regions the editor starts from:
the task's prediction of that model (or its latest), with nothing of the prediction but its
regions."""

from __future__ import annotations

from builders import box, import_tasks, make_job


def predict(client, lead, task: int, version: str, x: float) -> None:
    body = {
        "task": task,
        "model_version": version,
        "score": 0.7,
        "result": [box(x, 10, 20, 20, score=0.9, id=f"r{version}")],
    }
    r = client.post("/api/predictions", json=body, headers=lead.headers)
    assert r.status_code == 201, r.text


def next_prefill(client, person, job: int):
    r = client.get(f"/api/jobs/{job}/next", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()["prefill"]


def test_the_annotate_queue_starts_from_the_chosen_prediction_only_when_the_project_says_so(
    client, people, project
):
    lead, ann = people["lead"], people["annotator"]
    pid = project["id"]
    assert client.get(f"/api/projects/{pid}", headers=lead.headers).json()[
        "show_collab_predictions"
    ] is False  # fmt: skip
    (task,) = import_tasks(client, lead, pid, [{"image": "a.jpg"}])
    predict(client, lead, task, "v1", 5)
    predict(client, lead, task, "v2", 30)
    job = make_job(client, people, {"project": pid}, [task])["id"]
    assert next_prefill(client, ann, job) is None  # off by default

    r = client.patch(
        f"/api/projects/{pid}", json={"show_collab_predictions": True}, headers=lead.headers
    )
    assert r.status_code == 200 and r.json()["show_collab_predictions"] is True
    (region,) = next_prefill(client, ann, job)  # the latest prediction, v2
    assert region["value"]["x"] == 30 and "score" not in region
    assert set(region) <= {"id", "type", "from_name", "to_name", "value", "original_width",
                           "original_height", "image_rotation"}  # fmt: skip

    r = client.patch(f"/api/projects/{pid}", json={"model_version": "v1"}, headers=lead.headers)
    assert r.json()["model_version"] == "v1"
    (region,) = next_prefill(client, ann, job)
    assert region["value"]["x"] == 5

    r = client.patch(f"/api/projects/{pid}", json={"model_version": "v9"}, headers=lead.headers)
    assert next_prefill(client, ann, job) is None  # no prediction of that model


def test_a_prefill_setting_that_is_not_true_or_false_is_refused(client, people, project):
    r = client.patch(
        f"/api/projects/{project['id']}",
        json={"show_collab_predictions": [1]},
        headers=people["lead"].headers,
    )
    assert r.status_code in (400, 422)
    assert "show_collab_predictions" in str(r.json()["validation_errors"])
