"""Replay: re-judge the recorded gate decisions of a period under other rule-pack versions.

The answer to "what does this new regulation change for us?". Each recorded decision (an audit
entry of kind ``decision``: the attempt, the borrower state as it was, the decision) is
evaluated again with the replacement packs, against the history that existed when it was
taken. Knock-on effects are not simulated: if the new packs would have blocked contact 3, the
replay of contact 4 still sees contact 3 (it happened). The replay itself is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from arrears.domain.audit import AuditEntry, canonical_json
from arrears.domain.compliance.check import HolidayLookup
from arrears.domain.compliance.engine import Attempt, PastContact, evaluate
from arrears.domain.compliance.packs import RulePack
from arrears.domain.ports import Clock, GateUnitOfWork
from arrears.services.gate import attempt_from_dict, borrower_from_dict

HistoryAsOf = Callable[[AuditEntry, Attempt], Sequence[PastContact]]
"""``(decision entry, attempt) -> the borrower's history when that decision was taken``."""


@dataclass(frozen=True, slots=True)
class ReplayChange:
    """One recorded decision whose answer differs under the replayed packs."""

    seq: int
    borrower_id: str
    channel: str
    at: datetime
    was_allowed: bool
    now_allowed: bool
    was_rule_ids: tuple[str, ...]
    now_rule_ids: tuple[str, ...]
    now_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """Summary of a replay.

    Attributes
    ----------
    start, end : date
        Period replayed (attempt dates, UTC, inclusive).
    pack_refs : tuple of str
        Packs the decisions were re-judged with (``id@version``).
    decisions : int
        Recorded decisions in the period.
    now_blocked : list of ReplayChange
        Allowed then, blocked under the replayed packs.
    now_allowed : list of ReplayChange
        Blocked then, allowed under the replayed packs.
    audit_seq : int or None
        Audit entry recording the replay (None when not recorded).
    """

    start: date
    end: date
    pack_refs: tuple[str, ...]
    decisions: int
    now_blocked: list[ReplayChange] = field(default_factory=list)
    now_allowed: list[ReplayChange] = field(default_factory=list)
    audit_seq: int | None = None

    @property
    def unchanged(self) -> int:
        """Decisions with the same answer."""
        return self.decisions - len(self.now_blocked) - len(self.now_allowed)


def replay_decisions(
    entries: Iterable[AuditEntry],
    start: date,
    end: date,
    packs: Sequence[RulePack],
    is_holiday: HolidayLookup,
    history_as_of: HistoryAsOf,
) -> ReplayReport:
    """Re-evaluate every decision entry whose attempt falls on ``start`` .. ``end`` (UTC dates).

    Raises
    ------
    ValueError
        If ``end`` is before ``start`` or a decision payload cannot be read.
    """
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    lo = datetime.combine(start, time(0), tzinfo=UTC)
    report = ReplayReport(start, end, tuple(p.ref for p in packs), 0)
    count = 0
    for e in entries:
        if e.kind != "decision":
            continue
        data = e.data()
        try:
            attempt = attempt_from_dict(data["attempt"])
            borrower = borrower_from_dict(data["borrower"])
            was = data["decision"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"audit entry {e.seq}: unreadable decision payload ({exc})") from None
        if not (lo <= attempt.at and attempt.at.astimezone(UTC).date() <= end):
            continue
        count += 1
        now = evaluate(attempt, history_as_of(e, attempt), borrower, packs, is_holiday)
        if now.allowed == bool(was["allowed"]):
            continue
        change = ReplayChange(
            e.seq,
            attempt.borrower_id,
            attempt.channel,
            attempt.at,
            bool(was["allowed"]),
            now.allowed,
            tuple(was.get("rule_ids", ())),
            now.rule_ids,
            now.reasons,
        )
        (report.now_allowed if now.allowed else report.now_blocked).append(change)
    return ReplayReport(start, end, report.pack_refs, count, report.now_blocked, report.now_allowed)


def record_replay(
    report: ReplayReport, uow_factory: Callable[[], GateUnitOfWork], clock: Clock
) -> ReplayReport:
    """Append the replay to the audit log (kind ``replay``); return the report with its seq."""
    payload = canonical_json(
        {
            "from": report.start.isoformat(),
            "to": report.end.isoformat(),
            "packs": list(report.pack_refs),
            "decisions": report.decisions,
            "now_blocked": [c.seq for c in report.now_blocked],
            "now_allowed": [c.seq for c in report.now_allowed],
        }
    )
    with uow_factory() as uow:
        seq = uow.audit.append("replay", None, payload, clock.now())
        uow.commit()
    return ReplayReport(
        report.start,
        report.end,
        report.pack_refs,
        report.decisions,
        report.now_blocked,
        report.now_allowed,
        seq,
    )
