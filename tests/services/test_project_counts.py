"""A project's counts are kept by the database (triggers, migration 0030): after every kind of
write, however it is made, they equal the counts of the rows themselves, on both databases."""

from __future__ import annotations

import contextlib
import random
import threading

import pytest
from sqlalchemy import delete, select, update

from assay.services import ground_truth, projects, tasks
from assay.services.errors import AssayError
from assay.services.tasks import annotations, predictions
from assay.store.models import Annotation, Prediction, Task
from assay.store.types import utcnow
from builders import actor_of, annotate, box, survey


def _kept_and_counted(db, pid: int):
    with db.session(write=False) as s:
        return (
            projects.project_counts(s, [pid])[pid],
            projects.counted_from_rows(s, [pid])[pid],
        )


def test_the_kept_counts_follow_every_kind_of_write(db, people):
    pid, task_ids = survey(db, people, 6)
    lead = actor_of(people["lead"])
    rng = random.Random(7)
    made: list[int] = []
    preds: list[int] = []

    def imported():
        items = [
            {
                "data": {"image": f"/data/more_{rng.random()}.png"},
                "annotations": [{"result": [box(10, 10, 20, 20)], "ground_truth": True}],
                "predictions": [{"result": [box(11, 10, 20, 20)], "model_version": "m"}],
            }
            for _ in range(2)
        ]
        with db.session() as s:
            task_ids.extend(tasks.import_tasks(s, lead, pid, items).task_ids)

    def annotated():
        who = rng.choice(["annotator", "annotator2"])
        made.append(annotate(db, people[who], rng.choice(task_ids), [box(10, 10, 20, 20)]))

    def starred():
        with db.session() as s:
            ann = s.get(Annotation, rng.choice(made))
            if ann.deleted_at is None:
                ground_truth.set_ground_truth(s, lead, ann.id, not ann.ground_truth)

    def deleted_annotation():
        with db.session() as s:
            ann = s.get(Annotation, rng.choice(made))
            if ann.deleted_at is None:
                annotations.delete_annotation(s, lead, ann.id)

    def predicted():
        with db.session() as s:
            made_pred = predictions.create_prediction(
                s, lead, rng.choice(task_ids), result=[box(1, 1, 5, 5)], model_version="m"
            )
            preds.append(made_pred.id)

    def deleted_prediction():
        if preds:
            with db.session() as s:
                pred = s.get(Prediction, rng.choice(preds))
                if pred.deleted_at is None:
                    predictions.delete_prediction(s, lead, pred.id)

    def deleted_task():
        with db.session() as s:
            task = s.get(Task, rng.choice(task_ids))
            if task.deleted_at is None:
                tasks.delete_task(s, lead, task.id)

    def restored_or_done():  # writes no service makes, straight to the rows: still counted
        with db.session() as s:
            task = s.get(Task, rng.choice(task_ids))
            s.execute(
                update(Task)
                .where(Task.id == task.id)
                .values(
                    deleted_at=None,
                    gt_status=rng.choice(["none", "done", "empty"]),
                )
            )

    def consensus():
        with db.session() as s:
            s.add(
                Annotation(
                    task_id=rng.choice(task_ids), project_id=pid, kind="consensus", result=[]
                )
            )

    steps = [imported, annotated, annotated, starred, deleted_annotation, predicted,
             deleted_prediction, deleted_task, restored_or_done, consensus]  # fmt: skip
    for t in task_ids[:3]:
        made.append(annotate(db, people["annotator"], t, [box(10, 10, 20, 20)]))
    for step in rng.choices(steps, k=80):
        with contextlib.suppress(AssayError):  # refused (a done task takes no annotations)
            step()
        kept, counted = _kept_and_counted(db, pid)
        assert kept == counted, step.__name__
    assert kept.task_number > 6 and kept.total_annotations_number > 10
    assert kept.ground_truth_number and kept.total_predictions_number

    with db.session() as s:  # hard deletes (only tests and a project's removal make them)
        s.execute(delete(Annotation).where(Annotation.kind == "consensus"))
        (bare,) = tasks.import_tasks(s, lead, pid, [{"data": {"image": "/bare.png"}}]).task_ids
    assert _kept_and_counted(db, pid)[0].task_number == kept.task_number + 1
    with db.session() as s:
        s.execute(delete(Task).where(Task.id == bare))
    kept, counted = _kept_and_counted(db, pid)
    assert kept == counted


def test_first_annotations_made_at_once_count_their_task_once(db, people):
    """Concurrent writers each making a task's first annotation: the task row's lock orders
    them (PostgreSQL), so "tasks with annotations" moves by one per task."""
    pid, task_ids = survey(db, people, 3)
    barrier = threading.Barrier(6)
    errors = []

    def write(k: int) -> None:
        who = people["annotator" if k % 2 else "annotator2"]
        barrier.wait()
        try:
            annotate(db, who, task_ids[k % 3], [box(10 + k, 10, 20, 20)])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept, counted = _kept_and_counted(db, pid)
    assert kept == counted
    assert kept.num_tasks_with_annotations == 3 and kept.total_annotations_number == 6
    with db.session(write=False) as s:
        assert set(s.scalars(select(Task.live_annotations).where(Task.project_id == pid))) == {2}


def test_a_prediction_made_while_its_task_is_being_deleted_is_not_counted(db, people):
    """PostgreSQL: the insert's trigger waits for the task's lock, so it sees the delete."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    pid, (t,) = survey(db, people, 1)
    lead = actor_of(people["lead"])
    deleting = db.writer()
    deleting.execute(update(Task).where(Task.id == t).values(deleted_at=utcnow()))
    done = threading.Event()

    def predict() -> None:
        with db.session() as s:
            predictions.create_prediction(s, lead, t, result=[box(1, 1, 5, 5)], model_version="m")
        done.set()

    writer = threading.Thread(target=predict)
    writer.start()
    assert not done.wait(1.0)  # it waits for the task's row lock
    deleting.commit()
    deleting.close()
    writer.join(30)
    assert done.is_set()
    kept, counted = _kept_and_counted(db, pid)
    assert kept == counted and kept.total_predictions_number == 0
