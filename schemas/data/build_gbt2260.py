"""Rebuild ``gbt2260.tsv`` from python-stdnum's ``cn/loc.dat``.

Run ``uv run python -m schemas.data.build_gbt2260`` after upgrading
python-stdnum; a test checks that the shipped file matches a fresh build.
This is a maintenance tool, not used at run time.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import re
from pathlib import Path

_PROVINCE = re.compile(r'^(\d\d) province="([^"]*)"$')
_SUB = re.compile(r'^  (\d{4}) county="([^"]*)"$')
# One historical name: optional "[since-until]" then the name.
_NAME = re.compile(r"^(?:\[(\d{4})?-(\d{4})?\])?(.+)$")

TSV_PATH = Path(__file__).with_name("gbt2260.tsv")


def _current_name(spec: str) -> tuple[str, bool]:
    """The latest name in ``[-1991]东郊区,[1992-]东丽区`` and whether it is current."""
    last = spec.split(",")[-1]
    m = _NAME.match(last)
    assert m is not None, spec
    until = m.group(2)
    return m.group(3), until is None


def build() -> str:
    """Return the TSV text for the installed python-stdnum's division table."""
    version = importlib.metadata.version("python-stdnum")
    source = importlib.resources.files("stdnum").joinpath("cn/loc.dat").read_text("utf-8")
    rows: dict[str, tuple[str, bool]] = {}
    province: str | None = None
    for line in source.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if m := _PROVINCE.match(line):
            province = m.group(1)
            rows.setdefault(province + "0000", (m.group(2), True))
            continue
        m = _SUB.match(line)
        if m is None or province is None:
            raise ValueError(f"unexpected line in loc.dat: {line!r}")
        rows[province + m.group(1)] = _current_name(m.group(2))
    years = sorted({int(y) for y in re.findall(r"\[(\d{4})", source)})
    header = (
        f"# EDITION: GB/T 2260 codes derived from python-stdnum {version} cn/loc.dat "
        f"(zh.wikipedia 中华人民共和国行政区划代码, changes up to {years[-1]})\n"
        "# current=1: in use; current=0: abolished (still valid in old ID numbers)\n"
        "code\tname\tcurrent\n"
    )
    body = "".join(
        f"{code}\t{name}\t{int(current)}\n" for code, (name, current) in sorted(rows.items())
    )
    return header + body


def main() -> None:
    """Write the table next to this file."""
    TSV_PATH.write_text(build(), encoding="utf-8")


if __name__ == "__main__":
    main()
