"""Households without a home address: the office's data-quality list, and giving one its address.

OneRoster carries no addresses, so a school importing plain OneRoster gets its households without
one, flagged "address needed". The scheduler cannot place such a household at home until the
office gives it an address here (or a later MIS sync carries one).
"""

from collections import defaultdict
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core import audit
from app.core.concurrency import etag_of, save_versioned
from app.core.errors import Unprocessable
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.roster.models import Household, HouseholdSource, Pupil, SchoolClass
from app.roster.repository import HouseholdRepository
from app.roster.schemas import (
    AddressNeededChild,
    AddressNeededRead,
    HouseholdAddress,
    HouseholdRead,
)
from app.roster.service import get_household
from app.roster.sync import address_key
from app.trusts.repository import SchoolRepository


async def address_needed(
    session: AsyncSession, who: Principal, school_id: UUID, page: PageParams
) -> tuple[list[AddressNeededRead], str | None]:
    school = await SchoolRepository(session, who).get_permitted(
        school_id, Permission.ROSTER_CONTACTS
    )
    # tenancy: the school came through its repository and the caller may see its addresses
    homes = select(Pupil.household_id).where(
        col(Pupil.school_id) == school.id, col(Pupil.on_roll).is_(True)
    )
    # tenancy: households of that school's pupils, under the trust floor
    statement = select(Household).where(
        col(Household.id).in_(homes), col(Household.address_line1).is_(None)
    )
    keys = [SortKey(Household.created_at), SortKey(Household.id)]
    rows, cursor = await paginate(session, statement, page, keys)
    ids = [household.id for household in rows]
    children = await _children(session, school.id, ids)
    family_ids = dict(
        (
            await session.execute(
                # tenancy: that school's own family ids
                select(HouseholdSource.household_id, HouseholdSource.mis_id).where(
                    col(HouseholdSource.school_id) == school.id,
                    col(HouseholdSource.household_id).in_(ids),
                )
            )
        ).all()
    )
    items = [
        AddressNeededRead(
            id=household.id,
            mis_family_id=family_ids.get(household.id),
            children=children.get(household.id, []),
        )
        for household in rows
    ]
    return items, cursor


async def _children(
    session: AsyncSession, school_id: UUID, household_ids: list[UUID]
) -> dict[UUID, list[AddressNeededChild]]:
    rows = await session.execute(
        # tenancy: pupils of the school the caller was checked at (address_needed)
        select(Pupil, SchoolClass.name)
        .outerjoin(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
        .where(
            col(Pupil.school_id) == school_id,
            col(Pupil.on_roll).is_(True),
            col(Pupil.household_id).in_(household_ids),
        )
        .order_by(col(Pupil.legal_last_name), col(Pupil.legal_first_name), col(Pupil.id))
    )
    found: dict[UUID, list[AddressNeededChild]] = defaultdict(list)
    for pupil, class_name in rows.all():
        assert pupil.household_id is not None
        found[pupil.household_id].append(
            AddressNeededChild(
                pupil_id=pupil.id,
                first_name=pupil.preferred_first_name or pupil.legal_first_name,
                last_name=pupil.preferred_last_name or pupil.legal_last_name,
                class_name=class_name,
            )
        )
    return found


async def read_household(
    session: AsyncSession, who: Principal, household_id: UUID
) -> tuple[HouseholdRead, str]:
    """The household and its ETag, the If-Match a PATCH of its address needs."""
    found = await get_household(session, who, household_id)
    return found, etag_of(await HouseholdRepository(session, who).get(household_id))


async def set_address(
    session: AsyncSession,
    who: Principal,
    household_id: UUID,
    body: HouseholdAddress,
    if_match: str | None,
) -> Household:
    households = HouseholdRepository(session, who)
    household = await households.get_for_update(household_id)
    schools = set(
        await session.scalars(
            # Every school of the household; the caller's permission is checked at each in scope.
            # tenancy: the household came through its repository
            select(Pupil.school_id).where(col(Pupil.household_id) == household.id)
        )
    )
    scope = who.scope.school_ids
    in_scope: list[UUID | None] = [s for s in schools if scope is None or s in scope]
    for school_id in in_scope or [None]:
        # The office and SLT chase families for the data they lack: FAMILIES_CHASE, not
        # ROSTER_WRITE (the MIS feed's permission, which the office does not hold).
        households.permit_at(school_id, Permission.FAMILIES_CHASE, Permission.ROSTER_CONTACTS)
    changes: dict[str, Any] = body.changes()
    line1 = changes.get("address_line1", household.address_line1)
    postcode = changes.get("postcode", household.postcode)
    if line1 is None or postcode is None:
        missing = "address_line1" if line1 is None else "postcode"
        raise Unprocessable(
            "A household's address needs both its first line and its postcode.",
            extra={"errors": [{"pointer": f"#/{missing}", "detail": "required"}]},
        )
    changes["match_key"] = address_key(line1, postcode)
    await save_versioned(session, household, changes, if_match)
    await audit.record(
        session,
        who,
        "household.address_set",
        subject_type="household",
        subject_id=household.id,
        details={"fields": sorted(body.model_fields_set)},
    )
    await session.flush()
    return household
