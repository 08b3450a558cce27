"""The answers generator: deterministic, realistic shares on a real-sized school, and answers a
parent could have sent (no preference inside their own unavailable time, at most five, distinct).

Everything here is checked against the generated data and the database rows directly, not
through the availability area's own functions."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select

from app.core import db
from app.core.permissions import Role
from app.core.principal import Grant, Principal, PrincipalKind
from app.core.tenancy import system_scope
from app.parents.answers_models import AnswerKind, DayPart, HouseholdAnswer
from app.programmes.grid import Break, slot_grid
from app.programmes.models import Slot, VisitProgramme
from app.roster.models import Contact, Pupil, SchoolClass
from app.synthetic.answers import (
    AnswerGenerator,
    GeneratedAnswer,
    HouseholdProfile,
    answer_programme,
)
from app.synthetic.dates import ACADEMIC_YEAR, VISIT_WEEK
from app.synthetic.generator import World
from app.synthetic.roster import RosterGenerator
from tests.conftest import bearer, load_roster

LONDON_DAYS = list(VISIT_WEEK[2:])  # Wednesday to Friday, still to come
ALL_YEARS = ["R", "1", "2", "3", "4", "5", "6"]


@dataclass(frozen=True)
class FakeSlot:
    id: UUID
    starts_at: datetime
    ends_at: datetime


@dataclass
class Loaded:
    """A generated school with a collecting programme and its generated answers."""

    programme: VisitProgramme
    slots: dict[UUID, Slot]
    in_scope: set[UUID]
    contacts: dict[UUID, list[Contact]]
    answers: list[GeneratedAnswer]


def programme_body(year_groups: list[str], closes: datetime) -> dict[str, Any]:
    return {
        "name": "Home visits 2026",
        "academic_year": ACADEMIC_YEAR,
        "visit_days": [d.isoformat() for d in LONDON_DAYS],
        "day_starts": "09:00",
        "day_ends": "17:30",
        "breaks": [{"starts": "12:00", "ends": "13:00"}],
        "year_groups": year_groups,
        "preferences_open_at": (closes - timedelta(days=21)).isoformat(),
        "preferences_close_at": closes.isoformat(),
    }


async def generated_school(
    client: httpx.AsyncClient, world: World, *, pupils: int = 650, seed: int = 7
) -> None:
    teachers = [lg.email for lg in world.logins if lg.role is Role.TEACHER][:2]
    snapshot = RosterGenerator(seed).school_snapshot(
        "bligh", pupils=pupils, teacher_emails=teachers
    )
    await load_roster(world, snapshot.model_dump(mode="json"))


async def collecting_programme(
    client: httpx.AsyncClient, world: World, year_groups: list[str], closes: datetime
) -> UUID:
    """A programme made and opened by SLT through the API, as a school would."""
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    school_id = world.trusts[0].schools[0].id
    created = await client.post(
        f"/api/v1/schools/{school_id}/programmes",
        json=programme_body(year_groups, closes),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    programme_id = UUID(created.json()["id"])
    moved = await client.post(
        f"/api/v1/programmes/{programme_id}/transitions",
        json={"to": "collecting"},
        headers=headers | {"If-Match": created.headers["etag"]},
    )
    assert moved.status_code == 200, moved.text
    return programme_id


def slt_principal(world: World) -> Principal:
    admin = world.login(Role.SCHOOL_ADMIN)
    school_id = world.trusts[0].schools[0].id
    return Principal(
        PrincipalKind.STAFF, admin.staff_id, admin.trust_id, (Grant(Role.SCHOOL_ADMIN, school_id),)
    )


async def generate_answers(world: World, programme_id: UUID, seed: int) -> list[GeneratedAnswer]:
    async with db.open_session(system_scope("test answers")) as session:
        programme = await session.get(VisitProgramme, programme_id)
        assert programme is not None
        return await answer_programme(session, slt_principal(world), programme, seed=seed)


async def read_back(programme_id: UUID) -> Loaded:
    """The programme, its slots, the households it reaches (counted here from the roster rows)
    and their contacts, straight from the tables."""
    async with db.open_session(system_scope("test read back")) as session:
        programme = await session.get(VisitProgramme, programme_id)
        assert programme is not None
        slots = list(await session.scalars(select(Slot).where(Slot.programme_id == programme_id)))
        classes = {
            c.id: c
            for c in await session.scalars(
                select(SchoolClass).where(SchoolClass.school_id == programme.school_id)
            )
        }
        pupils = list(
            await session.scalars(select(Pupil).where(Pupil.school_id == programme.school_id))
        )
        in_scope = {
            p.household_id
            for p in pupils
            if p.on_roll
            and p.household_id is not None
            and p.class_id in classes
            and classes[p.class_id].academic_year == programme.academic_year
            and str(classes[p.class_id].year_group) in programme.year_groups
        }
        contacts: dict[UUID, list[Contact]] = defaultdict(list)
        for contact in await session.scalars(
            select(Contact).where(col(Contact.household_id).in_(in_scope))
        ):
            contacts[contact.household_id].append(contact)
    return Loaded(programme, {s.id: s for s in slots}, in_scope, dict(contacts), [])


def london(instant: datetime) -> datetime:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo("Europe/London"))


def clashes(slot: Slot, unavailable: tuple[tuple[date, DayPart], ...]) -> bool:
    """A slot is inside an unavailable time when it overlaps that day-part (midday splits them)."""
    starts, ends = london(slot.starts_at), london(slot.ends_at)
    midday = starts.replace(hour=12, minute=0, second=0)
    for day, part in unavailable:
        if day != starts.date():
            continue
        if part is DayPart.ALL_DAY:
            return True
        if part is DayPart.MORNING and starts < midday:
            return True
        if part is DayPart.AFTERNOON and ends > midday:
            return True
    return False


# --- Without a database -----------------------------------------------------------------------


def fake_grid() -> list[FakeSlot]:
    grid = slot_grid(
        LONDON_DAYS,
        day_starts=time(9),
        day_ends=time(17, 30),
        slot_minutes=45,
        travel_buffer_minutes=15,
        breaks=[Break(time(12), time(13))],
    )
    return [FakeSlot(UUID(int=i + 1), g.starts_at, g.ends_at) for i, g in enumerate(grid)]


def fake_households(n: int) -> list[HouseholdProfile]:
    return [
        HouseholdProfile(
            UUID(int=10_000 + i),
            interpreter_language="Polish" if i % 19 == 0 else None,
            other_language="Urdu" if i % 7 == 0 else None,
        )
        for i in range(n)
    ]


CLOSES = datetime(2026, 7, 17, 16, 0, tzinfo=UTC)


def test_the_same_seed_gives_the_same_answers_in_any_order() -> None:
    slots, households = fake_grid(), fake_households(300)
    first = AnswerGenerator(3).answers(slots, households, closes_at=CLOSES)
    again = AnswerGenerator(3).answers(
        list(reversed(slots)), list(reversed(households)), closes_at=CLOSES
    )
    other = AnswerGenerator(4).answers(slots, households, closes_at=CLOSES)
    assert first == again
    assert first != other
    assert [a.household_id for a in first] == sorted(a.household_id for a in first)


def test_answers_as_of_now_are_never_from_the_future() -> None:
    now = CLOSES - timedelta(days=5)
    answers = AnswerGenerator(2).answers(
        fake_grid(),
        fake_households(200),
        opens_at=CLOSES - timedelta(days=21),
        closes_at=CLOSES,
        now=now,
    )
    assert answers
    assert all(CLOSES - timedelta(days=21) <= a.submitted_at <= now for a in answers)
    assert any(a.submitted_at >= now - timedelta(hours=48) for a in answers)


def test_households_may_be_given_as_bare_ids() -> None:
    ids = [UUID(int=i + 1) for i in range(50)]
    answers = AnswerGenerator(1).answers(fake_grid(), ids, closes_at=CLOSES)
    assert {a.household_id for a in answers} <= set(ids)
    assert all(a.interpreter_language is None for a in answers)  # no language known


# --- On a generated 650-pupil school ------------------------------------------------------------


async def test_shares_on_a_real_sized_school(client: httpx.AsyncClient, world: World) -> None:
    closes = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    await generated_school(client, world)
    programme_id = await collecting_programme(client, world, ALL_YEARS, closes)
    answers = await generate_answers(world, programme_id, seed=11)
    loaded = await read_back(programme_id)
    n = len(loaded.in_scope)
    assert 330 <= n <= 480, n  # a 650-pupil primary's households
    assert {a.household_id for a in answers} <= loaded.in_scope
    kinds = Counter(a.kind for a in answers)
    preferring = [a for a in answers if a.kind is AnswerKind.PREFERENCES]
    shares = {
        "answered": kinds[AnswerKind.PREFERENCES] / n,
        "declined": kinds[AnswerKind.DECLINED] / n,
        "never": (n - len(answers)) / n,
        "late": sum(a.submitted_at >= closes - timedelta(hours=48) for a in answers) / len(answers),
        "interpreter": sum(a.interpreter_language is not None for a in preferring)
        / len(preferring),
        "neutral_venue": sum(a.neutral_venue_requested for a in preferring) / len(preferring),
        "unavailable_only": sum(
            bool(a.unavailable) and not a.preferred_slot_ids for a in preferring
        )
        / len(preferring),
    }
    print(f"{n} households in scope:", {k: round(v, 3) for k, v in shares.items()})
    assert 0.80 <= shares["answered"] <= 0.88
    assert 0.08 <= shares["never"] <= 0.13
    assert 0.02 <= shares["declined"] <= 0.05
    assert 0.10 <= shares["late"] <= 0.30
    assert 0.05 <= shares["interpreter"] <= 0.11
    assert 0.005 <= shares["neutral_venue"] <= 0.05
    assert 0.05 <= shares["unavailable_only"] <= 0.25
    assert all(a.decline_reason for a in answers if a.kind is AnswerKind.DECLINED)
    assert all(closes - timedelta(days=21) <= a.submitted_at <= closes for a in answers)
    check_languages(loaded, preferring)
    check_preferences(loaded, preferring)
    await check_rows(programme_id, answers)


def check_languages(loaded: Loaded, preferring: list[GeneratedAnswer]) -> None:
    """Interpreters are asked for in a contact's language, mostly by families flagged as
    needing one."""
    flagged = {h for h, cs in loaded.contacts.items() if any(c.interpreter_needed for c in cs)}
    asked = {a.household_id for a in preferring if a.interpreter_language}
    for answer in preferring:
        if answer.interpreter_language:
            languages = {c.preferred_language for c in loaded.contacts[answer.household_id]}
            assert answer.interpreter_language in languages
    answering_flagged = flagged & {a.household_id for a in preferring}
    assert answering_flagged
    assert len(asked & answering_flagged) / len(answering_flagged) >= 0.5
    assert len(asked & flagged) / len(asked) > len(flagged) / len(loaded.in_scope)


def check_preferences(loaded: Loaded, preferring: list[GeneratedAnswer]) -> None:
    counts = Counter(len(a.preferred_slot_ids) for a in preferring)
    assert set(counts) <= {0, 1, 2, 3, 4, 5}
    assert all(counts[k] > 0 for k in range(6)), counts
    for answer in preferring:
        chosen = answer.preferred_slot_ids
        assert len(set(chosen)) == len(chosen)
        assert set(chosen) <= set(loaded.slots)
        assert not any(clashes(loaded.slots[s], answer.unavailable) for s in chosen)
        days = [d for d, _ in answer.unavailable]
        assert len(set(days)) == len(days)
        assert set(days) <= set(LONDON_DAYS)
    after_school = [s for s in loaded.slots.values() if london(s.starts_at).hour >= 15]
    firsts = [loaded.slots[a.preferred_slot_ids[0]] for a in preferring if a.preferred_slot_ids]
    slot_share = len(after_school) / len(loaded.slots)
    first_share = sum(london(s.starts_at).hour >= 15 for s in firsts) / len(firsts)
    print(f"first choices from 15:00: {first_share:.2f} (slots from 15:00: {slot_share:.2f})")
    assert first_share >= slot_share + 0.15
    by_day = Counter(london(s.starts_at).date() for s in firsts)
    assert max(by_day.values()) >= 1.5 * min(by_day.values()), by_day


async def check_rows(programme_id: UUID, answers: list[GeneratedAnswer]) -> None:
    """What the bulk write stored is what was generated, JSON columns included."""
    async with db.open_session(system_scope("test read back")) as session:
        rows = {
            r.household_id: r
            for r in await session.scalars(
                select(HouseholdAnswer).where(HouseholdAnswer.programme_id == programme_id)
            )
        }
    assert set(rows) == {a.household_id for a in answers}
    for answer in answers:
        row = rows[answer.household_id]
        assert row.kind == answer.kind
        assert row.preferred_slot_ids == [str(s) for s in answer.preferred_slot_ids]
        assert row.unavailable == [{"day": d.isoformat(), "part": p} for d, p in answer.unavailable]
        assert row.interpreter_language == answer.interpreter_language
        assert row.submitted_at == answer.submitted_at
        assert row.version == 1
        assert row.answered_by == "parent"
