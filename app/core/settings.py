"""The one settings object. Every knob is an environment variable prefixed THRESHOLD_ (plus DATABASE_URL)."""

import ipaddress
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

Environment = Literal["development", "test", "production"]

# What normalise_database_url makes of the URLs Threshold accepts; any other driver is refused.
_DRIVERS = {"postgresql+asyncpg", "sqlite+aiosqlite"}
_EXPECTED = "expected postgresql://… or sqlite:///…"


class ConfigurationError(Exception):
    """The service cannot start as configured: one line saying what is wrong and where to fix
    it (the variable), never a secret's value. The CLI prints it and exits non-zero."""


class Settings(BaseSettings):
    # Errors never quote the value given: it may be a key, or a URL with its password.
    model_config = SettingsConfigDict(
        env_prefix="THRESHOLD_", extra="ignore", hide_input_in_errors=True
    )

    environment: Environment = "development"
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "THRESHOLD_DATABASE_URL"),
        description="SQLAlchemy URL; empty means the embedded SQLite file under data_dir.",
    )
    data_dir: Path = Path("var")
    database_pool_size: int = 10
    database_statement_timeout_ms: int = 10_000
    database_pool_timeout_ms: int = Field(
        default=2_000,
        gt=0,
        description="How long a request waits for a pooled connection before answering 503; "
        "below the statement timeout, so an overloaded database is reported quickly.",
    )

    jwt_issuer: str = "threshold"
    jwt_private_keys: str = Field(
        default="",
        description="PEM private keys (Ed25519 or P-256), concatenated; the first signs.",
    )
    access_token_minutes: int = 15
    refresh_token_days: int = 14

    sealing_keys: str = Field(
        default="",
        description="Fernet keys, comma-separated; the first seals. Seals parents' invitation "
        "codes so the office (and the SMS worker) can read them back.",
    )
    parent_token_minutes: int = 60
    parent_portal_url: str = Field(
        default="https://portal.threshold.invalid/p",
        description="Where a parent's invitation link points; the code is appended.",
    )
    parent_code_max_failures: int = Field(
        default=10,
        description="Codes that match no invitation, per address, in the window before 429. A "
        "valid code is never refused for its address's failures (see parent_code_max_uses).",
    )
    parent_code_max_uses: int = Field(
        default=20,
        description="Exchanges of one invitation's code (working or not) in the window before "
        "429, from whatever address: a real code is throttled on its own.",
    )
    parent_code_failure_window_seconds: int = 900

    login_max_failures: int = 5
    login_failure_window_seconds: int = 900
    login_known_address_days: int = Field(
        default=90,
        description="An account that signed in from an address within this many days is not "
        "held back by other people's failures from that address (its own limit still applies). "
        "Long enough to outlast the summer holiday, when a school's staff all return at once.",
    )
    # Argon2 costs tens of milliseconds of CPU and 64 MiB per check. Checks run in threads, a
    # few at a time, so failed sign-ins cannot occupy the event loop or the machine.
    password_hash_concurrency: int = Field(
        default=2, ge=1, description="Password hashes computed at once, per API process."
    )
    password_hash_queue: int = Field(
        default=16,
        ge=0,
        description="Password checks that may wait for a free slot, per API process; beyond "
        "that a sign-in is answered 503 at once instead of piling up.",
    )

    forwarded_allow_ips: str = Field(
        default="",
        description="Proxies trusted to set X-Forwarded-For (and X-Forwarded-Proto), as "
        "comma-separated IP addresses or networks, or *. Empty trusts none: the address "
        "that connected is the client's. Per-address throttles key on the result.",
    )

    # CSV exports put a whole school's pupils in a file: counted per person (or machine client)
    # and per address, so a stolen token or a script cannot copy the roster over and over.
    export_max_per_user: int = 30
    export_max_per_client: int = 60
    export_max_per_address: int = 120
    export_window_seconds: int = 3600

    # Every trust shares the workers: one school queueing long runs must not hold up the rest.
    jobs_max_per_school: int = Field(
        default=3,
        ge=1,
        description="Background jobs (imports, schedule runs) a school may have queued or "
        "running at once; more are refused with 429.",
    )
    jobs_max_per_trust: int = Field(
        default=10,
        ge=1,
        description="Background jobs a trust may have queued or running at once, across its "
        "schools; more are refused with 429.",
    )

    # Visits in the field (app/visits/board.py): when the day's board flags a visit overdue.
    visits_overdue_checkin_minutes: int = Field(
        default=20, ge=1, description="Nobody checked in this long after a visit's planned start."
    )
    visits_overdue_checkout_minutes: int = Field(
        default=15, ge=1, description="Still checked in this long after a visit's planned end."
    )
    visits_alert_escalate_minutes: int = Field(
        default=10,
        ge=1,
        description="An overdue visit's alert not acknowledged within this many minutes goes to "
        "the next person in the school's chain (the office, then SLT), and so on.",
    )

    # Surveys (app/surveys): the teachers' follow-up, and reminders to those who have not answered.
    surveys_follow_up_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="A teacher's follow-up survey is issued this many days after their "
        "immediate one (the same core questions, so the two compare).",
    )
    surveys_reminders_max: int = Field(
        default=2,
        ge=0,
        le=10,
        description="At most this many reminders of a survey not yet answered.",
    )
    surveys_reminder_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="A survey not answered this many days after it was issued (or last "
        "reminded) is reminded.",
    )

    surveys_open_days: int = Field(
        default=21,
        ge=1,
        le=180,
        description="A programme's survey of one audience stays open this many days after its "
        "last invitation was issued (or until everyone has answered); no counts of its "
        "responses show while it is open.",
    )
    # Reports (app/reports) and survey results: small numbers could point at a family or a
    # member of staff.
    reports_suppressed_below: int = Field(
        default=10,
        ge=1,
        le=100,
        description="A count smaller than this (other than 0) reads null in reports and survey "
        "results, and so does a second cell wherever the first could be worked out from a "
        "total.",
    )

    # Safeguarding (app/safeguarding): an urgent concern nobody acknowledges goes further.
    safeguarding_escalate_minutes: int = Field(
        default=10,
        ge=1,
        description="An urgent (or immediate danger) concern not acknowledged within this many "
        "minutes of being raised is escalated to the deputy DSLs and the trust's DSLs.",
    )
    safeguarding_repeat_minutes: int = Field(
        default=20,
        ge=1,
        description="…and escalated again every this many minutes until a DSL acknowledges it.",
    )
    safeguarding_elevated_after_days: int = Field(
        default=365,
        ge=1,
        description="Opening a closed concern raised longer ago than this needs a fresh sign-in.",
    )
    safeguarding_fresh_signin_minutes: int = Field(
        default=5,
        ge=1,
        description="A sign-in this recent is fresh enough to open an old closed concern.",
    )
    safeguarding_transfer_overdue_days: int = Field(
        default=5,
        ge=1,
        description="A child protection file sent to another school with no receipt or "
        "confirmation this many days after it was sent alerts the sending school's DSLs.",
    )
    safeguarding_counts_suppressed_below: int = Field(
        default=10,
        ge=1,
        description="A trust admin's count of a school's concerns smaller than this reads null: "
        "a small number could point at a family.",
    )

    # Messages (app/notifications). Family messages wait out quiet hours; staff alerts do not.
    messages_quiet_hours_start: time = Field(
        default=time(20, 0), description="Europe/London: family messages wait from this time…"
    )
    messages_quiet_hours_end: time = Field(
        default=time(8, 0), description="…until this time the next morning."
    )
    messages_daily_cap_per_programme: int = Field(
        default=1000,
        ge=1,
        description="Messages one programme may write in a day (Europe/London); a request that "
        "would pass it is refused with 429 and writes nothing, so a mistake cannot text a "
        "whole school twice.",
    )
    messages_delivery: Literal["notify", "log"] = Field(
        default="log",
        description="notify: sent through GOV.UK Notify (THRESHOLD_NOTIFY_*). log: recorded as "
        "what would have been sent, readable through the API; refused in production.",
    )

    # Visits in the field (app/visits).
    visit_notes_edit_days: int = Field(
        default=7,
        ge=0,
        description="Days after it is first written that a note after a visit may be changed "
        "by its author; then it is locked (every version is kept).",
    )

    max_body_bytes: int = 1024 * 1024
    max_bulk_body_bytes: int = Field(
        default=32 * 1024 * 1024,
        description="Cap for a whole roster snapshot or an uploaded MIS file.",
    )
    max_import_unpacked_bytes: int = Field(
        default=32 * 1024 * 1024,
        description="Cap on the bytes an uploaded OneRoster zip may unpack to: declared in its "
        "directory (refused at upload) and actually read (the import fails).",
    )
    max_import_compression_ratio: int = Field(
        default=100,
        description="A zip entry over 1 MiB declaring more unpacked bytes per packed byte than "
        "this is refused at upload as a likely zip bomb (CSV packs about 5-20 times).",
    )
    max_json_depth: int = Field(
        default=32,
        description="JSON bodies nested deeper are refused (400) while they stream in.",
    )
    docs_enabled: bool | None = Field(
        default=None, description="Serve /docs and /redoc; defaults to on outside production."
    )
    cors_origins: list[str] = []
    hsts: bool = False
    log_level: str = "INFO"
    in_process_worker: bool | None = Field(
        default=None,
        description="Run background jobs inside the API process; defaults to on for the "
        "embedded SQLite development setup, off otherwise (run `threshold worker`).",
    )

    # GOV.UK Notify. Without a key nothing is sent through Notify (development and tests use the
    # log channel, or a local fake: point the base URL at `threshold fake-notify`).
    notify_api_key: str | None = Field(
        default=None,
        description="A Notify API key ({key name}-{service id}-{secret}); a secret, never logged.",
    )
    notify_base_url: str = Field(
        default="https://api.notifications.service.gov.uk",
        description="Notify's API; a local fake (`threshold fake-notify`) in development.",
    )
    notify_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="How long one call to Notify may take. A send that times out may still "
        "have been stored, so it is looked up by reference before it is sent again.",
    )
    notify_sms_template_id: str | None = Field(
        default=None,
        description="The Notify text message template whose whole content is ((body)).",
    )
    notify_email_template_id: str | None = Field(
        default=None,
        description="The Notify email template: subject ((subject)), content ((body)).",
    )
    notify_rate_per_minute: int = Field(
        default=2_900,
        ge=1,
        description="Requests to Notify (sends and look-ups) a minute, counted across every "
        "worker in the database. Notify allows 3,000 a key; the margin covers the moment a "
        "request is counted (when reserved) differing from when it arrives.",
    )
    notify_callback_token: str | None = Field(
        default=None,
        description="The bearer token Notify's delivery receipts carry (set in Notify's "
        "callback settings); receipts without it are refused.",
    )

    @model_validator(mode="after")
    def _notify_configured(self) -> "Settings":
        # Checked at start-up: a worker must not claim messages it cannot send.
        if self.messages_delivery == "notify":
            for name in ("notify_api_key", "notify_sms_template_id", "notify_email_template_id"):
                if not getattr(self, name):
                    raise ValueError(
                        f"THRESHOLD_{name.upper()} must be set when "
                        "THRESHOLD_MESSAGES_DELIVERY is notify"
                    )
        return self

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        # uvicorn reads a mistyped entry as a literal that matches nothing, silently.
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry)  # 10.0.0.1/8 is refused too
                except ValueError as exc:
                    raise ValueError(f"not an IP address or network: {entry!r}") from exc
        return ",".join(entries)

    @model_validator(mode="after")
    def _pool_wait_below_statement_timeout(self) -> "Settings":
        # A request queued behind a full pool would otherwise take longer to be refused than a
        # statement takes to be cancelled: the wait, not the database, would set the latency.
        if self.database_pool_timeout_ms >= self.database_statement_timeout_ms:
            raise ValueError(
                "THRESHOLD_DATABASE_POOL_TIMEOUT_MS must be below "
                "THRESHOLD_DATABASE_STATEMENT_TIMEOUT_MS"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _a_database_url(cls, url: str) -> str:
        url = url.strip()
        if url:
            parse_database_url(url)
        return url

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        # A production deployment must never mint tokens with a key generated on the fly:
        # other processes could not verify them and a restart would log everyone out.
        if self.environment == "production":
            if not self.jwt_private_keys.strip():
                raise ValueError("THRESHOLD_JWT_PRIVATE_KEYS must be set in production")
            if not self.sealing_keys.strip():
                raise ValueError("THRESHOLD_SEALING_KEYS must be set in production")
            if not self.database_url.startswith("postgresql"):
                raise ValueError("DATABASE_URL must point at PostgreSQL in production")
            # The log channel reaches nobody: in production it would drop every family's
            # invitation silently. Without the callback token no receipt is accepted, so no
            # failed text would reach the office's could-not-reach list.
            if self.messages_delivery != "notify":
                raise ValueError("THRESHOLD_MESSAGES_DELIVERY must be notify in production")
            if not self.notify_callback_token:
                raise ValueError("THRESHOLD_NOTIFY_CALLBACK_TOKEN must be set in production")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return self.embedded_database_url

    @property
    def embedded_database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.data_dir / 'threshold.db'}"

    @property
    def uses_embedded_database(self) -> bool:
        """The SQLite file under data_dir, the default: nobody else's database."""
        return self.effective_database_url == self.embedded_database_url

    @property
    def database_variable(self) -> str:
        """The variable to change when the database is wrong, for messages."""
        return "DATABASE_URL" if self.database_url else "THRESHOLD_DATA_DIR"

    @property
    def runs_worker_in_process(self) -> bool:
        if self.in_process_worker is not None:
            return self.in_process_worker
        return self.environment == "development" and self.effective_database_url.startswith(
            "sqlite"
        )

    @property
    def serve_docs(self) -> bool:
        if self.docs_enabled is not None:
            return self.docs_enabled
        return self.environment != "production"


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick the async driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def parse_database_url(url: str) -> URL:
    """The URL with its async driver, or ValueError naming DATABASE_URL (never its value)."""
    try:
        parsed = make_url(normalise_database_url(url))
    except (ArgumentError, ValueError):
        raise ValueError(f"DATABASE_URL is not a database URL ({_EXPECTED})") from None
    if parsed.drivername not in _DRIVERS:
        scheme = url.split(":", 1)[0]
        raise ValueError(
            f"DATABASE_URL names {scheme}://, which Threshold cannot use ({_EXPECTED})"
        )
    if parsed.drivername.startswith("sqlite") and not parsed.database:
        raise ValueError(f"DATABASE_URL names no SQLite file ({_EXPECTED})")
    return parsed


def describe_invalid(invalid: ValidationError) -> str:
    """Every problem with the environment on one line, each naming its variable."""
    problems = []
    for error in invalid.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(str(part) for part in error["loc"])
        # A field read through an alias is reported under the alias (DATABASE_URL).
        variable = field if field.isupper() else f"THRESHOLD_{field.upper()}"
        problems.append(message if not field or variable in message else f"{variable}: {message}")
    return "; ".join(problems)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as invalid:
        raise ConfigurationError(describe_invalid(invalid)) from None
