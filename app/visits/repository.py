from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select, update

from app.core.bulk import insert_rows
from app.core.lean import LeanQuery, trust_of
from app.core.permissions import Permission
from app.core.repository import ScopedRepository
from app.core.types import utcnow
from app.parents.answers_models import HouseholdAnswer
from app.programmes.models import Slot, VisitProgramme
from app.roster.models import ClassStaff, Contact, Pupil, SchoolClass
from app.staff.models import StaffMember
from app.visits import messages
from app.visits.models import (
    Visit,
    VisitAdult,
    VisitChange,
    VisitLocation,
    VisitOutcome,
    VisitPupil,
    VisitRole,
    VisitStatus,
)

_visit = Visit.__table__  # type: ignore[attr-defined]
_adult = VisitAdult.__table__  # type: ignore[attr-defined]
_pupil = VisitPupil.__table__  # type: ignore[attr-defined]


class VisitRow(NamedTuple):
    """ONE_VISIT's row: the visit, one of its adults and one of its children (None for none)."""

    id: UUID
    school_id: UUID
    programme_id: UUID
    household_id: UUID
    slot_id: UUID
    starts_at: datetime
    ends_at: datetime
    location: str
    status: str
    locked: bool
    version: int
    arrived_at: datetime | None
    departed_at: datetime | None
    checked_in_at: datetime | None
    checked_in_by: UUID | None
    checked_out_at: datetime | None
    checked_out_by: UUID | None
    outcome_at: datetime | None
    outcome_by: UUID | None
    outcome_reason: str | None
    closed_at: datetime | None
    closed_by: UUID | None
    closed_reason: str | None
    staff_id: UUID | None
    role: str | None
    pupil_id: UUID | None
    pupil_outcome: str | None


# One visit with its adults and children in one round trip: a row per (adult, child) pair, a
# handful at most. Each table keeps to the caller's trust; schools are checked on the row.
ONE_VISIT = LeanQuery(
    sa.select(
        _visit.c.id,
        _visit.c.school_id,
        _visit.c.programme_id,
        _visit.c.household_id,
        _visit.c.slot_id,
        _visit.c.starts_at,
        _visit.c.ends_at,
        _visit.c.location,
        _visit.c.status,
        _visit.c.locked,
        _visit.c.version,
        _visit.c.arrived_at,
        _visit.c.departed_at,
        _visit.c.checked_in_at,
        _visit.c.checked_in_by,
        _visit.c.checked_out_at,
        _visit.c.checked_out_by,
        _visit.c.outcome_at,
        _visit.c.outcome_by,
        _visit.c.outcome_reason,
        _visit.c.closed_at,
        _visit.c.closed_by,
        _visit.c.closed_reason,
        _adult.c.staff_id,
        _adult.c.role,
        _pupil.c.pupil_id,
        _pupil.c.outcome.label("pupil_outcome"),
    )
    .select_from(_visit)
    .outerjoin(
        _adult,
        sa.and_(_adult.c.visit_id == _visit.c.id, _adult.c.trust_id == sa.bindparam("trust_id")),
    )
    .outerjoin(
        _pupil,
        sa.and_(_pupil.c.visit_id == _visit.c.id, _pupil.c.trust_id == sa.bindparam("trust_id")),
    )
    .where(_visit.c.id == sa.bindparam("visit_id"), _visit.c.trust_id == sa.bindparam("trust_id"))
    .order_by(_adult.c.role, _adult.c.staff_id, _pupil.c.pupil_id)
)


class ProgressRow(NamedTuple):
    pupil_id: UUID
    class_id: UUID | None
    class_name: str | None
    year_group: str | None
    status: str
    outcome: str | None


