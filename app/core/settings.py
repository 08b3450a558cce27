"""The one settings object. Every knob is an environment variable prefixed THRESHOLD_ (plus DATABASE_URL)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THRESHOLD_", extra="ignore")

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
    parent_code_max_failures: int = 10
    parent_code_failure_window_seconds: int = 900

    login_max_failures: int = 5
    login_failure_window_seconds: int = 900

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
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.data_dir / 'threshold.db'}"

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
