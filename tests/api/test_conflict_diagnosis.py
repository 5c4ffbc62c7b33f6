"""Conflict diagnosis: annotators' conflicts with GT grouped so that a repeated conflict (a
specification ambiguity or a GT error) stands apart from one annotator's misunderstanding, and
leads' decisions on the groups."""

from __future__ import annotations

import csv
import io

import pytest

from assay.services import users
from builders import Person, box

REPEATS = "repeats across annotators: likely a specification ambiguity or a GT error"
ONE = "one annotator: likely a misunderstanding"
GT = [box(10, 10, 10, 10, id="e"), box(40, 40, 10, 10, label="Zebra", id="z")]
SWAPPED = [box(10, 10, 10, 10, label="Zebra", id="e"), box(40, 40, 10, 10, label="Zebra", id="z")]
MISSED = [box(10, 10, 10, 10, id="e")]


@pytest.fixture
def seeded(client, db, people, project):
    """Four tasks with GT, three annotators on each: on the two "north" tasks annotator and
    annotator2 both call the Elephant a Zebra; on the two "south" tasks annotator3 alone
    misses the Zebra."""
    lead = people["lead"].headers
    with db.session() as s:
        user, token = users.create_user(
            s, "annotator3@example.com", "annotator", password="annotator3-password"
        )
        people["annotator3"] = Person(
            user.id, user.email, "annotator", token, "annotator3-password"
        )
    r = client.post(f"/api/projects/{project['id']}/members", json={"user": user.id}, headers=lead)
    assert r.status_code == 201, r.text
    sites = ["north", "north", "south", "south"]
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[
            {
                "data": {"image": f"{i}.jpg", "site": site},
                "annotations": [{"result": GT, "ground_truth": True}],
            }
            for i, site in enumerate(sites)
        ],
        headers=lead,
    ).json()["task_ids"]
    made = {}
    for t, site in zip(ids, sites, strict=True):
        for who in ("annotator", "annotator2", "annotator3"):
            result = GT
            if site == "north" and who != "annotator3":
                result = SWAPPED
            if site == "south" and who == "annotator3":
                result = MISSED
            r = client.post(
                f"/api/tasks/{t}/annotations", json={"result": result}, headers=people[who].headers
            )
            assert r.status_code == 201, r.text
            made[(t, who)] = r.json()["id"]
    return {"project": project["id"], "tasks": ids, "annotations": made}


