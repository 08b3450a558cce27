"""Messages that fall due with time rather than with a request (a reminder some days before a
window closes or a visit happens). Each area registers a planner (app/registry.py); the message
worker calls `plan_due` about once a minute. A planner writes through outbox.write, whose unique
key makes running it twice, or on two workers at once, write each message once."""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from app.core.logs import failure

log = logging.getLogger("threshold.messages")

# Given the time, writes the messages now due in its own transactions; how many it wrote.
Planner = Callable[[datetime], Awaitable[int]]
_PLANNERS: list[Planner] = []


def register_planner(planner: Planner) -> None:
    if planner not in _PLANNERS:
        _PLANNERS.append(planner)


def planners() -> list[Planner]:
    return list(_PLANNERS)


async def plan_due(now: datetime) -> int:
    """Run every planner; one failing (a database blip) does not stop the others."""
    written = 0
    for planner in _PLANNERS:
        try:
            written += await planner(now)
        except Exception as exc:
            log.error(
                "a message planner failed", extra={"planner": planner.__qualname__, **failure(exc)}
            )
    return written
