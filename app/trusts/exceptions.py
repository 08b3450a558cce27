from app.core.errors import Conflict, Unprocessable


class UrnTaken(Conflict):
    type, title = "urn-taken", "URN already registered"


class ParticipationReasonMissing(Unprocessable):
    type, title = "participation-reason-missing", "Participation reason required"
