"""A COCO file written by another tool (Roboflow's supervision, as CV engineers write them)
becomes the right answer key: each image's objects are one annotation, so assigning GT keeps
every box (#15 item 1: 1,227 objects on 200 images became 1,227 annotations, and the GT kept
186 boxes), and an image listed without objects gets an empty annotation, so the answer key
says "nothing here" and its COCO export lists every image (#15 item 3)."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv
from PIL import Image
from pycocotools.coco import COCO
from sqlalchemy import func, select

from assay.formats.ls_convert import ls_result_to_regions
from assay.services import ground_truth, projects
from assay.services.io import exporting, label_files
from assay.store.models import Annotation, Task
from builders import RECT_CONFIG, actor_of

CLASSES = ["Elephant", "Zebra", "Giraffe"]


def _truth(
    rng: np.random.Generator, n_images: int
) -> dict[str, tuple[int, int, np.ndarray, np.ndarray]]:
    """file name -> (width, height, boxes xyxy in pixels, class ids); odd sizes, 0 to 6 objects."""
    out = {}
    for i in range(n_images):
        w, h = int(rng.integers(301, 999)), int(rng.integers(201, 777))
        n = int(rng.integers(0, 7))
        x0, y0 = rng.uniform(0, w - 40, n), rng.uniform(0, h - 40, n)
        boxes = np.stack([x0, y0, x0 + rng.uniform(1, 39, n), y0 + rng.uniform(1, 39, n)], axis=1)
        out[f"herd_{i:03}.png"] = (w, h, boxes.reshape(n, 4), rng.integers(0, 3, n))
    return out


@pytest.fixture
def supervision_coco(tmp_path):
    truth = _truth(np.random.default_rng(15), 24)
    images, annotations = {}, {}
    for name, (w, h, boxes, classes) in truth.items():
        path = tmp_path / "images" / name
        path.parent.mkdir(exist_ok=True)
        Image.new("RGB", (w, h), (90, 120, 60)).save(path)
        images[str(path)] = path
        annotations[str(path)] = sv.Detections(xyxy=boxes, class_id=classes)
    dataset = sv.DetectionDataset(classes=CLASSES, images=list(images), annotations=annotations)
    dataset.as_coco(images_directory_path=str(tmp_path / "out"),
                    annotations_path=str(tmp_path / "instances.json"))  # fmt: skip
    return truth, (tmp_path / "instances.json").read_bytes()


def test_each_images_objects_become_one_annotation_and_all_of_them_the_gt(
    db, people, supervision_coco, tmp_path
):
    truth, instances = supervision_coco
    lead = actor_of(people["lead"])
    with db.session() as s:
        pid = projects.create_project(s, lead, title="Herds", label_config=RECT_CONFIG).id
    with db.session() as s:
        done = label_files.import_files(
            s, lead, pid, "coco", {"instances.json": instances}, create_missing=True
        )
    assert (done.tasks_created, done.annotations) == (len(truth), len(truth))  # one per image
    assert sum(len(boxes) == 0 for _, _, boxes, _ in truth.values()) >= 2  # empty images too
    with db.session() as s:
        ground_truth.bulk_assign_earliest(s, lead, pid, {"all": True, "excluded": []})
    with db.session(write=False) as s:
        rows = s.execute(
            select(Task.data, Task.width, Task.height, Annotation.result)
            .join(Annotation, Annotation.task_id == Task.id)
            .where(Task.project_id == pid, Annotation.ground_truth.is_(True))
        ).all()
        assert s.scalar(select(func.count()).select_from(Annotation)) == len(truth)
    assert len(rows) == len(truth)
    worst = 0.0
    for data, w, h, result in rows:
        tw, th, boxes, classes = truth[data["image"].rsplit("/", 1)[-1]]
        assert (w, h) == (tw, th)
        got = sorted(
            (r.label, r.x, r.y, r.x + r.w, r.y + r.h)
            for r in ls_result_to_regions(result, w, h, image="x")
        )
        want = sorted((CLASSES[c], *map(float, b)) for b, c in zip(boxes, classes, strict=True))
        assert [g[0] for g in got] == [t[0] for t in want]  # every box kept, labels right
        worst = max([worst, *(abs(a - b) for g, t in zip(got, want, strict=True)
                              for a, b in zip(g[1:], t[1:], strict=True))])  # fmt: skip
    assert worst <= 1e-6
    # pycocotools reads the GT export: every image, every object
    flt = exporting.export_filter("COCO", ground_truth_only=True)
    file = exporting.open_export(db, lead, pid, "COCO", flt)
    (tmp_path / "gt.json").write_bytes(b"".join(file.chunks))
    coco = COCO(str(tmp_path / "gt.json"))
    assert len(coco.getImgIds()) == len(truth)
    assert len(coco.getAnnIds()) == sum(len(b) for _, _, b, _ in truth.values())
