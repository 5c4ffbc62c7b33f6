"""The Foundation workload: synthetic Label Studio tasks and one function per measured request kind.

Every function talks HTTP to a real server through httpx, checks the answers (status, counts,
JSON shape) and returns durations in seconds; latencies are kept per request for percentiles.
Request bodies are serialised before the clock starts, so client-side JSON encoding is not timed.
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

LABEL_CONFIG = (
    '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
    '<Label value="Elephant"/><Label value="Zebra"/><Label value="Giraffe"/>'
    '<Label value="Buffalo"/></RectangleLabels></View>'
)
LABELS = ("Elephant", "Zebra", "Giraffe", "Buffalo")
BOXES_PER_RESULT = 5
PAGE_SIZE = 100
JSON_HEADERS = {"Content-Type": "application/json"}
LONG_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
SHORT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
LIST_BUDGET_S = 30.0  # most time one series of list requests may take
LIST_TIMEOUT_S = 30.0  # a list request slower than this ends its series


class CheckFailed(RuntimeError):
    """The server answered, but not what the benchmark expected; the run is not valid."""


@dataclass(frozen=True)
class Latency:
    """Outcome of a series of requests; latencies in seconds, of the successful requests only.

    `stopped` says why a series ended before its planned number of requests (time budget
    spent, or a request timed out); percentiles are None when no request succeeded.
    """

    planned: int
    requests: int
    errors: int
    wall_s: float
    p50_s: float | None
    p95_s: float | None
    max_s: float | None
    stopped: str | None = None

    @property
    def per_s(self) -> float:
        """Successful requests per second of wall time."""
        return (self.requests - self.errors) / self.wall_s if self.wall_s > 0 else 0.0

    @classmethod
    def of(
        cls,
        latencies: list[float],
        errors: int,
        wall_s: float,
        planned: int,
        stopped: str | None = None,
    ) -> Latency:
        return cls(
            planned=planned,
            requests=len(latencies) + errors,
            errors=errors,
            wall_s=wall_s,
            p50_s=statistics.median(latencies) if latencies else None,
            p95_s=percentile(latencies, 95) if latencies else None,
            max_s=max(latencies) if latencies else None,
            stopped=stopped,
        )


def describe(run: Latency) -> str:
    """One log line: rate, percentiles, errors, and why the series stopped early if it did."""

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1000:.1f} ms"

    text = (
        f"{run.requests} requests, {run.per_s:.0f}/s, p50 {ms(run.p50_s)}, p95 {ms(run.p95_s)}, "
        f"{run.errors} errors"
    )
    return f"{text}; stopped early: {run.stopped}" if run.stopped else text


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q % of values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# --- synthetic Label Studio data -------------------------------------------------------------


def box_region(rng: random.Random, score: float | None = None) -> dict[str, Any]:
    """One rectanglelabels region on a 1600x1200 image; x, y, width, height in percent."""
    width, height = rng.uniform(2.0, 25.0), rng.uniform(2.0, 25.0)
    region: dict[str, Any] = {
        "id": f"{rng.getrandbits(40):010x}",
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 1600,
        "original_height": 1200,
        "image_rotation": 0,
        "value": {
            "x": round(rng.uniform(0.0, 100.0 - width), 4),
            "y": round(rng.uniform(0.0, 100.0 - height), 4),
            "width": round(width, 4),
            "height": round(height, 4),
            "rotation": 0,
            "rectanglelabels": [rng.choice(LABELS)],
        },
    }
    if score is not None:
        region["score"] = score
    return region


def boxes(rng: random.Random, scored: bool = False) -> list[dict[str, Any]]:
    return [
        box_region(rng, round(rng.uniform(0.3, 1.0), 3) if scored else None)
        for _ in range(BOXES_PER_RESULT)
    ]


def task_batch(rng: random.Random, start: int, count: int) -> bytes:
    """`count` tasks as a JSON body, each with one annotation and one prediction of 5 boxes."""
    tasks = [
        {
            "data": {"image": f"/data/local-files/?d=survey/img_{i:06d}.jpg"},
            "annotations": [{"result": boxes(rng), "lead_time": round(rng.uniform(5, 60), 1)}],
            "predictions": [
                {
                    "model_version": "bench-detector-v1",
                    "score": round(rng.uniform(0.3, 1.0), 3),
                    "result": boxes(rng, scored=True),
                }
            ],
        }
        for i in range(start, start + count)
    ]
    return json.dumps(tasks).encode()


# --- one function per measured request kind -------------------------------------------------


def client(base_url: str, token: str, timeout: httpx.Timeout = SHORT_TIMEOUT) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Token {token}"}, timeout=timeout
    )


def create_project(http: httpx.Client) -> int:
    r = http.post("/api/projects", json={"title": "Foundation bench", "label_config": LABEL_CONFIG})
    _expect(r, 201, "POST /api/projects")
    return int(r.json()["id"])


def import_tasks(
    http: httpx.Client, project_id: int, body: bytes, count: int
) -> tuple[float, list[int]]:
    """One POST /api/projects/{id}/import?return_task_ids=true; returns (seconds, task ids)."""
    started = time.perf_counter()
    r = http.post(
        f"/api/projects/{project_id}/import",
        params={"return_task_ids": "true"},
        content=body,
        headers=JSON_HEADERS,
        timeout=LONG_TIMEOUT,
    )
    elapsed = time.perf_counter() - started
    _expect(r, 201, "import")
    answer = r.json()
    ids = answer.get("task_ids") or []
    if answer.get("task_count") != count or len(ids) != count:
        raise CheckFailed(f"import: expected {count} tasks, got {answer.get('task_count')}")
    if answer.get("annotation_count") != count or answer.get("prediction_count") != count:
        raise CheckFailed(f"import: expected {count} annotations and predictions, got {answer}")
    return elapsed, ids


def list_pages(
    http: httpx.Client,
    project_id: int,
    total: int,
    requests: int,
    rng: random.Random,
    budget_s: float = LIST_BUDGET_S,
) -> Latency:
    """GET /api/tasks?project=&page=&page_size=100 at random pages, one client, sequential.

    Stops early, saying why in `stopped`, once `budget_s` seconds are spent or a request takes
    longer than LIST_TIMEOUT_S: a pathologically slow list must not stall the whole run.
    """
    pages = total // PAGE_SIZE
    latencies: list[float] = []
    errors = 0
    stopped = None
    started = time.perf_counter()
    for done in range(requests):
        if time.perf_counter() - started > budget_s:
            stopped = f"time budget of {budget_s:.0f} s spent after {done} requests"
            break
        page = rng.randint(1, pages)
        t0 = time.perf_counter()
        try:
            r = http.get(
                "/api/tasks",
                params={"project": project_id, "page": page, "page_size": PAGE_SIZE},
                timeout=httpx.Timeout(LIST_TIMEOUT_S, connect=10.0),
            )
        except httpx.TimeoutException:
            errors += 1
            stopped = f"a request took over {LIST_TIMEOUT_S:.0f} s"
            break
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            errors += 1
            continue
        answer = r.json()
        if len(answer["tasks"]) != PAGE_SIZE or answer["total"] != total:
            raise CheckFailed(
                f"list page {page}: {len(answer['tasks'])} tasks of {answer['total']}, "
                f"expected {PAGE_SIZE} of {total}"
            )
        latencies.append(elapsed)
    return Latency.of(latencies, errors, time.perf_counter() - started, requests, stopped)


@dataclass(frozen=True)
class Export:
    seconds: float  # request sent -> last byte read
    mib: float
    tasks: int


def export_json(http: httpx.Client, project_id: int, expected: int) -> Export:
    """GET /api/projects/{id}/export?exportType=JSON&download_all_tasks=true, whole body read."""
    started = time.perf_counter()
    with http.stream(
        "GET",
        f"/api/projects/{project_id}/export",
        params={"exportType": "JSON", "download_all_tasks": "true"},
        timeout=LONG_TIMEOUT,
    ) as r:
        body = r.read()
    elapsed = time.perf_counter() - started
    _expect(r, 200, "export")
    tasks = json.loads(body)
    if not isinstance(tasks, list) or len(tasks) != expected:
        raise CheckFailed(f"export: expected a list of {expected} tasks, got {len(tasks)}")
    sample = tasks[len(tasks) // 2]
    if len(sample["annotations"]) != 1 or len(sample["annotations"][0]["result"]) != 5:
        raise CheckFailed("export: a task lacks its annotation of 5 boxes")
    return Export(seconds=elapsed, mib=len(body) / 2**20, tasks=len(tasks))


def write_annotations(
    base_url: str,
    token: str,
    task_ids: list[int],
    total: int,
    concurrency: int,
    rng: random.Random,
) -> Latency:
    """POST /api/tasks/{id}/annotations with 5 boxes, `total` requests over `concurrency` threads.

    Each thread has its own httpx client and starts at the same barrier; wall time runs from
    the barrier to the last answer. An error is any answer but 201, or a transport error.
    """
    jobs = [
        (rng.choice(task_ids), json.dumps({"result": boxes(rng), "lead_time": 10.0}).encode())
        for _ in range(total)
    ]
    shares = [jobs[i::concurrency] for i in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    crashed: list[BaseException] = []
    barrier = threading.Barrier(concurrency + 1, timeout=60)

    def worker(n: int) -> None:
        try:
            with client(base_url, token) as http:
                http.get("/health")  # open the connection before the clock starts
                barrier.wait()
                for task_id, body in shares[n]:
                    elapsed = _post_annotation(http, task_id, body)
                    if elapsed is None:
                        errors[n] += 1
                    else:
                        latencies[n].append(elapsed)
        except BaseException as exc:
            crashed.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()  # broken when a writer failed before the start; reported below
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if crashed:
        raise CheckFailed(f"an annotation writer thread failed: {crashed[0]!r}") from crashed[0]
    return Latency.of([x for per in latencies for x in per], sum(errors), wall, total)


def _post_annotation(http: httpx.Client, task_id: int, body: bytes) -> float | None:
    """Seconds for one annotation create, or None when it failed (not 201, or no answer)."""
    t0 = time.perf_counter()
    try:
        r = http.post(f"/api/tasks/{task_id}/annotations", content=body, headers=JSON_HEADERS)
    except httpx.TransportError:
        return None
    elapsed = time.perf_counter() - t0
    if r.status_code != 201 or r.json().get("task") != task_id:
        return None
    return elapsed


def _expect(r: httpx.Response, status: int, what: str) -> None:
    if r.status_code != status:
        raise CheckFailed(f"{what}: HTTP {r.status_code}, expected {status}: {r.text[:300]}")
