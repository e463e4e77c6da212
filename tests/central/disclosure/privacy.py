"""A scanner for unmasked personal data in anything served publicly.

- a resident ID number (GB 11643): 17 digits and a check character that is
  right for them (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, Σ mod 11 into
  ``10X98765432``), not part of a longer run of letters or digits;
- a mobile number: 11 digits ``1[3-9]…``, not part of a longer run, optionally
  with a ``+86``/``86`` prefix or split as 3-4-4 by spaces or hyphens.

Masked values (``150102********103X``, ``138****5678``) contain ``*`` and do not match.
"""

from __future__ import annotations

import re

from schemas.identifiers import resident_id_check_char

_ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[ -]?)?(1[3-9]\d(?:[ -]?\d{4}){2})(?![0-9A-Za-z])")


def unmasked_resident_ids(text: str) -> list[str]:
    """Every 18-character run that is a resident ID number with a valid check digit."""
    return [
        m for m in _ID_CANDIDATE.findall(text) if resident_id_check_char(m[:17]) == m[17].upper()
    ]


def unmasked_mobiles(text: str) -> list[str]:
    """Every mobile number written out in full."""
    return [re.sub(r"[ -]", "", m) for m in _MOBILE.findall(text)]


def findings(text: str) -> list[str]:
    """What the scan found, labelled (empty when the text is clean)."""
    return [f"resident ID {v}" for v in unmasked_resident_ids(text)] + [
        f"mobile {v}" for v in unmasked_mobiles(text)
    ]
