"""The metrics table: each row's value, Label Studio reference, target and verdict; JSON output.

Label Studio is not run here: its numbers are constants from issue "Foundation" item 9
(Label Studio 1.23 Community, dev server, SQLite, same machine kind, measured by the project).
Targets are 10x better than those numbers and are judged on SQLite; PostgreSQL is reported
beside them, with its own verdict in brackets.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assay_bench.results import BackendResult, Scale
from assay_bench.server import ROOT
from assay_bench.workload import Latency

BACKENDS = ("sqlite", "postgresql")
REFERENCE_SOURCE = (
    "Label Studio 1.23 Community (dev server, SQLite) numbers are constants from issue "
    "'Foundation' item 9, measured by the project on the same machine kind; "
    "Label Studio is not run by this benchmark."
)
NOISY_SHARE = 0.10  # above this share of CPU used by other processes, a run is flagged
SPEEDUP = 10.0  # the target: 10x better than Label Studio on each metric, on SQLite

Value = Callable[[BackendResult], float | None]


@dataclass(frozen=True)
class Metric:
    """One row. `reference` is Label Studio's number (None: it has none); the target follows."""

    key: str
    label: str
    unit: str  # "s", "ms", "/s", "MiB" or "" (a count)
    value: Value
    reference: float | None = None
    reference_text: str | None = None  # when the issue gives a range, e.g. "28-35 s"
    higher_is_better: bool = False
    exact_target: float | None = None  # instead of 10x the reference, e.g. 0 errors
    note: Callable[[BackendResult], str | None] | None = None  # e.g. a series stopped early

    @property
    def target(self) -> float | None:
        if self.exact_target is not None:
            return self.exact_target
        if self.reference is None:
            return None
        return self.reference * SPEEDUP if self.higher_is_better else self.reference / SPEEDUP

    def met(self, value: float | None) -> bool | None:
        if value is None or self.target is None:
            return None
        return value >= self.target if self.higher_is_better else value <= self.target

    def judge(self, result: BackendResult | None) -> bool | None:
        """The verdict on one backend's result; a series that only timed out misses its target."""
        if result is None:
            return None
        value = self.value(result)
        if value is None and self.note is not None and self.note(result) == "timeout":
            return False if self.target is not None else None
        return self.met(value)

    def speedup(self, value: float | None) -> float | None:
        if value is None or self.reference is None or self.exact_target is not None or value <= 0:
            return None
        return value / self.reference if self.higher_is_better else self.reference / value


def _lat(name: str, stat: str, scale_ms: bool = True) -> Value:
    def get(r: BackendResult) -> float | None:
        run: Latency | None = getattr(r, name)
        v = getattr(run, stat) if run is not None else None
        if v is None:
            return None
        return v * 1000 if scale_ms else v

    return get


def _lat_note(name: str) -> Callable[[BackendResult], str | None]:
    """ "timeout" when no request of the series succeeded, "n=K" when it stopped early."""

    def get(r: BackendResult) -> str | None:
        run: Latency | None = getattr(r, name)
        if run is None or not run.stopped:
            return None
        if run.p50_s is None:
            return "timeout" if "took over" in run.stopped else "no answer"
        return f"n={run.requests - run.errors}"

    return get


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def metrics(scale: Scale) -> list[Metric]:
    small, large = _size(scale.batch), _size(scale.total)
    grow = scale.batches - 1
    w_seq, w_conc, n = scale.sequential_writes, scale.concurrent_writes, scale.concurrency
    return [
        Metric("import_s", f"import {small} tasks (1 request)", "s",
               lambda r: r.first_import_s, reference=14.7),
        Metric("import_growth_mean_s", f"import {small} more, mean of {grow} ({small}->{large})",
               "s", lambda r: _mean(r.growth_imports_s)),
        Metric("import_growth_max_s", f"import {small} more, slowest of {grow}", "s",
               lambda r: max(r.growth_imports_s, default=None)),
        Metric("list_small_p50_ms", f"list page_size=100 p50 @{small}", "ms",
               _lat("list_small", "p50_s"), note=_lat_note("list_small")),
        Metric("list_small_p95_ms", f"list page_size=100 p95 @{small}", "ms",
               _lat("list_small", "p95_s"), note=_lat_note("list_small"), reference=400, reference_text="~400 ms"),
        Metric("list_large_p50_ms", f"list page_size=100 p50 @{large}", "ms",
               _lat("list_large", "p50_s"), note=_lat_note("list_large")),
        Metric("list_large_p95_ms", f"list page_size=100 p95 @{large}", "ms",
               _lat("list_large", "p95_s"), note=_lat_note("list_large"), reference=400, reference_text="~400 ms"),
        Metric("export_s", f"export {small} tasks JSON (full body)", "s",
               lambda r: r.export.seconds if r.export else None, reference=14.1),
        Metric("export_mib", "export body size", "MiB",
               lambda r: r.export.mib if r.export else None),
        Metric("writes_seq_per_s", f"annotation create, 1 client ({w_seq} req)", "/s",
               _lat("writes_sequential", "per_s", scale_ms=False), reference=20,
               reference_text="~20/s", higher_is_better=True),
        Metric("writes_seq_p50_ms", "  p50 latency, 1 client", "ms",
               _lat("writes_sequential", "p50_s")),
        Metric("writes_seq_p95_ms", "  p95 latency, 1 client", "ms",
               _lat("writes_sequential", "p95_s")),
        Metric("writes_conc_per_s", f"annotation create, {n} clients ({w_conc} req)", "/s",
               _lat("writes_concurrent", "per_s", scale_ms=False), reference=20,
               reference_text="~20/s (no gain)", higher_is_better=True),
        Metric("writes_conc_p50_ms", f"  p50 latency, {n} clients", "ms",
               _lat("writes_concurrent", "p50_s")),
        Metric("writes_conc_p95_ms", f"  p95 latency, {n} clients", "ms",
               _lat("writes_concurrent", "p95_s")),
        Metric("write_errors", "annotation create errors", "",
               lambda r: r.write_errors, exact_target=0),
        Metric("cold_start_s", "start, cold (new database, migrations)", "s",
               lambda r: r.cold_start_s, reference=28, reference_text="28-35 s"),
        Metric("warm_start_s", "start, warm (existing database)", "s",
               lambda r: r.warm_start_s, reference=28, reference_text="28-35 s"),
        # issue #20 set <= 80 MiB (the first issue's tenth of Label Studio's 350 was out of reach)
        Metric("idle_rss_mib", "idle RSS after start", "MiB",
               lambda r: r.idle_rss_mib, reference=350, exact_target=80),
        Metric("rss_after_mib", "RSS after the workload", "MiB", lambda r: r.rss_after_mib),
    ]  # fmt: skip


