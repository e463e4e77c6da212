"""The pages: search (no JavaScript), a contractor, open data; accessible markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class Page(HTMLParser):
    """Collects inputs, labels, links and script tags of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[str] = []
        self.labels: set[str] = set()
        self.links: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in {"input", "select", "textarea"} and a.get("type") != "hidden":
            self.inputs.append(a.get("id", ""))
        if tag == "label":
            self.labels.add(a.get("for", ""))
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if a.get(key, "").startswith(("http://", "https://", "//")):
                self.external.append(a[key])


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_the_search_page_works_without_javascript(client, populated):
    response = client.get("/", params={"q": "测试矿山", "province": "150000"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    assert page.scripts == 0 and page.external == []
    assert set(page.inputs) <= page.labels, "every input has a label"
    assert f"/contractors/{populated.firm.uscc}" in page.links
    assert f"/contractors/{populated.shanxi_firm.uscc}" not in page.links
    assert "/stats" in page.links and "/open-data" in page.links
    assert '<html lang="zh-CN">' in response.text
    assert 'name="viewport"' in response.text


def test_empty_form_fields_mean_any_and_bad_values_are_ignored(client, populated):
    response = client.get(
        "/", params={"q": "", "province": "", "grade": "bogus", "incidents_within_years": "x"}
    )
    assert response.status_code == 200
    assert "共 3 家单位" in response.text


def test_paging_links_keep_the_query(client, session):
    from datetime import UTC, datetime

    from central.models import HubPublicContractor
    from schemas.identifiers import make_uscc

    for n in range(25):
        session.add(
            HubPublicContractor(
                uscc=make_uscc("150102", f"7{n:07d}"),
                name=f"分页测试矿业公司{n:02d}",
                name_grams=[],
                grades=[],
                updated_at=datetime(2026, 6, 1, tzinfo=UTC),
            )
        )
    session.flush()
    first = client.get("/", params={"sort": "name", "province": ""})
    assert "第 1 / 2 页" in first.text
    links = [h for h in parse(first.text).links if "page=" in h]
    assert links == ["/?sort=name&page=2"]
    second = client.get(links[0])
    assert "第 2 / 2 页" in second.text and "分页测试矿业公司24" in second.text
    assert [h for h in parse(second.text).links if "page=" in h] == ["/?sort=name&page=1"]


def test_the_contractor_page_shows_each_section_and_verify_links(client, populated):
    response = client.get(f"/contractors/{populated.firm.uscc}")
    assert response.status_code == 200
    html = response.text
    for heading in ["基本情况", "持证情况", "项目部", "事故情况", "奖惩情况", "合规提示"]:
        assert heading in html
    page = parse(html)
    for record_id in ["bi-1", "lic-1", "lic-2", "pd-1", "pd-2", "acc-1", "rp-1", "rp-2"]:
        assert f"/verify/{record_id}" in page.links
    assert "未签订安全生产管理协议" in html and "许可证90日内到期" in html
    assert "数据截至" in html
    assert "一般事故" in html and "冒顶片帮" in html
    # People as counts and masked names only.
    assert "张*" in html
    assert "已撤回的保密项目部" not in html and "/verify/pd-gone" not in page.links
    assert re.search(r"安全管理人员 1 名", html)


def test_a_contractor_not_published_is_a_404_page(client, populated):
    from schemas.identifiers import make_uscc

    response = client.get(f"/contractors/{make_uscc('150102', '99999999')}")
    assert response.status_code == 404
    assert "未找到" in response.text


def test_the_open_data_page_has_the_dictionary_schedule_and_links(client, populated):
    from central.disclosure.dictionary import DATASETS

    response = client.get("/open-data")
    assert response.status_code == 200
    page = parse(response.text)
    for name, dataset in DATASETS.items():
        assert f"/api/v1/public/export/{name}.csv" in page.links
        assert f"/api/v1/public/export/{name}.jsonl" in page.links
        for column in dataset.columns:
            assert f"<code>{column.name}</code>" in response.text
    assert "实时更新" in response.text and "updated_since" in response.text


def test_the_stylesheet_is_served_locally(client):
    response = client.get("/static/public.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@import" not in response.text and "url(http" not in response.text
    assert client.get("/static/../config.py").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404
