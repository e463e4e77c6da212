"""``minefed verify`` (minefed/verify.py) against the hub's real API, in process."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from central.transparency import service
from minefed.cli import main
from minefed.verify import EXIT_FAILED, EXIT_OK, EXIT_UNREADABLE, run_verify
from tests.central.support import NOW, ok

ORIGIN = "minefed.hub/log"
HUB = "http://hub.test"


def sequence(session, key) -> None:
    service.sequence(session, key=key, origin=ORIGIN, now=NOW)
    session.commit()


def verify(client, record: str, **kw) -> tuple[int, str]:
    lines: list[str] = []
    code = run_verify(record, HUB, http=client, echo=lines.append, **kw)
    return code, "\n".join(lines)


def test_a_published_record_verifies_and_every_check_is_said(client, session, inner, hub_key):
    ok(inner.push(client, [inner.publish("dept-1"), inner.publish("dept-1", version_no=2)]))
    sequence(session, hub_key)
    code, out = verify(client, "dept-1", fingerprint=hub_key.public().fingerprint)
    assert code == EXIT_OK, out
    assert out.count("node signature valid") == 2
    assert out.count("included in the log") == 2
    assert "checkpoint signed by the hub" in out and "matches the pinned" in out
    assert "FAILED" not in out and "RESULT: verified" in out
    assert "节点签名有效" in out  # Chinese first on every line


def test_a_wrong_pinned_hub_key_fails(client, session, inner, hub_key):
    ok(inner.push(client, [inner.publish("dept-1")]))
    sequence(session, hub_key)
    code, out = verify(client, "dept-1", fingerprint="00" * 32)
    assert code == EXIT_FAILED and "is NOT the pinned" in out


def alter_stored_envelope(session, record_id: str) -> None:
    """What a dishonest or compromised hub operator could do to the stored copy."""
    session.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
    session.execute(
        text(
            "UPDATE hub_publication SET envelope = jsonb_set(envelope, "
            "'{payload,data,project_name}', '\"篡改后的项目\"') WHERE record_id = :r"
        ),
        {"r": record_id},
    )
    session.execute(text("SET LOCAL session_replication_role = origin"))
    session.commit()


def test_a_record_altered_after_publication_fails(client, session, inner, hub_key):
    ok(inner.push(client, [inner.publish("dept-1")]))
    sequence(session, hub_key)
    alter_stored_envelope(session, "dept-1")
    served = ok(client.get("/api/v1/public/log/records/dept-1"))
    assert served["entries"][0]["envelope"]["payload"]["data"]["project_name"] == "篡改后的项目"
    code, out = verify(client, "dept-1")
    assert code == EXIT_FAILED
    assert "node signature does not verify" in out
    assert "is NOT the one the log committed to" in out
    assert "RESULT: NOT verified" in out


def test_ones_own_copy_verifies_and_an_altered_copy_does_not(
    client, session, inner, hub_key, tmp_path: Path
):
    message = inner.publish("dept-1")
    ok(inner.push(client, [message]))
    sequence(session, hub_key)
    copy = tmp_path / "record.json"
    copy.write_text(json.dumps({"envelope": message["envelope"], "log_index": 0}))
    assert verify(client, str(copy))[0] == EXIT_OK

    altered = json.loads(json.dumps(message["envelope"]))
    altered["payload"]["data"]["project_name"] = "另一个项目"
    copy.write_text(json.dumps({"envelope": altered}))
    code, out = verify(client, str(copy))
    assert code == EXIT_FAILED and "not in the log" in out and "signature fails" in out


def test_disclosures_shown_are_checked_against_the_signed_digests(
    client, session, inner, hub_key, tmp_path: Path
):
    message = inner.publish("dept-1")
    ok(inner.push(client, [message]))
    sequence(session, hub_key)
    shown = tmp_path / "disclosures.json"
    shown.write_text(json.dumps(message["disclosures"][:2]))
    code, out = verify(client, "dept-1", disclosures_file=str(shown))
    assert code == EXIT_OK, out
    assert "2 disclosed values match" in out

    wrong = [dict(message["disclosures"][0], value="110101199001011234")]
    shown.write_text(json.dumps(wrong))
    code, out = verify(client, "dept-1", disclosures_file=str(shown))
    assert code == EXIT_FAILED and "do not match" in out


def test_without_disclosures_concealed_fields_are_said_to_be_digests_only(
    client, session, inner, hub_key
):
    ok(inner.push(client, [inner.publish("dept-1")]))
    sequence(session, hub_key)
    code, out = verify(client, "dept-1")
    assert code == EXIT_OK and "checked as digests only" in out


def test_a_record_not_yet_in_the_checkpoint_fails_with_the_merge_delay_said(
    client, session, inner, hub_key
):
    ok(inner.push(client, [inner.publish("dept-0")]))
    sequence(session, hub_key)
    ok(inner.push(client, [inner.publish("dept-1")]))
    code, out = verify(client, "dept-1")
    assert code == EXIT_FAILED and "merge delay" in out


def test_a_deleted_record_still_proves_its_history(client, session, inner, hub_key):
    ok(inner.push(client, [inner.publish("dept-1"), inner.tombstone("dept-1")]))
    sequence(session, hub_key)
    code, out = verify(client, "dept-1")
    assert code == EXIT_OK, out
    assert "content deleted" in out and out.count("included in the log") == 2


def test_an_unknown_record_fails(client, session, inner, hub_key):
    sequence(session, hub_key)
    code, out = verify(client, "no-such-record")
    assert code == EXIT_FAILED and "not in the hub's log" in out


def test_the_command_exits_2_when_the_hub_cannot_be_reached():
    result = CliRunner().invoke(
        main, ["verify", "dept-1", "--hub", "http://127.0.0.1:9", "--timeout", "2"]
    )
    assert result.exit_code == EXIT_UNREADABLE
    assert "cannot reach the hub" in result.output
    help_text = CliRunner().invoke(main, ["verify", "--help"]).output
    assert "--hub" in help_text and "RECORD" in help_text
