"""The batch scorer gives, pair by pair, exactly what `score_result` gives (bit for bit, key
order included). tests/services/test_scoring_batch.py checks that a project recomputed with it
stores exactly the rows and aggregates of the one-pair-at-a-time path."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.formats.regions import RegionError
from assay.metrics.scoring import QualitySettings, ResultScore, regions_of, score_result
from assay.metrics.scoring_batch import score_batch
from builders import box

LABELS = ["A", "B", "C", "", "unmatched", "Zebra|A", "zz"]
ALL_SETTINGS = (
    [
        QualitySettings(iou_threshold=t, match_method=m, label_aware=a)
        for t in (0.1, 0.5, 1.0)
        for m in ("hungarian", "greedy")
        for a in (True, False)
    ]
    + [
        # per-label thresholds: each ground-truth region's own, looked up by its label
        QualitySettings(iou_threshold=0.5, label_iou_thresholds={"A": 0.9, "B": 0.1}, label_aware=a)
        for a in (True, False)
    ]
    + [
        # per-label keypoint sigmas: each ground-truth point's own, looked up by its label
        QualitySettings(oks_sigmas={"A": 0.5, "B": 40.0}, label_aware=a)
        for a in (True, False)
    ]
    + [
        # a label mismatch counted as one error
        QualitySettings(iou_threshold=t, match_method=m, label_aware=a, label_mismatch="one")
        for t in (0.1, 0.5)
        for m in ("hungarian", "greedy")
        for a in (True, False)
    ]
)


def _one_pair(gt: Any, sub: Any, w: Any, h: Any, s: QualitySettings) -> ResultScore | None:
    """What rescore._score_rows did per pair before the batch path."""
    try:
        g = regions_of(gt, w, h)
        return score_result(g, regions_of(sub, w, h), s)
    except RegionError:
        return None


def _assert_same(got: list[ResultScore | None], want: list[ResultScore | None]) -> None:
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a == b, f"pair {i}: {a} != {b}"
        if a is not None and b is not None:
            assert list(a.labels) == list(b.labels), f"pair {i}: label order"
            # exact floats, and the same types (ints stay ints) as score_result's
            assert repr(a) == repr(b), f"pair {i}"


def _check(gts: list[Any], subs: list[Any], gt_of: list[int], sizes: list[tuple[Any, Any]]) -> None:
    widths, heights = [w for w, _ in sizes], [h for _, h in sizes]
    for s in ALL_SETTINGS:
        got = score_batch(gts, subs, gt_of, widths, heights, s)
        want = [_one_pair(gts[g], sub, *sizes[g], s) for sub, g in zip(subs, gt_of, strict=True)]
        _assert_same(got, want)


# -- random Label Studio results -------------------------------------------------------------


def _rect(rng: random.Random, i: int, base: dict | None = None) -> list[dict]:
    """One rectangle (sometimes split into a rectangle + labels item, sometimes rotated or
    scored); `base` jitters an existing one so that overlaps and exact ties are common."""
    if base is not None and rng.random() < 0.8:
        v = base["value"]
        x, y, w, h = (
            v["x"] + rng.choice([0, 0, 0.5, -1, 2]),
            v["y"] + rng.choice([0, 0, 1]),
            max(v["width"], 0),
            v["height"] + rng.choice([0, 0, 3]),
        )
    else:
        x, y = rng.choice([0, 10, 20, 25]) + rng.random() * 4, rng.choice([0, 10, 20]) * 1.0
        w, h = rng.choice([0, 5, 10, 20]), rng.choice([5, 10, 20])
    label = rng.choice(LABELS)
    value: dict[str, Any] = {"x": x, "y": y, "width": w, "height": h}
    r = rng.random()
    if r < 0.01:
        value["rotation"] = rng.choice([30, 90, -45])
    elif r < 0.04:
        value["rotation"] = rng.choice([360, -360, 720])
    elif r < 0.5:
        value["rotation"] = 0
    item: dict[str, Any] = {"id": f"r{i}", "from_name": "label", "to_name": "image", "value": value}
    if rng.random() < 0.1:  # Label Studio's split form: geometry and labels as two items
        item["type"] = "rectangle"
        return [item, {"id": f"r{i}", "type": "labels", "value": {"labels": [label]}}]
    item["type"] = "rectanglelabels"
    value["rectanglelabels"] = [label] if rng.random() < 0.95 else sorted({label, "B"})
    if rng.random() < 0.5:
        item["score"] = rng.choice([0.9, 0.5, 0.5, 0.1, None])
    return [item]


def _result(rng: random.Random, base: list[dict] | None = None) -> list[dict]:
    """A result with 0-12 rectangles; sometimes a polygon, keypoint, choices (task level or
    per region), text area, relation or a malformed entry."""
    n = rng.choice([0, 1, 2, 3, 5, 5, 5, 9, 12])
    rects = [it for it in (base or []) if it.get("type") in ("rectanglelabels", "rectangle")
             and "width" in it.get("value", {})]  # fmt: skip
    out: list[dict] = []
    for i in range(n):
        out += _rect(rng, i, rng.choice(rects) if rects else None)
    r = rng.random()
    if r < 0.03:
        out.append(
            {"type": "polygonlabels", "value": {"points": [[0, 0], [10, 0], [0, 10]],
                                                 "polygonlabels": ["A"]}}
        )  # fmt: skip
    elif r < 0.06:
        # a point of label A or B a few pixels off: near enough for some sigmas only
        x, label = 5 + rng.choice([0, 0.2, 1, 3]), rng.choice(["A", "B"])
        out.append({"type": "keypointlabels", "value": {"x": x, "y": 5, "keypointlabels": [label]}})
    elif r < 0.09:
        out.append({"type": "choices", "value": {"choices": [rng.choice(["A", "B"])]}})
    elif r < 0.12 and n:
        out.append({"id": "r0", "type": "choices", "value": {"choices": ["occluded"]}})
    elif r < 0.15:
        out.append({"type": "textarea", "value": {"text": ["note"]}})
    elif r < 0.17:
        out.append({"type": "relation", "from_id": "r0", "to_id": "r1"})
    elif r < 0.19 and n:
        out[0] = {**out[0], "value": {**out[0]["value"], "width": -1}}  # unreadable
    elif r < 0.20:
        out.append({"type": "rectanglelabels"})  # no value: unreadable
    elif r < 0.21 and n:
        out[0] = {**out[0], "score": "high"}  # unreadable score
    rng.shuffle(out)
    return out


def _project(rng: random.Random, n_tasks: int) -> tuple[list, list, list[int], list]:
    gts, subs, gt_of, sizes = [], [], [], []
    for t in range(n_tasks):
        gt = _result(rng)
        gts.append(gt)
        sizes.append(rng.choice([(1000, 800), (640, 640), (None, None), (0, 480), (1920, None)]))
        for _ in range(rng.choice([0, 1, 3, 3])):
            subs.append(_result(rng, gt) if rng.random() < 0.9 else gt)
            gt_of.append(t)
    return gts, subs, gt_of, sizes


@pytest.mark.parametrize("seed", range(4))
def test_batch_equals_score_result_on_random_projects(seed):
    _check(*_project(random.Random(seed), 150))


@given(st.randoms(use_true_random=False), st.integers(1, 6))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_batch_equals_score_result_property(rng, n_tasks):
    _check(*_project(rng, n_tasks))


def test_edge_cases():
    a, b = box(10, 10, 10, 10, label="A"), box(10.5, 10, 10, 10, label="B", score=0.7)
    gts = [[], [a], [], [a, a], [{"type": "polygonlabels"}], "not a list"]
    subs = [[], [], [a], [b], [a, b, b], [a], [a], [a]]
    gt_of = [0, 1, 2, 3, 3, 4, 5, 0]
    _check(gts, subs, gt_of, [(1600, 1200)] * len(gts))


def test_many_matches_sum_like_numpy():
    """Nine or more matched pairs: numpy sums those pairwise, not left to right."""
    rng = random.Random(7)
    gt = [box(i * 10 + rng.random(), rng.random() * 50, 7, 7, label="A") for i in range(10)]
    sub = [box(b["value"]["x"] + rng.random(), b["value"]["y"], 7, 7, label="A") for b in gt]
    _check([gt], [sub, sub[:8], sub[:7]], [0, 0, 0], [(1000, 1000)])


def _kp(x: float, y: float, label: str) -> dict:
    return {"type": "keypointlabels", "value": {"x": x, "y": y, "keypointlabels": [label]}}


def test_keypoints_use_the_ground_truth_points_sigma_on_either_path():
    """On a 1000 x 1000 image, GT nose (100, 100) and tail (500, 500); the subject's nose at
    (110, 100) and tail at (510, 500), 10 px off each. With the default sigma 10 px both are
    exp(-0.5) = 0.607 >= 0.5: matched. With oks_sigmas {nose: 5}, the nose is exp(-2) = 0.135:
    an extra and a miss; the tail keeps 10 px. A subject nose drawn as a tail at (110, 100) is
    judged in label-unaware matching by the GT point's sigma (the nose's 5), not its own."""
    gt = [_kp(10, 10, "nose"), _kp(50, 50, "tail")]
    near = [_kp(11, 10, "nose"), _kp(51, 50, "tail")]
    swapped = [_kp(11, 10, "tail"), _kp(51, 50, "tail")]
    default, tight = QualitySettings(), QualitySettings(oks_sigmas={"nose": 5})
    unaware = QualitySettings(oks_sigmas={"nose": 5, "tail": 40}, label_aware=False)
    want = [
        (near, default, (2, 0, 0, 2, 2 * np.exp(-0.5))),
        (near, tight, (1, 1, 1, 1, np.exp(-0.5))),
        # the tail drawn on the nose: 0.135 at the nose's sigma 5 (0.969 at the tail's 40),
        # so only the real tail (exp(-100 / 3200)) matches
        (swapped, unaware, (1, 1, 1, 1, np.exp(-0.5 / 16))),
    ]
    for sub, s, (tp, fp, fn, matched, iou_sum) in want:
        one = score_result(regions_of(gt, 1000, 1000), regions_of(sub, 1000, 1000), s)
        (batch,) = score_batch([gt], [sub], [0], [1000], [1000], s)
        assert batch is not None and repr(batch) == repr(one)
        c = one.counts
        assert (c.tp, c.fp, c.fn, c.matched) == (tp, fp, fn, matched), s
        assert c.iou_sum == pytest.approx(iou_sum, rel=1e-12)


def test_empty_batch_and_bad_index():
    assert score_batch([], [], [], [], [], QualitySettings()) == []
    with pytest.raises(ValueError, match="gt_index"):
        score_batch([[]], [[]], [1], [None], [None], QualitySettings())


def test_only_empty_pairs_and_large_results_in_slices(monkeypatch):
    import assay.metrics.scoring_batch as sb

    _check([[], [{"type": "textarea", "value": {"text": ["x"]}}]], [[], [], []], [0, 1, 1],
           [(100, 100), (None, None)])  # fmt: skip
    monkeypatch.setattr(sb, "_MAX_CELLS", 30)  # a few pairs per slice
    _check(*_project(random.Random(99), 40))
