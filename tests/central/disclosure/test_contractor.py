"""GET /api/v1/public/contractors/{uscc}: the whole public record, verifiable."""

from __future__ import annotations

from sqlmodel import col, select

from central.models import HubPublication
from sync.b64 import b64url_decode
from sync.envelope import Envelope
from tests.central.support import ok

API = "/api/v1/public/contractors/"


def test_the_record_has_every_kind_with_envelope_publication_and_flags(
    client, session, populated, inner
):
    record = ok(client.get(API + populated.firm.uscc))
    assert (record["uscc"], record["name"]) == (populated.firm.uscc, populated.firm.name)
    assert record["basic_info"]["record_id"] == "bi-1"
    assert [r["record_id"] for r in record["licences"]] == ["lic-1", "lic-2"]  # latest end first
    assert sorted(r["record_id"] for r in record["project_departments"]) == ["pd-1", "pd-2"]
    assert [r["record_id"] for r in record["accidents"]] == ["acc-1"]
    assert sorted(r["record_id"] for r in record["rewards_penalties"]) == ["rp-1", "rp-2"]
    assert record["counts"] == {
        "basic_info": 1,
        "licence": 2,
        "project_department": 2,
        "accident": 1,
        "reward_penalty": 2,
    }
    # Order No. 62 flags as of the test clock (2026-06-15).
    by_id = {r["record_id"]: r for r in record["licences"] + record["project_departments"]}
    assert by_id["lic-2"]["flags"] == ["licence_expiring"]
    assert by_id["lic-1"]["flags"] == []
    assert by_id["pd-2"]["flags"] == ["agreement_not_signed", "inspection_overdue"]
    assert by_id["pd-1"]["flags"] == []
    assert record["flags"] == {
        "agreement_not_signed": 1,
        "inspection_overdue": 1,
        "licence_expiring": 1,
    }
    for r in [record["basic_info"], *by_id.values(), *record["accidents"]]:
        publication = session.exec(
            select(HubPublication).where(
                col(HubPublication.record_id) == r["record_id"],
                col(HubPublication.version_no) == r["version_no"],
            )
        ).one()
        assert r["publication_id"] == publication.id
        assert r["log_index"] is None  # wired to central.transparency at merge
        assert r["verify_url"] == f"/verify/{r['record_id']}"
        # The envelope verifies with the node's key as served.
        env = Envelope.from_dict(r["envelope"])
        inner.key.public().verify(b64url_decode(env.sig), env.signing_bytes())
    head = by_id["pd-1"]["data"]["head"]
    assert "*" in head["resident_id"] and "*" in head["phone"]


def test_a_withdrawn_record_is_not_in_the_record(client, populated):
    text = client.get(API + populated.firm.uscc).text
    assert "pd-gone" not in text and "已撤回的保密项目部" not in text


def test_unknown_and_invalid_codes(client, populated):
    unknown = populated.firm.uscc[:-2] + "00"
    from schemas.identifiers import make_uscc

    valid_unknown = make_uscc("150102", "99999999")
    missing = client.get(API + valid_unknown)
    assert missing.status_code == 404
    assert missing.json()["error"] == "contractor_not_found"
    invalid = client.get(API + unknown)
    assert invalid.status_code in (404, 422)
    assert client.get(API + "not-a-code").json()["error"] == "invalid_uscc"
