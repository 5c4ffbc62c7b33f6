"""Honeypots: tasks with ground truth mixed into annotators' jobs, their answer hidden.

The pool holds a project's GT tasks chosen by a lead, each with a difficulty and an exposure
count. Modules: settings (per project), pool (which tasks, how hard), rotation (which honeypots
a job gets and who saw them), answers (an annotator's honeypot answers scored, hints), reports
(for leads). Handing in a job is the jobs package's (jobs.handin), which scores with answers.
"""

from assay.services.honeypots.answers import hints_of, score_answers
from assay.services.honeypots.pool import (
    DIFFICULTIES,
    active_honeypots,
    add_to_pool,
    derived_difficulties,
    remove_from_pool,
    update_honeypot,
)
from assay.services.honeypots.reports import (
    AnnotatorHoneypots,
    HoneypotRow,
    PoolHealth,
    accuracy_by_annotator,
    annotator_report,
    answer_sums,
    pool_health,
    pool_report,
    weekly_accuracy,
)
from assay.services.honeypots.rotation import (
    assignees_changed,
    choose,
    job_honeypot_ids,
    mix_in,
    put_first,
    record_exposures,
    reinject,
)
from assay.services.honeypots.settings import (
    HoneypotSettings,
    check_settings,
    get_settings,
    settings_of,
    update_settings,
)

__all__ = [
    "DIFFICULTIES",
    "AnnotatorHoneypots",
    "HoneypotRow",
    "HoneypotSettings",
    "PoolHealth",
    "accuracy_by_annotator",
    "active_honeypots",
    "add_to_pool",
    "annotator_report",
    "answer_sums",
    "assignees_changed",
    "check_settings",
    "choose",
    "derived_difficulties",
    "get_settings",
    "hints_of",
    "job_honeypot_ids",
    "mix_in",
    "pool_health",
    "pool_report",
    "put_first",
    "record_exposures",
    "reinject",
    "remove_from_pool",
    "score_answers",
    "settings_of",
    "update_honeypot",
    "update_settings",
    "weekly_accuracy",
]
