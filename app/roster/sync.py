"""Make one school's roster equal to a snapshot of it, in one transaction.

The JSON bulk sync and the file importers all end here. The plan is computed first, entirely in
memory from one read of the school's current rows: which classes, households, contacts and pupils
to create, update or leave alone, and which pupils have left. Only then is it written, with one
multi-row statement per table and kind of change (never a round trip per row). A dry run stops
before writing; a snapshot that changes nothing writes nothing.

Rows whose content is wrong (a UPN with the wrong check letter, an invalid postcode, a reference
to a class the snapshot does not have...) are rejected with a JSON pointer into the snapshot. By
default one rejection refuses the whole snapshot; with `on_error=skip` the rest is applied. A
rejected pupil is left exactly as it was: it is not treated as having left. A rejection names
the field and the rule it breaks, never the value: the pointer says where it is, and a 422 must
not repeat personal data back.

A contact is never lost for a wrong number or email: the parent's name, language and interpreter
need matter more. A number that cannot take texts is kept as a landline, a wrong one or a wrong
email is left out, and each is reported as a warning with its pointer.
"""

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.bulk import insert_rows, update_rows
from app.core.errors import json_pointer
from app.core.types import normalise_postcode, utcnow
from app.roster.identifiers import normalise_email, normalise_phone, normalise_upn
from app.roster.models import (
    ClassStaff,
    ClassStaffRole,
    Contact,
    Household,
    HouseholdSource,
    Pupil,
    SchoolClass,
)
from app.roster.snapshot import ClassRow, ContactRow, HouseholdRow, PupilRow, RosterSnapshot
from app.staff.models import RoleGrant, StaffMember
from app.trusts.models import School

PUPIL_ROW_FIELDS = (
    "legal_first_name",
    "legal_last_name",
    "preferred_first_name",
    "preferred_last_name",
    "date_of_birth",
    "sex",
    "free_school_meals",
    "pupil_premium",
    "send",
    "eal",
    "home_language",
    "looked_after",
)
PUPIL_FIELDS = (
    "upn",
    "class_id",
    "household_id",
    "legal_first_name",
    "legal_last_name",
    "preferred_first_name",
    "preferred_last_name",
    "date_of_birth",
    "sex",
    "on_roll",
    "left_on",
    "free_school_meals",
    "pupil_premium",
    "send",
    "eal",
    "home_language",
    "looked_after",
)
HOUSEHOLD_FIELDS = ("address_line1", "address_line2", "town", "postcode", "latitude", "longitude")
CONTACT_FIELDS = (
    "name",
    "relationship",
    "priority",
    "parental_responsibility",
    "preferred_language",
    "interpreter_needed",
    "sms_consent",
)
# Checked and normalised rather than copied; a wrong one is left out with a warning, never the
# whole contact (the parent's name, language and interpreter need matter without them).
CONTACT_CHECKED_FIELDS = ("mobile", "landline", "email")


class Rejection(BaseModel):
    pointer: str
    reason: str


