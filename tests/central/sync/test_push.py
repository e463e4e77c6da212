"""POST /sync/v1/messages: publications, tombstones, ordering, authority, tampering."""

from __future__ import annotations

import copy
import json

import pytest
from sqlmodel import col, select

from central.models import HubPublication, HubRecord
from schemas.enums import RecordKind
from schemas.identifiers import mask_phone, mask_resident_id
from sync.disclosure import conceal
from sync.envelope import BatchItem, Envelope, seal_batch
from sync.keys import SigningKey
from sync.merkle import leaf_hash
from sync.tables import QuarantinedMessage, StreamCursor
from tests.central.support import NodeSim, ok
from tests.node import factories

STREAM = "node:150000>hub"


def record(session, record_id: str) -> HubRecord:
    session.expire_all()
    row = session.get(HubRecord, record_id)
    assert row is not None
    return row


def quarantined(session) -> list[tuple[int, str, str]]:
    session.expire_all()
    rows = session.exec(select(QuarantinedMessage).order_by(col(QuarantinedMessage.id)))
    return [(r.seq, r.reason_code, r.sender) for r in rows]


def publications(session, record_id: str) -> list[HubPublication]:
    session.expire_all()
    return list(
        session.exec(
            select(HubPublication)
            .where(HubPublication.record_id == record_id)
            .order_by(col(HubPublication.id))
        )
    )


def test_a_publication_becomes_the_projection_with_masked_values(client, session, inner):
    data = factories.project_department("150102")
    message = inner.publish("dept-1", data)
    answer = ok(inner.push(client, [message]))
    assert answer == {"streams": {STREAM: 1}, "applied": 1, "duplicates": 0, "quarantined": []}

    row = record(session, "dept-1")
    assert (row.kind, row.owner, row.version_no) == ("project_department", "node:150000", 1)
    assert (row.province_code, row.city_code, row.county_code) == ("150000", "150100", "150102")
    assert row.contractor_uscc == inner.firm.uscc
    head = row.public_data["head"]
    assert head["name"] == data["head"]["name"]
    assert head["resident_id"] == mask_resident_id(data["head"]["resident_id"])
    assert head["phone"] == mask_phone(data["head"]["phone"])
    assert row.public_data["safety_managers"][1]["resident_id"] == mask_resident_id(
        data["safety_managers"][1]["resident_id"]
    )
    # Nothing unmasked anywhere in what may be shown publicly.
    public_text = json.dumps([row.public_data, row.envelope], ensure_ascii=False)
    for person in [data["head"], *data["safety_managers"], *data["technical_staff"]]:
        assert person["resident_id"] not in public_text
        assert person["phone"] not in public_text
    # The envelope is kept exactly as signed; disclosures are kept for regulators.
    assert row.envelope == message["envelope"]
    assert row.disclosures == message["disclosures"]
    assert {d["path"] for d in row.disclosures} >= {"head.resident_id", "safety_managers[1].phone"}
    log = publications(session, "dept-1")
    assert [(p.kind, p.version_no, p.node_id) for p in log] == [
        ("record.publish", 1, inner.node_id)
    ]
    assert log[0].envelope == message["envelope"] and len(log[0].leaf_hash) == 32


def test_duplicates_are_ignored_and_a_gap_stops_the_stream(client, session, inner):
    m1, m2, m3, m4 = (inner.publish(f"r{i}") for i in range(1, 5))
    ok(inner.push(client, [m1, m2]))
    again = ok(inner.push(client, [m1, m2, m3]))
    assert (again["applied"], again["duplicates"], again["streams"]) == (1, 2, {STREAM: 3})

    gap_inner = NodeSim(inner.node_id, inner.key, inner.clock)
    gap_inner.seqs["hub"] = 5
    m6 = gap_inner.publish("r6")
    gap = ok(inner.push(client, [m6, m4]))
    # 6 arrives before 4: the stream stops at the gap, nothing after it is applied.
    assert (gap["applied"], gap["streams"]) == (0, {STREAM: 3})
    in_order = ok(inner.push(client, [m4]))
    assert in_order["streams"] == {STREAM: 4}
    session.expire_all()
    assert session.get(HubRecord, "r6") is None
    assert session.get(StreamCursor, STREAM).last_seq == 4


