from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Select, func
from sqlmodel import col, select, update

from app.core.jobs import Job
from app.core.lean import LeanQuery, Row, in_trust, trust_of
from app.core.pagination import PageParams, SortKey, lean_page
from app.core.repository import ScopedRepository, in_schools
from app.roster.models import (
    ClassStaff,
    Contact,
    Household,
    HouseholdSource,
    Pupil,
    RosterImport,
    SchoolClass,
)
from app.trusts.models import School


class ClassRepository(ScopedRepository[SchoolClass]):
    model, label = SchoolClass, "class"

    async def staff_of(self, class_ids: list[UUID]) -> dict[UUID, list[tuple[UUID, Any]]]:
        found: dict[UUID, list[tuple[UUID, Any]]] = {c: [] for c in class_ids}
        if class_ids:
            rows = await self.session.execute(
                select(ClassStaff.class_id, ClassStaff.staff_id, ClassStaff.role)
                .where(col(ClassStaff.class_id).in_(class_ids))
                .order_by(col(ClassStaff.staff_id))
            )
            for class_id, staff_id, role in rows:
                found[class_id].append((staff_id, role))
        return found

    async def on_roll_counts(self, class_ids: list[UUID]) -> dict[UUID, int]:
        if not class_ids:
            return {}
        rows = await self.session.execute(
            select(Pupil.class_id, func.count())
            .where(col(Pupil.class_id).in_(class_ids), col(Pupil.on_roll).is_(True))
            .group_by(col(Pupil.class_id))
        )
        return dict(rows.all())

    async def staffed_by(self, staff_id: UUID) -> set[UUID]:
        """Classes a staff member teaches or supports: their need to know."""
        rows = await self.session.scalars(
            select(ClassStaff.class_id).where(col(ClassStaff.staff_id) == staff_id)
        )
        return set(rows)


PUPIL_COLUMNS = (
    Pupil.id,
    Pupil.school_id,
    Pupil.mis_id,
    Pupil.upn,
    Pupil.legal_first_name,
    Pupil.legal_last_name,
    Pupil.preferred_first_name,
    Pupil.preferred_last_name,
    Pupil.date_of_birth,
    Pupil.sex,
    Pupil.class_id,
    SchoolClass.year_group,
    Pupil.household_id,
    Pupil.on_roll,
    Pupil.left_on,
    Pupil.updated_at,
    Pupil.send,
    Pupil.eal,
    Pupil.home_language,
    Pupil.free_school_meals,
    Pupil.pupil_premium,
    Pupil.looked_after,
)


_school = School.__table__  # type: ignore[attr-defined]
SCHOOL_IN_TRUST = LeanQuery(
    sa.select(_school.c.id).where(
        _school.c.id == sa.bindparam("school_id"), _school.c.trust_id == sa.bindparam("trust_id")
    )
)


def pupil_filter(name: str, value: Any) -> Any:
    """The listing's clause for one filter of PupilFilters, the one place each is written.
    `value` is the filter's value or, on the lean path, a bind parameter standing for it;
    `on_roll` is always the value itself (IS TRUE / IS FALSE takes no parameter)."""
    if name == "on_roll":
        return col(Pupil.on_roll).is_(value)
    if name == "year_group":
        return col(SchoolClass.year_group) == value
    if name == "updated_since":
        return col(Pupil.updated_at) >= value
    return getattr(Pupil, name) == value


def _listing(in_trust_of: Callable[[Any], Any]) -> Select[Any]:
    """PUPIL_COLUMNS joined to the class for its year group, in one query: the listing's one
    shape. `in_trust_of(model)` keeps each table to the trust (see PupilRepository)."""
    statement: Select[Any] = (
        select(*PUPIL_COLUMNS)  # type: ignore[call-overload]
        .outerjoin(
            SchoolClass,
            sa.and_(col(SchoolClass.id) == col(Pupil.class_id), in_trust_of(SchoolClass)),
        )
        .where(in_trust_of(Pupil))
    )
    return statement


def _bound_trust(model: Any) -> Any:
    """The trust as the lean path's bind parameter."""
    return col(model.trust_id) == sa.bindparam("trust_id")


