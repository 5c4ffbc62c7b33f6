"""Quality numbers as table rows: the one shape the quality endpoints, their CSV files and the
dashboard share.

Scores are in [0, 1], rounded to 6 digits; NaN (nothing to divide) is None. Intervals are
Wilson 95 % intervals as [low, high].
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from assay.metrics import wilson_interval
from assay.services import authors
from assay.services.access import Action, Actor
from assay.services.quality.reports import GroupQuality, groups
from assay.services.quality.settings import get_settings


def number(v: float | None) -> float | None:
    """A score for a table: rounded to 6 digits; None for None and NaN."""
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 6)


def group_row(g: GroupQuality) -> dict[str, Any]:
    """One group's numbers: micro scores with Wilson 95 % intervals, and the macro mean."""
    c = g.micro
    p_low, p_high = wilson_interval(c.tp, c.tp + c.fp)
    r_low, r_high = wilson_interval(c.tp, c.tp + c.fn)
    return {
        "scored": g.n,
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        "accuracy": number(c.accuracy if g.summary_accuracy is None else g.summary_accuracy),
        "precision": number(c.precision),
        "recall": number(c.recall),
        "f1": number(c.f1),
        "mean_accuracy": number(g.mean_accuracy),
        "mean_iou": number(c.iou_sum / c.matched) if c.matched else None,
        "precision_ci": [number(float(p_low)), number(float(p_high))],
        "recall_ci": [number(float(r_low)), number(float(r_high))],
        "settings_version": g.settings_version,
    }


def annotator_rows(session: Session, actor: Actor, project_id: int) -> list[dict[str, Any]]:
    """Each annotator's scores against GT (`group_row`) with id and email, and whether they are
    below the project's target accuracy (for those who read the project's quality settings)."""
    rows = groups(session, actor, project_id, "annotator")
    emails = authors.emails_of(session, [int(g.key) for g in rows if g.key.isdigit()])
    settings = get_settings(session, actor, project_id) if actor.may(Action.QUALITY_VIEW) else None
    out = []
    for g in rows:
        row: dict[str, Any] = {
            "annotator": int(g.key) if g.key.isdigit() else None,
            "email": emails.get(int(g.key)) if g.key.isdigit() else None,
        }
        row.update(group_row(g))
        if settings is not None:
            row["below_target"] = not settings.meets_target(row["mean_accuracy"])
        out.append(row)
    return out
