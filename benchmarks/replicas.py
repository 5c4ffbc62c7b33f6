"""Past one process (#20): a recompute on 1 vs 2 `assay worker` processes, and mixed reads and
writes against 1 vs 2 `assay serve` replicas, on one PostgreSQL database.

Run standalone:   .venv/bin/python benchmarks/replicas.py [--quick] [--tasks N] [--seconds S]

Workload: a fresh database `assay_bench_<random>` (dropped at the end, also after an error) on
the server at ASSAY_TEST_PG_URL, one project with N tasks (default 20,000; --quick 4,000),
each with a GT of two boxes, an annotator's drifting copy and a model's prediction, written
straight into the tables.

Measured:
- recompute: `POST /api/projects/{id}/quality/recompute` to the job's `done`, polled every
  0.1 s, with 1 and then 2 workers (`assay worker`; the servers run none); how many parts each
  worker took; and that both runs end with the very same scores (checked, not timed).
- load: K client threads (default 8) for S seconds (default 10) against 1 and then 2 replicas,
  round-robin: 80 % `GET /api/tasks?project=P&page=R&page_size=50`, 20 %
  `POST /api/tasks/{id}/annotations` (one box). Requests per second, p50/p95 latency, errors,
  and lost writes (a 201 whose annotation is not in the database afterwards; must be 0).

On a 2-core machine two replicas share the same two cores as one: expect the same throughput
(the point is that they work together, lose nothing, and that workers share parts); on more
cores the load spreads. No reference tool runs here; Label Studio's Community edition has no
worker partitioning to compare with.

Output: the table on stdout, progress on stderr, and benchmarks/results/replicas-<UTC>.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from assay_bench.server import (  # noqa: E402
    add_admin,
    assay_executable,
    running_server,
    server_env,
    temp_database,
)
from assay_bench.zebras import CONFIG, box, log  # noqa: E402


def fill(url: str, project_id: int, annotator_id: int, n: int) -> None:
    """n tasks with a GT, an annotator's copy and a prediction, straight into the tables."""
    from sqlalchemy import insert

    from assay.store.db import Database
    from assay.store.models import Annotation, Prediction, Task

    db = Database.connect(url)
    gt = [box(10, 10, 20, 20), box(50, 50, 10, 10, "Giraffe")]
    try:
        for start in range(0, n, 10_000):
            count = min(10_000, n - start)
            with db.session() as s:
                images = [{"image": f"/i/{start + i}.png"} for i in range(count)]
                task_ids = s.scalars(
                    insert(Task).returning(Task.id, sort_by_parameter_order=True),
                    [{"project_id": project_id, "data": data} for data in images],
                ).all()
                anns, preds = [], []
                for i, task_id in enumerate(task_ids):
                    dx, label = (i % 9) * 1.5, "Giraffe" if i % 7 else "Zebra"
                    work = [box(10 + dx, 10, 20, 20), box(50, 50, 10, 10, label)]
                    common = {"task_id": task_id, "project_id": project_id}
                    # the same keys and types in every row: one multi-row INSERT per 1000 rows
                    anns.append(
                        {**common, "result": gt, "ground_truth": True}
                        | {"completed_by_id": annotator_id}
                    )
                    anns.append(
                        {**common, "result": work, "ground_truth": False}
                        | {"completed_by_id": annotator_id}
                    )
                    preds.append({**common, "result": work, "model_version": "m1"})
                s.execute(insert(Annotation).returning(Annotation.id), anns)
                s.execute(insert(Prediction).returning(Prediction.id), preds)
    finally:
        db.dispose()


