"""The lead's ground-truth stage of a job: the job's not-yet-done tasks one by one in random
order, edited from the annotators' regions and compared with any other job or model, then Done:
the task's GT is made and the task is done everywhere, forever.

Modules: queue (next, back, counts), done (Done, reopen), references (side-by-side sources).
It writes annotations (tasks) and GT (ground_truth), so it sits above both.
"""

from assay.services.gt_stage.done import DoneResult, finish_task, reopen_task
from assay.services.gt_stage.queue import (
    StageState,
    StageTask,
    next_task,
    previous_task,
    stage_counts,
    stage_job,
    stage_progress,
)
from assay.services.gt_stage.references import Reference, references

__all__ = [
    "DoneResult",
    "Reference",
    "StageState",
    "StageTask",
    "finish_task",
    "next_task",
    "previous_task",
    "references",
    "reopen_task",
    "stage_counts",
    "stage_job",
    "stage_progress",
]
