"""Rotation: which honeypots a job gets, where they go in it, and who has seen them.

A job gets `per_job` honeypots at random positions when it is created (or rerolled before it
starts): least exposed first, the difficulty mix choosing among equally exposed ones (`pick`),
never one an assignee has already seen, and none whose GT is under suspicion (an undecided
suspect scoring at least `SUSPECT_THRESHOLD`, services.suspects) until the lead confirms or
dismisses it. A honeypot that reaches `max_exposures` retires (kept, restorable). An
onboarding annotator's GT tasks (services.evaluation) are chosen by the same rules, one at a
time, into a job that has started (`put_first`)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from assay.services.honeypots.pool import (
    DIFFICULTIES,
    UNRATED,
    active_honeypots,
    derived_difficulties,
)
from assay.services.honeypots.settings import settings_of
from assay.services.task_aliases import new_aliases
from assay.store.models import (
    Annotation,
    Honeypot,
    HoneypotExposure,
    Job,
    JobAssignee,
    JobTask,
    Project,
    Task,
)
from assay.store.suspect_models import GtSuspect
from assay.store.types import utcnow

_rng = random.SystemRandom()

SUSPECT_THRESHOLD = 0.5  # a honeypot with an undecided suspect this suspicious sits out


def exposure_counts(session: Session, task_ids: Iterable[int]) -> dict[int, int]:
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


def under_suspicion(session: Session, project_id: int) -> set[int]:
    """Tasks whose GT has an undecided suspect at or above SUSPECT_THRESHOLD."""
    return set(
        session.scalars(
            select(GtSuspect.task_id).where(
                GtSuspect.project_id == project_id, GtSuspect.score >= SUSPECT_THRESHOLD
            )
        )
    )


def choose(
    session: Session,
    project_id: int,
    job_task_ids: list[int],
    assignee_ids: list[int],
    job_id: int | None = None,
    rng: random.Random | None = None,
) -> list[int]:
    """The honeypots for a job: `per_job` of the active pool (`pick`: least exposed first, the
    difficulty mix among equally exposed ones), none an assignee has seen and none already in
    the job. Fewer when the pool cannot supply them."""
    rng = rng or _rng
    project = session.get(Project, project_id)
    assert project is not None
    cfg = settings_of(project)
    k = cfg.count_for(len(job_task_ids))
    if k <= 0:
        return []
    candidates = _candidates(session, project_id, job_task_ids, assignee_ids, job_id)
    if not candidates:
        return []
    return pick(candidates, _largest_remainder(cfg.difficulty_mix, k), k, rng)


def _candidates(
    session: Session,
    project_id: int,
    job_task_ids: list[int],
    assignee_ids: list[int],
    job_id: int | None,
) -> list[tuple[int, str, int]]:
    """(task, difficulty, exposures) of the active honeypots a job may get: none an assignee
    has seen, none under suspicion, none already in the job."""
    excluded = (
        set(job_task_ids)
        | _seen_by(session, assignee_ids, project_id, job_id)
        | under_suspicion(session, project_id)
    )
    pool = [
        (task_id, difficulty)
        for task_id, difficulty in session.execute(
            select(Honeypot.task_id, Honeypot.difficulty)
            .join(Task, Task.id == Honeypot.task_id)
            .where(*active_honeypots(project_id), Task.deleted_at.is_(None))
        )
        if task_id not in excluded
    ]
    if not pool:
        return []
    derived = derived_difficulties(session, [t for t, d in pool if d is None])
    exposures = exposure_counts(session, [t for t, _ in pool])
    return [(t, d or derived[t], exposures.get(t, 0)) for t, d in pool]


def put_first(session: Session, job: Job, rng: random.Random | None = None) -> int | None:
    """One more honeypot for a job, put before its other tasks so that its queue serves it
    next (an annotator's onboarding, services.evaluation): chosen as `choose` chooses (least
    exposed first, the difficulty mix, nothing an assignee has seen or under suspicion),
    given an alias like every task of a job, its exposure counted for the job's assignees.
    None when the pool has nothing left for them."""
    rng = rng or _rng
    project = session.get(Project, job.project_id)
    assert project is not None
    in_job = list(session.scalars(select(JobTask.task_id).where(JobTask.job_id == job.id)))
    assignees = list(
        session.scalars(select(JobAssignee.user_id).where(JobAssignee.job_id == job.id))
    )
    candidates = _candidates(session, job.project_id, in_job, assignees, job.id)
    mix = settings_of(project).difficulty_mix
    chosen = pick(candidates, _largest_remainder(mix, 1), 1, rng)
    if not chosen:
        return None
    first = session.scalar(select(func.min(JobTask.position)).where(JobTask.job_id == job.id))
    session.execute(
        insert(JobTask),
        [
            {
                "job_id": job.id,
                "task_id": chosen[0],
                "position": (first or 0) - 1,
                "is_honeypot": True,
                "alias": new_aliases(session, 1)[0],
            }
        ],
    )
    record_exposures(session, job, chosen, assignees)
    session.flush()
    return chosen[0]


def pick(
    candidates: list[tuple[int, str, int]],
    want: dict[str, int],
    k: int,
    rng: random.Random,
) -> list[int]:
    """Up to k of the (task, difficulty, exposures) candidates, keeping exposure balanced.

    Candidates are taken in tiers of equal exposure, least exposed first: a more exposed
    honeypot is chosen only when every less exposed one is taken, so no eligible honeypot waits
    unexposed while another is shown again. Within the tier that has more than the places
    left, the difficulty mix (`want`, places per level) decides: each level's honeypots up to
    its places, then `UNRATED` ones (too few scores to say) for the places still open at any
    level, then the rest; ties at random.
    """
    tiers: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for t, level, n in candidates:
        tiers[n].append((t, level))
    left = dict(want)
    chosen: list[int] = []
    for n in sorted(tiers):
        room = k - len(chosen)
        if room <= 0:
            break
        tier = tiers[n]
        rng.shuffle(tier)
        if len(tier) <= room:
            taken = tier
        else:
            taken = []
            for level in DIFFICULTIES:
                fits = [c for c in tier if c[1] == level][: max(0, left.get(level, 0))]
                taken += fits[: room - len(taken)]
            open_places = sum(max(0, left.get(d, 0) - sum(c[1] == d for c in taken))
                              for d in DIFFICULTIES)  # fmt: skip
            unrated = [c for c in tier if c[1] == UNRATED]
            taken += unrated[: min(open_places, room - len(taken))]
            rest = [c for c in tier if c not in taken]
            taken += rest[: room - len(taken)]
        for t, level in taken:
            chosen.append(t)
            # its level's place, else (unrated, or its level full) the level with most left
            use = level if left.get(level, 0) > 0 else max(left, key=left.__getitem__)
            left[use] = max(0, left[use] - 1)
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
    counts = exposure_counts(session, task_ids)
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
        added = [(i, t) for i, (t, hp) in enumerate(order) if hp]
        session.execute(
            insert(JobTask),
            [
                {"job_id": job.id, "task_id": t, "position": i, "is_honeypot": True, "alias": a}
                for (i, t), a in zip(added, new_aliases(session, len(added)), strict=True)
            ],
        )
    record_exposures(session, job, chosen, assignees)
    session.flush()
    return chosen


def assignees_changed(session: Session, job: Job, before: list[int], after: list[int]) -> None:
    """Before the job starts, choose again for the new people; after, count the newcomers'
    exposures (they may have seen a honeypot elsewhere: rotation can't undo that)."""
    if not job_started(session, job.id):
        reinject(session, job)
        return
    added = sorted(set(after) - set(before))
    record_exposures(session, job, job_honeypot_ids(session, job.id), added)
