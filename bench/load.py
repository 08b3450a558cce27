"""Load and soak: real HTTP load against the real service on PostgreSQL, then integrity checks.

    python bench/load.py                    # 60 s, 12 virtual users
    python bench/load.py --seconds 20       # a quick look
    python bench/load.py --soak             # 30 minutes (tokens are refreshed as they expire)
    python bench/load.py --users 24 --think 0   # flat out

Makes a throw-away database on PostgreSQL at 127.0.0.1 (user postgres, trust auth), migrates it
and seeds it with the shared synthetic generator (see `load_world`), starts `threshold serve`
(production settings, two uvicorn workers) and one `threshold worker` as subprocesses, and runs
a mix of what the service's users do (`load_client.Mix`):

- staff read itineraries, pupil lists, a class, progress, the chase list, the visits;
- parents sign in with their invitation code, look at the slots and their answer, and submit
  answers (a few invalid on purpose, which must be refused and save nothing);
- the office enters answers on families' behalf;
- teachers and support staff record when they cannot visit;
- SLT open visits and lock, unlock or move them into a gap in the teacher's day (refused with
  409 when that would break a rule, 412 when someone changed the visit first), and now and then
  two SLT members move two visits that share an adult into the same gap at the same moment (at
  most one may succeed);
- the MIS (an integration client) re-sends the school's whole roster every few seconds.

Notes on visits do not exist yet (there is no notes route): they join the mix when that area
lands.

Messages: before the load starts, visit reminders for every reachable household of the trust
(about 800) are written into the outbox, and the worker sends them during the load through a
local fake of GOV.UK Notify (`threshold fake-notify`, its own process, refusing beyond Notify's
3,000 requests a minute). After the load it is given up to `--drain` seconds to finish; every
message must then be sent exactly once, counted at the fake by reference (0 lost, 0
duplicated).

It prints, per operation, requests per second, p50/p95/p99 latency and statuses; then checks
the database and the messages: every acknowledged write is there (the last acknowledged answer of each
household, each visit's last acknowledged change, every period, the last roster sync), refused
writes left nothing, no adult is in two overlapping visits, no household has two visits in a
programme, and the scheduler's validator finds no broken booking rule. The last line of output
is one JSON object of the figures; the exit status is 1 if any check failed or any request
erred.
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_checks import check_all
from load_client import Plan, Stats, run_load
from load_messages import FakeNotify, outbox_statuses, tally, unfinished, write_reminders
from load_world import (
    Service,
    postgres_left_running,
    seed_world,
    service_environment,
    sql,
    throwaway_database,
)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to load")
    parser.add_argument("--soak", action="store_true", help="load for 30 minutes")
    parser.add_argument("--users", type=int, default=12, help="virtual users")
    parser.add_argument("--think", type=float, default=0.05, help="mean pause between actions")
    parser.add_argument("--roster-every", type=float, default=5.0, help="seconds between MIS syncs")
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--drain", type=float, default=120, help="seconds the worker may take to send the rest"
    )
    args = parser.parse_args()
    if args.soak:
        args.seconds = max(args.seconds, 1800.0)
    return args


def print_table(title: str, summary: dict[str, Any]) -> None:
    print(f"\n{title}: {summary['requests']} requests in {summary['seconds']} s")
    print(
        f"  {'operation':<22}{'count':>7}{'rps':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}  statuses"
    )
    rows = [*summary["ops"].items(), ("ALL", summary["all"])]
    for op, figures in rows:
        if not figures.get("count"):
            continue
        statuses = " ".join(f"{k}:{v}" for k, v in figures["statuses"].items())
        print(
            f"  {op:<22}{figures['count']:>7}{figures['rps']:>8}{figures['p50_ms']:>9}"
            f"{figures['p95_ms']:>9}{figures['p99_ms']:>9}{figures['max_ms']:>9}  {statuses}"
        )


async def monitor(
    service: Service, url: str, stats: Stats, done: asyncio.Event
) -> list[tuple[float, float, int]]:
    """Every 5 s: the API's resident memory and the connections it holds to PostgreSQL (a soak
    shows a leak or a pool that creeps up)."""
    seen: list[tuple[float, float, int]] = []
    while not done.is_set():
        rows = await sql(
            url,
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'threshold'",
        )
        seen.append((stats.now(), service.memory_mb(), int(rows[0]["n"])))
        if len(seen) % 12 == 0:  # a line a minute, so a soak shows it is alive
            errors = sum(1 for s in stats.samples if stats.outcome(s) == "error")
            print(
                f"  {seen[-1][0]:.0f} s: {len(stats.samples)} requests, {errors} errors, API "
                f"{seen[-1][1]} MB, {seen[-1][2]} connections",
                flush=True,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=5)
    return seen


def print_trend(stats: Stats, trend: list[tuple[float, float, int]]) -> None:
    """The run in six windows: throughput, p95 and errors, memory and connections."""
    span = stats.now()
    width = max(10.0, span / 6)
    print(f"\nover time ({width:.0f} s windows):")
    print(f"  {'from s':>7}{'rps':>8}{'p95 ms':>9}{'errors':>8}{'API MB':>9}{'connections':>13}")
    start = 0.0
    while start < span - 1:
        part = stats.summary(start, min(span, start + width))
        inside = [t for t in trend if start <= t[0] < start + width] or trend[-1:]
        memory = max((t[1] for t in inside), default=0.0)
        connections = max((t[2] for t in inside), default=0)
        p95 = part["all"].get("p95_ms", 0)
        print(
            f"  {start:>7.0f}{part['rps']:>8}{p95:>9}{part['errors']:>8}{memory:>9}"
            f"{connections:>13}"
        )
        start += width


def print_checks(checks: dict[str, Any]) -> None:
    print("\nintegrity checks:")
    for name, result in checks.items():
        if not isinstance(result, dict):
            continue
        verdict = "PASS" if result["passed"] else "FAIL"
        figures = {k: v for k, v in result.items() if k not in {"passed", "problems", "examples"}}
        print(f"  {verdict} {name}: {figures}")
        for problem in result.get("problems", []) + result.get("examples", []):
            print(f"       {problem}")


async def write_messages(trust_id: str) -> int:
    """Visit reminders for the trust's reachable households, written by this process into the
    service's database (seeding left its settings in the environment)."""
    from uuid import UUID

    from app.core import db
    from app.core.settings import get_settings

    get_settings.cache_clear()
    db.use_database(None)
    try:
        written, _ = await write_reminders(UUID(trust_id))
    finally:
        await db.get_database().dispose()
        db.use_database(None)
    return written


