"""``/api/v1/attachments``: contractors upload scans; owners and reviewers read them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from starlette.types import Message

from node.access import ALL, CONTRACTOR, Scope, allow
from node.attachments import service
from node.attachments.schemas import UPLOAD_EXAMPLE, AttachmentOut, ref_of
from node.deps import ActorDep, SessionDep, SettingsDep, StorageDep
from node.pagination import Page, PageDep
from schemas.enums import AttachmentPurpose
from schemas.forms.common import AttachmentRef

# Room for the multipart envelope around the file: boundaries, part headers, the
# purpose field. The exact limit on the file itself is enforced while reading it.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024


class _BodyOverLimit(HTTPException):
    # An HTTPException, because FastAPI turns any other error raised while parsing
    # a form into a 400; this one it passes through, and the route turns it into 413.
    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimitedRoute(APIRoute):
    """Refuses a request body larger than the attachment limit (plus the multipart
    allowance) before it is parsed: by its declared Content-Length at once, or, for
    a chunked body, as soon as that much has arrived. Without this, the framework
    would spool the whole body to a temporary file before the endpoint runs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            max_bytes: int = request.app.state.settings.max_attachment_bytes
            limit = max_bytes + MULTIPART_ALLOWANCE_BYTES
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise service.too_large(max_bytes)
            received = 0
            upstream = request.receive

            async def receive() -> Message:
                nonlocal received
                message = await upstream()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _BodyOverLimit
                return message

            try:
                return await handler(Request(request.scope, receive))
            except _BodyOverLimit:
                raise service.too_large(max_bytes) from None

        return limited


_OWN = allow(CONTRACTOR, Scope.OWN, "the contractor's own scans")
_READ = allow(
    ALL,
    Scope.OWN_OR_JURISDICTION,
    "contractors their own; regulators those of records in their jurisdiction",
)

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"], route_class=BodyLimitedRoute)

_ERRORS = {
    403: {"description": "非承包单位账号 / not a contractor account (`role_not_allowed`)"},
    404: {"description": "不存在或无权查看 / no such attachment, or not yours to see"},
}


@router.post(
    "",
    status_code=201,
    summary="上传附件（扫描件）/ upload a scan",
    description=(
        "multipart/form-data with `file` and `purpose`. The type is decided by the "
        "content (PDF, JPEG or PNG), never by the name or the declared Content-Type. "
        "The response is the reference to put into a licence or project-department "
        "draft's `attachments` list."
    ),
    responses={
        201: {"content": {"application/json": {"example": UPLOAD_EXAMPLE}}},
        403: _ERRORS[403],
        413: {"description": "超过大小上限 / larger than the limit (`attachment_too_large`)"},
        415: {"description": "不是 PDF/JPEG/PNG / not a PDF, JPEG or PNG"},
    },
    dependencies=[_OWN],
)
def upload(
    actor: ActorDep,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="扫描件 / the scan: PDF, JPEG or PNG")],
    purpose: Annotated[AttachmentPurpose, Form(description="附件用途 / what the scan is")],
) -> AttachmentRef:
    row = service.upload(
        session,
        storage,
        actor,
        stream=file.file,
        filename=file.filename,
        purpose=purpose,
        max_bytes=settings.max_attachment_bytes,
    )
    return ref_of(row)


@router.get(
    "", summary="本单位的附件 / my attachments", responses={403: _ERRORS[403]}, dependencies=[_OWN]
)
def list_own(
    actor: ActorDep,
    session: SessionDep,
    paging: PageDep,
    purpose: Annotated[AttachmentPurpose | None, Query(description="附件用途 / purpose")] = None,
) -> Page[AttachmentOut]:
    rows, total = service.list_own(session, actor, paging, purpose)
    return Page.of([AttachmentOut.of(r) for r in rows], total, paging)


@router.get(
    "/{attachment_id}",
    summary="附件信息 / an attachment's metadata",
    responses={404: _ERRORS[404]},
    dependencies=[_READ],
)
def read(attachment_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> AttachmentOut:
    row, _ = service.get_readable(session, actor, attachment_id)
    return AttachmentOut.of(row)


@router.get(
    "/{attachment_id}/content",
    summary="下载附件 / download an attachment",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "文件内容 / the file, as stored",
            "content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}},
        },
        404: _ERRORS[404],
    },
    dependencies=[_READ],
)
def content(
    attachment_id: uuid.UUID, actor: ActorDep, session: SessionDep, storage: StorageDep
) -> StreamingResponse:
    row, chunks = service.open_content(session, storage, actor, attachment_id)
    return StreamingResponse(
        chunks,
        media_type=row.media_type,
        headers={
            "Content-Length": str(row.size_bytes),
            # Always a download, never rendered inline in the node's origin.
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete(
    "/{attachment_id}",
    status_code=204,
    summary="删除附件 / delete an attachment",
    responses={
        403: _ERRORS[403],
        404: _ERRORS[404],
        409: {"description": "已被提交或已通过的版本引用 / in use (`attachment_in_use`)"},
    },
    dependencies=[_OWN],
)
def delete(
    attachment_id: uuid.UUID, actor: ActorDep, session: SessionDep, storage: StorageDep
) -> None:
    service.delete(session, storage, actor, attachment_id)
