"""Reading the log of what would have been sent (THRESHOLD_MESSAGES_DELIVERY=log): development,
tests and demos only. In production the log does not exist as far as the API is concerned (404),
whatever rows an old development setting may have left."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.errors import NotFound
from app.core.pagination import PageParams, SortKey, paginate
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.repository import in_schools
from app.core.settings import get_settings
from app.notifications.models import SAFEGUARDING_KINDS, LoggedMessage, Message

# Whoever sets up how messages leave (the integration with Notify) reads what would have left.
READ_LOG = Permission.INTEGRATIONS_MANAGE


async def page(
    session: AsyncSession,
    who: Principal,
    params: PageParams,
    *,
    programme_id: UUID | None = None,
    household_id: UUID | None = None,
    message_id: UUID | None = None,
) -> tuple[list[LoggedMessage], str | None]:
    """Newest first, at the schools where the caller may read the log."""
    if get_settings().environment == "production":
        raise NotFound("There is no message log in production: messages go through Notify.")
    # tenancy: the trust floor, narrowed to the schools where the caller may read the log
    statement = in_schools(select(LoggedMessage), LoggedMessage, who.schools_with(READ_LOG))
    # A DSL's alert says no more than that a concern awaits; even that is need-to-know.
    need_to_know = select(Message.id).where(  # tenancy: within the trust floor; ids only
        col(Message.kind).in_(list(SAFEGUARDING_KINDS))
    )
    statement = statement.where(col(LoggedMessage.message_id).not_in(need_to_know))
    if message_id is not None:
        statement = statement.where(col(LoggedMessage.message_id) == message_id)
    if programme_id is not None or household_id is not None:
        of = select(Message.id)  # tenancy: within the trust floor; only ids, matched below
        if programme_id is not None:
            of = of.where(col(Message.programme_id) == programme_id)
        if household_id is not None:
            of = of.where(col(Message.household_id) == household_id)
        statement = statement.where(col(LoggedMessage.message_id).in_(of))
    return await paginate(
        session,
        statement,  # tenancy: the trust floor, narrowed to the caller's schools above
        params,
        [SortKey(LoggedMessage.logged_at, descending=True), SortKey(LoggedMessage.id)],
    )
