"""Quality in the server: scores against GT kept current on every change, aggregates by delta,
settings with a background recompute, per-annotation conflicts, agreement."""

from __future__ import annotations

import csv
import io
import random

import pytest
from sqlalchemy import select

from assay.services import quality
from assay.store.models import QualityAggregate, Task
from builders import box, wait_for_job


@pytest.fixture
def scored(client, people, project):
    """Two tasks with GT; annotator perfect, annotator2 misses one box and mislabels one; a model."""
    lead = people["lead"].headers
    gt_boxes = [box(10, 10, 10, 10), box(40, 40, 10, 10, label="Zebra")]
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[
            {
                "data": {"image": f"{i}.jpg"},
                "annotations": [{"result": gt_boxes, "ground_truth": True}],
                "predictions": [
                    {"result": [box(10.5, 10, 10, 10, score=0.9)], "model_version": "m1"}
                ],
            }
            for i in range(2)
        ],
        headers=lead,
    ).json()["task_ids"]
    out = {"tasks": ids, "project": project["id"], "ann": {}, "ann2": {}}
    for t in ids:
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"result": gt_boxes},
            headers=people["annotator"].headers,
        )
        out["ann"][t] = r.json()["id"]
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"result": [box(10, 10, 10, 10, label="Giraffe")]},
            headers=people["annotator2"].headers,
        )
        out["ann2"][t] = r.json()["id"]
    return out


def _by_email(client, people, project_id, who="lead"):
    rows = client.get(
        f"/api/projects/{project_id}/quality/annotators", headers=people[who].headers
    ).json()
    return {r["email"]: r for r in rows}


def test_scores_per_annotator_model_and_label(client, people, scored):
    pid = scored["project"]
    rows = _by_email(client, people, pid)
    good, bad = rows["annotator@example.com"], rows["annotator2@example.com"]
    assert (
        good["scored"],
        good["tp"],
        good["fp"],
        good["fn"],
        good["accuracy"],
        good["mean_accuracy"],
    ) == (2, 4, 0, 0, 1.0, 1.0)
    # each task: GT {Elephant, Zebra}, annotation {Giraffe at the Elephant}: 0 TP, 1 FP, 2 FN
    assert (bad["tp"], bad["fp"], bad["fn"], bad["accuracy"], bad["precision"], bad["recall"]) == (
        0,
        2,
        4,
        0.0,
        0.0,
        0.0,
    )
    assert good["precision_ci"][0] > 0.4 and good["precision_ci"][1] == 1.0
    assert bad["below_target"] is True and good["below_target"] is False
    models = client.get(
        f"/api/projects/{pid}/quality/models", headers=people["lead"].headers
    ).json()
    assert [(m["model_version"], m["tp"], m["fn"], m["accuracy"]) for m in models] == [
        ("m1", 2, 2, 0.5)
    ]
    labels = {
        r["label"]: r
        for r in client.get(
            f"/api/projects/{pid}/quality/labels", headers=people["lead"].headers
        ).json()
    }
    assert (labels["Zebra"]["tp"], labels["Zebra"]["fn"]) == (2, 2) and (
        labels["Giraffe"]["fp"],
        labels["Giraffe"]["tp"],
    ) == (2, 0)
    summary = client.get(f"/api/projects/{pid}", headers=people["lead"].headers)
    assert summary.status_code == 200
    q = client.get(f"/api/projects/{pid}/quality", headers=people["lead"].headers).json()
    assert q["annotations"]["scored"] == 4 and q["predictions"]["scored"] == 2
    conf = client.get(
        f"/api/projects/{pid}/quality/confusion", headers=people["lead"].headers
    ).json()
    at = {
        (g, p): conf["matrix"][conf["labels"].index(g)][conf["labels"].index(p)]
        for g in conf["labels"]
        for p in conf["labels"]
    }
    assert (
        at[("Elephant", "Giraffe")] == 2
        and at[("Zebra", "unmatched")] == 2
        and at[("Elephant", "Elephant")] == 2
    )


