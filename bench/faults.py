"""Faults: the real service on PostgreSQL, under load, when things go wrong.

    python bench/faults.py                     # all four
    python bench/faults.py --only restart      # or: slow, worker, messages (several: --only slow worker)

Set-up as `bench/load.py` (a throw-away database seeded by the synthetic generator, `threshold
serve` with production settings and `threshold worker` as subprocesses), with
THRESHOLD_DATABASE_STATEMENT_TIMEOUT_MS set to `--statement-timeout-ms` (2,000 by default) so
that a slow database shows within seconds, and THRESHOLD_DATABASE_POOL_TIMEOUT_MS (the wait for a
pooled connection, which must be shorter) to `--pool-timeout-ms` (1,000 by default).

1. **PostgreSQL restarts during a load run.** The local cluster is stopped for `--outage`
   seconds (3 by default) and started again while the load's virtual users keep going. While
   it is down the service must answer 503 problem+json (with Retry-After) promptly, never a 500
   or a hang; once it is back the same processes must serve again by themselves within a few
   seconds; every write acknowledged before, during or after must be in the database.
   PostgreSQL is started again whatever happens (other engineers share the cluster).
2. **A worker is killed mid-batch.** Three pupil-list imports (1,500 pupils each, into the
   second trust's empty schools) and a schedule run are queued. A worker is killed with
   SIGKILL while an import is being applied, another is started, and it is killed in turn
   while the scheduler solves; a third finishes the batch. The lease (five minutes) keeps a
   second worker off a job whose worker may still be alive, so the check first shows the new
   worker leaving the dead one's job alone, then moves the lease's expiry to now (instead of
   waiting five minutes) and shows the job taken up again. Afterwards every job has succeeded,
   each import created every pupil exactly once (its report counts them as created, so an
   earlier attempt left nothing behind), the schedule has one visit per household and no adult
   twice at once.
3. **A slow database.** A transaction takes an ACCESS EXCLUSIVE lock on `household_answer` and
   holds it for `--hold` seconds (10 by default), so every statement that reads parents' answers
   waits until the statement timeout cancels it. Under the ordinary load those requests must end
   promptly (within the timeout and 1.5 s) with a problem+json 503 `database-timeout`; then 60
   parents press save at once, more requests than the service's connection pools hold, and
   those queued for a connection must still end within two timeouts and a margin. Requests that
   do not touch the table must keep being served; while the burst holds every connection, one
   that cannot get a connection within the pool timeout may instead be refused, promptly, with
   503. The connections the service holds must stay within its pools (no pile-up), and once the
   lock goes everything answers normally again.

4. **Messages: a worker killed mid-batch, then PostgreSQL restarted mid-batch.** Visit
   reminders for every reachable household of the first trust (about 800) are written into the
   outbox; the service's workers send them through a local fake of GOV.UK Notify (`threshold
   fake-notify`, its own process, refusing beyond Notify's 3,000 requests a minute). A worker
   is killed with SIGKILL while it holds a claimed batch (some of it perhaps already at Notify),
   two more are started, and they must leave its claim alone while the lease runs; its lease's
   expiry is then moved to now (instead of waiting for it), the sweeper takes the batch back
   marked ambiguous, and each message is looked up by reference before any resend. Half-way
   through the rest, PostgreSQL is stopped for `--outage` seconds and started again: the
   workers must carry on by themselves, and claims whose outcome could not be written while it
   was down wait for their lease (moved to now once the workers have nothing else to do, as
   above). Afterwards every message is sent exactly once, counted at the fake by reference: 0
   lost, 0 duplicated, nothing at Notify that is not in the outbox.

Each fault prints what it observed and PASS or FAIL; the last line of output is one JSON object
of the figures; the exit status is 1 if any fault failed.
"""

import argparse
import asyncio
import functools
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from load_checks import check_all, check_bookings, schedule_violations
from load_client import Ledger, Plan, Sample, Stats, Write, run_load
from load_messages import (
    FakeNotify,
    attempt_outcomes,
    claimed_by,
    expire_all_leases,
    expire_leases_of,
    outbox_statuses,
    tally,
    unfinished,
    write_reminders,
)
from load_world import (
    Fixture,
    Service,
    admin_sql,
    pg_is_up,
    pg_start,
    pg_stop,
    postgres_left_running,
    pupil_csv,
    seed_world,
    service_environment,
    sql,
    throwaway_database,
)

