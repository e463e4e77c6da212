"""Settings of a provincial node, from the environment (prefix ``MINEFED_NODE_``)."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class NodeSettings(BaseSettings):
    """Everything a node reads from its environment; see deploy/provincial/node.env.example."""

    model_config = SettingsConfigDict(env_prefix="MINEFED_NODE_", env_file=None, extra="ignore")

    environment: Environment = Field(
        Environment.development, description="development, test or production"
    )
    node_id: str = Field("node:150000", description="this node's id in the federation")
    province_code: str = Field(
        "150000", pattern=r"^\d{2}0000$", description="GB/T 2260 code of the province served"
    )
    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:5432/minefed_node",
        description="SQLAlchemy URL of the node's PostgreSQL database",
    )
    db_pool_size: int = Field(20, ge=1, description="connections kept in the pool per process")
    db_max_overflow: int = Field(20, ge=0, description="extra connections allowed under load")
    secret_key: str = Field(DEV_SECRET, description="secret for session cookies and CSRF tokens")
    token_ttl_s: int = Field(8 * 3600, ge=60, description="lifetime of an API bearer token")
    session_ttl_s: int = Field(
        8 * 3600, ge=60, description="lifetime of a page session (cookie), in seconds"
    )
    storage_dir: Path = Field(
        Path("./data/attachments"), description="where attachment files are kept (filesystem)"
    )
    max_attachment_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="largest attachment accepted, in bytes"
    )
    licence_warning_days: int = Field(
        90, ge=1, description="a licence expiring within this many days is flagged"
    )
    inspection_interval_days: int = Field(
        183, ge=1, description="a project department not inspected for this long is flagged"
    )
    export_max_rows: int = Field(
        100_000, ge=1, description="most rows one CSV export may hold; more asks to narrow"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses of reverse proxies whose X-Forwarded-For is believed",
    )
    hub_url: str = Field(
        "",
        description="origin of the national hub (https://hub.example.cn), no path; "
        "empty until the node is enrolled",
    )
    hub_key_fingerprint: str = Field(
        "",
        description="pinned SHA-256 fingerprint (hex) of the hub's public key; "
        "a hub showing another key is refused",
    )
    key_file: Path = Field(
        Path("./data/node-signing-key.pem"),
        description="this node's Ed25519 private key (PEM), written at enrollment with mode 0600",
    )
    broker_url: str = Field(
        "",
        description="Celery broker URL (amqp://… in production); empty means kombu's "
        "SQLAlchemy transport over the node's own database (sqla+ + database_url)",
    )
    broker_queue: str = Field(
        "",
        description="Celery queue of this node's tasks (empty: minefed.node-<province>); "
        "nodes sharing one broker need distinct queues",
    )
    sync_batch_size: int = Field(
        500, ge=1, le=500, description="messages per push request and per inbox page"
    )
    sync_backoff_base_s: float = Field(
        1.0, gt=0, description="first retry delay after the hub is unreachable, in seconds"
    )
    sync_backoff_cap_s: float = Field(
        3600.0, gt=0, description="longest retry delay (exponential backoff, full jitter)"
    )
    sync_http_timeout_s: float = Field(
        10.0, gt=0, description="timeout of one HTTP request to the hub, in seconds"
    )
    sync_sweep_interval_s: float = Field(
        15.0, gt=0, description="how often beat runs the sync sweep (push due + pull), seconds"
    )

    witness_interval_s: float = Field(
        30.0,
        gt=0,
        description="how often beat runs the witness of the hub's log (log.witness), seconds",
    )

    @field_validator("hub_key_fingerprint")
    @classmethod
    def _normalise_fingerprint(cls, value: str) -> str:
        # Operators copy fingerprints in whatever form a tool prints them.
        value = value.strip().replace(":", "").replace(" ", "").lower()
        if value and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError("hub_key_fingerprint must be 64 hex digits (SHA-256)")
        return value

    @field_validator("hub_url")
    @classmethod
    def _hub_origin(cls, value: str) -> str:
        # Requests sign their path; a path prefix a proxy strips would break every signature.
        value = value.strip().rstrip("/")
        if value and not re.fullmatch(r"https?://[^/?#\s]+", value):
            raise ValueError("hub_url must be an origin such as https://hub.example.cn (no path)")
        return value

    @property
    def effective_broker_url(self) -> str:
        """The broker Celery uses: ``broker_url``, or the database through kombu's SQLAlchemy
        transport (development and the embedded demo)."""
        return self.broker_url or "sqla+" + self.database_url

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> NodeSettings:
        if self.environment == Environment.production and (
            self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "MINEFED_NODE_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production / 生产环境必须设置至少32个字符的随机密钥"
            )
        return self


@lru_cache
def get_settings() -> NodeSettings:
    return NodeSettings()
