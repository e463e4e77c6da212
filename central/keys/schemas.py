"""Key rotation answer and the public key list."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RotationAnswer(BaseModel):
    key: dict[str, Any] = Field(description="新密钥记录 / the new key's record")
    retired: dict[str, Any] = Field(description="旧密钥记录（含 valid_to） / the old key, retired")


class HubKey(BaseModel):
    owner: str
    key_id: str
    public_key: str
    fingerprint: str


class PublicKeys(BaseModel):
    hub: HubKey | None = Field(description="枢纽公钥 / the hub's key")
    keys: list[dict[str, Any]] = Field(
        description="全部节点密钥（KeyRecord，含有效期与吊销时间） / every node key record"
    )
