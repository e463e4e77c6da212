"""Joining the federation (``minefed node enroll``) and rotating the node's key
(``minefed node rotate-key``). See docs/sync-protocol.md, "Enrollment" and "Key rotation".

Security-relevant order of enrollment: the key pair is made here and only its
public half is sent; the hub's answer is checked against the pinned
fingerprint **before anything is stored**, so a wrong or impostor hub leaves
no trace on the node: no key file, no enrollment row, no keyring.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.dialects.postgresql import insert

from node.audit.service import record_event
from node.config import NodeSettings
from node.db import SessionFactory, transaction
from node.models import NodeFederation, NodeKeyring
from node.sync.client import HubClient, HubError
from node.sync.inbox import store_keyring
from node.sync.keystore import KeyFile, stage_key_file, switch_key_file, write_new_key_file
from node.sync.publish import Kick, Publisher, bind_publisher, publish_backlog
from node.sync.service import hub_client
from sync.clock import Clock
from sync.errors import SyncError
from sync.keys import KeyRecord, Keyring, SigningKey, VerifyKey, make_rotation_statement

__all__ = [
    "Enrolled",
    "EnrollmentError",
    "Rotated",
    "enroll",
    "publish_all_pending",
    "report_all_accounts",
    "rotate_key",
]

log = logging.getLogger("minefed.node.sync")


class EnrollmentError(Exception):
    """Enrollment or rotation refused; the message is for the operator (Chinese / English)."""


def normalise_fingerprint(text: str) -> str:
    value = text.strip().replace(":", "").replace(" ", "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise EnrollmentError(
            "国家中心公钥指纹须为64位十六进制数（SHA-256） / "
            "the hub key fingerprint must be 64 hex digits (SHA-256)"
        )
    return value


@dataclass
class Enrolled:
    node_id: str
    key_id: str
    hub_key_id: str
    hub_key_fingerprint: str
    keyring_size: int
    published: int


def _answered_keyring(answer: dict[str, Any]) -> list[KeyRecord]:
    items = answer.get("keyring")
    if not isinstance(items, list):
        raise EnrollmentError("国家中心的应答缺少密钥清单 / the hub's answer has no keyring list")
    try:
        records = [KeyRecord.from_dict(item) for item in items]
        Keyring(records)
    except SyncError as exc:
        raise EnrollmentError(
            f"国家中心的密钥清单无效 / the hub's keyring is invalid: {exc.detail}"
        ) from exc
    return records


def _hub_key(answer: dict[str, Any], pinned: str) -> VerifyKey:
    try:
        hub_key = VerifyKey.from_b64(str(answer.get("hub_public_key") or ""))
    except SyncError as exc:
        raise EnrollmentError(
            f"国家中心公钥格式错误 / the hub's public key is malformed: {exc.detail}"
        ) from exc
    if hub_key.fingerprint != pinned:
        raise EnrollmentError(
            "国家中心公钥指纹与配置不符，已拒绝接入，未保存任何内容 / the hub shows a key whose "
            f"fingerprint {hub_key.fingerprint} is not the pinned {pinned}: refused, nothing stored"
        )
    if answer.get("hub_key_id") != hub_key.key_id:
        raise EnrollmentError(
            "国家中心应答的密钥标识与公钥不符 / hub_key_id is not the id of hub_public_key"
        )
    return hub_key


def enroll(
    session_factory: SessionFactory,
    http: httpx.Client,
    settings: NodeSettings,
    clock: Clock,
    *,
    token: str,
    hub_url: str | None = None,
    fingerprint: str | None = None,
    kick: Kick | None = None,
) -> Enrolled:
    """Enroll this node with the hub, then publish every approved version waiting."""
    hub_url = (hub_url or settings.hub_url).rstrip("/")
    if not hub_url:
        raise EnrollmentError(
            "未指定国家中心地址（--hub 或 MINEFED_NODE_HUB_URL） / "
            "no hub URL (--hub or MINEFED_NODE_HUB_URL)"
        )
    pinned_text = fingerprint or settings.hub_key_fingerprint
    if not pinned_text:
        raise EnrollmentError(
            "未配置国家中心公钥指纹 MINEFED_NODE_HUB_KEY_FINGERPRINT，拒绝接入 / "
            "MINEFED_NODE_HUB_KEY_FINGERPRINT is not set: refusing to trust an unpinned hub"
        )
    pinned = normalise_fingerprint(pinned_text)
    key_path = Path(settings.key_file)
    with transaction(session_factory) as session:
        if session.get(NodeFederation, 1) is not None:
            raise EnrollmentError(
                "本节点已接入国家中心；更换密钥请用 minefed node rotate-key / "
                "this node is already enrolled; use `minefed node rotate-key` to change its key"
            )
    if key_path.exists():
        raise EnrollmentError(
            f"密钥文件 {key_path} 已存在，拒绝覆盖 / key file {key_path} exists: not overwritten"
        )

    key = SigningKey.generate()
    client = HubClient(http, hub_url, settings.node_id, None, clock, settings.sync_http_timeout_s)
    try:
        answer = client.enroll(token, key.public().to_b64())
    except HubError as exc:
        raise EnrollmentError(
            f"国家中心拒绝接入或无法连接 / the hub refused or could not be reached: {exc.message}"
        ) from exc
    hub_key = _hub_key(answer, pinned)
    records = _answered_keyring(answer)

    # The hub is the pinned one: from here on, store.
    write_new_key_file(key_path, key)
    now = clock.now()
    try:
        with transaction(session_factory) as session:
            session.add(
                NodeFederation(
                    node_id=settings.node_id,
                    key_id=key.key_id,
                    hub_url=hub_url,
                    hub_public_key=hub_key.to_b64(),
                    hub_key_id=hub_key.key_id,
                    enrolled_at=now,
                    keyring_version=0,
                )
            )
            session.flush()
            store_keyring(session, records, 0)
            record_event(
                session,
                None,
                "sync.enrolled",
                "node",
                settings.node_id,
                {"key_id": key.key_id, "hub_key_id": hub_key.key_id, "hub_url": hub_url},
            )
    except BaseException:
        # Without the enrollment row the key is of no use, and keeping it would make
        # the next attempt (with a new token) refuse to overwrite it.
        key_path.unlink(missing_ok=True)
        raise
    publisher = Publisher(KeyFile(key_path), kick)
    published = publish_all_pending(session_factory, publisher, clock)
    report_all_accounts(session_factory, publisher, clock)
    return Enrolled(
        node_id=settings.node_id,
        key_id=key.key_id,
        hub_key_id=hub_key.key_id,
        hub_key_fingerprint=hub_key.fingerprint,
        keyring_size=len(records),
        published=published,
    )


def _drain(
    session_factory: SessionFactory,
    publisher: Publisher,
    clock: Clock,
    backlog: Callable[..., int],
    batch: int,
) -> int:
    """Run ``backlog(session, now, limit=batch)`` one transaction at a time until it
    queues less than a full batch; how many it queued in all."""
    total = 0
    while True:
        with transaction(session_factory) as session:
            bind_publisher(session, publisher)
            queued = backlog(session, clock.now(), limit=batch)
        total += queued
        if queued < batch:
            return total


def publish_all_pending(
    session_factory: SessionFactory, publisher: Publisher, clock: Clock, batch: int = 500
) -> int:
    """Publish every approved version not yet published, ``batch`` per transaction."""
    return _drain(session_factory, publisher, clock, publish_backlog, batch)


def report_all_accounts(
    session_factory: SessionFactory, publisher: Publisher, clock: Clock, batch: int = 500
) -> int:
    """Report every account the hub has not been told about (``account.report``)."""
    from node.accounts.reports import report_backlog

    return _drain(session_factory, publisher, clock, report_backlog, batch)


@dataclass
class Rotated:
    old_key_id: str
    new_key_id: str
    retired_file: Path


def rotate_key(
    session_factory: SessionFactory,
    http: httpx.Client,
    settings: NodeSettings,
    clock: Clock,
) -> Rotated:
    """Replace the node's key: announce the new one signed by the old, then switch files.

    The new key is staged on disk (mode 0600) before the hub hears of it. If
    the hub's answer is lost the staged file is kept (``<file>.pending-<id>``)
    and the operator told; if the hub refuses, it is deleted. The key file is
    switched only after the hub accepted.
    """
    with transaction(session_factory) as session:
        federation = session.get(NodeFederation, 1)
    if federation is None:
        raise EnrollmentError("本节点尚未接入国家中心 / this node is not enrolled")
    key_path = Path(settings.key_file)
    old = KeyFile(key_path).load()
    if old is None:
        raise EnrollmentError(f"找不到密钥文件 {key_path} / key file {key_path} not found")
    new = SigningKey.generate()
    now = clock.now()
    statement = make_rotation_statement(old, new.public(), federation.node_id, now)
    staged = stage_key_file(key_path, new, f".pending-{new.key_id}")
    client = hub_client(http, settings, federation, old, clock)
    try:
        answer = client.rotate(statement, old)
        record = KeyRecord.from_dict(answer.get("key") or {})
        if record.key_id != new.key_id or record.owner != federation.node_id:
            raise EnrollmentError(
                "国家中心登记的密钥与新密钥不符 / the hub registered another key than ours"
            )
    except HubError as exc:
        if exc.status_code is not None and 400 <= exc.status_code < 500:
            staged.unlink(missing_ok=True)
            raise EnrollmentError(
                f"国家中心拒绝密钥轮换 / the hub refused the rotation: {exc.message}"
            ) from exc
        raise EnrollmentError(
            "未收到国家中心的应答，新密钥可能已登记；新私钥保存在 "
            f"{staged}，请核对国家中心公钥清单后处理 / no answer from the hub: it may have "
            f"registered {new.key_id}; its private key is kept in {staged} "
            f"(see docs/node-operations.md): {exc.message}"
        ) from exc
    except SyncError as exc:
        raise EnrollmentError(
            f"国家中心应答无效 / the hub's answer is invalid: {exc.detail}; "
            f"new key kept in {staged}"
        ) from exc

    retired = switch_key_file(key_path, staged, f".retired-{old.key_id}")
    with transaction(session_factory) as session:
        row = session.get(NodeFederation, 1)
        assert row is not None
        row.key_id = new.key_id
        row.key_rotated_at = now
        session.add(row)
        session.execute(
            insert(NodeKeyring)
            .values(
                key_id=record.key_id,
                owner=record.owner,
                public_key=record.public_key.to_b64(),
                valid_from=record.valid_from,
                valid_to=record.valid_to,
                revoked_at=record.revoked_at,
                directive_version=row.keyring_version,
            )
            .on_conflict_do_nothing()
        )
        record_event(
            session,
            None,
            "sync.key_rotated",
            "node",
            federation.node_id,
            {"old_key_id": old.key_id, "new_key_id": new.key_id, "retired_file": str(retired)},
        )
    log.info("node key rotated from %s to %s", old.key_id, new.key_id)
    return Rotated(old_key_id=old.key_id, new_key_id=new.key_id, retired_file=retired)
