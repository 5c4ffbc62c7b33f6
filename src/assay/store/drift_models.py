"""Drift monitoring's tables (services.drift), beside `models` to keep each module short: a
project's drift thresholds, its periodic audits (seeded samples handed to the GT stage), and
field feedback on tasks and predictions (never deleted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assay.store.base import Base
from assay.store.types import utcnow


class DriftSettings(Base):
    """A project's drift alert thresholds (no row: the defaults of services.drift)."""

    __tablename__ = "drift_settings"
    __table_args__ = (Index("uq_drift_settings_project", "project_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    psi_threshold: Mapped[float] = mapped_column(Float)
    ks_p_threshold: Mapped[float] = mapped_column(Float)
    mean_drop_threshold: Mapped[float] = mapped_column(Float)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Audit(Base):
    """A periodic audit: recent tasks sampled (stratified by model confidence, seeded) into a
    GT-stage job; its accuracy is the model's against the GT that job produces."""

    __tablename__ = "drift_audits"
    __table_args__ = (Index("ix_drift_audits_project", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    model_version: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    # how it was drawn: population, strata (edges, sizes, drawn), reported tasks taken first
    sampling: Mapped[dict[str, Any]] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """Field feedback: someone's report that a task's prediction is wrong; offered first to
    the next audit (audit_id: the audit that took the task)."""

    __tablename__ = "drift_feedback"
    __table_args__ = (
        Index("ix_drift_feedback_project", "project_id", "created_at"),
        Index("ix_drift_feedback_task", "task_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    prediction_id: Mapped[int | None] = mapped_column(ForeignKey("predictions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("drift_audits.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
