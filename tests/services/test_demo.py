"""`assay demo` builds a realistic project once; a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from assay.services import users
from assay.services.demo import DEMO_PASSWORD, LEAD, build_demo
from assay.store.models import Annotation, Job, Prediction, Task, User


def test_demo_builds_once_and_annotators_differ(db, settings, client):
    media = settings.resolved_media_root
    with db.session() as s:
        info = build_demo(s, media)
    assert info.created
    with db.session() as s:
        again = build_demo(s, media)
    assert not again.created and again.project_id == info.project_id

    with db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Task)) == 60
        assert s.scalar(select(func.count()).select_from(Annotation)) == 120  # every image twice
        assert s.scalar(select(func.count()).select_from(Prediction)) == 60
        assert s.scalar(select(func.count()).select_from(Job)) == 3
        assert (
            s.scalar(
                select(func.count()).select_from(Annotation).where(Annotation.job_id.is_(None))
            )
            == 0
        )
        regions = {
            email: sum(
                len(r)
                for r in s.scalars(
                    select(Annotation.result)
                    .join(User, User.id == Annotation.completed_by_id)
                    .where(User.email == email)
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
