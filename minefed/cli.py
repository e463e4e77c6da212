"""``minefed``: one command line for operators and for the local demo."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

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
    """Create a provincial administrator (省级管理员) of this node, for bootstrap and offline
    recovery. Normally the national bureau allocates them at the hub (docs/accounts.md)."""
    from node.accounts.service import create_user
    from node.config import get_settings
    from node.db import make_engine, session_factory, transaction
    from node.errors import NodeError
    from node.sync.broker import CeleryKick
    from node.sync.publish import Publisher, bind_publisher
    from schemas.enums import Role

    settings = get_settings()
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            raise click.ClickException("passwords differ")
    engine = make_engine(settings.database_url, 1, 0)
    try:
        with transaction(session_factory(engine)) as session:
            # Reported to the hub at once when enrolled (the backlog does it otherwise).
            bind_publisher(session, Publisher(settings.key_file, CeleryKick(settings)))
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
    from node.config import get_settings

    _serve("node.asgi:app", get_settings().environment, host, port, workers)


def _serve(app: str, environment: str, host: str, port: int, workers: int) -> None:
    """uvicorn with the apps' logging (MINEFED_LOG_FORMAT) and, when
    PROMETHEUS_MULTIPROC_DIR is set, request metrics summed over the workers."""
    import uvicorn

    from minefed.observability import log_config, log_format, prepare_multiprocess_dir

    try:
        config = log_config(log_format(environment))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    prepare_multiprocess_dir()
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        log_level="info",
        log_config=config,
        # The request middleware writes the access line: route template, no query string.
        access_log=False,
    )


# ---------------------------------------------------------------- node: federation sync


def _node_db() -> tuple[Any, Any, Any]:
    """Settings, engine and session factory of the node named by the environment."""
    from node.config import get_settings
    from node.db import make_engine, session_factory

    settings = get_settings()
    engine = make_engine(settings.database_url, 1, 1)
    return settings, engine, session_factory(engine)


def _operator() -> str:
    return f"cli:{getpass.getuser()}"[:64]


@node.command("enroll")
@click.option("--token", required=True, help="One-time enrollment token from the national bureau.")
@click.option("--hub", "hub_url", default=None, help="Hub origin (default: MINEFED_NODE_HUB_URL).")
@click.option(
    "--hub-key-fingerprint",
    default=None,
    help="Pinned SHA-256 fingerprint of the hub key (default: MINEFED_NODE_HUB_KEY_FINGERPRINT).",
)
def node_enroll(token: str, hub_url: str | None, hub_key_fingerprint: str | None) -> None:
    """Enroll this node with the hub (接入国家中心), then publish what is waiting.

    Makes the node's key pair, writes the private key to MINEFED_NODE_KEY_FILE
    (mode 0600) and refuses a hub whose key does not match the pinned fingerprint.
    """
    import httpx

    from node.sync.broker import CeleryKick
    from node.sync.enrollment import EnrollmentError, enroll
    from sync.clock import SystemClock

    settings, engine, factory = _node_db()
    try:
        with httpx.Client() as http:
            done = enroll(
                factory,
                http,
                settings,
                SystemClock(),
                token=token,
                hub_url=hub_url,
                fingerprint=hub_key_fingerprint,
                kick=CeleryKick(settings),
            )
    except EnrollmentError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"enrolled {done.node_id} with key {done.key_id}")
    click.echo(f"hub key {done.hub_key_id} (fingerprint {done.hub_key_fingerprint})")
    click.echo(f"keyring: {done.keyring_size} keys; published {done.published} record versions")


@node.command("rotate-key")
def node_rotate_key() -> None:
    """Replace this node's signing key (密钥轮换); the hub registers the new one first."""
    import httpx

    from node.sync.enrollment import EnrollmentError, rotate_key
    from sync.clock import SystemClock

    settings, engine, factory = _node_db()
    try:
        with httpx.Client() as http:
            done = rotate_key(factory, http, settings, SystemClock())
    except EnrollmentError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"key rotated: {done.old_key_id} -> {done.new_key_id}")
    click.echo(f"old key kept in {done.retired_file}")


