"""Replicas (#20): two `assay serve` processes and two `assay worker` processes on one
PostgreSQL database. A recompute of 20k tasks asked of one server is split into parts; both
workers take parts, the other server reports its progress, and the scores, aggregates and
agreement it ends with are those of a recompute run in one process, by one worker.

Real processes on loopback ports, each killed at the end; the database is this module's own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from assay.services import projects, quality, users
from assay.services.access import Actor, Role
from assay.store import migrate
from assay.store.bookkeeping import BackgroundJob
from assay.store.db import Database
from assay.store.models import Annotation, Prediction, Task
from builders import BACKEND, RECT_CONFIG, box, make_temp_database, quality_state

pytestmark = [
    pytest.mark.crash,
    pytest.mark.skipif(BACKEND != "postgresql", reason="replicas share a PostgreSQL database"),
]

N_TASKS = 20_000
TIMEOUT = 240.0  # for a process to answer, a recompute to end


def until(what: Callable[[], Any], timeout: float = TIMEOUT, why: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (got := what()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {why}")
        time.sleep(0.1)
    return got


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _survey(db: Database, pid: int, lead: int, annotator: int, n: int) -> None:
    """n tasks, each with a GT, an annotator's drifting copy of it and a model's prediction,
    written straight into the tables (the recompute scores them)."""
    gt = [box(10, 10, 20, 20), box(50, 50, 10, 10, "Zebra")]
    with db.session() as s:
        task_ids = s.scalars(
            insert(Task).returning(Task.id, sort_by_parameter_order=True),
            [{"project_id": pid, "data": {"image": f"/data/img_{i}.png"}} for i in range(n)],
        ).all()
        annotations, predictions = [], []
        for i, task_id in enumerate(task_ids):
            dx, label = (i % 9) * 1.5, "Giraffe" if i % 7 else "Zebra"
            work = [box(10 + dx, 10, 20, 20), box(50, 50, 10, 10, label)]
            # the same keys and types in every row: one multi-row INSERT per thousand rows
            common = {"task_id": task_id, "project_id": pid}
            annotations += [
                {**common, "result": gt, "ground_truth": True, "completed_by_id": lead},
                {**common, "result": work[: 1 + i % 2], "ground_truth": False}
                | {"completed_by_id": annotator},
            ]
            predictions.append(
                {"task_id": task_id, "project_id": pid, "result": work, "model_version": "m1"}
            )
        # as multi-row statements (RETURNING), as the services write them: each fires the
        # count triggers once
        s.execute(insert(Annotation).returning(Annotation.id), annotations)
        s.execute(insert(Prediction).returning(Prediction.id), predictions)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("replicas")
    temp = make_temp_database(folder)
    db = Database.connect(temp.url)
    migrate.upgrade(db.engine)
    with db.session() as s:
        lead, token = users.create_user(s, "lead@replicas.test", "lead")
        annotator = users.create_user(s, "ann@replicas.test", "annotator")[0]
        actor = Actor(lead.id, Role.LEAD, lead.email)
        pid = projects.create_project(s, actor, title="survey", label_config=RECT_CONFIG).id
        projects.add_member(s, actor, pid, annotator.id)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update(
        PYTHONPATH=os.pathsep.join(
            [str(Path(quality.__file__).parents[3]), env.get("PYTHONPATH", "")]
        ),
        ASSAY_DATABASE_URL=temp.url,
        ASSAY_DATA_DIR=str(folder / "data"),
        ASSAY_SECRET_KEY="replica-test-secret-key-not-for-production",
        ASSAY_EMBEDDED_WORKER="false",  # the workers are processes of their own
    )
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(name: str, *args: str) -> subprocess.Popen[bytes]:
        with (folder / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "assay.cli", *args],
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        return proc

    ports = [_port(), _port()]
    try:
        for i, port in enumerate(ports):
            spawn(f"serve{i}", "serve", "--host", "127.0.0.1", "--port", str(port))
        workers = [spawn(f"worker{i}", "worker") for i in range(2)]
        _survey(db, pid, lead.id, annotator.id, N_TASKS)  # while they start
        quality.recompute_project(db, pid)  # by one worker, in this process
        clients = [
            httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Token {token}"},
                timeout=60,
                trust_env=False,
            )
            for port in ports
        ]

        def answers(c: httpx.Client) -> bool:
            for proc in procs:
                assert proc.poll() is None, f"an assay process exited: see {folder}/*.log"
            try:
                return c.get("/health").status_code == 200
            except httpx.TransportError:
                return False

        for c in clients:
            until(lambda c=c: answers(c), why="the servers to answer")
        for i in range(2):  # and the workers wait for jobs
            log = folder / f"worker{i}.log"
            until(lambda log=log: b"waiting for background jobs" in log.read_bytes(), why="workers")
        yield {"db": db, "pid": pid, "clients": clients, "workers": workers, "folder": folder}
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)
        db.dispose()
        temp.drop()  # type: ignore[operator]


def _worker_of(proc: subprocess.Popen[bytes]) -> str:
    return f"{socket.gethostname()}:{proc.pid}"


def test_two_workers_share_a_recompute_asked_of_one_replica(replicas):
    db, pid = replicas["db"], replicas["pid"]
    one, other = replicas["clients"]
    single = quality_state(db, pid)  # after a recompute by one worker in one process
    assert len(single[0]) == 2 * N_TASKS

    r = one.post(f"/api/projects/{pid}/quality/recompute")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    job = until(
        lambda: (
            (j := other.get(f"/api/background-jobs/{job_id}").json())["status"]
            in ("done", "failed")
            and j
        ),
        why="the recompute to end",
    )

    assert job["status"] == "done", job
    assert job["result"]["tasks"] == N_TASKS and job["progress"] == job["total"]
    parts = job["parts"]["done"]
    assert parts == N_TASKS // 2000 and job["parts"] == {"done": parts}
    # both workers took parts, and nobody else did
    assert set(job["workers"]) == {_worker_of(w) for w in replicas["workers"]}, job["workers"]
    with db.session(write=False) as s:
        per_worker = list(
            s.scalars(select(BackgroundJob.worker).where(BackgroundJob.parent_id == job_id))
        )
    assert quality_state(db, pid) == single
    print(
        f"\nrecompute of {N_TASKS} tasks in {parts} parts: "
        + ", ".join(f"{w} took {per_worker.count(w)}" for w in sorted(set(per_worker)))
    )
