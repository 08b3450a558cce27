"""Concerns: raised by any member of a school's staff, read and moved on by its DSLs.

Raising writes the concern, the pupils it names and the DSLs' alert in one transaction (a
rejected request writes none of them). The raiser reads back what they raised, its status and
when a DSL first read it, nothing added after. The DSLs of the school and the trust's DSLs read
the concern and its chronology; every read is written to the audit log, and they can list who
has read a file. To everyone else a concern answers 404, as if it did not exist.

The workflow is `raised → acknowledged → action_taken → closed`, each step a chronology entry;
`reopened` follows `closed`. Nothing is changed in place: a correction is an entry naming the
entry it corrects.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import NotFound
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.types import utcnow
from app.programmes.models import VisitProgramme
from app.roster.repository import PupilRepository
from app.safeguarding import alerts, repository
from app.safeguarding.exceptions import (
    FreshSignInRequired,
    NotAcknowledged,
    SignOffRefused,
    StatusRefused,
    UnknownReference,
)
from app.safeguarding.models import (
    ChronologyEntry,
    ChronologyEntryKind,
    Concern,
    ConcernPupil,
    ConcernStatus,
)
from app.safeguarding.repository import ConcernRepository, RaisedRepository
from app.safeguarding.schemas import (
    ChronologyEntryRead,
    ChronologyEntryWrite,
    ConcernCount,
    ConcernExport,
    ConcernPupilRead,
    ConcernRaise,
    ConcernRead,
    ConcernReaderRead,
    ConcernReceipt,
    ConcernSummary,
)
from app.trusts.repository import SchoolRepository, TrustRepository

S = ConcernStatus
# Where a concern may go from where it stands.
NEXT: dict[ConcernStatus, frozenset[ConcernStatus]] = {
    S.RAISED: frozenset({S.ACKNOWLEDGED}),
    S.ACKNOWLEDGED: frozenset({S.ACTION_TAKEN, S.CLOSED}),
    S.ACTION_TAKEN: frozenset({S.CLOSED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ACTION_TAKEN, S.CLOSED}),
}


async def raise_concern(
    session: AsyncSession, who: Principal, school_id: UUID, body: ConcernRaise
) -> ConcernReceipt:
    """Any member of the school's staff (404 for a school they cannot see, 403 without
    SAFEGUARDING_RAISE there). 422 when a pupil, the visit or the household is not the school's."""
    school = await SchoolRepository(session, who).get_permitted(
        school_id, Permission.SAFEGUARDING_RAISE
    )
    household_id = await _household(session, school.id, body)
    await _ensure_on_roll(session, school.id, [p.pupil_id for p in body.pupils])
    concern = Concern(
        trust_id=school.trust_id,
        school_id=school.id,
        raised_by=who.id,
        raised_at=utcnow(),
        household_id=household_id,
        **body.model_dump(exclude={"pupils", "household_id"}),
    )
    session.add(concern)
    await session.flush()
    session.add_all(
        ConcernPupil(
            trust_id=school.trust_id,
            school_id=school.id,
            concern_id=concern.id,
            pupil_id=pupil.pupil_id,
            role=pupil.role,
        )
        for pupil in body.pupils
    )
    await session.flush()
    await alerts.alert_at_once(session, concern)
    await _audit(session, who, "safeguarding.concern_raised", concern)
    return await _receipt(session, concern)


async def _ensure_on_roll(session: AsyncSession, school_id: UUID, pupil_ids: list[UUID]) -> None:
    unknown = set(pupil_ids) - await repository.pupils_at(session, school_id, pupil_ids)
    if unknown:
        raise UnknownReference(
            f"No pupil {sorted(map(str, unknown))[0]} is on the roll of this school. Nothing "
            "was recorded: name the school's pupils, or raise the concern about the household."
        )


async def _household(session: AsyncSession, school_id: UUID, body: ConcernRaise) -> UUID | None:
    household_id = body.household_id
    if body.visit_id is not None:
        found, of_visit = await repository.visit_household(session, school_id, body.visit_id)
        if not found:
            raise UnknownReference(
                f"There is no visit {body.visit_id} of this school. Nothing was recorded."
            )
        household_id = household_id or of_visit
    if body.household_id is not None and not await repository.household_known(
        session, body.household_id
    ):
        raise UnknownReference(
            f"There is no household {body.household_id} of this trust. Nothing was recorded."
        )
    return household_id


