"""Pinned metric choices (#18): per-label IoU thresholds, versioned quality settings, scores
that say which settings version they were computed with, and the recompute a change starts."""

from __future__ import annotations

import pytest

from assay.services import quality
from builders import actor_of, box, wait_for_job

# Boxes in percent of the image (x, y, width, height); IoU does not depend on the image size.
# GT:          Elephant (10, 10, 20, 20)      Zebra (50, 50, 20, 20)
# annotator:   Elephant (14, 10, 20, 20)      Zebra (50, 52, 20, 20)
#   Elephant IoU = (16 * 20) / (400 + 400 - 320) = 320 / 480 = 0.667
#   Zebra    IoU = (20 * 18) / (400 + 400 - 360) = 360 / 440 = 0.818
# annotator2:  Elephant (10, 10, 20, 20)      Zebra (51, 50, 20, 20)
#   Elephant IoU = 1.0
#   Zebra    IoU = (19 * 20) / (400 + 400 - 380) = 380 / 420 = 0.905
GT = [box(10, 10, 20, 20), box(50, 50, 20, 20, label="Zebra")]
ONE = [box(14, 10, 20, 20), box(50, 52, 20, 20, label="Zebra")]
TWO = [box(10, 10, 20, 20), box(51, 50, 20, 20, label="Zebra")]


@pytest.fixture
def two_annotators(client, people, project):
    lead = people["lead"].headers
    pid = project["id"]
    (task,) = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"data": {"image": "a.jpg"}, "annotations": [{"result": GT, "ground_truth": True}]}],
        headers=lead,
    ).json()["task_ids"]
    ids = {}
    for who, result in (("annotator", ONE), ("annotator2", TWO)):
        r = client.post(
            f"/api/tasks/{task}/annotations", json={"result": result}, headers=people[who].headers
        )
        assert r.status_code == 201, r.text
        ids[who] = r.json()["id"]
    return {"project": pid, "task": task, **ids}


def _quality(client, people, annotation_id):
    r = client.get(f"/api/annotations/{annotation_id}/quality", headers=people["lead"].headers)
    assert r.status_code == 200, r.text
    q = r.json()
    return (q["tp"], q["fp"], q["fn"], q["accuracy"], q["settings_version"], q["stale"])


def _patch(client, people, pid, body):
    r = client.patch(
        f"/api/projects/{pid}/quality-settings", json=body, headers=people["lead"].headers
    )
    assert r.status_code == 200, r.text
    if r.json()["recompute_job"]:
        job = wait_for_job(client, people["lead"].headers, r.json()["recompute_job"])
        assert job["status"] == "done", job
    return r.json()


def test_a_per_label_threshold_change_recomputes_to_the_hand_computed_scores(
    client, people, two_annotators
):
    pid, one, two = (two_annotators[k] for k in ("project", "annotator", "annotator2"))
    # at the project's 0.5 both annotators match both boxes: accuracy 2 / (2 + 0 + 0)
    assert _quality(client, people, one) == (2, 0, 0, 1.0, 1, False)
    assert _quality(client, people, two) == (2, 0, 0, 1.0, 1, False)

    body = _patch(client, people, pid, {"label_iou_thresholds": {"Elephant": 0.7}})
    assert body["settings_version"] == 2 and body["label_iou_thresholds"] == {"Elephant": 0.7}
    assert body["iou_threshold"] == 0.5  # Zebra falls back to it
    # annotator: Elephant 0.667 < 0.7 is now one extra and one miss; Zebra 0.818 >= 0.5
    # still matches: tp 1, fp 1, fn 1, accuracy 1 / 3
    assert _quality(client, people, one) == (1, 1, 1, round(1 / 3, 6), 2, False)
    assert _quality(client, people, two) == (2, 0, 0, 1.0, 2, False)

    _patch(client, people, pid, {"label_iou_thresholds": {"Elephant": 0.7, "Zebra": 0.85}})
    # annotator: Zebra 0.818 < 0.85 too: tp 0, fp 2, fn 2, accuracy 0
    # annotator2: Elephant 1.0 >= 0.7, Zebra 0.905 >= 0.85: still 1.0
    assert _quality(client, people, one) == (0, 2, 2, 0.0, 3, False)
    assert _quality(client, people, two) == (2, 0, 0, 1.0, 3, False)

    lead = people["lead"].headers
    rows = client.get(f"/api/projects/{pid}/quality/annotators", headers=lead).json()
    by_email = {r["email"]: r for r in rows}
    assert by_email["annotator@example.com"]["tp"] == 0
    assert by_email["annotator2@example.com"]["accuracy"] == 1.0
    assert {r["settings_version"] for r in rows} == {3}
    summary = client.get(f"/api/projects/{pid}/quality", headers=lead).json()
    assert summary["settings"]["settings_version"] == 3
    assert summary["scores"] == {"settings_version": 3, "oldest": 3, "stale": 0}
    assert summary["annotations"]["settings_version"] == 3


