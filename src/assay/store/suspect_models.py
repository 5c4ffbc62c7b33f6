"""The GT suspects' tables (services.suspects), beside `models` to keep each module short:
the suspects as last computed, and the leads' decisions on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assay.store.base import Base
from assay.store.types import utcnow


class GtSuspect(Base):
    """A suspected GT error as last computed (services.suspects; replaced on each refresh)."""

    __tablename__ = "gt_suspects"
    __table_args__ = (
        Index("uq_gt_suspects_key", "project_id", "key", unique=True),
        Index("ix_gt_suspects_task", "task_id", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(
        String(10)
    )  # missing | spurious | swapped | badloc | gt_error
    gt_annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"))
    region_id: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    annotator_score: Mapped[float | None] = mapped_column(Float)
    model_score: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column()
    fingerprint: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class GtSuspectDecision(Base):
    """A suspect confirmed or dismissed: who, when, why; same key + fingerprint never again."""

    __tablename__ = "gt_suspect_decisions"
    __table_args__ = (Index("ix_gt_suspect_decisions_key", "project_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    fingerprint: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(10))  # confirmed | dismissed
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column()
    gt_revision: Mapped[int | None] = mapped_column(Integer)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
