"""The load generator: virtual users on one keep-alive HTTP client (httpx, asyncio), each looping
over a weighted mix of what the service's real users do, with a short random think time.

Every request is timed and its status counted per operation. Every write is written down in a
ledger (what was sent, what came back) so that `load_checks` can prove afterwards that each
acknowledged write is in the database. A write whose answer never came (a timeout, a dropped
connection, a 5xx) has an *unknown* outcome: it may or may not have been applied, and the checks
allow for exactly that and no more.
"""

import asyncio
import copy
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from load_world import Fixture, SlotInfo

PROBLEM_JSON = "application/problem+json"
# What each operation may answer without it being an error: a refusal the API documents for a
# request that raced another or asked for something the rules forbid.
EXPECTED_REFUSALS: dict[str, set[int]] = {
    "parent_answer_put": {422},  # the mix sends a few invalid answers on purpose
    "office_answer_put": {422},
    "unavailability_post": {409},  # an exact duplicate period
    "visit_patch": {409, 412},  # a rule the move would break; a version someone else changed
    # The day's visits answer for themselves: not checked in yet, not begun or not over, an
    # outcome already recorded, two first saves of one note at once.
    "check_in": {409},
    "check_out": {409},
    "outcome": {409},
    "note_put": {409},
}


@dataclass
class Sample:
    op: str
    status: int | str
    seconds: float
    at: float  # seconds since the run started


class Stats:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.samples: list[Sample] = []
        self.not_problem_json: Counter[str] = Counter()
        self.types: Counter[str] = Counter()

    def now(self) -> float:
        return time.monotonic() - self.started

    def add(self, op: str, status: int | str, seconds: float, at: float) -> None:
        self.samples.append(Sample(op, status, seconds, at))

    def outcome(self, sample: Sample) -> str:
        if isinstance(sample.status, int) and sample.status < 400:
            return "ok"
        if isinstance(sample.status, int) and sample.status in EXPECTED_REFUSALS.get(
            sample.op, set()
        ):
            return "refused"
        return "error"

    def summary(self, since: float = 0.0, until: float | None = None) -> dict[str, Any]:
        chosen = [s for s in self.samples if s.at >= since and (until is None or s.at < until)]
        span = max(1e-9, (until if until is not None else self.now()) - since)
        by_op: dict[str, list[Sample]] = defaultdict(list)
        for sample in chosen:
            by_op[sample.op].append(sample)
        ops = {op: _figures(samples, span, self.outcome) for op, samples in sorted(by_op.items())}
        return {
            "seconds": round(span, 1),
            "requests": len(chosen),
            "rps": round(len(chosen) / span, 1),
            "errors": sum(1 for s in chosen if self.outcome(s) == "error"),
            "all": _figures(chosen, span, self.outcome),
            "ops": ops,
        }


