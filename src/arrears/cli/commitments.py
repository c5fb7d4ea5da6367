"""Promises to pay and repayment plans: ``arrears ptp``, ``arrears plan``, ``arrears commitments``.

Registered on the main app by :func:`register`. Every command is one transaction of the ledger:
an input mistake prints a clear message (no traceback), exits 2 and writes nothing.
docs/commitments.md describes the lifecycle and the tables.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from arrears import bootstrap
from arrears.adapters.db.commitments import CommitmentRow
from arrears.adapters.offers_file import OfferFileError
from arrears.adapters.strategy_file import StrategyInvalid
from arrears.config import load_settings
from arrears.domain.money import format_minor
from arrears.domain.plans import PlanError
from arrears.services.commitments import PROMISE_CHANNELS

EXIT_INPUT = 2

ptp_app = typer.Typer(help="Promises to pay (PTP).", no_args_is_help=True)
plan_app = typer.Typer(help="Repayment plans.", no_args_is_help=True)
commitments_app = typer.Typer(
    help="Review and list promises to pay and repayment plans.", no_args_is_help=True
)

out = Console()
err = Console(stderr=True)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

STRATEGY_OPTION = typer.Option(
    "--strategy",
    help="Strategy file for grace periods, plan rate and re-plan limit "
    "(default strategies/default.yaml)",
)


def _fail(message: str, code: int = EXIT_INPUT) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _date(text: str | None, option: str) -> date | None:
    """A calendar day ``YYYY-MM-DD``; an instant or any other form is refused."""
    if text is None:
        return None
    value = text.strip()
    if not _DATE.fullmatch(value):
        _fail(f"{option} must be a calendar date YYYY-MM-DD (a day, no time or zone), got {text!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} {text!r} is not a real date")
        raise AssertionError from None


def _required_date(text: str, option: str) -> date:
    day = _date(text, option)
    assert day is not None
    return day


def _money(amount: int, currency: str) -> str:
    return f"{format_minor(amount, currency)} {currency}"


def _describe(row: CommitmentRow) -> str:
    if row.kind == "promise":
        return (
            f"promise {row.commitment_id}: account {row.account_id}, "
            f"{_money(row.amount_minor, row.currency)} due {row.due_on} (made {row.made_on}"
            f"{', by ' + row.channel if row.channel else ''}); status {row.status}"
        )
    return (
        f"plan {row.commitment_id}: account {row.account_id}, "
        f"{_money(row.amount_minor, row.currency)} in {row.installments} monthly installments "
        f"due {row.first_due} to {row.due_on} (agreed {row.made_on}"
        f"{', re-plans ' + row.replaces if row.replaces else ''}); status {row.status}"
    )


# --- arrears ptp ----------------------------------------------------------------------------


@ptp_app.command("add")
def ptp_add(
    account: Annotated[str, typer.Argument(help="Account id in the ledger")],
    amount: Annotated[
        str, typer.Option("--amount", help="Amount promised, in the account's currency: 123.45")
    ],
    due: Annotated[str, typer.Option("--due", help="Day the payment is promised by, YYYY-MM-DD")],
    made_on: Annotated[
        str | None,
        typer.Option("--made-on", help="Day the promise was made, YYYY-MM-DD (default: today UTC)"),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help=f"How it was taken: {', '.join(PROMISE_CHANNELS)}"),
    ] = None,
) -> None:
    """Record a borrower's promise to pay. It is kept when payments from the day it was made
    reach the amount by the due date plus the grace period, broken after."""
    due_on = _required_date(due, "--due")
    made = _date(made_on, "--made-on")
    try:
        row = bootstrap.add_promise(
            load_settings(), account, amount, due_on, made_on=made, channel=channel
        )
    except (LookupError, PlanError) as exc:
        _fail(str(exc))
        return
    _line(f"Recorded {_describe(row)}.")


# --- arrears plan ---------------------------------------------------------------------------


@plan_app.command("add")
def plan_add(
    account: Annotated[str, typer.Argument(help="Account id in the ledger")],
    installments: Annotated[
        int, typer.Option("--installments", help="Number of monthly installments, 2..24")
    ],
    amount: Annotated[
        str, typer.Option("--amount", help="Total the plan repays, in the account's currency")
    ],
    first_due: Annotated[
        str, typer.Option("--first-due", help="Due date of installment 1, YYYY-MM-DD")
    ],
    installment_amount: Annotated[
        str | None,
        typer.Option(
            "--installment-amount",
            help="The installment agreed with the borrower; must be the plan's regular "
            "installment (checks that the plan adds up)",
        ),
    ] = None,
    agreed_on: Annotated[
        str | None,
        typer.Option("--agreed-on", help="Day the plan was agreed (default: today UTC)"),
    ] = None,
) -> None:
    """Record an interest-free repayment plan: the total in equal monthly installments (the
    last absorbs the rounding remainder). While it is kept, the account is not escalated."""
    first = _required_date(first_due, "--first-due")
    agreed = _date(agreed_on, "--agreed-on")
    try:
        row = bootstrap.add_plan(
            load_settings(),
            account,
            installments,
            amount,
            first,
            installment_amount=installment_amount,
            agreed_on=agreed,
        )
    except (LookupError, PlanError) as exc:
        _fail(str(exc))
        return
    _line(f"Recorded {_describe(row)}.")


@plan_app.command("accept")
def plan_accept(
    account: Annotated[str, typer.Argument(help="Account id in the ledger")],
    offers: Annotated[Path, typer.Option("--offers", help="offers.csv of a daily run")],
    offer_type: Annotated[
        str, typer.Option("--offer-type", help="Offer to accept (installment_plan)")
    ] = "installment_plan",
    agreed_on: Annotated[
        str | None,
        typer.Option("--agreed-on", help="Day the borrower accepted (default: today UTC)"),
    ] = None,
    strategy: Annotated[Path | None, STRATEGY_OPTION] = None,
) -> None:
    """Record the plan of an offer from offers.csv that the borrower accepted."""
    agreed = _date(agreed_on, "--agreed-on")
    try:
        row = bootstrap.accept_offer(
            load_settings(), offers, account, offer_type, agreed_on=agreed, strategy_file=strategy
        )
    except (LookupError, PlanError, OfferFileError) as exc:
        _fail(str(exc))
        return
    except StrategyInvalid as exc:
        _fail(f"strategy refused: {exc}")
        return
    _line(f"Recorded {_describe(row)}.")


@plan_app.command("replan")
def plan_replan(
    plan_id: Annotated[str, typer.Argument(help="Plan id (from `arrears commitments list`)")],
    installments: Annotated[
        int, typer.Option("--installments", help="Number of monthly installments, 2..24")
    ],
    amount: Annotated[str, typer.Option("--amount", help="Total the new plan repays")],
    first_due: Annotated[
        str, typer.Option("--first-due", help="Due date of installment 1, YYYY-MM-DD")
    ],
    agreed_on: Annotated[
        str | None,
        typer.Option("--agreed-on", help="Day the new plan was agreed (default: today UTC)"),
    ] = None,
    strategy: Annotated[Path | None, STRATEGY_OPTION] = None,
) -> None:
    """Replace a plan (kept or broken) by a new one. After the strategy's max_replans
    re-plans, a hardship review is required instead."""
    first = _required_date(first_due, "--first-due")
    agreed = _date(agreed_on, "--agreed-on")
    try:
        old, new = bootstrap.replan_plan(
            load_settings(),
            plan_id,
            installments,
            amount,
            first,
            agreed_on=agreed,
            strategy_file=strategy,
        )
    except (LookupError, PlanError) as exc:
        _fail(str(exc))
        return
    except StrategyInvalid as exc:
        _fail(f"strategy refused: {exc}")
        return
    _line(f"Re-planned {old.commitment_id} (now {old.status}).")
    _line(f"Recorded {_describe(new)}.")


# --- arrears commitments --------------------------------------------------------------------


def _line(text: str) -> None:
    out.print(escape(text), highlight=False, soft_wrap=True)


def _row_line(r: CommitmentRow) -> str:
    due = (
        f"due {r.due_on}"
        if r.kind == "promise"
        else f"{r.installments} installments {r.first_due}..{r.due_on}"
    )
    since = f" since {r.status_on}" if r.status_on else ""
    made = "made" if r.kind == "promise" else "agreed"
    return (
        f"{r.commitment_id}  {r.kind:<7}  {r.account_id}  {_money(r.amount_minor, r.currency)}  "
        f"{due}  {made} {r.made_on}  {r.status}{since}"
    )


@commitments_app.command("review")
def commitments_review(
    as_of: Annotated[str, typer.Option("--as-of", help="Review date, YYYY-MM-DD")],
    strategy: Annotated[Path | None, STRATEGY_OPTION] = None,
) -> None:
    """Mark promises kept or broken and plans broken or completed as of a date (the daily
    run does the same before it plans), and print what changed."""
    day = _required_date(as_of, "--as-of")
    try:
        outcome = bootstrap.review_commitments(load_settings(), day, strategy_file=strategy)
    except StrategyInvalid as exc:
        _fail(f"strategy refused: {exc}")
        return
    _line(
        f"Review as of {day} ({outcome.strategy}): grace {outcome.promise_grace_days} day(s) "
        f"after a promise's due date, {outcome.plan_grace_days} day(s) after each plan "
        "installment's."
    )
    if not outcome.events:
        _line("No promise or plan changed status.")
    for e in outcome.events:
        r = outcome.rows[e.commitment_id]
        if r.kind == "promise" and r.due_on is not None:
            grace_end = r.due_on + timedelta(days=outcome.promise_grace_days)
            why = f"{_money(r.amount_minor, r.currency)} due {r.due_on}, grace to {grace_end}"
        else:
            why = (
                f"{_money(r.amount_minor, r.currency)} in {r.installments} installments "
                f"{r.first_due}..{r.due_on}, {outcome.plan_grace_days} day(s) grace each"
            )
        _line(f"{e.name}  {e.commitment_id}  account {e.account_id}  on {e.on}: {why}")
    _line(f"{len(outcome.plan_active):,} account(s) with a plan being kept: held, not escalated.")


@commitments_app.command("list")
def commitments_list(
    status: Annotated[
        str | None,
        typer.Option(help="pending, kept, broken, completed or replanned"),
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account")] = None,
    kind: Annotated[str | None, typer.Option(help="promise or plan")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array")] = False,
) -> None:
    """List promises and plans, one a line: id, kind, account, amount, due dates, made or
    agreed date, status and the day it was set."""
    try:
        rows = bootstrap.list_commitments(
            load_settings(), status=status, account_id=account, kind=kind
        )
    except ValueError as exc:
        _fail(str(exc))
        return
    if as_json:
        items = [
            {
                "id": r.commitment_id,
                "kind": r.kind,
                "account_id": r.account_id,
                "amount": format_minor(r.amount_minor, r.currency),
                "currency": r.currency,
                "made_on": r.made_on.isoformat(),
                "first_due": r.first_due.isoformat() if r.first_due else None,
                "due_on": r.due_on.isoformat() if r.due_on else None,
                "installments": r.installments,
                "status": r.status,
                "status_on": r.status_on.isoformat() if r.status_on else None,
                "channel": r.channel,
                "replans": r.replans,
                "replaces": r.replaces,
            }
            for r in rows
        ]
        out.print_json(json.dumps(items))
        return
    if not rows:
        _line("No promise or plan matches.")
    for r in rows:
        _line(_row_line(r))


@commitments_app.command("history")
def commitments_history(
    key: Annotated[str, typer.Argument(help="Promise id, plan id or account id")],
) -> None:
    """Every status change of a promise, a plan or an account's commitments, with its
    business date and the UTC instant it was recorded."""
    try:
        rows = bootstrap.commitment_history(load_settings(), key)
    except LookupError as exc:
        _fail(str(exc))
        return
    for h in rows:
        _line(
            f"{h.event_on}  {h.event:<14} {h.commitment_id}  account {h.account_id}  "
            f"-> {h.status}  (recorded {h.recorded_at:%Y-%m-%d %H:%M:%S}Z)"
        )


def register(app: typer.Typer) -> None:
    """Add ``ptp``, ``plan`` and ``commitments`` to the main app."""
    app.add_typer(ptp_app, name="ptp")
    app.add_typer(plan_app, name="plan")
    app.add_typer(commitments_app, name="commitments")