class Tally(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    left: int = 0


class HouseholdMerge(BaseModel):
    """A snapshot household joined to a household the trust already had, without a family id
    linking them; listed so an admin can split it if the match was wrong."""

    pointer: str
    household_id: UUID
    matched_by: str


class SyncReport(BaseModel):
    dry_run: bool
    classes: Tally
    pupils: Tally
    households: Tally
    contacts: Tally
    merges: list[HouseholdMerge]
    rejected: list[Rejection]
    warnings: list[Rejection] = Field(
        default=[],
        description="Applied, but worth a look: e.g. a class teacher the MIS names who has no "
        "Threshold account yet (the class is synced without them), or a contact's number that "
        "is a landline (kept for calls, never texted) or no phone number at all, or an email "
        "that is not one (left out; the contact is kept).",
    )


@dataclass
class _Plan:
    """Everything the snapshot asks for, as rows ready for multi-row statements."""

    inserts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    updates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    class_staff_replaced: list[UUID] = field(default_factory=list)
    contacts_removed: list[UUID] = field(default_factory=list)

    def insert(self, table: str, row: dict[str, Any]) -> None:
        self.inserts.setdefault(table, []).append(row)

    def update(self, table: str, row: dict[str, Any]) -> None:
        self.updates.setdefault(table, []).append(row)


def address_key(address_line1: str, postcode: str) -> str:
    """The same home however a feed spells it: case, punctuation and spacing ignored."""
    line = re.sub(r"[^a-z0-9]+", " ", address_line1.lower()).strip()
    return hashlib.sha256(f"{line}|{postcode.replace(' ', '')}".encode()).hexdigest()


def _contact_key(mobile: str | None, email: str | None, name: str) -> tuple[str, str]:
    if mobile:
        return ("mobile", mobile)
    if email:
        return ("email", email)
    return ("name", re.sub(r"\s+", " ", name.casefold()).strip())


class RosterSync:
    def __init__(
        self,
        session: AsyncSession,
        school: School,
        snapshot: RosterSnapshot,
        *,
        skip_rejected: bool = False,
    ) -> None:
        self.session = session
        self.skip_rejected = skip_rejected
        self.school = school
        self.snapshot = snapshot
        self.now = utcnow()
        self.today = self.now.date()
        self.rejected: list[Rejection] = []
        self.warnings: list[Rejection] = []
        self.merges: list[HouseholdMerge] = []
        self.tallies = {name: Tally() for name in ("classes", "pupils", "households", "contacts")}
        self.plan = _Plan()

    def reject(self, pointer: str, reason: str) -> None:
        self.rejected.append(Rejection(pointer=pointer, reason=reason))

    def warn(self, pointer: str, reason: str) -> None:
        self.warnings.append(Rejection(pointer=pointer, reason=reason))

    async def run(self, *, dry_run: bool) -> SyncReport:
        class_ids = await self._plan_classes()
        household_ids = await self._plan_households()
        await self._plan_pupils(class_ids, household_ids)
        if not dry_run and (self.skip_rejected or not self.rejected):
            await self._write()
        return SyncReport(
            dry_run=dry_run,
            merges=self.merges,
            rejected=self.rejected,
            warnings=self.warnings,
            **dict(self.tallies.items()),
        )

    # -- classes ---------------------------------------------------------------------------

    async def _plan_classes(self) -> dict[str, UUID]:
        existing = {
            c.mis_id: c
            for c in await self.session.scalars(
                # tenancy: this school's rows (or its trust's staff), under the trust floor
                select(SchoolClass).where(
                    col(SchoolClass.school_id) == self.school.id,
                    col(SchoolClass.academic_year) == self.snapshot.academic_year,
                )
            )
        }
        staff_by_email = await self._staff_by_email(self.snapshot.classes)
        current_staff = await self._class_staff([c.id for c in existing.values()])
        ids: dict[str, UUID] = {}
        seen: set[str] = set()
        for index, row in enumerate(self.snapshot.classes):
            pointer = json_pointer("classes", index)
            if row.mis_id in seen:
                self.reject(f"{pointer}/mis_id", "this class mis_id appears twice")
                continue
            seen.add(row.mis_id)
            staff = self._class_staff_of(row, pointer, staff_by_email)
            found = existing.get(row.mis_id)
            class_id = found.id if found else uuid.uuid4()
            ids[row.mis_id] = class_id
            self._plan_class(row, found, class_id, staff, current_staff.get(class_id, set()))
        for mis_id, found in existing.items():
            if mis_id not in seen and found.active:
                self.plan.update("school_class", {"_id": found.id, "active": False})
                self.tallies["classes"].left += 1
        return ids

    def _plan_class(
        self,
        row: ClassRow,
        found: SchoolClass | None,
        class_id: UUID,
        staff: set[tuple[UUID, ClassStaffRole]],
        current: set[tuple[UUID, ClassStaffRole]],
    ) -> None:
        values = {"name": row.name, "year_group": row.year_group, "active": True}
        tally = self.tallies["classes"]
        if found is None:
            tally.created += 1
            self.plan.insert(
                "school_class",
                {
                    "id": class_id,
                    "trust_id": self.school.trust_id,
                    "school_id": self.school.id,
                    "mis_id": row.mis_id,
                    "academic_year": self.snapshot.academic_year,
                    "created_at": self.now,
                    "updated_at": self.now,
                    **values,
                },
            )
        elif any(getattr(found, k) != v for k, v in values.items()) or staff != current:
            tally.updated += 1
            self.plan.update("school_class", {"_id": class_id, "updated_at": self.now, **values})
        else:
            tally.unchanged += 1
        if staff != current:
            if found is not None:
                self.plan.class_staff_replaced.append(class_id)
            for staff_id, role in sorted(staff):
                self.plan.insert(
                    "class_staff",
                    {
                        "id": uuid.uuid4(),
                        "trust_id": self.school.trust_id,
                        "school_id": self.school.id,
                        "class_id": class_id,
                        "staff_id": staff_id,
                        "role": role,
                    },
                )

    def _class_staff_of(
        self, row: ClassRow, pointer: str, staff_by_email: dict[str, UUID]
    ) -> set[tuple[UUID, ClassStaffRole]]:
        staff: set[tuple[UUID, ClassStaffRole]] = set()
        for key, role, emails in (
            ("teacher_emails", ClassStaffRole.TEACHER, row.teacher_emails),
            ("support_staff_emails", ClassStaffRole.SUPPORT, row.support_staff_emails),
        ):
            for j, email in enumerate(emails):
                staff_id = staff_by_email.get(email.strip().lower())
                if staff_id is None:
                    self.warnings.append(
                        Rejection(
                            pointer=f"{pointer}/{key}/{j}",
                            reason="no active staff member of this school signs in with "
                            "this email; the class is synced without them",
                        )
                    )
                else:
                    staff.add((staff_id, role))
        return staff

    async def _staff_by_email(self, classes: Sequence[ClassRow]) -> dict[str, UUID]:
        emails = {
            e.strip().lower() for c in classes for e in (*c.teacher_emails, *c.support_staff_emails)
        }
        if not emails:
            return {}
        # tenancy: this school's rows (or its trust's staff), under the trust floor
        at_school = select(RoleGrant.staff_id).where(
            (col(RoleGrant.school_id) == self.school.id) | col(RoleGrant.school_id).is_(None)
        )
        rows = await self.session.execute(
            # tenancy: this school's rows (or its trust's staff), under the trust floor
            select(StaffMember.email, StaffMember.id).where(
                col(StaffMember.email).in_(emails),
                col(StaffMember.trust_id) == self.school.trust_id,
                col(StaffMember.is_active).is_(True),
                col(StaffMember.id).in_(at_school),
            )
        )
        return dict(rows.all())

    async def _class_staff(self, class_ids: list[UUID]) -> dict[UUID, set[tuple[UUID, Any]]]:
        found: dict[UUID, set[tuple[UUID, Any]]] = {}
        if not class_ids:
            return found
        rows = await self.session.execute(
            # tenancy: this school's rows (or its trust's staff), under the trust floor
            select(ClassStaff.class_id, ClassStaff.staff_id, ClassStaff.role).where(
                col(ClassStaff.class_id).in_(class_ids)
            )
        )
        for class_id, staff_id, role in rows:
            found.setdefault(class_id, set()).add((staff_id, role))
        return found

    # -- households and contacts -----------------------------------------------------------

    async def _plan_households(self) -> dict[str, UUID]:
        valid = self._valid_households()
        sources = dict(
            (
                await self.session.execute(
                    # tenancy: this school's rows (or its trust's staff), under the trust floor
                    select(HouseholdSource.mis_id, HouseholdSource.household_id).where(
                        col(HouseholdSource.school_id) == self.school.id
                    )
                )
            ).all()
        )
        # Only households the school's own family ids do not already place need the address.
        keys = {
            key
            for _, row, key, _, _ in valid
            if key is not None and (row.mis_id or row.ref) not in sources
        }
        known = await self._households(set(sources.values()), keys)
        contacts = await self._contacts(list(known))
        ids: dict[str, UUID] = {}
        for index, row, key, row_contacts, values in valid:
            household_id = self._resolve(
                index, row, key, values, row_contacts, sources, known, contacts
            )
            ids[row.ref] = household_id
            source_key = row.mis_id or row.ref
            if sources.get(source_key) != household_id:
                self._link_source(source_key, household_id, sources)
            self._plan_contacts(household_id, row_contacts, contacts.get(household_id, []))
        return ids

    def _valid_households(
        self,
    ) -> list[tuple[int, HouseholdRow, str | None, list[dict[str, Any]], dict[str, Any]]]:
        valid = []
        seen: set[str] = set()
        for index, row in enumerate(self.snapshot.households):
            pointer = json_pointer("households", index)
            if row.ref in seen:
                self.reject(f"{pointer}/ref", "this household ref appears twice")
                continue
            seen.add(row.ref)
            address = self._valid_address(pointer, row)
            if address is False:
                continue
            key, values = address
            contacts = [
                self._valid_contact(f"{pointer}/contacts/{j}", contact)
                for j, contact in enumerate(row.contacts)
            ]
            valid.append((index, row, key, contacts, values))
        return valid

    def _valid_address(
        self, pointer: str, row: HouseholdRow
    ) -> tuple[str | None, dict[str, Any]] | Literal[False]:
        """The match key and address values; none of either for a household whose feed carries
        no address (OneRoster), so that it keeps any address the office has given it."""
        if row.address_line1 is None and row.postcode is None:
            return None, {}
        if row.address_line1 is None or row.postcode is None:
            missing = "address_line1" if row.address_line1 is None else "postcode"
            self.reject(
                f"{pointer}/{missing}",
                "an address needs both its first line and its postcode; leave both out "
                "for a household whose address is not known yet",
            )
            return False
        try:
            postcode = normalise_postcode(row.postcode)
        except ValueError as exc:
            self.reject(f"{pointer}/postcode", str(exc))
            return False
        values = {**_fields(row, HOUSEHOLD_FIELDS), "postcode": postcode}
        return address_key(row.address_line1, postcode), values

    def _valid_contact(self, pointer: str, row: ContactRow) -> dict[str, Any]:
        mobile, landline = self._phone(f"{pointer}/mobile", row.mobile)
        return {
            **_fields(row, CONTACT_FIELDS),
            "mobile": mobile,
            "landline": landline,
            "email": self._email(f"{pointer}/email", row.email),
        }

    def _phone(self, pointer: str, value: str | None) -> tuple[str | None, str | None]:
        """(mobile, landline): a number that cannot take texts is kept for calls only."""
        try:
            phone = normalise_phone(value)
        except ValueError as exc:
            self.warn(pointer, f"not a phone number: left out ({exc})")
            return None, None
        if phone is None:
            return None, None
        if phone.mobile:
            return phone.number, None
        self.warn(pointer, "not a UK mobile number: kept as a landline, no texts")
        return None, phone.number

    def _email(self, pointer: str, value: str | None) -> str | None:
        try:
            return normalise_email(value)
        except ValueError as exc:
            self.warn(pointer, f"{str(exc).rstrip('. ')}; left out, the contact is kept without it")
            return None

    async def _households(self, ids: set[UUID], keys: set[str]) -> dict[UUID, dict[str, Any]]:
        columns = [
            Household.id,
            Household.match_key,
            Household.version,
            *(getattr(Household, f) for f in HOUSEHOLD_FIELDS),
        ]
        found: dict[UUID, dict[str, Any]] = {}
        for chunk_column, values in ((Household.id, list(ids)), (Household.match_key, list(keys))):
            for chunk in _chunks(values, 1000):
                # tenancy: the trust floor applies, and the trust is named even for a system scope
                rows = await self.session.execute(
                    select(*columns).where(
                        col(chunk_column).in_(chunk),
                        col(Household.trust_id) == self.school.trust_id,
                    )
                )
                for row in rows.mappings():
                    found[row["id"]] = dict(row)
        return found

    async def _contacts(self, household_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
        found: dict[UUID, list[dict[str, Any]]] = {}
        columns = [
            Contact.id,
            Contact.household_id,
            Contact.source_school_id,
            *(getattr(Contact, f) for f in (*CONTACT_FIELDS, *CONTACT_CHECKED_FIELDS)),
        ]
        for chunk in _chunks(household_ids, 1000):
            rows = await self.session.execute(
                # tenancy: the trust floor applies, and the trust is named even for a system scope
                select(*columns).where(
                    col(Contact.household_id).in_(chunk),
                    col(Contact.trust_id) == self.school.trust_id,
                )
            )
            for row in rows.mappings():
                found.setdefault(row["household_id"], []).append(dict(row))
        return found

    def _resolve(
        self,
        index: int,
        row: HouseholdRow,
        key: str | None,
        values: dict[str, Any],
        row_contacts: list[dict[str, Any]],
        sources: dict[str, UUID],
        known: dict[UUID, dict[str, Any]],
        contacts: dict[UUID, list[dict[str, Any]]],
    ) -> UUID:
        tally = self.tallies["households"]
        household_id = sources.get(row.mis_id or row.ref)
        if household_id is None:
            household_id = self._match_by_address(key, row_contacts, known, contacts)
            if household_id is not None:
                self.merges.append(
                    HouseholdMerge(
                        pointer=json_pointer("households", index),
                        household_id=household_id,
                        matched_by="address and priority contact",
                    )
                )
        if household_id is None or household_id not in known:
            household_id = household_id or uuid.uuid4()
            tally.created += 1
            row_values = {
                "id": household_id,
                "trust_id": self.school.trust_id,
                "match_key": key,
                "created_at": self.now,
                "updated_at": self.now,
                "version": 1,
                **dict.fromkeys(HOUSEHOLD_FIELDS),
                **values,
            }
            self.plan.insert("household", row_values)
            known[household_id] = row_values
        elif any(known[household_id][k] != v for k, v in values.items()):
            tally.updated += 1
            self.plan.update(
                "household",
                {
                    "_id": household_id,
                    "match_key": key,
                    "updated_at": self.now,
                    **values,
                },
            )
            known[household_id].update(values)
        else:
            tally.unchanged += 1
        return household_id

    def _match_by_address(
        self,
        key: str | None,
        row_contacts: list[dict[str, Any]],
        known: dict[UUID, dict[str, Any]],
        contacts: dict[UUID, list[dict[str, Any]]],
    ) -> UUID | None:
        if key is None:
            return None
        first = [c for c in row_contacts if c["priority"] == 1]
        wanted = {_contact_key(c["mobile"], c["email"], c["name"]) for c in first}
        for household_id, household in known.items():
            if household["match_key"] != key:
                continue
            theirs = {
                _contact_key(c["mobile"], c["email"], c["name"])
                for c in contacts.get(household_id, [])
            }
            if wanted & theirs:
                return household_id
        return None

    def _link_source(self, source_key: str, household_id: UUID, sources: dict[str, UUID]) -> None:
        if source_key in sources:
            self.plan.update(
                "household_source", {"_mis_id": source_key, "household_id": household_id}
            )
        else:
            self.plan.insert(
                "household_source",
                {
                    "id": uuid.uuid4(),
                    "trust_id": self.school.trust_id,
                    "school_id": self.school.id,
                    "household_id": household_id,
                    "mis_id": source_key,
                },
            )
        sources[source_key] = household_id

    def _plan_contacts(
        self, household_id: UUID, wanted: list[dict[str, Any]], current: list[dict[str, Any]]
    ) -> None:
        tally = self.tallies["contacts"]
        by_key = {_contact_key(c["mobile"], c["email"], c["name"]): c for c in current}
        matched: set[UUID] = set()
        for contact in wanted:
            found = by_key.get(_contact_key(contact["mobile"], contact["email"], contact["name"]))
            if found is None or found["id"] in matched:
                tally.created += 1
                self.plan.insert(
                    "contact",
                    {
                        "id": uuid.uuid4(),
                        "trust_id": self.school.trust_id,
                        "household_id": household_id,
                        "source_school_id": self.school.id,
                        "created_at": self.now,
                        "updated_at": self.now,
                        **contact,
                    },
                )
                continue
            matched.add(found["id"])
            if any(found[k] != v for k, v in contact.items()):
                tally.updated += 1
                self.plan.update(
                    "contact",
                    {
                        "_id": found["id"],
                        "source_school_id": self.school.id,
                        "updated_at": self.now,
                        **contact,
                    },
                )
            else:
                tally.unchanged += 1
        for contact in current:
            if contact["id"] not in matched and contact["source_school_id"] == self.school.id:
                self.plan.contacts_removed.append(contact["id"])
                tally.left += 1

    # -- pupils ----------------------------------------------------------------------------

    async def _plan_pupils(
        self, class_ids: dict[str, UUID], household_ids: dict[str, UUID]
    ) -> None:
        columns = [Pupil.id, Pupil.mis_id, *(getattr(Pupil, f) for f in PUPIL_FIELDS)]
        existing = {
            row["mis_id"]: dict(row)
            for row in (
                await self.session.execute(
                    # tenancy: this school's rows, under the trust floor
                    select(*columns).where(col(Pupil.school_id) == self.school.id)
                )
            ).mappings()
        }
        classes = {c.mis_id for c in self.snapshot.classes}
        households = {h.ref for h in self.snapshot.households}
        seen: set[str] = set()
        for index, row in enumerate(self.snapshot.pupils):
            if row.mis_id in seen:
                self.reject(
                    json_pointer("pupils", index, "mis_id"), "this pupil mis_id appears twice"
                )
                continue
            seen.add(row.mis_id)
            values = self._pupil_values(
                json_pointer("pupils", index), row, class_ids, household_ids, classes, households
            )
            if values is not None:
                self._plan_pupil(row.mis_id, values, existing.get(row.mis_id))
        for mis_id, found in existing.items():
            if mis_id not in seen and found["on_roll"]:
                self.plan.update(
                    "pupil",
                    {
                        "_id": found["id"],
                        "on_roll": False,
                        "left_on": self.today,
                        "updated_at": self.now,
                    },
                )
                self.tallies["pupils"].left += 1

    def _pupil_values(
        self,
        pointer: str,
        row: PupilRow,
        class_ids: dict[str, UUID],
        household_ids: dict[str, UUID],
        classes: set[str],
        households: set[str],
    ) -> dict[str, Any] | None:
        try:
            upn = normalise_upn(row.upn)
        except ValueError as exc:
            self.reject(f"{pointer}/upn", str(exc))
            return None
        if not _plausible_birth_date(row.date_of_birth, self.today):
            self.reject(
                f"{pointer}/date_of_birth", "a pupil's date of birth must be 2–21 years ago"
            )
            return None
        class_id = self._reference(
            f"{pointer}/class_mis_id", row.class_mis_id, class_ids, classes, "class"
        )
        household_id = self._reference(
            f"{pointer}/household_ref", row.household_ref, household_ids, households, "household"
        )
        if class_id is False or household_id is False:
            return None
        values = _fields(row, PUPIL_ROW_FIELDS)
        return {
            **values,
            "upn": upn,
            "class_id": class_id,
            "household_id": household_id,
            "on_roll": True,
            "left_on": None,
        }

    def _reference(
        self,
        pointer: str,
        ref: str | None,
        resolved: dict[str, UUID],
        listed: set[str],
        what: str,
    ) -> UUID | bool | None:
        """The id a row refers to; None when it refers to none; False when rejected."""
        if ref is None:
            return None
        if ref in resolved:
            return resolved[ref]
        if ref in listed:
            self.reject(pointer, f"the {what} it names was itself rejected (see its own entry)")
        else:
            self.reject(pointer, f"there is no such {what} in this snapshot")
        return False

    def _plan_pupil(
        self, mis_id: str, values: dict[str, Any], found: dict[str, Any] | None
    ) -> None:
        tally = self.tallies["pupils"]
        if found is None:
            tally.created += 1
            self.plan.insert(
                "pupil",
                {
                    "id": uuid.uuid4(),
                    "trust_id": self.school.trust_id,
                    "school_id": self.school.id,
                    "mis_id": mis_id,
                    "created_at": self.now,
                    "updated_at": self.now,
                    **values,
                },
            )
        elif any(found[k] != v for k, v in values.items()):
            tally.updated += 1
            self.plan.update("pupil", {"_id": found["id"], "updated_at": self.now, **values})
        else:
            tally.unchanged += 1

    # -- writing ---------------------------------------------------------------------------

    async def _write(self) -> None:
        tables: dict[str, Table] = {
            "school_class": SchoolClass.__table__,  # type: ignore[attr-defined]
            "class_staff": ClassStaff.__table__,  # type: ignore[attr-defined]
            "household": Household.__table__,  # type: ignore[attr-defined]
            "household_source": HouseholdSource.__table__,  # type: ignore[attr-defined]
            "contact": Contact.__table__,  # type: ignore[attr-defined]
            "pupil": Pupil.__table__,  # type: ignore[attr-defined]
        }
        trust_id = self.school.trust_id
        if self.plan.class_staff_replaced:
            table = tables["class_staff"]
            await self.session.execute(
                table.delete().where(
                    table.c.trust_id == trust_id,
                    table.c.class_id.in_(self.plan.class_staff_replaced),
                )
            )
        if self.plan.contacts_removed:
            table = tables["contact"]
            for chunk in _chunks(self.plan.contacts_removed, 1000):
                await self.session.execute(
                    table.delete().where(table.c.trust_id == trust_id, table.c.id.in_(chunk))
                )
        # Parents before children, so foreign keys hold at every statement.
        for name in (
            "school_class",
            "household",
            "household_source",
            "class_staff",
            "contact",
            "pupil",
        ):
            await self._insert(tables[name], self.plan.inserts.get(name, []))
            await self._update(tables[name], self.plan.updates.get(name, []))

    async def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        await insert_rows(self.session, table, rows)

    async def _update(self, table: Table, rows: list[dict[str, Any]]) -> None:
        # Family ids are matched by the school's own: another school may use the same ones.
        also = table.c.school_id == self.school.id if table.name == "household_source" else None
        await update_rows(self.session, table, rows, trust_id=self.school.trust_id, also=also)


def _fields(row: BaseModel, names: Sequence[str]) -> dict[str, Any]:
    # Attribute reads: model_dump per row would cost more than the rest of the plan.
    return {name: getattr(row, name) for name in names}


def _plausible_birth_date(born: date, today: date) -> bool:
    age = (today - born).days / 365.25
    return 2 <= age <= 21


def _chunks(values: Sequence[Any] | Iterable[Any], size: int) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]
