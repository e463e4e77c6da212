"""National statistics (docs/national-queries.md): counters kept incrementally, a snapshot."""
