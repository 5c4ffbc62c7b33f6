"""The conflict diagnosis table (services.quality.diagnosis), beside `models` to keep each
module short: leads' decisions on groups of conflicts with the GT, never deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assay.store.base import Base
from assay.store.types import utcnow


class ConflictDecision(Base):
    """What a lead decided a group of conflicts is (guideline_issue | gt_error |
    training_need): the group's key, the conflicts it covered then (their ids and a
    fingerprint of them), the tasks, who, when, a note. A group shows its latest decision
    while its conflicts are the same ones (same fingerprint)."""

    __tablename__ = "conflict_decisions"
    __table_args__ = (Index("ix_conflict_decisions_key", "project_id", "group_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    group_key: Mapped[str] = mapped_column(String(1000))
    decision: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64))
    conflicts: Mapped[list[Any]] = mapped_column()  # the conflict ids covered at the time
    task_ids: Mapped[list[Any]] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
