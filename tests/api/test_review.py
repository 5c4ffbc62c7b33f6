"""Review: accept / fix & accept / reject, undo, the review stream and its orders, reviewer
assignment, and the rules around them."""

from __future__ import annotations

import csv
import io

import pytest

from builders import Person, add_member, box, job_aliases


def _import(client, people, project, tasks):
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=tasks,
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["task_ids"]


def _annotate(client, person, task_id, result, **extra):
    r = client.post(
        f"/api/tasks/{task_id}/annotations",
        json={"result": result, **extra},
        headers=person.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _review(client, person, ann_id, action, **body):
    return client.post(
        f"/api/annotations/{ann_id}/reviews",
        json={"action": action, **body},
        headers=person.headers,
    )


@pytest.fixture
def work(client, people, project):
    """Two tasks, each annotated by annotator and annotator2."""
    ids = _import(client, people, project, [{"image": f"{i}.jpg"} for i in range(2)])
    out = {"project": project["id"], "tasks": ids, "a1": {}, "a2": {}}
    for t in ids:
        out["a1"][t] = _annotate(client, people["annotator"], t, [box(10, 10, 10, 10)])
        out["a2"][t] = _annotate(client, people["annotator2"], t, [box(50, 50, 10, 10)])
    return out


@pytest.fixture
def reviewer2(db, client, people, project) -> Person:
    return add_member(db, client, people["lead"], project["id"], "reviewer2", "reviewer")


def _status(client, people, ann_id):
    return client.get(f"/api/annotations/{ann_id}", headers=people["lead"].headers).json()[
        "review_status"
    ]


def test_accept_sets_status_lists_the_review_and_filters_tasks(client, people, work):
    t0, t1 = work["tasks"]
    ann = work["a1"][t0]
    r = _review(client, people["reviewer"], ann, "accept", comment="good")
    assert r.status_code == 201, r.text
    assert r.json()["action"] == "accept" and r.json()["created_by"] == people["reviewer"].id
    assert _status(client, people, ann) == "accepted"
    reviews = client.get(f"/api/annotations/{ann}/reviews", headers=people["lead"].headers).json()
    assert [(x["action"], x["comment"]) for x in reviews] == [("accept", "good")]

    def listed(status):
        r = client.get(
            f"/api/tasks?project={work['project']}&review_status={status}",
            headers=people["lead"].headers,
        )
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["tasks"]]

    assert listed("accepted") == [t0]
    assert listed("rejected") == []
    assert listed("none") == [t0, t1]  # t0 still has annotator2's unreviewed annotation
    bad = client.get(
        f"/api/tasks?project={work['project']}&review_status=great", headers=people["lead"].headers
    )
    assert bad.status_code == 400 and "review_status" in bad.json()["validation_errors"]


def test_fix_accept_stores_a_new_revision_by_the_reviewer_and_keeps_the_original(
    client, people, work
):
    ann = work["a1"][work["tasks"][0]]
    fixed = [box(12, 12, 10, 10, label="Zebra")]
    r = _review(client, people["reviewer"], ann, "fix_accept", result=fixed)
    assert r.status_code == 201, r.text
    assert r.json()["reviewed_revision"] == 1 and r.json()["fixed_revision"] == 2
    now = client.get(f"/api/annotations/{ann}", headers=people["lead"].headers).json()
    assert now["review_status"] == "fixed"
    assert now["result"][0]["value"]["rectanglelabels"] == ["Zebra"]
    assert now["updated_by"] == people["reviewer"].id
    assert now["completed_by"] == people["annotator"].id  # still the annotator's annotation
    revisions = client.get(
        f"/api/annotations/{ann}/revisions", headers=people["lead"].headers
    ).json()
    assert [r["revision"] for r in revisions] == [1, 2]
    assert revisions[0]["result"][0]["value"]["rectanglelabels"] == ["Elephant"]


