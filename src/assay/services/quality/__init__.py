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
    annotation_quality,
    confusion,
    groups,
    score_of_annotation,
)
from assay.services.quality.rescore import (
    RECOMPUTE_KIND,
    on_labels_changed,
    projects_to_recompute,
    recompute_job,
    recompute_project,
    rescore_tasks,
    running_recompute,
    start_recompute,
)
from assay.services.quality.settings import get_settings, update_settings

__all__ = [
    "RECOMPUTE_KIND",
    "AnnotationQuality",
    "GroupQuality",
    "ProjectAgreement",
    "TaskAgreement",
    "agreement_task_ids",
    "annotation_quality",
    "confusion",
    "get_settings",
    "groups",
    "on_labels_changed",
    "project_agreement",
    "projects_to_recompute",
    "recompute_job",
    "recompute_project",
    "refresh_agreement",
    "rescore_tasks",
    "running_recompute",
    "score_of_annotation",
    "start_recompute",
    "task_agreement",
    "update_settings",
]
