"""Browser tests: Debian's chromium driven by Playwright, against a real federation.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``.ci/run``
installs it). Without it the tests skip, saying why, unless ``CI`` is set, where
a missing browser is a failure. Screenshots of every step go to
``artifacts/browser/`` (gitignored), for people to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minefed.demo_data import DEMO_PASSWORD
from tests.federation.harness import Federation, federation

CHROMIUM = Path(os.environ.get("MINEFED_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if _ci():
        pytest.fail(f"CI: no chromium at {CHROMIUM}; .ci/run installs Debian's chromium")
    pytest.skip(
        f"no chromium at {CHROMIUM}: install Debian's (apt-get install chromium) to run the "
        "browser tests (under CI=true this is a failure, not a skip)"
    )


@pytest.fixture
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """The folder of this test's screenshots (emptied first)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture
def fed(
    chromium_path: Path,
    pg_server_url: str,
    worker_id_suffix: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Federation]:
    suffix = f"{worker_id_suffix}_{request.node.name[:20]}".lower()
    suffix = "".join(ch if ch.isalnum() else "_" for ch in suffix)
    with federation(pg_server_url, tmp_path / "fed", suffix) as f:
        yield f


# ---------------------------------------------------------------- helpers of every browser test

PC = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


#: The elements reaching past the viewport's right edge (to say what overflows).
WIDEST = """
[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 391)
  .slice(0, 8)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
"""


def snap(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


#: Form controls without a label a screen reader would announce.
UNLABELLED = """
[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)
"""


#: Visible text whose colour against its background is under WCAG 2 AA's ratio
#: (4.5:1, 3:1 for large text); disabled controls and SVG charts (fill, not colour)
#: aside. The background is the first ancestor's that is not transparent.
LOW_CONTRAST = """
(() => {
  const parse = c => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(',').map(parseFloat);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = c => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const low = [], seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || seen.has(el) || el.closest('svg') || el.closest(':disabled')) continue;
    seen.add(el);
    const st = getComputedStyle(el), box = el.getBoundingClientRect();
    if (st.visibility === 'hidden' || box.width <= 1 || box.height <= 1) continue;
    const fg = parse(st.color), bg = background(el);
    if (!fg) continue;
    const mix = k => fg[k] * fg.a + bg[k] * (1 - fg.a);
    const l1 = lum({r: mix('r'), g: mix('g'), b: mix('b')}), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) {
      low.push(`${el.tagName.toLowerCase()}.${el.className} "${text.slice(0, 24)}" ${ratio.toFixed(2)}:1`);
    }
  }
  return low.slice(0, 10);
})()
"""


def accessible(page: Any) -> None:
    """Every input labelled, and every visible text readable against its background."""
    missing = page.evaluate(UNLABELLED)
    assert missing == [], f"{page.url}: inputs without a label: {missing}"
    low = page.evaluate(LOW_CONTRAST)
    assert low == [], f"{page.url}: text under WCAG AA contrast: {low}"


def fits_a_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (
        f"{page.url} scrolls sideways on a phone: {width}px {page.evaluate(WIDEST)}"
    )


def log_in(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