def test_a_higher_version_replaces_an_older_one_never_regresses(client, session, inner):
    v1 = inner.publish("lic-1", factories.licence(), kind=RecordKind.LICENCE, version_no=1)
    v2 = inner.publish(
        "lic-1",
        factories.licence(qualification_scope="矿山工程施工总承包一级"),
        kind=RecordKind.LICENCE,
        version_no=2,
    )
    ok(inner.push(client, [v1, v2]))
    assert record(session, "lic-1").version_no == 2

    # An old version arriving later (an operator retry, a resend under a new seq):
    # logged once, projection kept.
    v1_again = inner.publish("lic-1", factories.licence(), kind=RecordKind.LICENCE, version_no=1)
    same_v2 = inner.publish(
        "lic-1",
        factories.licence(qualification_scope="矿山工程施工总承包一级"),
        kind=RecordKind.LICENCE,
        version_no=2,
    )
    answer = ok(inner.push(client, [v1_again, same_v2]))
    assert answer["applied"] == 2 and answer["quarantined"] == []
    row = record(session, "lic-1")
    assert row.version_no == 2
    assert row.public_data["qualification_scope"] == "矿山工程施工总承包一级"
    assert row.envelope == v2["envelope"]
    assert [p.version_no for p in publications(session, "lic-1")] == [1, 2]


def test_an_older_version_first_seen_late_is_logged_but_does_not_regress(client, session, inner):
    v2 = inner.publish("lic-2", factories.licence(), kind=RecordKind.LICENCE, version_no=2)
    v1 = inner.publish("lic-2", factories.licence(), kind=RecordKind.LICENCE, version_no=1)
    ok(inner.push(client, [v2, v1]))
    assert record(session, "lic-2").version_no == 2
    assert [p.version_no for p in publications(session, "lic-2")] == [2, 1]


def test_a_tombstone_deletes_the_content_and_is_final(client, session, inner):
    ok(inner.push(client, [inner.publish("dept-t")]))
    tomb = inner.tombstone("dept-t", reason="retention")
    ok(inner.push(client, [tomb]))
    row = record(session, "dept-t")
    assert row.deleted_at == inner.clock.now() and row.delete_reason == "retention"
    assert (row.record_id, row.kind, row.owner) == ("dept-t", "project_department", inner.node_id)
    assert row.public_data is None and row.disclosures == []
    assert row.contractor_uscc is None and row.contractor_name is None
    assert row.envelope == tomb["envelope"]
    log = publications(session, "dept-t")
    assert [(p.kind, p.envelope is None) for p in log] == [
        ("record.publish", True),  # content gone, hashes kept
        ("record.tombstone", False),
    ]
    assert all(len(p.envelope_sha256) == 64 and len(p.leaf_hash) == 32 for p in log)

    # A later publish of the same record (an old message retried) changes nothing.
    answer = ok(inner.push(client, [inner.publish("dept-t", version_no=5), tomb]))
    assert answer["applied"] == 1 and answer["duplicates"] == 1
    assert record(session, "dept-t").public_data is None
    assert len(publications(session, "dept-t")) == 2


def test_a_tombstone_for_a_record_never_seen_leaves_a_deleted_stub(client, session, inner):
    ok(inner.push(client, [inner.tombstone("ghost")]))
    row = record(session, "ghost")
    assert row.deleted_at is not None and row.version_no == 0
    ok(inner.push(client, [inner.publish("ghost")]))  # late original: stays deleted
    assert record(session, "ghost").public_data is None


# --- authority ------------------------------------------------------------------------


def test_a_node_cannot_publish_a_record_another_node_owns(client, session, inner, shanxi):
    ok(inner.push(client, [inner.publish("dept-x")]))
    answer = ok(shanxi.push(client, [shanxi.publish("dept-x")]))
    assert answer["quarantined"] == [{"stream": "node:140000>hub", "seq": 1, "code": "not_owner"}]
    assert answer["streams"] == {"node:140000>hub": 1}  # the cursor moves past it
    assert quarantined(session) == [(1, "not_owner", "node:140000")]
    assert record(session, "dept-x").owner == inner.node_id
    tomb = ok(shanxi.push(client, [shanxi.tombstone("dept-x")]))
    assert tomb["quarantined"][0]["code"] == "not_owner"
    assert record(session, "dept-x").deleted_at is None


