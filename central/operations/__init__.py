"""Operator views: sync status, the quarantine, metrics."""
