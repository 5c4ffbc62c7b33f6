"""A project's quality settings: read by members who may see quality, changed by its leads.

Settings are versioned: every change raises the project's `quality_settings_version` by one and
adds a row to `quality_settings_history` (values, who, when); every stored score records the
version it was computed with. A change that alters scoring asks for a recompute; one that does
not (the goal line only) leaves every score as valid under the new version as under the old,
and the scores say so."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.formats.label_config import LabelConfigError
from assay.metrics.scores import SUMMARY_MODES
from assay.metrics.scoring import (
    LABEL_MISMATCH_COUNTS,
    MATCH_METHODS,
    QualitySettings,
)
from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_finite_number, is_number
from assay.services.errors import Invalid
from assay.services.projects import label_config_of, quality_settings_of
from assay.store.models import Project, QualityScore, QualitySettingsVersion
from assay.store.types import utcnow

# The settings that change no score: a change of only these needs no recompute.
NOT_SCORING = ("target_accuracy",)
# The most labels a per-label setting ({label: value}) may name.
MAX_PER_LABEL = 1000


@dataclass(frozen=True)
class VersionedSettings:
    """A project's quality settings and their version (1 for settings never changed)."""

    settings: QualitySettings
    version: int

    def to_json(self) -> dict[str, Any]:
        return {**self.settings.to_json(), "settings_version": self.version}


@dataclass(frozen=True)
class SettingsVersion:
    """One entry of the history: the values of a version, who made it (None: the project's
    first settings) and when."""

    version: int
    settings: dict[str, Any]
    changed_by_id: int | None
    changed_at: datetime


def get_settings(session: Session, actor: Actor, project_id: int) -> QualitySettings:
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return quality_settings_of(project)


def get_versioned(session: Session, actor: Actor, project_id: int) -> VersionedSettings:
    """The settings with their version (for readers of quality)."""
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return VersionedSettings(quality_settings_of(project), project.quality_settings_version)


def settings_history(session: Session, actor: Actor, project_id: int) -> list[SettingsVersion]:
    """Every version of the project's settings, oldest first; version 1 (its first settings)
    is listed even before anything changed."""
    authorize(session, actor, Action.QUALITY_VIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    rows = [
        SettingsVersion(r.version, r.settings, r.changed_by_id, r.changed_at)
        for r in session.scalars(
            select(QualitySettingsVersion)
            .where(QualitySettingsVersion.project_id == project_id)
            .order_by(QualitySettingsVersion.version)
        )
    ]
    if not rows:  # never changed: the current settings are version 1
        rows = [SettingsVersion(1, _settings_json(project), None, project.created_at)]
    return rows


def _settings_json(project: Project) -> dict[str, Any]:
    return quality_settings_of(project).to_json()


def update_settings(
    session: Session, actor: Actor, project_id: int, **fields: Any
) -> tuple[VersionedSettings, bool]:
    """Check and store new settings; returns them with their version and whether scoring has
    to be redone. Raises Invalid naming the first bad field; nothing is written then.

    A change raises the version by one and records it; sending the current values changes
    nothing (no new version). The project row is locked while its version moves, so two
    changes at once make two versions.
    """
    authorize(session, actor, Action.QUALITY_SETTINGS, project_id)
    project = session.scalars(
        select(Project)
        .where(Project.id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    old = quality_settings_of(project)
    merged = old.to_json()
    for name, value in fields.items():
        if value is None:
            continue
        if name not in merged:
            raise Invalid.field(name, "is not a quality setting")
        merged[name] = value
    _check(merged, project)
    new = QualitySettings(**merged)
    old_json, new_json = old.to_json(), new.to_json()
    version = project.quality_settings_version
    if new_json == old_json:
        return VersionedSettings(new, version), False
    now = utcnow()
    has_history = session.scalar(
        select(QualitySettingsVersion.id).where(QualitySettingsVersion.project_id == project_id)
    )
    if has_history is None:  # the first change: keep what version 1 was
        session.add(
            QualitySettingsVersion(
                project_id=project_id,
                version=version,
                settings=old_json,
                changed_by_id=None,
                changed_at=project.created_at,
            )
        )
    project.quality_settings = new_json
    project.quality_settings_version = version + 1
    session.add(
        QualitySettingsVersion(
            project_id=project_id,
            version=version + 1,
            settings=new_json,
            changed_by_id=actor.id,
            changed_at=now,
        )
    )
    scoring_changed = {k: v for k, v in new_json.items() if k not in NOT_SCORING} != {
        k: v for k, v in old_json.items() if k not in NOT_SCORING
    }
    if not scoring_changed:
        # the scores of the old version are exactly those of the new one
        session.execute(
            update(QualityScore)
            .where(QualityScore.project_id == project_id, QualityScore.settings_version == version)
            .values(settings_version=version + 1)
        )
    return VersionedSettings(new, version + 1), scoring_changed


def _check(merged: dict[str, Any], project: Project) -> None:
    """Raise Invalid naming the first field of `merged` that is not a valid setting."""
    for name in ("iou_threshold", "low_overlap_threshold", "target_accuracy"):
        v = merged[name]
        if not is_number(v) or not 0 < v <= 1:
            raise Invalid.field(name, "must be a number in (0, 1]")
    if merged["match_method"] not in MATCH_METHODS:
        raise Invalid.field("match_method", f"must be one of {', '.join(MATCH_METHODS)}")
    for name in ("label_aware", "empty_is_annotated"):
        if not isinstance(merged[name], bool):
            raise Invalid.field(name, "must be true or false")
    if merged["summary"] not in SUMMARY_MODES:
        raise Invalid.field("summary", f"must be one of {', '.join(SUMMARY_MODES)}")
    if merged["label_mismatch"] not in LABEL_MISMATCH_COUNTS:
        raise Invalid.field("label_mismatch", "must be one of two, one")
    known = _labels_of(project)
    _check_label_thresholds(merged["label_iou_thresholds"], known)
    _check_oks_sigmas(merged["oks_sigmas"], known)


def _labels_of(project: Project) -> set[str]:
    try:
        return set(label_config_of(project).labels)
    except LabelConfigError:
        return set()


def _check_label_map(field: str, value: Any, known: set[str], what: str) -> None:
    """Raise Invalid unless `value` is an object of at most MAX_PER_LABEL labels of the
    project's label config (the values are checked by the caller)."""
    if not isinstance(value, dict):
        raise Invalid.field(field, f"must be an object {{label: {what}}}")
    if len(value) > MAX_PER_LABEL:
        raise Invalid.field(field, f"has {len(value)} labels; at most {MAX_PER_LABEL}")
    for label in value:
        if label not in known:
            raise Invalid.field(field, f"{label!r} is not a label of the project's label config")


def _check_label_thresholds(value: Any, known: set[str]) -> None:
    field = "label_iou_thresholds"
    _check_label_map(field, value, known, "IoU threshold")
    for label, threshold in value.items():
        if not is_number(threshold) or not 0 < threshold <= 1:
            raise Invalid.field(field, f"the threshold of {label!r} must be a number in (0, 1]")


def _check_oks_sigmas(value: Any, known: set[str]) -> None:
    """Sigmas in pixels: positive and finite (a point's similarity divides by it)."""
    _check_label_map("oks_sigmas", value, known, "sigma in pixels")
    for label, sigma in value.items():
        if not _positive_finite(sigma):
            raise Invalid.field(f"oks_sigmas.{label}", "must be a positive finite number of pixels")


def _positive_finite(value: Any) -> bool:
    return is_finite_number(value) and value > 0
    try:
        return 0 < float(value) < math.inf
    except OverflowError:  # an int beyond any float
        return False
