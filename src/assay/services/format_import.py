"""Import of label files in the common formats: COCO (instances or detection results), YOLO,
Pascal VOC, Scout-style CSVs and Label Studio JSON.

Each image is matched to the project's task of the same image (named as the exports name it,
`export.image_key`); unmatched images become new tasks when the format knows their size
(COCO, VOC, CSV), and are an error otherwise (YOLO: register the images first). Regions are
grouped back into one annotation per (image, author) or one prediction per (image, model).
All-or-nothing: a file is read and checked whole before anything is written.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.formats.coco_io import read_coco, read_coco_results
from assay.formats.dataset import Dataset, FormatError, ImageRecord, RegionRecord, unknown_labels
from assay.formats.label_config import LabelConfig, parse_label_config, with_labels
from assay.formats.ls_convert import ls_controls, regions_to_ls_result
from assay.formats.scout_csv import read_annotations_csv, read_images_csv
from assay.formats.voc import read_voc_files
from assay.formats.yolo import read_yolo
from assay.services import tasks
from assay.services.access import Action, Actor, authorize, is_member
from assay.services.errors import Invalid
from assay.services.export import image_key
from assay.store.models import Annotation, Project, Task, User

IMPORT_FORMATS = ("coco", "yolo", "voc", "ls-json", "csv")
MAX_ZIP_MEMBERS = 200_000
MAX_UNZIPPED = 2 << 30  # bytes


@dataclass(frozen=True)
class FormatImport:
    """What an import did."""

    tasks_created: int
    tasks_matched: int
    annotations: int
    predictions: int
    labels_added: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the file held that was not imported
    task_ids: list[int] = field(default_factory=list)  # the created tasks


def unpack(files: dict[str, bytes]) -> dict[str, bytes]:
    """Uploaded or read files as relative path -> bytes; a zip is replaced by its members."""
    out: dict[str, bytes] = {}
    for name, data in files.items():
        if not name.lower().endswith(".zip"):
            out[name] = data
            continue
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise Invalid.field("file", f"{name} is not a readable zip file") from None
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED:
            raise Invalid.field("file", f"{name} unpacks to too many files or bytes")
        for m in members:
            path = PurePosixPath(m.filename)
            if path.is_absolute() or ".." in path.parts or path.parts[0] == "__MACOSX":
                continue
            out[str(path)] = archive.read(m)
    return out


def import_files(
    session: Session,
    actor: Actor,
    project_id: int,
    fmt: str,
    files: dict[str, bytes],
    *,
    as_: str | None = None,
    annotator: str | None = None,
    model_version: str | None = None,
    add_labels: bool = False,
) -> FormatImport:
    """Import the files (path -> bytes; zips unpacked) of one format into the project.

    as_: "annotations" or "predictions" to import every region as that (default: as the file
    says: scores make COCO results and YOLO lines with a confidence predictions). annotator:
    the email of the member the annotations are by (default: the author the file names, if a
    member, else the importing user). model_version: the predictions' model version.
    """
    authorize(session, actor, Action.TASKS_IMPORT, project_id)
    if fmt not in IMPORT_FORMATS:
        raise Invalid.field("format", f"must be one of {', '.join(IMPORT_FORMATS)}")
    if as_ not in (None, "annotations", "predictions"):
        raise Invalid.field("as", "must be annotations or predictions")
    files = unpack(files)
    if not files:
        raise Invalid.field("file", "is empty: nothing to import")
    if fmt == "ls-json":
        return _import_label_studio(session, actor, project_id, files)
    config = tasks.label_config_of_project(session, project_id)
    existing = _existing_images(session, project_id, config)
    try:
        dataset = _read(fmt, files, existing, config, model_version)
    except FormatError as exc:
        where = exc.file + (f":{exc.line}" if exc.line else "")
        field_name = f"{where}:{exc.field}" if exc.field else where
        raise Invalid(f"Nothing was imported: {exc}", {field_name: [exc.reason]}) from None
    added = unknown_labels(dataset.regions, config.labels)
    if added:
        if not add_labels:
            raise Invalid.field(
                "labels",
                f"not in the project's label config: {', '.join(added)}; add them to the config "
                "first, or import with add_labels",
            )
        config = _add_labels(session, actor, project_id, config, dataset.regions, added)
    items, sizes, into, matched = _items(session, actor, project_id, config, dataset, existing,
                                         as_, annotator, model_version)  # fmt: skip
    if not items:
        raise Invalid.field("file", "holds no images to import")
    result = tasks.import_tasks(
        session, actor, project_id, items, label_config=config, sizes=sizes, into=into
    )
    return FormatImport(
        tasks_created=result.task_count,
        tasks_matched=matched,
        annotations=result.annotation_count,
        predictions=result.prediction_count,
        labels_added=added,
        notes=dataset.notes.summary(),
        task_ids=result.task_ids,
    )


def _import_label_studio(
    session: Session, actor: Actor, project_id: int, files: dict[str, bytes]
) -> FormatImport:
    items: list[Any] = []
    for name, data in sorted(files.items()):
        if not name.lower().endswith(".json") and len(files) > 1:
            continue
        try:
            loaded = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise Invalid(f"{name}: malformed JSON: {exc}", {name: [str(exc)]}) from None
        items += loaded if isinstance(loaded, list) else [loaded]
    result = tasks.import_tasks(session, actor, project_id, items)
    return FormatImport(
        result.task_count, 0, result.annotation_count, result.prediction_count,
        task_ids=result.task_ids,
    )  # fmt: skip


@dataclass(frozen=True)
class _Existing:
    task_id: int
    width: int | None
    height: int | None
    has_gt: bool


def _existing_images(
    session: Session, project_id: int, config: LabelConfig
) -> dict[str, _Existing]:
    """The project's live tasks by image key (the first task of each image), in two queries."""
    with_gt = set(
        session.scalars(
            select(Annotation.task_id).where(
                Annotation.project_id == project_id,
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    )
    out: dict[str, _Existing] = {}
    rows = session.execute(
        select(Task)
        .where(Task.project_id == project_id, Task.deleted_at.is_(None))
        .order_by(Task.id)
        .execution_options(yield_per=5000)
    ).scalars()
    for task in rows:
        out.setdefault(
            image_key(task, config), _Existing(task.id, task.width, task.height, task.id in with_gt)
        )
    return out


def _read(
    fmt: str,
    files: dict[str, bytes],
    existing: dict[str, _Existing],
    config: LabelConfig,
    model_version: str | None,
) -> Dataset:
    sized = {k: (e.width, e.height) for k, e in existing.items() if e.width and e.height}
    if fmt == "coco":
        name, data = _one(files, ".json")
        if data.lstrip()[:1] == b"[":  # a results (detections) file
            ids = {e.task_id: k for k, e in existing.items()}
            images = {
                tid: ImageRecord(key, *sized[key]) for tid, key in ids.items() if key in sized
            }
            categories = {i + 1: label for i, label in enumerate(config.labels)}
            return read_coco_results(
                data, images=images, categories=categories, model_version=model_version, file=name
            )
        return read_coco(data, file=name, model_version=model_version)
    if fmt == "yolo":
        return read_yolo(files, sized, model_version=model_version)
    if fmt == "voc":
        return read_voc_files(files, model_version=model_version)
    images_name = next((n for n in files if PurePosixPath(n).name == "images.csv"), None)
    ann_name = next((n for n in files if n != images_name and n.lower().endswith(".csv")), None)
    images = list(read_images_csv(files[images_name], file=images_name)) if images_name else []
    regions = read_annotations_csv(files[ann_name], file=ann_name) if ann_name else []
    listed = {im.key for im in images}
    for key in dict.fromkeys(r.image for r in regions):
        if key not in listed:
            if key not in sized:
                raise FormatError(
                    ann_name or "annotations.csv", None, "image",
                    f"{key!r} is neither in images.csv nor an image of the project",
                )  # fmt: skip
            images.append(ImageRecord(key, *sized[key]))
    return Dataset(tuple(images), tuple(regions), tuple(dict.fromkeys(r.label for r in regions)))


def _one(files: dict[str, bytes], suffix: str) -> tuple[str, bytes]:
    named = [n for n in files if n.lower().endswith(suffix)] or list(files)
    if len(named) != 1:
        raise FormatError("upload", None, "file", f"expected one {suffix} file, got {len(named)}")
    return named[0], files[named[0]]


def _add_labels(
    session: Session,
    actor: Actor,
    project_id: int,
    config: LabelConfig,
    regions: tuple[RegionRecord, ...],
    added: list[str],
) -> LabelConfig:
    """Append the new labels to the control that takes their regions' shape."""
    authorize(session, actor, Action.PROJECT_CHANGE, project_id)
    controls = ls_controls(config)
    project = session.get(Project, project_id)
    assert project is not None
    xml = project.label_config
    for kind in dict.fromkeys(r.kind for r in regions if r.label in added):
        names = sorted({r.label for r in regions if r.label in added and r.kind == kind})
        if kind not in controls:
            raise Invalid.field("labels", f"the label config has no control for {kind} regions")
        have = parse_label_config(xml).labels
        xml = with_labels(xml, controls[kind][0], [n for n in names if n not in have])
    project.label_config = xml
    return parse_label_config(xml)


def _items(
    session: Session,
    actor: Actor,
    project_id: int,
    config: LabelConfig,
    dataset: Dataset,
    existing: dict[str, _Existing],
    as_: str | None,
    annotator: str | None,
    model_version: str | None,
) -> tuple[list[dict[str, Any]], list[tuple[int, int]], list[int | None], int]:
    """Label Studio task items (one per image) with their sizes and target tasks."""
    field_name = config.image_key()
    if field_name is None:
        raise Invalid.field("project", "the label config has no <Image> tag to show images in")
    controls = ls_controls(config)
    authors = _author_ids(session, project_id, dataset.regions, annotator)
    by_image: dict[str, dict[tuple[str, str], list[RegionRecord]]] = defaultdict(dict)
    for r in dataset.regions:
        source = as_[:-1] if as_ else r.source
        who = r.author or ""
        by_image[r.image].setdefault((source, r.group or who), []).append(r)
    items, sizes, into = [], [], []
    matched = 0
    for image in dataset.images:
        target = existing.get(image.key)
        anns, preds = [], []
        for (source, _), regs in by_image.get(image.key, {}).items():
            result = regions_to_ls_result(regs, image.width, image.height, controls)
            if source == "prediction":
                scores = [r.score for r in regs if r.score is not None]
                preds.append(
                    {
                        "result": result,
                        "model_version": model_version or regs[0].author or "imported",
                        "score": sum(scores) / len(scores) if scores else None,
                    }
                )
            else:
                gt = any(r.is_ground_truth for r in regs)
                if gt and target is not None and target.has_gt:
                    raise Invalid.field(
                        "ground_truth",
                        f"image {image.key!r} (task {target.task_id}) already has ground truth; "
                        "import as annotations without the GT flag or unset it first",
                    )
                anns.append(
                    {
                        "result": result,
                        "ground_truth": gt,
                        "completed_by": authors.get((regs[0].author or "").lower(), authors[""]),
                    }
                )
        items.append({"data": {field_name: image.key}, "annotations": anns, "predictions": preds})
        sizes.append((image.width, image.height))
        into.append(target.task_id if target else None)
        matched += target is not None
    return items, sizes, into, matched


def _author_ids(
    session: Session, project_id: int, regions: tuple[RegionRecord, ...], annotator: str | None
) -> dict[str, int | None]:
    """Author email -> user id for the members the file names; "" -> the given annotator."""
    out: dict[str, int | None] = {"": None}
    if annotator is not None:
        user = session.scalar(select(User).where(User.email == annotator.strip().lower()))
        if user is None or (user.role != "admin" and not is_member(session, user.id, project_id)):
            raise Invalid.field("annotator", f"{annotator} is not a member of project {project_id}")
        return defaultdict(lambda: user.id, {"": user.id})
    emails = {r.author.lower() for r in regions if r.author and "@" in r.author}
    if emails:
        for uid, email in session.execute(
            select(User.id, User.email).where(User.email.in_(emails))
        ):
            if is_member(session, uid, project_id):
                out[email] = uid
    return out
