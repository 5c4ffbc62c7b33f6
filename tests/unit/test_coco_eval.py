"""COCO bbox evaluation: parity with pycocotools' COCOeval, hand-checked cases, bad input.

The oracle is pycocotools itself, fed deep copies of the same in-memory dicts (it mutates
them) with its prints silenced.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import doctest
import gc
import importlib
import io
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.formats.coco import (
    CocoDetections,
    CocoFormatError,
    CocoGroundTruth,
    load_coco_dets,
    load_coco_gt,
)
from assay.metrics.coco import STAT_NAMES, CocoEvaluation, coco_evaluate
from assay.metrics.coco import sorting as coco_sorting

Json = dict[str, Any]


# -- oracle ---------------------------------------------------------------------------------


def pycocotools_eval(gt: Json, dets: list[Json]) -> Any:
    """pycocotools' COCOeval after evaluate/accumulate/summarize, on copies of the inputs."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt, dets = copy.deepcopy(gt), copy.deepcopy(dets)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if dets:
            coco_dt = coco_gt.loadRes(dets)
        else:  # loadRes cannot take an empty list
            coco_dt = COCO()
            coco_dt.dataset = {
                "images": list(gt["images"]),
                "categories": copy.deepcopy(gt["categories"]),
                "annotations": [],
            }
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def oracle_class_ap(ev: Any, k: int, t: slice | int = slice(None)) -> float:
    s = ev.eval["precision"][t, :, k, 0, -1]
    s = s[s > -1]
    return float(np.mean(s)) if len(s) else -1.0


def assert_parity(gt: Json, dets: list[Json]) -> CocoEvaluation:
    gt_before, dets_before = copy.deepcopy(gt), copy.deepcopy(dets)
    ours = coco_evaluate(gt, dets)
    assert gt == gt_before and dets == dets_before, "coco_evaluate mutated its input"
    ev = pycocotools_eval(gt, dets)
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.precision, ev.eval["precision"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.recall, ev.eval["recall"], rtol=0, atol=1e-9)
    assert list(ours.per_class) == sorted(c["id"] for c in gt["categories"])
    for k, cid in enumerate(ours.per_class):
        row = ours.per_class[cid]
        assert row.ap == pytest.approx(oracle_class_ap(ev, k), abs=1e-9)
        assert row.ap50 == pytest.approx(oracle_class_ap(ev, k, 0), abs=1e-9)
        assert row.ap75 == pytest.approx(oracle_class_ap(ev, k, 5), abs=1e-9)
    return ours


# -- random scenes --------------------------------------------------------------------------


