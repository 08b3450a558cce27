"""After a load: is every acknowledged write in the database, and is nobody double-booked?

Read straight from PostgreSQL (and, for the schedule, through the scheduler's independent
validator). A write the client saw acknowledged (2xx) must be there; a write refused (4xx) must
have left no trace; a write whose outcome is unknown (no answer, a timeout, a 5xx) may be either,
and only those may explain a difference.
"""

import json
from collections import defaultdict
from typing import Any
from uuid import UUID

from load_client import Ledger, Write
from load_world import Fixture, sql

OPEN = ("proposed", "scheduled")
# The validator's rules about adults' and households' time: what a double booking breaks.
BOOKING_RULES = ("double-booked", "travel from", "visits on", "visited twice", "fewer than two")


def _canonical_sent(sent: dict[str, Any]) -> tuple[Any, ...]:
    return (
        sent.get("kind", "preferences"),
        tuple(sent.get("preferred_slot_ids", [])),
        tuple((u["day"], u.get("part", "all_day")) for u in sent.get("unavailable", [])),
        sent.get("interpreter_language"),
        sent.get("accessibility"),
        sent.get("notes_for_visitors"),
        bool(sent.get("neutral_venue_requested", False)),
        sent.get("neutral_venue_reason"),
        sent.get("decline_reason"),
        sent["answered_by"],
    )


