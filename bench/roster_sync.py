"""Roster sync on PostgreSQL: the first load and a no-change re-sync of a trust, beside COPY.

    python bench/roster_sync.py                       # 60,000-pupil trust and one 650-pupil school
    python bench/roster_sync.py --trust-pupils 6500   # a quicker run

Needs PostgreSQL at 127.0.0.1 (user postgres, trust auth); makes and drops its own database.
The last line of output is one JSON object of the figures.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trust-pupils", type=int, default=60_000)
    parser.add_argument("--school-pupils", type=int, default=650)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args()


async def admin(url: str, statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


class StatementCounter:
    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.count += 1


async def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    os.environ["DATABASE_URL"] = database_url
    from app.cli import upgrade_database
    from app.core import db
    from app.core.tenancy import system_scope
    from app.roster.service import apply_snapshot
    from app.synthetic.roster import RosterGenerator
    from app.trusts.models import Participation, Phase, School, Trust

    await asyncio.to_thread(upgrade_database)
    db.use_database(None)
    per_school = args.school_pupils
    school_count = max(1, round(args.trust_pupils / per_school))
    keys = [f"school-{i:03d}" for i in range(school_count)]
    started = time.perf_counter()
    snapshots = RosterGenerator(args.seed).trust_snapshots(keys, pupils_per_school=per_school)
    generate_s = time.perf_counter() - started

    trust = Trust(name="Bench Trust")
    schools = {
        key: School(
            trust_id=trust.id,
            urn=f"{200000 + i}",
            name=key,
            phase=Phase.PRIMARY,
            address_line1="1 Road",
            town="Town",
            postcode="ME2 2AB",
            participation=Participation.FULL,
        )
        for i, key in enumerate(keys)
    }
    async with db.open_session(system_scope("bench setup")) as session:
        session.add(trust)
        await session.flush()
        session.add_all(schools.values())

    counter = StatementCounter(db.get_database().engine)

    async def sync_all() -> tuple[float, int]:
        counter.count = 0
        began = time.perf_counter()
        for key in keys:
            async with db.open_session(system_scope("bench sync")) as session:
                await apply_snapshot(
                    session, schools[key], snapshots[key], dry_run=False, skip_rejected=True
                )
        return time.perf_counter() - began, counter.count

    first_s, first_statements = await sync_all()
    again_s, again_statements = await sync_all()
    one_school_s, one_statements = await _one_school(schools[keys[0]], snapshots[keys[0]], counter)
    pupils = sum(len(s.pupils) for s in snapshots.values())
    households = sum(len(s.households) for s in snapshots.values())
    contacts = sum(len(h.contacts) for s in snapshots.values() for h in s.households)
    rows = pupils + households + contacts
    copy_s = await _copy_baseline(database_url, snapshots)
    await db.get_database().dispose()
    return {
        "schools": school_count,
        "pupils": pupils,
        "households": households,
        "contacts": contacts,
        "generate_s": round(generate_s, 2),
        "first_load_s": round(first_s, 2),
        "first_load_rows_per_s": round(rows / first_s),
        "first_load_statements": first_statements,
        "resync_no_change_s": round(again_s, 2),
        "resync_rows_per_s": round(rows / again_s),
        "resync_statements": again_statements,
        "one_school_resync_s": round(one_school_s, 3),
        "one_school_resync_statements": one_statements,
        "copy_s": round(copy_s, 2),
        "copy_rows_per_s": round(rows / copy_s),
        "first_load_vs_copy": round(copy_s / first_s, 3),
    }


async def _one_school(school: Any, snapshot: Any, counter: StatementCounter) -> tuple[float, int]:
    from app.core import db
    from app.core.tenancy import system_scope
    from app.roster.service import apply_snapshot

    counter.count = 0
    began = time.perf_counter()
    async with db.open_session(system_scope("bench one school")) as session:
        await apply_snapshot(session, school, snapshot, dry_run=False, skip_rejected=True)
    return time.perf_counter() - began, counter.count


async def _copy_baseline(database_url: str, snapshots: dict[str, Any]) -> float:
    """The same rows through COPY into bare tables: the floor for writing them at all."""
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(
            "CREATE TEMP TABLE c_household (id uuid, ref text, address_line1 text, postcode text,"
            " town text, latitude float8, longitude float8);"
            "CREATE TEMP TABLE c_contact (id uuid, household_ref text, name text, mobile text,"
            " email text, priority int);"
            "CREATE TEMP TABLE c_pupil (id uuid, mis_id text, upn text, first text, last text,"
            " born date, class_mis_id text, household_ref text, fsm bool, send text)"
        )
        households = [
            (uuid.uuid4(), h.ref, h.address_line1, h.postcode, h.town, h.latitude, h.longitude)
            for s in snapshots.values()
            for h in s.households
        ]
        contacts = [
            (uuid.uuid4(), h.ref, c.name, c.mobile, c.email, c.priority)
            for s in snapshots.values()
            for h in s.households
            for c in h.contacts
        ]
        pupils = [
            (
                uuid.uuid4(),
                p.mis_id,
                p.upn,
                p.legal_first_name,
                p.legal_last_name,
                p.date_of_birth,
                p.class_mis_id,
                p.household_ref,
                p.free_school_meals,
                str(p.send),
            )
            for s in snapshots.values()
            for p in s.pupils
        ]
        began = time.perf_counter()
        async with connection.transaction():
            await connection.copy_records_to_table("c_household", records=households)
            await connection.copy_records_to_table("c_contact", records=contacts)
            await connection.copy_records_to_table("c_pupil", records=pupils)
        return time.perf_counter() - began
    finally:
        await connection.close()


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
