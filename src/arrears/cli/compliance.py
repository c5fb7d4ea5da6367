"""Compliance commands: ``explain``, ``replay``, ``audit verify``, ``contact attempt|outcome``.

Registered on the main app by :func:`register`. Exit codes: 0 done (and, for ``contact
attempt``, allowed; for ``audit verify``, the chain is intact), 1 blocked / chain broken,
2 an input mistake (message, no traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrears import bootstrap
from arrears.config import load_settings
from arrears.domain.audit import AuditHeadMissing
from arrears.domain.compliance.engine import Attempt, Decision
from arrears.domain.compliance.packs import RulePackError
from arrears.domain.compliance.records import DutyRow
from arrears.services.gate import OUTCOMES, ContactGate, GateError

EXIT_BLOCKED = 1
EXIT_INPUT = 2

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
contact_app = typer.Typer(
    help="Gated contacts: attempt one (for operations and demos), record its outcome.",
    no_args_is_help=True,
)

out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = EXIT_INPUT) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _instant(text: str | None, option: str) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{option} must be an ISO 8601 instant like 2026-03-02T10:00:00+08:00, got {text!r}")
        raise AssertionError from None
    if value.tzinfo is None:
        _fail(f"{option} {text!r} has no UTC offset: add one (e.g. +08:00 or Z)")
    return value.astimezone(UTC)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} must be a date YYYY-MM-DD, got {text!r}")
        raise AssertionError from None


def _when(at: datetime | None, zone: str | None) -> str:
    if at is None:
        return "not within 60 days (a hold or an opt-out does not lift by itself)"
    text = f"{at:%Y-%m-%d %H:%M}Z"
    if zone:
        from zoneinfo import ZoneInfo

        text += f" ({at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} {zone})"
    return text


def _print_decision(d: Decision, zone: str | None) -> None:
    verdict = "[green]ALLOWED[/]" if d.allowed else "[red]BLOCKED[/]"
    out.print(f"{verdict}  packs: {', '.join(d.pack_refs) or '-'}")
    for rid, why in zip(d.rule_ids, d.reasons, strict=False):
        out.print(f"  {escape(rid)}: {escape(why)}")
    if not d.allowed:
        out.print(f"  next allowed: {_when(d.next_allowed_at, zone)}")


def _hours(hours: tuple[time, time]) -> str:
    start, end = hours
    return f"{start:%H:%M}-{'24:00' if end == time(0) else format(end, '%H:%M')}"


def explain(
    borrower_id: Annotated[str, typer.Argument(help="Borrower id in the ledger")],
    at: Annotated[
        str | None, typer.Option("--at", help="Instant, ISO 8601 with offset (default: now)")
    ] = None,
    purpose: Annotated[
        str, typer.Option(help="collection, support, validation_notice, legal_notice, locate")
    ] = "collection",
) -> None:
    """Show, channel by channel, what the gate allows now, what is blocked and why, and when it
    opens. Nothing is reserved or audited."""
    when = _instant(at, "--at")
    settings = load_settings()
    try:
        with bootstrap.open_gate(settings) as handle:
            state, answers = bootstrap.explain_borrower(handle, borrower_id, when, purpose=purpose)
            consent_taken = bootstrap.consent_is_taken(handle, state)
    except (LookupError, RulePackError, ValueError) as exc:
        _fail(str(exc))
        return
    zone = state.timezone
    out.print(
        f"[bold]{escape(borrower_id)}[/] at {_when(when, zone)}: jurisdiction "
        f"{state.jurisdiction}, zone {zone or 'unknown'}, flags "
        f"{', '.join(sorted(state.flags)) or 'none'}, opted out of "
        f"{', '.join(sorted(state.opted_out)) or 'nothing'}"
        + (
            f", agreed to contact hours {_hours(state.consent_hours)}"
            if state.consent_hours
            else ""
        )
        + "".join(
            f", agreed to {c} hours {_hours((start, end))}"
            for c, start, end in state.consent_by_channel
        )
        + (
            " (not used here: no rule of the borrower's packs lets agreed hours replace its "
            "window; only CN's night rule does)"
            if (state.consent_hours or state.consent_by_channel) and not consent_taken
            else ""
        )
        + (
            f"; lender regulated in {', '.join(state.lender_jurisdictions)}"
            if state.lender_jurisdictions
            else ""
        )
    )
    for channel, d in answers:
        if d.allowed:
            out.print(f"  {channel:<9} [green]allowed[/]")
            continue
        out.print(
            f"  {channel:<9} [red]blocked[/] by {escape(', '.join(d.rule_ids))}; opens "
            f"{_when(d.next_allowed_at, zone)}",
            highlight=False,
        )
        for why in d.reasons:
            out.print(f"            {escape(why)}", highlight=False)


def replay(
    start: Annotated[str, typer.Option("--from", help="First attempt date, YYYY-MM-DD (UTC)")],
    end: Annotated[str, typer.Option("--to", help="Last attempt date, YYYY-MM-DD (UTC)")],
    packs: Annotated[
        str, typer.Option("--packs", help="PACK@VERSION[,PACK@VERSION...] to swap in")
    ],
    limit: Annotated[int, typer.Option(help="Changed decisions to list")] = 50,
) -> None:
    """Re-judge the recorded decisions of a period under other pack versions and report what
    would have been blocked or allowed differently (the replay is audited)."""
    d0, d1 = _date(start, "--from"), _date(end, "--to")
    refs = [r.strip() for r in packs.split(",") if r.strip()]
    if not refs:
        _fail("--packs needs at least one PACK@VERSION")
    settings = load_settings()
    try:
        report = bootstrap.replay_period(settings, d0, d1, refs)
    except (ValueError, RulePackError) as exc:
        _fail(str(exc))
        return
    out.print(
        f"Replayed {report.decisions:,} decision(s) of {report.start}..{report.end} with "
        f"{', '.join(report.pack_refs)} (audit entry {report.audit_seq})."
    )
    out.print(f"  unchanged: {report.unchanged:,}")
    out.print(f"  allowed then, blocked now: {len(report.now_blocked):,}")
    out.print(f"  blocked then, allowed now: {len(report.now_allowed):,}")
    changes = report.now_blocked + report.now_allowed
    if changes:
        t = Table()
        for col in ("audit seq", "borrower", "channel", "at (UTC)", "then", "now", "rules now"):
            t.add_column(col)
        for c in changes[:limit]:
            t.add_row(
                str(c.seq),
                escape(c.borrower_id),
                c.channel,
                f"{c.at:%Y-%m-%d %H:%M}",
                "allowed" if c.was_allowed else "blocked",
                "allowed" if c.now_allowed else "blocked",
                escape(", ".join(c.now_rule_ids)),
            )
        out.print(t)


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[str] | None,
        typer.Option(help="SEQ:HASH recorded outside the database (repeatable)"),
    ] = None,
    print_anchors: Annotated[
        bool,
        typer.Option(
            "--print-anchors", help="Also print each chain's last SEQ:HASH, to keep elsewhere"
        ),
    ] = False,
) -> None:
    """Recompute the audit log's hash chains; report the first altered, removed or reordered
    entry."""
    anchors: dict[int, str] = {}
    for a in anchor or []:
        seq, _, digest = a.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            _fail(f"--anchor must be SEQ:HASH (64 hex characters), got {a!r}")
        anchors[int(seq)] = digest.lower()
    report = bootstrap.verify_audit(load_settings(), anchors)
    if report.ok:
        out.print(
            f"audit chain OK: {report.entries:,} entries in {len(report.heads)} chains, "
            f"last entry {report.head_seq} {report.head_hash}",
            highlight=False,
            soft_wrap=True,
        )
        if print_anchors:
            for _chain, (last_seq, last_hash) in sorted(report.heads.items()):
                out.print(f"{last_seq}:{last_hash}", highlight=False, soft_wrap=True)
        return
    err.print(
        f"[bold red]audit chain BROKEN[/] at entry {report.first_bad_seq}: "
        f"{escape(report.reason)} ({report.entries:,} entries read)",
        highlight=False,
    )
    raise typer.Exit(EXIT_BLOCKED)


@audit_app.command("recordings")
def audit_recordings(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Instant, ISO 8601 with offset (default: now)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Recording duties (rules of type record_keeping, e.g. TW.RECORDING.RETENTION): contacts
    that reached someone without a recording reference, and contacts past their time with no
    outcome (exit 1 when any); recordings whose keeping period has ended (they may be
    deleted)."""
    when = _instant(as_of, "--as-of")
    try:
        reg = bootstrap.recording_register(load_settings(), when)
    except RulePackError as exc:
        _fail(f"rule pack refused: {exc}")
        return
    if as_json:

        def row(r: DutyRow) -> dict[str, Any]:
            return {
                "reservation_id": r.reservation_id,
                "borrower_id": r.borrower_id,
                "channel": r.channel,
                "attempt_at": r.attempt_at.isoformat(),
                "outcome": r.outcome,
                "keep_until": r.keep_until.isoformat(),
                "recording_ref": r.recording_ref,
                "stored": r.stored,
            }

        out.print_json(
            data={
                "as_of": reg.as_of.isoformat(),
                "duties": reg.duties,
                "reached": reg.reached,
                "recorded": reg.recorded,
                "open": reg.open,
                "not_stored": reg.not_stored,
                "missing": [row(r) for r in reg.missing],
                "overdue": [row(r) for r in reg.overdue],
                "expired": [row(r) for r in reg.expired],
            }
        )
    else:
        out.print(
            f"recording duties on {_when(when, None)}: {reg.duties:,} contact(s); "
            f"{reg.reached:,} reached someone, {reg.recorded:,} with a recording, "
            f"{len(reg.missing):,} without; {reg.open:,} not yet made; "
            f"{len(reg.overdue):,} past their time with no outcome recorded; "
            f"{len(reg.expired):,} recording(s) past their keeping period (may be deleted "
            "unless something else holds them: an open complaint, a dispute, litigation)"
            + (
                f"; {reg.not_stored:,} duties found from the audit log, not stored on the row "
                "(reserved before migration 0009, or removed)"
                if reg.not_stored
                else ""
            ),
            highlight=False,
        )
        for title, rows in (
            ("missing a recording", reg.missing),
            ("no outcome recorded (record it, with its recording if it reached someone)",
             reg.overdue),
            ("may be deleted", reg.expired),
        ):  # fmt: skip
            if not rows:
                continue
            t = Table(title=title)
            for col in ("reservation", "borrower", "channel", "at", "outcome", "keep until"):
                t.add_column(col)
            t.add_column("recording")
            for r in rows:
                t.add_row(
                    str(r.reservation_id), escape(r.borrower_id), r.channel,
                    f"{r.attempt_at:%Y-%m-%d %H:%M}Z", r.outcome or "",
                    f"{r.keep_until:%Y-%m-%d %H:%M}Z", escape(r.recording_ref or ""),
                )  # fmt: skip
            out.print(t)
    if reg.missing or reg.overdue:
        raise typer.Exit(EXIT_BLOCKED)


