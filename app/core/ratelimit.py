"""Sliding-window limits kept in the database, so every API process counts the same attempts.

Keys are stored as digests: a limit on an email address or an IP address must not become a
list of them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

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
    """Count one use against each (limit, key); raise 429 with Retry-After if any is over.

    The uses are committed before they are counted, so requests racing for the last use, in
    this process or another, see each other and none slips past (at worst both are refused):
    counting and checking are one step. A refused request takes its uses back: retrying when
    Retry-After says succeeds, and hammering does not extend the wait.

    For things allowed a number of times (exports), and for attempts that may fail (a password,
    a code): such an attempt spends before it is checked, so a burst gets no more checks than
    the limit allows, keeps its uses when it fails and gives them back (the returned ids) when
    it succeeds.
    """
    hits = [RateLimitHit(bucket=limit.bucket, key_digest=digest(key)) for limit, key in uses]
    refusal: TooManyRequests | None = None
    async with open_session(system_scope("count a rate-limited use")) as session:
        for limit in {limit for limit, _ in uses}:
            await _forget_expired(session, limit.bucket, limit.window_seconds)
        session.add_all(hits)
        await session.commit()
        for limit, key in uses:
            refusal = await _over(session, limit, key)
            if refusal is not None:
                await _delete(session, [h.id for h in hits])
                break
    if refusal is not None:
        raise refusal
    return [h.id for h in hits]


async def give_back(session: AsyncSession, ids: Sequence[UUID]) -> None:
    """Uncount uses of an attempt that succeeded, with the rest of its transaction."""
    await _delete(session, ids)


async def give_back_now(ids: Sequence[UUID]) -> None:
    """Uncount uses of an attempt that was never checked, in their own transaction."""
    async with open_session(system_scope("give back a rate-limited use")) as session:
        await _delete(session, ids)


async def _delete(session: AsyncSession, ids: Sequence[UUID]) -> None:
    await session.execute(delete(RateLimitHit).where(col(RateLimitHit.id).in_(ids)))


async def _over(session: AsyncSession, limit: Limit, key: str) -> TooManyRequests | None:
    """The refusal when `key` has more uses than allowed in the window, this one included."""
    since = utcnow() - timedelta(seconds=limit.window_seconds)
    # One statement, so the count and the times agree while other requests come and go; the
    # rows are few (the allowance, plus requests racing for it).
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
    if len(times) <= limit.max_hits:
        return None
    # Without this use one fewer remain, and one fewer than the allowance is needed: the
    # (count - max_hits)th oldest must leave the window first.
    freed_by = times[len(times) - limit.max_hits - 1]
    retry_after = limit.window_seconds - int((utcnow() - freed_by).total_seconds())
    return TooManyRequests(limit.message, retry_after=retry_after)


async def _forget_expired(session: AsyncSession, bucket: str, window_seconds: int) -> None:
    cutoff = utcnow() - timedelta(seconds=window_seconds)
    await session.execute(
        delete(RateLimitHit).where(
            col(RateLimitHit.bucket) == bucket, col(RateLimitHit.at) < cutoff
        )
    )


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


async def remembered(mark: Mark, key: str) -> bool:
    since = utcnow() - timedelta(seconds=mark.window_seconds)
    async with open_session(system_scope("recall a remembered key")) as session:
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
