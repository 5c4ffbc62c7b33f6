"""A COCO file written by another tool (Roboflow's supervision, as CV engineers write them)
becomes the right answer key: each image's objects are one annotation, so assigning GT keeps
every box (#15 item 1: 1,227 objects on 200 images became 1,227 annotations, and the GT kept
186 boxes), and an image listed without objects gets an empty annotation, so the answer key
says "nothing here" and its COCO export lists every image (#15 item 3)."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv
from pycocotools.coco import COCO
from sqlalchemy import func, select

from assay.formats.ls_convert import ls_result_to_regions
from assay.services import ground_truth, projects
from assay.services.io import exporting, label_files
from assay.store.models import Annotation, Task
from builders import (
    TRUTH_CLASSES,
    actor_of,
    box_errors,
    rect_config,
    seeded_truth,
    write_truth_images,
)


@pytest.fixture
def supervision_coco(tmp_path):
    """A seeded truth (`builders.seeded_truth`) written by supervision's `as_coco`."""
    truth = seeded_truth(7, 24)
    paths = write_truth_images(truth, tmp_path / "images")
    annotations = {
        str(paths[t.name]): sv.Detections(
            xyxy=t.xyxy, class_id=np.array([TRUTH_CLASSES.index(c) for c in t.labels], dtype=int)
        )
        for t in truth.values()
    }
    dataset = sv.DetectionDataset(classes=list(TRUTH_CLASSES), images=list(annotations),
                                  annotations=annotations)  # fmt: skip
    dataset.as_coco(images_directory_path=str(tmp_path / "out"),
                    annotations_path=str(tmp_path / "instances.json"))  # fmt: skip
    return truth, (tmp_path / "instances.json").read_bytes()


def test_each_images_objects_become_one_annotation_and_all_of_them_the_gt(
    db, people, supervision_coco, tmp_path
):
    truth, instances = supervision_coco
    lead = actor_of(people["lead"])
    with db.session() as s:
        pid = projects.create_project(
            s, lead, title="Herds", label_config=rect_config(TRUTH_CLASSES)
        ).id
    with db.session() as s:
        done = label_files.import_files(
            s, lead, pid, "coco", {"instances.json": instances}, create_missing=True
        )
    assert (done.tasks_created, done.annotations) == (len(truth), len(truth))  # one per image
    assert sum(len(t.xyxy) == 0 for t in truth.values()) >= 2  # empty images too
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
        t = truth[data["image"]]  # the file name, as supervision's COCO names the image
        assert (w, h) == (t.width, t.height)
        regions = ls_result_to_regions(result, w, h, image="x")
        xyxy = [(r.x, r.y, r.x + r.w, r.y + r.h) for r in regions]
        errors = box_errors(t, xyxy, [r.label for r in regions])  # every box kept, labels right
        worst = max(worst, float(errors.max(initial=0)))
    print(f"\nsupervision as_coco -> assay import: {len(truth)} images, "
          f"{sum(len(t.xyxy) for t in truth.values())} boxes, max error {worst:.3g} px")  # fmt: skip
    assert worst <= 1e-6
    # pycocotools reads the GT export: every image, every object
    flt = exporting.export_filter("COCO", ground_truth_only=True)
    file = exporting.open_export(db, lead, pid, "COCO", flt)
    (tmp_path / "gt.json").write_bytes(b"".join(file.chunks))
    coco = COCO(str(tmp_path / "gt.json"))
    assert len(coco.getImgIds()) == len(truth)
    assert len(coco.getAnnIds()) == sum(len(t.xyxy) for t in truth.values())
