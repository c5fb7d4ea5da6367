"""The audit chain (pure): hashing, canonical payloads, and what verify_chain catches."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from arrears.domain.audit import (
    AUDIT_CHAINS,
    GENESIS_HASH,
    AuditEntry,
    at_text,
    canonical_json,
    chain_of,
    entry_hash,
    verify_chain,
)

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def chain(n: int) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        payload = canonical_json({"n": seq, "who": f"B{seq % 3}", "text": "催收 ok"})
        at = T0 + timedelta(seconds=seq)
        h = entry_hash(prev, payload, seq, at)
        out.append(AuditEntry(seq, at, "decision", f"B{seq % 3}", payload, prev, h))
        prev = h
    return out


def head(entries: list[AuditEntry]) -> dict[int, tuple[int, str]]:
    """Each chain's last (seq, hash), as ``audit_head`` would hold them."""
    return {e.chain: (e.seq, e.hash) for e in entries}


def test_hash_formula_is_the_documented_one() -> None:
    # independent re-computation of the documented formula
    text = f"{GENESIS_HASH}|{{}}|1|2026-03-01T02:00:00.000000Z"
    assert entry_hash(GENESIS_HASH, "{}", 1, T0) == hashlib.sha256(text.encode()).hexdigest()
    # the same instant in another offset hashes the same
    plus8 = T0.astimezone(timezone(timedelta(hours=8)))
    assert at_text(plus8) == "2026-03-01T02:00:00.000000Z"
    with pytest.raises(ValueError, match="naive"):
        at_text(datetime(2026, 3, 1))


def test_canonical_json_sorts_keys_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_intact_chain_verifies() -> None:
    entries = chain(10)
    report = verify_chain(entries, head(entries))
    assert report.ok and report.entries == 10 and report.first_bad_seq is None
    assert report.head_seq == 10 and report.head_hash == entries[-1].hash
    assert verify_chain([], {0: (0, GENESIS_HASH)}).ok
    assert verify_chain([], {}).ok


def test_altered_payload_is_found() -> None:
    entries = chain(6)
    e = entries[3]
    entries[3] = replace(e, payload=e.payload.replace('"n":4', '"n":5'))
    report = verify_chain(entries, head(entries))
    assert not report.ok and report.first_bad_seq == 4
    assert "hash does not match" in report.reason


def test_non_canonical_payload_is_found() -> None:
    entries = chain(3)
    entries[1] = replace(entries[1], payload=entries[1].payload.replace(",", ", "))
    report = verify_chain(entries, head(entries))
    assert (report.ok, report.first_bad_seq) == (False, 2)
    assert "canonical" in report.reason


def test_altered_time_is_found() -> None:
    entries = chain(4)
    entries[2] = replace(entries[2], at=entries[2].at + timedelta(microseconds=1))
    report = verify_chain(entries, head(entries))
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_removed_entry_is_found() -> None:
    entries = chain(6)
    del entries[2]
    report = verify_chain(entries, head(entries))
    assert (report.ok, report.first_bad_seq) == (False, 4)  # whose link now points nowhere
    assert "missing" in report.reason


def test_removed_entry_with_renumbering_is_found() -> None:
    entries = chain(6)
    del entries[2]
    entries = [replace(e, seq=i + 1) for i, e in enumerate(entries)]
    report = verify_chain(entries, head(entries))
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_swapped_entries_are_found() -> None:
    entries = chain(6)
    a, b = entries[2], entries[3]
    entries[2], entries[3] = replace(b, seq=3), replace(a, seq=4)
    report = verify_chain(entries, head(entries))
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "prev_hash" in report.reason


def test_out_of_order_rows_are_found() -> None:
    entries = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    report = verify_chain(entries, head(entries))
    assert not report.ok and report.first_bad_seq == 3  # read before entry 2, out of place


def test_removed_tail_is_found_through_the_head() -> None:
    entries = chain(6)
    stored_head = head(entries)
    report = verify_chain(entries[:4], stored_head)
    assert (report.ok, report.first_bad_seq) == (False, 6)  # the entry the head records
    assert "head" in report.reason


def test_rewritten_chain_is_caught_by_an_anchor() -> None:
    entries = chain(5)
    anchor = {3: entries[2].hash}
    # an attacker rewrites entry 3 and re-hashes everything after it, head included
    forged: list[AuditEntry] = entries[:2]
    prev = entries[1].hash
    for e in entries[2:]:
        payload = e.payload.replace("ok", "KO") if e.seq == 3 else e.payload
        h = entry_hash(prev, payload, e.seq, e.at)
        forged.append(replace(e, payload=payload, prev_hash=prev, hash=h))
        prev = h
    assert verify_chain(forged, head(forged)).ok  # undetectable without an anchor
    report = verify_chain(forged, head(forged), anchor)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "anchor" in report.reason
    assert verify_chain(entries, head(entries), anchor).ok


