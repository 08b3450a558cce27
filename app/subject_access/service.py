"""Subject access requests (UK GDPR Art. 15): SLT record a request made by a pupil or a parent,
and export the pupil's data for it as JSON: the roster record, the household and its contacts,
the visits and their outcomes, the visit notes and the household's portal answers.

The pupil's safeguarding records are left out unless one of the school's DSLs (or the trust's)
releases them for this request, giving a reason (KCSIE: child protection records are shared on a
need-to-know basis; UK GDPR lets a school withhold what would put a child at risk). To anyone but
a DSL the release answers 404, whether or not there is anything to release. Recording, releasing
and every export are audited; exports are rate-limited as the roster's are.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, ratelimit
from app.core.errors import Forbidden
from app.core.permissions import Permission
from app.core.principal import Principal
from app.core.types import utcnow
from app.roster import export as roster_export
from app.roster.repository import PupilRepository
from app.safeguarding import service as safeguarding
from app.subject_access import repository
from app.subject_access.exceptions import AlreadyReleased
from app.subject_access.models import SubjectAccessRequest
from app.subject_access.repository import ReleasableRepository, RequestRepository
from app.subject_access.schemas import (
    ExportedAnswer,
    ExportedContact,
    ExportedHousehold,
    ExportedPupil,
    ExportedVisit,
    ExportedVisitNote,
    SafeguardingRelease,
    SubjectAccessExport,
    SubjectAccessRequestCreate,
    SubjectAccessRequestRead,
)

SUBJECT = "subject_access_request"


async def record_request(
    session: AsyncSession, who: Principal, pupil_id: UUID, body: SubjectAccessRequestCreate
) -> SubjectAccessRequestRead:
    """SLT (SUBJECT_ACCESS at the pupil's school): 404 for a pupil out of scope, then 403."""
    pupil = await PupilRepository(session, who).get_permitted(pupil_id, Permission.SUBJECT_ACCESS)
    request = SubjectAccessRequest(
        trust_id=pupil.trust_id,
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        recorded_by=who.id,
        **body.model_dump(),
    )
    session.add(request)
    await session.flush()
    await _audit(session, who, "subject_access.requested", request)
    return SubjectAccessRequestRead.model_validate(request)


async def get_request(
    session: AsyncSession, who: Principal, request_id: UUID
) -> SubjectAccessRequest:
    """SLT who manage subject access, and the DSLs who decide the release (403 for the school's
    other staff, 404 for anyone who cannot see the school)."""
    request = await RequestRepository(session, who).get(request_id)
    at = request.school_id
    if not (who.can(Permission.SUBJECT_ACCESS, at) or who.can(Permission.SAFEGUARDING_READ, at)):
        raise Forbidden("Only SLT and the DSLs of the school read its subject access requests.")
    return request


async def release_safeguarding(
    session: AsyncSession, who: Principal, request_id: UUID, body: SafeguardingRelease
) -> SubjectAccessRequestRead:
    """A DSL of the school (or the trust's) releases the pupil's safeguarding records into this
    request's export, once (409 `safeguarding-already-released` after). 404 to anyone else."""
    request = await ReleasableRepository(session, who).get_for_update(request_id)
    if request.safeguarding_released_at is not None:
        raise AlreadyReleased(
            "A DSL has already released the safeguarding records for this request; a release "
            "is recorded once and never changed. Record a new request to decide again."
        )
    request.safeguarding_released_at = utcnow()
    request.safeguarding_released_by = who.id
    request.safeguarding_release_reason = body.reason
    request.updated_at = request.safeguarding_released_at
    await session.flush()
    # Safeguarding's own action: the audit log shows it to nobody outside need-to-know.
    await _audit(session, who, "safeguarding.subject_access_released", request)
    return SubjectAccessRequestRead.model_validate(request)


async def export(
    session: AsyncSession, who: Principal, request_id: UUID, ip_address: str
) -> SubjectAccessExport:
    """SLT (SUBJECT_ACCESS): 404, then 403, then 429 when exporting too often."""
    request = await RequestRepository(session, who).get_permitted(
        request_id, Permission.SUBJECT_ACCESS
    )
    await ratelimit.spend(roster_export.limits(who, ip_address))
    pupil = await repository.pupil(session, request.pupil_id)
    released = request.safeguarding_released_at is not None
    concerns = (
        await safeguarding.released_for_subject_access(session, who, pupil.school_id, pupil.id)
        if released
        else []
    )
    found = await _household(session, pupil.household_id)
    exported = SubjectAccessExport(
        request=SubjectAccessRequestRead.model_validate(request),
        exported_at=utcnow(),
        pupil=ExportedPupil.model_validate(pupil),
        class_name=await repository.class_name(session, pupil.class_id),
        household=found,
        visits=[
            ExportedVisit.model_validate(visit, update={"pupil_outcome": outcome})
            for visit, outcome in await repository.visits(session, pupil)
        ],
        visit_notes=[
            ExportedVisitNote.model_validate(n) for n in await repository.notes(session, pupil)
        ],
        portal_answers=[
            ExportedAnswer.model_validate(a) for a in await repository.answers(session, pupil)
        ],
        safeguarding_released=released,
        concerns=concerns,
    )
    await _audit(session, who, "subject_access.exported", request)
    return exported


async def _household(session: AsyncSession, household_id: UUID | None) -> ExportedHousehold | None:
    household = await repository.household(session, household_id)
    if household is None:
        return None
    contacts = await repository.contacts(session, household.id)
    return ExportedHousehold.model_validate(
        household, update={"contacts": [ExportedContact.model_validate(c) for c in contacts]}
    )


async def _audit(
    session: AsyncSession, who: Principal, action: str, request: SubjectAccessRequest
) -> None:
    """Ids only: never the requester's name, the reason or anything exported."""
    await audit.record(
        session,
        who,
        action,
        subject_type=SUBJECT,
        subject_id=request.id,
        school_id=request.school_id,
        details={"pupil_id": str(request.pupil_id)},
    )
