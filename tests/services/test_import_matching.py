"""Label files from other tools find the tasks of the images a lead already imported (#15 item
2): after `assay import P folder/`, a COCO, VOC or CSV file naming `a.png` matched nothing and
silently made a second, image-less task per image (400 tasks for 200 images). A name now matches
by the task's image key, by the key of a URL the file gives, then by a unique file name; an
ambiguous name is an error naming the candidates, and an image that matches nothing is an error
unless the import is asked to create it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import supervision as sv
from PIL import Image
from sqlalchemy import func, select

from assay.formats.image_names import image_name_of
from assay.formats.scout_csv import ANNOTATIONS_HEADER
from assay.services import projects, tasks
from assay.services.errors import Invalid
from assay.services.io import label_files
from assay.store.models import Annotation, Task
from builders import RECT_CONFIG, actor_of

NAMES = ["a.png", "herd#1 (copy).png", "élan 50%.png", "left/b.png", "right/b.png"]


@pytest.fixture
def lead(people):
    return actor_of(people["lead"])


@pytest.fixture
def registered(db, lead, settings, tmp_path):
    """A project whose tasks are the images of a folder, registered as `assay import P folder/`
    does: (project id, {relative path: task id})."""
    folder = tmp_path / "survey"
    for i, name in enumerate(NAMES):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (301 + i, 203 + i), (90, 120, 60)).save(path)
    with db.session() as s:
        pid = projects.create_project(s, lead, title="Survey", label_config=RECT_CONFIG).id
        tasks.register_images(s, lead, pid, folder, settings.resolved_media_root)
    with db.session(write=False) as s:
        rows = s.execute(select(Task.id, Task.media_path).where(Task.project_id == pid)).all()
    by_name = {path.split("/", 1)[1]: task_id for task_id, path in rows}
    assert sorted(by_name) == sorted(NAMES)
    return pid, by_name


def _coco(names: list[str], size=(301, 203)) -> dict[str, bytes]:
    doc = {
        "images": [
            {"id": i + 1, "file_name": n, "width": size[0], "height": size[1]}
            for i, n in enumerate(names)
        ],
        "categories": [{"id": 1, "name": "Elephant"}],
        "annotations": [
            {"id": 10 + i, "image_id": i + 1, "category_id": 1, "bbox": [5, 5, 20, 10]}
            for i in range(len(names))
        ],
    }  # fmt: skip
    return {"instances.json": json.dumps(doc).encode()}


def _counts(db, pid: int) -> tuple[int, int]:
    with db.session(write=False) as s:
        n_tasks = s.scalar(select(func.count()).where(Task.project_id == pid))
        n_anns = s.scalar(select(func.count()).where(Annotation.project_id == pid))
    return n_tasks, n_anns


def _annotated(db, pid: int) -> dict[int, int]:
    with db.session(write=False) as s:
        return dict(
            s.execute(
                select(Annotation.task_id, func.count())
                .where(Annotation.project_id == pid)
                .group_by(Annotation.task_id)
            ).all()
        )


def test_a_coco_file_naming_bare_file_names_labels_the_registered_images(db, lead, registered):
    pid, by_name = registered
    names = ["a.png", "herd#1 (copy).png", "élan 50%.png"]
    with db.session() as s:
        done = label_files.import_files(s, lead, pid, "coco", _coco(names))
    assert (done.tasks_matched, done.tasks_created, done.annotations) == (3, 0, 3)
    assert _counts(db, pid) == (len(NAMES), 3)  # no second task for any image
    assert _annotated(db, pid) == {by_name[n]: 1 for n in names}


def test_a_name_with_a_path_or_a_url_picks_among_images_of_one_file_name(db, lead, registered):
    pid, by_name = registered
    names = [
        "images/train/right/b.png",  # a longer path whose tail is the task's
        "https://cdn.example.com/bucket/left/b.png?sig=1",  # a URL: its path's tail
        "/data/media/project-1/a.png".replace("project-1", f"project-{pid}"),  # a media URL
    ]
    with db.session() as s:
        done = label_files.import_files(s, lead, pid, "coco", _coco(names))
    assert (done.tasks_matched, done.tasks_created) == (3, 0)
    assert _annotated(db, pid) == {by_name["right/b.png"]: 1, by_name["left/b.png"]: 1,
                                   by_name["a.png"]: 1}  # fmt: skip


def test_an_ambiguous_file_name_is_an_error_naming_the_candidates(db, lead, registered):
    pid, _ = registered
    with db.session() as s, pytest.raises(Invalid) as caught:
        label_files.import_files(s, lead, pid, "coco", _coco(["a.png", "b.png"]))
    message = caught.value.detail
    assert "1 image name(s) match several tasks" in message
    assert f"'b.png' could be 'project-{pid}/left/b.png', 'project-{pid}/right/b.png'" in message
    assert _counts(db, pid) == (len(NAMES), 0)  # nothing written


def test_images_that_match_no_task_are_an_error_unless_asked_to_create_them(db, lead, registered):
    pid, _ = registered
    names = ["a.png", "z1.png", "z2.png"]
    with db.session() as s, pytest.raises(Invalid) as caught:
        label_files.import_files(s, lead, pid, "coco", _coco(names))
    assert "2 image(s) match no task of the project: 'z1.png', 'z2.png'" in caught.value.detail
    assert "create_missing" in caught.value.detail
    assert _counts(db, pid) == (len(NAMES), 0)
    with db.session() as s:
        done = label_files.import_files(s, lead, pid, "coco", _coco(names), create_missing=True)
    assert (done.tasks_matched, done.tasks_created) == (1, 2)
    assert _counts(db, pid) == (len(NAMES) + 2, 3)
    # the created tasks are found by their names the next time, not created again
    with db.session() as s:
        again = label_files.import_files(s, lead, pid, "coco", _coco(names))
    assert (again.tasks_matched, again.tasks_created) == (3, 0)


def test_two_names_of_one_image_are_refused(db, lead, registered):
    pid, _ = registered
    with db.session() as s, pytest.raises(Invalid, match="all match task"):
        label_files.import_files(s, lead, pid, "coco", _coco(["a.png", "x/a.png"]))


def test_voc_and_csv_files_match_by_file_name_too(db, lead, registered):
    pid, by_name = registered
    xml = (
        "<annotation><filename>herd#1 (copy).png</filename><size><width>302</width>"
        "<height>204</height><depth>3</depth></size><object><name>Zebra</name><bndbox>"
        "<xmin>3</xmin><ymin>4</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"
        "</annotation>"
    )
    csv = ",".join(ANNOTATIONS_HEADER) + "\na.png,10,10,40,30,,Elephant,annotation,,,,false\n"
    with db.session() as s:
        voc = label_files.import_files(s, lead, pid, "voc", {"Annotations/x.xml": xml.encode()})
        cvs = label_files.import_files(s, lead, pid, "csv", {"annotations.csv": csv.encode()})
    assert (voc.tasks_matched, voc.tasks_created, cvs.tasks_matched, cvs.tasks_created) == (
        1, 0, 1, 0,
    )  # fmt: skip
    assert _annotated(db, pid) == {by_name["herd#1 (copy).png"]: 1, by_name["a.png"]: 1}


def test_supervision_coco_of_the_same_folder_matches_every_image(db, lead, registered, tmp_path):
    """The workflow of the issue: images imported first, then the labels a CV engineer wrote
    with supervision for the same files (it names them by their file name alone)."""
    pid, by_name = registered
    unique = [n for n in NAMES if not n.endswith("b.png")]
    annotations, paths = {}, []
    for i, name in enumerate(unique):
        path = tmp_path / "sv" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (301 + NAMES.index(name), 203 + NAMES.index(name))).save(path)
        paths.append(str(path))
        boxes = np.array([[2.0 + i, 3.0, 40.5, 50.25]])
        annotations[str(path)] = sv.Detections(xyxy=boxes, class_id=np.array([0]))
    sv.DetectionDataset(classes=["Elephant"], images=paths, annotations=annotations).as_coco(
        annotations_path=str(tmp_path / "instances.json")
    )
    with db.session() as s:
        done = label_files.import_files(
            s, lead, pid, "coco", {"instances.json": (tmp_path / "instances.json").read_bytes()}
        )
    assert (done.tasks_matched, done.tasks_created) == (len(unique), 0)
    assert _annotated(db, pid) == {by_name[n]: 1 for n in unique}


def test_image_names_follow_the_image_field_when_the_config_moves_it(db, lead):
    with db.session() as s:
        pid = projects.create_project(s, lead, title="p", label_config=RECT_CONFIG).id
        tasks.import_tasks(
            s,
            lead,
            pid,
            [{"image": "https://x.org/p/a.png", "photo": f"/data/media/project-{pid}/b%20c.png"}],
        )
    with db.session(write=False) as s:
        assert s.scalar(select(Task.image_name).where(Task.project_id == pid)) == "a.png"
    with db.session() as s:
        config = RECT_CONFIG.replace('value="$image"', 'value="$photo"')
        projects.update_project(s, lead, pid, label_config=config)
    with db.session(write=False) as s:
        assert s.scalar(select(Task.image_name).where(Task.project_id == pid)) == "b c.png"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("/data/media/project-2/herd%231%20(copy).jpg", "herd#1 (copy).jpg"),
        ("https://cdn.example.com/a/b.png?sig=1#x", "b.png"),
        ("s3://bucket/dir/c.tif", "c.tif"),
        ("plain.png", "plain.png"),
        ("C:\\data\\d.png", "d.png"),
        ("", None),
        (5, None),
    ],
)
def test_image_name_of_a_value(value, name):
    assert image_name_of(value) == name
