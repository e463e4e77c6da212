"""Where a filing is reviewed, by the hierarchy of Order No. 62 and the requirements.

- a project department: the county regulator of its location; for a central
  state-owned enterprise (中央企业), the municipal regulator of its city or the
  provincial regulator;
- basic info, licences, contractor-filed rewards/penalties: the home province;
- accidents and regulator-entered rewards/penalties are not reviewed: they are
  published on entry, under the entering regulator's division.
"""

from __future__ import annotations

from typing import Any

from node.models import Contractor
from schemas.enums import RecordKind


def review_division(kind: str, data: dict[str, Any], contractor: Contractor) -> str:
    if kind == RecordKind.PROJECT_DEPARTMENT:
        county = data.get("county_code")
        city = data.get("city_code")
        if contractor.central_soe and city:
            return str(city)
        if county:
            return str(county)
    return contractor.home_province_code
