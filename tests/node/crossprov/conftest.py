"""The sync fixtures (an enrolled node, another province's node, a fake hub) for relays."""

from tests.node.sync.conftest import (  # noqa: F401 - fixtures
    enrolled,
    factory,
    federation,
    http,
    hub,
    hub_key,
    key_path,
    kicks,
    node_key,
    other_key,
    other_node,
    province,
    publisher,
    sync_settings,
)
