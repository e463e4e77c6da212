"""The national hub (国家中心). Built in a later stage: ingest, accounts authority,
disclosure site, national queries and statistics, transparency log."""
