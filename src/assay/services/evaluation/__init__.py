"""Annotator evaluation: annotators measured against ground truth only, gated and paused.

Owns a project's evaluation settings (settings), pauses by hand or by evaluation and the one
gate every door asks before an annotator gets work or creates an annotation, with the
annotation limit (pauses), the GT tasks a new annotator is served first (onboarding, through
the honeypot rotation), the verdicts taken where honeypot answers are scored (verdicts: one
change handler, subscribed by `assay.app` after rescoring) and each annotator's standing
(standing). Reviewers, leads and admins are never evaluated.
"""

from assay.services.evaluation.onboarding import serve_onboarding
from assay.services.evaluation.pauses import (
    current_pauses,
    list_pauses,
    pause_member,
    require_may_annotate,
    require_not_paused,
    require_within_limit,
    unpause_member,
)
from assay.services.evaluation.settings import (
    METHODS,
    EvaluationSettings,
    get_settings,
    settings_of,
    update_settings,
)
from assay.services.evaluation.standing import Standing, standings
from assay.services.evaluation.verdicts import on_labels_changed

__all__ = [
    "METHODS",
    "EvaluationSettings",
    "Standing",
    "current_pauses",
    "get_settings",
    "list_pauses",
    "on_labels_changed",
    "pause_member",
    "require_may_annotate",
    "require_not_paused",
    "require_within_limit",
    "serve_onboarding",
    "settings_of",
    "standings",
    "unpause_member",
    "update_settings",
]
