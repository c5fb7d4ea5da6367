"""Which IANA time zones fit a jurisdiction: the import refuses a borrower whose zone does not.

A zone typed for the wrong place moves every contact window (``US-WA`` with ``Asia/Tokyo`` puts
09:00-20:00 Tokyo at 16:00-03:00 in Washington), so it is bad input, refused with the file,
line and field like any other.

A zone fits when its UTC offsets through two years (weekly, 2026-2027) equal those of a zone of
the jurisdiction: the subdivision's zones where arrears knows them
(:data:`arrears.domain.compliance.check.JURISDICTION_ZONES`: every US state, DC and the
inhabited territories), else the zones
the tz database lists for the country (``zone.tab`` of the ``tzdata`` package). Comparing
offsets, not names, accepts aliases (``US/Pacific``) and zones that keep the same clock. A
jurisdiction the tz database does not know (a test code such as ``ZZ``) is not checked.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import pycountry

from arrears.domain.compliance.check import JURISDICTION_ZONES

# every week of two years: zones whose clocks change on other days differ on some sample
_SAMPLES = tuple(datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(weeks=k) for k in range(105))


@lru_cache(maxsize=1)
def _country_zones() -> dict[str, tuple[str, ...]]:
    text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    out: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone = line.split("\t")[:3]
            out[country].append(zone)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=4096)
def _offsets(zone: str) -> tuple[timedelta | None, ...]:
    z = ZoneInfo(zone)
    return tuple(t.astimezone(z).utcoffset() for t in _SAMPLES)


def expected_zones(jurisdiction: str) -> tuple[str, ...]:
    """Zones of ``jurisdiction``: arrears' own list where it has one (every US state and
    territory, ``US``, ``CN`` on Beijing time, ``GB``, ``IE``, ``TW``, ``HK``; ``US-NY-NYC``
    falls back to ``US-NY``), else the country's in the tz database; empty when unknown."""
    code = jurisdiction
    while code:
        if code in JURISDICTION_ZONES:
            return JURISDICTION_ZONES[code]
        code = code.rpartition("-")[0]
    return _country_zones().get(jurisdiction.split("-")[0], ())


def zone_fits(jurisdiction: str, zone: str) -> bool:
    """True when ``zone`` (a valid IANA name) keeps the clock of a zone of ``jurisdiction``, or
    the jurisdiction's zones are unknown."""
    zones = expected_zones(jurisdiction)
    if not zones:
        return True
    mine = _offsets(zone)
    return any(_offsets(z) == mine for z in zones)


#: Codes valid in ISO 3166 that name a place arrears judges under another code: the rules of the
#: place would be lost (CN-TW judged as CN, without TW's rules; PR has no pack, US-PR does).
ALIASES: dict[str, str] = {
    "CN-TW": "TW", "CN-HK": "HK", "CN-MO": "MO",
    "PR": "US-PR", "GU": "US-GU", "VI": "US-VI", "AS": "US-AS", "MP": "US-MP",
}  # fmt: skip


@lru_cache(maxsize=4096)
def jurisdiction_problem(code: str) -> str | None:
    """Why ``code`` (already of the form ``CC``, ``CC-SUB`` or ``CC-SUB-LOCAL``) names no place
    arrears can judge, or None.

    The country must be an ISO 3166-1 alpha-2 code and a subdivision an ISO 3166-2 code
    (pycountry's tables); a third level only one arrears has rules and zones for
    (``US-NY-NYC``). A typo must not silently drop an overlay: ``US-NYC`` would be judged as
    ``US`` alone, without New York City's 3-in-7 cap.
    """
    if code in ALIASES:
        return f"{code!r}: write {ALIASES[code]} (arrears judges that place under that code)"
    parts = code.split("-")
    if pycountry.countries.get(alpha_2=parts[0]) is None:
        return f"{code!r}: {parts[0]} is not an ISO 3166-1 country code"
    if len(parts) >= 2 and pycountry.subdivisions.get(code="-".join(parts[:2])) is None:
        return f"{code!r}: {'-'.join(parts[:2])} is not an ISO 3166-2 subdivision code"
    if len(parts) >= 3 and code not in JURISDICTION_ZONES:
        known = ", ".join(k for k in JURISDICTION_ZONES if k.count("-") >= 2)
        return f"{code!r}: no local jurisdiction of that name (known: {known})"
    return None
