"""How busy the machine was with work that is not the benchmark's, while the benchmark ran.

On a shared 2-core machine a test suite running beside the benchmark can double its latencies.
`ForeignLoad` samples every process's CPU time and adds up what went to processes outside the
benchmark: not this process or its children (the server), and not PostgreSQL's background
processes or its backends serving the benchmark's own database.
"""

from __future__ import annotations

import os
import re
import threading
import time

import psutil

# A PostgreSQL client backend's process title names its database and peer, e.g.
# "postgres: 15/main: postgres assay_bench_ab12 127.0.0.1(51234) idle".
_CLIENT_BACKEND = re.compile(r"\(\d+\)|\[local\]")


class ForeignLoad:
    """Context manager; `share` is the foreign CPU time over (wall time x CPU count), 0..1."""

    def __init__(self, own_database: str | None = None, interval_s: float = 2.0) -> None:
        self.own_database = own_database
        self.interval_s = interval_s
        self.cpu_s = 0.0
        self.wall_s = 0.0
        self._last: dict[int, float] = {}
        self._started = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="foreign-load", daemon=True)

    @property
    def share(self) -> float:
        cores = os.cpu_count() or 1
        return self.cpu_s / (self.wall_s * cores) if self.wall_s > 0 else 0.0

    def __enter__(self) -> ForeignLoad:
        self._started = time.time()
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall_s = time.time() - self._started

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        ours = self._own_pids()
        seen: dict[int, float] = {}
        for proc in psutil.process_iter(["pid", "name", "cmdline", "cpu_times", "create_time"]):
            info = proc.info
            times = info.get("cpu_times")
            if times is None or info["pid"] in ours or self._is_own_postgres(info):
                continue
            total = times.user + times.system
            seen[info["pid"]] = total
            if first:
                continue
            before = self._last.get(info["pid"])
            if before is not None:
                self.cpu_s += max(0.0, total - before)
            elif (info.get("create_time") or 0) >= self._started:
                self.cpu_s += total  # started during the run: all of its CPU time is inside it
        self._last = seen

    def _is_own_postgres(self, info: dict[str, object]) -> bool:
        name = str(info.get("name") or "")
        if not name.startswith("postgres"):
            return False
        title = " ".join(info.get("cmdline") or [])  # type: ignore[arg-type]
        if not _CLIENT_BACKEND.search(title):
            return True  # postmaster, WAL writer, checkpointer: shared, counted as the bench's
        return bool(self.own_database) and f" {self.own_database} " in f" {title} "

    @staticmethod
    def _own_pids() -> set[int]:
        me = psutil.Process()
        pids = {me.pid}
        for child in me.children(recursive=True):
            pids.add(child.pid)
        return pids
