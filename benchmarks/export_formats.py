"""Export time and peak memory of COCO, CSV and Label Studio JSON at growing project sizes.

    .venv/bin/python benchmarks/export_formats.py            # 10k, 50k, 100k tasks (SQLite)
    .venv/bin/python benchmarks/export_formats.py --quick    # 1k, 5k
    .venv/bin/python benchmarks/export_formats.py --backend postgresql

One project grows to each size (tasks with one annotation of 5 boxes and one prediction);
at each size every export runs in a fresh child process that streams to a file, so its peak
RSS (ru_maxrss) is the export's alone. Memory should stay flat as the project grows. Prints a
table and writes benchmarks/results/export_formats-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image">
<Label value="Zebra"/><Label value="Elephant"/><Label value="Giraffe"/><Label value="Buffalo"/>
</RectangleLabels></View>"""
LABELS = ["Zebra", "Elephant", "Giraffe", "Buffalo"]
KINDS = ("COCO", "CSV", "JSON")
err = Console(stderr=True, highlight=False)


def _box(rng: random.Random, score: float | None = None) -> dict:
    x, y = rng.uniform(0, 90), rng.uniform(0, 90)
    item = {
        "from_name": "label", "to_name": "image", "type": "rectanglelabels",
        "original_width": 1600, "original_height": 1200,
        "value": {"x": x, "y": y, "width": rng.uniform(1, 10), "height": rng.uniform(1, 10),
                  "rotation": 0, "rectanglelabels": [rng.choice(LABELS)]},
    }  # fmt: skip
    if score is not None:
        item["score"] = score
    return item


def grow(db, actor, project_id: int, start: int, stop: int, seed: int) -> None:
    from assay.services import tasks

    rng = random.Random(seed + start)
    step = 5000
    for lo in range(start, stop, step):
        items = [
            {
                "data": {"image": f"https://cdn.example.com/survey/img_{i:07d}.jpg"},
                "annotations": [{"result": [_box(rng) for _ in range(5)]}],
                "predictions": [
                    {"result": [_box(rng, rng.random()) for _ in range(5)], "model_version": "m1"}
                ],
            }
            for i in range(lo, min(lo + step, stop))
        ]
        with db.session() as s:
            tasks.import_tasks(s, actor, project_id, items)


def child(url: str, project_id: int, kind: str, out: str) -> None:
    """Stream one export to a file; print seconds, bytes and peak RSS as JSON."""
    from assay.services.access import Actor, Role
    from assay.services.io import exporting
    from assay.store.db import Database

    db = Database.connect(url)
    actor = Actor(1, Role.ADMIN)
    flt = exporting.ExportFilter(all_tasks=True)
    start = time.perf_counter()
    size = 0
    with open(out, "wb") as f:
        for chunk in exporting.open_export(db, actor, project_id, kind, flt).chunks:
            f.write(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "bytes": size, "peak_rss_mib": peak_mib}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--child", nargs=4, metavar=("URL", "PROJECT", "KIND", "OUT"))
    args = parser.parse_args()
    if args.child:
        url, project, kind, out = args.child
        child(url, int(project), kind, out)
        return 0

    from sqlalchemy import create_engine, text

    from assay.app import wire_services
    from assay.services import projects, users
    from assay.services.access import Actor, Role
    from assay.store.db import Database

    sizes = [1_000, 5_000] if args.quick else [10_000, 50_000, 100_000]
    rows = []
    with tempfile.TemporaryDirectory(prefix="assay-export-bench-") as tmp:
        pg_admin = pg_name = None
        if args.backend == "sqlite":
            url = f"sqlite:///{tmp}/bench.db"
        else:
            import os

            base = os.environ.get(
                "ASSAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
            )
            pg_name = f"assay_export_bench_{uuid.uuid4().hex[:8]}"
            pg_admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with pg_admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{pg_name}"'))
            url = base.rsplit("/", 1)[0] + "/" + pg_name
        try:
            wire_services()
            db = Database.connect(url)
            from assay.store.migrate import upgrade

            upgrade(db.engine)
            with db.session() as s:
                admin, _ = users.create_user(s, "bench@example.com", "admin")
                actor = Actor(admin.id, Role.ADMIN)
                project = projects.create_project(s, actor, title="bench", label_config=CONFIG)
                project_id = project.id
            have = 0
            for n in sizes:
                err.print(f"growing the project to {n:,} tasks")
                grow(db, actor, project_id, have, n, seed=7)
                have = n
                for kind in KINDS:
                    out = f"{tmp}/export.{kind.lower()}"
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", url, str(project_id), kind, out],
                        capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    r = json.loads(done.stdout.strip().splitlines()[-1])
                    rows.append({"tasks": n, "format": kind, **r})
                    err.print(
                        f"  {kind:<5} {r['seconds']:6.2f} s  {r['bytes'] / 1e6:7.1f} MB  "
                        f"peak RSS {r['peak_rss_mib']:.0f} MiB"
                    )
            db.engine.dispose()
        finally:
            if pg_admin is not None:
                with pg_admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    table = Table(title=f"Export, {args.backend}: time and peak memory by project size")
    for col in ("tasks", "format", "seconds", "tasks/s", "output MB", "peak RSS MiB"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            f"{r['tasks']:,}", r["format"], f"{r['seconds']:.2f}",
            f"{r['tasks'] / r['seconds']:,.0f}", f"{r['bytes'] / 1e6:.1f}",
            f"{r['peak_rss_mib']:.0f}",
        )  # fmt: skip
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = {"benchmark": "export_formats", "backend": args.backend, "at": stamp, "rows": rows}
    (RESULTS / f"export_formats-{stamp}.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
