from __future__ import annotations

from datetime import date

from node.audit.service import scrub
from schemas.identifiers import make_resident_id, make_uscc


def test_resident_ids_and_mobiles_are_masked_everywhere_in_the_detail():
    rid = make_resident_id("150102", date(1980, 1, 2), "123")
    detail = {"head": {"resident_id": rid}, "notes": [f"负责人 {rid}，电话 13812345678"]}
    out = scrub(detail)
    assert rid not in str(out) and "13812345678" not in str(out)
    assert out["head"]["resident_id"] == rid[:6] + "********" + rid[-4:]
    assert out["notes"][0].endswith("电话 138****5678")


def test_a_uscc_is_not_mistaken_for_a_resident_id():
    uscc = make_uscc("150102", "70000001")
    assert scrub({"uscc": uscc}) == {"uscc": uscc}
    digits_only = "911501027000000001"
    assert scrub(digits_only) == digits_only
