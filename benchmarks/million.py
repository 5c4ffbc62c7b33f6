"""Read paths at a million tasks (#20 item 3), on SQLite and PostgreSQL.

Run standalone:   .venv/bin/python benchmarks/million.py [--tasks N] [--backend B] [--requests R]

Workload per backend: a fresh database (SQLite: a file in a temporary folder; PostgreSQL: a
database `assay_bench_<random>` on the server at ASSAY_TEST_PG_URL, dropped at the end), one
project of N tasks (default 1,000,000) generated directly in the database by one
INSERT ... SELECT per table (a series of N): every task has an annotator's annotation (one box)
and a model's prediction; every 20th task has a lead's GT annotation (so 5 % of the tasks are
scored). The scores are then built by `quality.recompute_project` in this process (timed: the
full recompute at this size), and a real `assay serve` answers R requests of each kind over
HTTP on 127.0.0.1 (default 40), one at a time:

- project: `GET /api/projects/{id}` (its counts)
- list: `GET /api/tasks?project=P&page=K&page_size=100`, K random over every page
- list, last page: the same for the last page (OFFSET's worst case)
- dashboard: `GET /api/projects/{id}/dashboard`
- GT star: `PATCH /api/annotations/{id}` `{"ground_truth": true}` on a random unscored task's
  annotation (its scores computed in the same request)
- rescore: `PATCH /api/annotations/{id}` with a moved box, on a GT task's annotation

p50 and p95 in ms per kind, and the peak RSS of the recompute process. Output: the table on
stdout, progress on stderr, and benchmarks/results/million-<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from assay_bench.server import running_server, server_env, temp_database  # noqa: E402
from assay_bench.zebras import CONFIG, box, log  # noqa: E402

BACKENDS = ("sqlite", "postgresql")
GT_EVERY = 20


def generate(url: str, n: int) -> dict[str, Any]:
    """Users, a project and n tasks with their annotations, predictions and GT; then scores."""
    from sqlalchemy import bindparam, text

    from assay.services import projects, quality, users
    from assay.services.access import Actor, Role
    from assay.store import migrate
    from assay.store.db import Database
    from assay.store.types import UTCDateTime, utcnow

    db = Database.connect(url)
    migrate.upgrade(db.engine)
    pg = db.engine.dialect.name == "postgresql"
    with db.session() as s:
        lead, lead_token = users.create_user(s, "lead@million.bench", "lead")
        annotator = users.create_user(s, "ann@million.bench", "annotator")[0]
        actor = Actor(lead.id, Role.LEAD, lead.email)
        pid = projects.create_project(s, actor, title="million", label_config=CONFIG).id
        projects.add_member(s, actor, pid, annotator.id)
    series = (
        "FROM generate_series(1, :n) AS g(i)"
        if pg
        else "FROM (WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :n) "
        "SELECT i FROM g)"
    )
    image = "jsonb_build_object('image', '/i/' || i || '.png')" if pg else (
        "json_object('image', '/i/' || i || '.png')"
    )  # fmt: skip
    as_json = "CAST(:result AS jsonb)" if pg else ":result"
    false, true = ("false", "true") if pg else ("0", "1")
    now = bindparam("now", type_=UTCDateTime())
    started = time.perf_counter()
    with db.session() as s:
        s.execute(
            text(
                "INSERT INTO tasks (project_id, data, meta, gt_status, created_at, updated_at) "
                f"SELECT :p, {image}, {as_json.replace(':result', ':meta')}, 'none', :now, :now "
                f"{series}"
            ).bindparams(now),
            {"p": pid, "n": n, "meta": "{}", "now": utcnow()},
        )
        common = (
            "INSERT INTO annotations (task_id, project_id, completed_by_id, result, "
            "ground_truth, was_cancelled, revision, kind, review_status, created_at, updated_at) "
            "SELECT id, project_id, :who, {result}, {gt}, {false}, 1, 'manual', 'none', :now, :now "
            "FROM tasks WHERE project_id = :p {where}"
        )
        s.execute(
            text(common.format(result=as_json, gt=false, false=false, where="")).bindparams(now),
            {
                "p": pid,
                "who": annotator.id,
                "result": json.dumps([box(12, 10, 20, 20)]),
                "now": utcnow(),
            },
        )
        s.execute(
            text(
                common.format(
                    result=as_json, gt=true, false=false, where=f"AND id % {GT_EVERY} = 0"
                )
            ).bindparams(now),
            {
                "p": pid,
                "who": lead.id,
                "result": json.dumps([box(10, 10, 20, 20)]),
                "now": utcnow(),
            },
        )
        s.execute(
            text(
                "INSERT INTO predictions (task_id, project_id, model_version, score, result, "
                f"created_at, updated_at) SELECT id, project_id, 'm1', 0.8, {as_json}, :now, :now "
                "FROM tasks WHERE project_id = :p"
            ).bindparams(now),
            {"p": pid, "result": json.dumps([box(11, 10, 20, 20)]), "now": utcnow()},
        )
    if pg:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))  # as autovacuum leaves a loaded table
    generated = time.perf_counter() - started
    log(f"  generated {n} tasks in {generated:.1f} s; recomputing")
    started = time.perf_counter()
    quality.recompute_project(db, pid)
    recompute = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with db.session(write=False) as s:
        rows = s.execute(
            text(
                "SELECT a.id, a.task_id, a.ground_truth FROM annotations a "
                "WHERE a.project_id = :p AND a.completed_by_id = :who AND a.task_id % 7 = 0 "
                "ORDER BY a.task_id LIMIT 5000"
            ),
            {"p": pid, "who": annotator.id},
        ).all()
    db.dispose()
    return {
        "project_id": pid,
        "lead_token": lead_token,
        "generate_s": generated,
        "recompute_s": recompute,
        "recompute_peak_rss_mib": peak,
        # annotator's annotations on tasks with a GT (rescore) and without one (GT star)
        "on_gt": [a for a, t, _ in rows if t % GT_EVERY == 0],
        "without_gt": [(a, t) for a, t, _ in rows if t % GT_EVERY != 0],
    }


def timed(call: Callable[[], httpx.Response], expect: int) -> float:
    started = time.perf_counter()
    r = call()
    took = time.perf_counter() - started
    if r.status_code != expect:
        raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}")
    return 1000 * took


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "n": len(ordered),
    }


def measure(base: str, data: dict[str, Any], n: int, requests: int) -> dict[str, Any]:
    rng = random.Random(2026)
    pid = data["project_id"]
    pages = max(1, -(-n // 100))
    out: dict[str, Any] = {}
    with httpx.Client(
        base_url=base,
        headers={"Authorization": f"Token {data['lead_token']}"},
        timeout=600,
        trust_env=False,
    ) as http:
        http.get(f"/api/projects/{pid}")  # warm
        kinds: dict[str, Callable[[int], float]] = {
            "project": lambda _i: timed(lambda: http.get(f"/api/projects/{pid}"), 200),
            "list": lambda _i: timed(
                lambda: http.get(
                    "/api/tasks",
                    params={"project": pid, "page": rng.randint(1, pages), "page_size": 100},
                ),
                200,
            ),
            "list_last_page": lambda _i: timed(
                lambda: http.get(
                    "/api/tasks", params={"project": pid, "page": pages, "page_size": 100}
                ),
                200,
            ),
            "dashboard": lambda _i: timed(lambda: http.get(f"/api/projects/{pid}/dashboard"), 200),
            "gt_star": lambda i: timed(
                lambda: http.patch(
                    f"/api/annotations/{data['without_gt'][i][0]}", json={"ground_truth": True}
                ),
                200,
            ),
            "rescore": lambda i: timed(
                lambda: http.patch(
                    f"/api/annotations/{data['on_gt'][i]}",
                    json={"result": [box(10 + rng.uniform(0, 5), 10, 20, 20)]},
                ),
                200,
            ),
        }
        for kind, call in kinds.items():
            log(f"  {kind}")
            out[kind] = stats([call(i) for i in range(requests)])
    return out


def run_backend(backend: str, n: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, temp_database(backend, Path(tmp)) as url:
        log(f"{backend}: generating {n} tasks")
        data = generate(url, n)
        env = server_env(Path(tmp) / "data", url)
        with running_server(env, Path(tmp) / "serve.log") as server:
            server.settle()
            result = measure(server.url, data, n, requests)
        for key in ("generate_s", "recompute_s", "recompute_peak_rss_mib"):
            result[key] = data[key]
    return result


def format_table(result: dict[str, Any]) -> str:
    backends = [b for b in BACKENDS if b in result["backends"]]
    rows = [("metric", *backends)]
    for kind in ("project", "list", "list_last_page", "dashboard", "gt_star", "rescore"):
        rows.append(
            (
                f"{kind} p50 / p95 ms",
                *(
                    f"{result['backends'][b][kind]['p50_ms']:.1f} / "
                    f"{result['backends'][b][kind]['p95_ms']:.1f}"
                    for b in backends
                ),
            )
        )
    for key, unit in (("generate_s", "s"), ("recompute_s", "s"), ("recompute_peak_rss_mib", "MiB")):
        rows.append((key, *(f"{result['backends'][b][key]:.1f} {unit}" for b in backends)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return f"{result['tasks']} tasks\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"tasks": args.tasks, "requests": args.requests, "backends": {}}
    for backend in args.backend or BACKENDS:
        result["backends"][backend] = run_backend(backend, args.tasks, args.requests)
    result["timestamp"] = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"million-{result['timestamp']}.json"
    path.write_text(json.dumps(result, indent=2))
    print(format_table(result))
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
