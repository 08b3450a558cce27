"""Each staff member's private calendar feed of their visits.

Calendar apps poll a URL and cannot send a bearer token, so the feed's URL carries a secret
token of its own (256 random bits), stored only as its digest: issuing a new one (`POST
/me/calendar-feed`) retires the old URL at once, and revoking removes the feed. The feed
(`GET /calendar-feeds/{token}.ics`, iCalendar written with `icalendar`) holds each visit's time
(UTC, so it is right across the clock change), the family's surname and postcode, the other
adults, the school and the day's on-call safeguarding lead: never anything about the children. Cancelled visits stay in it, marked
cancelled, so calendars take them away. A token that matches no feed, or the feed of an account
no longer active, answers 404.
"""

from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.errors import NotFound
from app.core.principal import Principal
from app.core.security import digest, new_opaque_token
from app.core.tenancy import Scope, scoped, system_scope
from app.core.types import utcnow
from app.visits import calendar_repository as repository
from app.visits.calendar_models import CalendarFeed
from app.visits.calendar_repository import FeedVisit
from app.visits.messages import ROLE_WORDS
from app.visits.models import VisitLocation, VisitStatus

# How far back the feed reaches: the last weeks' visits stay in the calendar.
PAST = timedelta(days=60)
NO_FEED = "There is no calendar feed at this address (it may have been replaced or revoked)."


async def issue(session: AsyncSession, who: Principal) -> str:
    """A new secret for the caller's feed, replacing any before it; the token, shown once."""
    assert who.trust_id is not None
    token = new_opaque_token()
    feed = await repository.feed_of(session, who.id)
    action = "calendar_feed.rotated" if feed else "calendar_feed.issued"
    if feed is None:
        feed = CalendarFeed(trust_id=who.trust_id, staff_id=who.id, token_digest=digest(token))
        session.add(feed)
    else:
        feed.token_digest = digest(token)
        feed.updated_at = utcnow()
    await session.flush()
    await audit.record(session, who, action, subject_type="calendar_feed", subject_id=feed.id)
    return token


async def revoke(session: AsyncSession, who: Principal) -> None:
    if not await repository.remove_feed(session, who.id):
        raise NotFound("You have no calendar feed to revoke.")
    await audit.record(
        session, who, "calendar_feed.revoked", subject_type="staff_member", subject_id=who.id
    )


async def feed(session: AsyncSession, token: str) -> bytes:
    with scoped(session, system_scope("a calendar feed: its token is the caller")):
        found = await repository.feed_by_digest(session, digest(token))
    if found is None:
        raise NotFound(NO_FEED)
    with scoped(session, Scope(trust_id=found.trust_id)):
        if not await repository.active_staff(session, found.staff_id):
            raise NotFound(NO_FEED)
        visits = await repository.visits_of(session, found.staff_id, utcnow() - PAST)
    return render(visits)


def render(visits: list[FeedVisit]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Threshold//Home visits//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Home visits")
    stamp = utcnow()
    for visit in visits:
        calendar.add_component(_event(visit, stamp))
    return bytes(calendar.to_ical())


def _event(visit: FeedVisit, stamp: datetime) -> Event:
    family = " / ".join(visit.surnames) or "A family"
    at_school = visit.location is not VisitLocation.HOME
    event = Event()
    event.add("uid", f"{visit.id}@threshold")
    event.add("dtstamp", stamp)
    event.add("dtstart", visit.starts_at)
    event.add("dtend", visit.ends_at)
    # Each change of the visit is a new version: calendars replace the event they hold.
    event.add("sequence", visit.version)
    where = visit.school_name if at_school else (visit.postcode or "")
    event.add("summary", f"Home visit: {family} family" + (f", {where}" if where else ""))
    event.add("location", where)
    with_whom = ", ".join(f"{name} ({ROLE_WORDS[role]})" for name, role in visit.others)
    lines = [f"With {with_whom}." if with_whom else "", f"{visit.school_name}."]
    if visit.dsl_on_call:
        lines.append(f"On-call safeguarding lead: {visit.dsl_on_call}.")
    if at_school:
        lines.insert(0, "At the school (a neutral venue).")
    event.add("description", " ".join(line for line in lines if line))
    cancelled = visit.status is VisitStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def feed_path(token: str) -> str:
    return f"/api/v1/calendar-feeds/{token}.ics"
