"""A project's honeypot settings: how many per job, how often each may be shown, the difficulty mix,
the pool's minimum size and how many hand-in attempts an annotator gets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.checks import MAX_ID, is_count, is_int, is_number
from assay.services.errors import Invalid
from assay.services.honeypots.pool import DIFFICULTIES, active_pool_size
from assay.store.models import (
    Project,
)


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


def authorized_project(session: Session, actor: Actor, project_id: int, action: Action) -> Project:
    authorize(session, actor, action, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return project


def get_settings(session: Session, actor: Actor, project_id: int) -> HoneypotSettings:
    return settings_of(authorized_project(session, actor, project_id, Action.HONEYPOTS_VIEW))


def check_settings(merged: dict[str, Any], active_pool: int | None) -> HoneypotSettings:
    """Raise Invalid naming the first bad field; `active_pool` (when given) bounds a per_job
    count."""
    per_job = merged["per_job"]
    if is_int(per_job):
        if not is_count(per_job):
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
        if not is_count(merged[name], low):
            raise Invalid.field(name, f"must be an integer of {low} or more, at most {MAX_ID}")
    mix = merged["difficulty_mix"]
    if not isinstance(mix, dict) or not mix or set(mix) - set(DIFFICULTIES):
        raise Invalid.field(
            "difficulty_mix", 'must map some of "easy", "medium", "hard" to fractions'
        )
    for k, v in mix.items():
        if not is_number(v) or not 0 <= v <= 1:
            raise Invalid.field("difficulty_mix", f"{k}: a fraction must be between 0 and 1")
    total = sum(mix.values())
    if abs(total - 1) > 1e-6:
        raise Invalid.field("difficulty_mix", f"the fractions must sum to 1, not {total:g}")
    merged["difficulty_mix"] = {k: float(mix.get(k, 0.0)) for k in DIFFICULTIES}
    return HoneypotSettings(**merged)


def update_settings(
    session: Session, actor: Actor, project_id: int, /, **fields: Any
) -> HoneypotSettings:
    project = authorized_project(session, actor, project_id, Action.HONEYPOTS_MANAGE)
    merged = settings_of(project).to_json()
    for name, value in fields.items():
        if value is None:
            continue
        if name not in merged:
            raise Invalid.field(name, "is not a honeypot setting")
        merged[name] = value
    pool = active_pool_size(session, project_id) if "per_job" in fields else None
    new = check_settings(merged, pool)
    project.honeypot_settings = new.to_json()
    return new
