"""The page checks the browser tests rely on can fail: a planted low-contrast text
and an unlabelled input are found, readable text and SVG charts are not."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LOW_CONTRAST, UNLABELLED

PAGE = """<!doctype html><html lang="zh-CN"><body style="background:#fff;color:#1a1a1a">
<p>正文清晰</p>
<p id="faint" style="color:#aaa">浅灰色的字</p>
<div style="background:#1d4ed8"><span style="color:#fff">蓝底白字</span></div>
<div style="background:#1d4ed8"><span style="color:#2563eb">蓝底蓝字</span></div>
<p style="color:#767676;font-size:28px">大号字 4.5:1 左右</p>
<svg width="100" height="20"><text x="0" y="15" fill="#eee">图表</text></svg>
<label for="a">名称</label><input id="a" name="a">
<input name="unlabelled">
<button disabled style="color:#bbb">不可用</button>
</body></html>"""


def test_low_contrast_and_unlabelled_inputs_are_found(browser: Any) -> None:
    page = browser.new_page()
    page.set_content(PAGE)
    low = page.evaluate(LOW_CONTRAST)
    assert len(low) == 2, low
    assert any("浅灰色的字" in item for item in low)
    assert any("蓝底蓝字" in item for item in low)
    assert page.evaluate(UNLABELLED) == ["unlabelled"]
    page.close()
