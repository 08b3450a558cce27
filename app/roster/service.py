"""The roster's rules: who may sync it, who sees which fields, and what is audited."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.errors import joined
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal, PrincipalKind
from app.core.types import YearGroup
from app.roster.exceptions import ContactsNotPermitted, FilterNotPermitted, RosterRejected
from app.roster.models import Pupil, SendStatus
from app.roster.repository import (
    ClassRepository,
    HouseholdRepository,
    PupilRepository,
    pupil_filter,
)
from app.roster.schemas import ClassRead, ContactRead, HouseholdRead, PupilRead
from app.roster.snapshot import RosterSnapshot
from app.roster.sync import RosterSync, SyncReport
from app.trusts.models import School
from app.trusts.repository import SchoolRepository

PREPARATION_FLAGS = ("send", "eal", "home_language")
SENSITIVE_FLAGS = ("free_school_meals", "pupil_premium", "looked_after")


async def school_for_roster_write(session: AsyncSession, who: Principal, school_id: UUID) -> School:
    # The row lock serialises two syncs of one school; a second waits, then sees the first's rows.
    return await SchoolRepository(session, who).get_permitted(
        school_id, Permission.ROSTER_WRITE, for_update=True
    )


async def sync_roster(
    session: AsyncSession,
    who: Principal,
    school_id: UUID,
    snapshot: RosterSnapshot,
    *,
    dry_run: bool,
    skip_rejected: bool,
) -> SyncReport:
    school = await school_for_roster_write(session, who, school_id)
    report = await apply_snapshot(
        session, school, snapshot, dry_run=dry_run, skip_rejected=skip_rejected
    )
    if not dry_run:
        await audit.record(
            session,
            who,
            "roster.sync",
            subject_type="school",
            subject_id=school.id,
            school_id=school.id,
            details=_audit_counts(report),
        )
    return report


async def apply_snapshot(
    session: AsyncSession,
    school: School,
    snapshot: RosterSnapshot,
    *,
    dry_run: bool,
    skip_rejected: bool,
) -> SyncReport:
    """Run the sync; with rejections and no skipping, refuse the whole snapshot (422)."""
    report = await RosterSync(session, school, snapshot, skip_rejected=skip_rejected).run(
        dry_run=dry_run
    )
    if report.rejected and not skip_rejected and not dry_run:
        errors = [{"pointer": r.pointer, "detail": r.reason} for r in report.rejected]
        first = joined([f"{e['pointer']}: {e['detail']}" for e in errors[:3]])
        raise RosterRejected(
            f"{len(errors)} row(s) rejected, nothing was changed: {first}. Fix them, or send "
            "on_error=skip to apply the valid rows.",
            extra={"errors": errors},
        )
    return report


def _audit_counts(report: SyncReport) -> dict[str, Any]:
    return {
        "pupils": report.pupils.model_dump(),
        "households": report.households.model_dump(),
        "rejected": len(report.rejected),
    }


@dataclass(frozen=True)
class PupilFilters:
    year_group: YearGroup | None = None
    class_id: UUID | None = None
    on_roll: bool | None = True
    updated_since: datetime | None = None
    send: SendStatus | None = None
    eal: bool | None = None
    free_school_meals: bool | None = None
    pupil_premium: bool | None = None
    looked_after: bool | None = None

    def in_class(self, class_id: UUID) -> "PupilFilters":
        return replace(self, class_id=class_id)

    def given(self) -> dict[str, Any]:
        """The filters set, by name: each adds its clause (repository.pupil_filter)."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def apply(self, statement: Select[Any]) -> Select[Any]:
        return statement.where(*(pupil_filter(n, v) for n, v in self.given().items()))


