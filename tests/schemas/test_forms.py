"""The forms: realistic filings pass; each class of bad input fails with its rule."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pydantic
import pytest
import schema_examples as ex
from pydantic import BaseModel

from schemas.enums import AccidentCategory, AccidentGrade, RecordKind
from schemas.errors import format_errors
from schemas.forms import (
    FORMS,
    SENSITIVE,
    AccidentCreate,
    AccidentPublic,
    AccidentUpdate,
    BasicInfoCreate,
    BasicInfoPublic,
    BasicInfoUpdate,
    LicenceCreate,
    LicencePublic,
    LicenceUpdate,
    ProjectDepartmentCreate,
    ProjectDepartmentPublic,
    ProjectDepartmentUpdate,
    RewardPenaltyCreate,
    RewardPenaltyPublic,
    RewardPenaltyUpdate,
)

EXAMPLES = {
    RecordKind.BASIC_INFO: ex.basic_info,
    RecordKind.LICENCE: ex.licence,
    RecordKind.PROJECT_DEPARTMENT: ex.project_department,
    RecordKind.ACCIDENT: ex.accident,
    RecordKind.REWARD_PENALTY: ex.reward_penalty,
}
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{3,}")


def errors_of(model: type[BaseModel], data: dict[str, Any], **ctx: Any) -> list[dict[str, str]]:
    with pytest.raises(pydantic.ValidationError) as info:
        model.model_validate(data, context={**ex.CTX, **ctx})
    found = [
        {"field": e["field"], "rule": e["rule"], "message": e["message"]}
        for e in format_errors(info.value)
    ]
    for e in found:
        zh, sep, en = e["message"].partition(" / ")
        assert sep and HAN.search(zh) and LATIN.search(en), e
    return found


def only_error(model: type[BaseModel], data: dict[str, Any], **ctx: Any) -> tuple[str, str, str]:
    found = errors_of(model, data, **ctx)
    assert len(found) == 1, found
    return found[0]["field"], found[0]["rule"], found[0]["message"]


# --- Every form -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(RecordKind))
def test_realistic_example_accepted_and_round_trips(kind: RecordKind) -> None:
    create, update, public = FORMS[kind]
    record = create.model_validate(EXAMPLES[kind](), context=ex.CTX)
    again = create.model_validate_json(record.model_dump_json(), context=ex.CTX)
    assert again == record
    shown = public.model_validate({**record.model_dump(), "project_department_count": 0})
    assert set(shown.model_dump()) >= set(create.model_fields)
    # An update carrying everything is valid too, and an empty one is a no-op.
    assert update.model_validate(record.model_dump(), context=ex.CTX)
    assert update.model_validate({}).model_dump(exclude_none=True) == {}


@pytest.mark.parametrize("kind", list(RecordKind))
def test_extra_field_forbidden(kind: RecordKind) -> None:
    create = FORMS[kind][0]
    field, rule, message = only_error(create, EXAMPLES[kind](secret_note="x"))
    assert (field, rule) == ("secret_note", "extra_forbidden")
    assert "不允许的字段" in message and "extra field not permitted" in message


@pytest.mark.parametrize("kind", list(RecordKind))
def test_missing_field(kind: RecordKind) -> None:
    create = FORMS[kind][0]
    data = EXAMPLES[kind]()
    required = next(n for n, f in create.model_fields.items() if f.is_required())
    del data[required]
    field, rule, message = only_error(create, data)
    assert (field, rule) == (required, "missing")
    title = create.model_fields[required].title
    assert title is not None
    assert message == f"{title}：必填字段缺失 / {required}: field required"


@pytest.mark.parametrize("kind", list(RecordKind))
def test_update_has_same_fields_all_optional_same_titles(kind: RecordKind) -> None:
    create, update, _ = FORMS[kind]
    assert set(update.model_fields) == set(create.model_fields)
    for name, info in update.model_fields.items():
        assert not info.is_required(), name
        assert info.title == create.model_fields[name].title, name
        assert info.title and HAN.search(info.title), name


@pytest.mark.parametrize("kind", list(RecordKind))
def test_every_field_has_a_chinese_title_in_openapi_schema(kind: RecordKind) -> None:
    schema = FORMS[kind][0].model_json_schema()
    for name, prop in schema["properties"].items():
        assert HAN.search(prop.get("title", "")), name
    assert '"type": "number"' not in json.dumps(schema)  # no floats anywhere


def _resolve(model: type[BaseModel], path: str) -> None:
    current: Any = model
    for part in path.split("."):
        name = part.removesuffix("[]")
        assert name in current.model_fields, path
        annotation = current.model_fields[name].annotation
        nested = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not None]
        current = next((a for a in nested if isinstance(a, type)), annotation)
        inner = getattr(current, "__args__", None)
        if part.endswith("[]"):
            current = annotation.__args__[0] if inner is None else inner[0]


@pytest.mark.parametrize("kind", list(RecordKind))
def test_sensitive_paths_resolve(kind: RecordKind) -> None:
    for path in SENSITIVE[kind]:
        _resolve(FORMS[kind][0], path)


@pytest.mark.parametrize("kind", list(RecordKind))
def test_no_full_identifier_in_any_public_view(kind: RecordKind) -> None:
    create, _, public = FORMS[kind]
    record = create.model_validate(EXAMPLES[kind](), context=ex.CTX)
    text = public.model_validate(
        {**record.model_dump(), "project_department_count": 1}
    ).model_dump_json()
    assert not re.search(r"\d{17}[\dX]", text)
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)
    assert not re.search(r"0\d{2,3}-[2-9]\d{6,7}", text)


def test_sensitive_paths_listed() -> None:
    assert SENSITIVE[RecordKind.BASIC_INFO] == ("contact_phone",)
    assert set(SENSITIVE[RecordKind.PROJECT_DEPARTMENT]) == {
        "head.resident_id",
        "head.phone",
        "safety_managers[].resident_id",
        "safety_managers[].phone",
        "technical_staff[].resident_id",
        "technical_staff[].phone",
    }
    assert SENSITIVE[RecordKind.ACCIDENT] == ()


# --- Basic info ----------------------------------------------------------------------


def test_basic_info_normalises() -> None:
    record = BasicInfoCreate.model_validate(
        ex.basic_info(uscc=ex.USCC.lower(), name="  内蒙古北方矿业工程有限公司 "), context=ex.CTX
    )
    assert record.uscc == "91150102MA0N1A2B3W"
    assert record.org_code == "MA0N1A2B3"
    assert record.contact_phone == "0471-6281234"
    assert record.name == "内蒙古北方矿业工程有限公司"


@pytest.mark.parametrize(
    ("over", "field", "rule"),
    [
        ({"uscc": "91150102MA0N1A2B3X"}, "uscc", "uscc_check_digit"),
        ({"uscc": "91150102MA0N1A2B"}, "uscc", "uscc_length"),
        ({"org_code": "60003734-1"}, "org_code", "org_code_mismatch"),
        ({"org_code": "MA0N1A2B-4"}, "org_code", "org_code_check_digit"),
        ({"business_reg_no": "15010200001234"}, "business_reg_no", "string_pattern_mismatch"),
        ({"home_province_code": "150200"}, "home_province_code", "division_level"),
        ({"home_province_code": "990000"}, "home_province_code", "division_unknown"),
        ({"contact_phone": "6281234"}, "contact_phone", "phone_format"),
        ({"avg_headcount": -1}, "avg_headcount", "greater_than_equal"),
        ({"avg_headcount": 12.0}, "avg_headcount", "integer_required"),
        ({"avg_headcount": True}, "avg_headcount", "integer_required"),
        ({"central_soe": "maybe"}, "central_soe", "bool_parsing"),
        ({"name": "   "}, "name", "string_too_short"),
        ({"name": "矿" * 201}, "name", "string_too_long"),
        ({"honours": [{"name": "先进单位"}]}, "honours.0.awarded_by", "missing"),
        (
            {"performance": [{"project": "p", "result": "r", "year": 1900}]},
            "performance.0.year",
            "greater_than_equal",
        ),
    ],
)
def test_basic_info_rejects(over: dict[str, Any], field: str, rule: str) -> None:
    assert only_error(BasicInfoCreate, ex.basic_info(**over))[:2] == (field, rule)


def test_org_code_mismatch_message() -> None:
    _, _, message = only_error(BasicInfoCreate, ex.basic_info(org_code="60003734-1"))
    assert message == (
        "组织机构代码：组织机构代码应与统一社会信用代码第9至17位一致（MA0N1A2B3） / "
        "org_code: organisation code must equal positions 9-17 of the USCC (MA0N1A2B3)"
    )


def test_basic_info_public_masks_phone_and_counts() -> None:
    record = BasicInfoCreate.model_validate(ex.basic_info(), context=ex.CTX)
    public = BasicInfoPublic.from_create(record, project_department_count=3)
    assert public.contact_phone == "0471-*****34"
    assert public.project_department_count == 3
    assert "6281234" not in public.model_dump_json()


def test_project_department_count_is_never_input() -> None:
    field, rule, _ = only_error(BasicInfoCreate, ex.basic_info(project_department_count=5))
    assert (field, rule) == ("project_department_count", "extra_forbidden")


def test_basic_info_update_checks_org_code_only_with_uscc() -> None:
    assert BasicInfoUpdate.model_validate({"org_code": "60003734-1"}).org_code == "600037341"
    field, rule, _ = only_error(BasicInfoUpdate, {"org_code": "60003734-1", "uscc": ex.USCC})
    assert (field, rule) == ("org_code", "org_code_mismatch")


# --- Licence -------------------------------------------------------------------------


def test_licence_dates_out_of_order() -> None:
    field, rule, message = only_error(
        LicenceCreate, ex.licence(valid_from="2026-06-01", valid_to="2023-05-31")
    )
    assert (field, rule) == ("valid_to", "date_order")
    assert message == (
        "有效期截止日期：有效期起始日期不能晚于截止日期 / "
        "valid_to: validity start must not be after its end"
    )


def test_licence_same_day_validity_is_in_order() -> None:
    assert LicenceCreate.model_validate(ex.licence(valid_from="2024-01-01", valid_to="2024-01-01"))


@pytest.mark.parametrize(
    ("over", "field", "rule"),
    [
        ({"qualification_grade": "fourth"}, "qualification_grade", "enum"),
        ({"valid_to": "2026-02-30"}, "valid_to", "date_from_datetime_parsing"),
        ({"safety_manager_count": "12.5"}, "safety_manager_count", "int_parsing"),
        (
            {"attachments": [ex.attachment(media_type="application/zip")]},
            "attachments.0.media_type",
            "literal_error",
        ),
        (
            {"attachments": [ex.attachment(sha256="abc")]},
            "attachments.0.sha256",
            "string_pattern_mismatch",
        ),
        ({"attachments": [ex.attachment(id="not-a-uuid")]}, "attachments.0.id", "uuid_parsing"),
        (
            {"attachments": [ex.attachment(size_bytes=0)]},
            "attachments.0.size_bytes",
            "greater_than_equal",
        ),
        ({"attachments": [ex.attachment(purpose="selfie")]}, "attachments.0.purpose", "enum"),
    ],
)
def test_licence_rejects(over: dict[str, Any], field: str, rule: str) -> None:
    assert only_error(LicenceCreate, ex.licence(**over))[:2] == (field, rule)


def test_licence_enum_message_lists_values() -> None:
    _, _, message = only_error(LicenceCreate, ex.licence(qualification_grade="fourth"))
    assert message.startswith(
        "施工资质等级：取值不在允许范围内：'special'、'first'、'second'、'third' / "
    )
    assert "qualification_grade: value must be one of 'special', 'first'" in message


def test_licence_update_date_order_when_both_given() -> None:
    assert LicenceUpdate.model_validate({"valid_from": "2030-01-01"})
    rule = only_error(LicenceUpdate, {"valid_from": "2030-01-01", "valid_to": "2029-01-01"})[1]
    assert rule == "date_order"


def test_licence_public_keeps_attachment_digest_lower_case() -> None:
    record = LicenceCreate.model_validate(ex.licence())
    public = LicencePublic.from_create(record)
    assert public.attachments[0].sha256 == ex.attachment()["sha256"].lower()


# --- Project department -------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "field", "rule"),
    [
        ({"county_code": "150102"}, "county_code", "division_not_in_city"),
        ({"city_code": "140100", "county_code": "140105"}, "city_code", "division_not_in_province"),
        ({"city_code": "150206"}, "city_code", "division_level"),
        ({"county_code": "15020"}, "county_code", "division_format"),
        ({"start_month": "2027-01"}, "expected_end_month", "date_order"),
        ({"start_month": "2024-13"}, "start_month", "year_month_format"),
        ({"contracting_mode": "subcontract"}, "contracting_mode", "enum"),
        (
            {"head": {"name": "王建国", "resident_id": "150203197809050310"}},
            "head.resident_id",
            "resident_id_check_digit",
        ),
        (
            {"head": {"name": "王建国", "resident_id": ex.HEAD_ID, "phone": "12345"}},
            "head.phone",
            "phone_format",
        ),
        (
            {"safety_managers": [{"name": "刘海", "resident_id": ex.HEAD_ID, "x": 1}]},
            "safety_managers.0.x",
            "extra_forbidden",
        ),
        (
            {
                "safety_managers": [
                    {"name": "刘海", "resident_id": ex.MANAGER_IDS[0]},
                    {"name": "刘海", "resident_id": ex.MANAGER_IDS[0]},
                ]
            },
            "safety_managers.1.resident_id",
            "duplicate_person",
        ),
        (
            {"inspections": [{"date": "2024-09-10", "participants": []}]},
            "inspections.0.participants",
            "too_short",
        ),
        (
            {"inspections": [{"date": "2025-07-01", "participants": ["李志强"]}]},
            "inspections.0.date",
            "date_in_future",
        ),
        ({"written_report": False}, "written_report_date", "flag_date_mismatch"),
        ({"agreement_signed": False}, "agreement_date", "flag_date_mismatch"),
        ({"underground": "sometimes"}, "underground", "bool_parsing"),
    ],
)
def test_project_department_rejects(over: dict[str, Any], field: str, rule: str) -> None:
    assert only_error(ProjectDepartmentCreate, ex.project_department(**over))[:2] == (field, rule)


def test_project_department_location_error_names_field_in_chinese() -> None:
    _, _, message = only_error(ProjectDepartmentCreate, ex.project_department(county_code="150102"))
    assert message == (
        "所在县（区）：所选县（区）不属于所选市：150102 / "
        "county_code: county 150102 is not in city 150200"
    )


def test_project_department_in_municipality_normalises_city() -> None:
    record = ProjectDepartmentCreate.model_validate(
        ex.project_department(province_code="110000", city_code="110000", county_code="110109"),
        context=ex.CTX,
    )
    assert (record.city_code, record.county_code) == ("110100", "110109")


def test_project_department_update_location_whole_or_nothing() -> None:
    assert ProjectDepartmentUpdate.model_validate({"project_name": "新名称"})
    field, rule, _ = only_error(ProjectDepartmentUpdate, {"county_code": "150206"})
    assert (field, rule) == ("province_code", "location_incomplete")
    field, rule, _ = only_error(
        ProjectDepartmentUpdate,
        {"province_code": "150000", "city_code": "150200", "county_code": "150102"},
    )
    assert (field, rule) == ("county_code", "division_not_in_city")


def test_project_department_public_masks_people_and_counts() -> None:
    record = ProjectDepartmentCreate.model_validate(ex.project_department(), context=ex.CTX)
    public = ProjectDepartmentPublic.from_create(record)
    assert public.head.name == "王建国"
    assert public.head.resident_id == ex.HEAD_ID[:6] + "********" + ex.HEAD_ID[-4:]
    assert public.head.phone == "138****2345"
    assert public.safety_managers[0].phone == "0472-*****56"
    assert public.safety_manager_count == 2
    assert public.technical_staff_count == 1
    assert public.inspection_count == 2
    assert public.last_inspection_date == date(2025, 3, 18)
    text = public.model_dump_json()
    for rid in (ex.HEAD_ID, *ex.MANAGER_IDS, ex.TECH_ID):
        assert rid not in text
    assert "13847112345" not in text and "5123456" not in text


def test_public_view_masks_even_raw_dicts_with_extra_keys() -> None:
    raw = ex.project_department()
    raw["head"] = {**raw["head"], "phone": "138 4711 2345", "internal_note": "x"}
    raw["review_state"] = "approved"
    public = ProjectDepartmentPublic.model_validate(raw, context=ex.CTX)
    assert public.head.phone == "138****2345"
    assert "review_state" not in public.model_dump()


# --- Accident -----------------------------------------------------------------------------


def test_accident_example_and_grade() -> None:
    record = AccidentCreate.model_validate(ex.accident(), context=ex.CTX)
    assert record.categories == [
        AccidentCategory.STRUCK_BY_OBJECT,
        AccidentCategory.ROOF_FALL_RIB_SPALLING,
    ]
    assert record.grade is AccidentGrade.GENERAL
    assert "grade" not in record.model_dump()  # derived, never part of the filing
    larger = AccidentCreate.model_validate(ex.accident(deaths=3), context=ex.CTX)
    assert larger.grade is AccidentGrade.LARGER
    public = AccidentPublic.from_create(larger)
    assert public.grade is AccidentGrade.LARGER
    assert public.model_dump()["grade"] == "larger"


def test_accident_naive_time_is_beijing_time() -> None:
    record = AccidentCreate.model_validate(
        ex.accident(occurred_at="2025-05-14T09:30:00"), context=ex.CTX
    )
    assert record.occurred_at == datetime(2025, 5, 14, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("over", "field", "rule"),
    [
        ({"direct_loss_yuan": 1850000.0}, "direct_loss_yuan", "money_not_integer"),
        ({"direct_loss_yuan": 1850000.5}, "direct_loss_yuan", "money_not_integer"),
        ({"direct_loss_yuan": -1}, "direct_loss_yuan", "greater_than_equal"),
        ({"deaths": -1}, "deaths", "greater_than_equal"),
        ({"deaths": 1.0}, "deaths", "integer_required"),
        ({"serious_injuries": "two"}, "serious_injuries", "int_parsing"),
        ({"categories": []}, "categories", "too_short"),
        ({"categories": [11, 11]}, "categories", "categories_unique"),
        ({"categories": [21]}, "categories.0", "enum"),
        ({"responsible_party": "mine"}, "responsible_party", "enum"),
        ({"contractor_uscc": "91150102MA0N1A2B3I"}, "contractor_uscc", "uscc_charset"),
        ({"occurred_at": "2025-06-30T12:00:01+08:00"}, "occurred_at", "datetime_in_future"),
        ({"occurred_at": "yesterday"}, "occurred_at", "datetime_from_date_parsing"),
        ({"county_code": "150102"}, "county_code", "division_not_in_city"),
        ({"project_department_id": "42"}, "project_department_id", "uuid_parsing"),
    ],
)
def test_accident_rejects(over: dict[str, Any], field: str, rule: str) -> None:
    assert only_error(AccidentCreate, ex.accident(**over))[:2] == (field, rule)


def test_float_money_message() -> None:
    _, _, message = only_error(AccidentCreate, ex.accident(direct_loss_yuan=1.5))
    assert message == (
        "直接经济损失（元）：金额须以整数元填写，不能有小数 / "
        "direct_loss_yuan: amounts are whole yuan: integers only, no decimals"
    )


def test_accident_clock_injection() -> None:
    data = ex.accident(occurred_at="2025-06-30T12:00:00+08:00")
    assert AccidentCreate.model_validate(data, context=ex.CTX)  # exactly now is fine
    later = {"now": ex.NOW - timedelta(seconds=1)}
    assert only_error(AccidentCreate, data, **later)[1] == "datetime_in_future"
    # Without an injected clock the real time is used: 2025 is in the past.
    assert AccidentCreate.model_validate(data)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    with pytest.raises(pydantic.ValidationError):
        AccidentCreate.model_validate(ex.accident(occurred_at=future))


def test_accident_update_partial() -> None:
    update = AccidentUpdate.model_validate({"deaths": 2, "categories": [9, 1]}, context=ex.CTX)
    assert update.categories == [AccidentCategory(1), AccidentCategory(9)]
    assert only_error(AccidentUpdate, {"direct_loss_yuan": 0.5})[1] == "money_not_integer"


# --- Rewards and penalties ------------------------------------------------------------


def test_reward_penalty_rejects() -> None:
    assert only_error(RewardPenaltyCreate, ex.reward_penalty(kind="warning"))[:2] == (
        "kind",
        "enum",
    )
    field, rule, message = only_error(
        RewardPenaltyCreate, ex.reward_penalty(decided_on="2025-07-01")
    )
    assert (field, rule) == ("decided_on", "date_in_future")
    assert message == (
        "奖惩日期：日期不能晚于今天（2025-06-30） / "
        "decided_on: date cannot be after today (2025-06-30)"
    )
    assert RewardPenaltyCreate.model_validate(
        ex.reward_penalty(decided_on="2025-06-30"), context=ex.CTX
    )
    assert only_error(RewardPenaltyUpdate, {"contractor_uscc": "123"})[1] == "uscc_length"


def test_reward_penalty_public() -> None:
    record = RewardPenaltyCreate.model_validate(ex.reward_penalty(), context=ex.CTX)
    assert RewardPenaltyPublic.from_create(record).document_no == "包应急罚〔2025〕15号"


def test_several_errors_reported_together() -> None:
    found = errors_of(
        BasicInfoCreate, ex.basic_info(uscc="123", contact_phone="x", avg_headcount=-3)
    )
    assert {(e["field"], e["rule"]) for e in found} == {
        ("uscc", "uscc_length"),
        ("contact_phone", "phone_format"),
        ("avg_headcount", "greater_than_equal"),
    }
