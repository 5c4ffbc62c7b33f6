"""A project's evaluation settings: whether and how annotators are evaluated on ground truth
(onboarding first, or ongoing), the threshold and when it applies, and the annotation limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.checks import MAX_ID, is_count, is_number
from assay.services.errors import Invalid
from assay.store.models import Project

OFF, ONBOARDING, ONGOING = "off", "onboarding", "ongoing"
METHODS = (OFF, ONBOARDING, ONGOING)


@dataclass(frozen=True)
class EvaluationSettings:
    """method: off | onboarding (a new annotator's first `onboarding_tasks` served tasks are
    GT tasks of the honeypot pool, then one verdict) | ongoing (every honeypot answer updates
    the accuracy; a fall below the threshold is acted on when it happens).
    min_accuracy: the threshold on GT accuracy, or on its Wilson 95 % lower bound with
    `use_wilson_lower_bound` (so a few lucky answers do not pass someone); no verdict before
    `min_scored` GT answers. auto_pause: a failing annotator is paused (else only flagged).
    annotation_limit: at most this many annotations per annotator in the project (None: no cap).
    """

    method: str = OFF
    onboarding_tasks: int = 5
    min_accuracy: float = 0.7
    use_wilson_lower_bound: bool = False
    min_scored: int = 3
    auto_pause: bool = True
    annotation_limit: int | None = None

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> EvaluationSettings:
        known = {k: v for k, v in (value or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def threshold_value(self, accuracy: float, low: float) -> float:
        """The value compared with `min_accuracy`: the accuracy or its Wilson lower bound."""
        return low if self.use_wilson_lower_bound else accuracy


def settings_of(project: Project) -> EvaluationSettings:
    return EvaluationSettings.from_json(project.evaluation_settings)


def get_settings(session: Session, actor: Actor, project_id: int) -> EvaluationSettings:
    authorize(session, actor, Action.EVALUATION_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return settings_of(project)


def _check(name: str, value: Any) -> Any:
    """The value of one setting, or Invalid naming it."""
    if name == "method":
        if value not in METHODS:
            raise Invalid.field(name, f"must be one of {', '.join(METHODS)}")
    elif name in ("onboarding_tasks", "min_scored"):
        low = 0 if name == "onboarding_tasks" else 1
        if not is_count(value, low):
            raise Invalid.field(name, f"must be an integer of {low} or more, at most {MAX_ID}")
    elif name == "min_accuracy":
        if not is_number(value) or not 0 <= value <= 1:
            raise Invalid.field(name, "must be a number from 0 to 1")
        value = float(value)
    elif name in ("use_wilson_lower_bound", "auto_pause"):
        if not isinstance(value, bool):
            raise Invalid.field(name, "must be true or false")
    elif name == "annotation_limit":
        if value is not None and not is_count(value, 1):
            raise Invalid.field(name, f"must be null (no limit) or an integer from 1 to {MAX_ID}")
    else:
        raise Invalid.field(name, "is not an evaluation setting")
    return value


def update_settings(
    session: Session, actor: Actor, project_id: int, /, **changes: Any
) -> EvaluationSettings:
    """Change any of the settings; Invalid names the first bad field and nothing is stored."""
    authorize(session, actor, Action.EVALUATION_MANAGE, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    merged = settings_of(project).to_json()
    for name, value in changes.items():
        merged[name] = _check(name, value)
    new = EvaluationSettings(**merged)
    project.evaluation_settings = new.to_json()
    return new
