"""Sampling the ground-truth set: a reproducible random or stratified sample of the tasks that
have no GT yet, handed out as a job (without honeypots) for the GT stage.

Stratified sampling keeps each stratum's share of the population (largest-remainder rounding,
so every stratum is within one task of its exact share) and can over-sample small strata
(`min_per_stratum`): with strata "label" each task falls in the stratum of its rarest label,
so rare labels form small strata; with "model_confidence" low-confidence tasks do.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services import jobs
from assay.services.access import Action, Actor, authorize
from assay.services.checks import MAX_ID, is_count, is_id_list, is_number
from assay.services.errors import Invalid
from assay.store.models import Annotation, Job, Prediction, Task

STRATEGIES = ("random", "stratified")
ADVISED = (0.05, 0.15)  # the share of a project the GT set should have
CONFIDENCE_BINS = ((0.5, "low"), (0.8, "medium"), (math.inf, "high"))
NONE = "(none)"


@dataclass(frozen=True)
class Stratum:
    key: str
    population: int
    expected: float  # the exact proportional share, in tasks
    sampled: int
    oversampled: bool  # more than its proportional share, by min_per_stratum


@dataclass(frozen=True)
class Sample:
    job: Job
    task_ids: list[int]
    population: int  # tasks without GT that could be drawn
    project_tasks: int
    strategy: str
    strata_by: str | None
    strata: list[Stratum]
    seed: int
    warnings: list[str]

    @property
    def share(self) -> float:
        return round(len(self.task_ids) / self.project_tasks, 6) if self.project_tasks else 0.0


def _labels(result: Any) -> list[str]:
    out = []
    for r in result or []:
        v = r.get("value") if isinstance(r, dict) else None
        if isinstance(v, dict):
            names = v.get(r.get("type")) or v.get("labels") or v.get("choices") or []
            out += [str(n) for n in names if isinstance(n, str)]
    return out


def _strata(session: Session, tasks: list[Task], by: str) -> dict[int, str]:
    """Each task's stratum: its rarest label, its model-confidence bin, or a data field."""
    ids = [t.id for t in tasks]
    if by == "model_confidence":
        best: dict[int, float] = {}
        for task_id, score in session.execute(
            select(Prediction.task_id, Prediction.score).where(
                Prediction.task_id.in_(ids),
                Prediction.deleted_at.is_(None),
                Prediction.score.is_not(None),
            )
        ):
            best[task_id] = max(score, best.get(task_id, -math.inf))
        return {
            t: next(name for edge, name in CONFIDENCE_BINS if best[t] < edge) if t in best else NONE
            for t in ids
        }
    if by == "label":
        labels: dict[int, list[str]] = defaultdict(list)
        for model in (Prediction, Annotation):
            for task_id, result in session.execute(
                select(model.task_id, model.result).where(
                    model.task_id.in_(ids), model.deleted_at.is_(None)
                )
            ):
                labels[task_id] += _labels(result)
        freq = Counter(lab for labs in labels.values() for lab in set(labs))
        return {
            t: min(set(labels[t]), key=lambda lab: (freq[lab], lab)) if labels[t] else NONE
            for t in ids
        }
    return {
        t.id: str(t.data.get(by)) if isinstance(t.data, dict) and by in t.data else NONE
        for t in tasks
    }


def allocate(sizes: dict[str, int], n: int, min_per_stratum: int = 0) -> dict[str, int]:
    """How many to draw from each stratum: proportional by largest remainder (each within one
    of its exact share), then raised to `min_per_stratum` (capped by its size), taking the
    extra from the strata furthest above their share."""
    total = sum(sizes.values())
    exact = {k: n * s / total for k, s in sizes.items()} if total else {}
    out = {k: int(v) for k, v in exact.items()}
    left = n - sum(out.values())
    for k in sorted(exact, key=lambda k: (exact[k] - out[k], sizes[k]), reverse=True)[:left]:
        out[k] += 1
    for k in sorted(sizes, key=lambda k: sizes[k]):
        need = min(min_per_stratum, sizes[k]) - out[k]
        while need > 0:
            floor = {d: min(min_per_stratum, sizes[d]) for d in sizes}
            donors = [d for d in out if d != k and out[d] > floor[d]]
            if not donors:
                break
            d = max(donors, key=lambda d: (out[d] - exact[d], out[d]))
            out[d] -= 1
            out[k] += 1
            need -= 1
    return out


