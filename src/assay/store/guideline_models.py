"""The guidelines' tables (services.guidelines), beside `models` to keep each module short:
versions of a project's guideline, who read which, the GT re-check queue, the edge-case log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assay.store.base import Base
from assay.store.types import utcnow


class GuidelineVersion(Base):
    """One published version of a project's guideline (Markdown); never changed or deleted."""

    __tablename__ = "guideline_versions"
    __table_args__ = (Index("uq_guideline_versions_version", "project_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per project
    markdown: Mapped[str] = mapped_column(Text)
    change_log: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GuidelineRead(Base):
    """The last version of a project's guideline a member has read."""

    __tablename__ = "guideline_reads"
    __table_args__ = (Index("uq_guideline_reads_member", "project_id", "user_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class GuidelineRecheck(Base):
    """A GT task a new guideline version put up for re-check, and how a lead resolved it."""

    __tablename__ = "guideline_rechecks"
    __table_args__ = (Index("ix_guideline_rechecks_project", "project_id", "status", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    guideline_version: Mapped[int] = mapped_column(Integer)  # the version that asked for it
    gt_annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"))
    gt_revision: Mapped[int] = mapped_column(Integer)  # the GT's revision when queued
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|confirmed|changed
    resolved_annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"))
    resolved_revision: Mapped[int | None] = mapped_column(Integer)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EdgeCase(Base):
    """An annotator's flag that a task is ambiguous; a lead answers it and resolves it by
    linking it to the guideline version that settles it."""

    __tablename__ = "edge_cases"
    __table_args__ = (
        Index("ix_edge_cases_project", "project_id", "status"),
        Index("ix_edge_cases_author", "project_id", "created_by_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))  # the job it was seen in
    comment: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open|answered|resolved
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column()
    guideline_version: Mapped[int | None] = mapped_column(Integer)  # resolved by this version
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
