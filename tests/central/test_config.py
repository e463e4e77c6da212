"""The hub's settings refuse default secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from central.config import CentralSettings

GOOD = "s" * 32


def test_development_runs_with_defaults():
    settings = CentralSettings(environment="development")
    assert settings.hub_id == "hub"
    assert (settings.request_window_s, settings.max_batch) == (300, 500)
    assert settings.enrollment_token_ttl_s == 86400
    assert (settings.token_ttl_s, settings.session_ttl_s) == (8 * 3600, 8 * 3600)
    assert settings.one_time_code_ttl_s == 7 * 86400


@pytest.mark.parametrize("secret_key", [None, "short"])
def test_production_refuses_default_or_short_secrets(secret_key):
    values = {"environment": "production"}
    if secret_key is not None:
        values["secret_key"] = secret_key
    with pytest.raises(ValidationError) as refused:
        CentralSettings(**values)
    assert "MINEFED_CENTRAL_SECRET_KEY" in str(refused.value)


def test_production_accepts_real_secrets(monkeypatch):
    monkeypatch.setenv("MINEFED_CENTRAL_ENVIRONMENT", "production")
    monkeypatch.setenv("MINEFED_CENTRAL_SECRET_KEY", GOOD)
    monkeypatch.setenv("MINEFED_CENTRAL_PERSON_INDEX_KEY", "p" * 32)
    assert CentralSettings().secret_key == GOOD


@pytest.mark.parametrize("person_index_key", [None, "short"])
def test_production_refuses_a_default_or_short_person_index_key(person_index_key):
    values = {"environment": "production", "secret_key": GOOD}
    if person_index_key is not None:
        values["person_index_key"] = person_index_key
    with pytest.raises(ValidationError) as refused:
        CentralSettings(**values)
    assert "MINEFED_CENTRAL_PERSON_INDEX_KEY" in str(refused.value)


def test_the_interim_operator_token_is_gone(monkeypatch):
    # Hub accounts replaced it (docs/decisions.md); an old env file must not re-enable it.
    monkeypatch.setenv("MINEFED_CENTRAL_OPERATOR_TOKEN", "t" * 32)
    assert not hasattr(CentralSettings(), "operator_token")
