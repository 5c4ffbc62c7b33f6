"""Annotator evaluation (issue #21): settings, manual and automatic pauses, onboarding on GT
tasks, ongoing evaluation, annotation limits, each annotator's standing."""

from __future__ import annotations

from builders import HONEYPOT_GT as GT
from builders import box, honeypots_of, job_aliases, make_job
from builders import honeypot_settings as hp_settings

WRONG = [box(70, 5, 5, 5, "Zebra")]  # matches nothing of HONEYPOT_GT: accuracy 0


def _settings(client, people, pool, **values):
    r = client.patch(
        f"/api/projects/{pool['project']}/evaluation-settings",
        json=values,
        headers=people["lead"].headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _next(client, person, job_id):
    return client.get(f"/api/jobs/{job_id}/next", headers=person.headers)


def _answer(client, person, job_id, task_alias, result):
    return client.post(
        f"/api/tasks/{task_alias}/annotations",
        json={"job": job_id, "result": result},
        headers=person.headers,
    )


def _standing(client, people, pool, who="annotator"):
    r = client.get(f"/api/projects/{pool['project']}/evaluation", headers=people["lead"].headers)
    assert r.status_code == 200, r.text
    return next(x for x in r.json()["results"] if x["user"] == people[who].id)


def _work(client, person, job_id, gt_aliases, gt_result, count):
    """Answer `count` served tasks: `gt_result` on GT tasks (by alias), a box elsewhere; the
    real ids of the served tasks, in order, and the `next` answers."""
    served = []
    for _ in range(count):
        r = _next(client, person, job_id)
        assert r.status_code == 200, r.text
        nxt = r.json()
        alias = nxt["task"]["id"]
        served.append(nxt)
        result = gt_result if alias in gt_aliases() else [box(1, 1, 3, 3)]
        a = _answer(client, person, job_id, alias, result)
        assert a.status_code == 201, a.text
    return served


def test_settings_defaults_bad_values_and_roles(client, people, pool):
    url = f"/api/projects/{pool['project']}/evaluation-settings"
    got = client.get(url, headers=people["lead"].headers).json()
    assert got == {
        "method": "off",
        "onboarding_tasks": 5,
        "min_accuracy": 0.7,
        "use_wilson_lower_bound": False,
        "min_scored": 3,
        "auto_pause": True,
        "annotation_limit": None,
    }
    bad = [
        ({"method": "sometimes"}, "method", "one of off, onboarding, ongoing"),
        ({"onboarding_tasks": -1}, "onboarding_tasks", "0 or more"),
        ({"onboarding_tasks": 2.5}, "onboarding_tasks", "integer"),
        ({"min_accuracy": 1.2}, "min_accuracy", "from 0 to 1"),
        ({"min_accuracy": "high"}, "min_accuracy", "from 0 to 1"),
        ({"use_wilson_lower_bound": "yes"}, "use_wilson_lower_bound", "true or false"),
        ({"min_scored": 0}, "min_scored", "1 or more"),
        ({"auto_pause": 1}, "auto_pause", "true or false"),
        ({"annotation_limit": 0}, "annotation_limit", "null (no limit)"),
        ({"colour": "red"}, "colour", "not an evaluation setting"),
        ({"method": "ongoing", "min_scored": 0}, "min_scored", "1 or more"),
    ]
    for body, field, why in bad:
        r = client.patch(url, json=body, headers=people["lead"].headers)
        assert r.status_code == 400, (body, r.text)
        assert field in r.json()["validation_errors"] and why in r.json()["detail"], r.json()
    assert client.get(url, headers=people["lead"].headers).json() == got  # nothing stored
    ok = _settings(
        client, people, pool, method="onboarding", onboarding_tasks=0, min_accuracy=1,
        use_wilson_lower_bound=True, annotation_limit=40,
    )  # fmt: skip
    assert ok["method"] == "onboarding" and ok["min_accuracy"] == 1.0
    assert ok["annotation_limit"] == 40 and ok["use_wilson_lower_bound"] is True
    assert _settings(client, people, pool, annotation_limit=None)["annotation_limit"] is None
    assert client.get(url, headers=people["reviewer"].headers).status_code == 403
    assert client.patch(url, json={}, headers=people["reviewer"].headers).status_code == 403
    assert client.get(url, headers=people["annotator"].headers).status_code == 403


def test_manual_pause_refuses_work_keeps_reading_and_is_recorded(client, people, pool):
    lead, ann = people["lead"], people["annotator"]
    p = pool["project"]
    hp_settings(client, people, pool, per_job=0)
    job = make_job(client, people, pool, pool["plain"][:3])
    first = _next(client, ann, job["id"]).json()["task"]["id"]
    made = _answer(client, ann, job["id"], first, [box(1, 1, 3, 3)])
    assert made.status_code == 201
    url = f"/api/projects/{p}/members/{ann.id}/pause"
    r = client.post(url, json={"reason": "Boxes far too loose, let us talk."}, headers=lead.headers)
    assert r.status_code == 201, r.text
    pause = r.json()
    assert pause["trigger"] == "manual" and pause["paused_by"] == lead.id and pause["current"]
    again = client.post(url, json={"reason": "twice"}, headers=lead.headers)
    assert again.status_code == 409
    # refused on next and on creating an annotation, with the reason and who paused
    for r in (
        _next(client, ann, job["id"]),
        _answer(client, ann, job["id"], _alias_open(client, job), []),
    ):
        assert r.status_code == 403, r.text
        body = r.json()
        assert body["paused"]["reason"] == "Boxes far too loose, let us talk."
        assert body["paused"]["by"] == lead.email and body["paused"]["since"]
        assert lead.email in body["paused"]["contact"]
        assert "paused" in body["detail"] and "Boxes far too loose" in body["detail"]
    # own work and feedback stay readable
    assert (
        client.get(f"/api/annotations/{made.json()['id']}", headers=ann.headers).status_code == 200
    )
    assert client.get(f"/api/jobs/{job['id']}", headers=ann.headers).status_code == 200
    assert client.get(f"/api/jobs/{job['id']}/feedback", headers=ann.headers).status_code == 200
    assert _standing(client, people, pool)["status"] == "paused"
    # another annotator works on
    assert _next(client, people["annotator2"], make_job(
        client, people, pool, pool["plain"][3:5], who=("annotator2",))["id"]).status_code == 200  # fmt: skip
    r = client.delete(url, headers=lead.headers)
    assert r.status_code == 200 and r.json()["unpaused_by"] == lead.id and not r.json()["current"]
    assert client.delete(url, headers=lead.headers).status_code == 409
    assert _next(client, ann, job["id"]).status_code == 200
    listed = client.get(f"/api/projects/{p}/pauses", headers=lead.headers).json()
    assert listed["count"] == 1 and listed["results"][0]["unpaused_at"]
    assert (
        client.get(f"/api/projects/{p}/pauses?current=true", headers=lead.headers).json()["count"]
        == 0
    )
    assert client.get(f"/api/projects/{p}/pauses?page=2", headers=lead.headers).status_code == 404
    # only annotators are paused; a reason is required
    r = client.post(
        f"/api/projects/{p}/members/{people['reviewer'].id}/pause",
        json={"reason": "no"},
        headers=lead.headers,
    )
    assert r.status_code == 400 and "user" in r.json()["validation_errors"]
    r = client.post(url, json={"reason": "  "}, headers=lead.headers)
    assert r.status_code == 400 and "reason" in r.json()["validation_errors"]
    r = client.post(url, json={"reason": "x"}, headers=people["reviewer"].headers)
    assert r.status_code == 403


def _alias_open(client, job):
    """An alias of the job the annotator has not annotated yet (the last task)."""
    aliases = job_aliases(client, job["id"])
    return aliases[job["task_ids"][-1]]


def test_annotation_limit_holds(client, people, pool):
    ann = people["annotator"]
    hp_settings(client, people, pool, per_job=0)
    _settings(client, people, pool, annotation_limit=2)
    job = make_job(client, people, pool, pool["plain"][:4])
    _work(client, ann, job["id"], lambda: set(), GT, 2)
    r = _next(client, ann, job["id"])
    assert r.status_code == 403 and "annotation limit" in r.json()["detail"]
    r = _answer(client, ann, job["id"], _alias_open(client, job), [box(1, 1, 3, 3)])
    assert r.status_code == 403 and "2 annotations per annotator" in r.json()["detail"]
    assert "paused" not in r.json()
    # leads are not held by it
    r = client.post(
        f"/api/tasks/{pool['plain'][5]}/annotations", json={"result": []},
        headers=people["lead"].headers,
    )  # fmt: skip
    assert r.status_code == 201
    _settings(client, people, pool, annotation_limit=3)
    assert _next(client, ann, job["id"]).status_code == 200


def _onboarding_job(client, people, pool, **values):
    hp_settings(client, people, pool, per_job=0)  # no regular honeypots: only onboarding's
    _settings(client, people, pool, method="onboarding", onboarding_tasks=3, min_scored=3,
              min_accuracy=0.7, **values)  # fmt: skip
    job = make_job(client, people, pool, pool["plain"][:6])
    gt_aliases = lambda: {a for t, a in job_aliases(client, job["id"]).items() if t in pool["gt"]}  # noqa: E731
    return job, gt_aliases


def test_onboarding_serves_gt_tasks_first_looking_like_others(client, people, pool):
    ann = people["annotator"]
    job, gt_aliases = _onboarding_job(client, people, pool)
    assert _standing(client, people, pool)["status"] == "onboarding"
    served = _work(client, ann, job["id"], gt_aliases, GT, 5)
    real = {a: t for t, a in job_aliases(client, job["id"]).items()}
    kinds = [real[n["task"]["id"]] in pool["gt"] for n in served]
    assert kinds == [True, True, True, False, False]
    # the GT tasks are honeypots of the job now, listed by alias like every task
    assert set(honeypots_of(client, people, job["id"])) == {
        real[n["task"]["id"]] for n in served[:3]
    }
    mine = client.get(f"/api/jobs/{job['id']}", headers=ann.headers).json()["task_ids"]
    assert {n["task"]["id"] for n in served} <= set(mine)
    # same keys and value shapes for a GT task and a normal one
    gt_next, plain_next = served[0], served[3]
    assert gt_next.keys() == plain_next.keys()
    assert gt_next["task"].keys() == plain_next["task"].keys()
    for key in gt_next["task"]:
        assert type(gt_next["task"][key]) is type(plain_next["task"][key]), key
    assert gt_next["task"]["id"] > max(pool["plain"] + pool["gt"])  # an alias, not the real id
    as_task = [
        client.get(f"/api/tasks/{n['task']['id']}", headers=ann.headers).json()
        for n in (gt_next, plain_next)
    ]
    assert as_task[0].keys() == as_task[1].keys()
    assert as_task[0]["annotations"][0].keys() == as_task[1]["annotations"][0].keys()
    st = _standing(client, people, pool)
    assert st["status"] == "passed" and st["scored"] == 3 and st["accuracy"] == 1.0
    assert st["interval"][0] < 1.0 <= st["interval"][1]
    # a second annotator onboards on GT tasks too (rotation: least exposed first)
    job2 = make_job(client, people, pool, pool["plain"][6:9], who=("annotator2",))
    first = _next(client, people["annotator2"], job2["id"]).json()["task"]["id"]
    real2 = {a: t for t, a in job_aliases(client, job2["id"]).items()}
    assert real2[first] in pool["gt"] and real2[first] not in {
        real[n["task"]["id"]] for n in served
    }


def test_poor_onboarding_pauses_with_reason_and_score(client, people, pool):
    ann = people["annotator"]
    job, gt_aliases = _onboarding_job(client, people, pool)
    served = _work(client, ann, job["id"], gt_aliases, WRONG, 3)
    assert all(n["task"]["id"] in gt_aliases() for n in served)
    r = _next(client, ann, job["id"])
    assert r.status_code == 403, r.text
    paused = r.json()["paused"]
    assert paused["trigger"] == "auto" and paused["by"] == "automatic evaluation"
    assert paused["score"] == 0.0 and "After onboarding" in paused["reason"]
    assert "0.0%" in paused["reason"] and "70.0%" in paused["reason"]
    r = _answer(client, ann, job["id"], _alias_open(client, job), [box(1, 1, 3, 3)])
    assert r.status_code == 403 and r.json()["paused"]["reason"] == paused["reason"]
    st = _standing(client, people, pool)
    assert st["status"] == "paused" and st["flagged"] and st["scored"] == 3
    rows = client.get(
        f"/api/projects/{pool['project']}/pauses", headers=people["lead"].headers
    ).json()["results"]
    assert [(x["trigger"], x["scored"], x["paused_by"]) for x in rows] == [("auto", 3, None)]
    # the dashboard's scorecard (JSON and CSV) carries the standing, for leads only
    url = f"/api/projects/{pool['project']}/dashboard/annotators"
    row = next(
        r
        for r in client.get(url, headers=people["lead"].headers).json()
        if r["annotator"] == ann.id
    )
    assert (row["evaluation"], row["gt_scored"], row["gt_accuracy"]) == ("paused", 3, 0.0)
    assert row["evaluation_flagged"] is True and row["gt_accuracy_ci"][1] > 0
    csv = client.get(url + "?format=csv", headers=people["lead"].headers).text.splitlines()
    header = csv[0].split(",")
    assert {"evaluation", "evaluation_onboarding", "gt_accuracy", "gt_accuracy_ci"} <= set(header)
    mine = next(line.split(",") for line in csv[1:] if line.startswith(f"{ann.id},"))
    assert mine[header.index("evaluation")] == "paused"
    seen = client.get(url, headers=people["reviewer"].headers).json()
    assert all(r["evaluation"] is None and r["gt_accuracy"] is None for r in seen)
    # a lead unpauses: evaluation does not overrule them
    r = client.delete(
        f"/api/projects/{pool['project']}/members/{ann.id}/pause", headers=people["lead"].headers
    )
    assert r.status_code == 200
    assert _next(client, ann, job["id"]).status_code == 200


def test_onboarding_without_auto_pause_only_flags(client, people, pool):
    ann = people["annotator"]
    job, gt_aliases = _onboarding_job(client, people, pool, auto_pause=False)
    _work(client, ann, job["id"], gt_aliases, WRONG, 3)
    assert _next(client, ann, job["id"]).status_code == 200
    st = _standing(client, people, pool)
    assert st["status"] == "flagged" and st["flagged"] and st["paused"] is None


def test_wilson_lower_bound_needs_more_than_lucky_answers(client, people, pool):
    ann = people["annotator"]
    job, gt_aliases = _onboarding_job(client, people, pool, use_wilson_lower_bound=True)
    _work(client, ann, job["id"], gt_aliases, GT, 3)  # 3 of 3 right: lower bound about 0.44
    r = _next(client, ann, job["id"])
    assert r.status_code == 403 and "Wilson" in r.json()["paused"]["reason"]


def test_ongoing_decline_pauses_only_after_min_scored(client, people, pool):
    ann = people["annotator"]
    hp_settings(client, people, pool, per_job=4)
    _settings(client, people, pool, method="ongoing", min_scored=3, min_accuracy=0.5)
    job = make_job(client, people, pool, pool["plain"][:4])
    hps = set(honeypots_of(client, people, job["id"]))
    aliases = job_aliases(client, job["id"])
    gt_aliases = {aliases[t] for t in hps}
    answered_gt = 0
    while True:
        r = _next(client, ann, job["id"])
        if answered_gt >= 3:
            assert r.status_code == 403, r.text
            assert "Under ongoing evaluation" in r.json()["paused"]["reason"]
            break
        assert r.status_code == 200, (answered_gt, r.text)
        alias = r.json()["task"]["id"]
        is_gt = alias in gt_aliases
        result = WRONG if is_gt else [box(1, 1, 3, 3)]
        assert _answer(client, ann, job["id"], alias, result).status_code == 201
        answered_gt += is_gt
        if answered_gt < 3:
            assert _standing(client, people, pool)["status"] in ("pending", "flagged") and \
                _standing(client, people, pool)["paused"] is None  # fmt: skip
    st = _standing(client, people, pool)
    assert st["status"] == "paused" and st["scored"] == 3 and st["accuracy"] == 0.0


def test_reviewers_are_never_paused_by_evaluation(client, people, pool):
    hp_settings(client, people, pool, per_job=3)
    _settings(client, people, pool, method="ongoing", min_scored=1, min_accuracy=0.9)
    job = make_job(client, people, pool, pool["plain"][:2], who=("reviewer",))
    hps = {
        job_aliases(client, job["id"]).get(t, t) for t in honeypots_of(client, people, job["id"])
    }
    hps |= set(honeypots_of(client, people, job["id"]))
    for _ in range(5):
        r = _next(client, people["reviewer"], job["id"])
        assert r.status_code == 200, r.text
        if r.json()["complete"]:
            break
        t = r.json()["task"]["id"]
        assert _answer(client, people["reviewer"], job["id"], t, WRONG).status_code == 201
    listed = client.get(
        f"/api/projects/{pool['project']}/pauses", headers=people["lead"].headers
    ).json()
    assert listed["count"] == 0


def test_onboarding_counts_across_the_annotators_jobs(client, people, pool):
    """The first N served tasks are GT in whichever of their jobs they ask; one open GT task
    per job at a time; asking again serves the same one."""
    ann = people["annotator"]
    job_a, gt_a = _onboarding_job(client, people, pool)
    job_b = make_job(client, people, pool, pool["plain"][10:14])

    def gt_b():
        return {a for t, a in job_aliases(client, job_b["id"]).items() if t in pool["gt"]}

    served_a = _work(client, ann, job_a["id"], gt_a, GT, 2)
    assert all(n["task"]["id"] in gt_a() for n in served_a)
    first_b = _next(client, ann, job_b["id"]).json()
    assert first_b["task"]["id"] in gt_b()
    assert _next(client, ann, job_b["id"]).json()["task"]["id"] == first_b["task"]["id"]
    assert _standing(client, people, pool)["onboarding"] == {"done": 2, "of": 3}
    served_b = _work(client, ann, job_b["id"], gt_b, GT, 2)
    assert served_b[0]["task"]["id"] == first_b["task"]["id"]
    assert served_b[1]["task"]["id"] not in gt_b()  # the fourth task is normal work
    assert _next(client, ann, job_a["id"]).json()["task"]["id"] not in gt_a()
    got = _standing(client, people, pool)
    assert got["status"] == "passed" and got["onboarding"] is None and got["scored"] == 3
    # GT tasks never repeat for the annotator
    gt_real = [t for t in pool["gt"] if t in job_aliases(client, job_a["id"])]
    gt_real += [t for t in pool["gt"] if t in job_aliases(client, job_b["id"])]
    assert len(gt_real) == len(set(gt_real)) == 3


def test_rejected_work_comes_back_at_the_annotation_limit(client, people, pool):
    """The limit holds new work only: an annotator at the limit still gets her rejected
    annotation back to fix (it used to answer 403 before the rework)."""
    ann = people["annotator"]
    hp_settings(client, people, pool, per_job=0)
    _settings(client, people, pool, annotation_limit=2)
    job = make_job(client, people, pool, pool["plain"][:4])
    served = _work(client, ann, job["id"], lambda: set(), GT, 2)
    mine = client.get(f"/api/tasks/{served[0]['task']['id']}/annotations", headers=ann.headers)
    r = client.post(
        f"/api/annotations/{mine.json()[0]['id']}/reviews",
        json={"action": "reject", "reason": "loose boxes"},
        headers=people["reviewer"].headers,
    )
    assert r.status_code == 201, r.text
    r = _next(client, ann, job["id"])
    assert r.status_code == 200, r.text
    assert r.json()["rework"]["annotation"]["task"] == served[0]["task"]["id"]


def test_onboarding_is_never_served_into_a_shared_job(client, people, pool):
    """A job's honeypots go to all its assignees: an onboarding GT task put into a shared job
    would reach (and reopen the job of) the co-assignee too."""
    job, gt_aliases = _onboarding_job(client, people, pool)
    shared = make_job(client, people, pool, pool["plain"][6:9], who=("annotator", "annotator2"))
    first = _next(client, people["annotator"], shared["id"]).json()["task"]["id"]
    real = {a: t for t, a in job_aliases(client, shared["id"]).items()}
    assert real[first] in pool["plain"] and not honeypots_of(client, people, shared["id"])
    # her own job onboards her as before
    first = _next(client, people["annotator"], job["id"]).json()["task"]["id"]
    assert first in gt_aliases()
