"""The surveys' refusals, each a problem+json type of its own."""

from app.core.errors import Conflict, InvalidState


class SurveyAlreadyAnswered(Conflict):
    type, title = "survey-already-answered", "This survey has already been answered"


class SurveyTemplateNotIssuable(InvalidState):
    type, title = "survey-template-not-issuable", "This survey template cannot be used"