async def receipt(session: AsyncSession, who: Principal, concern_id: UUID) -> ConcernReceipt:
    """The raiser's own: what they raised and where it stands. 404 to anyone else."""
    concern = await RaisedRepository(session, who).get(concern_id)
    await _audit(session, who, "safeguarding.receipt_read", concern)
    return await _receipt(session, concern)


async def read(session: AsyncSession, who: Principal, concern_id: UUID) -> ConcernRead:
    concern = await _readable(session, who, concern_id)
    await _audit(session, who, "safeguarding.concern_read", concern, part="concern")
    account = await _account(session, concern)
    return ConcernRead.model_validate(account)


async def chronology(
    session: AsyncSession, who: Principal, concern_id: UUID
) -> list[ChronologyEntryRead]:
    concern = await _readable(session, who, concern_id)
    await _audit(session, who, "safeguarding.concern_read", concern, part="chronology")
    entries = await repository.chronology(session, concern.id)
    return [ChronologyEntryRead.model_validate(e) for e in entries]


async def _readable(session: AsyncSession, who: Principal, concern_id: UUID) -> Concern:
    """The concern through need-to-know (404). An old closed one also needs a fresh sign-in
    (403 `fresh-sign-in-required`): a file nobody has needed for a year is opened on purpose,
    by the person at the keyboard now, not by a session left signed in."""
    concern = await ConcernRepository(session, who).get(concern_id)
    settings = get_settings()
    now = utcnow()
    if now - concern.raised_at < timedelta(days=settings.safeguarding_elevated_after_days):
        return concern
    if _status((await repository.statuses_of(session, [concern.id]))[concern.id]) is not S.CLOSED:
        return concern
    signed_in = await repository.signed_in_at(session, who.session_id) if who.session_id else None
    fresh = timedelta(minutes=settings.safeguarding_fresh_signin_minutes)
    if signed_in is None or now - signed_in > fresh:
        raise FreshSignInRequired(
            f"This concern was closed and raised over {settings.safeguarding_elevated_after_days} "
            f"days ago: sign in again (within {settings.safeguarding_fresh_signin_minutes} "
            "minutes of opening it) to read it."
        )
    return concern


async def file_of_pupil(
    session: AsyncSession, who: Principal, pupil_id: UUID
) -> list[ConcernSummary]:
    """The pupil's child protection file: every concern naming them, oldest first, for their
    school's DSLs and the trust's; 404 to anyone else, as if there were none. Audited."""
    pupil = await PupilRepository(session, who).find(pupil_id)
    if pupil is None or not who.can(Permission.SAFEGUARDING_READ, pupil.school_id):
        raise NotFound(f"There is no child protection file of pupil {pupil_id} you can see.")
    found = list(await session.scalars(ConcernRepository(session, who).of_pupil(pupil.id)))
    found.sort(key=lambda c: (c.raised_at, c.id))
    await audit.record(
        session,
        who,
        "safeguarding.file_read",
        subject_type="pupil",
        subject_id=pupil.id,
        school_id=pupil.school_id,
        details={"concerns": [str(c.id) for c in found]},
    )
    return await _summaries(session, found)


async def released_for_subject_access(
    session: AsyncSession, who: Principal, school_id: UUID, pupil_id: UUID
) -> list[ConcernExport]:
    """The school's concerns naming the pupil, with their chronologies, for a subject access
    export a DSL has released them into. Only the subject access service calls this, once it has
    checked the release: the exporter need not be a DSL, so each concern exported is audited as
    read by them (it shows among the file's readers)."""
    found = await repository.naming_pupil(session, school_id, pupil_id)
    exported = []
    for concern in found:
        await _audit(session, who, "safeguarding.concern_exported", concern, part="subject_access")
        entries = await repository.chronology(session, concern.id)
        account = await _account(session, concern)
        exported.append(
            ConcernExport.model_validate(
                account | {"chronology": [ChronologyEntryRead.model_validate(e) for e in entries]}
            )
        )
    return exported


