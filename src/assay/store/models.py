"""Tables. Rows that carry labels (projects, tasks, annotations, predictions) are soft-deleted:
`deleted_at` is set and the row stays, so every score can be explained later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
    text,
    type_coerce,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from assay.store.base import Base
from assay.store.types import JSONType, NullableJSON, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(150), default="")
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity: Mapped[datetime | None] = mapped_column()


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    label_config: Mapped[str] = mapped_column(Text)
    expert_instruction: Mapped[str] = mapped_column(Text, default="")
    color: Mapped[str] = mapped_column(String(16), default="#FFFFFF")
    # Matching settings for scoring against GT (metrics.scoring.QualitySettings); {} = defaults.
    quality_settings: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'")
    )
    # +1 on every change of quality_settings; scores record theirs (settings_version)
    quality_settings_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    # Honeypot rotation (services.honeypots.HoneypotSettings); {} = defaults.
    honeypot_settings: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'")
    )
    # "Use predictions to prelabel tasks": the annotate page starts from the task's prediction
    # of `model_version` ("" = the task's latest prediction). Label Studio's names.
    show_collab_predictions: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    model_version: Mapped[str] = mapped_column(String(200), default="", server_default="")
    visibility: Mapped[str] = mapped_column(String(10), default="blind", server_default="blind")
    hourly_rate: Mapped[float | None] = mapped_column(Float)  # cost of an hour; None = unset
    # Reviews (services.review_settings.ReviewSettings): rework loop, reject reasons; {} = defaults.
    review_settings: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'")
    )
    # Annotator evaluation (services.evaluation.EvaluationSettings); {} = defaults (off).
    evaluation_settings: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'")
    )
    guideline_version: Mapped[int | None] = mapped_column(Integer)  # in force (services.guidelines)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ProjectCount(Base):
    """A project's counts, kept by the database itself: triggers on projects, tasks,
    annotations and predictions (migration 0030) move them with every row written, however it
    is written, so reading them is one row at any size (`services.projects.project_counts`)."""

    __tablename__ = "project_counts"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # live tasks
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # gt_status done
    empty: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # gt_status empty
    # live manual annotations on live tasks, and the live tasks with at least one
    annotations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    annotated_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    predictions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ground_truths: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ProjectMember(Base):
    """Who may work in a project besides admins; the creator is a member."""

    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_project_live", "project_id", "deleted_at", "id"),
        Index("ix_tasks_project_gt_status", "project_id", "gt_status"),
        Index("ix_tasks_media_path", "media_path"),
        Index("ix_tasks_project_image_name", "project_id", "image_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    data: Mapped[dict[str, Any]] = mapped_column()
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # The file under the media root its data points at (/data/media/<media_path>), if any:
    # who may see the task may fetch the file (services.tasks.media.authorize_media_file).
    media_path: Mapped[str | None] = mapped_column(String(1000))
    # The file name of its image (`formats.image_names`): a label file from another tool that
    # names `a.png` finds the task whose image is /data/media/project-2/a.png by this index.
    image_name: Mapped[str | None] = mapped_column(String(255))
    # GT stage: "none", "done" (its GT is final) or "empty" (done, and nothing to label).
    gt_status: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    done_at: Mapped[datetime | None] = mapped_column()
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    # Mean pairwise accuracy between its live non-GT annotations (None below two), kept up to
    # date with the scores so the review stream can order by it.
    agreement: Mapped[float | None] = mapped_column(Float)
    # Its live manual annotations, kept by a trigger (migration 0030; see ProjectCount).
    live_annotations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When its data or meta last changed (`tasks.update_task`), nothing else: a GT stage Done,
    # a new agreement or an image rename must not move it, or annotators could tell finished
    # GT tasks (honeypots) from the others by it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class TaskEvent(Base):
    """A GT-stage event of a task: done, empty, revised, reopened; who, when, in which job."""

    __tablename__ = "task_events"
    __table_args__ = (Index("ix_task_events_task", "task_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Job(Base):
    """A batch of tasks handed to annotators; a task may be in many jobs."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    # Consensus: each task goes to this many different assignees; None = every assignee.
    replicas: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    # A lead accepted (closed) the job: its annotators no longer create or edit in it.
    accepted_at: Mapped[datetime | None] = mapped_column()
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class JobTask(Base):
    __tablename__ = "job_tasks"
    __table_args__ = (Index("uq_job_tasks_alias", "alias", unique=True),)

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A honeypot mixed into the job (services.honeypots); never shown to its annotators.
    is_honeypot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The id the job's annotators know the task by (services.task_aliases): random, unique,
    # in a range no real task id reaches, so that old tasks (honeypots) look like new ones.
    alias: Mapped[int] = mapped_column(Integer)


