"""COCO instances JSON: streaming writer, reader, round trips, pycocotools as the oracle."""

from __future__ import annotations

import contextlib
import io
import json
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from _formats_strategies import LABELS, boxes, images, iso_times, masks, names, polygons, scores
from assay.formats.coco_io import read_coco, read_coco_results, write_coco
from assay.formats.dataset import FormatError, ImageRecord, Notes, RegionRecord
from assay.geometry.masks import rle_encode


def export(images, regions, labels=LABELS, **kw) -> bytes:
    return b"".join(write_coco(images, regions, labels, **kw))


@st.composite
def datasets(draw: st.DrawFn, kinds=("box", "rotated", "polygon", "mask"), small=False):
    keys = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    ims = [
        draw(images(key=k + ".png", external_id=draw(st.none() | names),
                    gt_status=draw(st.sampled_from(["none", "done", "empty"])),
                    jobs=tuple(draw(st.lists(names, max_size=2)))))
        for k in keys
    ]  # fmt: skip
    if small:
        ims = [ImageRecord(i.key, min(i.width, 60), min(i.height, 60)) for i in ims]
    regions = []
    for _ in range(draw(st.integers(0, 8))):
        im = draw(st.sampled_from(ims))
        kind = draw(st.sampled_from(kinds))
        pred = draw(st.booleans())
        kw = {
            "score": draw(scores) if pred else None,
            "source": "prediction" if pred else "annotation",
            "author": draw(st.none() | names),
            "job": draw(st.none() | names),
            "created_at": draw(st.none() | iso_times),
            "is_ground_truth": draw(st.booleans()),
            "group": draw(st.none() | names),
            "region_id": draw(st.none() | names),
        }
        if kind == "polygon":
            regions.append(draw(polygons(im, **kw)))
        elif kind == "mask":
            small_im = ImageRecord(im.key, im.width, im.height)
            regions.append(draw(masks(small_im, **kw)))
        else:
            b = draw(boxes(im, **kw))
            if kind == "rotated":
                b = RegionRecord(b.image, b.label, x=b.x, y=b.y, w=b.w, h=b.h,
                                 rotation=draw(st.floats(1, 359)), **kw)  # fmt: skip
            regions.append(b)
    return ims, regions


@settings(max_examples=60, deadline=None)
@given(datasets(small=True))
def test_write_then_read_is_lossless(case):
    ims, regions = case
    data = read_coco(export(ims, regions))
    assert data.images == tuple(ims)
    assert data.regions == tuple(regions)
    assert data.labels == LABELS


@settings(max_examples=40, deadline=None)
@given(datasets(kinds=("box", "polygon"), small=True))
def test_without_extras_other_tools_see_plain_coco(case):
    ims, regions = case
    data = read_coco(export(ims, regions, extras=False), model_version="m1")
    assert [im.external_id for im in data.images] == [str(i + 1) for i in range(len(ims))]
    for a, b in zip(regions, data.regions, strict=True):
        if a.kind == "polygon" and _is_rectangle_in_box_order(a.points):
            # plain COCO cannot tell such a polygon from a box: documented, read as the box
            (x0, y0), _, (x1, y1), _ = a.points
            a = RegionRecord(a.image, a.label, x=x0, y=y0, w=x1 - x0, h=y1 - y0, score=a.score)
        assert (a.kind, a.label, a.x, a.y, a.w, a.h, a.points, a.score) == (
            b.kind, b.label, b.x, b.y, b.w, b.h, b.points, b.score)  # fmt: skip
        assert b.source == ("prediction" if a.score is not None else "annotation")
        assert b.author == ("m1" if a.score is not None else None)


def _is_rectangle_in_box_order(points) -> bool:
    if len(points) != 4:
        return False
    (x0, y0), (x1, _), (_, _), (_, y3) = points
    if x1 < x0 or y3 < y0:
        return False
    w, h = x1 - x0, y3 - y0  # the bbox written is the polygon's envelope
    return [c for p in points for c in p] == [x0, y0, x0 + w, y0, x0 + w, y0 + h, x0, y0 + h]


def test_a_rectangle_polygon_reads_back_as_a_box_without_extras():
    """Hypothesis found this once: a polygon drawn as a box's 4 corners is a box to plain COCO."""
    im = ImageRecord("a.png", 10, 10)
    square = RegionRecord("a.png", "cat", kind="polygon", points=((1, 2), (4, 2), (4, 6), (1, 6)))
    [plain] = read_coco(export([im], [square], extras=False)).regions
    assert (plain.kind, plain.x, plain.y, plain.w, plain.h) == ("box", 1, 2, 3, 4)
    [kept] = read_coco(export([im], [square])).regions
    assert kept.kind == "polygon"