def _check(
    fraction: Any, count: Any, strategy: Any, strata: Any, seed: Any, min_per_stratum: Any
) -> None:
    if (fraction is None) == (count is None):
        raise Invalid.field("fraction", 'give either "fraction" (0 to 1) or "count", not both')
    if fraction is not None and (not is_number(fraction) or not 0 < fraction <= 1):
        raise Invalid.field("fraction", "must be a number between 0 and 1")
    if count is not None and not is_count(count, 1):
        raise Invalid.field("count", f"must be a whole number from 1 to {MAX_ID}")
    if strategy not in STRATEGIES:
        raise Invalid.field("strategy", f"must be one of {', '.join(STRATEGIES)}")
    if strategy == "stratified" and (not isinstance(strata, str) or not strata):
        raise Invalid.field(
            "strata", 'stratified sampling needs "label", "model_confidence" or a task data field'
        )
    if seed is not None and not is_count(seed):
        raise Invalid.field("seed", f"must be an integer from 0 to {MAX_ID}")
    if not is_count(min_per_stratum):
        raise Invalid.field("min_per_stratum", f"must be an integer from 0 to {MAX_ID}")


def sample_ground_truth(
    session: Session,
    actor: Actor,
    project_id: int,
    fraction: Any = None,
    count: Any = None,
    strategy: Any = "random",
    strata: Any = None,
    seed: Any = None,
    min_per_stratum: Any = 0,
    title: Any = None,
    assignees: Any = None,
    task_ids: Any = None,
) -> Sample:
    """Draw the sample (the same seed gives the same tasks) and create its job.

    `task_ids` (the data manager's selection): draw only from these tasks of the project, and
    take `fraction` of them rather than of the project's tasks.
    """
    authorize(session, actor, Action.JOBS_MANAGE, project_id)
    _check(fraction, count, strategy, strata, seed, min_per_stratum)
    if task_ids is not None and (not is_id_list(task_ids) or not task_ids):
        raise Invalid.field("task_ids", "must be a non-empty list of task ids")
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    live = (Task.project_id == project_id, Task.deleted_at.is_(None))
    project_tasks = len(list(session.scalars(select(Task.id).where(*live))))
    base = project_tasks
    if task_ids is not None:
        live = (*live, Task.id.in_(set(task_ids)))
        base = len(list(session.scalars(select(Task.id).where(*live))))
    has_gt = (
        select(Annotation.id)
        .where(
            Annotation.task_id == Task.id,
            Annotation.ground_truth.is_(True),
            Annotation.deleted_at.is_(None),
        )
        .exists()
    )
    tasks = list(
        session.scalars(
            select(Task).where(*live, Task.gt_status == "none", ~has_gt).order_by(Task.id)
        )
    )
    n = count if count is not None else max(1, round(fraction * base))
    if n > len(tasks):
        among = " of the selected" if task_ids is not None else ""
        raise Invalid.field(
            "count" if count is not None else "fraction",
            f"asks for {n} tasks but only {len(tasks)} task(s){among} have no ground truth yet",
        )
    rng = random.Random(seed)
    rows: list[Stratum] = []
    if strategy == "random":
        chosen = rng.sample([t.id for t in tasks], n)
    else:
        of = _strata(session, tasks, strata)
        members: dict[str, list[int]] = defaultdict(list)
        for t in tasks:
            members[of[t.id]].append(t.id)
        sizes = {k: len(v) for k, v in sorted(members.items())}
        take = allocate(sizes, n, min_per_stratum)
        chosen = []
        for k in sizes:
            chosen += rng.sample(members[k], take[k])
            expected = n * sizes[k] / len(tasks)
            rows.append(
                Stratum(k, sizes[k], round(expected, 3), take[k], take[k] > math.ceil(expected))
            )
        rng.shuffle(chosen)
    warnings = []
    share = n / project_tasks if project_tasks else 0
    if not ADVISED[0] <= share <= ADVISED[1]:
        warnings.append(
            f"The sample is {share:.1%} of the project's tasks; a GT set of 5-15 % is advised."
        )
    if any(r.oversampled for r in rows):
        names = ", ".join(r.key for r in rows if r.oversampled)
        warnings.append(f"Over-sampled (min_per_stratum {min_per_stratum}): {names}.")
    job = jobs.create_job(
        session,
        actor,
        project_id,
        title if title is not None else f"Ground-truth sample ({n} tasks, seed {seed})",
        chosen,
        assignees,
        with_honeypots=False,
    )
    return Sample(
        job,
        chosen,
        len(tasks),
        project_tasks,
        strategy,
        strata if rows else None,
        rows,
        seed,
        warnings,
    )
