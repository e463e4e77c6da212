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
from central.models.statistics import (
    HubPersonIndex,
    HubPersonOverlap,
    HubStatCell,
    HubStatContribution,
    HubStatPending,
    HubStatState,
)
from central.models.transparency import (
    HubCheckpoint,
    HubCheckpointCosignature,
    HubLogLeaf,
    HubLogNode,
)
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
    "HubCheckpoint",
    "HubCheckpointCosignature",
    "HubCredential",
    "HubEnrollmentToken",
    "HubLogLeaf",
    "HubLogNode",
    "HubNode",
    "HubNodeKey",
    "HubPersonIndex",
    "HubPersonOverlap",
    "HubProvinceQuota",
    "HubPublicContractor",
    "HubPublication",
    "HubRecord",
    "HubStatCell",
    "HubStatContribution",
    "HubStatPending",
    "HubStatState",
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
