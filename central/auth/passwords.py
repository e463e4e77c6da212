"""Password hashing (argon2id), the password rules, and one-time codes.

Deliberately a copy of the node's ~40 lines (``node/auth/passwords.py``) rather
than a shared module: node and hub never import each other, and ``sync/`` is the
protocol library, not a home for web-app helpers. The two must agree on one
thing only, the hash format (argon2id PHC strings), because the hub hashes the
one-time codes the nodes verify.
"""

from __future__ import annotations

import functools
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from central.errors import InvalidInput

# argon2id with the library's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()

MIN_LENGTH = 10

#: One-time codes: no 0/O, 1/I/L, so they survive being read out on the phone.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_GROUPS = 4
_CODE_GROUP_LEN = 4


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-Zz9!")


def verify_absent(password: str) -> None:
    """Spend what checking a password costs, for a user who does not exist, so that
    timing does not reveal user names. The hash is made at the first such login,
    not when the module is imported (each process start would pay ~0.5 s)."""
    verify_password(_dummy_hash(), password)


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def new_one_time_code() -> str:
    """A random code such as ``K7QD-2MXT-9PRA-HW4C`` (about 79 bits), shown once.

    Only its argon2id hash is stored, and only the hash travels to the node.
    """
    chars = [secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUPS * _CODE_GROUP_LEN)]
    return "-".join(
        "".join(chars[i : i + _CODE_GROUP_LEN]) for i in range(0, len(chars), _CODE_GROUP_LEN)
    )


def check_password_rules(password: str, username: str = "") -> None:
    """Refuse weak passwords with a message that says which rule failed (as the node does)."""
    problems_zh: list[str] = []
    problems_en: list[str] = []
    if len(password) < MIN_LENGTH:
        problems_zh.append(f"长度至少{MIN_LENGTH}位")
        problems_en.append(f"at least {MIN_LENGTH} characters")
    classes = sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        problems_zh.append("须包含大写字母、小写字母、数字、符号中的至少三类")
        problems_en.append("at least three of: upper case, lower case, digits, symbols")
    if username and username.lower() in password.lower():
        problems_zh.append("不得包含用户名")
        problems_en.append("must not contain the user name")
    if problems_zh:
        raise InvalidInput(
            "密码不符合要求：" + "；".join(problems_zh),
            "password rejected: " + "; ".join(problems_en),
            code="weak_password",
            field="password",
        )
