"""Crash tests (#16): kill -9 an assay process in the middle of a large import, a quality
recompute and a consensus merge, restart it, and check what is visible and that the work can
be run again, on the database under test (ASSAY_TEST_DB).

The processes are real: `assay serve` (and on PostgreSQL `assay worker`) on a database and a
data folder of this module's own, on a free loopback port. The tests share them: the process
restarted after one test's kill serves the next test.

- Import: the server is killed once the import's transaction has begun writing rows (SQLite:
  its pages spill into the WAL while it holds the write lock; PostgreSQL: its transaction is
  inserting annotations). An import is one transaction, so the project then holds none of its
  tasks, annotations, revisions and scores (or all of them, had it committed just before: then
  the test tries a bigger import); after the restart the same import (same Idempotency-Key)
  goes through, exactly once.
- Recompute and merge: the process running the job is killed after the job committed its
  first chunk and before its last. SQLite: the server (jobs run on its thread). PostgreSQL: the
  `assay worker` (the server runs without its embedded worker) while the server stays up. Both
  jobs commit chunk by chunk by design (`quality.recompute_project`, `consensus.merge_job`), so
  what the kill leaves is whole chunks, never part of one. On SQLite the restarted server fails
  the killed job and a new one runs; on PostgreSQL a killed merge is failed as stalled after
  ASSAY_STALLED_AFTER_S and run anew, while a recompute's part is queued again and the restarted
  worker runs it again, so the same job ends done. Either way it ends where an uninterrupted run
  ends.

The processes run the real command with chunks of CHUNK tasks instead of thousands (`LAUNCH`),
so that a few hundred tasks make several chunks. Every wait has a deadline; every process is
killed and the database dropped at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

import assay
from assay.services import background, projects, tasks, users
from assay.services.access import Actor, Role
from assay.services.quality.aggregates import sum_contributions
from assay.store import migrate
from assay.store.bookkeeping import BackgroundJob
from assay.store.db import Database
from assay.store.models import (
    Annotation,
    AnnotationRevision,
    ConsensusResult,
    QualityAggregate,
    QualityScore,
    Task,
)
from builders import BACKEND, RECT_CONFIG, box, make_temp_database

pytestmark = pytest.mark.crash

PG = BACKEND == "postgresql"
SRC = Path(assay.__file__).resolve().parents[1]
STALLED_S = 6.0  # PostgreSQL: ASSAY_STALLED_AFTER_S, so a killed worker's job fails soon
START_TIMEOUT = 120.0  # for a server to answer; about 2 s when the machine is idle
JOB_TIMEOUT = 240.0
IMPORT_TASKS = 3000  # each with a GT and an annotator's annotation; doubled if it is too quick
CHUNK = 100  # tasks per transaction of a recompute or a merge in these processes
SCORED_TASKS = 4 * CHUNK + CHUNK // 2  # GT and two annotators each: 5 chunks of each job

# `python -c LAUNCH serve ...` is `assay serve ...` with CHUNK tasks per chunk of a recompute
# (its scores, then its agreement) and of a merge, that ends when the test process ends.
LAUNCH = f"""
import ctypes, importlib, signal, sys
if sys.platform == "linux":  # dies with the test process, even one killed with SIGKILL
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
for name in ("quality.rescore", "quality.agreement", "consensus.merge"):
    module = importlib.import_module("assay.services." + name)
    assert isinstance(module.CHUNK, int), name
    module.CHUNK = {CHUNK}
from assay.cli import main
main()
"""

# A client transaction (not the test's) that is inserting annotations or their revisions.
PG_INSERTING = text(
    """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND pid <> pg_backend_pid() AND backend_type = 'client backend'
    AND backend_xid IS NOT NULL AND query ILIKE 'INSERT INTO annotation%'"""
)


def until(what: Callable[[], Any], timeout: float, every: float = 0.02, why: str = "") -> Any:
    """Poll `what` until it answers something true; that answer. Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {why or what}")
        time.sleep(every)


