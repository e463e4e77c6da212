"""Signed node -> hub requests: freshness, replay, body binding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync.clock import FixedClock
from sync.errors import (
    BadSignature,
    BodyDigestMismatch,
    KeyOwnerMismatch,
    KeyRevoked,
    ReplayedNonce,
    RequestMalformed,
    StaleRequest,
)
from sync.keys import KeyRecord, Keyring, SigningKey
from sync.request_auth import (
    HEADER_KEY_ID,
    HEADER_NONCE,
    HEADER_SENDER,
    HEADER_SIGNATURE,
    MemoryNonceStore,
    NonceStore,
    sign_request,
    verify_request,
)

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
NODE = "node:150000"
PATH = "/sync/v1/messages"
BODY = b'{"messages":[]}'


def setup() -> tuple[SigningKey, Keyring, FixedClock, MemoryNonceStore]:
    key = SigningKey.generate()
    ring = Keyring([KeyRecord(NODE, key.key_id, key.public(), T0 - timedelta(days=1))])
    clock = FixedClock(T0)
    return key, ring, clock, MemoryNonceStore(clock)


def test_round_trip_and_replay() -> None:
    key, ring, clock, nonces = setup()
    headers = sign_request("post", PATH, BODY, NODE, key, clock.now())
    assert len(headers[HEADER_NONCE]) == 22
    assert verify_request("POST", PATH, BODY, headers, ring, clock.now(), nonces) == NODE
    with pytest.raises(ReplayedNonce):
        verify_request("POST", PATH, BODY, headers, ring, clock.now(), nonces)
    # A new request gets a new nonce.
    fresh = sign_request("POST", PATH, BODY, NODE, key, clock.now())
    verify_request("POST", PATH, BODY, fresh, ring, clock.now(), nonces)


def test_headers_are_case_insensitive() -> None:
    key, ring, clock, nonces = setup()
    headers = {k.lower(): v for k, v in sign_request("GET", "/x?a=1", b"", NODE, key, T0).items()}
    verify_request("GET", "/x?a=1", b"", headers, ring, clock.now(), nonces)


def test_stale_both_ways() -> None:
    key, ring, clock, nonces = setup()
    old = sign_request("POST", PATH, BODY, NODE, key, clock.now() - timedelta(seconds=301))
    with pytest.raises(StaleRequest):
        verify_request("POST", PATH, BODY, old, ring, clock.now(), nonces)
    future = sign_request("POST", PATH, BODY, NODE, key, clock.now() + timedelta(seconds=301))
    with pytest.raises(StaleRequest):
        verify_request("POST", PATH, BODY, future, ring, clock.now(), nonces)
    edge = sign_request("POST", PATH, BODY, NODE, key, clock.now() - timedelta(seconds=300))
    verify_request("POST", PATH, BODY, edge, ring, clock.now(), nonces)


def test_body_tamper() -> None:
    key, ring, clock, nonces = setup()
    headers = sign_request("POST", PATH, BODY, NODE, key, clock.now())
    with pytest.raises(BodyDigestMismatch):
        verify_request("POST", PATH, BODY + b" ", headers, ring, clock.now(), nonces)


def test_method_path_and_header_tamper() -> None:
    key, ring, clock, nonces = setup()
    headers = sign_request("GET", "/sync/v1/inbox?after=5", b"", NODE, key, clock.now())
    with pytest.raises(BadSignature):
        verify_request("GET", "/sync/v1/inbox?after=0", b"", headers, ring, clock.now(), nonces)
    with pytest.raises(BadSignature):
        verify_request("DELETE", "/sync/v1/inbox?after=5", b"", headers, ring, clock.now(), nonces)
    bad_sig = {
        **headers,
        HEADER_SIGNATURE: sign_request("GET", "/", b"", NODE, key, T0)[HEADER_SIGNATURE],
    }
    with pytest.raises(BadSignature):
        verify_request("GET", "/sync/v1/inbox?after=5", b"", bad_sig, ring, clock.now(), nonces)
    with pytest.raises(KeyOwnerMismatch):
        verify_request(
            "GET",
            "/sync/v1/inbox?after=5",
            b"",
            {**headers, HEADER_SENDER: "node:110000"},
            ring,
            clock.now(),
            nonces,
        )
    # A failed request does not burn its nonce.
    verify_request("GET", "/sync/v1/inbox?after=5", b"", headers, ring, clock.now(), nonces)


def test_missing_or_malformed_headers() -> None:
    key, ring, clock, nonces = setup()
    headers = sign_request("POST", PATH, BODY, NODE, key, clock.now())
    for name in headers:
        partial = {k: v for k, v in headers.items() if k != name}
        with pytest.raises(RequestMalformed):
            verify_request("POST", PATH, BODY, partial, ring, clock.now(), nonces)
    with pytest.raises(RequestMalformed):
        verify_request(
            "POST", PATH, BODY, {**headers, HEADER_NONCE: "short"}, ring, clock.now(), nonces
        )
    with pytest.raises(RequestMalformed):
        verify_request(
            "POST", PATH, BODY, {**headers, HEADER_KEY_ID: "nope"}, ring, clock.now(), nonces
        )


def test_revoked_key() -> None:
    key, ring, clock, nonces = setup()
    ring.revoke(key.key_id, T0 - timedelta(minutes=1))
    headers = sign_request("POST", PATH, BODY, NODE, key, clock.now())
    with pytest.raises(KeyRevoked):
        verify_request("POST", PATH, BODY, headers, ring, clock.now(), nonces)


def test_nonce_store_prunes_after_expiry() -> None:
    key, ring, clock, nonces = setup()
    assert isinstance(nonces, NonceStore)
    headers = sign_request("POST", PATH, BODY, NODE, key, clock.now(), nonce="A" * 22)
    verify_request("POST", PATH, BODY, headers, ring, clock.now(), nonces)
    assert len(nonces) == 1
    clock.advance(301)
    # Pruned, and the old request is stale anyway, so replay stays impossible.
    assert nonces.seen_or_add("node:110000", "B" * 22, clock.now()) is False
    assert len(nonces) == 1
    with pytest.raises(StaleRequest):
        verify_request("POST", PATH, BODY, headers, ring, clock.now(), nonces)
