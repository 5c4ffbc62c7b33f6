"""What a run measures (Scale) and what it found on one backend (BackendResult)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from assay_bench.workload import Export, Latency


@dataclass(frozen=True)
class Scale:
    """How much work one backend gets. `FULL` is the issue's workload; `QUICK` a smoke run."""

    name: str
    batch: int  # tasks per import request
    batches: int  # import requests in all; batch * batches tasks at the end
    list_requests: int  # list requests at each of the two project sizes
    sequential_writes: int
    concurrent_writes: int
    concurrency: int

    @property
    def total(self) -> int:
        return self.batch * self.batches


FULL = Scale("full", 10_000, 10, 200, 500, 2000, 8)
QUICK = Scale("quick", 1_000, 3, 40, 60, 160, 8)


@dataclass
class BackendResult:
    """Every number one backend produced; None where the run stopped before measuring it.

    Durations are seconds, memory MiB. `import_batches_s` holds every import request in order:
    the first one fills the empty project, the rest grow it to `Scale.total` tasks.
    """

    backend: str
    cold_start_s: float | None = None
    warm_start_s: float | None = None
    idle_rss_mib: float | None = None
    import_batches_s: list[float] = field(default_factory=list)
    list_small: Latency | None = None
    export: Export | None = None
    writes_sequential: Latency | None = None
    writes_concurrent: Latency | None = None
    list_large: Latency | None = None
    rss_after_mib: float | None = None
    foreign_cpu_share: float | None = None  # CPU other processes used, 0..1 of all cores
    # CPU seconds the server process spent per phase (SQLite's work included, PostgreSQL's not):
    # steadier than wall times on a busy machine, so better for comparing runs over time.
    server_cpu_s: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def first_import_s(self) -> float | None:
        return self.import_batches_s[0] if self.import_batches_s else None

    @property
    def growth_imports_s(self) -> list[float]:
        return self.import_batches_s[1:]

    @property
    def write_errors(self) -> int | None:
        runs = [r for r in (self.writes_sequential, self.writes_concurrent) if r is not None]
        return sum(r.errors for r in runs) if runs else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("list_small", "list_large", "writes_sequential", "writes_concurrent"):
            run: Latency | None = getattr(self, name)
            if run is not None:
                out[name]["per_s"] = run.per_s
        return out
