"""The households a programme reaches, a page at a time, each with its family name, address and
children, so SLT can see who is in scope without one call per household; and SLT's exemptions.

Addresses follow the roster's rule (README, "who sees what"): office, SLT and DSLs see every
address, class staff those of their own classes' families, everyone else none (null).
"""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import YearGroup
from app.programmes.models import HouseholdExemption, VisitProgramme
from app.programmes.repository import ProgrammeRepository
from app.programmes.schemas import ChildInScope, ExemptionSet, HouseholdInScope
from app.programmes.service import ensure_household_in_scope
from app.roster.models import Pupil
from app.roster.service import address_policy


@dataclass(frozen=True)
class FamilyLabel:
    """How the school knows a family: its children's surnames and its MIS family id."""

    name: str
    reference: str | None

    @classmethod
    def of(cls, surnames: Iterable[str], reference: str | None) -> "FamilyLabel":
        return cls(" / ".join(sorted(set(surnames))) or "(no child in scope)", reference)

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})" if self.reference else self.name

    @property
    def family(self) -> str:
        """As a sentence names it: "Khan family (F-1)"."""
        return f"{self.name} family" + (f" ({self.reference})" if self.reference else "")


async def households_in_scope(
    session: AsyncSession, who: Principal, programme_id: UUID, page: PageParams
) -> tuple[list[HouseholdInScope], str | None]:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get_permitted(programme_id, Permission.PROGRAMMES_READ)
    rows, cursor = await paginate(
        session,
        repository.households_in_scope(programme),
        page,
        [SortKey(Pupil.household_id)],
        mappings=True,
    )
    return await _entries(session, who, programme, [r["household_id"] for r in rows]), cursor


async def _entries(
    session: AsyncSession, who: Principal, programme: VisitProgramme, households: list[UUID]
) -> list[HouseholdInScope]:
    repository = ProgrammeRepository(session, who)
    children: dict[UUID, list[ChildInScope]] = defaultdict(list)
    surnames: dict[UUID, set[str]] = defaultdict(set)
    for row in await repository.children(programme, households):
        children[row.household_id].append(
            ChildInScope(
                pupil_id=row.pupil_id,
                first_name=row.preferred_first_name or row.legal_first_name,
                class_name=row.class_name,
                year_group=YearGroup(row.year_group),
            )
        )
        surnames[row.household_id].add(row.preferred_last_name or row.legal_last_name)
    references = await repository.references(programme.school_id, households)
    homes = await repository.homes(households)
    exemptions = await repository.exemptions(programme.id)
    policy = await address_policy(session, who, programme.school_id)
    classes = await repository.classes_of(programme.school_id, households)
    reasons = who.can(Permission.EXEMPTION_REASONS, programme.school_id)
    entries = []
    for household_id in households:
        home = homes[household_id] if policy.may_see(classes[household_id]) else None
        exemption = exemptions.get(household_id)
        entries.append(
            HouseholdInScope(
                household_id=household_id,
                family_name=" / ".join(sorted(surnames[household_id])),
                reference=references.get(household_id),
                address_line1=home.address_line1 if home else None,
                address_line2=home.address_line2 if home else None,
                town=home.town if home else None,
                postcode=home.postcode if home else None,
                children=children[household_id],
                pupil_ids=[c.pupil_id for c in children[household_id]],
                year_groups=sorted({c.year_group for c in children[household_id]}),
                exemption=exemption.kind if exemption else None,
                exemption_reason=exemption.reason if exemption and reasons else None,
            )
        )
    return entries


async def family_labels(
    session: AsyncSession, who: Principal, programme: VisitProgramme, households: Collection[UUID]
) -> dict[UUID, FamilyLabel]:
    """Names for messages to SLT, who see every family of their school."""
    repository = ProgrammeRepository(session, who)
    surnames: dict[UUID, set[str]] = defaultdict(set)
    for row in await repository.children(programme, households):
        surnames[row.household_id].add(row.preferred_last_name or row.legal_last_name)
    references = await repository.references(programme.school_id, households)
    return {h: FamilyLabel.of(surnames[h], references.get(h)) for h in households}


async def set_exemption(
    session: AsyncSession,
    who: Principal,
    programme_id: UUID,
    household_id: UUID,
    body: ExemptionSet,
) -> HouseholdInScope:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get_permitted(programme_id, Permission.PROGRAMMES_MANAGE)
    await ensure_household_in_scope(session, who, programme, household_id)
    existing = (await repository.exemptions(programme.id)).get(household_id)
    if existing is None:
        session.add(
            HouseholdExemption(
                trust_id=programme.trust_id,
                school_id=programme.school_id,
                programme_id=programme.id,
                household_id=household_id,
                kind=body.kind,
                reason=body.reason,
                decided_by=who.id,
            )
        )
    else:
        existing.kind, existing.reason, existing.decided_by = body.kind, body.reason, who.id
    await audit.record(
        session,
        who,
        f"programme.household_{body.kind}",
        subject_type="household",
        subject_id=household_id,
        school_id=programme.school_id,
    )
    await session.flush()
    (entry,) = await _entries(session, who, programme, [household_id])
    return entry


async def clear_exemption(
    session: AsyncSession, who: Principal, programme_id: UUID, household_id: UUID
) -> None:
    repository = ProgrammeRepository(session, who)
    programme = await repository.get_permitted(programme_id, Permission.PROGRAMMES_MANAGE)
    await repository.clear_exemption(programme.id, household_id)
