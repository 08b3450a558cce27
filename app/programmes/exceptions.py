from app.core.errors import Conflict, InvalidState


class ProgrammeNameTaken(Conflict):
    type, title = "programme-name-taken", "Programme name already used"


class NotInDraft(InvalidState):
    type, title = "programme-not-draft", "Programme no longer in draft"


class TransitionRefused(InvalidState):
    type, title = "transition-refused", "Status change not allowed"
