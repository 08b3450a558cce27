"""The trust's report on PostgreSQL: the synthetic generator's 92-school trust (about 60,000
pupils), every school with a finished programme (all its year groups, answers, SLT's decisions,
a visit per family placed, outcomes recorded), and the time to build the trust's report.

    python bench/reports.py                       # 92 schools, ~60,000 pupils
    python bench/reports.py --trust-pupils 6500   # a quicker run

Figures: the report built by the service (median of `--repeat` runs) and fetched over HTTP
(in-process ASGI, JSON and CSV), the SQL statements each took, and the printable termly page's build
time. Needs PostgreSQL at 127.0.0.1 (user postgres,
trust auth); makes and drops its own database. The last line of output is one JSON object.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from roster_sync import StatementCounter, admin  # noqa: E402


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trust-pupils", type=int, default=60_000)
    parser.add_argument("--school-pupils", type=int, default=650)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="print where one build spends")
    parser.add_argument(
        "--dump", type=Path, help="write the report's JSON here (to compare two builds' figures)"
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


async def build_trust(args: argparse.Namespace) -> dict[str, Any]:
    """The trust, its schools' rosters synced as their MIS would, then the programmes."""
    from app.core import db
    from app.core.tenancy import system_scope
    from app.roster.service import apply_snapshot
    from app.synthetic.roster import RosterGenerator
    from app.trusts.models import Participation, Phase, School, Trust

    count = max(1, round(args.trust_pupils / args.school_pupils))
    keys = [f"school-{i:03d}" for i in range(count)]
    snapshots = RosterGenerator(args.seed).trust_snapshots(
        keys, pupils_per_school=args.school_pupils
    )
    trust = Trust(name="Bench Trust")
    schools = [
        School(
            trust_id=trust.id,
            urn=f"{200000 + i}",
            name=f"Bench Primary {i:03d}",
            phase=Phase.PRIMARY,
            address_line1="1 Road",
            town="Town",
            postcode="ME2 2AB",
            participation=Participation.FULL,
        )
        for i in range(count)
    ]
    async with db.open_session(system_scope("bench setup")) as session:
        session.add(trust)
        await session.flush()
        session.add_all(schools)
    for key, school in zip(keys, schools, strict=True):
        async with db.open_session(system_scope("bench roster sync")) as session:
            await apply_snapshot(session, school, snapshots[key], dry_run=False, skip_rejected=True)
    return {"trust": trust, "schools": schools}


async def finish_programmes(built: dict[str, Any], seed: int) -> dict[str, int]:
    """Per school: a programme over every year group it has, ten slots a day for five days,
    a class team per class, answers, a few exemptions, and a visit with its outcome for each
    family placed. Written in bulk (COPY), as a trust's history would be loaded."""
    from app.core import db
    from app.core.tenancy import Scope

    rng = random.Random(seed)  # noqa: S311 - synthetic families, not secrets
    trust = built["trust"]
    totals: defaultdict[str, int] = defaultdict(int)
    for school in built["schools"]:
        async with db.open_session(Scope(trust_id=trust.id)) as session:
            counts = await _finish_one(session, trust, school, rng)
        for key, value in counts.items():
            totals[key] += value
    return dict(totals)


async def _finish_one(session: Any, trust: Any, school: Any, rng: random.Random) -> dict[str, int]:
    from sqlmodel import col, select

    from app.core.bulk import insert_rows
    from app.programmes.grid import Break, slot_grid
    from app.programmes.models import HouseholdExemption, ProgrammeStatus, Slot, VisitProgramme
    from app.roster.models import Pupil, SchoolClass
    from app.synthetic.dates import ACADEMIC_YEAR, VISIT_WEEK

    rows = (
        await session.execute(
            select(Pupil.id, Pupil.household_id, Pupil.class_id, SchoolClass.year_group)
            .join(SchoolClass, col(SchoolClass.id) == col(Pupil.class_id))
            .where(col(Pupil.school_id) == school.id, col(Pupil.household_id).is_not(None))
            .order_by(col(Pupil.household_id), col(Pupil.id))
        )
    ).all()
    programme = VisitProgramme(
        trust_id=trust.id,
        school_id=school.id,
        name="Home visits",
        academic_year=ACADEMIC_YEAR,
        status=ProgrammeStatus.CLOSED,
        visit_days=[d.isoformat() for d in VISIT_WEEK],
        day_starts=clock(9),
        day_ends=clock(17, 30),
        slot_minutes=30,
        travel_buffer_minutes=15,
        breaks=[{"starts": "12:00", "ends": "13:00"}],
        year_groups=sorted({str(r.year_group) for r in rows}),
        max_visits_per_adult_per_day=10,
    )
    session.add(programme)
    await session.flush()
    grid = slot_grid(
        list(VISIT_WEEK),
        day_starts=clock(9),
        day_ends=clock(17, 30),
        slot_minutes=30,
        travel_buffer_minutes=15,
        breaks=[Break(clock(12), clock(13))],
    )
    slots = [
        Slot(
            trust_id=trust.id,
            school_id=school.id,
            programme_id=programme.id,
            day=g.day,
            starts_at=g.starts_at,
            ends_at=g.ends_at,
        )
        for g in grid
    ]
    await insert_rows(session, Slot.__table__, [s.model_dump() for s in slots])  # type: ignore[attr-defined]
    teams = await _class_teams(session, trust, school, {r.class_id for r in rows})
    households: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        households[row.household_id].append(row)
    answers, exemptions, visits = [], [], _Visits(trust.id, school.id, programme.id)
    for household, children in households.items():
        draw = rng.random()
        preferred = [str(s.id) for s in rng.sample(slots, 3)]
        if draw < 0.85:
            answers.append(_answer(trust, school, programme, household, "preferences", preferred))
        elif draw < 0.90:
            answers.append(_answer(trust, school, programme, household, "declined", []))
            continue
        if rng.random() < 0.01:
            exemptions.append(
                HouseholdExemption(
                    trust_id=trust.id,
                    school_id=school.id,
                    programme_id=programme.id,
                    household_id=household,
                    kind="exempt",
                    reason="Agreed by the headteacher",
                ).model_dump()
            )
            continue
        slot = next((s for s in slots if str(s.id) == preferred[0]), slots[0])
        if draw >= 0.85 or rng.random() < 0.4:
            slot = rng.choice(slots)
        visits.add(household, children, slot, teams[children[0].class_id], rng)
    from app.parents.answers_models import HouseholdAnswer

    await insert_rows(session, HouseholdAnswer.__table__, answers)  # type: ignore[attr-defined]
    await insert_rows(session, HouseholdExemption.__table__, exemptions)  # type: ignore[attr-defined]
    await visits.write(session)
    return {"pupils": len(rows), "households": len(households), "visits": len(visits.visits)}


