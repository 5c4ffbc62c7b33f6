"""Export snapshots, export formats and model versions, driven by both label-studio-sdk clients
against a live server: a snapshot is what the direct export streams, frozen at one moment."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from label_studio_sdk import Client
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from assay.store.bookkeeping import ExportSnapshot
from builders import RECT_CONFIG, box, wait_for_job

TYPES = ["JSON", "JSON_MIN", "COCO", "YOLO", "VOC", "CSV"]


def _tasks(n: int) -> list[dict]:
    """n tasks, each annotated; predictions of det-v1 on all, of det-v2 on every other one."""
    out = []
    for i in range(n):
        preds = [{"result": [box(11, 10, 20, 15)], "score": 0.8, "model_version": "det-v1"}]
        if i % 2 == 0:
            preds.append({"result": [box(12, 10, 20, 15)], "score": 0.6, "model_version": "det-v2"})
        out.append(
            {
                "data": {"image": f"https://example.com/survey/{i}.jpg"},
                "annotations": [{"result": [box(10 + i, 10, 20, 15, label="Zebra")]}],
                "predictions": preds,
            }
        )
    return out


@pytest.fixture
def survey(live_server, people):
    """A project of the lead's with 5 annotated tasks (one with ground truth) and 2 model
    versions; (project id, lead's httpx client)."""
    http = httpx.Client(base_url=live_server, headers=people["lead"].headers)
    project = http.post(
        "/api/projects", json={"title": "Aerial survey", "label_config": RECT_CONFIG}
    )
    pid = project.json()["id"]
    ids = http.post(f"/api/projects/{pid}/import?return_task_ids=true", json=_tasks(5))
    first = ids.json()["task_ids"][0]
    gt = http.post(f"/api/tasks/{first}/annotations",
                   json={"result": [box(10, 10, 20, 15, label="Zebra")], "ground_truth": True})  # fmt: skip
    assert gt.status_code == 201, gt.text
    yield pid, http
    http.close()


def _wait(get_status, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while (status := get_status()) in ("created", "in_progress"):
        assert time.monotonic() < deadline, "snapshot not finished"
        time.sleep(0.05)
    return status


def _direct(http: httpx.Client, pid: int, kind: str, **params) -> bytes:
    r = http.get(f"/api/projects/{pid}/export", params={"exportType": kind, **params})
    assert r.status_code == 200, r.text
    return r.content


def test_formats_list_every_export_type(live_server, people, survey):
    pid, http = survey
    ls = LabelStudio(base_url=live_server, api_key=people["lead"].token)
    formats = ls.projects.exports.list_formats(pid)
    assert [f["name"] for f in formats] == TYPES
    assert all(f["title"] and f["description"] for f in formats)
    annotator = http.get(f"/api/projects/{pid}/export/formats", headers=people["annotator"].headers)
    assert annotator.status_code == 404  # no member: the project does not exist for them


def test_new_client_snapshot_is_the_direct_export(live_server, people, survey):
    pid, http = survey
    ls = LabelStudio(base_url=live_server, api_key=people["lead"].token)
    created = ls.projects.exports.create(pid, title="week 48")
    assert created.id and created.title == "week 48"
    assert created.status in ("created", "in_progress", "completed")
    assert created.created_by.email == "lead@example.com"

    assert _wait(lambda: ls.projects.exports.get(pid, created.id).status) == "completed"
    snap = ls.projects.exports.get(pid, created.id)
    assert snap.counters == {"task_number": 5} and len(snap.md5) == 32 and snap.finished_at
    assert {c.export_type: c.status for c in snap.converted_formats} == {
        t: "completed" for t in TYPES[1:]
    }
    assert [e.id for e in ls.projects.exports.list(pid)] == [created.id]

    as_json = b"".join(ls.projects.exports.download(pid, created.id, export_type="JSON"))
    assert json.loads(as_json) == json.loads(_direct(http, pid, "JSON", download_all_tasks="true"))
    coco = b"".join(ls.projects.exports.download(pid, created.id, export_type="COCO"))
    assert coco == _direct(http, pid, "COCO")
    assert len(json.loads(coco)["annotations"]) >= 5

    r = http.get(
        f"/api/projects/{pid}/exports/{created.id}/download", params={"exportType": "yolo"}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith(f'attachment; filename="project-{pid}-at-')
    assert r.headers["content-disposition"].endswith('-yolo.zip"')
    assert r.content == _direct(http, pid, "YOLO")

    # the snapshot keeps its moment: later labels are not in it
    http.post(f"/api/projects/{pid}/import", json=_tasks(1))
    again = b"".join(ls.projects.exports.download(pid, created.id, export_type="JSON"))
    assert len(json.loads(again)) == 5 and len(json.loads(_direct(http, pid, "JSON"))) == 6


def test_legacy_client_snapshot_flow(live_server, people, survey, tmp_path):
    pid, http = survey
    project = Client(url=live_server, api_key=people["lead"].token).get_project(pid)
    made = project.export_snapshot_create(title="legacy")
    assert made["status"] in ("created", "in_progress", "completed")
    # Label Studio's legacy defaults: predictions, drafts and authors as ids only
    assert made["serialization_options"]["predictions"] == {"only_id": True}
    status = project.export_snapshot_status(made["id"])
    assert _wait(lambda: project.export_snapshot_status(made["id"]).response["status"]) == (
        "completed"
    )
    assert not status.is_failed()
    assert [e["id"] for e in project.export_snapshot_list()] == [made["id"]]

    code, name = project.export_snapshot_download(made["id"], export_type="JSON", path=tmp_path)
    assert code == 200 and name.startswith(f"project-{pid}-at-") and name.endswith(".json")
    tasks = json.loads((tmp_path / name).read_text())
    direct = json.loads(_direct(http, pid, "JSON", download_all_tasks="true"))
    assert [t["predictions"] for t in tasks] == [
        [p["id"] for p in t["predictions"]] for t in direct
    ]
    assert [{**t, "predictions": []} for t in tasks] == [{**t, "predictions": []} for t in direct]

    code, name = project.export_snapshot_download(made["id"], export_type="COCO", path=tmp_path)
    assert code == 200 and name.endswith("-coco.json")
    assert (tmp_path / name).read_bytes() == _direct(http, pid, "COCO")

    # the legacy one-call export: create, wait while in progress, download
    out = project.export(export_type="VOC", output_dir=str(tmp_path / "voc"),
                         serialization_options_predictions=False)  # fmt: skip
    assert out["status"] == 200 and out["filename"].endswith("-voc.zip")

    assert project.export_snapshot_delete(made["id"]) == 204
    assert http.get(f"/api/projects/{pid}/exports/{made['id']}").status_code == 404
    assert [e["id"] for e in project.export_snapshot_list()] == [out["export_id"]]


def test_model_versions_count_predictions(live_server, people, survey):
    pid, http = survey
    project = Client(url=live_server, api_key=people["lead"].token).get_project(pid)
    assert project.get_model_versions() == {"det-v1": 5, "det-v2": 3}
    assert project.get_predictions_coverage() == {"det-v1": 1.0, "det-v2": 0.6}

    extended = http.get(f"/api/projects/{pid}/model-versions", params={"extended": "true"}).json()
    assert extended["live"] is None
    assert {v["model_version"]: v["count"] for v in extended["static"]} == {
        "det-v1": 5,
        "det-v2": 3,
    }
    assert all(v["latest"].endswith("Z") for v in extended["static"])

    pred = http.get("/api/predictions", params={"project": pid}).json()[-1]
    assert pred["model_version"] == "det-v2"
    assert http.delete(f"/api/predictions/{pred['id']}").status_code == 204
    assert project.get_model_versions() == {"det-v1": 5, "det-v2": 2}  # deleted ones don't count


def test_errors_are_label_studio_shaped(live_server, people, survey):
    pid, http = survey
    ls = LabelStudio(base_url=live_server, api_key=people["lead"].token)
    with pytest.raises(ApiError) as missing:
        ls.projects.exports.get(pid, 999)
    assert missing.value.status_code == 404
    for method, path in [
        ("GET", "/exports/999"),
        ("DELETE", "/exports/999"),
        ("GET", "/exports/999/download?exportType=JSON"),
    ]:
        r = http.request(method, f"/api/projects/{pid}{path}")
        assert r.status_code == 404 and r.json()["detail"] == "Export 999 not found.", path

    made = http.post(f"/api/projects/{pid}/exports", json={"title": "t"})
    assert made.status_code == 201, made.text
    export_id = made.json()["id"]
    bad = http.get(f"/api/projects/{pid}/exports/{export_id}/download?exportType=PDF")
    assert bad.status_code == 400
    assert list(bad.json()["validation_errors"]) == ["exportType"]
    assert "exportType" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_filter_options": {"view": 3}}, "task_filter_options.view"),
        ({"task_filter_options": {"finished": "only"}}, "task_filter_options.finished"),
        (
            {"annotation_filter_options": {"skipped": False}},
            "annotation_filter_options.ground_truth",
        ),
        (
            {"annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": False}},
            "annotation_filter_options.skipped",
        ),
        (
            {"serialization_options": {"include_annotation_history": True}},
            "serialization_options.include_annotation_history",
        ),
        (
            {"serialization_options": {"annotations__completed_by": {"only_id": False}}},
            "serialization_options.annotations__completed_by.only_id",
        ),
        ({"status": "completed"}, "status"),
        ({"converted_formats": [{"export_type": "PDF"}]}, "converted_formats"),
        ({"limit": 3}, "limit"),
    ],
)
def test_options_assay_cannot_honour_are_refused(client, people, project, body, field):
    r = client.post(
        f"/api/projects/{project['id']}/exports", json=body, headers=people["lead"].headers
    )
    assert r.status_code == 400, r.text
    assert field in r.json()["validation_errors"], r.json()
    assert r.json()["detail"].startswith(field)


