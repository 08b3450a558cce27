"""Surveys issued without anyone asking: a teacher's immediate survey when their last visit of
the programme is recorded, their follow-up THRESHOLD_SURVEYS_FOLLOW_UP_DAYS (30) later, and the
family's survey once their visit is completed; then at most THRESHOLD_SURVEYS_REMINDERS_MAX (2)
reminders, THRESHOLD_SURVEYS_REMINDER_DAYS (7) apart, to those who have not answered. A teacher
none of whose visits of the programme took place (no access, declined or cancelled) is not
surveyed about them.

Each survey is issued from the trust's current version of its audience's template and keeps that
version, and whether it is anonymous, for good. Issuing is idempotent: an invitation's issue key
(audience, programme, person or household) is unique, and each message's cause is its invitation
(or the reminder's number), so the outcome hook and the planner may run twice, or on two workers
at once, and still issue and write each once.

Messages to families count against the programme's daily cap like every other family message.
The cap refuses a write that would pass it, and a refusal in the recording transaction would
refuse recording the visit itself, so the family's survey is issued there but told by the
planner (within a minute), one programme per transaction, as reminders are: a programme past
its cap is held back to the next day (logged), and holds up no other. Staff messages are not
counted, as no staff message is.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import open_session
from app.core.logs import failure
from app.core.models import FIRST_VERSION
from app.core.sealing import unseal
from app.core.settings import get_settings
from app.core.tenancy import Scope, system_scope
from app.core.types import utcnow
from app.notifications import outbox, reach
from app.notifications.exceptions import DailyCapReached
from app.notifications.models import MessageKind
from app.parents import codes
from app.parents.invitations import link
from app.programmes.messages import family_names, school_values
from app.surveys import repository
from app.surveys.models import STAFF_AUDIENCES, SurveyAudience, SurveyInvitation, SurveyTemplate
from app.visits.messages import first_name
from app.visits.models import Visit, VisitStatus

log = logging.getLogger("threshold.surveys")

CAUSE = "survey"
REMINDER_CAUSE = "survey_reminder"


@dataclass(frozen=True)
class Issue:
    """Where a survey is issued: the programme's trust, school and id."""

    trust_id: UUID
    school_id: UUID
    programme_id: UUID


async def on_visit_recorded(session: AsyncSession, visit: Visit) -> None:
    """The visits' outcome hook, in the recording transaction: the family's survey after a
    completed visit (told by the planner), and the immediate survey of each teacher for whom it
    was the last, if any of their visits took place."""
    where = Issue(visit.trust_id, visit.school_id, visit.programme_id)
    now = utcnow()
    if visit.status is VisitStatus.COMPLETED and visit.household_id is not None:
        await issue(session, where, SurveyAudience.PARENT, [visit.household_id], now)
    finished = await repository.teachers_finished(session, visit)
    if finished:
        await issue(session, where, SurveyAudience.TEACHER_IMMEDIATE, finished, now)


async def issue(
    session: AsyncSession,
    where: Issue,
    audience: SurveyAudience,
    recipients: Sequence[UUID],
    now: datetime,
) -> list[UUID]:
    """Issue the audience's current survey to each staff member (or household) not already
    issued it for the programme, and tell staff at once (families are told by the planner,
    under their programme's daily cap); the ids of the invitations issued."""
    await repository.ensure_defaults(session, where.trust_id)
    template = await repository.template(session, where.trust_id, audience)
    assert template is not None, "every audience has a current template once defaults are given"
    rows = [_invitation(where, template, recipient, now) for recipient in recipients]
    issued = set(await repository.insert_invitations(session, rows))
    fresh = [row for row in rows if row["id"] in issued]
    if template.audience in STAFF_AUDIENCES:
        await _tell(session, where, template, fresh, CAUSE, now)
    return [row["id"] for row in fresh]


