"""A real federation on this machine for the tests: the hub and provincial nodes
as separate uvicorn servers, Celery workers and beat per node, on the tests'
PostgreSQL (``minefed.localfed`` does the work; this adds the tests' settings
and a province's people).

Everything started here is a child process in its own process group, stopped
(and, if need be, killed) when the federation is closed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from minefed import localfed
from minefed.localfed import Proc, Server, run_cli, wait_until
from tests.support import postgres

__all__ = [
    "Federation",
    "Proc",
    "Province",
    "Server",
    "federation",
    "json_of",
    "run_cli",
    "seed_province",
    "wait_until",
]


class Federation(localfed.Federation):
    """A federation on the tests' PostgreSQL server, with quick retries and sweeps."""

    def __init__(
        self, pg_server_url: str, root: Path, suffix: str, broker_url: str | None = None
    ) -> None:
        super().__init__(
            root,
            suffix,
            create_database=lambda name: postgres.recreate_database(pg_server_url, name),
            drop_database=lambda name: postgres.drop_database(pg_server_url, name),
            broker_url=broker_url,
            node_env={
                "MINEFED_NODE_SYNC_BACKOFF_BASE_S": "0.2",
                "MINEFED_NODE_SYNC_BACKOFF_CAP_S": "2.0",
                "MINEFED_NODE_SYNC_SWEEP_INTERVAL_S": "1",
            },
        )
        self.pg = pg_server_url


@contextmanager
def federation(pg_server_url: str, root: Path, suffix: str) -> Iterator[Federation]:
    fed = Federation(pg_server_url, root, suffix, os.environ.get("MINEFED_TEST_BROKER_URL"))
    try:
        yield fed
    except BaseException:
        print(fed.logs())
        raise
    finally:
        fed.close()


def json_of(response: httpx.Response) -> Any:
    assert response.status_code < 400, f"{response.status_code} {response.text}"
    return json.loads(response.text)


# ---------------------------------------------------------------- a province's people


@dataclass
class Province:
    """Accounts at one node, logged in over HTTP."""

    server: Server
    contractor: dict[str, str]
    regulator: dict[str, str]
    admin: dict[str, str]
    county: str

    def file_department(self, client: httpx.Client, **over: Any) -> str:
        from tests.node.factories import project_department

        body = project_department(self.county, **over)
        created = json_of(
            client.post(
                f"{self.server.url}/api/v1/filings/project-departments",
                headers=self.contractor,
                json=body,
            )
        )
        json_of(
            client.post(
                f"{self.server.url}/api/v1/filings/{created['id']}/submit", headers=self.contractor
            )
        )
        return str(created["id"])

    def approve(self, client: httpx.Client, record_id: str, version_no: int = 1) -> None:
        json_of(
            client.post(
                f"{self.server.url}/api/v1/review/{record_id}/approve",
                headers=self.regulator,
                json={"version_no": version_no},
            )
        )


def seed_province(server: Server, province: str) -> Province:
    """Accounts written straight into the node's database, then logged in over HTTP."""
    from minefed.demo_data import DEMO_PASSWORD
    from node.accounts.service import create_user, register_contractor
    from node.db import make_engine, session_factory, transaction
    from schemas.divisions import children
    from schemas.enums import Role
    from schemas.identifiers import make_uscc

    city = next(c for c in children(province) if c.level == "city")
    county = next(k for k in children(city.code) if k.level == "county" and k.name != "市辖区")
    engine = make_engine(server.database_url, 1, 0)
    try:
        with transaction(session_factory(engine)) as session:
            common = {
                "province_code": province,
                "password": DEMO_PASSWORD,
                "must_change_password": False,
            }
            create_user(
                session,
                None,
                username="admin",
                display_name="省管理员",
                role=Role.PROVINCIAL_ADMIN,
                division_code=province,
                **common,
            )
            create_user(
                session,
                None,
                username="county",
                display_name="县审核员",
                role=Role.COUNTY_REGULATOR,
                division_code=county.code,
                **common,
            )
            contractor = register_contractor(
                session,
                None,
                uscc=make_uscc(county.code, f"{int(province) // 10000:02d}000001"),
                name=f"测试矿山工程有限公司{province}",
                home_province_code=province,
                central_soe=False,
            )
            create_user(
                session,
                None,
                username="contractor",
                display_name="承包单位",
                role=Role.CONTRACTOR,
                division_code=county.code,
                contractor=contractor,
                **common,
            )
    finally:
        engine.dispose()

    def login(username: str) -> dict[str, str]:
        token = json_of(
            httpx.post(
                f"{server.url}/api/v1/auth/token",
                data={"username": username, "password": DEMO_PASSWORD},
            )
        )
        return {"Authorization": f"Bearer {token['access_token']}"}

    return Province(server, login("contractor"), login("county"), login("admin"), county.code)