@node.command("publish-backlog")
def node_publish_backlog() -> None:
    """Publish every approved record version not published yet, and report every account
    the hub has not been told about (idempotent)."""
    from node.sync.broker import CeleryKick
    from node.sync.enrollment import publish_all_pending, report_all_accounts
    from node.sync.publish import Publisher
    from sync.clock import SystemClock

    settings, engine, factory = _node_db()
    publisher = Publisher(settings.key_file, CeleryKick(settings))
    try:
        n = publish_all_pending(factory, publisher, SystemClock())
        accounts = report_all_accounts(factory, publisher, SystemClock())
    except LookupError as exc:
        raise click.ClickException(f"cannot publish: {exc} (enroll the node first)") from None
    finally:
        engine.dispose()
    click.echo(f"published {n} record versions")
    click.echo(f"reported {accounts} accounts to the hub")


@node.command("sweep")
def node_sweep() -> None:
    """Push what is due and pull the inbox once, now (what beat does periodically)."""
    import json

    from node.config import get_settings
    from node.sync.tasks import SyncRuntime, run_sweep

    runtime = SyncRuntime.from_settings(get_settings())
    try:
        click.echo(json.dumps(run_sweep(runtime), ensure_ascii=False, indent=2))
    finally:
        runtime.http.close()


@node.command("sync-status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def node_sync_status(as_json: bool) -> None:
    """Show federation sync: enrollment, per-destination backlog, inbox, quarantine."""
    from node.db import transaction
    from node.sync.schemas import SyncStatus
    from node.sync.service import status
    from sync.clock import SystemClock

    settings, engine, factory = _node_db()
    try:
        with transaction(factory) as session:
            report = SyncStatus.model_validate(status(session, settings, SystemClock().now()))
    finally:
        engine.dispose()
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    e = report.enrollment
    if e.enrolled:
        click.echo(f"node {e.node_id}, key {e.key_id}, enrolled {e.enrolled_at:%Y-%m-%d %H:%M}Z")
        click.echo(f"hub {e.hub_url}, key {e.hub_key_id}, fingerprint {e.hub_key_fingerprint}")
    else:
        click.echo(f"node {e.node_id}: NOT ENROLLED (minefed node enroll --token …)")
    for p in report.peers:
        line = (
            f"  to {p.peer}: sent {p.last_sent_seq}, acked {p.last_acked_seq}, backlog {p.backlog}"
        )
        if p.oldest_unsent_age_s is not None:
            line += f" (oldest {p.oldest_unsent_age_s}s)"
        if p.backoff_until is not None:
            line += f", backing off until {p.backoff_until:%H:%M:%S}Z"
        if p.last_error:
            line += f"\n    last error: {p.last_error}"
        click.echo(line)
    i = report.inbox
    click.echo(f"inbox cursor {i.cursor}, last pull {i.last_pull_at or 'never'}")
    if i.last_pull_error:
        click.echo(f"  last pull error: {i.last_pull_error}")
    q = report.quarantine
    click.echo(f"quarantine: {q.pending} pending, {q.applied} applied, {q.skipped} skipped")


@node.group("quarantine")
def node_quarantine() -> None:
    """Incoming messages that failed verification or application (隔离消息)."""


@node_quarantine.command("list")
@click.option(
    "--status",
    "status_",
    type=click.Choice(["pending", "applied", "skipped", "all"]),
    default="pending",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def node_quarantine_list(status_: str, as_json: bool) -> None:
    """List quarantined messages, newest first."""
    from sqlmodel import col, select

    from node.db import transaction
    from node.sync.schemas import QuarantineItem
    from sync.tables import QuarantinedMessage

    _, engine, factory = _node_db()
    try:
        with transaction(factory) as session:
            query = select(QuarantinedMessage).order_by(col(QuarantinedMessage.id).desc())
            if status_ != "all":
                query = query.where(QuarantinedMessage.status == status_)
            items = [QuarantineItem.of(r) for r in session.exec(query.limit(500)).all()]
    finally:
        engine.dispose()
    if as_json:
        import json

        click.echo(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False))
        return
    for i in items:
        click.echo(
            f"{i.id}\t{i.status}\t{i.received_at:%Y-%m-%d %H:%M:%S}Z\t{i.stream}#{i.seq}"
            f"\t{i.kind}\t{i.reason_code}: {i.reason}"
        )
    if not items:
        click.echo("no quarantined messages")


def _resolve_quarantined(quarantine_id: int, action: str) -> None:
    from node.audit.service import record_event
    from node.db import transaction
    from node.sync import service
    from sync.clock import SystemClock
    from sync.tables import QuarantinedMessage

    _, engine, factory = _node_db()
    now = SystemClock().now()
    try:
        with transaction(factory) as session:
            row = session.get(QuarantinedMessage, quarantine_id)
            if row is None:
                raise click.ClickException(f"no quarantined message {quarantine_id}")
            if row.status != "pending":
                raise click.ClickException(f"message {quarantine_id} is already {row.status}")
            if action == "retry":
                try:
                    row = service.retry(session, quarantine_id, _operator(), now)
                except LookupError:
                    raise click.ClickException("this node is not enrolled") from None
            else:
                row = service.skip(session, quarantine_id, _operator(), now)
            record_event(
                session,
                None,
                f"sync.quarantine_{'retried' if action == 'retry' else 'skipped'}",
                "sync_quarantine",
                str(quarantine_id),
                {"operator": _operator(), "status": row.status, "reason_code": row.reason_code},
                client_address="cli",
            )
            status_, reason = row.status, f"{row.reason_code}: {row.reason}"
    finally:
        engine.dispose()
    click.echo(
        f"message {quarantine_id}: {status_}" + ("" if status_ != "pending" else f" ({reason})")
    )
    if action == "retry" and status_ == "pending":
        sys.exit(1)


@node_quarantine.command("retry")
@click.argument("quarantine_id", type=int)
def node_quarantine_retry(quarantine_id: int) -> None:
    """Verify and apply a quarantined message again (exit 1 if it still fails)."""
    _resolve_quarantined(quarantine_id, "retry")


@node_quarantine.command("skip")
@click.argument("quarantine_id", type=int)
def node_quarantine_skip(quarantine_id: int) -> None:
    """Give up on a quarantined message; it stays on record as skipped."""
    _resolve_quarantined(quarantine_id, "skip")


def _celery_commands(
    group: click.Group,
    module: str,
    *,
    concurrency: int,
    one: str,
    pool: bool,
    worker_help: str,
    beat_help: str,
) -> None:
    """The ``worker`` and ``beat`` commands of ``group``, for the Celery app of ``module``
    (``node.worker`` or ``central.worker``); ``pool`` adds the ``--pool`` option."""

    def celery_app() -> Any:
        import importlib

        return importlib.import_module(module).celery_app

    def worker(concurrency: int, with_beat: bool, loglevel: str, pool: str | None = None) -> None:
        argv = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}"]
        if pool is not None:
            argv.append(f"--pool={pool}")
        argv += ["--without-gossip", "--without-mingle"]
        if with_beat:
            argv.append("--beat")
        celery_app().worker_main(argv)

    if pool:
        worker = click.option(
            "--pool", default="prefork", show_default=True, help="prefork, solo or threads"
        )(worker)
    worker = click.option("--loglevel", default="INFO", show_default=True)(worker)
    worker = click.option(
        "--beat", "with_beat", is_flag=True, help=f"Also run beat inside (one {one} only)."
    )(worker)
    worker = click.option(
        "--concurrency", default=concurrency, show_default=True, type=int, help="worker processes"
    )(worker)
    group.command("worker", help=worker_help)(worker)

    @group.command("beat", help=beat_help)
    @click.option(
        "--schedule",
        "schedule_file",
        default="celerybeat-schedule",
        show_default=True,
        type=click.Path(dir_okay=False),
        help="Where beat keeps its schedule state.",
    )
    @click.option("--loglevel", default="INFO", show_default=True)
    def beat(schedule_file: str, loglevel: str) -> None:
        celery_app().start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule_file}"])