async def counts(
    session: AsyncSession, who: Principal, trust_id: UUID, academic_year: str | None
) -> list[ConcernCount]:
    """Per programme of the trust: how many concerns its school raised from its first visit
    day to its last (Europe/London), null below THRESHOLD_SAFEGUARDING_COUNTS_SUPPRESSED_BELOW.
    Counts only: never which concern, category or pupil."""
    trust = await TrustRepository(session, who).get_permitted(
        trust_id, Permission.SAFEGUARDING_COUNTS
    )
    smallest = get_settings().safeguarding_counts_suppressed_below
    programmes = [
        p for p in await repository.programmes_of(session, academic_year) if p.trust_id == trust.id
    ]
    raised = await raised_in_windows(session, programmes)
    found = []
    for programme in programmes:
        days = programme.days()
        count = None
        if programme.id in raised:
            count = len(raised[programme.id])
            count = count if count >= smallest else None
        found.append(
            ConcernCount(
                programme_id=programme.id,
                school_id=programme.school_id,
                academic_year=programme.academic_year,
                first_day=min(days) if days else None,
                last_day=max(days) if days else None,
                concerns=count,
            )
        )
    return found


async def raised_in_windows(
    session: AsyncSession, programmes: Sequence[VisitProgramme]
) -> dict[UUID, list[datetime]]:
    """Per programme with visit days, when the concerns its school raised during them were
    raised: one read for all the programmes, times only."""
    windows = {p.id: w for p in programmes if (w := p.visit_window()) is not None}
    if not windows:
        return {}
    raised = await repository.raised_at(
        session,
        {p.school_id for p in programmes if p.id in windows},
        min(first for first, _ in windows.values()),
        max(last for _, last in windows.values()),
    )
    return {
        p.id: [
            at for at in raised.get(p.school_id, []) if windows[p.id][0] <= at < windows[p.id][1]
        ]
        for p in programmes
        if p.id in windows
    }


async def readers(
    session: AsyncSession, who: Principal, concern_id: UUID
) -> list[ConcernReaderRead]:
    """Who has read the concern, its chronology or its receipt, and when: this read included."""
    concern = await ConcernRepository(session, who).get(concern_id)
    await _audit(session, who, "safeguarding.concern_read", concern, part="readers")
    await session.flush()
    return [
        ConcernReaderRead(
            actor_id=e.actor_id,
            actor_kind=e.actor_kind,
            at=e.at,
            part=str(e.details.get("part", "receipt")),
        )
        for e in await repository.readers(session, concern.id)
    ]


async def add_entry(
    session: AsyncSession, who: Principal, concern_id: UUID, body: ChronologyEntryWrite
) -> ChronologyEntryRead:
    """A DSL's entry. 409 when the status cannot follow the current one, or when anything but
    acknowledging comes before the concern is acknowledged; 422 when `corrects_id` names no
    entry of this concern (or a status, which is not corrected)."""
    concerns = ConcernRepository(session, who)
    concern = await concerns.get(concern_id)
    # A school that received the pupil's file reads its concerns but writes its own.
    concerns.permit_at(concern.school_id, Permission.SAFEGUARDING_READ)
    await repository.lock(session, concern.id)
    entries = (await repository.statuses_of(session, [concern.id]))[concern.id]
    current = _status(entries)
    if body.kind is ChronologyEntryKind.SIGN_OFF:
        _ensure_second_dsl(who, entries)
    elif body.kind is ChronologyEntryKind.STATUS:
        assert body.status is not None
        if body.status not in NEXT[current]:
            raise StatusRefused(
                f"The concern is {current}; it can move to "
                f"{' or '.join(sorted(NEXT[current]))}, not {body.status}."
            )
    elif current is S.RAISED:
        raise NotAcknowledged(
            "Acknowledge the concern (a status entry, 'acknowledged') before adding to its "
            "chronology: until then its alert keeps escalating."
        )
    if body.corrects_id is not None:
        corrected = await repository.entry(session, concern.id, body.corrects_id)
        if corrected is None or corrected.kind is ChronologyEntryKind.STATUS:
            raise UnknownReference(
                f"There is no entry {body.corrects_id} of this concern to correct (a status "
                "entry is not corrected: move the concern on instead)."
            )
    entry = ChronologyEntry(
        trust_id=concern.trust_id,
        school_id=concern.school_id,
        concern_id=concern.id,
        at=utcnow(),
        by=who.id,
        **body.model_dump(),
    )
    session.add(entry)
    await session.flush()
    await _audit(session, who, "safeguarding.entry_added", concern, part=body.kind.value)
    return ChronologyEntryRead.model_validate(entry)


