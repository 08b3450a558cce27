from app.core.errors import Conflict, InvalidState, Unprocessable


class ProgrammeNameTaken(Conflict):
    type, title = "programme-name-taken", "Programme name already used"


class NotInDraft(InvalidState):
    type, title = "programme-not-draft", "Programme no longer in draft"


class TransitionRefused(InvalidState):
    type, title = "transition-refused", "Status change not allowed"


class HouseholdNotInScope(InvalidState):
    type, title = "household-not-in-scope", "Household not in the programme"


class TeamsLocked(InvalidState):
    type, title = "teams-locked", "Teams fixed once the schedule is published"


class StaffNotEligible(Unprocessable):
    type, title = "staff-not-eligible", "Staff member cannot visit"


class SettingsRefused(Unprocessable):
    type, title = "programme-settings-invalid", "Programme settings do not make sense"


class ScheduleMissing(InvalidState):
    type, title = "schedule-missing", "No schedule to publish"


class ScheduleIncomplete(InvalidState):
    type, title = "schedule-incomplete", "Families without a visit"


class ProgrammeClosed(InvalidState):
    type, title = "programme-closed", "Programme closed"


class OnCallMissing(InvalidState):
    type, title = "on-call-dsl-missing", "A visit day has no safeguarding lead on call"
