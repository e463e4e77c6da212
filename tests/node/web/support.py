"""Helpers for page tests: log in through the login form, read CSRF tokens, fill forms."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.node.factories import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response


def csrf_of(client: httpx.Client, path: str = "/home") -> str:
    page = client.get(path, follow_redirects=True)
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def form_fields(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The schemas' dictionary as the form posts it (dotted names, rows numbered)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(form_fields(value, name + "."))
        elif isinstance(value, list):
            if value and isinstance(value[0], dict):
                for i, item in enumerate(value):
                    out.update(form_fields(item, f"{name}.{i}."))
            else:
                out[name] = "、".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is not None:
            out[name] = str(value)
    return out
