"""The forms as pydantic models: ``XCreate`` (filing), ``XUpdate`` (partial
change or draft), ``XPublic`` (what the public sees) for each record kind.

:data:`FORMS` maps each :class:`~schemas.enums.RecordKind` to its three models;
:data:`SENSITIVE` to the dotted paths of its personal data (``[]`` marks list
items), which are signed as salted digests and never published.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas.enums import RecordKind
from schemas.forms import accident, basic_info, licence, project_department, reward_penalty
from schemas.forms.accident import AccidentBase, AccidentCreate, AccidentPublic, AccidentUpdate
from schemas.forms.basic_info import (
    BasicInfoBase,
    BasicInfoCreate,
    BasicInfoPublic,
    BasicInfoUpdate,
    Honour,
    PerformanceRecord,
)
from schemas.forms.common import AttachmentRef, Person, PersonPublic
from schemas.forms.licence import LicenceBase, LicenceCreate, LicencePublic, LicenceUpdate
from schemas.forms.project_department import (
    Inspection,
    ProjectDepartmentBase,
    ProjectDepartmentCreate,
    ProjectDepartmentPublic,
    ProjectDepartmentUpdate,
)
from schemas.forms.reward_penalty import (
    RewardPenaltyBase,
    RewardPenaltyCreate,
    RewardPenaltyPublic,
    RewardPenaltyUpdate,
)

__all__ = [
    "FORMS",
    "SENSITIVE",
    "AccidentBase",
    "AccidentCreate",
    "AccidentPublic",
    "AccidentUpdate",
    "AttachmentRef",
    "BasicInfoBase",
    "BasicInfoCreate",
    "BasicInfoPublic",
    "BasicInfoUpdate",
    "Honour",
    "Inspection",
    "LicenceBase",
    "LicenceCreate",
    "LicencePublic",
    "LicenceUpdate",
    "PerformanceRecord",
    "Person",
    "PersonPublic",
    "ProjectDepartmentBase",
    "ProjectDepartmentCreate",
    "ProjectDepartmentPublic",
    "ProjectDepartmentUpdate",
    "RewardPenaltyBase",
    "RewardPenaltyCreate",
    "RewardPenaltyPublic",
    "RewardPenaltyUpdate",
]

#: (Create, Update, Public) model per record kind.
FORMS: dict[RecordKind, tuple[type[BaseModel], type[BaseModel], type[BaseModel]]] = {
    RecordKind.BASIC_INFO: (BasicInfoCreate, BasicInfoUpdate, BasicInfoPublic),
    RecordKind.LICENCE: (LicenceCreate, LicenceUpdate, LicencePublic),
    RecordKind.PROJECT_DEPARTMENT: (
        ProjectDepartmentCreate,
        ProjectDepartmentUpdate,
        ProjectDepartmentPublic,
    ),
    RecordKind.REWARD_PENALTY: (RewardPenaltyCreate, RewardPenaltyUpdate, RewardPenaltyPublic),
    RecordKind.ACCIDENT: (AccidentCreate, AccidentUpdate, AccidentPublic),
}

#: Sensitive dotted paths per record kind.
SENSITIVE: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.BASIC_INFO: basic_info.SENSITIVE_FIELDS,
    RecordKind.LICENCE: licence.SENSITIVE_FIELDS,
    RecordKind.PROJECT_DEPARTMENT: project_department.SENSITIVE_FIELDS,
    RecordKind.REWARD_PENALTY: reward_penalty.SENSITIVE_FIELDS,
    RecordKind.ACCIDENT: accident.SENSITIVE_FIELDS,
}
