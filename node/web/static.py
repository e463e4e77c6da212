"""The pages' stylesheet and scripts, served by a declared route (no CDN, no web fonts)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from node.access import public
from node.errors import NotFound
from schemas.display import stylesheet

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

router = APIRouter(include_in_schema=False)


@router.get("/static/{name}", dependencies=[public("the pages' stylesheet and scripts")])
def static_file(name: str) -> Response:
    path = STATIC_DIR / name
    if "/" in name or path.suffix not in _TYPES or not path.is_file():
        raise NotFound("文件不存在", f"no static file {name}", code="not_found")
    return Response(
        stylesheet(path) if path.suffix == ".css" else path.read_bytes(),
        media_type=_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600"},
    )
