"""assay.metrics.consensus: golden 3-annotator cases, properties (identical annotations,
permutation of annotators), validation, Dawid–Skene against a crowd-kit fixture, and a small
run of the simulation in benchmarks/consensus_sim.py."""

from __future__ import annotations

import importlib.util
import json
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.metrics.consensus import (
    AnnotatorRegions,
    cluster_regions,
    dawid_skene,
    merge_classifications,
    merge_many,
    merge_regions,
    reliability_weights,
    triage,
)
from builders import REPO

ROOT = REPO
FIXTURE = ROOT / "tests" / "fixtures" / "consensus" / "dawid_skene_crowdkit.json"

CAR = [100.0, 100.0, 200.0, 180.0]
DOG = [400.0, 300.0, 480.0, 400.0]


def regions(*items: tuple[list[float], str]) -> AnnotatorRegions:
    return AnnotatorRegions([b for b, _ in items], [lab for _, lab in items])


def shifted(box: list[float], dx: float) -> list[float]:
    return [box[0] + dx, box[1], box[2] + dx, box[3]]


# --- golden 3-annotator cases -----------------------------------------------------------------


def test_full_agreement():
    anns = [
        regions((CAR, "car"), (DOG, "dog")),
        regions((shifted(DOG, 4), "dog"), (shifted(CAR, 2), "car")),
        regions((shifted(CAR, -2), "car"), (shifted(DOG, 2), "dog")),
    ]
    r = merge_regions(anns)
    assert r.labels.tolist() == ["car", "dog"]  # sorted by box
    np.testing.assert_array_equal(r.boxes, [CAR, shifted(DOG, 2)])  # median of each coordinate
    assert r.support.tolist() == [3, 3]
    np.testing.assert_array_equal(r.support_fraction, [1.0, 1.0])
    assert r.members.tolist() == [[0, 1, 0], [1, 0, 1]]
    assert not r.tied and r.n_dropped == 0
    assert r.agreement == 1.0 and r.annotator_agreement.tolist() == [1.0, 1.0, 1.0]
    assert (r.score > 0.9).all() and (r.score < 1).all()
    assert triage(r) == "accept"


def test_missed_box_kept_at_half_quorum_dropped_at_full():
    anns = [
        regions((CAR, "car"), (DOG, "dog")),
        regions((CAR, "car"), (DOG, "dog")),
        regions((CAR, "car")),  # missed the dog
    ]
    r = merge_regions(anns, quorum=0.5)
    assert r.labels.tolist() == ["car", "dog"]
    assert r.support.tolist() == [3, 2]
    np.testing.assert_allclose(r.score, [1.0, 2 / 3])
    assert r.members[1].tolist() == [1, 1, -1]
    # annotator 2: 1 TP, 1 region, 2 consensus regions -> F1 = 2/3
    np.testing.assert_allclose(r.annotator_agreement, [1.0, 1.0, 2 / 3])
    assert r.agreement == pytest.approx(8 / 9)
    assert triage(r) == "keep"

    strict = merge_regions(anns, quorum=1.0)
    assert strict.labels.tolist() == ["car"] and strict.n_dropped == 1
    np.testing.assert_allclose(strict.annotator_agreement, [2 / 3, 2 / 3, 1.0])


def test_label_dispute_two_against_one():
    anns = [regions((CAR, "car")), regions((CAR, "truck")), regions((shifted(CAR, 3), "car"))]
    r = merge_regions(anns)
    assert r.labels.tolist() == ["car"] and not r.tied
    assert r.annotator_agreement.tolist() == [1.0, 0.0, 1.0]  # a wrong label is no match
    # weights can turn the vote: the "truck" annotator weighs more than the other two together
    w = merge_regions(anns, [1.0, 3.0, 1.0])
    assert w.labels.tolist() == ["truck"] and not w.tied
    np.testing.assert_array_equal(w.boxes, [CAR])  # weighted median: weight 3 of 5 at CAR


@pytest.mark.parametrize(
    "labels",
    [["truck", "car"], ["truck", "car", "car", "truck"]],
    ids=["two-annotators", "four-split-2-2"],
)
def test_tie_is_flagged_and_resolved_alphabetically(labels):
    anns = [regions((shifted(CAR, i), lab)) for i, lab in enumerate(labels)]
    r = merge_regions(anns)
    assert r.labels.tolist() == ["car"]
    assert r.tied and r.tied_regions.tolist() == [True]
    assert r.regions()[0].tied
    assert triage(r) == "adjudicate"


