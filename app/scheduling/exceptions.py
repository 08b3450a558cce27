from app.core.errors import InvalidState


class NotScheduling(InvalidState):
    type, title = "programme-not-scheduling", "The programme is not being scheduled"


class RunUnderWay(InvalidState):
    type, title = "schedule-run-under-way", "A schedule run is already under way"
