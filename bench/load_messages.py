"""Messages in the message benchmark and the load and fault scripts: a local fake of GOV.UK
Notify as a process of its own (`threshold fake-notify`), the settings that send the outbox
through it, visit reminders written into the outbox, and the tally that tells whether every
message reached Notify exactly once.

The tally is counted at both ends: at the fake, by Notify's `reference` (the message id), and in
the outbox. A message is *lost* when the outbox does not hold it as sent or the fake never
stored it; a *duplicate* is a second notification the fake stored under one reference (a family
texted twice); a *stray* is a notification whose reference is no message of the outbox.

Visit reminders are written as the visit reminder planner writes them, through `outbox.write`
(the lean bulk path, 500 rows a statement), one reminder per household of each school, to the
household's contact that `reach.families` picks (a text with consent and a mobile, else an
email; households reachable only by letter are left out, since the worker never sends
letters). Each reminder's cause is the household's visit at that school: the world has no
visits for most households, so the cause id stands for one (a UUID derived from the school and
household, so writing the same world twice writes nothing new).
"""

import asyncio
import contextlib
import json
import secrets
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from load_world import free_port  # noqa: E402

# Notify's own limit: requests a key may make in any 60 seconds.
NOTIFY_LIMIT_PER_MINUTE = 3000
REMINDER_CAUSE = "visit"
# Where a reminder's cause id comes from (uuid5 of school and household).
_CAUSES = uuid.UUID("6f1d3c52-2b0e-4d8e-9a51-0c3f6f8d2a11")


# --- The fake Notify, as its own process ------------------------------------------------------