def test_changes_rescore_incrementally(client, people, scored, db):
    pid, t0 = scored["project"], scored["tasks"][0]
    ann2 = people["annotator2"].headers
    client.patch(
        f"/api/annotations/{scored['ann2'][t0]}",
        json={"result": [box(10, 10, 10, 10), box(40, 40, 10, 10, label="Zebra")]},
        headers=ann2,
    )
    bad = _by_email(client, people, pid)["annotator2@example.com"]
    assert (bad["tp"], bad["fp"], bad["fn"], bad["mean_accuracy"]) == (2, 1, 2, 0.5)
    # unset the GT of task 0: its scores go away
    gt = next(
        a
        for a in client.get(f"/api/tasks/{t0}/annotations", headers=people["lead"].headers).json()
        if a["ground_truth"]
    )
    client.patch(
        f"/api/annotations/{gt['id']}", json={"ground_truth": False}, headers=people["lead"].headers
    )
    rows = _by_email(client, people, pid)
    assert (
        rows["annotator@example.com"]["scored"] == 1
        and rows["annotator2@example.com"]["scored"] == 1
    )
    # deleting an annotation takes its score out too
    client.delete(f"/api/annotations/{scored['ann2'][scored['tasks'][1]]}", headers=ann2)
    assert "annotator2@example.com" not in _by_email(client, people, pid)


def test_delta_aggregates_equal_a_full_recompute(client, people, scored, db):
    """After a random sequence of edits, stars and deletes, the delta-kept aggregates are exactly
    what a recompute from scratch gives."""
    rng = random.Random(3)
    lead = people["lead"].headers
    pid = scored["project"]
    for _ in range(25):
        t = rng.choice(scored["tasks"])
        anns = client.get(f"/api/tasks/{t}/annotations", headers=lead).json()
        a = rng.choice(anns)
        action = rng.choice(["edit", "star", "unstar", "new"])
        if action == "edit":
            client.patch(
                f"/api/annotations/{a['id']}",
                json={
                    "result": [
                        box(
                            rng.uniform(0, 50),
                            rng.uniform(0, 50),
                            10,
                            10,
                            label=rng.choice(["Elephant", "Zebra"]),
                        )
                    ]
                },
                headers=lead,
            )
        elif action == "star":
            client.patch(f"/api/annotations/{a['id']}", json={"ground_truth": True}, headers=lead)
        elif action == "unstar":
            client.patch(f"/api/annotations/{a['id']}", json={"ground_truth": False}, headers=lead)
        else:
            client.post(
                f"/api/tasks/{t}/annotations",
                json={"result": [box(10, 10, 10, 10)]},
                headers=people["reviewer"].headers,
            )

    def snapshot():
        with db.session(write=False) as s:
            rows = s.scalars(
                select(QualityAggregate).where(QualityAggregate.project_id == pid)
            ).all()
            return {
                (r.group_kind, r.group_key, r.label): (
                    r.n,
                    r.tp,
                    r.fp,
                    r.fn,
                    r.matched,
                    round(r.iou_sum, 9),
                    round(r.accuracy_sum, 9),
                )
                for r in rows
                if r.n
            }

    kept = snapshot()
    quality.recompute_project(db, pid)
    assert kept == snapshot()


def test_settings_change_recomputes_in_the_background(client, people, scored):
    lead = people["lead"].headers
    pid = scored["project"]
    url = f"/api/projects/{pid}/quality-settings"
    for body, field in [
        ({"iou_threshold": 1.5}, "iou_threshold"),
        ({"match_method": "best"}, "match_method"),
        ({"label_aware": "yes"}, "label_aware"),
        ({"colour": 1}, "colour"),
    ]:
        r = client.patch(url, json=body, headers=lead)
        assert r.status_code == 400 and field in r.json()["validation_errors"], r.text
    assert client.get(url, headers=lead).json()["iou_threshold"] == 0.5
    assert (
        client.patch(
            url, json={"iou_threshold": 0.9}, headers=people["annotator"].headers
        ).status_code
        == 403
    )
    # the model's box is shifted by 0.5 % of the width: IoU 0.95 -> still a match at 0.9
    r = client.patch(url, json={"iou_threshold": 0.96}, headers=lead)
    assert r.status_code == 200 and r.json()["recompute_job"]
    job = wait_for_job(client, lead, r.json()["recompute_job"])
    assert job["status"] == "done" and job["percent"] == 100.0 and job["result"]["tasks"] == 2
    models = client.get(f"/api/projects/{pid}/quality/models", headers=lead).json()
    assert models[0]["tp"] == 0
    r = client.patch(url, json={"target_accuracy": 0.5}, headers=lead)
    assert r.json()["recompute_job"] is None  # the goal line is not a matching setting
    r = client.post(f"/api/projects/{pid}/quality/recompute", headers=lead)
    assert r.status_code == 202 and wait_for_job(client, lead, r.json()["id"])["status"] == "done"


