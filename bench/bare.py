"""The bare equivalent of three Threshold endpoints: Starlette and asyncpg, hand-written.

`bench/api.py` runs it beside the real service, on the same database, as the framework's
physical limit for the same work. It is not a strawman: every request verifies the bearer token
as the service does (EdDSA, pinned key and algorithm, audience, issuer, `typ`, required claims),
reloads the sign-in session and its role grants (or the parent's invitation) so revocation
applies on the next request, keeps to the caller's trust and schools (404 outside them, 403 after
loading), checks the permission at the object's school, applies the same field rules and answer
checks, and answers the same JSON, byte for byte in shape. What it leaves out is everything a
framework adds around that: dependency injection, the ORM, response models, middleware, logs.

    uvicorn --factory bench.bare:create_app --loop uvloop --http httptools

Reads DATABASE_URL and THRESHOLD_JWT_PRIVATE_KEYS (the first key verifies).
"""

import base64
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

LONDON = ZoneInfo("Europe/London")
MIDDAY = time(12, 0)
STAFF_AUDIENCE, PARENT_AUDIENCE = "threshold:staff", "threshold:parent"

# The service's role table (app/core/permissions.py), for the permissions these routes need.
_EVERY_STAFF_MEMBER = {"roster:read", "visits:read"}
ROLE_PERMISSIONS: dict[str, set[str]] = {
    "platform_admin": set(),
    "trust_admin": _EVERY_STAFF_MEMBER | {"roster:sensitive"},
    "trust_dsl": _EVERY_STAFF_MEMBER | {"roster:sensitive"},
    "school_admin": _EVERY_STAFF_MEMBER | {"roster:sensitive"},
    "dsl": _EVERY_STAFF_MEMBER | {"roster:sensitive"},
    "office": set(_EVERY_STAFF_MEMBER),
    "teacher": set(_EVERY_STAFF_MEMBER),
    "support_staff": set(_EVERY_STAFF_MEMBER),
}
PREPARATION_FLAGS = ("send", "eal", "home_language")
SENSITIVE_FLAGS = ("free_school_meals", "pupil_premium", "looked_after")


class Refused(Exception):
    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None):
        self.status, self.detail, self.errors = status, detail, errors


def problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(dumps(body), status, media_type="application/problem+json")


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def instant(value: datetime | None) -> str | None:
    """UTC as the service writes it: ISO 8601 with Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- tokens -----------------------------------------------------------------------------------


class Verifier:
    def __init__(self, pem: str, issuer: str) -> None:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        self.public_key = key.public_key()
        x = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x64 = base64.urlsafe_b64encode(x).rstrip(b"=").decode()
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x64}, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode()).digest()
        self.kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        self.issuer = issuer

    def claims(self, request: Request, audience: str) -> dict[str, Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Refused(401, "Send a bearer access token.")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != "at+jwt" or "crit" in header:
                raise Refused(401, "The token is not an access token.")
            if header.get("kid") != self.kid or header.get("alg") != "EdDSA":
                raise Refused(401, "The token was signed with an unknown key.")
            return jwt.decode(
                token,
                self.public_key,
                algorithms=["EdDSA"],
                audience=audience,
                issuer=self.issuer,
                leeway=5,
                options={
                    "require": ["iss", "aud", "exp", "iat", "nbf", "sub", "jti"],
                    "strict_aud": True,
                },
            )
        except jwt.PyJWTError:
            raise Refused(401, "The access token is not valid.") from None


class Staff:
    """The signed-in member, reloaded on every request: session live, account active, grants."""

    def __init__(
        self, staff_id: uuid.UUID, trust_id: uuid.UUID, grants: list[tuple[str, uuid.UUID | None]]
    ) -> None:
        self.id = staff_id
        self.trust_id = trust_id
        self.grants = grants
        self.trust_wide = any(school is None for _, school in grants)
        self.schools = {school for _, school in grants if school is not None}

    def sees(self, school_id: uuid.UUID) -> bool:
        return self.trust_wide or school_id in self.schools

    def can(self, permission: str, school_id: uuid.UUID) -> bool:
        return any(
            permission in ROLE_PERMISSIONS[role]
            for role, school in self.grants
            if school is None or school == school_id
        )

    def holds(self, permission: str) -> bool:
        return any(permission in ROLE_PERMISSIONS[role] for role, _ in self.grants)


STAFF_SQL = """
SELECT s.trust_id, array_agg(g.role) AS roles, array_agg(g.school_id) AS schools
FROM auth_session a
JOIN staff_member s ON s.id = a.staff_id
LEFT JOIN role_grant g ON g.staff_id = s.id
WHERE a.id = $1 AND a.staff_id = $2 AND a.revoked_at IS NULL AND s.is_active
GROUP BY s.trust_id
"""


async def staff(request: Request, connection: Any, permission: str) -> Staff:
    claims = request.app.state.verifier.claims(request, STAFF_AUDIENCE)
    try:
        staff_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    except (KeyError, ValueError):
        raise Refused(401, "The access token is not valid.") from None
    row = await connection.fetchrow(STAFF_SQL, session_id, staff_id)
    if row is None or row["trust_id"] is None:
        raise Refused(401, "The session has ended or the account is no longer active.")
    grants = [(r, s) for r, s in zip(row["roles"], row["schools"], strict=True) if r is not None]
    member = Staff(staff_id, row["trust_id"], grants)
    if not member.holds(permission):
        raise Refused(403, f"Your roles do not allow '{permission}'.")
    return member


# -- GET /api/v1/schools/{school_id}/pupils ---------------------------------------------------

PUPILS_SQL = """
SELECT p.id, p.school_id, p.mis_id, p.upn, p.legal_first_name, p.legal_last_name,
       p.preferred_first_name, p.preferred_last_name, p.date_of_birth, p.sex, p.class_id,
       c.year_group, p.household_id, p.on_roll, p.left_on, p.updated_at, p.send, p.eal,
       p.home_language, p.free_school_meals, p.pupil_premium, p.looked_after
