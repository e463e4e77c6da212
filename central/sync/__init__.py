"""The hub's end of the sync protocol (docs/sync-protocol.md)."""
