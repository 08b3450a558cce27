from app.core.errors import TooManyRequests


class DailyCapReached(TooManyRequests):
    """More messages for one programme today than its cap allows: a mistake (issuing twice, a
    wrong filter) must not text a whole school, so nothing of the request is written."""

    type, title = "message-daily-cap", "The programme's messages for today would pass their cap"