def _size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "/s":
        return f"{value:.0f}/s"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:g}"


def _cell(metric: Metric, result: BackendResult | None) -> str:
    if result is None:
        return "not run"
    value = metric.value(result)
    note = metric.note(result) if metric.note else None
    if value is None:
        return note or ("error" if result.error else "-")
    text = fmt(value, metric.unit)
    speedup = metric.speedup(value)
    if speedup is not None and speedup >= 1.5:
        text += f" ({speedup:.0f}x)"
    return escape(f"{text} [{note}]") if note else text  # brackets are rich markup otherwise


def _target_text(metric: Metric) -> str:
    if metric.target is None:
        return "-"
    op = ">=" if metric.higher_is_better else "<="
    return f"{op} {fmt(metric.target, metric.unit)}" if metric.unit else f"= {metric.target:g}"


def _verdict(metric: Metric, results: dict[str, BackendResult], quick: bool) -> str:
    if metric.target is None:
        return "-"
    if quick:
        return "n/a (quick)"
    words = {True: "yes", False: "NO", None: "-"}
    text = words[metric.judge(results.get("sqlite"))]
    if "postgresql" in results:
        text += f" (PG {words[metric.judge(results['postgresql'])]})"
    return text


def print_table(results: dict[str, BackendResult], scale: Scale, console: Console) -> None:
    title = f"assay Foundation benchmark ({scale.name} scale, {os.cpu_count()} cores)"
    table = Table(title=title, title_justify="left")
    for header in ("metric", "assay SQLite", "assay PostgreSQL", "Label Studio 1.23 (ref)"):
        table.add_column(header, justify="left" if header == "metric" else "right")
    table.add_column("target", justify="right")
    table.add_column("met?", justify="left")
    for metric in metrics(scale):
        ref = metric.reference_text or (
            fmt(metric.reference, metric.unit) if metric.reference is not None else "-"
        )
        table.add_row(
            metric.label,
            _cell(metric, results.get("sqlite")),
            _cell(metric, results.get("postgresql")),
            ref,
            _target_text(metric),
            _verdict(metric, results, scale.name == "quick"),
        )
    console.print(table)
    console.print(f"(x) = times better than Label Studio. {REFERENCE_SOURCE}", soft_wrap=True)
    for name, result in results.items():
        share = result.foreign_cpu_share
        if share is not None:
            warn = " [yellow](busy machine: treat these numbers as pessimistic)[/yellow]"
            console.print(
                f"{name}: other processes used {share:.0%} of the CPUs during the run"
                + (warn if share > NOISY_SHARE else ""),
                soft_wrap=True,
            )
        if result.server_cpu_s:
            console.print(f"{name}: server CPU {cpu_summary(result)}", soft_wrap=True)
        if result.error:
            console.print(f"[red]{name} run failed:[/red] {result.error}", soft_wrap=True)


def cpu_summary(result: BackendResult) -> str:
    """The server's CPU time per phase, per request for request series; steadier than wall time."""
    cpu = result.server_cpu_s
    parts = []
    for phase, label in (("import", "import"), ("export", "export")):
        if phase in cpu:
            parts.append(f"{label} {cpu[phase]:.2f} s")
    for phase, label in (
        ("list_small", "list small"),
        ("list_large", "list large"),
        ("writes_sequential", "write"),
    ):
        run: Latency | None = getattr(result, phase)
        if phase in cpu and run is not None and run.requests:
            parts.append(f"{label} {cpu[phase] / run.requests * 1000:.1f} ms/request")
    return ", ".join(parts)


def write_json(
    results: dict[str, BackendResult], scale: Scale, started: datetime, folder: Path
) -> Path:
    """Write foundation-<timestamp>.json and latest.json into `folder`; return the first path."""
    rows = []
    for metric in metrics(scale):
        row: dict[str, Any] = {
            "key": metric.key,
            "label": metric.label,
            "unit": metric.unit,
            "label_studio_reference": metric.reference,
            "target": metric.target,
            "higher_is_better": metric.higher_is_better,
        }
        for name in BACKENDS:
            result = results.get(name)
            value = metric.value(result) if result else None
            row[name] = value
            row[f"met_{name}"] = None if scale.name == "quick" else metric.judge(result)
        rows.append(row)
    payload = {
        "benchmark": "foundation",
        "started_at": started.isoformat(),
        "scale": asdict(scale),
        "machine": machine(),
        "reference_source": REFERENCE_SOURCE,
        "metrics": rows,
        "backends": {name: r.to_json() for name, r in results.items()},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"foundation-{started.strftime('%Y%m%d-%H%M%S')}.json"
    text = json.dumps(payload, indent=2) + "\n"
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()
