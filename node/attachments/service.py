"""Uploading, reading and deleting scans, and checking the references drafts make to them.

Who may read an attachment:

- the contractor that uploaded it;
- a regulator, when a record it can see (``node.filing.service.can_see``) has a
  version *handed in for review* (submitted, approved or returned, not a draft)
  whose ``attachments`` list references it: reviewers need the scans of what was
  submitted to them, and nothing else of a contractor's;
- nobody else: everyone else gets 404, so whether an attachment exists is not
  disclosed.

Bytes are stored content-addressed (``ab/cd/<sha256>``), so rows of identical
uploads share one stored object. Writing and removing that object happen under
a PostgreSQL advisory lock on the digest, held to the end of the transaction, so
an upload and a deletion of the same content never interleave. A transaction
that fails after storing bytes leaves an unreferenced object behind: harmless,
and reused by the next identical upload.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from node.attachments.sniff import JPEG, PDF, PNG, require_allowed_type
from node.attachments.storage import (
    CHUNK_BYTES,
    AttachmentStorage,
    StoredObjectNotFound,
    content_key,
)
from node.audit.service import record_event
from node.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from node.models import Attachment, Record, RecordVersion
from node.pagination import PageParams
from node.principal import Actor
from schemas.enums import AttachmentPurpose, ReviewState

log = logging.getLogger("minefed.node.attachments")

# AttachmentRef.filename is a ShortText (1–200 characters); a longer display name
# would make the returned reference unusable in a draft.
MAX_FILENAME_CHARS = 200
_EXTENSION = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
# Control, format (e.g. U+202E right-to-left override, used to disguise
# extensions), surrogate, private-use, unassigned and line/paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

# Versions through which a regulator may read an attachment: those handed in.
_HANDED_IN = (ReviewState.SUBMITTED, ReviewState.APPROVED, ReviewState.RETURNED)
# Versions that keep an attachment from being deleted.
_PROTECTING = (ReviewState.SUBMITTED, ReviewState.APPROVED)

# First key of the two-key advisory lock: "attachment content" (arbitrary, fixed).
_LOCK_NAMESPACE = 0x6D66_6174  # "mfat"


# ---------------------------------------------------------------- reading the upload


def too_large(max_bytes: int) -> PayloadTooLarge:
    limit_mb = f"{max_bytes / (1024 * 1024):g}"
    return PayloadTooLarge(
        f"附件不能超过 {limit_mb} MB",
        f"attachment exceeds the limit of {limit_mb} MB",
        code="attachment_too_large",
        limit_bytes=max_bytes,
    )


def read_limited(stream: BinaryIO, max_bytes: int) -> tuple[bytes, str]:
    """The stream's bytes and their SHA-256, read in chunks; 413 as soon as more than
    ``max_bytes`` arrive, so at most one chunk beyond the limit is ever held."""
    digest = hashlib.sha256()
    data = bytearray()
    while chunk := stream.read(CHUNK_BYTES):
        if len(data) + len(chunk) > max_bytes:
            raise too_large(max_bytes)
        digest.update(chunk)
        data += chunk
    return bytes(data), digest.hexdigest()


def sanitise_filename(raw: str | None, media_type: str) -> str:
    """A display name: the last path component, without control or format
    characters, at most 200 characters (extension kept); a default if nothing is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = name.strip()
    if name.strip(".") == "":
        return "attachment" + _EXTENSION[media_type]
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip()
    return name


# ---------------------------------------------------------------- helpers


def _contractor_id(actor: Actor) -> uuid.UUID:
    if not actor.is_contractor or actor.contractor_id is None:
        raise Forbidden(
            "仅承包单位可以上传或删除附件",
            "only contractor accounts upload or delete attachments",
            code="role_not_allowed",
        )
    return actor.contractor_id


def _not_found(attachment_id: uuid.UUID) -> NotFound:
    return NotFound(
        "未找到该附件", f"attachment {attachment_id} not found", code="attachment_not_found"
    )


def _lock_content(session: Session, sha256: str) -> None:
    """Serialise every write and removal of the object holding this content."""
    objid = int.from_bytes(bytes.fromhex(sha256[:8]), "big", signed=True)
    session.execute(select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, objid)))