FROM pupil p
LEFT JOIN school_class c ON c.id = p.class_id AND c.trust_id = $2
WHERE p.school_id = $1 AND p.trust_id = $2 AND p.on_roll IS true
ORDER BY p.legal_last_name, p.legal_first_name, p.id
LIMIT $3
"""


async def list_school_pupils(request: Request) -> Response:
    school_id = uuid.UUID(request.path_params["school_id"])
    limit = int(request.query_params.get("limit", "50"))
    if not 1 <= limit <= 200:
        raise Refused(422, "limit must be between 1 and 200")
    async with request.app.state.pool.acquire() as connection:
        member = await staff(request, connection, "roster:read")
        school = await connection.fetchval(
            "SELECT id FROM school WHERE id = $1 AND trust_id = $2", school_id, member.trust_id
        )
        if school is None or not member.sees(school_id):
            raise Refused(404, f"There is no school {school_id} that you can see.")
        if not member.can("roster:read", school_id):
            raise Refused(403, "Your roles do not allow 'roster:read' here.")
        sensitive = member.can("roster:sensitive", school_id)
        staffed: set[uuid.UUID] = set()
        if not sensitive:
            staffed = {
                r[0]
                for r in await connection.fetch(
                    "SELECT class_id FROM class_staff WHERE staff_id = $1 AND trust_id = $2",
                    member.id,
                    member.trust_id,
                )
            }
        rows = await connection.fetch(PUPILS_SQL, school_id, member.trust_id, limit + 1)
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        keys = [last["legal_last_name"], last["legal_first_name"], last["id"].hex]
        raw = json.dumps(keys, separators=(",", ":")).encode()
        cursor = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    items = [_pupil(row, sensitive, staffed) for row in rows]
    return Response(dumps({"items": items, "next_cursor": cursor}), media_type="application/json")


def _pupil(row: Any, sensitive: bool, staffed: set[uuid.UUID]) -> dict[str, Any]:
    pupil = {
        "id": str(row["id"]),
        "school_id": str(row["school_id"]),
        "mis_id": row["mis_id"],
        "upn": row["upn"],
        "legal_first_name": row["legal_first_name"],
        "legal_last_name": row["legal_last_name"],
        "preferred_first_name": row["preferred_first_name"],
        "preferred_last_name": row["preferred_last_name"],
        "date_of_birth": row["date_of_birth"].isoformat(),
        "sex": row["sex"],
        "class_id": str(row["class_id"]) if row["class_id"] else None,
        "year_group": row["year_group"],
        "household_id": str(row["household_id"]) if row["household_id"] else None,
        "on_roll": row["on_roll"],
        "left_on": row["left_on"].isoformat() if row["left_on"] else None,
        "updated_at": instant(row["updated_at"]),
    }
    for name in (*PREPARATION_FLAGS, *SENSITIVE_FLAGS):
        pupil[name] = row[name]
    if not sensitive:
        withheld = SENSITIVE_FLAGS if row["class_id"] in staffed else PREPARATION_FLAGS
        for name in (*withheld, *SENSITIVE_FLAGS):
            pupil[name] = None
    return pupil


# -- GET /api/v1/visits/{visit_id} ------------------------------------------------------------

VISIT_SQL = """
SELECT v.id, v.school_id, v.programme_id, v.household_id, v.slot_id, v.starts_at, v.ends_at,
       v.location, v.status, v.locked, v.version,
       ARRAY(SELECT pupil_id FROM visit_pupil WHERE visit_id = v.id ORDER BY pupil_id) AS pupils,
       ARRAY(SELECT staff_id FROM visit_adult WHERE visit_id = v.id
             ORDER BY role, staff_id) AS adult_ids,
       ARRAY(SELECT role FROM visit_adult WHERE visit_id = v.id
             ORDER BY role, staff_id) AS adult_roles
