"""Sliding-window limits kept in the database, so every API process counts the same attempts.

Keys are stored as digests: a limit on an email address or an IP address must not become a
list of them.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID
from weakref import WeakKeyDictionary

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, col, delete, select

from app.core.db import open_session
from app.core.errors import TooManyRequests
from app.core.models import Identified
from app.core.security import digest
from app.core.tenancy import system_scope
from app.core.types import UTCDateTime, utcnow


class RateLimitHit(Identified, table=True):
    __tablename__ = "rate_limit_hit"

    bucket: str = Field(max_length=40, index=True)
    key_digest: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)


@dataclass(frozen=True)
class Limit:
    bucket: str
    max_hits: int
    window_seconds: int
    message: str


async def spend(uses: Sequence[tuple[Limit, str]]) -> list[UUID]:
    """Count one use against each (limit, key), or raise 429 with Retry-After if any has none
    left; returns the uses' ids.

    Counting and checking are one step: each key is locked while its uses are counted and this
    one added (an advisory lock on PostgreSQL; SQLite lets one transaction write at a time), so
    requests racing for the last uses, in this process or another, take them one by one and a
    burst gets exactly the allowance. A refused request adds nothing: retrying when Retry-After
    says succeeds, and hammering does not extend the wait.

    For things allowed a number of times (exports), and for attempts that may fail (a password,
    a code): those spend before they are checked, so a burst gets no more checks than the
    limit, keep their uses when they fail and give them back (by id) when they succeed.
    """
    async with _counting_turn(), open_session(system_scope("count a rate-limited use")) as session:
        await _lock_keys(session, uses)
        for limit, key in uses:
            refusal = await _refusal(session, limit, key)
            if refusal is not None:
                raise refusal
        hits = [RateLimitHit(bucket=limit.bucket, key_digest=digest(key)) for limit, key in uses]
        session.add_all(hits)
    return [h.id for h in hits]


async def reserve(limit: Limit, key: str, wanted: int) -> list[UUID]:
    """Take up to `wanted` uses of `key`'s allowance at once: as many as are left in the window,
    perhaps none. Returns their ids, so that uses not needed after all can be given back
    (give_back_now). Counted and taken in one step under the key's lock, as `spend` does, so
    workers in several processes share one allowance (the messages sent to Notify a minute)."""
    async with _counting_turn(), open_session(system_scope("reserve rate-limited uses")) as session:
        await _lock_keys(session, [(limit, key)])
        since = utcnow() - timedelta(seconds=limit.window_seconds)
        used = await session.scalar(
            select(func.count())
            .select_from(RateLimitHit)
            .where(
                col(RateLimitHit.bucket) == limit.bucket,
                col(RateLimitHit.key_digest) == digest(key),
                col(RateLimitHit.at) > since,
            )
        )
        granted = max(0, min(wanted, limit.max_hits - (used or 0)))
        hits = [RateLimitHit(bucket=limit.bucket, key_digest=digest(key)) for _ in range(granted)]
        session.add_all(hits)
    return [h.id for h in hits]


# A request waiting for a key's lock in the database holds a pooled connection meanwhile, and a
# burst of attempts (from one address, at one account) all wait for the same key: they queue
# here instead, a few per process, and leave the connections to other requests. One semaphore
# per event loop, as asyncio's belong to the loop that first waits on them.
_COUNTING_AT_ONCE = 2
_counting: "WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = WeakKeyDictionary()


def _counting_turn() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    turn = _counting.get(loop)
    if turn is None:
        turn = _counting[loop] = asyncio.Semaphore(_COUNTING_AT_ONCE)
    return turn


async def _lock_keys(session: AsyncSession, uses: Sequence[tuple[Limit, str]]) -> None:
    """Hold every key of `uses` until the transaction ends. In a fixed order, so two requests
    locking the same keys cannot wait for each other."""
    if session.get_bind().dialect.name == "postgresql":
        for lock in sorted({_lock_id(limit.bucket, key) for limit, key in uses}):
            await session.execute(select(func.pg_advisory_xact_lock(lock)))
    # On SQLite the first write takes the database's one write lock, and clearing out expired
    # uses is a write: it must come before the counting.
    for limit in sorted({limit for limit, _ in uses}, key=lambda limit: limit.bucket):
        await _forget_expired(session, limit.bucket, limit.window_seconds)


def _lock_id(bucket: str, key: str) -> int:
    return int(digest(f"rate-limit\n{bucket}\n{key}")[:15], 16)  # fits a signed bigint


async def give_back(session: AsyncSession, ids: Sequence[UUID]) -> None:
    """Uncount uses of an attempt that succeeded, with the rest of its transaction."""
    await _delete(session, ids)


async def give_back_now(ids: Sequence[UUID]) -> None:
    """Uncount uses of an attempt that was never checked, in their own transaction."""
    async with open_session(system_scope("give back a rate-limited use")) as session:
        await _delete(session, ids)


async def _delete(session: AsyncSession, ids: Sequence[UUID]) -> None:
    await session.execute(delete(RateLimitHit).where(col(RateLimitHit.id).in_(ids)))


async def _refusal(session: AsyncSession, limit: Limit, key: str) -> TooManyRequests | None:
    """The refusal when `key` has no use left in the window."""
    since = utcnow() - timedelta(seconds=limit.window_seconds)
    times = (
        (
            await session.execute(
                select(RateLimitHit.at)
                .where(
                    col(RateLimitHit.bucket) == limit.bucket,
                    col(RateLimitHit.key_digest) == digest(key),
                    col(RateLimitHit.at) > since,
                )
                .order_by(col(RateLimitHit.at))
            )
        )
        .scalars()
        .all()
    )
    if len(times) < limit.max_hits:
        return None
    # One use comes free when the (count - max_hits + 1)th oldest leaves the window.
    freed_by = times[len(times) - limit.max_hits]
    retry_after = limit.window_seconds - int((utcnow() - freed_by).total_seconds())
    return TooManyRequests(limit.message, retry_after=retry_after)


async def _forget_expired(session: AsyncSession, bucket: str, window_seconds: int) -> None:
    cutoff = utcnow() - timedelta(seconds=window_seconds)
    # Rows another transaction is deleting are left to it: two requests clearing the same old
    # rows in different orders would otherwise wait for each other.
    expired = (
        select(RateLimitHit.id)
        .where(col(RateLimitHit.bucket) == bucket, col(RateLimitHit.at) < cutoff)
        .with_for_update(skip_locked=True)
    )
    await session.execute(delete(RateLimitHit).where(col(RateLimitHit.id).in_(expired)))


async def clear(session: AsyncSession, limit: Limit, key: str) -> None:
    await _forget_key(session, limit.bucket, key)


async def _forget_key(session: AsyncSession, bucket: str, key: str) -> None:
    await session.execute(
        delete(RateLimitHit).where(
            col(RateLimitHit.bucket) == bucket, col(RateLimitHit.key_digest) == digest(key)
        )
    )


@dataclass(frozen=True)
class Mark:
    """A key remembered for a while, in the same table: an account seen signing in from an
    address. Kept as a digest, like the counted keys."""

    bucket: str
    window_seconds: int


async def remember(session: AsyncSession, mark: Mark, key: str) -> None:
    """Remember `key` from now on (one row per key), with the rest of the caller's transaction."""
    await _forget_expired(session, mark.bucket, mark.window_seconds)
    await _forget_key(session, mark.bucket, key)
    session.add(RateLimitHit(bucket=mark.bucket, key_digest=digest(key)))


async def remembered(session: AsyncSession, mark: Mark, key: str) -> bool:
    since = utcnow() - timedelta(seconds=mark.window_seconds)
    found = await session.scalar(
        select(RateLimitHit.id)
        .where(
            col(RateLimitHit.bucket) == mark.bucket,
            col(RateLimitHit.key_digest) == digest(key),
            col(RateLimitHit.at) > since,
        )
        .limit(1)
    )
    return found is not None
