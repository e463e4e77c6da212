"""Enumerations shared by every part, each with Chinese and English labels.

Values are stable wire codes (they are signed and replicated); labels are what
people read. Every member has ``.label_zh`` and ``.label_en``; every class has
``choices()`` for select boxes.
"""

from __future__ import annotations

from enum import Enum, IntEnum, StrEnum

__all__ = [
    "AccidentCategory",
    "AccidentGrade",
    "AttachmentPurpose",
    "ContractingMode",
    "FlagCode",
    "QualificationGrade",
    "RecordKind",
    "ResponsibleParty",
    "ReviewState",
    "RewardPenaltyKind",
    "Role",
]

# (zh, en) per member; filled below each class so the label sits next to the code.
# Keyed by (class, value): members of different StrEnums with the same value
# (AccidentGrade.GENERAL, ContractingMode.GENERAL) compare and hash equal.
_LABELS: dict[tuple[type, object], tuple[str, str]] = {}


def _key(member: object) -> tuple[type, object]:
    return (type(member), getattr(member, "value", member))


class _Labelled:
    """Mixin giving enum members their bilingual labels."""

    @property
    def label_zh(self) -> str:
        """The label shown to users in Chinese."""
        return _LABELS[_key(self)][0]

    @property
    def label_en(self) -> str:
        """The English label (documentation, logs, English pages)."""
        return _LABELS[_key(self)][1]

    @classmethod
    def choices(cls) -> list[tuple[str | int, str]]:
        """``[(value, label_zh), …]`` in declaration order, for forms."""
        return [(m.value, _LABELS[_key(m)][0]) for m in cls]  # type: ignore[attr-defined]


def _label(labels: dict[Enum, tuple[str, str]]) -> None:
    # Each call passes one class's members, so plain dict keys cannot collide here.
    for member, pair in labels.items():
        _LABELS[_key(member)] = pair


class AccidentCategory(_Labelled, IntEnum):
    """Accident category per GB 6441-86 《企业职工伤亡事故分类》 (multi-select)."""

    STRUCK_BY_OBJECT = 1
    VEHICLE_INJURY = 2
    MACHINERY_INJURY = 3
    LIFTING_INJURY = 4
    ELECTRIC_SHOCK = 5
    DROWNING = 6
    BURNS = 7
    FIRE = 8
    FALL_FROM_HEIGHT = 9
    COLLAPSE = 10
    ROOF_FALL_RIB_SPALLING = 11
    WATER_INRUSH = 12
    BLASTING = 13
    EXPLOSIVE_EXPLOSION = 14
    GAS_EXPLOSION = 15
    BOILER_EXPLOSION = 16
    PRESSURE_VESSEL_EXPLOSION = 17
    OTHER_EXPLOSION = 18
    POISONING_ASPHYXIATION = 19
    OTHER_INJURY = 20


_label(
    {
        AccidentCategory.STRUCK_BY_OBJECT: ("物体打击", "struck by object"),
        AccidentCategory.VEHICLE_INJURY: ("车辆伤害", "vehicle injury"),
        AccidentCategory.MACHINERY_INJURY: ("机械伤害", "machinery injury"),
        AccidentCategory.LIFTING_INJURY: ("起重伤害", "lifting injury"),
        AccidentCategory.ELECTRIC_SHOCK: ("触电", "electric shock"),
        AccidentCategory.DROWNING: ("淹溺", "drowning"),
        AccidentCategory.BURNS: ("灼烫", "burns and scalds"),
        AccidentCategory.FIRE: ("火灾", "fire"),
        AccidentCategory.FALL_FROM_HEIGHT: ("高处坠落", "fall from height"),
        AccidentCategory.COLLAPSE: ("坍塌", "collapse"),
        AccidentCategory.ROOF_FALL_RIB_SPALLING: ("冒顶片帮", "roof fall / rib spalling"),
        AccidentCategory.WATER_INRUSH: ("透水", "water inrush"),
        AccidentCategory.BLASTING: ("放炮", "blasting"),
        AccidentCategory.EXPLOSIVE_EXPLOSION: ("火药爆炸", "explosive explosion"),
        AccidentCategory.GAS_EXPLOSION: ("瓦斯爆炸", "gas explosion"),
        AccidentCategory.BOILER_EXPLOSION: ("锅炉爆炸", "boiler explosion"),
        AccidentCategory.PRESSURE_VESSEL_EXPLOSION: ("容器爆炸", "pressure vessel explosion"),
        AccidentCategory.OTHER_EXPLOSION: ("其它爆炸", "other explosion"),
        AccidentCategory.POISONING_ASPHYXIATION: ("中毒和窒息", "poisoning and asphyxiation"),
        AccidentCategory.OTHER_INJURY: ("其它伤害", "other injury"),
    }
)


class AccidentGrade(_Labelled, StrEnum):
    """Accident grade (生产安全事故报告和调查处理条例 Art. 3); always derived."""

    GENERAL = "general"
    LARGER = "larger"
    MAJOR = "major"
    ESPECIALLY_MAJOR = "especially_major"


_label(
    {
        AccidentGrade.GENERAL: ("一般", "general"),
        AccidentGrade.LARGER: ("较大", "larger"),
        AccidentGrade.MAJOR: ("重大", "major"),
        AccidentGrade.ESPECIALLY_MAJOR: ("特别重大", "especially major"),
    }
)


class QualificationGrade(_Labelled, StrEnum):
    """Construction qualification grade (施工资质等级)."""

    SPECIAL = "special"
    FIRST = "first"
    SECOND = "second"
    THIRD = "third"


