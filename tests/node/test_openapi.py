"""The node's OpenAPI document is complete enough to work from."""

from __future__ import annotations

import re

# Chinese first, then a slash, then English.
BILINGUAL = re.compile(r"[\u4e00-\u9fff].*/\s*[A-Za-z]")


def test_every_operation_is_documented(app):
    spec = app.openapi()
    problems = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            if not BILINGUAL.search(op.get("summary", "")):
                problems.append(f"{where}: summary must be '中文 / English'")
            if not op.get("tags"):
                problems.append(f"{where}: no tag")
            ok = [code for code in op.get("responses", {}) if code.startswith("2")]
            if not ok:
                problems.append(f"{where}: no success response")
    assert problems == []


def test_forms_carry_chinese_titles_and_examples(app):
    schemas = app.openapi()["components"]["schemas"]
    form = schemas["ProjectDepartmentUpdate"]["properties"]
    assert form["project_name"]["title"] == "项目名称"
    assert any("examples" in p or "example" in p for p in form.values())
