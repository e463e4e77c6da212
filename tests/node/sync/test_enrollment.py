"""Enrollment (pinned hub key, nothing stored on a mismatch) and key rotation."""

from __future__ import annotations

import stat

import httpx
import pytest
from sqlmodel import select

from node.models import AuditEvent, NodeFederation, NodeKeyring
from node.sync.enrollment import EnrollmentError, enroll, rotate_key
from node.sync.publish import bind_publisher
from sync.keys import SigningKey
from tests.node.sync.conftest import HUB_URL, NODE, outbox


@pytest.fixture
def fresh_hub(hub, clock):
    """The fake hub, before this node is registered; one valid token."""
    hub.keyring = type(hub.keyring)()
    hub.enroll_tokens.add("token-1")
    return hub


@pytest.fixture
def pinned(sync_settings, hub_key):
    return sync_settings.model_copy(update={"hub_key_fingerprint": hub_key.public().fingerprint})


def do_enroll(factory, http, settings, clock, **kw):
    return enroll(factory, http, settings, clock, token="token-1", **kw)


def nothing_stored(session, key_path) -> bool:
    session.expire_all()
    return (
        not key_path.exists()
        and session.get(NodeFederation, 1) is None
        and session.exec(select(NodeKeyring)).all() == []
    )


def test_a_hub_showing_another_key_is_refused_and_nothing_is_written(
    factory, session, fresh_hub, http, pinned, clock, key_path
):
    fresh_hub.answer_key = SigningKey.generate()  # an impostor, or a misconfigured hub
    with pytest.raises(EnrollmentError, match="fingerprint"):
        do_enroll(factory, http, pinned, clock)
    assert nothing_stored(session, key_path)


def test_no_pinned_fingerprint_no_enrollment(
    factory, session, fresh_hub, http, sync_settings, clock, key_path
):
    with pytest.raises(EnrollmentError, match="HUB_KEY_FINGERPRINT"):
        do_enroll(factory, http, sync_settings, clock)
    assert fresh_hub.requests == []
    assert nothing_stored(session, key_path)


def test_a_refused_token_stores_nothing(factory, session, fresh_hub, http, pinned, clock, key_path):
    with pytest.raises(EnrollmentError, match="bad_token"):
        enroll(factory, http, pinned, clock, token="wrong")
    assert nothing_stored(session, key_path)


def test_enrollment_writes_the_key_file_the_row_and_the_keyring(
    factory, session, fresh_hub, http, pinned, clock, key_path, hub_key, province, publisher
):
    # Approved before enrollment: left unpublished, published by the enrollment.
    bind_publisher(session, publisher)
    record = province.submitted_department()
    province.approve(session, record.id)
    assert outbox(session) == []

    done = do_enroll(factory, http, pinned, clock, hub_url=HUB_URL)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = SigningKey.from_pem(key_path.read_bytes())
    assert done.key_id == key.key_id and done.hub_key_id == hub_key.key_id
    assert done.published == 1

    # The hub got the public half only, under this node's id.
    sent = fresh_hub.requests[0]
    assert sent.url == httpx.URL(f"{HUB_URL}/sync/v1/enroll")
    assert b"PRIVATE" not in sent.content and key.public().to_b64().encode() in sent.content

    session.expire_all()
    row = session.get(NodeFederation, 1)
    assert (row.node_id, row.key_id, row.hub_key_id, row.hub_url) == (
        NODE,
        key.key_id,
        hub_key.key_id,
        HUB_URL,
    )
    assert row.hub_public_key == hub_key.public().to_b64()
    assert {r.owner for r in session.exec(select(NodeKeyring))} == {NODE}
    message, *reports = outbox(session, "hub")
    assert message.envelope["payload"]["record_id"] == str(record.id)
    assert message.envelope["key_id"] == key.key_id
    # Then every account the hub has not heard of (docs/accounts.md), never a hash.
    reported = {m.envelope["payload"]["username"] for m in reports}
    assert {m.kind for m in reports} == {"account.report"}
    assert reported == {
        province.contractor_user.username,
        province.county.username,
        province.admin.username,
    }
    assert all("hash" not in str(m.envelope["payload"]) for m in reports)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "sync.enrolled")).one()

    # Enrolling twice is refused, and the key file is never overwritten.
    fresh_hub.enroll_tokens.add("token-1")
    with pytest.raises(EnrollmentError, match="already enrolled"):
        do_enroll(factory, http, pinned, clock)
    assert SigningKey.from_pem(key_path.read_bytes()).key_id == key.key_id


def test_an_existing_key_file_is_never_overwritten(
    factory, session, fresh_hub, http, pinned, clock, key_path
):
    key_path.parent.mkdir(parents=True)
    key_path.write_bytes(b"somebody's key")
    with pytest.raises(EnrollmentError, match="exists"):
        do_enroll(factory, http, pinned, clock)
    assert key_path.read_bytes() == b"somebody's key"
    assert fresh_hub.requests == []


def test_rotation_switches_the_key_file_after_the_hub_accepted(
    factory, session, federation, node_key, hub, http, sync_settings, clock, key_path
):
    done = rotate_key(factory, http, sync_settings, clock)
    assert done.old_key_id == node_key.key_id
    new = SigningKey.from_pem(key_path.read_bytes())
    assert new.key_id == done.new_key_id != node_key.key_id
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    retired = key_path.with_name(f"node.pem.retired-{node_key.key_id}")
    assert done.retired_file == retired
    assert SigningKey.from_pem(retired.read_bytes()).key_id == node_key.key_id
    assert list(key_path.parent.glob("*.pending-*")) == []
    # The hub registered it from a statement signed by the old key, on a request signed by it.
    assert hub.keyring.get(new.key_id).owner == NODE
    assert hub.requests[-1].headers["X-Minefed-Key-Id"] == node_key.key_id
    session.expire_all()
    row = session.get(NodeFederation, 1)
    assert row.key_id == new.key_id and row.key_rotated_at is not None
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "sync.key_rotated")).one()
    assert event.detail["old_key_id"] == node_key.key_id
    assert event.detail["new_key_id"] == new.key_id


def test_a_refused_rotation_keeps_the_old_key(
    factory, session, federation, node_key, hub, http, sync_settings, clock, key_path
):
    hub.failures.append(400)
    with pytest.raises(EnrollmentError, match="refused"):
        rotate_key(factory, http, sync_settings, clock)
    assert SigningKey.from_pem(key_path.read_bytes()).key_id == node_key.key_id
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["node.pem"]
    session.expire_all()
    assert session.get(NodeFederation, 1).key_id == node_key.key_id


def test_a_rotation_whose_answer_is_lost_keeps_the_new_key_aside(
    factory, session, federation, node_key, hub, http, sync_settings, clock, key_path
):
    hub.failures.append(httpx.ReadTimeout("no answer"))
    with pytest.raises(EnrollmentError, match="pending"):
        rotate_key(factory, http, sync_settings, clock)
    assert SigningKey.from_pem(key_path.read_bytes()).key_id == node_key.key_id
    (pending,) = key_path.parent.glob("node.pem.pending-*")
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
