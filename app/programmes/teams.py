"""Who visits: each class's team (one or two teachers and a default second adult) and the pool of
second adults (support staff, SLT) the scheduler may pair with any teacher.

SPEC: untrained staff are not scheduled, and every visit has two adults. So everyone named must
have visit training dated today or earlier (Europe/London), be active, and be on the staff of the
programme's school (a role there, or a trust-level role); the second adult is not also one of
the teachers. Teams and the pool are fixed once the schedule is published. Raises NotFound (404:
programme or class out of scope), Forbidden (403), TeamsLocked (409), StaffNotEligible (422).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.concurrency import ensure_matches, etag, members_version
from app.core.errors import joined, json_pointer
from app.core.london import london_today
from app.core.permissions import Permission
from app.core.principal import Principal
from app.programmes.capacity import ClassCapacity, capacities
from app.programmes.exceptions import StaffNotEligible, TeamsLocked
from app.programmes.models import ProgrammeStatus, TeamMember, TeamRole, VisitProgramme
from app.programmes.repository import ProgrammeRepository, TeamRepository
from app.programmes.schemas import (
    ClassCapacityRead,
    ClassTeamRead,
    ProgrammeWarning,
    SecondAdultsRead,
    SecondAdultsWrite,
    TeamPerson,
    TeamWrite,
)
from app.roster.models import ClassStaffRole, SchoolClass
from app.roster.repository import ClassRepository
from app.staff.models import StaffMember
from app.staff.repository import StaffRepository

LOCKED = frozenset({ProgrammeStatus.PUBLISHED, ProgrammeStatus.IN_PROGRESS, ProgrammeStatus.CLOSED})


def is_trained(staff: StaffMember, today: date) -> bool:
    trained_on = staff.visit_training_completed_date
    return trained_on is not None and trained_on <= today


@dataclass(frozen=True)
class Staffing:
    """The people a programme's teams name, and which of them are on the school's staff."""

    people: dict[UUID, StaffMember]
    on_staff: set[UUID]
    today: date

    def person(self, staff_id: UUID) -> TeamPerson:
        staff = self.people[staff_id]
        return TeamPerson(
            staff_id=staff.id, full_name=staff.full_name, trained=is_trained(staff, self.today)
        )

    def problems(self, staff_id: UUID) -> list[str]:
        """Why this person cannot visit for the school, in plain English."""
        staff = self.people.get(staff_id)
        if staff is None or staff_id not in self.on_staff:
            name = staff.full_name if staff else f"Staff member {staff_id}"
            return [f"{name} is not a member of staff at this school"]
        found = []
        if not staff.is_active:
            found.append(f"{staff.full_name}'s account is deactivated")
        trained_on = staff.visit_training_completed_date
        if trained_on is None:
            found.append(f"{staff.full_name} has no visit training recorded")
        elif trained_on > self.today:
            found.append(f"{staff.full_name}'s visit training is dated {trained_on}, after today")
        return found


async def _staffing(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    staff_ids: Iterable[UUID],
    *,
    saved: bool,
) -> Staffing:
    """`saved`: the ids come from saved teams, whose names were checked when they were set. Ids
    from a request are named only if they are on the school's staff, so an id of a stranger
    cannot be used to read their name."""
    ids = set(staff_ids)
    repository = StaffRepository(session, who)
    on_staff = await repository.on_staff_of(programme.school_id, ids)
    people = await repository.people(ids if saved else on_staff)
    return Staffing(people, on_staff, london_today())


def _ensure_unlocked(programme: VisitProgramme) -> None:
    if programme.status in LOCKED:
        raise TeamsLocked(
            f"The programme is {programme.status}: its teams and second adults are fixed. "
            "Change visits one by one instead."
        )


async def ensure_eligible(
    session: AsyncSession, who: Principal, programme: VisitProgramme, named: dict[UUID, str]
) -> None:
    """The one rule for putting an adult on a programme's visits, whichever way it is done (a
    team, the pool, a visit's second adult): 422 naming each person who cannot visit."""
    _refuse_ineligible(await _staffing(session, who, programme, named, saved=False), named)


def _refuse_ineligible(staffing: Staffing, named: dict[UUID, str]) -> None:
    """Raise StaffNotEligible naming everyone who cannot visit; `named` maps id to pointer."""
    errors = [
        {"pointer": pointer, "detail": problem}
        for staff_id, pointer in named.items()
        for problem in staffing.problems(staff_id)
    ]
    if errors:
        raise StaffNotEligible(
            joined([e["detail"] for e in errors]) + ".", extra={"errors": errors}
        )


async def list_teams(
    session: AsyncSession, who: Principal, programme_id: UUID
) -> list[ClassTeamRead]:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_READ
    )
    classes = await TeamRepository(session, who).classes(programme)
    return await _describe(session, who, programme, classes)


async def capacity_warnings(
    session: AsyncSession, programme: VisitProgramme
) -> list[ProgrammeWarning]:
    """Told as the programme opens for answers, before parents choose: a school may still fix
    its days, slots or teams, so it is a warning, not a refusal."""
    return [
        ProgrammeWarning(
            type="class-over-capacity",
            class_id=class_id,
            detail=f"{c.class_name}: {c.detail}",
        )
        for class_id, c in (await capacities(session, programme)).items()
        if c.over
    ]


