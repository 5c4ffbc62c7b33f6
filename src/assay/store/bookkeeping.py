"""The server's own bookkeeping, apart from the labels: signed-in browsers, login throttles,
background jobs, export snapshots and idempotent requests. None of it carries labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from assay.store.base import Base
from assay.store.types import NullableJSON, utcnow


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


class BackgroundJob(Base):
    """Long work (a full quality recompute, big imports) with its state and progress, so any
    replica can report it."""

    __tablename__ = "background_jobs"
    __table_args__ = (
        Index("ix_background_jobs_project", "project_id", "kind", "status"),
        Index("ix_background_jobs_parent", "parent_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    # queued | running | done | failed | cancelled
    status: Mapped[str] = mapped_column(String(12), default="queued")
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
    # A partitioned job (services.background.register_partitioned) is a parent row whose parts
    # are child rows; the parent counts its parts not yet done, and the part that takes the
    # count to 0 finishes the whole.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("background_jobs.id"))
    parts_left: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    worker: Mapped[str] = mapped_column(String(120), default="", server_default="")  # host:pid


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
