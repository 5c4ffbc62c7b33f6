"""`assay demo` builds a realistic project once; a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from assay.services import users
from assay.services.demo import CHECKED, DEMO_PASSWORD, LEAD, NEW_JOB_TITLE, build_demo
from assay.store.models import (
    Annotation,
    Honeypot,
    Job,
    JobAssignee,
    JobTask,
    Prediction,
    Task,
    User,
)


def test_demo_builds_once_and_annotators_differ(db, settings, client):
    media = settings.resolved_media_root
    with db.session() as s:
        info = build_demo(s, media)
    assert info.created
    assert ("reviewer@demo.assay", "reviewer") in info.logins  # the tour's step 6
    with db.session() as s:
        again = build_demo(s, media)
    assert not again.created and again.project_id == info.project_id

    with db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Task)) == 60
        # every image twice, and the ten checked images' ground truth
        assert s.scalar(select(func.count()).select_from(Annotation)) == 120 + len(CHECKED)
        assert s.scalar(select(func.count()).select_from(Prediction)) == 60
        assert s.scalar(select(func.count()).select_from(Job)) == 4
        outside_jobs = s.scalars(
            select(Annotation.ground_truth).where(Annotation.job_id.is_(None))
        ).all()
        assert outside_jobs == [True] * len(CHECKED)  # only the lead's ground truth
        assert s.scalar(select(func.count()).select_from(Honeypot)) == len(CHECKED)
        # ana's new job hides two honeypots she has never seen among four new images
        new_job = s.scalar(select(Job.id).where(Job.title == NEW_JOB_TITLE))
        hidden = s.scalars(select(JobTask.is_honeypot).where(JobTask.job_id == new_job)).all()
        assert sorted(hidden) == [False] * 4 + [True] * 2
        assignees = s.scalars(
            select(User.email)
            .join(JobAssignee, JobAssignee.user_id == User.id)
            .where(JobAssignee.job_id == new_job)
        ).all()
        assert assignees == ["ana@demo.assay"]
        regions = {
            email: sum(
                len(r)
                for r in s.scalars(
                    select(Annotation.result)
                    .join(User, User.id == Annotation.completed_by_id)
                    .where(User.email == email, Annotation.ground_truth.is_(False))
                )
            )
            for email in ("ana@demo.assay", "cleo@demo.assay")
        }
    assert regions["ana@demo.assay"] != regions["cleo@demo.assay"]

    # the lead's login works with the printed password, and the images are served
    with db.session() as s:
        lead = users.authenticate_password(s, LEAD, DEMO_PASSWORD)
        token = users.reset_token(s, lead.id)
    h = {"Authorization": f"Token {token}"}
    task = client.get(f"/api/tasks?project={info.project_id}&page_size=1", headers=h).json()[
        "tasks"
    ][0]
    assert task["data"]["image"].startswith(f"/data/media/project-{info.project_id}/")
    image = client.get(task["data"]["image"], headers=h)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert (task["width"], task["height"]) == (1600, 1200)
