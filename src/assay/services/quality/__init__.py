"""Quality: every annotation and prediction of a task with GT scored against it, kept current, and
read back as reports; agreement between annotators.

Modules: settings (per project), rescore (scores follow every label change; full recompute),
aggregates (the sums behind the tables), agreement, reports, tables (reports as the rows the
API, its CSV files and the dashboard show).
"""

from assay.services.quality.agreement import (
    ProjectAgreement,
    TaskAgreement,
    agreement_task_ids,
    project_agreement,
    refresh_agreement,
    task_agreement,
)
from assay.services.quality.reports import (
    AnnotationQuality,
    GroupQuality,
    ScoreVersions,
    annotation_quality,
    confusion,
    groups,
    score_of_annotation,
    score_versions,
)
from assay.services.quality.rescore import (
    RECOMPUTE_KIND,
    finish_recompute_job,
    on_labels_changed,
    plan_recompute,
    projects_to_recompute,
    recompute_job_part,
    recompute_project,
    rescore_tasks,
    running_recompute,
    stale_tasks,
    start_recompute,
)
from assay.services.quality.settings import (
    SettingsVersion,
    VersionedSettings,
    get_settings,
    get_versioned,
    settings_history,
    update_settings,
)

__all__ = [
    "RECOMPUTE_KIND",
    "AnnotationQuality",
    "GroupQuality",
    "ProjectAgreement",
    "ScoreVersions",
    "SettingsVersion",
    "TaskAgreement",
    "VersionedSettings",
    "agreement_task_ids",
    "annotation_quality",
    "confusion",
    "finish_recompute_job",
    "get_settings",
    "get_versioned",
    "groups",
    "on_labels_changed",
    "plan_recompute",
    "project_agreement",
    "projects_to_recompute",
    "recompute_job_part",
    "recompute_project",
    "refresh_agreement",
    "rescore_tasks",
    "running_recompute",
    "score_of_annotation",
    "score_versions",
    "settings_history",
    "stale_tasks",
    "start_recompute",
    "task_agreement",
    "update_settings",
]
