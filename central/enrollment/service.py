"""Enrolling a provincial node with a one-time token.

The bureau issues a token for one node id and province (``minefed central
enroll-node``); the token is shown once and stored only as its SHA-256, so a
copy of the database cannot enroll anyone. The node then presents it with its
freshly made public key (``POST /sync/v1/enroll``); the key is registered,
the token is spent, and every node is sent the new keyring.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from central.audit.service import Actor, record_event
from central.errors import Conflict, Gone, InvalidInput, NotAuthenticated
from central.keys.service import broadcast_keyring, live_keys, load_keyring, register_key
from central.models import HubEnrollmentToken, HubNode, NodeStatus
from schemas.divisions import get_division
from sync.errors import KeyMalformed
from sync.keys import Keyring, SigningKey, VerifyKey

_NODE_ID = re.compile(r"\Anode:(\d{6})\Z")
_TOKEN_BYTES = 32


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once, never stored
    node_id: str
    jurisdiction: str
    display_name: str
    expires_at: datetime


def _check_node_identity(node_id: str, jurisdiction: str) -> str:
    """The province's name; 422 unless ``node_id`` is ``node:<jurisdiction>`` of a province."""
    match = _NODE_ID.match(node_id)
    if match is None:
        raise InvalidInput(
            "节点标识应为 node:省级行政区划代码，如 node:150000",
            "node id must be node:<province code>, e.g. node:150000",
            code="invalid_node_id",
            field="node_id",
        )
    division = get_division(jurisdiction)
    if division is None or division.level != "province" or not division.current:
        raise InvalidInput(
            "辖区应为现行省级行政区划代码，如 150000",
            "jurisdiction must be a current province code (GB/T 2260), e.g. 150000",
            code="invalid_jurisdiction",
            field="jurisdiction",
        )
    if match.group(1) != jurisdiction:
        raise InvalidInput(
            "节点标识与辖区不一致",
            f"node id {node_id} does not match jurisdiction {jurisdiction}",
            code="node_id_mismatch",
            field="node_id",
        )
    return division.name


def _refuse_if_live(session: Session, node_id: str, now: datetime) -> None:
    if live_keys(session, node_id, now):
        raise Conflict(
            "该节点已注册且密钥有效：请轮换密钥，或先吊销其密钥再重新注册",
            f"{node_id} is enrolled with a live key: rotate it, or revoke it before re-enrolling",
            code="node_already_enrolled",
        )


def issue_token(
    session: Session,
    *,
    node_id: str,
    jurisdiction: str,
    display_name: str | None,
    actor: Actor,
    now: datetime,
    ttl_s: int,
) -> IssuedToken:
    """A fresh one-time token for ``node_id``; earlier unused ones for it stop working."""
    province_name = _check_node_identity(node_id, jurisdiction)
    _refuse_if_live(session, node_id, now)
    name = (display_name or province_name).strip()[:100]
    session.execute(
        delete(HubEnrollmentToken).where(
            col(HubEnrollmentToken.node_id) == node_id, col(HubEnrollmentToken.used_at).is_(None)
        )
    )
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    expires_at = now + timedelta(seconds=ttl_s)
    session.add(
        HubEnrollmentToken(
            token_sha256=token_digest(token),
            node_id=node_id,
            jurisdiction=jurisdiction,
            display_name=name,
            created_at=now,
            expires_at=expires_at,
            created_by=actor.name[:64],
        )
    )
    record_event(
        session,
        actor,
        "node.enrollment_token_issued",
        "node",
        node_id,
        now,
        {"jurisdiction": jurisdiction, "expires_at": expires_at.isoformat()},
    )
    session.flush()
    return IssuedToken(token, node_id, jurisdiction, name, expires_at)


def enroll(
    session: Session,
    *,
    node_id: str,
    token: str,
    public_key: str,
    now: datetime,
    hub_id: str,
    hub_key: SigningKey,
    client_address: str | None,
    clock_tolerance_s: int = 300,
) -> tuple[HubNode, Keyring]:
    """Spend ``token`` and register ``public_key`` as ``node_id``'s key from now on.

    Security: the token is looked up by its digest and must have been issued
    for this very node id (a token for Inner Mongolia cannot enroll Shanxi);
    a spent or expired token is refused; nothing is written on refusal. A node
    that still has a live key cannot be enrolled again (that would let a
    leaked token replace a working key): it rotates, or the bureau revokes
    first.

    The key is valid from ``now`` minus ``clock_tolerance_s`` (the request
    window): a node whose clock runs a little behind ours must not see its
    first messages refused as signed "before" its key existed.
    """
    row = session.exec(
        select(HubEnrollmentToken)
        .where(col(HubEnrollmentToken.token_sha256) == token_digest(token))
        .with_for_update()
    ).first()
    if row is None or not hmac.compare_digest(row.node_id, node_id):
        raise NotAuthenticated(
            "注册令牌无效",
            "enrollment token invalid for this node",
            code="enrollment_token_invalid",
        )
    if row.used_at is not None:
        raise Gone("注册令牌已使用", "enrollment token already used", code="enrollment_token_used")
    if row.expires_at <= now:
        raise Gone("注册令牌已过期", "enrollment token expired", code="enrollment_token_expired")
    try:
        verify_key = VerifyKey.from_b64(public_key)
    except KeyMalformed as exc:
        raise InvalidInput(
            "公钥格式错误（应为32字节原始公钥的 base64url 编码，无填充）",
            "public_key must be unpadded base64url of the 32 raw Ed25519 key bytes",
            code="invalid_public_key",
            field="public_key",
        ) from exc
    _refuse_if_live(session, node_id, now)

    node = session.get(HubNode, node_id)
    if node is None:
        node = HubNode(
            node_id=node_id,
            jurisdiction=row.jurisdiction,
            display_name=row.display_name,
            enrolled_at=now,
        )
    else:  # re-enrollment after the bureau revoked the lost key
        node.display_name = row.display_name
        node.enrolled_at = now
        node.status = NodeStatus.ACTIVE
    session.add(node)
    session.flush()
    valid_from = now - timedelta(seconds=clock_tolerance_s)
    key_row = register_key(session, node_id, verify_key, valid_from, now)
    row.used_at = now
    session.add(row)
    record_event(
        session,
        Actor(node_id, client_address),
        "node.enrolled",
        "node",
        node_id,
        now,
        {"jurisdiction": node.jurisdiction, "key_id": key_row.key_id},
    )
    broadcast_keyring(session, hub_id=hub_id, hub_key=hub_key, now=now)
    return node, load_keyring(session)