class FieldPolicy:
    """Which equity fields a caller sees for each pupil (the README's table)."""

    def __init__(self, who: Principal, school_id: UUID, staffed: set[UUID]) -> None:
        self.sensitive = who.can(Permission.ROSTER_SENSITIVE, school_id)
        self.staffed = staffed

    def withheld(self, class_id: UUID | None) -> tuple[str, ...]:
        if self.sensitive:
            return ()
        if class_id is not None and class_id in self.staffed:
            return SENSITIVE_FLAGS
        return (*PREPARATION_FLAGS, *SENSITIVE_FLAGS)

    def ensure_may_filter(self, filters: PupilFilters) -> None:
        # Filtering on a flag reveals it as surely as showing it.
        for name in (*PREPARATION_FLAGS, *SENSITIVE_FLAGS):
            if getattr(filters, name, None) is not None and not self.sensitive:
                raise FilterNotPermitted(f"Filtering by {name} is open to SLT and DSLs only.")


async def field_policy(session: AsyncSession, who: Principal, school_id: UUID) -> FieldPolicy:
    staffed: set[UUID] = set()
    if who.kind is PrincipalKind.STAFF and not who.can(Permission.ROSTER_SENSITIVE, school_id):
        staffed = await ClassRepository(session, who).staffed_by(who.id)
    return FieldPolicy(who, school_id, staffed)


def shape_pupil(row: Mapping[str, Any], policy: FieldPolicy) -> PupilRead:
    withheld = policy.withheld(row["class_id"])
    values = {k: v for k, v in row.items() if k not in withheld}
    return PupilRead.model_construct(**{**dict.fromkeys(withheld), **values})


def pupil_item(row: Mapping[str, Any], policy: FieldPolicy) -> dict[str, Any]:
    """A listing row as PupilRead's fields, in its order, withheld fields None. Ids as text:
    the driver's own UUID type is one pydantic-core serializes on a slow path."""
    item = dict(row)
    for name in _ID_COLUMNS:
        if item[name] is not None:
            item[name] = str(item[name])
    for name in policy.withheld(row["class_id"]):
        item[name] = None
    return item


_ID_COLUMNS = ("id", "school_id", "class_id", "household_id")


async def list_school_pupils(
    session: AsyncSession,
    who: Principal,
    school_id: UUID,
    filters: PupilFilters,
    page: PageParams,
) -> tuple[list[dict[str, Any]], str | None]:
    """PupilRead-shaped items (see pupil_item): 404 for a school outside the caller's scope,
    then 403 without roster:read there."""
    repository = PupilRepository(session, who)
    if not await repository.school_visible(school_id):
        raise SchoolRepository(session, who).not_found(school_id)
    repository.permit_at(school_id, Permission.ROSTER_READ)
    return await _list(session, who, school_id, filters, page)