def random_case(seed: int) -> tuple[Json, list[Json]]:
    """A small scene set that hits crowds, ignore flags, area-range edges, contention between
    overlapping GTs, IoU and score ties, empty images, many classes, GT id 0, unknown
    categories and > 100 detections per image and category, depending on the seed."""
    rng = np.random.default_rng(seed)
    n_img = int(rng.integers(1, 9))
    n_cat = int(rng.integers(1, 6)) if seed % 3 else int(rng.integers(10, 40))  # many classes
    cat_ids = sorted(int(c) for c in rng.choice(np.arange(1, 91), n_cat, replace=False))
    img_ids = [int(i) for i in rng.permutation(np.arange(1, 60))[:n_img]]
    decimals = int(rng.choice([0, 1, 2]))
    score_decimals = int(rng.choice([1, 2, 6]))
    crowd_p = float(rng.choice([0.0, 0.1, 0.3]))
    ignore_p = float(rng.choice([0.0, 0.2]))
    first_id = 0 if seed % 7 == 0 else 1  # pycocotools reads a match to GT id 0 as no match

    annotations: list[Json] = []
    for img in img_ids:
        for _ in range(int(rng.poisson(rng.choice([0.5, 3.0, 8.0])))):
            side = float(np.exp(rng.uniform(np.log(8), np.log(200))))
            w = round(side * float(np.exp(rng.normal(0, 0.3))), decimals)
            h = round(side * float(np.exp(rng.normal(0, 0.3))), decimals)
            x, y = (round(float(v), decimals) for v in rng.uniform(0, 400, 2))
            boxes = [[x, y, w, h]]
            if rng.random() < 0.3:  # an overlapping neighbour: detections get two candidates
                dx = round(w * float(rng.uniform(0.0, 0.3)), decimals)
                boxes.append([x + dx, y, w, h])
            cat = int(rng.choice(cat_ids))
            for b in boxes:
                kind = rng.random()
                if kind < 0.15:
                    area = float(rng.choice([32.0**2, 96.0**2]))  # exactly on a range edge
                elif kind < 0.6:
                    area = round(b[2] * b[3] * float(rng.uniform(0.4, 1.0)), 2)
                else:
                    area = b[2] * b[3]
                ann: Json = {
                    "id": first_id + len(annotations),
                    "image_id": img,
                    "category_id": cat,
                    "bbox": b,
                    "area": area,
                    "iscrowd": int(rng.random() < crowd_p),
                }
                if ignore_p and rng.random() < 0.5:
                    ann["ignore"] = int(rng.random() < ignore_p)
                annotations.append(ann)
    rng.shuffle(annotations)  # input order matters for ties; keep ids unique

    dets: list[Json] = []

    def score() -> float:
        return round(float(rng.random()), score_decimals)

    for ann in annotations:
        x, y, w, h = ann["bbox"]
        for _ in range(int(rng.choice([0, 1, 1, 2, 3]))):
            if rng.random() < 0.2:
                box = [x, y, w, h]  # exact copy: IoU 1, ties between detections
            else:
                j = rng.normal(0, 0.12, 4)
                box = [
                    round(x + j[0] * w, decimals),
                    round(y + j[1] * h, decimals),
                    round(max(w * float(np.exp(j[2])), 0.0), decimals),
                    round(max(h * float(np.exp(j[3])), 0.0), decimals),
                ]
            cat = ann["category_id"] if rng.random() < 0.85 else int(rng.choice(cat_ids))
            dets.append(
                {"image_id": ann["image_id"], "category_id": cat, "bbox": box, "score": score()}
            )
    for _ in range(int(rng.integers(0, 15))):  # background false positives
        s = float(rng.uniform(2, 150))
        dets.append(
            {
                "image_id": int(rng.choice(img_ids)),
                "category_id": int(rng.choice(cat_ids)),
                "bbox": [round(float(v), decimals) for v in (*rng.uniform(0, 400, 2), s, s * 0.8)],
                "score": score(),
            }
        )
    if seed % 5 == 0 and annotations:  # more than 100 detections in one (image, category)
        ann = annotations[0]
        x, y, w, h = ann["bbox"]
        for i in range(int(rng.integers(95, 130))):
            dets.append(
                {
                    "image_id": ann["image_id"],
                    "category_id": ann["category_id"],
                    "bbox": [x + (i % 7) * w * 0.05, y, w, h],
                    "score": round(float(rng.random()), 1),
                }
            )
    if seed % 4 == 0:  # a category the ground truth does not list: skipped by both
        dets.append(
            {"image_id": img_ids[0], "category_id": 999, "bbox": [1, 1, 5, 5], "score": 0.5}
        )
    order = rng.permutation(len(dets))
    dets = [dets[i] for i in order]
    gt = {
        "images": [{"id": i, "width": 640, "height": 480} for i in img_ids],
        "annotations": annotations,
        "categories": [{"id": c, "name": f"c{c}"} for c in cat_ids],
    }
    return gt, dets


@pytest.mark.parametrize("seed", range(40))
def test_parity_with_pycocotools_on_random_scenes(seed: int) -> None:
    gt, dets = random_case(seed)
    ours = assert_parity(gt, dets)
    assert ours.skipped_detections == sum(d["category_id"] == 999 for d in dets)


