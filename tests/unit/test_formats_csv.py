"""Scout-style CSVs: documented headers, streaming write, exact round trips, line/column errors."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _formats_strategies import LABELS, boxes, images, iso_times, names, scores, texts
from assay.formats.dataset import FormatError, ImageRecord, Notes, RegionRecord
from assay.formats.scout_csv import (
    ANNOTATIONS_HEADER,
    IMAGES_HEADER,
    ROWS_PER_CHUNK,
    iter_annotations_csv,
    iter_images_csv,
    read_annotations_csv,
    read_images_csv,
)


def test_documented_headers():
    assert IMAGES_HEADER == ("image", "width", "height", "gt_status", "jobs")
    assert ANNOTATIONS_HEADER == (
        "image", "x", "y", "w", "h", "confidence", "label", "source", "author", "job",
        "timestamp", "is_ground_truth",
    )  # fmt: skip


@st.composite
def image_records(draw: st.DrawFn):
    keys = draw(st.lists(texts, min_size=0, max_size=6, unique=True))
    return [
        ImageRecord(
            key=k,
            width=draw(st.integers(1, 10_000)),
            height=draw(st.integers(1, 10_000)),
            gt_status=draw(st.sampled_from(["none", "done", "empty"])),
            jobs=tuple(draw(st.lists(names, max_size=3))),
        )
        for k in keys
    ]


@st.composite
def region_records(draw: st.DrawFn):
    out = []
    for _ in range(draw(st.integers(0, 8))):
        image = draw(images(key=draw(texts)))
        pred = draw(st.booleans())
        out.append(
            draw(
                boxes(
                    image,
                    integral=draw(st.booleans()),
                    score=draw(scores) if pred else None,
                    source="prediction" if pred else "annotation",
                    author=draw(st.none() | texts),
                    job=draw(st.none() | names),
                    created_at=draw(st.none() | iso_times),
                    is_ground_truth=draw(st.booleans()),
                )
            )
        )
    return out


@settings(max_examples=80, deadline=None)
@given(image_records())
def test_images_round_trip_and_open_in_pandas(ims):
    data = b"".join(iter_images_csv(ims))
    assert read_images_csv(data) == ims
    frame = pd.read_csv(io.BytesIO(data), keep_default_na=False, dtype={"image": str})
    assert tuple(frame.columns) == IMAGES_HEADER
    assert frame["image"].tolist() == [im.key for im in ims]
    assert frame["width"].tolist() == [im.width for im in ims]


@settings(max_examples=80, deadline=None)
@given(region_records())
def test_annotations_round_trip_exactly_and_open_in_pandas_and_csv(regions):
    data = b"".join(iter_annotations_csv(regions))
    assert read_annotations_csv(data) == regions
    frame = pd.read_csv(io.BytesIO(data), keep_default_na=False, dtype={"image": str, "label": str})
    assert tuple(frame.columns) == ANNOTATIONS_HEADER
    assert frame["x"].astype(float).tolist() == [r.x for r in regions]
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    assert [row["label"] for row in rows] == [r.label for r in regions]
    assert [row["is_ground_truth"] for row in rows] == [
        "true" if r.is_ground_truth else "false" for r in regions
    ]


def test_streams_in_chunks():
    regions = (
        RegionRecord("a.jpg", "cat", x=i, y=1, w=2, h=3) for i in range(2 * ROWS_PER_CHUNK + 5)
    )
    chunks = list(iter_annotations_csv(regions))
    assert len(chunks) == 3
    assert chunks[0].startswith(b"image,x,y,w,h,confidence,label,")
    assert len(read_annotations_csv(b"".join(chunks))) == 2 * ROWS_PER_CHUNK + 5


def test_non_boxes_are_noted():
    notes = Notes()
    regions = [
        RegionRecord("a", "cat", x=0, y=0, w=10, h=10, rotation=90),
        RegionRecord("a", "cat", kind="polygon", points=((0, 0), (1, 0), (1, 1))),
    ]
    back = read_annotations_csv(b"".join(iter_annotations_csv(regions, notes=notes)))
    assert [(r.x, r.y, r.w, r.h) for r in back] == [(-10, 0, 10, 10)]
    assert set(notes.counts) == {
        "rotation: written as the axis-aligned envelope",
        "polygon: the annotations CSV holds boxes only; not written",
    }


def test_reads_columns_by_name_with_defaults():
    text = "label,image,h,w,y,x,confidence,extra\ncat,a.jpg,4,3,2,1,0.5,zz\ndog,b.jpg,1,1,0,0,,\n"
    a, b = read_annotations_csv(text)
    assert (a.image, a.x, a.y, a.w, a.h, a.score, a.source) == (
        "a.jpg",
        1,
        2,
        3,
        4,
        0.5,
        "prediction",
    )
    assert (b.score, b.source, b.author, b.is_ground_truth) == (None, "annotation", None, False)


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        ("image,x,y,w,h,label\na,1,2,3,4,cat\nb,1,two,3,4,cat\n", 3, "y", "'two' is not a number"),
        ("image,x,y,w,h,label\na,1,2,-3,4,cat\n", 2, "w", "must be >= 0"),
        ("image,x,y,w,h,label\na,1,2,3,4,\n", 2, "label", "is empty"),
        ("image,x,y,w,label\na,1,2,3,cat\n", 1, "h", "missing column"),
        ('image,x,y,w,h,label,author\n"multi\nline",1,2,3,4,cat,"x\ny"\nb,1,2,3,inf,cat,\n',
         5, "h", "not a finite number"),  # the record before spans lines 2-4
        ("image,x,y,w,h,label,is_ground_truth\na,1,2,3,4,cat,maybe\n", 2, "is_ground_truth",
         "not true/false"),
        ("image,x,y,w,h,label,source\na,1,2,3,4,cat,model\n", 2, "source", "annotation/prediction"),
        ("image,x,y,w,h,label\na,1,2,3,4,cat,extra\n", 2, None, "7 values for 6 columns"),
    ],
)  # fmt: skip
def test_malformed_annotations_name_line_and_column(text, line, field, reason):
    with pytest.raises(FormatError, match=reason) as e:
        read_annotations_csv(text.encode(), file="ann.csv")
    assert (e.value.file, e.value.line, e.value.field) == ("ann.csv", line, field)


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("image,width,height\na,10,abc\n", 2, "height"),
        ("image,width,height\na,0,5\n", 2, "width"),
        ("image,width,height\na,1.5,5\n", 2, "width"),
        ("image,width,height,gt_status\na,1,5,finished\n", 2, "gt_status"),
        ("image,width,height\na,1,5\na,1,5\n", 3, "image"),
        ("image,width\na,1\n", 1, "height"),
        ("", 1, None),
    ],
)
def test_malformed_images_name_line_and_column(text, line, field):
    with pytest.raises(FormatError) as e:
        read_images_csv(text, file="images.csv")
    assert (e.value.file, e.value.line, e.value.field) == ("images.csv", line, field)
    assert str(e.value).startswith(f"images.csv line {line}: ")


def test_utf8_bom_and_bad_encoding():
    assert read_images_csv("\ufeffimage,width,height\na,1,2\n".encode())[0].key == "a"
    with pytest.raises(FormatError, match="not UTF-8"):
        read_images_csv(b"image,width,height\n\xff,1,2\n")


def test_labels_with_commas_and_quotes_survive():
    r = RegionRecord("dir/a b.jpg", LABELS[-1], x=1, y=2, w=3, h=4, author='a, "b"')
    assert read_annotations_csv(b"".join(iter_annotations_csv([r]))) == [r]
