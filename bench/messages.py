"""Messages: visit reminders for a generated trust, sent by real `threshold worker` processes
through a local fake of GOV.UK Notify.

    python bench/messages.py                          # 5,000 reminders on PostgreSQL, 2 workers
    python bench/messages.py --database sqlite        # the same on SQLite (one file)
    python bench/messages.py --quick                  # 400 reminders, 240 a minute allowed

A throw-away database (PostgreSQL at 127.0.0.1, user postgres, trust auth, dropped afterwards;
or a SQLite file in a temporary directory) is migrated and seeded with the shared synthetic
generator: one trust of `--schools` schools, their rosters synced as an MIS feed syncs them,
large enough to hold `--messages` households reachable by text or email, and a Reception
programme per school. The visit reminders are written into the outbox through `outbox.write`,
school by school (see `load_messages.write_reminders`). Then the fake Notify is started as its
own process (`threshold fake-notify`, refusing with 429 beyond Notify's 3,000 requests a
minute, as Notify does), and `--workers` `threshold worker` processes (production settings on
PostgreSQL) send until the outbox is drained.

It prints: messages per second over the drain; time to drain (from starting the workers to the
last message marked sent); the peak of sends and of all requests (sends and look-ups) to Notify
in any 60 seconds, which must stay under 3,000 and within the workers' allowance
(THRESHOLD_NOTIFY_RATE_PER_MINUTE, `--rate-per-minute` to change it); the 429s the fake had to
answer (0 when the workers keep to their allowance); the workers' own pace before the allowance
bit (the best 10 seconds) and the drain that pace alone would take, the baseline the rate
limit's cost is read against; duplicates (a second notification under one reference, must be
0) and lost messages (not marked sent, or never at Notify: must be 0). The last line of output
is one JSON object of the figures; the exit status is 1 if a message was lost or duplicated,
the peak passed the allowance or Notify's limit, or the drain did not finish.
"""

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_messages import (
    NOTIFY_LIMIT_PER_MINUTE,
    FakeNotify,
    attempt_outcomes,
    outbox_statuses,
    peak_in_window,
    print_json,
    tally,
    unfinished,
    write_reminders,
)
from load_world import (
    COLLECTING,
    Service,
    admin_of,
    migrate,
    postgres_left_running,
    service_environment,
    throwaway_database,
)

from app.core.settings import Settings
from app.notifications.worker import BATCH

# Households per pupil reachable by text or email in the generated rosters (about 0.64),
# with a margin so the rosters hold at least the messages asked for.
REACHABLE_PER_PUPIL = 0.6
# The worker's allowance when --rate-per-minute is not given (the setting's default).
DEFAULT_RATE = int(Settings.model_fields["notify_rate_per_minute"].default)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="`threshold worker` processes")
    parser.add_argument("--schools", type=int, default=4, help="schools in the generated trust")
    parser.add_argument(
        "--rate-per-minute",
        type=int,
        default=None,
        help=f"THRESHOLD_NOTIFY_RATE_PER_MINUTE for the workers (the setting's default, "
        f"{DEFAULT_RATE}, if omitted)",
    )
    parser.add_argument("--quick", action="store_true", help="400 messages, 240 a minute")
    parser.add_argument("--timeout", type=float, default=300, help="give up draining after")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.messages, args.schools = 400, 1
        args.rate_per_minute = args.rate_per_minute or 240
    return args


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[str]:
    if kind == "postgresql":
        async with throwaway_database(f"thr_bench_messages_{os.getpid()}") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="thr-bench-messages-") as directory:
        yield f"sqlite:///{Path(directory) / 'threshold.db'}"


def environment(url: str, fake: FakeNotify, args: argparse.Namespace) -> dict[str, str]:
    settings = fake.environment(args.rate_per_minute) | {
        # The bench writes a whole school's reminders at once (up to ~2,000 households).
        "THRESHOLD_MESSAGES_DAILY_CAP_PER_PROGRAMME": str(max(1000, args.messages)),
    }
    env = service_environment(url, **settings)
    if url.startswith("sqlite"):
        # Production settings refuse SQLite: the embedded deployment runs as development.
        env["THRESHOLD_ENVIRONMENT"] = "development"
        env["THRESHOLD_DATA_DIR"] = str(Path(url.split(":///", 1)[1]).parent)
    return env