def _canonical_row(row: Any) -> tuple[Any, ...]:
    def loaded(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    return (
        row["kind"],
        tuple(loaded(row["preferred_slot_ids"])),
        tuple((u["day"], u["part"]) for u in loaded(row["unavailable"])),
        row["interpreter_language"],
        row["accessibility"],
        row["notes_for_visitors"],
        row["neutral_venue_requested"],
        row["neutral_venue_reason"],
        row["decline_reason"],
        row["answered_by"],
    )


def _explained(
    key: str,
    writes: list[Write],
    initial: int,
    row_version: int,
    matches: Any,
    problems: list[str],
) -> None:
    """One object's versions: every acknowledged write applied once, refused ones never, and its
    final content that of the last write applied."""
    acked = [w for w in writes if w.acknowledged]
    unknown = [w for w in writes if w.unknown]
    versions = [int(w.reply["version"]) for w in acked if w.reply]
    if len(set(versions)) != len(versions):
        problems.append(f"{key}: two acknowledged writes got the same version {sorted(versions)}")
    applied = row_version - initial
    if not len(acked) <= applied <= len(acked) + len(unknown):
        problems.append(
            f"{key}: {applied} writes applied, but {len(acked)} acknowledged and "
            f"{len(unknown)} of unknown outcome"
        )
    last = max(acked, key=lambda w: int(w.reply["version"]) if w.reply else 0, default=None)
    if last is not None and last.reply and int(last.reply["version"]) == row_version:
        if not matches(last):
            problems.append(f"{key}: holds something else than its last acknowledged write")
    elif applied and not any(matches(w) for w in unknown):
        problems.append(f"{key}: its last write applied is none the client sent")


async def check_answers(url: str, fx: Fixture, ledger: Ledger) -> dict[str, Any]:
    rows = {
        str(r["household_id"]): r
        for r in await sql(
            url, "SELECT * FROM household_answer WHERE programme_id = $1", UUID(fx.collecting_id)
        )
    }
    by_household: dict[str, list[Write]] = defaultdict(list)
    for write in ledger.answers:
        by_household[write.key].append(write)
    problems: list[str] = []
    for household, writes in by_household.items():
        row = rows.get(household)
        initial = fx.answer_versions.get(household, 0)
        version = int(row["version"]) if row else 0
        content = _canonical_row(row) if row else None
        _explained(
            f"answer of {household}",
            writes,
            initial,
            version,
            lambda w, c=content: _canonical_sent(w.sent) == c,
            problems,
        )
    return _verdict(
        ledger.answers,
        problems,
        objects=len(by_household),
        lost_or_wrong=len(problems),
    )


async def check_visits(url: str, fx: Fixture, ledger: Ledger) -> dict[str, Any]:
    rows = {
        str(r["id"]): r
        for r in await sql(
            url,
            "SELECT v.id, v.version, v.slot_id, v.locked,"
            " (SELECT count(*) FROM visit_change c WHERE c.visit_id = v.id) AS changes"
            " FROM visit v WHERE v.programme_id = $1",
            UUID(fx.scheduling_id),
        )
    }
    by_visit: dict[str, list[Write]] = defaultdict(list)
    for write in ledger.visits:
        by_visit[write.key].append(write)
    problems: list[str] = []
    for visit_id, writes in by_visit.items():
        row = rows.get(visit_id)
        if row is None:
            problems.append(f"visit {visit_id} is gone")
            continue
        if int(row["changes"]) != int(row["version"]) - 1:
            problems.append(
                f"visit {visit_id}: {row['changes']} history rows for version {row['version']}"
            )

        def matches(w: Write, r: Any = row) -> bool:
            if w.reply is not None:
                return str(w.reply["slot_id"]) == str(r["slot_id"]) and bool(
                    w.reply["locked"] == r["locked"]
                )
            if "slot_id" in w.sent:
                return str(w.sent["slot_id"]) == str(r["slot_id"])
            return bool(w.sent["locked"]) is bool(r["locked"])

        _explained(f"visit {visit_id}", writes, 1, int(row["version"]), matches, problems)
    return _verdict(ledger.visits, problems, objects=len(by_visit), lost_or_wrong=len(problems))


async def check_periods(url: str, ledger: Ledger) -> dict[str, Any]:
    rows = {
        str(r["id"]): r
        for r in await sql(
            url,
            "SELECT id, staff_id, starts_at, ends_at, reason FROM staff_unavailability"
            " WHERE reason LIKE 'load %'",
        )
    }
    problems: list[str] = []
    acked = [w for w in ledger.periods if w.acknowledged]
    for write in acked:
        row = rows.get(write.key)
        if row is None:
            problems.append(f"period {write.key} was acknowledged but is not stored")
        elif (
            row["reason"] != write.sent["reason"] or str(row["staff_id"]) != write.sent["staff_id"]
        ):
            problems.append(f"period {write.key} holds something else")
    acked_ids = {w.key for w in acked}
    unknown_reasons = {w.sent["reason"] for w in ledger.periods if w.unknown}
    for period_id, row in rows.items():
        if period_id not in acked_ids and row["reason"] not in unknown_reasons:
            problems.append(f"period {period_id} is stored but was never acknowledged")
    return _verdict(ledger.periods, problems, objects=len(acked), lost_or_wrong=len(problems))


async def check_roster(url: str, fx: Fixture, ledger: Ledger) -> dict[str, Any]:
    """The pupils the MIS marks carry the marker of the last sync acknowledged (or of a later
    one whose answer never came)."""
    acked = [int(w.key) for w in ledger.rosters if w.acknowledged]
    problems: list[str] = []
    if acked:
        allowed = {max(acked)} | {
            int(w.key) for w in ledger.rosters if w.unknown and int(w.key) > max(acked)
        }
        marked = fx.snapshot["pupils"][:10]
        rows = {
            r["mis_id"]: r["preferred_first_name"]
            for r in await sql(
                url,
                "SELECT mis_id, preferred_first_name FROM pupil WHERE school_id = $1"
                " AND mis_id = ANY($2::text[])",
                UUID(fx.collecting_school),
                [p["mis_id"] for p in marked],
            )
        }
        for pupil in marked:
            held = rows.get(pupil["mis_id"]) or ""
            marker = held.rsplit("-", 1)[-1]
            if not marker.isdigit() or int(marker) not in allowed:
                problems.append(f"pupil {pupil['mis_id']} holds {held!r}, not sync {max(acked)}")
        pupils = await sql(
            url,
            "SELECT count(*) AS n FROM pupil WHERE school_id = $1 AND on_roll",
            UUID(fx.collecting_school),
        )
        if int(pupils[0]["n"]) != len(fx.snapshot["pupils"]):
            problems.append(
                f"{pupils[0]['n']} pupils on roll, the snapshot has {len(fx.snapshot['pupils'])}"
            )
    return _verdict(ledger.rosters, problems, objects=len(acked), lost_or_wrong=len(problems))


async def check_bookings(url: str) -> dict[str, Any]:
    """With SQL: no adult in two overlapping open visits; no household twice in a programme."""
    overlaps = await sql(
        url,
        "SELECT a1.staff_id, v1.id AS first, v2.id AS second FROM visit v1"
        " JOIN visit_adult a1 ON a1.visit_id = v1.id"
        " JOIN visit_adult a2 ON a2.staff_id = a1.staff_id AND a2.visit_id <> a1.visit_id"
        " JOIN visit v2 ON v2.id = a2.visit_id AND v2.id > v1.id"
        " WHERE v1.status = ANY($1::text[]) AND v2.status = ANY($1::text[])"
        " AND v1.starts_at < v2.ends_at AND v2.starts_at < v1.ends_at",
        list(OPEN),
    )
    twice = await sql(
        url,
        "SELECT programme_id, household_id, count(*) AS n FROM visit"
        " GROUP BY programme_id, household_id HAVING count(*) > 1",
    )
    short = await sql(
        url,
        "SELECT v.id FROM visit v WHERE v.status = ANY($1::text[])"
        " AND (SELECT count(*) FROM visit_adult a WHERE a.visit_id = v.id) < 2",
        list(OPEN),
    )
    return {
        "adult_overlaps": len(overlaps),
        "overlap_examples": [
            f"{r['staff_id']}: {r['first']} / {r['second']}" for r in overlaps[:3]
        ],
        "households_visited_twice": len(twice),
        "visits_with_fewer_than_two_adults": len(short),
        "passed": not overlaps and not twice and not short,
    }


async def schedule_violations(programme_id: str) -> list[str]:
    """The scheduler's independent validator on the programme's open visits as they stand
    (DATABASE_URL must name the database: the world was seeded from this process)."""
    from sqlmodel import col, select

    from app.core import db
    from app.core.db import open_session
    from app.core.tenancy import system_scope
    from app.programmes.models import VisitProgramme
    from app.scheduling import instance
    from app.scheduling.solver import problem, validator
    from app.visits.models import Visit, VisitAdult

    db.use_database(None)
    try:
        async with open_session(system_scope("load: validate the schedule")) as session:
            programme = await session.get(VisitProgramme, UUID(programme_id))
            assert programme is not None
            visits = list(
                await session.scalars(
                    select(Visit).where(  # tenancy: system scope (a check)
                        col(Visit.programme_id) == programme.id, col(Visit.status).in_(OPEN)
                    )
                )
            )
            adults: dict[UUID, list[str]] = defaultdict(list)
            for visit_id, staff_id in (
                await session.execute(
                    select(VisitAdult.visit_id, VisitAdult.staff_id).where(  # tenancy: a check
                        col(VisitAdult.visit_id).in_([v.id for v in visits])
                    )
                )
            ).all():
                adults[visit_id].append(str(staff_id))
            named = frozenset(a for group in adults.values() for a in group)
            loaded = await instance.load(
                session, programme, seed=1, time_limit_seconds=1, also_staff=named
            )
            plan = tuple(
                problem.Visit(
                    str(v.household_id),
                    str(v.slot_id),
                    tuple(sorted(adults[v.id])),
                    problem.LocationKind(v.location.value),
                )
                for v in visits
            )
            result = validator.validate(loaded.instance, problem.Schedule(visits=plan, unplaced={}))
    finally:
        await db.get_database().dispose()
        db.use_database(None)
    return [v for v in result.violations if any(rule in v for rule in BOOKING_RULES)]


async def check_all(url: str, fx: Fixture, ledger: Ledger) -> dict[str, Any]:
    checks: dict[str, Any] = {
        "answers": await check_answers(url, fx, ledger),
        "visit_changes": await check_visits(url, fx, ledger),
        "unavailability": await check_periods(url, ledger),
        "roster_syncs": await check_roster(url, fx, ledger),
        "bookings": await check_bookings(url),
    }
    violations = await schedule_violations(fx.scheduling_id)
    checks["validator"] = {
        "booking_rule_violations": len(violations),
        "examples": violations[:3],
        "passed": not violations,
    }
    checks["passed"] = all(c["passed"] for c in checks.values() if isinstance(c, dict))
    return checks


def _verdict(writes: list[Write], problems: list[str], **figures: int) -> dict[str, Any]:
    return {
        "writes": len(writes),
        "acknowledged": sum(1 for w in writes if w.acknowledged),
        "refused": sum(1 for w in writes if not w.acknowledged and not w.unknown),
        "unknown_outcome": sum(1 for w in writes if w.unknown),
        **figures,
        "problems": problems[:5],
        "passed": not problems,
    }
