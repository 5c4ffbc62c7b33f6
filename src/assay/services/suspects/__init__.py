"""Suspected errors in the ground truth (issue #19): scored from the annotators who disagree
with the GT and from cleanlab's model-only scores, confirmed (the GT fixed) or dismissed.

Modules: evidence (gather and score), model (cleanlab), reviewer (conflict-diagnosis "GT
error" decisions as suspects), decisions (refresh, list, confirm, dismiss). Honeypot rotation
reads the stored suspects (`store.models.GtSuspect`) directly.
"""

from assay.services.suspects.decisions import (
    FLOOR,
    TaskSuspects,
    authorize_view,
    confirm,
    decisions,
    dismiss,
    fixed_result,
    list_suspects,
    refresh,
)

__all__ = [
    "FLOOR",
    "TaskSuspects",
    "authorize_view",
    "confirm",
    "decisions",
    "dismiss",
    "fixed_result",
    "list_suspects",
    "refresh",
]
