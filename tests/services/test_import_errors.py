"""A bad label file is refused with errors a person can act on (#15 item 9): each names the file
and the object (and its image), every bad object is counted, not the first 20, and a file
given as one format but written in another says what it looks like. Before, a COCO box of
width 0 was refused as `tasks[3].annotations[0].result[0].value.width`."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from assay.formats.scout_csv import ANNOTATIONS_HEADER
from assay.services import projects, tasks
from assay.services.errors import Invalid
from assay.services.io import label_files
from assay.store.models import Task
from builders import RECT_CONFIG, actor_of


@pytest.fixture
def lead(people):
    return actor_of(people["lead"])


@pytest.fixture
def pid(db, lead) -> int:
    """A project with the tasks herd_00.png .. herd_29.png, 640 x 480."""
    with db.session() as s:
        p = projects.create_project(s, lead, title="Herds", label_config=RECT_CONFIG).id
        tasks.import_tasks(
            s, lead, p, [{"image": f"herd_{i:02}.png"} for i in range(30)],
            sizes=[(640, 480)] * 30,
        )  # fmt: skip
    return p


def _refused(db, lead, pid, fmt, files) -> Invalid:
    with db.session() as s, pytest.raises(Invalid) as caught:
        label_files.import_files(s, lead, pid, fmt, files)
    with db.session(write=False) as s:
        assert s.scalar(select(func.count()).where(Task.project_id == pid)) == 30  # no write
    return caught.value


def _coco(boxes: list[list[float]]) -> dict[str, bytes]:
    doc = {
        "images": [{"id": i, "file_name": f"herd_{i:02}.png", "width": 640, "height": 480}
                   for i in range(30)],
        "categories": [{"id": 1, "name": "Elephant"}],
        "annotations": [{"id": 100 + k, "image_id": k % 30, "category_id": 1, "bbox": b}
                        for k, b in enumerate(boxes)],
    }  # fmt: skip
    return {"instances.json": json.dumps(doc).encode()}


def test_a_box_the_config_refuses_is_named_by_its_file_object_and_image(db, lead, pid):
    boxes = [[10, 10, 20, 20]] * 17 + [[10, 10, 0, 20]] + [[10, 10, 20, 20]] * 3
    boxes += [[630, 10, 40, 20]]  # runs out of the image
    err = _refused(db, lead, pid, "coco", _coco(boxes))
    assert "2 region(s) do not fit the project's label config" in err.detail
    assert "instances.json: annotations[17] (image 'herd_17.png'): width: must be > 0" in (
        err.detail
    )
    assert "(and 1 more)" in err.detail and "tasks[" not in err.detail
    assert set(err.validation_errors) == {
        "instances.json: annotations[17] (image 'herd_17.png')",
        "instances.json: annotations[21] (image 'herd_21.png')",
    }


def test_every_bad_object_of_a_reader_is_counted(db, lead, pid):
    err = _refused(db, lead, pid, "coco", _coco([[10, 10, -1, 5]] * 45 + [[1, 1, 2, 2]]))
    assert "annotations[0].bbox" in err.detail and "(and 44 more problems)" in err.detail
    assert len(err.validation_errors) == 20  # the first ones, each by place
    lines = "".join(f"{i % 2} 0.5 0.5 0.1\n" for i in range(300))  # 4 numbers, not 5
    yolo = {"data.yaml": b"names: [Elephant, Zebra]\n", "labels/herd_00.txt": lines.encode()}
    err = _refused(db, lead, pid, "yolo", yolo)
    assert "labels/herd_00.txt line 1: field 'height'" in err.detail
    assert "(and 299 more problems)" in err.detail
    rows = "".join(f"herd_{i:02}.png,1,1,-{i + 1},4,,Elephant,,,,,\n" for i in range(30))
    csv = ",".join(ANNOTATIONS_HEADER) + "\n" + rows
    err = _refused(db, lead, pid, "csv", {"annotations.csv": csv.encode()})
    assert "annotations.csv line 2: field 'w': must be >= 0" in err.detail
    assert "(and 29 more problems)" in err.detail


def test_every_bad_task_of_label_studio_json_is_counted(db, lead, pid):
    items = [{"data": {"image": f"x{i}.png"}, "annotations": [{"result": "no"}]} for i in range(45)]
    err = _refused(db, lead, pid, "ls-json", {"tasks.json": json.dumps(items).encode()})
    assert err.detail.startswith("Nothing was imported: 45 task(s) have errors")


VOC = b"""<?xml version="1.0"?>
<annotation><filename>herd_00.png</filename><size><width>640</width><height>480</height>
<depth>3</depth></size></annotation>"""


@pytest.mark.parametrize(
    ("fmt", "files", "message"),
    [
        ("coco", {"instances.json": VOC},
         "instances.json looks like Pascal VOC XML, not coco: import it with format voc"),
        ("ls-json", _coco([[1, 1, 2, 2]]),
         "instances.json looks like a COCO JSON file, not ls-json: import it with format coco"),
        ("coco", {"tasks.json": json.dumps([{"data": {"image": "a.png"}}]).encode()},
         "tasks.json looks like Label Studio JSON (a list of tasks), not coco"),
        ("voc", {"labels/a.txt": b"0 0.5 0.5 0.1 0.1\n"},
         "labels/a.txt looks like YOLO label lines, not voc: import it with format yolo"),
    ],
)  # fmt: skip
def test_a_file_in_another_format_says_what_it_looks_like(db, lead, pid, fmt, files, message):
    assert message in _refused(db, lead, pid, fmt, files).detail


def test_a_zip_given_as_json_is_named(db, lead, pid):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("instances.json", _coco([[1, 1, 2, 2]])["instances.json"])
    err = _refused(db, lead, pid, "coco", {"export.json": buffer.getvalue()})
    assert "export.json is a zip archive: upload it with a name that ends in .zip" in err.detail
    with db.session() as s:  # named as the zip it is, it imports
        done = label_files.import_files(s, lead, pid, "coco", {"export.zip": buffer.getvalue()})
    assert (done.tasks_matched, done.annotations) == (30, 30)  # 29 of them empty


def test_every_bad_object_of_every_voc_file_is_counted(db, lead, pid):
    def xml(name: str, boxes: list[tuple[int, int, int, int]]) -> bytes:
        objects = "".join(
            f"<object><name>Elephant</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin>"
            f"<xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
            for a, b, c, d in boxes
        )
        return (
            f"<annotation><filename>{name}</filename><size><width>640</width>"
            f"<height>480</height></size>{objects}</annotation>"
        ).encode()

    bad = (5, 5, 700, 10)  # runs out of the image
    files = {
        "Annotations/a.xml": xml("herd_00.png", [bad, (1, 1, 2, 2), bad]),
        "Annotations/b.xml": xml("herd_01.png", [(1, 1, 2, 2), bad]),
    }
    err = _refused(db, lead, pid, "voc", files)
    assert "Annotations/a.xml" in err.detail and "object[0].bndbox.xmax" in err.detail
    assert "(and 2 more problems)" in err.detail
