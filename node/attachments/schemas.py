"""Responses of the attachment endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from node.models import Attachment
from schemas.enums import AttachmentPurpose
from schemas.forms.common import AttachmentRef

_EXAMPLE: dict[str, Any] = {
    "id": "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "filename": "安全生产许可证.pdf",
    "media_type": "application/pdf",
    "size_bytes": 482113,
    "purpose": "safety_licence_scan",
}


def ref_of(row: Attachment) -> AttachmentRef:
    """The reference a contractor puts into a draft's ``attachments`` list."""
    return AttachmentRef.model_validate(
        {
            "id": row.id,
            "sha256": row.sha256,
            "filename": row.filename,
            "media_type": row.media_type,
            "size_bytes": row.size_bytes,
            "purpose": row.purpose,
        }
    )


class AttachmentOut(BaseModel):
    """An attachment's metadata; ``ref`` is what a draft's ``attachments`` list takes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_EXAMPLE, "purpose_label": "安全生产许可证扫描件", "ref": _EXAMPLE}]
        }
    )

    id: uuid.UUID
    sha256: str = Field(description="SHA-256 of the content, 64 lower-case hex digits")
    filename: str = Field(description="文件名（仅供显示）/ original file name, for display")
    media_type: str = Field(description="按内容识别的类型 / type as sniffed from the content")
    size_bytes: int
    purpose: str
    purpose_label: str
    created_at: datetime
    ref: AttachmentRef = Field(description="填入草稿 attachments 的引用 / the ref for drafts")

    @classmethod
    def of(cls, row: Attachment) -> AttachmentOut:
        return cls(
            id=row.id,
            sha256=row.sha256,
            filename=row.filename,
            media_type=row.media_type,
            size_bytes=row.size_bytes,
            purpose=row.purpose,
            purpose_label=AttachmentPurpose(row.purpose).label_zh,
            created_at=row.created_at,
            ref=ref_of(row),
        )


UPLOAD_EXAMPLE = _EXAMPLE
