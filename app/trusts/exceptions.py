from app.core.errors import Conflict, Unprocessable


class UrnTaken(Conflict):
    type, title = "urn-taken", "URN already registered"


class ParticipationReasonMissing(Unprocessable):
    type, title = "participation-reason-missing", "Participation reason required"


class UnknownSchool(Unprocessable):
    """A school named in a body that the caller cannot see: invalid input, whether it exists
    elsewhere or not, so the answer never tells one from the other."""

    type, title = "unknown-school", "Unknown school"
