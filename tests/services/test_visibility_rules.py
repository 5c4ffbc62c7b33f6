"""The visibility policy where it lives (services.tasks.visibility): what an annotator of a
shared project reads of a task, with rows written as other capabilities write them."""

from __future__ import annotations

from sqlalchemy import select, update

from assay.services import jobs
from assay.services.task_aliases import knows_aliases, seen_tasks
from assay.services.tasks import annotation_visible, annotations, ls_json, regions_of
from assay.store.models import Annotation, JobTask, Project
from builders import actor_of, box, survey


def _shared_job(db, people, n_tasks=2):
    project_id, task_ids = survey(db, people, n_tasks)
    who = [people["annotator"].id, people["annotator2"].id]
    with db.session() as s:
        s.execute(update(Project).where(Project.id == project_id).values(visibility="shared"))
        job = jobs.create_job(s, actor_of(people["lead"]), project_id, "j", task_ids, who)
        return project_id, task_ids, job.id


def _made(db, person, task_id, job_id, **row):
    """`person` annotates the task in the job, naming it as they know it: annotators by the
    job's alias (services.task_aliases), staff by its real id."""
    actor = actor_of(person)
    with db.session() as s:
        if knows_aliases(actor) and job_id is not None:
            task_id = s.scalar(
                select(JobTask.alias).where(JobTask.job_id == job_id, JobTask.task_id == task_id)
            )
        ann = annotations.create_annotation(s, actor, task_id, [box(5, 5, 10, 10)], job_id=job_id)
        for name, value in row.items():
            setattr(ann, name, value)
        return ann.id


def _seen(db, person, task_id):
    with db.session() as s:
        anns, _ = regions_of(s, actor_of(person), [task_id])
        return [a.id for a in anns.get(task_id, [])]


def test_consensus_and_skips_of_others_are_not_shown(db, people):
    _, [t0, t1], job = _shared_job(db, people)
    ann, ann2 = people["annotator"], people["annotator2"]
    shown = _made(db, ann2, t0, job)
    merged = _made(db, ann2, t1, job, kind="consensus")
    skipped = _made(db, ann2, t1, job)
    with db.session() as s:
        s.get(Annotation, skipped).was_cancelled = True
    assert _seen(db, ann, t0) == [shown]
    assert _seen(db, ann, t1) == []
    with db.session() as s:
        actor = actor_of(ann)
        assert annotation_visible(s, actor, s.get(Annotation, shown))
        assert not annotation_visible(s, actor, s.get(Annotation, merged))
        assert not annotation_visible(s, actor, s.get(Annotation, skipped))


def test_a_co_assignees_work_names_the_task_by_the_readers_alias(db, people):
    """What an annotator reads of a co-assignee's annotation carries the task as they know it
    (the alias of the job they share), never its real id."""
    _, [t0, _], job = _shared_job(db, people)
    ann = people["annotator"]
    theirs = _made(db, people["annotator2"], t0, job)
    with db.session() as s:
        alias = s.scalar(select(JobTask.alias).where(JobTask.job_id == job, JobTask.task_id == t0))
        actor = actor_of(ann)
        [shown] = regions_of(s, actor, [t0])[0][t0]
        assert shown.id == theirs
        out = ls_json.annotation(shown, actor, seen=seen_tasks(s, actor, [t0]))
        assert out["task"] == alias != t0


def test_work_of_someone_no_longer_assigned_is_not_shown(db, people):
    """Co-assignees only: a person taken off the job (or a lead who annotated in it without
    being assigned) is not a co-assignee."""
    _, [t0, _], job = _shared_job(db, people)
    ann, ann2 = people["annotator"], people["annotator2"]
    theirs = _made(db, ann2, t0, job)
    by_lead = _made(db, people["lead"], t0, job)
    assert _seen(db, ann, t0) == [theirs]
    with db.session() as s:
        jobs.update_job(s, actor_of(people["lead"]), job, assignees=[ann.id])
    assert _seen(db, ann, t0) == []
    assert by_lead not in _seen(db, ann, t0)
    assert _seen(db, people["lead"], t0) == [theirs, by_lead]


def test_blind_is_the_default_and_shows_own_work_only(db, people):
    project_id, [t0, _], job = _shared_job(db, people)
    with db.session() as s:
        s.execute(update(Project).where(Project.id == project_id).values(visibility="blind"))
    mine = _made(db, people["annotator"], t0, job)
    _made(db, people["annotator2"], t0, job)
    assert _seen(db, people["annotator"], t0) == [mine]
