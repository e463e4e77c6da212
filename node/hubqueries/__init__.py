"""The node's proxy for its regulators' national queries (docs/national-queries.md)."""
