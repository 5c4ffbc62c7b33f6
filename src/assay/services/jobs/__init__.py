"""Jobs: batches of tasks handed to annotators (a task may be in many jobs), their queues,
progress and hand-in.

Modules: lookup (find a job, who and what is in it), editing (create, change, list), progress,
queue (what an annotator gets next, rejected work first), acceptance (a lead closes a job),
handin (submit a job, feedback from its honeypots), job_honeypots (a lead's view of a job's
honeypots, reroll).
"""

from assay.services.jobs.acceptance import accept_job, closed_sentence, reopen_job, require_open
from assay.services.jobs.editing import create_job, list_jobs, update_job
from assay.services.jobs.handin import Feedback, feedback, submissions, submit_job
from assay.services.jobs.job_honeypots import JobHoneypot, list_job_honeypots, reroll
from assay.services.jobs.lookup import (
    get_job,
    is_assignee,
    is_honeypot_for,
    job_task_ids,
    require_task_in_job,
)
from assay.services.jobs.progress import JobProgress, JobView, job_progress, views_of
from assay.services.jobs.queue import (
    NextTask,
    job_to_annotate,
    next_to_annotate,
    remaining_by_job,
    shuffled,
    worked_on,
)

__all__ = [
    "Feedback",
    "JobHoneypot",
    "JobProgress",
    "JobView",
    "NextTask",
    "accept_job",
    "closed_sentence",
    "create_job",
    "feedback",
    "get_job",
    "is_assignee",
    "is_honeypot_for",
    "job_progress",
    "job_task_ids",
    "job_to_annotate",
    "list_job_honeypots",
    "list_jobs",
    "next_to_annotate",
    "remaining_by_job",
    "reopen_job",
    "require_open",
    "require_task_in_job",
    "reroll",
    "shuffled",
    "submissions",
    "submit_job",
    "update_job",
    "views_of",
    "worked_on",
]