def _answer(
    trust: Any, school: Any, programme: Any, household: uuid.UUID, kind: str, preferred: list[str]
) -> dict[str, Any]:
    from app.parents.answers_models import AnsweredBy, AnswerKind, HouseholdAnswer

    return HouseholdAnswer(
        trust_id=trust.id,
        school_id=school.id,
        programme_id=programme.id,
        household_id=household,
        kind=AnswerKind(kind),
        preferred_slot_ids=preferred,
        answered_by=AnsweredBy.PARENT,
    ).model_dump()


async def _class_teams(
    session: Any, trust: Any, school: Any, class_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]:
    """A teacher and a second adult for each class (staff rows written in bulk)."""
    from app.core.bulk import insert_rows
    from app.staff.models import StaffMember

    teams, staff = {}, []
    for i, class_id in enumerate(sorted(class_ids)):
        pair = [
            StaffMember(
                trust_id=trust.id,
                email=f"{kind}.{i}.{school.urn}@bench.example.org",
                full_name=f"{kind.title()} {i}",
            )
            for kind in ("teacher", "support")
        ]
        staff += [s.model_dump() for s in pair]
        teams[class_id] = (pair[0].id, pair[1].id)
    await insert_rows(session, StaffMember.__table__, staff)  # type: ignore[attr-defined]
    return teams


class _Visits:
    OUTCOMES: tuple[tuple[str, int], ...] = (
        ("completed", 85),
        ("no_access", 8),
        ("declined", 3),
        ("cancelled", 2),
    )

    def __init__(self, trust_id: uuid.UUID, school_id: uuid.UUID, programme_id: uuid.UUID) -> None:
        self.where: dict[str, Any] = {"trust_id": trust_id, "school_id": school_id}
        self.programme_id = programme_id
        self.visits: list[dict[str, Any]] = []
        self.adults: list[dict[str, Any]] = []
        self.pupils: list[dict[str, Any]] = []

    def add(
        self,
        household: uuid.UUID,
        children: list[Any],
        slot: Any,
        team: tuple[uuid.UUID, uuid.UUID],
        rng: random.Random,
    ) -> None:
        from app.visits.models import (
            Visit,
            VisitAdult,
            VisitLocation,
            VisitPupil,
            VisitRole,
            VisitStatus,
        )

        statuses, weights = zip(*self.OUTCOMES, strict=True)
        status = rng.choices(statuses, weights)[0]
        visit = Visit(
            **self.where,
            programme_id=self.programme_id,
            household_id=household,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            location=VisitLocation.HOME,
            status=VisitStatus(status),
            outcome_at=datetime.now(UTC) if status != "cancelled" else None,
        )
        self.visits.append(visit.model_dump())
        for staff_id, role in zip(team, (VisitRole.TEACHER, VisitRole.SECOND_ADULT), strict=True):
            self.adults.append(
                VisitAdult(
                    **self.where, visit_id=visit.id, staff_id=staff_id, role=role
                ).model_dump()
            )
        for child in children:
            self.pupils.append(
                VisitPupil(**self.where, visit_id=visit.id, pupil_id=child.id).model_dump()
            )

    async def write(self, session: Any) -> None:
        from app.core.bulk import insert_rows
        from app.visits.models import Visit, VisitAdult, VisitPupil

        await insert_rows(session, Visit.__table__, self.visits)  # type: ignore[attr-defined]
        await insert_rows(session, VisitAdult.__table__, self.adults)  # type: ignore[attr-defined]
        await insert_rows(session, VisitPupil.__table__, self.pupils)  # type: ignore[attr-defined]