FAULTS = ("restart", "slow", "worker", "messages")
# The messages fault: the workers' pace (Notify's allowance, THRESHOLD_NOTIFY_RATE_PER_MINUTE) and
# how long the fake takes to answer the sends around the kill.
MESSAGES_PER_MINUTE = 600
SLOW_ANSWER_S = 0.5
# Operations whose statements read or write `household_answer` (the table the slow-database
# fault locks); the others must keep being served while it is held.
ANSWER_OPS = {
    "parent_answer_put",
    "parent_answer_get",
    "office_answer_put",
    "progress",
    "chase_list",
    "itinerary",  # an itinerary shows each family's access needs, from their answer
    "visit_patch",  # a change is validated with the families' answers
}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--users", type=int, default=8, help="virtual users during the faults")
    parser.add_argument("--outage", type=float, default=3.0, help="seconds PostgreSQL is down")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the table lock is held")
    parser.add_argument("--statement-timeout-ms", type=int, default=2000)
    parser.add_argument("--pool-timeout-ms", type=int, default=1000)
    parser.add_argument("--import-pupils", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def verdict(name: str, checks: dict[str, bool]) -> bool:
    passed = all(checks.values())
    print(f"  {'PASS' if passed else 'FAIL'} {name}")
    for check, ok in checks.items():
        print(f"       [{'x' if ok else ' '}] {check}")
    return passed


async def _wait_until(condition: Callable[[], bool], limit: float = 600) -> None:
    for _ in range(int(limit / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)


def _print_failed(checks: dict[str, Any]) -> None:
    for name, result in checks.items():
        if isinstance(result, dict) and not result["passed"]:
            print(f"       {name}: {result.get('problems') or result.get('examples')}")


def window(samples: list[Sample], since: float, until: float) -> list[Sample]:
    return [s for s in samples if since <= s.at < until]


def statuses(samples: list[Sample]) -> dict[str, int]:
    return dict(sorted(Counter(str(s.status) for s in samples).items()))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# --- 1. PostgreSQL restarts ---------------------------------------------------------------------


async def fault_restart(
    service: Service, fx: Fixture, url: str, args: argparse.Namespace, ledger: Ledger
) -> dict[str, Any]:
    print(f"\n1. PostgreSQL stopped for {args.outage:.0f} s during a load run")
    stats, stop = Stats(), asyncio.Event()
    plan = Plan(seconds=3600, users=args.users, think=0.05, roster_every=3.0, seed=args.seed + 1)
    load = asyncio.create_task(
        run_load(service.base_url, fx, plan, stats=stats, ledger=ledger, stop=stop)
    )
    pids = service.api_pids() | {p.pid for p in service.workers if p.poll() is None}
    await _wait_until(lambda: load.done() or (bool(stats.samples) and stats.now() >= 8))
    await admin_sql("CHECKPOINT")  # so that the shutdown's own checkpoint is short
    down_at = stats.now()
    try:
        await asyncio.to_thread(pg_stop)
        stopped_at = stats.now()
        await asyncio.sleep(args.outage)
    finally:
        await asyncio.to_thread(pg_start)
    up_at = stats.now()
    print(
        f"  stopped at {down_at:.1f} s (stop took {stopped_at - down_at:.1f} s), accepting "
        f"connections again at {up_at:.1f} s"
    )
    await asyncio.sleep(15)
    stop.set()
    await load
    end = stats.now()
    samples = stats.samples
    before = [s for s in samples if s.at + s.seconds < down_at]
    during = [s for s in samples if s.at < up_at and s.at + s.seconds >= down_at]
    after = window(samples, up_at, end)
    first_ok = min((s.at + s.seconds for s in after if stats.outcome(s) != "error"), default=None)
    settled = window(samples, up_at + 5, end)
    during_errors = [s for s in during if stats.outcome(s) == "error"]
    bad_during = [s for s in during_errors if s.status != 503]
    slowest_error = max((s.seconds for s in during_errors), default=0.0)
    recovered_in = (first_ok - up_at) if first_ok is not None else None
    alive = all(p.poll() is None for p in [service.api, *service.workers] if p is not None)
    same = pids == service.api_pids() | {p.pid for p in service.workers if p.poll() is None}
    checks = await check_all(url, fx, ledger)
    print(f"  before: {len(before)} requests {statuses(before)}")
    print(
        f"  while stopping, down or starting: {len(during)} requests {statuses(during)}; slowest "
        f"error answer {_ms(slowest_error)} ms"
    )
    print(
        f"  after: {len(after)} requests {statuses(after)}; first success "
        f"{f'{recovered_in:.2f} s' if recovered_in is not None else 'never'} after PostgreSQL was back"
    )
    print(f"  from 5 s after: {len(settled)} requests {statuses(settled)}")
    print(
        f"  error bodies not problem+json: {dict(stats.not_problem_json) or 'none'}; "
        f"problem types: {dict(stats.types)}"
    )
    print(
        f"  writes: { {k: v['acknowledged'] for k, v in checks.items() if isinstance(v, dict) and 'acknowledged' in v} } "
        f"acknowledged, { {k: v['unknown_outcome'] for k, v in checks.items() if isinstance(v, dict) and 'unknown_outcome' in v} } unknown"
    )
    _print_failed(checks)
    passed = verdict(
        "restart",
        {
            "no errors before the stop": not [s for s in before if stats.outcome(s) == "error"],
            "while down, every error is a 503 (no 500, no hang, no dropped connection)": not bad_during,
            "while down, errors answer within 6 s": slowest_error < 6,
            "every error response is problem+json": not stats.not_problem_json,
            "serving again within 5 s of PostgreSQL's return": recovered_in is not None
            and recovered_in < 5,
            "no errors from 5 s after its return": not [
                s for s in settled if stats.outcome(s) == "error"
            ],
            "API and worker processes never restarted": alive and same,
            "every acknowledged write is in the database": checks["passed"],
        },
    )
    return {
        "passed": passed,
        "outage_s": round(up_at - down_at, 1),
        "requests_while_down": len(during),
        "statuses_while_down": statuses(during),
        "slowest_error_ms": _ms(slowest_error),
        "recovered_s": round(recovered_in, 2) if recovered_in is not None else None,
        "errors_after_5s": sum(1 for s in settled if stats.outcome(s) == "error"),
        "writes_acknowledged": sum(
            v["acknowledged"]
            for v in checks.values()
            if isinstance(v, dict) and "acknowledged" in v
        ),
        "writes_unknown": sum(
            v["unknown_outcome"]
            for v in checks.values()
            if isinstance(v, dict) and "unknown_outcome" in v
        ),
        "integrity_passed": checks["passed"],
    }


# --- 3. A slow database -------------------------------------------------------------------------


async def fault_slow(
    service: Service, fx: Fixture, url: str, args: argparse.Namespace, ledger: Ledger
) -> dict[str, Any]:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    timeout_s = args.statement_timeout_ms / 1000
    print(
        f"\n3. household_answer locked for {args.hold:.0f} s (statement timeout {timeout_s:.1f} s)"
    )
    stats, stop = Stats(), asyncio.Event()
    plan = Plan(seconds=3600, users=args.users, think=0.05, roster_every=5.0, seed=args.seed + 3)
    load = asyncio.create_task(
        run_load(service.base_url, fx, plan, stats=stats, ledger=ledger, stop=stop)
    )
    await _wait_until(lambda: load.done() or (bool(stats.samples) and stats.now() >= 6))
    parents = await _parents(service.base_url, fx, 60)
    locker = await asyncpg.connect(url)
    connections: list[int] = []
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE household_answer IN ACCESS EXCLUSIVE MODE")
        locked_at = stats.now()
        await _count_connections(url, connections, args.hold / 2)  # the ordinary load alone
        burst_at = stats.now()
        burst_task = asyncio.create_task(_burst(service.base_url, fx, parents, ledger))
        await _count_connections(url, connections, args.hold / 2)
        burst = await burst_task
        await transaction.rollback()
        released_at = stats.now()
    finally:
        await locker.close()
    await asyncio.sleep(8)
    stop.set()
    await load
    end = stats.now()
    held = window(stats.samples, locked_at, released_at)
    blocked = [s for s in held if s.op in ANSWER_OPS]
    free = [s for s in held if s.op not in ANSWER_OPS]
    alone = [s for s in blocked if s.at < burst_at and s.at + s.seconds < burst_at]
    after = window(stats.samples, released_at + 2, end)
    blocked_errors = [s for s in blocked if stats.outcome(s) == "error"]
    wrong = [s for s in blocked_errors if s.status != 503]
    slowest_alone = max((s.seconds for s in alone), default=0.0)
    slowest_blocked = max((s.seconds for s in blocked), default=0.0)
    free_errors = [s for s in free if stats.outcome(s) == "error"]
    free_p95 = sorted(s.seconds for s in free)[int(0.95 * (len(free) - 1))] if free else 0.0
    burst_slowest = max((t for _, t in burst), default=0.0)
    prompt, queued = timeout_s + 1.5, 2 * timeout_s + 3
    # While the burst holds every pooled connection (each waiting out the lock), a request that
    # needs none of the table still needs a connection: it gets one, or a prompt 503.
    burst_end = burst_at + burst_slowest
    crowded = [s for s in free if s.at < burst_end and s.at + s.seconds > burst_at]
    calm = [s for s in free if s not in crowded]
    calm_errors = [s for s in calm if stats.outcome(s) == "error"]
    crowded_errors = [s for s in crowded if stats.outcome(s) == "error"]
    refused_by_pool = args.pool_timeout_ms / 1000 + 1.5
    pool_cap = (service.api_workers + len(service.workers)) * 2 * 10
    checks = await check_all(url, fx, ledger)
    print(
        f"  the ordinary load alone: {len(alone)} requests touching answers {statuses(alone)}, "
        f"slowest {_ms(slowest_alone)} ms"
    )
    print(
        f"  a burst of {len(parents)} parents saving at once (more than the pools): "
        f"{dict(Counter(str(s) for s, _ in burst))}, slowest {_ms(burst_slowest)} ms; the load's "
        f"requests touching answers meanwhile: slowest {_ms(slowest_blocked)} ms"
    )
    print(
        f"  while locked, {len(free)} requests not touching answers: {statuses(free)}, "
        f"p95 {_ms(free_p95)} ms; of them, during the burst: {statuses(crowded)}, slowest "
        f"error {_ms(max((s.seconds for s in crowded_errors), default=0.0))} ms"
    )
    print(
        f"  the service's connections to PostgreSQL while locked: at most "
        f"{max(connections, default=0)} (its pools allow {pool_cap})"
    )
    types = {k: v for k, v in stats.types.items() if k.startswith("503")}
    print(
        f"  503s: {types}; error bodies not problem+json: {dict(stats.not_problem_json) or 'none'}"
    )
    print(f"  from 2 s after the lock went: {len(after)} requests {statuses(after)}")
    _print_failed(checks)
    passed = verdict(
        "slow",
        {
            "requests that need the table fail with 503 (nothing else)": bool(blocked_errors)
            and not wrong,
            "as problem+json database-timeout": "503 database-timeout" in stats.types
            and not stats.not_problem_json,
            f"under the ordinary load they answer within the timeout + 1.5 s ({prompt:.1f} s)": (
                bool(alone) and slowest_alone < prompt
            ),
            f"a burst beyond the pools is answered within 2 x timeout + 3 s ({queued:.0f} s)": (
                bool(burst) and burst_slowest < queued and slowest_blocked < queued
            ),
            "requests not touching the table are still served": bool(calm) and not calm_errors,
            f"during the burst, they are served or refused with 503 within the pool timeout + "
            f"1.5 s ({refused_by_pool:.1f} s)": all(
                s.status == 503 and s.seconds < refused_by_pool for s in crowded_errors
            ),
            "connections stay within the pools": max(connections, default=0) <= pool_cap,
            "no errors once the lock is gone": not [
                s for s in after if stats.outcome(s) == "error"
            ],
            "every acknowledged write is in the database": checks["passed"],
        },
    )
    return {
        "passed": passed,
        "statement_timeout_ms": args.statement_timeout_ms,
        "hold_s": round(released_at - locked_at, 1),
        "blocked_requests": len(blocked),
        "blocked_statuses": statuses(blocked),
        "slowest_blocked_alone_ms": _ms(slowest_alone),
        "burst": len(burst),
        "burst_statuses": dict(Counter(str(s) for s, _ in burst)),
        "burst_slowest_ms": _ms(burst_slowest),
        "other_requests": len(free),
        "other_errors": len(free_errors),
        "other_during_burst": len(crowded),
        "other_errors_during_burst": len(crowded_errors),
        "pool_timeout_ms": args.pool_timeout_ms,
        "other_p95_ms": _ms(free_p95),
        "max_connections": max(connections, default=0),
        "pool_cap": pool_cap,
        "errors_after_release": sum(1 for s in after if stats.outcome(s) == "error"),
        "integrity_passed": checks["passed"],
    }


async def _count_connections(url: str, counts: list[int], seconds: float) -> None:
    """Every half second, the connections the service holds to its database."""
    for _ in range(max(1, int(seconds / 0.5))):
        rows = await sql(
            url,
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'threshold'",
        )
        counts.append(int(rows[0]["n"]))
        await asyncio.sleep(0.5)


async def _parents(base_url: str, fx: Fixture, count: int) -> list[tuple[str, str]]:
    """`count` parents signed in (each household its own session), ready to press save."""
    households = random.Random(7).sample(  # noqa: S311 - a sample, not a secret
        fx.households, min(count, len(fx.households))
    )
    signed_in = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for household in households:
            started = await client.post(
                "/api/v1/parent/sessions", json={"code": fx.codes[household]}
            )
            if started.status_code == 201:
                signed_in.append((household, started.json()["access_token"]))
    return signed_in


async def _burst(
    base_url: str, fx: Fixture, parents: list[tuple[str, str]], ledger: Ledger
) -> list[tuple[int | str, float]]:
    """The parents all press save at the same moment."""
    body = {"preferred_slot_ids": [fx.slots[0].id]}
    limits = httpx.Limits(max_connections=len(parents), max_keepalive_connections=len(parents))
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def put(household: str, token: str) -> tuple[int | str, float]:
            began = time.perf_counter()
            url = f"/api/v1/parent/programmes/{fx.collecting_id}/households/{household}/answer"
            reply = None
            try:
                response = await client.put(
                    url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
                status: int | str = response.status_code
                reply = response.json() if response.status_code == 200 else None
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            ledger.answers.append(Write(household, body | {"answered_by": "parent"}, status, reply))
            return status, time.perf_counter() - began

        return list(await asyncio.gather(*(put(h, t) for h, t in parents)))


# --- 2. A worker killed mid-batch ---------------------------------------------------------------


async def _jobs(url: str, ids: list[UUID]) -> dict[str, Any]:
    rows = await sql(
        url,
        "SELECT id, kind, status, attempts, locked_by, progress_total, result, error"
        " FROM job WHERE id = ANY($1::uuid[])",
        ids,
    )
    return {str(r["id"]): r for r in rows}


async def _running_under(
    url: str, ids: list[UUID], pid: int, kind: str, within: float = 120
) -> dict[str, Any] | None:
    """Wait until the worker `pid` is in the middle of a job of `kind` (its rows counted, so
    parsing or loading is done and the work itself under way)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for row in (await _jobs(url, ids)).values():
            if (
                row["kind"] == kind
                and row["status"] == "running"
                and str(row["locked_by"]).endswith(f":{pid}")
                and row["progress_total"] is not None
            ):
                return dict(row)
        await asyncio.sleep(0.05)
    return None


async def _kill_mid_job(
    service: Service, url: str, ids: list[UUID], worker: Any, kind: str, delay: float
) -> tuple[str | None, bool, Any]:
    """SIGKILL `worker` `delay` seconds into a job of `kind`, start the next worker, and show
    that it leaves the dead worker's job alone until the lease has expired (which is then moved
    to now). Returns the job that was killed, whether its lease held, and the next worker."""
    caught = await _running_under(url, ids, worker.pid, kind)
    await asyncio.sleep(delay)
    for _ in range(3):  # the job caught may be done by now: catch the next of its kind
        if caught is None:
            break
        row = (await _jobs(url, ids))[str(caught["id"])]
        if row["status"] == "running" and row["locked_by"] == caught["locked_by"]:
            break
        delay /= 2
        caught = await _running_under(url, ids, worker.pid, kind, within=10)
        await asyncio.sleep(delay)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    held = [
        r
        for r in (await _jobs(url, ids)).values()
        if r["status"] == "running" and str(r["locked_by"]).endswith(f":{worker.pid}")
    ]
    # The job it died holding: it may have finished the one it was caught in and taken the next.
    victim = str(held[0]["id"]) if held else None
    died_in = str(held[0]["kind"]) if held else "no"
    print(
        f"  killed worker {worker.pid} {delay:.2f} s into a {kind} job: it died holding"
        f" {'a ' + died_in + ' job, ' + victim[:8] + ', left running' if victim else 'no job'}"
        f"{'' if caught else ' (never saw it start one)'}"
    )
    if died_in != kind:
        victim = None
    successor = service.start_worker()
    await asyncio.sleep(3)
    lease_held = True
    if victim:
        row = (await _jobs(url, ids))[victim]
        lease_held = row["status"] == "running" and str(row["locked_by"]).endswith(f":{worker.pid}")
        print(
            f"  3 s later the job is still {row['status']}, held by the dead worker: {lease_held};"
            " moving its lease's expiry to now"
        )
        await sql(
            url,
            "UPDATE job SET locked_until = now() - interval '1 second' WHERE id = $1",
            UUID(victim),
        )
    return victim, lease_held, successor


async def fault_worker(
    service: Service, fx: Fixture, url: str, args: argparse.Namespace, _: Ledger
) -> dict[str, Any]:
    from app.synthetic.roster import RosterGenerator

    print(
        f"\n2. Workers killed mid-batch: {len(fx.other_trust_schools)} imports of "
        f"{args.import_pupils} pupils and a schedule run"
    )
    for worker in service.workers:  # the batch's timing is this test's own
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    keys = fx.other_trust_schools
    snapshots = RosterGenerator(args.seed + 11).trust_snapshots(
        keys, pupils_per_school=args.import_pupils
    )
    admin = next(
        lg for lg in fx.logins if lg.role == "trust_admin" and lg.trust_id == fx.other_trust_id
    )
    slt = fx.login("school_admin", fx.scheduling_school)
    async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as client:
        headers = await _bearer(client, admin.email, admin.password)
        import_ids = []
        for key in keys:
            started = await client.post(
                f"/api/v1/schools/{key}/roster-imports",
                files={"file": ("pupils.csv", pupil_csv(snapshots[key]), "text/csv")},
                data={"format": "pupil_csv", "academic_year": "2026/27"},
                headers=headers,
            )
            assert started.status_code == 202, started.text
            import_ids.append(UUID(started.json()["id"]))
        slt_headers = await _bearer(client, slt.email, slt.password)
    job_of = {
        str(r["job_id"]): str(r["id"])
        for r in await sql(
            url, "SELECT id, job_id FROM roster_import WHERE id = ANY($1::uuid[])", import_ids
        )
    }
    ids = [UUID(j) for j in job_of]
    began = time.monotonic()
    first = service.start_worker()
    # Soon after the import starts its rows: a 1,500-pupil import is over in well under a second.
    moment = random.uniform(0.02, 0.1)  # noqa: S311 - a moment, not a secret
    import_victim, lease1, second = await _kill_mid_job(
        service, url, ids, first, "roster.import", moment
    )
    # Queued only now: this small programme's run is over in about a second, and would otherwise
    # be done while the first worker's lease is shown holding.
    async with httpx.AsyncClient(base_url=service.base_url, timeout=60) as client:
        run = await client.post(
            f"/api/v1/programmes/{fx.scheduling_id}/schedule-runs",
            json={"time_limit_seconds": 8, "seed": args.seed},
            headers=slt_headers,
        )
    assert run.status_code == 202, run.text
    run_id = UUID(run.json()["id"])
    run_job = (await sql(url, "SELECT job_id FROM schedule_run WHERE id = $1", run_id))[0]["job_id"]
    ids.append(run_job)
    run_victim, lease2, _ = await _kill_mid_job(service, url, ids, second, "scheduling.run", 0.3)
    during_run = await _toggle_lock(service, fx, url)
    print(f"  SLT locking a visit while the run is under way: {during_run}")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        jobs = await _jobs(url, ids)
        if all(j["status"] in ("succeeded", "failed") for j in jobs.values()):
            break
        await asyncio.sleep(0.5)
    elapsed = time.monotonic() - began
    jobs = await _jobs(url, ids)
    victims = {v for v in (import_victim, run_victim) if v}
    # Each kill costs its job one attempt: a job killed once runs twice (one that was killed
    # without being caught as the kind looked for is not counted as a victim, and fails here).
    attempts_ok = all(
        j["attempts"] == (2 if job_id in victims else 1) for job_id, j in jobs.items()
    )
    created_ok, pupils_ok = True, True
    for job_id, import_id in job_of.items():
        job = jobs[job_id]
        result = job["result"]
        report = (json.loads(result) if isinstance(result, str) else result or {}).get("report", {})
        key = str(
            (await sql(url, "SELECT school_id FROM roster_import WHERE id = $1", UUID(import_id)))[
                0
            ]["school_id"]
        )
        expected = len(snapshots[key].pupils)
        stored = (
            await sql(url, "SELECT count(*) AS n FROM pupil WHERE school_id = $1", UUID(key))
        )[0]["n"]
        created = report.get("pupils", {}).get("created")
        print(
            f"  import {job_id[:8]}: {job['status']} after {job['attempts']} attempt(s); "
            f"report: {created} pupils created; {stored} stored; the file has {expected}"
        )
        created_ok &= created == expected
        pupils_ok &= stored == expected
    run_row = (await sql(url, "SELECT placed, households FROM schedule_run WHERE id = $1", run_id))[
        0
    ]
    visits = (
        await sql(
            url, "SELECT count(*) AS n FROM visit WHERE programme_id = $1", UUID(fx.scheduling_id)
        )
    )[0]["n"]
    run_job_row = jobs[str(run_job)]
    print(
        f"  schedule run: {run_job_row['status']} after {run_job_row['attempts']} attempt(s); "
        f"placed {run_row['placed']} of {run_row['households']}; {visits} visits in the programme"
    )
    after_run = await _toggle_lock(service, fx, url)
    print(f"  and once it has finished: {after_run}")
    bookings = await check_bookings(url)
    violations = await schedule_violations(fx.scheduling_id)
    print(
        f"  bookings: {bookings['adult_overlaps']} adult overlaps, "
        f"{bookings['households_visited_twice']} households visited twice; validator: "
        f"{len(violations)} broken booking rules; batch finished in {elapsed:.0f} s"
    )
    passed = verdict(
        "worker",
        {
            "a worker was killed in the middle of an import": import_victim is not None,
            "a worker was killed in the middle of a schedule run": run_victim is not None,
            "the next worker left each dead worker's job alone while its lease ran": lease1
            and lease2,
            "every job succeeded": all(j["status"] == "succeeded" for j in jobs.values()),
            "killed jobs ran exactly twice, the others once": attempts_ok,
            "each import's report counts every pupil as created (nothing left by the killed try)": created_ok,
            "each school holds exactly the file's pupils": pupils_ok,
            "the schedule has every placed visit once": visits == run_row["placed"],
            "visits wait for the run (409 schedule-run-under-way), then change": (
                during_run == "409 schedule-run-under-way" and after_run == "200"
            ),
            "no adult double-booked, no household visited twice": bookings["passed"],
            "the validator finds no broken booking rule": not violations,
        },
    )
    return {
        "passed": passed,
        "jobs": len(ids),
        "killed": len(victims),
        "batch_s": round(elapsed, 1),
        "attempts": {k[:8]: j["attempts"] for k, j in jobs.items()},
        "placed": run_row["placed"],
        "visits": visits,
    }


async def _toggle_lock(service: Service, fx: Fixture, url: str) -> str:
    """SLT lock or unlock one of the programme's visits; the status (and problem type)."""
    slt = fx.login("school_admin", fx.scheduling_school)
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        headers = await _bearer(client, slt.email, slt.password)
        first = await sql(
            url,
            "SELECT id FROM visit WHERE programme_id = $1 ORDER BY starts_at, id LIMIT 1",
            UUID(fx.scheduling_id),
        )
        visit_id = first[0]["id"]
        got = await client.get(f"/api/v1/visits/{visit_id}", headers=headers)
        changed = await client.patch(
            f"/api/v1/visits/{visit_id}",
            json={"locked": not got.json()["locked"]},
            headers=headers | {"If-Match": got.headers["ETag"]},
        )
    if changed.status_code < 400:
        return str(changed.status_code)
    return f"{changed.status_code} {changed.json()['type'].rsplit('/', 1)[-1]}"


async def _bearer(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    signed = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
    )
    assert signed.status_code == 200, signed.text
    return {"Authorization": f"Bearer {signed.json()['access_token']}"}


# --- 4. Messages: a worker killed and PostgreSQL restarted mid-batch ---------------------------


async def _progress(url: str) -> dict[str, int]:
    """The outbox by status; while PostgreSQL is down, nothing (and the caller waits)."""
    try:
        return await outbox_statuses(url)
    except Exception:  # PostgreSQL is restarting
        return {}


async def _until(url: str, condition: Callable[[dict[str, int]], bool], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition(await _progress(url)):
            return True
        await asyncio.sleep(0.1)
    return False


async def _settled_claims(url: str, quiet: float = 5, limit: float = 120) -> dict[str, int]:
    """Wait until nothing is left to claim and the claims still `sending` have not moved for
    `quiet` seconds (no worker is at work on them: their outcome was lost with the outage)."""
    deadline = time.monotonic() + limit
    last: dict[str, int] = {}
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        now = await _progress(url)
        if now != last:
            last, still_since = now, time.monotonic()
        elif not now.get("created") and time.monotonic() - still_since >= quiet:
            return now
        await asyncio.sleep(0.2)
    return last


async def fault_messages(
    fake: FakeNotify,
    service: Service,
    fx: Fixture,
    url: str,
    args: argparse.Namespace,
    _: Ledger,
) -> dict[str, Any]:
    for worker in service.workers:  # the batch's timing is this test's own
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    written, _spent = await _write_reminders(fx)
    print(
        f"\n4. Messages: {written} visit reminders; a worker killed mid-batch, then PostgreSQL "
        f"stopped for {args.outage:.0f} s mid-batch"
    )
    began = time.monotonic()
    # A pace the batch cannot outrun on a quiet machine (about 80 s for 800), so PostgreSQL stops
    # half-way through it, whatever the machine.
    service.env = {**service.env, "THRESHOLD_NOTIFY_RATE_PER_MINUTE": str(MESSAGES_PER_MINUTE)}
    first = service.start_worker()
    caught = await _until(url, lambda c: c.get("sent", 0) >= 40, limit=120)
    # Slow answers from here, so the worker is caught holding a claimed batch, its requests in
    # flight: what Notify stores after the worker died is found by reference, never sent again.
    fake.inject(*[f"slow:{SLOW_ANSWER_S}"] * 40)
    held = 0
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:
        held = await claimed_by(url, first.pid)
        await asyncio.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    held = await claimed_by(url, first.pid)  # what it held when it died
    stored_then = fake.stats()["stored"]
    print(
        f"  killed worker {first.pid} holding {held} claimed messages "
        f"({'after it had sent some' if caught else 'never saw it mid-batch'}); Notify has "
        f"{stored_then} so far"
    )
    successors = [service.start_worker(), service.start_worker()]
    await asyncio.sleep(3)
    still_held = await claimed_by(url, first.pid)
    lease_held = still_held == held
    print(
        f"  3 s later, two new workers running: {still_held} of them still held by the dead "
        "worker's claim; moving its lease's expiry to now"
    )
    await expire_leases_of(url, first.pid)
    total = written
    reached_half = await _until(
        url, lambda c: c.get("sent", 0) >= total // 2 and unfinished(c) > 50, limit=180
    )
    before_outage = await _progress(url)
    pids = {p.pid for p in successors}
    await admin_sql("CHECKPOINT")
    try:
        await asyncio.to_thread(pg_stop)
        await asyncio.sleep(args.outage)
    finally:
        await asyncio.to_thread(pg_start)
    print(
        f"  PostgreSQL stopped with {before_outage} "
        f"({'half-way' if reached_half else 'not half-way: the batch went too fast'}), "
        f"back after {args.outage:.0f} s"
    )
    settled = await _settled_claims(url)
    stranded = settled.get("sending", 0)
    if stranded:
        print(
            f"  {stranded} claims left `sending` (their outcome was lost with the outage): "
            "moving their leases' expiry to now"
        )
        await expire_all_leases(url)
    drained = await _until(url, lambda c: bool(c) and not unfinished(c), limit=180)
    elapsed = time.monotonic() - began
    counted = await tally(url, fake)
    outcomes = await attempt_outcomes(url)
    alive = all(p.poll() is None for p in successors) and pids == {
        p.pid for p in service.workers if p.poll() is None
    }
    stats = fake.stats()
    print(
        f"  outbox: {counted['statuses']}; attempts: {outcomes}; Notify stored "
        f"{counted['stored_at_fake']} for {counted['messages']} messages; "
        f"{counted['duplicates']} duplicates, {counted['lost']} lost, {counted['strays']} strays; "
        f"429s from Notify: {stats['rate_limited']}; batch finished in {elapsed:.0f} s"
    )
    if counted["examples_lost"]:
        print(f"       lost, e.g.: {counted['examples_lost']}")
    passed = verdict(
        "messages",
        {
            "a worker was killed holding a claimed batch": held > 0,
            "the new workers left the dead worker's claim alone while its lease ran": lease_held,
            "PostgreSQL was restarted with messages still to send": reached_half,
            "the workers carried on by themselves (never restarted)": alive,
            "the outbox drained": drained,
            "every message sent, and at Notify (0 lost)": counted["lost"] == 0,
            "no message sent twice (0 duplicates at Notify by reference)": counted["duplicates"]
            == 0,
            "nothing at Notify that is not in the outbox": counted["strays"] == 0,
        },
    )
    return {
        "passed": passed,
        "messages": counted["messages"],
        "killed_holding": held,
        "stranded_by_outage": stranded,
        "found_by_reference": outcomes.get("found_by_reference", 0),
        "attempts": outcomes,
        "lost": counted["lost"],
        "duplicates": counted["duplicates"],
        "strays": counted["strays"],
        "batch_s": round(elapsed, 1),
    }


async def _write_reminders(fx: Fixture) -> tuple[int, float]:
    """Visit reminders for the first trust's households, written by this process into the
    service's database (the seeding left its settings in the environment)."""
    from app.core import db
    from app.core.settings import get_settings

    get_settings.cache_clear()
    db.use_database(None)
    try:
        return await write_reminders(UUID(fx.trust_id))
    finally:
        await db.get_database().dispose()
        db.use_database(None)


# --- Running them -------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    results: dict[str, Any] = {}
    service = Service({})
    # Messages go through a local fake of Notify, its own process, in every fault.
    fake = FakeNotify(service.logs)
    fake.start()
    async with throwaway_database("threshold_faults") as url:
        notify = fake.environment()
        service.env = service_environment(
            url,
            THRESHOLD_DATABASE_STATEMENT_TIMEOUT_MS=str(args.statement_timeout_ms),
            THRESHOLD_DATABASE_POOL_TIMEOUT_MS=str(args.pool_timeout_ms),
            **notify,
        )
        # This process writes the messages fault's reminders: no quiet hours here either.
        os.environ.update({k: v for k, v in notify.items() if "QUIET_HOURS" in k})
        print(f"seeding {url.rsplit('/', 1)[-1]} ...", flush=True)
        fixture = await seed_world(service.env, args.seed)
        try:
            service.start_api()
            service.start_worker()
            print(f"service up at {service.base_url} (logs in {service.logs})", flush=True)
            ledger = Ledger()  # every write of every fault: they share one database
            runs: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
                "restart": fault_restart,
                "slow": fault_slow,
                "worker": fault_worker,
                "messages": functools.partial(fault_messages, fake),
            }
            for name in FAULTS:
                if name in args.only:
                    try:
                        results[name] = await runs[name](service, fixture, url, args, ledger)
                    except Exception as exc:  # one fault's crash is its failure, not the run's
                        print(f"  FAIL {name}: {type(exc).__name__}: {exc}")
                        results[name] = {"passed": False, "crashed": f"{type(exc).__name__}: {exc}"}
                    finally:
                        if not pg_is_up():
                            pg_start()
        finally:
            service.stop()
            fake.stop()
            logged = service.logged_errors()
    print(f"\nerror records in the service's logs: {logged or 'none'}")
    failed = [name for name, result in results.items() if not result["passed"]]
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'all faults passed'}")
    print(json.dumps(results | {"logged_errors": logged}, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    arguments = parse()
    with postgres_left_running():
        sys.exit(asyncio.run(main(arguments)))
