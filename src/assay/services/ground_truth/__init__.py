"""Ground truth: the answer key. At most one GT annotation per task, set one at a time or in bulk,
every change recorded, readable as of any moment; and a sample of tasks handed out for the
lead's GT stage.

Modules: truth (one GT per task), bulk (data-manager actions), history (changes, the answer
key as of a moment), sampling (random or stratified GT jobs). The GT stage itself is gt_stage's.
"""

from assay.services.ground_truth.bulk import (
    annotator_coverage,
    bulk_assign_earliest,
    bulk_delete,
    bulk_set_from_annotator,
)
from assay.services.ground_truth.history import AnswerKeyEntry, answer_key, history, tasks_as_of
from assay.services.ground_truth.sampling import sample_ground_truth
from assay.services.ground_truth.truth import (
    clear_ground_truth,
    current_gt,
    lock_annotation,
    lock_tasks,
    make_ground_truth,
    record_changes,
    record_gt_edit,
    set_ground_truth,
)

__all__ = [
    "AnswerKeyEntry",
    "annotator_coverage",
    "answer_key",
    "bulk_assign_earliest",
    "bulk_delete",
    "bulk_set_from_annotator",
    "clear_ground_truth",
    "current_gt",
    "history",
    "lock_annotation",
    "lock_tasks",
    "make_ground_truth",
    "record_changes",
    "record_gt_edit",
    "sample_ground_truth",
    "set_ground_truth",
    "tasks_as_of",
]