class JobAssignee(Base):
    __tablename__ = "job_assignees"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class Annotation(Base):
    """One person's (or one model run's) full result for a task; `revision` counts its edits."""

    __tablename__ = "annotations"
    __table_args__ = (
        Index("ix_annotations_task", "task_id", "deleted_at"),
        Index("ix_annotations_project", "project_id", "deleted_at"),
        # At most one live ground truth per task, enforced by the database itself.
        Index(
            "uq_annotations_one_gt_per_task",
            "task_id",
            unique=True,
            sqlite_where=text("ground_truth AND deleted_at IS NULL"),
            postgresql_where=text("ground_truth AND deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    result: Mapped[list[Any]] = mapped_column(default=list)
    ground_truth: Mapped[bool] = mapped_column(Boolean, default=False)
    was_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_reason: Mapped[str | None] = mapped_column(String(500))  # why it was skipped (cancelled)
    lead_time: Mapped[float | None] = mapped_column(Float)  # seconds, task opened to submit
    active_time: Mapped[float | None] = mapped_column(Float)  # seconds of input, idle cut 60 s
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # manual (a person's work) | consensus (merged from several; services.consensus).
    kind: Mapped[str] = mapped_column(String(12), default="manual", server_default="manual")
    # The latest standing review: none | accepted | fixed | rejected (services.review).
    review_status: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    # The annotator's own result while a reviewer's fix stands in `result` (else NULL): what
    # scores and agreement measure (`work_result`), so a fix does not raise the fixed one's.
    own_result: Mapped[list[Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @hybrid_property
    def work_result(self) -> list[Any]:
        """The annotator's own work: their result from before a reviewer's fix, if any."""
        return self.own_result if self.own_result is not None else self.result

    @work_result.inplace.expression
    @classmethod
    def _work_result_expression(cls) -> ColumnElement[list[Any]]:
        return type_coerce(func.coalesce(cls.own_result, cls.result), JSONType)


class AnnotationRevision(Base):
    """Every state an annotation has had: who changed it, when, and to what."""

    __tablename__ = "annotation_revisions"
    __table_args__ = (
        # One row per revision number, also under concurrent edits (they lock the annotation).
        Index("uq_annotation_revisions_revision", "annotation_id", "revision", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"))
    revision: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # created | updated | deleted
    result: Mapped[list[Any]] = mapped_column()
    ground_truth: Mapped[bool] = mapped_column(Boolean)
    was_cancelled: Mapped[bool] = mapped_column(Boolean)
    guideline_version: Mapped[int | None] = mapped_column(Integer)  # the project's, in force then
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


STANDING = "undone_at IS NULL AND superseded_at IS NULL"  # a review that counts now


class Review(Base):
    """A reviewer's verdict on an annotation: accept, fix & accept (a new revision by the
    reviewer) or reject. Undoing keeps the row with `undone_at` set."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_annotation", "annotation_id", "created_at"),
        Index("ix_reviews_project_reviewer", "project_id", "reviewer_id"),
        # One standing review per reviewer and annotation, also under concurrent clicks.
        Index(
            "uq_reviews_standing",
            "annotation_id",
            "reviewer_id",
            unique=True,
            sqlite_where=text(STANDING),
            postgresql_where=text(STANDING),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(12))  # accept | fix_accept | reject
    comment: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(String(100))  # a reject's, from the project's list
    reviewed_revision: Mapped[int] = mapped_column(Integer)  # the annotation's revision reviewed
    fixed_revision: Mapped[int | None] = mapped_column(Integer)  # fix_accept: the fix's revision
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column()
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Its annotator resubmitted after it (a new pass): it stays in the history, not standing.
    superseded_at: Mapped[datetime | None] = mapped_column()


class ReviewerAssignment(Base):
    """A reviewer assigned to a task; when a task has any, only they (and leads) review it."""

    __tablename__ = "reviewer_assignments"
    __table_args__ = (Index("ix_reviewer_assignments_project_user", "project_id", "user_id"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsensusResult(Base):
    """The latest merge of a task's annotations: the consensus annotation, how well the
    annotators agreed, and whether it waits for adjudication."""

    __tablename__ = "consensus_results"
    __table_args__ = (Index("ix_consensus_results_project", "project_id", "status"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"))
    annotators: Mapped[int] = mapped_column(Integer)  # how many annotations were merged
    agreement: Mapped[float] = mapped_column(Float)
    tied: Mapped[bool] = mapped_column(Boolean, default=False)
    # pending: merged | adjudicate: waits for a lead | adjudicated | accepted (auto GT)
    status: Mapped[str] = mapped_column(String(12), default="merged")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    adjudicated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    adjudicated_at: Mapped[datetime | None] = mapped_column()


class SavedView(Base):
    """A saved Data Manager filter (Label Studio's view; services.views.saved_views)."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(String(10))  # personal | project
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_task", "task_id", "deleted_at"),
        Index("ix_predictions_project", "project_id", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    model_version: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[float | None] = mapped_column(Float)
    result: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class GroundTruthChange(Base):
    """One change of a task's answer key: set, unset, replaced, or the GT annotation edited.

    Together with annotation_revisions this reproduces the answer key as it was at any time.
    """

    __tablename__ = "ground_truth_changes"
    __table_args__ = (
        Index("ix_ground_truth_changes_project", "project_id", "changed_at"),
        Index("ix_ground_truth_changes_task", "task_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    action: Mapped[str] = mapped_column(String(20))  # set | unset | replaced | edited
    from_annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"))
    to_annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"))
    revision: Mapped[int | None] = mapped_column(Integer)  # of the GT annotation after the change
    guideline_version: Mapped[int | None] = mapped_column(Integer)  # the project's, in force then
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)  # why, e.g. "suspect confirmed: ..."


class QualityScore(Base):
    """One annotation's or prediction's score against its task's GT, as of a GT revision."""

    __tablename__ = "quality_scores"
    __table_args__ = (
        Index("ix_quality_scores_task", "task_id"),
        Index("ix_quality_scores_group", "project_id", "subject_kind", "subject_key"),
        Index("uq_quality_scores_annotation", "annotation_id", unique=True),
        Index("uq_quality_scores_prediction", "prediction_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    subject_kind: Mapped[str] = mapped_column(String(12))  # annotation | prediction
    subject_key: Mapped[str] = mapped_column(String(220))  # annotator user id, or model_version
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"))
    prediction_id: Mapped[int | None] = mapped_column(ForeignKey("predictions.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    gt_annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"))
    gt_revision: Mapped[int] = mapped_column(Integer)
    tp: Mapped[int] = mapped_column(Integer)
    fp: Mapped[int] = mapped_column(Integer)
    fn: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    iou_sum: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float] = mapped_column(Float)
    labels: Mapped[dict[str, Any]] = mapped_column()  # label -> [tp, fp, fn, matched, iou_sum]
    confusion: Mapped[list[Any]] = mapped_column()  # [[gt_label, pred_label, n], ...]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    settings_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))


class QualitySettingsVersion(Base):
    """One version of a project's quality settings: values, who, when (version 1: by nobody)."""

    __tablename__ = "quality_settings_history"
    __table_args__ = (Index("uq_quality_settings_history", "project_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column()
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class QualityAggregate(Base):
    """Summed counts per group and label, kept up to date by delta on every rescore.

    group_kind: annotator (key = user id), model (key = model_version), job (key = job id),
    annotations / predictions (key = ""; the project's totals). label "" = all labels.
    """

    __tablename__ = "quality_aggregates"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    group_kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(220), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)  # scored items
    tp: Mapped[int] = mapped_column(Integer, default=0)
    fp: Mapped[int] = mapped_column(Integer, default=0)
    fn: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    iou_sum: Mapped[float] = mapped_column(Float, default=0.0)
    accuracy_sum: Mapped[float] = mapped_column(Float, default=0.0)


class Honeypot(Base):
    """A task with GT in its project's honeypot pool. Leaving the pool or retiring (after
    `max_exposures`) keeps the row, so it can be restored and its history explained."""

    __tablename__ = "honeypots"
    __table_args__ = (Index("ix_honeypots_project", "project_id", "removed_at", "retired_at"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    # easy | medium | hard, set by a lead; None = derived from annotators' accuracy on it.
    difficulty: Mapped[str | None] = mapped_column(String(10))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column()  # out of the pool (bulk action)
    retired_at: Mapped[datetime | None] = mapped_column()  # reached max_exposures


class HoneypotExposure(Base):
    """A honeypot shown to one annotator in one job: what rotation and retirement count."""

    __tablename__ = "honeypot_exposures"
    __table_args__ = (Index("ix_honeypot_exposures_user", "user_id", "task_id"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class JobSubmission(Base):
    """One attempt of an annotator to hand in a job, scored on the job's honeypots.

    status: accepted (at or above target, or no honeypots) | needs_fixes (back to the
    annotator) | to_lead (failed the last allowed attempt). `details` (per honeypot task
    accuracy) is for leads only; `hints` are the plain-word feedback the annotator sees.
    """

    __tablename__ = "job_submissions"
    # Unique: two concurrent hand-ins cannot share an attempt (and so pass max_attempts).
    __table_args__ = (
        Index("uq_job_submissions_attempt", "job_id", "user_id", "attempt", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    score: Mapped[float | None] = mapped_column(Float)  # mean accuracy on the honeypots
    target: Mapped[float] = mapped_column(Float)
    honeypots: Mapped[int] = mapped_column(Integer, default=0)  # how many were scored
    hints: Mapped[list[Any]] = mapped_column(default=list)
    details: Mapped[list[Any]] = mapped_column(default=list)  # [[task_id, accuracy], ...]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
