"""The rework loop's rules where they live (services.rework, review, jobs, review_settings),
called over a session: what comes back to whom, what a resubmission is, the closed job."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assay.services import jobs, review, review_settings, rework
from assay.services.errors import Conflict, Forbidden, Invalid
from assay.services.tasks import annotations
from assay.store.models import JobTask, Project
from builders import actor_of, box, survey


@pytest.fixture
def setup(db, people):
    """A job of two tasks for the annotator, who annotated the first in it."""
    project_id, tasks = survey(db, people, 2)
    lead, ann = actor_of(people["lead"]), actor_of(people["annotator"])
    with db.session() as s:
        job = jobs.create_job(s, lead, project_id, "j", tasks, [ann.id], None)
        # the annotator names the job's tasks by alias (services.task_aliases)
        seen = dict(
            s.execute(select(JobTask.task_id, JobTask.alias).where(JobTask.job_id == job.id)).all()
        )
        made = annotations.create_annotation(
            s, ann, seen[tasks[0]], [box(1, 1, 5, 5)], job_id=job.id
        )
        return {
            "project": project_id,
            "tasks": tasks,
            "job": job.id,
            "ann": made.id,
            "seen": [seen[t] for t in tasks],
        }


def test_reasons_are_the_list_or_other():
    settings = review_settings.ReviewSettings(True, ("blurry",))
    assert settings.check_reason("blurry") == "blurry"
    assert settings.check_reason("other") == "other"
    with pytest.raises(Invalid) as err:
        settings.check_reason("wrong label")
    assert err.value.validation_errors == {"reason": ['must be one of "blurry", "other"']}


def test_settings_default_and_stored_values_round_trip(db, people, setup):
    with db.session() as s:
        project = s.get(Project, setup["project"])
        assert review_settings.settings_of(project).reject_returns_to_annotator is True
        new = review_settings.update_settings(
            s, actor_of(people["lead"]), setup["project"], reject_reasons=[" a ", "b"]
        )
        assert new.reject_reasons == ("a", "b")
        assert rework.returning_projects(s, [setup["project"]]) == {setup["project"]}


def test_a_reject_puts_the_work_first_in_the_queue_and_a_resubmission_takes_it_out(
    db, people, setup
):
    rv, ann = actor_of(people["reviewer"]), actor_of(people["annotator"])
    with db.session() as s:
        assert jobs.next_to_annotate(s, ann, setup["job"]).task.id == setup["tasks"][1]
        review.review_annotation(s, rv, setup["ann"], "reject", "tighter", reason="loose boxes")
        nxt = jobs.next_to_annotate(s, ann, setup["job"])
        assert (nxt.task.id, nxt.annotation.id, nxt.remaining) == (
            setup["tasks"][0],
            setup["ann"],
            2,
        )
        assert (nxt.rejection.review.reason, nxt.rejection.reviewer.id) == ("loose boxes", rv.id)
        assert jobs.remaining_by_job(s, [setup["job"]], ann.id) == {setup["job"]: 2}
        changed = annotations.update_annotation(s, ann, setup["ann"], result=[box(2, 2, 3, 3)])
        assert (changed.revision, changed.review_status) == (2, "none")
        assert jobs.next_to_annotate(s, ann, setup["job"]).annotation is None
        # the superseded reject is history: the reviewer may review the new pass
        again = review.review_annotation(s, rv, setup["ann"], "accept")
        assert again.reviewed_revision == 2


def test_a_leads_edit_of_a_rejected_annotation_is_no_resubmission(db, people, setup):
    rv, lead = actor_of(people["reviewer"]), actor_of(people["lead"])
    with db.session() as s:
        review.review_annotation(s, rv, setup["ann"], "reject")
        changed = annotations.update_annotation(s, lead, setup["ann"], result=[])
        assert changed.review_status == "rejected"


def test_the_resubmission_returns_to_the_rejecting_reviewer_only(db, people, setup):
    rv, lead, ann = (actor_of(people[k]) for k in ("reviewer", "lead", "annotator"))
    with db.session() as s:
        review.review_annotation(s, lead, setup["ann"], "reject", reason="other")
        annotations.update_annotation(s, ann, setup["ann"], result=[])
        assert review.next_for_review(s, rv, setup["project"]).total == 0  # the lead's, not mine
        assert review.next_for_review(s, lead, setup["project"]).annotation.id == setup["ann"]


def test_a_closed_job_refuses_annotators_but_not_leads(db, people, setup):
    lead, ann = actor_of(people["lead"]), actor_of(people["annotator"])
    with db.session() as s:
        jobs.accept_job(s, lead, setup["job"])
        with pytest.raises(Forbidden, match="closed"):
            annotations.update_annotation(s, ann, setup["ann"], result=[])
        with pytest.raises(Forbidden, match="closed"):
            annotations.create_annotation(s, ann, setup["seen"][1], [], job_id=setup["job"])
        nxt = jobs.next_to_annotate(s, ann, setup["job"])
        assert nxt.closed and nxt.task is None and nxt.remaining == 0
        assert jobs.remaining_by_job(s, [setup["job"]], ann.id) == {setup["job"]: 0}
        annotations.update_annotation(s, lead, setup["ann"], result=[])  # leads still may
        with pytest.raises(Forbidden):
            jobs.reopen_job(s, ann, setup["job"])
        jobs.reopen_job(s, lead, setup["job"])
        with pytest.raises(Conflict):
            jobs.reopen_job(s, lead, setup["job"])
        annotations.update_annotation(s, ann, setup["ann"], result=[box(1, 1, 2, 2)])
