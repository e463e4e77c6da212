"""Cross-province queries for national staff and, through their node, provincial regulators."""