def test_a_fix_does_not_change_what_the_annotators_work_scores(client, people, project, db):
    """Scores and agreement measure the annotator's own result: a reviewer's (or a lead's)
    fix makes the annotation right but leaves the annotator's accuracy where it was, until
    the annotator changes their work themselves."""
    lead, ann = people["lead"], people["annotator"]
    gt = [box(10, 10, 10, 10)]
    (t,) = _import(client, people, project,
                   [{"data": {"image": "g.jpg"}, "annotations": [{"result": gt, "ground_truth": True}]}])  # fmt: skip
    wrong = _annotate(client, ann, t, [box(60, 60, 10, 10)])
    _annotate(client, people["annotator2"], t, gt)

    def measured():
        rows = client.get(
            f"/api/projects/{project['id']}/quality/annotators", headers=lead.headers
        ).json()
        own = client.get(f"/api/annotations/{wrong}/quality", headers=lead.headers).json()
        agreement = client.get(f"/api/tasks/{t}/agreement", headers=lead.headers).json()
        by_email = {r["email"]: r["accuracy"] for r in rows}
        return by_email[ann.email], own["accuracy"], agreement["agreement"]

    assert measured() == (0.0, 0.0, 0.0)
    r = _review(client, people["reviewer"], wrong, "fix_accept", result=gt)
    assert r.status_code == 201, r.text
    assert client.get(f"/api/annotations/{wrong}", headers=lead.headers).json()["result"][0][
        "value"
    ]["x"] == pytest.approx(10)
    assert measured() == (0.0, 0.0, 0.0)
    # a lead editing someone's annotation is a fix too
    client.patch(f"/api/annotations/{wrong}", json={"result": gt}, headers=lead.headers)
    assert measured() == (0.0, 0.0, 0.0)
    # saving the fixed result unchanged is no edit: no revision, still not the annotator's
    rev = client.get(f"/api/annotations/{wrong}", headers=lead.headers).json()["revision"]
    r = client.patch(f"/api/annotations/{wrong}", json={"result": gt}, headers=ann.headers)
    assert r.status_code == 200 and r.json()["revision"] == rev
    assert measured() == (0.0, 0.0, 0.0)
    # the annotator's own edit is their work again
    mine = [box(10.5, 10, 10, 10)]
    r = client.patch(f"/api/annotations/{wrong}", json={"result": mine}, headers=ann.headers)
    assert r.status_code == 200, r.text
    assert measured() == (1.0, 1.0, 1.0)


def test_undoing_a_fix_after_a_leads_edit_keeps_the_authors_result(client, people, project):
    lead, ann, reviewer = people["lead"], people["annotator"], people["reviewer"]
    gt = [box(10, 10, 10, 10)]
    (t,) = _import(client, people, project,
                   [{"data": {"image": "g.jpg"}, "annotations": [{"result": gt, "ground_truth": True}]}])  # fmt: skip
    a = _annotate(client, ann, t, [box(60, 60, 10, 10)])
    client.patch(f"/api/annotations/{a}", json={"result": gt}, headers=lead.headers)
    r = _review(client, reviewer, a, "fix_accept", result=[box(12, 10, 10, 10)])
    assert r.status_code == 201, r.text
    assert (
        client.post(f"/api/reviews/{r.json()['id']}/undo", headers=reviewer.headers).status_code
        == 200
    )
    body = client.get(f"/api/annotations/{a}", headers=lead.headers).json()
    assert body["result"][0]["value"]["x"] == pytest.approx(10)  # the lead's edit is back
    q = client.get(f"/api/annotations/{a}/quality", headers=lead.headers).json()
    assert q["accuracy"] == 0.0  # still scored on the annotator's own box, not the lead's


def test_undo_of_a_fix_restores_the_reviewed_result(client, people, work):
    ann = work["a1"][work["tasks"][0]]
    review = _review(
        client, people["reviewer"], ann, "fix_accept", result=[box(1, 1, 5, 5, label="Zebra")]
    ).json()
    r = client.post(f"/api/reviews/{review['id']}/undo", headers=people["reviewer"].headers)
    assert r.status_code == 200, r.text
    assert r.json()["undone_by"] == people["reviewer"].id
    now = client.get(f"/api/annotations/{ann}", headers=people["lead"].headers).json()
    assert now["review_status"] == "none"
    assert now["result"][0]["value"]["rectanglelabels"] == ["Elephant"]
    assert now["revision"] == 3
    again = client.post(f"/api/reviews/{review['id']}/undo", headers=people["reviewer"].headers)
    assert again.status_code == 409