_celery_commands(
    node,
    "node.worker",
    concurrency=2,
    one="node",
    pool=True,
    worker_help="""Run a Celery worker for this node's tasks (sync.push, sync.pull, sync.sweep,
    retention.daily).""",
    beat_help="""Run Celery beat: schedules sync.sweep every MINEFED_NODE_SYNC_SWEEP_INTERVAL_S, and
    retention.daily once a day.""",
)


# ---------------------------------------------------------------- node: five-year retention


def _as_of_option(f: Any) -> Any:
    return click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Judge as on this China date (YYYY-MM-DD; default: today).",
    )(f)


@node.command("retention")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted, with counts.")
@_as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def node_retention(dry_run: bool, as_of: Any, as_json: bool) -> None:
    """Five-year retention (信息保留时效): delete project departments first entered five
    years ago, with their accidents and attachments, and contractors left with none;
    tombstones go to the hub and to every node holding a copy (docs/retention.md).

    What beat runs daily as retention.daily; idempotent, safe to run again."""
    import json

    from node.attachments.storage import FilesystemStorage
    from node.retention.service import china_date, plan, run
    from node.sync.broker import CeleryKick
    from node.sync.publish import Publisher
    from sync.clock import SystemClock

    settings, engine, factory = _node_db()
    now = SystemClock().now()
    day = as_of.date() if as_of is not None else china_date(now)
    try:
        if dry_run:
            with factory() as session:
                result = plan(session, day, settings.province_code).to_dict()
        else:
            report = run(
                factory,
                as_of=day,
                now=now,
                own_node=settings.node_id,
                publisher=Publisher(settings.key_file, CeleryKick(settings)),
                storage=FilesystemStorage(settings.storage_dir),
            )
            result = report.to_dict()
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    if dry_run:
        counts = result["counts"]
        click.echo(f"as of {result['as_of']} (first entered before {result['cutoff']}):")
        for item in result["project_departments"]:
            click.echo(
                f"  {item['record_id']}  {item['first_entered_at'][:10]}  "
                f"{item['contractor_uscc']}  {item['title']}"
            )
        click.echo(
            f"would delete {counts['project_departments']} project departments, "
            f"{counts['accidents']} accidents, {counts['attachments']} attachments, "
            f"{counts['contractors']} contractors"
        )
    else:
        click.echo(
            f"deleted {result['project_departments']} project departments, "
            f"{result['accidents']} accidents, {result['attachments']} attachments, "
            f"{result['contractors']} contractors (as of {result['as_of']})"
        )