def test_weighted_median_and_scores():
    a = regions(([0.0, 0.0, 10.0, 10.0], "x"))
    b = regions(([2.0, 0.0, 12.0, 10.0], "x"))
    # two equal weights: the ordinary median, i.e. the mean of the two
    r = merge_regions([a, b])
    np.testing.assert_array_equal(r.boxes, [[1.0, 0.0, 11.0, 10.0]])
    np.testing.assert_allclose(r.score, [1.0 * (80 / 120)])  # support 2/2 x IoU(a, b)
    # a lone region of 2 annotators: kept at quorum 0.5, score = support fraction x 1
    c = regions(([50.0, 50.0, 60.0, 60.0], "y"))
    r = merge_regions([a, c])
    assert r.support.tolist() == [1, 1] and r.score.tolist() == [0.5, 0.5]
    # unequal weights: the heavier annotator's coordinates
    r = merge_regions([a, b], [1.0, 2.0])
    np.testing.assert_array_equal(r.boxes, [[2.0, 0.0, 12.0, 10.0]])
    np.testing.assert_allclose(r.support_fraction, [1.0])


def test_clusters_hold_one_region_per_annotator_and_use_average_linkage():
    # annotator 0 drew two overlapping boxes; annotator 1 one box between them
    a = regions(([0.0, 0.0, 10.0, 10.0], "x"), ([1.0, 0.0, 11.0, 10.0], "x"))
    b = regions(([0.5, 0.0, 10.5, 10.0], "x"))
    cl = cluster_regions([a, b])
    # b overlaps both with IoU 19/21; the tie goes to the pair with the left-most box (a0)
    assert cl.members.tolist() == [[0, 0], [1, -1]]
    # chaining is refused: c overlaps b enough, but not b's cluster on average
    boxes = [[0.0, 0.0, 10.0, 10.0], [3.0, 0.0, 13.0, 10.0], [6.0, 0.0, 16.0, 10.0]]
    cl = cluster_regions([regions((bx, "x")) for bx in boxes], iou_threshold=0.5)
    assert len(cl) == 2


def test_empty_and_single_annotator():
    empty = AnnotatorRegions(np.zeros((0, 4)), [])
    r = merge_regions([empty, empty, empty])
    assert len(r) == 0 and r.agreement == 1.0 and not r.tied and r.members.shape == (0, 3)
    r = merge_regions([empty, regions((CAR, "car")), empty])
    assert len(r) == 0 and r.n_dropped == 1
    np.testing.assert_allclose(r.annotator_agreement, [1.0, 0.0, 1.0])
    one = merge_regions([regions((CAR, "car"), (DOG, "dog"))])
    assert one.labels.tolist() == ["car", "dog"] and one.score.tolist() == [1.0, 1.0]


def test_integer_labels_and_tuple_input():
    r = merge_regions([([CAR], [2]), ([CAR], [1]), ([CAR], [2])])
    assert r.labels.tolist() == [2] and r.labels.dtype.kind == "i"


# --- properties -------------------------------------------------------------------------------


def random_boxes(rng: np.random.Generator, k: int) -> np.ndarray:
    xy = rng.uniform(0, 500, (k, 2))
    return np.c_[xy, xy + rng.uniform(5, 150, (k, 2))]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), k=st.integers(0, 7))
def test_merge_of_identical_annotations_equals_them(seed, n, k):
    rng = np.random.default_rng(seed)
    boxes = np.round(random_boxes(rng, k))
    labels = np.array(["a", "b", "c"])[rng.integers(0, 3, k)]
    ann = AnnotatorRegions(boxes, labels)
    r = merge_regions([ann] * n)
    got = sorted(zip(map(tuple, r.boxes.tolist()), r.labels.tolist(), strict=True))
    want = sorted(zip(map(tuple, boxes.tolist()), labels.tolist(), strict=True))
    assert got == want
    assert (r.score == 1.0).all() and (r.support == n).all() and not r.tied
    assert r.agreement == 1.0


