"""Rescoring through the services, where the rule lives: scores and their aggregates follow
every label change in the same commit (services.changes -> quality.on_labels_changed)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assay.services import ground_truth, quality
from assay.services.tasks import annotations
from assay.store.models import QualityAggregate, QualityScore
from builders import actor_of, annotate, box, survey


def _scores(db):
    with db.session(write=False) as s:
        return {
            r.annotation_id: (r.tp, r.fp, r.fn, round(r.accuracy, 6))
            for r in s.scalars(select(QualityScore).where(QualityScore.annotation_id.is_not(None)))
        }


def _project_total(db, project_id):
    """(scored, tp, fp, fn) over all annotators of the project."""
    with db.session(write=False) as s:
        row = s.scalar(
            select(QualityAggregate).where(
                QualityAggregate.project_id == project_id,
                QualityAggregate.group_kind == "annotations",  # every annotator together
                QualityAggregate.label == "",
            )
        )
        return None if row is None else (row.n, row.tp, row.fp, row.fn)


def test_an_annotation_is_scored_against_gt_in_the_commit_that_makes_it(db, people):
    pid, (t,) = survey(db, people, 1)
    annotate(db, people["lead"], t, [box(10, 10, 20, 20), box(50, 50, 10, 10)], gt=True)
    good = annotate(db, people["annotator"], t, [box(10, 10, 20, 20), box(50, 50, 10, 10)])
    half = annotate(db, people["annotator2"], t, [box(10, 10, 20, 20), box(80, 80, 5, 5)])
    scores = _scores(db)
    assert scores[good] == (2, 0, 0, 1.0)
    assert scores[half] == (1, 1, 1, pytest.approx(1 / 3))
    assert _project_total(db, pid) == (2, 3, 1, 1)


def test_editing_an_annotation_moves_its_score_and_the_aggregates_by_the_difference(db, people):
    pid, (t,) = survey(db, people, 1)
    annotate(db, people["lead"], t, [box(10, 10, 20, 20)], gt=True)
    a = annotate(db, people["annotator"], t, [box(60, 60, 20, 20)])
    assert _scores(db)[a] == (0, 1, 1, 0.0)
    with db.session() as s:
        annotations.update_annotation(
            s, actor_of(people["annotator"]), a, result=[box(10, 10, 20, 20)]
        )
    assert _scores(db)[a] == (1, 0, 0, 1.0)
    assert _project_total(db, pid) == (1, 1, 0, 0)


def test_a_new_gt_rescores_every_annotation_of_the_task(db, people):
    pid, (t,) = survey(db, people, 1)
    first = annotate(db, people["annotator"], t, [box(10, 10, 20, 20)])
    second = annotate(db, people["annotator2"], t, [box(60, 60, 20, 20)])
    assert _scores(db) == {}  # no GT, nothing to score against
    with db.session() as s:
        ground_truth.set_ground_truth(s, actor_of(people["lead"]), second, True)
    scores = _scores(db)
    assert scores[first] == (0, 1, 1, 0.0) and second not in scores  # the GT is not scored
    with db.session() as s:
        ground_truth.set_ground_truth(s, actor_of(people["lead"]), first, True)
    scores = _scores(db)
    assert scores[second] == (0, 1, 1, 0.0) and first not in scores
    assert _project_total(db, pid) == (1, 0, 1, 1)


def test_deleting_an_annotation_takes_its_score_out_of_the_aggregates(db, people):
    pid, (t,) = survey(db, people, 1)
    annotate(db, people["lead"], t, [box(10, 10, 20, 20)], gt=True)
    a = annotate(db, people["annotator"], t, [box(10, 10, 20, 20)])
    b = annotate(db, people["annotator2"], t, [box(70, 70, 5, 5)])
    assert _project_total(db, pid) == (2, 1, 1, 1)
    with db.session() as s:
        annotations.delete_annotation(s, actor_of(people["annotator2"]), b)
    assert set(_scores(db)) == {a}
    assert _project_total(db, pid) == (1, 1, 0, 0)


def test_a_full_recompute_gives_what_the_incremental_rescores_gave(db, people):
    pid, ids = survey(db, people, 4)
    for i, t in enumerate(ids):
        annotate(db, people["lead"], t, [box(10, 10, 20, 20), box(50, 50, 10, 10)], gt=True)
        annotate(db, people["annotator"], t, [box(10 + i, 10, 20, 20)])
        annotate(db, people["annotator2"], t, [box(50, 50, 10, 10, "Zebra")])
    incremental, total = _scores(db), _project_total(db, pid)
    quality.recompute_project(db, pid)
    assert _scores(db) == incremental and _project_total(db, pid) == total


def test_project_agreement_counts_every_task_two_annotators_share_as_work_comes_and_goes(
    db, people
):
    """The matrix reads only tasks with a stored agreement; those follow every change."""
    pid, (t1, t2, t3, t4) = survey(db, people, 4)
    a, b, lead = people["annotator"], people["annotator2"], people["lead"]
    same, moved = [box(10, 10, 20, 20)], [box(60, 60, 20, 20)]
    annotate(db, a, t1, same)
    annotate(db, b, t1, same)  # a and b agree on t1
    annotate(db, a, t2, same)
    late = annotate(db, b, t2, moved)  # and disagree on t2, until b deletes it
    annotate(db, a, t3, same)  # one annotator: no pair
    annotate(db, lead, t4, same)
    annotate(db, b, t4, moved)

    def matrix():
        with db.session(write=False) as s:
            got = quality.project_agreement(s, actor_of(lead), pid)
        at = {u: i for i, u in enumerate(got.annotators)}
        return {
            (x.email, y.email): (got.shared[at[x.id]][at[y.id]], got.matrix[at[x.id]][at[y.id]])
            for x, y in ((a, b), (b, lead))
        }

    ab, b_lead = (a.email, b.email), (b.email, lead.email)
    assert matrix() == {ab: (2, 0.5), b_lead: (1, 0.0)}
    with db.session() as s:
        annotations.delete_annotation(s, actor_of(b), late)
    assert matrix() == {ab: (1, 1.0), b_lead: (1, 0.0)}