# Tiny scenes on a coarse grid: many exact IoU ties, score ties, zero-size boxes, crowds and
# areas exactly on the range edges.
_coord = st.sampled_from([0, 4, 8, 16, 24])
_size = st.sampled_from([0, 8, 16, 32, 40, 100])
_gt_box = st.tuples(
    st.integers(0, 1),  # image index
    st.integers(0, 1),  # category index
    _coord,
    _coord,
    _size,
    _size,
    st.sampled_from([None, 1024.0, 9216.0, 500.0, 20000.0]),  # area (None: box area)
    st.booleans(),  # crowd
)
_det_box = st.tuples(
    st.integers(0, 1),
    st.integers(0, 1),
    _coord,
    _coord,
    _size,
    _size,
    st.sampled_from([0.1, 0.5, 0.9]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_gt_box, max_size=8), st.lists(_det_box, max_size=12))
def test_parity_with_pycocotools_on_tie_heavy_grids(
    gts: list[tuple[Any, ...]], dts: list[tuple[Any, ...]]
) -> None:
    gt = {
        "images": [{"id": 7}, {"id": 3}],
        "categories": [{"id": 5, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": [
            {
                "id": i + 1,
                "image_id": (7, 3)[im],
                "category_id": (5, 2)[c],
                "bbox": [x, y, w, h],
                "area": float(w * h) if area is None else area,
                "iscrowd": int(crowd),
            }
            for i, (im, c, x, y, w, h, area, crowd) in enumerate(gts)
        ],
    }
    dets = [
        {"image_id": (7, 3)[im], "category_id": (5, 2)[c], "bbox": [x, y, w, h], "score": s}
        for im, c, x, y, w, h, s in dts
    ]
    assert_parity(gt, dets)


def test_max_dets_cut_offs_follow_pycocotools() -> None:
    # One GT object per image found late in the score order: AR1 < AR10 < AR100.
    images = [{"id": i} for i in range(1, 4)]
    anns, dets = [], []
    for i in range(1, 4):
        anns.append(
            {
                "id": i,
                "image_id": i,
                "category_id": 1,
                "bbox": [10, 10, 50, 50],
                "area": 2500,
                "iscrowd": 0,
            }
        )
        for j in range(150):
            far = [200 + j, 200, 20, 20]
            dets.append({"image_id": i, "category_id": 1, "bbox": far, "score": 1.0 - j / 1000})
        rank = (0, 5, 50)[i - 1]
        dets[-150 + rank]["bbox"] = [10, 10, 50, 50]
    gt = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "x"}]}
    r = assert_parity(gt, dets)
    ar = r.as_dict()
    assert ar["AR1"] == pytest.approx(1 / 3)
    assert ar["AR10"] == pytest.approx(2 / 3)
    assert ar["AR100"] == pytest.approx(1.0)
    assert r.per_class[1].num_dets == 300  # 100 per image evaluated


# -- hand-checked ---------------------------------------------------------------------------


def one_image_gt(*boxes: list[float], crowd: tuple[int, ...] = (), cats: int = 1) -> Json:
    return {
        "images": [{"id": 1}],
        "categories": [{"id": c, "name": f"cat{c}"} for c in range(1, cats + 1)],
        "annotations": [
            {
                "id": i + 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": b,
                "area": b[2] * b[3],
                "iscrowd": int(i in crowd),
            }
            for i, b in enumerate(boxes)
        ],
    }


def test_one_perfect_detection_scores_one() -> None:
    gt = one_image_gt([10, 10, 50, 40])
    r = coco_evaluate(
        gt, [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 40], "score": 0.9}]
    )
    s = r.as_dict()
    # precision is tp / (tp + fp + eps) as in pycocotools: 1 - 2.2e-16 for a perfect run
    for name in ("AP", "AP50", "AP75", "APm"):
        assert s[name] == pytest.approx(1.0, abs=1e-15)
    assert s["AR1"] == s["AR10"] == s["AR100"] == s["ARm"] == 1.0
    assert s["APs"] == s["APl"] == s["ARs"] == s["ARl"] == -1.0  # no small or large GT
    assert r.per_class[1].ap == pytest.approx(1.0) and r.per_class[1].name == "cat1"


def test_no_detections_scores_zero_and_class_without_gt_minus_one() -> None:
    gt = one_image_gt([10, 10, 50, 40], cats=2)
    r = assert_parity(gt, [])
    assert r.as_dict()["AP"] == 0.0
    assert r.per_class[1].ap == 0.0
    assert r.per_class[2].ap == -1.0  # no GT for the class, like pycocotools' -1
    assert np.all(r.precision[:, :, 1] == -1) and np.all(r.recall[:, 1] == -1)


