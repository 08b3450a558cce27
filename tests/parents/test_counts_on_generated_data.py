"""The progress figures, the chase list and first-preference demand agree with a hand count on a
generated school: a 650-pupil primary, an infants' programme (R, 1 and 2, so families with
children in two classes), generated answers and a few SLT decisions.

The hand count is made here from the generated answers, the exemptions this test sets and the
roster's own rows, never through the availability area's functions."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlmodel import col, select, update

from app.core import db
from app.core.permissions import Role
from app.core.tenancy import system_scope
from app.parents.answers_models import AnswerKind
from app.programmes.models import Slot, VisitProgramme
from app.roster.models import Contact, Pupil, SchoolClass
from app.synthetic.answers import GeneratedAnswer
from app.synthetic.generator import World
from tests.conftest import bearer
from tests.synthetic.test_answers import (
    clashes,
    collecting_programme,
    generate_answers,
    generated_school,
)

YEAR_GROUPS = ["R", "1", "2"]
COUNT_FIELDS = (
    "in_scope",
    "answered",
    "declined",
    "exempt",
    "neutral_venue",
    "neutral_venue_requested",
    "interpreter_needed",
    "not_answered",
)


@dataclass
class Roster:
    """Who the programme reaches, from the pupil and class rows."""

    children: dict[UUID, set[UUID]] = field(default_factory=lambda: defaultdict(set))
    classes: dict[UUID, set[UUID]] = field(default_factory=lambda: defaultdict(set))
    class_rows: dict[UUID, SchoolClass] = field(default_factory=dict)
    pupil_class: dict[UUID, UUID] = field(default_factory=dict)
    contacts: dict[UUID, list[Contact]] = field(default_factory=lambda: defaultdict(list))
    slots: list[Slot] = field(default_factory=list)


@dataclass
class Scenario:
    programme_id: UUID
    answers: dict[UUID, GeneratedAnswer]
    exemptions: dict[UUID, str]
    left: UUID  # a household whose only in-scope child has left the school


async def roster_of(programme_id: UUID) -> Roster:
    roster = Roster()
    async with db.open_session(system_scope("test hand count")) as session:
        programme = await session.get(VisitProgramme, programme_id)
        assert programme is not None
        for row in await session.scalars(
            select(SchoolClass).where(SchoolClass.school_id == programme.school_id)
        ):
            roster.class_rows[row.id] = row
        for pupil in await session.scalars(
            select(Pupil).where(Pupil.school_id == programme.school_id)
        ):
            cls = roster.class_rows.get(pupil.class_id) if pupil.class_id else None
            if (
                cls is None
                or not pupil.on_roll
                or pupil.household_id is None
                or cls.academic_year != programme.academic_year
                or str(cls.year_group) not in YEAR_GROUPS
            ):
                continue
            roster.children[pupil.household_id].add(pupil.id)
            roster.classes[cls.id].add(pupil.household_id)
            roster.pupil_class[pupil.id] = cls.id
        for contact in await session.scalars(
            select(Contact).where(col(Contact.household_id).in_(list(roster.children)))
        ):
            roster.contacts[contact.household_id].append(contact)
        roster.slots = list(
            await session.scalars(select(Slot).where(Slot.programme_id == programme_id))
        )
    return roster


def hand_count(households: set[UUID], scenario: Scenario) -> dict[str, int]:
    answers, exemptions = scenario.answers, scenario.exemptions
    mine = [answers[h] for h in households if h in answers]
    return {
        "in_scope": len(households),
        "answered": sum(a.kind is AnswerKind.PREFERENCES for a in mine),
        "declined": sum(a.kind is AnswerKind.DECLINED for a in mine),
        "exempt": sum(exemptions.get(h) == "exempt" for h in households),
        "neutral_venue": sum(exemptions.get(h) == "neutral_venue" for h in households),
        "neutral_venue_requested": sum(a.neutral_venue_requested for a in mine),
        "interpreter_needed": sum(a.interpreter_language is not None for a in mine),
        "not_answered": len(not_answered(households, scenario)),
    }


def not_answered(households: set[UUID], scenario: Scenario) -> set[UUID]:
    return {
        h
        for h in households
        if h not in scenario.answers and scenario.exemptions.get(h) != "exempt"
    }


async def build(client: httpx.AsyncClient, world: World) -> Scenario:
    await generated_school(client, world, seed=5)
    closes = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    programme_id = await collecting_programme(client, world, YEAR_GROUPS, closes)
    answers = {a.household_id: a for a in await generate_answers(world, programme_id, seed=21)}
    roster = await roster_of(programme_id)
    exemptions = await decide(client, world, programme_id, roster, answers)
    left = await one_child_leaves(roster, answers, exemptions)
    return Scenario(programme_id, answers, exemptions, left)


async def decide(
    client: httpx.AsyncClient,
    world: World,
    programme_id: UUID,
    roster: Roster,
    answers: dict[UUID, GeneratedAnswer],
) -> dict[UUID, str]:
    """SLT's decisions, chosen to meet every case the definitions separate: exempt with and
    without an answer, a neutral venue offered to a family that has not answered (still to
    chase) and to one that asked for it."""
    households = sorted(roster.children)
    silent = [h for h in households if h not in answers]
    preferring = [h for h in households if h in answers and answers[h].kind == "preferences"]
    declined = [h for h in households if h in answers and answers[h].kind == "declined"]
    asked = [h for h in preferring if answers[h].neutral_venue_requested]
    assert len(silent) >= 4
    assert preferring
    assert declined
    assert asked
    chosen = {
        silent[0]: "exempt",
        silent[1]: "exempt",
        silent[2]: "neutral_venue",
        preferring[0]: "exempt",
        declined[0]: "exempt",
        asked[0]: "neutral_venue",
    }
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    for household_id, kind in chosen.items():
        response = await client.put(
            f"/api/v1/programmes/{programme_id}/households/{household_id}/exemption",
            json={"kind": kind, "reason": "Agreed with the family by the headteacher"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
    return chosen


async def one_child_leaves(
    roster: Roster, answers: dict[UUID, GeneratedAnswer], exemptions: dict[UUID, str]
) -> UUID:
    """A family who answered, then left: its only in-scope child goes off roll, so it leaves
    the programme's scope and its answer must no longer count anywhere."""
    household = next(
        h
        for h in sorted(roster.children)
        if len(roster.children[h]) == 1
        and h in answers
        and answers[h].preferred_slot_ids
        and h not in exemptions
    )
    (pupil,) = roster.children[household]
    async with db.open_session(system_scope("test pupil leaves")) as session:
        await session.execute(update(Pupil).where(col(Pupil.id) == pupil).values(on_roll=False))
    return household