class VisitRepository(ScopedRepository[Visit]):
    model, label = Visit, "visit"

    async def one_described(self, visit_id: UUID) -> list[VisitRow]:
        """The visit's rows (see ONE_VISIT), empty when it is missing or outside the caller's
        trust or schools: a hot read, on the lean path."""
        found = await ONE_VISIT.all(
            self.session, visit_id=visit_id, trust_id=trust_of(self.session)
        )
        rows = [VisitRow(**row) for row in found]
        schools = self.principal.scope.school_ids
        if rows and schools is not None and rows[0].school_id not in schools:
            return []
        return rows

    def of_programme(self, programme_id: UUID) -> Select[Any]:
        return self.base_statement().where(col(Visit.programme_id) == programme_id)

    async def of_programme_between(
        self, programme_id: UUID, starts: datetime, ends: datetime
    ) -> list[Visit]:
        """The programme's visits starting in [starts, ends), in time order."""
        rows = await self.session.scalars(
            self.of_programme(programme_id)
            .where(col(Visit.starts_at) >= starts, col(Visit.starts_at) < ends)
            .order_by(col(Visit.starts_at), col(Visit.id))
        )
        return list(rows)

    def readable_of_programme(self, programme_id: UUID, school_id: UUID) -> Select[Any]:
        """The programme's visits the caller needs to know about (see `_known_to`)."""
        statement = self.of_programme(programme_id)
        if self.principal.can(Permission.VISITS_READ_ALL, school_id):
            return statement
        return statement.where(col(Visit.id).in_(self._known_to(self.principal.id)))

    def changes_of(self, visit_id: UUID) -> Select[Any]:
        return select(VisitChange).where(col(VisitChange.visit_id) == visit_id)

    async def needs_to_know(self, visit_id: UUID, school_id: UUID, adults: set[UUID]) -> bool:
        """`adults`: who is on the visit, already read (so an adult on it costs no query)."""
        if self.principal.can(Permission.VISITS_READ_ALL, school_id) or self.principal.id in adults:
            return True
        found = await self.session.scalar(
            select(sa.literal(1))
            .where(col(Visit.id) == visit_id)
            .where(col(Visit.id).in_(self._known_to(self.principal.id)))
        )
        return found is not None

    @staticmethod
    def _known_to(staff_id: UUID) -> Any:
        """Visits a teacher or support assistant is on, or of children in the classes they
        teach or support: their need to know, as for the roster's contact details."""
        on_it = select(VisitAdult.visit_id).where(col(VisitAdult.staff_id) == staff_id)
        taught = (
            select(VisitPupil.visit_id)
            .join(Pupil, col(Pupil.id) == col(VisitPupil.pupil_id))
            .join(ClassStaff, col(ClassStaff.class_id) == col(Pupil.class_id))
            .where(col(ClassStaff.staff_id) == staff_id)
        )
        return sa.union(on_it, taught)

    async def open_visits(self, programme_id: UUID) -> list[Visit]:
        rows = await self.session.scalars(
            self.of_programme(programme_id).where(
                col(Visit.status).in_([VisitStatus.PROPOSED, VisitStatus.SCHEDULED])
            )
        )
        return list(rows)

    async def slot(self, programme_id: UUID, slot_id: UUID) -> Slot | None:
        return await self.session.scalar(
            select(Slot).where(col(Slot.programme_id) == programme_id, col(Slot.id) == slot_id)
        )

    async def replace_second_adult(self, visit: Visit, staff_id: UUID) -> None:
        await self.session.execute(
            delete(VisitAdult).where(
                col(VisitAdult.visit_id) == visit.id,
                col(VisitAdult.role) == VisitRole.SECOND_ADULT,
            )
        )
        self.session.add(
            VisitAdult(
                trust_id=visit.trust_id,
                school_id=visit.school_id,
                visit_id=visit.id,
                staff_id=staff_id,
                role=VisitRole.SECOND_ADULT,
            )
        )

    async def replace_adults(self, visit: Visit, adults: list[tuple[UUID, VisitRole]]) -> None:
        await self.session.execute(delete(VisitAdult).where(col(VisitAdult.visit_id) == visit.id))
        self.session.add_all(
            VisitAdult(
                trust_id=visit.trust_id,
                school_id=visit.school_id,
                visit_id=visit.id,
                staff_id=staff_id,
                role=role,
            )
            for staff_id, role in adults
        )

    async def of_household(
        self, programme_id: UUID, household_id: UUID, *, for_update: bool = False
    ) -> Visit | None:
        """The family's visit in the programme, whatever its status (one at most)."""
        statement = self.of_programme(programme_id).where(col(Visit.household_id) == household_id)
        found: Visit | None = await self.session.scalar(
            statement.with_for_update() if for_update else statement
        )
        return found

    async def slot_ids(self, programme_id: UUID) -> set[UUID]:
        rows = await self.session.scalars(
            select(Slot.id).where(col(Slot.programme_id) == programme_id)
        )
        return set(rows)

    async def starts(self, visit_ids: list[UUID]) -> dict[UUID, datetime]:
        rows = await self.session.execute(
            self.base_statement()
            .with_only_columns(col(Visit.id), col(Visit.starts_at))
            .where(col(Visit.id).in_(visit_ids))
        )
        return {row.id: row.starts_at for row in rows.all()}

    async def placed(
        self,
        programme: VisitProgramme,
        existing: Visit | None,
        *,
        household_id: UUID,
        slot: Slot,
        location: VisitLocation,
        status: VisitStatus,
        adults: list[tuple[UUID, VisitRole]],
        pupils: list[UUID],
    ) -> Visit:
        """A visit placed by hand: new, or the family's cancelled visit given again (a family
        has one visit a programme, whose id a sent message may hold), with its adults and
        children written afresh."""
        visit = existing or Visit(
            trust_id=programme.trust_id,
            school_id=programme.school_id,
            programme_id=programme.id,
            household_id=household_id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            location=location,
            status=status,
        )
        visit.slot_id, visit.starts_at, visit.ends_at = slot.id, slot.starts_at, slot.ends_at
        visit.location, visit.status, visit.locked, visit.run_id = location, status, False, None
        # Given again: the last attempt's outcome and check-ins stay in the history only.
        visit.outcome_at = visit.outcome_by = visit.outcome_reason = None
        visit.arrived_at = visit.departed_at = None
        visit.checked_in_at = visit.checked_in_by = None
        visit.checked_out_at = visit.checked_out_by = None
        self.session.add(visit)
        await self.session.flush()
        for child in (VisitAdult, VisitPupil):
            await self.session.execute(delete(child).where(col(child.visit_id) == visit.id))
        trust_id, school_id, visit_id = visit.trust_id, visit.school_id, visit.id
        self.session.add_all(
            [
                VisitAdult(
                    trust_id=trust_id,
                    school_id=school_id,
                    visit_id=visit_id,
                    staff_id=staff_id,
                    role=role,
                )
                for staff_id, role in adults
            ]
        )
        self.session.add_all(
            [
                VisitPupil(trust_id=trust_id, school_id=school_id, visit_id=visit_id, pupil_id=p)
                for p in pupils
            ]
        )
        await self.session.flush()
        return visit

    async def adults(self, visit_ids: list[UUID]) -> dict[UUID, list[tuple[UUID, VisitRole]]]:
        found: dict[UUID, list[tuple[UUID, VisitRole]]] = defaultdict(list)
        rows = await self.session.execute(
            select(VisitAdult.visit_id, VisitAdult.staff_id, VisitAdult.role)
            .where(col(VisitAdult.visit_id).in_(visit_ids))
            .order_by(col(VisitAdult.role), col(VisitAdult.staff_id))
        )
        for visit_id, staff_id, role in rows.all():
            found[visit_id].append((staff_id, VisitRole(role)))
        return found

    async def pupils(
        self, visit_ids: list[UUID]
    ) -> dict[UUID, list[tuple[UUID, VisitOutcome | None]]]:
        """Each visit's children, with a joined sibling's own outcome where it differs."""
        found: dict[UUID, list[tuple[UUID, VisitOutcome | None]]] = defaultdict(list)
        rows = await self.session.execute(
            select(VisitPupil.visit_id, VisitPupil.pupil_id, VisitPupil.outcome)
            .where(col(VisitPupil.visit_id).in_(visit_ids))
            .order_by(col(VisitPupil.pupil_id))
        )
        for visit_id, pupil_id, outcome in rows.all():
            found[visit_id].append((pupil_id, VisitOutcome(outcome) if outcome else None))
        return found

    async def progress_rows(self, programme_id: UUID) -> list[ProgressRow]:
        """Each child on the programme's visits: their class, their visit's status and their
        own outcome where it differs. Runs once the programme has loaded through the scope."""
        rows = await self.session.execute(
            sa.select(
                col(VisitPupil.pupil_id),
                col(Pupil.class_id),
                col(SchoolClass.name),
                col(SchoolClass.year_group),
                col(Visit.status),
                col(VisitPupil.outcome),
            )
            .select_from(VisitPupil)
            .join(Visit, col(Visit.id) == col(VisitPupil.visit_id))
            .join(Pupil, col(Pupil.id) == col(VisitPupil.pupil_id))
            .outerjoin(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
            .where(col(Visit.programme_id) == programme_id)
        )
        return [ProgressRow(*row) for row in rows.all()]

    async def set_pupil_outcomes(
        self, visit_id: UUID, outcomes: dict[UUID, VisitOutcome | None]
    ) -> None:
        for pupil_id, outcome in outcomes.items():
            await self.session.execute(
                update(VisitPupil)
                .where(col(VisitPupil.visit_id) == visit_id, col(VisitPupil.pupil_id) == pupil_id)
                .values(outcome=outcome)
            )


class ItineraryRepository:
    """What one adult's days need: their visits, and for each its home (and the school), the
    children, first contact, access needs and the other adults. Runs after the programme has
    loaded through the caller's scope. The homes and the school are read as the scheduler reads
    them (SchedulingRepository)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visits_of_adult(self, programme_id: UUID, staff_id: UUID) -> list[Visit]:
        mine = select(VisitAdult.visit_id).where(col(VisitAdult.staff_id) == staff_id)
        rows = await self.session.scalars(
            select(Visit)
            .where(
                col(Visit.programme_id) == programme_id,
                col(Visit.id).in_(mine),
                col(Visit.status).not_in([VisitStatus.CANCELLED, VisitStatus.DECLINED]),
            )
            .order_by(col(Visit.starts_at))
        )
        return list(rows)

    async def first_contacts(self, households: list[UUID]) -> dict[UUID, Contact]:
        rows = await self.session.scalars(
            select(Contact)
            .where(col(Contact.household_id).in_(households))
            .order_by(col(Contact.priority).desc(), col(Contact.id).desc())
        )
        return {c.household_id: c for c in rows}  # the last written wins: priority 1

    async def children(self, visit_ids: list[UUID]) -> dict[UUID, list[tuple[str, str | None]]]:
        rows = await self.session.execute(
            select(
                VisitPupil.visit_id,
                Pupil.preferred_first_name,
                Pupil.legal_first_name,
                SchoolClass.name,
            )
            .join(Pupil, col(Pupil.id) == col(VisitPupil.pupil_id))
            .outerjoin(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
            .where(col(VisitPupil.visit_id).in_(visit_ids))
            .order_by(col(Pupil.legal_first_name))
        )
        found: dict[UUID, list[tuple[str, str | None]]] = defaultdict(list)
        for visit_id, preferred, legal, class_name in rows.all():
            found[visit_id].append((preferred or legal, class_name))
        return found

    async def adults(self, visit_ids: list[UUID]) -> dict[UUID, list[tuple[UUID, str, VisitRole]]]:
        rows = await self.session.execute(
            select(VisitAdult.visit_id, VisitAdult.staff_id, StaffMember.full_name, VisitAdult.role)
            .join(StaffMember, col(StaffMember.id) == col(VisitAdult.staff_id))
            .where(col(VisitAdult.visit_id).in_(visit_ids))
            .order_by(col(VisitAdult.role), col(StaffMember.full_name))
        )
        found: dict[UUID, list[tuple[UUID, str, VisitRole]]] = defaultdict(list)
        for visit_id, staff_id, name, role in rows.all():
            found[visit_id].append((staff_id, name, VisitRole(role)))
        return found

    async def answers(
        self, programme_id: UUID, households: list[UUID]
    ) -> dict[UUID, HouseholdAnswer]:
        rows = await self.session.scalars(
            select(HouseholdAnswer).where(
                col(HouseholdAnswer.programme_id) == programme_id,
                col(HouseholdAnswer.household_id).in_(households),
            )
        )
        return {a.household_id: a for a in rows}


async def follow_merge(session: AsyncSession, from_id: UUID, to_id: UUID) -> None:
    """Visits follow a household merge. Where both homes had a visit in one programme, they are
    the same family now: the children join the kept visit and the other is removed."""
    kept = {
        v.programme_id: v.id
        for v in await session.scalars(select(Visit).where(col(Visit.household_id) == to_id))
    }
    for visit in list(
        await session.scalars(select(Visit).where(col(Visit.household_id) == from_id))
    ):
        target = kept.get(visit.programme_id)
        if target is None:
            visit.household_id = to_id
            continue
        await session.execute(
            update(VisitPupil).where(col(VisitPupil.visit_id) == visit.id).values(visit_id=target)
        )
        for child in (VisitAdult, VisitChange):
            await session.execute(delete(child).where(col(child.visit_id) == visit.id))
        await session.delete(visit)
    await session.flush()


class RunVisitRepository:
    """The visits a schedule run writes: those it may replace, their replacement in bulk (a few
    statements per run, never one per visit), and their confirmation when the programme is
    published. Visits are written only here and in this package's services. Runs inside a job
    or a transition whose session is scoped to the programme's trust and school."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def giving_way(self, programme_id: UUID) -> dict[UUID, Visit]:
        """The programme's unlocked visits a run may change, by household: proposals, and, once
        the programme has been published, visits the families were given (and any a run
        cancelled, which it may bring back)."""
        rows = await self.session.scalars(
            select(Visit).where(
                col(Visit.programme_id) == programme_id,
                col(Visit.locked).is_(False),
                col(Visit.status).in_(GIVING_WAY),
                # A visit whose outcome is recorded happened (or was called off) for good.
                col(Visit.outcome_at).is_(None),
            )
        )
        return {visit.household_id: visit for visit in rows}

    async def replace_unlocked_visits(
        self,
        old: dict[UUID, Visit],
        visits: list[dict[str, Any]],
        adults: list[dict[str, Any]],
        pupils: list[dict[str, Any]],
        changed_by: UUID | None,
    ) -> None:
        """The run's visits take the place of `old` (see `giving_way`). A family whose visit
        survives keeps its visit's id, so a client holding it (a staff app, a sent confirmation)
        follows the change; its version moves only if the visit did, and a move is recorded in
        its history. Proposals for families the run did not place go; a visit a family was given
        is cancelled instead, and that is recorded too, so the family can be told."""
        by_id = {visit.id: visit for visit in old.values()}
        before = await self._children_of(list(by_id))
        after = _children(adults, pupils)
        fresh = [row for row in visits if row["id"] not in by_id]
        changed = [row for row in visits if _differs(by_id.get(row["id"]), row, before, after)]
        left = by_id.keys() - {row["id"] for row in visits}
        gone = [i for i in left if by_id[i].status is VisitStatus.PROPOSED]
        for visit_id in left:
            if by_id[visit_id].status is VisitStatus.SCHEDULED:
                self._cancel(by_id[visit_id], changed_by)
        rewritten = [row["id"] for row in changed] + gone
        for child in (VisitAdult, VisitPupil):
            await self.session.execute(delete(child).where(col(child.visit_id).in_(rewritten)))
        await self.session.execute(delete(VisitChange).where(col(VisitChange.visit_id).in_(gone)))
        await self.session.execute(delete(Visit).where(col(Visit.id).in_(gone)))
        for row in changed:
            self._update(by_id[row["id"]], row, changed_by)
        await insert_rows(self.session, Visit.__table__, fresh)  # type: ignore[attr-defined]
        written = {row["id"] for row in fresh} | {row["id"] for row in changed}
        for table, rows in ((VisitAdult, adults), (VisitPupil, pupils)):
            mine = [r for r in rows if r["visit_id"] in written]
            await insert_rows(self.session, table.__table__, mine)  # type: ignore[union-attr]
        programme_id = next(
            (v.programme_id for v in old.values()), visits[0]["programme_id"] if visits else None
        )
        if programme_id is not None:
            # A published programme's families hear of what the run changed for them.
            await messages.tell_after_run(self.session, programme_id)

    async def _children_of(self, visit_ids: list[UUID]) -> dict[UUID, tuple[frozenset[Any], ...]]:
        adults = await self.session.execute(
            select(VisitAdult.visit_id, VisitAdult.staff_id, VisitAdult.role).where(
                col(VisitAdult.visit_id).in_(visit_ids)
            )
        )
        pupils = await self.session.execute(
            select(VisitPupil.visit_id, VisitPupil.pupil_id).where(
                col(VisitPupil.visit_id).in_(visit_ids)
            )
        )
        return _children(
            [{"visit_id": v, "staff_id": s, "role": r} for v, s, r in adults.all()],
            [{"visit_id": v, "pupil_id": p} for v, p in pupils.all()],
        )

    def _update(self, visit: Visit, row: dict[str, Any], changed_by: UUID | None) -> None:
        if visit.starts_at != row["starts_at"] or visit.status is VisitStatus.CANCELLED:
            self._record(
                visit, changed_by, "rescheduled", row["starts_at"], "Moved by a schedule run"
            )
        for name in ("slot_id", "starts_at", "ends_at", "location", "status", "run_id"):
            setattr(visit, name, row[name])
        visit.updated_at = row["updated_at"]

    def _cancel(self, visit: Visit, changed_by: UUID | None) -> None:
        self._record(visit, changed_by, "cancelled", None, "Not placed by a schedule run")
        visit.status = VisitStatus.CANCELLED
        visit.updated_at = utcnow()

    def _record(
        self, visit: Visit, changed_by: UUID | None, kind: str, to: datetime | None, note: str
    ) -> None:
        self.session.add(
            VisitChange(
                trust_id=visit.trust_id,
                school_id=visit.school_id,
                visit_id=visit.id,
                changed_by=changed_by,
                kind=kind,
                from_starts_at=visit.starts_at,
                to_starts_at=to,
                note=note,
            )
        )

    async def confirm_proposals(self, programme_id: UUID) -> None:
        """Publishing: every proposed visit of the programme is given to its family."""
        await self.session.execute(
            update(Visit)
            .where(
                col(Visit.programme_id) == programme_id, col(Visit.status) == VisitStatus.PROPOSED
            )
            .values(status=VisitStatus.SCHEDULED, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


# Visits a run may change: proposals, visits given to families (a published programme's), and
# visits a run cancelled, which a later run may bring back. Locked visits never.
GIVING_WAY = (VisitStatus.PROPOSED, VisitStatus.SCHEDULED, VisitStatus.CANCELLED)


def _children(
    adults: list[dict[str, Any]], pupils: list[dict[str, Any]]
) -> dict[UUID, tuple[frozenset[Any], ...]]:
    """Each visit's adults (with their roles) and children, for comparing a run with before."""
    found: dict[UUID, tuple[set[Any], set[Any]]] = defaultdict(lambda: (set(), set()))
    for adult in adults:
        found[adult["visit_id"]][0].add((adult["staff_id"], str(adult["role"])))
    for pupil in pupils:
        found[pupil["visit_id"]][1].add(pupil["pupil_id"])
    return {visit_id: (frozenset(a), frozenset(p)) for visit_id, (a, p) in found.items()}


def _differs(
    visit: Visit | None,
    row: dict[str, Any],
    before: dict[UUID, tuple[frozenset[Any], ...]],
    after: dict[UUID, tuple[frozenset[Any], ...]],
) -> bool:
    if visit is None:
        return False  # a new visit, written whole
    moved = (visit.slot_id, str(visit.location)) != (row["slot_id"], str(row["location"]))
    confirmed = visit.status is not row["status"]
    return moved or confirmed or before.get(visit.id) != after.get(visit.id)
