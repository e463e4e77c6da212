"""SVG charts drawn by the hub itself: bars, lines and a province tile map.

No script, no external font, CDN or network at run time: each function returns
a complete ``<svg>`` element (escaped text, ``<title>`` tooltips for screen
readers and hover) that the page embeds inline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

__all__ = ["TILES", "bar_chart", "line_chart", "tile_map"]

_FONT = 'font-family="sans-serif"'
_PALETTE = ("#eef3f8", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
_BAR = "#3182bd"
_LINES = ("#3182bd", "#d62728", "#2ca02c")

#: (code, short name, column, row) of each province-level division on the tile map.
TILES: tuple[tuple[str, str, int, int], ...] = (
    ("230000", "黑龙江", 7, 0),
    ("650000", "新疆", 1, 1),
    ("150000", "内蒙古", 5, 1),
    ("220000", "吉林", 7, 1),
    ("620000", "甘肃", 3, 2),
    ("640000", "宁夏", 4, 2),
    ("140000", "山西", 5, 2),
    ("110000", "北京", 6, 2),
    ("210000", "辽宁", 7, 2),
    ("540000", "西藏", 1, 3),
    ("630000", "青海", 2, 3),
    ("610000", "陕西", 4, 3),
    ("130000", "河北", 5, 3),
    ("120000", "天津", 6, 3),
    ("510000", "四川", 3, 4),
    ("500000", "重庆", 4, 4),
    ("410000", "河南", 5, 4),
    ("370000", "山东", 6, 4),
    ("530000", "云南", 3, 5),
    ("520000", "贵州", 4, 5),
    ("420000", "湖北", 5, 5),
    ("340000", "安徽", 6, 5),
    ("320000", "江苏", 7, 5),
    ("450000", "广西", 4, 6),
    ("430000", "湖南", 5, 6),
    ("360000", "江西", 6, 6),
    ("330000", "浙江", 7, 6),
    ("310000", "上海", 8, 5),
    ("460000", "海南", 4, 7),
    ("440000", "广东", 5, 7),
    ("350000", "福建", 6, 7),
    ("710000", "台湾", 7, 7),
    ("820000", "澳门", 5, 8),
    ("810000", "香港", 6, 8),
)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{_e(title)}" {_FONT} font-size="12">'
        f"<title>{_e(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text is escaped


def _nice_max(value: int) -> int:
    if value <= 0:
        return 1
    step = 1
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= step * factor:
            return step * factor
    return value


def bar_chart(title: str, items: Sequence[tuple[str, int]], *, unit: str = "") -> Markup:
    """Horizontal bars, one per ``(label, value)``, with the value at the end."""
    row, label_w, chart_w = 22, 150, 380
    height = 30 + row * max(len(items), 1)
    top = _nice_max(max((v for _, v in items), default=0))
    body = [f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 26 + i * row
        w = round(chart_w * value / top)
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row - 6}" fill="{_BAR}">'
            f"<title>{_e(label)}: {value}{_e(unit)}</title></rect>"
            f'<text x="{label_w + w + 4}" y="{y + 14}">{value}</text>'
        )
    return _svg(label_w + chart_w + 60, height, title, body)


def line_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[int]]) -> Markup:
    """One polyline per series over shared x labels (e.g. months), with a legend."""
    width, height, left, bottom, top_pad = 620, 240, 40, 40, 40
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = _nice_max(max((max(v, default=0) for v in series.values()), default=0))
    n = max(len(labels) - 1, 1)
    body = [f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>']
    for frac in (0, 0.5, 1):
        y = top_pad + plot_h - plot_h * frac
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{round(top * frac)}</text>'
        )
    every = max(len(labels) // 6, 1)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + plot_w * i / n
            body.append(
                f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{_e(label)}</text>'
            )
    for s, (name, values) in enumerate(series.items()):
        colour = _LINES[s % len(_LINES)]
        points = " ".join(
            f"{left + plot_w * i / n:.1f},{top_pad + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(values)
        )
        body.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{_e(name)}</title></polyline>"
            f'<rect x="{left + s * 120}" y="24" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + s * 120 + 14}" y="33">{_e(name)}</text>'
        )
    return _svg(width, height, title, body)


def tile_map(title: str, values: Mapping[str, int], *, unit: str = "") -> Markup:
    """Each province as a square tile at its place on :data:`TILES`, shaded by value."""
    size, gap = 56, 4
    cols = max(c for _, _, c, _ in TILES) + 1
    rows = max(r for _, _, _, r in TILES) + 1
    top = max(values.values(), default=0)
    body = [f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>']
    for code, name, col, row in TILES:
        value = values.get(code, 0)
        shade = 0 if top == 0 or value == 0 else 1 + round((len(_PALETTE) - 2) * value / top)
        fill = _PALETTE[shade]
        ink = "#fff" if shade >= 4 else "#222"
        x, y = col * (size + gap), 26 + row * (size + gap)
        body.append(
            f'<g><rect x="{x}" y="{y}" width="{size}" height="{size}" rx="4" fill="{fill}" '
            f'stroke="#9aa"><title>{_e(name)}: {value}{_e(unit)}</title></rect>'
            f'<text x="{x + size / 2}" y="{y + 24}" text-anchor="middle" fill="{ink}">{_e(name)}</text>'
            f'<text x="{x + size / 2}" y="{y + 42}" text-anchor="middle" fill="{ink}" '
            f'font-weight="bold">{value}</text></g>'
        )
    return _svg(cols * (size + gap), 30 + rows * (size + gap), title, body)
