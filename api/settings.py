"""Settings, read once from the environment (`CLAIMLEDGER_*`). Nothing else reads os.environ."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMLEDGER_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/claimledger.db",
        description="sqlite:///path.db (default) or postgresql://user:pass@host:port/db",
    )
    admin_key: SecretStr | None = Field(
        default=None, description="A bootstrap admin key for containers and tests."
    )
    public_reads: bool = Field(default=False, description="Serve reads without a key.")
    signing_key: str | None = Field(default=None, description="Path of the Ed25519 key.")
    sqlite_lock_timeout: int = Field(default=5, ge=1)
    min_position_timeout: float = Field(default=5.0, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    ready_max_lag: int = Field(
        default=1000, ge=0, description="/readyz is 503 while the views lag more events."
    )
    header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a client may take to send a request head."
    )
    keep_alive_timeout: int = Field(
        default=5, ge=1, description="Seconds an idle connection is kept open between requests."
    )
    idempotency_purge_interval: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between purges of Idempotency-Key answers past their 24 hours.",
    )
    projections: Literal["api", "worker"] = Field(
        default="api",
        description="api: the API processes run the projections (on PostgreSQL one at a "
        "time, the others standbys); worker: only `claimledger worker` does.",
    )
    write_path: Literal["group", "direct"] = Field(
        default="group",
        description="group: one writer thread gathers concurrent writes into shared "
        "transactions (group commit); direct: each request saves in its own thread, one "
        "transaction each (the naive baseline the benchmark compares against).",
    )
    postgres_pool_size: int = Field(default=5, ge=1, description="Connections kept open.")
    postgres_max_overflow: int = Field(default=10, ge=0, description="Extra when busy.")
    postgres_connect_timeout: int = Field(default=10, ge=1, description="Seconds.")

    @field_validator("database_url")
    @classmethod
    def known_scheme(cls, value: str) -> str:
        if not value.startswith((SQLITE_PREFIX, *POSTGRES_PREFIXES)):
            raise ValueError("must start with sqlite:/// or postgresql://")
        if value.startswith(POSTGRES_PREFIXES):
            try:
                url = urlsplit(value)
                url.port  # noqa: B018 - raises on a port that is not a number
            except ValueError as error:
                raise ValueError(f"not a PostgreSQL URL: {error}") from None
            if not url.username or not url.path.strip("/"):
                raise ValueError("use postgresql://user:password@host:port/database")
        return value

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(POSTGRES_PREFIXES)

    @property
    def postgres_env(self) -> dict[str, str]:
        """The `eventsourcing` library's settings for the PostgreSQL store of the URL."""
        url = urlsplit(self.database_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")),
            "POSTGRES_HOST": url.hostname or "localhost",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or ""),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout),
        }

    @property
    def store_description(self) -> str:
        """The database URL without its password, for logs and messages."""
        if not self.is_postgres:
            return self.database_url
        url = urlsplit(self.database_url)
        port = f":{url.port}" if url.port else ""
        return f"postgresql://{url.username}@{url.hostname or 'localhost'}{port}{url.path}"

    @property
    def sqlite_path(self) -> str:
        """The event store's file (the views live beside it)."""
        if not self.database_url.startswith(SQLITE_PREFIX):
            raise ValueError("the store is not a SQLite file")
        return self.database_url[len(SQLITE_PREFIX) :]

    @property
    def signing_key_path(self) -> Path:
        if self.signing_key:
            return Path(self.signing_key)
        if self.is_postgres:  # processes sharing the database must share the key too
            return Path("var") / "signing-key.pem"
        return Path(self.sqlite_path).with_name("signing-key.pem")
