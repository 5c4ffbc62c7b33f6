"""Importing label files into a project: COCO, YOLO, Pascal VOC, Scout-style CSVs and Label
Studio JSON, as tasks with annotations, ground truth or predictions.

Each image is matched to the project's task of the same image (named as the exports name it,
`exporting.image_key`); unmatched images become new tasks when the format knows their size
(COCO, VOC, CSV), and are an error otherwise (YOLO: register the images first). Regions are
grouped back into one annotation per (image, author) or one prediction per (image, model).
All-or-nothing: a file is read and checked whole before anything is written.

Matching reads only the tasks of the images the file names (`_Index`), a fixed number of
queries per 1000 images whatever the size of the project; YOLO alone reads every task's key,
since its label files match images by a unique file stem among all of them.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, NamedTuple, TypeVar

import orjson
from sqlalchemy import ColumnElement, and_, literal, or_, select, true, update
from sqlalchemy.orm import Session

from assay.formats.coco_io import read_coco, read_coco_results
from assay.formats.dataset import Dataset, FormatError, ImageRecord, RegionRecord, unknown_labels
from assay.formats.label_config import LabelConfig, parse_label_config, with_labels
from assay.formats.ls_convert import ls_controls, regions_to_ls_result
from assay.formats.scout_csv import read_annotations_csv, read_images_csv
from assay.formats.voc import DEFAULT_VOC_CONVENTION, read_voc_files
from assay.formats.yolo import read_yolo
from assay.services import changes, tasks
from assay.services.access import Action, Actor, authorize, works_in
from assay.services.errors import Invalid
from assay.services.io.exporting import check_voc_convention, image_key
from assay.store.models import Annotation, Prediction, Project, ProjectMember, Task, User
from assay.store.types import utcnow

IMPORT_FORMATS = ("coco", "yolo", "voc", "ls-json", "csv")
MAX_ZIP_MEMBERS = 200_000
MAX_UNZIPPED = 2 << 30  # bytes
CHUNK = 1000  # keys, ids or emails per IN list
_T = TypeVar("_T")


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
    voc_convention: str = DEFAULT_VOC_CONVENTION,
) -> FormatImport:
    """Import the files (path -> bytes; zips unpacked) of one format into the project.

    as_: "annotations" or "predictions" to import every region as that (default: as the file
    says: scores make COCO results and YOLO lines with a confidence predictions). annotator:
    the email of the member the annotations are by (default: the author the file names, if a
    member, else the importing user). model_version: the predictions' model version.
    voc_convention: how VOC boxes are written, devkit (1-based inclusive pixel indexes, the
    default) or continuous (0-based); other formats ignore it.
    """
    authorize(session, actor, Action.TASKS_IMPORT, project_id)
    if fmt not in IMPORT_FORMATS:
        raise Invalid.field("format", f"must be one of {', '.join(IMPORT_FORMATS)}")
    if as_ not in (None, "annotations", "predictions"):
        raise Invalid.field("as", "must be annotations or predictions")
    check_voc_convention(voc_convention)
    files = unpack(files)
    if not files:
        raise Invalid.field("file", "is empty: nothing to import")
    if fmt == "ls-json":
        return _import_label_studio(session, actor, project_id, files)
    config = tasks.label_config_of_project(session, project_id)
    index = _Index(session, project_id, config)
    try:
        dataset = _read(fmt, files, index, config, model_version, voc_convention)
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
    items, sizes, into, matched = _items(session, actor, project_id, config, dataset, index,
                                         as_, annotator, model_version)  # fmt: skip
    if not items:
        raise Invalid.field("file", "holds no images to import")
    replaced = _retire_predictions(session, actor, project_id, items, into)
    result = tasks.import_tasks(
        session, actor, project_id, items, label_config=config, sizes=sizes, into=into
    )
    return FormatImport(
        tasks_created=result.task_count,
        tasks_matched=matched,
        annotations=result.annotation_count,
        predictions=result.prediction_count,
        predictions_replaced=replaced,
        labels_added=added,
        notes=dataset.notes.summary(),
        task_ids=result.task_ids,
    )


def _retire_predictions(
    session: Session,
    actor: Actor,
    project_id: int,
    items: list[dict[str, Any]],
    into: list[int | None],
) -> int:
    """Soft-delete the live predictions of the model versions the file brings, on the tasks it
    brings them to: importing a detector's results again replaces them instead of doubling
    every box. How many were replaced."""
    pairs = {
        (task_id, p["model_version"])
        for item, task_id in zip(items, into, strict=True)
        if task_id is not None
        for p in item["predictions"]
    }
    replaced = 0
    for version in {v for _, v in pairs}:
        ids = sorted(t for t, v in pairs if v == version)
        for chunk in _chunks(ids, CHUNK):
            replaced += session.execute(
                update(Prediction)
                .where(
                    Prediction.task_id.in_(chunk),
                    Prediction.model_version == version,
                    Prediction.deleted_at.is_(None),
                )
                .values(deleted_at=utcnow(), deleted_by_id=actor.id)
            ).rowcount
    if replaced:
        changes.record(session, project_id, {t for t, _ in pairs})
    return replaced


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


class _TaskView(NamedTuple):
    """The part of a task `exporting.image_key` reads."""

    id: int
    data: dict[str, Any]


class _Index:
    """The project's live tasks by image key (`exporting.image_key`; the first task of each
    image), read only for the keys asked for.

    The key is computed from the task data's image value, which no column holds in general.
    It equals `Task.media_path` (indexed) for the usual task, whose image value is the media
    URL of that path (with no `%` in it, so nothing to unquote); those are found by an `IN`
    over the keys. Every other task (external URLs, plain names, media URLs spelled
    otherwise, no image value: `task-<id>`) is found by one query that the database narrows
    to exactly those tasks, reading only their image value. The keys of all rows read are
    then computed by `image_key` itself, so the matching is exactly that of the exports.
    """

    def __init__(self, session: Session, project_id: int, config: LabelConfig) -> None:
        self.session = session
        self.project_id = project_id
        self.config = config
        self.field = config.image_key() or None  # as image_key reads it
        self.found: dict[str, _Existing] = {}  # key -> the first task of that image
        self.looked: set[str] = set()
        self.complete = False  # every task of the project is in `found`
        # the largest task id the database can hold (tasks.id is a 32-bit integer there)
        sqlite = session.get_bind().dialect.name == "sqlite"
        self.max_id = 2**63 - 1 if sqlite else 2**31 - 1

    def lookup(self, keys: Iterable[str]) -> dict[str, _Existing]:
        """key -> the first live task of that image, for the keys that have one."""
        keys = list(dict.fromkeys(keys))
        new = [k for k in keys if k not in self.looked] if not self.complete else []
        if new:
            wanted = set(new)
            rows: list[tuple[str, _Existing]] = []
            if self.field is None:  # every key is task-<id>
                ids = {i for k in new if (i := _task_id_of_key(k)) is not None}
                for chunk in self._id_chunks(ids):
                    rows += self._rows(Task.id.in_(chunk), wanted)
            else:
                rows += self._rows(self._plain(), wanted, scan=True)
                for chunk in _chunks(sorted(wanted), CHUNK):
                    rows += self._rows(Task.media_path.in_(chunk), wanted, by_key=True)
            for key, task in sorted(rows, key=lambda r: r[1].task_id):
                self.found.setdefault(key, task)
            self.looked |= wanted
        return {k: self.found[k] for k in keys if k in self.found}

    def everything(self) -> dict[str, _Existing]:
        """Every image of the project (key -> its first task), in task order: one query that
        reads only the task ids, sizes and image values."""
        if not self.complete:
            self.found = {}
            for key, task in self._rows(true(), None, scan=True):
                self.found.setdefault(key, task)
            self.complete = True
        return self.found

    def by_task_ids(self, ids: Iterable[int]) -> dict[int, str]:
        """task id -> image key, for the live tasks of the project among `ids`."""
        out: dict[int, str] = {}
        for chunk in self._id_chunks(ids):
            out.update((task.task_id, key) for key, task in self._rows(Task.id.in_(chunk), None))
        return out

    def _id_chunks(self, ids: Iterable[int]) -> Iterator[Sequence[int]]:
        """The ids a task may have, sorted, in chunks."""
        return _chunks(sorted({i for i in ids if 0 < i <= self.max_id}), CHUNK)

    def _plain(self) -> ColumnElement[bool]:
        """Tasks whose key may differ from their media path: all but those whose image value
        is exactly the media URL of their media path, with no `%` (so no quoting) in it."""
        assert self.field is not None
        if not _json_path_safe(self.field):
            return true()
        value = Task.data[self.field].as_string()
        return or_(
            Task.media_path.is_(None),
            Task.media_path.contains("%", autoescape=True),
            value.is_distinct_from(literal(tasks.MEDIA_URL).concat(Task.media_path)),
        )

    def _rows(
        self,
        where: ColumnElement[bool],
        wanted: set[str] | None,
        *,
        by_key: bool = False,
        scan: bool = False,
    ) -> Iterator[tuple[str, _Existing]]:
        """(image key, task) of the project's live tasks that `where` selects (and whose key
        is wanted). by_key: `where` looks the rows up by an index of its own, to be used
        instead of the project's. scan: `where` may select many of the project's tasks: they
        are streamed, in task order."""
        field_name = self.field
        whole = field_name is not None and not _json_path_safe(field_name)
        value: Any = Task.data if whole else Task.data[field_name] if field_name else Task.id
        project = _unindexed(Task.project_id) if by_key else Task.project_id
        stmt = select(Task.id, Task.width, Task.height, value).where(
            project == self.project_id, Task.deleted_at.is_(None), where
        )
        if scan:
            stmt = stmt.order_by(Task.id).execution_options(yield_per=5000)
        rows = self.session.execute(stmt)
        for task_id, width, height, v in rows:
            data = v if whole else {field_name: v} if field_name else {}
            key = image_key(_TaskView(task_id, data), self.config)  # type: ignore[arg-type]
            if wanted is None or key in wanted:
                yield key, _Existing(task_id, width, height)


def _unindexed(column: Any) -> Any:
    """`column + 0`: the same value, but no index on it is used for the term. SQLite keeps no
    statistics (no ANALYZE), so it would rather walk all of a project's rows by the
    (project_id, deleted_at) index than look the few keys up by their own index."""
    return column + 0


def _json_path_safe(name: str) -> bool:
    """Whether a data key can be read alone in SQL (SQLite's JSON path quotes it as is)."""
    return '"' not in name and "\\" not in name


def _task_id_of_key(key: str) -> int | None:
    """The task a `task-<id>` key (a task without an image value) may name."""
    rest = key.removeprefix("task-")
    if rest != key and rest.isascii() and rest.isdigit() and len(rest) < 20:
        return int(rest)
    return None


def _chunks(values: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _sized(existing: dict[str, _Existing]) -> dict[str, tuple[int, int]]:
    return {k: (e.width, e.height) for k, e in existing.items() if e.width and e.height}


def _read(
    fmt: str,
    files: dict[str, bytes],
    index: _Index,
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
    sized = _sized(index.lookup([*listed, *unlisted]))
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
    project.label_config = xml
    return parse_label_config(xml)


def _items(
    session: Session,
    actor: Actor,
    project_id: int,
    config: LabelConfig,
    dataset: Dataset,
    index: _Index,
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
    existing = index.lookup(image.key for image in dataset.images)
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
    for image in dataset.images:
        target = existing.get(image.key)
        anns, preds = [], []
        if empty_means_nothing and image.key not in by_image:
            anns.append({"result": [], "ground_truth": False, "completed_by": authors[""]})
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
    return items, sizes, into, matched


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
    for chunk in _chunks(emails, CHUNK):
        for uid, email in session.execute(
            select(User.id, User.email).join(ProjectMember, member).where(User.email.in_(chunk))
        ):
            out[email] = uid
    return out


def _with_gt(session: Session, project_id: int, task_ids: Iterable[int]) -> set[int]:
    """Those of the tasks that have a live ground truth annotation."""
    out: set[int] = set()
    for chunk in _chunks(sorted(set(task_ids)), CHUNK):
        out.update(
            session.scalars(
                select(Annotation.task_id).where(
                    _unindexed(Annotation.project_id) == project_id,
                    Annotation.task_id.in_(chunk),
                    Annotation.ground_truth.is_(True),
                    Annotation.deleted_at.is_(None),
                )
            )
        )
    return out
