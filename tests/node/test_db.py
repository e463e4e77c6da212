from __future__ import annotations

import pytest

from node.db import after_commit, transaction
from node.errors import Conflict


def test_after_commit_runs_once_after_commit_and_never_after_rollback(app):
    factory = app.state.session_factory
    ran: list[str] = []
    with transaction(factory) as session:
        after_commit(session, lambda: ran.append("kick"))
        after_commit(session, lambda: ran.append("x"))
        assert ran == []
    assert ran == ["kick", "x"]

    ran.clear()
    with pytest.raises(Conflict), transaction(factory) as session:
        after_commit(session, lambda: ran.append("kick"))
        raise Conflict("冲突", "conflict")
    assert ran == []


def test_a_failing_callback_does_not_undo_the_commit(app):
    def boom() -> None:
        raise RuntimeError("broker down")

    with transaction(app.state.session_factory) as session:
        after_commit(session, boom)
    # reaching here means the commit stood and the error was only logged
