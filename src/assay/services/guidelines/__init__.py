"""Guidelines: a project's labeling rules as versioned Markdown (published, never changed or
deleted), which version each member last read and what changed since, the GT re-check queue a
new version can open (each GT task confirmed unchanged or re-made), and the edge-case log
(annotators flag an ambiguous task, leads answer and resolve it with a guideline version).

The version in force is `Project.guideline_version`; annotation revisions and GT changes record
it when written (services.projects.guideline_in_force reads it).

Modules: versions (publish, read, unread), recheck (the queue), edge_cases (the log).
"""

from assay.services.guidelines.edge_cases import (
    EDGE_CASE_STATUSES,
    answer_edge_case,
    flag_edge_case,
    list_edge_cases,
    resolve_edge_case,
    shown_task_ids,
)
from assay.services.guidelines.recheck import (
    RecheckProgress,
    RecheckTask,
    list_recheck,
    next_recheck,
    resolve_recheck,
)
from assay.services.guidelines.versions import (
    GuidelineView,
    get_version,
    guideline_view,
    mark_read,
    publish,
    resolved_by_version,
)

__all__ = [
    "EDGE_CASE_STATUSES",
    "GuidelineView",
    "RecheckProgress",
    "RecheckTask",
    "answer_edge_case",
    "flag_edge_case",
    "get_version",
    "guideline_view",
    "list_edge_cases",
    "list_recheck",
    "mark_read",
    "next_recheck",
    "publish",
    "resolve_edge_case",
    "resolve_recheck",
    "resolved_by_version",
    "shown_task_ids",
]
