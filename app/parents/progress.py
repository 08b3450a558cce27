"""How a programme's collection is going: counts per programme and class, first-preference demand
per slot (a heat map in data form, to see crowded times before scheduling), and the chase list
of households the office still has to reach."""

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.london import local_time
from app.core.pagination import PageParams, SortKey, paginate
from app.parents import answers_repository as repository
from app.parents import messages
from app.parents.answers import parts_covering
from app.parents.answers_models import AnswerKind, DayPart, HouseholdAnswer
from app.parents.answers_repository import InScopeChild
from app.parents.answers_schemas import (
    ChaseChild,
    ChaseContact,
    ChaseEntry,
    ChaseOrder,
    ClassProgress,
    Counts,
    DemandRead,
    InvitationState,
    ProgressRead,
    SlotDemand,
)
from app.parents.messages_schemas import InvitationDelivery
from app.parents.repository import InvitationRepository
from app.programmes.models import Slot, VisitProgramme
from app.roster.models import Pupil


async def progress(session: AsyncSession, programme: VisitProgramme) -> ProgressRead:
    children = await repository.children_in_scope(session, programme)
    answers = {a.household_id: a for a in await repository.answers_of(session, programme.id)}
    exemptions = await repository.exemption_kinds(session, programme.id)
    by_class: dict[UUID, set[UUID]] = defaultdict(set)
    classes: dict[UUID, InScopeChild] = {}
    for child in children:
        by_class[child.class_id].add(child.household_id)
        classes.setdefault(child.class_id, child)
    everyone = {c.household_id for c in children}
    return ProgressRead(
        programme_id=programme.id,
        totals=_count(everyone, answers, exemptions),
        classes=[
            ClassProgress(
                class_id=class_id,
                class_name=classes[class_id].class_name,
                year_group=classes[class_id].year_group,
                **_count(households, answers, exemptions).model_dump(),
            )
            for class_id, households in sorted(
                by_class.items(), key=lambda item: classes[item[0]].class_name
            )
        ],
    )


def _count(
    households: Iterable[UUID],
    answers: dict[UUID, HouseholdAnswer],
    exemptions: dict[UUID, str],
) -> Counts:
    counts = dict.fromkeys(Counts.model_fields, 0)
    for household in households:
        counts["in_scope"] += 1
        answer, exemption = answers.get(household), exemptions.get(household)
        if exemption is not None:
            counts[exemption] += 1  # "exempt" or "neutral_venue"
        if answer is None:
            counts["not_answered"] += exemption != "exempt"
            continue
        counts["declined" if answer.kind is AnswerKind.DECLINED else "answered"] += 1
        counts["neutral_venue_requested"] += answer.neutral_venue_requested
        counts["interpreter_needed"] += answer.interpreter_language is not None
    return Counts(**counts)


async def demand(session: AsyncSession, programme: VisitProgramme) -> DemandRead:
    slots = await repository.slots_of(session, programme.id)
    # Only families the programme will visit: in scope now, and not exempted by SLT.
    reached = {c.household_id for c in await repository.children_in_scope(session, programme)}
    kinds = await repository.exemption_kinds(session, programme.id)
    answers = [
        a
        for a in await repository.answers_of(session, programme.id)
        if a.kind is AnswerKind.PREFERENCES
        and a.household_id in reached
        and kinds.get(a.household_id) != "exempt"
    ]
    first: dict[str, int] = defaultdict(int)
    ranked: dict[str, int] = defaultdict(int)
    away: dict[tuple[str, DayPart], int] = defaultdict(int)
    for answer in answers:
        if answer.preferred_slot_ids:
            first[answer.preferred_slot_ids[0]] += 1
        for slot_id in answer.preferred_slot_ids:
            ranked[slot_id] += 1
        for period in answer.unavailable:
            away[(period["day"], DayPart(period["part"]))] += 1
    return DemandRead(
        programme_id=programme.id,
        answered=len(answers),
        slots=[
            SlotDemand(
                slot_id=slot.id,
                day=slot.day,
                starts_at=slot.starts_at,
                local_start=local_time(slot.starts_at).strftime("%H:%M"),
                first_choice=first[str(slot.id)],
                any_choice=ranked[str(slot.id)],
                unavailable=_unavailable_at(slot, away),
            )
            for slot in slots
        ],
    )


def _unavailable_at(slot: Slot, away: dict[tuple[str, DayPart], int]) -> int:
    # A household that gives both "all day" and "morning" for one day counts twice here; the
    # heat map shows pressure, not a head count.
    day = local_time(slot.starts_at).date().isoformat()
    parts = parts_covering(slot.starts_at, slot.ends_at)
    return sum(away.get((day, part), 0) for part in parts)


async def chase_list(
    session: AsyncSession,
    programme: VisitProgramme,
    page: PageParams,
    order: ChaseOrder = ChaseOrder.HOUSEHOLD,
) -> tuple[list[ChaseEntry], str | None]:
    """In-scope households with no answer and no exemption from the visit, one page at a time:
    by household, or by equity need first (the entries never say which needs: the office, who
    chases, does not read pupils' flags)."""
    if order is ChaseOrder.EQUITY:
        statement, need, household = repository.to_chase_by_need(programme)
        keys = [SortKey(need, descending=True), SortKey(household)]
    else:
        statement, keys = repository.to_chase(programme), [SortKey(Pupil.household_id)]
    rows, cursor = await paginate(session, statement, page, keys, mappings=True)
    households = [r["household_id"] for r in rows]
    return await _chase_entries(session, programme, households), cursor


async def _chase_entries(
    session: AsyncSession, programme: VisitProgramme, households: list[UUID]
) -> list[ChaseEntry]:
    children: dict[UUID, list[ChaseChild]] = defaultdict(list)
    for child in await repository.children_in_scope(session, programme, households):
        children[child.household_id].append(
            ChaseChild(
                pupil_id=child.pupil_id,
                first_name=child.first_name,
                last_name=child.last_name,
                class_name=child.class_name,
                year_group=child.year_group,
            )
        )
    contacts: dict[UUID, list[ChaseContact]] = defaultdict(list)
    for contact in await repository.contacts_of(session, households):
        contacts[contact.household_id].append(ChaseContact.model_validate(contact))
    invitations = {
        i.household_id: InvitationState.model_validate(i, update={"invitation_id": i.id})
        for i in await InvitationRepository(session).live_for(programme.id, households)
    }
    deliveries = await messages.invitation_deliveries(
        session, programme.id, [i.invitation_id for i in invitations.values()]
    )
    return [
        ChaseEntry(
            household_id=h,
            children=children[h],
            contacts=contacts[h],
            invitation=invitations.get(h),
            invitation_delivery=_delivery(invitations.get(h), deliveries),
        )
        for h in households
    ]


def _delivery(
    invitation: InvitationState | None, deliveries: dict[UUID, InvitationDelivery]
) -> InvitationDelivery:
    if invitation is None:
        return messages.NOT_INVITED
    return deliveries[invitation.invitation_id]