def _invitation(
    where: Issue, template: SurveyTemplate, recipient: UUID, now: datetime
) -> dict[str, Any]:
    staff = template.audience in STAFF_AUDIENCES
    return {
        "id": uuid.uuid4(),
        "trust_id": where.trust_id,
        "school_id": where.school_id,
        "programme_id": where.programme_id,
        "template_id": template.id,
        "audience": template.audience,
        "staff_id": recipient if staff else None,
        "household_id": None if staff else recipient,
        "issue_key": f"{template.audience.value}:{where.programme_id}:{recipient}",
        "anonymous": template.anonymous,
        "issued_at": now,
        "draft": None,
        "responded": False,
        "reminders_sent": 0,
        "last_reminded_at": None,
        "version": FIRST_VERSION,
        "created_at": now,
        "updated_at": now,
    }


async def _tell(
    session: AsyncSession,
    where: Issue,
    template: SurveyTemplate,
    invitations: Sequence[dict[str, Any]],
    cause_kind: str,
    now: datetime,
    causes: Sequence[UUID] | None = None,
) -> int:
    """Write each invitation's message (a reminder's when `causes` names the reminders)."""
    if not invitations:
        return 0
    programme = await repository.programme(session, where.programme_id)
    common = await school_values(session, programme)
    values = {
        "school_name": common["school_name"],
        "school_phone": common["school_phone"],
        "survey_title": template.title,
    }
    cause_ids = list(causes) if causes is not None else [row["id"] for row in invitations]
    if template.audience in STAFF_AUDIENCES:
        drafts = await _staff_drafts(session, where, invitations, cause_ids, cause_kind, values)
    else:
        drafts = await _family_drafts(
            session, where, programme, invitations, cause_ids, cause_kind, values, now
        )
    return len(await outbox.write(session, where.trust_id, drafts, now=now))


async def _staff_drafts(
    session: AsyncSession,
    where: Issue,
    invitations: Sequence[dict[str, Any]],
    cause_ids: Sequence[UUID],
    cause_kind: str,
    values: dict[str, str],
) -> list[outbox.Draft]:
    names = await repository.staff_names(session, [row["staff_id"] for row in invitations])
    return [
        outbox.Draft(
            kind=MessageKind.STAFF_SURVEY,
            school_id=where.school_id,
            recipient=reach.staff(row["staff_id"]),
            cause_kind=cause_kind,
            cause_id=cause_id,
            values={**values, "staff_name": first_name(names.get(row["staff_id"], ""))},
        )
        for row, cause_id in zip(invitations, cause_ids, strict=True)
    ]


async def _family_drafts(
    session: AsyncSession,
    where: Issue,
    programme: Any,
    invitations: Sequence[dict[str, Any]],
    cause_ids: Sequence[UUID],
    cause_kind: str,
    values: dict[str, str],
    now: datetime,
) -> list[outbox.Draft]:
    """A family is sent its portal code and link again: the survey is answered in the portal.
    A household without a live code is not written to (the school issues one to reach it)."""
    households = [row["household_id"] for row in invitations]
    recipients = await reach.families(session, where.trust_id, households)
    names = await family_names(session, programme, households)
    drafts: list[outbox.Draft] = []
    for row, cause_id in zip(invitations, cause_ids, strict=True):
        household = row["household_id"]
        sealed = await repository.live_code_sealed(session, where.programme_id, household, now)
        code = unseal(sealed) if sealed else None
        if code is None:
            log.info("a survey's family has no live code", extra={"invitation": str(row["id"])})
            continue
        drafts.append(
            outbox.Draft(
                kind=MessageKind.FAMILY_SURVEY,
                school_id=where.school_id,
                programme_id=where.programme_id,  # counted against its daily cap
                household_id=household,
                recipient=recipients[household],
                cause_kind=cause_kind,
                cause_id=cause_id,
                values={
                    **values,
                    "family_name": names[household],
                    "code": codes.display(code),
                    "link": link(code),
                },
            )
        )
    return drafts


async def plan_surveys(now: datetime) -> int:
    """The planner (run about once a minute by the message worker): follow-ups falling due,
    families' surveys not yet told, then reminders. How many messages it wrote."""
    return await plan_follow_ups(now) + await plan_family_surveys(now) + await plan_reminders(now)


