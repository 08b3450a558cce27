"""What a concern's workflow refuses, as problem types."""

from app.core.errors import Forbidden, InvalidState, Unprocessable


class NotAcknowledged(InvalidState):
    type, title = "concern-not-acknowledged", "The concern has not been acknowledged"


class StatusRefused(InvalidState):
    type, title = "concern-status-refused", "The concern cannot move to that status"


class SignOffRefused(InvalidState):
    type, title = "concern-sign-off-refused", "The closing cannot be signed off"


class UnknownReference(Unprocessable):
    type, title = "concern-unknown-reference", "The concern names something that is not there"


class FreshSignInRequired(Forbidden):
    type, title = "fresh-sign-in-required", "Sign in again to open this concern"


class TransferRefused(InvalidState):
    type, title = "protection-file-transfer-refused", "The transfer cannot take that step"


class TransferUnknownSchool(Unprocessable):
    type, title = "protection-file-transfer-unknown-school", "There is no such receiving school"
