"""The demo project: a synthetic aerial survey labeled by three annotators of different skill,
with one model's predictions, ten images the lead already checked (ground truth in the
honeypot pool) and a new job for ana with two of them hidden among its images, so that every
step of the README's tour can be walked. Built through the same services as real data;
idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from assay.demo import synth
from assay.services import honeypots, jobs, projects, tasks, users
from assay.services.task_aliases import new_aliases
from assay.services.tasks.media import media_url
from assay.store.models import Annotation, Job, JobAssignee, JobTask, Project

DEMO_TITLE = "Demo: aerial wildlife survey"
DEMO_PASSWORD = "assay-demo-tour"
LEAD = "lead@demo.assay"
ADMIN = "admin@demo.assay"
REVIEWER = "reviewer@demo.assay"
ANNOTATORS = (
    ("ana@demo.assay", "SKILLED"),
    ("ben@demo.assay", "AVERAGE"),
    ("cleo@demo.assay", "NOVICE"),
)
N_IMAGES = 60
# Images the lead checked before the tour starts: their true boxes are ground truth, and they
# are in the honeypot pool. ana (job 1: images 0-39) has never seen them.
CHECKED = range(50, 60)
# ana's second job: images she has not labeled (ben and cleo have), with honeypots mixed in.
NEW_JOB_TITLE = "Flight block 4"
NEW_JOB_IMAGES = range(40, 44)
HONEYPOTS_PER_JOB = 2


@dataclass(frozen=True)
class DemoInfo:
    project_id: int
    created: bool
    logins: tuple[tuple[str, str], ...]  # (email, role)
    password: str = DEMO_PASSWORD


def build_demo(
    session: Session, media_root: Path, progress: Callable[[str], None] = lambda _m: None
) -> DemoInfo:
    """Create the demo once; later calls find it and change nothing."""
    logins = (
        (ADMIN, "admin"),
        (LEAD, "lead"),
        (REVIEWER, "reviewer"),
        *((e, "annotator") for e, _ in ANNOTATORS),
    )
    existing = session.scalar(
        select(Project.id).where(Project.title == DEMO_TITLE, Project.deleted_at.is_(None))
    )
    if existing is not None:
        return DemoInfo(existing, False, logins)

    people = {}
    for email, role in logins:
        user = users.user_by_email(session, email)
        if user is None:
            user, _ = users.create_user(session, email, role, password=DEMO_PASSWORD)
        people[email] = user
    lead = users.actor_of(people[LEAD])

    project = projects.create_project(
        session,
        lead,
        title=DEMO_TITLE,
        description="Synthetic nadir images of savanna with elephants, giraffes, zebras and "
        "buffalo. Three annotators of different skill each labeled a job of 40 images "
        "(every image twice); a detector added predictions.",
        label_config=synth.LABEL_CONFIG,
        expert_instruction="Draw a tight box around every animal's body (not its shadow) and "
        "pick its species. Skip nothing: herds are counted animal by animal.",
    )
    for email in (REVIEWER, *(e for e, _ in ANNOTATORS)):
        projects.add_member(session, lead, project.id, people[email].id)

    progress(f"drawing {N_IMAGES} survey images")
    folder = media_root / tasks.project_media_folder(project.id)  # tasks show only its media
    survey = synth.generate_survey(folder, n_images=N_IMAGES)

    progress("labeling: three annotators and one model")
    windows = _job_windows(len(survey.images), len(ANNOTATORS))
    labels = {
        email: synth.simulate_annotator(survey, getattr(synth, skill), seed=11 + i)
        for i, (email, skill) in enumerate(ANNOTATORS)
    }
    detections = synth.simulate_model(survey, seed=5)
    items, sizes = [], []
    for index, image in enumerate(survey.images):
        annotations = [
            {
                "result": synth.to_label_studio_result(
                    labels[email][image.file_name], image.width, image.height
                ),
                "completed_by": people[email].id,
                "lead_time": 20.0 + 4 * len(image.animals) * (1 + k),
            }
            for k, (email, _) in enumerate(ANNOTATORS)
            if index in windows[k]
        ]
        if index in CHECKED:
            annotations.append(
                {
                    "result": synth.to_label_studio_result(
                        image.animals, image.width, image.height
                    ),
                    "completed_by": lead.id,
                    "ground_truth": True,
                }
            )
        scored = detections[image.file_name]
        items.append(
            {
                "data": {"image": media_url(media_root, folder / image.file_name)},
                "annotations": annotations,
                "predictions": [
                    {
                        "result": synth.to_label_studio_result(scored, image.width, image.height),
                        "score": round(sum(b.score for b in scored) / len(scored), 4)
                        if scored
                        else 1.0,
                        "model_version": synth.MODEL_VERSION,
                    }
                ],
            }
        )
        sizes.append((image.width, image.height))
    result = tasks.import_tasks(session, lead, project.id, items, sizes=sizes)

    for k, (email, _) in enumerate(ANNOTATORS):
        job = Job(project_id=project.id, title=f"Flight block {k + 1}", created_by_id=lead.id)
        session.add(job)
        session.flush()
        job_task_ids = [result.task_ids[i] for i in sorted(windows[k])]
        session.execute(
            insert(JobTask),
            [
                {"job_id": job.id, "task_id": t, "position": p, "alias": a}
                for p, (t, a) in enumerate(
                    zip(job_task_ids, new_aliases(session, len(job_task_ids)), strict=True)
                )
            ],
        )
        session.add(JobAssignee(job_id=job.id, user_id=people[email].id))
        session.execute(
            update(Annotation)
            .where(
                Annotation.task_id.in_(job_task_ids), Annotation.completed_by_id == people[email].id
            )
            .values(job_id=job.id)
        )
    session.flush()

    progress("hiding honeypots in a new job for ana")
    checked = [result.task_ids[i] for i in CHECKED]
    honeypots.add_to_pool(session, lead, project.id, {"all": False, "included": checked})
    honeypots.update_settings(session, lead, project.id, per_job=HONEYPOTS_PER_JOB)
    jobs.create_job(
        session,
        lead,
        project.id,
        title=NEW_JOB_TITLE,
        task_ids=[result.task_ids[i] for i in NEW_JOB_IMAGES],
        assignees=[people[ANNOTATORS[0][0]].id],
    )
    session.flush()
    return DemoInfo(project.id, True, logins)


def _job_windows(n: int, k: int) -> list[set[int]]:
    """k overlapping windows of 2n/k images, so that every image is labeled by two annotators."""
    size = 2 * n // k
    step = n // k
    return [{(start * step + i) % n for i in range(size)} for start in range(k)]
