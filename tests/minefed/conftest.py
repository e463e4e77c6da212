"""Fixtures of the command-line tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A scratch directory for a PostgreSQL data directory, outside pytest's tmp_path.

    Run as root, the embedded server runs as a service user, which must be able to
    reach its data directory. pytest resets ``/tmp/pytest-of-<user>`` to mode 0700
    whenever any pytest session starts, so a data directory under ``tmp_path``
    becomes unreachable mid-test when another session starts on the machine.
    """
    path = Path(tempfile.mkdtemp(prefix="minefed-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
