"""Consensus in the server: merge as a background job, consensus annotations of their own,
re-run and removal, the adjudication queue, auto-accept as GT, and the rules around them."""

from __future__ import annotations

import pytest

from builders import Person, add_member, box, wait_for_job


def _merge(client, people, project_id, **body):
    lead = people["lead"].headers
    r = client.post(f"/api/projects/{project_id}/consensus/merge", json=body, headers=lead)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, lead, r.json()["id"])
    assert job["status"] == "done", job
    return job["result"]


@pytest.fixture
def third(db, client, people, project) -> Person:
    return add_member(db, client, people["lead"], project["id"], "annotator3", "annotator")


def _task(client, people, project, results_by_person):
    (t,) = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": "x.jpg"}}],
        headers=people["lead"].headers,
    ).json()["task_ids"]
    for person, result in results_by_person:
        r = client.post(
            f"/api/tasks/{t}/annotations", json={"result": result}, headers=person.headers
        )
        assert r.status_code == 201, r.text
    return t


def _consensus(client, people, task_id):
    r = client.get(f"/api/tasks/{task_id}/consensus", headers=people["lead"].headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_missed_box_is_kept_by_the_majority_and_stored_apart(client, people, project, third):
    zebra = box(10, 10, 20, 20, label="Zebra")
    lone = box(60, 60, 10, 10)
    t = _task(
        client, people, project,
        [(people["annotator"], [zebra, lone]), (people["annotator2"], [zebra]), (third, [zebra])],
    )  # fmt: skip
    result = _merge(client, people, project["id"], tasks=[t])
    assert (result["tasks"], result["merged"], result["adjudicate"]) == (1, 1, 0)
    c = _consensus(client, people, t)
    assert c["status"] == "merged" and c["annotators"] == 3
    regions = c["annotation"]["result"]
    assert [r["value"]["rectanglelabels"] for r in regions] == [["Zebra"]]
    assert regions[0]["value"]["x"] == pytest.approx(10)
    assert c["annotation"]["completed_by"] is None
    # the annotators' work is untouched, and the consensus is no annotator's work
    assert len(c["annotations"]) == 3
    assert [len(a["result"]) for a in c["annotations"]] == [2, 1, 1]
    nxt = client.get(
        f"/api/projects/{project['id']}/review/next", headers=people["reviewer"].headers
    ).json()
    assert nxt["total"] == 3


def test_a_tied_label_vote_waits_for_adjudication_and_the_lead_decides(client, people, project):
    t = _task(
        client, people, project,
        [(people["annotator"], [box(10, 10, 20, 20, label="Zebra")]),
         (people["annotator2"], [box(10, 10, 20, 20, label="Elephant")])],
    )  # fmt: skip
    result = _merge(client, people, project["id"])
    assert result["adjudicate"] == 1
    assert _consensus(client, people, t)["tied"] is True
    lead = people["lead"].headers
    nxt = client.get(f"/api/projects/{project['id']}/adjudication/next", headers=lead).json()
    assert nxt["task"]["id"] == t and nxt["remaining"] == 1
    assert len(nxt["consensus"]["annotations"]) == 2
    decided = [box(10, 10, 20, 20, label="Zebra")]
    r = client.post(f"/api/tasks/{t}/adjudicate", json={"result": decided}, headers=lead)
    assert r.status_code == 201, r.text
    assert r.json()["ground_truth"] is True
    assert _consensus(client, people, t)["status"] == "adjudicated"
    done = client.get(f"/api/projects/{project['id']}/adjudication/next", headers=lead).json()
    assert done == {"task": None, "consensus": None, "remaining": 0}
    again = client.post(f"/api/tasks/{t}/adjudicate", json={"result": decided}, headers=lead)
    assert again.status_code == 409


def test_auto_accept_makes_unanimous_consensus_gt_and_says_so(client, people, project, third):
    same = [box(10, 10, 20, 20, label="Zebra")]
    t = _task(
        client, people, project,
        [(people["annotator"], same), (people["annotator2"], same), (third, same)],
    )  # fmt: skip
    off = _merge(client, people, project["id"], tasks=[t])
    assert off["accepted"] == 0  # off by default
    on = _merge(client, people, project["id"], tasks=[t], auto_accept_at=0.9)
    assert on["accepted"] == 1
    c = _consensus(client, people, t)
    assert c["status"] == "accepted" and c["annotation"]["ground_truth"] is True
    history = client.get(
        f"/api/projects/{project['id']}/ground-truth/history?task={t}",
        headers=people["lead"].headers,
    ).json()["results"]
    assert [h["action"] for h in history] == ["consensus"]


def test_rerun_replaces_and_remove_retires_the_consensus_annotation(client, people, project):
    t = _task(
        client, people, project,
        [(people["annotator"], [box(10, 10, 20, 20)]), (people["annotator2"], [box(11, 10, 20, 20)])],
    )  # fmt: skip
    _merge(client, people, project["id"], tasks=[t])
    first = _consensus(client, people, t)["annotation"]["id"]
    _merge(client, people, project["id"], tasks=[t], quorum=1.0)
    second = _consensus(client, people, t)["annotation"]["id"]
    assert second != first
    lead = people["lead"].headers
    assert client.get(f"/api/annotations/{first}", headers=lead).status_code == 404  # retired
    assert client.get(f"/api/annotations/{first}/revisions", headers=lead).status_code == 404
    r = client.delete(f"/api/tasks/{t}/consensus", headers=lead)
    assert r.status_code == 204
    assert _consensus(client, people, t)["status"] is None
    assert client.get(f"/api/annotations/{second}", headers=lead).status_code == 404
    assert client.delete(f"/api/tasks/{t}/consensus", headers=lead).status_code == 404


@pytest.mark.parametrize("weighting", ["accuracy", "dawid_skene"])
def test_reliability_weightings_run_in_the_server(client, people, project, weighting):
    t = _task(
        client, people, project,
        [(people["annotator"], [box(10, 10, 20, 20)]), (people["annotator2"], [box(10, 10, 20, 20)])],
    )  # fmt: skip
    result = _merge(client, people, project["id"], tasks=[t], weighting=weighting)
    assert result["merged"] + result["adjudicate"] == 1
    assert result["settings"]["weighting"] == weighting


def test_weights_are_estimated_once_over_the_whole_merge_not_per_batch(
    client, people, project, third, monkeypatch
):
    """annotator3 mislabels every shared box, which only the whole project shows; the last
    task has just annotator and annotator3. Merged one task per batch, that task must still
    follow the weights learnt from the others (a per-batch estimate sees a 1-1 tie)."""
    from assay.services import consensus

    for module in (consensus.merge, consensus.weights):  # tasks per batch
        monkeypatch.setattr(module, "CHUNK", 1)
    zebra, elephant = box(10, 10, 20, 20, label="Zebra"), box(10, 10, 20, 20)
    for _ in range(4):
        _task(client, people, project,
              [(people["annotator"], [zebra]), (people["annotator2"], [zebra]), (third, [elephant])])  # fmt: skip
    last = _task(client, people, project, [(people["annotator"], [zebra]), (third, [elephant])])
    result = _merge(client, people, project["id"], weighting="dawid_skene")
    assert result["merged"] == 5
    c = _consensus(client, people, last)
    assert c["tied"] is False
    assert [r["value"]["rectanglelabels"] for r in c["annotation"]["result"]] == [["Zebra"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quorum": 1.5}, "quorum"),
        ({"quorum": 0}, "quorum"),
        ({"iou_threshold": -1}, "iou_threshold"),
        ({"weighting": "magic"}, "weighting"),
        ({"tasks": [1], "job": 1}, "tasks"),
        ({"tasks": "all"}, "tasks"),
        ({"tasks": [999999]}, "tasks"),
        ({"job": 424242}, "job"),
        ({"auto_accept_at": 2}, "auto_accept_at"),
    ],
)
def test_bad_merge_requests_are_refused(client, people, project, body, field):
    _task(client, people, project, [(people["annotator"], [box(1, 1, 5, 5)])])
    r = client.post(
        f"/api/projects/{project['id']}/consensus/merge", json=body, headers=people["lead"].headers
    )
    assert r.status_code == 400, r.text
    assert field in r.json()["validation_errors"]


def test_roles(client, people, project):
    t = _task(
        client, people, project,
        [(people["annotator"], [box(1, 1, 5, 5)]), (people["annotator2"], [box(1, 1, 5, 5)])],
    )  # fmt: skip
    for who in ("reviewer", "annotator"):
        h = people[who].headers
        r = client.post(f"/api/projects/{project['id']}/consensus/merge", json={}, headers=h)
        assert r.status_code == 403, who
        assert (
            client.get(f"/api/projects/{project['id']}/adjudication/next", headers=h).status_code
            == 403
        )
        assert (
            client.post(f"/api/tasks/{t}/adjudicate", json={"result": []}, headers=h).status_code
            == 403
        )
    assert (
        client.get(f"/api/tasks/{t}/consensus", headers=people["reviewer"].headers).status_code
        == 200
    )
    assert (
        client.get(f"/api/tasks/{t}/consensus", headers=people["annotator"].headers).status_code
        == 403
    )


CHOICES_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <Choices name="species" toName="image">
    <Choice value="Zebra"/><Choice value="Elephant"/><Choice value="Empty"/>
  </Choices>
</View>"""


def _choice(value):
    return {"from_name": "species", "to_name": "image", "type": "choices",
            "value": {"choices": [value]}}  # fmt: skip


@pytest.fixture
def classes(client, people, project, third):
    """A classification project with the three annotators as members."""
    lead = people["lead"].headers
    pid = client.post(
        "/api/projects", json={"title": "classes", "label_config": CHOICES_CONFIG}, headers=lead
    ).json()["id"]
    for person in (people["annotator"], people["annotator2"], third):
        client.post(f"/api/projects/{pid}/members", json={"user": person.id}, headers=lead)
    return {"id": pid}


def test_classification_tasks_merge_by_majority_and_ties_wait(client, people, classes, third):
    a, b = people["annotator"], people["annotator2"]
    majority = _task(
        client, people, classes,
        [(a, [_choice("Zebra")]), (b, [_choice("Zebra")]), (third, [_choice("Elephant")])],
    )  # fmt: skip
    tie = _task(client, people, classes, [(a, [_choice("Zebra")]), (b, [_choice("Empty")])])
    same = _task(
        client, people, classes,
        [(a, [_choice("Empty")]), (b, [_choice("Empty")]), (third, [_choice("Empty")])],
    )  # fmt: skip
    result = _merge(client, people, classes["id"], auto_accept_at=1.0)
    assert (result["merged"], result["adjudicate"], result["accepted"]) == (1, 1, 1)
    c = _consensus(client, people, majority)
    assert c["status"] == "merged"
    assert c["agreement"] == pytest.approx(2 / 3, abs=1e-6)
    assert c["annotation"]["result"] == [_choice("Zebra")]
    assert _consensus(client, people, tie)["tied"] is True
    accepted = _consensus(client, people, same)
    assert accepted["status"] == "accepted" and accepted["annotation"]["ground_truth"] is True


def test_dawid_skene_choices_learn_from_every_batch(client, people, classes, third, monkeypatch):
    from assay.services import consensus

    for module in (consensus.merge, consensus.weights):  # tasks per batch
        monkeypatch.setattr(module, "CHUNK", 1)
    a, b = people["annotator"], people["annotator2"]
    for _ in range(4):
        _task(client, people, classes,
              [(a, [_choice("Zebra")]), (b, [_choice("Zebra")]), (third, [_choice("Elephant")])])  # fmt: skip
    last = _task(client, people, classes, [(a, [_choice("Zebra")]), (third, [_choice("Elephant")])])
    result = _merge(client, people, classes["id"], weighting="dawid_skene")
    assert result["merged"] == 5
    c = _consensus(client, people, last)
    assert c["tied"] is False and c["annotation"]["result"] == [_choice("Zebra")]
