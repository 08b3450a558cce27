"""The sync on realistic generated rosters: a whole school, siblings across a trust, and a
re-sync that changes nothing and so writes nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func
from sqlmodel import col, select

from app.core import db
from app.core.tenancy import system_scope
from app.roster.models import Household, Pupil
from app.roster.service import apply_snapshot
from app.roster.snapshot import RosterSnapshot
from app.roster.sync import SyncReport
from app.synthetic.generator import World
from app.synthetic.roster import RosterGenerator
from app.trusts.models import School


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    engine = db.get_database().engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def sync(world: World, school_index: int, snapshot: RosterSnapshot) -> SyncReport:
    async with db.open_session(system_scope("test sync")) as session:
        school = await session.get(School, world.trusts[0].schools[school_index].id)
        assert school is not None
        return await apply_snapshot(session, school, snapshot, dry_run=False, skip_rejected=False)


async def test_a_generated_school_loads_whole_then_resyncs_without_writing(world: World) -> None:
    snapshot = RosterGenerator(11).school_snapshot("s", pupils=650)
    with statements() as first:
        report = await sync(world, 0, snapshot)
    assert report.rejected == []
    assert report.pupils.created == 650
    assert report.households.created == len(snapshot.households)
    assert len(first) < 40, first  # multi-row statements, never one per row

    with statements() as again:
        report = await sync(world, 0, snapshot)
    assert report.pupils.unchanged == 650
    assert report.households.unchanged == len(snapshot.households)
    writes = [s for s in again if s in {"INSERT", "UPDATE", "DELETE", "COPY"}]
    assert writes == [], again


async def test_generated_cross_school_siblings_join_one_household(world: World) -> None:
    keys = ["a", "b"]
    snapshots = RosterGenerator(5).trust_snapshots(
        keys, pupils_per_school=300, cross_school_sibling_rate=0.1
    )
    await sync(world, 0, snapshots["a"])
    report = await sync(world, 1, snapshots["b"])
    assert report.rejected == []
    assert len(report.merges) > 0
    async with db.open_session(system_scope("test read")) as session:
        households = await session.scalar(select(func.count()).select_from(Household))
        schools_per_household = (
            select(col(Pupil.household_id), func.count(func.distinct(Pupil.school_id)))
            .group_by(col(Pupil.household_id))
            .having(func.count(func.distinct(Pupil.school_id)) > 1)
        )
        shared = len((await session.execute(schools_per_household)).all())
    expected = len(snapshots["a"].households) + len(snapshots["b"].households) - len(report.merges)
    assert households == expected
    assert shared == len(report.merges)
