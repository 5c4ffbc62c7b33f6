"""A project's drift alert thresholds: defaults until a lead changes them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_finite_number
from assay.services.errors import Invalid
from assay.store.drift_models import DriftSettings
from assay.store.types import utcnow


@dataclass(frozen=True)
class DriftThresholds:
    psi_threshold: float  # alert when a window's PSI against the reference exceeds it
    ks_p_threshold: float  # alert when the KS test's p-value falls below it
    mean_drop_threshold: float  # alert when mean confidence falls by more than this

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# PSI 0.1-0.2 is commonly read as a moderate shift and above 0.2 as a significant one
DEFAULTS = DriftThresholds(psi_threshold=0.2, ks_p_threshold=0.01, mean_drop_threshold=0.1)

_RULES = {
    "psi_threshold": (lambda v: 0 < v < math.inf, "must be a number above 0"),
    "ks_p_threshold": (lambda v: 0 < v < 1, "must be a number between 0 and 1 (exclusive)"),
    "mean_drop_threshold": (lambda v: 0 < v <= 1, "must be a number above 0, at most 1"),
}


def thresholds_of(session: Session, project_id: int) -> DriftThresholds:
    row = session.scalar(select(DriftSettings).where(DriftSettings.project_id == project_id))
    if row is None:
        return DEFAULTS
    return DriftThresholds(row.psi_threshold, row.ks_p_threshold, row.mean_drop_threshold)


def get_settings(session: Session, actor: Actor, project_id: int) -> DriftThresholds:
    authorize(session, actor, Action.DRIFT_VIEW, project_id)
    return thresholds_of(session, project_id)


def update_settings(
    session: Session, actor: Actor, project_id: int, /, **changes: Any
) -> DriftThresholds:
    """Change some thresholds; every field is checked before anything is written."""
    authorize(session, actor, Action.DRIFT_MANAGE, project_id)
    for name, value in changes.items():
        if name not in _RULES:
            raise Invalid.field(name, f"is not a drift setting ({', '.join(_RULES)})")
        ok, reason = _RULES[name]
        if not is_finite_number(value) or not ok(float(value)):
            raise Invalid.field(name, reason)
    merged = DriftThresholds(
        **{
            **thresholds_of(session, project_id).to_json(),
            **{k: float(v) for k, v in changes.items()},
        }
    )
    row = session.scalar(select(DriftSettings).where(DriftSettings.project_id == project_id))
    if row is None:
        row = DriftSettings(project_id=project_id)
        session.add(row)
    row.psi_threshold = merged.psi_threshold
    row.ks_p_threshold = merged.ks_p_threshold
    row.mean_drop_threshold = merged.mean_drop_threshold
    row.changed_by_id = actor.id
    row.changed_at = utcnow()
    session.flush()
    return merged
