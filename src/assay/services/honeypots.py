"""Honeypots: tasks with ground truth mixed into annotators' jobs, their answer hidden.

The pool holds a project's GT tasks chosen by a lead (bulk actions `add_to_honeypots`,
`remove_from_honeypots`), each with a difficulty (set, or derived from annotators' past
accuracy on it) and an exposure count (how many annotator x job pairs it was shown to). A job
gets `per_job` of them at random positions when it is created (or rerolled before it starts):
least exposed first within the difficulty mix, never one an assignee has already seen. A
honeypot that reaches `max_exposures` retires (kept, restorable); new pool tasks have no
exposures, so the next jobs use them first.

On submit (`submit_job`) the annotator's answers on the job's honeypots are scored against GT;
below the project's `target_accuracy` the job goes back as "needs fixes" with the score and up
to three hints in plain words, never the GT and never which tasks were honeypots; after
`max_attempts` failed attempts it goes to a lead, who sees every attempt.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from assay.formats.regions import RegionError
from assay.metrics.scoring import RegionConflict, conflicts_of, regions_of, score_result
from assay.metrics.weekly import WeeklySums, weekly_means, weekly_sums
from assay.services import quality
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict, Invalid, NotFound
from assay.services.selection import BulkResult, selected_task_ids
from assay.store.models import (
    Annotation,
    Honeypot,
    HoneypotExposure,
    Job,
    JobAssignee,
    JobSubmission,
    JobTask,
    Project,
    QualityScore,
    Task,
)
from assay.store.types import utcnow

DIFFICULTIES = ("easy", "medium", "hard")
EASY_FROM = 0.8  # mean past accuracy at or above this: easy
MEDIUM_FROM = 0.5  # at or above this (and below EASY_FROM): medium; below: hard
MAX_HINTS = 3
_rng = random.SystemRandom()


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoneypotSettings:
    """How a project rotates its honeypots.

    per_job: a count (int) or a fraction of the job's tasks (float in [0, 1]); 0 = none.
    """

    per_job: int | float = 0.1
    max_exposures: int = 10
    difficulty_mix: dict[str, float] = field(
        default_factory=lambda: {"easy": 0.3, "medium": 0.4, "hard": 0.3}
    )
    min_pool_size: int = 10
    max_attempts: int = 3

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> HoneypotSettings:
        known = {k: v for k, v in (value or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def count_for(self, job_size: int) -> int:
        """How many honeypots a job of `job_size` normal tasks gets (a fraction: at least 1)."""
        if isinstance(self.per_job, int):
            return self.per_job
        if self.per_job <= 0 or job_size == 0:
            return 0
        return max(1, round(self.per_job * job_size))


def settings_of(project: Project) -> HoneypotSettings:
    return HoneypotSettings.from_json(project.honeypot_settings)


def _project(session: Session, actor: Actor, project_id: int, action: Action) -> Project:
    authorize(session, actor, action, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return project


def get_settings(session: Session, actor: Actor, project_id: int) -> HoneypotSettings:
    return settings_of(_project(session, actor, project_id, Action.HONEYPOTS_VIEW))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_settings(merged: dict[str, Any], active_pool: int | None) -> HoneypotSettings:
    """Raise Invalid naming the first bad field; `active_pool` (when given) bounds a per_job
    count."""
    per_job = merged["per_job"]
    if _is_int(per_job):
        if per_job < 0:
            raise Invalid.field("per_job", "must be a count of 0 or more, or a fraction in [0, 1]")
        if active_pool is not None and per_job > active_pool:
            raise Invalid.field(
                "per_job",
                f"asks for {per_job} honeypots per job but the pool has only {active_pool} "
                "active honeypot(s); add tasks to the pool first or ask for fewer",
            )
    elif isinstance(per_job, float):
        if not 0 <= per_job <= 1:
            raise Invalid.field("per_job", f"a fraction must be between 0 and 1, not {per_job}")
    else:
        raise Invalid.field("per_job", "must be a count (integer) or a fraction (0 to 1)")
    for name, low in (("max_exposures", 1), ("min_pool_size", 0), ("max_attempts", 1)):
        if not _is_int(merged[name]) or merged[name] < low:
            raise Invalid.field(name, f"must be an integer of {low} or more")
    mix = merged["difficulty_mix"]
    if not isinstance(mix, dict) or not mix or set(mix) - set(DIFFICULTIES):
        raise Invalid.field(
            "difficulty_mix", 'must map some of "easy", "medium", "hard" to fractions'
        )
    for k, v in mix.items():
        if not _is_number(v) or not 0 <= v <= 1:
            raise Invalid.field("difficulty_mix", f"{k}: a fraction must be between 0 and 1")
    total = sum(mix.values())
    if abs(total - 1) > 1e-6:
        raise Invalid.field("difficulty_mix", f"the fractions must sum to 1, not {total:g}")
    merged["difficulty_mix"] = {k: float(mix.get(k, 0.0)) for k in DIFFICULTIES}
    return HoneypotSettings(**merged)


def update_settings(
    session: Session, actor: Actor, project_id: int, **fields: Any
) -> HoneypotSettings:
    project = _project(session, actor, project_id, Action.HONEYPOTS_MANAGE)
    merged = settings_of(project).to_json()
    for name, value in fields.items():
        if value is None:
            continue
        if name not in merged:
            raise Invalid.field(name, "is not a honeypot setting")
        merged[name] = value
    pool = _active_pool_size(session, project_id) if "per_job" in fields else None
    new = check_settings(merged, pool)
    project.honeypot_settings = new.to_json()
    return new


# -- the pool -------------------------------------------------------------------------------


def _active(project_id: int) -> tuple[Any, ...]:
    return (
        Honeypot.project_id == project_id,
        Honeypot.removed_at.is_(None),
        Honeypot.retired_at.is_(None),
    )


def _active_pool_size(session: Session, project_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Honeypot)
        .join(Task, Task.id == Honeypot.task_id)
        .where(*_active(project_id), Task.deleted_at.is_(None))
    )
    return session.scalar(stmt) or 0


def _check_difficulty(value: Any, name: str = "difficulty") -> str | None:
    if value is None or value in DIFFICULTIES:
        return value
    raise Invalid.field(name, f"must be one of {', '.join(DIFFICULTIES)} (or null: derived)")


def add_to_pool(
    session: Session, actor: Actor, project_id: int, selection: Any, difficulty: Any = None
) -> BulkResult:
    """Put the selected tasks that have GT into the pool (skipping those without GT)."""
    authorize(session, actor, Action.HONEYPOTS_MANAGE, project_id)
    difficulty = _check_difficulty(difficulty)
    selected = selected_task_ids(session, project_id, selection)
    ids = list(session.scalars(selected))
    with_gt = set(
        session.scalars(
            select(Annotation.task_id).where(
                Annotation.task_id.in_(selected),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    )
    rows = {
        h.task_id: h
        for h in session.scalars(select(Honeypot).where(Honeypot.task_id.in_(selected)))
    }
    now = utcnow()
    new, changed, unchanged = [], 0, 0
    for task_id in ids:
        if task_id not in with_gt:
            continue
        row = rows.get(task_id)
        if row is None:
            new.append(
                {"task_id": task_id, "project_id": project_id, "difficulty": difficulty,
                 "added_by_id": actor.id, "added_at": now}
            )  # fmt: skip
        elif row.removed_at is not None or (difficulty and row.difficulty != difficulty):
            row.removed_at = None
            row.difficulty = difficulty or row.difficulty
            changed += 1
        else:
            unchanged += 1
    if new:
        session.execute(insert(Honeypot), new)
    session.flush()
    return BulkResult(len(ids), len(new) + changed, unchanged, len(ids) - len(with_gt & set(ids)))


def remove_from_pool(session: Session, actor: Actor, project_id: int, selection: Any) -> BulkResult:
    """Take the selected tasks out of the pool; their rows and exposures stay."""
    authorize(session, actor, Action.HONEYPOTS_MANAGE, project_id)
    selected = selected_task_ids(session, project_id, selection)
    n = session.scalar(select(func.count()).select_from(selected.subquery())) or 0
    changed = session.execute(
        update(Honeypot)
        .where(Honeypot.task_id.in_(selected), Honeypot.removed_at.is_(None))
        .values(removed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    in_pool = session.scalar(
        select(func.count()).select_from(Honeypot).where(Honeypot.task_id.in_(selected))
    )
    return BulkResult(n, changed, (in_pool or 0) - changed, n - (in_pool or 0))


def update_honeypot(
    session: Session, actor: Actor, project_id: int, task_id: int, **fields: Any
) -> Honeypot:
    """Set a honeypot's difficulty, or restore a retired one (`"retired": false`)."""
    authorize(session, actor, Action.HONEYPOTS_MANAGE, project_id)
    row = session.get(Honeypot, task_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"Task {task_id} is not a honeypot of project {project_id}.")
    if "difficulty" in fields:
        row.difficulty = _check_difficulty(fields["difficulty"])
    if "retired" in fields:
        if fields["retired"] is not False:
            raise Invalid.field("retired", "only false (restore to rotation) can be set")
        row.retired_at = None
    if "in_pool" in fields:
        if not isinstance(fields["in_pool"], bool):
            raise Invalid.field("in_pool", "must be true or false")
        row.removed_at = None if fields["in_pool"] else (row.removed_at or utcnow())
    session.flush()
    return row


