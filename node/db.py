"""Engine and sessions. The request (or task) that opens a session owns its transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlmodel import Session


def make_engine(url: str, pool_size: int = 20, max_overflow: int = 20) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


SessionFactory = Callable[[], Session]


def session_factory(engine: Engine) -> SessionFactory:
    return lambda: Session(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error.

    Services and repositories only flush; this is the one place that commits.
    """
    from node.errors import NodeError

    with factory() as session:
        try:
            yield session
            session.commit()
        except NodeError as exc:
            # A refusal that must leave a trace (a failed login counted towards
            # lockout, say) asks for its changes to be kept.
            if exc.keep_changes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
