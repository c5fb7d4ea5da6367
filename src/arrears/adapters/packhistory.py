"""Versioned rule packs: load a pack by ``ID@VERSION`` for replays.

The pack in force is ``rules/<ID>.yaml``. Every version that was ever in force is kept, read
only, as ``rules/history/<ID>@<VERSION>.yaml`` (copy the file there before changing a pack and
bumping its ``version``). ``ID@VERSION`` resolves to the current file when its version matches,
else to the history file. The history folder is not read by :func:`load_packs` (it globs
``rules/*.yaml`` only), so old versions never apply to live decisions.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from arrears.domain.compliance.packs import RulePack, RulePackError, parse_pack

HISTORY_DIR = "history"
_REF = re.compile(r"^(?P<id>[A-Za-z0-9][A-Za-z0-9_-]*)@(?P<version>[A-Za-z0-9][A-Za-z0-9._-]*)$")


def parse_ref(ref: str) -> tuple[str, str]:
    """Split ``ID@VERSION``.

    Raises
    ------
    ValueError
        If ``ref`` is not of that form.
    """
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"pack reference {ref!r} is not of the form ID@VERSION (e.g. CN@2026.1)")
    return m.group("id"), m.group("version")


def _load(path: Path) -> RulePack:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RulePackError(str(path), "", "", f"not valid YAML: {exc}") from None
    return parse_pack(data, str(path))


def available_versions(rules_dir: Path, pack_id: str) -> list[str]:
    """Versions of ``pack_id`` that can be loaded (current and history), sorted."""
    found: set[str] = set()
    current = rules_dir / f"{pack_id}.yaml"
    if current.is_file():
        with contextlib.suppress(RulePackError):
            found.add(_load(current).version)
    for p in (rules_dir / HISTORY_DIR).glob(f"{pack_id}@*.yaml"):
        found.add(p.stem.partition("@")[2])
    return sorted(found)


def load_pack_ref(rules_dir: Path, ref: str) -> RulePack:
    """Load pack ``ID@VERSION`` from ``rules_dir`` (current file or ``history/``).

    Raises
    ------
    ValueError
        For a malformed reference.
    RulePackError
        If that version is not kept (the message lists the versions that are), or the file is
        invalid or holds another id or version than its name says.
    """
    pack_id, version = parse_ref(ref)
    current = rules_dir / f"{pack_id}.yaml"
    if current.is_file():
        pack = _load(current)
        if pack.version == version:
            return pack
    path = rules_dir / HISTORY_DIR / f"{pack_id}@{version}.yaml"
    if not path.is_file():
        kept = available_versions(rules_dir, pack_id)
        raise RulePackError(
            str(path),
            "",
            "version",
            f"no version {version} of pack {pack_id} is kept"
            + (f"; available: {', '.join(kept)}" if kept else f"; no pack {pack_id} at all"),
        )
    pack = _load(path)
    if (pack.id, pack.version) != (pack_id, version):
        raise RulePackError(
            str(path), "", "version", f"file holds {pack.ref}, its name says {pack_id}@{version}"
        )
    return pack


def substitute(packs: Sequence[RulePack], replacements: Sequence[RulePack]) -> list[RulePack]:
    """``packs`` with each pack replaced by the replacement of the same id (new ids added)."""
    by_id = {p.id: p for p in replacements}
    out = [by_id.pop(p.id, p) for p in packs]
    return out + list(by_id.values())
