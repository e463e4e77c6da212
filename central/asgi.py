"""The ASGI entry point for uvicorn: ``uvicorn central.asgi:app``."""

from central.app import create_app
from minefed import gc_tuning

app = create_app()
gc_tuning.tune()  # after start-up: minefed/gc_tuning.py
