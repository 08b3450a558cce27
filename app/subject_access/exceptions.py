"""What a subject access request refuses, as problem types."""

from app.core.errors import InvalidState


class AlreadyReleased(InvalidState):
    type, title = "safeguarding-already-released", "Safeguarding records are already released"
