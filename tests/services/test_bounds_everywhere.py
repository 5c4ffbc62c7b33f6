"""Every service that stores a result, task data or meta refuses what breaks the bounds of
`formats.label_studio` (issue #16 H1), naming the place, and writes nothing: annotations
(create, update), review fixes, the GT stage's Done, adjudication, predictions (create,
update, bulk), task imports and task edits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assay.services import jobs, tasks
from assay.services.consensus import adjudication
from assay.services.errors import Invalid
from assay.services.gt_stage import done
from assay.services.review import verdicts
from assay.services.tasks import annotations, predictions
from assay.store.models import ConsensusResult, Prediction
from builders import actor_of, annotate, box, survey

DEEP = box(1, 1, 5, 5, meta={"a": {"b": [[[[[[[[[[[[[[[[{"deep": True}]]]]]]]]]]]]]]]]}})
WHERE = "result[0].meta.a.b"


def deep_data(levels: int = 20) -> dict:
    value: dict = {"image": "a.jpg"}
    for _ in range(levels):
        value = {"image": "a.jpg", "x": value}
    return value


@pytest.fixture
def setting(db, people):
    """A project with two tasks, the annotator's annotation and a prediction on the first."""
    project_id, task_ids = survey(db, people, 2)
    annotation_id = annotate(db, people["annotator"], task_ids[0], [box(1, 1, 5, 5)])
    with db.session() as s:
        pred = predictions.create_prediction(
            s, actor_of(people["lead"]), task_ids[0], result=[box(1, 1, 5, 5)]
        )
        prediction_id = pred.id
    return project_id, task_ids, annotation_id, prediction_id


def _refused(db, write: Callable, field_prefix: str) -> None:
    with pytest.raises(Invalid) as err, db.session() as s:
        write(s)
    assert any(f.startswith(field_prefix) for f in err.value.validation_errors), (
        err.value.validation_errors
    )


def test_every_door_that_stores_a_result_refuses_one_nested_too_deep(db, people, setting):
    project_id, (task, other), annotation_id, prediction_id = setting
    lead, annotator = actor_of(people["lead"]), actor_of(people["annotator"])
    reviewer = actor_of(people["reviewer"])
    _refused(db, lambda s: annotations.create_annotation(s, lead, other, [DEEP]), WHERE)
    _refused(
        db, lambda s: annotations.update_annotation(s, annotator, annotation_id, result=[DEEP]),
        WHERE,
    )  # fmt: skip
    _refused(
        db,
        lambda s: verdicts.review_annotation(s, reviewer, annotation_id, "fix_accept", "", [DEEP]),
        WHERE,
    )
    _refused(
        db, lambda s: predictions.create_prediction(s, lead, other, result=[DEEP]),
        f"prediction.{WHERE}",
    )  # fmt: skip
    _refused(
        db, lambda s: predictions.update_prediction(s, lead, prediction_id, result=[DEEP]),
        f"prediction.{WHERE}",
    )  # fmt: skip
    _refused(
        db,
        lambda s: predictions.import_predictions(
            s, lead, project_id, [{"task": other, "result": [DEEP]}]
        ),
        f"predictions[0].{WHERE}",
    )
    with db.session() as s:
        job = jobs.create_job(s, lead, project_id, "j", [task, other], [people["annotator"].id])
        job_id = job.id
        s.add(ConsensusResult(task_id=other, project_id=project_id, annotators=2, agreement=0.1,
                              status="adjudicate"))  # fmt: skip
    _refused(db, lambda s: done.finish_task(s, lead, task, job_id, [DEEP]), WHERE)
    _refused(db, lambda s: adjudication.adjudicate(s, lead, other, [DEEP]), WHERE)
    with db.session() as s:  # nothing of it was written
        assert annotations.get_annotation(s, lead, annotation_id).result == [box(1, 1, 5, 5)]
        assert len(annotations.list_annotations(s, lead, other)) == 0
        assert s.query(Prediction).count() == 1


def test_task_imports_and_edits_refuse_data_and_meta_past_the_bounds(db, people, setting):
    project_id, (task, _), _, _ = setting
    lead = actor_of(people["lead"])
    for item, field in (
        ({"data": deep_data()}, "tasks[0].data.x"),
        (deep_data(), "tasks[0].x"),
        ({"data": {"image": "a.jpg"}, "meta": {"n": float("nan")}}, "tasks[0].meta.n"),
        ({"data": {"image": "a.jpg", "big": "x" * 2**21}}, "tasks[0].data"),
        ({"data": {"image": "a.jpg"}, "annotations": [{"result": [DEEP]}]},
         f"tasks[0].annotations[0].{WHERE}"),
        ({"data": {"image": "a.jpg"}, "predictions": [{"result": [DEEP] * 2}]},
         f"tasks[0].predictions[0].{WHERE}"),
    ):  # fmt: skip
        _refused(db, lambda s, item=item: tasks.import_tasks(s, lead, project_id, [item]), field)
    _refused(db, lambda s: tasks.update_task(s, lead, task, data=deep_data()), "data.x")
    _refused(db, lambda s: tasks.update_task(s, lead, task, meta={"n": 2**64}), "meta.n")
    with db.session() as s:
        assert tasks.get_task(s, lead, task).data == {"image": "/data/img_0.png"}