def noisy_annotations(rng: np.random.Generator, n: int) -> list[AnnotatorRegions]:
    base = random_boxes(rng, int(rng.integers(0, 6)))
    out = []
    for _ in range(n):
        keep = rng.random(len(base)) > 0.2
        b = base[keep] + rng.normal(0, 4, (int(keep.sum()), 4))
        b = np.c_[np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])]
        b = np.r_[b, random_boxes(rng, int(rng.integers(0, 2)))]
        out.append(AnnotatorRegions(b, np.array(["a", "b"])[rng.integers(0, 2, len(b))]))
    return out


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 5),
    quorum=st.sampled_from([0.3, 0.5, 1.0]),
    weighted=st.booleans(),
)
def test_permuting_annotators_does_not_change_the_result(seed, n, quorum, weighted):
    rng = np.random.default_rng(seed)
    anns = noisy_annotations(rng, n)
    w = rng.uniform(0.2, 3, n) if weighted else None
    perm = rng.permutation(n)
    r1 = merge_regions(anns, w, quorum=quorum)
    r2 = merge_regions([anns[p] for p in perm], None if w is None else w[perm], quorum=quorum)
    np.testing.assert_array_equal(r1.boxes, r2.boxes)
    np.testing.assert_array_equal(r1.labels, r2.labels)
    np.testing.assert_allclose(r1.score, r2.score, rtol=1e-12)
    np.testing.assert_array_equal(r1.support, r2.support)
    np.testing.assert_array_equal(r1.tied_regions, r2.tied_regions)
    np.testing.assert_array_equal(r1.members[:, perm], r2.members)
    np.testing.assert_allclose(r1.annotator_agreement[perm], r2.annotator_agreement)
    assert r1.n_dropped == r2.n_dropped


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5))
def test_clusters_are_a_partition_with_one_region_per_annotator(seed, n):
    anns = noisy_annotations(np.random.default_rng(seed), n)
    cl = cluster_regions(anns)
    for a, ann in enumerate(anns):
        col = cl.members[:, a]
        assert sorted(col[col >= 0].tolist()) == list(range(len(ann)))
    assert ((cl.members >= 0).sum(axis=1) >= 1).all()
    assert ((cl.mean_iou >= 0.5) | ((cl.members >= 0).sum(axis=1) == 1)).all()


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("quorum", [0.0, -0.1, 1.5, float("nan")])
def test_quorum_outside_zero_one_is_refused(quorum):
    with pytest.raises(ValueError, match=r"quorum must be in \(0, 1\]"):
        merge_regions([regions((CAR, "car"))], quorum=quorum)
    with pytest.raises(ValueError, match="quorum"):
        merge_many([[regions((CAR, "car"))]], [["ann"]], quorum=quorum)


@pytest.mark.parametrize("t", [0.0, 1.01, -1])
def test_iou_threshold_outside_zero_one_is_refused(t):
    with pytest.raises(ValueError, match=r"iou_threshold must be in \(0, 1\]"):
        merge_regions([regions((CAR, "car"))], iou_threshold=t)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="at least one"):
        merge_regions([])
    with pytest.raises(ValueError, match="labels must have shape"):
        AnnotatorRegions([CAR], ["car", "dog"])
    with pytest.raises(ValueError, match="negative width"):
        AnnotatorRegions([[10, 0, 0, 10]], ["car"])
    one = regions((CAR, "car"))
    with pytest.raises(ValueError, match="weights must have shape"):
        merge_regions([one, one], [1.0])
    with pytest.raises(ValueError, match=">= 0"):
        merge_regions([one, one], [1.0, -1.0])
    with pytest.raises(ValueError, match="not all be 0"):
        merge_regions([one, one], [0.0, 0.0])
    with pytest.raises(ValueError, match="method"):
        merge_classifications([[0]], method="vote")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_classes"):
        dawid_skene([[0, 3]], n_classes=2)
    with pytest.raises(ValueError, match="weighting"):
        merge_many([[one]], [["a"]], weighting="best")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="accuracy"):
        merge_many([[one]], [["a"]], weighting="accuracy")
    with pytest.raises(ValueError, match="adjudicate_below"):
        triage(merge_regions([one]), adjudicate_below=2)


# --- weights, classification, Dawid–Skene -----------------------------------------------------


def test_reliability_weights():
    w = reliability_weights([0.5, 0.75, 0.9, 1.0, float("nan")])
    np.testing.assert_allclose(w[:4], [0.0, math.log(3), math.log(9), math.log(99)])
    assert w[4] == pytest.approx(w[:4].mean())
    np.testing.assert_allclose(reliability_weights([0.2, 0.6], n_classes=4), [0, math.log(4.5)])
    np.testing.assert_array_equal(reliability_weights([0.3, 0.8], scheme="linear"), [0.3, 0.8])


