"""metrics.gt_suspects on small hand examples: each kind of GT error is found, a clean GT
raises nothing, and the model counts as one voter beside the annotators."""

from __future__ import annotations

import numpy as np

from assay.metrics.gt_suspects import annotator_evidence, combine

TRUE = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10.0]])
TRUE_LABELS = np.array(["cat", "dog", "cat"])


def _three_annotators(extra_box=None, extra_label="dog"):
    boxes, labels, owner = [], [], []
    for k in range(3):
        rows = TRUE + 0.2 * k
        boxes += list(rows)
        labels += list(TRUE_LABELS)
        owner += [k] * len(rows)
        if extra_box is not None:
            boxes.append(np.asarray(extra_box, float) + 0.2 * k)
            labels.append(extra_label)
            owner.append(k)
    return np.array(boxes), np.array(labels), np.array(owner)


def test_a_gt_that_matches_everyone_raises_nothing():
    ev = annotator_evidence(TRUE, TRUE_LABELS, *_three_annotators(), 3)
    assert ev.spurious.max() == 0 and ev.swapped.max() == 0 and ev.badloc.max() < 0.05
    assert len(ev.missing) == 0


def test_swapped_label_found_with_the_label_they_gave():
    gt_labels = np.array(["cat", "cat", "cat"])
    ev = annotator_evidence(TRUE, gt_labels, *_three_annotators(), 3)
    assert ev.swapped.tolist() == [0, 1, 0] and ev.swap_label[1] == "dog"


def test_spurious_region_nobody_drew():
    gt = np.vstack([TRUE, [[70, 70, 80, 80]]])
    ev = annotator_evidence(gt, np.append(TRUE_LABELS, "cat"), *_three_annotators(), 3)
    assert ev.spurious.tolist() == [0, 0, 0, 1]
    assert (ev.matched[3] == -1).all()


def test_badly_located_region_against_a_tight_cluster():
    gt = TRUE.copy()
    gt[2] += [5, 5, 5, 5]  # IoU 1/7 with where everyone drew it
    ev = annotator_evidence(gt, TRUE_LABELS, *_three_annotators(), 3)
    assert ev.badloc[2] > 0.8 and ev.badloc[:2].max() < 0.05
    assert np.allclose(ev.consensus[2], TRUE[2] + 0.2)  # the median box: the suggested fix


def test_missing_object_most_annotators_drew():
    ev = annotator_evidence(TRUE, TRUE_LABELS, *_three_annotators([60, 60, 70, 70]), 3)
    assert ev.missing.tolist() == [1.0]
    assert ev.missing_labels.tolist() == ["dog"]
    assert (ev.missing_members[0] >= 0).all()


def test_an_object_one_of_three_drew_is_a_weak_suspect():
    boxes, labels, owner = _three_annotators()
    boxes = np.vstack([boxes, [[60, 60, 70, 70]]])
    ev = annotator_evidence(TRUE, TRUE_LABELS, boxes, np.append(labels, "dog"),
                            np.append(owner, 1), 3)  # fmt: skip
    assert np.allclose(ev.missing, [1 / 3])


def test_an_annotator_with_an_empty_result_counts_as_not_finding():
    boxes, labels, owner = _three_annotators()
    keep = owner < 2
    ev = annotator_evidence(TRUE, TRUE_LABELS, boxes[keep], labels[keep], owner[keep], 4)
    assert np.allclose(ev.spurious, 0.5)


def test_the_model_is_one_more_voter():
    a = np.array([1.0, 0.0, 0.5])
    m = np.array([0.0, 1.0, np.nan])
    assert np.allclose(combine(a, 3, m), [0.75, 0.25, 0.5])
    assert np.allclose(combine(a, 3, None), a)
    assert np.allclose(combine(a, 0, m), [0, 1, 0])
