"""Households without a home address: the office's data-quality list, and giving one its address
(one household by PATCH, or many from a CSV of addresses by family id).

OneRoster carries no addresses, so a school importing plain OneRoster gets its households without
one, flagged "address needed". The scheduler cannot place such a household at home until the
office gives it an address here (or a later MIS sync carries one). A sync whose feed carries no
address leaves the one given here as it is.
"""

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core import audit
from app.core.bulk import update_rows
from app.core.concurrency import etag_of, save_versioned
from app.core.errors import Unprocessable, joined
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.repository import ScopedRepository
from app.core.types import utcnow
from app.roster.importing.address_csv import FILE, AddressFile, FamilyAddress, parse_addresses
from app.roster.models import Household, HouseholdSource, Pupil, SchoolClass
from app.roster.repository import HouseholdRepository
from app.roster.schemas import (
    AddressImportReport,
    AddressNeededChild,
    AddressNeededRead,
    HouseholdAddress,
    HouseholdRead,
)
from app.roster.service import get_household
from app.roster.sync import HOUSEHOLD_FIELDS, address_key
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
        _ensure_may_give_addresses(households, school_id)
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
    moved = changes["match_key"] != household.match_key
    if moved and not {"latitude", "longitude"} & body.model_fields_set:
        # The coordinates held were of the old home; travel falls back to the postcode.
        changes |= {"latitude": None, "longitude": None}
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


def _ensure_may_give_addresses(repository: ScopedRepository[Any], school_id: UUID | None) -> None:
    # The office and SLT chase families for the data they lack: FAMILIES_CHASE, not ROSTER_WRITE
    # (the MIS feed's permission, which the office does not hold).
    repository.permit_at(school_id, Permission.FAMILIES_CHASE, Permission.ROSTER_CONTACTS)


class AddressFileRejected(Unprocessable):
    type, title = "address-file-rejected", "Address file rejected"


HOUSEHOLD_TABLE: Table = Household.__table__  # type: ignore[attr-defined]
_CHUNK = 1000


async def import_addresses(
    session: AsyncSession, who: Principal, school_id: UUID, content: bytes
) -> AddressImportReport:
    """Every family of the file given its address, or none: one bad row refuses the file."""
    schools = SchoolRepository(session, who)
    school = await schools.get(school_id)
    _ensure_may_give_addresses(schools, school.id)
    if not content:
        raise Unprocessable(f"{FILE} is empty: send the CSV as the request body.")
    # Parsing a file is CPU work: a thread, so other requests are not held up meanwhile.
    parsed = await asyncio.to_thread(parse_addresses, content)
    homes = await _homes_of(session, school.id, [row.family_id for row in parsed.rows])
    _refuse_unknown(parsed, homes)
    if parsed.errors:
        raise _rejected(parsed.errors)
    changes = await _changes(session, parsed, homes)
    await update_rows(session, HOUSEHOLD_TABLE, changes, trust_id=school.trust_id)
    if changes:
        await audit.record_each(
            session,
            who,
            "household.address_set",
            subject_type="household",
            subject_ids=[change["_id"] for change in changes],
            school_id=school.id,
            details={"source": "address_csv"},
        )
    rows = len(parsed.rows)
    return AddressImportReport(rows=rows, updated=len(changes), unchanged=rows - len(changes))


async def _homes_of(
    session: AsyncSession, school_id: UUID, family_ids: list[str]
) -> dict[str, UUID]:
    """The household of each of the school's own family ids; another school's are not looked
    at, so its family ids answer exactly as unknown ones."""
    found: dict[str, UUID] = {}
    for start in range(0, len(family_ids), _CHUNK):
        rows = await session.execute(
            # tenancy: the school came through its repository; only its own family ids
            select(HouseholdSource.mis_id, HouseholdSource.household_id).where(
                col(HouseholdSource.school_id) == school_id,
                col(HouseholdSource.mis_id).in_(family_ids[start : start + _CHUNK]),
            )
        )
        found.update(dict(rows.all()))
    return found


def _refuse_unknown(parsed: AddressFile, homes: dict[str, UUID]) -> None:
    given: dict[UUID, int] = {}
    for row in parsed.rows:
        household_id = homes.get(row.family_id)
        if household_id is None:
            parsed.refuse(row.number, "family_id", "no family of this school has this family id")
            continue
        first = given.setdefault(household_id, row.number)
        if first != row.number:
            # Two family ids of one household (kept apart by the MIS, merged here).
            parsed.refuse(
                row.number,
                "family_id",
                f"this family and the one on row {first} are one household; give its address once",
            )


def _rejected(errors: list[dict[str, str]]) -> AddressFileRejected:
    errors = sorted(errors, key=_row_order)
    first = joined([f"{e['pointer']}: {e['detail']}" for e in errors[:3]])
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return AddressFileRejected(
        f"{len(errors)} problem(s) in the address list, so no address was changed: {first}{more}. "
        "Fix the file and send it again.",
        extra={"errors": errors},
    )


def _row_order(error: dict[str, str]) -> tuple[int, str]:
    number = error["pointer"].split("/")[2]
    return int(number), error["pointer"]


async def _changes(
    session: AsyncSession, parsed: AddressFile, homes: dict[str, UUID]
) -> list[dict[str, Any]]:
    """The households whose address the file changes, as rows for update_rows; a row equal to
    the address held is left out, so it writes nothing."""
    wanted = {homes[row.family_id]: row for row in parsed.rows}
    now = utcnow()
    changes = []
    for held in await _held(session, wanted):
        row = wanted[held["id"]]
        values = _new_address(row, held, parsed.has_coordinates)
        if all(held[name] == value for name, value in values.items()):
            continue
        changes.append(
            {
                "_id": held["id"],
                **values,
                "match_key": address_key(values["address_line1"], values["postcode"]),
                "updated_at": now,
                # An ETag read before the upload must not overwrite what it brought.
                "version": held["version"] + 1,
            }
        )
    return changes


def _new_address(row: FamilyAddress, held: dict[str, Any], has_coordinates: bool) -> dict[str, Any]:
    values = dict(row.values)
    was = held["address_line1"], held["postcode"]
    moved = None in was or address_key(*was) != address_key(
        row.values["address_line1"], row.values["postcode"]
    )
    if not has_coordinates and moved:
        # The coordinates held were of the old home; travel falls back to the postcode.
        values |= {"latitude": None, "longitude": None}
    return values


async def _held(session: AsyncSession, households: Iterable[UUID]) -> list[dict[str, Any]]:
    ids = list(households)
    columns = [col(Household.id), col(Household.version)]
    columns += [col(getattr(Household, name)) for name in HOUSEHOLD_FIELDS]
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        rows = await session.execute(
            # tenancy: households of the school's own family ids (_homes_of); locked, so a PATCH
            # waits for the upload rather than being overwritten by it
            select(*columns)
            .where(col(Household.id).in_(ids[start : start + _CHUNK]))
            .with_for_update()
        )
        found.extend(dict(row) for row in rows.mappings())
    return found
