"""The ground-truth rules through the services: one GT per task, every change recorded,
nothing that carries labels deleted, and only leads and admins change the answer key."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assay.services import ground_truth
from assay.services.errors import Forbidden
from assay.store.models import Annotation, GroundTruthChange
from builders import actor_of, annotate, box, survey


def _gt_of(db, task_id):
    with db.session(write=False) as s:
        return [
            a.id
            for a in s.scalars(
                select(Annotation).where(
                    Annotation.task_id == task_id, Annotation.ground_truth.is_(True)
                )
            )
        ]


def _changes(db, task_id):
    with db.session(write=False) as s:
        rows = s.scalars(
            select(GroundTruthChange)
            .where(GroundTruthChange.task_id == task_id)
            .order_by(GroundTruthChange.id)
        )
        return [(c.action, c.from_annotation_id, c.to_annotation_id) for c in rows]


def test_starring_a_second_annotation_replaces_the_first_and_records_both_changes(db, people):
    _, (t,) = survey(db, people, 1)
    a = annotate(db, people["annotator"], t, [box(10, 10, 20, 20)])
    b = annotate(db, people["annotator2"], t, [box(12, 10, 20, 20)])
    lead = actor_of(people["lead"])
    with db.session() as s:
        assert ground_truth.set_ground_truth(s, lead, a, True)
    with db.session() as s:
        assert ground_truth.set_ground_truth(s, lead, b, True)
    assert _gt_of(db, t) == [b]
    assert _changes(db, t) == [("set", None, a), ("replaced", a, b)]
    with db.session() as s:
        assert not ground_truth.set_ground_truth(s, lead, b, True)  # already the GT: no change
    assert len(_changes(db, t)) == 2


def test_unsetting_gt_keeps_the_annotation(db, people):
    _, (t,) = survey(db, people, 1)
    a = annotate(db, people["annotator"], t, [box(10, 10, 20, 20)])
    lead = actor_of(people["lead"])
    with db.session() as s:
        ground_truth.set_ground_truth(s, lead, a, True)
    with db.session() as s:
        ground_truth.set_ground_truth(s, lead, a, False)
    assert _gt_of(db, t) == []
    with db.session(write=False) as s:
        kept = s.get(Annotation, a)
        assert kept is not None and kept.deleted_at is None and kept.result
    assert [c[0] for c in _changes(db, t)] == ["set", "unset"]


@pytest.mark.parametrize("who", ["annotator", "reviewer"])
def test_only_leads_and_admins_change_the_answer_key(db, people, who):
    _, (t,) = survey(db, people, 1)
    a = annotate(db, people["annotator"], t, [box(10, 10, 20, 20)])
    with db.session() as s, pytest.raises(Forbidden):
        ground_truth.set_ground_truth(s, actor_of(people[who]), a, True)
    assert _gt_of(db, t) == []


def test_assign_takes_the_earliest_annotation_and_from_annotator_the_chosen_one(db, people):
    pid, (t1, t2, _no_annotation) = survey(db, people, 3)
    early = {t: annotate(db, people["annotator2"], t, [box(10, 10, 20, 20)]) for t in (t1, t2)}
    late = {t: annotate(db, people["annotator"], t, [box(11, 10, 20, 20)]) for t in (t1, t2)}
    lead = actor_of(people["lead"])
    with db.session() as s:
        done = ground_truth.bulk_assign_earliest(s, lead, pid, {"all": True, "excluded": []})
    assert (done.selected, done.changed, done.skipped) == (3, 2, 1)  # t3 has no annotation
    assert _gt_of(db, t1) == [early[t1]] and _gt_of(db, t2) == [early[t2]]
    with db.session() as s:
        done = ground_truth.bulk_set_from_annotator(
            s, lead, pid, {"all": False, "included": [t1]}, people["annotator"].id
        )
    assert (done.changed, done.unchanged) == (1, 0)
    assert _gt_of(db, t1) == [late[t1]] and _gt_of(db, t2) == [early[t2]]
    with db.session() as s:
        done = ground_truth.bulk_delete(s, lead, pid, {"all": True, "excluded": [t2]})
    assert _gt_of(db, t1) == [] and _gt_of(db, t2) == [early[t2]]