@node.command("restore-reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def node_restore_reconcile(as_json: bool) -> None:
    """After restoring a backup, before starting the workers: delete again what was
    deleted after the backup was taken (retention as of today, and every tombstone
    other nodes relayed since, pulled again from the hub), so nothing deleted comes
    back (docs/retention.md)."""
    import json

    from node.retention.restore import reconcile

    settings, engine, factory = _node_db()
    try:
        result = reconcile(settings, factory)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for line in result["summary"]:
            click.echo(line)
    if result.get("problems"):
        raise SystemExit(1)


def _backup_commands(
    group: click.Group,
    app: str,
    target: Any,
    *,
    backup_help: str,
    restore_help: str,
    replaces: str,
    restore_flag: tuple[str, str],
    restore: Any,
) -> None:
    """The ``backup`` and ``restore`` commands of ``group`` for ``app`` ("node" or "hub",
    as in the directory name): ``target()`` builds its :class:`minefed.backup.Target`,
    ``restore_flag`` is the name and help of restore's one own flag, and
    ``restore(from_dir, yes, **flag)`` runs the restore. A
    :class:`~minefed.backup.BackupError` is the command's error (exit 1)."""

    @group.command("backup", help=backup_help)
    @click.option(
        "--to",
        "to_dir",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=f"Directory that receives minefed-{app}-<UTC timestamp>/.",
    )
    def backup_command(to_dir: Path) -> None:
        from minefed.backup import BackupError, backup

        try:
            made = backup(target(), to_dir)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"backup written to {made}")

    @group.command("restore", help=restore_help)
    @click.option(
        "--from",
        "from_dir",
        required=True,
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help=f"A minefed-{app}-<timestamp>/ directory made by `minefed {group.name} backup`.",
    )
    @click.option("--yes", is_flag=True, help=replaces)
    @click.option(restore_flag[0], is_flag=True, help=restore_flag[1])
    def restore_command(from_dir: Path, yes: bool, **flag: bool) -> None:
        from minefed.backup import BackupError

        try:
            restore(from_dir, yes, **flag)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None


def _node_target() -> Any:
    from minefed.backup import node_target
    from node.config import get_settings

    return node_target(get_settings())


def _node_restore(from_dir: Path, yes: bool, no_reconcile: bool) -> None:
    from minefed.backup import restore
    from node.config import get_settings
    from node.migrate import upgrade

    settings = get_settings()

    def reconcile() -> dict[str, Any]:
        from node.db import make_engine, session_factory
        from node.retention.restore import reconcile as run_reconcile

        engine = make_engine(settings.database_url, 1, 1)
        try:
            return run_reconcile(settings, session_factory(engine))
        finally:
            engine.dispose()

    done = restore(
        _node_target(),
        from_dir,
        yes=yes,
        echo=click.echo,
        migrate=upgrade,
        reconcile=None if no_reconcile else reconcile,
    )
    if done.problems:
        raise SystemExit(1)
    if no_reconcile:
        click.echo("NOT reconciled: run `minefed node restore-reconcile` before the workers")


