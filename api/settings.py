"""Settings, read once from the environment (`CLAIMLEDGER_*`). Nothing else reads os.environ."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SQLITE_PREFIX = "sqlite:///"


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
    ready_max_lag: int = Field(default=0, ge=0)

    @field_validator("database_url")
    @classmethod
    def known_scheme(cls, value: str) -> str:
        if not value.startswith((SQLITE_PREFIX, "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def sqlite_path(self) -> str:
        """The event store's file (the views live beside it)."""
        if not self.database_url.startswith(SQLITE_PREFIX):
            raise ValueError("PostgreSQL is not supported by this build yet")
        return self.database_url[len(SQLITE_PREFIX) :]

    @property
    def signing_key_path(self) -> Path:
        if self.signing_key:
            return Path(self.signing_key)
        return Path(self.sqlite_path).with_name("signing-key.pem")
