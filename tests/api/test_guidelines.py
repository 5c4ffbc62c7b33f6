"""Guidelines (issue #19 item 3): numbered versions that are never changed or deleted, what
changed since one last read, the version in force on every annotation and GT revision, and
the GT re-check queue a new version opens."""

from __future__ import annotations

import pytest

from builders import aliases_of, box, import_tasks


def _url(project, tail=""):
    return f"/api/projects/{project['id']}/guidelines{tail}"


def _publish(client, person, project, **body):
    r = client.post(_url(project), json={"markdown": "# Rules", **body}, headers=person.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _job(client, people, project, tasks):
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "j", "task_ids": tasks, "assignees": [people["annotator"].id]},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_versions_are_numbered_kept_and_read_by_role(client, people, project):
    lead = people["lead"]
    assert client.get(_url(project), headers=lead.headers).json()["current"] is None
    one = _publish(client, lead, project, markdown="# v1\nBoxes hug the animal.", change_log="")
    two = _publish(client, people["admin"], project, markdown="# v2", change_log="Tails count")
    assert (one["version"], two["version"]) == (1, 2)
    assert two["author"] == people["admin"].id and two["created_at"]
    seen = client.get(_url(project), headers=lead.headers).json()
    assert seen["current"]["version"] == 2 and seen["current"]["markdown"] == "# v2"
    assert seen["count"] == 2
    assert [v["version"] for v in seen["results"]] == [2, 1]
    assert "markdown" not in seen["results"][0]  # the list is the log, the text is per version
    assert (
        client.get(_url(project, "/1"), headers=lead.headers).json()["markdown"].startswith("# v1")
    )
    assert (
        client.get(_url(project, "?page=2&page_size=1"), headers=lead.headers).json()["results"][0][
            "version"
        ]
        == 1
    )
    assert client.get(_url(project, "?page=3&page_size=1"), headers=lead.headers).status_code == 404
    # annotators read the version in force, not the history
    ann = people["annotator"].headers
    mine = client.get(_url(project), headers=ann).json()
    assert mine["current"]["version"] == 2 and "results" not in mine
    assert client.get(_url(project, "/2"), headers=ann).status_code == 200
    assert client.get(_url(project, "/1"), headers=ann).status_code == 403
    assert client.get(_url(project, "/3"), headers=lead.headers).status_code == 404
    for who in ("annotator", "reviewer"):
        r = client.post(_url(project), json={"markdown": "x"}, headers=people[who].headers)
        assert r.status_code == 403, who


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "markdown"),
        ({"markdown": "   "}, "markdown"),
        ({"markdown": "x" * 200_001}, "markdown"),
        ({"markdown": "x", "change_log": 5}, "change_log"),
        ({"markdown": "x", "change_log": "y" * 10_001}, "change_log"),
        ({"markdown": "x", "title": "t"}, "title"),
        ({"markdown": "x", "recheck": "some"}, "recheck"),
        ({"markdown": "x", "recheck": {"labels": []}}, "recheck.labels"),
        ({"markdown": "x", "recheck": {"labels": ["Unicorn"]}}, "recheck.labels"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(client, people, project, body, field):
    r = client.post(_url(project), json=body, headers=people["lead"].headers)
    assert r.status_code == 400, r.text
    assert field in r.json()["validation_errors"], r.text
    assert client.get(_url(project), headers=people["lead"].headers).json()["count"] == 0


def test_what_changed_since_one_last_read(client, people, project):
    ann = people["annotator"].headers
    assert client.post(_url(project, "/read"), json={}, headers=ann).status_code == 404
    _publish(client, people["lead"], project, change_log="First rules")
    first = client.get(_url(project), headers=ann).json()
    assert first["read_version"] is None
    assert [v["change_log"] for v in first["unread_since"]] == ["First rules"]
    r = client.post(_url(project, "/read"), json={}, headers=ann)
    assert r.status_code == 200 and r.json() == {"read_version": 1}
    assert client.get(_url(project), headers=ann).json()["unread_since"] == []
    _publish(client, people["lead"], project, change_log="Tails count")
    _publish(client, people["lead"], project, change_log="Occluded: box the visible part")
    later = client.get(_url(project), headers=ann).json()
    assert later["read_version"] == 1
    assert [(v["version"], v["change_log"]) for v in later["unread_since"]] == [
        (3, "Occluded: box the visible part"),
        (2, "Tails count"),
    ]
    # reading never goes back; a version past the last is refused, naming it
    assert client.post(_url(project, "/read"), json={"version": 9}, headers=ann).status_code == 400
    assert client.post(_url(project, "/read"), json={"version": 2}, headers=ann).json() == {
        "read_version": 2
    }
    assert client.post(_url(project, "/read"), json={"version": 1}, headers=ann).json() == {
        "read_version": 2
    }
    assert [
        v["version"] for v in client.get(_url(project), headers=ann).json()["unread_since"]
    ] == [3]
    # its author has read what they published; another annotator has read nothing
    assert client.get(_url(project), headers=people["lead"].headers).json()["unread_since"] == []
    other = client.get(_url(project), headers=people["annotator2"].headers).json()
    assert len(other["unread_since"]) == 3


def test_annotations_and_gt_record_the_version_in_force(client, people, project):
    lead = people["lead"]
    tasks = import_tasks(client, lead, project["id"], [{"image": f"{i}.jpg"} for i in range(2)])
    job = _job(client, people, project, tasks)
    alias = aliases_of(client, lead, people["annotator"], job)[tasks[0]]
    ann = people["annotator"].headers
    before = client.post(
        f"/api/tasks/{alias}/annotations",
        json={"result": [box(1, 1, 2, 2)], "job": job},
        headers=ann,
    ).json()
    _publish(client, lead, project)
    r = client.patch(
        f"/api/annotations/{before['id']}", json={"result": [box(2, 2, 2, 2)]}, headers=ann
    )
    assert r.status_code == 200, r.text
    _publish(client, lead, project)
    r = client.patch(
        f"/api/annotations/{before['id']}", json={"result": [box(3, 3, 2, 2)]}, headers=ann
    )
    assert r.status_code == 200, r.text
    revs = client.get(f"/api/annotations/{before['id']}/revisions", headers=ann).json()
    assert [r["guideline_version"] for r in revs] == [None, 1, 2]
    gt = client.post(
        f"/api/tasks/{tasks[1]}/annotations",
        json={"result": [box(1, 1, 2, 2)], "ground_truth": True},
        headers=lead.headers,
    ).json()
    assert [
        r["guideline_version"]
        for r in client.get(f"/api/annotations/{gt['id']}/revisions", headers=lead.headers).json()
    ] == [2]
    history = client.get(
        f"/api/projects/{project['id']}/ground-truth/history?task={tasks[1]}", headers=lead.headers
    ).json()["results"]
    assert [h["guideline_version"] for h in history] == [2]


def _gt(client, lead, task, regions):
    r = client.post(
        f"/api/tasks/{task}/annotations",
        json={"result": regions, "ground_truth": True},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_recheck_queue_by_labels_then_all_with_progress(client, people, project):
    lead = people["lead"]
    tasks = import_tasks(client, lead, project["id"], [{"image": f"{i}.jpg"} for i in range(4)])
    elephant = _gt(client, lead, tasks[0], [box(1, 1, 2, 2, "Elephant")])
    zebra = _gt(client, lead, tasks[1], [box(1, 1, 2, 2, "Zebra")])
    _gt(client, lead, tasks[2], [])  # an empty GT: no labels
    queue = _url(project, "/recheck")
    made = _publish(client, lead, project, recheck={"labels": ["Zebra"]})
    assert made["rechecks_queued"] == 1
    got = client.get(queue, headers=lead.headers).json()
    assert (got["total"], got["done"], got["remaining"]) == (1, 0, 1)
    assert [(x["task"], x["status"], x["guideline_version"]) for x in got["results"]] == [
        (tasks[1], "pending", 1)
    ]
    assert _publish(client, lead, project)["rechecks_queued"] == 0  # no recheck asked
    made = _publish(client, lead, project, recheck="all")
    assert made["rechecks_queued"] == 3  # every GT task; the waiting one is not queued twice
    got = client.get(queue, headers=lead.headers).json()
    assert (got["total"], got["remaining"]) == (3, 3)
    assert {x["task"]: x["guideline_version"] for x in got["results"]} == {
        tasks[0]: 3,
        tasks[1]: 3,
        tasks[2]: 3,
    }
    resolve = _url(project, f"/recheck/{tasks[0]}")
    r = client.post(resolve, json={"confirm": False}, headers=lead.headers)
    assert r.status_code == 409  # unchanged: edit it first, or confirm it
    r = client.post(resolve, json={"confirm": True}, headers=lead.headers)
    assert r.status_code == 200, r.text
    assert (
        r.json()["status"] == "confirmed" and r.json()["resolved_revision"] == elephant["revision"]
    )
    assert client.post(resolve, json={"confirm": True}, headers=lead.headers).status_code == 404
    # the lead fixes the zebra GT through the GT APIs: recorded as changed, with its revision
    r = client.patch(
        f"/api/annotations/{zebra['id']}",
        json={"result": [box(5, 5, 2, 2, "Zebra")]},
        headers=lead.headers,
    )
    assert r.status_code == 200, r.text
    resolve = _url(project, f"/recheck/{tasks[1]}")
    assert client.post(resolve, json={"confirm": True}, headers=lead.headers).status_code == 409
    r = client.post(resolve, json={"confirm": False}, headers=lead.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "changed" and r.json()["resolved_revision"] == 2
    got = client.get(queue, headers=lead.headers).json()
    assert (got["total"], got["done"], got["remaining"]) == (3, 2, 1)
    pending = client.get(f"{queue}?status=pending", headers=lead.headers).json()
    assert [x["task"] for x in pending["results"]] == [tasks[2]]
    changed = client.get(f"{queue}?status=changed", headers=lead.headers).json()["results"]
    assert changed[0]["current_gt_revision"] == 2 and changed[0]["gt_revision"] == 1
    # a task with no GT waiting is no re-check; bad bodies name their field
    r = client.post(
        _url(project, f"/recheck/{tasks[3]}"), json={"confirm": True}, headers=lead.headers
    )
    assert r.status_code == 404
    r = client.post(
        _url(project, f"/recheck/{tasks[2]}"), json={"confirm": "yes"}, headers=lead.headers
    )
    assert r.status_code == 400 and "confirm" in r.json()["validation_errors"]
    r = client.post(_url(project, f"/recheck/{tasks[2]}"), json={}, headers=lead.headers)
    assert r.status_code == 400 and "confirm" in r.json()["validation_errors"]
    for who in ("reviewer", "annotator"):
        assert client.get(queue, headers=people[who].headers).status_code == 403, who
        r = client.post(
            _url(project, f"/recheck/{tasks[2]}"),
            json={"confirm": True},
            headers=people[who].headers,
        )
        assert r.status_code in (403, 404), who


def test_a_waiting_task_queued_again_is_checked_against_its_gt_as_it_is_now(
    client, people, project
):
    """The GT edited between two versions, the task waiting since the first: the second
    version's re-check compares with the edited GT (confirming it used to answer 409 'changed
    since it was queued')."""
    lead = people["lead"]
    [task] = import_tasks(client, lead, project["id"], [{"image": "a.jpg"}])
    gt = _gt(client, lead, task, [box(1, 1, 2, 2, "Zebra")])
    _publish(client, lead, project, recheck="all")
    r = client.patch(
        f"/api/annotations/{gt['id']}",
        json={"result": [box(5, 5, 2, 2, "Zebra")]},
        headers=lead.headers,
    )
    assert r.status_code == 200, r.text
    _publish(client, lead, project, recheck="all")
    [waiting] = client.get(_url(project, "/recheck"), headers=lead.headers).json()["results"]
    assert (waiting["guideline_version"], waiting["gt_revision"]) == (2, 2)
    r = client.post(_url(project, f"/recheck/{task}"), json={"confirm": True}, headers=lead.headers)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text


def test_the_editor_walks_the_recheck_queue_and_saves_an_edit_as_a_new_revision(
    client, people, project
):
    """`recheck/next` gives the waiting tasks oldest first in the GT stage's shape (`after`
    skips one, round to the oldest again); `{"confirm": false, "result": [...]}` edits the GT
    and records the change in one step."""
    lead = people["lead"]
    tasks = import_tasks(client, lead, project["id"], [{"image": f"{i}.jpg"} for i in range(2)])
    gts = [_gt(client, lead, t, [box(1, 1, 2, 2, "Zebra")]) for t in tasks]
    _publish(client, lead, project, recheck="all")
    nxt = _url(project, "/recheck/next")
    got = client.get(nxt, headers=lead.headers).json()
    assert (got["task"]["id"], got["complete"], got["regions"]) == (
        tasks[0], False, gts[0]["result"]
    )  # fmt: skip
    assert got["ground_truth"]["id"] == gts[0]["id"] and got["recheck"]["guideline_version"] == 1
    assert (got["progress"]["done"], got["progress"]["total"]) == (0, 2)
    after = [
        client.get(f"{nxt}?after={t}", headers=lead.headers).json()["task"]["id"] for t in tasks
    ]
    assert after == [tasks[1], tasks[0]]  # the next one, then round to the oldest
    resolve = _url(project, f"/recheck/{tasks[1]}")
    for body in ({"confirm": True, "result": []}, {"confirm": False, "result": "none"}):
        r = client.post(resolve, json=body, headers=lead.headers)
        assert r.status_code == 400 and "result" in r.json()["validation_errors"], r.text
    edited = [box(5, 5, 2, 2, "Zebra")]
    r = client.post(resolve, json={"confirm": False, "result": edited}, headers=lead.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["resolved_revision"]) == ("changed", 2)
    now = client.get(f"/api/annotations/{gts[1]['id']}", headers=lead.headers).json()
    assert now["revision"] == 2 and now["result"][0]["value"]["x"] == 5
    r = client.post(
        _url(project, f"/recheck/{tasks[0]}"),
        json={"confirm": False, "result": gts[0]["result"]},  # the same regions: no edit
        headers=lead.headers,
    )
    assert r.status_code == 409 and "unchanged" in r.json()["detail"]
    client.post(_url(project, f"/recheck/{tasks[0]}"), json={"confirm": True}, headers=lead.headers)
    done = client.get(nxt, headers=lead.headers).json()
    assert (done["complete"], done["task"], done["progress"]["done"]) == (True, None, 2)
