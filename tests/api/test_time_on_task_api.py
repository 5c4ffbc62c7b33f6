"""Time on task through the API: annotations carry `active_time` next to Label Studio's
`lead_time`, the project's `hourly_rate` is a setting, and the scorecard CSV has the numbers."""

from __future__ import annotations

import csv
import io

from builders import box


def _tasks(client, people, project, n):
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg"} for i in range(n)],
        headers=people["lead"].headers,
    )
    return r.json()["task_ids"]


def test_scorecard_csv_has_time_on_task(client, people, project):
    lead, ann = people["lead"].headers, people["annotator"]
    r = client.patch(f"/api/projects/{project['id']}", json={"hourly_rate": 18}, headers=lead)
    assert r.status_code == 200 and r.json()["hourly_rate"] == 18.0
    t = _tasks(client, people, project, 2)
    made = []
    for task, n, wall, active in ((t[0], 3, 200, 100), (t[1], 1, 50, 20)):
        r = client.post(
            f"/api/tasks/{task}/annotations",
            json={"result": [box(5 + 10 * i, 5, 5, 5) for i in range(n)],
                  "lead_time": wall, "active_time": active},
            headers=ann.headers,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        assert (r.json()["lead_time"], r.json()["active_time"]) == (wall, active)
        made.append(r.json()["id"])
    r = client.post(f"/api/annotations/{made[0]}/reviews", json={"action": "accept"},
                    headers=people["reviewer"].headers)  # fmt: skip
    assert r.status_code == 201, r.text
    r = client.get(f"/api/projects/{project['id']}/dashboard/annotators?format=csv", headers=lead)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    [row] = [x for x in csv.DictReader(io.StringIO(r.text)) if x["annotator"] == str(ann.id)]
    # active 120 s of 250 s wall; 4 objects in 2 minutes; 18 an hour x 120 s = 0.60 over the
    # 3 accepted objects
    assert (row["active_time"], row["wall_time"], row["timed_annotations"]) == (
        "120.0",
        "250.0",
        "2",
    )
    assert (row["objects"], row["objects_per_minute"], row["accepted_objects"]) == ("4", "2.0", "3")
    assert row["cost_per_accepted_object"] == "0.2"
    body = client.get(f"/api/projects/{project['id']}/dashboard", headers=lead).json()
    assert body["hourly_rate"] == 18.0


def test_times_and_rate_are_checked(client, people, project):
    [task] = _tasks(client, people, project, 1)
    ann, lead = people["annotator"].headers, people["lead"].headers
    r = client.post(f"/api/tasks/{task}/annotations",
                    json={"result": [], "lead_time": 5, "active_time": 9}, headers=ann)  # fmt: skip
    assert r.status_code == 400 and "active_time" in r.json()["validation_errors"]
    r = client.post(f"/api/tasks/{task}/annotations",
                    json={"result": [], "active_time": -1}, headers=ann)  # fmt: skip
    assert r.status_code == 400 and "active_time" in r.json()["validation_errors"]
    a = client.post(f"/api/tasks/{task}/annotations",
                    json={"result": [], "lead_time": 5, "active_time": 4}, headers=ann).json()  # fmt: skip
    r = client.patch(f"/api/annotations/{a['id']}", json={"active_time": 6}, headers=ann)
    assert r.status_code == 400 and "active_time" in r.json()["validation_errors"]
    r = client.patch(f"/api/annotations/{a['id']}", json={"lead_time": 9, "active_time": 6},
                     headers=ann)  # fmt: skip
    assert r.status_code == 200 and (r.json()["lead_time"], r.json()["active_time"]) == (9, 6)
    for bad in (-1, "a lot", True):
        r = client.patch(f"/api/projects/{project['id']}", json={"hourly_rate": bad}, headers=lead)
        assert r.status_code == 400 and "hourly_rate" in r.json()["validation_errors"], bad
    r = client.patch(f"/api/projects/{project['id']}", json={"hourly_rate": None}, headers=lead)
    assert r.status_code == 200 and r.json()["hourly_rate"] is None
    # the rate is for who reads the dashboard, not annotators
    p = client.get(f"/api/projects/{project['id']}", headers=ann).json()
    assert "hourly_rate" not in p and p["visibility"] == "blind"
