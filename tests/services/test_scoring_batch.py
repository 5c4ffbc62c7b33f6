"""The batch scorer gives, pair by pair, exactly what `score_result` gives (bit for bit, key
order included), and a project recomputed with it stores exactly the rows and aggregates of
the one-pair-at-a-time path."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from assay.formats.regions import RegionError
from assay.metrics.scoring import regions_of, score_result
from assay.services import quality
from assay.services.quality import aggregates, rescore
from assay.store.models import QualityAggregate, QualityScore
from builders import box

# -- in the server: the batch path stores what the one-pair path stores ----------------------


def _stored(db, pid):
    """Every score row (in insertion order, without id and time) and every aggregate."""
    with db.session(write=False) as s:
        scores = [
            (
                r.annotation_id, r.prediction_id, r.task_id, r.subject_kind, r.subject_key,
                r.job_id, r.gt_annotation_id, r.gt_revision, r.tp, r.fp, r.fn, r.matched,
                r.iou_sum, r.accuracy, list(r.labels.items()), r.confusion,
            )
            for r in s.scalars(
                select(QualityScore)
                .where(QualityScore.project_id == pid)
                .order_by(QualityScore.id)
            )
        ]  # fmt: skip
        aggs = {
            (r.group_kind, r.group_key, r.label): (
                r.n, r.tp, r.fp, r.fn, r.matched, r.iou_sum, r.accuracy_sum
            )
            for r in s.scalars(select(QualityAggregate).where(QualityAggregate.project_id == pid))
        }  # fmt: skip
    return scores, aggs


def _score_rows_per_pair(session, project_id, task_ids, settings, version):
    """rescore._score_rows as it was before the batch path (ORM objects, one score_result
    call per pair), kept here as the reference."""
    from assay.services.quality.rescore import _Subject
    from assay.store.models import Annotation, Prediction, Task
    from assay.store.types import utcnow

    def _row(project_id, sub, gt, score, now):
        c = score.counts
        return {
            "project_id": project_id,
            "task_id": sub.task_id,
            "subject_kind": sub.kind,
            "subject_key": sub.key,
            "annotation_id": sub.id if sub.kind == "annotation" else None,
            "prediction_id": sub.id if sub.kind == "prediction" else None,
            "job_id": sub.job_id,
            "gt_annotation_id": gt.id,
            "gt_revision": gt.revision,
            "tp": c.tp,
            "fp": c.fp,
            "fn": c.fn,
            "matched": c.matched,
            "iou_sum": c.iou_sum,
            "accuracy": float(c.accuracy),
            "labels": score.labels,
            "confusion": score.confusion,
            "computed_at": now,
            "settings_version": version,
        }

    if not task_ids:
        return []
    gts = {
        a.task_id: a
        for a in session.scalars(
            select(Annotation).where(
                Annotation.task_id.in_(task_ids),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    }
    if not gts:
        return []
    sizes = {
        t: (w, h)
        for t, w, h in session.execute(
            select(Task.id, Task.width, Task.height).where(Task.id.in_(list(gts)))
        )
    }
    subjects = [
        _Subject("annotation", a.id, a.task_id, str(a.completed_by_id or ""), a.job_id, a.result)
        for a in session.scalars(
            select(Annotation).where(
                Annotation.task_id.in_(list(gts)),
                Annotation.ground_truth.is_(False),
                Annotation.deleted_at.is_(None),
                Annotation.was_cancelled.is_(False),
            )
        )
    ] + [
        _Subject("prediction", p.id, p.task_id, p.model_version or "", None, p.result)
        for p in session.scalars(
            select(Prediction).where(
                Prediction.task_id.in_(list(gts)), Prediction.deleted_at.is_(None)
            )
        )
    ]
    if not settings.empty_is_annotated:
        subjects = [s for s in subjects if s.kind == "prediction" or s.result]
    gt_regions = {}
    for t, gt in gts.items():
        w, h = sizes.get(t, (None, None))
        try:
            gt_regions[t] = regions_of(gt.result, w, h)
        except RegionError:
            continue
    subjects = [s for s in subjects if s.task_id in gt_regions]
    now = utcnow()
    rows = []
    for sub in subjects:
        w, h = sizes.get(sub.task_id, (None, None))
        try:
            score = score_result(gt_regions[sub.task_id], regions_of(sub.result, w, h), settings)
        except RegionError:
            continue
        rows.append(_row(project_id, sub, gts[sub.task_id], score, now))
    return rows


@pytest.mark.parametrize(
    ("method", "label_aware", "empty_is_annotated"),
    [("hungarian", True, True), ("greedy", False, False)],
)
def test_project_recompute_equals_the_per_pair_path(
    client, people, project, db, monkeypatch, method, label_aware, empty_is_annotated
):
    """Random tasks (some without GT, some with rotated boxes that take the one-pair path,
    some empty), three annotators and a model each: a recompute with the batch path stores
    the same score rows, in the same order, and the same aggregates as the old per-pair one."""
    rng = random.Random(11)
    lead = people["lead"].headers
    pid = project["id"]
    r = client.patch(
        f"/api/projects/{pid}/quality-settings",
        json={"match_method": method, "label_aware": label_aware,
              "empty_is_annotated": empty_is_annotated},
        headers=lead,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    names = ["Elephant", "Zebra", "Giraffe"]
    tasks = []
    for i in range(80):
        gt = [box(rng.uniform(5, 80), rng.uniform(5, 80), 10, 10, label=rng.choice(names))
              for _ in range(rng.choice([0, 3, 5, 9]))]  # fmt: skip
        anns = [{"result": gt, "ground_truth": True}] if i % 7 else []
        for _ in range(3):
            res = [
                box(b["value"]["x"] + rng.uniform(-3, 3), b["value"]["y"], 10, 10,
                    label=rng.choice(names) if rng.random() < 0.2 else b["value"]["rectanglelabels"][0])
                for b in gt if rng.random() < 0.9
            ]  # fmt: skip
            if i % 11 == 0:
                turned = box(40, 40, 10, 10)
                res.append({**turned, "value": {**turned["value"], "rotation": 30}})
            anns.append({"result": res})
        preds = [{"result": [box(10, 10, 10, 10, score=rng.random())], "model_version": "m1"}]
        tasks.append({"data": {"image": f"{i}.jpg"}, "annotations": anns, "predictions": preds})
    r = client.post(f"/api/projects/{pid}/import", json=tasks, headers=lead)
    assert r.status_code == 201, r.text

    quality.recompute_project(db, pid)
    batch = _stored(db, pid)
    assert len(batch[0]) > 200 and batch[1]

    monkeypatch.setattr(rescore, "_score_rows", _score_rows_per_pair)
    quality.recompute_project(db, pid)
    assert _stored(db, pid) == batch


# -- aggregates: the vectorised sum is the one-at-a-time sum ----------------------------------


def _sum_one_by_one(rows, sign, into):
    """aggregates.sum_contributions as it was: one contribution at a time."""
    for row in rows:
        for key, values in aggregates._contributions(row, sign):
            acc = into[key]
            for i, v in enumerate(values):
                acc[i] += v


@pytest.mark.parametrize("seed", range(3))
def test_sum_contributions_equals_one_at_a_time(seed):
    from collections import defaultdict

    rng = random.Random(seed)

    def row():
        labels = {}
        for label in rng.sample(["A", "B", "", "C|D", "unmatched"], rng.randint(0, 4)):
            tp, fp, fn = rng.randint(0, 3), rng.randint(0, 2), rng.randint(0, 2)
            matched = tp + rng.randint(0, 1)
            labels[label] = [tp, fp, fn, matched, sum(rng.random() for _ in range(matched))]
        tp, fp, fn = (sum(v[i] for v in labels.values()) for i in range(3))
        return {
            "subject_kind": rng.choice(["annotation", "prediction"]),
            "subject_key": rng.choice(["1", "2", "m1", ""]),
            "job_id": rng.choice([None, 1, 2]),
            "tp": tp, "fp": fp, "fn": fn,
            "matched": sum(v[3] for v in labels.values()),
            "iou_sum": sum(v[4] for v in labels.values()),
            "accuracy": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
            "labels": labels,
        }  # fmt: skip

    want = defaultdict(lambda: [0.0] * len(aggregates.AGG_FIELDS))
    got = defaultdict(lambda: [0.0] * len(aggregates.AGG_FIELDS))
    for sign in (-1, 1, 1, -1, 1):  # several calls into the same dict, as rescore_tasks does
        rows = [row() for _ in range(rng.choice([0, 1, 50, 300]))]
        _sum_one_by_one(rows, sign, want)
        aggregates.sum_contributions(rows, sign, got)
        assert list(got.items()) == list(want.items())  # same floats, same key order