@dataclass
class FakeNotify:
    """`threshold fake-notify` on a free port, answering with Notify's limit of 3,000 requests
    a minute (a 429 beyond it, counted: the workers must never meet it)."""

    logs: Path
    rate_limit: int | None = NOTIFY_LIMIT_PER_MINUTE
    port: int = field(default_factory=free_port)
    api_key: str = ""
    sms_template_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    email_template_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    callback_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from app.notifications.fake_notify import new_api_key

        self.api_key = self.api_key or new_api_key("threshold_bench")
        threshold = str(Path(sys.executable).with_name("threshold"))
        command = [threshold, "fake-notify", "--port", str(self.port), "--api-key", self.api_key]
        if self.rate_limit:
            command += ["--rate-limit", str(self.rate_limit)]
        log = (self.logs / "fake-notify.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - this venv's own `threshold`
            command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the fake Notify exited; see {self.logs / 'fake-notify.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/_fake/stats", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the fake Notify was not ready in {timeout}s")

    def environment(self, rate_per_minute: int | None = None) -> dict[str, str]:
        """The settings that send the outbox through this fake, at once (no quiet hours: the
        bench runs at any hour, and quiet hours would hold every family message until 08:00)."""
        env = {
            "THRESHOLD_MESSAGES_DELIVERY": "notify",
            "THRESHOLD_NOTIFY_API_KEY": self.api_key,
            "THRESHOLD_NOTIFY_BASE_URL": self.base_url,
            "THRESHOLD_NOTIFY_SMS_TEMPLATE_ID": self.sms_template_id,
            "THRESHOLD_NOTIFY_EMAIL_TEMPLATE_ID": self.email_template_id,
            "THRESHOLD_NOTIFY_CALLBACK_TOKEN": self.callback_token,
            "THRESHOLD_MESSAGES_QUIET_HOURS_START": "00:00",
            "THRESHOLD_MESSAGES_QUIET_HOURS_END": "00:00",
        }
        if rate_per_minute is not None:
            env["THRESHOLD_NOTIFY_RATE_PER_MINUTE"] = str(rate_per_minute)
        return env

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        import httpx

        answer = httpx.request(method, f"{self.base_url}{path}", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_fake/stats"))

    def references(self) -> Counter[str]:
        """How many notifications the fake stored under each reference."""
        stored = self._call("GET", "/_fake/notifications")["notifications"]
        return Counter(str(n["reference"]) for n in stored)

    def send_times(self) -> list[float]:
        """When each notification was stored (seconds since the epoch), in order."""
        from datetime import datetime

        stored = self._call("GET", "/_fake/notifications")["notifications"]
        return sorted(
            datetime.fromisoformat(n["created_at"].replace("Z", "+00:00")).timestamp()
            for n in stored
        )

    def inject(self, *faults: str) -> None:
        self._call("POST", "/_fake/faults", {"faults": list(faults)})

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- Writing reminders into the outbox ---------------------------------------------------------


async def write_reminders(
    trust_id: uuid.UUID,
    *,
    limit: int | None = None,
    programmes: dict[uuid.UUID, uuid.UUID] | None = None,
) -> tuple[int, float]:
    """Visit reminders for the trust's households, school by school (one transaction each, as
    a planner writes a programme's), up to `limit` in all. `programmes` maps a school to the
    programme its reminders belong to (counted against the programme's daily cap). Returns how
    many were written and the seconds spent in `outbox.write`."""
    from sqlmodel import col, select

    from app.core.db import open_session
    from app.core.tenancy import system_scope
    from app.notifications import outbox, reach
    from app.notifications.models import MessageChannel, MessageKind
    from app.roster.models import HouseholdSource
    from app.trusts.models import School

    written, spent = 0, 0.0
    async with open_session(system_scope("bench: schools")) as session:
        schools = list(
            await session.scalars(
                select(School)  # tenancy: system scope (the bench's own trust)
                .where(col(School.trust_id) == trust_id)
                .order_by(col(School.name))
            )
        )
    for index, school in enumerate(schools):
        if limit is not None and written >= limit:
            break
        async with open_session(system_scope("bench: visit reminders")) as session:
            households = sorted(
                set(
                    await session.scalars(
                        select(HouseholdSource.household_id).where(  # tenancy: system scope
                            col(HouseholdSource.school_id) == school.id
                        )
                    )
                )
            )
            recipients = await reach.families(session, trust_id, households)
            drafts = [
                outbox.Draft(
                    kind=MessageKind.VISIT_REMINDER,
                    school_id=school.id,
                    recipient=recipient,
                    cause_kind=REMINDER_CAUSE,
                    cause_id=uuid.uuid5(_CAUSES, f"{school.id}:{household}"),
                    values=_reminder_values(school.name, index, n),
                    programme_id=(programmes or {}).get(school.id),
                    household_id=household,
                )
                for n, (household, recipient) in enumerate(sorted(recipients.items()))
                if recipient.channel is not MessageChannel.LETTER
            ]
            if limit is not None:
                drafts = drafts[: limit - written]
            began = time.perf_counter()
            written += len(await outbox.write(session, trust_id, drafts))
            spent += time.perf_counter() - began
    return written, spent


def _reminder_values(school_name: str, school_index: int, n: int) -> dict[str, str]:
    """What a visit reminder carries: the day and time, who is coming, where."""
    day = ("Tuesday 7 September", "Wednesday 8 September", "Thursday 9 September")[n % 3]
    hour = 9 + (n // 3) % 8
    return {
        "school_name": school_name,
        "school_phone": f"01632 96{school_index:02d}00",
        "family_name": "family",
        "visit_day": day,
        "visit_time": f"{hour}:{'30' if n % 2 else '00'}",
        "visitors": "Ms Patel (class teacher) and Mr Okafor (teaching assistant)",
        "place": "at home",
    }


# --- Reading the outbox (PostgreSQL or SQLite, on a connection of its own) ----------------------


async def query(database_url: str, statement: str) -> list[dict[str, Any]]:
    """Rows of one statement, on a fresh connection (PostgreSQL may just have restarted)."""
    if database_url.startswith("sqlite"):
        return await asyncio.to_thread(_sqlite_rows, database_url, statement)
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

    connection = await asyncpg.connect(database_url)
    try:
        return [dict(r) for r in await connection.fetch(statement)]
    finally:
        await connection.close()


def _sqlite_rows(database_url: str, statement: str) -> list[dict[str, Any]]:
    path = database_url.split(":///", 1)[1]
    connection = sqlite3.connect(path, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        with connection:
            return [dict(r) for r in connection.execute(statement).fetchall()]
    finally:
        connection.close()


async def outbox_statuses(database_url: str) -> dict[str, int]:
    """Messages the worker sends (texts and emails), by status."""
    rows = await query(
        database_url,
        "SELECT status, count(*) AS n FROM message WHERE channel <> 'letter' GROUP BY status",
    )
    return {str(r["status"]): int(r["n"]) for r in rows}


def unfinished(counts: dict[str, int]) -> int:
    """Messages a worker still has to send or is sending."""
    return counts.get("created", 0) + counts.get("sending", 0)


async def claimed_by(database_url: str, pid: int) -> int:
    """Messages in `sending` under a claim of the worker process `pid` (its claim tokens carry
    its name, host:pid)."""
    rows = await query(
        database_url,
        "SELECT count(*) AS n FROM message WHERE status = 'sending'"  # noqa: S608 - an int
        f" AND (locked_by LIKE '%:{int(pid)}/%' OR locked_by LIKE '%:{int(pid)}')",
    )
    return int(rows[0]["n"])


async def expire_leases_of(database_url: str, pid: int) -> int:
    """Move the lease of the worker `pid`'s claims to now (instead of waiting for it), so the
    sweeper takes them back; how many."""
    before = await claimed_by(database_url, pid)
    past = (
        "datetime('now', '-1 second')"
        if database_url.startswith("sqlite")
        else "now() - interval '1 second'"
    )
    await query(
        database_url,
        f"UPDATE message SET locked_until = {past} WHERE status = 'sending'"  # noqa: S608
        f" AND (locked_by LIKE '%:{int(pid)}/%' OR locked_by LIKE '%:{int(pid)}')",
    )
    return before


async def expire_all_leases(database_url: str) -> int:
    """Every claim's lease moved to now (after an outage, claims whose outcome could not be
    written wait for their lease); how many."""
    rows = await query(database_url, "SELECT count(*) AS n FROM message WHERE status = 'sending'")
    await query(
        database_url,
        "UPDATE message SET locked_until = now() - interval '1 second' WHERE status = 'sending'",
    )
    return int(rows[0]["n"])


async def attempt_outcomes(database_url: str) -> dict[str, int]:
    rows = await query(
        database_url, "SELECT outcome, count(*) AS n FROM message_attempt GROUP BY outcome"
    )
    return {str(r["outcome"]): int(r["n"]) for r in rows}


async def tally(database_url: str, fake: FakeNotify) -> dict[str, Any]:
    """Every message against what the fake stored: lost, duplicated, stray (see the top)."""
    rows = await query(database_url, "SELECT id, status FROM message WHERE channel <> 'letter'")
    outbox = {_uuid(r["id"]): str(r["status"]) for r in rows}
    stored = fake.references()
    at_fake = Counter({_uuid(ref): n for ref, n in stored.items() if ref != "None"})
    sent = {m for m, s in outbox.items() if s in ("sent", "delivered")}
    not_sent = [m for m in outbox if m not in sent]
    never_stored = [m for m in outbox if at_fake[m] == 0]
    lost = set(not_sent) | set(never_stored)
    return {
        "messages": len(outbox),
        "sent": len(sent),
        "stored_at_fake": sum(at_fake.values()),
        "lost": len(lost),
        "lost_not_sent_in_outbox": len(not_sent),
        "lost_never_reached_notify": len(never_stored),
        "duplicates": sum(n - 1 for n in at_fake.values() if n > 1),
        "strays": sum(n for ref, n in at_fake.items() if ref not in outbox),
        "statuses": dict(sorted(Counter(outbox.values()).items())),
        "examples_lost": sorted(lost)[:3],
    }


def _uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def peak_in_window(times: Sequence[float], seconds: float) -> int:
    """The most events in any `seconds` (a sliding window)."""
    ordered, peak, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - seconds:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def print_json(figures: dict[str, Any]) -> None:
    print(json.dumps(figures, default=str))
