"""Label Studio result items <-> pixel regions: exact percent <-> pixel conversion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _formats_strategies import boxes, close, images, polygons, same_geometry, scores
from assay.formats.dataset import FormatError, Notes, RegionRecord
from assay.formats.label_config import parse_label_config
from assay.formats.label_studio import validate_result
from assay.formats.ls_convert import (
    ls_controls,
    ls_result_to_regions,
    pct_to_px,
    px_to_pct,
    regions_to_ls_result,
)
from assay.formats.regions import regions_from_label_studio

CONFIG = parse_label_config(
    """<View><Image name="image" value="$image"/>
    <RectangleLabels name="box" toName="image"><Label value="cat"/><Label value="dog"/>
      <Label value="zebra crossing"/><Label value='Ünïcode, "quoted"'/></RectangleLabels>
    <PolygonLabels name="poly" toName="image"><Label value="cat"/><Label value="dog"/>
      <Label value="zebra crossing"/><Label value='Ünïcode, "quoted"'/></PolygonLabels>
    <KeyPointLabels name="kp" toName="image"><Label value="cat"/></KeyPointLabels></View>"""
)


@st.composite
def image_regions(draw: st.DrawFn):
    image = draw(images())
    regions = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["box", "rotated", "polygon", "keypoint"]))
        kw = {"region_id": f"id{i}", "score": draw(st.none() | scores)}
        if kind == "polygon":
            regions.append(draw(polygons(image, **kw)))
        elif kind == "keypoint":
            b = draw(boxes(image, **kw))
            regions.append(RegionRecord(image.key, "cat", kind="keypoint", x=b.x, y=b.y, **kw))
        else:
            b = draw(boxes(image, integral=draw(st.booleans()), **kw))
            if kind == "rotated":
                b = RegionRecord(b.image, b.label, x=b.x, y=b.y, w=b.w, h=b.h,
                                 rotation=draw(st.floats(-360, 360)), **kw)  # fmt: skip
            regions.append(b)
    return image, regions


@settings(max_examples=100, deadline=None)
@given(image_regions())
def test_pixels_to_label_studio_and_back(case):
    image, regions = case
    result = regions_to_ls_result(regions, image.width, image.height, ls_controls(CONFIG))
    back = ls_result_to_regions(result, image.width, image.height, image=image.key)
    assert len(back) == len(regions)
    for a, b in zip(regions, back, strict=True):
        assert same_geometry(a, b), (a, b)
        assert (b.region_id, b.score, b.image) == (a.region_id, a.score, a.image)
    # without explicit sizes the items' original_width / original_height are used
    assert ls_result_to_regions(result, image=image.key) == back


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10_000), st.data())
def test_percent_conversion_is_exact_within_float_precision(size, data):
    px = data.draw(st.floats(0, size))
    pct = px_to_pct(px, size)
    assert pct == px / size * 100
    assert close(pct_to_px(pct, size), px)
    whole = data.draw(st.integers(0, size))
    assert pct_to_px(px_to_pct(whole, size), size) == whole  # whole pixels come back whole


@settings(max_examples=50, deadline=None)
@given(image_regions())
def test_written_results_fit_the_config_and_score_like_the_scorer(case):
    image, regions = case
    regions = [  # Label Studio wants boxes of positive size inside the image
        r for r in regions
        if r.kind == "polygon" or r.kind == "keypoint" or (r.w > 0 and r.h > 0 and not r.rotated)
    ]  # fmt: skip
    result = regions_to_ls_result(regions, image.width, image.height, ls_controls(CONFIG))
    validate_result(result, CONFIG)
    arrays = regions_from_label_studio(result, image.width, image.height)
    rects = [r for r in regions if r.kind == "box"]
    assert len(arrays.rectangles) == len(rects)
    for row, r in zip(arrays.rectangles.rotated, rects, strict=True):
        assert close(row[2], r.w, 1e-6) and close(row[3], r.h, 1e-6)


def test_hand_checked_values():
    r = RegionRecord("a.jpg", "cat", x=20, y=20, w=100, h=25, rotation=15, score=0.5)
    [item] = regions_to_ls_result([r], 200, 100, "box", "image")
    assert item["value"] == {
        "x": 10.0, "y": 20.0, "width": 50.0, "height": 25.0, "rotation": 15.0,
        "rectanglelabels": ["cat"],
    }  # fmt: skip
    assert (item["from_name"], item["to_name"], item["score"]) == ("box", "image", 0.5)
    assert (item["original_width"], item["original_height"]) == (200, 100)


def test_split_labels_and_skipped_kinds():
    result = [
        {"id": "a", "type": "rectangle", "from_name": "b", "to_name": "image",
         "value": {"x": 50, "y": 50, "width": 25, "height": 10}},
        {"id": "a", "type": "labels", "from_name": "l", "to_name": "image",
         "value": {"labels": ["cat", "dog"]}},
        {"id": "m", "type": "brushlabels", "value": {"rle": [1, 2], "brushlabels": ["cat"]}},
        {"id": "c", "type": "choices", "value": {"choices": ["x"]}},
    ]  # fmt: skip
    notes = Notes()
    [r] = ls_result_to_regions(result, 400, 200, image="i", author="ann@x", notes=notes,
                               group="ann-7", is_ground_truth=True)  # fmt: skip
    assert (r.x, r.y, r.w, r.h, r.label) == (200.0, 100.0, 100.0, 20.0, "cat|dog")
    assert (r.author, r.group, r.is_ground_truth) == ("ann@x", "ann-7", True)
    assert set(notes.counts) == {
        "brushlabels: not a region kind assay converts; skipped",
        "choices: not a region kind assay converts; skipped",
    }
    # multi-label regions split again on the way back
    [item] = regions_to_ls_result([r], 400, 200)
    assert item["value"]["rectanglelabels"] == ["cat", "dog"]


def test_masks_and_kinds_without_a_control_are_noted():
    notes = Notes()
    mask = RegionRecord("i", "cat", kind="mask", mask={"size": [2, 2], "counts": [4]})
    point = RegionRecord("i", "cat", kind="keypoint", x=1, y=1)
    out = regions_to_ls_result([mask, point], 2, 2, {"box": "box"}, notes=notes)
    assert out == []
    assert sum(notes.counts.values()) == 2


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"type": "rectanglelabels", "value": {"x": "a", "y": 0, "width": 1, "height": 1}},
         "result[0].value.x"),
        ({"type": "rectanglelabels", "value": {"x": 0, "y": 0, "width": -1, "height": 1}},
         "result[0].value.width"),
        ({"type": "polygonlabels", "value": {"points": [[0, 0], [1, 1]]}}, "result[0].value.points"),
        ({"type": "keypointlabels"}, "result[0].value"),
        ({"type": "rectanglelabels", "value": {"x": 0, "y": 0, "width": 1, "height": 1,
          "rectanglelabels": "cat"}}, "result[0].value.rectanglelabels"),
    ],
)  # fmt: skip
def test_malformed_items_name_the_field(item, field):
    with pytest.raises(FormatError) as e:
        ls_result_to_regions([item], 100, 100, image="i", file="tasks.json")
    assert e.value.field == field
    assert e.value.file == "tasks.json"
    assert str(e.value).startswith(f"tasks.json: field '{field}': ")


def test_missing_image_size_is_an_error():
    item = {"type": "rectanglelabels", "value": {"x": 0, "y": 0, "width": 1, "height": 1}}
    with pytest.raises(FormatError, match="original_width"):
        ls_result_to_regions([item], image="i")


@pytest.mark.parametrize(
    "labels",
    [["Zebra", "Elephant"], ["Elephant", "Zebra"], ["b", "a", "c"], ["Zebra"]],
)
@pytest.mark.parametrize("split", [False, True])
def test_scoring_and_the_formats_read_a_multi_label_region_alike(labels, split):
    """#15 item 10: the scorer joined several labels sorted ("Elephant|Zebra") while the
    exports kept click order ("Zebra|Elephant"), so one region had two labels."""
    box = {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0}
    if split:  # Label Studio's split form: a shape item and a labels item of the same id
        result = [
            {"id": "r1", "type": "rectangle", "from_name": "box", "to_name": "image",
             "original_width": 200, "original_height": 100, "value": box},
            {"id": "r1", "type": "labels", "from_name": "label", "to_name": "image",
             "original_width": 200, "original_height": 100, "value": {"labels": labels}},
        ]  # fmt: skip
    else:
        result = [
            {"id": "r1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
             "original_width": 200, "original_height": 100,
             "value": {**box, "rectanglelabels": labels}},
        ]  # fmt: skip
    scored = regions_from_label_studio(result).rectangles.labels.tolist()
    converted = [r.label for r in ls_result_to_regions(result, image="a.png")]
    assert scored == converted == ["|".join(sorted(labels))]
    written = regions_to_ls_result(ls_result_to_regions(result, image="a.png"), 200, 100)
    assert written[0]["value"]["rectanglelabels"] == sorted(labels)