def test_rotated_boxes_become_polygons_for_other_tools():
    im = ImageRecord("a.jpg", 100, 100)
    r = RegionRecord("a.jpg", "cat", x=50, y=10, w=20, h=10, rotation=90)
    notes = Notes()
    doc = json.loads(export([im], [r], notes=notes))
    [ann] = doc["annotations"]
    assert ann["segmentation"] == [[50.0, 10.0, 50.0, 30.0, 40.0, 30.0, 40.0, 10.0]] or np.allclose(
        ann["segmentation"][0], [50, 10, 50, 30, 40, 30, 40, 10]
    )
    assert np.allclose(ann["bbox"], [40, 10, 10, 20])
    assert list(notes.counts) == [
        "rotated box: written as a 4-point polygon with its envelope as bbox"
    ]
    [plain] = read_coco(export([im], [r], extras=False)).regions
    assert plain.kind == "polygon"


def test_keypoints_are_dropped_and_noted():
    im = ImageRecord("a.jpg", 10, 10)
    notes = Notes()
    doc = json.loads(
        export([im], [RegionRecord("a.jpg", "cat", kind="keypoint", x=1, y=2)], notes=notes)
    )
    assert doc["annotations"] == []
    assert notes.summary() == [
        "keypoint: COCO keypoints need a skeleton per category; not written (1 region)"
    ]


def _quiet_coco(data: bytes) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = json.loads(data)
        coco.createIndex()
    return coco


def _evaluate(gt: COCO, dets: list[dict], iou_type: str) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(gt, gt.loadRes(dets), iou_type)
        ev.params.areaRng = [[0, 1e10]] * 4
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


@settings(max_examples=15, deadline=None)
@given(datasets(kinds=("box", "rotated", "polygon", "mask"), small=True))
def test_export_loads_in_pycocotools_and_evaluates_against_itself(case):
    from assay.formats.dataset import envelope

    ims, regions = case
    regions = [r for r in regions if min(envelope(r)[2:]) > 1]
    data = export(ims, regions)
    gt = _quiet_coco(data)
    assert len(gt.getAnnIds()) == len(regions)
    assert [c["name"] for c in gt.loadCats(gt.getCatIds())] == list(LABELS)
    for ann in gt.loadAnns(gt.getAnnIds()):  # mask areas agree with pycocotools' own
        if isinstance(ann["segmentation"], dict):
            assert ann["area"] == float(mask_utils.area(gt.annToRLE(ann)))
    if regions:
        dets = [dict(a, score=1.0) for a in json.loads(data)["annotations"]]
        assert _evaluate(gt, dets, "bbox") == pytest.approx(1.0)


def test_pycocotools_evaluates_a_fixed_export_to_ap_one():
    ims = [ImageRecord("a.jpg", 640, 480), ImageRecord("b.jpg", 320, 240)]
    regions = [
        RegionRecord("a.jpg", "cat", x=10, y=20, w=100, h=50),
        RegionRecord("a.jpg", "dog", x=300, y=200, w=60, h=80),
        RegionRecord("b.jpg", "cat", kind="polygon", points=((10, 10), (100, 10), (60, 90))),
    ]
    m = np.zeros((240, 320), dtype=bool)
    m[100:150, 200:260] = True
    regions.append(RegionRecord("b.jpg", "dog", kind="mask", mask=rle_encode(m)))
    data = export(ims, regions, labels=("cat", "dog"))
    gt = _quiet_coco(data)
    dets = [dict(a, score=0.9) for a in json.loads(data)["annotations"]]
    assert _evaluate(gt, dets, "bbox") == pytest.approx(1.0)
    assert _evaluate(gt, dets, "segm") == pytest.approx(1.0)
    assert [r.kind for r in read_coco(data).regions] == ["box", "box", "polygon", "mask"]
    assert [c["id"] for c in json.loads(data)["categories"]] == [1, 2]


def test_reads_pycocotools_compressed_rle():
    m = np.zeros((20, 30), dtype=np.uint8, order="F")
    m[3:9, 4:20] = 1
    rle = mask_utils.encode(m)
    rle["counts"] = rle["counts"].decode()
    doc = {
        "images": [{"id": 7, "file_name": "m.png", "width": 30, "height": 20}],
        "categories": [{"id": 3, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [4, 3, 16, 6],
                         "segmentation": rle, "area": 96, "iscrowd": 1}],
    }  # fmt: skip
    data = read_coco(doc)
    [r] = data.regions
    assert r.kind == "mask" and r.mask == {"size": [20, 30], "counts": rle["counts"]}
    assert data.images[0].external_id == "7"
    assert data.notes.summary() == ["iscrowd: imported as an ordinary region (1 region)"]
    out = json.loads(export(data.images, data.regions, labels=("cat",)))
    assert out["annotations"][0]["area"] == 96.0
    assert out["annotations"][0]["bbox"] == [4.0, 3.0, 16.0, 6.0]
    assert read_coco(doc, geometry="box").regions[0].kind == "box"


def test_multi_part_polygons_split_into_regions_of_one_annotation():
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "width": 50, "height": 50}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40],
                         "segmentation": [[0, 0, 10, 0, 10, 10], [20, 20, 40, 20, 40, 40]]}],
    }  # fmt: skip
    data = read_coco(doc)
    assert [r.group for r in data.regions] == [None, None]  # the image's one annotation
    assert data.regions[1].points == ((20.0, 20.0), (40.0, 20.0), (40.0, 40.0))


