"""`assay import` and `assay export`: a project's tasks and labels in and out, as a user."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import Progress

from assay.cli.common import acting_actor, current_settings, err, fail, open_database, out
from assay.formats.sniff import FORMAT_NAMES, HEAD, looks_like
from assay.services.errors import AssayError

VOC_CONVENTION_HELP = (
    "VOC boxes: devkit (1-based inclusive pixel indexes, the VOC devkit's) or continuous "
    "(0-based, xmin = x, xmax = x + w)."
)


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
    create_missing: bool = typer.Option(
        False,
        "--create-missing",
        help="Images of a label file that match no task become tasks that show no image "
        "(default: an error naming them).",
    ),
    voc_convention: str = typer.Option("devkit", help=VOC_CONVENTION_HELP),
    user: str = typer.Option(
        None, "--user", help="Email of the user to import as (default: the first active admin)."
    ),
) -> None:
    """Import images (one task each), Label Studio JSON, or label files in a format; all or
    nothing."""
    from assay.services import tasks
    from assay.services.io import label_files, unpacking
    from assay.services.tasks import media

    settings = current_settings()
    if not source.exists():
        fail(f"{source} does not exist")
    db = open_database(settings)
    try:
        with db.session() as s:
            actor = acting_actor(s, user)
            if fmt is not None:
                files = _read_files(source)
                with err.status(f"importing {len(files)} file(s) as {fmt}"):
                    done = label_files.import_files(
                        s, actor, project, fmt.lower(), files, as_=as_, annotator=annotator,
                        model_version=model_version, add_labels=add_labels,
                        create_missing=create_missing, media_root=settings.resolved_media_root,
                        voc_convention=voc_convention, shared_media=settings.shared_media_folders,
                        limits=unpacking.ImportLimits.of(settings),
                    )  # fmt: skip
            elif source.is_dir():
                total = len(media.find_images(source))
                with Progress(console=err, transient=True) as progress:
                    bar = progress.add_task("reading images", total=total)
                    result = tasks.register_images(
                        s, actor, project, source, settings.resolved_media_root,
                        on_image=lambda _p: progress.advance(bar),
                        shared_media=settings.shared_media_folders,
                    )  # fmt: skip
            else:
                with source.open("rb") as head:
                    kind = looks_like(head.read(HEAD))
                if kind not in (None, "ls-json"):
                    fail(
                        f"{source} looks like {FORMAT_NAMES[kind]}, not a Label Studio JSON "
                        "list of tasks: import label files with --format coco|yolo|voc|csv"
                    )
                try:
                    items = json.loads(source.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    fail(f"{source} is not valid JSON: {exc}")
                with err.status(f"importing {len(items) if isinstance(items, list) else 1} tasks"):
                    result = tasks.import_tasks(
                        s, actor, project, items, media_root=settings.resolved_media_root,
                        shared_media=settings.shared_media_folders,
                    )  # fmt: skip
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


def _read_files(source: Path) -> dict[str, Path]:
    """A file as {name: path}, or a folder's files but images by relative path: the import
    reads only those its format reads, within the caps of one import (docs/formats.md)."""
    from assay.services.tasks import media

    if source.is_file():
        return {source.name: source}
    return {
        p.relative_to(source).as_posix(): p
        for p in sorted(source.rglob("*"))
        if p.is_file() and p.suffix.lower() not in media.IMAGE_SUFFIXES
    }


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
    voc_convention: str = typer.Option("devkit", help=VOC_CONVENTION_HELP),
    user: str = typer.Option(
        None, "--user", help="Email of the user to export as (default: the first active admin)."
    ),
) -> None:
    """Export a project, streamed to a file (constant memory)."""
    from assay.services.io import exporting

    settings = current_settings()
    db = open_database(settings)
    flt = exporting.export_filter(
        fmt, all_tasks, None, ground_truth_only, as_of, review_status, job, annotator,
        model_version,
    )  # fmt: skip
    try:
        with db.session(write=False) as s:
            actor = acting_actor(s, user)
        file = exporting.open_export(db, actor, project, fmt, flt, voc_convention=voc_convention)
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