#: Attempt fields and the ``contact attempt`` options that set them (for error messages).
_ATTEMPT_OPTIONS = {
    "channel": "--channel", "party": "--party", "purpose": "--purpose", "agency_id": "--agency",
    "staff_count": "--staff", "number": "--number", "account_id": "--account",
}  # fmt: skip


@contact_app.command("attempt")
def contact_attempt(
    borrower_id: Annotated[str, typer.Argument(help="Borrower id in the ledger")],
    channel: Annotated[str, typer.Option(help="call, sms, email, wechat, letter, app_push, visit")],
    at: Annotated[
        str | None, typer.Option("--at", help="Instant, ISO 8601 with offset (default: now)")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Account id")] = None,
    party: Annotated[str, typer.Option(help="borrower, lawyer, guarantor, third_party")] = (
        "borrower"
    ),
    purpose: Annotated[str, typer.Option(help="collection, locate, validation_notice, ...")] = (
        "collection"
    ),
    agency: Annotated[str, typer.Option(help="Agency making the contact")] = "lender",
    number: Annotated[str | None, typer.Option(help="Number dialled")] = None,
    staff: Annotated[int, typer.Option(help="Staff on a field visit")] = 1,
    workplace: Annotated[bool, typer.Option(help="The contact is at the workplace")] = False,
) -> None:
    """Ask the gate for one contact: prints the decision and, when allowed, the reservation id
    (exit 1 when blocked)."""
    when = _instant(at, "--at")
    try:
        attempt = Attempt(
            borrower_id,
            account,
            channel,
            when,
            party=party,
            purpose=purpose,
            agency_id=agency,
            to_workplace=workplace,
            staff_count=staff,
            number=number,
        )
    except ValueError as exc:
        # "Attempt.channel: 'fax' is not one of [...]" -> "--channel: 'fax' is not one of [...]"
        text = str(exc)
        for field, option in _ATTEMPT_OPTIONS.items():
            text = text.replace(f"Attempt.{field}:", f"{option}:")
        _fail(text)
        return
    settings = load_settings()
    try:
        with bootstrap.open_gate(settings) as handle:
            result = bootstrap.gate_attempt(handle, attempt)
            zone = bootstrap.borrower_state(handle, borrower_id, when)[0].timezone
    except (LookupError, GateError, RulePackError, AuditHeadMissing) as exc:
        _fail(str(exc))
        return
    _print_decision(result.decision, zone)
    out.print(f"audit entry: {result.audit_seq}")
    if result.reservation_id is None:
        raise typer.Exit(EXIT_BLOCKED)
    out.print(f"reservation: {result.reservation_id}")


def _on_gate(action: Callable[[ContactGate], int]) -> int:
    """Run one audited gate use case (outcome, recording, cancel) on the configured ledger and
    return its audit seq; a refusal is printed as one line (exit 2)."""
    try:
        with bootstrap.open_gate(load_settings()) as handle:
            return action(handle.gate)
    except (GateError, RulePackError, AuditHeadMissing) as exc:
        _fail(str(exc))
        raise AssertionError("unreachable: _fail exits") from exc


@contact_app.command("outcome")
def contact_outcome(
    reservation_id: Annotated[int, typer.Argument(help="Reservation id from `contact attempt`")],
    outcome: Annotated[str, typer.Option(help=", ".join(OUTCOMES))],
    conversation: Annotated[
        bool, typer.Option(help="A telephone conversation about the debt took place")
    ] = False,
    recording: Annotated[
        str | None,
        typer.Option(help="Reference of the call's recording (where a rule says keep it)"),
    ] = None,
) -> None:
    """Record the outcome of a reserved contact (audited)."""
    seq = _on_gate(lambda g: g.record_outcome(reservation_id, outcome, conversation, recording))
    out.print(f"reservation {reservation_id}: {outcome} recorded (audit entry {seq})")


@contact_app.command("recording")
def contact_recording(
    reservation_id: Annotated[int, typer.Argument(help="Reservation id of a completed contact")],
    ref: Annotated[str, typer.Option("--ref", help="Reference of the recording")],
) -> None:
    """Attach the recording of a contact whose outcome is already recorded (audited; never
    replaces one)."""
    seq = _on_gate(lambda g: g.attach_recording(reservation_id, ref))
    out.print(f"reservation {reservation_id}: recording {ref.strip()} attached (audit entry {seq})")


@contact_app.command("cancel")
def contact_cancel(
    reservation_id: Annotated[int, typer.Argument(help="Reservation id from `contact attempt`")],
    reason: Annotated[str, typer.Option(help="Why the contact was never made (audited)")],
) -> None:
    """Cancel a reservation that was never used: it stops counting against the caps (audited)."""
    if not reason.strip():
        _fail("--reason must say why the contact was not made")
    seq = _on_gate(lambda g: g.cancel(reservation_id, reason.strip()))
    out.print(f"reservation {reservation_id}: cancelled (audit entry {seq})")


def register(app: typer.Typer) -> None:
    """Add ``explain``, ``replay``, ``audit`` and ``contact`` (attempt, outcome, cancel) to the
    main app."""
    app.command("explain")(explain)
    app.command("replay")(replay)
    app.add_typer(audit_app, name="audit")
    app.add_typer(contact_app, name="contact")