async def plan_family_surveys(now: datetime) -> int:
    """Tell each family with a live portal code of the survey issued to them in the last
    THRESHOLD_SURVEYS_REMINDER_DAYS (after that the reminders tell them), each programme in its
    own transaction; one past its daily cap is held back (logged)."""
    since = now - timedelta(days=get_settings().surveys_reminder_days)
    async with open_session(system_scope("families' surveys to tell")) as session:
        untold = await repository.untold_families(session, since, now, CAUSE)
    batches: dict[tuple[Issue, UUID], list[dict[str, Any]]] = {}
    for invitation in untold:
        where = Issue(invitation.trust_id, invitation.school_id, invitation.programme_id)
        batches.setdefault((where, invitation.template_id), []).append(_row_of(invitation))
    written = 0
    for (where, template_id), rows in batches.items():
        written += await _tell_capped(where, template_id, rows, now)
    return written


async def _tell_capped(
    where: Issue, template_id: UUID, rows: list[dict[str, Any]], now: datetime
) -> int:
    try:
        async with open_session(_scope(where)) as session:
            template = await repository.template_by_id(session, template_id)
            assert template is not None, "an invitation's template is kept"
            return await _tell(session, where, template, rows, CAUSE, now)
    except DailyCapReached as exc:
        log.warning(
            "families' surveys held back by the daily cap",
            extra={"programme_id": str(where.programme_id), **failure(exc)},
        )
        return 0


async def plan_follow_ups(now: datetime) -> int:
    """Each teacher's follow-up, once their immediate survey is old enough: issued in the
    programme's own transaction, so one failing holds up no other."""
    settings = get_settings()
    cutoff = now - timedelta(days=settings.surveys_follow_up_days)
    async with open_session(system_scope("surveys' follow-ups falling due")) as session:
        due = await repository.follow_ups_due(session, cutoff)
    by_programme: dict[Issue, list[UUID]] = {}
    for invitation in due:
        where = Issue(invitation.trust_id, invitation.school_id, invitation.programme_id)
        assert invitation.staff_id is not None, "a teacher's survey names its teacher"
        by_programme.setdefault(where, []).append(invitation.staff_id)
    written = 0
    for where, staff_ids in by_programme.items():
        async with open_session(_scope(where)) as session:
            written += len(
                await issue(session, where, SurveyAudience.TEACHER_FOLLOW_UP, staff_ids, now)
            )
    return written


async def plan_reminders(now: datetime) -> int:
    """A reminder of each survey not answered, at most the configured number, spaced apart."""
    settings = get_settings()
    if settings.surveys_reminders_max == 0:
        return 0
    last_before = now - timedelta(days=settings.surveys_reminder_days)
    async with open_session(system_scope("surveys' reminders falling due")) as session:
        due = await repository.reminders_due(session, last_before, settings.surveys_reminders_max)
    written = 0
    for invitation in due:
        where = Issue(invitation.trust_id, invitation.school_id, invitation.programme_id)
        try:
            async with open_session(_scope(where)) as session:
                written += await _remind(session, where, invitation.id, last_before, now)
        except DailyCapReached as exc:
            log.warning(
                "a survey's reminder held back by the daily cap",
                extra={"programme_id": str(where.programme_id), **failure(exc)},
            )
    return written


async def _remind(
    session: AsyncSession, where: Issue, invitation_id: UUID, last_before: datetime, now: datetime
) -> int:
    """Read again under its lock: another worker may have answered or reminded it meanwhile."""
    invitation = await repository.invitation_for_update(session, invitation_id)
    if invitation is None or invitation.responded:
        return 0
    if (invitation.last_reminded_at or invitation.issued_at) > last_before:
        return 0
    template = await repository.template_by_id(session, invitation.template_id)
    assert template is not None, "an invitation's template is kept"
    invitation.reminders_sent += 1
    invitation.last_reminded_at = now
    cause = uuid.uuid5(invitation.id, f"reminder {invitation.reminders_sent}")
    row = _row_of(invitation)
    return await _tell(session, where, template, [row], REMINDER_CAUSE, now, [cause])


def _row_of(invitation: SurveyInvitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "staff_id": invitation.staff_id,
        "household_id": invitation.household_id,
    }


def _scope(where: Issue) -> Scope:
    return Scope(trust_id=where.trust_id, school_ids=frozenset({where.school_id}))