def _figures(
    samples: list[Sample], span: float, outcome: Callable[[Sample], str]
) -> dict[str, Any]:
    if not samples:
        return {"count": 0}
    times = sorted(s.seconds for s in samples)
    statuses = Counter(str(s.status) for s in samples)
    outcomes = Counter(outcome(s) for s in samples)
    return {
        "count": len(samples),
        "rps": round(len(samples) / span, 2),
        "p50_ms": round(_quantile(times, 0.50) * 1000, 1),
        "p95_ms": round(_quantile(times, 0.95) * 1000, 1),
        "p99_ms": round(_quantile(times, 0.99) * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "statuses": dict(sorted(statuses.items())),
        "errors": outcomes.get("error", 0),
        "refused": outcomes.get("refused", 0),
    }


def _quantile(ordered: list[float], q: float) -> float:
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# --- The ledger of writes -----------------------------------------------------------------------


@dataclass
class Write:
    """One write as the client saw it: what it sent, and the status (or transport failure)."""

    key: str  # the household, visit or period it concerns
    sent: dict[str, Any]
    status: int | str
    reply: dict[str, Any] | None = None

    @property
    def acknowledged(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300

    @property
    def unknown(self) -> bool:
        """No verdict reached the client: the write may or may not have been applied."""
        return not isinstance(self.status, int) or self.status >= 500


@dataclass
class Ledger:
    answers: list[Write] = field(default_factory=list)
    periods: list[Write] = field(default_factory=list)
    visits: list[Write] = field(default_factory=list)
    rosters: list[Write] = field(default_factory=list)


# --- Tokens -------------------------------------------------------------------------------------


class Tokens:
    """Staff sign in once and refresh before expiry; the MIS uses client credentials; parents
    exchange their household's code and keep the token until it nears expiry."""

    def __init__(self, api: "Api") -> None:
        self.api = api
        self.held: dict[str, tuple[str, float, str | None]] = {}  # key -> token, expiry, refresh
        self.locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def drop(self, key: str) -> None:
        self.held.pop(key, None)

    async def staff(self, email: str, password: str) -> dict[str, str]:
        async with self.locks[email]:
            token, expires, refresh = self.held.get(email, ("", 0.0, None))
            if time.monotonic() > expires - 60:
                if refresh is not None:
                    data = {"grant_type": "refresh_token", "refresh_token": refresh}
                    token, expires, refresh = await self._grant("token_refresh", data)
                if not token or time.monotonic() > expires - 60:
                    data = {"grant_type": "password", "username": email, "password": password}
                    token, expires, refresh = await self._grant("sign_in", data)
                self.held[email] = (token, expires, refresh)
        return {"Authorization": f"Bearer {token}"}

    async def client(self, client_id: str, secret: str) -> dict[str, str]:
        async with self.locks[client_id]:
            token, expires, _ = self.held.get(client_id, ("", 0.0, None))
            if time.monotonic() > expires - 60:
                data = {
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                }
                token, expires, _ = await self._grant("client_token", data)
                self.held[client_id] = (token, expires, None)
        return {"Authorization": f"Bearer {token}"}

    async def parent(self, household: str, code: str, *, fresh: bool) -> dict[str, str] | None:
        """`fresh`: the parent opens the link again (a new device), so a new session."""
        token, expires, _ = self.held.get(household, ("", 0.0, None))
        if fresh or time.monotonic() > expires - 60:
            response = await self.api.call(
                "parent_session", "POST", "/api/v1/parent/sessions", json={"code": code}
            )
            if response is None or response.status_code != 201:
                return None
            body = response.json()
            token, expires = body["access_token"], time.monotonic() + body["expires_in"]
            self.held[household] = (token, expires, None)
        return {"Authorization": f"Bearer {token}"}

    async def _grant(self, op: str, data: dict[str, str]) -> tuple[str, float, str | None]:
        response = await self.api.call(op, "POST", "/api/v1/auth/token", data=data)
        if response is None or response.status_code != 200:
            return "", 0.0, None
        body = response.json()
        return (
            body["access_token"],
            time.monotonic() + body["expires_in"],
            body.get("refresh_token"),
        )


# --- The API, timed ------------------------------------------------------------------------------


class Api:
    def __init__(self, base_url: str, stats: Stats, connections: int, timeout: float) -> None:
        self.stats = stats
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        self.tokens = Tokens(self)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, op: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        at = self.stats.now()
        began = time.perf_counter()
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            self.stats.add(op, "timeout", time.perf_counter() - began, at)
            return None
        except httpx.TransportError as exc:
            self.stats.add(op, f"transport:{type(exc).__name__}", time.perf_counter() - began, at)
            await asyncio.sleep(0.05)  # the server is not there: do not spin
            return None
        self.stats.add(op, response.status_code, time.perf_counter() - began, at)
        if response.status_code >= 400:
            kind = response.headers.get("content-type", "")
            if not kind.startswith(PROBLEM_JSON):
                self.stats.not_problem_json[f"{op}:{response.status_code}"] += 1
            else:
                slug = str(response.json().get("type", "")).rsplit("/", 1)[-1]
                self.stats.types[f"{response.status_code} {slug}"] += 1
        return response


def status_of(response: httpx.Response | None) -> int | str:
    return "no-answer" if response is None else response.status_code


def json_or_none(response: httpx.Response | None) -> dict[str, Any] | None:
    if response is None or response.status_code >= 300:
        return None
    body = response.json()
    return body if isinstance(body, dict) else None


# --- The mix ------------------------------------------------------------------------------------


class Mix:
    """What the users do, weighted per iteration of a virtual user.

    The writes: parents' answers, the office entering an answer on a family's behalf, staff
    recording when they cannot visit, SLT moving and locking visits, the adults on the day's
    visits checking in and out, recording outcomes and writing their notes, and the MIS
    re-syncing the roster (its own loop, every few seconds).
    """

    def __init__(self, api: Api, fixture: Fixture, ledger: Ledger, rng: random.Random) -> None:
        self.api, self.fx, self.ledger, self.rng = api, fixture, ledger, rng
        self.school0, self.school1 = fixture.collecting_school, fixture.scheduling_school
        self.weights: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.parent_answers, 30),
            (self.parent_looks, 8),
            (self.office_enters_answer, 5),
            (self.staff_read_itinerary, 15),
            (self.staff_read_pupils, 12),
            (self.staff_read_class, 5),
            (self.office_reads_progress, 5),
            (self.office_reads_chase_list, 5),
            (self.slt_reads_visits, 4),
            (self.staff_record_unavailability, 4),
            (self.slt_changes_visit, 6),
            (self.slt_race_two_moves, 2),
            (self.adults_in_the_field, 8),
        ]

    async def one(self) -> None:
        actions, weights = zip(*self.weights, strict=True)
        await self.rng.choices(actions, weights)[0]()

    async def _staff(self, role: str, school: str) -> dict[str, str]:
        login = self.rng.choice(self.fx.logins_of(role, school))
        return await self.api.tokens.staff(login.email, login.password)

    # Parents.

    async def _parent(self) -> tuple[str, dict[str, str]] | None:
        household = self.rng.choice(self.fx.households)
        headers = await self.api.tokens.parent(
            household, self.fx.codes[household], fresh=self.rng.random() < 0.1
        )
        return None if headers is None else (household, headers)

    async def parent_looks(self) -> None:
        parent = await self._parent()
        if parent is None:
            return
        household, headers = parent
        pid = self.fx.collecting_id
        await self.api.call(
            "parent_view", "GET", f"/api/v1/parent/programmes/{pid}", headers=headers
        )
        url = f"/api/v1/parent/programmes/{pid}/households/{household}/answer"
        await self.api.call("parent_answer_get", "GET", url, headers=headers)

    async def parent_answers(self) -> None:
        parent = await self._parent()
        if parent is None:
            return
        household, headers = parent
        url = f"/api/v1/parent/programmes/{self.fx.collecting_id}/households/{household}/answer"
        await self._put_answer("parent_answer_put", url, household, headers)

    async def office_enters_answer(self) -> None:
        household = self.rng.choice(self.fx.households)
        headers = await self._staff("office", self.school0)
        url = f"/api/v1/programmes/{self.fx.collecting_id}/households/{household}/answer"
        await self._put_answer("office_answer_put", url, household, headers)

    async def _put_answer(self, op: str, url: str, household: str, headers: dict[str, str]) -> None:
        body = self.answer()
        response = await self.api.call(op, "PUT", url, json=body, headers=headers)
        sent = body | {"answered_by": "parent" if op.startswith("parent") else "staff"}
        self.ledger.answers.append(
            Write(household, sent, status_of(response), json_or_none(response))
        )

    def answer(self) -> dict[str, Any]:
        """A whole answer as families give them; 3 % are invalid on purpose (a preference in a
        time the same answer marks unavailable) and must be refused, saving nothing."""
        rng, days = self.rng, self.fx.visit_days
        if rng.random() < 0.04:
            return {"kind": "declined", "decline_reason": f"Moved away ({uuid.uuid4().hex[:6]})"}
        unavailable: list[dict[str, str]] = []
        for day in rng.sample(days, k=rng.choice([0, 0, 1, 1, 2])):
            unavailable.append(
                {"day": day, "part": rng.choice(["all_day", "morning", "afternoon"])}
            )
        blocked = {(u["day"], u["part"]) for u in unavailable}
        free = [s for s in self.fx.slots if not _clashes(s, blocked)]
        chosen = rng.sample(free, k=min(len(free), rng.randint(1, 5)))
        if rng.random() < 0.03 and unavailable:
            clash = [s for s in self.fx.slots if _clashes(s, blocked)]
            chosen = [*chosen[:4], rng.choice(clash)] if clash else chosen
        body: dict[str, Any] = {
            "kind": "preferences",
            "preferred_slot_ids": [s.id for s in chosen],
            "unavailable": unavailable,
            "notes_for_visitors": f"note {uuid.uuid4().hex[:8]}",
        }
        if rng.random() < 0.08:
            body["interpreter_language"] = rng.choice(["Polish", "Urdu", "Romanian", "Bengali"])
        return body

    # Staff reading.

    async def staff_read_itinerary(self) -> None:
        pid = self.fx.scheduling_id
        if self.rng.random() < 0.7:  # a visiting adult reads their own day
            login = self.rng.choice(
                [lg for lg in self.fx.logins if lg.staff_id in self.fx.visiting_staff]
            )
            headers = await self.api.tokens.staff(login.email, login.password)
            staff_id = login.staff_id
        else:  # SLT reads anyone's
            headers = await self._staff("school_admin", self.school1)
            staff_id = self.rng.choice(self.fx.visiting_staff)
        url = f"/api/v1/programmes/{pid}/itineraries/{staff_id}"
        await self.api.call("itinerary", "GET", url, headers=headers)

    async def staff_read_pupils(self) -> None:
        role = self.rng.choice(["teacher", "office", "school_admin"])
        headers = await self._staff(role, self.school0)
        url = f"/api/v1/schools/{self.school0}/pupils"
        first = await self.api.call(
            "pupils_page", "GET", url, params={"limit": 50}, headers=headers
        )
        cursor = (json_or_none(first) or {}).get("next_cursor")
        if cursor and self.rng.random() < 0.5:
            params = {"limit": 50, "cursor": cursor}
            await self.api.call("pupils_page", "GET", url, params=params, headers=headers)

    async def staff_read_class(self) -> None:
        headers = await self._staff(self.rng.choice(["teacher", "office"]), self.school0)
        url = f"/api/v1/classes/{self.rng.choice(self.fx.classes)}/pupils"
        await self.api.call("class_pupils", "GET", url, headers=headers)

    async def office_reads_progress(self) -> None:
        headers = await self._staff(self.rng.choice(["office", "school_admin"]), self.school0)
        url = f"/api/v1/programmes/{self.fx.collecting_id}/progress"
        await self.api.call("progress", "GET", url, headers=headers)

    async def office_reads_chase_list(self) -> None:
        headers = await self._staff("office", self.school0)
        url = f"/api/v1/programmes/{self.fx.collecting_id}/chase-list"
        await self.api.call("chase_list", "GET", url, params={"limit": 25}, headers=headers)

    async def slt_reads_visits(self) -> None:
        headers = await self._staff("school_admin", self.school1)
        url = f"/api/v1/programmes/{self.fx.scheduling_id}/visits"
        await self.api.call("visits_list", "GET", url, params={"limit": 100}, headers=headers)

    # Staff writing.

    async def staff_record_unavailability(self) -> None:
        role = self.rng.choice(["teacher", "support_staff"])
        login = self.rng.choice(self.fx.logins_of(role, self.school1))
        headers = await self.api.tokens.staff(login.email, login.password)
        day = self.rng.choice(self.fx.visit_days)
        start_minute = self.rng.randrange(9 * 60, 16 * 60, 5)
        length = self.rng.choice([30, 45, 60, 90, 120])
        body = {
            "starts_at": f"{day}T{_hhmm(start_minute)}:00+01:00",
            "ends_at": f"{day}T{_hhmm(start_minute + length)}:00+01:00",
            "reason": f"load {uuid.uuid4().hex[:10]}",
        }
        response = await self.api.call(
            "unavailability_post", "POST", "/api/v1/me/unavailability", json=body, headers=headers
        )
        reply = json_or_none(response)
        key = str(reply["id"]) if reply else ""
        self.ledger.periods.append(
            Write(key, body | {"staff_id": login.staff_id}, status_of(response), reply)
        )

    async def slt_changes_visit(self) -> None:
        """SLT open a visit, then lock or unlock it, or move it into a gap in its teacher's day
        (read from the teacher's itinerary); the validator refuses a move that breaks a rule."""
        headers = await self._staff("school_admin", self.school1)
        visit_id = self.rng.choice(self.fx.visits)
        got = await self.api.call("visit_get", "GET", f"/api/v1/visits/{visit_id}", headers=headers)
        visit = json_or_none(got)
        if got is None or visit is None:
            return
        etag = got.headers.get("ETag", "")
        if visit["locked"] or self.rng.random() < 0.3:
            body: dict[str, Any] = {"locked": not visit["locked"]}
        else:
            teacher = next(
                (a["staff_id"] for a in visit["adults"] if a["role"] == "teacher"),
                visit["adults"][0]["staff_id"],
            )
            url = f"/api/v1/programmes/{self.fx.scheduling_id}/itineraries/{teacher}"
            day = json_or_none(await self.api.call("itinerary", "GET", url, headers=headers))
            busy = {s["starts_at"] for d in (day or {}).get("days", []) for s in d["stops"]}
            gaps = [s for s in self.fx.scheduling_slots if not _same_instant(s.starts_at, busy)]
            target = self.rng.choice(gaps or self.fx.scheduling_slots)
            body = {"slot_id": target.id, "note": "moved under load"}
        response = await self.api.call(
            "visit_patch",
            "PATCH",
            f"/api/v1/visits/{visit_id}",
            json=body,
            headers=headers | {"If-Match": etag},
        )
        self.ledger.visits.append(
            Write(visit_id, body, status_of(response), json_or_none(response))
        )

    async def adults_in_the_field(self) -> None:
        """An adult on one of the day's visits checks in or out, records its outcome, or
        writes a note on one of its children; refusals (409: not checked in, already
        recorded, not over yet) are the visit's own answers."""
        if not self.fx.field_visits:
            return
        visit = self.rng.choice(self.fx.field_visits)
        logins = [lg for lg in self.fx.logins if lg.staff_id in visit["adults"]]
        if not logins:
            return
        login = self.rng.choice(logins)
        headers = await self.api.tokens.staff(login.email, login.password)
        url = f"/api/v1/visits/{visit['id']}"
        roll = self.rng.random()
        if roll < 0.3:
            await self.api.call("check_in", "POST", f"{url}/check-in", headers=headers)
        elif roll < 0.55:
            await self.api.call("check_out", "POST", f"{url}/check-out", headers=headers)
        elif roll < 0.7:
            await self.api.call(
                "outcome", "POST", f"{url}/outcome", json={"outcome": "completed"}, headers=headers
            )
        elif visit["pupils"]:
            pupil = self.rng.choice(visit["pupils"])
            body = {
                "enjoys": self.rng.choice(["Lego", "Drawing", "Football", "Dinosaurs"]),
                "family_questions": "How to help with reading at home",
            }
            await self.api.call(
                "note_put",
                "PUT",
                f"{url}/pupils/{pupil}/note",
                json=body,
                headers=headers | {"If-Match": "*"},
            )

    async def slt_race_two_moves(self) -> None:
        """Two SLT members, at the same moment, move two visits that share an adult into the
        same gap, one free for every adult of both: at most one may succeed (the other would
        double-book the shared adult)."""
        headers = await self._staff("school_admin", self.school1)
        pid = self.fx.scheduling_id
        adult = self.rng.choice(self.fx.visiting_staff)
        url = f"/api/v1/programmes/{pid}/itineraries/{adult}"
        day = json_or_none(await self.api.call("itinerary", "GET", url, headers=headers))
        stops = [s for d in (day or {}).get("days", []) for s in d["stops"]]
        if len(stops) < 2:
            return
        pair = self.rng.sample(stops, 2)
        opened = [
            await self.api.call(
                "visit_get", "GET", f"/api/v1/visits/{s['visit_id']}", headers=headers
            )
            for s in pair
        ]
        visits = [json_or_none(r) for r in opened]
        if any(v is None or v["locked"] for v in visits):
            return
        adults = {a["staff_id"] for v in visits if v for a in v["adults"]}
        busy: set[str] = set()
        for other in adults:
            url = f"/api/v1/programmes/{pid}/itineraries/{other}"
            its = json_or_none(await self.api.call("itinerary", "GET", url, headers=headers))
            busy |= {s["starts_at"] for d in (its or {}).get("days", []) for s in d["stops"]}
        gaps = [s for s in self.fx.scheduling_slots if not _same_instant(s.starts_at, busy)]
        if not gaps:
            return
        body = {"slot_id": self.rng.choice(gaps).id, "note": "moved in a race"}

        async def move(stop: dict[str, Any], got: httpx.Response | None) -> None:
            etag = got.headers.get("ETag", "") if got is not None else ""
            response = await self.api.call(
                "visit_patch",
                "PATCH",
                f"/api/v1/visits/{stop['visit_id']}",
                json=body,
                headers=headers | {"If-Match": etag},
            )
            self.ledger.visits.append(
                Write(stop["visit_id"], body, status_of(response), json_or_none(response))
            )

        await asyncio.gather(*(move(s, r) for s, r in zip(pair, opened, strict=True)))

    # The MIS.

    async def mis_resyncs_roster(self) -> None:
        """The whole snapshot again, with a few changes: ten pupils' preferred names and five
        contacts' emails carry this sync's marker, so the last one acknowledged can be checked."""
        marker = len(self.ledger.rosters) + 1
        snapshot = copy.deepcopy(self.fx.snapshot)
        for pupil in snapshot["pupils"][:10]:
            pupil["preferred_first_name"] = f"{pupil['legal_first_name']}-{marker}"
        for household in snapshot["households"][:5]:
            for contact in household["contacts"][:1]:
                contact["email"] = f"mis-{marker}@example.org"
        headers = await self.api.tokens.client(self.fx.client_id, self.fx.client_secret)
        headers |= {"Idempotency-Key": uuid.uuid4().hex}
        url = f"/api/v1/schools/{self.school0}/roster"
        response = await self.api.call("roster_put", "PUT", url, json=snapshot, headers=headers)
        self.ledger.rosters.append(
            Write(str(marker), {"marker": marker}, status_of(response), json_or_none(response))
        )


