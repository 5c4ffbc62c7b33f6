"""Peak memory of label-file imports of hostile zips (#16 M4), each in a fresh child process.

    .venv/bin/python benchmarks/zip_import_memory.py
    .venv/bin/python benchmarks/zip_import_memory.py --src ../other-checkout/src   # compare

Each case writes one crafted zip (a few hundred KiB that unpack to hundreds of MiB). A child
process opens the database, takes its peak RSS (ru_maxrss) as the baseline, runs
`label_files.import_files` on the zip as the API hands it over (an open file; a checkout whose
import takes bytes gets the bytes, as its API read the whole upload) and reports the outcome and
how much its peak RSS grew. `--src` runs the children on another checkout's `src` (the parent
builds the database with this one). Prints a table and writes
benchmarks/results/zip_import_memory-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Elephant"/></RectangleLabels></View>"""
COCO = json.dumps(
    {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]}],
        "categories": [{"id": 1, "name": "Elephant"}],
    }
).encode()
MIB = 1 << 20
err = Console(stderr=True, highlight=False)


def _zeros(z: zipfile.ZipFile, name: str, mib: int) -> None:
    chunk = bytes(MIB)
    with z.open(name, "w") as f:
        for _ in range(mib):
            f.write(chunk)


def _write_zip(path: Path, members: dict[str, int | bytes]) -> None:
    """members: name -> content, or a number of MiB of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, content in members.items():
            if isinstance(content, int):
                _zeros(z, name, content)
            else:
                z.writestr(name, content)


def _declare(path: Path, member: str, size: int) -> None:
    """Make the central directory state `size` as the member's uncompressed size (a lie)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        n = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + n].decode() == member:
            struct.pack_into("<L", data, at + 24, size)
            path.write_bytes(bytes(data))
            return
        at = data.find(b"PK\x01\x02", at + 4)
    raise KeyError(member)


def cases(folder: Path) -> list[tuple[str, list[Path], dict[str, float]]]:
    """(what, the zips of one request, settings of the limits) per case."""
    png = folder / "png-zeros.zip"
    _write_zip(png, {"annotations/instances.json": COCO, "images/zeros.png": 300})
    png2 = folder / "png-zeros-2.zip"
    _write_zip(png2, {"images/more.png": 300})
    lying = folder / "json-lying.zip"
    _write_zip(lying, {"instances.json": 300})
    _declare(lying, "instances.json", 1024)
    honest = folder / "json-zeros.zip"
    _write_zip(honest, {"instances.json": 300})
    return [
        ("COCO zip, 300 MiB of zeros in images/zeros.png", [png], {}),
        ("two such zips in one request (600 MiB of .png)", [png, png2], {}),
        ("instances.json: 300 MiB of zeros, header says 1 KiB", [lying], {}),
        ("instances.json: 300 MiB of zeros, honest header", [honest], {}),
        ("the same, ASSAY_IMPORT_MAX_FILE_MB=64", [honest], {"file_mb": 64}),
    ]


def child(url: str, project_id: int, zips: list[str], file_mb: float | None) -> None:
    """Import the zips once; print the outcome and the growth of the peak RSS as JSON."""
    from assay.app import wire_services
    from assay.services.access import Actor, Role
    from assay.services.errors import AssayError
    from assay.services.io import label_files
    from assay.store.db import Database

    try:
        from assay.services.io import unpacking
    except ImportError:  # a checkout before #16 M4: its API read each upload into bytes
        unpacking = None
    wire_services()
    db = Database.connect(url)
    actor = Actor(1, Role.ADMIN)
    kw = {}
    if unpacking is not None:
        files = {Path(z).name: open(z, "rb") for z in zips}  # noqa: SIM115 (closed at exit)
        if file_mb is not None:
            kw["limits"] = unpacking.ImportLimits(file_bytes=int(file_mb * MIB))
    else:
        if file_mb is not None:
            print(json.dumps({"outcome": "no such setting", "grew_mib": None, "size_kib": 0}))
            return
        files = {Path(z).name: Path(z).read_bytes() for z in zips}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with db.session() as s:
            done = label_files.import_files(
                s, actor, project_id, "coco", files, create_missing=True, **kw
            )
            s.rollback()
        outcome = f"imported {done.tasks_created} task(s)"
    except AssayError as exc:
        outcome = f"{exc.status_code}: {exc.detail}"
    except Exception as exc:  # what the API answered with a 500
        outcome = f"500: {type(exc).__name__}: {exc}"
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    size = sum(os.path.getsize(z) for z in zips) / 1024
    print(json.dumps({"outcome": outcome, "grew_mib": grew, "size_kib": size}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="run the imports on this checkout's src folder")
    parser.add_argument("--child", nargs=4, metavar=("URL", "PROJECT", "ZIPS", "FILE_MB"))
    args = parser.parse_args()
    if args.child:
        url, project, zips, file_mb = args.child
        child(url, int(project), zips.split(","), None if file_mb == "-" else float(file_mb))
        return 0

    from assay.app import wire_services
    from assay.services import projects, users
    from assay.services.access import Actor, Role
    from assay.store.db import Database
    from assay.store.migrate import upgrade

    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    rows = []
    with tempfile.TemporaryDirectory(prefix="assay-zip-bench-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        wire_services()
        db = Database.connect(url)
        upgrade(db.engine)
        with db.session() as s:
            admin, _ = users.create_user(s, "bench@example.com", "admin")
            project = projects.create_project(
                s, Actor(admin.id, Role.ADMIN), title="bench", label_config=CONFIG
            )
            project_id = project.id
        db.engine.dispose()
        err.print("writing the zips")
        for what, zips, limits in cases(Path(tmp)):
            file_mb = str(limits.get("file_mb", "-"))
            done = subprocess.run(
                [sys.executable, __file__, "--child", url, str(project_id),
                 ",".join(map(str, zips)), file_mb],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            r = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({"case": what, **r})
            grew = "-" if r["grew_mib"] is None else f"{r['grew_mib']:.0f}"
            err.print(f"  {what}: +{grew} MiB, {r['outcome'][:100]}")
    table = Table(title=f"Hostile zip imports: peak RSS growth ({args.src or 'this checkout'})")
    for col in ("case", "zip KiB", "peak RSS +MiB", "outcome"):
        table.add_column(col, justify="left" if col in ("case", "outcome") else "right")
    for r in rows:
        grew = "-" if r["grew_mib"] is None else f"{r['grew_mib']:.0f}"
        table.add_row(r["case"], f"{r['size_kib']:.0f}", grew, r["outcome"][:110])
    Console(width=150).print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = {"benchmark": "zip_import_memory", "src": args.src, "at": stamp, "rows": rows}
    (RESULTS / f"zip_import_memory-{stamp}.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
