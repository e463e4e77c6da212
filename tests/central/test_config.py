"""The hub's settings refuse default secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from central.config import CentralSettings

GOOD = "s" * 32


def test_development_runs_with_defaults():
    settings = CentralSettings(environment="development")
    assert settings.hub_id == "hub" and settings.operator_token is None
    assert (settings.request_window_s, settings.max_batch) == (300, 500)
    assert settings.enrollment_token_ttl_s == 86400


@pytest.mark.parametrize(
    ("secret_key", "operator_token", "named"),
    [
        (None, GOOD, "SECRET_KEY"),
        ("short", GOOD, "SECRET_KEY"),
        (GOOD, None, "OPERATOR_TOKEN"),
        (GOOD, "t" * 31, "OPERATOR_TOKEN"),
    ],
)
def test_production_refuses_default_or_short_secrets(secret_key, operator_token, named):
    values = {"environment": "production", "operator_token": operator_token}
    if secret_key is not None:
        values["secret_key"] = secret_key
    with pytest.raises(ValidationError) as refused:
        CentralSettings(**values)
    assert f"MINEFED_CENTRAL_{named}" in str(refused.value)


def test_production_accepts_real_secrets(monkeypatch):
    monkeypatch.setenv("MINEFED_CENTRAL_ENVIRONMENT", "production")
    monkeypatch.setenv("MINEFED_CENTRAL_SECRET_KEY", GOOD)
    monkeypatch.setenv("MINEFED_CENTRAL_OPERATOR_TOKEN", "t" * 32)
    assert CentralSettings().operator_token == "t" * 32
