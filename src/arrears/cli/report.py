"""``arrears report portfolio``: roll rates, cure rate, vintage curves and recovery rate.

The ``arrears report`` group is the one of :mod:`arrears.cli.report_arms`; this module adds its
``portfolio`` command to it (imported for that by :mod:`arrears.cli.main`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrears import bootstrap
from arrears.adapters.portfolio.uci import UCIFormatError
from arrears.cli.report_arms import app
from arrears.config import load_settings

out = Console()
err = Console(stderr=True)


@app.command("portfolio")
def portfolio(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for tables, charts and HTML")],
    source: Annotated[
        str, typer.Option("--source", help="ledger, uci (the real file) or generated:N")
    ] = "ledger",
    months: Annotated[int, typer.Option("--months", min=2, max=36, help="Monthly snapshots")] = 6,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False,
) -> None:
    """Roll-rate matrix, cure rate, vintage curves and recovery rate, as tables, PNG and HTML."""
    settings = load_settings()
    try:
        report = bootstrap.run_portfolio_report(settings, source, out_dir, months=months)
    except (LookupError, ValueError, FileNotFoundError, UCIFormatError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report.as_json(), default=str))
        return
    t = Table(title=f"{report.name}, as of {report.as_of}: cure and roll-forward rates")
    for col in report.cure_rates.columns:
        t.add_column(col)
    for row in report.cure_rates.iter_rows():
        t.add_row(*("" if v is None else str(v) for v in row))
    out.print(t)
    out.print(f"  wrote {out_dir / 'portfolio_report.html'} (and CSV tables, PNG charts)")
