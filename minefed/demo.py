"""``minefed demo``: minefed on this machine, on an embedded PostgreSQL, with demo data.

At this stage the demo runs one provincial node (Inner Mongolia, 150000) on
port P+1; the hub (port P) and more provinces join as they are built.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from minefed.embedded_pg import EmbeddedPostgres

PROVINCE = "150000"


def _node_database(pg: EmbeddedPostgres, province: str) -> str:
    name = f"node_{province}"
    pg.create_database(name)
    return pg.url(name)


def _seed_if_empty(database_url: str, province: str, storage: Path) -> list[dict[str, Any]] | None:
    from sqlmodel import select

    from minefed.demo_data import seed_node
    from node.db import make_engine, session_factory, transaction
    from node.models import User

    engine = make_engine(database_url, 1, 0)
    try:
        with transaction(session_factory(engine)) as session:
            if session.exec(select(User.id)).first() is not None:
                return None
            accounts = seed_node(session, province, datetime.now(UTC))
            return [a.__dict__ for a in accounts]
    finally:
        engine.dispose()


def run_demo(data_dir: str, port: int, reset: bool) -> int:
    from minefed.demo_data import DEMO_PASSWORD
    from node.config import Environment, NodeSettings
    from node.migrate import upgrade

    root = Path(data_dir).resolve()
    pg = EmbeddedPostgres(root / "postgres")
    if reset and root.exists():
        pg.stop()
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    click.echo(f"starting PostgreSQL (embedded) in {pg.data_dir} …")
    pg.start()
    try:
        url = _node_database(pg, PROVINCE)
        upgrade(url)
        seeded = _seed_if_empty(url, PROVINCE, root / "attachments")
        info_path = root / "demo.json"
        if seeded is None and info_path.exists():
            info = json.loads(info_path.read_text(encoding="utf-8"))
            click.echo("reusing the existing demo data (use --reset to start afresh)")
        else:
            info = {"password": DEMO_PASSWORD, "accounts": seeded or []}
        node_port = port + 1
        info.update(
            {
                "nodes": [
                    {
                        "province_code": PROVINCE,
                        "url": f"http://127.0.0.1:{node_port}",
                        "docs": f"http://127.0.0.1:{node_port}/docs",
                    }
                ],
                "hub": None,
                "database": {"host": pg.host, "port": pg.port},
                "data_dir": str(root),
            }
        )
        info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        _print_ready(info, info_path)
        settings = NodeSettings(
            environment=Environment("development"),
            database_url=url,
            province_code=PROVINCE,
            node_id=f"node:{PROVINCE}",
            storage_dir=root / "attachments",
        )
        _serve_node(settings, node_port)
    finally:
        click.echo("stopping PostgreSQL …")
        pg.stop()
    return 0


def _print_ready(info: dict[str, Any], path: Path) -> None:
    click.echo("")
    click.echo("minefed demo is ready / 演示环境已就绪")
    for n in info["nodes"]:
        click.echo(f"  provincial node {n['province_code']}: {n['url']}  (API docs: {n['docs']})")
    click.echo(f"  accounts (password for all: {info['password']}):")
    for a in info["accounts"]:
        click.echo(f"    {a['role']:<22} {a['username']:<22} {a['display_name']}")
    click.echo(f"  written to {path}")
    click.echo("  press Ctrl-C to stop everything / 按 Ctrl-C 停止")


def _serve_node(settings: Any, port: int) -> None:
    import uvicorn

    from node.app import create_app

    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    # uvicorn re-raises the Ctrl-C it handled, after a clean shutdown.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
