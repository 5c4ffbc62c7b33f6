"""Issue #16 H2, check 5: an annotator who reads everything the server shows them cannot tell
the honeypots of their jobs from the other tasks.

The project is seeded as a lab would: a first import (`batch1/IMG_0001.png`, ...) whose tasks
got GT and went into the honeypot pool a month ago, then a later import with other file names
(`survey-2026-12/frame-00001.png`, ...) handed out in jobs to two annotators, each job with
honeypots mixed in. As each annotator we read what they can through HTTP (the job's task list,
`next` in order, each task, its media URL and the file behind it, our annotations after
submitting, My work) and build one feature vector per (job, task). Two simple classifiers
(the best single-feature threshold, and the nearest neighbour over all features), scored by
leave-one-out, must do no better than always guessing "not a honeypot", within a margin.

The images of both imports are drawn alike (same size, same format, same bytes): what the
pixels of a real older import give away is outside what the server can hide.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
from datetime import datetime, timedelta

import numpy as np
from PIL import Image
from sqlalchemy import update

from assay.services import task_aliases
from assay.services.honeypots import rotation
from assay.store.models import Task
from assay.store.types import utcnow
from builders import HONEYPOT_GT, aliases_of, box

ADVERSARY_SEED = int(os.environ.get("ASSAY_ADVERSARY_SEED", "2026"))
OLD, NEW = 12, 24  # tasks of the first import (all honeypots) and of the later one
JOBS_EACH, NEW_PER_JOB, HONEYPOTS_PER_JOB = 3, 4, 2


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 60)).save(out, "PNG")
    return out.getvalue()


def _seed(client, db, people, project, settings) -> dict:
    lead = people["lead"].headers
    pid = project["id"]
    root = settings.resolved_media_root
    old_names = [f"project-{pid}/batch1/IMG_{i + 1:04d}.png" for i in range(OLD)]
    new_names = [f"project-{pid}/survey-2026-12/frame-{i + 1:05d}.png" for i in range(NEW)]
    for name in old_names + new_names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(_png())

    def import_(names):
        r = client.post(
            f"/api/projects/{pid}/import?return_task_ids=true",
            json=[{"image": f"/data/media/{n}"} for n in names],
            headers=lead,
        )
        assert r.status_code == 201, r.text
        return r.json()["task_ids"]

    old = import_(old_names)
    for t in old:
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"result": HONEYPOT_GT, "ground_truth": True},
            headers=lead,
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"/api/dm/actions?id=add_to_honeypots&project={pid}",
        json={"selectedItems": {"all": False, "included": old}},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    with db.session() as s:  # the first import was a month ago
        month_ago = utcnow() - timedelta(days=30)
        s.execute(
            update(Task).where(Task.id.in_(old)).values(created_at=month_ago, updated_at=month_ago)
        )
        s.commit()
    new = import_(new_names)
    r = client.patch(
        f"/api/projects/{pid}/honeypot-settings",
        json={"per_job": HONEYPOTS_PER_JOB},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    jobs = []
    chunks = [new[i : i + NEW_PER_JOB] for i in range(0, NEW, NEW_PER_JOB)]
    for k, chunk in enumerate(chunks):
        who = people["annotator" if k % 2 == 0 else "annotator2"]
        r = client.post(
            f"/api/projects/{pid}/jobs",
            json={"title": f"block {k + 1}", "task_ids": chunk, "assignees": [who.id]},
            headers=lead,
        )
        assert r.status_code == 201, r.text
        hp = client.get(f"/api/jobs/{r.json()['id']}/honeypots", headers=lead).json()
        honeypots = {h["task"] for h in hp["results"]}
        assert len(honeypots) == HONEYPOTS_PER_JOB
        jobs.append((r.json()["id"], who, honeypots))
    return {"old": old, "new": new, "jobs": jobs}


def _timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _read_as_annotator(client, signed_in, people, seeded) -> tuple[np.ndarray, np.ndarray]:
    """Every feature an annotator can read, one row per (job, task); and whether it is a
    honeypot (known to the test only, through the lead's reading)."""
    rows: list[list[float]] = []
    labels: list[bool] = []
    pages = {}
    for job_id, who, honeypots in seeded["jobs"]:
        h = who.headers
        truth = aliases_of(client, people["lead"], who, job_id)  # the test's key, not hers
        is_hp = {seen: real in honeypots for real, seen in truth.items()}
        job = client.get(f"/api/jobs/{job_id}", headers=h).json()
        listed = job["task_ids"]
        served = []
        per_task: dict[int, list[float]] = {}
        while True:
            r = client.get(f"/api/jobs/{job_id}/next", headers=h)
            nxt = r.json()
            if nxt["complete"]:
                break
            t = nxt["task"]
            served.append(t["id"])
            got = client.get(f"/api/tasks/{t['id']}", headers=h)
            body = got.json()
            url = body["data"]["image"]
            media = client.get(url, headers=h)
            made = client.post(
                f"/api/tasks/{t['id']}/annotations",
                json={"job": job_id, "result": [box(10, 10, 5, 5)]},
                headers=h,
            )
            assert made.status_code == 201, made.text
            after = client.get(f"/api/tasks/{t['id']}", headers=h)
            mine = client.get(f"/api/annotations/{made.json()['id']}", headers=h)
            created, updated = _timestamp(body["created_at"]), _timestamp(body["updated_at"])
            digits = [int(d) for d in re.findall(r"\d+", url)] or [0]
            per_task[t["id"]] = [
                float(t["id"]),
                created,
                updated,
                updated - created,
                float(len(url)),
                float(url.count("/")),
                float(max(digits)),
                float(len(nxt["task"]["data"]["image"])),
                float(len(r.content)),
                float(got.status_code),
                float(len(got.content)),
                float(media.status_code),
                float(len(media.content)),
                float(len(media.headers.get("last-modified", ""))),
                float(len(media.headers.get("etag", ""))),
                float(made.status_code),
                float(len(made.content)),
                float(made.json()["task"] == t["id"]),
                float(len(after.content)),
                float(after.json()["total_annotations"]),
                float(len(after.json()["predictions"])),
                float(len(mine.content)),
                float(nxt["remaining"]),
            ]
        if who.id not in pages:
            pages[who.id] = signed_in(who).get("/me").text
        assert sorted(served) == sorted(listed)
        ids = np.array([per_task[t][0] for t in listed])
        for t in listed:
            rank_in_job = float((ids < per_task[t][0]).sum())
            mentions = float(pages[who.id].count(str(t)))
            rows.append(
                [
                    *per_task[t],
                    float(listed.index(t)),
                    float(served.index(t)),
                    rank_in_job,
                    per_task[t][0] - float(np.median(ids)),
                    mentions,
                ]
            )
            labels.append(is_hp[t])
    return np.array(rows), np.array(labels)


def _stump_predict(x_train, y_train, x_test) -> np.ndarray:
    """The best single feature and threshold on the training rows (either direction)."""
    best = (-1.0, 0, 0.0, True)
    for j in range(x_train.shape[1]):
        for thr in np.unique(x_train[:, j]):
            for above in (True, False):
                pred = (x_train[:, j] >= thr) if above else (x_train[:, j] < thr)
                acc = float((pred == y_train).mean())
                if acc > best[0]:
                    best = (acc, j, float(thr), above)
    _, j, thr, above = best
    return (x_test[:, j] >= thr) if above else (x_test[:, j] < thr)


def _nearest_predict(x_train, y_train, x_test) -> np.ndarray:
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0)
    sd[sd == 0] = 1.0
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    dist = ((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=2)
    return y_train[dist.argmin(axis=1)]


def _loo_accuracy(x: np.ndarray, y: np.ndarray, predict) -> float:
    hits = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        hits += int(predict(x[keep], y[keep], x[i : i + 1])[0] == y[i])
    return hits / len(y)


def test_an_annotator_cannot_tell_honeypots_apart(
    client, db, people, project, settings, signed_in, monkeypatch
):
    # The server draws aliases and honeypots at random; a fixed draw keeps the verdict the same
    # every run (a learner that learns nothing would still beat the margin by chance about one
    # run in twenty), while a leak of ids, times or paths scores 1.0 whatever the draw.
    monkeypatch.setattr(task_aliases, "_random", random.Random(ADVERSARY_SEED))
    monkeypatch.setattr(rotation, "_rng", random.Random(ADVERSARY_SEED + 1))
    seeded = _seed(client, db, people, project, settings)
    x, y = _read_as_annotator(client, signed_in, people, seeded)
    n = len(y)
    assert n == len(seeded["jobs"]) * (NEW_PER_JOB + HONEYPOTS_PER_JOB) == 36
    assert y.sum() == 12
    baseline = max(y.mean(), 1 - y.mean())  # always "not a honeypot": 24 / 36
    # The margin: two standard errors of an accuracy measured on n rows at the baseline,
    # 2 * sqrt(p (1 - p) / n) = 2 * sqrt(2/9 / 36) = 0.157 (36 rows, p = 2/3). A classifier
    # that reads out-of-sequence ids or old times scores 1.0 (on the code before aliases, both
    # did).
    margin = 2 * np.sqrt(baseline * (1 - baseline) / n)
    stump = _loo_accuracy(x, y, _stump_predict)
    nearest = _loo_accuracy(x, y, _nearest_predict)
    print(f"adversary: stump {stump:.3f}, nearest {nearest:.3f}, baseline {baseline:.3f}")
    assert stump <= baseline + margin, (stump, baseline)
    assert nearest <= baseline + margin, (nearest, baseline)


def test_annotators_know_their_job_tasks_by_alias_only(client, db, people, project, settings):
    seeded = _seed(client, db, people, project, settings)
    job_id, who, honeypots = seeded["jobs"][0]
    aliases = aliases_of(client, people["lead"], who, job_id)
    real = next(iter(honeypots))
    alias = aliases[real]
    assert alias != real and alias >= 2**30
    mine = client.get(f"/api/tasks/{alias}", headers=who.headers)
    assert mine.status_code == 200 and mine.json()["id"] == alias
    assert mine.json()["data"]["image"] == f"/data/items/{alias}/image"
    job_created = client.get(f"/api/jobs/{job_id}", headers=who.headers).json()["created_at"]
    assert mine.json()["created_at"] == mine.json()["updated_at"] == job_created
    # her real id answers as a task she may not see, on every door that takes a task id
    for method, path, body in (
        ("GET", f"/api/tasks/{real}", None),
        ("GET", f"/api/tasks/{real}/annotations", None),
        ("POST", f"/api/tasks/{real}/annotations", {"result": []}),
        ("GET", f"/api/predictions?task={real}", None),
        ("GET", f"/data/items/{real}/image", None),
    ):
        r = client.request(method, path, json=body, headers=who.headers)
        assert (r.status_code, r.json()["detail"]) == (404, f"Task {real} not found."), path
    assert client.get(f"/api/tasks/{2**30 + 1}", headers=who.headers).status_code == 404
    # the lead keeps real ids, real times and real media paths
    lead = client.get(f"/api/tasks/{real}", headers=people["lead"].headers).json()
    assert lead["id"] == real and "/batch1/" in lead["data"]["image"]
    assert client.get(f"/api/tasks/{alias}", headers=people["lead"].headers).status_code == 404


def test_media_by_task_id_follows_the_task(client, db, people, project, settings):
    seeded = _seed(client, db, people, project, settings)
    job_id, who, _ = seeded["jobs"][0]
    task = seeded["new"][0]
    alias = aliases_of(client, people["lead"], who, job_id)[task]
    real_path = client.get(f"/api/tasks/{task}", headers=people["lead"].headers).json()["data"][
        "image"
    ]
    other = people["annotator2"] if who is people["annotator"] else people["annotator"]
    answers = {
        "assignee by alias": client.get(f"/data/items/{alias}/image", headers=who.headers),
        "other annotator by alias": client.get(f"/data/items/{alias}/image", headers=other.headers),
        "lead by real id": client.get(f"/data/items/{task}/image", headers=people["lead"].headers),
        "reviewer by real id": client.get(
            f"/data/items/{task}/image", headers=people["reviewer"].headers
        ),
        "lead by alias": client.get(f"/data/items/{alias}/image", headers=people["lead"].headers),
        "no such key": client.get(f"/data/items/{alias}/nothing", headers=who.headers),
        "anonymous": client.get(f"/data/items/{alias}/image"),
        # the real path, which she never reads but could guess from a naming scheme
        "assignee by real path": client.get(real_path, headers=who.headers),
        "assignee's thumbnail by real path": client.get(
            real_path.replace("/data/media/", "/data/thumbnails/"), headers=who.headers
        ),
        "lead by real path": client.get(real_path, headers=people["lead"].headers),
    }
    assert {k: r.status_code for k, r in answers.items()} == {
        "assignee by alias": 200,
        "other annotator by alias": 404,
        "lead by real id": 200,
        "reviewer by real id": 200,
        "lead by alias": 404,
        "no such key": 404,
        "anonymous": 401,
        "assignee by real path": 404,
        "assignee's thumbnail by real path": 404,
        "lead by real path": 200,
    }
    served = answers["assignee by alias"]
    assert served.content == _png() and "last-modified" not in served.headers
    assert "etag" not in served.headers


def test_data_manager_queries_act_on_the_ids_and_times_an_annotator_sees(
    client, db, people, project, settings
):
    """The task list's filters, orderings and selectedItems take the annotator's aliases and
    never compare real ids or real times: `id <= 1` used to return the oldest task."""
    seeded = _seed(client, db, people, project, settings)
    job_id, who, honeypots = seeded["jobs"][0]
    aliases = aliases_of(client, people["lead"], who, job_id)
    pid = project["id"]

    def listed(**params):
        r = client.get("/api/tasks", params={"project": pid, **params}, headers=who.headers)
        return r.status_code, r.json()

    def query(filters=None, ordering=None, selected=None):
        q = {}
        if filters:
            q["filters"] = {"conjunction": "and", "items": filters}
        if ordering:
            q["ordering"] = ordering
        if selected is not None:
            q["selectedItems"] = {"all": False, "included": selected}
        return listed(query=json.dumps(q))

    def item(field, op, value, kind="Number"):
        return {"filter": f"filter:tasks:{field}", "operator": op, "type": kind, "value": value}

    # a filter on id compares the ids she sees: real small ids match none of her tasks
    status, body = query([item("id", "less_or_equal", max(seeded["new"]))])
    assert (status, body["total"]) == (200, 0)
    smallest = min(aliases.values())
    status, body = query([item("id", "equal", smallest)])
    assert status == 200 and [t["id"] for t in body["tasks"]] == [smallest]
    # real times would tell the month-old tasks: filtering or ordering by them is refused
    for field in ("created_at", "updated_at"):
        when = {"min": "2000-01-01T00:00:00Z", "max": "2100-01-01T00:00:00Z"}
        status, body = query([item(field, "in", when, "Datetime")])
        assert status == 403 and field in body["detail"], body
        status, body = query(ordering=[f"tasks:{field}"])
        assert status == 403 and field in body["detail"], body
    # selectedItems names tasks by alias; a real id of her job's task is not one she knows
    honeypot = next(iter(honeypots))
    status, body = query(selected=[aliases[honeypot]])
    assert status == 200 and [t["id"] for t in body["tasks"]] == [aliases[honeypot]]
    status, body = query(selected=[honeypot])
    assert status == 400 and str(honeypot) in body["detail"] + json.dumps(body), body
    # the lead keeps real ids and times
    r = client.get(
        "/api/tasks",
        params={"project": pid, "query": json.dumps({"ordering": ["tasks:created_at"]})},
        headers=people["lead"].headers,
    )
    assert r.status_code == 200 and r.json()["tasks"][0]["id"] == min(seeded["old"])