async def trust_admin(trust: Any) -> tuple[Any, str]:
    """The trust's admin as a principal, and a bearer token for the HTTP figures."""
    from app.core import db
    from app.core.permissions import Role
    from app.core.principal import Grant, Principal, PrincipalKind
    from app.core.tenancy import system_scope
    from app.staff.models import RoleGrant, StaffMember
    from app.staff.signin import start_session

    async with db.open_session(system_scope("bench: the trust's admin")) as session:
        member = StaffMember(trust_id=trust.id, email="admin@bench.example.org", full_name="Admin")
        session.add(member)
        await session.flush()
        session.add(RoleGrant(trust_id=trust.id, staff_id=member.id, role=Role.TRUST_ADMIN))
        await session.flush()
        pair = await start_session(session, member)
    who = Principal(PrincipalKind.STAFF, member.id, trust.id, (Grant(Role.TRUST_ADMIN, None),))
    return who, pair.access_token


def build_html(report: Any) -> str:
    """The printable termly report's page."""
    from app.reports.termly import render_termly

    return render_termly(report)


async def _profile(who: Any, trust_id: uuid.UUID) -> None:
    import cProfile
    import pstats

    from app.core import db
    from app.reports import service
    from app.synthetic.dates import ACADEMIC_YEAR

    profiler = cProfile.Profile()
    async with db.open_session(who.scope) as session:
        profiler.enable()
        await service.trust_report(session, who, trust_id, ACADEMIC_YEAR)
        profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


async def measure(
    built: dict[str, Any],
    repeat: int,
    counter: StatementCounter,
    profile: bool = False,
    dump: Path | None = None,
) -> dict[str, Any]:
    import httpx

    from app.core import db
    from app.main import create_app
    from app.reports import service
    from app.synthetic.dates import ACADEMIC_YEAR

    trust = built["trust"]
    who, token = await trust_admin(trust)
    times, statements, report = [], 0, None
    for _ in range(repeat):
        counter.count = 0
        began = time.perf_counter()
        async with db.open_session(who.scope) as session:
            report = await service.trust_report(session, who, trust.id, ACADEMIC_YEAR)
        times.append(time.perf_counter() - began)
        statements = counter.count
    assert report is not None
    if dump is not None:
        # Everything but the moment it was made, so two builds' files compare equal.
        text = report.model_dump_json(indent=1, exclude={"generated_at"})
        await asyncio.to_thread(dump.write_text, text)
    if profile:
        await _profile(who, trust.id)
    began = time.perf_counter()
    html = build_html(report)
    html_s = time.perf_counter() - began
    began = time.perf_counter()
    serialised = report.model_dump_json()
    json_s = time.perf_counter() - began
    figures: dict[str, Any] = {
        "programmes": len(report.programmes),
        "pupils_in_scope": report.reach.pupils,
        "households_in_scope": report.reach.totals.in_scope,
        "service_s_median": round(statistics.median(times), 3),
        "service_s_min": round(min(times), 3),
        "service_statements": statements,
        "json_bytes": len(serialised),
        "json_serialise_s": round(json_s, 3),
        "html_s": round(html_s, 3),
        "html_bytes": len(html),
    }
    transport = httpx.ASGITransport(app=create_app())
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, path in (("http_json", ""), ("http_csv", "/export.csv")):
            counter.count = 0
            began = time.perf_counter()
            response = await client.get(f"/api/v1/reports/trusts/{trust.id}{path}", headers=headers)
            figures[f"{name}_s"] = round(time.perf_counter() - began, 3)
            figures[f"{name}_statements"] = counter.count
            assert response.status_code == 200, response.text[:300]
    return figures


async def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = database_url
    from app.cli import upgrade_database
    from app.core import db

    await asyncio.to_thread(upgrade_database)
    db.use_database(None)
    began = time.perf_counter()
    built = await build_trust(args)
    synced_s = time.perf_counter() - began
    began = time.perf_counter()
    seeded = await finish_programmes(built, args.seed)
    seeded_s = time.perf_counter() - began
    # Fresh statistics, as autovacuum keeps them on a live database: the bulk load above came
    # faster than it would have analysed the tables, and plans made on empty-table statistics
    # are not the ones the report runs with.
    await admin(database_url, "ANALYZE")
    counter = StatementCounter(db.get_database().engine)
    figures = {
        "schools": len(built["schools"]),
        **seeded,
        "roster_sync_s": round(synced_s, 1),
        "seed_programmes_s": round(seeded_s, 1),
        **await measure(built, args.repeat, counter, args.profile, args.dump),
    }
    await db.get_database().dispose()
    return figures


def main() -> None:
    args = parse()
    name = f"threshold_bench_{uuid.uuid4().hex[:8]}"
    base = args.admin_url.rsplit("/", 1)[0]
    asyncio.run(admin(args.admin_url, f"CREATE DATABASE {name}"))
    try:
        figures = asyncio.run(run(args, f"{base}/{name}"))
    finally:
        asyncio.run(admin(args.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