def test_ground_truth_alone_is_the_answer_key(live_server, people, survey):
    pid, http = survey
    r = http.post(
        f"/api/projects/{pid}/exports",
        json={
            "annotation_filter_options": {"usual": False, "ground_truth": True, "skipped": False},
            "task_filter_options": {"only_with_annotations": True},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["annotation_filter_options"] == {
        "usual": False, "ground_truth": True, "skipped": False
    }  # fmt: skip
    url = f"/api/projects/{pid}/exports/{r.json()['id']}"
    assert _wait(lambda: http.get(url).json()["status"]) == "completed"
    key = json.loads(http.get(f"{url}/download").content)
    assert key == json.loads(_direct(http, pid, "JSON", ground_truth_only="true"))
    assert len(key) == 1


def test_deleting_removes_the_files_and_keeps_the_record(live_server, people, survey, settings, db):
    pid, http = survey
    made = http.post(f"/api/projects/{pid}/exports", json={}).json()
    url = f"/api/projects/{pid}/exports/{made['id']}"
    assert _wait(lambda: http.get(url).json()["status"]) == "completed"
    folder = settings.resolved_export_root / f"project-{pid}" / f"snapshot-{made['id']}"
    assert sorted(p.name for p in folder.iterdir()) == [
        "coco.json", "csv.zip", "json.json", "json_min.json", "voc.zip", "yolo.zip"
    ]  # fmt: skip
    reviewer = http.get(url, headers=people["reviewer"].headers)
    assert reviewer.status_code == 404  # the reviewer is no member of this project
    assert http.delete(url).status_code == 204
    assert not folder.exists()
    assert http.get(f"{url}/download").status_code == 404
    with db.session(write=False) as s:
        row = s.get(ExportSnapshot, made["id"])
        assert row.deleted_at is not None and row.deleted_by_id == people["lead"].id


def test_not_completed_answers_404(client, people, project, db):
    lead = people["lead"].headers
    made = client.post(f"/api/projects/{project['id']}/exports", json={}, headers=lead).json()
    wait_for_job(client, lead, made["background_job"])
    with db.session() as s:  # as if it had not been queued yet
        s.get(ExportSnapshot, made["id"]).background_job_id = None
    r = client.get(f"/api/projects/{project['id']}/exports/{made['id']}", headers=lead)
    assert r.json()["status"] == "created"
    r = client.get(f"/api/projects/{project['id']}/exports/{made['id']}/download", headers=lead)
    assert r.status_code == 404 and r.json()["detail"] == "Export is not completed."
