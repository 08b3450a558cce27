"""What the load and fault scripts share: a throw-away PostgreSQL database, the seeded world they
run against, the real service (`threshold serve` and `threshold worker`) as subprocesses, and
control of the local PostgreSQL cluster for the fault tests.

The world comes from the shared synthetic generator (`app/synthetic/`), built the way the demo
and the tests build it: the generator's two trusts, every school of the first trust synced from
the synthetic MIS (650, 420 and 210 pupils), then

- school 0: a Reception programme *collecting* answers, the generator's answers so far, and a
  live invitation code for every household in scope (the codes parents sign in with);
- school 1: a Reception programme over four days taken to *scheduling*, with the second-adult
  pool set and one schedule run solved, so its visits are `proposed` and can be moved or locked;
- an integration client (the MIS) with `roster:read roster:write` on school 0, and the snapshot
  it last sent, which the load re-sends with small changes;
- the second trust's schools stay empty: the worker fault test imports rosters into them.
"""

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CLUSTER = ("15", "main")
SCHOOL_SIZES = (650, 420, 210)
COLLECTING = {
    "name": "Reception home visits",
    "academic_year": "2026/27",  # the generated rosters' (app/synthetic/dates.py)
    "visit_days": ["2027-07-07", "2027-07-08", "2027-07-09"],
    "day_starts": "09:00",
    "day_ends": "17:30",
    "breaks": [{"starts": "12:00", "ends": "13:00"}],
    "year_groups": ["R"],
}
SCHEDULING = COLLECTING | {"visit_days": ["2027-07-07", "2027-07-08", "2027-07-09", "2027-07-12"]}


# --- PostgreSQL: the cluster and a throw-away database ------------------------------------------


def _pg_ctl(action: str) -> None:
    subprocess.run(  # noqa: S603 - a fixed command on the local cluster
        ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, action],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=60,
    )


