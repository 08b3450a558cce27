"""Every query on the surveys' tables, and the few it needs of visits' and parents'.

Templates belong to the trust (the tenancy floor keeps them to it); an invitation is read only by
the person or household it was issued to, so its repository narrows to exactly them.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy import Select, case, exists, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select, update

from app.core.bulk import ensure_in_trust
from app.core.models import FIRST_VERSION
from app.core.principal import Principal, PrincipalKind
from app.core.repository import ScopedRepository
from app.core.types import utcnow
from app.notifications.models import Message
from app.parents.models import Invitation
from app.programmes.models import VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.staff.models import StaffMember
from app.surveys.defaults import DEFAULTS
from app.surveys.models import SurveyAudience, SurveyInvitation, SurveyResponse, SurveyTemplate
from app.trusts.models import School
from app.visits.models import Visit, VisitAdult, VisitRole, VisitStatus

_template = SurveyTemplate.__table__  # type: ignore[attr-defined]
_invitation = SurveyInvitation.__table__  # type: ignore[attr-defined]
# Visits whose outcome is still to come: a teacher with one of these has not finished.
OPEN_VISITS = (VisitStatus.PROPOSED, VisitStatus.SCHEDULED)


def _insert(session_dialect: str) -> Any:
    return (postgresql if session_dialect == "postgresql" else sqlite).insert


async def ensure_defaults(session: AsyncSession, trust_id: UUID) -> None:
    """Give the trust the shipped surveys, as version 1 of each audience's key, the first time
    it needs them. A trust that already has any version of a key keeps it; two requests doing
    this at once write each once (the unique key decides)."""
    rows = [
        {
            "id": uuid4(),
            "trust_id": trust_id,
            "key": audience.value,
            "version_number": 1,
            "version": FIRST_VERSION,
            "audience": audience,
            "title": shipped["title"],
            "introduction": shipped["introduction"],
            "anonymous": True,
            "questions": shipped["questions"],
            "translations": {},
            "current": True,
            "updated_by": None,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
        for audience, shipped in DEFAULTS.items()
    ]
    ensure_in_trust(session, _template, rows)
    connection = await session.connection()
    # tenancy-exempt: each row was checked against the session's trust just above
    statement = (
        _insert(connection.dialect.name)(_template)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["trust_id", "key", "version_number"])
    )
    await connection.execute(statement)


async def current_templates(session: AsyncSession, trust_id: UUID) -> list[SurveyTemplate]:
    found = await session.scalars(
        select(SurveyTemplate)
        .where(col(SurveyTemplate.trust_id) == trust_id, col(SurveyTemplate.current))
        .order_by(col(SurveyTemplate.key))
    )
    return list(found)


async def template(
    session: AsyncSession,
    trust_id: UUID,
    key: str,
    version: int | None = None,
    *,
    for_update: bool = False,
) -> SurveyTemplate | None:
    """The current version of the key, or the version asked for."""
    statement = select(SurveyTemplate).where(
        col(SurveyTemplate.trust_id) == trust_id, col(SurveyTemplate.key) == key
    )
    if version is None:
        statement = statement.where(col(SurveyTemplate.current))
    else:
        statement = statement.where(col(SurveyTemplate.version_number) == version)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def template_by_id(session: AsyncSession, template_id: UUID) -> SurveyTemplate | None:
    return await session.get(SurveyTemplate, template_id)


async def issued(session: AsyncSession, template_ids: Sequence[UUID]) -> set[UUID]:
    """Those of the templates already issued to anyone: frozen."""
    if not template_ids:
        return set()
    found = await session.scalars(
        select(SurveyInvitation.template_id)
        .where(col(SurveyInvitation.template_id).in_(template_ids))
        .distinct()
    )
    return set(found)


async def insert_invitations(session: AsyncSession, rows: list[dict[str, Any]]) -> list[UUID]:
    """Issue the invitations whose cause (issue key) is new; the ids of those issued."""
    if not rows:
        return []
    ensure_in_trust(session, _invitation, rows)
    await session.flush()
    connection = await session.connection()
    # tenancy-exempt: each row was checked against the session's trust just above
    statement = (
        _insert(connection.dialect.name)(_invitation)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["issue_key"])
        .returning(_invitation.c.id)
    )
    return list((await connection.execute(statement)).scalars())


class InvitationRepository(ScopedRepository[SurveyInvitation]):
    """A survey is its respondent's alone: a member of staff reads the invitations issued to
    them, a parent those of their household in their programme; to anyone else it is missing."""

    model, label = SurveyInvitation, "survey"

    def base_statement(self) -> Select[Any]:
        who = self.principal
        statement = super().base_statement()
        if who.kind is PrincipalKind.PARENT:
            return statement.where(
                col(SurveyInvitation.household_id) == who.household_id,
                col(SurveyInvitation.programme_id) == who.programme_id,
            )
        return statement.where(col(SurveyInvitation.staff_id) == who.id)

    async def mine(self) -> list[SurveyInvitation]:
        statement = self.base_statement().order_by(
            col(SurveyInvitation.issued_at).desc(), col(SurveyInvitation.id)
        )
        return list(await self.session.scalars(statement))

    async def mark_responded(self, invitation: SurveyInvitation) -> bool:
        """Mark it answered unless it already is; False when another submission came first."""
        changed = await self.session.execute(
            update(SurveyInvitation)  # tenancy: the invitation was loaded through the scope
            .where(col(SurveyInvitation.id) == invitation.id, ~col(SurveyInvitation.responded))
            .values(responded=True, draft=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(changed.rowcount)  # type: ignore[attr-defined]


def add_response(session: AsyncSession, response: SurveyResponse) -> None:
    session.add(response)


async def responses(session: AsyncSession, template_id: UUID) -> list[SurveyResponse]:
    found = await session.scalars(
        select(SurveyResponse).where(col(SurveyResponse.template_id) == template_id)
    )
    return list(found)


async def teachers_finished(session: AsyncSession, visit: Visit) -> list[UUID]:
    """The visit's teachers with no other visit of the programme still to come (this was their
    last) and at least one that took place: this one, or another completed."""
    teacher = aliased(VisitAdult)
    statement = select(teacher.staff_id).where(
        teacher.visit_id == visit.id,
        teacher.role == VisitRole.TEACHER,
        ~exists(_teachers_other_visits(teacher, visit, OPEN_VISITS)),
    )
    if visit.status is not VisitStatus.COMPLETED:
        completed = (VisitStatus.COMPLETED,)
        statement = statement.where(exists(_teachers_other_visits(teacher, visit, completed)))
    found = await session.scalars(statement)
    return sorted(set(found))


def _teachers_other_visits(
    teacher: Any, visit: Visit, statuses: Sequence[VisitStatus]
) -> Select[Any]:
    return (
        select(VisitAdult.id)
        .join(Visit, col(Visit.id) == col(VisitAdult.visit_id))
        .where(
            col(VisitAdult.staff_id) == teacher.staff_id,
            col(Visit.programme_id) == visit.programme_id,
            col(Visit.id) != visit.id,
            col(Visit.status).in_(statuses),
        )
    )


async def follow_ups_due(session: AsyncSession, issued_before: datetime) -> list[SurveyInvitation]:
    """Immediate teacher surveys issued long enough ago whose follow-up is not yet issued."""
    follow_up = aliased(SurveyInvitation)
    issued_already = select(follow_up.id).where(
        follow_up.audience == SurveyAudience.TEACHER_FOLLOW_UP,
        follow_up.staff_id == SurveyInvitation.staff_id,
        follow_up.programme_id == SurveyInvitation.programme_id,
    )
    found = await session.scalars(
        select(SurveyInvitation).where(
            col(SurveyInvitation.audience) == SurveyAudience.TEACHER_IMMEDIATE,
            col(SurveyInvitation.issued_at) <= issued_before,
            ~exists(issued_already),
        )
    )
    return list(found)


async def untold_families(
    session: AsyncSession, since: datetime, now: datetime, cause_kind: str
) -> list[SurveyInvitation]:
    """Families' surveys issued since `since`, not answered, whose message is not yet written,
    of households with a live portal code (the message carries it)."""
    told = select(Message.id).where(
        col(Message.cause_kind) == cause_kind, col(Message.cause_id) == SurveyInvitation.id
    )
    live = select(Invitation.id).where(
        col(Invitation.programme_id) == SurveyInvitation.programme_id,
        col(Invitation.household_id) == SurveyInvitation.household_id,
        col(Invitation.revoked_at).is_(None),
        col(Invitation.expires_at) > now,
    )
    found = await session.scalars(
        select(SurveyInvitation)
        .where(
            col(SurveyInvitation.audience) == SurveyAudience.PARENT,
            ~col(SurveyInvitation.responded),
            col(SurveyInvitation.issued_at) >= since,
            ~exists(told),
            exists(live),
        )
        .order_by(col(SurveyInvitation.issued_at), col(SurveyInvitation.id))
    )
    return list(found)


async def reminders_due(
    session: AsyncSession, last_before: datetime, most: int
) -> list[SurveyInvitation]:
    """Unanswered invitations reminded fewer than `most` times, the last time (or their issue)
    before `last_before`."""
    found = await session.scalars(
        select(SurveyInvitation).where(
            ~col(SurveyInvitation.responded),
            col(SurveyInvitation.reminders_sent) < most,
            or_(
                col(SurveyInvitation.last_reminded_at) <= last_before,
                col(SurveyInvitation.last_reminded_at).is_(None)
                & (col(SurveyInvitation.issued_at) <= last_before),
            ),
        )
    )
    return list(found)


async def invitation_for_update(
    session: AsyncSession, invitation_id: UUID
) -> SurveyInvitation | None:
    found = await session.scalars(
        select(SurveyInvitation).where(col(SurveyInvitation.id) == invitation_id).with_for_update()
    )
    return found.one_or_none()


async def programme(session: AsyncSession, programme_id: UUID) -> VisitProgramme:
    found = await session.get(VisitProgramme, programme_id)
    assert found is not None, "a survey's programme is kept while it has surveys"
    return found


async def staff_names(session: AsyncSession, staff_ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await session.execute(
        select(StaffMember.id, StaffMember.full_name).where(col(StaffMember.id).in_(staff_ids))
    )
    return {row[0]: row[1] for row in rows}


async def live_code_sealed(
    session: AsyncSession, programme_id: UUID, household_id: UUID, now: datetime
) -> str | None:
    """The household's live portal code for the programme (sealed), if it has one."""
    found = await session.scalars(
        select(Invitation.code_sealed).where(
            col(Invitation.programme_id) == programme_id,
            col(Invitation.household_id) == household_id,
            col(Invitation.revoked_at).is_(None),
            col(Invitation.expires_at) > now,
        )
    )
    return found.first()


