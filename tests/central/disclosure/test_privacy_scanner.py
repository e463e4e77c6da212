"""The privacy scanner itself: it finds what it must, and not masked values."""

from __future__ import annotations

import json
from datetime import date

from schemas.identifiers import make_resident_id, mask_phone, mask_resident_id
from tests.central.disclosure.privacy import findings, unmasked_mobiles, unmasked_resident_ids

REAL_ID = make_resident_id("150102", date(1985, 3, 12), "103")


def test_a_planted_unmasked_id_in_a_json_page_is_caught():
    page = json.dumps({"head": {"name": "张三", "resident_id": REAL_ID}}, ensure_ascii=False)
    assert unmasked_resident_ids(page) == [REAL_ID]
    assert findings(f"<td>{REAL_ID}</td>") == [f"resident ID {REAL_ID}"]


def test_an_id_with_a_wrong_check_digit_or_masked_is_not_an_id():
    wrong = REAL_ID[:17] + ("0" if REAL_ID[17] != "0" else "1")
    assert unmasked_resident_ids(f"{wrong} {mask_resident_id(REAL_ID)}") == []
    # Part of a longer code (a hash, a USCC-like run) is not an ID on its own.
    assert unmasked_resident_ids(f"a{REAL_ID}") == []
    assert unmasked_resident_ids(f"{REAL_ID}9") == []


def test_a_lower_case_x_check_character_counts():
    x_id = next(
        make_resident_id("150102", date(1980, 1, 1), f"{n:03d}")
        for n in range(1000)
        if make_resident_id("150102", date(1980, 1, 1), f"{n:03d}").endswith("X")
    )
    assert unmasked_resident_ids(x_id.lower()) == [x_id.lower()]


def test_mobiles_in_every_spelling_are_caught_and_masked_ones_are_not():
    text = "电话13804711234，+86 138-0471-1235；8613804711236 / 138 0471 1237"
    assert unmasked_mobiles(text) == ["13804711234", "13804711235", "13804711236", "13804711237"]
    assert unmasked_mobiles(mask_phone("13804711234")) == []
    # A landline, a longer number, a timestamp are not mobiles.
    assert unmasked_mobiles("0471-6281234 123804711234 20260615020000") == []
