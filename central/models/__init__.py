"""The hub's tables (all named ``hub_*``), one module per table family, plus the
protocol's shared ``sync_*`` tables. Importing this registers them all."""

from central.models.accounts import (
    AccountStatus,
    HubAccount,
    HubCredential,
    HubProvinceQuota,
    HubUsccClaim,
    HubUser,
    HubUserRole,
)
from central.models.audit import HubAuditEvent
from central.models.disclosure import HubPublicContractor
from central.models.nodes import HubEnrollmentToken, HubNode, HubNodeKey, NodeStatus
from central.models.records import HubPublication, HubRecord
from sync.tables import (
    OutboxMessage,
    PeerState,
    QuarantinedMessage,
    SeenNonce,
    StreamCursor,
)

__all__ = [
    "AccountStatus",
    "HubAccount",
    "HubAuditEvent",
    "HubCredential",
    "HubEnrollmentToken",
    "HubNode",
    "HubNodeKey",
    "HubProvinceQuota",
    "HubPublicContractor",
    "HubPublication",
    "HubRecord",
    "HubUsccClaim",
    "HubUser",
    "HubUserRole",
    "NodeStatus",
    "OutboxMessage",
    "PeerState",
    "QuarantinedMessage",
    "SeenNonce",
    "StreamCursor",
]