def pg_is_up() -> bool:
    done = subprocess.run(
        ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-t", "1"],  # noqa: S607 - on PATH
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def pg_stop() -> None:
    """Stop the cluster (fast: open connections are ended, as in a failover or a crash)."""
    _pg_ctl("stop")


def pg_start() -> None:
    if not pg_is_up():
        with contextlib.suppress(subprocess.CalledProcessError):
            _pg_ctl("start")
    deadline = time.monotonic() + 60
    while not pg_is_up() and time.monotonic() < deadline:
        time.sleep(0.2)


@contextlib.contextmanager
def postgres_left_running() -> Iterator[None]:
    """Whatever happens inside (an error, Ctrl-C, SIGTERM), PostgreSQL is running afterwards:
    other engineers use the same cluster."""

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        pg_start()
        signal.signal(signal.SIGTERM, previous)


async def admin_sql(statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def throwaway_database(prefix: str) -> AsyncIterator[str]:
    """A new empty database, dropped (with any connection left to it) on the way out."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    pg_start()
    await admin_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        pg_start()
        for _ in range(5):
            try:
                await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except Exception as exc:  # the cluster may still be coming back
                print(f"(could not drop {name} yet: {type(exc).__name__}; retrying)")
                await asyncio.sleep(1)


async def sql(database_url: str, query: str, *args: Any) -> list[Any]:
    """Rows of one query on its own connection (the checks read the database directly)."""
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


# --- The service as subprocesses ---------------------------------------------------------------


def service_environment(database_url: str, **extra: str) -> dict[str, str]:
    """Production settings: the service refuses to start in production without these keys."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("THRESHOLD_")}
    env.update(
        {
            "DATABASE_URL": database_url,
            "THRESHOLD_ENVIRONMENT": "production",
            "THRESHOLD_JWT_PRIVATE_KEYS": pem,
            "THRESHOLD_SEALING_KEYS": Fernet.generate_key().decode(),
            "THRESHOLD_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Service:
    """`threshold serve` (uvicorn, N workers) and any number of `threshold worker`s."""

    env: dict[str, str]
    api_workers: int = 2
    port: int = field(default_factory=free_port)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="threshold-load-")))
    api: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        threshold = str(Path(sys.executable).with_name("threshold"))
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(  # noqa: S603 - this venv's own `threshold`
            [threshold, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )

    def start_api(self) -> None:
        self.api = self._spawn(
            "api",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.api_workers),
        )
        self.wait_ready()

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = self._spawn(f"worker-{len(self.workers) + 1}", "worker")
        self.workers.append(worker)
        return worker

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api is not None and self.api.poll() is not None:
                raise RuntimeError(f"the API exited; see {self.logs / 'api.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the API was not ready in {timeout}s; see {self.logs / 'api.log'}")

    def stop(self) -> None:
        running = [p for p in [self.api, *self.workers] if p is not None and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def api_pids(self) -> set[int]:
        """The uvicorn supervisor and its worker processes."""
        if self.api is None:
            return set()
        pids = {self.api.pid}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.api.pid:  # its parent
                    pids.add(int(stat.parent.name))
        return pids

    def memory_mb(self) -> float:
        """Resident memory of the API's processes, in MB."""
        total = 0
        for pid in self.api_pids():
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return round(total / 1024, 1)

    def log_lines(self, name: str = "api") -> list[str]:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def logged_errors(self) -> dict[str, int]:
        """Error records in the API's JSON logs, by message (unhandled errors show up here)."""
        found: dict[str, int] = {}
        for line in self.log_lines():
            try:
                record = json.loads(line)
            except ValueError:
                if "Traceback" in line:
                    found["traceback"] = found.get("traceback", 0) + 1
                continue
            if isinstance(record, dict) and record.get("level") in {"ERROR", "CRITICAL"}:
                key = str(record.get("message", "?"))
                found[key] = found.get(key, 0) + 1
        return found


# --- The seeded world ---------------------------------------------------------------------------


@dataclass
class StaffLogin:
    email: str
    password: str
    role: str
    staff_id: str
    school_id: str | None
    trust_id: str | None


@dataclass
class SlotInfo:
    id: str
    day: str
    parts: list[str]  # the day parts it touches: "morning", "afternoon"
    starts_at: str


@dataclass
class Fixture:
    """Ids and secrets the load needs; every value a plain string, so it prints as JSON."""

    trust_id: str
    schools: list[str]
    other_trust_id: str
    other_trust_schools: list[str]
    logins: list[StaffLogin]
    collecting_id: str
    collecting_school: str
    households: list[str]
    codes: dict[str, str]
    slots: list[SlotInfo]
    visit_days: list[str]
    classes: list[str]
    scheduling_id: str
    scheduling_school: str
    visits: list[str]
    scheduling_slots: list[SlotInfo]
    visiting_staff: list[str]
    client_id: str
    client_secret: str
    snapshot: dict[str, Any]
    answer_versions: dict[str, int]
    # School 2's programme, published and on its visit day: visits under way or just over.
    field_id: str = ""
    field_visits: list[dict[str, Any]] = field(default_factory=list)

    def login(self, role: str, school: str | None = None) -> StaffLogin:
        return next(
            lg
            for lg in self.logins
            if lg.role == role and (school is None or lg.school_id == school)
        )

    def logins_of(self, role: str, school: str) -> list[StaffLogin]:
        return [lg for lg in self.logins if lg.role == role and lg.school_id == school]


async def seed_world(env: dict[str, str], seed: int = 1) -> Fixture:
    """Migrate the service's database and load the world described at the top of this module,
    with the service's own sealing key (so the office can read the codes back)."""
    from app.core import db

    await migrate(env)
    try:
        return await _seed(seed)
    finally:
        await db.get_database().dispose()
        db.use_database(None)


async def migrate(env: dict[str, str], *settings: str) -> None:
    """Migrate the service's database and point this process at it, with the service's sealing
    key and any of its other `settings` (variable names) this process needs to seed."""
    for name in ("DATABASE_URL", "THRESHOLD_SEALING_KEYS", *settings):
        os.environ[name] = env[name]
    os.environ.setdefault("THRESHOLD_DATA_DIR", tempfile.mkdtemp(prefix="threshold-seed-"))
    from app.cli import upgrade_database
    from app.core import db
    from app.core.settings import get_settings

    get_settings.cache_clear()
    db.use_database(None)
    await asyncio.to_thread(upgrade_database)
    db.use_database(None)  # alembic's engine belonged to its own event loop


async def _seed(seed: int) -> Fixture:
    from app.core.db import open_session
    from app.core.tenancy import system_scope
    from app.synthetic.generator import Generator, insert_world

    world = Generator(seed).world()
    async with open_session(system_scope("load: seed the world")) as session:
        await insert_world(session, world)
    snapshot = await _sync_rosters(world, seed)
    collecting = await _collecting_programme(world, seed)
    scheduling = await _scheduling_programme(world, seed)
    in_the_field = await _field_programme(world, seed)
    client_id, secret = await _integration_client(world)
    trust = world.trusts[0]
    logins = [
        StaffLogin(
            lg.email,
            lg.password,
            lg.role.value,
            str(lg.staff_id),
            str(lg.school_id) if lg.school_id else None,
            str(lg.trust_id) if lg.trust_id else None,
        )
        for lg in world.logins
    ]
    return Fixture(
        trust_id=str(trust.trust.id),
        schools=[str(s.id) for s in trust.schools],
        other_trust_id=str(world.trusts[1].trust.id),
        other_trust_schools=[str(s.id) for s in world.trusts[1].schools],
        logins=logins,
        client_id=client_id,
        client_secret=secret,
        snapshot=snapshot,
        **collecting,
        **scheduling,
        **in_the_field,
    )


async def _sync_rosters(world: Any, seed: int) -> dict[str, Any]:
    """Every school of the first trust, through the sync an MIS feed takes; returns school 0's
    snapshot as JSON (what the integration re-sends)."""
    from app.core.db import open_session
    from app.core.permissions import Role
    from app.core.tenancy import system_scope
    from app.roster.service import apply_snapshot
    from app.synthetic.roster import RosterGenerator

    trust = world.trusts[0]
    keys = [str(s.id) for s in trust.schools]
    teachers = {
        key: [
            lg.email for lg in world.logins if lg.role is Role.TEACHER and str(lg.school_id) == key
        ]
        for key in keys
    }
    snapshots = RosterGenerator(seed).trust_snapshots(
        keys, pupils_per_school=list(SCHOOL_SIZES[: len(keys)]), teacher_emails=teachers
    )
    for school in trust.schools:
        async with open_session(system_scope("load: roster")) as session:
            await apply_snapshot(
                session, school, snapshots[str(school.id)], dry_run=False, skip_rejected=False
            )
    return snapshots[keys[0]].model_dump(mode="json")


def admin_of(world: Any, school_index: int) -> Any:
    from app.core.permissions import Role
    from app.core.principal import Grant, Principal, PrincipalKind

    trust = world.trusts[0]
    school = trust.schools[school_index]
    admin = world.login(Role.SCHOOL_ADMIN, trust=0, school=school_index)
    return Principal(
        PrincipalKind.STAFF, admin.staff_id, trust.trust.id, (Grant(Role.SCHOOL_ADMIN, school.id),)
    )


async def _open_programme(
    world: Any, school_index: int, settings: dict[str, Any], seed: int
) -> Any:
    """Created and opened by the school's SLT through the programme service, with the
    generator's answers so far."""
    from app.core.db import open_session
    from app.core.tenancy import system_scope
    from app.core.types import utcnow
    from app.programmes import service, transitions
    from app.programmes.models import ProgrammeStatus
    from app.programmes.schemas import ProgrammeCreate
    from app.synthetic.answers import answer_programme

    who = admin_of(world, school_index)
    now = utcnow().replace(microsecond=0)
    body = ProgrammeCreate.model_validate(
        settings
        | {
            "preferences_open_at": (now - timedelta(days=20)).isoformat(),
            "preferences_close_at": (now + timedelta(days=30)).isoformat(),
        }
    )
    school_id = world.trusts[0].schools[school_index].id
    async with open_session(system_scope("load: programme")) as session:
        created = await service.create(session, who, school_id, body)
        programme = await transitions.transition(
            session, who, created.id, ProgrammeStatus.COLLECTING, "*"
        )
        await answer_programme(session, who, programme, seed=seed + school_index, now=now)
    return programme


async def _collecting_programme(world: Any, seed: int) -> dict[str, Any]:
    from sqlmodel import col, select

    from app.core import sealing
    from app.core.db import open_session
    from app.core.tenancy import system_scope
    from app.parents import codes
    from app.parents.answers_models import HouseholdAnswer
    from app.parents.models import Invitation
    from app.programmes.models import Slot
    from app.programmes.repository import ProgrammeRepository
    from app.roster.models import SchoolClass

    programme = await _open_programme(world, 0, COLLECTING, seed)
    who = admin_of(world, 0)
    issued: dict[str, str] = {}
    async with open_session(system_scope("load: invitations")) as session:
        households = sorted(
            {h for h, _, _ in await ProgrammeRepository(session, who).in_scope(programme)}
        )
        for household in households:
            code = codes.new_code()
            issued[str(household)] = code
            session.add(
                Invitation(
                    trust_id=programme.trust_id,
                    school_id=programme.school_id,
                    programme_id=programme.id,
                    household_id=household,
                    code_digest=codes.code_digest(code),
                    code_sealed=sealing.seal(code),
                    expires_at=datetime.now(UTC) + timedelta(days=120),
                )
            )
        slots = list(
            await session.scalars(
                select(Slot)  # tenancy: system scope (seeding)
                .where(col(Slot.programme_id) == programme.id)
                .order_by(col(Slot.starts_at))
            )
        )
        versions = {
            str(a.household_id): a.version
            for a in await session.scalars(
                select(HouseholdAnswer).where(  # tenancy: system scope (seeding)
                    col(HouseholdAnswer.programme_id) == programme.id
                )
            )
        }
        classes = await session.scalars(
            select(SchoolClass.id).where(  # tenancy: system scope (seeding)
                col(SchoolClass.school_id) == programme.school_id
            )
        )
        class_ids = [str(c) for c in classes]
    return {
        "collecting_id": str(programme.id),
        "collecting_school": str(programme.school_id),
        "households": [str(h) for h in households],
        "codes": issued,
        "slots": [_slot_info(s) for s in slots],
        "visit_days": list(programme.visit_days),
        "classes": class_ids,
        "answer_versions": versions,
    }


def _slot_info(slot: Any) -> SlotInfo:
    from app.parents.answers import parts_covering

    return SlotInfo(
        str(slot.id),
        slot.day.isoformat(),
        sorted(p.value for p in parts_covering(slot.starts_at, slot.ends_at)),
        slot.starts_at.isoformat(),
    )


async def _scheduling_programme(world: Any, seed: int) -> dict[str, Any]:
    """School 1's programme taken to scheduling, and one schedule run solved in this process."""
    from sqlmodel import col, select

    from app.core.db import open_session
    from app.core.jobs import run_pending
    from app.core.permissions import Role
    from app.core.tenancy import system_scope
    from app.programmes import teams, transitions
    from app.programmes.models import ProgrammeStatus, Slot
    from app.programmes.schemas import SecondAdultsWrite
    from app.registry import wire
    from app.scheduling import service as scheduling
    from app.scheduling.schemas import ScheduleRunCreate
    from app.visits.models import Visit, VisitAdult

    wire()  # the transition hooks and the schedule run's job handler

    programme = await _open_programme(world, 1, SCHEDULING, seed)
    who = admin_of(world, 1)
    pool = [
        world.login(Role.SUPPORT_STAFF, trust=0, school=1).staff_id,
        world.login(Role.SCHOOL_ADMIN, trust=0, school=1).staff_id,
    ]
    async with open_session(system_scope("load: scheduling")) as session:
        await teams.set_pool(session, who, programme.id, SecondAdultsWrite(staff_ids=pool))
        await transitions.transition(session, who, programme.id, ProgrammeStatus.SCHEDULING, "*")
        await scheduling.start_run(
            session, who, programme.id, ScheduleRunCreate(time_limit_seconds=5, seed=seed)
        )
    await run_pending("load-seed")
    async with open_session(system_scope("load: visits")) as session:
        visits = list(
            await session.scalars(
                select(Visit.id).where(  # tenancy: system scope (seeding)
                    col(Visit.programme_id) == programme.id
                )
            )
        )
        adults = set(
            await session.scalars(
                select(VisitAdult.staff_id).where(  # tenancy: system scope (seeding)
                    col(VisitAdult.visit_id).in_(visits)
                )
            )
        )
        slots = list(
            await session.scalars(
                select(Slot).where(col(Slot.programme_id) == programme.id)  # tenancy: seeding
            )
        )
    if not visits:
        raise RuntimeError("the seeding schedule run placed no visit")
    return {
        "scheduling_id": str(programme.id),
        "scheduling_school": str(programme.school_id),
        "visits": [str(v) for v in visits],
        "scheduling_slots": [_slot_info(s) for s in slots],
        "visiting_staff": sorted(str(a) for a in adults),
    }


async def _field_programme(world: Any, seed: int) -> dict[str, Any]:
    """School 2's programme scheduled, published, and its first visit day moved to today (its
    first visit began two hours ago), so the day's adults check in and out, record outcomes and
    write their notes during the load."""
    from datetime import timedelta

    from sqlmodel import col, select

    from app.core.db import open_session
    from app.core.jobs import run_pending
    from app.core.permissions import Role
    from app.core.tenancy import system_scope
    from app.core.types import utcnow
    from app.programmes import duties, teams, transitions
    from app.programmes.models import ProgrammeStatus
    from app.programmes.schemas import DayDutiesWrite, SecondAdultsWrite
    from app.scheduling import service as scheduling
    from app.scheduling.models import ScheduleRun
    from app.scheduling.schemas import ScheduleRunCreate
    from app.visits.models import Visit, VisitAdult, VisitPupil

    programme = await _open_programme(world, 2, SCHEDULING, seed)
    who = admin_of(world, 2)
    pool = [
        world.login(Role.SUPPORT_STAFF, trust=0, school=2).staff_id,
        world.login(Role.SCHOOL_ADMIN, trust=0, school=2).staff_id,
    ]
    async with open_session(system_scope("load: the field programme")) as session:
        await teams.set_pool(session, who, programme.id, SecondAdultsWrite(staff_ids=pool))
        await transitions.transition(session, who, programme.id, ProgrammeStatus.SCHEDULING, "*")
        await scheduling.start_run(
            session, who, programme.id, ScheduleRunCreate(time_limit_seconds=3, seed=seed)
        )
    await run_pending("load-seed")
    async with open_session(system_scope("load: publish the field programme")) as session:
        dsl = DayDutiesWrite(dsl_on_call_id=world.login(Role.DSL, trust=0, school=2).staff_id)
        for day in programme.days():
            await duties.set_day(session, who, programme.id, day, dsl)
        run = await session.scalar(
            select(ScheduleRun).where(  # tenancy: system scope (seeding)
                col(ScheduleRun.programme_id) == programme.id
            )
        )
        unplaced = [uuid.UUID(u["household_id"]) for u in (run.unplaced if run else [])]
        await transitions.transition(
            session,
            who,
            programme.id,
            ProgrammeStatus.PUBLISHED,
            "*",
            acknowledged_unplaced=unplaced,
        )
    found: list[dict[str, Any]] = []
    async with open_session(system_scope("load: the visit day")) as session:
        visits = list(
            await session.scalars(
                select(Visit)  # tenancy: system scope (seeding)
                .where(col(Visit.programme_id) == programme.id)
                .order_by(col(Visit.starts_at), col(Visit.id))
            )
        )
        # The first visit day moved whole to today, its first visit begun two hours ago: the
        # schedule keeps its shape (no adult in two places), the rest of the day still to come.
        first_day = [v for v in visits if v.starts_at.date() == visits[0].starts_at.date()]
        shift = utcnow() - timedelta(hours=2) - first_day[0].starts_at
        for visit in first_day:
            visit.starts_at += shift
            visit.ends_at += shift
            adults = await session.scalars(
                select(VisitAdult.staff_id).where(  # tenancy: system scope (seeding)
                    col(VisitAdult.visit_id) == visit.id
                )
            )
            pupils = await session.scalars(
                select(VisitPupil.pupil_id).where(  # tenancy: system scope (seeding)
                    col(VisitPupil.visit_id) == visit.id
                )
            )
            found.append(
                {
                    "id": str(visit.id),
                    "adults": [str(a) for a in adults],
                    "pupils": [str(p) for p in pupils],
                }
            )
    return {"field_id": str(programme.id), "field_visits": found}


async def _integration_client(world: Any) -> tuple[str, str]:
    from app.core.db import open_session
    from app.core.security import digest
    from app.core.tenancy import system_scope
    from app.integrations.models import IntegrationClient, IntegrationClientSchool

    trust = world.trusts[0]
    secret = secrets.token_urlsafe(24)
    client_id = f"thc_{uuid.uuid4().hex[:12]}"
    async with open_session(system_scope("load: integration client")) as session:
        client = IntegrationClient(
            trust_id=trust.trust.id,
            name="Load MIS feed",
            client_id=client_id,
            secret_digest=digest(secret),
            scopes=["roster:read", "roster:write"],
        )
        session.add(client)
        await session.flush()
        session.add(
            IntegrationClientSchool(
                trust_id=trust.trust.id, school_id=trust.schools[0].id, client_id=client.id
            )
        )
    return client_id, secret


# --- Files an MIS exports ------------------------------------------------------------------------

PUPIL_CSV_COLUMNS = [
    "Adno", "UPN", "Legal Forename", "Legal Surname", "Preferred Forename", "DOB", "Gender",
    "Reg Group", "Year", "FSM", "Pupil Premium", "SEN Status", "EAL", "Home Language",
    "Looked After", "Address Line 1", "Address Line 2", "Town", "Postcode", "Family ID",
    "Contact 1 Name", "Contact 1 Relationship", "Contact 1 Mobile", "Contact 1 Email",
    "Contact 2 Name", "Contact 2 Relationship", "Contact 2 Mobile", "Contact 2 Email",
]  # fmt: skip


def pupil_csv(snapshot: Any) -> bytes:
    """A generated school's roster as the pupil list an MIS report exports (the default column
    names of the `pupil_csv` import)."""
    import csv
    import io

    classes = {c.mis_id: c for c in snapshot.classes}
    homes = {h.ref: h for h in snapshot.households}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PUPIL_CSV_COLUMNS)
    yes = {True: "Y", False: "N"}
    send = {"none": "", "sen_support": "K", "ehcp": "E"}
    for p in snapshot.pupils:
        school_class = classes.get(p.class_mis_id) if p.class_mis_id else None
        home = homes.get(p.household_ref) if p.household_ref else None
        contacts = sorted(home.contacts, key=lambda c: c.priority)[:2] if home else []
        cells = [
            p.mis_id, p.upn or "", p.legal_first_name, p.legal_last_name,
            p.preferred_first_name or "", p.date_of_birth.isoformat(),
            p.sex.value if p.sex else "", school_class.name if school_class else "",
            school_class.year_group.value if school_class else "", yes[p.free_school_meals],
            yes[p.pupil_premium], send[p.send.value], yes[p.eal], p.home_language or "",
            yes[p.looked_after],
            home.address_line1 if home else "", (home.address_line2 or "") if home else "",
            (home.town or "") if home else "", home.postcode if home else "",
            (home.mis_id or home.ref) if home else "",
        ]  # fmt: skip
        for contact in [*contacts, None, None][:2]:
            cells += (
                [
                    contact.name,
                    contact.relationship or "",
                    contact.mobile or "",
                    contact.email or "",
                ]
                if contact
                else ["", "", "", ""]
            )
        writer.writerow(cells)
    return out.getvalue().encode()