def _references(attachment_id: uuid.UUID) -> ColumnElement[bool]:
    """SQL: the version's ``attachments`` list holds a ref with this id (JSONB ``@>``)."""
    return col(RecordVersion.data)["attachments"].contains([{"id": str(attachment_id)}])


def _referencing_records(
    session: Session, row: Attachment, states: tuple[str, ...]
) -> list[Record]:
    """Records of the attachment's contractor with a version in ``states`` that
    references it, oldest first."""
    versions = select(RecordVersion.record_id).where(
        col(RecordVersion.state).in_(states), _references(row.id)
    )
    return list(
        session.exec(
            select(Record)
            .where(Record.contractor_id == row.contractor_id, col(Record.id).in_(versions))
            .order_by(col(Record.created_at), col(Record.id))
        )
    )


# ---------------------------------------------------------------- the operations


def upload(
    session: Session,
    storage: AttachmentStorage,
    actor: Actor,
    *,
    stream: BinaryIO,
    filename: str | None,
    purpose: AttachmentPurpose,
    max_bytes: int,
) -> Attachment:
    """Store a contractor's scan: size-limited, typed by content, deduplicated by digest."""
    contractor_id = _contractor_id(actor)
    data, sha256 = read_limited(stream, max_bytes)
    media_type = require_allowed_type(data)
    key = content_key(sha256)
    _lock_content(session, sha256)
    if not storage.exists(key):
        storage.put(key, data)
    row = Attachment(
        contractor_id=contractor_id,
        purpose=purpose,
        filename=sanitise_filename(filename, media_type),
        media_type=media_type,
        size_bytes=len(data),
        sha256=sha256,
        storage_key=key,
        uploaded_by=actor.user_id,
        created_at=actor.now,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor,
        "attachment.uploaded",
        "attachment",
        row.id,
        {
            "filename": row.filename,
            "purpose": row.purpose,
            "media_type": row.media_type,
            "size_bytes": row.size_bytes,
            "sha256": row.sha256,
        },
    )
    return row


def list_own(
    session: Session, actor: Actor, paging: PageParams, purpose: AttachmentPurpose | None
) -> tuple[list[Attachment], int]:
    contractor_id = _contractor_id(actor)
    where = [col(Attachment.contractor_id) == contractor_id]
    if purpose:
        where.append(col(Attachment.purpose) == purpose)
    total = session.exec(select(func.count()).select_from(Attachment).where(*where)).one()
    rows = session.exec(
        select(Attachment)
        .where(*where)
        .order_by(col(Attachment.created_at).desc(), col(Attachment.id))
        .offset(paging.offset)
        .limit(paging.page_size)
    )
    return list(rows), int(total)


def get_readable(
    session: Session, actor: Actor, attachment_id: uuid.UUID
) -> tuple[Attachment, Record | None]:
    """The attachment if ``actor`` may read it (see the module docstring), with the
    record through which a regulator reads it (None for the owner); 404 otherwise."""
    # node.filing.service imports this module (check_attachment_refs).
    from node.filing.service import can_see

    row = session.get(Attachment, attachment_id)
    if row is None:
        raise _not_found(attachment_id)
    if actor.is_contractor and row.contractor_id == actor.contractor_id:
        return row, None
    if actor.is_regulator:
        for record in _referencing_records(session, row, _HANDED_IN):
            if can_see(actor, record):
                return row, record
    raise _not_found(attachment_id)


def open_content(
    session: Session, storage: AttachmentStorage, actor: Actor, attachment_id: uuid.UUID
) -> tuple[Attachment, Iterator[bytes]]:
    """The attachment and its bytes; a regulator's download is audited."""
    row, via_record = get_readable(session, actor, attachment_id)
    try:
        chunks = storage.open(row.storage_key)
    except StoredObjectNotFound:
        log.error("attachment %s: no stored object under %s", row.id, row.storage_key)
        raise NotFound(
            "附件文件缺失，请联系管理员",
            f"the content of attachment {row.id} is missing from storage",
            code="attachment_content_missing",
        ) from None
    if via_record is not None:
        record_event(
            session,
            actor,
            "attachment.downloaded",
            "attachment",
            row.id,
            {"record_id": str(via_record.id), "sha256": row.sha256},
        )
    return row, chunks