def _clashes(slot: SlotInfo, blocked: set[tuple[str, str]]) -> bool:
    return any((slot.day, part) in blocked for part in slot.parts)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _same_instant(iso: str, others: set[str]) -> bool:
    from datetime import datetime

    moment = datetime.fromisoformat(iso)
    return any(datetime.fromisoformat(o) == moment for o in others)


# --- Running it ---------------------------------------------------------------------------------


async def warm_up(api: Api, fixture: Fixture) -> None:
    """Every staff member the mix uses signs in once, and the MIS gets its token, before the
    clock starts: a password check is deliberately slow (Argon2) and happens once a session."""
    schools = {fixture.collecting_school, fixture.scheduling_school}
    for login in fixture.logins:
        if login.school_id in schools or login.staff_id in fixture.visiting_staff:
            await api.tokens.staff(login.email, login.password)
    await api.tokens.client(fixture.client_id, fixture.client_secret)


@dataclass
class Plan:
    seconds: float
    users: int = 12
    think: float = 0.05  # mean seconds between one user's actions
    roster_every: float = 5.0
    seed: int = 1
    timeout: float = 30.0


async def run_load(
    base_url: str,
    fixture: Fixture,
    plan: Plan,
    *,
    stats: Stats | None = None,
    ledger: Ledger | None = None,
    stop: asyncio.Event | None = None,
) -> tuple[Stats, Ledger]:
    """N virtual users and the MIS loop until `plan.seconds` have passed (or `stop` is set)."""
    stats = stats or Stats()
    ledger = ledger or Ledger()
    stop = stop or asyncio.Event()
    api = Api(base_url, Stats(), connections=plan.users + 4, timeout=plan.timeout)
    await warm_up(api, fixture)
    api.stats = stats
    stats.started = time.monotonic()
    deadline = time.monotonic() + plan.seconds

    def going() -> bool:
        return not stop.is_set() and time.monotonic() < deadline

    async def user(index: int) -> None:
        mix = Mix(api, fixture, ledger, random.Random(plan.seed * 1000 + index))  # noqa: S311
        while going():
            await mix.one()
            await asyncio.sleep(mix.rng.expovariate(1 / plan.think) if plan.think > 0 else 0)

    async def mis() -> None:
        mix = Mix(api, fixture, ledger, random.Random(plan.seed))  # noqa: S311 - a mix, not a secret
        while going():
            began = time.monotonic()
            await mix.mis_resyncs_roster()
            await asyncio.sleep(max(0.0, plan.roster_every - (time.monotonic() - began)))

    try:
        await asyncio.gather(*(user(i) for i in range(plan.users)), mis())
    finally:
        await api.close()
    return stats, ledger
