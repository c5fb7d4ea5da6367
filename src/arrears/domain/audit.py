"""The audit chain: canonical JSON payloads, entry hashes and chain verification (pure).

Every gate decision (allowed or blocked), every recorded outcome and every replay is one audit
entry. Entries are numbered ``seq`` = 1, 2, 3, ... without gaps and chained by SHA-256::

    hash(n) = sha256_hex(prev_hash(n) + "|" + payload(n) + "|" + str(n) + "|" + at_text(n))
    prev_hash(n) = hash(n - 1),   prev_hash(1) = GENESIS_HASH ("0" * 64)

where ``payload`` is canonical JSON (:func:`canonical_json`: sorted keys, no spaces, UTF-8)
and ``at_text`` the entry instant in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(:func:`at_text`). The ``|`` separators make the concatenation unambiguous. Altering a
payload, an instant or a sequence number changes that entry's hash; removing, inserting or
reordering entries breaks the ``prev_hash`` links or the numbering; removing entries at the
end is caught by the chain head (the last ``seq`` and ``hash``, kept apart from the entries).
A writer who rewrites the whole chain *and* the head is not caught by the chain alone: record
the head hash outside the database from time to time (an anchor) and pass it to the verifier.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
AUDIT_KINDS = ("decision", "outcome", "replay")


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Serialise ``payload`` canonically: sorted keys, ``,``/``:`` separators, UTF-8 kept.

    Raises
    ------
    TypeError
        If the payload holds something JSON cannot represent (convert datetimes to text first).
    ValueError
        For NaN or infinite floats (not allowed in an audit record).
    """
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)  # fmt: skip


def at_text(at: datetime) -> str:
    """The instant as hashed: UTC, microseconds always present, ``Z`` suffix.

    Raises
    ------
    ValueError
        If ``at`` is naive.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()} refused in the audit log")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, payload: str, seq: int, at: datetime) -> str:
    """SHA-256 (hex) of one entry, chained to ``prev_hash`` (see the module docstring)."""
    text = f"{prev_hash}|{payload}|{seq}|{at_text(at)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored audit entry.

    Attributes
    ----------
    seq : int
        Position in the chain, from 1, without gaps.
    at : datetime
        When it was written (UTC-aware).
    kind : str
        ``decision``, ``outcome`` or ``replay``.
    borrower_id : str or None
        The borrower concerned (None for a replay).
    payload : str
        Canonical JSON text.
    prev_hash, hash : str
        64 hex characters each.
    """

    seq: int
    at: datetime
    kind: str
    borrower_id: str | None
    payload: str
    prev_hash: str
    hash: str

    def data(self) -> dict[str, Any]:
        """The payload parsed from JSON."""
        parsed = json.loads(self.payload)
        if not isinstance(parsed, dict):
            raise ValueError(f"audit entry {self.seq}: payload is not a JSON object")
        return parsed


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of :func:`verify_chain`.

    Attributes
    ----------
    ok : bool
        True when every entry and the head check out.
    entries : int
        Entries examined.
    first_bad_seq : int or None
        Sequence number of the first entry found wrong (for a problem at the end of the
        chain: the first missing sequence number).
    reason : str
        Why it is wrong ("" when ok).
    head_seq : int
        Last sequence number of the chain as stored.
    head_hash : str
        Hash of the last entry (the value to anchor outside the database).
    """

    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str
    head_seq: int
    head_hash: str


def verify_chain(
    entries: Iterable[AuditEntry],
    head: tuple[int, str] | None,
    anchors: Mapping[int, str] | None = None,
) -> ChainReport:
    """Recompute the chain and report the first entry that is altered, missing or out of place.

    Parameters
    ----------
    entries : iterable of AuditEntry
        Every stored entry in ascending ``seq`` order (as the database returns them).
    head : (int, str) or None
        The chain head as stored (last seq and its hash); None skips the end-of-chain check.
    anchors : mapping of int to str, optional
        Hashes recorded elsewhere for some sequence numbers; each must match.

    Returns
    -------
    ChainReport
        ``ok`` False names the first bad sequence number and the reason.
    """
    anchors = dict(anchors or {})
    prev_hash, expected, count = GENESIS_HASH, 1, 0

    def bad(seq: int, reason: str) -> ChainReport:
        return ChainReport(False, count, seq, reason, expected - 1, prev_hash)

    for e in entries:
        count += 1
        if e.seq != expected:
            if e.seq > expected:
                return bad(
                    expected,
                    f"entry {expected} is missing (next stored entry is {e.seq}): "
                    "removed or renumbered",
                )
            return bad(e.seq, f"entry {e.seq} appears out of order after {expected - 1}")
        if e.prev_hash != prev_hash:
            return bad(
                e.seq,
                f"prev_hash does not match the hash of entry {e.seq - 1}: an entry before it "
                "was removed, inserted or reordered",
            )
        if e.kind not in AUDIT_KINDS:
            return bad(e.seq, f"unknown kind {e.kind!r}")
        try:
            canonical = canonical_json(json.loads(e.payload))
        except (ValueError, TypeError):
            return bad(e.seq, "payload is not valid JSON")
        if canonical != e.payload:
            return bad(e.seq, "payload is not in canonical form: it was rewritten")
        if entry_hash(e.prev_hash, e.payload, e.seq, e.at) != e.hash:
            return bad(
                e.seq, "hash does not match the entry's content: payload, seq or time altered"
            )
        if e.seq in anchors and anchors.pop(e.seq) != e.hash:
            return bad(e.seq, "hash differs from the anchor recorded outside the database")
        prev_hash, expected = e.hash, expected + 1
    last = expected - 1
    if anchors:
        missing = min(anchors)
        return bad(missing, f"anchored entry {missing} is not in the log: entries removed")
    if head is not None:
        head_seq, head_hash = head
        if head_seq != last or head_hash != prev_hash:
            first = min(head_seq, last) + 1 if head_seq != last else last
            return bad(
                first,
                f"the chain ends at entry {last} but its head records entry {head_seq}: "
                "entries removed from the end, or the head was altered",
            )
    return ChainReport(True, count, None, "", last, prev_hash)