async def set_team(
    session: AsyncSession, who: Principal, programme_id: UUID, class_id: UUID, body: TeamWrite
) -> ClassTeamRead:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE
    )
    teams = TeamRepository(session, who)
    school_class = await teams.class_in_scope(programme, class_id)
    _ensure_unlocked(programme)
    named = {s: json_pointer("teacher_ids", i) for i, s in enumerate(body.teacher_ids)}
    named.setdefault(body.second_adult_id, json_pointer("second_adult_id"))
    staffing = await _staffing(session, who, programme, named, saved=False)
    _refuse_ineligible(staffing, named)
    if body.second_adult_id in body.teacher_ids:
        name = staffing.people[body.second_adult_id].full_name
        raise StaffNotEligible(
            f"{name} is one of the teachers, so cannot also be the second adult: a visit needs "
            "two different adults.",
            extra={
                "errors": [{"pointer": json_pointer("second_adult_id"), "detail": "also a teacher"}]
            },
        )
    await teams.replace_team(programme, school_class.id, body.teacher_ids, body.second_adult_id)
    (described,) = await _describe(session, who, programme, [school_class])
    return described


async def _describe(
    session: AsyncSession, who: Principal, programme: VisitProgramme, classes: list[SchoolClass]
) -> list[ClassTeamRead]:
    class_ids = [c.id for c in classes]
    members = await TeamRepository(session, who).members(programme.id, class_ids)
    staffing = await _staffing(session, who, programme, (m.staff_id for m in members), saved=True)
    mis_staff = await ClassRepository(session, who).staff_of(class_ids)
    counted = await capacities(session, programme)
    return [
        _class_team(
            school_class,
            [m for m in members if m.class_id == school_class.id],
            [s for s, role in mis_staff[school_class.id] if role == ClassStaffRole.TEACHER],
            staffing,
            counted.get(school_class.id),
        )
        for school_class in classes
    ]


def _class_team(
    school_class: SchoolClass,
    members: list[TeamMember],
    suggested: list[UUID],
    staffing: Staffing,
    capacity: ClassCapacity | None,
) -> ClassTeamRead:
    teachers = [m.staff_id for m in members if m.role is TeamRole.TEACHER]
    second = next((m.staff_id for m in members if m.role is TeamRole.SECOND_ADULT), None)
    problems = [] if teachers else ["No class teacher"]
    if second is None:
        problems.append("No second adult")
    for staff_id in [*teachers, *([second] if second else [])]:
        problems.extend(staffing.problems(staff_id))
    if capacity is not None and capacity.detail is not None:
        problems.append(capacity.detail)
    return ClassTeamRead(
        class_id=school_class.id,
        class_name=school_class.name,
        year_group=school_class.year_group,
        teachers=[staffing.person(s) for s in teachers],
        second_adult=staffing.person(second) if second else None,
        suggested_teacher_ids=suggested,
        capacity=_capacity_read(capacity),
        problems=problems,
    )


def _capacity_read(capacity: ClassCapacity | None) -> ClassCapacityRead:
    if capacity is None:  # a class the scheduler does not plan for (inactive)
        return ClassCapacityRead(families=0, visits_possible=None, limited_by=None, problem=None)
    return ClassCapacityRead(
        families=capacity.families,
        visits_possible=capacity.possible,
        limited_by=UUID(capacity.limited_by) if capacity.limited_by else None,
        problem=capacity.detail,
    )


async def get_pool(session: AsyncSession, who: Principal, programme_id: UUID) -> SecondAdultsRead:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_READ
    )
    return await _describe_pool(session, who, programme)


def pool_etag(programme_id: UUID, pool: SecondAdultsRead) -> str:
    """The pool has no row of its own: its version is its members'."""
    return etag(programme_id, members_version(p.staff_id for p in pool.staff))


async def set_pool(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    body: SecondAdultsWrite,
    if_match: str | None = None,
) -> SecondAdultsRead:
    # Locked, so two SLT replacing the pool at once take turns and the second's If-Match fails.
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE, for_update=True
    )
    held = await TeamRepository(session, who).pool(programme.id)
    ensure_matches(etag(programme.id, members_version(held)), if_match)
    _ensure_unlocked(programme)
    named = {s: json_pointer("staff_ids", i) for i, s in enumerate(body.staff_ids)}
    await ensure_eligible(session, who, programme, named)
    await TeamRepository(session, who).replace_pool(programme, body.staff_ids)
    return await _describe_pool(session, who, programme)


async def _describe_pool(
    session: AsyncSession, who: Principal, programme: VisitProgramme
) -> SecondAdultsRead:
    staff_ids = await TeamRepository(session, who).pool(programme.id)
    staffing = await _staffing(session, who, programme, staff_ids, saved=True)
    return SecondAdultsRead(
        staff=[staffing.person(s) for s in staff_ids],
        problems=[p for s in staff_ids for p in staffing.problems(s)],
    )