def test_a_node_cannot_publish_for_another_province(client, session, inner):
    # A project department located in Shanxi belongs to Shanxi's node.
    message = inner.publish(
        "dept-sx", factories.project_department("140105"), province="140000", county="140105"
    )
    answer = ok(inner.push(client, [message]))
    assert answer["quarantined"] == [{"stream": STREAM, "seq": 1, "code": "not_owner"}]
    row = session.exec(select(QuarantinedMessage)).one()
    assert "140000" in row.reason and "jurisdiction" in row.reason
    session.expire_all()
    assert session.get(HubRecord, "dept-sx") is None


def test_the_payload_owner_must_be_the_sender(client, session, inner):
    message = inner.publish("dept-o")
    payload = copy.deepcopy(message["envelope"]["payload"])
    payload["owner"] = "node:140000"
    forged = inner.message("record.publish", payload, disclosures=message["disclosures"], seq=1)
    answer = ok(inner.push(client, [forged]))
    assert [q["code"] for q in answer["quarantined"]] == ["not_owner"]


def test_an_invalid_form_is_quarantined_with_the_field_named(client, session, inner):
    bad = factories.project_department("150102", expected_end_month="2020-01")
    answer = ok(inner.push(client, [inner.publish("dept-bad", bad)]))
    assert [q["code"] for q in answer["quarantined"]] == ["schema_invalid"]
    row = session.exec(select(QuarantinedMessage)).one()
    assert "expected_end_month" in row.reason or "start_month" in row.reason
    session.expire_all()
    assert session.get(HubRecord, "dept-bad") is None


def test_a_payload_with_unknown_fields_is_quarantined(client, session, inner):
    message = inner.publish("dept-u")
    payload = {**message["envelope"]["payload"], "extra": "x"}
    forged = inner.message("record.publish", payload, disclosures=message["disclosures"], seq=1)
    answer = ok(inner.push(client, [forged]))
    assert [q["code"] for q in answer["quarantined"]] == ["schema_invalid"]
    assert "extra" in session.exec(select(QuarantinedMessage)).one().reason


def test_disclosures_must_match_and_be_complete(client, session, inner):
    message = inner.publish("dept-d")
    tampered = copy.deepcopy(message)
    tampered["disclosures"][0]["value"] = "110101199001011234"
    missing = inner.publish("dept-d2")
    missing["disclosures"] = missing["disclosures"][1:]
    answer = ok(inner.push(client, [tampered, missing]))
    assert [q["code"] for q in answer["quarantined"]] == ["disclosure_mismatch", "schema_invalid"]
    reasons = [
        r.reason
        for r in session.exec(select(QuarantinedMessage).order_by(col(QuarantinedMessage.id)))
    ]
    assert "concealed without a disclosure" in reasons[1]
    assert "110101199001011234" not in " ".join(reasons)


def test_personal_data_sent_in_clear_is_quarantined(client, session, inner):
    data = factories.project_department("150102")
    signed, disclosures = conceal(data, ["head.resident_id", "safety_managers[].resident_id"])
    message = inner.publish("dept-clear", data)
    payload = {**message["envelope"]["payload"], "data": signed}
    leaky = inner.message(
        "record.publish", payload, disclosures=[d.to_dict() for d in disclosures], seq=1
    )
    answer = ok(inner.push(client, [leaky]))
    assert [q["code"] for q in answer["quarantined"]] == ["schema_invalid"]
    reason = session.exec(select(QuarantinedMessage)).one().reason
    assert "not concealed" in reason and "head.phone" in reason
    assert data["head"]["phone"] not in reason
    session.expire_all()
    assert session.get(HubRecord, "dept-clear") is None


def test_a_node_may_not_send_directives(client, session, inner):
    answer = ok(
        inner.push(
            client,
            [inner.message("directive.keyring", {"keys": [], "version": 9}, recipient="hub")],
        )
    )
    assert [q["code"] for q in answer["quarantined"]] == ["schema_invalid"]