def test_every_change_is_a_version_with_who_when_and_values(client, people, two_annotators):
    pid = two_annotators["project"]
    lead = people["lead"]
    url = f"/api/projects/{pid}/quality-settings"
    history = client.get(f"{url}/history", headers=lead.headers).json()
    assert [h["settings_version"] for h in history] == [1]
    assert history[0]["changed_by"] is None and history[0]["settings"]["iou_threshold"] == 0.5

    _patch(client, people, pid, {"iou_threshold": 0.6})
    same = _patch(client, people, pid, {"iou_threshold": 0.6})  # nothing changes: no version
    assert same["settings_version"] == 2 and same["recompute_job"] is None
    goal = _patch(client, people, pid, {"target_accuracy": 0.9})
    # the goal line scores nothing: no recompute, and the scores are those of version 3 too
    assert goal["settings_version"] == 3 and goal["recompute_job"] is None
    assert _quality(client, people, two_annotators["annotator2"])[4:] == (3, False)

    history = client.get(f"{url}/history", headers=people["reviewer"].headers).json()
    assert [h["settings_version"] for h in history] == [1, 2, 3]
    assert [h["settings"]["iou_threshold"] for h in history] == [0.5, 0.6, 0.6]
    assert [h["settings"]["target_accuracy"] for h in history] == [0.8, 0.8, 0.9]
    assert [h["changed_by_email"] for h in history] == [None, lead.email, lead.email]
    assert all(h["changed_at"] for h in history)
    assert client.get(url, headers=lead.headers).json()["settings_version"] == 3
    r = client.get(f"{url}/history", headers=people["annotator"].headers)
    assert r.status_code == 403


def test_scores_of_an_older_version_say_so_until_the_recompute_replaces_them(
    client, people, two_annotators, db, signed_in
):
    pid, one = two_annotators["project"], two_annotators["annotator"]
    lead = people["lead"].headers
    with db.session() as s:  # the change without its background job, as while it waits
        quality.update_settings(
            s, actor_of(people["lead"]), pid, label_iou_thresholds={"Elephant": 0.7}
        )
    assert _quality(client, people, one) == (2, 0, 0, 1.0, 1, True)
    summary = client.get(f"/api/projects/{pid}/quality", headers=lead).json()
    assert summary["scores"] == {"settings_version": 2, "oldest": 1, "stale": 2}
    rows = client.get(f"/api/projects/{pid}/quality/annotators", headers=lead).json()
    assert {r["settings_version"] for r in rows} == {1}
    page = signed_in(people["lead"]).get(f"/projects/{pid}/dashboard").text
    assert (
        "Scores are being recomputed for quality settings version 2: 2 scores shown here are "
        "still of version 1."
    ) in page

    result = quality.recompute_project(db, pid, rebuild=False)
    assert result["settings_version"] == 2
    assert _quality(client, people, one) == (1, 1, 1, round(1 / 3, 6), 2, False)
    summary = client.get(f"/api/projects/{pid}/quality", headers=lead).json()
    assert summary["scores"] == {"settings_version": 2, "oldest": 2, "stale": 0}
    page = signed_in(people["lead"]).get(f"/projects/{pid}/dashboard").text
    assert "Scores computed with quality settings version 2." in page


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"Lion": 0.7}, "'Lion' is not a label"),
        ({"Elephant": 0}, "must be a number in (0, 1]"),
        ({"Elephant": 1.5}, "must be a number in (0, 1]"),
        ({"Elephant": "high"}, "must be a number in (0, 1]"),
        ({"Elephant": True}, "must be a number in (0, 1]"),
        ([0.7], "must be an object"),
    ],
)
def test_bad_label_thresholds_are_refused_naming_the_field(client, people, project, value, why):
    url = f"/api/projects/{project['id']}/quality-settings"
    lead = people["lead"].headers
    r = client.patch(url, json={"label_iou_thresholds": value, "iou_threshold": 0.7}, headers=lead)
    assert r.status_code == 400, r.text
    assert why in r.json()["validation_errors"]["label_iou_thresholds"][0]
    after = client.get(url, headers=lead).json()  # nothing written, not even the good field
    assert after["iou_threshold"] == 0.5 and after["settings_version"] == 1


# GT: Elephant A (10, 10, 20, 20), Elephant B (40, 10, 20, 20), Zebra C (50, 50, 20, 20).
# annotator:  A and B exactly (IoU 1), an extra Elephant (80, 80, 10, 10), no Zebra
#   Elephant tp 2 fp 1 fn 0 -> 2/3;  Zebra tp 0 fp 0 fn 1 -> 0
#   micro 2 / (2 + 1 + 1) = 0.5;  macro (2/3 + 0) / 2 = 1/3;  worst_label 0
# annotator2: A and C exactly, misses B
#   Elephant tp 1 fn 1 -> 1/2;  Zebra tp 1 -> 1
#   micro 2 / 3;  macro (1/2 + 1) / 2 = 3/4;  worst_label 1/2
# both annotators together (the project's "annotations" row):
#   Elephant tp 3 fp 1 fn 1 -> 3/5;  Zebra tp 1 fn 1 -> 1/2
#   micro 4 / 7;  macro (3/5 + 1/2) / 2 = 0.55;  worst_label 1/2
SUMMARY_GT = [
    box(10, 10, 20, 20),
    box(40, 10, 20, 20),
    box(50, 50, 20, 20, label="Zebra"),
]
SUMMARY_EXPECTED = {
    # mode: (annotator, annotator2, project total, mean of the two annotations)
    "micro": (0.5, 2 / 3, 4 / 7, (0.5 + 2 / 3) / 2),
    "macro": (1 / 3, 3 / 4, 0.55, (1 / 3 + 3 / 4) / 2),
    "worst_label": (0.0, 0.5, 0.5, 0.25),
}


