"""Replay protection backed by PostgreSQL, shared by every API worker process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col

from sync.tables import SeenNonce

__all__ = ["PgNonceStore", "prune_nonces"]


class PgNonceStore:
    """:class:`sync.request_auth.NonceStore` over the ``sync_nonce`` table.

    The primary key makes "seen or add" one atomic statement, so two workers
    receiving the same replayed request cannot both accept it.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def seen_or_add(self, sender: str, nonce: str, expires_at: datetime) -> bool:
        result = self._session.execute(
            insert(SeenNonce)
            .values(sender=sender, nonce=nonce, expires_at=expires_at)
            .on_conflict_do_nothing()
            .returning(col(SeenNonce.sender))
        )
        return result.first() is None


def prune_nonces(session: Session, now: datetime) -> int:
    """Forget nonces whose request could no longer pass the freshness check."""
    result = session.execute(delete(SeenNonce).where(col(SeenNonce.expires_at) < now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
