"""Engine and sessions. The request (or command) that opens a session owns its transaction."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import orjson
import psycopg
from sqlalchemy import Connection, Engine, QueuePool, create_engine, event
from sqlalchemy import exc as exc_module
from sqlmodel import Session

T = TypeVar("T")

log = logging.getLogger("minefed.central")


#: A pooled connection idle for longer than this is tested before it is handed out.
PING_AFTER_IDLE_S = 5.0


def json_loads(data: bytes | str) -> Any:
    """orjson for speed; what it refuses and the standard library takes (integers
    beyond 64 bits, NaN) goes to the standard parser, so a push body with such a
    message still has it quarantined on its own rather than failing the request."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def make_engine(url: str, pool_size: int = 20, max_overflow: int = 20) -> Engine:
    # JSONB columns are parsed by json_loads (the standard parser was a quarter of a
    # statistics rebuild's time).
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
        json_deserializer=json_loads,
    )
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """SQLAlchemy's ``pool_pre_ping``, for connections that sat idle a while only.

    A connection the pool just got back was working a moment ago; one idle for
    seconds may have been closed by a restart or a failover of PostgreSQL, and is
    replaced before anyone uses it. Pinging every checkout cost the public search
    ~80 us of the hub's CPU and a round trip per request (a tenth of its time).
    """
    at = record.info.get("checked_in_at")
    if at is None or time.monotonic() - at < PING_AFTER_IDLE_S:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()  # end the transaction the ping may have opened
    except psycopg.Error as exc:
        raise exc_module.DisconnectionError(f"connection lost while idle: {exc}") from exc


SessionFactory = Callable[[], Session]


@contextmanager
def read_only(factory: SessionFactory) -> Iterator[psycopg.Connection[Any]]:
    """A pooled psycopg connection in autocommit mode, for a read of a statement or two
    on a hot path (the public search): no ORM, and no BEGIN/ROLLBACK round trips.

    Sessions bound to a connection (the tests bind theirs to one open transaction)
    are read through that connection, so a read sees what the session wrote."""
    with factory() as session:
        bind = session.get_bind()
        if isinstance(bind, Connection):
            yield _driver(bind)
            return
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield _driver(conn)


async def in_thread_with_connection(
    state: Any, fn: Callable[..., T], /, *args: Any, **kw: Any
) -> T:
    """``fn(*args, **kw)`` in the thread pool, for work that holds one pooled connection:
    at most the pool's size at once per process (``MINEFED_CENTRAL_DB_POOL_SIZE``).

    The thread pool runs 40 at once; the pool keeps 20 connections and opens the
    rest as overflow, closing each again as soon as 20 are idle. Under a burst of
    public searches that meant a new PostgreSQL backend every few requests (a fork
    and cold caches: measured ~2,700 in a minute of the hub benchmark). Requests
    beyond the pool's size now wait their turn in the event loop instead.
    ``state`` is the app's ``state`` (the limiter is made there, in the loop)."""
    limiter = getattr(state, "db_limiter", None)
    if limiter is None:
        pool = state.engine.pool
        size = pool.size() if isinstance(pool, QueuePool) else 20
        limiter = state.db_limiter = anyio.CapacityLimiter(max(1, size))
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kw), limiter=limiter)


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def session_factory(engine: Engine) -> SessionFactory:
    return lambda: Session(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error.

    Services only flush; this is the one place that commits.
    """
    from central.errors import HubError

    with factory() as session:
        try:
            yield session
            session.commit()
        except HubError as exc:
            if exc.keep_changes:
                session.commit()
                _run_after_commit(session)
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        _run_after_commit(session)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the transaction of ``session`` has committed (never on rollback)."""
    callbacks: list[Callable[[], None]] = session.info.setdefault("after_commit", [])
    if callback not in callbacks:
        callbacks.append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        try:
            callback()
        except Exception:  # a failed kick must not turn a committed change into an error
            log.exception("after-commit callback failed")
