"""GET /api/projects/{id}/ground-truth/suspects and confirm / dismiss over HTTP: the ranked
list with its evidence (annotators and the model), the errors' shape, the GT history's note."""

from __future__ import annotations

from builders import annotate, box, survey

RATERS = ("annotator", "annotator2", "reviewer")


def _project(db, people, client):
    """Task 0's GT calls region b an Elephant where three annotators and the model see a
    Zebra; task 1's GT is right."""
    pid, ids = survey(db, people, 2)
    truth = [box(10, 10, 10, 10, "Elephant", id="a"), box(40, 10, 10, 10, "Zebra", id="b")]
    wrong = [truth[0], box(40, 10, 10, 10, "Elephant", id="b")]
    for i, t in enumerate(ids):
        annotate(db, people["lead"], t, wrong if i == 0 else truth, gt=True)
        for who in RATERS:
            annotate(db, people[who], t, [dict(r, id=f"{who}{r['id']}") for r in truth])
        pred = [  # the model is a little off, as models are
            box(r["value"]["x"] + 0.4, r["value"]["y"] + 0.3, 10, 9.6,
                r["value"]["rectanglelabels"][0], score=0.99)
            for r in truth + [box(70, 70, 10, 10, "Giraffe")] * (i == 1)
        ]  # fmt: skip
        r = client.post("/api/predictions", json={"task": t, "result": pred,
                        "model_version": "m1"}, headers=people["lead"].headers)  # fmt: skip
        assert r.status_code == 201, r.text
    return pid, ids


def test_lead_sees_ranked_suspects_with_annotator_and_model_evidence(db, people, client):
    pid, ids = _project(db, people, client)
    r = client.get(f"/api/projects/{pid}/ground-truth/suspects", headers=people["reviewer"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 1 and body["results"][0]["task"] == ids[0]
    top = body["results"][0]["suspects"][0]
    assert (top["kind"], top["region"]) == ("swapped", "b")
    assert top["annotator_score"] == 1.0 and top["model_score"] is not None
    assert top["evidence"]["model"]["model_version"] == "m1"
    assert {a["email"] for a in top["evidence"]["annotators"]} == {people[w].email for w in RATERS}
    assert {a["label"] for a in top["evidence"]["annotators"]} == {"Zebra"}
    r = client.get(
        f"/api/projects/{pid}/ground-truth/suspects", headers=people["annotator"].headers
    )
    assert r.status_code == 403
    r = client.get(
        f"/api/projects/{pid}/ground-truth/suspects?page=2", headers=people["lead"].headers
    )
    assert r.status_code == 404 and r.json()["detail"] == "Invalid page."


def test_dismiss_needs_a_reason_and_refuses_unknown_fields(db, people, client):
    pid, _ = _project(db, people, client)
    lead = people["lead"].headers
    key = client.get(f"/api/projects/{pid}/ground-truth/suspects", headers=lead).json()[
        "results"][0]["suspects"][0]["key"]  # fmt: skip
    url = f"/api/projects/{pid}/ground-truth/suspects/{key}"
    r = client.post(f"{url}/dismiss", json={}, headers=lead)
    assert r.status_code == 400 and "reason" in r.json()["validation_errors"]
    r = client.post(f"{url}/dismiss", json={"reason": "x", "label": "y"}, headers=lead)
    assert r.status_code == 400 and "label" in r.json()["validation_errors"]
    r = client.post(f"{url}/dismiss", json={"reason": "The GT is right"}, headers=lead)
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "dismissed" and r.json()["decided_by"] == people["lead"].id
    listed = client.get(f"/api/projects/{pid}/ground-truth/suspects", headers=lead).json()
    assert key not in {s["key"] for t in listed["results"] for s in t["suspects"]}
    decided = client.get(f"/api/projects/{pid}/ground-truth/suspects/decisions", headers=lead)
    assert [d["key"] for d in decided.json()["results"]] == [key]


def test_confirm_fixes_the_gt_and_the_history_says_why(db, people, client):
    pid, ids = _project(db, people, client)
    lead = people["lead"].headers
    key = client.get(f"/api/projects/{pid}/ground-truth/suspects", headers=lead).json()[
        "results"][0]["suspects"][0]["key"]  # fmt: skip
    r = client.post(
        f"/api/projects/{pid}/ground-truth/suspects/{key}/confirm",
        json={"reason": "zebra stripes"}, headers=lead,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "confirmed" and r.json()["gt_revision"] == 2
    gt = client.get(f"/api/annotations/{r.json()['gt_annotation']}", headers=lead).json()
    assert [x["value"]["rectanglelabels"] for x in gt["result"]] == [["Elephant"], ["Zebra"]]
    history = client.get(
        f"/api/projects/{pid}/ground-truth/history?task={ids[0]}", headers=lead
    ).json()["results"]
    assert any(h["note"] == "suspect confirmed: swapped region b: zebra stripes" for h in history)
    listed = client.get(f"/api/projects/{pid}/ground-truth/suspects", headers=lead).json()
    assert listed["count"] == 0
