"""``arrears report arms``: champion/challenger comparison from the ledger's decision log."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrears import bootstrap
from arrears.config import load_settings

app = typer.Typer(help="Reports from the ledger.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        err.print(f"[bold red]error:[/] {option} must be a date YYYY-MM-DD, got {escape(text)!r}")
        raise typer.Exit(2) from None


def _fmt(v: object) -> str:
    return "" if v is None else f"{v}"


@app.command("arms")
def arms(
    date_from: Annotated[str, typer.Option("--from", help="First plan date, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="Last plan date, YYYY-MM-DD")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Compare strategy arms: cure rate, amount collected and contacts per account (95% CIs)."""
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    try:
        report = bootstrap.arms_report_from_ledger(load_settings(), start, end)
    except (LookupError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    t = Table(title=f"Arms {start} .. {end} ({report.plan_dates} plan dates)")
    for col in ("arm", "accounts", "followed", "cured", "cure rate [95% CI]", "contacts/acct"):
        t.add_column(col)
    for r in report.arms.iter_rows(named=True):
        cure = (
            f"{r['cure_rate']:.3f} [{r['cure_low']:.3f}, {r['cure_high']:.3f}]"
            if r["cure_rate"] is not None
            else "n/a (one plan date)"
        )
        t.add_row(
            r["strategy_arm"],
            f"{r['accounts']:,}",
            f"{r['followed']:,}",
            f"{r['cured']:,}",
            cure,
            f"{r['contacts_per_account']:.2f} [{r['contacts_low']:.2f}, {r['contacts_high']:.2f}]",
        )
    out.print(t)
    c = Table(title="Amount collected per account (mean [95% CI], total)")
    for col in ("arm", "currency", "accounts", "mean", "95% CI", "total"):
        c.add_column(col)
    for r in report.collected.iter_rows(named=True):
        c.add_row(
            r["strategy_arm"],
            r["currency"],
            f"{r['accounts']:,}",
            r["collected_mean"],
            f"[{r['collected_low']}, {r['collected_high']}]",
            _fmt(r["collected_total"]),
        )
    out.print(c)
