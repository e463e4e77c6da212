"""Liveness, readiness and the OpenAPI document of the hub."""

from __future__ import annotations

import re

BILINGUAL = re.compile(r"[\u4e00-\u9fff].*/\s*[A-Za-z]")


def test_health_and_readiness(client, app):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {
        "status": "ok",
        "database": "up",
        "hub_key": "present",
    }
    app.state.signing_key = None
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.json()["hub_key"] == "missing"


def test_every_operation_is_documented(app):
    problems = []
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            if not BILINGUAL.search(op.get("summary", "")):
                problems.append(f"{where}: summary must be '中文 / English'")
            if not op.get("tags"):
                problems.append(f"{where}: no tag")
            if not [code for code in op.get("responses", {}) if code.startswith("2")]:
                problems.append(f"{where}: no success response")
    assert problems == []


def test_the_app_loads_its_key_file(settings, hub_engine, hub_key):
    from central.app import create_app
    from central.keys.hub_key import write_key_file

    write_key_file(settings.key_file, hub_key)
    app = create_app(settings, engine=hub_engine)
    assert app.state.signing_key.key_id == hub_key.key_id