async def seed(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """The trust, its rosters, a programme per school, and the reminders in the outbox."""
    # This process seeds with the service's sealing key and cap (and on SQLite, as the
    # development deployment it is: production settings refuse SQLite).
    sqlite = env["DATABASE_URL"].startswith("sqlite")
    # Quiet hours off here too: the reminders are due when they are written.
    await migrate(
        env,
        "THRESHOLD_MESSAGES_DAILY_CAP_PER_PROGRAMME",
        "THRESHOLD_MESSAGES_QUIET_HOURS_START",
        "THRESHOLD_MESSAGES_QUIET_HOURS_END",
        *(["THRESHOLD_ENVIRONMENT"] if sqlite else []),
    )
    from app.core import db

    try:
        return await _seed(args)
    finally:
        await db.get_database().dispose()
        db.use_database(None)


async def _seed(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.db import open_session
    from app.core.tenancy import system_scope
    from app.core.types import utcnow
    from app.programmes import service
    from app.programmes.schemas import ProgrammeCreate
    from app.roster.service import apply_snapshot
    from app.synthetic.generator import Generator, insert_world
    from app.synthetic.roster import RosterGenerator

    began = time.perf_counter()
    world = Generator(args.seed).world(trusts=1, schools_per_trust=args.schools)
    trust = world.trusts[0]
    async with open_session(system_scope("bench: the world")) as session:
        await insert_world(session, world)
    keys = [str(s.id) for s in trust.schools]
    pupils = min(10_000, int(args.messages / REACHABLE_PER_PUPIL / len(keys)) + 1)
    snapshots = RosterGenerator(args.seed).trust_snapshots(keys, pupils_per_school=pupils)
    for school in trust.schools:
        async with open_session(system_scope("bench: roster")) as session:
            await apply_snapshot(
                session, school, snapshots[str(school.id)], dry_run=False, skip_rejected=False
            )
    now = utcnow().replace(microsecond=0)
    programmes = {}
    for index, school in enumerate(trust.schools):
        body = ProgrammeCreate.model_validate(
            COLLECTING
            | {
                "preferences_open_at": (now - timedelta(days=20)).isoformat(),
                "preferences_close_at": (now + timedelta(days=30)).isoformat(),
            }
        )
        async with open_session(system_scope("bench: programme")) as session:
            created = await service.create(session, admin_of(world, index), school.id, body)
            programmes[school.id] = created.id
    seeded = time.perf_counter() - began
    written, spent = await write_reminders(
        trust.trust.id, limit=args.messages, programmes=programmes
    )
    return {
        "pupils": pupils * len(keys),
        "households": sum(len(s.households) for s in snapshots.values()),
        "seed_seconds": round(seeded, 1),
        "written": written,
        "write_seconds": round(spent, 2),
    }


async def drain(
    url: str, service: Service, fake: FakeNotify, args: argparse.Namespace
) -> tuple[float | None, float]:
    """Start the workers and wait until nothing is left to send; the seconds it took (None if
    it did not finish within --timeout) and when the workers were started (time.time())."""
    started_at = time.time()
    began = time.monotonic()
    for _ in range(args.workers):
        service.start_worker()
    last_print = began
    while time.monotonic() - began < args.timeout:
        counts = await outbox_statuses(url)
        if not unfinished(counts):
            return time.monotonic() - began, started_at
        if time.monotonic() - last_print >= 15:
            last_print = time.monotonic()
            stats = fake.stats()
            print(
                f"  {last_print - began:4.0f} s: {counts}; Notify stored {stats['stored']}, "
                f"refused {stats['rate_limited']} over its limit",
                flush=True,
            )
        dead = [w.pid for w in service.workers if w.poll() is not None]
        if dead:
            print(f"  worker(s) {dead} exited; see {service.logs}")
            return None, started_at
        await asyncio.sleep(0.25)
    return None, started_at


async def main(args: argparse.Namespace) -> int:
    logs = Path(tempfile.mkdtemp(prefix="thr-bench-messages-"))
    fake = FakeNotify(logs)
    fake.start()
    try:
        async with database(args.database) as url:
            env = environment(url, fake, args)
            print(f"seeding {url.rsplit('/', 1)[-1]} ({args.database}) ...", flush=True)
            seeded = await seed(env, args)
            print(
                f"seeded {seeded['pupils']} pupils, {seeded['households']} households in "
                f"{seeded['seed_seconds']} s; wrote {seeded['written']} visit reminders into the "
                f"outbox in {seeded['write_seconds']} s",
                flush=True,
            )
            service = Service(env, logs=logs)
            print(f"draining with {args.workers} workers (logs in {logs}) ...", flush=True)
            try:
                drained, started_at = await drain(url, service, fake, args)
            finally:
                service.stop()
            counted = await tally(url, fake)
            outcomes = await attempt_outcomes(url)
    finally:
        stats = fake.stats() if fake.process and fake.process.poll() is None else {}
        times = fake.send_times() if stats else []
        fake.stop()
    return report(args, seeded, counted, outcomes, stats, times, drained, started_at)


def report(
    args: argparse.Namespace,
    seeded: dict[str, Any],
    counted: dict[str, Any],
    outcomes: dict[str, int],
    stats: dict[str, Any],
    times: list[float],
    drained: float | None,
    started_at: float,
) -> int:
    allowance = args.rate_per_minute or DEFAULT_RATE
    sent = counted["sent"]
    best_10s = peak_in_window(times, 10) / 10 if times else 0.0
    unthrottled = sent / best_10s if best_10s else None
    figures: dict[str, Any] = {
        "database": args.database,
        "workers": args.workers,
        "messages": counted["messages"],
        "sent": sent,
        "drain_seconds": round(drained, 1) if drained is not None else None,
        "messages_per_second": round(sent / drained, 1) if drained else None,
        "first_send_after_s": round(times[0] - started_at, 1) if times else None,
        "peak_sends_per_minute": stats.get("peak_sends_per_minute"),
        "peak_requests_per_minute": stats.get("peak_requests_per_minute"),
        "allowance_per_minute": allowance,
        "notify_limit_per_minute": NOTIFY_LIMIT_PER_MINUTE,
        "refused_by_notify_429": stats.get("rate_limited"),
        "unthrottled_per_second": round(best_10s, 1),
        "unthrottled_drain_seconds": round(unthrottled, 1) if unthrottled else None,
        "drain_vs_unthrottled": round(drained / unthrottled, 2)
        if drained and unthrottled
        else None,
        "duplicates": counted["duplicates"],
        "lost": counted["lost"],
        "strays": counted["strays"],
        "statuses": counted["statuses"],
        "attempts": outcomes,
        "sends_per_minute": stats.get("sends_per_minute"),
        **{k: seeded[k] for k in ("pupils", "households", "seed_seconds", "write_seconds")},
        "written_per_second": round(seeded["written"] / seeded["write_seconds"])
        if seeded["write_seconds"]
        else None,
    }
    peak = figures["peak_requests_per_minute"] or 0
    # The allowance is counted when a batch is reserved, Notify counts requests as they arrive:
    # a window can hold a batch reserved just before it began and sent inside it, so the
    # allowance may be passed by up to one batch per worker (the margin under 3,000 covers it).
    slack = BATCH * args.workers
    figures["peak_over_allowance"] = max(0, peak - allowance)
    # Whether the run was throttled at all: the workers' own pace reached the allowance.
    figures["allowance_reached"] = (figures["peak_sends_per_minute"] or 0) >= 0.9 * allowance
    figures["load_average"] = round(os.getloadavg()[0], 1)
    checks = {
        "the outbox drained": drained is not None,
        "every message sent and at Notify once (0 lost)": counted["lost"] == 0,
        "no message sent twice (0 duplicates)": counted["duplicates"] == 0,
        "nothing at Notify that is not in the outbox": counted["strays"] == 0,
        f"requests in any 60 s within the allowance ({allowance}) and one batch per worker "
        f"in flight ({slack})": peak <= allowance + slack,
        f"and under Notify's {NOTIFY_LIMIT_PER_MINUTE}": peak < NOTIFY_LIMIT_PER_MINUTE,
        "Notify never had to refuse (0 429s)": not figures["refused_by_notify_429"],
    }
    print()
    for key, value in figures.items():
        print(f"{key:28} {value}")
    print()
    for check, ok in checks.items():
        print(f"  [{'x' if ok else ' '}] {check}")
    if not figures["allowance_reached"]:
        print(
            f"  (the allowance did not bite: the workers' own pace, about "
            f"{round(best_10s * 60)} a minute, stayed under {allowance}; --rate-per-minute "
            "lower, or --quick, shows it)"
        )
    figures["passed"] = all(checks.values())
    print_json(figures)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    arguments = parse()
    with postgres_left_running():
        sys.exit(asyncio.run(main(arguments)))