_backup_commands(
    node,
    "node",
    _node_target,
    backup_help="""Back up the node (备份): database (pg_dump -Fc), attachments, key file and a
    manifest with SHA-256 sums, into a new directory of mode 0600 files (docs/deployment.md).""",
    restore_help="""Restore a node backup (恢复) with the api, worker and beat stopped: check its
    checksums, replace the database and files, migrate to head, then reconcile (delete
    again what was deleted after the backup; catch up the outbox numbering with the hub).
    Without --yes only says what would be replaced. Exit 1 on any problem.""",
    replaces="Replace the database, attachments and key file.",
    restore_flag=(
        "--no-reconcile",
        "Skip restore-reconcile (run `minefed node restore-reconcile` before the workers!).",
    ),
    restore=_node_restore,
)


# ---------------------------------------------------------------- central: the national hub


@main.group()
def central() -> None:
    """National hub (国家中心) operations. Settings: MINEFED_CENTRAL_… (deploy/national/hub.env.example)."""


def _central_db() -> tuple[Any, Any, Any]:
    """Settings, engine and session factory of the hub named by the environment."""
    from central.config import get_settings
    from central.db import make_engine, session_factory

    settings = get_settings()
    engine = make_engine(settings.database_url, 1, 1)
    return settings, engine, session_factory(engine)


def _central_actor() -> Any:
    from central.audit.service import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = "unknown"
    return Actor(f"cli:{user}"[:64])


def _central_key(settings: Any) -> Any:
    from central.keys.hub_key import load_signing_key
    from sync.errors import KeyMalformed

    try:
        return load_signing_key(settings.key_file)
    except FileNotFoundError:
        raise click.ClickException(
            f"no hub key at {settings.key_file}: run `minefed central keygen` first"
        ) from None
    except KeyMalformed as exc:
        raise click.ClickException(f"{settings.key_file}: {exc}") from None


@central.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to reach.")
def central_migrate(revision: str) -> None:
    """Bring the hub's database schema up to date."""
    from central.config import get_settings
    from central.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    click.echo(f"hub database migrated to {revision}")


def _hub_target() -> Any:
    from central.config import get_settings
    from minefed.backup import hub_target

    return hub_target(get_settings())


def _hub_restore(from_dir: Path, yes: bool, accept_log_rollback: bool) -> None:
    from central.migrate import upgrade
    from minefed.backup import restore

    restore(
        _hub_target(),
        from_dir,
        yes=yes,
        echo=click.echo,
        accept_log_rollback=accept_log_rollback,
        migrate=upgrade,
    )
    click.echo("restored: start the api, worker and beat")


_backup_commands(
    central,
    "hub",
    _hub_target,
    backup_help="""Back up the hub (备份): database (pg_dump -Fc), key file and a manifest with
    SHA-256 sums and the log size, into a new directory of mode 0600 files. Production
    also archives WAL for point-in-time recovery (docs/deployment.md).""",
    restore_help="""Restore a hub backup (恢复) with the api, worker and beat stopped: check its
    checksums, refuse to roll the transparency log back, replace the database and key
    file, migrate to head. Without --yes only says what would be replaced.""",
    replaces="Replace the database and the key file.",
    restore_flag=(
        "--accept-log-rollback",
        "Restore even if the backup's transparency log is shorter than the database's "
        "(every witness will raise a fork alarm).",
    ),
    restore=_hub_restore,
)


@central.command("keygen")
@click.option(
    "--force", is_flag=True, help="Replace an existing key (every node pins the old one!)."
)
def central_keygen(force: bool) -> None:
    """Create the hub's Ed25519 key (MINEFED_CENTRAL_KEY_FILE, mode 0600); print its fingerprint."""
    from central.config import get_settings
    from central.keys.hub_key import write_key_file
    from sync.keys import SigningKey

    settings = get_settings()
    key = SigningKey.generate()
    try:
        write_key_file(settings.key_file, key, force=force)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"hub key written to {settings.key_file}")
    click.echo(f"hub key id: {key.key_id}")
    click.echo(f"hub key fingerprint: {key.public().fingerprint}")