def test_annotators_read_no_scores_that_would_reveal_gt_tasks(client, people, scored):
    """A score appearing after an answer tells an annotator the task has GT (a honeypot)."""
    pid = scored["project"]
    ann = people["annotator2"].headers
    for path in (
        "quality",
        "quality/annotators",
        "quality/models",
        "quality/labels",
        "quality/agreement",
        "quality-settings",
        "dashboard",
    ):
        assert client.get(f"/api/projects/{pid}/{path}", headers=ann).status_code == 403, path
    own = scored["ann2"][scored["tasks"][0]]
    r = client.get(f"/api/annotations/{own}/quality", headers=ann)
    assert r.status_code == 403
    other = scored["ann"][scored["tasks"][0]]
    assert client.get(f"/api/annotations/{other}/quality", headers=ann).status_code == 404


def test_agreement_compares_each_annotators_latest_work_only(client, people, scored, db):
    """A second try by the same annotator is not a second opinion: every agreement view (the
    task's, the stored one the review stream sorts by, the project's) pairs annotators' latest
    annotations, never two by one person."""
    lead = people["lead"].headers
    pid, t0, t1 = scored["project"], *scored["tasks"]
    gt_boxes = [box(10, 10, 10, 10), box(40, 40, 10, 10, label="Zebra")]
    # annotator2 redoes task 0 right; the wrong first try stays live but is superseded
    client.post(
        f"/api/tasks/{t0}/annotations",
        json={"result": gt_boxes},
        headers=people["annotator2"].headers,
    )
    ta = client.get(f"/api/tasks/{t0}/agreement", headers=lead).json()
    assert ta["agreement"] == 1.0 and len(ta["annotations"]) == 4  # the matrix still shows all
    with db.session(write=False) as s:
        stored = dict(s.execute(select(Task.id, Task.agreement).where(Task.id.in_([t0, t1]))).all())
    assert stored == {t0: 1.0, t1: 0.0}
    pa = client.get(f"/api/projects/{pid}/quality/agreement", headers=lead).json()
    assert pa["matrix"][0][1] == 0.5 and pa["shared_tasks"][0][1] == 2  # (1.0 + 0.0) / 2
    # one person annotating a task twice gives it no agreement at all
    solo = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"data": {"image": "solo.jpg"}}],
        headers=lead,
    ).json()["task_ids"][0]
    for result in ([box(1, 1, 5, 5)], [box(60, 60, 5, 5)]):
        client.post(
            f"/api/tasks/{solo}/annotations",
            json={"result": result},
            headers=people["annotator"].headers,
        )
    assert client.get(f"/api/tasks/{solo}/agreement", headers=lead).json()["agreement"] is None
    with db.session(write=False) as s:
        assert s.get(Task, solo).agreement is None


def test_agreement_and_csv(client, people, scored):
    lead = people["lead"].headers
    pid, t0 = scored["project"], scored["tasks"][0]
    ta = client.get(f"/api/tasks/{t0}/agreement", headers=lead).json()
    assert ta["annotations"][0]["ground_truth"] is True
    assert ta["matrix"][0][0] is None and ta["agreement"] == 0.0
    pa = client.get(f"/api/projects/{pid}/quality/agreement", headers=lead).json()
    assert [a["email"] for a in pa["annotators"]] == [
        "annotator@example.com",
        "annotator2@example.com",
    ]
    assert pa["matrix"][0][1] == 0.0 and pa["shared_tasks"][0][1] == 2
    csv_text = client.get(f"/api/projects/{pid}/quality/annotators?format=csv", headers=lead)
    assert csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.strip().splitlines()
    assert lines[0].startswith("annotator,email,scored") and len(lines) == 3
    assert (
        client.get(f"/api/projects/{pid}/quality/annotators?format=xml", headers=lead).status_code
        == 400
    )


def test_confusion_answers_csv_and_refuses_an_unknown_format(client, people, scored):
    """`?format=csv` (as the README says) gives the same matrix as JSON, one row per GT label;
    a format it does not write is refused, not answered as JSON."""
    lead = people["lead"].headers
    url = f"/api/projects/{scored['project']}/quality/confusion"
    conf = client.get(url, headers=lead).json()
    assert client.get(f"{url}?format=json", headers=lead).json() == conf
    r = client.get(f"{url}?format=csv", headers=lead)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"project-{scored['project']}-confusion.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == ["ground_truth", *conf["labels"]]
    assert [row["ground_truth"] for row in rows] == conf["labels"]
    assert [[int(row[p]) for p in conf["labels"]] for row in rows] == conf["matrix"]
    by_gt = {row["ground_truth"]: row for row in rows}
    assert (by_gt["Elephant"]["Giraffe"], by_gt["Zebra"]["unmatched"]) == ("2", "2")
    for fmt in ("xml", "CSV", ""):
        bad = client.get(f"{url}?format={fmt}", headers=lead)
        assert bad.status_code == 400, (fmt, bad.text)
        assert "format" in bad.json()["validation_errors"], bad.json()
