"""In real Chromium: a contractor files and submits a project department; the county
regulator returns it with a reason; the contractor fixes it; the regulator approves;
it appears on the hub's public page, read at a phone-sized viewport.

Federation: the hub and one province as separate servers with real Celery workers
(``tests/federation/harness.py``). Screenshots: ``artifacts/browser/<test>/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PC, PHONE, accessible, fits_a_phone, log_in, snap
from tests.federation.harness import Federation, seed_province, wait_until
from tests.node.factories import person

pytestmark = pytest.mark.slow

PROVINCE = "150000"
PROJECT = "白云鄂博铁矿东矿井巷掘进工程项目部"


def fill_department(page: Any, county: str, head_id: str) -> None:
    head, manager = person(11, county), person(12, county)
    page.get_by_label("项目名称").fill(PROJECT)
    page.get_by_label("所在市（行政区划代码）").fill(county[:4] + "00")
    page.get_by_label("所在县（区）（行政区划代码）").fill(county)
    page.get_by_label("发包单位").fill("包钢集团白云鄂博矿业有限公司")
    page.get_by_label("矿山名称").fill("白云鄂博铁矿")
    page.get_by_role("group", name="是否井下作业").get_by_label("是").check()
    page.get_by_label("进场年月").fill("2026-03")
    page.get_by_label("预计完工年月").fill("2027-12")
    page.get_by_label("总承包").check()
    page.get_by_label("主要工作内容").fill("主斜坡道及采准巷道掘进支护")
    page.get_by_label("安全管理机构设置").fill("项目部设安全组，专职安全员3名")
    page.locator("#f-head-name").fill(head["name"])
    page.locator("#f-head-resident_id").fill(head_id)
    page.locator("#f-head-phone").fill(head["phone"])
    page.locator("#f-safety_managers-0-name").fill(manager["name"])
    page.locator("#f-safety_managers-0-resident_id").fill(manager["resident_id"])
    page.get_by_role("group", name="是否书面报告当地安全监管部门").get_by_label("是").check()
    page.get_by_label("书面报告日期").fill("2026-02-26")
    page.get_by_role("group", name="是否签订安全生产管理协议").get_by_label("是").check()
    page.get_by_label("协议签订日期").fill("2026-02-20")
    page.get_by_label("应急预案备案号").fill(f"{county}-2026-017")
    page.get_by_label("检查日期（第1次）").fill("2026-04-18")
    page.get_by_label("参加检查人员（第1次）").fill("李志强、赵敏")


def test_file_return_fix_approve_publish_and_read_on_a_phone(
    fed: Federation, browser: Any, shots: Path
) -> None:
    fed.start_hub()
    node = fed.start_node(PROVINCE)
    province = seed_province(node, PROVINCE)
    county = province.county
    assert fed.hub is not None
    contractor = browser.new_context(viewport=PC, locale="zh-CN")
    regulator = browser.new_context(viewport=PC, locale="zh-CN")
    c, r = contractor.new_page(), regulator.new_page()

    # The contractor logs in: the keyboard reaches the skip link first.
    c.goto(f"{node.url}/login")
    c.keyboard.press("Tab")
    assert c.evaluate("document.activeElement.className") == "skip"
    snap(c, shots, "01-login")
    log_in(c, node.url, "contractor")
    c.wait_for_url("**/filings")
    snap(c, shots, "02-contractor-dashboard")

    # A wrong ID number is refused next to its input, in plain words.
    c.get_by_role("link", name="新建项目部").first.click()
    wrong_id = person(11, county)["resident_id"][:-1] + (
        "0" if person(11, county)["resident_id"][-1] != "0" else "1"
    )
    accessible(c)
    fill_department(c, county, wrong_id)
    snap(c, shots, "03-form-filled")
    c.get_by_role("button", name="保存并提交审核").click()
    error = c.locator("#f-head-resident_id-err1")
    error.wait_for()
    assert "公民身份号码" in error.inner_text()
    assert c.locator("#f-head-resident_id").get_attribute("aria-invalid") == "true"
    snap(c, shots, "04-inline-error")

    c.locator("#f-head-resident_id").fill(person(11, county)["resident_id"])
    c.get_by_role("button", name="保存并提交审核").click()
    c.get_by_role("status").filter(has_text="已提交审核").wait_for()
    record_url = c.url.split("?")[0]
    record_id = record_url.rsplit("/", 1)[1]
    snap(c, shots, "05-submitted")

    # The county regulator finds it in the queue and returns it with a reason.
    log_in(r, node.url, "county")
    r.wait_for_url("**/review")
    r.get_by_role("link", name=PROJECT).click()
    accessible(r)
    snap(r, shots, "06-review-detail")
    reason = "应急预案备案号与书面报告不一致，请核对后重新提交"
    r.get_by_label("退回理由").fill(reason)
    r.get_by_role("button", name="退回修改").click()
    r.get_by_role("status").filter(has_text="已退回").wait_for()
    snap(r, shots, "07-returned")

    # The contractor sees what the returned filing needs, fixes it, submits again.
    c.goto(f"{node.url}/filings")
    assert reason in c.locator(".returned").inner_text()
    snap(c, shots, "08-dashboard-returned")
    # The same pages on a phone: nothing scrolls sideways.
    on_phone = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    m = on_phone.new_page()
    log_in(m, node.url, "contractor")
    m.wait_for_url("**/filings")
    fits_a_phone(m)
    snap(m, shots, "08b-dashboard-phone")
    m.goto(f"{record_url}/edit")
    fits_a_phone(m)
    snap(m, shots, "08c-form-phone")
    m.screenshot(path=str(shots / "08d-form-phone-top.png"))
    m.locator("#f-head").scroll_into_view_if_needed()
    m.screenshot(path=str(shots / "08e-form-phone-people.png"))
    on_phone.close()

    c.locator(".returned").get_by_role("link").first.click()
    c.get_by_label("应急预案备案号").fill(f"{county}-2026-018")
    snap(c, shots, "09-fixing")
    c.get_by_role("button", name="保存并提交审核").click()
    c.get_by_role("status").filter(has_text="已提交审核").wait_for()

    # The regulator approves the second version.
    r.goto(f"{node.url}/review")
    r.set_viewport_size(PHONE)
    fits_a_phone(r)
    snap(r, shots, "09b-queue-phone")
    r.set_viewport_size(PC)
    r.get_by_role("link", name=PROJECT).click()
    assert "第 2 版" in r.locator("h1").inner_text()
    snap(r, shots, "10-review-second-version")
    r.get_by_role("button", name="审核通过").click()
    r.get_by_role("status").filter(has_text="已审核通过").wait_for()
    snap(r, shots, "11-approved")

    c.goto(record_url)
    assert "已通过" in c.locator("main").inner_text()

    # The regulator's other pages: statistics, accident entry, corrections, accounts.
    for path, name in (
        ("/queries?group_by=state", "11b-queries"),
        ("/entry/accident", "11c-accident-entry"),
        ("/entries/accident", "11e-entries-to-correct"),
        ("/accounts", "11d-accounts"),
    ):
        r.goto(f"{node.url}{path}")
        accessible(r)
        snap(r, shots, name)
        r.set_viewport_size(PHONE)
        fits_a_phone(r)
        r.screenshot(path=str(shots / f"{name}-phone.png"))
        r.set_viewport_size(PC)
    r.goto(f"{node.url}/queries?group_by=state")
    approved_row = r.locator("table.bars tbody tr").filter(has_text="已通过")
    assert approved_row.locator("td.num").inner_text() == "1"

    # Published automatically: the hub shows it once the node's worker has pushed it.
    with httpx.Client(timeout=10) as client:
        uscc = client.get(
            f"{node.url}/api/v1/filings/{record_id}", headers=province.contractor
        ).json()["contractor_uscc"]

        def at_hub() -> bool:
            answer = client.get(f"{fed.hub.url}/api/v1/public/contractors/{uscc}")  # type: ignore[union-attr]
            return answer.status_code == 200 and PROJECT in answer.text

        try:
            # Seconds when the machine is quiet; generous for a loaded CI machine.
            wait_until(at_hub, 240, "the approved department on the hub's public record")
        except AssertionError as exc:
            # The servers' own logs say where it stopped (push, ingest, quarantine).
            raise AssertionError(f"{exc}\n{fed.logs(tail=6000)}") from None

    phone = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    p = phone.new_page()
    p.goto(f"{fed.hub.url}/contractors/{uscc}")
    assert PROJECT in p.locator("main").inner_text()
    text = p.locator("main").inner_text()
    assert person(11, county)["resident_id"] not in text, "ID numbers are masked in public"
    snap(p, shots, "12-public-page-phone")
    fits_a_phone(p)
    for ctx in (contractor, regulator, phone):
        ctx.close()