@central.command("create-admin")
@click.option("--username", required=True, help="Login name of the national administrator.")
@click.option("--name", "display_name", required=True, help="Display name, e.g. 应急管理部管理员.")
@click.option(
    "--password",
    default=None,
    help="Initial password (prompted for when omitted; must be changed at first login).",
)
def central_create_admin(username: str, display_name: str, password: str | None) -> None:
    """Create a national administrator (国家局管理员) of the hub: the first one, or when
    every administrator is locked out. Everything else is done over the API."""
    from central.auth.service import create_user
    from central.db import transaction
    from central.errors import HubError
    from central.models import HubUserRole
    from sync.clock import SystemClock

    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            raise click.ClickException("passwords differ")
    _settings, engine, factory = _central_db()
    try:
        with transaction(factory) as session:
            user = create_user(
                session,
                _central_actor(),
                username=username,
                display_name=display_name,
                role=HubUserRole.NATIONAL_ADMIN,
                password=password,
                now=SystemClock().now(),
            )
            click.echo(f"created national administrator {user.username} ({user.id})")
    except HubError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        engine.dispose()
    click.echo("the password must be changed at the first login (POST /api/v1/auth/password)")


@central.command("enroll-node")
@click.option("--node-id", required=True, help="node:<province code>, e.g. node:150000.")
@click.option("--jurisdiction", required=True, help="Province code (GB/T 2260), e.g. 150000.")
@click.option("--name", default=None, help="Display name (default: the province's name).")
def central_enroll_node(node_id: str, jurisdiction: str, name: str | None) -> None:
    """Issue a one-time enrollment token (一次性令牌) for a provincial node.

    The token is printed once, stored only as its SHA-256, and valid for
    MINEFED_CENTRAL_ENROLLMENT_TOKEN_TTL_S (24 h by default).
    """
    from central.db import transaction
    from central.enrollment.service import issue_token
    from central.errors import HubError
    from sync.clock import SystemClock, format_rfc3339

    settings, engine, factory = _central_db()
    key = _central_key(settings)
    try:
        with transaction(factory) as session:
            issued = issue_token(
                session,
                node_id=node_id,
                jurisdiction=jurisdiction,
                display_name=name,
                actor=_central_actor(),
                now=SystemClock().now(),
                ttl_s=settings.enrollment_token_ttl_s,
            )
    except HubError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        engine.dispose()
    click.echo(f"one-time token: {issued.token}")
    click.echo(
        f"node: {issued.node_id} ({issued.display_name}), jurisdiction {issued.jurisdiction}"
    )
    click.echo(f"valid until: {format_rfc3339(issued.expires_at)}")
    click.echo(f"hub key fingerprint: {key.public().fingerprint}")
    click.echo("give the province both; it runs: minefed node enroll --token <token>")


@central.command("revoke-key")
@click.argument("key_id")
@click.option(
    "--at", "at_text", default=None, help="Revoked from (ISO 8601 with offset); default now."
)
def central_revoke_key(key_id: str, at_text: str | None) -> None:
    """Revoke a node key (吊销密钥): it verifies nothing claimed at or after --at."""
    from datetime import datetime

    from central.db import transaction
    from central.errors import HubError
    from central.keys.service import revoke_key
    from sync.clock import SystemClock, format_rfc3339

    now = SystemClock().now()
    at = now
    if at_text:
        try:
            at = datetime.fromisoformat(at_text.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                f"not an ISO 8601 time: {at_text}", param_hint="--at"
            ) from None
        if at.tzinfo is None:
            raise click.BadParameter(
                "give a UTC offset, e.g. 2026-06-15T02:00:00Z", param_hint="--at"
            )
    settings, engine, factory = _central_db()
    key = _central_key(settings)
    try:
        with transaction(factory) as session:
            row = revoke_key(
                session,
                key_id,
                at,
                actor=_central_actor(),
                now=now,
                hub_id=settings.hub_id,
                hub_key=key,
            )
            revoked_at = row.revoked_at
            owner = row.owner
    except HubError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        engine.dispose()
    assert revoked_at is not None
    click.echo(f"revoked {key_id} ({owner}) from {format_rfc3339(revoked_at)}")
    click.echo("every node has been sent the new keyring")


