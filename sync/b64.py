"""Strict base64 codecs.

The standard library's decoders are lenient (they skip characters outside the
alphabet and accept non-zero trailing bits), which lets one byte string have
many spellings. For signed data we want exactly one, so decoding re-encodes
and compares.
"""

from __future__ import annotations

import base64
import binascii
import re
import string

__all__ = ["b64std_decode", "b64std_encode", "b64url_decode", "b64url_encode"]

_URL_ALPHABET = re.compile(r"\A[A-Za-z0-9_-]*\Z")
_STD_ALPHABET = re.compile(r"\A[A-Za-z0-9+/]*={0,2}\Z")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5), as used in JOSE and our envelopes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_URL_VALUE = {
    c: i
    for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_")
}
# Unused low bits of the last character: 2 characters left over carry 12 bits for
# one byte (4 spare), 3 carry 18 bits for two bytes (2 spare).
_SPARE_BITS = {0: 0, 2: 0x0F, 3: 0x03}


def b64url_decode(text: str) -> bytes:
    """Decode base64url without padding; refuse any other spelling with ``ValueError``."""
    if not isinstance(text, str) or not _URL_ALPHABET.match(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    # One spelling per byte string: the spare bits of the last character are zero
    # (what re-encoding and comparing would check, without the encoding).
    if text and _URL_VALUE[text[-1]] & _SPARE_BITS[len(text) % 4]:
        raise ValueError("non-canonical base64url (trailing bits set)")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64std_encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 §4), as used by C2SP notes and RFC 9162 APIs."""
    return base64.b64encode(data).decode("ascii")


def b64std_decode(text: str) -> bytes:
    """Decode padded standard base64; refuse any other spelling with ``ValueError``."""
    if not isinstance(text, str) or not _STD_ALPHABET.match(text) or len(text) % 4:
        raise ValueError("not padded standard base64")
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("not padded standard base64") from exc
    if b64std_encode(data) != text:
        raise ValueError("non-canonical base64 (trailing bits set)")
    return data
