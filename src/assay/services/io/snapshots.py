"""Export snapshots (Label Studio's `/api/projects/{id}/exports`): a project's export frozen at
one moment, written by a background job as one file per export type under the export root
(`Settings.resolved_export_root`), and downloaded later in any of those types.

The job writes exactly what the direct export streams (`exporting.open_export`), with the
filter that the snapshot's Label Studio options map onto (`parse_options`). An option assay
cannot honour is refused with a 400 naming it, never ignored.

Status is the background job's, in Label Studio's words: "in_progress" while the job is queued
or running (Label Studio marks an export in progress before it queues it), then "completed" or
"failed"; "created" only in the instant before the job is queued. Deleting a snapshot removes
its files and keeps its row (who deleted it, when).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services import background
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid, NotFound
from assay.services.io import exporting
from assay.services.tasks import ls_json
from assay.store.bookkeeping import BackgroundJob, ExportSnapshot, ExportSnapshotFile
from assay.store.db import Database
from assay.store.models import Project, User
from assay.store.types import utcnow

log = logging.getLogger("assay.snapshots")

SNAPSHOT_KIND = "export.snapshot"  # the background job kind of snapshot_job
# background job status -> Label Studio's export status
STATUS = {
    "queued": "in_progress",
    "running": "in_progress",
    "done": "completed",
    "failed": "failed",
}
BASE_TYPE = "JSON"  # the snapshot itself; the other types are its "converted formats"
_TASK_FILTERS = ("view", "skipped", "finished", "annotated", "reviewed")
_ANNOTATION_KINDS = ("usual", "ground_truth", "skipped")
_REQUEST_FIELDS = ("title", "task_filter_options", "annotation_filter_options",
                   "serialization_options", "converted_formats")  # fmt: skip
# fields of Label Studio's export shape that a create request may carry only as null
_OUTPUT_FIELDS = ("id", "created_by", "created_at", "finished_at", "status", "md5", "counters")


@dataclass(frozen=True)
class SnapshotOptions:
    """The Label Studio snapshot options assay honours.

    only_with_annotations: task_filter_options.only_with_annotations (default: all tasks);
    ground_truth_only: annotation_filter_options with ground_truth alone (the answer key);
    prediction_ids: serialization_options.predictions.only_id (JSON: prediction ids only).
    """

    only_with_annotations: bool = False
    ground_truth_only: bool = False
    prediction_ids: bool = False

    def export_filter(self) -> exporting.ExportFilter:
        return exporting.ExportFilter(
            all_tasks=not self.only_with_annotations, ground_truth_only=self.ground_truth_only
        )

    def to_json(self) -> dict[str, Any]:
        """The options in Label Studio's words, as stored and answered."""
        kinds = (False, True, False) if self.ground_truth_only else (True, True, True)
        return {
            "task_filter_options": {"only_with_annotations": self.only_with_annotations},
            "annotation_filter_options": dict(zip(_ANNOTATION_KINDS, kinds, strict=True)),
            "serialization_options": {
                "drafts": {"only_id": True},
                "predictions": {"only_id": self.prediction_ids},
                "annotations__completed_by": {"only_id": True},
            },
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> SnapshotOptions:
        return parse_options(value)


def parse_options(body: dict[str, Any]) -> SnapshotOptions:
    """The options of a create request; Invalid naming the first field assay cannot honour."""
    return SnapshotOptions(
        only_with_annotations=_task_filter(body.get("task_filter_options")),
        ground_truth_only=_annotation_filter(body.get("annotation_filter_options")),
        prediction_ids=_serialization(body.get("serialization_options")),
    )


def _object(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid.field(name, "must be an object")
    return value


def _flag(name: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Invalid.field(name, "must be true or false")
    return value


def _unknown(name: str) -> Invalid:
    return Invalid.field(name, "is no option of Label Studio's export snapshots")


def _task_filter(value: Any) -> bool:
    if value is None:
        return False
    only_with_annotations = False
    for key, v in _object("task_filter_options", value).items():
        name = f"task_filter_options.{key}"
        if key == "only_with_annotations":
            only_with_annotations = _flag(name, v, False)
        elif key == "view":
            if v is not None:
                raise Invalid.field(name, "assay keeps no Data Manager tabs to filter by")
        elif key in _TASK_FILTERS:
            if v is not None:
                raise Invalid.field(
                    name, "is not supported: export all tasks, or only_with_annotations"
                )
        else:
            raise _unknown(name)
    return only_with_annotations


def _annotation_filter(value: Any) -> bool:
    """Label Studio keeps the annotations of the kinds set true (usual: true by default);
    assay keeps all of them, or only the ground truth."""
    if value is None:
        return False
    value = _object("annotation_filter_options", value)
    for key, v in value.items():
        name = f"annotation_filter_options.{key}"
        if key == "reviewed":
            if v is not None:
                raise Invalid.field(name, "is not supported by assay's snapshots")
        elif key not in _ANNOTATION_KINDS:
            raise _unknown(name)
    kept = {
        kind
        for kind in _ANNOTATION_KINDS
        if _flag(f"annotation_filter_options.{kind}", value.get(kind), False)
        or (kind == "usual" and "usual" not in value)
    }
    if kept in (set(), set(_ANNOTATION_KINDS)):
        return False
    if kept == {"ground_truth"}:
        return True
    reason = "assay keeps every annotation (all three true) or the ground truth only"
    left_out = [k for k in _ANNOTATION_KINDS if k not in kept]
    raise Invalid(
        f"annotation_filter_options.{left_out[0]}: {reason}",
        {f"annotation_filter_options.{k}": [reason] for k in left_out},
    )


def _serialization(value: Any) -> bool:
    """Whether predictions are written as ids. Drafts are ids either way (assay keeps none);
    interpolate_key_frames concerns video only, so it changes nothing in an image project."""
    if value is None:
        return False
    prediction_ids = False
    for key, v in _object("serialization_options", value).items():
        name = f"serialization_options.{key}"
        if key in ("drafts", "predictions", "annotations__completed_by"):
            only_id = _flag(f"{name}.only_id", _object(name, v or {}).get("only_id"), False)
            if key == "predictions":
                prediction_ids = only_id
            elif key == "annotations__completed_by" and not only_id:
                raise Invalid.field(
                    f"{name}.only_id", "must be true: annotations name their author by id"
                )
        elif key == "interpolate_key_frames":
            _flag(name, v, False)
        elif key == "include_annotation_history":
            if _flag(name, v, False):
                raise Invalid.field(name, "is not supported: see /api/annotations/{id}/revisions")
        else:
            raise _unknown(name)
    return prediction_ids


def _check_request(body: Any) -> tuple[str | None, SnapshotOptions]:
    """The title and options of a create request. Fields of the export's own shape may come
    along only as null (the SDK's create takes them); converted_formats may name export
    types, all of which every snapshot writes."""
    body = _object("body", {} if body is None else body)
    for key, value in body.items():
        if key in _OUTPUT_FIELDS and value is not None:
            raise Invalid.field(key, "is set by the server")
        if key not in (*_REQUEST_FIELDS, *_OUTPUT_FIELDS):
            raise _unknown(key)
    for item in body.get("converted_formats") or []:
        kind = str(_object("converted_formats[]", item).get("export_type") or "")
        if kind.upper() not in exporting.EXPORT_TYPES:
            types = ", ".join(exporting.EXPORT_TYPES)
            raise Invalid.field("converted_formats", f"export_type must be one of {types}")
    title = body.get("title")
    if title is not None and (not isinstance(title, str) or len(title) > 2048):
        raise Invalid.field("title", "must be text of at most 2048 characters")
    return title or None, parse_options(body)


# -- creating and writing -------------------------------------------------------------------


def create_snapshot(db: Database, actor: Actor, project_id: int, body: Any, root: Path) -> int:
    """Check the request, record the snapshot with one pending file per export type, and have
    a background job write them under `root`. Returns the snapshot id."""
    title, options = _check_request(body)
    exporting.check_export(db, actor, project_id, BASE_TYPE, options.export_filter())
    now = utcnow()
    with db.session() as s:
        project = s.get(Project, project_id)
        assert project is not None  # check_export found it
        default = f"{project.title.replace(' ', '-')}-at-{now:%Y-%m-%d-%H-%M}"
        snap = ExportSnapshot(
            project_id=project_id, title=(title or default)[:2048], options=options.to_json(),
            created_by_id=actor.id, created_at=now,
        )  # fmt: skip
        s.add(snap)
        s.flush()
        s.add_all(ExportSnapshotFile(snapshot_id=snap.id, export_type=k)
                  for k in exporting.EXPORT_TYPES)  # fmt: skip
        snapshot_id = snap.id
    params = {"snapshot": snapshot_id, "root": str(root)}
    try:
        job_id = background.submit(db, actor, SNAPSHOT_KIND, project_id, params)
    except Exception:
        with db.session() as s:  # no job will write it: it never was
            s.get_one(ExportSnapshot, snapshot_id).deleted_at = utcnow()
        raise
    with db.session() as s:
        s.get_one(ExportSnapshot, snapshot_id).background_job_id = job_id
    return snapshot_id


def snapshot_job(
    db: Database, actor: Actor, params: dict[str, Any], report: background.Report
) -> dict[str, Any]:
    """Write the snapshot's export types one after the other, JSON first. A type that fails
    leaves its error on its file and the others go on; JSON failing fails the snapshot.

    Each type is read in its own pass, as the direct export reads it: labels changed while the
    job runs can reach the types written after the change."""
    snapshot_id, root = params["snapshot"], Path(params["root"])
    with db.session(write=False) as s:
        snap = s.get_one(ExportSnapshot, snapshot_id)
        project_id, options = snap.project_id, SnapshotOptions.from_json(snap.options)
        files = sorted(s.scalars(_files_of([snapshot_id])),
                       key=lambda f: exporting.EXPORT_TYPES.index(f.export_type))  # fmt: skip
        pending = [(f.id, f.export_type) for f in files]  # JSON first
    flt = options.export_filter()
    row = ls_json.export_row(actor, prediction_ids=options.prediction_ids)
    tasks = 0

    def counted(*task: Any) -> dict[str, Any]:
        nonlocal tasks
        tasks += 1
        return row(*task)

    sizes: dict[str, int] = {}
    report(0, len(pending))
    for done, (file_id, kind) in enumerate(pending):
        if _deleted(db, snapshot_id):
            break
        try:
            task_row = counted if kind == BASE_TYPE else row
            export = exporting.open_export(db, actor, project_id, kind, flt, task_row=task_row)
            rel = f"{_folder(project_id, snapshot_id)}/{kind.lower()}.{exporting.OUTPUT[kind][1]}"
            size, md5 = _write(root / rel, export.chunks)
        except Exception as exc:
            if kind == BASE_TYPE:
                raise
            log.exception("snapshot %s: %s not written", snapshot_id, kind)
            _set_file(db, file_id, error=f"{type(exc).__name__}: {exc}", finished_at=utcnow())
        else:
            _set_file(db, file_id, path=rel, size=size, md5=md5, finished_at=utcnow())
            sizes[kind] = size
            if kind == BASE_TYPE:
                with db.session() as s:
                    written = s.get_one(ExportSnapshot, snapshot_id)
                    written.md5, written.task_number = md5, tasks
        report(done + 1, len(pending))
    if _deleted(db, snapshot_id):  # deleted while being written: leave no file behind
        shutil.rmtree(root / _folder(project_id, snapshot_id), ignore_errors=True)
        return {"snapshot": snapshot_id, "deleted": True}
    return {"snapshot": snapshot_id, "task_number": tasks, "sizes": sizes}


def _folder(project_id: int, snapshot_id: int) -> str:
    return f"project-{project_id}/snapshot-{snapshot_id}"


def _write(path: Path, chunks: Iterator[bytes]) -> tuple[int, str]:
    """Write the chunks to `path` (through a temporary file beside it); size and md5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with part.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    os.replace(part, path)
    return size, digest.hexdigest()


def _set_file(db: Database, file_id: int, **values: Any) -> None:
    with db.session() as s:
        row = s.get_one(ExportSnapshotFile, file_id)
        for name, value in values.items():
            setattr(row, name, value)


def _deleted(db: Database, snapshot_id: int) -> bool:
    with db.session(write=False) as s:
        return s.get_one(ExportSnapshot, snapshot_id).deleted_at is not None


# -- reading, downloading, deleting ---------------------------------------------------------


@dataclass(frozen=True)
class SnapshotFile:
    """One export type of a snapshot, with its status in Label Studio's words."""

    id: int
    export_type: str
    status: str
    error: str


@dataclass(frozen=True)
class SnapshotView:
    """A snapshot as Label Studio shows it: status from its job, counters, converted formats."""

    id: int
    title: str
    status: str
    created_by: User | None
    created_at: Any
    finished_at: Any
    md5: str | None
    task_number: int | None
    options: dict[str, Any]
    background_job: int | None
    files: list[SnapshotFile]


def _files_of(snapshot_ids: list[int]) -> Any:
    return (
        select(ExportSnapshotFile)
        .where(ExportSnapshotFile.snapshot_id.in_(snapshot_ids))
        .order_by(ExportSnapshotFile.id)
    )


def _live(session: Session, actor: Actor, project_id: int, export_id: int) -> ExportSnapshot:
    authorize(session, actor, Action.PROJECT_EXPORT, project_id)
    snap = session.get(ExportSnapshot, export_id)
    if snap is None or snap.project_id != project_id or snap.deleted_at is not None:
        raise NotFound(f"Export {export_id} not found.")
    return snap


def _views(session: Session, snaps: list[ExportSnapshot]) -> list[SnapshotView]:
    """Views of snapshots in four queries: whatever their number, jobs, files and users once."""
    background.fail_stalled(session)  # a job whose worker died shows failed, not in progress
    ids = [x.id for x in snaps]
    job_ids = [x.background_job_id for x in snaps if x.background_job_id]
    user_ids = [x.created_by_id for x in snaps if x.created_by_id]
    jobs = {
        j.id: j for j in session.scalars(select(BackgroundJob).where(BackgroundJob.id.in_(job_ids)))
    }
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    files: dict[int, list[ExportSnapshotFile]] = {}
    for f in session.scalars(_files_of(ids)):
        files.setdefault(f.snapshot_id, []).append(f)
    out = []
    for snap in snaps:
        job = jobs.get(snap.background_job_id) if snap.background_job_id else None
        job_status = job.status if job is not None else "queued"
        out.append(
            SnapshotView(
                id=snap.id,
                title=snap.title,
                status=STATUS[job.status] if job is not None else "created",
                created_by=users.get(snap.created_by_id) if snap.created_by_id else None,
                created_at=snap.created_at,
                finished_at=job.finished_at if job is not None else None,
                md5=snap.md5,
                task_number=snap.task_number,
                options=snap.options,
                background_job=snap.background_job_id,
                files=[_file(f, job_status) for f in files.get(snap.id, [])],
            )
        )
    return out


def _file(f: ExportSnapshotFile, job_status: str) -> SnapshotFile:
    if f.path is not None:
        status = "completed"
    elif f.error or job_status in ("done", "failed"):
        status = "failed"
    else:
        status = "in_progress"
    return SnapshotFile(f.id, f.export_type, status, f.error)


def list_snapshots(session: Session, actor: Actor, project_id: int) -> list[SnapshotView]:
    """The project's snapshots, newest first (deleted ones are gone)."""
    authorize(session, actor, Action.PROJECT_EXPORT, project_id)
    snaps = session.scalars(
        select(ExportSnapshot)
        .where(ExportSnapshot.project_id == project_id, ExportSnapshot.deleted_at.is_(None))
        .order_by(ExportSnapshot.id.desc())
    )
    return _views(session, list(snaps))


def get_snapshot(session: Session, actor: Actor, project_id: int, export_id: int) -> SnapshotView:
    return _views(session, [_live(session, actor, project_id, export_id)])[0]


@dataclass(frozen=True)
class SnapshotDownload:
    path: Path
    media_type: str
    filename: str  # e.g. project-7-at-2026-12-02-10-00-0123abcd.json, ...-0123abcd-coco.json


def open_snapshot_file(
    session: Session, actor: Actor, project_id: int, export_id: int, export_type: str, root: Path
) -> SnapshotDownload:
    """The file of a completed snapshot in an export type (Invalid naming `exportType` for a
    type assay does not write; NotFound before completion, as Label Studio)."""
    kind = exporting.export_kind(export_type)
    view = get_snapshot(session, actor, project_id, export_id)
    if view.status != "completed":
        raise NotFound("Export is not completed.")
    row = session.scalar(
        select(ExportSnapshotFile).where(
            ExportSnapshotFile.snapshot_id == export_id, ExportSnapshotFile.export_type == kind
        )
    )
    if row is None or row.path is None or row.md5 is None:
        why = f": {row.error}" if row is not None and row.error else ""
        raise NotFound(f"Export {export_id} has no {kind} file{why}.")
    path = root / row.path
    if not path.is_file():
        raise NotFound(f"The {kind} file of export {export_id} is missing from the export folder.")
    media_type, suffix = exporting.OUTPUT[kind]
    stamp = f"{view.created_at:%Y-%m-%d-%H-%M}"
    tail = "" if kind == BASE_TYPE else f"-{kind.lower()}"
    name = f"project-{project_id}-at-{stamp}-{row.md5[:8]}{tail}.{suffix}"
    return SnapshotDownload(path, media_type, name)


def delete_snapshot(
    db: Database, actor: Actor, project_id: int, export_id: int, root: Path
) -> None:
    """Remove the snapshot's files; its row stays, marked deleted (who, when). A job still
    writing it stops at its next export type and removes what it wrote."""
    with db.session() as s:
        snap = _live(s, actor, project_id, export_id)
        snap.deleted_at = utcnow()
        snap.deleted_by_id = actor.id
    shutil.rmtree(root / _folder(project_id, export_id), ignore_errors=True)
