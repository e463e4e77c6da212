"""Password hashing (argon2id) and the password rules users are told about."""

from __future__ import annotations

import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from node.errors import InvalidInput

# argon2id with the library's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()

MIN_LENGTH = 10


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
    return _hasher.check_needs_rehash(password_hash)


def check_password_rules(password: str, username: str = "") -> None:
    """Refuse weak passwords with a message that says which rule failed."""
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
