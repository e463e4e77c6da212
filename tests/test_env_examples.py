"""Every setting the code reads is listed, with its meaning, in the env examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.config import CentralSettings
from minefed.observability import SHARED_SETTINGS
from node.config import NodeSettings

ROOT = Path(__file__).resolve().parent.parent


def listed(path: Path) -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().lstrip("#").strip()
        if "=" in line and line.split("=", 1)[0].isupper():
            names.add(line.split("=", 1)[0])
    return names


@pytest.mark.parametrize(
    ("settings", "prefix", "example"),
    [
        (NodeSettings, "MINEFED_NODE_", "deploy/provincial/node.env.example"),
        (CentralSettings, "MINEFED_CENTRAL_", "deploy/national/hub.env.example"),
    ],
)
def test_every_setting_is_in_the_env_example(settings, prefix, example):
    # Plus what both apps read without their prefix (log format, metrics directory).
    wanted = {prefix + name.upper() for name in settings.model_fields} | set(SHARED_SETTINGS)
    have = listed(ROOT / example)
    assert wanted - have == set(), f"missing from {example}"
    assert have - wanted == set(), f"{example} lists settings the code does not read"


@pytest.mark.parametrize("settings", [NodeSettings, CentralSettings])
def test_every_setting_has_a_description(settings):
    missing = [n for n, f in settings.model_fields.items() if not f.description]
    assert missing == []
