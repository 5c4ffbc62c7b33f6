"""A project's review settings: whether a reject returns the work to its annotator (the rework
loop) and the reasons a reviewer picks from when rejecting.

Read by the review (which reasons a reject may carry) and by the annotator's queue (whether
rejected work comes back), so it sits in the shared base below both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid
from assay.store.models import Project

OTHER = "other"  # always a valid reason: the comment says what is wrong
DEFAULT_REASONS = ("missed objects", "wrong label", "loose boxes", "extra boxes")
MAX_REASONS = 30
MAX_REASON = 100


@dataclass(frozen=True)
class ReviewSettings:
    """reject_returns_to_annotator: a rejected annotation's task goes back into its author's
    queue of the job (before new tasks). reject_reasons: what a reject may name as `reason`,
    besides "other"."""

    reject_returns_to_annotator: bool = True
    reject_reasons: tuple[str, ...] = field(default=DEFAULT_REASONS)

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> ReviewSettings:
        value = value or {}
        return cls(
            reject_returns_to_annotator=bool(value.get("reject_returns_to_annotator", True)),
            reject_reasons=tuple(value.get("reject_reasons", DEFAULT_REASONS)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "reject_returns_to_annotator": self.reject_returns_to_annotator,
            "reject_reasons": list(self.reject_reasons),
        }

    def check_reason(self, reason: Any) -> str:
        """A reject's reason: one of the list or "other"; Invalid naming `reason` otherwise."""
        if reason not in (*self.reject_reasons, OTHER):
            choices = ", ".join(f'"{r}"' for r in (*self.reject_reasons, OTHER))
            raise Invalid.field("reason", f"must be one of {choices}")
        return reason


def settings_of(project: Project) -> ReviewSettings:
    return ReviewSettings.from_json(project.review_settings)


def get_settings(session: Session, actor: Actor, project_id: int) -> ReviewSettings:
    """Everyone who reviews reads them (the reject control offers the reasons)."""
    authorize(session, actor, Action.REVIEW, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    return settings_of(project)


def update_settings(
    session: Session, actor: Actor, project_id: int, /, **fields: Any
) -> ReviewSettings:
    """Change `reject_returns_to_annotator` (true/false) and/or `reject_reasons` (a list of 1 to
    30 distinct non-empty texts of at most 100 characters, "other" not among them: it is always
    offered). Invalid names the first bad field; nothing is stored then."""
    authorize(session, actor, Action.REVIEWS_MANAGE, project_id)
    project = session.get(Project, project_id)
    assert project is not None
    current = settings_of(project)
    returns = current.reject_returns_to_annotator
    reasons = current.reject_reasons
    for name, value in fields.items():
        if name == "reject_returns_to_annotator":
            if not isinstance(value, bool):
                raise Invalid.field(name, "must be true or false")
            returns = value
        elif name == "reject_reasons":
            reasons = _check_reasons(value)
        else:
            raise Invalid.field(name, "is not a review setting")
    new = ReviewSettings(returns, reasons)
    project.review_settings = new.to_json()
    return new


def _check_reasons(value: Any) -> tuple[str, ...]:
    name = "reject_reasons"
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_REASONS:
        raise Invalid.field(name, f"must be a list of 1 to {MAX_REASONS} reasons")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > MAX_REASON:
            raise Invalid.field(name, f"each reason must be text of 1 to {MAX_REASON} characters")
        text = item.strip()
        if text.lower() == OTHER:
            raise Invalid.field(name, '"other" is always offered; leave it out of the list')
        if text in out:
            raise Invalid.field(name, f'"{text}" is listed twice')
        out.append(text)
    return tuple(out)