class Cluster:
    """The assay processes of one database: a server, and on PostgreSQL a worker; started when
    missing, killed with SIGKILL. Also the database as the test reads it, and its people."""

    def __init__(self, url: str, folder: Path, db: Database, token: str, lead: Actor) -> None:
        self.url, self.folder, self.db, self.token, self.lead = url, folder, db, token, lead
        self.annotators: list[int] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.port = 0
        self.starts = self.kills = 0
        self._sqlite: sqlite3.Connection | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
        self.env.update(
            PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
            ASSAY_DATABASE_URL=url,
            ASSAY_DATA_DIR=str(folder / "data"),
            ASSAY_SECRET_KEY="crash-test-secret-key-not-for-production",
        )
        if PG:  # (SQLite: the restarted server fails what its killed process was running)
            self.env["ASSAY_EMBEDDED_WORKER"] = "false"  # the worker is a process of its own
            self.env["ASSAY_STALLED_AFTER_S"] = str(STALLED_S)

    # -- processes ---------------------------------------------------------------------------

    @property
    def runner(self) -> str:
        """The process that runs background jobs."""
        return "worker" if PG else "server"

    def up(self) -> None:
        """Start whichever process is not running; wait until the server answers."""
        for name in ("server", "worker") if PG else ("server",):
            if name not in self.procs:
                self._spawn(name)
        until(self._answers, START_TIMEOUT, every=0.1, why="the server to answer")

    def _spawn(self, name: str) -> None:
        args = ["worker"]
        if name == "server":
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.port = sock.getsockname()[1]
            args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.starts += 1
        self.logs[name] = self.folder / f"{self.starts}-{name}.log"
        with self.logs[name].open("wb") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, *args],
                env=self.env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _answers(self) -> bool:
        """Whether the server answers, as ours: it knows the lead's token."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = self.logs[name].read_text(errors="replace")[-3000:]
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{log}")
        try:
            with self.client(timeout=2) as c:
                if c.get("/health").status_code != 200:
                    return False
                r = c.get("/api/current-user/whoami")
        except httpx.TransportError:
            return False
        assert r.status_code == 200, f"another server took port {self.port}: {r.text}"
        return True

    def kill(self, name: str) -> None:
        """SIGKILL: no signal handler, no atexit, no rollback by the process itself."""
        self._kill(name)
        self.kills += 1

    def _kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL

    def stop(self) -> None:
        for name in list(self.procs):
            self._kill(name)
        if self._sqlite is not None:
            self._sqlite.close()

    # -- talking to them ---------------------------------------------------------------------

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Token {self.token}"},
            timeout=timeout,
            trust_env=False,  # loopback only, never through a proxy
        )

    def job(self, job_id: int) -> BackgroundJob:
        """The job's row as stored now."""
        with self.db.session(write=False) as s:
            job = s.get(BackgroundJob, job_id)
            assert job is not None
            return job

    def progress(self, job_id: int) -> dict[str, Any]:
        """The job's status and progress as stored now (a recompute's: the sum of its parts')."""
        with self.db.session(write=False) as s:
            job = s.get(BackgroundJob, job_id)
            assert job is not None
            done = background.progress_of(s, job)
            return {"id": job_id, "status": job.status, "progress": done.done, "total": done.total}

    def job_api(self, job_id: int) -> dict[str, Any]:
        """The job as the server reports it (`GET /api/background-jobs/{id}`)."""
        with self.client() as c:
            r = c.get(f"/api/background-jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_for_job(self, job_id: int, ends: tuple[str, ...] = ("done", "failed")) -> dict:
        return until(
            lambda: (j := self.job_api(job_id))["status"] in ends and j,
            JOB_TIMEOUT,
            every=0.1,
            why=f"background job {job_id} to end",
        )

    # -- a transaction of the server, seen from outside ------------------------------------------

    def _wal(self) -> Path:
        return Path(f"{make_url(self.url).database}-wal")

    def _probe(self) -> sqlite3.Connection:
        if self._sqlite is None:
            path = make_url(self.url).database
            self._sqlite = sqlite3.connect(path, timeout=0, isolation_level=None)
        return self._sqlite

    def empty_wal(self) -> None:
        """SQLite: check the WAL into the database and truncate it, so that frames in it come
        from transactions after this (PostgreSQL: nothing to do)."""
        if not PG:
            busy, _, _ = self._probe().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0 and self._wal().stat().st_size == 0

    def inserting(self) -> bool:
        """Whether a transaction of another process has begun writing rows, uncommitted: on
        SQLite, pages in the WAL (after `empty_wal`) while a writer holds the lock."""
        if PG:
            with self.db.engine.connect() as conn:
                return bool(conn.execute(PG_INSERTING).scalar())
        if not self._wal().exists() or self._wal().stat().st_size == 0:
            return False
        try:
            self._probe().execute("BEGIN IMMEDIATE")  # fails at once while a writer holds it
        except sqlite3.OperationalError:
            return True
        self._probe().execute("ROLLBACK")
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A migrated database of its own with a lead and two annotators; no process yet."""
    folder = tmp_path_factory.mktemp("crash")
    temp = make_temp_database(folder)
    db = Database.connect(temp.url)
    migrate.upgrade(db.engine)
    with db.session() as s:
        lead, token = users.create_user(s, "lead@crash.test", "lead")
        c = Cluster(temp.url, folder, db, token, Actor(lead.id, Role.LEAD, lead.email))
        for i in (1, 2):
            c.annotators.append(users.create_user(s, f"ann{i}@crash.test", "annotator")[0].id)
    try:
        yield c
    finally:
        c.stop()
        print(f"\n{BACKEND}: {c.kills} processes killed mid-work, {c.starts} started")
        db.dispose()
        temp.drop()  # type: ignore[operator]


def _items(n: int, annotators: list[int], offset: int = 0) -> list[dict[str, Any]]:
    """n tasks, each with a GT of two boxes and each annotator's drifting, now and then
    mislabelled copy of it: scores and merges that differ from task to task."""
    out = []
    for i in range(offset, offset + n):
        dx = (i % 7) * 1.5
        gt = [box(10, 10, 20, 20, id="a"), box(50, 50, 10, 10, "Zebra", id="b")]
        work = [
            [box(10 + dx, 10, 20, 20), box(50, 50, 10, 10, "Giraffe" if i % 5 else "Zebra")],
            [box(10, 10 + dx / 2, 20, 20), box(52, 50, 10, 10, "Zebra")][: 1 + i % 2],
        ]
        out.append(
            {
                "data": {"image": f"/data/img_{i}.png"},
                "annotations": [{"result": gt, "ground_truth": True}]
                + [
                    {"result": r, "completed_by": a} for r, a in zip(work, annotators, strict=False)
                ],
            }
        )
    return out


def _project(cluster: Cluster, title: str, items: list[dict[str, Any]] | None = None) -> int:
    """A project of the lead, with `items` imported by this process (scored as they come)."""
    with cluster.db.session() as s:
        pid = projects.create_project(s, cluster.lead, title=title, label_config=RECT_CONFIG).id
        if items:
            tasks.import_tasks(s, cluster.lead, pid, items)
    return pid


@pytest.fixture(scope="module")
def scored(cluster: Cluster) -> tuple[int, list[int]]:
    """A project whose tasks each have a GT and two annotators' work: its id and task ids."""
    pid = _project(cluster, "scored", _items(SCORED_TASKS, cluster.annotators))
    with cluster.db.session(write=False) as s:
        ids = list(s.scalars(select(Task.id).where(Task.project_id == pid).order_by(Task.id)))
    return pid, ids


# -- import ---------------------------------------------------------------------------------


def _count(session: Any, model: Any, where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(where)) or 0


def _import_counts(db: Database, pid: int) -> tuple[int, int, int, int]:
    """What an import writes into the project: tasks, annotations, their revisions, scores."""
    with db.session(write=False) as s:
        anns = select(Annotation.id).where(Annotation.project_id == pid)
        return (
            _count(s, Task, Task.project_id == pid),
            _count(s, Annotation, Annotation.project_id == pid),
            _count(s, AnnotationRevision, AnnotationRevision.annotation_id.in_(anns)),
            _count(s, QualityScore, QualityScore.project_id == pid),
        )


def _import(cluster: Cluster, pid: int, body: bytes, key: str) -> httpx.Response:
    with cluster.client(timeout=JOB_TIMEOUT) as c:
        return c.post(
            f"/api/projects/{pid}/import",
            content=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )


def test_an_import_killed_while_writing_leaves_nothing_and_runs_again(cluster):
    n, caught = IMPORT_TASKS, None
    for attempt in range(3):  # a machine fast enough to commit first gets a bigger import
        pid = _project(cluster, f"import {attempt}")
        body = orjson.dumps(_items(n, cluster.annotators[:1], offset=attempt * 100_000))
        key = f"crash-import-{attempt}"
        cluster.up()
        cluster.empty_wal()
        answer: dict[str, Any] = {}

        def post(pid=pid, body=body, key=key, answer=answer) -> None:
            try:
                answer["response"] = _import(cluster, pid, body, key)
            except httpx.TransportError as exc:  # the server died under it
                answer["error"] = exc

        thread = threading.Thread(target=post, daemon=True)
        sent = time.monotonic()
        thread.start()
        until(
            lambda answer=answer: answer or cluster.inserting(),
            JOB_TIMEOUT,
            every=0.01,
            why="the import to write",
        )
        inserting = cluster.inserting()
        cluster.kill("server")
        killed_after = time.monotonic() - sent
        thread.join(timeout=30)
        assert not thread.is_alive()
        counts = _import_counts(cluster.db, pid)
        assert counts in ((0, 0, 0, 0), (n, 2 * n, 2 * n, n)), f"part of an import: {counts}"
        if inserting and counts == (0, 0, 0, 0):
            assert "error" in answer, answer  # its client saw the connection die
            caught = (pid, n, body, key)
            break
        n *= 2
    assert caught is not None, "every import committed before the kill"
    pid, n, body, key = caught

    cluster.up()  # restarted: still nothing, and the same import now goes through, once
    assert _import_counts(cluster.db, pid) == (0, 0, 0, 0)
    sent = time.monotonic()
    r = _import(cluster, pid, body, key)
    took = time.monotonic() - sent
    assert r.status_code == 201, r.text
    assert (r.json()["task_count"], r.json()["annotation_count"]) == (n, 2 * n)
    assert _import(cluster, pid, body, key).json() == r.json()  # a retry imports nothing
    assert _import_counts(cluster.db, pid) == (n, 2 * n, 2 * n, n)
    print(
        f"\nimport of {n} tasks ({len(body) / 2**20:.1f} MiB), attempt {attempt + 1}: killed "
        f"{killed_after:.1f} s after the POST while inserting: 0 rows; after the restart the "
        f"same import took {took:.1f} s: {_import_counts(cluster.db, pid)}"
    )


# -- background jobs ------------------------------------------------------------------------


def _kill_mid_job(cluster: Cluster, start: Callable[[], int]) -> dict[str, Any]:
    """Start a job and kill its runner once the job committed its first chunk and has more to
    do; the job as the server reports it after the kill (a recompute's progress is its parts').
    A job that ends before it is caught is started again."""
    for _ in range(3):
        cluster.up()
        job_id = start()

        def caught(job_id=job_id) -> str | None:
            job = cluster.progress(job_id)
            if job["status"] == "running" and job["total"] and job["progress"] >= CHUNK:
                return "caught" if job["progress"] < job["total"] else None
            return job["status"] if job["status"] in ("done", "failed") else None

        if until(caught, JOB_TIMEOUT, why=f"job {job_id} past its first chunk") == "caught":
            cluster.kill(cluster.runner)
            job = cluster.progress(job_id)
            if job["status"] == "running" and job["progress"] < job["total"]:  # not ended
                assert job["progress"] > 0
                return job
        assert cluster.job(job_id).status == "done", cluster.job(job_id).error
    raise AssertionError("the job always ended before it could be killed")


def _failed_after_restart(cluster: Cluster, job_id: int) -> None:
    """Restart what was killed; the killed job comes to say failed, as the server reports it."""
    cluster.up()
    job = cluster.wait_for_job(job_id, ends=("done", "failed", "queued"))
    assert job["status"] == "failed", job
    assert job["error"].startswith("stalled:" if PG else "interrupted:"), job
    assert job["finished_at"] is not None and 0 < job["progress"] < job["total"]


def _quality(db: Database, pid: int) -> tuple[dict, dict, dict]:
    """The project's stored quality: score rows by subject, aggregates, task agreement."""
    with db.session(write=False) as s:
        rows = {
            (r.subject_kind, r.annotation_id or r.prediction_id): (
                r.task_id, r.subject_key, r.job_id, r.gt_annotation_id, r.gt_revision, r.tp,
                r.fp, r.fn, r.matched, round(r.iou_sum, 9), round(r.accuracy, 9), r.labels,
            )
            for r in s.scalars(select(QualityScore).where(QualityScore.project_id == pid))
        }  # fmt: skip
        aggregates = {
            (a.group_kind, a.group_key, a.label): (
                a.n, a.tp, a.fp, a.fn, a.matched, round(a.iou_sum, 6), round(a.accuracy_sum, 6),
            )
            for a in s.scalars(select(QualityAggregate).where(QualityAggregate.project_id == pid))
            if a.n
        }  # fmt: skip
        agreement = {
            t: a
            for t, a in s.execute(select(Task.id, Task.agreement).where(Task.project_id == pid))
        }
    return rows, aggregates, agreement


def _sums_of_rows(db: Database, pid: int) -> dict:
    """The aggregates the project's stored score rows add up to, as `_quality` gives them."""
    with db.session(write=False) as s:
        rows = [
            {
                "subject_kind": r.subject_kind, "subject_key": r.subject_key, "job_id": r.job_id,
                "tp": r.tp, "fp": r.fp, "fn": r.fn, "matched": r.matched, "iou_sum": r.iou_sum,
                "accuracy": r.accuracy, "labels": r.labels,
            }
            for r in s.scalars(select(QualityScore).where(QualityScore.project_id == pid))
        ]  # fmt: skip
    sums: dict = {}
    sum_contributions(rows, 1, sums)
    return {
        key: (*(int(v) for v in values[:5]), round(values[5], 6), round(values[6], 6))
        for key, values in sums.items()
        if values[0]
    }


def test_a_recompute_killed_mid_way_fails_and_a_new_one_restores_every_score(cluster, scored):
    pid, task_ids = scored
    before = _quality(cluster.db, pid)  # kept by the import's rescoring: a full recompute's
    assert len(before[0]) == 2 * SCORED_TASKS and len(before[1]) > 10
    assert before[1] == _sums_of_rows(cluster.db, pid)

    def start() -> int:
        with cluster.client() as c:
            r = c.post(f"/api/projects/{pid}/quality/recompute")
        assert r.status_code == 202, r.text
        return r.json()["id"]

    killed = _kill_mid_job(cluster, start)
    # A recompute wipes the project's scores and aggregates, then rescores and commits CHUNK
    # tasks at a time (then refreshes agreement, CHUNK tasks at a time). So the kill leaves
    # the first whole chunks scored, each row as before, aggregates counting exactly those rows.
    rows, aggregates, _ = _quality(cluster.db, pid)
    scored_tasks = sorted({row[0] for row in rows.values()})
    whole_chunks = [task_ids[:k] for k in range(CHUNK, len(task_ids), CHUNK)] + [task_ids]
    assert scored_tasks in whole_chunks, f"{len(scored_tasks)} tasks scored: part of a chunk"
    assert {k: before[0][k] for k in rows} == rows
    assert aggregates == _sums_of_rows(cluster.db, pid)

    if PG:
        # Its part stalls (no heartbeat for ASSAY_STALLED_AFTER_S), is queued again, and the
        # restarted worker runs it again, to the end: the same job ends done.
        cluster.up()
        job = cluster.wait_for_job(killed["id"])
        assert job["status"] == "done", job
        with cluster.db.session(write=False) as s:
            attempts = list(
                s.scalars(
                    select(BackgroundJob.attempts).where(BackgroundJob.parent_id == job["id"])
                )
            )
        assert attempts == [2], attempts
    else:
        _failed_after_restart(cluster, killed["id"])
        again = start()
        assert again != killed["id"]
        assert cluster.wait_for_job(again)["status"] == "done"
    assert _quality(cluster.db, pid) == before
    print(
        f"\nrecompute killed at {killed['progress']}/{killed['total']}: score rows "
        f"{len(before[0])} before, {len(rows)} after the kill, {len(before[0])} after "
        + ("its part ran again" if PG else "a new one")
    )


def _consensus(db: Database, pid: int) -> dict[int, tuple]:
    """Each merged task's consensus (status, agreement, tie, annotators, result), checked whole:
    its row names a live consensus annotation of the task, and every live consensus annotation
    is named by a row."""
    with db.session(write=False) as s:
        rows = list(s.scalars(select(ConsensusResult).where(ConsensusResult.project_id == pid)))
        live = {
            a.id: a
            for a in s.scalars(
                select(Annotation).where(
                    Annotation.project_id == pid,
                    Annotation.kind == "consensus",
                    Annotation.deleted_at.is_(None),
                )
            )
        }
    assert sorted(r.annotation_id for r in rows) == sorted(live), "a consensus without its row"
    assert all(live[r.annotation_id].task_id == r.task_id for r in rows)
    return {
        r.task_id: (
            r.status, r.agreement, r.tied, r.annotators,
            orjson.dumps(live[r.annotation_id].result, option=orjson.OPT_SORT_KEYS),
        )
        for r in rows
    }  # fmt: skip


def test_a_merge_killed_mid_way_keeps_whole_chunks_and_a_rerun_converges(cluster, scored):
    pid, task_ids = scored
    assert _consensus(cluster.db, pid) == {}

    def start() -> int:
        with cluster.client() as c:
            r = c.post(f"/api/projects/{pid}/consensus/merge", json={})
        assert r.status_code == 202, r.text
        return r.json()["id"]

    killed = _kill_mid_job(cluster, start)
    # A merge commits CHUNK tasks at a time, each task's consensus annotation and result row
    # together: the kill leaves the first whole chunks merged and the rest untouched.
    mid = _consensus(cluster.db, pid)
    assert sorted(mid) in [task_ids[:k] for k in range(CHUNK, len(task_ids), CHUNK)]

    _failed_after_restart(cluster, killed["id"])
    assert cluster.wait_for_job(start())["status"] == "done"
    after = _consensus(cluster.db, pid)
    assert sorted(after) == task_ids
    assert {t: after[t] for t in mid} == mid  # the re-run merged them as the killed one did
    statuses = sorted({v[0] for v in after.values()})
    print(
        f"\nmerge killed at {killed['progress']}/{killed['total']}: {len(mid)} tasks merged; a new "
        f"merge: {len(after)} tasks, statuses {statuses}, the first {len(mid)} unchanged"
    )