FROM visit v
WHERE v.id = $1 AND v.trust_id = $2
"""


async def get_visit(request: Request) -> Response:
    visit_id = uuid.UUID(request.path_params["visit_id"])
    async with request.app.state.pool.acquire() as connection:
        member = await staff(request, connection, "visits:read")
        row = await connection.fetchrow(VISIT_SQL, visit_id, member.trust_id)
    if row is None or not member.sees(row["school_id"]):
        raise Refused(404, f"There is no visit {visit_id} that you can see.")
    if not member.can("visits:read", row["school_id"]):
        raise Refused(403, "Your roles do not allow 'visits:read' here.")
    body = {
        "id": str(row["id"]),
        "programme_id": str(row["programme_id"]),
        "household_id": str(row["household_id"]),
        "pupil_ids": [str(p) for p in row["pupils"]],
        "slot_id": str(row["slot_id"]),
        "starts_at": instant(row["starts_at"]),
        "ends_at": instant(row["ends_at"]),
        "local_start": row["starts_at"].astimezone(LONDON).strftime("%H:%M"),
        "location": row["location"],
        "status": row["status"],
        "locked": row["locked"],
        "adults": [
            {"staff_id": str(s), "role": r}
            for s, r in zip(row["adult_ids"], row["adult_roles"], strict=True)
        ],
        "version": row["version"],
    }
    headers = {"ETag": f'"{row["id"].hex}.{row["version"]}"'}
    return Response(dumps(body), headers=headers, media_type="application/json")


# -- PUT /api/v1/parent/programmes/{pid}/households/{hid}/answer ------------------------------


class UnavailableTime(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    day: date
    part: Literal["all_day", "morning", "afternoon"] = "all_day"


class AnswerWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["preferences", "declined"] = "preferences"
    preferred_slot_ids: list[uuid.UUID] = Field(default=[], max_length=5)
    unavailable: list[UnavailableTime] = Field(default=[], max_length=20)
    interpreter_language: str | None = Field(default=None, min_length=2, max_length=50)
    accessibility: str | None = Field(default=None, max_length=1000)
    notes_for_visitors: str | None = Field(default=None, max_length=1000)
    neutral_venue_requested: bool = False
    neutral_venue_reason: str | None = Field(default=None, max_length=1000)
    decline_reason: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.kind == "declined":
            if not self.decline_reason:
                raise ValueError("a decline needs a decline_reason")
            if self.preferred_slot_ids or self.unavailable or self.neutral_venue_requested:
                raise ValueError("a decline carries no preferred slots, unavailable times")
        elif self.decline_reason is not None:
            raise ValueError("decline_reason goes only with kind 'declined'")
        if self.neutral_venue_reason and not self.neutral_venue_requested:
            raise ValueError("neutral_venue_reason goes only with neutral_venue_requested")
        return self


PARENT_SQL = """
SELECT i.household_id, i.programme_id, p.trust_id, p.school_id, p.status, p.visit_days,
       p.preferences_open_at, p.preferences_close_at
