"""Time on task on the scorecard (issue #18 item 4), with numbers computed by hand: active vs
wall time, objects per minute and cost per accepted object at the project's hourly rate."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from assay.services.errors import Invalid
from assay.services.tasks import annotations
from assay.services.views import dashboard
from assay.store.models import Annotation, Project
from builders import actor_of, box, survey


def _made(db, person, task_id, n_boxes, lead=None, active=None, **row):
    with db.session() as s:
        ann = annotations.create_annotation(
            s,
            actor_of(person),
            task_id,
            [box(5 + 10 * i, 5, 5, 5) for i in range(n_boxes)],
            lead_time=lead,
            active_time=active,
            was_cancelled=row.pop("was_cancelled", False),
        )
        for name, value in row.items():
            setattr(ann, name, value)
        return ann.id


def _row(db, people, project_id, who):
    with db.session() as s:
        rows = dashboard.performance_rows(s, actor_of(people["lead"]), project_id)
    return next(r for r in rows if r["annotator"] == people[who].id)


def test_scorecard_time_numbers_by_hand(db, people):
    project_id, t = survey(db, people, 6)
    with db.session() as s:
        s.execute(update(Project).where(Project.id == project_id).values(hourly_rate=30.0))
    ann = people["annotator"]
    _made(db, ann, t[0], 2, lead=90, active=60, review_status="accepted")
    _made(db, ann, t[1], 1, lead=120, active=30, review_status="rejected")
    _made(db, ann, t[2], 0, lead=10, active=6, was_cancelled=True)  # a skip costs time too
    _made(db, ann, t[3], 3)  # made through the API without times: not timed
    fixed = _made(db, ann, t[4], 2, lead=30, active=24)
    with db.session() as s:  # a reviewer's fix & accept to 5 boxes: her own 2 count
        a = s.get(Annotation, fixed)
        a.own_result, a.result = a.result, [box(1 + 10 * i, 50, 5, 5) for i in range(5)]
        a.review_status = "fixed"
    _made(db, people["annotator2"], t[5], 4, lead=100, active=50)
    row = _row(db, people, project_id, "annotator")
    # timed: 4 annotations; active 60+30+6+24 = 120 s; wall 90+120+10+30 = 250 s
    assert (row["timed_annotations"], row["active_time"], row["wall_time"]) == (4, 120.0, 250.0)
    # objects 2+1+0+2 = 5 in 2 active minutes; accepted: 2 (accepted) + 2 (fixed, her own)
    assert (row["objects"], row["objects_per_minute"], row["accepted_objects"]) == (5, 2.5, 4)
    # 30 an hour x 120 s = 1.00, over 4 accepted objects
    assert row["cost_per_accepted_object"] == 0.25
    other = _row(db, people, project_id, "annotator2")
    assert (other["objects_per_minute"], other["accepted_objects"]) == (4.8, 0)
    assert other["cost_per_accepted_object"] is None  # nothing accepted yet


def test_without_a_rate_or_times_there_is_no_cost(db, people):
    project_id, t = survey(db, people, 1)
    _made(db, people["annotator"], t[0], 2, review_status="accepted")
    row = _row(db, people, project_id, "annotator")
    assert (row["timed_annotations"], row["active_time"], row["objects_per_minute"]) == (0, 0, None)
    assert row["cost_per_accepted_object"] is None


def test_active_time_longer_than_wall_time_is_refused(db, people):
    _, t = survey(db, people, 1)
    with pytest.raises(Invalid) as err:
        _made(db, people["annotator"], t[0], 1, lead=10, active=11)
    assert "active_time" in err.value.validation_errors
