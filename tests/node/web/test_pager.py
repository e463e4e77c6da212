"""The pager macro the node's list pages share (review queue, queries, entries)."""

from __future__ import annotations

from node.web.templating import templates

PAGER = '{% from "_macros.html" import pager %}{{ pager(current, pages, link) }}'


def render(current: int, pages: int) -> str:
    return templates.env.from_string(PAGER).render(
        current=current, pages=pages, link=lambda n: f"/review?page={n}"
    )


def test_a_middle_page_links_both_ways() -> None:
    html = render(2, 3)
    assert '<a href="/review?page=1" rel="prev">上一页</a>' in html
    assert '<a href="/review?page=3" rel="next">下一页</a>' in html
    assert "第 2 / 3 页" in html


def test_the_ends_link_one_way_and_one_page_shows_none() -> None:
    assert 'rel="prev"' not in render(1, 3) and 'rel="next"' in render(1, 3)
    assert 'rel="next"' not in render(3, 3) and 'rel="prev"' in render(3, 3)
    assert render(1, 1).strip() == ""
