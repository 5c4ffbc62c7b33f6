"""A project's quality settings: read by members who may see quality, changed by its leads; a
change that alters scoring asks for a recompute."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from assay.metrics.scoring import (
    MATCH_METHODS,
    QualitySettings,
)
from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_number
from assay.services.errors import Invalid
from assay.services.projects import quality_settings_of
from assay.store.models import Project


def get_settings(session: Session, actor: Actor, project_id: int) -> QualitySettings:
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return quality_settings_of(project)


def update_settings(
    session: Session, actor: Actor, project_id: int, **fields: Any
) -> tuple[QualitySettings, bool]:
    """Check and store new settings; returns them and whether scoring has to be redone."""
    authorize(session, actor, Action.QUALITY_SETTINGS, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    old = quality_settings_of(project)
    merged = old.to_json()
    for name, value in fields.items():
        if value is None:
            continue
        if name not in merged:
            raise Invalid.field(name, "is not a quality setting")
        merged[name] = value
    for name in ("iou_threshold", "low_overlap_threshold", "target_accuracy"):
        v = merged[name]
        if not is_number(v) or not 0 < v <= 1:
            raise Invalid.field(name, "must be a number in (0, 1]")
    if merged["match_method"] not in MATCH_METHODS:
        raise Invalid.field("match_method", f"must be one of {', '.join(MATCH_METHODS)}")
    for name in ("label_aware", "empty_is_annotated"):
        if not isinstance(merged[name], bool):
            raise Invalid.field(name, "must be true or false")
    new = QualitySettings(**merged)
    project.quality_settings = new.to_json()
    scoring_changed = {k: v for k, v in new.to_json().items() if k != "target_accuracy"} != {
        k: v for k, v in old.to_json().items() if k != "target_accuracy"
    }
    return new, scoring_changed
