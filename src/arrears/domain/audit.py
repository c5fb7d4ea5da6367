"""The audit log: canonical JSON payloads, entry hashes and chain verification (pure).

Every gate decision (allowed or blocked), every recorded outcome and every replay is one audit
entry. The log is :data:`AUDIT_CHAINS` hash chains side by side; a borrower's entries all go
to one chain, :func:`chain_of` its id (entries with no borrower, such as replays, go to chain
0). Each entry has a ``seq`` unique across the whole log, increasing in the order entries were
written (on PostgreSQL it comes from a sequence, so a rolled-back transaction leaves a gap),
and is chained by SHA-256 to the entry before it *in its chain*::

    hash(e) = sha256_hex(prev_hash(e) + "|" + payload(e) + "|" + str(seq(e)) + "|" + at_text(e))
    prev_hash(e) = hash(previous entry of e's chain),  GENESIS_HASH ("0" * 64) for the first

where ``payload`` is canonical JSON (:func:`canonical_json`: sorted keys, no spaces, UTF-8)
and ``at_text`` the entry instant in UTC as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
(:func:`at_text`). The ``|`` separators make the concatenation unambiguous. Altering a
payload, an instant or a sequence number changes that entry's hash; removing, inserting,
moving or reordering entries breaks the ``prev_hash`` link of the next entry of the chain;
removing entries at the end of a chain is caught by that chain's head (its last ``seq`` and
``hash``, kept apart from the entries). A writer who rewrites a whole chain *and* its head is
not caught by the chain alone: record the heads outside the database from time to time
(anchors, :attr:`ChainReport.heads`) and pass them to the verifier.

Why several chains: a single chain makes every writer of the log queue for its one head,
holding it across the commit's WAL flush; with chains by borrower, writers on different
borrowers (already serialised per borrower by the gate) rarely meet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
AUDIT_KINDS = ("decision", "outcome", "replay")
#: Number of hash chains of the audit log (chains 0 .. AUDIT_CHAINS - 1). Changing it needs a
#: migration that creates the new chain heads; existing entries stay valid where they are.
AUDIT_CHAINS = 64


class AuditHeadMissing(RuntimeError):
    """An audit chain has no head row (deleted behind arrears' back): nothing was written;
    ``arrears audit verify`` reports the chain."""


def chain_of(borrower_id: str | None) -> int:
    """The chain a borrower's entries go to: the first 4 bytes of SHA-256 of the UTF-8 id,
    big-endian, modulo :data:`AUDIT_CHAINS`; 0 for entries without a borrower.

    The same formula in SQL (used by the benchmark's pgbench script)::

        ('x' || left(encode(sha256(convert_to(id, 'UTF8')), 'hex'), 8))::bit(32)::bigint % 64
    """
    if borrower_id is None:
        return 0
    digest = hashlib.sha256(borrower_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % AUDIT_CHAINS


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
        Identifies the entry in the whole log, from 1, increasing in write order (gaps
        possible).
    at : datetime
        When it was written (UTC-aware).
    kind : str
        ``decision``, ``outcome`` or ``replay``.
    borrower_id : str or None
        The borrower concerned (None for a replay).
    payload : str
        Canonical JSON text.
    prev_hash, hash : str
        64 hex characters each; ``prev_hash`` is the hash of the previous entry of the chain.
    chain : int
        The chain it belongs to (0 .. AUDIT_CHAINS - 1).
    """

    seq: int
    at: datetime
    kind: str
    borrower_id: str | None
    payload: str
    prev_hash: str
    hash: str
    chain: int = 0

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
        True when every entry and every chain head check out.
    entries : int
        Entries examined.
    first_bad_seq : int or None
        Sequence number of the first entry found wrong (for entries removed from the end of a
        chain: the last sequence number its head records).
    reason : str
        Why it is wrong ("" when ok).
    head_seq : int
        Sequence number of the last entry read (0 for an empty log).
    head_hash : str
        Hash of that entry.
    heads : dict of int to (int, str)
        Per non-empty chain, its last entry's (seq, hash) as recomputed: the values to anchor
        outside the database (``arrears audit verify --anchor SEQ:HASH``).
    """

    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str
    head_seq: int
    head_hash: str
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)


def verify_chain(
    entries: Iterable[AuditEntry],
    heads: Mapping[int, tuple[int, str]] | None,
    anchors: Mapping[int, str] | None = None,
    *,
    chains: int | None = None,
) -> ChainReport:
    """Recompute every chain and report the first entry that is altered, missing or out of
    place.

    Parameters
    ----------
    entries : iterable of AuditEntry
        Every stored entry in ascending ``seq`` order (as the database returns them), all
        chains interleaved.
    heads : mapping of int to (int, str), or None
        Each chain's head as stored (last seq and its hash; a chain absent from the mapping
        counts as empty). None skips the end-of-chain checks.
    anchors : mapping of int to str, optional
        Hashes recorded elsewhere for some sequence numbers; each must match.
    chains : int, optional
        When given, chains 0 .. chains - 1 must each have a head in ``heads`` (the ledger
        creates them all, migration 0006): a missing head means the chain's head row was
        deleted, perhaps with every entry of the chain.

    Returns
    -------
    ChainReport
        ``ok`` False names the first bad sequence number and the reason.
    """
    anchors = dict(anchors or {})
    tips: dict[int, tuple[int, str]] = {}  # chain -> (seq, hash) of its last entry so far
    last_seq, last_hash, count = 0, GENESIS_HASH, 0

    def bad(seq: int, reason: str) -> ChainReport:
        return ChainReport(False, count, seq, reason, last_seq, last_hash, dict(tips))

    for e in entries:
        count += 1
        if e.seq <= last_seq:
            return bad(e.seq, f"entry {e.seq} appears out of order after {last_seq}")
        if not 0 <= e.chain < AUDIT_CHAINS:
            return bad(e.seq, f"entry {e.seq} names chain {e.chain}, which does not exist")
        tip_seq, tip_hash = tips.get(e.chain, (0, GENESIS_HASH))
        if e.prev_hash != tip_hash:
            before = f"entry {tip_seq}" if tip_seq else "the start of the chain"
            return bad(
                e.seq,
                f"prev_hash does not match the hash of the entry before it in chain {e.chain} "
                f"({before}): an entry between them is missing, or entries were inserted, "
                "moved or reordered",
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
        tips[e.chain] = (e.seq, e.hash)
        last_seq, last_hash = e.seq, e.hash
    if anchors:
        missing = min(anchors)
        return bad(missing, f"anchored entry {missing} is not in the log: entries removed")
    if heads is not None:
        missing_heads = sorted(set(range(chains or 0)) - set(heads))
        if missing_heads:
            chain = missing_heads[0]
            return bad(
                tips.get(chain, (0, ""))[0] or last_seq,
                f"chain {chain} has no head row: the head, and perhaps every entry of the "
                "chain, was deleted",
            )
        for chain in sorted(set(heads) | set(tips)):
            stored = heads.get(chain, (0, GENESIS_HASH))
            found = tips.get(chain, (0, GENESIS_HASH))
            if stored != found:
                return bad(
                    max(stored[0], found[0]),
                    f"chain {chain} ends at entry {found[0]} but its head records entry "
                    f"{stored[0]}: entries removed from the end, or the head was altered",
                )
    return ChainReport(True, count, None, "", last_seq, last_hash, dict(tips))