def test_detection_at_half_overlap_counts_only_at_iou_050() -> None:
    gt = one_image_gt([0, 0, 60, 60])
    # Intersection 40x60 = 2400; union 3600 + 2400 - 2400 = 3600 -> IoU 2/3
    r = coco_evaluate(
        gt, [{"image_id": 1, "category_id": 1, "bbox": [20, 0, 40, 60], "score": 1.0}]
    )
    # Matched at thresholds 0.50 .. 0.65 (4 of 10): AP = 0.4
    assert r.as_dict()["AP"] == pytest.approx(0.4)
    assert r.as_dict()["AP50"] == pytest.approx(1.0) and r.as_dict()["AP75"] == 0.0


def test_crowd_region_absorbs_detections_inside_it() -> None:
    # GT 1 a person, GT 2 a crowd; three detections inside the crowd score higher than the
    # one on the person but are ignored, not false positives: AP stays 1.
    gt = one_image_gt([0, 0, 40, 40], [100, 100, 200, 100], crowd=(1,))
    dets = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40], "score": 0.5}] + [
        {"image_id": 1, "category_id": 1, "bbox": [110 + 50 * i, 110, 40, 40], "score": 0.9}
        for i in range(3)
    ]
    r = assert_parity(gt, dets)
    assert r.as_dict()["AP"] == pytest.approx(1.0)
    assert r.per_class[1].num_gt == 1


def test_crowd_iou_is_intersection_over_detection_area() -> None:
    # A detection half inside a crowd: crowd IoU = 0.5 (matched at 0.50 only, so ignored
    # there, a false positive above); the lone real GT is found.
    gt = one_image_gt([0, 0, 20, 20], [100, 100, 300, 300], crowd=(1,))
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20], "score": 0.1},
        {"image_id": 1, "category_id": 1, "bbox": [380, 100, 40, 40], "score": 0.9},
    ]
    r = assert_parity(gt, dets)
    assert r.precision[0, 100, 0, 0, 2] == pytest.approx(
        1.0
    )  # t=0.50: crowd match ignored -> precision 1
    assert r.precision[1, 100, 0, 0, 2] == pytest.approx(0.5)  # t=0.55: a false positive first


def test_gt_ignore_field_has_no_effect_like_pycocotools() -> None:
    gt = one_image_gt([10, 10, 50, 40], [200, 10, 50, 40])
    dets = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 40], "score": 0.9}]
    flagged = copy.deepcopy(gt)
    flagged["annotations"][1]["ignore"] = 1
    plain = assert_parity(gt, dets)
    same = assert_parity(flagged, dets)
    np.testing.assert_array_equal(plain.stats, same.stats)
    assert plain.as_dict()["AR100"] == 0.5


def test_match_to_gt_id_zero_counts_as_unmatched_like_pycocotools() -> None:
    gt = one_image_gt([10, 10, 50, 40])
    gt["annotations"][0]["id"] = 0
    dets = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 40], "score": 0.9}]
    r = assert_parity(gt, dets)
    assert r.as_dict()["AP"] == 0.0


def test_area_range_uses_the_area_field_not_the_box() -> None:
    # A 100x100 box whose segmentation area is small: it counts for APs only.
    gt = one_image_gt([0, 0, 100, 100])
    gt["annotations"][0]["area"] = 900.0
    r = assert_parity(gt, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 100, 100], "score": 1}])
    s = r.as_dict()
    assert s["APs"] == pytest.approx(1.0) and s["APl"] == -1.0 and s["APm"] == -1.0


