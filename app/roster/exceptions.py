from app.core.errors import Forbidden, Unprocessable


class RosterRejected(Unprocessable):
    type, title = "roster-rejected", "Roster rows rejected"


class FilterNotPermitted(Forbidden):
    type, title = "filter-not-permitted", "Filter not permitted"


class ContactsNotPermitted(Forbidden):
    type, title = "contacts-not-permitted", "Contact details not permitted"
