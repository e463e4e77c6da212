"""``minefed``: one command line for operators and for the local demo."""

from __future__ import annotations

import getpass
import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """minefed — 全国非煤矿山外包工程安全生产信息平台 (federation of provincial nodes and a hub).

    Settings come from the environment (MINEFED_NODE_… for a node); see
    deploy/provincial/node.env.example.
    """


@main.group()
def node() -> None:
    """Provincial node (省级节点) operations."""


@node.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def node_migrate(revision: str) -> None:
    """Bring the node's database schema up to date."""
    from node.config import get_settings
    from node.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    click.echo(f"node database migrated to {revision}")


@node.command("create-admin")
@click.option("--username", required=True, help="Login name of the provincial administrator.")
@click.option(
    "--name", "display_name", required=True, help="Display name, e.g. 省应急管理厅管理员."
)
@click.option(
    "--password",
    default=None,
    help="Initial password (prompted for when omitted; must be changed at first login).",
)
def node_create_admin(username: str, display_name: str, password: str | None) -> None:
    """Create the first provincial administrator (省级管理员) of this node."""
    from node.accounts.service import create_user
    from node.config import get_settings
    from node.db import make_engine, session_factory, transaction
    from node.errors import NodeError
    from schemas.enums import Role

    settings = get_settings()
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            raise click.ClickException("passwords differ")
    engine = make_engine(settings.database_url, 1, 0)
    try:
        with transaction(session_factory(engine)) as session:
            user = create_user(
                session,
                None,
                province_code=settings.province_code,
                username=username,
                display_name=display_name,
                role=Role.PROVINCIAL_ADMIN,
                division_code=settings.province_code,
                password=password,
            )
            click.echo(f"created provincial administrator {user.username} ({user.id})")
    except NodeError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        engine.dispose()


@node.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8701, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
def node_serve(host: str, port: int, workers: int) -> None:
    """Serve the node's API with uvicorn."""
    import uvicorn

    uvicorn.run(
        "node.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        log_level="info",
    )


@main.command()
@click.option(
    "--data-dir",
    default=".minefed/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the embedded database and files live.",
)
@click.option(
    "--port",
    default=8700,
    show_default=True,
    type=int,
    help="Hub port; provinces listen on the ports after it.",
)
@click.option("--reset", is_flag=True, help="Delete the data directory first.")
def demo(data_dir: str, port: int, reset: bool) -> None:
    """Run minefed on this machine with an embedded PostgreSQL and demo data."""
    from minefed.demo import run_demo

    sys.exit(run_demo(data_dir, port, reset))


if __name__ == "__main__":
    main()