# --- several chains ---------------------------------------------------------------------------


def chains(borrowers: list[str], n: int, first_seq: int = 1, step: int = 1) -> list[AuditEntry]:
    """``n`` entries cycling over ``borrowers``, each in its borrower's chain, seqs from
    ``first_seq`` every ``step`` (gaps as PostgreSQL's sequence leaves them)."""
    out: list[AuditEntry] = []
    tips: dict[int, str] = {}
    for k in range(n):
        seq, who = first_seq + k * step, borrowers[k % len(borrowers)]
        c = chain_of(who)
        prev = tips.get(c, GENESIS_HASH)
        payload = canonical_json({"k": k, "who": who})
        at = T0 + timedelta(seconds=k)
        h = entry_hash(prev, payload, seq, at)
        out.append(AuditEntry(seq, at, "decision", who, payload, prev, h, c))
        tips[c] = h
    return out


# Borrower ids in three different chains (checked below, so the tests mean what they say).
THREE = ["B1", "B2", "B4"]


def test_chain_of_is_stable_and_spreads_borrowers() -> None:
    assert len({chain_of(b) for b in THREE}) == 3
    assert chain_of(None) == 0
    # the documented formula, recomputed independently
    digest = hashlib.sha256("借款人-7".encode()).hexdigest()
    assert chain_of("借款人-7") == int(digest[:8], 16) % AUDIT_CHAINS
    used = {chain_of(f"B{i:06d}") for i in range(2000)}
    assert used == set(range(AUDIT_CHAINS))


def test_interleaved_chains_with_gaps_verify() -> None:
    entries = chains(THREE, 12, first_seq=5, step=3)
    report = verify_chain(entries, head(entries))
    assert report.ok and report.entries == 12
    assert set(report.heads) == {chain_of(b) for b in THREE}
    assert report.head_seq == entries[-1].seq


def test_entry_removed_from_one_chain_is_found_at_that_chains_next_entry() -> None:
    entries = chains(THREE, 9)
    removed = entries.pop(4)  # B2's second entry; B2's third is entries[6] after the pop
    report = verify_chain(entries, head(entries))
    assert (report.ok, report.first_bad_seq) == (False, removed.seq + 3)
    assert f"chain {removed.chain}" in report.reason


def test_entry_moved_to_another_chain_is_found() -> None:
    entries = chains(THREE, 9)
    entries[4] = replace(entries[4], chain=entries[3].chain)
    report = verify_chain(entries, head(entries))
    assert (report.ok, report.first_bad_seq) == (False, entries[4].seq)
    assert "prev_hash" in report.reason


def test_tail_removed_from_one_chain_is_found_through_its_head() -> None:
    entries = chains(THREE, 9)
    stored = head(entries)
    last_b4 = entries.pop(8)  # the last entry overall, B4's
    report = verify_chain(entries, stored)
    assert (report.ok, report.first_bad_seq) == (False, last_b4.seq)
    assert f"chain {last_b4.chain}" in report.reason
    # removing a whole chain, head kept, is found too
    only_b1 = [e for e in chains(THREE, 9) if e.borrower_id == "B1"]
    report = verify_chain(only_b1, stored)
    assert not report.ok and "head" in report.reason


def test_a_chain_whose_head_row_is_gone_is_found_when_every_chain_must_have_one() -> None:
    entries = chains(THREE, 9)
    heads = {c: (0, GENESIS_HASH) for c in range(AUDIT_CHAINS)} | head(entries)
    assert verify_chain(entries, heads, chains=AUDIT_CHAINS).ok
    # an attacker deletes every entry of B2's chain and its head row
    gone = chain_of("B2")
    kept = [e for e in entries if e.chain != gone]
    without = {c: h for c, h in heads.items() if c != gone}
    assert verify_chain(kept, without).ok  # undetectable without knowing the chains
    report = verify_chain(kept, without, chains=AUDIT_CHAINS)
    assert not report.ok and f"chain {gone} has no head row" in report.reason
    # an unused chain's head row deleted is found too
    idle = next(c for c in range(AUDIT_CHAINS) if c not in head(entries))
    report = verify_chain(entries, {c: h for c, h in heads.items() if c != idle}, chains=64)
    assert not report.ok and f"chain {idle}" in report.reason


def test_unknown_chain_and_duplicate_seq_are_refused() -> None:
    entries = chains(THREE, 3)
    bad_chain = [*entries[:2], replace(entries[2], chain=AUDIT_CHAINS)]
    assert "does not exist" in verify_chain(bad_chain, None).reason
    duplicated = [*entries, replace(entries[2], seq=entries[2].seq)]
    report = verify_chain(duplicated, None)
    assert not report.ok and "out of order" in report.reason
