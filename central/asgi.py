"""The ASGI entry point for uvicorn: ``uvicorn central.asgi:app``."""

from central.app import create_app

app = create_app()
