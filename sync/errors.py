"""One error hierarchy for the federation protocol.

Every rejection the protocol can make is a :class:`SyncError` subclass with a
stable machine ``code`` (what goes on the wire as ``{"error": code}`` and into
the rejected-message table) and a bilingual operator message. Codes are part
of the protocol: never rename one, add a new class instead.

The hierarchy is deliberately fine-grained for key problems (unknown, wrong
owner, not yet valid, expired, revoked) because operators react differently to
each: an unknown key usually means the registry directive has not arrived yet,
a revoked key means an incident.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadSignature",
    "BodyDigestMismatch",
    "CanonicalError",
    "CheckpointError",
    "DisclosureError",
    "DisclosureMismatch",
    "EnvelopeMalformed",
    "KeyConflict",
    "KeyExpired",
    "KeyMalformed",
    "KeyNotYetValid",
    "KeyOwnerMismatch",
    "KeyProblem",
    "KeyRevoked",
    "NotOwner",
    "ProofError",
    "ReplayedNonce",
    "RequestMalformed",
    "RotationInvalid",
    "SchemaInvalid",
    "StaleRequest",
    "SyncError",
    "UnknownKey",
    "WrongRecipient",
]


class SyncError(Exception):
    """Base of every protocol rejection.

    ``code`` is stable and machine-readable; ``message_zh`` / ``message_en``
    are fixed texts for operators; ``detail`` says what exactly failed (it
    never contains key material or personal data, so it may be logged).
    """

    code: ClassVar[str] = "sync_error"
    message_zh: ClassVar[str] = "同步协议错误"
    message_en: ClassVar[str] = "sync protocol error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.message_en)
        self.detail = detail

    @property
    def message(self) -> str:
        """Bilingual operator message, Chinese first: ``"<zh> / <en>"``."""
        return f"{self.message_zh} / {self.message_en}"

    def to_dict(self) -> dict[str, str]:
        """The error as rendered on the wire and in the rejected-message log."""
        return {"error": self.code, "detail": self.detail or self.message}


class CanonicalError(SyncError, ValueError):
    """A value cannot be canonicalised (float, out-of-range int, bad key ...).

    Also a ``ValueError`` because it is raised on caller input, like
    ``json.dumps`` would.
    """

    code = "not_canonical"
    message_zh = "数据无法规范化（不允许浮点数、超范围整数或非字符串键）"
    message_en = "value cannot be canonicalised (no floats, out-of-range ints or non-string keys)"


class BadSignature(SyncError):
    """The Ed25519 signature does not verify over the bytes we reconstructed."""

    code = "bad_signature"
    message_zh = "签名验证失败"
    message_en = "signature verification failed"


class KeyProblem(SyncError):
    """Base of every key-registry rejection (unknown, wrong owner, validity)."""

    code = "key_problem"
    message_zh = "密钥问题"
    message_en = "key problem"


class UnknownKey(KeyProblem):
    """No key with this id is registered (yet)."""

    code = "unknown_key"
    message_zh = "未知密钥"
    message_en = "unknown key"


class KeyOwnerMismatch(KeyProblem):
    """The key exists but belongs to another party than the claimed sender."""

    code = "key_owner_mismatch"
    message_zh = "密钥不属于声明的发送方"
    message_en = "key does not belong to the claimed sender"


class KeyNotYetValid(KeyProblem):
    """The message claims a time before the key's ``valid_from``."""

    code = "key_not_yet_valid"
    message_zh = "密钥尚未生效"
    message_en = "key not yet valid"


class KeyExpired(KeyProblem):
    """The message claims a time at or after the key's ``valid_to`` (retired key)."""

    code = "key_expired"
    message_zh = "密钥已过期"
    message_en = "key expired"


class KeyRevoked(KeyProblem):
    """The message claims a time at or after the key's revocation."""

    code = "key_revoked"
    message_zh = "密钥已吊销"
    message_en = "key revoked"


class KeyMalformed(KeyProblem):
    """Key bytes, PEM or a key record cannot be parsed."""

    code = "key_malformed"
    message_zh = "密钥格式错误"
    message_en = "malformed key"


class KeyConflict(KeyProblem):
    """A different key record is already registered under this key id."""

    code = "key_conflict"
    message_zh = "密钥标识冲突"
    message_en = "key id already registered with different content"


class RotationInvalid(SyncError):
    """A key rotation statement is malformed or inconsistent."""

    code = "rotation_invalid"
    message_zh = "密钥轮换声明无效"
    message_en = "invalid key rotation statement"


class EnvelopeMalformed(SyncError):
    """An envelope has missing, unknown or ill-typed fields."""

    code = "envelope_malformed"
    message_zh = "消息信封格式错误"
    message_en = "malformed envelope"


class WrongRecipient(SyncError):
    """The envelope is addressed to another party (possible cross-delivery replay)."""

    code = "wrong_recipient"
    message_zh = "消息接收方不符"
    message_en = "envelope addressed to another recipient"


class SchemaInvalid(SyncError):
    """The payload does not validate against the schema of its kind.

    Raised by the receivers (node/central), which own the schemas; defined here
    so the code is shared.
    """

    code = "schema_invalid"
    message_zh = "数据不符合规范"
    message_en = "payload does not match its schema"


class NotOwner(SyncError):
    """The sender published a record it does not own (one writer per record).

    Raised by the receivers, which know ownership; defined here so the code is
    shared.
    """

    code = "not_owner"
    message_zh = "发送方不是该记录的所有者"
    message_en = "sender does not own this record"


class RequestMalformed(SyncError):
    """A signed request lacks an authentication header or has an ill-formed one."""

    code = "request_malformed"
    message_zh = "请求认证信息缺失或格式错误"
    message_en = "missing or malformed request authentication headers"


class StaleRequest(SyncError):
    """The request time is outside the accepted window around our clock."""

    code = "stale_request"
    message_zh = "请求时间超出允许范围（请检查时钟）"
    message_en = "request time outside the accepted window (check the clock)"


class ReplayedNonce(SyncError):
    """The request's nonce was already used by this sender within the window."""

    code = "replayed_nonce"
    message_zh = "重复的请求（随机数已使用）"
    message_en = "replayed request (nonce already used)"


class BodyDigestMismatch(SyncError):
    """The request body does not match the signed body digest."""

    code = "body_digest_mismatch"
    message_zh = "请求正文与签名摘要不符"
    message_en = "request body does not match its signed digest"


class DisclosureError(SyncError, ValueError):
    """A disclosure or a concealment path is malformed."""

    code = "disclosure_malformed"
    message_zh = "选择性披露数据格式错误"
    message_en = "malformed selective disclosure"


class DisclosureMismatch(DisclosureError):
    """A disclosure does not match the digest slot it claims to open."""

    code = "disclosure_mismatch"
    message_zh = "披露值与签名摘要不符"
    message_en = "disclosed value does not match the signed digest"


class ProofError(SyncError, ValueError):
    """A Merkle inclusion or consistency proof is invalid, or cannot be made."""

    code = "bad_proof"
    message_zh = "默克尔证明无效"
    message_en = "invalid Merkle proof"


class CheckpointError(SyncError):
    """A checkpoint note is malformed or lacks a valid required signature."""

    code = "bad_checkpoint"
    message_zh = "日志检查点无效"
    message_en = "invalid log checkpoint"
