"""The node as a witness of the hub's transparency log."""