_label(
    {
        QualificationGrade.SPECIAL: ("特级", "special grade"),
        QualificationGrade.FIRST: ("一级", "first grade"),
        QualificationGrade.SECOND: ("二级", "second grade"),
        QualificationGrade.THIRD: ("三级", "third grade"),
    }
)


class ContractingMode(_Labelled, StrEnum):
    """Contracting mode (承包方式)."""

    GENERAL = "general"
    BY_ITEM = "by_item"


_label(
    {
        ContractingMode.GENERAL: ("总承包", "general contracting"),
        ContractingMode.BY_ITEM: ("分项承包", "contracting by item"),
    }
)


class ResponsibleParty(_Labelled, StrEnum):
    """Main responsible party of an accident (事故主要责任单位)."""

    ISSUING_UNIT = "issuing_unit"
    CONTRACTOR = "contractor"
    NO_LIABILITY = "no_liability"


_label(
    {
        ResponsibleParty.ISSUING_UNIT: ("发包单位", "issuing unit"),
        ResponsibleParty.CONTRACTOR: ("承包单位", "contractor"),
        ResponsibleParty.NO_LIABILITY: ("非责任事故", "no-liability accident"),
    }
)


class ReviewState(_Labelled, StrEnum):
    """Review state of a filed record version."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


_label(
    {
        ReviewState.DRAFT: ("草稿", "draft"),
        ReviewState.SUBMITTED: ("待审核", "submitted"),
        ReviewState.APPROVED: ("已通过", "approved"),
        ReviewState.RETURNED: ("已退回", "returned"),
    }
)


class RecordKind(_Labelled, StrEnum):
    """Kind of record (one per form)."""

    BASIC_INFO = "basic_info"
    LICENCE = "licence"
    PROJECT_DEPARTMENT = "project_department"
    REWARD_PENALTY = "reward_penalty"
    ACCIDENT = "accident"


_label(
    {
        RecordKind.BASIC_INFO: ("基本情况", "basic information"),
        RecordKind.LICENCE: ("持证情况", "licences"),
        RecordKind.PROJECT_DEPARTMENT: ("项目部", "project department"),
        RecordKind.REWARD_PENALTY: ("奖惩情况", "rewards and penalties"),
        RecordKind.ACCIDENT: ("事故情况", "accident"),
    }
)


class RewardPenaltyKind(_Labelled, StrEnum):
    """Reward or penalty (奖惩)."""

    REWARD = "reward"
    PENALTY = "penalty"


_label(
    {
        RewardPenaltyKind.REWARD: ("奖励", "reward"),
        RewardPenaltyKind.PENALTY: ("处罚", "penalty"),
    }
)


class Role(_Labelled, StrEnum):
    """Account role; permissions are role × jurisdiction."""

    NATIONAL_ADMIN = "national_admin"
    NATIONAL_STAFF = "national_staff"
    PROVINCIAL_ADMIN = "provincial_admin"
    PROVINCIAL_REGULATOR = "provincial_regulator"
    MUNICIPAL_REGULATOR = "municipal_regulator"
    COUNTY_REGULATOR = "county_regulator"
    CONTRACTOR = "contractor"


_label(
    {
        Role.NATIONAL_ADMIN: ("国家局管理员", "national bureau administrator"),
        Role.NATIONAL_STAFF: ("国家局工作人员", "national bureau staff"),
        Role.PROVINCIAL_ADMIN: ("省级管理员", "provincial administrator"),
        Role.PROVINCIAL_REGULATOR: ("省级监管人员", "provincial regulator"),
        Role.MUNICIPAL_REGULATOR: ("市级监管人员", "municipal regulator"),
        Role.COUNTY_REGULATOR: ("县级监管人员", "county regulator"),
        Role.CONTRACTOR: ("承包单位", "contractor"),
    }
)


class FlagCode(_Labelled, StrEnum):
    """Automatic compliance flags (Order No. 62) raised on a contractor or project."""

    LICENCE_EXPIRED = "licence_expired"
    LICENCE_EXPIRING = "licence_expiring"
    AGREEMENT_NOT_SIGNED = "agreement_not_signed"
    INSPECTION_OVERDUE = "inspection_overdue"
    NO_WRITTEN_REPORT = "no_written_report"


_label(
    {
        FlagCode.LICENCE_EXPIRED: ("安全生产许可证已过期", "safety licence expired"),
        FlagCode.LICENCE_EXPIRING: ("许可证90日内到期", "licence expires within 90 days"),
        FlagCode.AGREEMENT_NOT_SIGNED: (
            "未签订安全生产管理协议",
            "safety management agreement not signed",
        ),
        FlagCode.INSPECTION_OVERDUE: (
            "半年内未检查项目部",
            "project department not inspected within six months",
        ),
        FlagCode.NO_WRITTEN_REPORT: (
            "未书面报告当地监管部门",
            "no written report to the local regulator",
        ),
    }
)


class AttachmentPurpose(_Labelled, StrEnum):
    """What a scanned attachment is."""

    SAFETY_LICENCE_SCAN = "safety_licence_scan"
    QUALIFICATION_SCAN = "qualification_scan"
    LEGAL_REP_CERTIFICATE = "legal_rep_certificate"
    OTHER = "other"


_label(
    {
        AttachmentPurpose.SAFETY_LICENCE_SCAN: ("安全生产许可证扫描件", "safety licence scan"),
        AttachmentPurpose.QUALIFICATION_SCAN: ("施工资质证书扫描件", "qualification scan"),
        AttachmentPurpose.LEGAL_REP_CERTIFICATE: (
            "法定代表人资格证书",
            "legal representative's certificate",
        ),
        AttachmentPurpose.OTHER: ("其他", "other"),
    }
)
