"""Who asks a national query, and what the answers look like."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.enums import Role

Format = Literal["json", "csv", "xlsx"]
QueryName = Literal["contractor_records", "accidents_elsewhere", "concurrent_roles"]

#: Node roles that may ask the hub through their node.
NODE_REGULATOR_ROLES = frozenset(
    {
        Role.PROVINCIAL_ADMIN,
        Role.PROVINCIAL_REGULATOR,
        Role.MUNICIPAL_REGULATOR,
        Role.COUNTY_REGULATOR,
    }
)


@dataclass(frozen=True)
class Viewer:
    """Who asks: a hub user (``province`` ``None``: national) or a node's regulator.

    Personal data rule (docs/national-queries.md): national staff see full
    resident ID numbers; a provincial regulator sees them only in records of
    its own province, masked elsewhere.
    """

    name: str  # the audit trail's actor: "bureau-staff" or "node:150000/county"
    role: str
    province: str | None
    client_address: str | None
    now: datetime
    node_id: str | None = None
    division_code: str | None = None

    def sees_full(self, province_code: str | None) -> bool:
        return self.province is None or province_code == self.province


class NodeUser(BaseModel):
    """The node's user on whose behalf a node asks (signed with the request body)."""

    username: str = Field(min_length=1, max_length=64)
    role: str = Field(max_length=32)
    division_code: str = Field(pattern=r"^\d{6}$")


class NodeQueryIn(BaseModel):
    """``POST /api/v1/national/node-query`` (signed by the node)."""

    query: QueryName
    params: dict[str, Any] = Field(default_factory=dict)
    format: Format = "json"
    user: NodeUser


class RecordRow(BaseModel):
    record_id: str
    kind: str
    kind_label: str
    province_code: str | None
    province_name: str
    owner: str
    version_no: int
    title: str
    approved_at: datetime | None
    full_personal_data: bool = Field(
        description="whether `data` holds full ID numbers (the asker's own province) or masked"
    )
    data: dict[str, Any] | None


class ContractorRecords(BaseModel):
    uscc: str
    name: str | None
    provinces: list[str]
    records: list[RecordRow]


class AccidentsElsewhereRow(BaseModel):
    uscc: str
    name: str | None
    home_province_code: str | None
    accidents: int
    deaths: int
    accident_provinces: list[str]


class AccidentsElsewhere(BaseModel):
    province: str | None
    rows: list[AccidentsElsewhereRow]


class PersonInRole(BaseModel):
    record_id: str
    slot: str
    role: str
    province_code: str
    province_name: str
    contractor_uscc: str | None
    contractor_name: str | None
    project_name: str
    start_month: str
    end_month: str
    underground: bool
    name: str | None
    resident_id: str | None = Field(description="full only where the asker may see it")


class ConcurrentRole(BaseModel):
    person_ref: str = Field(description="a short pseudonymous reference grouping one person's rows")
    a: PersonInRole
    b: PersonInRole


class ConcurrentRoles(BaseModel):
    province: str | None
    total: int
    rows: list[ConcurrentRole]