@pytest.mark.parametrize("mode", ["micro", "macro", "worst_label"])
def test_each_summary_mode_adds_accuracy_up_over_labels_as_documented(
    client, people, project, mode
):
    pid, lead = project["id"], people["lead"].headers
    (task,) = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[
            {
                "data": {"image": "a.jpg"},
                "annotations": [{"result": SUMMARY_GT, "ground_truth": True}],
            }
        ],
        headers=lead,
    ).json()["task_ids"]
    results = {
        "annotator": [SUMMARY_GT[0], SUMMARY_GT[1], box(80, 80, 10, 10)],
        "annotator2": [SUMMARY_GT[0], SUMMARY_GT[2]],
    }
    ids = {
        who: client.post(
            f"/api/tasks/{task}/annotations", json={"result": r}, headers=people[who].headers
        ).json()["id"]
        for who, r in results.items()
    }
    body = _patch(client, people, pid, {"summary": mode})
    assert body["summary"] == mode
    one, two, total, mean = (round(v, 6) for v in SUMMARY_EXPECTED[mode])
    assert _quality(client, people, ids["annotator"])[3] == one
    assert _quality(client, people, ids["annotator2"])[3] == two
    rows = client.get(f"/api/projects/{pid}/quality/annotators", headers=lead).json()
    assert {r["email"]: r["accuracy"] for r in rows} == {
        "annotator@example.com": one,
        "annotator2@example.com": two,
    }
    summary = client.get(f"/api/projects/{pid}/quality", headers=lead).json()
    assert summary["annotations"]["accuracy"] == total
    assert summary["annotations"]["mean_accuracy"] == mean
    assert summary["settings"]["summary"] == mode


def test_a_bad_summary_is_refused_naming_the_field(client, people, project):
    url = f"/api/projects/{project['id']}/quality-settings"
    r = client.patch(url, json={"summary": "median"}, headers=people["lead"].headers)
    assert r.status_code == 400
    assert r.json()["validation_errors"] == {
        "summary": ["must be one of micro, macro, worst_label"]
    }


# GT: Elephant (10, 10, 20, 20), Zebra (50, 50, 20, 20).
# annotation: Elephant (10, 10, 20, 20) exactly; Giraffe (50, 52, 20, 20) on the Zebra
#   (IoU 360 / 440 = 0.818 >= 0.5, but another label: a label mismatch)
#   "two" (default): the Giraffe is an FP and the Zebra an FN: tp 1, fp 1, fn 1 -> 1/3
#   "one": only the Zebra's FN counts: tp 1, fp 0, fn 1 -> 1/2
def test_a_label_mismatch_counts_as_two_errors_or_one(client, people, project):
    pid, lead = project["id"], people["lead"].headers
    (task,) = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"data": {"image": "a.jpg"}, "annotations": [{"result": GT, "ground_truth": True}]}],
        headers=lead,
    ).json()["task_ids"]
    result = [box(10, 10, 20, 20), box(50, 52, 20, 20, label="Giraffe")]
    ann = client.post(
        f"/api/tasks/{task}/annotations",
        json={"result": result},
        headers=people["annotator"].headers,
    ).json()["id"]
    assert (
        client.get(f"/api/projects/{pid}/quality-settings", headers=lead).json()["label_mismatch"]
        == "two"
    )
    assert _quality(client, people, ann)[:4] == (1, 1, 1, round(1 / 3, 6))
    body = _patch(client, people, pid, {"label_mismatch": "one"})
    assert body["settings_version"] == 2
    assert _quality(client, people, ann)[:4] == (1, 0, 1, 0.5)
    labels = client.get(f"/api/projects/{pid}/quality/labels", headers=lead).json()
    assert {r["label"]: (r["tp"], r["fp"], r["fn"]) for r in labels} == {
        "Elephant": (1, 0, 0),
        "Giraffe": (0, 0, 0),
        "Zebra": (0, 0, 1),
    }
    # macro with "one": Elephant 1/1, Zebra 0/1; the Giraffe has no count left, so it is no
    # label of the annotation: (1 + 0) / 2, not (1 + 0 + 1) / 3
    _patch(client, people, pid, {"summary": "macro"})
    assert _quality(client, people, ann)[:4] == (1, 0, 1, 0.5)
    r = client.patch(
        f"/api/projects/{pid}/quality-settings", json={"label_mismatch": 1}, headers=lead
    )
    assert r.status_code == 400
    assert r.json()["validation_errors"] == {"label_mismatch": ["must be one of two, one"]}
