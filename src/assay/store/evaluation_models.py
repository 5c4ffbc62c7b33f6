"""Annotator evaluation's tables (services.evaluation), beside `models` to keep each module
short: pauses (never deleted: an unpause closes one), the GT tasks served to annotators while
they onboard, and each annotator's last evaluated standing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from assay.store.base import Base
from assay.store.types import utcnow


class EvaluationPause(Base):
    """An annotator paused in a project, by hand (`manual`, paused_by set) or by evaluation
    (`auto`, with the GT accuracy and count that triggered it); open until unpaused."""

    __tablename__ = "evaluation_pauses"
    __table_args__ = (Index("ix_evaluation_pauses_member", "project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(10))  # manual | auto
    score: Mapped[float | None] = mapped_column(Float)  # the value compared (auto)
    scored: Mapped[int | None] = mapped_column(Integer)  # GT answers behind it (auto)
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paused_at: Mapped[datetime] = mapped_column(default=utcnow)
    unpaused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unpaused_at: Mapped[datetime | None] = mapped_column()


class OnboardingServing(Base):
    """A GT task put into one of an annotator's jobs (as a honeypot) for their onboarding."""

    __tablename__ = "onboarding_servings"
    __table_args__ = (Index("ix_onboarding_servings_member", "project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    served_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationStanding(Base):
    """An annotator's GT accuracy as last evaluated, whether it was below the threshold (so a
    fall is acted on once, when it crosses) and the onboarding verdict (passed | failed)."""

    __tablename__ = "evaluation_standings"
    __table_args__ = (
        Index("uq_evaluation_standings_member", "project_id", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scored: Mapped[int] = mapped_column(Integer, default=0)
    accuracy: Mapped[float | None] = mapped_column(Float)
    below: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    verdict: Mapped[str | None] = mapped_column(String(10))  # passed | failed (onboarding)
    verdict_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