def scores_digest(url: str, project_id: int) -> tuple[int, int]:
    """(score rows, a hash of every score's counts): two runs that end alike give the same."""
    from sqlalchemy import select

    from assay.store.db import Database
    from assay.store.models import QualityScore

    db = Database.connect(url)
    try:
        with db.session(write=False) as s:
            rows = sorted(
                s.execute(
                    select(
                        QualityScore.task_id,
                        QualityScore.subject_key,
                        QualityScore.tp,
                        QualityScore.fp,
                        QualityScore.fn,
                    ).where(QualityScore.project_id == project_id)
                ).all()
            )
    finally:
        db.dispose()
    return len(rows), hash(tuple(rows))


def recompute(http: httpx.Client, project_id: int) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    r = http.post(f"/api/projects/{project_id}/quality/recompute")
    r.raise_for_status()
    job_id = r.json()["id"]
    while True:
        job = http.get(f"/api/background-jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.1)
    took = time.perf_counter() - started
    if job["status"] != "done":
        raise RuntimeError(f"recompute {job['status']}: {job.get('error')}")
    return took, job


def load(urls: list[str], token: str, project_id: int, task_ids: list[int], threads: int,
         seconds: float, seed: int) -> dict[str, Any]:  # fmt: skip
    """Mixed reads and writes from `threads` clients, round-robin over the replicas."""
    latencies: dict[str, list[float]] = {"read": [], "write": []}
    errors: list[str] = []
    written: list[int] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    pages = max(1, len(task_ids) // 50)

    def client(k: int) -> None:
        rng = random.Random(seed + k)
        sessions = [
            httpx.Client(base_url=u, headers={"Authorization": f"Token {token}"}, timeout=30)
            for u in urls
        ]
        i = k
        try:
            while time.perf_counter() < deadline:
                http = sessions[i % len(sessions)]
                i += 1
                write = rng.random() < 0.2
                started = time.perf_counter()
                try:
                    if write:
                        task = rng.choice(task_ids)
                        body = {"result": [box(rng.uniform(0, 80), 10, 10, 10)]}
                        r = http.post(f"/api/tasks/{task}/annotations", json=body)
                        ok = r.status_code == 201
                    else:
                        page = rng.randint(1, pages)
                        r = http.get(
                            "/api/tasks",
                            params={"project": project_id, "page": page, "page_size": 50},
                        )
                        ok = r.status_code == 200
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    continue
                took = time.perf_counter() - started
                with lock:
                    if not ok:
                        errors.append(f"{r.status_code}")
                        continue
                    latencies["write" if write else "read"].append(took)
                    if write:
                        written.append(r.json()["id"])
        finally:
            for s in sessions:
                s.close()

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    started = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - started
    every = latencies["read"] + latencies["write"]
    return {
        "requests": len(every),
        "per_s": len(every) / elapsed,
        "reads": len(latencies["read"]),
        "writes": len(latencies["write"]),
        "p50_ms": 1000 * statistics.median(every) if every else None,
        "p95_ms": 1000 * statistics.quantiles(every, n=20)[18] if len(every) > 20 else None,
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "written_ids": written,
    }


def lost_writes(url: str, ids: list[int]) -> int:
    from sqlalchemy import func, select

    from assay.store.db import Database
    from assay.store.models import Annotation

    db = Database.connect(url)
    try:
        with db.session(write=False) as s:
            found = 0
            for i in range(0, len(ids), 5000):
                chunk = ids[i : i + 5000]
                found += s.scalar(
                    select(func.count()).where(
                        Annotation.id.in_(chunk), Annotation.deleted_at.is_(None)
                    )
                )
    finally:
        db.dispose()
    return len(ids) - found


def run(tasks: int, seconds: float, threads: int) -> dict[str, Any]:
    import tempfile

    result: dict[str, Any] = {"tasks": tasks, "seconds": seconds, "threads": threads}
    with tempfile.TemporaryDirectory() as tmp, temp_database("postgresql", Path(tmp)) as url:
        folder = Path(tmp)
        env = server_env(folder / "data", url) | {"ASSAY_EMBEDDED_WORKER": "false"}
        token = add_admin(env, "bench-admin@example.com")
        with ExitStack() as stack:
            first = stack.enter_context(running_server(env, folder / "serve0.log"))
            http = stack.enter_context(
                httpx.Client(
                    base_url=first.url, headers={"Authorization": f"Token {token}"}, timeout=120
                )
            )
            project_id = http.post(
                "/api/projects", json={"title": "replicas", "label_config": CONFIG}
            ).json()["id"]
            me = http.get("/api/current-user/whoami").json()["id"]
            log(f"writing {tasks} tasks")
            fill(url, project_id, me, tasks)

            digests, workers_seen = [], []
            for n_workers in (1, 2):
                procs = []
                for k in range(n_workers):
                    with (folder / f"worker{n_workers}-{k}.log").open("wb") as out:
                        procs.append(
                            subprocess.Popen(
                                [assay_executable(), "worker"],
                                env=env,
                                stdout=out,
                                stderr=subprocess.STDOUT,
                            )
                        )
                time.sleep(3)  # the workers connect and listen
                try:
                    log(f"recompute with {n_workers} worker(s)")
                    took, job = recompute(http, project_id)
                finally:
                    for p in procs:
                        p.terminate()
                        p.wait(timeout=30)
                result[f"recompute_{n_workers}w_s"] = took
                result[f"recompute_{n_workers}w_parts"] = job["parts"]
                workers_seen.append(len(job["workers"]))
                digests.append(scores_digest(url, project_id))
            result["recompute_workers_used"] = workers_seen
            result["recompute_same_scores"] = digests[0] == digests[1]

            task_ids = [
                t["id"]
                for t in http.get(
                    "/api/tasks", params={"project": project_id, "page_size": 1000}
                ).json()["tasks"]
            ]
            for n_replicas in (1, 2):
                urls = [first.url]
                if n_replicas == 2:
                    second = stack.enter_context(running_server(env, folder / "serve1.log"))
                    urls.append(second.url)
                log(f"load: {threads} clients, {seconds} s, {n_replicas} replica(s)")
                answer = load(urls, token, project_id, task_ids, threads, seconds, n_replicas)
                answer["lost_writes"] = lost_writes(url, answer.pop("written_ids"))
                result[f"load_{n_replicas}r"] = answer
    return result


def format_table(result: dict[str, Any]) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    one, two = result["load_1r"], result["load_2r"]
    rows = [
        ("metric", "1", "2", "note"),
        (
            f"recompute {result['tasks']} tasks, workers",
            f"{result['recompute_1w_s']:.2f} s",
            f"{result['recompute_2w_s']:.2f} s",
            f"workers that took parts: {result['recompute_workers_used']}; same scores: "
            f"{result['recompute_same_scores']}",
        ),
        (
            f"mixed load, {result['threads']} clients, replicas: req/s",
            f"{one['per_s']:.0f}",
            f"{two['per_s']:.0f}",
            "80 % list pages, 20 % annotation creates",
        ),
        (
            "  p50 / p95 ms",
            f"{ms(one['p50_ms'])} / {ms(one['p95_ms'])}",
            f"{ms(two['p50_ms'])} / {ms(two['p95_ms'])}",
            "",
        ),
        ("  errors", str(one["errors"]), str(two["errors"]), ", ".join(two["error_kinds"])),
        ("  lost writes", str(one["lost_writes"]), str(two["lost_writes"]), "must be 0"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4k tasks, 4 s of load")
    parser.add_argument("--tasks", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    tasks = args.tasks or (4_000 if args.quick else 20_000)
    seconds = args.seconds or (4.0 if args.quick else 10.0)
    result = run(tasks, seconds, args.threads)
    result["timestamp"] = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"replicas-{result['timestamp']}.json"
    path.write_text(json.dumps(result, indent=2))
    print(format_table(result))
    log(f"wrote {path}")
    ok = result["recompute_same_scores"] and not any(
        result[f"load_{n}r"]["lost_writes"] for n in (1, 2)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