def test_images_without_gt_or_detections_and_unknown_categories() -> None:
    gt = one_image_gt([10, 10, 50, 40], cats=2)
    gt["images"] += [{"id": 2}, {"id": 3}]
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 40], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [10, 10, 50, 40], "score": 0.95},  # no GT there
        {"image_id": 3, "category_id": 2, "bbox": [0, 0, 5, 5], "score": 0.3},
        {"image_id": 3, "category_id": 77, "bbox": [0, 0, 5, 5], "score": 0.3},  # unknown class
    ]
    r = assert_parity(gt, dets)
    assert r.skipped_detections == 1
    # class 1: a false positive (image 2) outranks the true positive -> precision 1/2 at
    # every recall; class 2 has no GT (-1) and is left out of the mean
    assert r.as_dict()["AP"] == pytest.approx(0.5)
    assert r.per_class[2].ap == -1.0 and r.per_class[2].num_dets == 1


def test_empty_ground_truth_gives_minus_one_everywhere() -> None:
    gt = {"images": [{"id": 1}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}
    dets = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.3}]
    r = assert_parity(gt, dets)
    assert np.all(r.stats == -1) and r.per_class[1].ap == -1


def test_no_categories_at_all() -> None:
    gt = {"images": [{"id": 1}], "annotations": [], "categories": []}
    r = coco_evaluate(gt, [])
    assert np.all(r.stats == -1) and r.per_class == {}
    assert r.precision.shape == (10, 101, 0, 4, 3)


# -- result shape and inputs ----------------------------------------------------------------