FROM parent_invitation i
JOIN visit_programme p
  ON p.id = i.programme_id AND p.trust_id = i.trust_id AND p.school_id = i.school_id
JOIN household h ON h.id = i.household_id AND h.trust_id = i.trust_id
WHERE i.id = $1 AND i.revoked_at IS NULL AND i.expires_at > now()
"""

UPSERT_SQL = """
INSERT INTO household_answer (id, trust_id, school_id, programme_id, household_id, version,
    created_at, updated_at, kind, preferred_slot_ids, unavailable, interpreter_language,
    accessibility, notes_for_visitors, neutral_venue_requested, neutral_venue_reason,
    decline_reason, answered_by, entered_by_staff_id, submitted_at)
VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7, $8::json, $9::json, $10, $11, $12, $13, $14, $15,
    'parent', NULL, $6)
ON CONFLICT (programme_id, household_id) DO UPDATE SET
    trust_id = excluded.trust_id, school_id = excluded.school_id,
    updated_at = excluded.updated_at, kind = excluded.kind,
    preferred_slot_ids = excluded.preferred_slot_ids, unavailable = excluded.unavailable,
    interpreter_language = excluded.interpreter_language,
    accessibility = excluded.accessibility, notes_for_visitors = excluded.notes_for_visitors,
    neutral_venue_requested = excluded.neutral_venue_requested,
    neutral_venue_reason = excluded.neutral_venue_reason,
    decline_reason = excluded.decline_reason, answered_by = excluded.answered_by,
    entered_by_staff_id = excluded.entered_by_staff_id, submitted_at = excluded.submitted_at,
    version = household_answer.version + 1
