"""The hub's append-only audit trail."""
