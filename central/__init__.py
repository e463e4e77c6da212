"""The national hub (国家中心): node registry and enrollment, the hub's end of the
sync protocol (ingest, relays, directives), key registry, operator APIs. Later
stages add the accounts authority, disclosure site, national queries and
statistics, and the transparency log."""
