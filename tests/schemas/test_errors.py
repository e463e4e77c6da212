"""rule_error and format_errors: stable codes, bilingual messages, field titles."""

from __future__ import annotations

from typing import Annotated

import pydantic
import pytest
from pydantic import AfterValidator, BaseModel, Field

from schemas.errors import format_errors, rule_error
from schemas.forms import ProjectDepartmentCreate


def _no_foo(v: str) -> str:
    if v == "foo":
        raise rule_error("no_foo", "不能是 {what}", "must not be {what}", what="foo")
    return v


class Sample(BaseModel):
    code: Annotated[str, AfterValidator(_no_foo)] = Field(title="代码")
    count: int = Field(title="数量")
    plain: Annotated[str, AfterValidator(lambda v: v)] = "x"


def test_rule_error_type_and_message() -> None:
    err = rule_error("uscc_check_digit", "校验码错误", "check character is wrong")
    assert err.type == "uscc_check_digit"
    assert str(err) == "校验码错误 / check character is wrong"
    assert isinstance(err, ValueError)


def test_format_errors_with_model_titles() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        Sample.model_validate({"code": "foo"})
    assert format_errors(info.value, Sample) == [
        {"field": "code", "rule": "no_foo", "message": "代码：不能是 foo / code: must not be foo"},
        {
            "field": "count",
            "rule": "missing",
            "message": "数量：必填字段缺失 / count: field required",
        },
    ]


def test_format_errors_without_title_uses_path() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        Sample.model_validate({"code": "ok", "count": "many"})
    # Sample is not a registered form model: the path stands in for the title.
    assert format_errors(info.value) == [
        {
            "field": "count",
            "rule": "int_parsing",
            "message": "count：应为整数 / count: input should be a valid integer, "
            "unable to parse string as an integer",
        }
    ]


def test_nested_titles_found_through_lists() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        ProjectDepartmentCreate.model_validate({"safety_managers": [{"name": "刘海"}]})
    by_field = {e["field"]: e for e in format_errors(info.value)}
    assert by_field["safety_managers.0.resident_id"]["message"].startswith("公民身份号码：")
    assert by_field["project_name"]["message"] == (
        "项目名称：必填字段缺失 / project_name: field required"
    )


def test_plain_value_error_still_bilingual() -> None:
    class Bare(BaseModel):
        x: Annotated[
            int, AfterValidator(lambda v: v if v else (_ for _ in ()).throw(ValueError("boom")))
        ]

    with pytest.raises(pydantic.ValidationError) as info:
        Bare.model_validate({"x": 0})
    [error] = format_errors(info.value)
    assert error["rule"] == "value_error"
    assert " / " in error["message"] and "取值不正确" in error["message"]
