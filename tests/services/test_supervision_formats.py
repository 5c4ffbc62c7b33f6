"""supervision (Roboflow's dataset library, 0.31) and assay, both ways, in COCO, YOLO and
Pascal VOC: supervision's `DetectionDataset.from_coco / from_yolo / from_pascal_voc` read
assay's answer-key exports, and the YOLO and VOC files supervision's `as_yolo / as_pascal_voc`
write import into assay as annotations that become the answer key. Every box, count and class
name is compared with a seeded truth (`builders.seeded_truth`: odd image sizes, boxes on the
borders and of one pixel, class names with spaces, an apostrophe and non-ASCII letters, file
names with '#', spaces and accents, images without objects).

Tolerances are each side's own rounding, and each test prints what it measured (`-s`):
- supervision keeps boxes as float32: 2 ulps of float32 at 1024 px (1.2e-4 px); pycocotools
  keeps assay's float64 COCO boxes to 1e-6 px;
- YOLO: assay writes normalized values in shortest exact repr (1e-6 px after scaling back);
  supervision writes 5 decimals, so a box edge moves by up to 7.5e-6 of the image size;
- VOC: whole pixels in the devkit's convention, each edge to the nearest pixel (0.5 px),
  whole-pixel boxes exactly. At an exact half the two differ by design and both stay within
  0.5 px: the truth's edge at 40.5 px is written 41 by assay (halves up, as the devkit's
  MATLAB round) and 40 by supervision (Python's round, halves to even).

The COCO direction supervision -> assay is tests/services/test_import_supervision_coco.py.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
from pycocotools.coco import COCO
from sqlalchemy import select

from assay.formats.ls_convert import ls_result_to_regions
from assay.services import ground_truth, projects, tasks
from assay.services.io import exporting, label_files
from assay.store.models import Annotation, Task
from builders import (
    TRUTH_CLASSES,
    actor_of,
    box_errors,
    rect_config,
    seeded_truth,
    truth_project,
    write_truth_images,
)

TRUTH = seeded_truth(7, 24)
FLOAT32 = 2 * float(np.spacing(np.float32(1024)))  # two float32 roundings of a pixel value
N_BOXES = sum(len(t.xyxy) for t in TRUTH.values())


def _report(what: str, errors: list[np.ndarray], limit: float) -> float:
    worst = max((float(e.max()) for e in errors if e.size), default=0.0)
    print(f"\n{what}: {len(TRUTH)} images, {N_BOXES} boxes, max error {worst:.3g} px")
    assert worst <= limit, (what, worst, limit)
    return worst


def _export(db, lead, kind: str, project_id: int, out: Path) -> Path:
    """The answer key exported in `kind`; a zip is extracted into `out`."""
    flt = exporting.export_filter(kind, ground_truth_only=True)
    data = b"".join(exporting.open_export(db, lead, project_id, kind, flt).chunks)
    out.mkdir()
    if kind == "COCO":
        (out / "gt.json").write_bytes(data)
        return out / "gt.json"
    zipfile.ZipFile(io.BytesIO(data)).extractall(out)
    return out


def test_the_truth_has_the_hard_cases():
    sizes = [(t.width, t.height) for t in TRUTH.values()]
    assert all(w % 2 and h % 2 for w, h in sizes)
    assert sum(len(t.xyxy) == 0 for t in TRUTH.values()) >= 2
    widths = np.concatenate([t.xyxy[:, 2] - t.xyxy[:, 0] for t in TRUTH.values()])
    assert (widths == 1).sum() >= 4 and N_BOXES >= 60
    assert {label for t in TRUTH.values() for label in t.labels} == set(TRUTH_CLASSES)
    assert any("#" in n for n in TRUTH) and any("è" in n for n in TRUTH)


@pytest.mark.parametrize("kind", ["COCO", "YOLO", "VOC"])
def test_supervision_reads_the_answer_key_exports(db, people, tmp_path, kind):
    lead = actor_of(people["lead"])
    media = tmp_path / "media"
    pid = truth_project(db, people["lead"], TRUTH, media)
    exported = _export(db, lead, kind, pid, tmp_path / "export")
    if kind == "COCO":
        dataset = sv.DetectionDataset.from_coco(
            images_directory_path=str(media), annotations_path=str(exported)
        )
        # pycocotools keeps the floats: every image and box to 1e-6 px
        coco = COCO(str(exported))
        names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
        errors = []
        for image in coco.loadImgs(coco.getImgIds()):
            anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
            xyxy = [(x, y, x + w, y + h) for x, y, w, h in (a["bbox"] for a in anns)]
            truth = TRUTH[Path(image["file_name"]).name]
            assert (image["width"], image["height"]) == (truth.width, truth.height)
            errors.append(box_errors(truth, np.reshape(xyxy, (-1, 4)),
                                     [names[a["category_id"]] for a in anns]))  # fmt: skip
        assert len(errors) == len(TRUTH)
        _report("COCO export -> pycocotools", errors, 1e-6)
    elif kind == "YOLO":
        dataset = sv.DetectionDataset.from_yolo(
            images_directory_path=str(media / "herds"),
            annotations_directory_path=str(exported / "labels" / "herds"),
            data_yaml_path=str(exported / "data.yaml"),
        )
        # assay's own numbers, read in float64: the format's rounding only
        errors = []
        for truth in TRUTH.values():
            text = (exported / "labels" / "herds" / f"{Path(truth.name).stem}.txt").read_text()
            rows = np.array([[float(v) for v in line.split()] for line in text.splitlines()])
            rows = rows.reshape(-1, 5)
            c, wh = rows[:, 1:3], rows[:, 3:5]
            size = np.array([truth.width, truth.height] * 2)
            xyxy = np.concatenate([c - wh / 2, c + wh / 2], axis=1) * size
            errors.append(box_errors(truth, xyxy, [TRUTH_CLASSES[int(k)] for k in rows[:, 0]]))
        _report("YOLO export, read in float64", errors, 1e-6)
    else:
        dataset = sv.DetectionDataset.from_pascal_voc(
            images_directory_path=str(media / "herds"),
            annotations_directory_path=str(exported / "Annotations" / "herds"),
        )
        assert len(list((exported / "Annotations" / "herds").iterdir())) == len(TRUTH)
    assert len(dataset) == len(TRUTH)
    assert set(dataset.classes) <= set(TRUTH_CLASSES)
    if kind != "VOC":  # VOC files name only the classes they use
        assert sorted(dataset.classes) == sorted(TRUTH_CLASSES)
    errors, whole = [], []
    for path, detections in dataset.annotations.items():
        truth = TRUTH[Path(path).name]
        labels = [dataset.classes[c] for c in detections.class_id]
        errors.append(box_errors(truth, detections.xyxy, labels))
        whole.append(errors[-1][(truth.xyxy == np.round(truth.xyxy)).all(axis=1)])
    limit = {"COCO": FLOAT32, "YOLO": 2 * FLOAT32, "VOC": 0.5}[kind]
    reader = {"COCO": "from_coco", "YOLO": "from_yolo", "VOC": "from_pascal_voc"}[kind]
    _report(f"{kind} export -> supervision {reader}", errors, limit)
    if kind == "VOC":  # whole-pixel boxes (the borders, the one-pixel boxes) exactly
        assert sum(len(e) for e in whole) >= 20
        assert max(float(e.max()) for e in whole if e.size) == 0


def _gt_of(db, project_id: int) -> dict[str, tuple[list[tuple[float, ...]], list[str]]]:
    """Image file name -> the answer key's boxes (xyxy) and labels."""
    out = {}
    with db.session(write=False) as s:
        rows = s.execute(
            select(Task.media_path, Task.data, Task.width, Task.height, Annotation.result)
            .join(Annotation, Annotation.task_id == Task.id)
            .where(Task.project_id == project_id, Annotation.ground_truth.is_(True))
        ).all()
    for media_path, data, w, h, result in rows:
        name = Path(media_path or data["image"]).name
        regions = ls_result_to_regions(result, w, h, image=name)
        out[name] = (
            [(r.x, r.y, r.x + r.w, r.y + r.h) for r in regions],
            [r.label for r in regions],
        )
    return out