def test_result_is_frozen_with_documented_shapes() -> None:
    gt, dets = random_case(3)
    r = coco_evaluate(gt, dets)
    k = len(gt["categories"])
    assert r.stat_names == STAT_NAMES and r.stats.shape == (12,)
    assert r.precision.shape == (10, 101, k, 4, 3)
    assert r.recall.shape == (10, k, 4, 3)
    assert r.area_names == ("all", "small", "medium", "large") and r.max_dets == (1, 10, 100)
    assert list(r.category_ids) == sorted(c["id"] for c in gt["categories"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.stats = np.zeros(12)  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.precision[0, 0, 0, 0, 0] = 5.0
    cid = next(iter(r.per_class))
    with pytest.raises(TypeError):
        r.per_class[cid] = r.per_class[cid]  # type: ignore[index]
    assert set(r.as_dict()) == set(STAT_NAMES)


def test_array_inputs_give_the_same_result_as_dicts() -> None:
    gt, dets = random_case(11)
    from_dicts = coco_evaluate(gt, dets)
    g = load_coco_gt(gt)
    arrays_gt = CocoGroundTruth(
        image_ids=np.array(g.image_ids),
        category_ids=np.array(g.category_ids),
        category_names=g.category_names,
        ann_ids=np.array(g.ann_ids),
        ann_image_ids=np.array(g.ann_image_ids),
        ann_category_ids=np.array(g.ann_category_ids),
        boxes=np.array(g.boxes),
        areas=np.array(g.areas),
        iscrowd=np.array(g.iscrowd),
        ignore=np.array(g.ignore),
    )
    arrays_dets = CocoDetections(
        image_ids=np.array([d["image_id"] for d in dets]),
        category_ids=np.array([d["category_id"] for d in dets]),
        boxes=np.array([d["bbox"] for d in dets], dtype=float).reshape(-1, 4),
        scores=np.array([d["score"] for d in dets], dtype=float),
    )
    from_arrays = coco_evaluate(arrays_gt, arrays_dets)
    np.testing.assert_array_equal(from_arrays.stats, from_dicts.stats)
    np.testing.assert_array_equal(from_arrays.precision, from_dicts.precision)
    assert not arrays_dets.boxes.flags.writeable


def test_loaders_read_files(tmp_path: Any) -> None:
    gt, dets = random_case(2)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    g = load_coco_gt(tmp_path / "gt.json")
    d = load_coco_dets(str(tmp_path / "dets.json"), g)
    assert len(d) == len(dets) and len(g.ann_ids) == len(gt["annotations"])
    np.testing.assert_array_equal(coco_evaluate(g, d).stats, coco_evaluate(gt, dets).stats)
    from_paths = coco_evaluate(tmp_path / "gt.json", str(tmp_path / "dets.json"))
    np.testing.assert_array_equal(from_paths.stats, coco_evaluate(gt, dets).stats)


def test_missing_optional_gt_fields_get_defaults() -> None:
    gt = one_image_gt([10, 10, 50, 40], [100, 10, 10, 10])
    del gt["annotations"][0]["area"], gt["annotations"][0]["iscrowd"]
    g = load_coco_gt(gt)
    assert g.areas.tolist() == [2000.0, 100.0]
    assert g.iscrowd.tolist() == [False, False]
    assert g.category_name == {1: "cat1"}


@pytest.mark.parametrize("top", [3, 70_000, 2**40, 2**62])
def test_radix_argsort_is_a_stable_argsort(top: int) -> None:
    keys = np.random.default_rng(top % 1000).integers(0, top, 5000)
    keys[::7] = keys[0]  # plenty of ties
    expected = np.argsort(keys, kind="stable")
    np.testing.assert_array_equal(coco_sorting.stable_argsort(keys), expected)
    major, minor = keys // 1000, keys % 1000
    np.testing.assert_array_equal(coco_sorting.stable_argsort_by(major, minor, 1000), expected)
    # keys too large to combine into one int64: the lexsort path
    by_pair = coco_sorting.stable_argsort_by(keys, keys % 7, 2**20)
    np.testing.assert_array_equal(by_pair, np.lexsort((keys % 7, keys)))


@pytest.mark.parametrize("module", ["assay.metrics.coco.evaluate", "assay.metrics.coco.sorting"])
def test_module_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


# -- errors ---------------------------------------------------------------------------------


def _dets(n: int = 20) -> list[Json]:
    return [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5} for _ in range(n)]


@pytest.mark.parametrize(
    ("index", "change", "message"),
    [
        (17, {"bbox": [1, 2, -3, 4]}, r"^detections\[17\]\.bbox: width must be >= 0"),
        (4, {"bbox": [1, 2, 3, -0.5]}, r"^detections\[4\]\.bbox: height must be >= 0"),
        (
            3,
            {"image_id": 999},
            r"^detections\[3\]\.image_id: 999 is not an image of the ground truth$",
        ),
        (5, {"bbox": [1, 2, 3]}, r"^detections\[5\]\.bbox: must be \[x, y, width, height\]"),
        (6, {"bbox": [1, "2", 3, 4]}, r"^detections\[6\]\.bbox: must be a finite number"),
        (7, {"score": float("nan")}, r"^detections\[7\]\.score: must be a finite number"),
        (8, {"score": None}, r"^detections\[8\]\.score: must be a finite number"),
        (9, {"image_id": "1"}, r"^detections\[9\]\.image_id: must be an integer"),
        (10, {"category_id": 1.5}, r"^detections\[10\]\.category_id: must be an integer"),
        (11, {"bbox": [1, 2, float("inf"), 4]}, r"^detections\[11\]\.bbox: must be finite"),
    ],
)
def test_bad_detection_is_named(index: int, change: Json, message: str) -> None:
    gt = one_image_gt([1, 2, 3, 4])
    dets = _dets()
    dets[index] = {**dets[index], **change}
    with pytest.raises(CocoFormatError, match=message):
        coco_evaluate(gt, dets)
    with pytest.raises(CocoFormatError, match=message):
        load_coco_dets(dets, load_coco_gt(gt))


def test_detection_entry_missing_a_field_or_not_an_object() -> None:
    gt = load_coco_gt(one_image_gt([1, 2, 3, 4]))
    dets = _dets()
    del dets[12]["score"]
    with pytest.raises(CocoFormatError, match=r"^detections\[12\]\.score: missing$"):
        load_coco_dets(dets, gt)
    with pytest.raises(CocoFormatError, match=r"^detections\[2\]: must be an object"):
        load_coco_dets([*_dets(2), [1, 2]], gt)
    with pytest.raises(CocoFormatError, match="must be a JSON array"):
        load_coco_dets({"image_id": 1}, gt)  # type: ignore[arg-type]


def test_array_detections_on_unknown_image_are_named() -> None:
    gt = one_image_gt([1, 2, 3, 4])
    dets = CocoDetections(
        image_ids=np.array([1, 1, 42]),
        category_ids=np.array([1, 1, 1]),
        boxes=np.ones((3, 4)),
        scores=np.ones(3),
    )
    with pytest.raises(CocoFormatError, match=r"^detections\[2\]\.image_id: 42 is not an image"):
        coco_evaluate(gt, dets)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda g: g["annotations"][1].update(bbox=[0, 0, -1, 5]),
            r"^annotations\[1\]\.bbox: width must be >= 0",
        ),
        (
            lambda g: g["annotations"][1].update(image_id=5),
            r"^annotations\[1\]\.image_id: 5 is not an image of the ground truth",
        ),
        (
            lambda g: g["annotations"][0].update(category_id=9),
            r"^annotations\[0\]\.category_id: 9 is not a category",
        ),
        (
            lambda g: g["annotations"][1].update(id=1),
            r"^annotations\[1\]\.id: 1 repeats annotations\[0\]\.id",
        ),
        (lambda g: g["images"].append({"id": 1}), r"^images\[1\]\.id: 1 repeats images\[0\]\.id"),
        (lambda g: g["annotations"][1].update(area=-3), r"^annotations\[1\]\.area: must be >= 0"),
        (
            lambda g: g["annotations"][1].update(iscrowd=2),
            r"^annotations\[1\]\.iscrowd: must be 0 or 1",
        ),
        (lambda g: g["annotations"][0].pop("bbox"), r"^annotations\[0\]\.bbox: missing"),
        (lambda g: g.pop("categories"), r"^categories: missing"),
        (lambda g: g.update(images={}), r"^images: must be a list"),
    ],
)
def test_bad_ground_truth_is_named(edit: Any, message: str) -> None:
    gt = one_image_gt([1, 2, 3, 4], [5, 6, 7, 8])
    edit(gt)
    with pytest.raises(CocoFormatError, match=message):
        load_coco_gt(gt)