async def follow_household_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
    """A merged family's surveys follow it to the household kept."""
    await session.execute(
        update(SurveyInvitation)  # tenancy: both households came through the caller's scope
        .where(col(SurveyInvitation.household_id) == from_id)
        .values(household_id=to_id)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Tally:
    """The invitations of one school, audience and template version in a set of programmes."""

    school_id: UUID
    audience: SurveyAudience
    template_id: UUID
    invited: int
    responded: int
    last_issued_at: datetime
    last_answered_at: datetime | None


async def tallies(session: AsyncSession, programme_ids: Sequence[UUID]) -> list[Tally]:
    """One grouped read: how many were invited and answered, and when last issued and answered
    (an answered invitation is not changed again, so its update is its answer)."""
    if not programme_ids:
        return []
    answered = col(SurveyInvitation.responded)
    rows = await session.execute(
        sa.select(  # tenancy: the trust floor; the programmes came through the caller's scope
            col(SurveyInvitation.school_id),
            col(SurveyInvitation.audience),
            col(SurveyInvitation.template_id),
            func.count(),
            func.sum(case((answered, 1), else_=0)),
            func.max(col(SurveyInvitation.issued_at)),
            func.max(case((answered, col(SurveyInvitation.updated_at)))),
        )
        .where(col(SurveyInvitation.programme_id).in_(programme_ids))
        .group_by(
            col(SurveyInvitation.school_id),
            col(SurveyInvitation.audience),
            col(SurveyInvitation.template_id),
        )
    )
    return [
        Tally(school, SurveyAudience(audience), template, invited, int(responded), issued, last)
        for school, audience, template, invited, responded, issued, last in rows.all()
    ]


async def answers_given(
    session: AsyncSession, programme_ids: Sequence[UUID], audience: SurveyAudience | None = None
) -> list[tuple[UUID, SurveyAudience, UUID, dict[str, Any]]]:
    """(school, audience, template, answers) of every response in the programmes, in one read:
    never which invitation, nor the week."""
    if not programme_ids:
        return []
    statement = select(  # tenancy: the trust floor; the programmes came through the scope
        col(SurveyResponse.school_id),
        col(SurveyResponse.audience),
        col(SurveyResponse.template_id),
        col(SurveyResponse.answers),
    ).where(col(SurveyResponse.programme_id).in_(programme_ids))
    if audience is not None:
        statement = statement.where(col(SurveyResponse.audience) == audience)
    rows = await session.execute(statement)
    return [(s, SurveyAudience(a), t, answers) for s, a, t, answers in rows.all()]


async def templates_by_id(
    session: AsyncSession, template_ids: Iterable[UUID]
) -> dict[UUID, SurveyTemplate]:
    wanted = set(template_ids)
    if not wanted:
        return {}
    found = await session.scalars(select(SurveyTemplate).where(col(SurveyTemplate.id).in_(wanted)))
    return {row.id: row for row in found}


async def programme_ids(
    session: AsyncSession,
    who: Principal,
    *,
    school_id: UUID | None = None,
    academic_year: str | None = None,
) -> list[UUID]:
    """The programmes the caller sees (of one school, of one year, when given)."""
    statement = ProgrammeRepository(session, who).base_statement()
    if school_id is not None:
        statement = statement.where(col(VisitProgramme.school_id) == school_id)
    if academic_year is not None:
        statement = statement.where(col(VisitProgramme.academic_year) == academic_year)
    found = await session.scalars(
        statement.with_only_columns(col(VisitProgramme.id)).order_by(col(VisitProgramme.id))
    )
    return list(found)


async def school_names(session: AsyncSession, school_ids: Iterable[UUID]) -> dict[UUID, str]:
    wanted = set(school_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(School.id, School.name).where(col(School.id).in_(wanted))  # tenancy: the floor
    )
    return {row[0]: row[1] for row in rows}
