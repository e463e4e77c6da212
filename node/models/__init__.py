"""The node's tables, one module per table family. Importing this registers them all."""

from node.models.accounts import ApiToken, User
from node.models.attachments import Attachment
from node.models.audit import AuditEvent
from node.models.federation import (
    NodeFederation,
    NodeKeyring,
    NodePublication,
    NodeTombstone,
    RelayNotice,
)
from node.models.records import Contractor, Record, RecordVersion
from node.models.witness import NodeWitnessAlarm, NodeWitnessState

__all__ = [
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Contractor",
    "NodeFederation",
    "NodeKeyring",
    "NodePublication",
    "NodeTombstone",
    "NodeWitnessAlarm",
    "NodeWitnessState",
    "Record",
    "RecordVersion",
    "RelayNotice",
    "User",
]
