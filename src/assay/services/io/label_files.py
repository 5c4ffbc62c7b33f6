"""Importing label files into a project: COCO, YOLO, Pascal VOC, Scout-style CSVs and Label
Studio JSON, as tasks with annotations, ground truth or predictions.

Each image is matched to the project's task of that image (`task_index`: by the name the
exports give it, by the URL the file gives, or by a unique file name); an image that matches no
task is an error, or with `create_missing` a new task that shows no image (COCO, VOC and CSV
know the size; YOLO cannot: register the images first). Regions are grouped back into one
annotation per (image, author) or one prediction per (image, model). All-or-nothing: a file is
read and checked whole before anything is written.

Matching reads only the tasks the file's images can be (`TaskIndex`), a fixed number of queries
per 1000 images whatever the size of the project; YOLO alone reads every task's key, since its
label files match images by a unique file stem among all of them.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import orjson
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from assay.formats.coco_io import read_coco, read_coco_results
from assay.formats.dataset import Dataset, FormatError, ImageRecord, RegionRecord, unknown_labels
from assay.formats.label_config import (
    LabelConfig,
    LabelConfigError,
    parse_label_config,
    with_labels,
)
from assay.formats.label_studio import RegionError, validate_result
from assay.formats.ls_convert import ls_controls, regions_to_ls_result
from assay.formats.scout_csv import read_annotations_csv, read_images_csv
from assay.formats.sniff import FORMAT_NAMES, looks_like
from assay.formats.voc import DEFAULT_VOC_CONVENTION, read_voc_files
from assay.formats.yolo import read_yolo
from assay.services import tasks
from assay.services.access import Action, Actor, authorize, works_in
from assay.services.errors import Invalid
from assay.services.io.exporting import check_voc_convention
from assay.services.io.task_index import Existing, TaskIndex, chunks, unindexed
from assay.services.io.unpacking import (
    DEFAULT_LIMITS,
    FORMAT_SUFFIXES,
    ImportLimits,
    Source,
    Unpacked,
    unpack,
)
from assay.services.tasks import predictions
from assay.store.models import Annotation, Project, ProjectMember, User

IMPORT_FORMATS = ("coco", "yolo", "voc", "ls-json", "csv")


@dataclass(frozen=True)
class FormatImport:
    """What an import did."""

    tasks_created: int
    tasks_matched: int
    annotations: int
    predictions: int
    predictions_replaced: int = 0  # the same model version's earlier predictions on those tasks
    labels_added: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the file held that was not imported
    task_ids: list[int] = field(default_factory=list)  # the created tasks


def import_files(
    session: Session,
    actor: Actor,
    project_id: int,
    fmt: str,
    files: Mapping[str, Source],
    *,
    as_: str | None = None,
    annotator: str | None = None,
    model_version: str | None = None,
    add_labels: bool = False,
    create_missing: bool = False,
    media_root: Path | None = None,
    voc_convention: str = DEFAULT_VOC_CONVENTION,
    shared_media: Sequence[str] = (),
    limits: ImportLimits = DEFAULT_LIMITS,
) -> FormatImport:
    """Import the files (path -> bytes, a path or a binary file; zips unpacked) of one format
    into the project. Only the files the format reads are read (`unpacking`), within `limits`.

    as_: "annotations" or "predictions" to import every region as that (default: as the file
    says: scores make COCO results and YOLO lines with a confidence predictions). annotator:
    the email of the member the annotations are by (default: the author the file names, if a
    member, else the importing user). model_version: the predictions' model version.
    create_missing: images that match no task (`task_index`) become new tasks that show no
    image (their data names the image as the file does); without it they are an error.
    media_root: Label Studio JSON tasks that no region sizes read their media file's size.
    voc_convention: how VOC boxes are written, devkit (1-based inclusive pixel indexes, the
    default) or continuous (0-based); other formats ignore it. shared_media: the shared media
    folders a created task may show besides the project's own (`tasks.MediaScope`).
    """
    authorize(session, actor, Action.TASKS_IMPORT, project_id)
    if fmt not in IMPORT_FORMATS:
        raise Invalid.field("format", f"must be one of {', '.join(IMPORT_FORMATS)}")
    if as_ not in (None, "annotations", "predictions"):
        raise Invalid.field("as", "must be annotations or predictions")
    check_voc_convention(voc_convention)
    if not files:
        raise Invalid.field("file", "is empty: nothing to import")
    unpacked = unpack(files, fmt, limits)
    _refuse_other_formats(fmt, unpacked)
    files = unpacked.files
    if fmt == "ls-json":
        return _import_label_studio(session, actor, project_id, files, media_root, shared_media)
    config = tasks.label_config_of_project(session, project_id)
    index = TaskIndex(session, project_id, config)
    try:
        dataset = _read(fmt, files, index, config, model_version, voc_convention)
    except FormatError as exc:
        raise Invalid(f"Nothing was imported: {exc}", _located(exc)) from None
    added = unknown_labels(dataset.regions, config.labels)
    if added:
        if not add_labels:
            raise Invalid.field(
                "labels",
                f"not in the project's label config: {', '.join(added)}; add them to the config "
                "first, or import with add_labels",
            )
        config = _add_labels(session, actor, project_id, config, dataset.regions, added)
    existing = index.match((image.key for image in dataset.images), create_missing=create_missing)
    items, sizes, into, matched = _items(session, actor, project_id, config, dataset, existing,
                                         as_, annotator, model_version)  # fmt: skip
    if not items:
        raise Invalid.field("file", "holds no images to import")
    replaced = _retire_predictions(session, actor, project_id, items, into)
    result = tasks.import_tasks(
        session, actor, project_id, items, label_config=config, sizes=sizes, into=into,
        shared_media=shared_media,
    )  # fmt: skip
    return FormatImport(
        tasks_created=result.task_count,
        tasks_matched=matched,
        annotations=result.annotation_count,
        predictions=result.prediction_count,
        predictions_replaced=replaced,
        labels_added=added,
        notes=[*dataset.notes.summary(), *_skipped_note(fmt, unpacked)],
        task_ids=result.task_ids,
    )


def _skipped_note(fmt: str, unpacked: Unpacked) -> list[str]:
    if not unpacked.skipped:
        return []
    suffixes = ", ".join(FORMAT_SUFFIXES[fmt])
    return [f"{unpacked.skipped} file(s) not read: {fmt} reads {suffixes} files"]


def _refuse_other_formats(fmt: str, unpacked: Unpacked) -> None:
    """A file given as one format but written in another is refused with what it looks like,
    unless some file of the upload looks like the format given (a zip holds more than labels);
    so is an upload with no file the format reads."""
    seen = {name: looks_like(data) for name, data in {**unpacked.heads, **unpacked.files}.items()}
    if fmt in seen.values():
        return
    for name, kind in sorted(seen.items()):
        if kind == "zip":
            raise Invalid.field(
                "file", f"{name} is a zip archive: upload it with a name that ends in .zip"
            )
        if kind is not None and kind != fmt:
            raise Invalid.field(
                "format",
                f"{name} looks like {FORMAT_NAMES[kind]}, not {fmt}: import it with format {kind}",
            )
    if not unpacked.files:
        raise Invalid.field(
            "file",
            f"holds no file the {fmt} import reads ({', '.join(FORMAT_SUFFIXES[fmt])}) among "
            f"its {unpacked.skipped} file(s)",
        )


def _located(exc: FormatError) -> dict[str, list[str]]:
    """The problems of a FormatError (the first and the others it carries) by place."""
    out: dict[str, list[str]] = {}
    for e in (exc, *exc.others):
        where = e.file + (f":{e.line}" if e.line else "")
        out.setdefault(f"{where}:{e.field}" if e.field else where, []).append(e.reason)
    return out


def _retire_predictions(
    session: Session,
    actor: Actor,
    project_id: int,
    items: list[dict[str, Any]],
    into: list[int | None],
) -> int:
    """The model versions the file brings, on the tasks it brings them to, replace what those
    tasks had of them (`predictions.retire_predictions`). How many were replaced."""
    pairs = {
        (task_id, p["model_version"])
        for item, task_id in zip(items, into, strict=True)
        if task_id is not None
        for p in item["predictions"]
    }
    return predictions.retire_predictions(session, actor, project_id, pairs)


def _import_label_studio(
    session: Session,
    actor: Actor,
    project_id: int,
    files: dict[str, bytes],
    media_root: Path | None,
    shared_media: Sequence[str],
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
    result = tasks.import_tasks(
        session, actor, project_id, items, media_root=media_root, shared_media=shared_media
    )
    return FormatImport(
        result.task_count, 0, result.annotation_count, result.prediction_count,
        task_ids=result.task_ids,
    )  # fmt: skip


def _sized(existing: dict[str, Existing]) -> dict[str, tuple[int, int]]:
    return {k: (e.width, e.height) for k, e in existing.items() if e.width and e.height}


def _read(
    fmt: str,
    files: dict[str, bytes],
    index: TaskIndex,
    config: LabelConfig,
    model_version: str | None,
    voc_convention: str,
) -> Dataset:
    if fmt == "coco":
        name, data = _one(files, ".json")
        if data.lstrip()[:1] == b"[":  # a results (detections) file: image ids are task ids
            try:
                parsed: Any = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                parsed = data  # not JSON: the reader says where
            keys = index.by_task_ids(_coco_image_ids(parsed))
            first = index.lookup(keys.values())
            sized = _sized(first)
            images = {
                tid: ImageRecord(key, *sized[key])
                for tid, key in sorted(keys.items())
                if key in sized and first[key].task_id == tid
            }
            categories = {i + 1: label for i, label in enumerate(config.labels)}
            return read_coco_results(
                parsed, images=images, categories=categories, model_version=model_version,
                file=name,
            )  # fmt: skip
        return read_coco(data, file=name, model_version=model_version)
    if fmt == "yolo":
        return read_yolo(files, _sized(index.everything()), model_version=model_version)
    if fmt == "voc":
        return read_voc_files(files, model_version=model_version, convention=voc_convention)
    images_name = next((n for n in files if PurePosixPath(n).name == "images.csv"), None)
    ann_name = next((n for n in files if n != images_name and n.lower().endswith(".csv")), None)
    images = list(read_images_csv(files[images_name], file=images_name)) if images_name else []
    regions = read_annotations_csv(files[ann_name], file=ann_name) if ann_name else []
    listed = {im.key for im in images}
    unlisted = [k for k in dict.fromkeys(r.image for r in regions) if k not in listed]
    sized = _sized(index.match([*listed, *unlisted], create_missing=True))
    for key in unlisted:
        if key not in sized:
            raise FormatError(
                ann_name or "annotations.csv", None, "image",
                f"{key!r} is neither in images.csv nor an image of the project",
            )  # fmt: skip
        images.append(ImageRecord(key, *sized[key]))
    return Dataset(tuple(images), tuple(regions), tuple(dict.fromkeys(r.label for r in regions)))


def _coco_image_ids(parsed: Any) -> set[int]:
    """The image ids a COCO results list names (those the reader will take as integers)."""
    out: set[int] = set()
    for det in parsed if isinstance(parsed, list) else ():
        v = det.get("image_id") if isinstance(det, dict) else None
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if isinstance(v, float) and not (math.isfinite(v) and v == int(v)):
            continue
        out.add(int(v))
    return out


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
    try:
        config = parse_label_config(xml)
    except LabelConfigError as exc:  # e.g. a category name too long to be a label
        raise Invalid.field("labels", str(exc)) from None
    project.label_config = xml
    return config


def _items(
    session: Session,
    actor: Actor,
    project_id: int,
    config: LabelConfig,
    dataset: Dataset,
    existing: dict[str, Existing],
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
    with_gt = _with_gt(
        session,
        project_id,
        [
            existing[r.image].task_id
            for r in dataset.regions
            if r.is_ground_truth and as_ != "predictions" and r.image in existing
        ],
    )
    by_image: dict[str, dict[tuple[str, str], list[RegionRecord]]] = defaultdict(dict)
    for r in dataset.regions:
        source = as_[:-1] if as_ else r.source
        who = r.author or ""
        by_image[r.image].setdefault((source, r.group or who), []).append(r)
    # An image the file lists without objects means "nothing here": it gets an annotation with
    # an empty result, so the answer key holds it (and false positives on it count). Not in a
    # file of detections: a model that found nothing there says nothing of the image.
    empty_means_nothing = as_ != "predictions" and not any(
        r.source == "prediction" for r in dataset.regions
    )
    items, sizes, into = [], [], []
    matched = 0
    problems = _RegionProblems(config)
    for image in dataset.images:
        target = existing.get(image.key)
        anns, preds = [], []
        if empty_means_nothing and image.key not in by_image:
            anns.append({"result": [], "ground_truth": False, "completed_by": authors[""]})
        for (source, _), regs in by_image.get(image.key, {}).items():
            result = regions_to_ls_result(regs, image.width, image.height, controls)
            problems.check(result, regs, image.key)
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
                if gt and target is not None and target.task_id in with_gt:
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
    problems.raise_any()
    return items, sizes, into, matched


class _RegionProblems:
    """Regions a format reader took that the project's config refuses (a zero-width box, a
    point outside the image), named by where they are in the file, every one counted."""

    KEEP = 20

    def __init__(self, config: LabelConfig) -> None:
        self.config = config
        self.found: dict[str, list[str]] = {}
        self.count = 0

    def check(self, result: list[dict[str, Any]], regions: list[RegionRecord], key: str) -> None:
        by_id: dict[str, RegionRecord] = {}
        for i, r in enumerate(regions):
            by_id.setdefault(r.region_id or f"r{i}", r)
        for item in result:
            try:
                validate_result([item], self.config)
            except RegionError as exc:
                self.count += 1
                region = by_id.get(item["id"])
                where = region.origin if region and region.origin else f"image {key!r}"
                what = exc.field.removeprefix("result[0]").removeprefix(".value").lstrip(".")
                if len(self.found) < self.KEEP:
                    self.found.setdefault(where, []).append(
                        f"{what}: {exc.reason}" if what else exc.reason
                    )

    def raise_any(self) -> None:
        if self.count:
            where, reasons = next(iter(self.found.items()))
            more = f" (and {self.count - 1} more)" if self.count > 1 else ""
            raise Invalid(
                f"Nothing was imported: {self.count} region(s) do not fit the project's "
                f"label config, first {where}: {reasons[0]}{more}",
                self.found,
            )


def _author_ids(
    session: Session, project_id: int, regions: tuple[RegionRecord, ...], annotator: str | None
) -> dict[str, int | None]:
    """Author email -> user id for the members the file names; "" -> the given annotator."""
    out: dict[str, int | None] = {"": None}
    if annotator is not None:
        user = session.scalar(select(User).where(User.email == annotator.strip().lower()))
        if user is None or not works_in(session, user.id, user.role, project_id):
            raise Invalid.field("annotator", f"{annotator} is not a member of project {project_id}")
        return defaultdict(lambda: user.id, {"": user.id})
    emails = sorted({r.author.lower() for r in regions if r.author and "@" in r.author})
    member = and_(ProjectMember.user_id == User.id, ProjectMember.project_id == project_id)
    for chunk in chunks(emails):
        for uid, email in session.execute(
            select(User.id, User.email).join(ProjectMember, member).where(User.email.in_(chunk))
        ):
            out[email] = uid
    return out


def _with_gt(session: Session, project_id: int, task_ids: Iterable[int]) -> set[int]:
    """Those of the tasks that have a live ground truth annotation."""
    out: set[int] = set()
    for chunk in chunks(sorted(set(task_ids))):
        out.update(
            session.scalars(
                select(Annotation.task_id).where(
                    unindexed(Annotation.project_id) == project_id,
                    Annotation.task_id.in_(chunk),
                    Annotation.ground_truth.is_(True),
                    Annotation.deleted_at.is_(None),
                )
            )
        )
    return out
