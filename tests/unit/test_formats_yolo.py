"""YOLO datasets: hand-written fixtures, round trips, line/field errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _formats_strategies import boxes, images, names, polygons, same_geometry, scores
from assay.formats.dataset import FormatError, ImageRecord, Notes, RegionRecord
from assay.formats.yolo import iter_yolo_files, read_yolo, read_yolo_dir, yolo_label_path
from builders import TESTS

FIXTURES = TESTS / "fixtures" / "formats"
SIZES = {"img_001.jpg": (640, 480), "img_002.jpg": (100, 100)}
LABELS = ["cat", "dog"]
EXPECTED = [
    RegionRecord("img_001.jpg", "cat", x=64, y=48, w=128, h=96),
    RegionRecord("img_001.jpg", "dog", x=240, y=120, w=160, h=240),
    RegionRecord("img_001.jpg", "dog", kind="polygon", points=((64, 48), (192, 48), (192, 144))),
]


def test_reads_the_hand_written_dataset():
    data = read_yolo_dir(str(FIXTURES / "yolo"), SIZES)
    assert data.labels == ("cat", "dog")
    assert data.images == (
        ImageRecord("img_001.jpg", 640, 480),
        ImageRecord("img_002.jpg", 100, 100),
    )
    assert data.regions == tuple(EXPECTED)


def test_writes_the_hand_written_dataset():
    items = [
        (ImageRecord("img_001.jpg", 640, 480), EXPECTED),
        (ImageRecord("img_002.jpg", 100, 100), []),
    ]
    files = dict(iter_yolo_files(items, LABELS))
    root = FIXTURES / "yolo"
    expected = {
        p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }
    assert files == expected


def test_a_line_with_4_numbers_names_file_line_and_field():
    with pytest.raises(FormatError) as e:
        read_yolo_dir(str(FIXTURES / "yolo_bad"), SIZES)
    assert (e.value.file, e.value.line, e.value.field) == ("labels/img_001.txt", 3, "height")
    assert str(e.value) == (
        "labels/img_001.txt line 3: field 'height': "
        "expected 5 numbers (class x_center y_center width height), got 4"
    )


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("2 0.5 0.5 0.1 0.1", "class", "not a class index 0..1"),
        ("0.5 0.5 0.5 0.1 0.1", "class", "not a class index"),
        ("0 0.5 abc 0.1 0.1", "y_center", "is not a number"),
        ("0 0.5 0.5 1.5 0.1", "width", "outside 0-1"),
        ("0 0.5 0.5 0.1 nan", "height", "not a finite number"),
        ("0 0.1 0.1 0.2 0.2 0.3 9", "y3", "outside 0-1"),
        ("1", "x_center", "got 1"),
    ],
)
def test_malformed_lines(line, field, reason):
    files = {
        "data.yaml": "names: [cat, dog]\n",
        "labels/img_002.txt": f"0 0.5 0.5 0.1 0.1\n{line}\n",
    }
    with pytest.raises(FormatError, match=reason) as e:
        read_yolo(files, SIZES)
    assert (e.value.file, e.value.line, e.value.field) == ("labels/img_002.txt", 2, field)


def test_other_dataset_problems():
    with pytest.raises(FormatError, match=r"no data\.yaml"):
        read_yolo({"labels/img_001.txt": ""}, SIZES)
    with pytest.raises(FormatError) as e:
        read_yolo({"data.yaml": "names: {0: cat, 2: dog}", "labels/img_001.txt": ""}, SIZES)
    assert (e.value.file, e.value.field) == ("data.yaml", "names")
    with pytest.raises(FormatError) as e:
        read_yolo({"data.yaml": "names: [a\n  b: ]", "labels/x.txt": ""}, SIZES)
    assert e.value.line is not None and "malformed YAML" in e.value.reason
    with pytest.raises(FormatError, match="no image of the dataset matches") as e:
        read_yolo({"data.yaml": "names: [cat]", "labels/other.txt": ""}, SIZES)
    assert e.value.file == "labels/other.txt"


def test_names_from_a_dict_or_classes_txt_and_confidences():
    files = {
        "classes.txt": "cat\ndog\n",
        "labels/train/img_001.txt": "1 0.5 0.5 0.25 0.5 0.875\n0 0.1 0.1 0.3 0.1 0.3 0.3 0.5\n",
    }
    data = read_yolo(files, {"images/train/img_001.jpg": (640, 480)}, model_version="yolo11n")
    box, poly = data.regions
    assert (box.label, box.score, box.source, box.author) == ("dog", 0.875, "prediction", "yolo11n")
    assert (box.x, box.y, box.w, box.h) == (240, 120, 160, 240)
    assert poly.kind == "polygon" and poly.score == 0.5 and poly.points[1] == (192, 48)
    dict_names = read_yolo({"data.yaml": "names:\n  0: cat\n  1: dog\n"}, {})
    assert dict_names.labels == ("cat", "dog")


def test_label_paths():
    assert yolo_label_path("images/train/a.jpg") == "labels/train/a.txt"
    assert yolo_label_path("data/images/val/b.PNG") == "data/labels/val/b.txt"
    assert yolo_label_path("c.jpeg") == "labels/c.txt"
    assert yolo_label_path("sub/d.jpg") == "labels/sub/d.txt"


def test_writer_notes_what_yolo_drops():
    im = ImageRecord("a.jpg", 100, 100)
    regions = [
        RegionRecord("a.jpg", "cat", x=10, y=10, w=20, h=10, rotation=30, author="a@b", score=0.5),
        RegionRecord("a.jpg", "cat", kind="keypoint", x=1, y=1),
        RegionRecord("a.jpg", "dog", kind="mask", mask={"size": [100, 100], "counts": [10000]}),
    ]
    notes = Notes()
    files = dict(iter_yolo_files([(im, regions)], LABELS, notes=notes))
    assert files["labels/a.txt"].count(b"\n") == 1
    assert set(notes.counts) == {
        "rotation: written as the axis-aligned envelope",
        "author, job, timestamp: YOLO has no field for them",
        "score: written only in predictions files (scores=True)",
        "keypoint: YOLO detection/segment files cannot hold it; not written",
        "mask: YOLO detection/segment files cannot hold it; not written",
    }


@st.composite
def datasets(draw: st.DrawFn):
    keys = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    sub = draw(st.sampled_from(["", "images/train/"]))
    ims = [draw(images(key=f"{sub}{k}.jpg")) for k in keys]
    with_scores = draw(st.booleans())
    items = []
    for im in ims:
        regions = []
        for _ in range(draw(st.integers(0, 5))):
            kw = {"score": draw(scores)} if with_scores else {}
            kw["source"] = "prediction" if with_scores else "annotation"
            if draw(st.booleans()):
                regions.append(draw(polygons(im, **kw)))
            else:
                regions.append(draw(boxes(im, integral=draw(st.booleans()), **kw)))
        items.append((im, regions))
    return items, with_scores


@settings(max_examples=80, deadline=None)
@given(datasets())
def test_write_then_read_keeps_boxes_segments_and_scores(case):
    items, with_scores = case
    labels = ["cat", "dog", "zebra crossing", 'Ünïcode, "quoted"']
    files = dict(iter_yolo_files(items, labels, scores=with_scores))
    data = read_yolo(files, {im.key: (im.width, im.height) for im, _ in items})
    written = [r for _, regions in items for r in regions]
    assert data.labels == tuple(labels)
    assert len(data.regions) == len(written)
    by_image = {}
    for r in data.regions:
        by_image.setdefault(r.image, []).append(r)
    for im, regions in items:
        for a, b in zip(regions, by_image.get(im.key, []), strict=True):
            # pixels -> normalized -> pixels: two roundings, then 1e-9 px rounding
            assert same_geometry(a, b, tol=1e-8), (a, b)
            assert b.score == a.score and b.source == a.source
            if a.kind == "box" and all(float(v).is_integer() for v in (a.x, a.y, a.w, a.h)):
                assert (b.x, b.y, b.w, b.h) == (a.x, a.y, a.w, a.h)  # whole pixels stay whole
