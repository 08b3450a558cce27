"""A schedule run: one solve of a programme, run as a background job, and what it found."""

from typing import Any
from uuid import UUID

from sqlalchemy import JSON
from sqlmodel import Field

from app.core.models import Identified, SchoolScoped, Timestamped


class ScheduleRun(Identified, Timestamped, SchoolScoped, table=True):
    __tablename__ = "schedule_run"

    programme_id: UUID = Field(foreign_key="visit_programme.id", index=True, ondelete="CASCADE")
    job_id: UUID = Field(foreign_key="job.id")
    requested_by: UUID | None = None
    seed: int = 1
    time_limit_seconds: float = 10.0
    households: int | None = None
    placed: int | None = None
    moved: int | None = None
    objective: int | None = None
    best_bound: int | None = None
    gap: float | None = None
    unplaced_minimum: int | None = None
    wall_seconds: float | None = None
    # [{"household_id": ..., "reason": ...}] for households not placed / preferences not met
    unplaced: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    unmet_preferences: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    objective_parts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Why families could not be placed, above the per-family reasons: [{"kind", "class_id",
    # "families", "visits_possible", "detail"}] (a class with more families than visits).
    root_causes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
