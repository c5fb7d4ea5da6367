"""A small, fixed rule pack for the gate tests (independent of the shipped packs' evolution).

Pack ``ZZ`` (jurisdiction ZZ, borrowers in Asia/Shanghai in the tests):

* ``ZZ.HOURS``  calls and SMS 08:00-21:00 local;
* ``ZZ.DAILY``  at most 3 call attempts per local day (reserved ones count);
* ``ZZ.WEEK``   at most 5 call attempts within 7 days (rolling).
"""

from __future__ import annotations

from datetime import date

from arrears.domain.compliance.packs import RulePack, parse_pack

ZONE = "Asia/Shanghai"
DAILY_CAP = 3
WEEK_CAP = 5
HOURS = (8, 21)


def _src() -> dict[str, str]:
    return {"instrument": "test instrument", "provision": "art. 1"}


def zz_pack(version: str = "1", daily: int = DAILY_CAP, week: int = WEEK_CAP) -> RulePack:
    """The ZZ pack, optionally with other caps (another 'version')."""
    return parse_pack(
        {
            "id": "ZZ",
            "version": version,
            "applies_to": ["ZZ"],
            "rules": [
                {
                    "id": "ZZ.HOURS",
                    "type": "contact_hours",
                    "kind": "house_policy",
                    "description": "calls 08-21",
                    "source": _src(),
                    "effective_from": date(2020, 1, 1),
                    "params": {"channels": ["call", "sms"], "start": "08:00", "end": "21:00"},
                },
                {
                    "id": "ZZ.DAILY",
                    "type": "daily_call_cap",
                    "kind": "house_policy",
                    "description": "3 calls a day",
                    "source": _src(),
                    "effective_from": date(2020, 1, 1),
                    "params": {"max_calls": daily, "counts": "attempts"},
                },
                {
                    "id": "ZZ.WEEK",
                    "type": "rolling_cap",
                    "kind": "house_policy",
                    "description": "5 calls in 7 days",
                    "source": _src(),
                    "effective_from": date(2020, 1, 1),
                    "params": {
                        "max": week,
                        "days": 7,
                        "channels": ["call"],
                        "counts": "attempts",
                        "per": "borrower",
                    },
                },
            ],
        },
        "tests/gate_packs.py",
    )


def no_holidays(_jurisdiction: str, _day: date) -> bool:
    return False