RETURNING version, submitted_at
"""


async def save_answer(request: Request) -> Response:
    programme_id = uuid.UUID(request.path_params["programme_id"])
    household_id = uuid.UUID(request.path_params["household_id"])
    claims = request.app.state.verifier.claims(request, PARENT_AUDIENCE)
    try:
        body = AnswerWrite.model_validate_json(await request.body())
    except ValidationError as exc:
        raise Refused(422, "invalid answer", [{"detail": e["msg"]} for e in exc.errors()]) from None
    async with request.app.state.pool.acquire() as connection:
        parent = await connection.fetchrow(PARENT_SQL, uuid.UUID(claims["sub"]))
        if parent is None:
            raise Refused(401, "The session has ended or the account is no longer active.")
        if programme_id != parent["programme_id"]:
            raise Refused(404, f"There is no programme {programme_id} that you can see.")
        if household_id != parent["household_id"]:
            raise Refused(404, f"There is no household {household_id} that you can see.")
        now = datetime.now(UTC)
        _ensure_window(parent, now)
        slots = {}
        if body.preferred_slot_ids:
            rows = await connection.fetch(
                "SELECT id, day, starts_at, ends_at FROM slot"
                " WHERE programme_id = $1 AND trust_id = $2 AND id = ANY($3)",
                programme_id,
                parent["trust_id"],
                body.preferred_slot_ids,
            )
            slots = {r["id"]: r for r in rows}
        _check(json.loads(parent["visit_days"]), slots, body)
        saved = await connection.fetchrow(
            UPSERT_SQL,
            uuid.uuid4(),
            parent["trust_id"],
            parent["school_id"],
            programme_id,
            household_id,
            now,
            body.kind,
            json.dumps([str(s) for s in body.preferred_slot_ids]),
            json.dumps([{"day": u.day.isoformat(), "part": u.part} for u in body.unavailable]),
            body.interpreter_language,
            body.accessibility,
            body.notes_for_visitors,
            body.neutral_venue_requested,
            body.neutral_venue_reason,
            body.decline_reason,
        )
    return Response(dumps(_answer(parent, body, slots, saved)), media_type="application/json")


def _ensure_window(parent: Any, now: datetime) -> None:
    closes, opens = parent["preferences_close_at"], parent["preferences_open_at"]
    if parent["status"] != "collecting" or closes is None or now >= closes:
        raise Refused(409, "The school is no longer taking answers online.")
    if opens is not None and now < opens:
        raise Refused(409, "Answers are not open yet.")


def _parts(slot: Any) -> set[str]:
    starts = slot["starts_at"].astimezone(LONDON).time()
    ends = slot["ends_at"].astimezone(LONDON).time()
    parts = {"all_day"}
    if starts < MIDDAY:
        parts.add("morning")
    if ends > MIDDAY or starts >= MIDDAY:
        parts.add("afternoon")
    return parts


def _check(visit_days: list[str], slots: dict[uuid.UUID, Any], body: AnswerWrite) -> None:
    problems: list[dict[str, str]] = []
    seen_days: set[tuple[str, str]] = set()
    for i, period in enumerate(body.unavailable):
        key = (period.day.isoformat(), period.part)
        if key[0] not in visit_days:
            problems.append({"pointer": f"/unavailable/{i}/day", "detail": "not a visit day"})
        elif key in seen_days:
            problems.append({"pointer": f"/unavailable/{i}", "detail": "listed twice"})
        seen_days.add(key)
    seen: set[uuid.UUID] = set()
    for rank, slot_id in enumerate(body.preferred_slot_ids):
        pointer = f"/preferred_slot_ids/{rank}"
        slot = slots.get(slot_id)
        if slot_id in seen:
            problems.append({"pointer": pointer, "detail": "already a preference"})
        elif slot is None:
            problems.append({"pointer": pointer, "detail": "no such slot"})
        else:
            day = slot["starts_at"].astimezone(LONDON).date().isoformat()
            if any((day, part) in seen_days for part in _parts(slot)):
                problems.append({"pointer": pointer, "detail": "in a time marked unavailable"})
        seen.add(slot_id)
    if problems:
        raise Refused(422, "The answer was not saved.", problems)


def _answer(parent: Any, body: AnswerWrite, slots: dict[uuid.UUID, Any], saved: Any) -> Any:
    return {
        "programme_id": str(parent["programme_id"]),
        "household_id": str(parent["household_id"]),
        "status": body.kind,
        "preferred": [
            {
                "rank": rank,
                "slot_id": str(slot_id),
                "day": slots[slot_id]["day"].isoformat(),
                "starts_at": instant(slots[slot_id]["starts_at"]),
                "local_start": slots[slot_id]["starts_at"].astimezone(LONDON).strftime("%H:%M"),
            }
            for rank, slot_id in enumerate(body.preferred_slot_ids, start=1)
        ],
        "unavailable": [{"day": u.day.isoformat(), "part": u.part} for u in body.unavailable],
        "interpreter_language": body.interpreter_language,
        "accessibility": body.accessibility,
        "notes_for_visitors": body.notes_for_visitors,
        "neutral_venue_requested": body.neutral_venue_requested,
        "neutral_venue_reason": body.neutral_venue_reason,
        "decline_reason": body.decline_reason,
        "answered_by": "parent",
        "submitted_at": instant(saved["submitted_at"]),
        "version": saved["version"],
        "can_change_until": instant(parent["preferences_close_at"]),
    }


# -- the app ----------------------------------------------------------------------------------


def refused(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return problem(exc.status, exc.detail, exc.errors)


def create_app() -> Starlette:
    url = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pem = os.environ["THRESHOLD_JWT_PRIVATE_KEYS"]
    verifier = Verifier(pem, os.environ.get("THRESHOLD_JWT_ISSUER", "threshold"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The service's pool: 10 connections, kept open.
        app.state.pool = await asyncpg.create_pool(url, min_size=10, max_size=10)
        app.state.verifier = verifier
        yield
        await app.state.pool.close()

    return Starlette(
        routes=[
            Route("/api/v1/schools/{school_id}/pupils", list_school_pupils),
            Route("/api/v1/visits/{visit_id}", get_visit),
            Route(
                "/api/v1/parent/programmes/{programme_id}/households/{household_id}/answer",
                save_answer,
                methods=["PUT"],
            ),
        ],
        exception_handlers={Refused: refused},
        lifespan=lifespan,
    )