def test_majority_classification():
    m = [[0, 0, 1], [1, 0, -1], [-1, -1, -1], [2, 2, 2]]
    r = merge_classifications(m)
    assert r.labels.tolist() == [0, 0, -1, 2]
    assert r.tied.tolist() == [False, True, False, False]
    np.testing.assert_allclose(r.support, [2 / 3, 0.5, np.nan, 1.0])
    w = merge_classifications(m, weights=[1.0, 1.0, 5.0])
    assert w.labels.tolist() == [1, 0, -1, 2] and w.tied.tolist() == [False, True, False, False]


def test_dawid_skene_matches_crowd_kit():
    data = json.loads(FIXTURE.read_text())
    assert len(data["datasets"]) == 3
    for ds in data["datasets"]:
        m = np.array(ds["matrix"])
        full = dawid_skene(m, ds["n_classes"], max_iter=10_000, tol=1e-14, smoothing=0.0)
        assert full.converged
        np.testing.assert_allclose(full.posteriors, ds["converged"]["posteriors"], atol=1e-5)
        np.testing.assert_allclose(full.priors, ds["converged"]["priors"], atol=1e-5)
        assert full.labels.tolist() == ds["converged"]["labels"]
        default = merge_classifications(m, "dawid_skene", n_classes=ds["n_classes"])
        assert default.labels.tolist() == ds["default"]["labels"]


def test_dawid_skene_finds_the_bad_annotator():
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3, 400)
    acc = np.array([0.9, 0.85, 0.8, 0.75, 0.35])
    right = rng.random((400, 5)) < acc
    wrong = (truth[:, None] + rng.integers(1, 3, (400, 5))) % 3
    m = np.where(right, truth[:, None], wrong)
    m[rng.random(m.shape) < 0.2] = -1
    ds = dawid_skene(m)
    assert ds.converged and ds.confusion.shape == (5, 3, 3)
    np.testing.assert_allclose(ds.confusion.sum(axis=2), 1.0)
    assert int(np.argmin(ds.accuracy)) == 4
    np.testing.assert_allclose(ds.accuracy, acc, atol=0.06)
    majority = merge_classifications(m).labels
    assert (ds.labels == truth).mean() >= (majority == truth).mean()


def test_dawid_skene_unanswered_items_and_annotators():
    ds = dawid_skene([[0, 0, -1], [-1, -1, -1], [1, 1, -1]], n_classes=2)
    assert ds.labels.tolist() == [0, -1, 1]
    assert np.isnan(ds.posteriors[1]).all() and np.isnan(ds.accuracy[2])


def test_merge_many_weightings():
    good = [regions((CAR, "car")), regions((shifted(CAR, 2), "car"))]
    tasks, who = [], []
    for i in range(30):  # good annotators g1, g2 agree; b labels at random
        bad = regions((shifted(CAR, 1), ["car", "bus", "van"][i % 3]))
        tasks.append([*good, bad])
        who.append(["g1", "g2", "b"])
    uniform = merge_many(tasks, who)
    assert uniform.weights == {"g1": 1.0, "g2": 1.0, "b": 1.0}
    ds = merge_many(tasks, who, weighting="dawid_skene")
    assert ds.dawid_skene is not None and ds.weights["b"] < ds.weights["g1"]
    assert all(r.labels.tolist() == ["car"] for r in ds.results)
    acc = merge_many(tasks, who, weighting="accuracy", accuracy={"g1": 0.9, "g2": 0.8})
    assert acc.weights["b"] == pytest.approx((math.log(9) + math.log(4)) / 2)  # mean of known


# --- the simulation, small ----------------------------------------------------------------------


def test_reliability_weighting_beats_uniform_voting_in_the_simulation():
    spec = importlib.util.spec_from_file_location(
        "consensus_sim", ROOT / "benchmarks" / "consensus_sim.py"
    )
    assert spec and spec.loader
    sim = importlib.util.module_from_spec(spec)
    sys.modules["consensus_sim"] = sim
    spec.loader.exec_module(sim)
    result = sim.simulate(n_scenes=150, seed=11)
    f1 = {r["method"]: r["f1"] for r in result["rows"]}
    uniform = f1["consensus, uniform"]
    assert f1["consensus, accuracy-weighted"] > uniform
    assert f1["consensus, Dawid-Skene-weighted"] > uniform
    assert uniform > f1["single, any annotator (pooled)"]