def delete(
    session: Session, storage: AttachmentStorage, actor: Actor, attachment_id: uuid.UUID
) -> None:
    """The owner deletes an attachment no submitted or approved version references
    (409 ``attachment_in_use``); the stored object goes with its last row."""
    contractor_id = _contractor_id(actor)
    # FOR UPDATE: check_attachment_refs takes FOR SHARE, so a concurrent submit
    # either sees the row gone or makes this check see its submitted version.
    row = session.exec(
        select(Attachment).where(Attachment.id == attachment_id).with_for_update()
    ).first()
    if row is None or row.contractor_id != contractor_id:
        raise _not_found(attachment_id)
    in_use = _referencing_records(session, row, _PROTECTING)
    if in_use:
        raise Conflict(
            "该附件已被提交审核或已通过的记录引用，不能删除",
            "the attachment is referenced by a submitted or approved version and cannot be deleted",
            code="attachment_in_use",
            record_ids=[str(r.id) for r in in_use],
        )
    _lock_content(session, row.sha256)
    remove(
        session,
        storage,
        row,
        actor,
        "attachment.deleted",
        {"filename": row.filename, "sha256": row.sha256},
    )


def remove(
    session: Session,
    storage: AttachmentStorage,
    row: Attachment,
    actor: Actor | None,
    action: str,
    detail: dict[str, Any],
    at: datetime | None = None,
) -> None:
    """Delete an attachment row, audited as ``action``; the stored object goes with the
    last row that names it (``content_removed`` in the event's detail)."""
    session.delete(row)
    session.flush()
    shared = session.exec(
        select(Attachment.id).where(Attachment.storage_key == row.storage_key).limit(1)
    ).first()
    record_event(
        session,
        actor,
        action,
        "attachment",
        row.id,
        {**detail, "content_removed": shared is None},
        at=at,
    )
    if shared is None:
        # Last: if anything above fails, the bytes are still there for the kept row.
        storage.delete(row.storage_key)


# ---------------------------------------------------------------- references from drafts


def check_attachment_refs(
    session: Session, contractor_id: uuid.UUID, data: Mapping[str, Any]
) -> None:
    """Every ref in ``data["attachments"]`` names an attachment of this contractor
    with the same sha256, size and media type; else 422 listing ``attachments.<i>``
    with rule ``attachment_unknown`` or ``attachment_mismatch``."""
    refs = data.get("attachments") or []
    if not refs:
        return
    ids: list[uuid.UUID | None] = []
    for ref in refs:
        try:
            ids.append(uuid.UUID(str(ref["id"])))
        except (KeyError, TypeError, ValueError):
            ids.append(None)
    # FOR SHARE: an attachment cannot be deleted while a draft referring to it is saved.
    rows = {
        a.id: a
        for a in session.exec(
            select(Attachment)
            .where(col(Attachment.id).in_([i for i in ids if i is not None]))
            .with_for_update(read=True)
        )
    }
    errors: list[dict[str, str]] = []
    for i, (ref, ref_id) in enumerate(zip(refs, ids, strict=True)):
        field = f"attachments.{i}"
        row = rows.get(ref_id) if ref_id is not None else None
        if row is None or row.contractor_id != contractor_id:
            errors.append(
                {
                    "field": field,
                    "rule": "attachment_unknown",
                    "message": f"附件{i + 1}：附件不存在或不属于本单位，请重新上传 / "
                    f"{field}: attachment {ref_id} does not exist or is not this contractor's",
                }
            )
            continue
        differing = [
            name
            for name in ("sha256", "size_bytes", "media_type")
            if ref.get(name) != getattr(row, name)
        ]
        if differing:
            names = ", ".join(differing)
            errors.append(
                {
                    "field": field,
                    "rule": "attachment_mismatch",
                    "message": f"附件{i + 1}：与已上传的文件不符（{'、'.join(differing)}） / "
                    f"{field}: does not match the uploaded file ({names})",
                }
            )
    if errors:
        fields = "、".join(e["field"] for e in errors[:5])
        raise InvalidInput(
            f"附件引用有误：{fields}",
            f"invalid attachment references: {fields}",
            code="invalid_input",
            errors=errors,
        )
