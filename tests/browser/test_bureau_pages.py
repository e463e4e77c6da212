"""In real Chromium: the national bureau logs in at the hub and opens each of its pages
at PC and phone sizes, every input labelled; the keyboard walks a form in order; the
administrator changes a province's quota.

One hub server, no province: a node is enrolled with a one-time token and pushes one
invalid record (quarantined), as a node would, so the nodes page has something to show.
Screenshots: ``artifacts/browser/<test>/``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from minefed.demo_data import DEMO_PASSWORD
from sync.clock import SystemClock
from sync.keys import SigningKey
from tests.browser.conftest import PC, PHONE, accessible, fits_a_phone, log_in, snap
from tests.central.operations.test_operations import quarantine_one
from tests.central.support import NodeSim
from tests.federation.harness import Federation

pytestmark = pytest.mark.slow

PAGES = (
    ("/national", "01-home"),
    ("/national/nodes", "02-nodes"),
    ("/national/accounts", "03-accounts"),
    ("/national/queries", "04-queries"),
    ("/national/stats", "05-stats"),
)


def seed_hub(url: str, database_url: str) -> NodeSim:
    """The bureau's administrator (as ``minefed demo`` creates it) and one enrolled node."""
    from central.audit.service import Actor
    from central.auth.service import create_user
    from central.db import make_engine

    engine = make_engine(database_url, 1, 0)
    try:
        with Session(engine) as session:
            create_user(
                session,
                Actor("test"),
                username="bureau",
                display_name="国家局管理员",
                role="national_admin",
                password=DEMO_PASSWORD,
                now=datetime.now(UTC),
                must_change_password=False,
            )
            session.commit()
            node = NodeSim("node:150000", SigningKey.generate(), SystemClock())
            with httpx.Client(base_url=url, timeout=10) as client:
                node.enroll(client, session)
                quarantine_one(client, node, "bad-1")
    finally:
        engine.dispose()
    return node


def test_the_bureau_pages_on_a_pc_and_a_phone(fed: Federation, browser: Any, shots: Path) -> None:
    hub = fed.start_hub()
    seed_hub(hub.url, hub.database_url)
    pc = browser.new_context(viewport=PC, locale="zh-CN")
    page = pc.new_page()

    # The keyboard reaches the skip link first; the login form is labelled.
    page.goto(f"{hub.url}/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    accessible(page)
    snap(page, shots, "00-login")
    page.get_by_label("用户名").fill("bureau")
    page.get_by_label("密码").fill("Not-The-Password-1")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("alert").filter(has_text="用户名或密码错误").wait_for()
    snap(page, shots, "00b-login-refused")
    log_in(page, hub.url, "bureau")
    page.wait_for_url("**/national")

    phone = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    mobile = phone.new_page()
    log_in(mobile, hub.url, "bureau")
    mobile.wait_for_url("**/national")
    for path, name in PAGES:
        page.goto(f"{hub.url}{path}")
        assert page.locator("h1").count() == 1
        accessible(page)
        snap(page, shots, name)
        mobile.goto(f"{hub.url}{path}")
        fits_a_phone(mobile)
        snap(mobile, shots, f"{name}-phone")

    # The nodes page says in words what needs attention.
    page.goto(f"{hub.url}/national/nodes")
    node_card = page.locator("li.node").filter(has_text="node:150000")
    assert "有 1 条隔离消息待处理" in node_card.inner_text()
    assert page.get_by_role("button", name="重试隔离消息").count() == 1

    # The keyboard walks the allocation form in reading order.
    page.goto(f"{hub.url}/national/accounts")
    page.get_by_label("省份", exact=True).last.focus()
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent")
        )
    assert order == ["admin-username", "admin-display_name", "分配账号"], order

    # The administrator changes Inner Mongolia's quota.
    quota = page.get_by_label("内蒙古自治区承包单位账号上限")
    quota.fill("25")
    snap(page, shots, "06-quota-typed")
    quota.press("Enter")
    page.get_by_role("status").filter(has_text="配额已修改").wait_for()
    assert page.get_by_label("内蒙古自治区承包单位账号上限").input_value() == "25"
    row = page.locator("tr#quota-150000")
    assert "bureau" in row.inner_text()
    snap(page, shots, "07-quota-changed")
    mobile.goto(f"{hub.url}/national/accounts#quotas")
    fits_a_phone(mobile)
    snap(mobile, shots, "07b-quota-changed-phone")
    for ctx in (pc, phone):
        ctx.close()
