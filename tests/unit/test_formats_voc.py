"""Pascal VOC XML: hand-written fixtures, round trips, errors with file, line and field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _formats_strategies import boxes, images, same_geometry
from assay.formats.dataset import FormatError, ImageRecord, Notes, RegionRecord
from assay.formats.voc import iter_voc_files, read_voc, read_voc_files, voc_path, voc_xml
from builders import TESTS

FIXTURES = TESTS / "fixtures" / "formats"
IMAGE = ImageRecord("img_001.jpg", 640, 480)
EXPECTED = [
    RegionRecord("img_001.jpg", "cat", x=64, y=48, w=128, h=96),
    RegionRecord("img_001.jpg", "dog", x=240, y=120.5, w=160, h=239.75),
]


def test_reads_the_hand_written_file():
    path = FIXTURES / "voc" / "Annotations" / "img_001.xml"
    image, regions = read_voc(path.read_bytes(), file=path.name)
    assert image == IMAGE
    assert regions == EXPECTED


def test_writes_the_hand_written_file():
    files = dict(iter_voc_files([(IMAGE, EXPECTED)]))
    assert files == {
        "Annotations/img_001.xml": (FIXTURES / "voc" / "Annotations" / "img_001.xml").read_bytes()
    }


def test_box_outside_the_image_names_file_line_and_field():
    path = FIXTURES / "voc_bad" / "img_002.xml"
    with pytest.raises(FormatError) as e:
        read_voc_files({"Annotations/img_002.xml": path.read_bytes()})
    assert (e.value.file, e.value.line, e.value.field) == (
        "Annotations/img_002.xml", 15, "object[1].bndbox.xmax")  # fmt: skip
    assert str(e.value) == (
        "Annotations/img_002.xml line 15: field 'object[1].bndbox.xmax': "
        "700 is outside the image (width 640)"
    )


def _doc(obj: str = "", size: str = "<width>100</width><height>50</height>") -> str:
    return (
        f"<annotation><filename>a.jpg</filename><size>{size}</size>"
        f"<object><name>cat</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax>"
        f"<ymax>4</ymax></bndbox></object>{obj}</annotation>"
    )


@pytest.mark.parametrize(
    ("xml", "field", "reason"),
    [
        (_doc("<object><name>dog</name></object>"), "object[1].bndbox", "missing"),
        (_doc("<object><name/><bndbox/></object>"), "object[1].name", "is empty"),
        (_doc("<object><name>d</name><bndbox><xmin>a</xmin></bndbox></object>"),
         "object[1].bndbox.xmin", "is not a number"),
        (_doc("<object><name>d</name><bndbox><xmin>5</xmin><ymin>1</ymin><xmax>4</xmax>"
              "<ymax>2</ymax></bndbox></object>"), "object[1].bndbox.xmax", "less than xmin"),
        (_doc("<object><name>d</name><bndbox><xmin>5</xmin><ymin>-1</ymin><xmax>6</xmax>"
              "<ymax>2</ymax></bndbox></object>"), "object[1].bndbox.ymin", "outside the image"),
        (_doc(size="<width>100</width>"), "size.height", "missing"),
        (_doc(size="<width>10.5</width><height>5</height>"), "size.width", "positive integer"),
        ("<annotation><size/></annotation>", "filename", "missing"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_field(xml, field, reason):
    with pytest.raises(FormatError, match=reason) as e:
        read_voc(xml, file="a.xml")
    assert (e.value.file, e.value.field) == ("a.xml", field)
    assert e.value.line == 1


def test_malformed_xml_and_entities_are_rejected():
    with pytest.raises(FormatError) as e:
        read_voc("<annotation>\n<filename>a</filename>\n<size>\n</annotation>", file="a.xml")
    assert e.value.line == 4 and "malformed XML" in e.value.reason
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]>\n<annotation>&x;</annotation>'
    )
    with pytest.raises(FormatError, match="DOCTYPE"):
        read_voc(bomb, file="a.xml")
    with pytest.raises(FormatError, match="root element"):
        read_voc("<foo/>", file="a.xml")


def test_scores_and_duplicate_files():
    xml = _doc("<object><name>dog</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>100</xmax>"
               "<ymax>50</ymax></bndbox><score>0.25</score></object>")  # fmt: skip
    _, regions = read_voc(xml, model_version="m")
    assert (regions[1].score, regions[1].source, regions[1].author) == (0.25, "prediction", "m")
    assert regions[0].score is None
    other = _doc().replace("a.jpg", "b.jpg")
    data = read_voc_files({"b.xml": xml, "c.xml": other, "readme.txt": "x"})
    assert data.labels == ("cat", "dog")
    assert [im.key for im in data.images] == ["a.jpg", "b.jpg"]
    with pytest.raises(FormatError, match="also in"):
        read_voc_files({"b.xml": xml, "a.xml": _doc()})


def test_writer_notes_what_voc_drops():
    regions = [
        RegionRecord("a.jpg", "cat", x=10, y=10, w=20, h=10, rotation=90, score=0.5, job="j"),
        RegionRecord("a.jpg", "cat", kind="polygon", points=((0, 0), (1, 0), (1, 1))),
        RegionRecord("a.jpg", "cat", kind="keypoint", x=1, y=1, is_ground_truth=True),
    ]
    notes = Notes()
    _, back = read_voc(voc_xml(ImageRecord("a.jpg", 100, 100), regions, notes))
    assert [(r.x, r.y, r.w, r.h) for r in back] == [(0, 10, 10, 20)]
    assert set(notes.counts) == {
        "rotation: written as the axis-aligned envelope",
        "score: VOC has no field for it",
        "author, job, timestamp: VOC has no field for them",
        "polygon: VOC holds boxes only; not written",
        "keypoint: VOC holds boxes only; not written",
    }
    assert voc_path("train/a.jpg") == "Annotations/train/a.xml"


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_write_then_read_keeps_boxes(data):
    image = data.draw(images(key=data.draw(st.sampled_from(["a.jpg", "dir/b & <c>.png"]))))
    integral = data.draw(st.booleans())
    regions = data.draw(st.lists(boxes(image, integral=integral), max_size=6))
    back_image, back = read_voc(voc_xml(image, regions))
    assert back_image == image
    if integral:
        assert back == regions  # whole pixels: exact
    else:
        assert all(same_geometry(a, b) for a, b in zip(regions, back, strict=True))
        assert [(b.x, b.y) for b in back] == [(a.x, a.y) for a in regions]  # corners exact