async def drain_messages(url: str, seconds: float) -> dict[str, int]:
    """Wait for the worker to send what the load left (at most `seconds`)."""
    deadline = time.monotonic() + seconds
    counts = await outbox_statuses(url)
    while unfinished(counts) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        counts = await outbox_statuses(url)
    return counts


def print_messages(messages: dict[str, Any], fake: dict[str, Any]) -> None:
    verdict = "PASS" if messages["passed"] else "FAIL"
    print(
        f"  {verdict} messages: {messages['messages']} visit reminders, {messages['sent']} sent "
        f"({messages['sent_during_load']} during the load); Notify stored "
        f"{messages['stored_at_fake']}: {messages['duplicates']} duplicates, {messages['lost']} "
        f"lost, {messages['strays']} strays; peak {fake.get('peak_requests_per_minute')} requests "
        f"a minute, {fake.get('rate_limited')} refused (429)"
    )


async def main(args: argparse.Namespace) -> int:
    began = time.monotonic()
    service = Service({}, api_workers=args.api_workers)
    fake = FakeNotify(service.logs)
    fake.start()
    async with throwaway_database("threshold_load") as url:
        notify = fake.environment()
        env = service.env = service_environment(url, **notify)
        os.environ.update({k: v for k, v in notify.items() if "QUIET_HOURS" in k})
        print(f"seeding {url.rsplit('/', 1)[-1]} ...", flush=True)
        fixture = await seed_world(env, args.seed)
        written = await write_messages(fixture.trust_id)
        try:
            service.start_api()
            service.start_worker()
            print(
                f"service up at {service.base_url} (logs in {service.logs}); seeded in"
                f" {time.monotonic() - began:.0f} s; loading for {args.seconds:.0f} s with"
                f" {args.users} users ...",
                flush=True,
            )
            plan = Plan(
                seconds=args.seconds,
                users=args.users,
                think=args.think,
                roster_every=args.roster_every,
                seed=args.seed,
            )
            stats = Stats()
            done = asyncio.Event()
            watch = asyncio.create_task(monitor(service, url, stats, done))
            try:
                stats, ledger = await run_load(service.base_url, fixture, plan, stats=stats)
            finally:
                done.set()
            trend = await watch
            sent_during_load = (await outbox_statuses(url)).get("sent", 0)
            await drain_messages(url, args.drain)
        finally:
            service.stop()
            fake_stats = fake.stats()
            counted = await tally(url, fake)
            fake.stop()
        messages = {
            "passed": counted["messages"] >= written
            and counted["lost"] == 0
            and counted["duplicates"] == 0
            and counted["strays"] == 0,
            "sent_during_load": sent_during_load,
        } | {k: v for k, v in counted.items() if k != "examples_lost"}
        summary = stats.summary()
        print_table("load", summary)
        print_trend(stats, trend)
        checks = await check_all(url, fixture, ledger)
        print_checks(checks)
        print_messages(messages, fake_stats)
        logged = service.logged_errors()
    problems_not_json = dict(stats.not_problem_json)
    print(f"\nerror responses that were not problem+json: {problems_not_json or 'none'}")
    print(f"problem types seen: {dict(stats.types)}")
    print(f"errors in the service's logs: {logged or 'none'}")
    figures = {
        "seconds": summary["seconds"],
        "users": args.users,
        "think_s": args.think,
        "api_workers": args.api_workers,
        "requests": summary["requests"],
        "rps": summary["rps"],
        "p50_ms": summary["all"]["p50_ms"],
        "p95_ms": summary["all"]["p95_ms"],
        "p99_ms": summary["all"]["p99_ms"],
        "errors": summary["errors"],
        "statuses": summary["all"]["statuses"],
        "ops": {
            op: {k: f[k] for k in ("count", "rps", "p50_ms", "p95_ms", "p99_ms", "errors")}
            for op, f in summary["ops"].items()
        },
        "writes_acknowledged": {
            name: result["acknowledged"]
            for name, result in checks.items()
            if isinstance(result, dict) and "acknowledged" in result
        },
        "checks_passed": checks["passed"],
        "adult_overlaps": checks["bookings"]["adult_overlaps"],
        "households_visited_twice": checks["bookings"]["households_visited_twice"],
        "api_memory_mb": {"start": trend[0][1], "end": trend[-1][1]} if trend else None,
        "max_connections": max((t[2] for t in trend), default=0),
        "not_problem_json": sum(problems_not_json.values()),
        "logged_errors": sum(logged.values()),
        "messages": messages,
        "notify_peak_requests_per_minute": fake_stats.get("peak_requests_per_minute"),
        "notify_refused_429": fake_stats.get("rate_limited"),
    }
    print(json.dumps(figures))
    return 0 if checks["passed"] and messages["passed"] and not summary["errors"] else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    arguments = parse()
    with postgres_left_running():
        sys.exit(asyncio.run(main(arguments)))
