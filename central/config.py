"""Settings of the national hub, from the environment (prefix ``MINEFED_CENTRAL_``)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused outside development

#: Shortest secret key accepted in production (characters).
MIN_TOKEN_LEN = 32


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class CentralSettings(BaseSettings):
    """Everything the hub reads from its environment; see deploy/national/hub.env.example."""

    model_config = SettingsConfigDict(env_prefix="MINEFED_CENTRAL_", env_file=None, extra="ignore")

    environment: Environment = Field(
        Environment.development, description="development, test or production"
    )
    hub_id: str = Field(
        "hub", pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="the hub's id in the federation"
    )
    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:5432/minefed_hub",
        description="SQLAlchemy URL of the hub's PostgreSQL database",
    )
    db_pool_size: int = Field(20, ge=1, description="connections kept in the pool per process")
    db_max_overflow: int = Field(20, ge=0, description="extra connections allowed under load")
    key_file: Path = Field(
        Path("./data/hub-key.pem"),
        description="the hub's Ed25519 private key (PKCS#8 PEM, mode 0600); "
        "created by `minefed central keygen`",
    )
    secret_key: str = Field(DEV_SECRET, description="secret for session cookies and CSRF tokens")
    token_ttl_s: int = Field(8 * 3600, ge=60, description="lifetime of a hub API bearer token, s")
    session_ttl_s: int = Field(
        8 * 3600, ge=60, description="lifetime of a hub page session (cookie), in seconds"
    )
    one_time_code_ttl_s: int = Field(
        7 * 86400,
        ge=3600,
        description="how long a one-time code from an account allocation or password reset "
        "stays usable, in seconds",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses of reverse proxies whose X-Forwarded-For is believed "
        "(login throttling and the audit trail record the client's address)",
    )
    request_window_s: int = Field(
        300, ge=30, le=3600, description="accepted clock difference of signed node requests, s"
    )
    max_batch: int = Field(
        500, ge=1, le=4096, description="most messages one sync request may carry or receive"
    )
    enrollment_token_ttl_s: int = Field(
        86400, ge=60, description="lifetime of a node enrollment token, in seconds"
    )

    public_rate_per_minute: int = Field(
        120,
        ge=0,
        description="requests per minute one client address may make to the public "
        "disclosure pages and API, sustained (0 turns the limit off)",
    )
    public_rate_burst: int = Field(
        60,
        ge=1,
        description="requests a client may make at once before the per-minute rate applies",
    )
    public_export_per_hour: int = Field(
        60,
        ge=0,
        description="open-data export downloads per hour per client address (0: no limit)",
    )

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> CentralSettings:
        if self.environment != Environment.production:
            return self
        if self.secret_key == DEV_SECRET or len(self.secret_key) < MIN_TOKEN_LEN:
            raise ValueError(
                "MINEFED_CENTRAL_SECRET_KEY must be set to a random value of at least 32 "
                "characters in production / 生产环境必须设置至少32个字符的随机密钥"
            )
        return self


@lru_cache
def get_settings() -> CentralSettings:
    return CentralSettings()