async def list_for_school(
    session: AsyncSession, who: Principal, school_id: UUID, page: PageParams
) -> tuple[list[ConcernSummary], str | None]:
    """The school's concerns, newest first: its DSLs and the trust's. 404 to anyone else."""
    concerns = ConcernRepository(session, who)
    schools = who.schools_with(Permission.SAFEGUARDING_READ)
    if schools is not None and school_id not in schools:
        raise NotFound(f"There is no list of concerns of school {school_id} that you can see.")
    school = await SchoolRepository(session, who).get(school_id)
    rows, cursor = await paginate(
        session,
        concerns.of_school(school.id),
        page,
        [SortKey(Concern.raised_at, descending=True), SortKey(Concern.id, descending=True)],
    )
    await audit.record(
        session,
        who,
        "safeguarding.concerns_listed",
        subject_type="school",
        subject_id=school.id,
        school_id=school.id,
        details={"concerns": [str(c.id) for c in rows]},
    )
    return await _summaries(session, rows), cursor


async def _summaries(session: AsyncSession, concerns: list[Concern]) -> list[ConcernSummary]:
    statuses = await repository.statuses_of(session, [c.id for c in concerns])
    return [
        ConcernSummary(
            id=c.id,
            school_id=c.school_id,
            raised_at=c.raised_at,
            category=c.category,
            urgency=c.urgency,
            status=_status(statuses[c.id]),
        )
        for c in concerns
    ]


def _status(entries: list[ChronologyEntry]) -> ConcernStatus:
    statuses = [e.status for e in entries if e.kind is ChronologyEntryKind.STATUS and e.status]
    return statuses[-1] if statuses else S.RAISED


def _sign_off(entries: list[ChronologyEntry]) -> ChronologyEntry | None:
    """The sign-off of the latest closing, if a second DSL has given one."""
    found = None
    for entry in entries:
        if entry.kind is ChronologyEntryKind.SIGN_OFF:
            found = entry
        elif entry.status is S.CLOSED:
            found = None
    return found


def _ensure_second_dsl(who: Principal, entries: list[ChronologyEntry]) -> None:
    """A sign-off follows a closing, once, by a DSL other than the one who closed it (409)."""
    if _status(entries) is not S.CLOSED:
        raise SignOffRefused("Only a closed concern's closing is signed off; it is not closed.")
    closing = [e for e in entries if e.status is S.CLOSED][-1]
    if closing.by == who.id:
        raise SignOffRefused("You closed it: a second DSL signs off the closing.")
    if _sign_off(entries) is not None:
        raise SignOffRefused("Its closing is already signed off.")


async def _account(session: AsyncSession, concern: Concern) -> dict[str, object]:
    pupils = (await repository.pupils_of(session, [concern.id]))[concern.id]
    entries = (await repository.statuses_of(session, [concern.id]))[concern.id]
    acknowledged = next((e for e in entries if e.status is S.ACKNOWLEDGED), None)
    current = _status(entries)
    closings = [e for e in entries if e.status is S.CLOSED]
    sign_off = _sign_off(entries)
    return {
        **concern.model_dump(exclude={"trust_id"}),
        "pupils": [ConcernPupilRead.model_validate(p) for p in pupils],
        "status": current,
        "acknowledged_at": acknowledged.at if acknowledged else None,
        "acknowledged_by": acknowledged.by if acknowledged else None,
        "closed_at": closings[-1].at if current is S.CLOSED else None,
        "signed_off_at": sign_off.at if sign_off else None,
        "signed_off_by": sign_off.by if sign_off else None,
    }


async def _receipt(session: AsyncSession, concern: Concern) -> ConcernReceipt:
    account = await _account(session, concern)
    first_read = await repository.first_read_at(session, concern.id)
    return ConcernReceipt.model_validate(account | {"first_read_at": first_read})


async def _audit(
    session: AsyncSession, who: Principal, action: str, concern: Concern, part: str | None = None
) -> None:
    """Ids only: never a name, a category or a word of the account."""
    await audit.record(
        session,
        who,
        action,
        subject_type="concern",
        subject_id=concern.id,
        school_id=concern.school_id,
        details={"part": part} if part else {},
    )
