"""Prometheus metrics, computed from the database at each scrape.

Every API worker process would count different things in memory; the tables
are the one truth, so a scrape builds a fresh registry from a few grouped
queries (cheap at the hub's scale: tens of nodes). HTTP requests and latencies
are counted by the request middleware (``minefed.observability``), across the
API's worker processes.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func
from sqlmodel import Session, col, select

from central.models import HubNode, HubPublication
from central.operations.service import backlog_by_node, quarantine_counts
from minefed.observability import exposition
from sync.tables import OutboxMessage


def _families(session: Session, now: datetime) -> list[Metric]:
    nodes = list(session.exec(select(HubNode).order_by(col(HubNode.node_id))))

    up = GaugeMetricFamily("minefed_hub_nodes", "Enrolled nodes by status", labels=["status"])
    by_status: dict[str, int] = {"active": 0, "suspended": 0}
    for node in nodes:
        by_status[node.status] = by_status.get(node.status, 0) + 1
    for status, n in sorted(by_status.items()):
        up.add_metric([status], n)

    applied = CounterMetricFamily(
        "minefed_hub_messages_applied",
        "Messages applied from each node, by kind (publications logged, relays queued)",
        labels=["node", "kind"],
    )
    rows = session.execute(
        select(col(HubPublication.node_id), col(HubPublication.kind), func.count()).group_by(
            col(HubPublication.node_id), col(HubPublication.kind)
        )
    )
    counts = {(str(n), str(k)): int(c) for n, k, c in rows}
    relay_sender = OutboxMessage.envelope["sender"].astext
    relays = session.execute(
        select(relay_sender, col(OutboxMessage.kind), func.count())
        .where(col(OutboxMessage.kind).like("relay.%"))
        .group_by(relay_sender, col(OutboxMessage.kind))
    )
    counts.update({(str(n), str(k)): int(c) for n, k, c in relays})
    for (node_id, kind), n in sorted(counts.items()):
        applied.add_metric([node_id, kind], n)

    quarantined = CounterMetricFamily(
        "minefed_hub_messages_quarantined",
        "Messages quarantined from each node, by kind (whatever became of them since)",
        labels=["node", "kind"],
    )
    pending = GaugeMetricFamily(
        "minefed_hub_quarantine_pending",
        "Quarantined messages waiting for an operator, per node",
        labels=["node"],
    )
    totals: dict[tuple[str, str], int] = {}
    waiting: dict[str, int] = {node.node_id: 0 for node in nodes}
    for (sender, kind, status), n in quarantine_counts(session).items():
        totals[(sender, kind)] = totals.get((sender, kind), 0) + n
        if status == "pending":
            waiting[sender] = waiting.get(sender, 0) + n
    for (sender, kind), n in sorted(totals.items()):
        quarantined.add_metric([sender, kind], n)
    for sender, n in sorted(waiting.items()):
        pending.add_metric([sender], n)

    backlog = GaugeMetricFamily(
        "minefed_hub_outbox_backlog",
        "Messages queued for a node that it has not yet applied",
        labels=["node"],
    )
    oldest = GaugeMetricFamily(
        "minefed_hub_outbox_oldest_unacked_age_seconds",
        "Age of the oldest message a node has not yet applied (0 when none)",
        labels=["node"],
    )
    contact = GaugeMetricFamily(
        "minefed_hub_node_last_contact_age_seconds",
        "Seconds since a node's last authenticated sync request",
        labels=["node"],
    )
    queued = backlog_by_node(session)
    for node in nodes:
        n, first = queued.get(node.node_id, (0, None))
        backlog.add_metric([node.node_id], n)
        oldest.add_metric([node.node_id], (now - first).total_seconds() if first else 0)
        if node.last_contact_at is not None:
            contact.add_metric([node.node_id], (now - node.last_contact_at).total_seconds())
    return [up, applied, quarantined, pending, backlog, oldest, contact]


def render(session: Session, now: datetime) -> bytes:
    """The exposition text of every hub metric, as of ``now``."""
    from central.transparency.service import metric_families

    return exposition(_families(session, now) + metric_families(session, now))
