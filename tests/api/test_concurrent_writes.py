"""Concurrent writes on the same rows through real `assay serve` processes (issue #16 M3, L6,
check 3): two servers on PostgreSQL, as replicas behind a load balancer would be; one on SQLite,
whose file one server owns.

20+ clients (threads with httpx, each its own connection) start together at a barrier and edit
one annotation, fix & accept another, and create and star ground truths on one task. Afterwards:
no 5xx, every answer the one its request deserves, revision numbers 1..n without gaps or twins,
every accepted edit and fix in the history at the revision it was answered with, one GT per
task, and the quality aggregates what a full recompute makes of the labels. Everything talks to
127.0.0.1 only; each wave of clients ends within 40 s (timeouts on every request and join), the
servers' start is given up after START_TIMEOUT.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from assay.services import quality
from assay.store.models import Annotation, AnnotationRevision, QualityAggregate, QualityScore
from builders import REPO, Person, add_member, box

START_TIMEOUT = 120.0  # s for the servers to answer /health (a few s, more on a busy machine)
REQUEST_TIMEOUT = 30.0  # s; a request that waits this long on a lock is a failure
WAVE_TIMEOUT = 40.0  # s for all clients of one wave to finish


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def servers(database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """`assay serve` processes on the test database: two on PostgreSQL, one on SQLite.

    They keep no state of their own between requests, so the tests of this module share them
    while `db` empties the database before each.
    """
    count = 2 if database.engine.dialect.name == "postgresql" else 1
    tmp_path = tmp_path_factory.mktemp("servers")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "ASSAY_DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
        "ASSAY_DATA_DIR": str(tmp_path / "data"),
        "ASSAY_SECRET_KEY": "test-secret-key-not-for-production",
        "ASSAY_BACKGROUND_QUEUE": "thread",
        "ASSAY_EMBEDDED_WORKER": "false",
    }
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    logs = []
    try:
        for i in range(count):
            port = _free_port()
            log = (tmp_path / f"server-{i}.log").open("wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "assay.cli",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + START_TIMEOUT
        for proc, url in zip(procs, urls, strict=True):
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"assay serve exited: {_logs(tmp_path)}")
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"assay serve did not start: {_logs(tmp_path)}")
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for log in logs:
            log.close()


def _logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("server-*.log"))


def _together(clients: list[tuple[str, Person, Callable[[httpx.Client], None]]]) -> None:
    """Run each client's work on its own thread and connection, all released at once."""
    barrier = threading.Barrier(len(clients))
    errors: list[BaseException] = []

    def run(url: str, person: Person, work: Callable[[httpx.Client], None]) -> None:
        try:
            with httpx.Client(base_url=url, headers=person.headers, timeout=REQUEST_TIMEOUT) as c:
                barrier.wait(timeout=10)
                work(c)
        except BaseException as exc:  # reported by the test, after the join
            errors.append(exc)

    threads = [threading.Thread(target=run, args=client, daemon=True) for client in clients]
    for th in threads:
        th.start()
    deadline = time.monotonic() + WAVE_TIMEOUT
    for th in threads:
        th.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(th.is_alive() for th in threads), "clients still waiting after the deadline"
    assert not errors, errors


def _revisions(db, annotation_id: int) -> list[AnnotationRevision]:
    with db.session(write=False) as s:
        return list(
            s.scalars(
                select(AnnotationRevision)
                .where(AnnotationRevision.annotation_id == annotation_id)
                .order_by(AnnotationRevision.revision, AnnotationRevision.id)
            )
        )


def _aggregates(db, project_id: int) -> dict[tuple[str, str, str], tuple[float, ...]]:
    with db.session(write=False) as s:
        return {
            (a.group_kind, a.group_key, a.label): (a.n, a.tp, a.fp, a.fn, round(a.accuracy_sum, 9))
            for a in s.scalars(
                select(QualityAggregate).where(QualityAggregate.project_id == project_id)
            )
            if a.n
        }


