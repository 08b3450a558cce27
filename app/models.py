"""Imports every table model so the metadata is complete (for Alembic and the tests)."""

from app.core.audit import AuditEntry
from app.core.idempotency import IdempotencyRecord
from app.core.jobs import Job
from app.core.ratelimit import RateLimitHit
from app.integrations.models import IntegrationClient, IntegrationClientSchool
from app.notifications.models import LoggedMessage, Message, MessageAttempt, MessageTemplate
from app.parents.answers_models import HouseholdAnswer
from app.parents.models import Invitation
from app.programmes.models import (
    DayDuty,
    HouseholdExemption,
    SecondAdult,
    Slot,
    TeamMember,
    VisitProgramme,
)
from app.roster.models import (
    ClassStaff,
    Contact,
    Household,
    HouseholdSource,
    Pupil,
    RosterImport,
    SchoolClass,
)
from app.safeguarding.models import (
    ChronologyEntry,
    Concern,
    ConcernPupil,
    ProtectionFile,
    ProtectionFileTransfer,
    TransferredConcern,
)
from app.scheduling.models import ScheduleRun
from app.staff.models import (
    AuthSession,
    RefreshToken,
    RoleGrant,
    StaffMember,
    StaffUnavailability,
)
from app.subject_access.models import SubjectAccessRequest
from app.surveys.models import SurveyInvitation, SurveyResponse, SurveyTemplate
from app.trusts.models import School, Trust
from app.visits.alerts_models import VisitAlert
from app.visits.calendar_models import CalendarFeed
from app.visits.change_requests_models import VisitChangeRequest
from app.visits.models import Visit, VisitAdult, VisitChange, VisitPupil
from app.visits.notes_models import VisitNote, VisitNoteVersion
from app.visits.replans_models import Replan

__all__ = [
    "AuditEntry",
    "AuthSession",
    "CalendarFeed",
    "ChronologyEntry",
    "ClassStaff",
    "Concern",
    "ConcernPupil",
    "Contact",
    "DayDuty",
    "Household",
    "HouseholdAnswer",
    "HouseholdExemption",
    "HouseholdSource",
    "IdempotencyRecord",
    "IntegrationClient",
    "IntegrationClientSchool",
    "Invitation",
    "Job",
    "LoggedMessage",
    "Message",
    "MessageAttempt",
    "MessageTemplate",
    "ProtectionFile",
    "ProtectionFileTransfer",
    "Pupil",
    "RateLimitHit",
    "RefreshToken",
    "Replan",
    "RoleGrant",
    "RosterImport",
    "ScheduleRun",
    "School",
    "SchoolClass",
    "SecondAdult",
    "Slot",
    "StaffMember",
    "StaffUnavailability",
    "SubjectAccessRequest",
    "SurveyInvitation",
    "SurveyResponse",
    "SurveyTemplate",
    "TeamMember",
    "TransferredConcern",
    "Trust",
    "Visit",
    "VisitAdult",
    "VisitAlert",
    "VisitChange",
    "VisitChangeRequest",
    "VisitNote",
    "VisitNoteVersion",
    "VisitProgramme",
    "VisitPupil",
]
