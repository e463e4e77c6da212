"""Acting as a provincial node against the hub: signed requests and envelopes.

The node's own outbox (``sync.outbox.enqueue``) needs a node database, so this
builds what a node would send by hand, with the same library calls:
``sync.disclosure.conceal`` over the form (paths relative to ``data``),
``sync.envelope.seal``, ``sync.request_auth.sign_request``. Form data comes
from the node's test factories, so both ends agree on the shapes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

import httpx
from sqlmodel import Session

from central.audit.service import Actor
from central.enrollment.service import issue_token
from schemas.enums import RecordKind
from schemas.forms import SENSITIVE
from schemas.identifiers import make_uscc
from sync.clock import Clock, format_rfc3339
from sync.disclosure import conceal
from sync.envelope import seal
from sync.keys import SigningKey
from sync.request_auth import sign_request
from tests.node import factories

NOW = factories.NOW  # 2026-06-15T02:00:00Z, the tests' fixed clock
PASSWORD = "Correct-Horse-9"
ADMIN = "bureau-admin"
ENTERED = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)


def contractor(province: str = "150000", n: int = 1) -> SimpleNamespace:
    """What the node's factories need of a contractor row."""
    county = province[:2] + "0102"
    return SimpleNamespace(
        uscc=make_uscc(county, f"{int(province) // 10000:02d}{n:06d}"),
        name=f"测试矿山工程有限公司{province}-{n}",
        central_soe=False,
        home_province_code=province,
    )


class NodeSim:
    """One provincial node as the hub sees it: an id, a key, its sequence counters."""

    def __init__(self, node_id: str, key: SigningKey, clock: Clock) -> None:
        self.node_id = node_id
        self.province = node_id.split(":", 1)[1]
        self.key = key
        self.clock = clock
        self.seqs: dict[str, int] = defaultdict(int)
        self.firm = contractor(self.province)

    # --- enrollment --------------------------------------------------------------

    def token(self, session: Session, ttl_s: int = 86400) -> str:
        issued = issue_token(
            session,
            node_id=self.node_id,
            jurisdiction=self.province,
            display_name=None,
            actor=Actor("cli:test"),
            now=self.clock.now(),
            ttl_s=ttl_s,
        )
        session.commit()
        return issued.token

    def enroll(self, client: httpx.Client, session: Session) -> dict[str, Any]:
        response = client.post(
            "/sync/v1/enroll",
            json={
                "node_id": self.node_id,
                "token": self.token(session),
                "public_key": self.key.public().to_b64(),
            },
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    # --- envelopes ----------------------------------------------------------------

    def message(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        recipient: str = "hub",
        seq: int | None = None,
        disclosures: list[dict[str, Any]] | None = None,
        at: datetime | None = None,
        key: SigningKey | None = None,
    ) -> dict[str, Any]:
        if seq is None:
            self.seqs[recipient] += 1
            seq = self.seqs[recipient]
        envelope = seal(
            kind, self.node_id, seq, recipient, payload, key or self.key, at or self.clock.now()
        )
        return {"envelope": envelope.to_dict(), "disclosures": disclosures or []}

    def publish(
        self,
        record_id: str,
        data: dict[str, Any] | None = None,
        *,
        kind: RecordKind = RecordKind.PROJECT_DEPARTMENT,
        version_no: int = 1,
        province: str | None = None,
        county: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        province = province or self.province
        county = county or province[:2] + "0102"
        if data is None:
            data = factories.project_department(county)
        signed, disclosures = conceal(data, SENSITIVE[kind])
        payload = {
            "record_id": record_id,
            "kind": kind.value,
            "version_no": version_no,
            "owner": self.node_id,
            "contractor": {"uscc": self.firm.uscc, "name": self.firm.name},
            "province_code": province,
            "city_code": county[:4] + "00",
            "county_code": county,
            "first_entered_at": format_rfc3339(ENTERED),
            "approved_at": format_rfc3339(self.clock.now()),
            "data": signed,
        }
        return self.message(
            "record.publish", payload, disclosures=[d.to_dict() for d in disclosures], **kw
        )

    def tombstone(
        self,
        record_id: str,
        *,
        kind: RecordKind = RecordKind.PROJECT_DEPARTMENT,
        reason: str = "withdrawn",
        **kw: Any,
    ) -> dict[str, Any]:
        payload = {
            "record_id": record_id,
            "kind": kind.value,
            "owner": self.node_id,
            "reason": reason,
            "deleted_at": format_rfc3339(self.clock.now()),
        }
        return self.message("record.tombstone", payload, **kw)

    # --- signed requests ------------------------------------------------------------

    def headers(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        nonce: str | None = None,
        at: datetime | None = None,
        key: SigningKey | None = None,
    ) -> dict[str, str]:
        return sign_request(
            method, target, body, self.node_id, key or self.key, at or self.clock.now(), nonce
        )

    def push(
        self, client: httpx.Client, messages: list[dict[str, Any]], **kw: Any
    ) -> httpx.Response:
        body = json.dumps({"messages": messages}).encode()
        headers = self.headers("POST", "/sync/v1/messages", body, **kw)
        headers["Content-Type"] = "application/json"
        return client.post("/sync/v1/messages", content=body, headers=headers)

    def pull(
        self, client: httpx.Client, after: int = 0, limit: int | None = None, **kw: Any
    ) -> httpx.Response:
        target = f"/sync/v1/inbox?after={after}" + (f"&limit={limit}" if limit else "")
        return client.get(target, headers=self.headers("GET", target, **kw))


@cache
def password_hash() -> str:
    # argon2id takes ~0.1 s: hash the shared test password once.
    from central.auth.passwords import hash_password

    return hash_password(PASSWORD)


def make_hub_user(
    session: Session,
    role: str = "national_admin",
    username: str | None = None,
    *,
    must_change_password: bool = False,
) -> Any:
    """A hub user straight into the test transaction."""
    import uuid

    from central.models import HubUser

    user = HubUser(
        username=username or f"{role}-{uuid.uuid4().hex[:8]}",
        display_name="国家局测试用户",
        role=role,
        password_hash=password_hash(),
        must_change_password=must_change_password,
        created_at=NOW,
        created_by="test",
        password_changed_at=NOW,
    )
    session.add(user)
    session.flush()
    return user


def hub_token_for(session: Session, user: Any, days: int = 1) -> dict[str, str]:
    """Bearer headers for a hub user (a token row, no argon2 round trip)."""
    from datetime import timedelta

    from central.auth.tokens import new_token, token_digest
    from central.models import HubCredential

    token = new_token()
    session.add(
        HubCredential(
            token_hash=token_digest(token),
            user_id=user.id,
            kind="bearer",
            created_at=NOW,
            expires_at=NOW + timedelta(days=days),
        )
    )
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.status_code} {response.text}"
    return response.json()
