"""Reads and writes of a programme's duty rota, and who may hold each duty."""

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from app.core.permissions import Role
from app.core.repository import ScopedRepository
from app.programmes.models import DayDuty, Duty, VisitProgramme
from app.staff.models import RoleGrant, StaffMember

# Duty → the roles that may hold it at the school, and the trust-level roles that may cover.
HOLDERS: dict[Duty, tuple[frozenset[Role], frozenset[Role]]] = {
    Duty.SAFETY_CONTACT: (frozenset({Role.OFFICE, Role.SCHOOL_ADMIN}), frozenset()),
    Duty.DSL_ON_CALL: (frozenset({Role.DSL}), frozenset({Role.TRUST_DSL})),
    Duty.DSL_DEPUTY: (frozenset({Role.DSL}), frozenset({Role.TRUST_DSL})),
}


class DutyRepository(ScopedRepository[DayDuty]):
    model, label = DayDuty, "duty"

    async def of_programme(self, programme_id: UUID) -> list[DayDuty]:
        rows = await self.session.scalars(
            self.base_statement()
            .where(col(DayDuty.programme_id) == programme_id)
            .order_by(col(DayDuty.day), col(DayDuty.rank), col(DayDuty.id))
        )
        return list(rows)

    async def replace_day(
        self,
        programme: VisitProgramme,
        day: date,
        named: list[tuple[Duty, UUID]],
        by: UUID,
        at: datetime,
    ) -> None:
        await self.session.execute(
            sa.delete(DayDuty).where(
                col(DayDuty.programme_id) == programme.id, col(DayDuty.day) == day
            )
        )
        self.session.add_all(
            DayDuty(
                trust_id=programme.trust_id,
                school_id=programme.school_id,
                programme_id=programme.id,
                day=day,
                duty=duty,
                staff_id=staff_id,
                rank=rank,
                named_by=by,
                named_at=at,
            )
            for rank, (duty, staff_id) in enumerate(named)
        )
        await self.session.flush()

    async def holders(self, school_id: UUID, staff_ids: Collection[UUID], duty: Duty) -> set[UUID]:
        """Which of `staff_ids` are active and hold a role at the school (or in the trust) that
        allows `duty`."""
        at_school, in_trust = HOLDERS[duty]
        if not staff_ids:
            return set()
        conditions = [
            (col(RoleGrant.school_id) == school_id) & col(RoleGrant.role).in_(list(at_school))
        ]
        if in_trust:
            conditions.append(
                col(RoleGrant.school_id).is_(None) & col(RoleGrant.role).in_(list(in_trust))
            )
        rows = await self.session.scalars(
            select(RoleGrant.staff_id)
            .join(StaffMember, col(StaffMember.id) == col(RoleGrant.staff_id))
            .where(
                col(RoleGrant.staff_id).in_(list(staff_ids)),
                col(StaffMember.is_active).is_(True),
                or_(*conditions),
            )
        )
        return set(rows)


async def named_on(
    session: AsyncSession, school_id: UUID, day: date
) -> dict[Duty, list[tuple[UUID, str]]]:
    """Who the school's programmes name for each duty on `day`: active staff, by name, deputies
    in the order they are called (system reads: alerts run outside any request)."""
    rows = await session.execute(
        select(DayDuty.duty, StaffMember.id, StaffMember.full_name)  # tenancy: system scope
        .join(StaffMember, col(StaffMember.id) == col(DayDuty.staff_id))
        .where(
            col(DayDuty.school_id) == school_id,
            col(DayDuty.day) == day,
            col(StaffMember.is_active).is_(True),
        )
        .order_by(col(DayDuty.rank), col(DayDuty.id))
    )
    found: dict[Duty, list[tuple[UUID, str]]] = defaultdict(list)
    for duty, staff_id, name in rows.all():
        if (staff_id, name) not in found[Duty(duty)]:
            found[Duty(duty)].append((staff_id, name))
    return found
