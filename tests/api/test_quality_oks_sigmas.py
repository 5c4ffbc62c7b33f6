"""Per-label keypoint sigmas (#18): `oks_sigmas` in the quality settings decides how far a
keypoint may be from its ground-truth point, by the ground-truth point's label; a change is a
new settings version and the recompute scores with it."""

from __future__ import annotations

import pytest

from builders import wait_for_job

KEYPOINT_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <KeyPointLabels name="kp" toName="image">
    <Label value="nose"/><Label value="tail"/>
  </KeyPointLabels>
</View>"""


def point(x: float, y: float, label: str) -> dict:
    """A Label Studio keypoint on a 1000 x 1000 image: percent units, so 1 % is 10 px."""
    return {
        "from_name": "kp",
        "to_name": "image",
        "type": "keypointlabels",
        "original_width": 1000,
        "original_height": 1000,
        "value": {"x": x, "y": y, "width": 0.5, "keypointlabels": [label]},
    }


# Pixels on the 1000 x 1000 image; similarity exp(-d^2 / (2 sigma^2)), matched at >= 0.5.
# GT:         nose (100, 100)   tail (500, 500)
# annotator:  nose (110, 100)   tail (510, 500)    both d = 10 px
#   default sigma 10 px: exp(-100 / 200) = exp(-0.5) = 0.607 >= 0.5 for both: tp 2 -> 1.0
#   oks_sigmas {nose: 5}: nose exp(-100 / 50) = exp(-2) = 0.135 < 0.5: an extra and a miss;
#   the tail keeps 10 px: 0.607, a match -> tp 1, fp 1, fn 1 -> 1/3
GT = [point(10, 10, "nose"), point(50, 50, "tail")]
NEAR = [point(11, 10, "nose"), point(51, 50, "tail")]


@pytest.fixture
def keypoint_project(client, people):
    lead = people["lead"].headers
    r = client.post(
        "/api/projects/", json={"title": "Poses", "label_config": KEYPOINT_CONFIG}, headers=lead
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = client.post(f"/api/projects/{pid}/members", json={"user": people["annotator"].id},
                    headers=lead)  # fmt: skip
    assert r.status_code == 201, r.text
    return pid


@pytest.fixture
def scored(client, people, keypoint_project):
    pid, lead = keypoint_project, people["lead"].headers
    (task,) = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"data": {"image": "a.jpg"}, "annotations": [{"result": GT, "ground_truth": True}]}],
        headers=lead,
    ).json()["task_ids"]
    r = client.post(
        f"/api/tasks/{task}/annotations",
        json={"result": NEAR},
        headers=people["annotator"].headers,
    )
    assert r.status_code == 201, r.text
    return pid, r.json()["id"]


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


def test_a_tighter_sigma_for_the_nose_unmatches_it_after_the_recompute(client, people, scored):
    pid, ann = scored
    lead = people["lead"].headers
    url = f"/api/projects/{pid}/quality-settings"
    assert client.get(url, headers=lead).json()["oks_sigmas"] == {}
    # 10 px off at the default sigma of 10 px: both points match (0.607 >= 0.5)
    assert _quality(client, people, ann) == (2, 0, 0, 1.0, 1, False)

    body = _patch(client, people, pid, {"oks_sigmas": {"nose": 5}})
    assert body["oks_sigmas"] == {"nose": 5} and body["settings_version"] == 2
    assert body["recompute_job"] is not None
    # the nose at sigma 5: 0.135 < 0.5, an extra and a miss; the tail stays at 10 px
    assert _quality(client, people, ann) == (1, 1, 1, round(1 / 3, 6), 2, False)
    labels = client.get(f"/api/projects/{pid}/quality/labels", headers=lead).json()
    assert {r["label"]: (r["tp"], r["fp"], r["fn"]) for r in labels} == {
        "nose": (0, 1, 1),
        "tail": (1, 0, 0),
    }
    # the conflicts report judges with the same sigmas: the nose is extra and missing; the
    # tail matches below low_overlap_threshold 0.8
    q = client.get(f"/api/annotations/{ann}/quality", headers=lead).json()
    assert sorted((c["kind"], c["label"] or c["gt_label"], c["iou"]) for c in q["conflicts"]) == [
        ("extra", "nose", None),
        ("low_overlap", "tail", 0.6065),
        ("missing", "nose", None),
    ]

    history = client.get(f"{url}/history", headers=lead).json()
    assert [h["settings_version"] for h in history] == [1, 2]
    assert [h["settings"]["oks_sigmas"] for h in history] == [{}, {"nose": 5}]

    same = _patch(client, people, pid, {"oks_sigmas": {"nose": 5.0}})  # the same value
    assert same["settings_version"] == 2 and same["recompute_job"] is None

    # a looser sigma for the nose than the default matches it again
    back = _patch(client, people, pid, {"oks_sigmas": {"nose": 20, "tail": 10}})
    assert back["settings_version"] == 3
    assert _quality(client, people, ann) == (2, 0, 0, 1.0, 3, False)


@pytest.mark.parametrize(
    ("value", "field", "why"),
    [
        ({"nose": 0}, "oks_sigmas.nose", "must be a positive finite number of pixels"),
        ({"nose": -3}, "oks_sigmas.nose", "must be a positive finite number of pixels"),
        ({"nose": "5"}, "oks_sigmas.nose", "must be a positive finite number of pixels"),
        ({"nose": True}, "oks_sigmas.nose", "must be a positive finite number of pixels"),
        ({"nose": None}, "oks_sigmas.nose", "must be a positive finite number of pixels"),
        ({"tail": 5, "nose": 10**400}, "oks_sigmas.nose", "positive finite"),
        ({"lion": 5}, "oks_sigmas", "'lion' is not a label of the project's label config"),
        ([5], "oks_sigmas", "must be an object {label: sigma in pixels}"),
        ({f"l{i}": 5 for i in range(1001)}, "oks_sigmas", "has 1001 labels; at most 1000"),
    ],
)
def test_bad_sigmas_are_refused_naming_the_field(client, people, keypoint_project, value, field,
                                                 why):  # fmt: skip
    url = f"/api/projects/{keypoint_project}/quality-settings"
    lead = people["lead"].headers
    r = client.patch(url, json={"oks_sigmas": value, "iou_threshold": 0.7}, headers=lead)
    assert r.status_code == 400, r.text
    errors = r.json()["validation_errors"]
    assert list(errors) == [field] and why in errors[field][0], errors
    after = client.get(url, headers=lead).json()  # nothing written, not even the good field
    assert after["oks_sigmas"] == {} and after["iou_threshold"] == 0.5
    assert after["settings_version"] == 1


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_sigmas_that_are_no_finite_number_are_refused(client, people, keypoint_project, number):
    url = f"/api/projects/{keypoint_project}/quality-settings"
    lead = people["lead"].headers
    r = client.patch(
        url,
        content='{"oks_sigmas": {"nose": ' + number + "}}",
        headers={**lead, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert "positive finite" in r.json()["validation_errors"]["oks_sigmas.nose"][0]
    assert client.get(url, headers=lead).json()["settings_version"] == 1


def test_only_leads_change_sigmas(client, people, keypoint_project):
    url = f"/api/projects/{keypoint_project}/quality-settings"
    r = client.patch(url, json={"oks_sigmas": {"nose": 5}}, headers=people["annotator"].headers)
    assert r.status_code == 403
    assert client.get(url, headers=people["lead"].headers).json()["oks_sigmas"] == {}
