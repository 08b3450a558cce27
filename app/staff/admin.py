"""Command-line administration that runs without a signed-in caller."""

from app.core import audit
from app.core.db import open_session
from app.core.permissions import Role
from app.core.security import hash_password
from app.core.tenancy import system_scope
from app.staff.exceptions import EmailTaken
from app.staff.models import RoleGrant, StaffMember
from app.staff.repository import SignInRepository


async def create_platform_admin(*, email: str, full_name: str, password: str) -> None:
    email = email.strip().lower()
    if len(password) < 12:
        raise ValueError("passwords are at least 12 characters")
    async with open_session(system_scope("create-admin on the command line")) as session:
        if await SignInRepository(session).holder_of_email(None, email) is not None:
            raise EmailTaken("A staff account with this email address already exists.")
        admin = StaffMember(
            trust_id=None, email=email, full_name=full_name, password_hash=hash_password(password)
        )
        session.add(admin)
        await session.flush()
        session.add(RoleGrant(trust_id=None, staff_id=admin.id, role=Role.PLATFORM_ADMIN))
        await audit.record(
            session,
            None,
            "staff.created",
            subject_type="staff_member",
            subject_id=admin.id,
            details={"roles": ["platform_admin"], "via": "cli"},
        )