class PupilRepository(ScopedRepository[Pupil]):
    model, label = Pupil, "pupil"

    def listing(self) -> Select[Any]:
        """The listing (see _listing) at the caller's schools, its trust written in on both
        tables as well as given by the ORM's floor."""
        scope = self.principal.scope
        statement = _listing(lambda model: in_trust(model, scope))
        return in_schools(statement, Pupil, scope.school_ids)

    async def page(
        self,
        school_id: UUID,
        filters: Mapping[str, Any],
        params: PageParams,
        keys: Sequence[SortKey],
    ) -> tuple[list[Row], str | None]:
        """A page of the school's listing (PUPIL_COLUMNS) on the lean path: the statement is
        built once per set of filters given, and names the caller's trust on both tables."""
        given = tuple(sorted((n, v if n == "on_roll" else None) for n, v in filters.items()))

        def build() -> Select[Any]:
            # The trust and school are bind parameters: one statement serves every caller.
            return _listing(_bound_trust).where(
                col(Pupil.school_id) == sa.bindparam("school_id"),
                *(
                    pupil_filter(
                        name, on_roll if name == "on_roll" else sa.bindparam(f"filter_{name}")
                    )
                    for name, on_roll in given
                ),
            )

        values = {f"filter_{name}": value for name, value in filters.items() if name != "on_roll"}
        values |= {"trust_id": trust_of(self.session), "school_id": school_id}
        shape = ("pupils", given, tuple(k.column.key for k in keys))
        return await lean_page(self.session, shape, build, params, keys, values)

    async def school_visible(self, school_id: UUID) -> bool:
        """Whether the school is one the caller may list (a hot read, on the lean path)."""
        schools = self.principal.scope.school_ids
        if schools is not None and school_id not in schools:
            return False
        trust_id = trust_of(self.session)
        return (
            await SCHOOL_IN_TRUST.first(self.session, school_id=school_id, trust_id=trust_id)
            is not None
        )


class HouseholdRepository(ScopedRepository[Household]):
    """A household is visible through a pupil the caller can see; trust-wide roles see all."""

    model, label = Household, "household"

    def base_statement(self) -> Select[Any]:
        schools = self.principal.scope.school_ids
        statement = select(Household)
        if self.principal.household_id is not None:  # a parent: their own home only
            return statement.where(col(Household.id) == self.principal.household_id)
        if schools is None:
            return statement
        homes = select(Pupil.household_id).where(col(Pupil.school_id).in_(schools))
        return statement.where(col(Household.id).in_(homes))

    async def visible_pupils(self, household_id: UUID) -> list[tuple[UUID, UUID | None]]:
        """(pupil id, class id) of the household's pupils at the caller's schools."""
        statement = in_schools(
            select(Pupil.id, Pupil.class_id).where(col(Pupil.household_id) == household_id),
            Pupil,
            self.principal.scope.school_ids,
        )
        return [
            (pupil_id, class_id) for pupil_id, class_id in await self.session.execute(statement)
        ]

    async def keeps_pupils_besides(self, household_id: UUID, pupil_ids: list[UUID]) -> bool:
        """Whether the household has pupils other than these, at any school of the trust: a
        split must not empty it, even of children the caller cannot see."""
        found = await self.session.scalar(
            select(col(Pupil.id)).where(
                col(Pupil.household_id) == household_id, col(Pupil.id).not_in(pupil_ids)
            )
        )
        return found is not None

    async def move_contacts(self, from_id: UUID, to_id: UUID) -> None:
        await self.session.execute(
            update(Contact).where(col(Contact.household_id) == from_id).values(household_id=to_id)
        )

    async def move_sources(self, from_id: UUID, to_id: UUID, schools: set[UUID] | None) -> None:
        """Each school's family id follows its pupils (every school's, with None)."""
        statement = update(HouseholdSource).where(col(HouseholdSource.household_id) == from_id)
        if schools is not None:
            statement = statement.where(col(HouseholdSource.school_id).in_(schools))
        await self.session.execute(statement.values(household_id=to_id))

    async def contacts(self, household_id: UUID) -> list[Contact]:
        rows = await self.session.scalars(
            select(Contact)
            .where(col(Contact.household_id) == household_id)
            .order_by(col(Contact.priority), col(Contact.id))
        )
        return list(rows)


class RosterImportRepository(ScopedRepository[RosterImport]):
    model, label = RosterImport, "roster import"

    async def job_of(self, upload: RosterImport) -> Job:
        job = await self.session.get(Job, upload.job_id)
        assert job is not None
        return job

    @staticmethod
    async def for_job(session: Any, import_id: UUID) -> RosterImport:
        """The upload a job works on, read under the job's own scope (its trust and school)."""
        found: RosterImport | None = await session.get(RosterImport, import_id)
        if found is None:
            raise LookupError(f"roster import {import_id} is gone")
        return found
