"""Load rule packs from ``rules/*.yaml`` and public holidays from the ``holidays`` library."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from pathlib import Path

import holidays as holidays_lib
import yaml

from arrears.domain.compliance.packs import RulePack, RulePackError, parse_pack


def load_packs(folder: Path) -> list[RulePack]:
    """Load and validate every ``*.yaml`` pack in ``folder``.

    Raises
    ------
    RulePackError
        For a missing folder, unreadable YAML, a bad pack, or two packs with the same id.
    """
    if not folder.is_dir():
        raise RulePackError(str(folder), "", "", "rule-pack folder not found")
    packs: list[RulePack] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RulePackError(str(path), "", "", f"not valid YAML: {exc}") from None
        pack = parse_pack(data, str(path))
        if pack.id in seen:
            raise RulePackError(
                str(path), "", "id", f"pack {pack.id} also defined in {seen[pack.id]}"
            )
        seen[pack.id] = str(path)
        packs.append(pack)
    if not packs:
        raise RulePackError(str(folder), "", "", "no rule packs (*.yaml) found")
    return packs


def packs_digest(folder: Path) -> str:
    """SHA-256 over the pack files (name and bytes), to record which rules a run used."""
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.yaml")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


# holidays uses ISO country codes plus subdivisions; GB is "UK" in some versions, both work.
@lru_cache(maxsize=256)
def _calendar(country: str, subdiv: str | None, year: int) -> holidays_lib.HolidayBase | None:
    try:
        return holidays_lib.country_holidays(country, subdiv=subdiv, years=year)
    except (NotImplementedError, KeyError):
        if subdiv is not None:
            return _calendar(country, None, year)
        return None


def is_public_holiday(jurisdiction: str, day: date) -> bool:
    """True when ``day`` is a public holiday in ``jurisdiction`` (``US-MA`` uses MA's calendar).

    Unknown countries have no holidays (the caller's other rules still apply).
    """
    parts = jurisdiction.split("-")
    country = parts[0]
    subdiv = parts[1] if len(parts) > 1 else None
    cal = _calendar(country, subdiv, day.year)
    return cal is not None and day in cal


HolidayLookup = Callable[[str, date], bool]