async def test_progress_matches_a_hand_count(client: httpx.AsyncClient, world: World) -> None:
    scenario = await build(client, world)
    roster = await roster_of(scenario.programme_id)
    assert scenario.left not in roster.children
    assert any(len(roster.children[h]) > 1 for h in roster.children), "no siblings in scope"
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    response = await client.get(
        f"/api/v1/programmes/{scenario.programme_id}/progress", headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = hand_count(set(roster.children), scenario)
    print("totals", expected)
    assert {k: body["totals"][k] for k in COUNT_FIELDS} == expected
    assert expected["exempt"] == 4
    assert expected["neutral_venue"] == 2
    assert all(expected[k] > 0 for k in COUNT_FIELDS)
    classes = {UUID(c["class_id"]): c for c in body["classes"]}
    assert set(classes) == set(roster.classes)
    for class_id, households in roster.classes.items():
        row = roster.class_rows[class_id]
        got = classes[class_id]
        assert (got["class_name"], got["year_group"]) == (row.name, str(row.year_group))
        assert {k: got[k] for k in COUNT_FIELDS} == hand_count(households, scenario), row.name
    # Families with children in two classes count once in the totals and once in each class.
    per_class = sum(len(h) for h in roster.classes.values())
    assert sum(c["in_scope"] for c in body["classes"]) == per_class > expected["in_scope"]


async def test_the_chase_list_is_exactly_those_not_answered(
    client: httpx.AsyncClient, world: World
) -> None:
    scenario = await build(client, world)
    roster = await roster_of(scenario.programme_id)
    expected = not_answered(set(roster.children), scenario)
    entries = await every_page(
        client,
        f"/api/v1/programmes/{scenario.programme_id}/chase-list",
        await bearer(world.login(Role.OFFICE)),
        limit=7,
    )
    ids = [UUID(e["household_id"]) for e in entries]
    assert len(ids) == len(set(ids)), "a household appears on two pages"
    assert set(ids) == expected
    for entry in entries:
        household = UUID(entry["household_id"])
        children = {UUID(c["pupil_id"]): c for c in entry["children"]}
        assert set(children) == roster.children[household]
        for pupil_id, child in children.items():
            cls = roster.class_rows[roster.pupil_class[pupil_id]]
            assert (child["class_name"], child["year_group"]) == (cls.name, str(cls.year_group))
        contacts = roster.contacts[household]
        assert Counter(c["name"] for c in entry["contacts"]) == Counter(c.name for c in contacts)
        priorities = [c["priority"] for c in entry["contacts"]]
        assert priorities == sorted(priorities)


async def every_page(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], *, limit: int
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(200):
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the chase list never ends")


async def test_demand_matches_a_hand_count(client: httpx.AsyncClient, world: World) -> None:
    """Demand counts the preferences of households the programme will visit: in scope and not
    exempted from the visit."""
    scenario = await build(client, world)
    roster = await roster_of(scenario.programme_id)
    visiting = [
        scenario.answers[h]
        for h in roster.children
        if h in scenario.answers
        and scenario.answers[h].kind is AnswerKind.PREFERENCES
        and scenario.exemptions.get(h) != "exempt"
    ]
    first = Counter(a.preferred_slot_ids[0] for a in visiting if a.preferred_slot_ids)
    ranked = Counter(s for a in visiting for s in a.preferred_slot_ids)
    headers = await bearer(world.login(Role.SCHOOL_ADMIN))
    response = await client.get(
        f"/api/v1/programmes/{scenario.programme_id}/demand", headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    slots = {s.id: s for s in roster.slots}
    got = {UUID(s["slot_id"]): s for s in body["slots"]}
    assert set(got) == set(slots)
    assert body["answered"] == len(visiting)
    assert {k: v["first_choice"] for k, v in got.items()} == {s: first[s] for s in slots}
    assert {k: v["any_choice"] for k, v in got.items()} == {s: ranked[s] for s in slots}
    away = {s: sum(clashes(slot, a.unavailable) for a in visiting) for s, slot in slots.items()}
    assert {k: v["unavailable"] for k, v in got.items()} == away
