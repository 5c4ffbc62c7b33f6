"""`make bench`: the Foundation benchmark (issue "Foundation" item 9) against a real `assay serve`.

    .venv/bin/python benchmarks/run.py                      # full run, SQLite then PostgreSQL
    .venv/bin/python benchmarks/run.py --quick              # smoke run, about a minute
    .venv/bin/python benchmarks/run.py --backend sqlite     # or postgresql, or both (default)

Per backend: a fresh database (PostgreSQL: a database `assay_bench_<random>` of its own on the
server at ASSAY_TEST_PG_URL, dropped at the end), a cold start, `assay user add`, a warm start,
then the workload over HTTP on 127.0.0.1. Prints a table and writes
benchmarks/results/foundation-<timestamp>.json and benchmarks/results/latest.json.
See benchmarks/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from assay_bench import workload
from assay_bench.monitor import ForeignLoad
from assay_bench.report import BACKENDS, print_table, write_json
from assay_bench.results import FULL, QUICK, BackendResult, Scale
from assay_bench.server import (
    Server,
    add_admin,
    cancel_queries,
    database_name,
    running_server,
    server_env,
    temp_database,
)
from rich.console import Console
from rich.markup import escape

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN_EMAIL = "bench-admin@example.com"
IDLE_SETTLE_S = 1.0  # wait after the first 200 on /health before reading idle RSS
err = Console(stderr=True, highlight=False, soft_wrap=True)


def log(backend: str, message: str) -> None:
    err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {escape(f'[{backend}]')} {message}")


def run_backend(backend: str, scale: Scale, seed: int) -> BackendResult:
    """Everything on one backend; an error ends this backend's run and is kept in the result."""
    result = BackendResult(backend)
    try:
        with (
            tempfile.TemporaryDirectory(prefix=f"assay-bench-{backend}-") as tmp,
            temp_database(backend, Path(tmp)) as url,
        ):
            noise = ForeignLoad(own_database=database_name(url))
            try:
                with noise:
                    run_server_phases(Path(tmp), url, scale, seed, result)
            finally:
                result.foreign_cpu_share = noise.share
                log(backend, f"other processes used {noise.share:.0%} of the CPUs meanwhile")
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        log(backend, f"[red]failed:[/red] {escape(traceback.format_exc())}")
    return result


def run_server_phases(tmp: Path, url: str, scale: Scale, seed: int, result: BackendResult) -> None:
    """Cold start on the new database, add the admin, warm start, idle RSS, workload, RSS."""
    backend = result.backend
    env = server_env(tmp / "data", url)
    server_log = tmp / "server.log"
    with running_server(env, server_log) as server:
        result.cold_start_s = server.startup_s
    log(backend, f"cold start {result.cold_start_s:.2f} s")
    token = add_admin(env, ADMIN_EMAIL)
    with running_server(env, server_log) as server:
        result.warm_start_s = server.startup_s
        time.sleep(IDLE_SETTLE_S)
        result.idle_rss_mib = server.rss_mib()
        log(backend, f"warm start {result.warm_start_s:.2f} s, idle RSS "
                     f"{result.idle_rss_mib:.0f} MiB")  # fmt: skip
        run_workload(server, token, scale, random.Random(seed), result, database_name(url))
        result.rss_after_mib = server.rss_mib()


@contextmanager
def server_cpu(server: Server, result: BackendResult, phase: str) -> Iterator[None]:
    """Record the server's CPU seconds spent inside the block as `result.server_cpu_s[phase]`."""
    before = server.cpu_s()
    try:
        yield
    finally:
        result.server_cpu_s[phase] = round(server.cpu_s() - before, 3)


def run_workload(
    server: Server,
    token: str,
    scale: Scale,
    rng: random.Random,
    result: BackendResult,
    database: str | None = None,
) -> None:
    """Import, list, export and annotate at `scale.batch` tasks; grow to `scale.total`; list."""
    name = result.backend
    with workload.client(server.url, token) as http:
        project = workload.create_project(http)
        body = workload.task_batch(rng, 0, scale.batch)
        with server_cpu(server, result, "import"):
            seconds, task_ids = workload.import_tasks(http, project, body, scale.batch)
        result.import_batches_s.append(seconds)
        log(name, f"import {scale.batch} tasks: {seconds:.2f} s")

        with server_cpu(server, result, "list_small"):
            result.list_small = workload.list_pages(
                http, project, scale.batch, scale.list_requests, rng
            )
        log(name, f"list @{scale.batch}: {workload.describe(result.list_small)}")
        settle_after(server, result.list_small, database, name)

        with server_cpu(server, result, "export"):
            result.export = workload.export_json(http, project, scale.batch)
        log(name, f"export {scale.batch} tasks: {result.export.seconds:.2f} s, "
                  f"{result.export.mib:.1f} MiB")  # fmt: skip

        for attr, total, clients in (
            ("writes_sequential", scale.sequential_writes, 1),
            ("writes_concurrent", scale.concurrent_writes, scale.concurrency),
        ):
            with server_cpu(server, result, attr):
                run = workload.write_annotations(server.url, token, task_ids, total, clients, rng)
            setattr(result, attr, run)
            log(name, f"annotation create, {clients} client(s): {workload.describe(run)}")

        with server_cpu(server, result, "import_growth"):
            for n in range(1, scale.batches):
                body = workload.task_batch(rng, n * scale.batch, scale.batch)
                seconds, _ = workload.import_tasks(http, project, body, scale.batch)
                result.import_batches_s.append(seconds)
                log(name, f"import batch {n + 1}/{scale.batches}: {seconds:.2f} s "
                          f"(project now {(n + 1) * scale.batch} tasks)")  # fmt: skip

        with server_cpu(server, result, "list_large"):
            result.list_large = workload.list_pages(
                http, project, scale.total, scale.list_requests, rng
            )
        log(name, f"list @{scale.total}: {workload.describe(result.list_large)}")
        settle_after(server, result.list_large, database, name)


def settle_after(server: Server, run: workload.Latency, database: str | None, name: str) -> None:
    """After a series that ended on a timeout, stop the abandoned query and let the server idle,
    so that the next phase is not measured against a query nobody waits for."""
    if run.stopped is None or not run.errors:
        return
    cancelled = cancel_queries(database) if database else 0
    waited = server.settle()
    log(name, f"abandoned request: cancelled {cancelled} running queries, waited {waited:.1f} s "
              "for the server to go idle")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (1k-task batches)")
    parser.add_argument(
        "--backend", choices=(*BACKENDS, "both"), default="both", help="default: both"
    )
    parser.add_argument("--seed", type=int, default=9, help="seed of the synthetic data")
    return parser.parse_args(argv)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so every `finally` cleans up


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    scale = QUICK if args.quick else FULL
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    started = datetime.now(UTC)
    results = {name: run_backend(name, scale, args.seed) for name in backends}
    print_table(results, scale, Console(width=None if sys.stdout.isatty() else 160))
    path = write_json(results, scale, started, RESULTS)
    err.print(f"results: {path} (and {RESULTS / 'latest.json'})")
    return 1 if any(r.error for r in results.values()) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        err.print("interrupted: the server was stopped and the temporary database dropped")
        sys.exit(130)
