"""Safety alerts for visits in the field.

Two adults are in a family's home: the school must know when they have not checked in 20
minutes after the visit's planned start, or have not checked out 15 minutes after its end
(`THRESHOLD_VISITS_OVERDUE_CHECKIN_MINUTES`, `…_CHECKOUT_MINUTES`). The message worker runs the
planner about once a minute: an overdue visit raises an alert, whose email goes at once, quiet
hours or not, to the first of the school's chain (the day's safety contact named on the
programme's duty rota, then its office, then its SLT, each by name), and,
while nobody acknowledges it, to the next every `THRESHOLD_VISITS_ALERT_ESCALATE_MINUTES` (10),
until the chain is exhausted. Each person is told once (the outbox's unique key). The alert ends
when someone of the office or SLT acknowledges it, or when the adults check in (or out) after
all. Safety messages are not counted against a programme's daily cap.
"""

import logging
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.db import open_session
from app.core.london import local_time
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.settings import get_settings
from app.core.tenancy import system_scope
from app.core.types import utcnow
from app.notifications import outbox, reach
from app.notifications.models import MessageKind
from app.programmes.messages import family_names, time_of
from app.programmes.repository import ProgrammeRepository
from app.visits import alerts_repository as repository
from app.visits.alerts_models import OverdueKind, VisitAlert
from app.visits.alerts_repository import AlertRepository
from app.visits.messages import first_name, school_words
from app.visits.models import Visit, VisitStatus
from app.visits.schemas import VisitAlertRead

log = logging.getLogger("threshold.visits")

CAUSE = "visit_overdue"


def overdue(visit: Visit, now: datetime) -> OverdueKind | None:
    """Whether the visit's adults are overdue checking in or out, and which."""
    settings = get_settings()
    late_in = visit.starts_at + timedelta(minutes=settings.visits_overdue_checkin_minutes)
    late_out = visit.ends_at + timedelta(minutes=settings.visits_overdue_checkout_minutes)
    if visit.status is VisitStatus.SCHEDULED and visit.checked_in_at is None and now > late_in:
        return OverdueKind.NO_CHECK_IN
    if visit.checked_in_at is not None and visit.checked_out_at is None and now > late_out:
        return OverdueKind.NO_CHECK_OUT
    return None


async def plan_overdue_alerts(now: datetime) -> int:
    """The planner: raise alerts for visits now overdue, tell each alert's chain as far as it
    has escalated, end those the adults answered. How many messages it wrote."""
    settings = get_settings()
    async with open_session(system_scope("safety alerts for overdue visits")) as session:
        found = await repository.overdue_visits(
            session,
            now,
            timedelta(minutes=settings.visits_overdue_checkin_minutes),
            timedelta(minutes=settings.visits_overdue_checkout_minutes),
        )
        await _raise(session, found, now)
        return await _escalate(
            session, now, timedelta(minutes=settings.visits_alert_escalate_minutes)
        )


async def _raise(session: AsyncSession, found: list[Visit], now: datetime) -> None:
    existing = await repository.alerts_of(session, [v.id for v in found])
    for visit in found:
        kind = overdue(visit, now)
        if kind is None or (visit.id, kind) in existing:
            continue
        session.add(
            VisitAlert(
                trust_id=visit.trust_id,
                school_id=visit.school_id,
                visit_id=visit.id,
                programme_id=visit.programme_id,
                kind=kind,
                raised_at=now,
            )
        )
    await session.flush()


async def _escalate(session: AsyncSession, now: datetime, step: timedelta) -> int:
    alerts = await repository.open_alerts(session)
    visits = await repository.visits(session, [a.visit_id for a in alerts])
    live = []
    for alert in alerts:
        if overdue(visits[alert.visit_id], now) is not alert.kind:
            alert.resolved_at = now  # they checked in (or out) after all
        else:
            live.append(alert)
    drafts = await _drafts(session, live, visits, now, step)
    written = 0
    for trust_id, for_trust in drafts.items():
        written += len(await outbox.write(session, trust_id, for_trust, now=now))
    return written


