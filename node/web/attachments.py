"""Scans on a filing's page: upload one (stored by ``node.attachments.service``, then
referenced from the draft) or take one off the draft. Downloads use the API's
``/api/v1/attachments/{id}/content``, which accepts the page session for reading."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from node.attachments import service as attachment_service
from node.attachments.endpoints import BodyLimitedRoute
from node.attachments.schemas import ref_of
from node.deps import SessionDep, SettingsDep, StorageDep
from node.errors import InvalidInput, NodeError
from node.filing import service
from node.principal import Actor
from node.web.contractor import ContractorPage, record_page_response
from node.web.session import FormDep, attempt
from schemas.enums import AttachmentPurpose, RecordKind

#: The forms with an ``attachments`` list.
WITH_ATTACHMENTS = frozenset({RecordKind.LICENCE, RecordKind.PROJECT_DEPARTMENT})

# The body is limited before it is parsed, as for the API's upload.
router = APIRouter(include_in_schema=False, route_class=BodyLimitedRoute)


def _refs(session: Session, actor: Actor, record_id: uuid.UUID) -> tuple[str, list[Any]]:
    record = service.get_visible(session, actor, record_id)
    data = service.get_version(session, record, record.latest_version_no).data
    return record.kind, list(data.get("attachments") or [])


@router.post("/filings/{record_id}/attachments")
def attach(
    request: Request,
    record_id: uuid.UUID,
    actor: ContractorPage,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    form: FormDep,
) -> Response:
    upload = form.get("file")
    purpose_raw = str(form.get("purpose") or "")

    def store() -> None:
        kind, refs = _refs(session, actor, record_id)
        if RecordKind(kind) not in WITH_ATTACHMENTS:
            raise InvalidInput("该表单没有附件", f"{kind} has no attachments", field="file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("请选择要上传的文件", "choose a file to upload", field="file")
        try:
            purpose = AttachmentPurpose(purpose_raw)
        except ValueError:
            raise InvalidInput(
                "请选择附件用途", "choose what the scan is", field="purpose"
            ) from None
        row = attachment_service.upload(
            session,
            storage,
            actor,
            stream=upload.file,
            filename=upload.filename,
            purpose=purpose,
            max_bytes=settings.max_attachment_bytes,
        )
        refs.append(ref_of(row).model_dump(mode="json"))
        service.update_draft(session, actor, record_id, {"attachments": refs})

    try:
        attempt(session, store)
    except NodeError as exc:
        if exc.status_code >= 500:
            raise
        return record_page_response(
            request,
            actor,
            session,
            settings,
            record_id,
            attach_error=exc.detail,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/filings/{record_id}?done=attached#attachments", status_code=303)


@router.post("/filings/{record_id}/attachments/{attachment_id}/remove")
def detach(
    record_id: uuid.UUID, attachment_id: uuid.UUID, actor: ContractorPage, session: SessionDep
) -> Response:
    _, refs = _refs(session, actor, record_id)
    kept = [r for r in refs if str(r.get("id")) != str(attachment_id)]
    service.update_draft(session, actor, record_id, {"attachments": kept})
    return RedirectResponse(f"/filings/{record_id}?done=detached#attachments", status_code=303)
