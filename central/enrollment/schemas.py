"""Enrollment request and answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node_id: str = Field(
        title="节点标识",
        max_length=64,
        examples=["node:150000"],
        description="node:<province code>",
    )
    token: str = Field(title="一次性注册令牌", min_length=1, max_length=200)
    public_key: str = Field(
        title="节点公钥",
        max_length=64,
        description="unpadded base64url of the 32 raw Ed25519 public key bytes",
    )


class EnrollAnswer(BaseModel):
    hub_public_key: str
    hub_key_id: str
    hub_key_fingerprint: str
    keyring: list[dict[str, Any]]
