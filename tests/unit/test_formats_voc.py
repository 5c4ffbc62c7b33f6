"""Pascal VOC XML: hand-written fixtures in both conventions (devkit: 1-based inclusive pixel
indexes; continuous), the devkit's rounding, round trips, errors with file, line and field, and
supervision's own reader and writer agreeing with the devkit convention."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from supervision.dataset.formats.pascal_voc import detections_from_xml_obj, object_to_pascal_voc

from _formats_strategies import boxes, images, same_geometry
from assay.formats.dataset import FormatError, ImageRecord, Notes, RegionRecord
from assay.formats.voc import (
    VOC_CONVENTIONS,
    iter_voc_files,
    read_voc,
    read_voc_files,
    voc_path,
    voc_xml,
)
from builders import TESTS

FIXTURES = TESTS / "fixtures" / "formats"
IMAGE = ImageRecord("img_001.jpg", 640, 480)
# voc/: the devkit's 1-based inclusive pixels (cat 65..192 covers [64, 192)); a box touching
# the left and bottom borders, and a one-pixel box in the bottom-right corner (xmin == xmax)
DEVKIT = [
    RegionRecord("img_001.jpg", "cat", x=64, y=48, w=128, h=96),
    RegionRecord("img_001.jpg", "dog", x=0, y=120, w=400, h=360),
    RegionRecord("img_001.jpg", "ant", x=639, y=479, w=1, h=1),
]
# voc_continuous/: 0-based continuous coordinates, fractional ones kept
CONTINUOUS = [
    RegionRecord("img_001.jpg", "cat", x=64, y=48, w=128, h=96),
    RegionRecord("img_001.jpg", "dog", x=240, y=120.5, w=160, h=239.75),
]
FILES = {"devkit": ("voc", DEVKIT), "continuous": ("voc_continuous", CONTINUOUS)}


@pytest.mark.parametrize("convention", VOC_CONVENTIONS)
def test_reads_the_hand_written_file(convention):
    folder, expected = FILES[convention]
    path = FIXTURES / folder / "Annotations" / "img_001.xml"
    image, regions = read_voc(path.read_bytes(), file=path.name, convention=convention)
    assert image == IMAGE
    assert regions == expected


@pytest.mark.parametrize("convention", VOC_CONVENTIONS)
def test_writes_the_hand_written_file(convention):
    folder, expected = FILES[convention]
    files = dict(iter_voc_files([(IMAGE, expected)], convention=convention))
    assert files == {
        "Annotations/img_001.xml": (FIXTURES / folder / "Annotations" / "img_001.xml").read_bytes()
    }


def test_devkit_is_the_default():
    path = FIXTURES / "voc" / "Annotations" / "img_001.xml"
    assert read_voc(path.read_bytes())[1] == DEVKIT
    assert voc_xml(IMAGE, DEVKIT) == voc_xml(IMAGE, DEVKIT, convention="devkit")


def _bndbox(xml: bytes) -> list[tuple[int, ...]]:
    """(xmin, ymin, xmax, ymax) of each object, as integers."""
    corners = ("xmin", "ymin", "xmax", "ymax")
    return [tuple(int(b.findtext(k)) for k in corners) for b in ET.fromstring(xml).iter("bndbox")]


@pytest.mark.parametrize(
    ("box", "bndbox"),
    [
        ((0, 0, 1, 1), (1, 1, 1, 1)),  # one pixel: xmin == xmax
        ((0, 0, 10, 10), (1, 1, 10, 10)),  # whole image
        ((2.5, 3.5, 4.99, 0.5), (4, 5, 7, 5)),  # halves up (MATLAB's round); y: one pixel
        ((2.49, 0.4, 0.02, 0.2), (3, 1, 3, 1)),  # under a pixel: one pixel
        ((3, 4, 0, 0), (4, 5, 4, 5)),  # zero size: one pixel
        ((9.7, 9.6, 0.3, 0.4), (10, 10, 10, 10)),  # in the corner, kept in the image
    ],
)  # fmt: skip
def test_devkit_writes_whole_pixels_rounded_as_the_devkit(box, bndbox):
    x, y, w, h = box
    notes = Notes()
    xml = voc_xml(ImageRecord("a.jpg", 10, 10), [RegionRecord("a.jpg", "c", x=x, y=y, w=w, h=h)],
                  notes)  # fmt: skip
    assert _bndbox(xml) == [bndbox]
    assert bool(notes) == (box != (0, 0, 1, 1) and box != (0, 0, 10, 10))


def test_devkit_notes_rounding_and_widening_once_per_box():
    regions = [
        RegionRecord("a.jpg", "c", x=1.5, y=2.5, w=3.25, h=1.5),
        RegionRecord("a.jpg", "c", x=3, y=3, w=0.25, h=0),
        RegionRecord("a.jpg", "c", x=1, y=2, w=3, h=4),
    ]
    notes = Notes()
    voc_xml(ImageRecord("a.jpg", 10, 10), regions, notes)
    assert dict(notes.counts) == {
        "fractional pixels: rounded to whole pixels (devkit convention)": 2,
        "box under one pixel: written as one pixel (devkit convention)": 1,
    }
    notes = Notes()
    voc_xml(ImageRecord("a.jpg", 10, 10), regions, notes, convention="continuous")
    assert not notes


def test_devkit_reader_rejects_zero_and_names_the_other_convention():
    xml = _doc().replace("<xmin>1</xmin>", "<xmin>0</xmin>")
    with pytest.raises(FormatError) as e:
        read_voc(xml, file="a.xml")
    assert e.value.field == "object[0].bndbox.xmin"
    assert e.value.reason == (
        "0 is outside the image (width 100: devkit pixels 1..100; "
        "0-based files read with voc_convention=continuous)"
    )
    assert read_voc(xml, convention="continuous")[1][0].x == 0
    one_pixel = _doc().replace("<xmax>3</xmax>", "<xmax>1</xmax>")
    assert read_voc(one_pixel)[1][0].w == 1  # xmin == xmax: one pixel
    fractional = _doc().replace("<xmax>3</xmax>", "<xmax>2.5</xmax>")
    assert read_voc(fractional)[1][0].w == 2.5  # taken as it is


def test_an_unknown_convention_is_refused():
    with pytest.raises(ValueError, match="devkit, continuous"):
        read_voc(_doc(), convention="matlab")
    with pytest.raises(ValueError, match="devkit, continuous"):
        voc_xml(IMAGE, [], convention="zero-based")


def test_box_outside_the_image_names_file_line_and_field():
    path = FIXTURES / "voc_bad" / "img_002.xml"
    with pytest.raises(FormatError) as e:
        read_voc_files({"Annotations/img_002.xml": path.read_bytes()})
    assert (e.value.file, e.value.line, e.value.field) == (
        "Annotations/img_002.xml", 15, "object[1].bndbox.xmax")  # fmt: skip
    assert str(e.value) == (
        "Annotations/img_002.xml line 15: field 'object[1].bndbox.xmax': "
        "700 is outside the image (width 640: devkit pixels 1..640)"
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
    xml = _doc("<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>100</xmax>"
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
def test_continuous_write_then_read_keeps_boxes(data):
    image = data.draw(images(key=data.draw(st.sampled_from(["a.jpg", "dir/b & <c>.png"]))))
    integral = data.draw(st.booleans())
    regions = data.draw(st.lists(boxes(image, integral=integral), max_size=6))
    back_image, back = read_voc(voc_xml(image, regions, convention="continuous"),
                                convention="continuous")  # fmt: skip
    assert back_image == image
    if integral:
        assert back == regions  # whole pixels: exact
    else:
        assert all(same_geometry(a, b) for a, b in zip(regions, back, strict=True))
        assert [(b.x, b.y) for b in back] == [(a.x, a.y) for a in regions]  # corners exact


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_devkit_write_then_read_keeps_boxes_to_the_pixel(data):
    image = data.draw(images(key=data.draw(st.sampled_from(["a.jpg", "dir/b & <c>.png"]))))
    integral = data.draw(st.booleans())
    regions = data.draw(st.lists(boxes(image, integral=integral), max_size=6))
    back_image, back = read_voc(voc_xml(image, regions))
    assert back_image == image
    for a, b in zip(regions, back, strict=True):
        assert b.label == a.label and b.w >= 1 and b.h >= 1
        assert 0 <= b.x <= b.x + b.w <= image.width and 0 <= b.y <= b.y + b.h <= image.height
        for lo, size, lo2, size2 in ((a.x, a.w, b.x, b.w), (a.y, a.h, b.y, b.h)):
            if size >= 1:  # each edge to the nearest whole pixel; whole pixels exact
                assert abs(lo2 - lo) <= 0.5 and abs(lo2 + size2 - lo - size) <= 0.5
                assert not integral or (lo2, size2) == (lo, size)
            else:  # under a pixel: the one pixel nearest its start, inside the image
                assert size2 == 1 and abs(lo2 - lo) <= 1


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_devkit_agrees_with_supervisions_reader_and_writer(data):
    """supervision (0.31) reads x1 = xmin - 1, x2 = xmax and writes xmin = round(x1 + 1),
    xmax = max(round(x2), xmin) with Python's round (halves to even): the same boxes as
    assay's devkit convention, except that assay rounds halves up (2.5 -> 3, supervision 2)
    and keeps boxes in the image."""
    image = data.draw(images(key="a.jpg"))
    regions = data.draw(st.lists(boxes(image), min_size=1, max_size=6))
    for r in regions:
        ours = _bndbox(voc_xml(image, [r]))[0]
        xyxy = np.array([r.x, r.y, r.x + r.w, r.y + r.h])
        el = object_to_pascal_voc(xyxy, r.label)
        theirs = tuple(int(el.find(f"bndbox/{k}").text) for k in ("xmin", "ymin", "xmax", "ymax"))
        halves = any((v * 2).is_integer() and not v.is_integer() for v in xyxy)
        edge = max(theirs[0], theirs[2]) > image.width or max(theirs[1], theirs[3]) > image.height
        assert ours == theirs or halves or edge, (r, ours, theirs)
    xml = voc_xml(image, regions)
    detections, classes = detections_from_xml_obj(
        ET.fromstring(xml), [], (image.width, image.height)
    )
    _, back = read_voc(xml)
    assert np.allclose(detections.xyxy, [(b.x, b.y, b.x + b.w, b.y + b.h) for b in back])
    assert [classes[c] for c in detections.class_id] == [b.label for b in back]
