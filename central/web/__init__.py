"""The hub's server-rendered pages."""