def test_files_read_the_same_as_parsed_json(tmp_path: Any) -> None:
    """Paths go through orjson; parsed dicts do not: the arrays must not differ."""
    gt = one_image_gt([1, 2, 3, 4], [5.5, 6, 7, 8.25], crowd=(1,))
    gt["annotations"][0].pop("area")
    dets = [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4.5], "score": 0.25}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    from_file, from_dict = load_coco_gt(tmp_path / "gt.json"), load_coco_gt(gt)
    for field in dataclasses.fields(from_dict):
        assert np.array_equal(getattr(from_file, field.name), getattr(from_dict, field.name))
    d_file, d_dict = (
        load_coco_dets(tmp_path / "dets.json", from_file),
        load_coco_dets(dets, from_dict),
    )
    assert np.array_equal(d_file.boxes, d_dict.boxes)
    assert np.array_equal(d_file.scores, d_dict.scores)


def test_what_only_the_standard_parser_reads_is_named_per_field(tmp_path: Any) -> None:
    """orjson refuses NaN; the standard parser reads it, and the field check names the entry."""
    gt = load_coco_gt(one_image_gt([1, 2, 3, 4]))
    path = tmp_path / "dets.json"
    path.write_text('[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": NaN}]')
    with pytest.raises(CocoFormatError, match=r"^detections\[0\]\.score: must be a finite number"):
        load_coco_dets(path, gt)
    path.write_bytes(b'[{"image_id": 1, "name": "\xff"}]')
    with pytest.raises(CocoFormatError, match=r"dets\.json: not UTF-8 text"):
        load_coco_dets(path, gt)
    assert gc.isenabled()  # the collector paused for the parse is on again after a bad file


def test_malformed_json_file_is_a_clear_error(tmp_path: Any) -> None:
    path = tmp_path / "dets.json"
    path.write_text('[{"image_id": 1, "bbox": [1, 2, 3, 4],}]')
    gt = load_coco_gt(one_image_gt([1, 2, 3, 4]))
    with pytest.raises(CocoFormatError, match=r"dets\.json: malformed JSON at line 1 column \d+"):
        load_coco_dets(path, gt)
    (tmp_path / "gt.json").write_text("[1, 2]")
    with pytest.raises(CocoFormatError, match="ground truth: must be a JSON object"):
        load_coco_gt(tmp_path / "gt.json")
