"""Drift monitoring: is a model still as good as when it was measured?

Owns the drift thresholds of a project (settings), the per-window report of a model version's
prediction confidence against a reference set with its alerts and its accuracy against GT
(report), periodic audits that sample recent tasks, stratified by confidence, into a GT-stage
job (audits), and field feedback on predictions, offered first to the next audit (feedback).
The numbers are metrics.drift's.
"""

from assay.services.drift.audits import AuditRow, create_audit, list_audits
from assay.services.drift.feedback import FEEDBACK_KINDS, list_feedback, send_feedback
from assay.services.drift.report import (
    WINDOWS,
    DriftReport,
    drift_report,
    latest_model_version,
    report_json,
)
from assay.services.drift.settings import DEFAULTS, DriftThresholds, get_settings, update_settings

__all__ = [
    "DEFAULTS",
    "FEEDBACK_KINDS",
    "WINDOWS",
    "AuditRow",
    "DriftReport",
    "DriftThresholds",
    "create_audit",
    "drift_report",
    "get_settings",
    "latest_model_version",
    "list_audits",
    "list_feedback",
    "report_json",
    "send_feedback",
    "update_settings",
]