def test_undo_of_a_fix_after_a_later_edit_is_refused(client, people, work):
    ann = work["a1"][work["tasks"][0]]
    review = _review(client, people["reviewer"], ann, "fix_accept", result=[box(1, 1, 5, 5)]).json()
    client.patch(
        f"/api/annotations/{ann}",
        json={"result": [box(2, 2, 5, 5)]},
        headers=people["lead"].headers,
    )
    r = client.post(f"/api/reviews/{review['id']}/undo", headers=people["reviewer"].headers)
    assert r.status_code == 409
    assert "changed after the fix" in r.json()["detail"]


def test_undo_by_another_reviewer_is_forbidden_but_a_lead_may(client, people, work, reviewer2):
    ann = work["a1"][work["tasks"][0]]
    review = _review(client, people["reviewer"], ann, "reject", comment="loose boxes").json()
    r = client.post(f"/api/reviews/{review['id']}/undo", headers=reviewer2.headers)
    assert r.status_code == 403
    assert _status(client, people, ann) == "rejected"
    r = client.post(f"/api/reviews/{review['id']}/undo", headers=people["lead"].headers)
    assert r.status_code == 200
    assert _status(client, people, ann) == "none"


def test_status_follows_the_latest_standing_review(client, people, work, reviewer2):
    ann = work["a1"][work["tasks"][0]]
    first = _review(client, people["reviewer"], ann, "accept").json()
    second = _review(client, reviewer2, ann, "reject", comment="no").json()
    assert _status(client, people, ann) == "rejected"
    client.post(f"/api/reviews/{second['id']}/undo", headers=reviewer2.headers)
    assert _status(client, people, ann) == "accepted"
    client.post(f"/api/reviews/{first['id']}/undo", headers=people["reviewer"].headers)
    assert _status(client, people, ann) == "none"


def test_with_rework_off_a_reject_keeps_the_task_out_of_the_queue_until_deleted(
    client, people, project
):
    r = client.patch(
        f"/api/projects/{project['id']}/review-settings",
        json={"reject_returns_to_annotator": False},
        headers=people["lead"].headers,
    )
    assert r.status_code == 200 and r.json()["reject_returns_to_annotator"] is False
    (t,) = _import(client, people, project, [{"image": "q.jpg"}])
    job = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "j", "task_ids": [t], "assignees": [people["annotator"].id]},
        headers=people["lead"].headers,
    ).json()
    t = job_aliases(client, job["id"])[t]  # the id the annotator knows it by
    ann = _annotate(client, people["annotator"], t, [box(1, 1, 5, 5)], job=job["id"])

    def queue():
        return client.get(f"/api/jobs/{job['id']}/next", headers=people["annotator"].headers).json()

    assert queue()["task"] is None
    r = _review(client, people["reviewer"], ann, "reject", comment="wrong species")
    assert r.status_code == 201
    assert queue()["task"] is None  # with the setting off, a reject does not send it back
    mine = client.get(f"/api/annotations/{ann}/reviews", headers=people["annotator"].headers)
    assert mine.status_code == 200 and mine.json()[0]["comment"] == "wrong species"
    client.delete(f"/api/annotations/{ann}", headers=people["annotator"].headers)
    assert queue()["task"]["id"] == t


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"action": "approve"}, 400, "action"),
        ({"action": "fix_accept"}, 400, "result"),
        ({"action": "accept", "result": []}, 400, "result"),
        ({"action": "reject", "comment": 5}, 400, "comment"),
        ({"action": "fix_accept", "result": [box(1, 1, 5, 5, label="Unicorn")]}, 400, None),
    ],
)
def test_bad_review_input_is_refused_and_changes_nothing(client, people, work, body, status, field):
    ann = work["a1"][work["tasks"][0]]
    r = client.post(
        f"/api/annotations/{ann}/reviews", json=body, headers=people["reviewer"].headers
    )
    assert r.status_code == status, r.text
    if field:
        assert field in r.json()["validation_errors"]
    assert _status(client, people, ann) == "none"
    assert (
        client.get(f"/api/annotations/{ann}/reviews", headers=people["lead"].headers).json() == []
    )
    now = client.get(f"/api/annotations/{ann}", headers=people["lead"].headers).json()
    assert now["revision"] == 1


