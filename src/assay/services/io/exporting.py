"""Project export, streamed: Label Studio JSON, COCO, YOLO, Pascal VOC and Scout-style CSVs.

Tasks are read CHUNK at a time (keyset pagination on id) and written as they come, so memory
stays flat whatever the project size (COCO keeps one small entry per image, the format's
own index). Multi-file formats stream as a zip. Filters narrow what is exported: the answer
key (`ground_truth_only`, optionally `as_of` a time), a review status, a job, an annotator,
a model version, and a Data Manager selection (`selectedItems` AND filters, made by
`services.views.dm_filters`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from assay.formats import scout_csv
from assay.formats.coco_io import write_coco
from assay.formats.dataset import ImageRecord, Notes, RegionRecord
from assay.formats.image_names import image_key_of
from assay.formats.label_config import LabelConfig
from assay.formats.ls_convert import ls_result_to_regions
from assay.formats.voc import (
    DEFAULT_VOC_CONVENTION,
    VOC_CONVENTION_TEXT,
    VOC_CONVENTIONS,
    iter_voc_files,
)
from assay.formats.yolo import iter_yolo_files
from assay.formats.zipstream import iter_zip
from assay.services import authors, ground_truth
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid
from assay.services.review import REVIEW_STATUSES
from assay.services.selection import Selection, selected_task_ids
from assay.services.tasks import label_config_of_project, ls_json, regions_of
from assay.store.db import Database
from assay.store.models import Annotation, Job, JobTask, Prediction, Task

CHUNK = 1000
EXPORT_TYPES = ("JSON", "JSON_MIN", "COCO", "YOLO", "VOC", "CSV")
JSON_TYPES = ("JSON", "JSON_MIN")  # Label Studio JSON: one file of tasks
# media type and file suffix of each export type
OUTPUT = {
    "JSON": ("application/json", "json"),
    "JSON_MIN": ("application/json", "json"),
    "COCO": ("application/json", "json"),
    "YOLO": ("application/zip", "zip"),
    "VOC": ("application/zip", "zip"),
    "CSV": ("application/zip", "zip"),
}
# what each export type is, as Label Studio lists formats: (title, description, tags)
FORMAT_INFO = {
    "JSON": (
        "JSON",
        "Label Studio JSON: the tasks with their data, annotations and predictions, one file.",
        ("image segmentation", "object detection", "image classification"),
    ),
    "JSON_MIN": (
        "JSON-MIN",
        "Label Studio JSON, the same tasks as JSON (assay writes one JSON shape).",
        ("image segmentation", "object detection", "image classification"),
    ),
    "COCO": (
        "COCO",
        "COCO instances file: images, categories in label-config order, boxes and polygons; "
        "image ids are task ids.",
        ("object detection", "image segmentation", "keypoints"),
    ),
    "YOLO": (
        "YOLO",
        "Zip of data.yaml and one labels/*.txt per image, coordinates normalised to the image.",
        ("object detection",),
    ),
    "VOC": (
        "Pascal VOC XML",
        "Zip of one Pascal VOC XML file per image, boxes in pixels.",
        ("object detection",),
    ),
    "CSV": (
        "CSV",
        "Zip of images.csv and annotations.csv (one row per region, Scout style).",
        ("object detection", "image classification"),
    ),
}

# (task, annotations, predictions, answer key entry or None) -> one exported task
TaskRow = Callable[
    [Task, list[Annotation], list[Prediction], "ground_truth.AnswerKeyEntry | None"], dict[str, Any]
]
Batch = list[tuple[Task, list[Annotation], list[Prediction], "ground_truth.AnswerKeyEntry | None"]]


@dataclass(frozen=True)
class ExportFilter:
    """What to export. Annotation filters (review status, job, annotator) keep the tasks and
    drop the annotations that do not match; `model_version` keeps only that model's
    predictions (and, in the region formats, exports predictions instead of annotations)."""

    all_tasks: bool = False  # also tasks without any (matching) annotation
    task_ids: tuple[int, ...] | None = None
    ground_truth_only: bool = False
    as_of: datetime | None = None
    review_status: tuple[str, ...] = ()
    job_id: int | None = None
    annotator_id: int | None = None
    model_version: str | None = None
    selection: Selection | None = None  # Data Manager selectedItems AND filters


def export_filter(
    kind: str,
    all_tasks: bool | None = None,
    task_ids: list[int] | None = None,
    ground_truth_only: bool = False,
    as_of: datetime | None = None,
    review_status: str | None = None,
    job: int | None = None,
    annotator: int | None = None,
    model_version: str | None = None,
    selection: Selection | None = None,
) -> ExportFilter:
    """The filter from request options: `review_status` comma-separated; a naive `as_of` is
    UTC; all tasks by default except for Label Studio JSON (annotated tasks, as Label Studio)."""
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    return ExportFilter(
        all_tasks=all_tasks if all_tasks is not None else kind.upper() not in JSON_TYPES,
        task_ids=tuple(task_ids) if task_ids else None,
        ground_truth_only=ground_truth_only,
        as_of=as_of,
        review_status=tuple(v for v in (review_status or "").split(",") if v),
        job_id=job,
        annotator_id=annotator,
        model_version=model_version,
        selection=selection,
    )


def formats_of(session: Session, actor: Actor, project_id: int) -> list[dict[str, Any]]:
    """The export types as Label Studio lists a project's formats: name, title, description,
    tags (every type fits every project: what a format cannot hold goes to its notes)."""
    authorize(session, actor, Action.PROJECT_EXPORT, project_id)
    return [
        {"name": kind, "title": title, "description": description, "tags": list(tags)}
        for kind, (title, description, tags) in FORMAT_INFO.items()
    ]


def export_kind(export_type: str) -> str:
    """The export type in capitals; Invalid (naming `exportType`) unless it is one of ours."""
    kind = export_type.upper()
    if kind not in EXPORT_TYPES:
        raise Invalid.field("exportType", f"must be one of {', '.join(EXPORT_TYPES)}")
    return kind


def check_voc_convention(voc_convention: str) -> str:
    """The Pascal VOC box convention if it is one (`formats.voc.VOC_CONVENTIONS`)."""
    if voc_convention not in VOC_CONVENTIONS:
        raise Invalid.field("voc_convention", f"must be one of {', '.join(VOC_CONVENTIONS)}")
    return voc_convention


def check_export(
    db: Database,
    actor: Actor,
    project_id: int,
    export_type: str,
    flt: ExportFilter,
    *,
    voc_convention: str = DEFAULT_VOC_CONVENTION,
) -> str:
    """Run the checks before streaming starts, so that errors are still proper 4xx answers.

    Returns the export type in capitals.
    """
    kind = export_kind(export_type)
    check_voc_convention(voc_convention)
    if flt.as_of is not None and not flt.ground_truth_only:
        raise Invalid.field("as_of", "goes with ground_truth_only=true")
    for status in flt.review_status:
        if status not in REVIEW_STATUSES:
            raise Invalid.field("review_status", f"must be one of {', '.join(REVIEW_STATUSES)}")
    with db.session(write=False) as s:
        authorize(s, actor, Action.PROJECT_EXPORT, project_id)
        if flt.ground_truth_only:
            authorize(s, actor, Action.GROUND_TRUTH_VIEW, project_id)
        if flt.review_status:
            authorize(s, actor, Action.REVIEW, project_id)
        if flt.job_id is not None:
            job = s.get(Job, flt.job_id)
            if job is None or job.project_id != project_id or job.deleted_at is not None:
                raise Invalid.field("job", f"job {flt.job_id} is not a job of project {project_id}")
        if flt.selection is not None:
            selected_task_ids(s, project_id, flt.selection)  # names ids not of the project
    return kind


@dataclass(frozen=True)
class ExportFile:
    """An export ready to stream: its type in capitals, its bytes as they are written, and
    how to offer it for download."""

    kind: str
    chunks: Iterator[bytes]
    media_type: str
    filename: str  # e.g. project-7-ground-truth.json, project-7-export-yolo.zip


def open_export(
    db: Database,
    actor: Actor,
    project_id: int,
    export_type: str,
    flt: ExportFilter,
    *,
    task_row: TaskRow | None = None,
    voc_convention: str = DEFAULT_VOC_CONVENTION,
) -> ExportFile:
    """The export of a project in a type: Label Studio JSON (`tasks.ls_json`'s tasks, or
    `task_row`'s) or a region format (COCO, YOLO, VOC, CSV). Every check runs here, before a
    byte is written (`check_export`); the writing happens as `chunks` is read. voc_convention:
    how VOC writes its boxes, devkit (1-based inclusive whole pixels) or continuous; other
    types ignore it."""
    kind = check_export(db, actor, project_id, export_type, flt, voc_convention=voc_convention)
    if kind in JSON_TYPES:
        row = task_row or ls_json.export_row(actor)
        chunks = iter_export_json(db, actor, project_id, row, flt)
    else:
        chunks = iter_export_regions(db, actor, project_id, kind, flt, voc_convention)
    media_type, suffix = OUTPUT[kind]
    name = "ground-truth" if flt.ground_truth_only else "export"
    if kind in JSON_TYPES:
        filename = f"project-{project_id}-{name}.json"
    else:
        filename = f"project-{project_id}-{name}-{kind.lower()}.{suffix}"
    return ExportFile(kind, chunks, media_type, filename)


def iter_batches(
    db: Database,
    actor: Actor,
    project_id: int,
    flt: ExportFilter,
    annotations: bool = True,
    predictions: bool = True,
) -> Iterator[Batch]:
    """The exported tasks with their kept annotations and predictions, CHUNK tasks at a time.

    `ground_truth_only` gives each task that has GT with only its GT annotation (as it was at
    `as_of`, when given) and no predictions. `annotations` / `predictions` False leave those
    out unread (annotations are still read when a filter on them decides which tasks go).
    """
    last_id = 0
    with db.session(write=False) as s:
        chosen = None if flt.selection is None else selected_task_ids(s, project_id, flt.selection)
        while True:
            stmt = select(Task).where(
                ground_truth.tasks_as_of(project_id, flt.as_of), Task.id > last_id
            )
            if chosen is not None:
                stmt = stmt.where(Task.id.in_(chosen))
            if flt.task_ids:
                stmt = stmt.where(Task.id.in_(flt.task_ids))
            if flt.job_id is not None:
                stmt = stmt.where(
                    Task.id.in_(select(JobTask.task_id).where(JobTask.job_id == flt.job_id))
                )
            if not flt.all_tasks and not flt.ground_truth_only and not flt.model_version:
                stmt = stmt.where(
                    exists().where(Annotation.task_id == Task.id, Annotation.deleted_at.is_(None))
                )
            tasks = list(s.scalars(stmt.order_by(Task.id).limit(CHUNK)))
            if not tasks:
                break
            batch = _batch(s, actor, tasks, flt, annotations, predictions)
            if batch:
                yield batch
            last_id = tasks[-1].id
            s.expunge_all()


def _batch(
    s: Session,
    actor: Actor,
    tasks: list[Task],
    flt: ExportFilter,
    with_anns: bool,
    with_preds: bool,
) -> Batch:
    ids = [t.id for t in tasks]
    if flt.ground_truth_only:
        key = ground_truth.answer_key(s, ids, flt.as_of)
        anns = {
            a.id: a
            for a in s.scalars(
                select(Annotation).where(Annotation.id.in_([e.annotation_id for e in key.values()]))
            )
        }
        return [(t, [anns[key[t.id].annotation_id]], [], key[t.id]) for t in tasks if t.id in key]
    filtered = bool(flt.review_status) or flt.job_id is not None or flt.annotator_id is not None
    drops = filtered and not flt.all_tasks and flt.model_version is None
    annotations, predictions = regions_of(s, actor, ids, with_anns or drops, with_preds)
    out: Batch = []
    for t in tasks:
        anns = [a for a in annotations.get(t.id, []) if _keep(a, flt)]
        preds = predictions.get(t.id, [])
        if flt.model_version is not None:
            preds = [p for p in preds if p.model_version == flt.model_version]
        if drops and not anns:
            continue
        out.append((t, anns, preds, None))
    return out


def _keep(a: Annotation, flt: ExportFilter) -> bool:
    return (
        (not flt.review_status or a.review_status in flt.review_status)
        and (flt.job_id is None or a.job_id == flt.job_id)
        and (flt.annotator_id is None or a.completed_by_id == flt.annotator_id)
    )


# -- Label Studio JSON ---------------------------------------------------------------------


def iter_export_json(
    db: Database, actor: Actor, project_id: int, task_row: TaskRow, flt: ExportFilter
) -> Iterator[bytes]:
    """Yield a JSON array of tasks, one chunk of rows at a time."""
    yield b"["
    first = True
    for batch in iter_batches(db, actor, project_id, flt):
        chunk = ",".join(
            json.dumps(task_row(*row), ensure_ascii=False, separators=(",", ":")) for row in batch
        )
        yield (chunk if first else "," + chunk).encode()
        first = False
    yield b"]"


# -- region formats -----------------------------------------------------------------------


def image_key(task: Task, config: LabelConfig) -> str:
    """How a task's image is named in the region formats (`formats.image_names`); a task
    without an image value is `task-<id>`."""
    field = config.image_key()
    return image_key_of(task.data.get(field) if field else None) or f"task-{task.id}"


@dataclass
class _Records:
    """Turns exported rows into the formats' records, with the names they need."""

    config: LabelConfig
    flt: ExportFilter
    notes: Notes
    emails: dict[int, str] = dataclasses.field(default_factory=dict)
    jobs: dict[int, str] = dataclasses.field(default_factory=dict)
    task_jobs: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    seen: set[str] = dataclasses.field(default_factory=set)
    keys: dict[int, str] = dataclasses.field(default_factory=dict)

    def load_names(self, s: Session, batch: Batch) -> None:
        """Emails of the batch's authors and names of its tasks' jobs, in two queries."""
        self.emails.update(
            authors.emails_of(s, {a.completed_by_id for _, anns, _, _ in batch for a in anns})
        )
        self.task_jobs = {}
        ids = [t.id for t, *_ in batch]
        for task_id, job_id, title in s.execute(
            select(JobTask.task_id, Job.id, Job.title)
            .join(Job, Job.id == JobTask.job_id)
            .where(JobTask.task_id.in_(ids), Job.deleted_at.is_(None))
            .order_by(Job.id)
        ):
            name = title or f"job-{job_id}"
            self.jobs[job_id] = name
            self.task_jobs.setdefault(task_id, []).append(name)

    def image(self, task: Task) -> ImageRecord | None:
        if not task.width or not task.height:
            self.notes.drop("image size unknown: task left out")
            return None
        key = image_key(task, self.config)
        if key in self.seen:  # two tasks of one image: keep both, apart
            path = PurePosixPath(key)
            key = str(path.with_name(f"{path.stem}__task{task.id}{path.suffix}"))
        self.seen.add(key)
        self.keys[task.id] = key
        return ImageRecord(
            key=key,
            width=task.width,
            height=task.height,
            external_id=str(task.id),
            gt_status=task.gt_status,  # type: ignore[arg-type]
            jobs=tuple(self.task_jobs.get(task.id, ())),
        )

    def regions(
        self, task: Task, anns: list[Annotation], preds: list[Prediction], key: Any
    ) -> list[RegionRecord]:
        image = self.keys.get(task.id)
        if image is None:
            return []
        out: list[RegionRecord] = []
        if self.flt.model_version is not None:
            for p in preds:
                regs = ls_result_to_regions(
                    p.result, task.width, task.height, image=image, source="prediction",
                    author=p.model_version, group=f"prediction-{p.id}", notes=self.notes,
                    created_at=ls_json.iso(p.created_at),
                )  # fmt: skip
                out += [r if r.score is not None else dataclasses.replace(r, score=p.score)
                        for r in regs]  # fmt: skip
            return out
        for a in anns:
            if a.was_cancelled:
                continue
            out += ls_result_to_regions(
                key.result if key is not None else a.result, task.width, task.height,
                image=image, source="annotation", author=self.emails.get(a.completed_by_id),
                job=self.jobs.get(a.job_id) if a.job_id else None,
                created_at=ls_json.iso(a.created_at),
                is_ground_truth=key is not None or a.ground_truth, group=f"annotation-{a.id}",
                notes=self.notes,
            )  # fmt: skip
        known = set(self.config.labels)
        kept = [r for r in out if r.label in known]
        self.notes.drop(
            "label no longer in the label config: region left out", len(out) - len(kept)
        )
        return kept


def iter_export_regions(
    db: Database,
    actor: Actor,
    project_id: int,
    kind: str,
    flt: ExportFilter,
    voc_convention: str = DEFAULT_VOC_CONVENTION,
) -> Iterator[bytes]:
    """COCO JSON, or a zip of YOLO / VOC / CSV files; what a format cannot hold is listed in
    the zip's NOTES.txt.

    COCO and the CSVs list every image before any region, so they read the tasks twice: once
    for the images (no region conversion), once for the regions.
    """
    with db.session(write=False) as s:
        config = label_config_of_project(s, project_id)
    notes = Notes()
    rec = _Records(config, flt, notes)
    labels = list(config.labels)

    predicted = flt.model_version is not None

    def rows(with_regions: bool = True) -> Iterator[tuple[ImageRecord, list[RegionRecord]]]:
        rec.seen.clear()  # each pass names the images the same way
        wanted = (with_regions and not predicted, with_regions and predicted)
        with db.session(write=False) as s:
            for batch in iter_batches(db, actor, project_id, flt, *wanted):
                rec.load_names(s, batch)
                for task, anns, preds, key in batch:
                    image = rec.image(task)
                    if image is not None:
                        yield image, rec.regions(task, anns, preds, key) if with_regions else []

    def images() -> Iterator[ImageRecord]:
        return (image for image, _ in rows(with_regions=False))

    def regions() -> Iterator[RegionRecord]:
        return (r for _, regs in rows() for r in regs)

    if kind == "COCO":
        yield from write_coco(
            images(), _later(regions), labels, notes=notes, ids_from_external=True
        )
        return
    members: Iterator[tuple[str, Any]]
    if kind == "YOLO":
        members = iter_yolo_files(rows(), labels, scores=predicted, notes=notes)
    elif kind == "VOC":
        members = iter_voc_files(rows(), notes=notes, convention=voc_convention)
    else:
        members = iter(
            [
                ("images.csv", scout_csv.iter_images_csv(images())),
                ("annotations.csv", scout_csv.iter_annotations_csv(_later(regions), notes=notes)),
            ]
        )
    what = f"VOC, boxes {VOC_CONVENTION_TEXT[voc_convention]}" if kind == "VOC" else kind
    yield from iter_zip(chain(members, [("NOTES.txt", _notes_text(notes, what))]))


def _later(make: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """Start a pass only when its first item is wanted (after the previous pass ended)."""
    yield from make()


def _notes_text(notes: Notes, what: str) -> Iterator[bytes]:
    """A generator, so it is written last: once every member's notes are known."""
    lines = notes.summary()
    body = (
        "What this format could not hold:\n" + "".join(f"- {line}\n" for line in lines)
        if lines
        else "Nothing was left out.\n"
    )
    yield (f"Exported by assay as {what}.\n" + body).encode()