async def _drafts(
    session: AsyncSession,
    alerts: list[VisitAlert],
    visits: dict[UUID, Visit],
    now: datetime,
    step: timedelta,
) -> dict[UUID, list[outbox.Draft]]:
    programmes = await repository.programmes(session, list({a.programme_id for a in alerts}))
    adults = await repository.adult_names(session, [a.visit_id for a in alerts])
    # Per programme, not per alert: a school's words and its families' names, each read once.
    words = {pid: await school_words(session, p) for pid, p in programmes.items()}
    families: dict[UUID, str] = {}
    for pid, programme in programmes.items():
        households = [visits[a.visit_id].household_id for a in alerts if a.programme_id == pid]
        families |= await family_names(session, programme, households)
    chains: dict[tuple[UUID, date], list[tuple[UUID, str]]] = {}
    drafts: dict[UUID, list[outbox.Draft]] = defaultdict(list)
    for alert in alerts:
        visit = visits[alert.visit_id]
        day = local_time(visit.starts_at).date()
        if (alert.school_id, day) not in chains:
            chains[alert.school_id, day] = await repository.chain(session, alert.school_id, day)
        chain = chains[alert.school_id, day]
        if not chain:
            log.error(
                "an overdue visit's school has nobody to tell", extra={"alert": str(alert.id)}
            )
            continue
        alert.level = min(int((now - alert.raised_at) / step), len(chain) - 1)
        values = {
            **words[alert.programme_id],
            "visitors": " and ".join(adults[visit.id]) or "the visiting adults",
            "family_name": families[visit.household_id],
            "visit_time": time_of(visit.starts_at),
            "overdue": _overdue_words(alert.kind, visit),
        }
        for level in range(alert.level + 1):
            staff_id, name = chain[level]
            drafts[alert.trust_id].append(
                outbox.Draft(
                    kind=MessageKind.VISIT_OVERDUE,
                    school_id=alert.school_id,
                    recipient=reach.staff(staff_id),
                    cause_kind=CAUSE,
                    cause_id=uuid.uuid5(alert.id, f"level {level}"),
                    values={**values, "staff_name": first_name(name)},
                )
            )
    return drafts


def _overdue_words(kind: OverdueKind, visit: Visit) -> str:
    settings = get_settings()
    if kind is OverdueKind.NO_CHECK_IN:
        minutes = settings.visits_overdue_checkin_minutes
        return f"have not checked in {minutes} minutes after the start"
    minutes = settings.visits_overdue_checkout_minutes
    return (
        f"have not checked out {minutes} minutes after the planned end ({time_of(visit.ends_at)})"
    )


async def acknowledge(session: AsyncSession, who: Principal, alert_id: UUID) -> VisitAlertRead:
    """Someone of the office or SLT has it in hand: nobody further up is told. Idempotent."""
    alerts = AlertRepository(session, who)
    alert = await alerts.get_permitted(alert_id, Permission.VISITS_FOLLOW_UP, for_update=True)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = utcnow(), who.id
        await session.flush()
        await audit.record(
            session,
            who,
            "visit.alert_acknowledged",
            subject_type="visit_alert",
            subject_id=alert.id,
            school_id=alert.school_id,
            details={"visit_id": str(alert.visit_id), "kind": alert.kind.value},
        )
    return VisitAlertRead.model_validate(alert)


async def list_for_programme(
    session: AsyncSession, who: Principal, programme_id: UUID, open_only: bool, page: PageParams
) -> tuple[list[VisitAlertRead], str | None]:
    programme = await ProgrammeRepository(session, who).get_permitted(
        programme_id, Permission.VISITS_FOLLOW_UP
    )
    rows, cursor = await paginate(
        session,
        AlertRepository(session, who).of_programme(programme.id, open_only),
        page,
        [SortKey(VisitAlert.raised_at), SortKey(VisitAlert.id)],
    )
    return [VisitAlertRead.model_validate(r) for r in rows], cursor
