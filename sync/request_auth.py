"""Node → hub request authentication (signed HTTP requests).

Envelopes authenticate *messages*; this authenticates the *request* that
carries them (and requests with no envelope, such as ``GET
/sync/v1/inbox?after=N``), so the hub knows which node is pulling before it
hands out that node's inbox.

The signature is Ed25519 over::

    canonical_json([METHOD, path_with_query, body_sha256_b64url, time, nonce, sender, key_id])

sent in ``X-Minefed-*`` headers. Method, path and query bind the request to
one endpoint; the body digest binds the body; ``time`` bounds replay to a
window (±5 min by default) and ``nonce`` closes the window: each (sender,
nonce) is accepted once. The path is the raw request target as sent
(percent-encoding untouched), so both sides must use the exact string.

Why not TLS client certificates: nodes sit behind provincial reverse proxies
we do not control; an application-level signature survives them.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sync.b64 import b64url_decode, b64url_encode
from sync.canonical import canonical_json
from sync.clock import Clock, SystemClock, format_rfc3339, parse_rfc3339, require_aware
from sync.errors import (
    BadSignature,
    BodyDigestMismatch,
    ReplayedNonce,
    RequestMalformed,
    StaleRequest,
)
from sync.keys import KEY_ID_PATTERN, OWNER_PATTERN, Keyring, SigningKey

__all__ = [
    "DEFAULT_WINDOW_S",
    "HEADER_BODY_SHA256",
    "HEADER_KEY_ID",
    "HEADER_NONCE",
    "HEADER_SENDER",
    "HEADER_SIGNATURE",
    "HEADER_TIME",
    "MemoryNonceStore",
    "NonceStore",
    "body_digest",
    "sign_request",
    "verify_request",
]

HEADER_SENDER = "X-Minefed-Sender"
HEADER_KEY_ID = "X-Minefed-Key-Id"
HEADER_TIME = "X-Minefed-Time"
HEADER_NONCE = "X-Minefed-Nonce"
HEADER_BODY_SHA256 = "X-Minefed-Body-SHA256"
HEADER_SIGNATURE = "X-Minefed-Signature"

#: Accepted clock difference between node and hub, either way.
DEFAULT_WINDOW_S = 300

_NONCE_BYTES = 16


@runtime_checkable
class NonceStore(Protocol):
    """Remembers used nonces until they can no longer be replayed.

    The hub backs it with PostgreSQL (a unique (sender, nonce) row with an
    expiry, pruned periodically); it must be shared by every worker.
    """

    def seen_or_add(self, sender: str, nonce: str, expires_at: datetime) -> bool:
        """Atomically: True if ``(sender, nonce)`` is known, else record it and return False."""
        ...


class MemoryNonceStore:
    """In-process :class:`NonceStore` with expiry pruning; for tests and single processes."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._expiry: dict[tuple[str, str], datetime] = {}
        self._heap: list[tuple[datetime, str, str]] = []

    def seen_or_add(self, sender: str, nonce: str, expires_at: datetime) -> bool:
        """See :meth:`NonceStore.seen_or_add`."""
        self._prune()
        key = (sender, nonce)
        if key in self._expiry:
            return True
        self._expiry[key] = expires_at
        heapq.heappush(self._heap, (expires_at, sender, nonce))
        return False

    def __len__(self) -> int:
        return len(self._expiry)

    def _prune(self) -> None:
        now = self._clock.now()
        while self._heap and self._heap[0][0] < now:
            _, sender, nonce = heapq.heappop(self._heap)
            self._expiry.pop((sender, nonce), None)


def body_digest(body: bytes) -> str:
    """Unpadded base64url SHA-256 of the request body (``X-Minefed-Body-SHA256``)."""
    return b64url_encode(hashlib.sha256(body).digest())


def _signing_bytes(
    method: str, path: str, digest: str, time: str, nonce: str, sender: str, key_id: str
) -> bytes:
    return canonical_json([method.upper(), path, digest, time, nonce, sender, key_id])


def sign_request(
    method: str,
    path_with_query: str,
    body: bytes,
    sender: str,
    key: SigningKey,
    now: datetime,
    nonce: str | None = None,
) -> dict[str, str]:
    """The ``X-Minefed-*`` headers authenticating one request.

    ``nonce`` defaults to 128 fresh random bits; pass one only in tests.
    """
    nonce = nonce if nonce is not None else b64url_encode(secrets.token_bytes(_NONCE_BYTES))
    time = format_rfc3339(now)
    digest = body_digest(body)
    sig = key.sign(_signing_bytes(method, path_with_query, digest, time, nonce, sender, key.key_id))
    return {
        HEADER_SENDER: sender,
        HEADER_KEY_ID: key.key_id,
        HEADER_TIME: time,
        HEADER_NONCE: nonce,
        HEADER_BODY_SHA256: digest,
        HEADER_SIGNATURE: b64url_encode(sig),
    }


def verify_request(
    method: str,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    keyring: Keyring,
    now: datetime,
    nonces: NonceStore,
    window_s: int = DEFAULT_WINDOW_S,
) -> str:
    """Authenticate a request; return the sender, or raise the precise :class:`SyncError`.

    Order matters: cheap and stateless checks first (headers, time, body
    digest, key validity, signature); the nonce is recorded only once the
    signature holds, so forged requests cannot fill the nonce store or burn a
    legitimate node's nonces.

    Raises :class:`RequestMalformed`, :class:`StaleRequest`,
    :class:`BodyDigestMismatch`, a :class:`~sync.errors.KeyProblem`,
    :class:`BadSignature` or :class:`ReplayedNonce`.
    """
    require_aware(now)
    lowered = {k.lower(): v for k, v in headers.items()}

    def header(name: str) -> str:
        value = lowered.get(name.lower())
        if not isinstance(value, str) or not value:
            raise RequestMalformed(f"missing header {name}")
        return value

    sender = header(HEADER_SENDER)
    key_id = header(HEADER_KEY_ID)
    time = header(HEADER_TIME)
    nonce = header(HEADER_NONCE)
    digest = header(HEADER_BODY_SHA256)
    sig_text = header(HEADER_SIGNATURE)
    if not OWNER_PATTERN.match(sender) or not KEY_ID_PATTERN.match(key_id):
        raise RequestMalformed("bad sender or key id")
    try:
        issued = parse_rfc3339(time)
        nonce_bytes = b64url_decode(nonce)
        sig = b64url_decode(sig_text)
    except ValueError as exc:
        raise RequestMalformed(str(exc)) from exc
    if len(nonce_bytes) != _NONCE_BYTES:
        raise RequestMalformed("nonce must be 128 bits")

    if abs((now - issued).total_seconds()) > window_s:
        raise StaleRequest(f"request time {time} is more than {window_s}s from ours")
    if not hmac.compare_digest(digest, body_digest(body)):
        raise BodyDigestMismatch("body does not match X-Minefed-Body-SHA256")

    verify_key = keyring.key_for(sender, key_id, issued)
    try:
        verify_key.verify(sig, _signing_bytes(method, path, digest, time, nonce, sender, key_id))
    except BadSignature as exc:
        raise BadSignature("request signature does not verify") from exc

    # Remember the nonce for as long as this request's time stays acceptable.
    if nonces.seen_or_add(sender, nonce, issued + timedelta(seconds=window_s)):
        raise ReplayedNonce(f"nonce already used by {sender}")
    return sender
