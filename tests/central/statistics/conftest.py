"""Fixtures: a feed of publications through the real ingest path."""

from __future__ import annotations

import pytest

from tests.central.statistics.support import Feed


@pytest.fixture
def feed(client, session) -> Feed:
    return Feed(client, session)
