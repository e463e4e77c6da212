"""deploy/scripts: the backup and restore wrappers call commands that exist, on the
compose files' one-off service, and stop the right services around a restore."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from minefed.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "deploy" / "scripts"
APPS = {"provincial": "node", "national": "central"}


def _command(*path: str) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group), path
        found = command.commands.get(name)
        assert found is not None, f"minefed {' '.join(path)} does not exist"
        command = found
    return command


@pytest.mark.parametrize("script", ["backup.sh", "restore.sh"])
def test_the_scripts_are_executable_bash_that_parses(script):
    path = SCRIPTS / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


@pytest.mark.parametrize(("script", "action"), [("backup.sh", "backup"), ("restore.sh", "restore")])
def test_the_scripts_run_existing_commands_on_the_migrate_service(script, action):
    text = (SCRIPTS / script).read_text("utf-8")
    assert re.search(rf'migrate "\$app" {action} --(to|from) ', text), text
    for kind, app in APPS.items():
        assert f"{kind}) app={app} ;;" in text
        _command(app, action)
        services = yaml.safe_load((ROOT / "deploy" / kind / "compose.yaml").read_text("utf-8"))
        assert "migrate" in services["services"]
    options = {o for p in _command("node", "restore").params for o in p.opts}
    assert {"--from", "--yes", "--no-reconcile"} <= options
    options = {o for p in _command("central", "restore").params for o in p.opts}
    assert {"--from", "--yes", "--accept-log-rollback"} <= options
    assert {"--to"} <= {o for p in _command("node", "backup").params for o in p.opts}


def test_restore_stops_the_services_first_and_starts_them_only_after_success():
    text = (SCRIPTS / "restore.sh").read_text("utf-8")
    stop = text.index('"${compose[@]}" stop api worker beat')
    run = text.index('if restore "$@"; then')
    start = text.index('"${compose[@]}" start api worker beat')
    assert stop < run < start
    services = yaml.safe_load((ROOT / "deploy/provincial/compose.yaml").read_text("utf-8"))
    assert {"api", "worker", "beat"} <= set(services["services"])


def test_the_scripts_refuse_bad_arguments_before_calling_docker(tmp_path):
    for script, args in (("backup.sh", ["elsewhere", str(tmp_path)]), ("restore.sh", ["x"])):
        done = subprocess.run(
            ["bash", str(SCRIPTS / script), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2 and "usage" in done.stderr
    done = subprocess.run(
        ["bash", str(SCRIPTS / "restore.sh"), "provincial", str(tmp_path), "minefed-node-x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "manifest.json missing" in done.stderr