def _groups(client, person, pid, **params):
    r = client.get(
        f"/api/projects/{pid}/quality/conflict-groups", params=params, headers=person.headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_repeated_swap_reads_as_ambiguity_and_a_lone_miss_as_misunderstanding(
    client, people, seeded
):
    body = _groups(client, people["lead"], seeded["project"])
    assert body["count"] == 2
    swap, miss = body["results"]
    assert (swap["kind"], swap["gt_label"], swap["label"]) == (
        "label_mismatch",
        "Elephant",
        "Zebra",
    )
    assert (swap["count"], swap["annotators"], swap["tasks"], swap["annotators_on_tasks"]) == (
        4,
        2,
        2,
        3,
    )
    assert swap["spread"] == pytest.approx(2 / 3, abs=1e-4)
    assert swap["reading"] == REPEATS
    assert (miss["kind"], miss["gt_label"], miss["label"]) == ("missing", "Zebra", None)
    assert (miss["count"], miss["annotators"], miss["tasks"]) == (2, 1, 2)
    assert miss["spread"] == pytest.approx(1 / 3, abs=1e-4)
    assert miss["reading"] == ONE
    assert len(swap["examples"]) == 4
    north = set(seeded["tasks"][:2])
    assert {e["task"] for e in swap["examples"]} == north
    first = swap["examples"][0]
    assert first["annotation"] in seeded["annotations"].values()
    assert (first["region"], first["gt_region"]) == ("e", "e")
    assert swap["decision"] is None


def test_grouped_by_annotator_and_by_scene(client, people, seeded):
    pid = seeded["project"]
    by_person = _groups(client, people["lead"], pid, by="annotator")["results"]
    assert {(g["annotator"], g["count"], tuple(g["kinds"])) for g in by_person} == {
        (people["annotator"].id, 2, ("label_mismatch",)),
        (people["annotator2"].id, 2, ("label_mismatch",)),
        (people["annotator3"].id, 2, ("missing",)),
    }
    assert {g["reading"] for g in by_person} == {ONE}
    scenes = _groups(client, people["reviewer"], pid, by="data_field", field="site")["results"]
    assert [(g["value"], g["count"], g["annotators"], g["reading"]) for g in scenes] == [
        ("north", 4, 2, REPEATS),
        ("south", 2, 1, ONE),
    ]
    only = _groups(client, people["lead"], pid, kind="missing")["results"]
    assert [g["kind"] for g in only] == ["missing"]
    mine = _groups(client, people["lead"], pid, annotator=people["annotator"].id)["results"]
    assert [(g["count"], g["annotators"]) for g in mine] == [(2, 1)]
    assert mine[0]["key"].endswith(f"?annotator={people['annotator'].id}")
    zebra_only = _groups(client, people["lead"], pid, by="annotator", label="Elephant")
    assert {g["annotator"] for g in zebra_only["results"]} == {
        people["annotator"].id,
        people["annotator2"].id,
    }


def test_csv_and_pages(client, people, seeded):
    pid = seeded["project"]
    r = client.get(
        f"/api/projects/{pid}/quality/conflict-groups?format=csv", headers=people["lead"].headers
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["kind"], row["count"], row["reading"]) for row in rows] == [
        ("label_mismatch", "4", REPEATS),
        ("missing", "2", ONE),
    ]
    page2 = _groups(client, people["lead"], pid, page=2, page_size=1)
    assert page2["count"] == 2 and page2["results"][0]["kind"] == "missing"
    r = client.get(
        f"/api/projects/{pid}/quality/conflict-groups?page=3&page_size=1",
        headers=people["lead"].headers,
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("by=scene", "by"),
        ("by=data_field", "field"),
        ("by=annotator&field=site", "field"),
        ("kind=wrong", "kind"),
        ("format=xml", "format"),
    ],
)
def test_bad_queries_are_refused_naming_the_parameter(client, people, seeded, query, field):
    r = client.get(
        f"/api/projects/{seeded['project']}/quality/conflict-groups?{query}",
        headers=people["lead"].headers,
    )
    assert r.status_code == 400, r.text
    assert field in r.json()["validation_errors"]


def test_decisions_are_recorded_shown_on_their_group_and_listed(client, people, seeded):
    pid = seeded["project"]
    lead = people["lead"]
    swap, miss = _groups(client, lead, pid)["results"]
    url = f"/api/projects/{pid}/quality/conflict-decisions"
    r = client.post(
        url,
        json={"group": swap["key"], "decision": "guideline_issue", "note": "spec unclear"},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["group"], made["decision"], made["note"], made["decided_by"]) == (
        swap["key"],
        "guideline_issue",
        "spec unclear",
        lead.id,
    )
    assert len(made["conflicts"]) == 4 and made["tasks"] == sorted(seeded["tasks"][:2])
    r = client.post(
        url, json={"group": swap["key"], "decision": "gt_error"}, headers=people["admin"].headers
    )
    assert r.status_code == 201, r.text
    r = client.post(
        url, json={"group": miss["key"], "decision": "training_need"}, headers=lead.headers
    )
    assert r.status_code == 201, r.text
    swap2, miss2 = _groups(client, people["reviewer"], pid)["results"]
    assert (swap2["decision"], swap2["decided_by"]) == ("gt_error", people["admin"].id)
    assert swap2["decided_at"]
    assert miss2["decision"] == "training_need"
    listed = client.get(url, headers=people["reviewer"].headers).json()
    assert listed["count"] == 3
    assert [d["decision"] for d in listed["results"]] == [
        "training_need",
        "gt_error",
        "guideline_issue",
    ]

    # annotator2 fixes one swapped box: the group's conflicts change, the decision no longer
    # stands on it (it stays in the list)
    t = seeded["tasks"][0]
    ann = seeded["annotations"][(t, "annotator2")]
    r = client.patch(
        f"/api/annotations/{ann}", json={"result": GT}, headers=people["annotator2"].headers
    )
    assert r.status_code == 200, r.text
    swap3 = _groups(client, lead, pid)["results"][0]
    assert (swap3["key"], swap3["count"], swap3["decision"]) == (swap["key"], 3, None)
    assert client.get(url, headers=lead.headers).json()["count"] == 3


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"group": "label_pair/missing/Zebra/", "decision": "maybe"}, 400, "decision"),
        ({"group": "scene/x", "decision": "gt_error"}, 400, "group"),
        ({"decision": "gt_error"}, 400, "group"),
        ({"group": "label_pair/missing/Zebra/", "decision": "gt_error", "x": 1}, 400, "x"),
        ({"group": "label_pair/extra//Giraffe", "decision": "gt_error"}, 404, None),
    ],
)
def test_bad_decisions_are_refused(client, people, seeded, body, status, field):
    r = client.post(
        f"/api/projects/{seeded['project']}/quality/conflict-decisions",
        json=body,
        headers=people["lead"].headers,
    )
    assert r.status_code == status, r.text
    if field:
        assert field in r.json()["validation_errors"]


