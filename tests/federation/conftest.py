from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.federation.harness import Federation, federation


@pytest.fixture
def fed(
    pg_server_url: str, worker_id_suffix: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Federation]:
    suffix = f"{worker_id_suffix}_{request.node.name[:20]}".lower()
    suffix = "".join(ch if ch.isalnum() else "_" for ch in suffix)
    with federation(pg_server_url, tmp_path / "fed", suffix) as f:
        yield f
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
