"""Tables. Rows that carry labels (projects, tasks, annotations, predictions) are soft-deleted:
`deleted_at` is set and the row stays, so every score can be explained later."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    func,
    text,
    type_coerce,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from assay.store.types import JSONType, NullableJSON, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        datetime: UTCDateTime,
    }


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


class WebSession(Base):
    """A signed-in browser (services.sessions): its cookie holds a random key, this row only
    the key's SHA-256 digest. Logout, a password change and deactivation delete rows."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginThrottle(Base):
    """Failed logins per account and per client address, and the addresses an account signed
    in from (services.login_throttle); keys are SHA-256 digests, never what was typed."""

    __tablename__ = "login_throttle"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # account|address|known
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(index=True)  # the last failure; for known, sign-in


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
    # Honeypot rotation (services.honeypots.HoneypotSettings); {} = defaults.
    honeypot_settings: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


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


class JobTask(Base):
    __tablename__ = "job_tasks"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A honeypot mixed into the job (services.honeypots); never shown to its annotators.
    is_honeypot: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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
    lead_time: Mapped[float | None] = mapped_column(Float)
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
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


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
            sqlite_where=text("undone_at IS NULL"),
            postgresql_where=text("undone_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(12))  # accept | fix_accept | reject
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_revision: Mapped[int] = mapped_column(Integer)  # the annotation's revision reviewed
    fixed_revision: Mapped[int | None] = mapped_column(Integer)  # fix_accept: the fix's revision
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column()
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


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


class BackgroundJob(Base):
    """Long work (a full quality recompute, big imports) with its state and progress, so any
    replica can report it."""

    __tablename__ = "background_jobs"
    __table_args__ = (Index("ix_background_jobs_project", "project_id", "kind", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued|running|done|failed
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # Refreshed by the worker while the job runs; a running job whose heartbeat is old has lost
    # its worker (services.background.fail_stalled).
    heartbeat_at: Mapped[datetime | None] = mapped_column()


class ExportSnapshot(Base):
    """A project's export frozen at one moment (Label Studio's export snapshot): a background
    job writes one file per export type (`ExportSnapshotFile`). Deleting it removes the files
    and keeps the row, with who deleted it and when."""

    __tablename__ = "export_snapshots"
    __table_args__ = (Index("ix_export_snapshots_project", "project_id", "deleted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column(String(2048), default="")
    # The Label Studio options as accepted: task_filter_options, annotation_filter_options,
    # serialization_options (services.io.snapshots.SnapshotOptions).
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    background_job_id: Mapped[int | None] = mapped_column(ForeignKey("background_jobs.id"))
    task_number: Mapped[int | None] = mapped_column(Integer)  # tasks in the JSON file
    md5: Mapped[str | None] = mapped_column(String(32))  # of the JSON file
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ExportSnapshotFile(Base):
    """One export type of a snapshot: its file, relative to the export root, once written."""

    __tablename__ = "export_snapshot_files"
    __table_args__ = (
        Index("uq_export_snapshot_files_type", "snapshot_id", "export_type", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("export_snapshots.id"))
    export_type: Mapped[str] = mapped_column(String(20))
    path: Mapped[str | None] = mapped_column(String(500))  # None until written
    size: Mapped[int | None] = mapped_column(BigInteger)
    md5: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str] = mapped_column(Text, default="")  # why this type could not be written
    finished_at: Mapped[datetime | None] = mapped_column()


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


class IdempotentRequest(Base):
    """A write sent with an `Idempotency-Key`: its answer, so that the same request retried
    after an ambiguous failure (a timeout, a dropped connection) answers the first answer
    instead of importing twice. Claimed in the request's own transaction: the key and the
    write commit together or not at all."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (Index("ix_idempotent_requests_key", "user_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of what was asked
    answer: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
