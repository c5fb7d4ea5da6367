"""Read the agent team from ``agents.csv`` or ``agents.yaml`` (see ``docs/outputs.md``).

CSV columns (header row, UTF-8): ``agent_id, languages, buckets, minutes_per_day, shifts``;
``languages``, ``buckets`` and ``shifts`` are ``|``-separated (``zh-TW|en-US``,
``M2|M3``, ``01:00-05:00|06:00-10:00``); an empty ``buckets`` means every bucket. YAML: a list
of mappings with the same keys, where lists may be YAML lists.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from arrears.domain.agents import Agent, AgentError, parse_shift

AGENT_FIELDS = ("agent_id", "languages", "buckets", "minutes_per_day", "shifts")


class AgentFileError(ValueError):
    """A bad agents file: names the file, the line (CSV) or entry (YAML), the field and why."""

    def __init__(self, path: Path, where: str, field: str, reason: str) -> None:
        self.path, self.where, self.field, self.reason = path, where, field, reason
        super().__init__(f"{path}, {where}, field {field!r}: {reason}")


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split("|") if v.strip()]
    if isinstance(value, Sequence):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _agent(row: Mapping[str, Any], path: Path, where: str) -> Agent:
    unknown = sorted(set(row) - set(AGENT_FIELDS))
    if unknown:
        raise AgentFileError(path, where, unknown[0], "unknown field")
    for f in ("agent_id", "languages", "minutes_per_day", "shifts"):
        if row.get(f) in (None, "", []):
            raise AgentFileError(path, where, f, "is required")
    raw_minutes = row["minutes_per_day"]
    try:
        minutes = int(str(raw_minutes).strip())
    except ValueError:
        raise AgentFileError(
            path, where, "minutes_per_day", f"not a whole number: {raw_minutes!r}"
        ) from None
    try:
        shifts = tuple(parse_shift(s) for s in _split(row["shifts"]))
        return Agent(
            agent_id=str(row["agent_id"]).strip(),
            languages=frozenset(_split(row["languages"])),
            buckets=frozenset(_split(row.get("buckets"))),
            minutes=minutes,
            shifts=shifts,
        )
    except AgentError as exc:
        raise AgentFileError(path, where, exc.field, exc.reason) from None


def load_agents(path: Path) -> list[Agent]:
    """Load and validate an agents file (``.csv``, ``.yaml`` or ``.yml``).

    Returns
    -------
    list of Agent
        In file order.

    Raises
    ------
    AgentFileError
        For a missing file, an unknown extension, a missing column, a bad value (with the line
        or entry and the field), a repeated ``agent_id`` or an empty team.
    """
    if not path.is_file():
        raise AgentFileError(path, "file", "", "not found")
    agents: list[Agent] = []
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [f for f in AGENT_FIELDS if f not in (reader.fieldnames or [])]
            if missing:
                raise AgentFileError(path, "line 1", missing[0], "column missing from the header")
            for i, row in enumerate(reader):
                agents.append(_agent(row, path, f"line {i + 2}"))
    elif suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise AgentFileError(path, "file", "", f"not valid YAML: {exc}") from None
        if isinstance(data, Mapping) and "agents" in data:
            data = data["agents"]
        if not isinstance(data, list):
            raise AgentFileError(path, "file", "agents", "must be a list of agents")
        for i, row in enumerate(data):
            if not isinstance(row, Mapping):
                raise AgentFileError(path, f"entry {i + 1}", "", "each agent must be a mapping")
            agents.append(_agent(row, path, f"entry {i + 1}"))
    else:
        raise AgentFileError(path, "file", "", "use a .csv, .yaml or .yml file")
    seen: set[str] = set()
    for i, a in enumerate(agents):
        if a.agent_id in seen:
            where = f"line {i + 2}" if suffix == ".csv" else f"entry {i + 1}"
            raise AgentFileError(path, where, "agent_id", f"{a.agent_id!r} appears twice")
        seen.add(a.agent_id)
    if not agents:
        raise AgentFileError(path, "file", "", "no agents")
    return agents


def write_agents_csv(agents: Sequence[Agent], path: Path) -> None:
    """Write ``agents`` in the CSV format :func:`load_agents` reads."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(AGENT_FIELDS)
        for a in agents:
            w.writerow(
                [
                    a.agent_id,
                    "|".join(sorted(a.languages)),
                    "|".join(sorted(a.buckets)),
                    a.minutes,
                    "|".join(str(s) for s in a.shifts),
                ]
            )