def test_review_of_a_cancelled_own_or_already_reviewed_annotation_is_refused(
    client, people, project, work
):
    (t,) = _import(client, people, project, [{"image": "c.jpg"}])
    cancelled = _annotate(client, people["annotator"], t, [], was_cancelled=True)
    r = _review(client, people["reviewer"], cancelled, "accept")
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    own = _annotate(client, people["reviewer"], t, [box(1, 1, 5, 5)])
    assert _review(client, people["reviewer"], own, "accept").status_code == 403
    ann = work["a1"][work["tasks"][0]]
    assert _review(client, people["reviewer"], ann, "accept").status_code == 201
    again = _review(client, people["reviewer"], ann, "reject")
    assert again.status_code == 409 and "undo" in again.json()["detail"]
    assert _status(client, people, ann) == "accepted"


def test_annotators_cannot_review_nor_see_others_reviews(client, people, work):
    t0 = work["tasks"][0]
    mine, theirs = work["a1"][t0], work["a2"][t0]
    _review(client, people["reviewer"], theirs, "accept")
    assert _review(client, people["annotator"], theirs, "accept").status_code == 403
    r = client.get(f"/api/annotations/{theirs}/reviews", headers=people["annotator"].headers)
    assert r.status_code == 404
    r = client.get(f"/api/annotations/{mine}/reviews", headers=people["annotator"].headers)
    assert r.status_code == 200 and r.json() == []
    r = client.get(
        f"/api/projects/{work['project']}/review/next", headers=people["annotator"].headers
    )
    assert r.status_code == 403


def _assign(client, people, project_id, task_ids, reviewers):
    return client.post(
        f"/api/dm/actions?id=assign_reviewers&project={project_id}",
        json={"selectedItems": {"all": False, "included": task_ids}, "reviewers": reviewers},
        headers=people["lead"].headers,
    )


def test_assigned_reviewers_alone_review_their_tasks(client, people, work, reviewer2):
    t0, t1 = work["tasks"]
    r = _assign(client, people, work["project"], [t0], [reviewer2.id])
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == 1
    again = _assign(client, people, work["project"], [t0, t1], [reviewer2.id])
    assert (again.json()["changed"], again.json()["unchanged"]) == (1, 1)
    # t1 is now assigned to reviewer2 too; take it back off
    gone = client.delete(
        f"/api/tasks/{t1}/reviewers/{reviewer2.id}", headers=people["lead"].headers
    )
    assert gone.status_code == 204
    r = _review(client, people["reviewer"], work["a1"][t0], "accept")
    assert r.status_code == 403 and "assigned to other reviewers" in r.json()["detail"]
    assert _review(client, reviewer2, work["a1"][t0], "accept").status_code == 201
    assert _review(client, people["lead"], work["a2"][t0], "accept").status_code == 201
    assert _review(client, people["reviewer"], work["a1"][t1], "accept").status_code == 201
    who = client.get(f"/api/tasks/{t0}/reviewers", headers=people["lead"].headers).json()
    assert who == {
        "assigned": [reviewer2.id],
        "reviewed": sorted([reviewer2.id, people["lead"].id]),
    }
    # The stream of the unassigned reviewer never offers t0.
    seen = client.get(
        f"/api/projects/{work['project']}/review/next", headers=people["reviewer"].headers
    ).json()
    assert seen["annotation"]["task"] == t1
    assert seen["total"] == 2  # t1's two annotations; t0 is not theirs to review


def test_assigning_non_reviewers_or_by_reviewers_is_refused(client, people, work):
    r = _assign(client, people, work["project"], work["tasks"], [people["annotator"].id])
    assert r.status_code == 400 and "cannot review" in r.json()["detail"]
    r = client.post(
        f"/api/dm/actions?id=assign_reviewers&project={work['project']}",
        json={"selectedItems": {"all": True}, "reviewers": [people["reviewer"].id]},
        headers=people["reviewer"].headers,
    )
    assert r.status_code == 403