def test_a_record_message_for_another_recipient_is_refused(client, session, inner, shanxi):
    answer = ok(inner.push(client, [inner.publish("dept-r", recipient="node:140000")]))
    assert answer["quarantined"] == [
        {"stream": "node:150000>node:140000", "seq": 1, "code": "wrong_recipient"}
    ]


# --- tampering -------------------------------------------------------------------------


def test_tampered_payload_signature_sender_and_key_id_are_quarantined(
    client, session, inner, shanxi
):
    m1, m2, m3, m4 = (inner.publish(f"t{i}") for i in range(1, 5))
    m1["envelope"]["payload"]["version_no"] = 9  # payload changed after signing
    m2["envelope"]["sig"] = m4["envelope"]["sig"]  # another envelope's signature
    m3["envelope"]["key_id"] = shanxi.key.key_id  # another node's key id
    m4["envelope"]["sender"] = "node:140000"  # claims to come from another node
    answer = ok(inner.push(client, [m1, m2, m3, m4]))
    assert [(q["stream"], q["seq"], q["code"]) for q in answer["quarantined"]] == [
        (STREAM, 1, "bad_signature"),
        (STREAM, 2, "bad_signature"),
        (STREAM, 3, "key_owner_mismatch"),
        (STREAM, 4, "not_owner"),
    ]
    # Each refused message is kept, filed under its real sender; the stream moved
    # past 1-3. The impersonation never reached a stream (neither ours nor Shanxi's).
    assert [s for _, _, s in quarantined(session)] == [inner.node_id] * 4
    assert answer["streams"] == {STREAM: 3}
    session.expire_all()
    assert session.exec(select(HubRecord)).all() == []
    assert session.get(StreamCursor, "node:140000>hub") is None


def test_an_envelope_signed_by_an_unknown_key_is_quarantined(client, session, inner):
    stranger = SigningKey.generate()
    answer = ok(inner.push(client, [inner.publish("k1", key=stranger)]))
    assert [q["code"] for q in answer["quarantined"]] == ["unknown_key"]


def test_a_malformed_envelope_is_quarantined(client, session, inner):
    answer = ok(inner.push(client, [{"envelope": {"v": 1}, "disclosures": []}]))
    assert answer["quarantined"] == [
        {"stream": "node:150000>?", "seq": -1, "code": "envelope_malformed"}
    ]
    assert quarantined(session) == [(-1, "envelope_malformed", inner.node_id)]


# --- the request itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "invalid_body"),
        (b'{"messages": {}}', 400, "invalid_body"),
        (b'{"messages": ["x"]}', 400, "invalid_body"),
        (json.dumps({"messages": [{}] * 21}).encode(), 413, "batch_too_large"),
    ],
)
def test_a_malformed_or_oversized_body_is_refused(client, session, inner, body, status, code):
    headers = inner.headers("POST", "/sync/v1/messages", body)
    response = client.post("/sync/v1/messages", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert quarantined(session) == []


def test_an_oversized_body_is_refused_before_it_is_read(client, session, inner):
    body = b"x" * (20 * 64 * 1024 + 1)  # max_batch (20) x 64 KiB, plus one byte
    headers = inner.headers("POST", "/sync/v1/messages", body)
    response = client.post("/sync/v1/messages", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]) == (413, "body_too_large")


# --- a batch is applied in bulk, with the semantics of one message at a time ------


def test_one_bad_message_among_good_ones_is_quarantined_alone(client, session, inner):
    batch = []
    for i in range(8):
        if i == 3:  # personal data in clear, properly signed
            payload = inner.publish("bulk-clear", seq=99)["envelope"]["payload"]
            payload["data"] = factories.project_department("150102")
            batch.append(inner.message("record.publish", payload))
        elif i == 6:
            tampered = inner.publish("bulk-tampered")
            tampered["envelope"]["payload"]["version_no"] = 2  # changed after signing
            batch.append(tampered)
        else:
            batch.append(inner.publish(f"bulk-{i}"))
    answer = ok(inner.push(client, batch))
    assert answer["applied"] == 6 and answer["streams"] == {STREAM: 8}
    assert [(q["seq"], q["code"]) for q in answer["quarantined"]] == [
        (4, "schema_invalid"),
        (7, "bad_signature"),
    ]
    assert [seq for seq, _, _ in quarantined(session)] == [4, 7]
    session.expire_all()
    ids = sorted(r.record_id for r in session.exec(select(HubRecord)))
    assert ids == sorted(f"bulk-{i}" for i in (0, 1, 2, 4, 5, 7))
    assert len(session.exec(select(HubPublication)).all()) == 6


