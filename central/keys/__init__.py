"""The registry of node keys and the hub's own key."""