@pytest.mark.parametrize("kind", ["yolo", "voc"])
def test_supervisions_files_import_as_annotations_that_become_the_answer_key(
    db, people, tmp_path, kind
):
    paths = write_truth_images(TRUTH, tmp_path / "images")
    annotations = {
        str(paths[t.name]): sv.Detections(
            xyxy=t.xyxy, class_id=np.array([TRUTH_CLASSES.index(c) for c in t.labels], dtype=int)
        )
        for t in TRUTH.values()
    }
    dataset = sv.DetectionDataset(classes=list(TRUTH_CLASSES), images=list(annotations),
                                  annotations=annotations)  # fmt: skip
    out = tmp_path / "supervision"
    if kind == "yolo":
        dataset.as_yolo(annotations_directory_path=str(out / "labels"),
                        data_yaml_path=str(out / "data.yaml"))  # fmt: skip
    else:
        dataset.as_pascal_voc(annotations_directory_path=str(out / "Annotations"))
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    lead = actor_of(people["lead"])
    with db.session() as s:
        pid = projects.create_project(
            s, lead, title="Herds", label_config=rect_config(TRUTH_CLASSES)
        ).id
        # the images are tasks first, as a lead works; the files name them by file name
        tasks.register_images(s, lead, pid, tmp_path / "images", tmp_path / "media")
    with db.session() as s:
        done = label_files.import_files(s, lead, pid, kind, files)
    assert (done.annotations, done.predictions) == (len(TRUTH), 0)  # one per image, empty too
    assert (done.tasks_created, done.tasks_matched) == (0, len(TRUTH))
    with db.session() as s:  # YOLO and VOC hold no GT flag: assigning GT makes the key
        ground_truth.bulk_assign_earliest(s, lead, pid, {"all": True, "excluded": []})
    gt = _gt_of(db, pid)
    assert sorted(gt) == sorted(TRUTH)
    errors = [box_errors(TRUTH[name], np.reshape(xyxy, (-1, 4)), labels)
              for name, (xyxy, labels) in gt.items()]  # fmt: skip
    if kind == "yolo":  # 5 decimals of the image size: centre and half the size
        limit = max(max(t.width, t.height) for t in TRUTH.values()) * 7.5e-6 + 1e-9
    else:
        limit = 0.5
    _report(f"supervision as_{'yolo' if kind == 'yolo' else 'pascal_voc'} -> assay import",
            errors, limit)  # fmt: skip
