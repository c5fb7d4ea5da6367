"""``arrears simulate``: compare two strategies on a portfolio before they touch a borrower."""

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
from arrears.adapters.strategy_file import StrategyInvalid
from arrears.config import load_settings
from arrears.domain.compliance.packs import RulePackError

app = typer.Typer(help="Simulate two strategies side by side.", pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _f(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


@app.callback(invoke_without_command=True)
def simulate(
    strategy: Annotated[str, typer.Option("--strategy", help="Strategy A: YAML file or 'default'")],
    vs: Annotated[str, typer.Option("--vs", help="Strategy B: YAML file or 'default'")],
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Horizon in days")] = 90,
    portfolio: Annotated[
        str, typer.Option("--portfolio", help="uci (the real file) or generated:N")
    ] = "uci",
    replications: Annotated[
        int, typer.Option("--replications", min=1, max=100, help="Seeds per strategy")
    ] = 5,
    seed: Annotated[int, typer.Option(help="First seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for simulation.html, PNG charts, JSON")
    ] = None,
) -> None:
    """Run a portfolio day by day under two strategies and compare them with 95 % intervals."""
    settings = load_settings()
    try:
        comp, paths = bootstrap.run_simulation(
            settings,
            strategy,
            vs,
            days=days,
            portfolio=portfolio,
            replications=replications,
            seed=seed,
            out_dir=out_dir,
            on_run=lambda name, i: err.print(f"  ran {name}, replication {i + 1}", highlight=False),
        )
    except StrategyInvalid as exc:
        _fail(f"strategy refused: {exc}")
    except RulePackError as exc:
        _fail(f"rule pack refused: {exc}")
    except (ValueError, FileNotFoundError, UCIFormatError) as exc:
        _fail(str(exc))
    data = comp.as_json()
    if as_json:
        print(json.dumps(data, allow_nan=False, default=str))
        return
    t = Table(
        title=f"{data['portfolio']}: {days} days, {replications} replications "
        f"(amounts in {data['report_currency']})"
    )
    for col in ("metric", f"A {comp.names[0]}", f"B {comp.names[1]}", "B - A (95 % CI)"):
        t.add_column(col)
    for key, f in data["metrics"].items():
        a, b, d = f["A"], f["B"], f["B_minus_A"]
        t.add_row(
            key, _f(a["mean"]), _f(b["mean"]), f"{_f(d['mean'])} [{_f(d['lo'])}, {_f(d['hi'])}]"
        )
    out.print(t)
    for p in paths:
        out.print(f"  wrote {p}")
