"""The `assay` command: serve, user, import, demo. Thin: each command calls services."""

from __future__ import annotations

import gc
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from assay.settings import Settings, get_settings

if TYPE_CHECKING:  # the store and services load lazily, so `assay --help` stays fast
    from sqlalchemy.orm import Session

    from assay.metrics import Counts
    from assay.services.access import Actor
    from assay.store.models import User

app = typer.Typer(
    help="assay: ground truth and annotation quality for CV labeling.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
err = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _database(settings: Settings):
    from assay.app import wire_services
    from assay.store import migrate
    from assay.store.db import Database

    wire_services()
    db = Database.connect(settings.resolved_database_url)
    migrate.upgrade(db.engine)
    return db


def _settings_help() -> str:
    lines = [f"ASSAY_{name.upper()}: {f.description}" for name, f in Settings.model_fields.items()]
    return "Settings (environment variables):\n\n" + "\n\n".join(lines)


@app.command(help="Run the web server and API.\n\n" + _settings_help())
def serve(
    host: str = typer.Option(None, help="Listen address (default ASSAY_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default ASSAY_PORT or 8080)."),
    workers: int = typer.Option(1, help="Worker processes."),
) -> None:
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    from assay.app import create_app

    application = create_app(settings)
    # Long-lived objects (modules, the app) out of the collector's way: JSON-heavy requests
    # otherwise trigger full collections that walk them all (2-3x slower imports and lists).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    err.print(f"assay serving at http://{host}:{port} (API docs: /api/docs)", highlight=False)
    uvicorn.run(
        application,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        log_level="warning",
    )


@app.command()
def demo(
    serve_after: bool = typer.Option(
        True, "--serve/--no-serve", help="Serve the demo after building it."
    ),
    host: str = typer.Option(None, help="Listen address (default ASSAY_HOST or 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default ASSAY_PORT or 8080)."),
) -> None:
    """Build the demo project (aerial survey, three annotators, one model), then serve it."""
    from assay.services.demo import build_demo

    settings = get_settings()
    db = _database(settings)
    with err.status("building the demo project") as status, db.session() as s:
        info = build_demo(s, settings.resolved_media_root, progress=lambda m: status.update(m))
    state = "built" if info.created else "already there"
    out.print(f"demo project {info.project_id} {state}")
    out.print(f"log in with any of these, password [bold]{info.password}[/bold]:")
    for email, role in info.logins:
        out.print(f"  {email:<22} {role}")
    if serve_after:
        serve(host=host, port=port, workers=1)


@app.command()
def worker() -> None:
    """Run background jobs from PostgreSQL's queue (procrastinate) until stopped (Ctrl-C).

    Any number of workers on any machines may share one database; `assay serve` runs one
    itself unless ASSAY_EMBEDDED_WORKER=false.
    """
    from assay.services import background

    settings = get_settings()
    db = _database(settings)
    try:
        background.use_queue(db, "procrastinate")
    except ValueError as exc:
        fail(str(exc))
    err.print("assay worker: waiting for background jobs (Ctrl-C stops)", highlight=False)
    background.run_worker(db)


@app.command()
def migrate() -> None:
    """Apply database migrations (serve does this on start too)."""
    _database(get_settings())
    out.print("database is up to date")


@user_app.command("add")
def user_add(
    email: str,
    role: str = typer.Option("annotator", help="admin, lead, reviewer or annotator."),
    password: str = typer.Option(None, help="Password for the web login (8+ characters)."),
    token: str = typer.Option(None, help="Use this API token instead of a generated one."),
) -> None:
    """Add a user and print its API token (shown only now)."""
    from assay.services import users
    from assay.services.errors import AssayError

    db = _database(get_settings())
    try:
        with db.session() as s:
            user, tok = users.create_user(s, email, role, password=password, token=token)
            uid = user.id
    except AssayError as exc:
        fail(exc.detail)
    out.print(f"user {uid} {email} ({role})")
    out.print(f"token: {tok}")


@user_app.command("list")
def user_list(
    active: bool = typer.Option(
        None, "--active/--inactive", help="Only active or only deactivated users (default all)."
    ),
    role: str = typer.Option(None, help="Only this role."),
) -> None:
    """List users: id, email, name, role, active, last activity."""
    from rich.table import Table

    from assay.services import users
    from assay.services.errors import AssayError

    db = _database(get_settings())
    try:
        with db.session(write=False) as s:
            rows = users.list_users(s, None, is_active=active, role=role)
    except AssayError as exc:
        fail(exc.detail)
    table = Table(title=f"{len(rows)} users")
    table.add_column("id", justify="right")
    table.add_column("email", no_wrap=True)
    table.add_column("name")
    table.add_column("role")
    table.add_column("active")
    table.add_column("last activity", no_wrap=True)
    for u in rows:
        seen = u.last_activity.strftime("%Y-%m-%d %H:%M") if u.last_activity else "-"
        name = f"{u.first_name} {u.last_name}".strip() or "-"
        table.add_row(str(u.id), u.email, name, u.role, "yes" if u.is_active else "no", seen)
    out.print(table)


@user_app.command("set")
def user_set(
    email: str,
    role: str = typer.Option(None, help="admin, lead, reviewer or annotator."),
    password: str = typer.Option(None, help="A new password for the web login (8+ characters)."),
    active: bool = typer.Option(
        None, "--active/--inactive", help="Reactivate, or deactivate (can no longer log in)."
    ),
    first_name: str = typer.Option(None, help="First name."),
    last_name: str = typer.Option(None, help="Last name."),
) -> None:
    """Change a user's role, password, name, or deactivate / reactivate them."""
    from assay.services import users
    from assay.services.errors import AssayError

    changes = {
        "role": role,
        "password": password,
        "is_active": active,
        "first_name": first_name,
        "last_name": last_name,
    }
    if all(v is None for v in changes.values()):
        fail("nothing to change: give --role, --password, --active/--inactive or a name")
    db = _database(get_settings())
    try:
        with db.session() as s:
            user = _user(s, email)
            user = users.update_user(s, None, user.id, **changes)
            line = f"user {user.id} {user.email} ({user.role}, "
            line += "active)" if user.is_active else "inactive)"
    except AssayError as exc:
        fail(exc.detail)
    out.print(line, highlight=False)


@user_app.command("token")
def user_token(email: str) -> None:
    """Make a new API token for a user and print it (the old one stops working)."""
    from assay.services import users

    db = _database(get_settings())
    with db.session() as s:
        tok = users.reset_token(s, _user(s, email).id)
    out.print(f"token: {tok}", highlight=False)


def _user(session: Session, email: str) -> User:
    from assay.services.users import user_by_email

    user = user_by_email(session, email)
    if user is None:
        fail(f"no user with email {email}")
    return user


def _actor(session: Session, email: str | None) -> Actor:
    """The user a CLI command acts as: --as EMAIL, else the first admin."""
    from sqlalchemy import select

    from assay.services.users import actor_of, user_by_email
    from assay.store.models import User

    if email:
        user = user_by_email(session, email)
        if user is None:
            fail(f"no user with email {email}")
    else:
        user = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
        if user is None:
            fail(
                "no admin user yet: add one with `assay user add EMAIL --role admin`, or pass --as"
            )
    return actor_of(user)


@app.command("import")
def import_(
    project: int = typer.Argument(..., help="Project id."),
    source: Path = typer.Argument(
        ...,
        help="A folder of images, a Label Studio JSON file of tasks, or with --format a label "
        "file, folder or zip in that format.",
    ),
    fmt: str = typer.Option(
        None, "--format", help="coco, yolo, voc, ls-json or csv (label files, not images)."
    ),
    as_: str = typer.Option(
        None, "--as", help="Import every region as annotations or predictions."
    ),
    annotator: str = typer.Option(None, help="Email of the member the annotations are by."),
    model_version: str = typer.Option(None, help="Model version of imported predictions."),
    add_labels: bool = typer.Option(
        False, "--add-labels", help="Add labels the label config lacks instead of failing."
    ),
    user: str = typer.Option(
        None, "--user", help="Email of the user to import as (default: first admin)."
    ),
) -> None:
    """Import images (one task each), Label Studio JSON, or label files in a format; all or
    nothing."""
    import json

    from rich.progress import Progress

    from assay.services import tasks
    from assay.services.errors import AssayError
    from assay.services.io import importing as format_import
    from assay.services.tasks import media

    settings = get_settings()
    if not source.exists():
        fail(f"{source} does not exist")
    db = _database(settings)
    try:
        with db.session() as s:
            actor = _actor(s, user)
            if fmt is not None:
                files = _read_files(source)
                with err.status(f"importing {len(files)} file(s) as {fmt}"):
                    done = format_import.import_files(
                        s, actor, project, fmt.lower(), files, as_=as_, annotator=annotator,
                        model_version=model_version, add_labels=add_labels,
                    )  # fmt: skip
            elif source.is_dir():
                total = len(media.find_images(source))
                with Progress(console=err, transient=True) as progress:
                    bar = progress.add_task("reading images", total=total)
                    result = tasks.register_images(
                        s, actor, project, source, settings.resolved_media_root,
                        on_image=lambda _p: progress.advance(bar),
                    )  # fmt: skip
            else:
                try:
                    items = json.loads(source.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    fail(f"{source} is not valid JSON: {exc}")
                with err.status(f"importing {len(items) if isinstance(items, list) else 1} tasks"):
                    result = tasks.import_tasks(s, actor, project, items)
    except AssayError as exc:
        fail(exc.detail)
    if fmt is not None:
        tasks.refresh_after_import(db, done.tasks_created + done.tasks_matched, wait=True)
        out.print(
            f"imported {done.tasks_created} new tasks ({done.tasks_matched} matched), "
            f"{done.annotations} annotations, {done.predictions} predictions "
            f"into project {project}"
        )
        if done.labels_added:
            out.print(f"labels added to the config: {', '.join(done.labels_added)}")
        for note in done.notes:
            err.print(f"not imported: {note}", highlight=False)
        return
    tasks.refresh_after_import(db, result.task_count, wait=True)
    out.print(
        f"imported {result.task_count} tasks, {result.annotation_count} annotations, "
        f"{result.prediction_count} predictions into project {project}"
    )


@app.command("recompute")
def recompute(
    projects: list[int] = typer.Argument(None, help="Project ids (default: every project)."),
    user: str = typer.Option(
        None, "--user", help="Email of the user to recompute as (default: first admin)."
    ),
) -> None:
    """Rebuild every quality score, aggregate and task agreement of projects, with progress.

    What `POST /api/projects/{id}/quality/recompute` does, in this process: after changing
    quality settings offline, or after an upgrade that changes how scores are computed.
    """
    from rich.progress import Progress, TaskID
    from sqlalchemy import select

    from assay.services import quality
    from assay.services.access import Action, authorize
    from assay.services.errors import AssayError
    from assay.store.models import Project

    db = _database(get_settings())
    with db.session(write=False) as s:
        actor = _actor(s, user)
        ids = projects or list(
            s.scalars(select(Project.id).where(Project.deleted_at.is_(None)).order_by(Project.id))
        )
        try:
            for project_id in ids:
                authorize(s, actor, Action.QUALITY_SETTINGS, project_id)
        except AssayError as exc:
            fail(exc.detail)
    for project_id in ids:
        with Progress(console=err, transient=True) as progress:
            bar = progress.add_task(f"project {project_id}", total=None)

            def report(done: int, total: int, bar: TaskID = bar) -> None:
                progress.update(bar, completed=done, total=total)

            done = quality.recompute_project(db, project_id, report)
        out.print(
            f"project {project_id}: {done['tasks']} tasks with GT, {done['scores']} scores, "
            f"{done['agreement_tasks']} tasks with agreement"
        )


def _read_files(source: Path) -> dict[str, bytes]:
    """A file as {name: bytes}, or a folder's label files by relative path (images skipped)."""
    if source.is_file():
        return {source.name: source.read_bytes()}
    from rich.progress import Progress

    from assay.services.tasks.media import IMAGE_SUFFIXES

    with Progress(console=err, transient=True) as progress:
        paths = [p for p in sorted(source.rglob("*")) if p.is_file()]
        bar = progress.add_task("reading files", total=len(paths))
        files = {}
        for p in paths:
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                files[p.relative_to(source).as_posix()] = p.read_bytes()
            progress.advance(bar)
    return files


@app.command()
def export(
    project: int = typer.Argument(..., help="Project id."),
    fmt: str = typer.Option("JSON", "--format", help="JSON, COCO, YOLO, VOC or CSV."),
    out_path: Path = typer.Option(..., "--out", help="The file to write (YOLO, VOC, CSV: a zip)."),
    ground_truth_only: bool = typer.Option(False, help="Only the answer key (GT annotations)."),
    as_of: datetime = typer.Option(None, help="With --ground-truth-only: the key at that time."),
    review_status: str = typer.Option(None, help="Only annotations of these review statuses."),
    job: int = typer.Option(None, help="Only this job's tasks and annotations."),
    annotator: int = typer.Option(None, help="Only this annotator's annotations (user id)."),
    model_version: str = typer.Option(
        None, help="Only (and, for region formats, export) this model's predictions."
    ),
    all_tasks: bool = typer.Option(
        None, "--all-tasks/--annotated-only", help="Also tasks without annotations."
    ),
    user: str = typer.Option(
        None, "--user", help="Email of the user to export as (default: first admin)."
    ),
) -> None:
    """Export a project, streamed to a file (constant memory)."""
    from assay.services.errors import AssayError
    from assay.services.io import exporting

    settings = get_settings()
    db = _database(settings)
    flt = exporting.export_filter(
        fmt, all_tasks, None, ground_truth_only, as_of, review_status, job, annotator,
        model_version,
    )  # fmt: skip
    try:
        with db.session(write=False) as s:
            actor = _actor(s, user)
        file = exporting.open_export(db, actor, project, fmt, flt)
        written = 0
        tmp = out_path.with_name(out_path.name + ".part")
        doing = f"exporting project {project} as {file.kind}"
        with tmp.open("wb") as f, err.status(doing) as status:
            for chunk in file.chunks:
                f.write(chunk)
                written += len(chunk)
                status.update(f"{doing}: {written / 1e6:.1f} MB")
        tmp.replace(out_path)
    except AssayError as exc:
        fail(exc.detail)
    out.print(f"wrote {out_path} ({written / 1e6:.1f} MB)")


@app.command()
def evaluate(
    gt: Path = typer.Option(
        ..., "--gt", help="Ground truth: a Label Studio JSON export, or COCO JSON with --coco."
    ),
    pred: Path = typer.Option(
        ..., "--pred", help="Label Studio JSON export to score, or COCO detections with --coco."
    ),
    coco: bool = typer.Option(
        False, "--coco", help="COCO bbox mAP (the 12 standard stats and per-class AP)."
    ),
    iou_threshold: float = typer.Option(
        0.5, help="IoU at which regions match (Label Studio files)."
    ),
    label_aware: bool = typer.Option(True, help="Match only regions of the same label."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
) -> None:
    """Score annotators and models against ground truth from files, without a server."""
    import json

    for path in (gt, pred):
        if not path.is_file():
            fail(f"{path} does not exist")
    if coco:
        _evaluate_coco(gt, pred, as_json, as_csv)
        return
    from assay.metrics.evaluate_exports import ExportError, evaluate_exports
    from assay.metrics.scoring import QualitySettings

    try:
        gt_data, pred_data = (json.loads(p.read_text(encoding="utf-8")) for p in (gt, pred))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"not valid JSON: {exc}")
    try:
        rows = evaluate_exports(
            gt_data,
            pred_data,
            QualitySettings(iou_threshold=iou_threshold, label_aware=label_aware),
        )
    except ExportError as exc:
        fail(str(exc))
    table = [
        {
            "kind": r.kind,
            "name": r.name,
            "scored": r.scored,
            **_scores(r.counts),
            "mean_accuracy": round(r.mean_accuracy, 4),
        }
        for r in rows
    ]
    _print_table(table, "Scores against ground truth", as_json, as_csv)


def _scores(c: Counts) -> dict[str, object]:
    out: dict[str, object] = {"tp": c.tp, "fp": c.fp, "fn": c.fn}
    for name in ("precision", "recall", "f1", "accuracy"):
        out[name] = round(float(getattr(c, name)), 4)
    return out


def _print_table(rows: list[dict[str, object]], title: str, as_json: bool, as_csv: bool) -> None:
    import csv
    import json

    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["empty"])
        writer.writeheader()
        writer.writerows(rows)
        return
    from rich.table import Table

    table = Table(title=title)
    for name in rows[0] if rows else ["empty"]:
        table.add_column(
            name, justify="left" if name in ("kind", "name", "stat", "category") else "right"
        )
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out.print(table)


def _evaluate_coco(gt: Path, pred: Path, as_json: bool, as_csv: bool) -> None:
    from assay.formats.coco import CocoFormatError
    from assay.metrics.coco import coco_evaluate

    try:
        result = coco_evaluate(gt, pred)
    except (CocoFormatError, ValueError) as exc:
        fail(str(exc))
    stats = [
        {"stat": n, "value": round(float(v), 6)}
        for n, v in zip(result.stat_names, result.stats, strict=True)
    ]
    classes = [
        {"category": f"{c.category_id} {c.name}", "ap": round(c.ap, 6), "ap50": round(c.ap50, 6),
         "ap75": round(c.ap75, 6), "gt": c.num_gt, "detections": c.num_dets}
        for c in result.per_class.values()
    ]  # fmt: skip
    if as_json:
        import json

        print(
            json.dumps(
                {"stats": {s["stat"]: s["value"] for s in stats}, "per_class": classes}, indent=2
            )
        )
        return
    _print_table(stats, "COCO bbox", False, as_csv)
    if not as_csv:
        _print_table(classes, "Per class (area all, 100 detections)", False, False)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
