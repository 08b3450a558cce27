from app.core.errors import BadRequest, Conflict, Forbidden


class EmailTaken(Conflict):
    type, title = "email-taken", "Email already registered"


class OwnAccount(Conflict):
    type, title = "own-account", "Not on your own account"


class AccountAlreadyActive(Conflict):
    type, title = "account-already-active", "Account already has a password"


class GrantNotPermitted(Forbidden):
    type, title = "grant-not-permitted", "Role outside your powers"


class InvalidGrant(BadRequest):
    """OAuth 2.0's invalid_grant: the same answer for every bad credential, so nothing leaks."""

    type, title = "invalid-grant", "Invalid credentials"

    def __init__(self, detail: str = "The email or password is incorrect.") -> None:
        super().__init__(detail, extra={"error": "invalid_grant"})


class InvalidInvitation(BadRequest):
    type, title = "invalid-invitation", "Invitation not valid"


class PasswordInUse(BadRequest):
    type, title = "password-in-use", "Password already opens another account"


class DuplicatePeriod(Conflict):
    type, title = "duplicate-unavailability", "Period already recorded"
