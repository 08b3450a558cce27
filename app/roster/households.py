"""Correcting household matching: split pupils off into a household of their own, or merge two
households an MIS feed kept apart. Each school's family id follows its pupils, so the next sync
keeps the correction instead of undoing it."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select, update

from app.core import audit
from app.core.errors import Unprocessable
from app.core.permissions import Permission
from app.core.principal import Principal
from app.roster.models import Contact, Household, Pupil
from app.roster.repository import HouseholdRepository, PupilRepository
from app.roster.schemas import HouseholdRead
from app.roster.service import get_household
from app.roster.sync import CONTACT_FIELDS


class PupilsNotInHousehold(Unprocessable):
    type, title = "pupils-not-in-household", "Pupils not in this household"


# Areas that keep rows about a household (answers, invitations, exemptions, visits) say how
# those rows follow a merge, so the roster need not know about them: app/registry.py registers
# each area's hook here, and they run in the order registered, inside the merge's transaction.
MergeHook = Callable[[AsyncSession, UUID, UUID], Awaitable[None]]
_merge_hooks: list[MergeHook] = []


def register_merge_hook(hook: MergeHook) -> None:
    """Add a hook once; registering it again changes nothing."""
    if hook not in _merge_hooks:
        _merge_hooks.append(hook)


def merge_hooks() -> tuple[MergeHook, ...]:
    return tuple(_merge_hooks)


async def move_programme_rows(
    session: AsyncSession, model: Any, from_id: UUID, to_id: UUID
) -> None:
    """Move one-per-programme rows to the household kept; where it already has its own for a
    programme, that one stands and the merged household's is dropped."""
    # tenancy: both households came through the caller's scope, under the trust floor
    kept = select(model.programme_id).where(col(model.household_id) == to_id)
    await session.execute(
        update(model)  # tenancy: as above
        .where(col(model.household_id) == from_id, col(model.programme_id).not_in(kept))
        .values(household_id=to_id)
        .execution_options(synchronize_session=False)
    )
    # tenancy: as above
    await session.execute(delete(model).where(col(model.household_id) == from_id))


async def split(
    session: AsyncSession, who: Principal, household_id: UUID, pupil_ids: list[UUID]
) -> HouseholdRead:
    households = HouseholdRepository(session, who)
    source = await households.get_for_update(household_id)
    pupils = await _pupils_of(session, who, source.id, pupil_ids)
    for school_id in {p.school_id for p in pupils}:
        households.permit_at(school_id, Permission.ROSTER_WRITE)
    if not await households.keeps_pupils_besides(source.id, pupil_ids):
        raise PupilsNotInHousehold("Splitting off every pupil would leave an empty household.")
    twin = Household(
        trust_id=source.trust_id,
        **{f: getattr(source, f) for f in ("address_line1", "address_line2", "town", "postcode")},
        latitude=source.latitude,
        longitude=source.longitude,
        match_key=source.match_key,
    )
    session.add(twin)
    await session.flush()
    for contact in await households.contacts(source.id):
        session.add(
            Contact(
                trust_id=contact.trust_id,
                household_id=twin.id,
                source_school_id=contact.source_school_id,
                **{f: getattr(contact, f) for f in CONTACT_FIELDS},
            )
        )
    for pupil in pupils:
        pupil.household_id = twin.id
    await households.move_sources(source.id, twin.id, {p.school_id for p in pupils})
    await audit.record(
        session,
        who,
        "household.split",
        subject_type="household",
        subject_id=source.id,
        details={"new_household_id": str(twin.id), "pupils": len(pupils)},
    )
    await session.flush()
    return await get_household(session, who, twin.id)


async def merge(
    session: AsyncSession, who: Principal, household_id: UUID, other_id: UUID
) -> HouseholdRead:
    if household_id == other_id:
        raise PupilsNotInHousehold("A household cannot be merged into itself.")
    households = HouseholdRepository(session, who)
    keep = await households.get_for_update(household_id)
    other = await households.get_for_update(other_id)
    # tenancy: all the household's pupils; each one's school write permission is checked next
    moving = list(await session.scalars(select(Pupil).where(col(Pupil.household_id) == other.id)))
    for school_id in {p.school_id for p in moving}:
        households.permit_at(school_id, Permission.ROSTER_WRITE)
    for pupil in moving:
        pupil.household_id = keep.id
    await households.move_contacts(other.id, keep.id)
    await households.move_sources(other.id, keep.id, None)
    await session.flush()
    for hook in _merge_hooks:
        await hook(session, other.id, keep.id)
    await session.delete(other)
    await audit.record(
        session,
        who,
        "household.merge",
        subject_type="household",
        subject_id=keep.id,
        details={"merged_household_id": str(other.id), "pupils": len(moving)},
    )
    await session.flush()
    return await get_household(session, who, keep.id)


async def _pupils_of(
    session: AsyncSession, who: Principal, household_id: UUID, pupil_ids: list[UUID]
) -> list[Pupil]:
    wanted = set(pupil_ids)
    statement = PupilRepository(session, who).base_statement().where(col(Pupil.id).in_(wanted))
    found = [p for p in await session.scalars(statement) if p.household_id == household_id]
    missing = wanted - {p.id for p in found}
    if missing:
        raise PupilsNotInHousehold(
            f"pupil_ids: {len(missing)} of the pupils named are not in this household or not "
            "visible to you."
        )
    return found