def _next(client, person, project_id, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    r = client.get(f"/api/projects/{project_id}/review/next?{query}", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_stream_in_task_order_skips_what_was_reviewed_and_ends(client, people, work):
    p = work["project"]
    t0, t1 = work["tasks"]
    expected = [work["a1"][t0], work["a2"][t0], work["a1"][t1], work["a2"][t1]]
    seen = []
    for i in range(4):
        nxt = _next(client, people["reviewer"], p)
        assert (nxt["remaining"], nxt["reviewed"], nxt["total"]) == (4 - i, i, 4)
        assert nxt["task"]["id"] == nxt["annotation"]["task"]
        seen.append(nxt["annotation"]["id"])
        _review(client, people["reviewer"], seen[-1], "accept")
    assert seen == expected
    end = _next(client, people["reviewer"], p)
    assert end["annotation"] is None and end["remaining"] == 0 and end["reviewed"] == 4


def test_stream_by_annotator_filters_and_subsets(client, people, work):
    p = work["project"]
    t0, t1 = work["tasks"]
    nxt = _next(client, people["reviewer"], p, order="annotator")
    first_author = min(people["annotator"].id, people["annotator2"].id)
    assert nxt["annotation"]["completed_by"] == first_author
    only = _next(client, people["reviewer"], p, annotator=people["annotator2"].id)
    assert only["annotation"]["id"] == work["a2"][t0] and only["total"] == 2
    subset = _next(client, people["reviewer"], p, tasks=f"{t1}")
    assert subset["annotation"]["id"] == work["a1"][t1] and subset["total"] == 2
    r = client.get(
        f"/api/projects/{p}/review/next?order=random", headers=people["reviewer"].headers
    )
    assert r.status_code == 400 and "order" in r.json()["validation_errors"]
    r = client.get(f"/api/projects/{p}/review/next?tasks=a,b", headers=people["reviewer"].headers)
    assert r.status_code == 400


@pytest.fixture
def ordered(client, people, project):
    """Three tasks with GT, a model prediction and two annotators, hand-made so that:
    agreement: t2 (0) < t1 (0.5) < t0 (1); confidence: t1 (0.2) < t2 (0.5) < t0 (0.9);
    annotator accuracy vs GT: t2 (0) < t0 (0.5) < t1 (1)."""
    gt = [box(10, 10, 10, 10), box(50, 50, 10, 10)]
    far = box(80, 80, 5, 5)
    specs = [
        # (annotator's result, annotator2's result, prediction score)
        ([box(10, 10, 10, 10)], [box(10, 10, 10, 10)], 0.9),  # agreement 1, accuracy 0.5
        (gt, [box(10, 10, 10, 10)], 0.2),  # agreement 0.5, accuracy 1
        ([far], [box(50, 50, 10, 10)], 0.5),  # agreement 0, accuracy 0
    ]
    ids = _import(
        client,
        people,
        project,
        [
            {
                "data": {"image": f"o{i}.jpg"},
                "annotations": [{"result": gt, "ground_truth": True}],
                "predictions": [{"result": [], "score": score, "model_version": "m"}],
            }
            for i, (_, _, score) in enumerate(specs)
        ],
    )
    anns = {}
    for t, (mine, theirs, _) in zip(ids, specs, strict=True):
        anns[t] = _annotate(client, people["annotator"], t, mine)
        _annotate(client, people["annotator2"], t, theirs)
    return {"project": project["id"], "tasks": ids, "ann": anns}


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("task", [0, 1, 2]),
        ("agreement", [2, 1, 0]),
        ("confidence", [1, 2, 0]),
        ("accuracy", [2, 0, 1]),
    ],
)
def test_stream_orders_put_the_weakest_first(client, people, ordered, order, expected):
    tasks = ordered["tasks"]
    seen = []
    for _ in range(3):
        nxt = _next(
            client,
            people["reviewer"],
            ordered["project"],
            order=order,
            annotator=people["annotator"].id,
        )
        seen.append(nxt["annotation"]["task"])
        _review(client, people["reviewer"], nxt["annotation"]["id"], "accept")
    assert seen == [tasks[i] for i in expected]


