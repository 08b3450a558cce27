from app.core.errors import InvalidState, Unprocessable


class AnswerRefused(Unprocessable):
    type, title = "answer-invalid", "The answer cannot be saved"


class WindowClosed(InvalidState):
    type, title = "preferences-closed", "The window for answers is closed"
