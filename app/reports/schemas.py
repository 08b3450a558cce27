"""What the reports say: how a programme reached its families (by school, year group, class and
pupil group, day by day), the adults' load, preferences met, concerns raised and the surveys'
headlines, for one programme, a school or the trust.

A count is null where it is suppressed: smaller than THRESHOLD_REPORTS_SUPPRESSED_BELOW (other
than 0), or a second cell that would let the first be worked out from a total. A share is null
wherever either of its counts is."""

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field

from app.core.schemas import Output
from app.core.types import YearGroup
from app.surveys.models import SurveyAudience


class ReportScope(StrEnum):
    PROGRAMME = "programme"
    SCHOOL = "school"
    TRUST = "trust"


class PupilGroup(StrEnum):
    """The groups the programme exists to reach, from the pupil's MIS flags."""

    FREE_SCHOOL_MEALS = "free_school_meals"
    PUPIL_PREMIUM = "pupil_premium"
    SEND_SUPPORT = "send_support"
    EHCP = "ehcp"
    EAL = "eal"
    LOOKED_AFTER = "looked_after"


class ReachCounts(Output):
    """Households, each counted once in a total (and once in each class it has a child in)."""

    in_scope: int | None = Field(description="Households with a child in the programme's scope.")
    answered: int | None = Field(description="Gave preferences or unavailable times.")
    scheduled: int | None = Field(description="On a visit of the programme, whatever its outcome.")
    visited: int | None = Field(description="Their visit was completed.")
    no_access: int | None
    declined: int | None = Field(description="In the portal or at the door.")
    exempt: int | None = Field(description="Exempted by SLT: not to be visited.")
    neutral_venue: int | None = Field(description="Met at a neutral venue, not at home.")


class ReachPart(ReachCounts):
    """One school, year group or class of the report's scope."""

    school_id: UUID | None = None
    school_name: str | None = None
    year_group: YearGroup | None = None
    class_id: UUID | None = None
    class_name: str | None = None


class GroupReach(Output):
    """Children (not households) of one pupil group against everyone else in scope."""

    group: PupilGroup
    pupils: int | None = Field(description="Children of the group in scope.")
    visited: int | None = Field(description="…whose visit was completed.")
    reach: float | None = Field(description="visited / pupils, 0 to 1.")
    others_reach: float | None = Field(description="The same share for children not in the group.")
    gap: float | None = Field(
        description="reach − others_reach: negative when the group is reached less."
    )


class ReachOnDay(Output):
    """Reach up to and including one visit day (Europe/London)."""

    day: date
    pupils: int | None = Field(description="Children in scope.")
    visited: int | None = Field(description="…visited by the end of this day.")
    reach: float | None
    groups: list[GroupReach]


class Reach(Output):
    totals: ReachCounts
    schools: list[ReachPart] = Field(description="One per school (trust reports).")
    year_groups: list[ReachPart]
    classes: list[ReachPart] = Field(description="One per class (programme and school reports).")
    pupils: int = Field(description="Children in scope (the cohort the groups compare with).")
    visited: int = Field(description="…whose visit was completed.")
    groups: list[GroupReach]
    days: list[ReachOnDay] = Field(description="Each visit day so far, in order.")


class StaffLoad(Output):
    adults: int = Field(description="Adults with at least one visit.")
    adult_days: int = Field(description="Days an adult had at least one visit.")
    visits_per_adult_day: float | None = Field(description="Mean visits per adult-day.")
    most_visits_in_a_day: int | None
    longest_day_minutes: int | None = Field(
        description="The longest adult-day, from its first visit's start to its last visit's end."
    )


class PreferencesMet(Output):
    """Households placed on a visit that gave preferences."""

    placed_with_preferences: int | None
    first_choice: int | None
    another_listed_choice: int | None
    not_listed: int | None
    first_choice_share: float | None
    listed_share: float | None = Field(description="First or another listed choice.")


class SurveyHeadline(Output):
    """One audience's survey across the report's programmes. Counts are null while it is open."""

    audience: SurveyAudience
    open: bool = Field(description="Still open: responses are not counted yet.")
    closes_on: date | None
    invited: int | None
    responded: int | None
    response_rate: float | None
    headline_mean: float | None = Field(
        description="Mean of the Likert answers (1–5) to the core questions."
    )
    change_from_immediate: float | None = Field(
        default=None,
        description="Follow-up only: its headline mean minus the immediate survey's, over the "
        "same core questions.",
    )


class ReportProgramme(Output):
    programme_id: UUID
    school_id: UUID
    school_name: str
    name: str
    academic_year: str
    first_day: date | None
    last_day: date | None


class Report(Output):
    scope: ReportScope
    scope_id: UUID
    title: str
    generated_at: datetime
    suppressed_below: int = Field(description="Counts smaller than this (but 0) read null.")
    programmes: list[ReportProgramme]
    reach: Reach
    staff_load: StaffLoad
    preferences: PreferencesMet
    concerns_raised: int | None = Field(
        description="Concerns raised at the schools from the first visit day to the last: a count "
        "only, null when small."
    )
    surveys: list[SurveyHeadline]
