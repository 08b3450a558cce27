"""The trust's survey templates: read by every member of its staff, written by its admins.

A template is the trust's, one per audience (its key). Until it has been issued a change is made
in place; once issued it is frozen, and a change is the next version under the same key, issued
from then on, while the invitations already out keep the version they were issued with. The
shipped defaults are given to a trust the first time its templates are needed. Raises NotFound
(404: a trust the caller cannot see, a version that does not exist), Forbidden (403: writing
without the permission), PreconditionRequired (428) and PreconditionFailed (412: a stale
If-Match) and Unprocessable (422).
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.concurrency import ensure_current, etag_of, save_versioned
from app.core.errors import NotFound
from app.core.permissions import Permission
from app.core.principal import Principal
from app.surveys import questions, repository
from app.surveys.models import SurveyAudience, SurveyTemplate
from app.surveys.schemas import (
    SurveyQuestion,
    SurveyTemplateRead,
    SurveyTemplateWrite,
    SurveyTranslation,
)
from app.trusts.repository import TrustRepository


async def list_templates(
    session: AsyncSession, who: Principal, trust_id: UUID
) -> list[SurveyTemplateRead]:
    """The current version of each of the trust's surveys."""
    await TrustRepository(session, who).get(trust_id)
    await repository.ensure_defaults(session, trust_id)
    rows = await repository.current_templates(session, trust_id)
    frozen = await repository.issued(session, [row.id for row in rows])
    return [describe(row, frozen=row.id in frozen) for row in rows]


async def get_template(
    session: AsyncSession,
    who: Principal,
    trust_id: UUID,
    key: SurveyAudience,
    version: int | None = None,
) -> tuple[SurveyTemplateRead, str]:
    """One survey, at its current version or at the version asked for, with its ETag."""
    await TrustRepository(session, who).get(trust_id)
    await repository.ensure_defaults(session, trust_id)
    row = await repository.template(session, trust_id, key, version)
    if row is None:
        raise NotFound(f"The trust's {key} survey has no version {version}.")
    return await _read(session, row)


async def save_template(
    session: AsyncSession,
    who: Principal,
    trust_id: UUID,
    key: SurveyAudience,
    body: SurveyTemplateWrite,
    if_match: str | None,
) -> tuple[SurveyTemplateRead, str]:
    """Change the trust's survey: in place while never issued, else as its next version.
    If-Match must name the current version read (428 without it, 412 when stale)."""
    trusts = TrustRepository(session, who)
    # Writers of one trust's surveys take turns: two new versions cannot both be number n+1.
    trust = await trusts.get_for_update(trust_id)
    trusts.permit(trust, Permission.SURVEYS_TEMPLATES)
    questions.check_template(body.questions, body.translations)
    await repository.ensure_defaults(session, trust_id)
    current = await repository.template(session, trust_id, key, for_update=True)
    assert current is not None, "every key has a current version once defaults are given"
    ensure_current(current, if_match)
    changes = body.model_dump(mode="json")
    if await repository.issued(session, [current.id]):
        row = _next_version(current, changes, who.id)
        session.add(row)
        current.current = False
        await session.flush()
    else:
        row = current
        await save_versioned(session, row, {**changes, "updated_by": who.id}, if_match)
    await audit.record(
        session,
        who,
        "survey_template.saved",
        subject_type="survey_template",
        subject_id=row.id,
        trust_id=trust_id,
        details={"key": row.key, "version": row.version_number},
    )
    return await _read(session, row)


def _next_version(current: SurveyTemplate, changes: dict[str, object], by: UUID) -> SurveyTemplate:
    return SurveyTemplate.model_validate(
        {
            **changes,
            "trust_id": current.trust_id,
            "key": current.key,
            "audience": current.audience,
            "version_number": current.version_number + 1,
            "current": True,
            "updated_by": by,
        }
    )


async def _read(session: AsyncSession, row: SurveyTemplate) -> tuple[SurveyTemplateRead, str]:
    frozen = bool(await repository.issued(session, [row.id]))
    return describe(row, frozen=frozen), etag_of(row)


def describe(row: SurveyTemplate, *, frozen: bool) -> SurveyTemplateRead:
    return SurveyTemplateRead(
        key=row.key,
        version=row.version_number,
        audience=row.audience,
        title=row.title,
        introduction=row.introduction,
        anonymous=row.anonymous,
        questions=[SurveyQuestion.model_validate(q) for q in row.questions],
        translations={
            language: SurveyTranslation.model_validate(words)
            for language, words in row.translations.items()
        },
        current=row.current,
        frozen=frozen,
        updated_at=row.updated_at,
    )
