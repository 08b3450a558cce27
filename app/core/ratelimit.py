"""Sliding-window limits kept in the database, so every API process counts the same attempts.

Keys are stored as digests: a limit on an email address or an IP address must not become a
list of them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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


async def ensure_under(session: AsyncSession, limit: Limit, key: str) -> None:
    """Raise 429 with Retry-After when `key` has used its allowance in the window."""
    since = utcnow() - timedelta(seconds=limit.window_seconds)
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(RateLimitHit.at)).where(
                RateLimitHit.bucket == limit.bucket,
                RateLimitHit.key_digest == digest(key),
                RateLimitHit.at > since,
            )
        )
    ).one()
    if count >= limit.max_hits:
        retry_after = limit.window_seconds - int((utcnow() - _aware(oldest)).total_seconds())
        raise TooManyRequests(limit.message, retry_after=retry_after)


def _aware(value: datetime) -> datetime:
    # func.min() bypasses the column type on SQLite, so the value may come back naive or as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


async def hit_now(limit: Limit, key: str) -> None:
    """Count one attempt in its own transaction, so it stands even when the request fails."""
    async with open_session(system_scope("count a rate-limited attempt")) as session:
        await _forget_expired(session, limit)
        session.add(RateLimitHit(bucket=limit.bucket, key_digest=digest(key)))


async def spend(uses: Sequence[tuple[Limit, str]]) -> None:
    """Count one use against each (limit, key); raise 429 with Retry-After if any is over.

    For things allowed a number of times (exports), not for failures. The uses are committed
    before they are counted, so requests racing for the last use in different processes see
    each other and none slips past (at worst both are refused). A refused request takes its
    uses back: retrying when Retry-After says succeeds, and hammering does not extend the wait.
    """
    hits = [RateLimitHit(bucket=limit.bucket, key_digest=digest(key)) for limit, key in uses]
    refusal: TooManyRequests | None = None
    async with open_session(system_scope("count a rate-limited use")) as session:
        for limit in {limit for limit, _ in uses}:
            await _forget_expired(session, limit)
        session.add_all(hits)
        await session.commit()
        for limit, key in uses:
            refusal = await _over(session, limit, key)
            if refusal is not None:
                await session.execute(
                    delete(RateLimitHit).where(col(RateLimitHit.id).in_([h.id for h in hits]))
                )
                break
    if refusal is not None:
        raise refusal


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
    retry_after = limit.window_seconds - int((utcnow() - _aware(freed_by)).total_seconds())
    return TooManyRequests(limit.message, retry_after=retry_after)


async def _forget_expired(session: AsyncSession, limit: Limit) -> None:
    cutoff = utcnow() - timedelta(seconds=limit.window_seconds)
    await session.execute(
        delete(RateLimitHit).where(
            col(RateLimitHit.bucket) == limit.bucket, col(RateLimitHit.at) < cutoff
        )
    )


async def clear(session: AsyncSession, limit: Limit, key: str) -> None:
    await session.execute(
        delete(RateLimitHit).where(
            col(RateLimitHit.bucket) == limit.bucket, col(RateLimitHit.key_digest) == digest(key)
        )
    )