@central.command("sync-status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def central_sync_status(as_json: bool) -> None:
    """Per node: last contact, incoming streams, the hub's queue to it, quarantine."""
    from central.db import transaction
    from central.operations.service import sync_status
    from sync.clock import SystemClock

    _settings, engine, factory = _central_db()
    try:
        with transaction(factory) as session:
            status = sync_status(session, SystemClock().now())
    finally:
        engine.dispose()
    if as_json:
        click.echo(status.model_dump_json(indent=2))
        return
    header = (
        f"{'node':<13} {'status':<9} {'last contact':<20} {'in (stream=seq)':<28} "
        f"{'out q/ack':<11} {'backlog':>7} {'oldest s':>8} {'quarantine p/a/s':>16}"
    )
    click.echo(header)
    click.echo("-" * len(header))
    for n in status.nodes:
        contact = n.last_contact_at.strftime("%Y-%m-%d %H:%M:%S") if n.last_contact_at else "never"
        streams = ", ".join(f"{s.split('>', 1)[1]}={seq}" for s, seq in n.incoming.items()) or "-"
        q = n.quarantine
        click.echo(
            f"{n.node_id:<13} {n.status:<9} {contact:<20} {streams:<28} "
            f"{n.outbox.queued_seq}/{n.outbox.acked_seq:<9} {n.outbox.backlog:>7} "
            f"{n.outbox.oldest_unacked_age_s if n.outbox.oldest_unacked_age_s is not None else '-':>8} "
            f"{q.get('pending', 0)}/{q.get('applied', 0)}/{q.get('skipped', 0):>12}"
        )
    if not status.nodes:
        click.echo("(no node enrolled yet: minefed central enroll-node …)")


@central.command("stats-refresh")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Recompute every statistic and the person index from the records, and swap them in "
    "(after changing MINEFED_CENTRAL_PERSON_INDEX_KEY, or to check the incremental counts).",
)
def central_stats_refresh(rebuild: bool) -> None:
    """Bring the national statistics and the cross-province person index up to date.

    Applies the records changed since the last refresh (what the worker's
    statistics.refresh task does every MINEFED_CENTRAL_STATS_REFRESH_INTERVAL_S).
    """
    from central.statistics import service
    from sync.clock import SystemClock

    settings, engine, factory = _central_db()
    key = settings.person_index_key.encode()
    try:
        if rebuild:
            result = service.rebuild_now(factory, key, SystemClock())
            click.echo(f"rebuilt from {result.records} records")
        else:
            result = service.refresh(factory, key, SystemClock())
            click.echo(f"refreshed: {result.records} changed records in {result.batches} batches")
    finally:
        engine.dispose()


@central.group("quarantine")
def central_quarantine() -> None:
    """Messages the hub refused (隔离消息): list, retry or skip them."""


@central_quarantine.command("list")
@click.option(
    "--status",
    "status_",
    default="pending",
    show_default=True,
    type=click.Choice(["pending", "applied", "skipped"]),
)
@click.option("--node", default=None, help="Only this node's messages.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def central_quarantine_list(status_: str, node: str | None, as_json: bool) -> None:
    """List quarantined messages (without their content)."""
    import json

    from central.db import transaction
    from central.operations.service import list_quarantine

    _settings, engine, factory = _central_db()
    try:
        with transaction(factory) as session:
            items = list_quarantine(session, status=status_, node=node, limit=1000)
    finally:
        engine.dispose()
    if as_json:
        click.echo(
            json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False, indent=2)
        )
        return
    for i in items:
        click.echo(
            f"{i.id:>6}  {i.stream:<28} seq {i.seq:<6} {i.kind:<18} {i.reason_code:<20} "
            f"{i.record_id or '-'}  {i.reason}"
        )
    if not items:
        click.echo(f"no {status_} quarantined messages")


def _central_resolve(quarantine_id: int, action: str) -> None:
    from central.db import transaction
    from central.errors import HubError
    from central.operations.service import retry, skip
    from sync.clock import SystemClock

    settings, engine, factory = _central_db()
    now = SystemClock().now()
    try:
        with transaction(factory) as session:
            if action == "retry":
                item = retry(
                    session, quarantine_id, actor=_central_actor(), now=now, hub_id=settings.hub_id
                )
            else:
                item = skip(session, quarantine_id, actor=_central_actor(), now=now)
    except HubError as exc:
        raise click.ClickException(exc.detail) from None
    finally:
        engine.dispose()
    click.echo(f"quarantined message {item.id}: {item.status}")
    if item.status == "pending":
        click.echo(f"still refused: {item.reason_code} {item.reason}")
        sys.exit(1)


@central_quarantine.command("retry")
@click.argument("quarantine_id", type=int)
def central_quarantine_retry(quarantine_id: int) -> None:
    """Verify and apply a quarantined message again (exit 1 if it is still refused)."""
    _central_resolve(quarantine_id, "retry")


