from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from app.core.jobs import JobStatus
from app.core.schemas import Input, Output

GAP_OF = (
    "(objective - best_bound) / objective, of the placed families' schedule: objective is its "
    "score on the one stated objective (preferences by rank, teachers' travel, days per class, "
    "load balance, visits moved), unplaced families aside (they are counted in unplaced_count); "
    "best_bound is a proven lower bound on that score for any schedule leaving as many families "
    "unplaced. A gap is how far from the best possible the schedule might be, not how far it is."
)


class ScheduleRunCreate(Input):
    time_limit_seconds: float = Field(
        default=10.0, ge=1.0, le=300.0, description="The solver stops at this limit."
    )
    seed: int = Field(default=1, ge=0, le=2_147_483_647, description="Same seed, same schedule.")


class HouseholdReason(Output):
    household_id: UUID
    reason: str


class RootCause(Output):
    kind: str = Field(description="class-over-capacity: more families than visits possible")
    class_id: UUID | None = None
    families: int | None = None
    visits_possible: int | None = None
    detail: str = Field(description="What happened and what would fix it, in plain English.")


class ScheduleRunRead(Output):
    id: UUID
    programme_id: UUID
    status: JobStatus
    progress: float = Field(ge=0, le=1, description="Share of the solver's work done, 0 to 1.")
    error: str | None
    seed: int
    time_limit_seconds: float
    created_at: datetime
    finished_at: datetime | None
    elapsed_seconds: float = Field(description="Since the run was asked for, or its whole length.")
    households: int | None = Field(description="Households to place (exempt and declined aside).")
    placed: int | None
    moved: int | None = Field(description="Visits that moved from the previous proposal.")
    objective: int | None
    best_bound: int | None
    gap: float | None
    gap_of: str = GAP_OF
    quality: str | None = Field(
        description="The gap in an office's words: 'proven optimal' only when the gap is 0, "
        "otherwise how close to the best possible the placed families' schedule is proven to be."
    )
    unplaced_count: int | None = Field(description="Families the run could not place.")
    unplaced_minimum: int | None = Field(
        description="At least this many families cannot be placed by any schedule (proven); "
        "when it equals unplaced_count, leaving them out was unavoidable, and the reasons say "
        "what would make room."
    )
    unplaced_unavoidable: bool | None = Field(
        description="Whether the proof above covers every family left unplaced."
    )
    objective_parts: dict[str, Any] = Field(
        description="The objective's parts as the independent validator scores the schedule "
        "(unplaced, preference points, first choices, travel in tenths of a minute, class-days, "
        "busiest-day visits, moved, total), and the solver's status."
    )
    root_causes: list[RootCause] = Field(
        description="Why families could not be placed, said once above the per-family reasons: "
        "each class with more families than its adults can visit in the programme's days."
    )
    unplaced: list[HouseholdReason]
    unmet_preferences: list[HouseholdReason]
