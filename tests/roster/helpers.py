"""A roster import queued by hand, for tests that need one without uploading a bundle."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.jobs import enqueue
from app.roster.models import ImportFormat, RosterImport
from app.trusts.models import School


async def queued_import(session: AsyncSession, school: School, content: bytes) -> RosterImport:
    """A OneRoster import of `content` at `school`, its job queued and naming it."""
    job = await enqueue(session, "roster.import", {}, trust_id=school.trust_id, school_id=school.id)
    upload = RosterImport(
        trust_id=school.trust_id,
        school_id=school.id,
        job_id=job.id,
        format=ImportFormat.ONEROSTER,
        filename="bundle.zip",
        size_bytes=len(content),
        content=content,
    )
    session.add(upload)
    await session.flush()
    job.payload = {"import_id": str(upload.id)}
    return upload