@central_quarantine.command("skip")
@click.argument("quarantine_id", type=int)
def central_quarantine_skip(quarantine_id: int) -> None:
    """Give up on a quarantined message; it stays on record as skipped."""
    _central_resolve(quarantine_id, "skip")


@central.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn worker processes")
def central_serve(host: str, port: int, workers: int) -> None:
    """Serve the hub's API with uvicorn."""
    from central.config import get_settings

    _serve("central.asgi:app", get_settings().environment, host, port, workers)


@central.command("log-sequence")
def central_log_sequence() -> None:
    """Append accepted publications to the transparency log and sign a checkpoint now
    (what the log.sequence task does every MINEFED_CENTRAL_LOG_SEQUENCE_INTERVAL_S)."""
    from central.transparency.tasks import run_sequence
    from sync.clock import SystemClock

    settings, engine, factory = _central_db()
    key = _central_key(settings)
    try:
        result = run_sequence(factory, key, settings.effective_log_origin, SystemClock())
    finally:
        engine.dispose()
    if "skipped" in result:
        click.echo(f"another sequencer is running; log size {result['size']}")
        return
    click.echo(f"appended {result['appended']} entries; log size {result['size']}")
    for size in result["checkpoints"]:
        click.echo(f"signed checkpoint of size {size}")


_celery_commands(
    central,
    "central.worker",
    concurrency=1,
    one="hub",
    pool=False,
    worker_help="Run a Celery worker for the hub's tasks (log.sequence, statistics.refresh).",
    beat_help="""Run Celery beat for the hub: schedules log.sequence and statistics.refresh
    (every MINEFED_CENTRAL_LOG_SEQUENCE_INTERVAL_S / _STATS_REFRESH_INTERVAL_S).""",
)


@main.command("verify")
@click.argument("record")
@click.option("--hub", "hub_url", required=True, help="Hub origin, e.g. https://hub.example.cn")
@click.option(
    "--hub-key-fingerprint",
    default=None,
    help="Pin the hub key (SHA-256 hex); without it the key the hub shows is trusted.",
)
@click.option(
    "--disclosures",
    "disclosures_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file of disclosures [{path, salt, value}] to check against the record.",
)
@click.option(
    "--timeout",
    "timeout_s",
    default=20.0,
    show_default=True,
    type=float,
    help="Seconds allowed per HTTP request to the hub.",
)
def verify_command(
    record: str,
    hub_url: str,
    hub_key_fingerprint: str | None,
    disclosures_file: str | None,
    timeout_s: float,
) -> None:
    """Verify a published record: node signature, disclosures, log inclusion, checkpoint.

    RECORD is a record id, or a file with the record's JSON as the hub serves it
    (GET /api/v1/public/log/records/{id}, or one record of a contractor's public
    page). Prints one line per check (中文 / English). Exit 0 only if all hold,
    1 if any check fails, 2 if the hub cannot be reached or the input read.
    """
    from minefed.verify import run_verify

    code = run_verify(
        record,
        hub_url,
        fingerprint=hub_key_fingerprint,
        disclosures_file=disclosures_file,
        timeout_s=timeout_s,
        echo=click.echo,
    )
    sys.exit(code)


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
@click.option("--reset", is_flag=True, help="Delete the data directory first (fresh demo data).")
@click.option(
    "--provinces",
    default="150000,140000,530000",
    show_default=True,
    help="GB/T 2260 codes of the provinces to run, comma-separated.",
)
def demo(data_dir: str, port: int, reset: bool, provinces: str) -> None:
    """Run the federation on this machine: the hub and provincial nodes with their
    sync workers, on an embedded PostgreSQL, with demo data (cross-province
    departments and every Order No. 62 flag included).

    Prints the URLs, the demo accounts and the time it took to be ready, and
    writes them to DATA_DIR/demo.json; a second run reuses the data. Ctrl-C
    (or SIGTERM) stops every process and the database.
    """
    from minefed.demo import run_demo
    from schemas.divisions import get_division

    codes = tuple(c.strip() for c in provinces.split(",") if c.strip())
    for code in codes:
        division = get_division(code)
        if division is None or division.level != "province":
            raise click.BadParameter(
                f"{code} is not a province code (PP0000)", param_hint="--provinces"
            )
    sys.exit(run_demo(data_dir, port, reset, codes))


if __name__ == "__main__":
    main()
