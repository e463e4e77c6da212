"""The production compose files are well-formed and run what the code provides.

No Docker engine runs here, so this reads the files as compose would (YAML with
merge keys) and checks what an operator relies on: the services, health checks,
restart policies, resource limits, volumes, secrets without defaults, and that
every command is one the ``minefed`` command line really has.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from minefed.cli import main
from tests.test_env_examples import listed

ROOT = Path(__file__).resolve().parents[2]
DEPLOYS = {
    "provincial": ("node", "node.env"),
    "national": ("central", "hub.env"),
}
SERVICES = {"postgres", "rabbitmq", "migrate", "api", "worker", "beat", "proxy"}
OURS = {"migrate", "api", "worker", "beat"}
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(:?[-?])?([^}]*)\}")


def compose(deploy: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / deploy / "compose.yaml").read_text("utf-8"))


@pytest.mark.parametrize("deploy", DEPLOYS)
def test_it_names_every_service_with_health_restart_and_limits(deploy):
    services = compose(deploy)["services"]
    assert set(services) >= SERVICES
    for name, service in services.items():
        limits = service["deploy"]["resources"]["limits"]
        assert limits["cpus"] and limits["memory"], name
        if name == "migrate":
            assert service["restart"] == "no"  # a job: runs once per start
            continue
        assert service["restart"] == "unless-stopped", name
        check = service["healthcheck"]
        assert check["test"] and check["interval"] and check["retries"], name


@pytest.mark.parametrize("deploy", DEPLOYS)
def test_our_services_wait_for_the_migration_and_keep_state_on_volumes(deploy):
    spec = compose(deploy)
    services = spec["services"]
    for name in OURS - {"migrate"}:
        wait = services[name]["depends_on"]["migrate"]["condition"]
        assert wait == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    declared = set(spec["volumes"])
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
    assert "pgdata" in declared and "keys" in declared


@pytest.mark.parametrize("deploy", DEPLOYS)
def test_commands_are_real_minefed_commands(deploy):
    app, env_file = DEPLOYS[deploy]
    services = compose(deploy)["services"]
    for name in OURS:
        service = services[name]
        assert service["env_file"] == [env_file]
        args = list(service["command"])
        assert args[0] == app
        group = main.commands[app]
        assert isinstance(group, click.Group)
        command = group.commands.get(args[1])
        assert command is not None, f"{name}: minefed {app} {args[1]} does not exist"
        # Parsing checks every option and value without running the command.
        command.make_context(f"minefed {app} {args[1]}", args[2:])


@pytest.mark.parametrize("deploy", DEPLOYS)
def test_secrets_have_no_default_and_every_variable_is_explained(deploy):
    text = (ROOT / "deploy" / deploy / "compose.yaml").read_text("utf-8")
    documented = listed(ROOT / "deploy" / deploy / ".env.example")
    for var, op, _ in VARIABLE.findall(text):
        assert var in documented, f"{var} is not in deploy/{deploy}/.env.example"
        if "PASSWORD" in var or "SECRET" in var:
            assert op == ":?", f"{var} must be required (${{{var}:?…}}), never defaulted"
    _, env_file = DEPLOYS[deploy]
    example = (ROOT / "deploy" / deploy / f"{env_file}.example").read_text("utf-8")
    for line in example.splitlines():
        name, _, value = line.partition("=")
        if re.search(r"SECRET|PASSWORD|FINGERPRINT", name) and not line.startswith("#"):
            assert value == "", f"{name} must not have a value in the example"


def test_the_proxy_terminates_tls_and_forwards_the_client_address():
    conf = (ROOT / "deploy" / "proxy" / "minefed.conf.template").read_text("utf-8")
    assert "listen 443 ssl" in conf and "return 301 https://" in conf
    assert "proxy_set_header X-Forwarded-For $remote_addr" in conf
    for deploy in DEPLOYS:
        proxy = compose(deploy)["services"]["proxy"]
        assert any(m.endswith(":/etc/nginx/tls:ro") for m in proxy["volumes"])


@pytest.mark.parametrize("deploy", DEPLOYS)
def test_the_api_sums_its_workers_metrics_in_a_fresh_directory(deploy):
    api = compose(deploy)["services"]["api"]
    directory = api["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert directory in api["tmpfs"]  # empty at every start: no counts of a previous run
    conf = (ROOT / "deploy" / "proxy" / "minefed.conf.template").read_text("utf-8")
    assert "proxy_set_header X-Request-ID $request_id" in conf
