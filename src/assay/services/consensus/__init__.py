"""Consensus: each task's annotations merged into one (weighted by each annotator's accuracy or
Dawid-Skene), clear tasks made GT at once, disputed ones adjudicated by a lead.

Modules: inputs (settings, tasks, annotators' work), weights, merge (the background job),
adjudication. The numeric merge itself is metrics.consensus.
"""

from assay.services.consensus.adjudication import (
    TaskConsensus,
    adjudicate,
    next_to_adjudicate,
    remove_consensus,
    task_consensus,
    waiting_count,
)
from assay.services.consensus.inputs import WEIGHTINGS, MergeSettings, tasks_to_merge
from assay.services.consensus.merge import (
    MERGE_KIND,
    merge_job,
    merge_tasks,
    preview,
    start_merge,
)
from assay.services.consensus.weights import Estimate, estimate

__all__ = [
    "MERGE_KIND",
    "WEIGHTINGS",
    "Estimate",
    "MergeSettings",
    "TaskConsensus",
    "adjudicate",
    "estimate",
    "merge_job",
    "merge_tasks",
    "next_to_adjudicate",
    "preview",
    "remove_consensus",
    "start_merge",
    "task_consensus",
    "tasks_to_merge",
    "waiting_count",
]