async def list_class_pupils(
    session: AsyncSession, who: Principal, class_id: UUID, filters: PupilFilters, page: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    school_class = await ClassRepository(session, who).get_permitted(
        class_id, Permission.ROSTER_READ
    )
    return await _list(
        session, who, school_class.school_id, filters.in_class(school_class.id), page
    )


async def visible_pupils(
    session: AsyncSession, who: Principal, school_id: UUID, filters: PupilFilters
) -> tuple[FieldPolicy, Select[Any]]:
    """The field rules for the caller at this school, and the filtered list statement: the one
    path that JSON pages and CSV exports share."""
    policy = await field_policy(session, who, school_id)
    policy.ensure_may_filter(filters)
    statement = filters.apply(
        PupilRepository(session, who).listing().where(col(Pupil.school_id) == school_id)
    )
    return policy, statement


async def _list(
    session: AsyncSession, who: Principal, school_id: UUID, filters: PupilFilters, page: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    policy = await field_policy(session, who, school_id)
    policy.ensure_may_filter(filters)
    keys = (
        [SortKey(Pupil.updated_at), SortKey(Pupil.id)]
        if filters.updated_since is not None
        else [SortKey(Pupil.legal_last_name), SortKey(Pupil.legal_first_name), SortKey(Pupil.id)]
    )
    # A hot list, on the lean path; the same columns and filters as visible_pupils.
    repository = PupilRepository(session, who)
    rows, cursor = await repository.page(school_id, filters.given(), page, keys)
    return [pupil_item(row, policy) for row in rows], cursor


async def get_household(session: AsyncSession, who: Principal, household_id: UUID) -> HouseholdRead:
    repository = HouseholdRepository(session, who)
    household = await repository.get(household_id)
    pupils = await repository.visible_pupils(household.id)
    if not await _may_see_contacts(session, who, pupils):
        raise ContactsNotPermitted(
            "Addresses and contact details are open to office staff, SLT, DSLs and the "
            "pupils' own class staff."
        )
    contacts = [ContactRead.model_validate(c) for c in await repository.contacts(household.id)]
    return HouseholdRead.model_validate(
        household, update={"pupil_ids": [p for p, _ in pupils], "contacts": contacts}
    )


class AddressPolicy:
    """Who sees households' addresses and contacts at one school (the README's table): office,
    SLT, DSLs and the MIS client all of them; class staff only those of the classes they teach or
    support; nobody else."""

    def __init__(self, everyone: bool, staffed: set[UUID]) -> None:
        self.everyone = everyone
        self.staffed = staffed

    def may_see(self, class_ids: Iterable[UUID | None]) -> bool:
        return self.everyone or any(c in self.staffed for c in class_ids if c is not None)


async def address_policy(session: AsyncSession, who: Principal, school_id: UUID) -> AddressPolicy:
    if who.can(Permission.ROSTER_CONTACTS, school_id):
        return AddressPolicy(True, set())
    if who.kind is not PrincipalKind.STAFF:
        return AddressPolicy(False, set())
    return AddressPolicy(False, await ClassRepository(session, who).staffed_by(who.id))


async def _may_see_contacts(
    session: AsyncSession, who: Principal, pupils: list[tuple[UUID, UUID | None]]
) -> bool:
    if who.scope.school_ids is None and who.can(Permission.ROSTER_CONTACTS):
        return True
    schools = await _schools_of(session, who, [p for p, _ in pupils])
    if any(who.can(Permission.ROSTER_CONTACTS, s) for s in schools):
        return True
    if who.kind is not PrincipalKind.STAFF:
        return False
    staffed = await ClassRepository(session, who).staffed_by(who.id)
    return any(class_id in staffed for _, class_id in pupils)


async def _schools_of(session: AsyncSession, who: Principal, pupil_ids: list[UUID]) -> set[UUID]:
    if not pupil_ids:
        return set()
    statement = PupilRepository(session, who).base_statement().where(col(Pupil.id).in_(pupil_ids))
    return {p.school_id for p in await session.scalars(statement)}


async def list_classes(
    session: AsyncSession,
    who: Principal,
    school_id: UUID,
    page: PageParams,
    *,
    academic_year: str | None,
    active: bool | None,
) -> tuple[list[ClassRead], str | None]:
    from app.roster.models import ClassStaffRole, SchoolClass

    school = await SchoolRepository(session, who).get_permitted(school_id, Permission.ROSTER_READ)
    repository = ClassRepository(session, who)
    statement = repository.base_statement().where(col(SchoolClass.school_id) == school.id)
    if academic_year is not None:
        statement = statement.where(col(SchoolClass.academic_year) == academic_year)
    if active is not None:
        statement = statement.where(col(SchoolClass.active).is_(active))
    keys = [SortKey(SchoolClass.academic_year), SortKey(SchoolClass.name), SortKey(SchoolClass.id)]
    rows, cursor = await paginate(session, statement, page, keys)
    ids = [c.id for c in rows]
    staff = await repository.staff_of(ids)
    counts = await repository.on_roll_counts(ids)
    items = [
        ClassRead.model_validate(
            c,
            update={
                "teacher_ids": [s for s, r in staff[c.id] if r == ClassStaffRole.TEACHER],
                "support_staff_ids": [s for s, r in staff[c.id] if r == ClassStaffRole.SUPPORT],
                "pupils_on_roll": counts.get(c.id, 0),
            },
        )
        for c in rows
    ]
    return items, cursor


async def get_pupil(session: AsyncSession, who: Principal, pupil_id: UUID) -> PupilRead:
    repository = PupilRepository(session, who)
    statement = repository.listing().where(col(Pupil.id) == pupil_id)
    row = (await session.execute(statement)).mappings().one_or_none()
    if row is None:
        raise repository.not_found(pupil_id)
    repository.permit_at(row["school_id"], Permission.ROSTER_READ)
    return shape_pupil(row, await field_policy(session, who, row["school_id"]))