def derived_difficulties(session: Session, task_ids: Iterable[int]) -> dict[int, str]:
    """Difficulty from annotators' mean past accuracy on each task (no scores: medium)."""
    ids = list(task_ids)
    means = dict(
        session.execute(
            select(QualityScore.task_id, func.avg(QualityScore.accuracy))
            .where(QualityScore.task_id.in_(ids), QualityScore.subject_kind == "annotation")
            .group_by(QualityScore.task_id)
        ).all()
    ) if ids else {}  # fmt: skip
    out = {}
    for t in ids:
        m = means.get(t)
        out[t] = (
            "medium"
            if m is None
            else ("easy" if m >= EASY_FROM else "medium" if m >= MEDIUM_FROM else "hard")
        )
    return out


def _exposure_counts(session: Session, task_ids: Iterable[int]) -> dict[int, int]:
    ids = list(task_ids)
    if not ids:
        return {}
    return dict(
        session.execute(
            select(HoneypotExposure.task_id, func.count())
            .where(HoneypotExposure.task_id.in_(ids))
            .group_by(HoneypotExposure.task_id)
        ).all()
    )


# -- injection ------------------------------------------------------------------------------


def _largest_remainder(shares: dict[str, float], k: int) -> dict[str, int]:
    raw = {d: shares.get(d, 0.0) * k for d in DIFFICULTIES}
    out = {d: int(v) for d, v in raw.items()}
    for d in sorted(DIFFICULTIES, key=lambda d: raw[d] - out[d], reverse=True)[
        : k - sum(out.values())
    ]:
        out[d] += 1
    return out


