"""assay.formats.regions: Label Studio result items -> pixel arrays by shape type."""

from __future__ import annotations

import numpy as np
import pytest

from assay.demo.synth import Box, ScoredBox, to_label_studio_result
from assay.formats.label_studio import RegionError
from assay.formats.regions import (
    keypoint_iou_matrix,
    polygon_regions_iou_matrix,
    rectangle_iou_matrix,
    rectangles_from_label_studio_many,
    regions_from_label_studio,
)
from assay.geometry import iou_matrix, pad_flat, rotated_corners, rotated_iou_matrix


def _rect(x, y, w, h, label="Zebra", rotation=0, **extra):
    item = {
        "id": extra.pop("id", f"r{x}{y}"),
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": rotation,
            "rectanglelabels": [label],
        },
    }
    item.update(extra)
    return item


def test_rectangles_percent_to_pixels() -> None:
    r = regions_from_label_studio(
        [_rect(10, 20, 50, 25), _rect(0, 0, 100, 100, "Giraffe")], 200, 100
    )
    rects = r.rectangles
    np.testing.assert_allclose(rects.xyxy, [[20, 20, 120, 45], [0, 0, 200, 100]])
    assert rects.labels.tolist() == ["Zebra", "Giraffe"]
    assert not rects.any_rotated
    assert np.isnan(rects.scores).all()
    assert rects.ids == ("r1020", "r00") and rects.from_names == ("label", "label")
    assert len(r.polygons) == 0 and len(r.keypoints) == 0 and r.choices == {}


def test_round_trip_with_the_demo_generator() -> None:
    boxes = [Box("Zebra", 10.5, 20.25, 30, 40), ScoredBox("Elephant", 100, 50, 60.5, 20, 0.8)]
    result = to_label_studio_result(boxes, 640, 480)
    r = regions_from_label_studio(result, 640, 480)
    np.testing.assert_allclose(
        r.rectangles.xyxy, [[10.5, 20.25, 40.5, 60.25], [100, 50, 160.5, 70]], atol=1e-9
    )
    np.testing.assert_array_equal(r.rectangles.scores, [np.nan, 0.8])
    # the image size can also come from each item
    r2 = regions_from_label_studio(result)
    np.testing.assert_allclose(r2.rectangles.xyxy, r.rectangles.xyxy)


def test_rotated_rectangle_turns_about_its_top_left_corner_in_pixels() -> None:
    # 400 x 200 image; a 25 % x 10 % box at (50 %, 50 %) turned 90 degrees clockwise
    r = regions_from_label_studio([_rect(50, 50, 25, 10, rotation=90)], 400, 200).rectangles
    assert r.any_rotated
    corners = rotated_corners(r.rotated)[0]
    np.testing.assert_allclose(corners[0], [200, 100], atol=1e-9)  # the pivot, in pixels
    np.testing.assert_allclose(corners[1], [200, 200], atol=1e-9)  # width 100 px now points down
    np.testing.assert_allclose(corners[3], [180, 100], atol=1e-9)  # height 20 px now points left
    np.testing.assert_allclose(r.xyxy, [[180, 100, 200, 200]], atol=1e-9)


def test_rectangle_iou_dispatch() -> None:
    a = regions_from_label_studio([_rect(0, 0, 50, 50)], 100, 100).rectangles
    b = regions_from_label_studio([_rect(25, 0, 50, 50)], 100, 100).rectangles
    np.testing.assert_allclose(rectangle_iou_matrix(a, b), iou_matrix(a.xyxy, b.xyxy))
    c = regions_from_label_studio([_rect(0, 0, 50, 50, rotation=45)], 100, 100).rectangles
    np.testing.assert_allclose(rectangle_iou_matrix(a, c), rotated_iou_matrix(a.rotated, c.rotated))
    assert 0 < rectangle_iou_matrix(a, c)[0, 0] < 1


def test_split_label_items_multiple_labels_and_scores() -> None:
    result = [
        {"id": "s1", "type": "rectangle", "from_name": "box", "to_name": "image", "score": 0.5,
         "value": {"x": 0, "y": 0, "width": 10, "height": 10}},
        {"id": "s1", "type": "labels", "from_name": "lab", "to_name": "image", "value": {"labels": ["Zebra"]}},
        _rect(50, 50, 10, 10, "Zebra", id="m1"),
        {"id": "n1", "type": "rectangle", "from_name": "box", "to_name": "image",
         "value": {"x": 5, "y": 5, "width": 1, "height": 1}},
    ]  # fmt: skip
    result[2]["value"]["rectanglelabels"] = ["young", "Zebra"]
    r = regions_from_label_studio(result, 100, 100).rectangles
    assert r.labels.tolist() == ["Zebra", "Zebra|young", ""]
    np.testing.assert_array_equal(r.scores, [0.5, np.nan, np.nan])


