"""Review: reviewers accept, fix & accept, or reject annotations, one at a time or as a stream.

Modules: verdicts (review, undo, the review status of an annotation), reviewers (who reviews
which task), stream (the next annotation to review).
"""

from assay.services.review.reviewers import (
    TaskReviewers,
    assign_reviewers,
    remove_reviewer,
    reviewers_of,
    task_reviewers,
)
from assay.services.review.stream import ORDERS, NextReview, next_for_review, task_subset
from assay.services.review.verdicts import (
    REVIEW_STATUSES,
    STATUS_OF,
    check_review_status,
    has_review_status,
    list_reviews,
    review_annotation,
    undo_review,
)

__all__ = [
    "ORDERS",
    "REVIEW_STATUSES",
    "STATUS_OF",
    "NextReview",
    "TaskReviewers",
    "assign_reviewers",
    "check_review_status",
    "has_review_status",
    "list_reviews",
    "next_for_review",
    "remove_reviewer",
    "review_annotation",
    "reviewers_of",
    "task_reviewers",
    "task_subset",
    "undo_review",
]
