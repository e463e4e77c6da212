"""The ``minefed`` command line and the local federation launcher."""
