"""The annotate page (`/jobs/{id}/annotate`): the links to it from My work and the jobs page,
who may open it, what it gives its JS, and that nothing it or its requests carry tells a
honeypot from another task; plus the skip reason the page sends."""

from __future__ import annotations

import json
import re

from builders import box, honeypot_settings, honeypots_of, job_aliases, log_in, make_job

CONFIG_RE = re.compile(r'<script id="an-config" type="application/json">(.*?)</script>', re.S)


def _payload(html: str) -> dict:
    match = CONFIG_RE.search(html)
    assert match, "the page has no editor config"
    return json.loads(match.group(1))


def _job_with_honeypots(client, people, pool) -> tuple[dict, set[int]]:
    honeypot_settings(client, people, pool, per_job=2, max_attempts=3)
    job = make_job(client, people, pool, pool["plain"][:3])
    return job, set(honeypots_of(client, people, job["id"]))


def test_my_work_and_jobs_page_link_to_the_annotate_page(client, people, pool):
    job, _ = _job_with_honeypots(client, people, pool)
    log_in(client, people["annotator"])
    url = f"/jobs/{job['id']}/annotate"
    me = client.get("/me").text
    assert f'<a class="button annotate-link" href="{url}">Start</a>' in me
    jobs_page = client.get(f"/projects/{pool['project']}/jobs").text
    assert f'href="{url}">Start</a>' in jobs_page
    # after one task it says Continue
    nxt = client.get(f"/api/jobs/{job['id']}/next").json()
    r = client.post(
        f"/api/tasks/{nxt['task']['id']}/annotations",
        json={"job": job["id"], "result": [box(1, 1, 3, 3)]},
        headers={"X-CSRFToken": _csrf(client)},
    )
    assert r.status_code == 201, r.text
    assert f'href="{url}">Continue</a>' in client.get("/me").text


def _csrf(client) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/me").text).group(1)


def test_the_page_gives_its_js_what_it_needs(client, people, pool):
    job, _ = _job_with_honeypots(client, people, pool)
    log_in(client, people["annotator"])
    r = client.get(f"/jobs/{job['id']}/annotate")
    assert r.status_code == 200
    cfg = _payload(r.text)
    assert cfg["job"] == {"id": job["id"], "title": "j"}
    assert cfg["me"] == people["annotator"].id
    assert cfg["total"] == 5 and cfg["worked_on"] == []
    assert cfg["control"]["from_name"] and [lab["name"] for lab in cfg["labels"]]
    assert cfg["urls"]["next"] == f"/api/jobs/{job['id']}/next"
    assert cfg["urls"]["submit"] == f"/api/jobs/{job['id']}/submit"
    assert 'id="an-submit"' in r.text and 'id="an-skip-form"' in r.text
    text = r.text.lower()
    assert "honeypot" not in text and "ground_truth" not in text and "gt_status" not in text


def test_only_assignees_open_the_page(client, people, pool):
    job, _ = _job_with_honeypots(client, people, pool)
    url = f"/jobs/{job['id']}/annotate"
    log_in(client, people["annotator2"])  # a member, not assigned: the job does not exist for them
    r = client.get(url)
    assert r.status_code == 404 and "Not found" in r.text
    for key in ("lead", "reviewer", "admin"):  # they see the job, but do not annotate it
        log_in(client, people[key])
        r = client.get(url)
        assert r.status_code == 403, key
        assert "Not allowed" in r.text and "Only the people assigned" in r.text
        assert "an-config" not in r.text
    client.cookies.clear()
    r = client.get(url, follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


def test_a_honeypot_looks_like_any_task(client, people, pool):
    """Walk the queue: every answer of `next` and of the task has the same keys, and the page
    itself (reloaded at each task) is the same but for the tasks worked on."""
    job, hp = _job_with_honeypots(client, people, pool)
    hp = {job_aliases(client, job["id"])[t] for t in hp}  # as the annotator knows them
    ann = people["annotator"]
    log_in(client, ann)
    url = f"/jobs/{job['id']}/annotate"
    seen: dict[bool, tuple] = {}
    pages: dict[bool, str] = {}
    while True:
        page = client.get(url).text
        nxt = client.get(f"/api/jobs/{job['id']}/next", headers=ann.headers).json()
        if nxt["complete"]:
            break
        t = nxt["task"]["id"]
        task = client.get(f"/api/tasks/{t}", headers=ann.headers).json()
        shape = (sorted(nxt), sorted(nxt["task"]), sorted(task))
        seen.setdefault(t in hp, shape)
        assert shape == next(iter(seen.values()))
        pages.setdefault(t in hp, re.sub(r'"worked_on": \[[^\]]*\]', "", page))
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"job": job["id"], "result": [box(1, 1, 3, 3)]},
            headers=ann.headers,
        )
        assert r.status_code == 201
        assert sorted(r.json()) == sorted(
            client.get(f"/api/annotations/{r.json()['id']}", headers=ann.headers).json()
        )
    assert set(seen) == {True, False}
    assert pages[True] == pages[False]
    cfg = _payload(client.get(url).text)
    assert len(cfg["worked_on"]) == 5 and hp <= set(cfg["worked_on"])


def test_a_skip_keeps_its_reason(client, people, pool):
    job, _ = _job_with_honeypots(client, people, pool)
    ann = people["annotator"]
    t = client.get(f"/api/jobs/{job['id']}/next", headers=ann.headers).json()["task"]["id"]
    body = {"job": job["id"], "result": [], "was_cancelled": True, "skip_reason": " blurry "}
    r = client.post(f"/api/tasks/{t}/annotations", json=body, headers=ann.headers)
    assert r.status_code == 201, r.text
    assert (r.json()["was_cancelled"], r.json()["skip_reason"]) == (True, "blurry")
    # a skip leaves the queue like an annotation; submitting it clears the reason
    assert client.get(f"/api/jobs/{job['id']}/next", headers=ann.headers).json()["task"]["id"] != t
    r = client.patch(
        f"/api/annotations/{r.json()['id']}",
        json={"result": [box(1, 1, 3, 3)], "was_cancelled": False, "skip_reason": None},
        headers=ann.headers,
    )
    assert (r.json()["was_cancelled"], r.json()["skip_reason"]) == (False, None)
    # a reason needs a skip, and is short text
    t2 = client.get(f"/api/jobs/{job['id']}/next", headers=ann.headers).json()["task"]["id"]
    for bad in ({"skip_reason": "x"}, {"was_cancelled": True, "skip_reason": "x" * 501}):
        r = client.post(
            f"/api/tasks/{t2}/annotations", json={"job": job["id"], **bad}, headers=ann.headers
        )
        assert r.status_code == 400 and "skip_reason" in r.json()["validation_errors"]
