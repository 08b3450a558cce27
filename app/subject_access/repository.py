"""Reads for subject access: the requests (at the caller's schools), and the pupil's data across
the areas that hold it, all under the trust floor and for one school's pupil."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, false
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.permissions import Permission
from app.core.repository import ScopedRepository
from app.parents.answers_models import HouseholdAnswer
from app.roster.models import Contact, Household, Pupil, SchoolClass
from app.subject_access.models import SubjectAccessRequest
from app.visits.models import Visit, VisitPupil
from app.visits.notes_models import VisitNote


class RequestRepository(ScopedRepository[SubjectAccessRequest]):
    model, label = SubjectAccessRequest, "subject access request"


class ReleasableRepository(ScopedRepository[SubjectAccessRequest]):
    """Requests at the schools where the caller is a DSL (or across the trust, a trust DSL): to
    anyone else a release answers 404, as a concern does, and says nothing of whether there is
    anything to release."""

    model, label = SubjectAccessRequest, "subject access request"

    def base_statement(self) -> Select[Any]:
        schools = self.principal.schools_with(Permission.SAFEGUARDING_READ)
        statement = select(SubjectAccessRequest)
        if schools is None:
            return statement
        if not schools:
            return statement.where(false())
        return statement.where(col(SubjectAccessRequest.school_id).in_(schools))


async def class_name(session: AsyncSession, class_id: UUID | None) -> str | None:
    if class_id is None:
        return None
    found: str | None = await session.scalar(
        select(SchoolClass.name).where(col(SchoolClass.id) == class_id)  # tenancy: the floor
    )
    return found


async def household(session: AsyncSession, household_id: UUID | None) -> Household | None:
    if household_id is None:
        return None
    found: Household | None = await session.scalar(
        select(Household).where(col(Household.id) == household_id)  # tenancy: the trust floor
    )
    return found


async def contacts(session: AsyncSession, household_id: UUID) -> Sequence[Contact]:
    rows = await session.scalars(
        select(Contact)  # tenancy: the trust floor; the pupil's household
        .where(col(Contact.household_id) == household_id)
        .order_by(col(Contact.priority), col(Contact.name), col(Contact.id))
    )
    return rows.all()


async def visits(session: AsyncSession, pupil: Pupil) -> list[tuple[Visit, Any]]:
    """The school's visits the pupil was part of, with the pupil's own outcome, oldest first."""
    rows = await session.execute(
        select(Visit, VisitPupil.outcome)  # tenancy: the trust floor; the pupil's school
        .join(VisitPupil, col(VisitPupil.visit_id) == col(Visit.id))
        .where(col(VisitPupil.pupil_id) == pupil.id, col(Visit.school_id) == pupil.school_id)
        .order_by(col(Visit.starts_at), col(Visit.id))
    )
    return [(visit, outcome) for visit, outcome in rows.all()]


async def notes(session: AsyncSession, pupil: Pupil) -> Sequence[VisitNote]:
    rows = await session.scalars(
        select(VisitNote)  # tenancy: the trust floor; the pupil's school
        .where(col(VisitNote.pupil_id) == pupil.id, col(VisitNote.school_id) == pupil.school_id)
        .order_by(col(VisitNote.created_at), col(VisitNote.id))
    )
    return rows.all()


async def answers(session: AsyncSession, pupil: Pupil) -> Sequence[HouseholdAnswer]:
    if pupil.household_id is None:
        return []
    rows = await session.scalars(
        select(HouseholdAnswer)  # tenancy: the trust floor; the pupil's school
        .where(
            col(HouseholdAnswer.household_id) == pupil.household_id,
            col(HouseholdAnswer.school_id) == pupil.school_id,
        )
        .order_by(col(HouseholdAnswer.submitted_at), col(HouseholdAnswer.id))
    )
    return rows.all()


async def pupil(session: AsyncSession, pupil_id: UUID) -> Pupil:
    found: Pupil | None = await session.scalar(
        select(Pupil).where(col(Pupil.id) == pupil_id)  # tenancy: a request already in scope
    )
    assert found is not None, "a request's pupil is kept (a foreign key)"
    return found