def test_twenty_clients_on_the_same_rows_lose_nothing(db, client, people, project, servers):
    lead, admin = people["lead"], people["admin"]
    pid = project["id"]
    reviewers = [add_member(db, client, lead, pid, f"rev{i}", "reviewer") for i in range(6)]
    annotators = [add_member(db, client, lead, pid, f"ann{i}", "annotator") for i in range(4)]
    tasks = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg"} for i in range(3)],
        headers=lead.headers,
    ).json()["task_ids"]
    edited_task, fixed_task, gt_task = tasks

    def annotate(person: Person, task_id: int, x: float) -> int:
        r = client.post(
            f"/api/tasks/{task_id}/annotations",
            json={"result": [box(x, 10, 10, 10)]},
            headers=person.headers,
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    edited = annotate(people["annotator"], edited_task, 1)
    fixed = annotate(people["annotator"], fixed_task, 1)
    candidates = [annotate(people["annotator2"], gt_task, 2 + i) for i in range(4)]
    r = client.post(  # a GT on the edited task, so that its edits are scored
        f"/api/tasks/{edited_task}/annotations",
        json={"result": [box(1, 10, 10, 10)], "ground_truth": True},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text

    answers: list[tuple[str, int, dict]] = []  # (kind, status, body)
    lock = threading.Lock()

    def keep(kind: str, r: httpx.Response, sent: object = None) -> None:
        with lock:
            answers.append((kind, r.status_code, {"body": r.json(), "sent": sent}))

    def patcher(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            for k in range(3):  # some right, some wrong: the scores move both ways
                # each differs from every other and from the annotation as made (a PATCH that
                # changes nothing makes no revision: n = 0, k = 0 used to send the original
                # box, and when it came first the history was one revision short)
                result = [box(1 + (n + 1) / 10 if k != 1 else 30 + n, 10 + k / 10, 10, 10)]
                keep(
                    "patch", c.patch(f"/api/annotations/{edited}", json={"result": result}), result
                )

        return work

    def fixer(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            result = [box(40 + n, 40, 10, 10)]
            body = {"action": "fix_accept", "result": result}
            keep("fix", c.post(f"/api/annotations/{fixed}/reviews", json=body), result)

        return work

    def gt_creator(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            for k in range(3):
                body = {"result": [box(60 + n, 60 + k, 10, 10)], "ground_truth": True}
                keep("gt_create", c.post(f"/api/tasks/{gt_task}/annotations", json=body))

        return work

    def starrer(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            for k in range(3):
                target = candidates[(n + k) % len(candidates)]
                keep("star", c.patch(f"/api/annotations/{target}", json={"ground_truth": True}))

        return work

    def answerer(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            for k in range(3):
                body = {"result": [box(2 + k + n / 10 if n % 2 else 70 + k, 10, 10, 10)]}
                keep("create", c.post(f"/api/tasks/{gt_task}/annotations", json=body))

        return work

    work = (
        [(lead if n % 2 else admin, patcher(n)) for n in range(8)]
        + [(annotators[n], answerer(n)) for n in range(4)]
        + [(reviewers[n], fixer(n)) for n in range(6)]
        + [(lead if n % 2 else admin, gt_creator(n)) for n in range(4)]
        + [(lead if n % 2 else admin, starrer(n)) for n in range(4)]
    )
    assert len(work) >= 20
    _together([(servers[i % len(servers)], who, w) for i, (who, w) in enumerate(work)])

    assert len(answers) == 8 * 3 + 4 * 3 + 6 + 4 * 3 + 4 * 3
    assert not [a for a in answers if a[1] >= 500], [a for a in answers if a[1] >= 500]
    expected = {"patch": 200, "create": 201, "fix": 201, "gt_create": 201, "star": 200}
    assert [(k, s, b["body"]) for k, s, b in answers if s != expected[k]] == []

    # every PATCH got a revision of its own, and the history holds what it sent there
    history = _revisions(db, edited)
    assert [h.revision for h in history] == list(range(1, 2 + 8 * 3))
    by_revision = {h.revision: h.result for h in history}
    patches = [(b["body"]["revision"], b["sent"]) for k, _, b in answers if k == "patch"]
    assert sorted(rev for rev, _ in patches) == list(range(2, 2 + 8 * 3))
    assert all(by_revision[rev] == sent for rev, sent in patches)

    # every fix too, each reviewing the one before it; the annotator's own work is kept
    history = _revisions(db, fixed)
    assert [h.revision for h in history] == list(range(1, 8))
    fixes = sorted(
        (b["body"]["reviewed_revision"], b["body"]["fixed_revision"], b["sent"])
        for k, _, b in answers
        if k == "fix"
    )
    assert [(reviewed, f) for reviewed, f, _ in fixes] == [(n, n + 1) for n in range(1, 7)]
    assert all(history[f - 1].result == sent for _, f, sent in fixes)
    with db.session(write=False) as s:
        ann = s.get(Annotation, fixed)
        assert ann.revision == 7 and ann.review_status == "fixed"
        assert ann.own_result == [box(1, 10, 10, 10)]

        # one GT on the task, the one its history ends with
        gts = s.scalars(
            select(Annotation.id).where(
                Annotation.task_id == gt_task,
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        ).all()
    assert len(gts) == 1
    hist = client.get(
        f"/api/projects/{pid}/ground-truth/history?task={gt_task}&page_size=100",
        headers=lead.headers,
    ).json()
    assert hist["results"][0]["to_annotation"] == gts[0]
    assert hist["count"] >= 12  # every create, and every star that changed it

    # scores moved by every difference add up to what a full recompute finds, one per subject
    with db.session(write=False) as s:
        scored = s.scalars(select(QualityScore.annotation_id)).all()
    assert len(scored) == len(set(scored))
    kept = _aggregates(db, pid)
    quality.recompute_project(db, pid)
    assert kept == _aggregates(db, pid)


def test_stale_revisions_are_refused_when_named(db, client, people, project, servers):
    """Compare-and-set: clients that name the revision they read get 200 for the first write
    and 409 with the current revision for every later one, on either server."""
    lead, pid = people["lead"], project["id"]
    (task,) = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"image": "a.jpg"}],
        headers=lead.headers,
    ).json()["task_ids"]
    r = client.post(
        f"/api/tasks/{task}/annotations",
        json={"result": [box(1, 1, 5, 5)]},
        headers=people["annotator"].headers,
    )
    ann = r.json()["id"]
    reviewers = [add_member(db, client, lead, pid, f"cas{i}", "reviewer") for i in range(4)]
    statuses: list[tuple[str, int, dict]] = []
    lock = threading.Lock()

    def patch(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            body = {"result": [box(10 + n, 1, 5, 5)], "revision": 1}
            r = c.patch(f"/api/annotations/{ann}", json=body)
            with lock:
                statuses.append(("patch", r.status_code, r.json()))

        return work

    def fix(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            body = {"action": "fix_accept", "result": [box(30 + n, 1, 5, 5)], "revision": 1}
            r = c.post(f"/api/annotations/{ann}/reviews", json=body)
            with lock:
                statuses.append(("fix", r.status_code, r.json()))

        return work

    work = [(lead, patch(n)) for n in range(16)] + [(reviewers[n], fix(n)) for n in range(4)]
    _together([(servers[i % len(servers)], who, w) for i, (who, w) in enumerate(work)])
    assert len(statuses) == 20
    won = [(k, s) for k, s, _ in statuses if s in (200, 201)]
    assert len(won) == 1, statuses
    lost = [body for _, s, body in statuses if s not in (200, 201)]
    assert all(
        b["status_code"] == 409
        and b["validation_errors"]["revision"] == ["stale: the current revision is 2"]
        for b in lost
    ), lost
    assert [h.revision for h in _revisions(db, ann)] == [1, 2]


def test_thirty_concurrent_gt_creates_on_one_task(db, client, people, project, servers):
    """Issue #16 L6: 21 of 30 such requests answered 503 (a deadlock: each insert's foreign-key
    lock on the task, then the task lock). Now they queue on the task lock: all 201, one GT."""
    lead, admin, pid = people["lead"], people["admin"], project["id"]
    (task,) = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"image": "a.jpg"}],
        headers=lead.headers,
    ).json()["task_ids"]
    statuses: list[int] = []
    lock = threading.Lock()

    def create(n: int) -> Callable[[httpx.Client], None]:
        def work(c: httpx.Client) -> None:
            body = {"result": [box(1 + n, 1, 5, 5)], "ground_truth": True}
            r = c.post(f"/api/tasks/{task}/annotations", json=body)
            with lock:
                statuses.append(r.status_code)

        return work

    _together([(servers[n % len(servers)], lead if n % 2 else admin, create(n)) for n in range(30)])
    assert statuses == [201] * 30
    with db.session(write=False) as s:
        gts = s.scalars(
            select(Annotation.id).where(
                Annotation.task_id == task,
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        ).all()
    assert len(gts) == 1
    hist = client.get(
        f"/api/projects/{pid}/ground-truth/history?task={task}&page_size=100",
        headers=lead.headers,
    ).json()
    assert hist["count"] == 30 and hist["results"][0]["to_annotation"] == gts[0]
