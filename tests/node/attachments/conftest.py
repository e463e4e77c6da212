"""Accounts and helpers for the attachment tests."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from node.models import Attachment, AuditEvent
from schemas.enums import Role
from tests.node.attachments.samples import pdf_bytes
from tests.node.factories import make_user, token_for


@pytest.fixture
def owner(contractor_headers):
    """Headers of contractor A, the uploader."""
    return contractor_headers


@pytest.fixture
def stranger(session):
    """Headers of contractor B."""
    return token_for(session, make_user(session, Role.CONTRACTOR, "150102"))


@pytest.fixture
def county(county_headers):
    return county_headers


@pytest.fixture
def other_county(other_county_headers):
    return other_county_headers


@pytest.fixture
def province(province_headers):
    return province_headers


def upload(
    client,
    headers,
    data=None,
    *,
    filename="安全生产许可证.pdf",
    content_type="application/pdf",
    purpose="safety_licence_scan",
):
    return client.post(
        "/api/v1/attachments",
        headers=headers,
        files={"file": (filename, pdf_bytes() if data is None else data, content_type)},
        data={"purpose": purpose},
    )


def uploaded(client, headers, data=None, **kw):
    response = upload(client, headers, data, **kw)
    assert response.status_code == 201, response.text
    return response.json()


def stored_files(settings):
    root = settings.storage_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def counts(session, settings):
    """Rows, audit events and stored files: what a refused request must leave alone."""
    return (
        session.exec(select(func.count()).select_from(Attachment)).one(),
        session.exec(select(func.count()).select_from(AuditEvent)).one(),
        len(stored_files(settings)),
    )
