"""``minefed node restore-reconcile``: after a restore, what was deleted goes again."""

from __future__ import annotations

import random
from datetime import timedelta

from node.filing import service as filing
from node.models import Contractor, Record
from node.retention.restore import reconcile
from node.sync.service import push
from schemas.enums import RecordKind
from sync.clock import format_rfc3339
from sync.envelope import seal
from sync.tables import PeerState
from tests.node.factories import NOW, project_department
from tests.node.sync.conftest import NODE, OTHER, actor_for
from tests.node.sync.test_push import queue


def test_a_restored_node_deletes_again_what_retention_and_the_owners_had_deleted(
    session, factory, province, enrolled, other_node, other_key, hub, http, sync_settings, clock
):
    # As restored: a local department five years old, and a copy of one in Shanxi
    # that Shanxi deleted after the backup was taken (its tombstone waits at the hub).
    old = province.submitted_department()
    contractor = actor_for(province.contractor_user, NOW + timedelta(days=400))
    copy = filing.create_draft(
        session, contractor, RecordKind.PROJECT_DEPARTMENT, project_department("140105")
    )
    filing.submit(session, contractor, copy.id)
    session.commit()
    old_id, copy_id = old.id, copy.id
    later = NOW + timedelta(days=5 * 365 + 2)
    tombstone = {
        "record_id": str(copy_id),
        "kind": "project_department",
        "owner": OTHER,
        "reason": "retention",
        "deleted_at": format_rfc3339(later),
    }
    hub.deliver(seal("relay.record.tombstone", OTHER, 1, NODE, tombstone, other_key, NOW).to_dict())

    clock.set(later)  # the hub's clock and the node's: five years on
    result = reconcile(sync_settings, factory, clock, http)
    assert result["problems"] == []
    assert result["retention"]["project_departments"] == 1
    assert result["pull"]["applied"] == 1
    session.expire_all()
    assert session.get(Record, old_id) is None, "retention as of today, again"
    assert session.get(Record, copy_id) is None, "the owner's tombstone, pulled again"
    assert session.get(Contractor, province.contractor.id).deleted_at == later
    assert "the workers may be started" in result["summary"][-1]


def test_an_unreachable_hub_is_a_problem_to_solve_before_starting_the_workers(
    session, factory, province, enrolled, hub, http, sync_settings, clock
):
    hub.failures.append(503)
    result = reconcile(sync_settings, factory, clock, http)
    assert result["problems"], result


def test_a_restored_node_numbers_its_outbox_on_from_what_the_hub_already_has(
    session, factory, enrolled, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 2)
    push(factory, http, sync_settings, node_key, clock, rng=random.Random(7))
    # The database as restored numbered 1-2; before it was lost it had sent 3-5 too.
    hub.cursors[f"{NODE}>hub"] = 5

    result = reconcile(sync_settings, factory, clock, http)
    assert result["problems"] == []
    assert result["numbering"] == {"hub": {"from": 2, "to": 5}}
    assert any("numbering moved on past 5" in line for line in result["summary"])
    session.expire_all()
    state = session.get(PeerState, "hub")
    assert (state.next_seq, state.acked_seq, state.last_error) == (6, 5, None)

    queue(session, node_key, 1)  # numbered 6: the hub applies it, not a duplicate
    (pushed,) = push(factory, http, sync_settings, node_key, clock, rng=random.Random(7))
    assert (pushed.acked, pushed.error) == (6, None)
    assert [r.envelope.seq for r in hub.applied] == [1, 2, 6]


def test_numbering_never_moves_back_when_the_hub_has_less(
    session, factory, enrolled, node_key, hub, http, sync_settings, clock
):
    queue(session, node_key, 3)
    push(factory, http, sync_settings, node_key, clock, rng=random.Random(7))
    hub.cursors[f"{NODE}>hub"] = 1  # the hub was restored too, behind this node
    hub.applied = hub.applied[:1]

    result = reconcile(sync_settings, factory, clock, http)
    assert result["numbering"] == {"hub": {"from": 3, "to": 3}}
    session.expire_all()
    assert session.get(PeerState, "hub").next_seq == 4