def test_task_agreement_is_kept_current_and_shown(client, people, ordered):
    t0 = ordered["tasks"][0]
    agreement = client.get(f"/api/tasks/{t0}/agreement", headers=people["lead"].headers).json()
    assert agreement["agreement"] == 1.0
    # annotator moves their box away: agreement with annotator2 drops to 0
    client.patch(
        f"/api/annotations/{ordered['ann'][t0]}",
        json={"result": [box(70, 70, 5, 5)]},
        headers=people["annotator"].headers,
    )
    nxt = _next(client, people["reviewer"], ordered["project"], order="agreement")
    assert nxt["annotation"]["task"] in (t0, ordered["tasks"][2])  # both now at 0
    from assay.store.models import Task

    with client.app.state.db.session() as s:
        assert s.get(Task, t0).agreement == 0.0


def test_dashboard_reports_reviews_accuracy_agreement_and_models(client, people, ordered):
    p = ordered["project"]
    for t in ordered["tasks"][:2]:
        _review(client, people["reviewer"], ordered["ann"][t], "accept")
    _review(client, people["reviewer"], ordered["ann"][ordered["tasks"][2]], "reject", comment="x")
    r = client.get(f"/api/projects/{p}/dashboard", headers=people["lead"].headers)
    assert r.status_code == 200, r.text
    d = r.json()
    rows = {row["email"]: row for row in d["annotators"]}
    me = rows["annotator@example.com"]
    assert (me["annotations"], me["reviewed"], me["accepted"], me["rejected"]) == (3, 3, 2, 1)
    assert me["accept_rate"] == pytest.approx(2 / 3, abs=1e-6)
    # tp over t0..t2: 1 + 2 + 0 = 3; fp: 0 + 0 + 1; fn: 1 + 0 + 2 -> 3 / 7
    assert me["accuracy"] == pytest.approx(3 / 7, abs=1e-6)
    low, high = me["accuracy_ci"]
    assert low < 3 / 7 < high
    assert me["agreement"] == pytest.approx(0.5, abs=1e-6)
    assert [a["email"] for a in d["agreement"]["annotators"]] == [
        "annotator@example.com",
        "annotator2@example.com",
    ]
    assert d["agreement"]["matrix"][0][1] == pytest.approx(0.5, abs=1e-6)
    weeks = {s["email"]: s["weeks"] for s in d["accuracy_over_time"]}
    assert sum(w["scored"] for w in weeks["annotator@example.com"]) == 3
    assert "Elephant" in d["confusion"]["labels"]
    assert [m["model_version"] for m in d["models"]] == ["m"]
    csv_r = client.get(
        f"/api/projects/{p}/dashboard/annotators?format=csv", headers=people["lead"].headers
    )
    assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(csv_r.text)))
    assert {row["email"] for row in table} == {"annotator@example.com", "annotator2@example.com"}
    assert "accept_rate" in table[0] and "accuracy_ci" in table[0]
    assert (
        client.get(f"/api/projects/{p}/dashboard", headers=people["annotator"].headers).status_code
        == 403
    )


def test_reviews_never_touch_the_ground_truth(client, people, project):
    """A reviewer's fix & accept of the GT annotation would rewrite the answer key."""
    (t,) = _import(
        client,
        people,
        project,
        [
            {
                "data": {"image": "g.jpg"},
                "annotations": [{"result": [box(1, 1, 5, 5)], "ground_truth": True}],
            }
        ],
    )
    gt = client.get(f"/api/tasks/{t}/annotations", headers=people["lead"].headers).json()[0]
    r = _review(client, people["reviewer"], gt["id"], "fix_accept", result=[box(50, 50, 5, 5)])
    assert r.status_code == 409 and "ground truth" in r.json()["detail"]
    assert _review(client, people["reviewer"], gt["id"], "accept").status_code == 409
    now = client.get(f"/api/annotations/{gt['id']}", headers=people["lead"].headers).json()
    assert now["result"] == gt["result"] and now["review_status"] == "none"


def test_one_standing_review_per_reviewer_even_when_two_requests_race(db, people, work):
    """The check before the insert does not hold between two concurrent requests on
    PostgreSQL; the database refuses the second standing review."""
    from sqlalchemy.exc import IntegrityError

    from assay.store.models import Review

    ann = work["a1"][work["tasks"][0]]
    row = {"annotation_id": ann, "task_id": work["tasks"][0], "project_id": work["project"],
           "reviewer_id": people["reviewer"].id, "action": "accept", "reviewed_revision": 1}  # fmt: skip
    with db.session() as s:
        s.add(Review(**row))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Review(**row))