def _seen_by(
    session: Session, user_ids: list[int], project_id: int, job_id: int | None
) -> set[int]:
    """Tasks any of these people has seen: exposed as honeypots, annotated, or in their jobs."""
    if not user_ids:
        return set()
    exposed = select(HoneypotExposure.task_id).where(
        HoneypotExposure.user_id.in_(user_ids), HoneypotExposure.project_id == project_id
    )
    annotated = select(Annotation.task_id).where(
        Annotation.completed_by_id.in_(user_ids),
        Annotation.project_id == project_id,
        Annotation.deleted_at.is_(None),
    )
    in_jobs = (
        select(JobTask.task_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .join(Job, Job.id == JobTask.job_id)
        .where(
            JobAssignee.user_id.in_(user_ids),
            Job.project_id == project_id,
            Job.deleted_at.is_(None),
            *((Job.id != job_id,) if job_id is not None else ()),
        )
    )
    return set(session.scalars(exposed.union(annotated, in_jobs)))


def choose(
    session: Session,
    project_id: int,
    job_task_ids: list[int],
    assignee_ids: list[int],
    job_id: int | None = None,
    rng: random.Random | None = None,
) -> list[int]:
    """The honeypots for a job: `per_job` of the active pool, least exposed first within the
    difficulty mix (a short difficulty is filled from the others), none an assignee has seen
    and none already in the job. Fewer when the pool cannot supply them."""
    rng = rng or _rng
    project = session.get(Project, project_id)
    assert project is not None
    cfg = settings_of(project)
    k = cfg.count_for(len(job_task_ids))
    if k <= 0:
        return []
    excluded = set(job_task_ids) | _seen_by(session, assignee_ids, project_id, job_id)
    pool = [
        (task_id, difficulty)
        for task_id, difficulty in session.execute(
            select(Honeypot.task_id, Honeypot.difficulty)
            .join(Task, Task.id == Honeypot.task_id)
            .where(*_active(project_id), Task.deleted_at.is_(None))
        )
        if task_id not in excluded
    ]
    if not pool:
        return []
    derived = derived_difficulties(session, [t for t, d in pool if d is None])
    exposures = _exposure_counts(session, [t for t, _ in pool])
    order = {t: (exposures.get(t, 0), rng.random()) for t, _ in pool}
    by_level: dict[str, list[int]] = defaultdict(list)
    for t, d in pool:
        by_level[d or derived[t]].append(t)
    chosen: list[int] = []
    for level, want in _largest_remainder(cfg.difficulty_mix, k).items():
        chosen += sorted(by_level[level], key=order.__getitem__)[:want]
    if len(chosen) < k:
        rest = sorted(set(order) - set(chosen), key=order.__getitem__)
        chosen += rest[: k - len(chosen)]
    return chosen


def mix_in(
    task_ids: list[int], honeypot_ids: list[int], rng: random.Random | None = None
) -> list[tuple[int, bool]]:
    """The job's order: its tasks in their order, each honeypot at a random position."""
    rng = rng or _rng
    out = [(t, False) for t in task_ids]
    for h in honeypot_ids:
        out.insert(rng.randint(0, len(out)), (h, True))
    return out


def record_exposures(
    session: Session, job: Job, honeypot_ids: list[int], user_ids: list[int]
) -> None:
    """Count the honeypots as shown to these assignees and retire those at max_exposures."""
    if not honeypot_ids or not user_ids:
        return
    now = utcnow()
    session.execute(
        insert(HoneypotExposure),
        [
            {"job_id": job.id, "task_id": t, "user_id": u, "project_id": job.project_id, "at": now}
            for t in honeypot_ids
            for u in user_ids
        ],
    )
    _retire(session, job.project_id, honeypot_ids)


def _retire(session: Session, project_id: int, task_ids: list[int]) -> None:
    project = session.get(Project, project_id)
    assert project is not None
    limit = settings_of(project).max_exposures
    counts = _exposure_counts(session, task_ids)
    worn = [t for t in task_ids if counts.get(t, 0) >= limit]
    fresh = [t for t in task_ids if counts.get(t, 0) < limit]
    if worn:
        session.execute(
            update(Honeypot)
            .where(Honeypot.task_id.in_(worn), Honeypot.retired_at.is_(None))
            .values(retired_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    if fresh:  # a reroll took exposures back
        session.execute(
            update(Honeypot)
            .where(Honeypot.task_id.in_(fresh), Honeypot.retired_at.is_not(None))
            .values(retired_at=None)
            .execution_options(synchronize_session=False)
        )


def job_honeypot_ids(session: Session, job_id: int) -> list[int]:
    return list(
        session.scalars(
            select(JobTask.task_id)
            .where(JobTask.job_id == job_id, JobTask.is_honeypot.is_(True))
            .order_by(JobTask.position)
        )
    )


def job_started(session: Session, job_id: int) -> bool:
    stmt = select(Annotation.id).where(Annotation.job_id == job_id, Annotation.deleted_at.is_(None))
    return session.execute(stmt.limit(1)).first() is not None


def reinject(session: Session, job: Job, rng: random.Random | None = None) -> list[int]:
    """Take the job's honeypots (and their exposures) out and mix in a fresh choice."""
    old = job_honeypot_ids(session, job.id)
    session.execute(delete(JobTask).where(JobTask.job_id == job.id, JobTask.is_honeypot.is_(True)))
    session.execute(delete(HoneypotExposure).where(HoneypotExposure.job_id == job.id))
    if old:
        _retire(session, job.project_id, old)
    normal = list(
        session.scalars(
            select(JobTask.task_id).where(JobTask.job_id == job.id).order_by(JobTask.position)
        )
    )
    assignees = list(
        session.scalars(select(JobAssignee.user_id).where(JobAssignee.job_id == job.id))
    )
    chosen = choose(session, job.project_id, normal, assignees, job.id, rng)
    order = mix_in(normal, chosen, rng)
    if normal:
        session.execute(
            update(JobTask),
            [
                {"job_id": job.id, "task_id": t, "position": i}
                for i, (t, hp) in enumerate(order)
                if not hp
            ],
        )
    if chosen:
        session.execute(
            insert(JobTask),
            [
                {"job_id": job.id, "task_id": t, "position": i, "is_honeypot": True}
                for i, (t, hp) in enumerate(order)
                if hp
            ],
        )
    record_exposures(session, job, chosen, assignees)
    session.flush()
    return chosen


def reroll(session: Session, actor: Actor, job_id: int) -> list[int]:
    """A new choice of honeypots for a job nobody has started (409 once it has annotations)."""
    from assay.services.jobs import get_job

    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.HONEYPOTS_MANAGE, job.project_id)
    if job_started(session, job.id):
        raise Conflict(f"Job {job.id} has started: its honeypots can no longer be rerolled.")
    return reinject(session, job)


def assignees_changed(session: Session, job: Job, before: list[int], after: list[int]) -> None:
    """Before the job starts, choose again for the new people; after, count the newcomers'
    exposures (they may have seen a honeypot elsewhere: rotation can't undo that)."""
    if not job_started(session, job.id):
        reinject(session, job)
        return
    added = sorted(set(after) - set(before))
    record_exposures(session, job, job_honeypot_ids(session, job.id), added)


@dataclass(frozen=True)
class JobHoneypot:
    task_id: int
    position: int
    difficulty: str


def list_job_honeypots(session: Session, actor: Actor, job_id: int) -> list[JobHoneypot]:
    from assay.services.jobs import get_job

    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.HONEYPOTS_VIEW, job.project_id)
    rows = session.execute(
        select(JobTask.task_id, JobTask.position, Honeypot.difficulty)
        .join(Honeypot, Honeypot.task_id == JobTask.task_id, isouter=True)
        .where(JobTask.job_id == job.id, JobTask.is_honeypot.is_(True))
        .order_by(JobTask.position)
    ).all()
    derived = derived_difficulties(session, [t for t, _, d in rows if d is None])
    return [JobHoneypot(t, p, d or derived[t]) for t, p, d in rows]


# -- submit and feedback --------------------------------------------------------------------


@dataclass(frozen=True)
class Feedback:
    """An annotator's attempts at a job, newest last, and what they may still do."""

    job: Job
    user_id: int
    attempts: list[JobSubmission]
    max_attempts: int

    @property
    def status(self) -> str:
        """open (not submitted yet) | accepted | needs_fixes | to_lead."""
        return self.attempts[-1].status if self.attempts else "open"

    @property
    def attempts_left(self) -> int:
        if self.status in ("accepted", "to_lead"):
            return 0
        return max(0, self.max_attempts - len(self.attempts))


def _attempts(session: Session, job_id: int, user_id: int | None = None) -> list[JobSubmission]:
    stmt = select(JobSubmission).where(JobSubmission.job_id == job_id)
    if user_id is not None:
        stmt = stmt.where(JobSubmission.user_id == user_id)
    return list(session.scalars(stmt.order_by(JobSubmission.user_id, JobSubmission.attempt)))


def submit_job(session: Session, actor: Actor, job_id: int) -> Feedback:
    """Hand in the actor's work on a job: score its honeypots and accept it or send it back.

    Conflict when tasks are left to annotate, or the job was accepted or went to a lead.
    """
    from assay.services import jobs

    job = jobs.get_job(session, actor, job_id)
    authorize(session, actor, Action.JOB_SUBMIT, job.project_id)
    if not jobs.is_assignee(session, job.id, actor.id):
        raise Invalid.field("job", f"you are not an assignee of job {job.id}")
    project = session.get(Project, job.project_id)
    assert project is not None
    cfg = settings_of(project)
    before = _attempts(session, job.id, actor.id)
    fb = Feedback(job, actor.id, before, cfg.max_attempts)
    if fb.status == "accepted":
        raise Conflict(f"Job {job.id} is already accepted.")
    if fb.status == "to_lead":
        raise Conflict(f"Job {job.id} went to a lead after {len(before)} attempts.")
    _, remaining = jobs.next_to_annotate(session, actor, job.id)
    if remaining:
        raise Conflict(f"{remaining} task(s) of job {job.id} are still to annotate.")
    target = quality.settings_of(project).target_accuracy
    score, details, hints = _score_honeypots(session, project, job.id, actor.id)
    attempt = len(before) + 1
    if score is None or score >= target:
        status = "accepted"
    elif attempt >= cfg.max_attempts:
        status = "to_lead"
    else:
        status = "needs_fixes"
    sub = JobSubmission(
        job_id=job.id,
        project_id=job.project_id,
        user_id=actor.id,
        attempt=attempt,
        status=status,
        score=None if score is None else round(score, 6),
        target=target,
        honeypots=len(details),
        hints=hints if status != "accepted" else [],
        details=details,
    )
    session.add(sub)
    session.flush()
    return Feedback(job, actor.id, [*before, sub], cfg.max_attempts)


def _score_honeypots(
    session: Session, project: Project, job_id: int, user_id: int
) -> tuple[float | None, list[list[Any]], list[str]]:
    """Mean accuracy of the user's answers on the job's honeypots (None without any), the
    per-task accuracies, and the hints. A skipped honeypot counts as an empty answer."""
    tasks = {
        t.id: t
        for t in session.scalars(
            select(Task)
            .join(JobTask, JobTask.task_id == Task.id)
            .where(
                JobTask.job_id == job_id, JobTask.is_honeypot.is_(True), Task.deleted_at.is_(None)
            )
        )
    }
    if not tasks:
        return None, [], []
    gts = {
        a.task_id: a
        for a in session.scalars(
            select(Annotation).where(
                Annotation.task_id.in_(tasks),
                Annotation.ground_truth.is_(True),
                Annotation.deleted_at.is_(None),
            )
        )
    }
    answers: dict[int, Annotation] = {}
    for a in session.scalars(
        select(Annotation)
        .where(
            Annotation.task_id.in_(tasks),
            Annotation.job_id == job_id,
            Annotation.completed_by_id == user_id,
            Annotation.deleted_at.is_(None),
        )
        .order_by(Annotation.id)
    ):
        answers[a.task_id] = a  # the latest
    settings = quality.settings_of(project)
    details: list[list[Any]] = []
    conflicts: list[tuple[RegionConflict, dict[str, float], dict[str, float]]] = []
    for task_id in sorted(tasks):
        gt = gts.get(task_id)
        if gt is None:
            continue  # its GT was unset since: it can't be scored
        task = tasks[task_id]
        ans = answers.get(task_id)
        result = ans.work_result if ans is not None and not ans.was_cancelled else []
        try:
            g = regions_of(gt.result, task.width, task.height)
            s = regions_of(result, task.width, task.height)
        except RegionError:
            continue
        acc = float(score_result(g, s, settings).counts.accuracy)
        details.append([task_id, round(acc, 6)])
        gt_areas, areas = _box_areas(gt.result), _box_areas(result)
        conflicts += [(c, gt_areas, areas) for c in conflicts_of(g, s, settings)]
    if not details:
        return None, [], []
    score = sum(a for _, a in details) / len(details)
    return score, details, hints_of(conflicts)


def _box_areas(result: list[Any]) -> dict[str, float]:
    out = {}
    for r in result:
        v = r.get("value") or {}
        if r.get("type") == "rectanglelabels" and "width" in v and "height" in v and "id" in r:
            out[str(r["id"])] = float(v["width"]) * float(v["height"])
    return out


def hints_of(
    conflicts: list[tuple[RegionConflict, dict[str, float], dict[str, float]]],
) -> list[str]:
    """Up to three plain-word hints, the most frequent kind of mistake first.

    Each entry is a conflict with the GT's and the answer's box areas by region id (to tell a
    loose box from a tight one). The hints name kinds of mistakes and labels, never a task,
    a region or a position.
    """
    found: Counter[str] = Counter()
    for c, gt_areas, areas in conflicts:
        if c.kind == "missing":
            found["Missed objects: some objects were not labeled."] += 1
        elif c.kind == "extra":
            found["Extra regions: some regions mark no object."] += 1
        elif c.kind == "duplicate":
            found["Duplicates: the same object was labeled more than once."] += 1
        elif c.kind == "label_mismatch":
            found[f"Confused {c.gt_label} with {c.label}."] += 1
        elif c.kind == "low_overlap":
            g, a = gt_areas.get(str(c.gt_region)), areas.get(str(c.region))
            if g is not None and a is not None:
                word = (
                    "loose: include less background" if a > g else "tight: include the whole object"
                )
                found[f"Boxes too {word}."] += 1
            else:
                found["Regions off the object: follow its outline more closely."] += 1
    return [text for text, _ in found.most_common(MAX_HINTS)]


def feedback(session: Session, actor: Actor, job_id: int) -> Feedback:
    """The actor's own attempts at a job (annotators: score and hints, nothing else)."""
    from assay.services import jobs

    job = jobs.get_job(session, actor, job_id)
    project = session.get(Project, job.project_id)
    assert project is not None
    return Feedback(
        job, actor.id, _attempts(session, job.id, actor.id), settings_of(project).max_attempts
    )


def submissions(session: Session, actor: Actor, job_id: int) -> list[JobSubmission]:
    """Every attempt of every assignee at a job, with per-honeypot scores (leads)."""
    from assay.services import jobs

    job = jobs.get_job(session, actor, job_id)
    authorize(session, actor, Action.HONEYPOTS_VIEW, job.project_id)
    return _attempts(session, job.id)


# -- reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoneypotRow:
    task_id: int
    difficulty: str
    difficulty_set: bool  # set by a lead (else derived)
    exposures: int
    scored: int  # annotators' answers on it as a honeypot, scored against GT
    accuracy: float | None  # their mean accuracy
    retired: bool
    in_pool: bool
    added_at: datetime


def _honeypot_answer_scores() -> Any:
    """Quality scores of annotations made on a task while it was a honeypot of that job."""
    return (
        select(
            QualityScore.task_id,
            QualityScore.subject_key,
            Annotation.created_at,
            QualityScore.accuracy,
        )
        .join(Annotation, Annotation.id == QualityScore.annotation_id)
        .join(
            JobTask,
            (JobTask.job_id == Annotation.job_id) & (JobTask.task_id == Annotation.task_id),
        )
        .where(JobTask.is_honeypot.is_(True), QualityScore.subject_kind == "annotation")
    )


def pool_report(session: Session, actor: Actor, project_id: int) -> list[HoneypotRow]:
    authorize(session, actor, Action.HONEYPOTS_VIEW, project_id)
    rows = list(
        session.scalars(
            select(Honeypot)
            .join(Task, Task.id == Honeypot.task_id)
            .where(Honeypot.project_id == project_id, Task.deleted_at.is_(None))
            .order_by(Honeypot.task_id)
        )
    )
    ids = [h.task_id for h in rows]
    derived = derived_difficulties(session, [h.task_id for h in rows if h.difficulty is None])
    exposures = _exposure_counts(session, ids)
    acc: dict[int, list[float]] = defaultdict(list)
    for task_id, _key, _at, accuracy in session.execute(
        _honeypot_answer_scores().where(QualityScore.project_id == project_id)
    ):
        acc[task_id].append(accuracy)
    return [
        HoneypotRow(
            h.task_id,
            h.difficulty or derived[h.task_id],
            h.difficulty is not None,
            exposures.get(h.task_id, 0),
            len(acc[h.task_id]),
            round(sum(acc[h.task_id]) / len(acc[h.task_id]), 6) if acc[h.task_id] else None,
            h.retired_at is not None,
            h.removed_at is None,
            h.added_at,
        )
        for h in rows
    ]


@dataclass(frozen=True)
class PoolHealth:
    active: dict[str, int]  # difficulty -> active honeypots
    active_total: int
    retired: int
    removed: int
    share_retired: float | None  # retired / (active + retired)
    min_pool_size: int
    warnings: list[str]


def pool_health(session: Session, actor: Actor, project_id: int) -> PoolHealth:
    rows = pool_report(session, actor, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    cfg = settings_of(project)
    active = {d: 0 for d in DIFFICULTIES}
    for r in rows:
        if r.in_pool and not r.retired:
            active[r.difficulty] += 1
    total = sum(active.values())
    retired = sum(1 for r in rows if r.in_pool and r.retired)
    removed = sum(1 for r in rows if not r.in_pool)
    warnings = []
    if total < cfg.min_pool_size:
        warnings.append(
            f"The pool runs low: {total} active honeypot(s), fewer than min_pool_size "
            f"{cfg.min_pool_size}. Add fresh GT tasks to the pool."
        )
    if _is_int(cfg.per_job) and cfg.per_job > total:
        warnings.append(f"per_job asks for {cfg.per_job} honeypots but only {total} are active.")
    for d in DIFFICULTIES:
        if cfg.difficulty_mix.get(d, 0) > 0 and active[d] == 0:
            warnings.append(f"No active {d} honeypots: jobs get other difficulties instead.")
    share = round(retired / (total + retired), 6) if total + retired else None
    return PoolHealth(active, total, retired, removed, share, cfg.min_pool_size, warnings)


@dataclass(frozen=True)
class AnnotatorHoneypots:
    user_id: int
    scored: int
    accuracy: float | None
    weeks: list[tuple[date, int, float]]  # (Monday, scored, mean accuracy), oldest first
    attempts: list[JobSubmission]


def accuracy_by_annotator(weeks: WeeklySums) -> dict[int, tuple[int, float]]:
    """Each annotator's (scored honeypot answers, mean accuracy), from `weekly_accuracy`."""
    out = {}
    for user_id, per in weeks.items():
        n = sum(int(v[0]) for v in per.values())
        if n:
            out[user_id] = (n, round(sum(v[1] for v in per.values()) / n, 6))
    return out


def weekly_accuracy(session: Session, project_id: int) -> WeeklySums:
    """Annotator -> Monday of the week -> [honeypot answers scored, accuracy sum]."""
    return weekly_sums(
        (key, at, accuracy)
        for _task, key, at, accuracy in session.execute(
            _honeypot_answer_scores().where(QualityScore.project_id == project_id)
        )
    )


def annotator_report(session: Session, actor: Actor, project_id: int) -> list[AnnotatorHoneypots]:
    """Per annotator: honeypot accuracy overall and per week, and every job attempt."""
    authorize(session, actor, Action.HONEYPOTS_VIEW, project_id)
    weeks = weekly_accuracy(session, project_id)
    attempts: dict[int, list[JobSubmission]] = defaultdict(list)
    for sub in session.scalars(
        select(JobSubmission)
        .where(JobSubmission.project_id == project_id)
        .order_by(JobSubmission.submitted_at, JobSubmission.id)
    ):
        attempts[sub.user_id].append(sub)
    out = []
    for user_id in sorted(set(weeks) | set(attempts)):
        ws = sorted(weeks[user_id].items())
        n = sum(int(v[0]) for _, v in ws)
        total = sum(v[1] for _, v in ws)
        out.append(
            AnnotatorHoneypots(
                user_id,
                n,
                round(total / n, 6) if n else None,
                weekly_means(weeks[user_id]),
                attempts[user_id],
            )
        )
    return out
