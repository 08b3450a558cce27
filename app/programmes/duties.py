"""The duty rota: for each visit day, who hears first when visiting adults are overdue (an
office or SLT member) and which designated safeguarding lead is on call, with deputies.

SLT name them day by day; everyone at the school may read the rota, since whoever is out on
visits must know whom to ring. A person is named only for a duty their role allows (the office
or SLT for safety; the school's DSLs, or the trust's, for safeguarding) and only while active.
"""

from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import NotFound, json_pointer
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.programmes.duties_repository import DutyRepository
from app.programmes.exceptions import OnCallMissing, ProgrammeClosed, StaffNotEligible
from app.programmes.models import DayDuty, Duty, ProgrammeStatus, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.schemas import DayDutiesRead, DayDutiesWrite, DutyPerson, DutyRotaRead
from app.programmes.transitions import TransitionContext
from app.staff.models import StaffMember
from app.staff.repository import StaffRepository

DUTY_WORDS = {
    Duty.SAFETY_CONTACT: "an office or SLT member of the school",
    Duty.DSL_ON_CALL: "a designated safeguarding lead of the school or the trust",
    Duty.DSL_DEPUTY: "a designated safeguarding lead of the school or the trust",
}


async def get_rota(session: AsyncSession, who: Principal, programme_id: UUID) -> DutyRotaRead:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_READ
    )
    return await _describe(session, who, programme)


async def set_day(
    session: AsyncSession, who: Principal, programme_id: UUID, day: date, body: DayDutiesWrite
) -> DayDutiesRead:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.PROGRAMMES_MANAGE, for_update=True
    )
    if day not in programme.days():
        raise NotFound(f"{day.isoformat()} is not a visit day of this programme.")
    if programme.status is ProgrammeStatus.CLOSED:
        raise ProgrammeClosed("The programme is closed: its rota is history now.")
    named = _named(body)
    await _ensure_allowed(session, who, programme, named)
    duties = DutyRepository(session, who)
    await duties.replace_day(programme, day, [(d, s) for d, s, _ in named], who.id, utcnow())
    await audit.record(
        session,
        who,
        "programme.duties_named",
        subject_type="programme",
        subject_id=programme.id,
        school_id=programme.school_id,
        details={"day": day.isoformat(), "named": [[d.value, str(s)] for d, s, _ in named]},
    )
    rota = await _describe(session, who, programme)
    return next(d for d in rota.days if d.day == day)


def _named(body: DayDutiesWrite) -> list[tuple[Duty, UUID, str]]:
    """Each (duty, person, JSON pointer) the body names, deputies in their order."""
    named = []
    if body.safety_contact_id is not None:
        named.append((Duty.SAFETY_CONTACT, body.safety_contact_id, "/safety_contact_id"))
    if body.dsl_on_call_id is not None:
        named.append((Duty.DSL_ON_CALL, body.dsl_on_call_id, "/dsl_on_call_id"))
    named += [
        (Duty.DSL_DEPUTY, s, json_pointer("dsl_deputy_ids", i))
        for i, s in enumerate(body.dsl_deputy_ids)
    ]
    return named


async def _ensure_allowed(
    session: AsyncSession,
    who: Principal,
    programme: VisitProgramme,
    named: list[tuple[Duty, UUID, str]],
) -> None:
    """422 naming everyone whose role (or deactivated account) does not allow their duty. A
    stranger's id is refused without their name, so it cannot be used to read one."""
    duties = DutyRepository(session, who)
    allowed = {
        duty: await duties.holders(programme.school_id, {s for d, s, _ in named if d is duty}, duty)
        for duty in {d for d, _, _ in named}
    }
    errors = []
    for duty, staff_id, pointer in named:
        if staff_id not in allowed[duty]:
            errors.append(
                {
                    "pointer": pointer,
                    "detail": f"Staff member {staff_id} is not {DUTY_WORDS[duty]} with an "
                    "active account",
                }
            )
    if errors:
        raise StaffNotEligible(
            "; ".join(e["detail"] for e in errors) + ".", extra={"errors": errors}
        )


async def refuse_publishing_without_on_call(
    session: AsyncSession, programme: VisitProgramme, context: TransitionContext
) -> None:
    """Every visit day has a designated safeguarding lead to ring (KCSIE: visits before term
    are out-of-term activity): publishing waits until each names one on call."""
    rota = await _describe(session, context.who, programme)
    missing = [d.day.isoformat() for d in rota.days if d.dsl_on_call is None]
    if missing:
        raise OnCallMissing(
            f"Not published: no designated safeguarding lead is on call on {', '.join(missing)}. "
            "Name one for each visit day (PUT …/duty-rota/{day}), then publish.",
            extra={"days": missing},
        )


async def rota_of(session: AsyncSession, who: Principal, programme: VisitProgramme) -> DutyRotaRead:
    """The rota of a programme the caller has already loaded (and may read)."""
    return await _describe(session, who, programme)


async def _describe(
    session: AsyncSession, who: Principal, programme: VisitProgramme
) -> DutyRotaRead:
    rows = await DutyRepository(session, who).of_programme(programme.id)
    people = await StaffRepository(session, who).people({r.staff_id for r in rows})
    days = [_day(day, [r for r in rows if r.day == day], people) for day in programme.days()]
    unnamed = [
        f"{d.day.isoformat()}: no designated safeguarding lead on call"
        for d in days
        if d.dsl_on_call is None
    ] + [f"{d.day.isoformat()}: no deputy DSL" for d in days if not d.dsl_deputies]
    return DutyRotaRead(days=days, unnamed=sorted(unnamed))


def _day(day: date, rows: list[DayDuty], people: dict[UUID, StaffMember]) -> DayDutiesRead:
    def person(row: DayDuty) -> DutyPerson:
        return DutyPerson(staff_id=row.staff_id, full_name=people[row.staff_id].full_name)

    def first(duty: Duty) -> DutyPerson | None:
        found = [person(r) for r in rows if r.duty is duty]
        return found[0] if found else None

    return DayDutiesRead(
        day=day,
        safety_contact=first(Duty.SAFETY_CONTACT),
        dsl_on_call=first(Duty.DSL_ON_CALL),
        dsl_deputies=[person(r) for r in rows if r.duty is Duty.DSL_DEPUTY],
    )