def test_the_objects_of_one_image_are_one_annotation_not_one_per_coco_id():
    """Every COCO file numbers its objects; those ids are not annotations (#15: 1,227 objects
    on 200 images became 1,227 annotations and assigning GT kept 186 boxes)."""
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "width": 50, "height": 50},
                   {"id": 2, "file_name": "b.png", "width": 50, "height": 50}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": i, "image_id": 1 + i % 2, "category_id": 1 + i % 3 % 2,
             "bbox": [i, i, 5, 5]} for i in range(1, 8)
        ],
    }  # fmt: skip
    data = read_coco(doc)
    assert len(data.regions) == 7
    assert {r.group for r in data.regions} == {None}
    assert {r.author for r in data.regions} == {None}


def test_streams_in_chunks_and_constant_memory():
    n_images, per_image = 2000, 25
    ims = (ImageRecord(f"img_{i:05}.jpg", 640, 480) for i in range(n_images))

    def regions():
        for i in range(n_images):
            for j in range(per_image):
                yield RegionRecord(f"img_{i:05}.jpg", "cat", x=j, y=j, w=10.5, h=20.25,
                                   author="a@b.c", created_at="2024-01-01T00:00:00Z")  # fmt: skip

    tracemalloc.start()
    total, chunks = 0, 0
    for chunk in write_coco(ims, regions(), ["cat"]):
        total += len(chunk)
        chunks += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert chunks > 50
    assert peak < 3_000_000, f"peak {peak} bytes for a {total} byte export"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["annotations"][1].update(category_id=9), "annotations[1].category_id"),
        (lambda d: d["annotations"][0].update(image_id=5), "annotations[0].image_id"),
        (lambda d: d["annotations"][1].update(bbox=[1, 2, 3]), "annotations[1].bbox"),
        (lambda d: d["annotations"][1].update(bbox=[1, 2, -3, 4]), "annotations[1].bbox"),
        (lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4]]),
         "annotations[0].segmentation[0]"),
        (lambda d: d["annotations"][0].update(segmentation={"size": [2, 2], "counts": [4]}),
         "annotations[0].segmentation.size"),
        (lambda d: d["annotations"][0].update(segmentation={"size": [10, 10], "counts": [4]}),
         "annotations[0].segmentation.counts"),
        (lambda d: d["images"][0].update(width=0), "images[0].width"),
        (lambda d: d["images"].append(dict(d["images"][0])), "images[1].id"),
        (lambda d: d["categories"][0].pop("name"), "categories[0].name"),
        (lambda d: d.pop("images"), "images"),
        (lambda d: d["annotations"][0].update(score="high"), "annotations[0].score"),
    ],
)  # fmt: skip
def test_malformed_input_names_the_field(mutate, field):
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]},
                        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [1, 1, 5, 5]}],
    }  # fmt: skip
    mutate(doc)
    with pytest.raises(FormatError) as e:
        read_coco(json.dumps(doc).encode(), file="gt.json")
    assert (e.value.file, e.value.field) == ("gt.json", field)


def test_unknown_category_message():
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 4, "bbox": [0, 0, 5, 5]}],
    }
    with pytest.raises(FormatError) as e:
        read_coco(doc, file="gt.json")
    assert str(e.value) == (
        "gt.json: field 'annotations[0].category_id': 4 is not a category id (known: 1)"
    )


def test_bad_json_names_file_and_line(tmp_path):
    path = tmp_path / "instances.json"
    path.write_text('{"images": [],\n "categories": [\n  {"id": 1,, "name": "x"}]}')
    with pytest.raises(FormatError) as e:
        read_coco(path)
    assert (e.value.file, e.value.line) == ("instances.json", 3)
    assert "malformed JSON" in str(e.value)


def test_read_coco_results_as_predictions():
    ims = {10: ImageRecord("a.jpg", 100, 100), 11: ImageRecord("b.jpg", 100, 100)}
    results = [
        {"image_id": 10, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.75},
        {"image_id": 10, "category_id": 2, "bbox": [5, 5, 10, 10], "score": 0.5},
    ]
    data = read_coco_results(json.dumps(results).encode(), images=ims,
                             categories={1: "cat", 2: "dog"}, model_version="yolo-v8")  # fmt: skip
    assert [(r.image, r.label, r.score, r.source, r.author) for r in data.regions] == [
        ("a.jpg", "cat", 0.75, "prediction", "yolo-v8"),
        ("a.jpg", "dog", 0.5, "prediction", "yolo-v8"),
    ]
    assert [im.key for im in data.images] == ["a.jpg"]
    with pytest.raises(FormatError) as e:
        read_coco_results([{**results[0], "category_id": 3}], images=ims, categories={1: "cat"})
    assert e.value.field == "[0].category_id"
    with pytest.raises(FormatError) as e:
        read_coco_results([{"image_id": 10, "category_id": 1, "bbox": [0, 0, 1, 1]}],
                          images=ims, categories={1: "cat"})  # fmt: skip
    assert e.value.field == "[0].score"


def test_writer_rejects_labels_outside_the_categories():
    with pytest.raises(ValueError, match="'bird'"):
        export([ImageRecord("a", 1, 1)], [RegionRecord("a", "bird", w=1, h=1)], labels=("cat",))
