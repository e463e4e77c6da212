"""The ASGI entry point for uvicorn: ``uvicorn node.asgi:app``."""

from minefed import gc_tuning
from node.app import create_app

app = create_app()
gc_tuning.tune()  # after start-up: minefed/gc_tuning.py
