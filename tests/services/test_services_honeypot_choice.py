"""Which honeypots a job gets (services.honeypots.rotation.choose), where the rule lives: the
per-job count, least exposed first, never one an assignee has already seen, the difficulty
mix, retirement at max_exposures."""

from __future__ import annotations

import random

from sqlalchemy import select

from assay.services import honeypots, jobs
from assay.store.models import Honeypot
from builders import actor_of, annotate, box, survey


def _pool(db, people, n_pool, n_work, **settings):
    """A project whose first n_pool tasks have GT and are in the pool; n_work more tasks."""
    pid, ids = survey(db, people, n_pool + n_work)
    pool, work = ids[:n_pool], ids[n_pool:]
    for t in pool:
        annotate(db, people["lead"], t, [box(10, 10, 20, 20)], gt=True)
    lead = actor_of(people["lead"])
    with db.session() as s:
        honeypots.add_to_pool(s, lead, pid, {"all": False, "included": pool}, difficulty="easy")
    with db.session() as s:
        honeypots.update_settings(s, lead, pid, **settings)
    return pid, pool, work


def _job(db, people, pid, task_ids, who=("annotator",)):
    with db.session() as s:
        job = jobs.create_job(
            s, actor_of(people["lead"]), pid, title="J", task_ids=task_ids,
            assignees=[people[w].id for w in who],
        )  # fmt: skip
        return job.id, honeypots.job_honeypot_ids(s, job.id)


def test_a_job_gets_per_job_honeypots_none_its_assignee_has_seen(db, people):
    pid, pool, work = _pool(db, people, 6, 8, per_job=2, min_pool_size=0)
    seen: set[int] = set()
    for i in range(3):
        _, chosen = _job(db, people, pid, work[i * 2 : i * 2 + 2])
        assert len(chosen) == 2 and set(chosen) <= set(pool)
        assert not seen & set(chosen)  # the same annotator never sees one twice
        seen |= set(chosen)
    _, chosen = _job(db, people, pid, work[6:8])
    assert chosen == []  # all six seen by this annotator: none left to give


def test_the_least_exposed_come_first(db, people):
    pid, pool, work = _pool(db, people, 4, 4, per_job=2, min_pool_size=0)
    _, first = _job(db, people, pid, work[:2], who=("annotator",))
    _, second = _job(db, people, pid, work[2:4], who=("annotator2",))
    assert set(second) == set(pool) - set(first)  # the unexposed two, not the shown ones


def test_a_honeypot_retires_at_max_exposures(db, people):
    pid, pool, work = _pool(db, people, 1, 2, per_job=1, min_pool_size=0, max_exposures=2)
    _, chosen = _job(db, people, pid, work[:1], who=("annotator", "annotator2"))
    assert chosen == pool
    with db.session(write=False) as s:
        assert s.scalar(select(Honeypot.retired_at).where(Honeypot.task_id == pool[0])) is not None
    _, chosen = _job(db, people, pid, work[1:2], who=("reviewer",))
    assert chosen == []


def test_the_difficulty_mix_is_kept_by_largest_remainder(db, people):
    pid, pool, work = _pool(db, people, 9, 1, per_job=4, min_pool_size=0,
                            difficulty_mix={"easy": 0.5, "medium": 0.25, "hard": 0.25})  # fmt: skip
    lead = actor_of(people["lead"])
    levels = {t: ("easy", "medium", "hard")[i % 3] for i, t in enumerate(pool)}
    with db.session() as s:
        for t, level in levels.items():
            honeypots.update_honeypot(s, lead, pid, t, difficulty=level)
    with db.session() as s:
        chosen = honeypots.choose(s, pid, work, [people["annotator"].id], rng=random.Random(7))
    got = sorted(levels[t] for t in chosen)
    assert got == ["easy", "easy", "hard", "medium"]
