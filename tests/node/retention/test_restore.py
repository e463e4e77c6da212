"""``minefed node restore-reconcile``: after a restore, what was deleted goes again."""

from __future__ import annotations

from datetime import timedelta

from node.filing import service as filing
from node.models import Contractor, Record
from node.retention.restore import reconcile
from schemas.enums import RecordKind
from sync.clock import format_rfc3339
from sync.envelope import seal
from tests.node.factories import NOW, project_department
from tests.node.sync.conftest import NODE, OTHER, actor_for


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