def test_annotators_see_no_groups_and_reviewers_decide_nothing(client, people, seeded):
    pid = seeded["project"]
    r = client.get(
        f"/api/projects/{pid}/quality/conflict-groups", headers=people["annotator"].headers
    )
    assert r.status_code == 403
    r = client.get(
        f"/api/projects/{pid}/quality/conflict-decisions", headers=people["annotator"].headers
    )
    assert r.status_code == 403
    key = _groups(client, people["lead"], pid)["results"][0]["key"]
    for who in ("reviewer", "annotator"):
        r = client.post(
            f"/api/projects/{pid}/quality/conflict-decisions",
            json={"group": key, "decision": "gt_error"},
            headers=people[who].headers,
        )
        assert r.status_code == 403, r.text


def test_a_decision_on_a_filtered_group_stays_with_that_filter(client, people, seeded):
    """A filter that leaves part of a group out is part of its key: the decision on
    annotator's own swaps is not shown on the group of both annotators' swaps."""
    pid, lead = seeded["project"], people["lead"]
    mine = _groups(client, lead, pid, annotator=people["annotator"].id)["results"][0]
    r = client.post(
        f"/api/projects/{pid}/quality/conflict-decisions",
        json={"group": mine["key"], "decision": "training_need"},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["conflicts"]) == 2
    again = _groups(client, lead, pid, annotator=people["annotator"].id)["results"][0]
    assert again["decision"] == "training_need"
    assert _groups(client, lead, pid)["results"][0]["decision"] is None


def test_tasks_without_the_data_field_form_their_own_group(client, people, seeded):
    scenes = _groups(client, people["lead"], seeded["project"], by="data_field", field="camera")
    assert [(g["value"], g["count"]) for g in scenes["results"]] == [(None, 6)]


def test_a_gt_error_decision_lists_its_tasks_among_the_gt_suspects(client, people, seeded):
    """The swap repeated on the two north tasks, decided "GT error": both tasks are GT
    suspects, first, with the decision as evidence; dismissed through the API, gone."""
    pid, lead = seeded["project"], people["lead"].headers
    swap = _groups(client, people["lead"], pid)["results"][0]
    r = client.post(
        f"/api/projects/{pid}/quality/conflict-decisions",
        json={"group": swap["key"], "decision": "gt_error", "note": "these are zebras"},
        headers=lead,
    )
    assert r.status_code == 201, r.text
    url = f"/api/projects/{pid}/ground-truth/suspects"
    body = client.get(url, headers=lead).json()
    north = seeded["tasks"][:2]
    listed = [(t["task"], s["kind"]) for t in body["results"] for s in t["suspects"]]
    assert [x for x in listed if x[1] == "gt_error"] == [
        (north[0], "gt_error"),
        (north[1], "gt_error"),
    ]
    assert [t["task"] for t in body["results"][:2]] == north  # ranked first
    first = next(s for s in body["results"][0]["suspects"] if s["kind"] == "gt_error")
    [said] = first["evidence"]["reviewer_decisions"]
    assert (said["note"], said["group"], said["gt_regions"]) == (
        "these are zebras",
        swap["key"],
        ["e"],
    )
    r = client.post(f"{url}/{first['key']}/dismiss", json={"reason": "GT is right"}, headers=lead)
    assert r.status_code == 200, r.text
    again = client.get(url, headers=lead).json()["results"]
    assert [t["task"] for t in again for s in t["suspects"] if s["kind"] == "gt_error"] == [
        north[1]
    ]
    assert client.get(url, headers=people["annotator"].headers).status_code == 403
