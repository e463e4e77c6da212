"""The provincial node's end of the federation protocol (docs/sync-protocol.md):
publishing into the outbox, delivery to and from the hub, relays, enrollment, operators."""