def test_versions_and_a_tombstone_in_one_batch_apply_in_order(client, session, inner):
    v1 = inner.publish("seq-a", version_no=1)
    v3 = inner.publish("seq-a", version_no=3)
    v2 = inner.publish("seq-a", version_no=2)  # older than v3, arrives after it
    other = inner.publish("seq-b")
    tomb = inner.tombstone("seq-b")
    late = inner.publish("seq-b", version_no=2)  # after the tombstone: ignored
    answer = ok(inner.push(client, [v1, v3, v2, other, tomb, late]))
    assert answer["applied"] == 6 and answer["quarantined"] == []
    row = record(session, "seq-a")
    assert row.version_no == 3 and row.envelope == v3["envelope"]
    assert [p.version_no for p in publications(session, "seq-a")] == [1, 3, 2]
    assert record(session, "seq-b").deleted_at is not None
    assert [(p.kind, p.version_no) for p in publications(session, "seq-b")] == [
        ("record.publish", 1),
        ("record.tombstone", None),
    ]


def test_a_record_taken_by_an_earlier_message_of_the_batch_is_checked(
    client, session, inner, shanxi
):
    # Shanxi's node owns a record first; Inner Mongolia's batch then tries it twice
    # among its own: both refused, its own applied.
    ok(shanxi.push(client, [shanxi.publish("taken")]))
    batch = [inner.publish("mine-1"), inner.publish("taken"), inner.publish("taken", version_no=2)]
    answer = ok(inner.push(client, batch))
    assert [(q["seq"], q["code"]) for q in answer["quarantined"]] == [
        (2, "not_owner"),
        (3, "not_owner"),
    ]
    assert record(session, "taken").owner == shanxi.node_id
    assert record(session, "mine-1").owner == inner.node_id


def test_a_batch_signed_run_is_applied_in_bulk_with_one_bad_message_quarantined(
    client, session, inner
):
    # As publish_backlog sends a backlog: one batch signature over consecutive seqs.
    messages = [inner.publish(f"batch-{i}", seq=i + 1) for i in range(6)]
    envelopes = seal_batch(
        [
            BatchItem("record.publish", i + 1, "hub", m["envelope"]["payload"])
            for i, m in enumerate(messages)
        ],
        inner.node_id,
        inner.key,
        inner.clock.now(),
    )
    batch = [
        {"envelope": e.to_dict(), "disclosures": m["disclosures"]}
        for e, m in zip(envelopes, messages, strict=True)
    ]
    assert all(m["envelope"]["sig"].startswith("mb1.") for m in batch)
    batch[2]["envelope"]["payload"]["contractor"]["name"] = "改过的名字"  # after signing
    answer = ok(inner.push(client, batch))
    assert answer["streams"] == {STREAM: 6} and answer["applied"] == 5
    assert [(q["seq"], q["code"]) for q in answer["quarantined"]] == [(3, "bad_signature")]
    session.expire_all()
    log = list(session.exec(select(HubPublication).order_by(col(HubPublication.id))))
    # Acceptance order, the envelope as sent, and the RFC 9162 leaf of its canonical bytes.
    assert [p.record_id for p in log] == [f"batch-{i}" for i in (0, 1, 3, 4, 5)]
    for entry, message in zip(log, [batch[i] for i in (0, 1, 3, 4, 5)], strict=True):
        canonical = Envelope.from_dict(message["envelope"]).canonical_bytes()
        assert entry.envelope == message["envelope"]
        assert entry.leaf_hash == leaf_hash(canonical)
        row = record(session, entry.record_id)
        assert row.envelope == message["envelope"]
        assert row.disclosures == message["disclosures"]
    assert session.get(HubRecord, "batch-2") is None
