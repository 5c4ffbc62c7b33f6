"""Ground truth management: one answer key per task, bulk actions, filters, history, time travel."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from assay.store.models import Annotation
from builders import box


def _tasks(client, people, project, n=3):
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg"} for i in range(n)],
        headers=people["lead"].headers,
    )
    return r.json()["task_ids"]


def _annotate(client, person, task_id, x=1.0, label="Elephant"):
    r = client.post(
        f"/api/tasks/{task_id}/annotations",
        json={"result": [box(x, 1, 5, 5, label=label)]},
        headers=person.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _gt_of(client, people, task_id):
    anns = client.get(f"/api/tasks/{task_id}/annotations", headers=people["lead"].headers).json()
    return [a["id"] for a in anns if a["ground_truth"]]


def test_star_replace_and_unstar(client, people, project):
    (t,) = _tasks(client, people, project, 1)
    a = _annotate(client, people["annotator"], t)
    b = _annotate(client, people["annotator2"], t)
    lead = people["lead"].headers
    r = client.patch(f"/api/annotations/{a}", json={"ground_truth": True}, headers=lead)
    assert r.status_code == 200 and r.json()["ground_truth"] is True
    assert _gt_of(client, people, t) == [a]
    client.patch(f"/api/annotations/{b}", json={"ground_truth": True}, headers=lead)
    assert _gt_of(client, people, t) == [b]
    client.patch(f"/api/annotations/{b}", json={"ground_truth": False}, headers=lead)
    assert _gt_of(client, people, t) == []
    assert {x["id"] for x in client.get(f"/api/tasks/{t}/annotations", headers=lead).json()} == {
        a,
        b,
    }
    c = client.post(
        f"/api/tasks/{t}/annotations", json={"result": [], "ground_truth": True}, headers=lead
    ).json()["id"]
    assert _gt_of(client, people, t) == [c]
    hist = client.get(
        f"/api/projects/{project['id']}/ground-truth/history?task={t}", headers=lead
    ).json()
    assert [
        (h["action"], h["from_annotation"], h["to_annotation"]) for h in reversed(hist["results"])
    ] == [
        ("set", None, a),
        ("replaced", a, b),
        ("unset", b, None),
        ("set", None, c),
    ]
    assert all(h["changed_by"] == people["lead"].id for h in hist["results"])


def test_deleting_the_gt_annotation_unsets_it_in_history(client, people, project):
    (t,) = _tasks(client, people, project, 1)
    a = _annotate(client, people["lead"], t)
    client.patch(
        f"/api/annotations/{a}", json={"ground_truth": True}, headers=people["lead"].headers
    )
    client.delete(f"/api/annotations/{a}", headers=people["lead"].headers)
    hist = client.get(
        f"/api/projects/{project['id']}/ground-truth/history", headers=people["lead"].headers
    ).json()
    assert [h["action"] for h in hist["results"]] == ["unset", "set"]
    assert (
        client.get(f"/api/projects/{project['id']}", headers=people["lead"].headers).json()[
            "ground_truth_number"
        ]
        == 0
    )


def test_a_starred_annotation_is_the_leads_and_its_author_keeps_her_own_work(
    client, people, project
):
    """Issue #16 M1: once the lead stars an annotator's annotation, the annotator can neither
    edit nor delete the answer key; the lead's edits of it do not become the author's work."""
    (t,) = _tasks(client, people, project, 1)
    ann, lead = people["annotator"].headers, people["lead"].headers
    a = _annotate(client, people["annotator"], t, x=60)
    assert client.patch(f"/api/annotations/{a}", json={"ground_truth": True}, headers=lead)
    for r in (
        client.patch(f"/api/annotations/{a}", json={"result": [box(2, 2, 5, 5)]}, headers=ann),
        client.patch(f"/api/annotations/{a}", json={"was_cancelled": True}, headers=ann),
        client.delete(f"/api/annotations/{a}", headers=ann),
    ):
        assert r.status_code == 403 and "locked" in r.json()["detail"], r.text
    assert _gt_of(client, people, t) == [a]
    hist = client.get(
        f"/api/projects/{project['id']}/ground-truth/history?task={t}", headers=lead
    ).json()
    assert [h["action"] for h in hist["results"]] == ["set"]
    revisions = client.get(f"/api/annotations/{a}/revisions", headers=lead).json()
    assert [(r["revision"], r["changed_by"]) for r in revisions] == [(1, people["annotator"].id)]
    # the lead edits the answer key, then replaces it: the author is measured on her own box
    r = client.patch(f"/api/annotations/{a}", json={"result": [box(1, 1, 5, 5)]}, headers=lead)
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    r = client.post(
        f"/api/tasks/{t}/annotations",
        json={"result": [box(1, 1, 5, 5)], "ground_truth": True},
        headers=lead,
    )
    assert r.status_code == 201 and _gt_of(client, people, t) == [r.json()["id"]]
    assert client.get(f"/api/annotations/{a}/quality", headers=lead).json()["accuracy"] == 0.0
    # no longer the GT, it is hers to change again
    r = client.patch(f"/api/annotations/{a}", json={"result": [box(1.5, 1, 5, 5)]}, headers=ann)
    assert r.status_code == 200, r.text
    assert client.get(f"/api/annotations/{a}/quality", headers=lead).json()["accuracy"] == 1.0


def test_only_staff_touch_ground_truth_and_annotators_never_see_it(client, people, project):
    (t,) = _tasks(client, people, project, 1)
    mine = _annotate(client, people["annotator"], t)
    for role in ("reviewer", "annotator"):
        h = people[role].headers
        r = client.patch(f"/api/annotations/{mine}", json={"ground_truth": True}, headers=h)
        assert r.status_code in (403, 404), (role, r.status_code)
        r = client.post(
            f"/api/dm/actions?id=assign_ground_truths&project={project['id']}",
            json={"selectedItems": {"all": True, "excluded": []}},
            headers=h,
        )
        assert r.status_code == 403, (role, r.text)
    assert (
        client.get(
            f"/api/projects/{project['id']}/ground-truth/history",
            headers=people["annotator"].headers,
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"/api/tasks?project={project['id']}&ground_truth=true",
            headers=people["annotator"].headers,
        ).status_code
        == 403
    )
    assert _gt_of(client, people, t) == []
    client.patch(
        f"/api/annotations/{mine}", json={"ground_truth": True}, headers=people["lead"].headers
    )
    ann = people["annotator"].headers
    own = client.get(f"/api/annotations/{mine}", headers=ann).json()
    assert "ground_truth" not in own
    task = client.get(f"/api/tasks/{t}", headers=ann).json()
    assert "ground_truth" not in task and all("ground_truth" not in a for a in task["annotations"])
    assert (
        client.get(f"/api/tasks/{t}", headers=people["reviewer"].headers).json()["ground_truth"]
        is True
    )


def test_bulk_actions(client, people, project):
    ids = _tasks(client, people, project, 5)
    lead = people["lead"].headers
    early = {t: _annotate(client, people["annotator"], t) for t in ids[:4]}
    late = {t: _annotate(client, people["annotator2"], t, x=2) for t in ids[:2]}
    url = f"/api/dm/actions?project={project['id']}&id="

    r = client.post(
        url + "set_ground_truths",
        json={
            "selectedItems": {"all": True, "excluded": [ids[4]]},
            "annotator": people["annotator2"].id,
        },
        headers=lead,
    )
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("selected", "changed", "unchanged", "skipped")} == {
        "selected": 4,
        "changed": 2,
        "unchanged": 0,
        "skipped": 2,
    }
    assert [_gt_of(client, people, t) for t in ids[:2]] == [[late[ids[0]]], [late[ids[1]]]]

    r = client.post(
        url + "assign_ground_truths",
        json={"selectedItems": {"all": False, "included": ids}},
        headers=lead,
    )
    assert {k: r.json()[k] for k in ("selected", "changed", "unchanged", "skipped")} == {
        "selected": 5,
        "changed": 4,
        "unchanged": 0,
        "skipped": 1,
    }
    assert [_gt_of(client, people, t) for t in ids] == [[early[t]] for t in ids[:4]] + [[]]
    assert (
        client.get(f"/api/projects/{project['id']}", headers=lead).json()["ground_truth_coverage"]
        == 80.0
    )

    with_gt = client.get(
        f"/api/tasks?project={project['id']}&ground_truth=true", headers=lead
    ).json()
    without = client.get(
        f"/api/tasks?project={project['id']}&ground_truth=false", headers=lead
    ).json()
    assert [t["id"] for t in with_gt["tasks"]] == ids[:4] and [
        t["id"] for t in without["tasks"]
    ] == [ids[4]]

    r = client.post(
        url + "delete_ground_truths",
        json={"selectedItems": {"all": False, "included": ids[:3]}},
        headers=lead,
    )
    assert r.json()["changed"] == 3
    assert [_gt_of(client, people, t) for t in ids[:4]] == [[], [], [], [early[ids[3]]]]
    assert (
        client.get(f"/api/tasks/{ids[0]}/annotations", headers=lead).json() != []
    )  # annotations stay


def test_bulk_bad_input_changes_nothing(client, people, project, db):
    ids = _tasks(client, people, project, 2)
    for t in ids:
        _annotate(client, people["annotator"], t)
    lead = people["lead"].headers
    other = client.post(
        "/api/projects",
        json={"title": "other", "label_config": project["label_config"]},
        headers=lead,
    ).json()
    foreign = client.post(
        f"/api/projects/{other['id']}/import?return_task_ids=true",
        json=[{"image": "z.jpg"}],
        headers=lead,
    ).json()["task_ids"]
    url = f"/api/dm/actions?project={project['id']}&id="
    cases = [
        (url + "make_everything_gt", {"selectedItems": {"all": True, "excluded": []}}, "id"),
        (
            url + "assign_ground_truths",
            {"selectedItems": {"all": False, "included": []}},
            "selectedItems.included",
        ),
        (
            url + "assign_ground_truths",
            {"selectedItems": {"all": False, "included": [ids[0], *foreign]}},
            "selectedItems.included",
        ),
        (url + "assign_ground_truths", {}, "selectedItems"),
        (url + "set_ground_truths", {"selectedItems": {"all": True, "excluded": []}}, "annotator"),
        ("/api/dm/actions?id=assign_ground_truths", {"selectedItems": {"all": True}}, "project"),
    ]
    for path, body, field in cases:
        r = client.post(path, json=body, headers=lead)
        assert r.status_code == 400, (path, r.text)
        assert field in r.json()["validation_errors"], (field, r.json())
    with db.session(write=False) as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Annotation)
                .where(Annotation.ground_truth.is_(True))
            )
            == 0
        )


def test_history_reproduces_an_older_answer_key(client, people, project):
    t1, t2 = _tasks(client, people, project, 2)
    lead = people["lead"].headers
    a = _annotate(client, people["annotator"], t1, x=10)
    b = _annotate(client, people["annotator2"], t1, x=30, label="Zebra")
    c = _annotate(client, people["annotator"], t2, x=50)

    def stamp():
        time.sleep(0.01)
        moment = datetime.now(UTC)
        time.sleep(0.01)
        return moment.isoformat()

    before_any = stamp()
    client.patch(f"/api/annotations/{a}", json={"ground_truth": True}, headers=lead)
    client.patch(f"/api/annotations/{c}", json={"ground_truth": True}, headers=lead)
    first_key = stamp()
    client.patch(
        f"/api/annotations/{a}", json={"result": [box(12, 1, 5, 5)]}, headers=lead
    )  # GT edited
    edited = stamp()
    client.patch(
        f"/api/annotations/{b}", json={"ground_truth": True}, headers=lead
    )  # replaced on t1
    client.patch(f"/api/annotations/{c}", json={"ground_truth": False}, headers=lead)  # unset on t2

    def key(as_of=None):
        q = f"/api/projects/{project['id']}/export?ground_truth_only=true" + (
            f"&as_of={as_of.replace('+', '%2B')}" if as_of else ""
        )
        r = client.get(q, headers=lead)
        assert r.status_code == 200, r.text
        for t in r.json():  # a task whose GT is exported is labeled (#15 item 8)
            assert (t["is_labeled"], t["total_annotations"], t["ground_truth"]) == (True, 1, True)
            assert t["annotators"] == [{"user_id": t["annotations"][0]["completed_by"]}]
        return {
            t["id"]: (t["annotations"][0]["id"], t["annotations"][0]["result"][0]["value"]["x"])
            for t in r.json()
        }

    assert key(before_any) == {}
    assert key(first_key) == {t1: (a, 10), t2: (c, 50)}
    assert key(edited) == {t1: (a, 12), t2: (c, 50)}
    assert key() == {t1: (b, 30)}
    r = client.get(
        f"/api/projects/{project['id']}/export?as_of={first_key.replace('+', '%2B')}", headers=lead
    )
    assert r.status_code == 400 and "as_of" in r.json()["validation_errors"]


def test_twenty_concurrent_stars_leave_exactly_one_gt(live_server, people, project, client, db):
    (t,) = _tasks(client, people, project, 1)
    ann_ids = [_annotate(client, people["lead"], t, x=1 + i) for i in range(20)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(ann_ids))

    def star(ann_id: int) -> None:
        with httpx.Client(base_url=live_server, headers=people["lead"].headers, timeout=60) as http:
            barrier.wait()
            for _ in range(5):  # a clean retry is allowed; nothing else
                r = http.patch(f"/api/annotations/{ann_id}", json={"ground_truth": True})
                if r.status_code not in (409, 503):
                    break
            statuses.append(r.status_code)

    threads = [threading.Thread(target=star, args=(a,)) for a in ann_ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert statuses == [200] * 20
    with db.session(write=False) as s:
        gts = s.scalars(
            select(Annotation.id).where(Annotation.task_id == t, Annotation.ground_truth.is_(True))
        ).all()
    assert len(gts) == 1
    hist = client.get(
        f"/api/projects/{project['id']}/ground-truth/history?task={t}&page_size=100",
        headers=people["lead"].headers,
    ).json()
    assert hist["count"] == 20 and hist["results"][0]["to_annotation"] == gts[0]


def test_editing_gt_keeps_older_revisions_readable(client, people, project):
    (t,) = _tasks(client, people, project, 1)
    lead = people["lead"].headers
    a = _annotate(client, people["lead"], t, x=10)
    client.patch(f"/api/annotations/{a}", json={"ground_truth": True}, headers=lead)
    client.patch(f"/api/annotations/{a}", json={"result": [box(20, 1, 5, 5)]}, headers=lead)
    client.patch(
        f"/api/annotations/{a}", json={"result": [box(20, 1, 5, 5)]}, headers=lead
    )  # no change: no revision
    revs = client.get(f"/api/annotations/{a}/revisions", headers=lead).json()
    assert [(r["revision"], r["action"], r["result"][0]["value"]["x"]) for r in revs] == [
        (1, "created", 10),
        (2, "updated", 20),
    ]
    hist = client.get(f"/api/projects/{project['id']}/ground-truth/history", headers=lead).json()[
        "results"
    ]
    assert [(h["action"], h["revision"]) for h in hist] == [("edited", 2), ("set", 1)]


def test_imported_ground_truth_is_in_history_and_scored(client, people, project):
    """A GT that arrives by import is an answer-key change like any other: recorded and scored."""
    lead = people["lead"].headers
    items = [{"data": {"image": "a.jpg"}, "annotations": [
        {"result": [box(1, 1, 5, 5)], "ground_truth": True},
        {"result": [box(1, 1, 5, 5)], "completed_by": people["annotator"].id},
    ]}]  # fmt: skip
    (t,) = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true", json=items, headers=lead
    ).json()["task_ids"]
    hist = client.get(
        f"/api/projects/{project['id']}/ground-truth/history?task={t}", headers=lead
    ).json()
    assert [h["action"] for h in hist["results"]] == ["set"]
    rows = client.get(f"/api/projects/{project['id']}/quality/annotators", headers=lead).json()
    assert [(r["email"], r["accuracy"]) for r in rows] == [("annotator@example.com", 1.0)]
