"""The ASGI entry point for uvicorn: ``uvicorn node.asgi:app``."""

from node.app import create_app

app = create_app()