def test_polygons_keypoints_and_choices() -> None:
    result = [
        {"id": "p1", "type": "polygonlabels", "from_name": "poly", "to_name": "image",
         "value": {"points": [[0, 0], [50, 0], [50, 50]], "polygonlabels": ["Lake"]}},
        {"id": "k1", "type": "keypointlabels", "from_name": "kp", "to_name": "image",
         "value": {"x": 25, "y": 50, "width": 1, "keypointlabels": ["Nose"]}},
        {"id": "c1", "type": "choices", "from_name": "weather", "to_name": "image",
         "value": {"choices": ["Sunny"]}},
        {"id": "c2", "type": "choices", "from_name": "tags", "to_name": "image",
         "value": {"choices": ["b", "a"]}},
        {"id": "p1", "type": "choices", "from_name": "quality", "to_name": "image",
         "value": {"choices": ["blurry"]}},  # per-region attribute of p1: not a task class
        {"id": "b1", "type": "brushlabels", "from_name": "brush", "to_name": "image",
         "value": {"format": "rle", "rle": [1, 2, 3], "brushlabels": ["Lake"]}},
        {"type": "relation", "from_id": "p1", "to_id": "k1"},
        {"id": "t1", "type": "textarea", "from_name": "note", "to_name": "image", "value": {"text": ["hi"]}},
    ]  # fmt: skip
    r = regions_from_label_studio(result, 200, 100)
    np.testing.assert_allclose(r.polygons.points[0], [[0, 0], [100, 0], [100, 50]])
    assert r.polygons.labels.tolist() == ["Lake"]
    assert r.polygons.geometries[0].area == pytest.approx(2500)
    np.testing.assert_allclose(r.keypoints.points, [[50, 50]])
    assert r.keypoints.labels.tolist() == ["Nose"]
    assert r.choices == {"weather": ("Sunny",), "tags": ("a", "b")}
    assert r.unsupported == ("brushlabels",)
    np.testing.assert_allclose(polygon_regions_iou_matrix(r.polygons, r.polygons), [[1.0]])
    np.testing.assert_allclose(keypoint_iou_matrix(r.keypoints, r.keypoints, sigma=5), [[1.0]])


def test_from_name_filter() -> None:
    result = [_rect(0, 0, 10, 10), {**_rect(20, 20, 10, 10), "from_name": "other"}]
    r = regions_from_label_studio(result, 100, 100, from_name="other")
    np.testing.assert_allclose(r.rectangles.xyxy, [[20, 20, 30, 30]])


def test_empty_result() -> None:
    r = regions_from_label_studio([], 100, 100)
    assert r.rectangles.rotated.shape == (0, 5) and r.rectangles.xyxy.shape == (0, 4)
    assert r.keypoints.points.shape == (0, 2) and r.polygons.points == ()
    assert rectangle_iou_matrix(r.rectangles, r.rectangles).shape == (0, 0)


@pytest.mark.parametrize(
    ("result", "size", "message"),
    [
        ({"x": 1}, (10, 10), r"^result: must be a list of regions"),
        ([1], (10, 10), r"^result\[0\]: must be an object"),
        ([_rect(0, 0, 10, 10), _rect(5, 5, -3, 10)], (10, 10), r"^result\[1\]\.value\.width: must be >= 0"),
        ([_rect(0, 0, 10, 10), _rect(5, 5, 3, "x")], (10, 10), r"^result\[1\]\.value\.height: must be a number"),
        ([_rect(0, 0, 10, 10)], (None, None), r"^result\[0\]\.original_width: image size unknown"),
        ([{"id": "a", "type": "polygonlabels", "from_name": "p", "value": {"points": [[0, 0], [1, 1]]}}],
         (10, 10), r"^result\[0\]\.value\.points: must be 3 or more"),
        ([{**_rect(0, 0, 1, 1), "score": "high"}], (10, 10), r"^result\[0\]\.score: must be a number"),
        ([{"id": "a", "type": "rectanglelabels", "from_name": "p"}], (10, 10), r"^result\[0\]\.value: missing"),
    ],
)  # fmt: skip
def test_bad_items_raise_naming_the_entry(result, size, message) -> None:
    with pytest.raises(RegionError, match=message):
        regions_from_label_studio(result, *size)


def test_many_results_at_once_equal_one_at_a_time() -> None:
    results = [
        [_rect(10, 20, 50, 25), _rect(0, 0, 10, 10, "Giraffe", score=0.25)],
        [],
        [_rect(5, 5, 20, 20, rotation=30)],
        [{"id": "c", "type": "choices", "from_name": "w", "value": {"choices": ["x"]}}],
    ]
    sizes = [(200, 100), (10, 10), (300, 300), (50, 50)]
    rects, counts = rectangles_from_label_studio_many(results, *zip(*sizes, strict=True))
    assert counts.tolist() == [2, 0, 1, 0]
    singles = [
        regions_from_label_studio(r, w, h).rectangles
        for r, (w, h) in zip(results, sizes, strict=True)
    ]
    np.testing.assert_allclose(rects.rotated, np.concatenate([s.rotated for s in singles]))
    assert rects.labels.tolist() == ["Zebra", "Giraffe", "Zebra"]
    np.testing.assert_array_equal(rects.scores, [np.nan, 0.25, np.nan])
    padded, mask = pad_flat(rects.xyxy, counts)
    assert padded.shape == (4, 2, 4) and mask.sum() == 3
    with pytest.raises(
        RegionError, match=r"^results\[0\]\[0\]\.original_width: image size unknown"
    ):
        rectangles_from_label_studio_many(results[:3])
    with pytest.raises(RegionError, match=r"^results\[1\]\[0\]\.value\.y: must be a number"):
        rectangles_from_label_studio_many(
            [[_rect(0, 0, 1, 1)], [_rect(0, None, 1, 1)]], [9, 9], [9, 9]
        )
