"""No CDN and no external request: the stylesheet is served by the node itself."""

from __future__ import annotations

import re
from pathlib import Path

import node.web

TEMPLATES = Path(node.web.__file__).resolve().parent.parent / "templates"


def test_the_stylesheet_is_served_locally(client):
    response = client.get("/static/node.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@import" not in response.text and "url(" not in response.text
    assert client.get("/static/../config.py").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404


def test_no_template_loads_anything_from_another_host():
    external = re.compile(r"""(src|href)=["'](https?:)?//""")
    for template in TEMPLATES.rglob("*.html"):
        assert not external.search(template.read_text()), template.name


def test_the_api_keeps_its_json_errors(client):
    response = client.get("/api/v1/filings")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
