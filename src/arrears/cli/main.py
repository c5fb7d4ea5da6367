"""The ``arrears`` command line (Typer). Input mistakes print a clear message, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from arrears import __version__, bootstrap
from arrears.adapters.agents_file import AgentFileError
from arrears.adapters.model_store import ModelStoreError
from arrears.adapters.portfolio.errors import PortfolioInvalid
from arrears.adapters.portfolio.uci import UCIFormatError
from arrears.adapters.strategy_file import StrategyInvalid
from arrears.cli import commitments, compliance, report_arms, simulate
from arrears.cli import model as model_cli
from arrears.cli import report as portfolio_report  # adds `arrears report portfolio`
from arrears.config import SettingsError, load_settings
from arrears.domain.compliance.packs import RulePackError
from arrears.pipeline.daily import STAGES, DailyResult
from arrears.pipeline.modelling.registered import ModelRefused

app = typer.Typer(
    help="arrears: lawful, data-driven arrears management for consumer and online lenders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Inspect the rule packs.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
compliance.register(app)  # explain, replay, audit verify, contact attempt|outcome
commitments.register(app)  # ptp add, plan add|accept|replan, commitments review|list|history
app.add_typer(report_arms.app, name="report")
app.add_typer(model_cli.app, name="model")
app.add_typer(simulate.app, name="simulate")
assert portfolio_report.app is report_arms.app

out = Console()
err = Console(stderr=True)

EXIT_INPUT = 2
EXIT_ENVIRONMENT = 3


def _fail(message: str, code: int = EXIT_INPUT) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@app.callback()
def _settings_first() -> None:
    """Refuse a bad ARREARS_* variable in one line before any command runs."""
    try:
        load_settings()
    except SettingsError as exc:
        _fail(str(exc))


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} must be a date YYYY-MM-DD, got {text!r}")
        raise AssertionError from None


def _with_progress(run: Callable[[Callable[[str], None]], DailyResult]) -> DailyResult:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        tasks = {s: progress.add_task(s, total=1, start=False) for s in STAGES}
        order = list(STAGES)
        progress.start_task(tasks[order[0]])

        def done(stage: str) -> None:
            progress.update(tasks[stage], completed=1)
            i = order.index(stage)
            if i + 1 < len(order):
                progress.start_task(tasks[order[i + 1]])

        return run(done)


def _print_result(result: DailyResult) -> None:
    s = result.summary
    t = Table(title=f"Daily plan {s['plan_date']}", show_header=False)
    t.add_row("accounts", f"{s['accounts_total']:,}")
    t.add_row("in arrears (decisions)", f"{s['accounts_in_arrears']:,}")
    if s.get("accounts_nothing_due"):
        t.add_row("  of which nothing owed", f"{s['accounts_nothing_due']:,} (no action)")
    t.add_row(
        "arrears amount",
        ", ".join(f"{Decimal(v):,} {k}" for k, v in s["arrears_amount"].items()),
    )
    t.add_row("planned contacts", f"{s['contacts_planned']:,}")
    unplaced = (s.get("capacity") or {}).get("calls_not_placed", 0)
    if unplaced:
        t.add_row("  calls with no agent slot", f"{unplaced:,} (see capacity in summary.json)")
    t.add_row("blocked contacts", f"{s['contacts_blocked']:,}")
    t.add_row("model", s["model"]["version"])
    t.add_row("rule packs", ", ".join(s["rule_packs"]))
    out.print(t)
    fresh = s.get("data_freshness") or {}
    if fresh.get("stale"):
        newest = fresh.get("newest_record")
        what = (
            f"the ledger's newest payment, statement or delinquency cycle is {newest}, "
            f"{fresh['days_before_plan']} days before the plan date"
            if newest
            else "the ledger holds no dated payment, statement or delinquency cycle"
        )
        err.print(
            f"[yellow]warning:[/yellow] {what}: days past due and amounts assume nothing was "
            "paid since. Import a current snapshot before contacting anyone on this plan.",
            highlight=False,
        )
    for name in (
        "decisions.csv",
        "contacts.csv",
        "blocked.csv",
        "offers.csv",
        "summary.json",
        "report.html",
    ):
        out.print(f"  wrote {result.out_dir / name}")


STRATEGY_OPTION = typer.Option(
    "--strategy",
    help="Strategy file (YAML, see docs/strategy.md); default strategies/default.yaml",
)


def _strategy_refused(exc: StrategyInvalid) -> None:
    t = Table(title=f"strategy refused: {len(exc.problems)} problem(s)")
    for col in ("file", "line", "where", "field", "reason"):
        t.add_column(col)
    for p in exc.problems:
        t.add_row(escape(p.file), str(p.line), escape(p.where), escape(p.field), escape(p.reason))
    err.print(t)
    raise typer.Exit(EXIT_INPUT)


@app.command("version")
def version() -> None:
    """Print the arrears version."""
    out.print(__version__)


@app.command("import")
def import_cmd(
    folder: Annotated[Path, typer.Argument(help="Portfolio folder (see docs/portfolio-format.md)")],
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding of the CSV files: utf-8, gb18030, big5")
    ] = None,
) -> None:
    """Validate a portfolio folder and import it into the ledger, all or nothing."""
    settings = load_settings()
    try:
        outcome = bootstrap.import_portfolio(settings, folder, encoding=encoding)
    except PortfolioInvalid as exc:
        t = Table(title=f"{len(exc.errors)} problem(s); nothing was imported", show_lines=False)
        for col in ("file", "line", "column", "reason"):
            t.add_column(col)
        for e in exc.errors[:200]:
            t.add_row(escape(e.file), str(e.line), escape(e.column), escape(e.reason))
        err.print(t)
        if len(exc.errors) > 200:
            err.print(f"... and {len(exc.errors) - 200} more")
        raise typer.Exit(EXIT_INPUT) from None
    if outcome.already_imported:
        out.print(
            f"Snapshot {outcome.sha256[:16]} was already imported (batch "
            f"{outcome.batch_id}); nothing changed."
        )
        return
    out.print(f"Imported batch {outcome.batch_id} from {folder}:")
    for k, v in outcome.counts.items():
        out.print(f"  {k}: {v:,}")


@app.command("daily")
def daily(
    as_of: Annotated[str, typer.Option("--as-of", help="Assessment and plan date, YYYY-MM-DD")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the day's outputs")],
    strategy: Annotated[Path | None, STRATEGY_OPTION] = None,
    agents: Annotated[
        Path | None,
        typer.Option("--agents", help="Agent team, agents.csv or .yaml (docs/outputs.md)"),
    ] = None,
) -> None:
    """Run the daily job on the ledger: assess, score, treat, plan and check contacts."""
    settings = load_settings()
    day = _parse_date(as_of, "--as-of")
    if out_dir.exists() and not out_dir.is_dir():
        _fail(f"--out {out_dir} is a file, not a folder")
    try:
        result = _with_progress(
            lambda done: bootstrap.run_daily_from_ledger(
                settings,
                day,
                out_dir,
                on_stage_done=done,
                strategy_file=strategy,
                agents_file=agents,
            )
        )
    except AgentFileError as exc:
        _fail(f"agents file refused: {exc}")
    except StrategyInvalid as exc:
        _strategy_refused(exc)
    except LookupError as exc:
        _fail(str(exc))
    except RulePackError as exc:
        _fail(f"rule pack refused: {exc}")
    except (ModelRefused, ModelStoreError) as exc:
        _fail(f"model refused: {exc}")
    _print_result(result)


@app.command("demo")
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the outputs")] = Path(
        "out/demo"
    ),
    strategy: Annotated[Path | None, STRATEGY_OPTION] = None,
) -> None:
    """Import the bundled real UCI portfolio into a fresh SQLite ledger and run the daily job."""
    settings = load_settings()
    try:
        result = _with_progress(
            lambda done: bootstrap.run_demo(
                settings,
                out_dir,
                say=lambda m: err.print(m, highlight=False),
                on_stage_done=done,
                strategy_file=strategy,
            )
        )
    except StrategyInvalid as exc:
        _strategy_refused(exc)
    except UCIFormatError as exc:
        _fail(str(exc))
    except RulePackError as exc:
        _fail(f"rule pack refused: {exc}")
    _print_result(result)


@app.command("generate")
def generate(
    accounts: Annotated[int, typer.Option("--accounts", min=1, help="Number of accounts")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the portfolio to")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same portfolio)")] = 7,
    as_of: Annotated[str, typer.Option("--as-of", help="Snapshot date YYYY-MM-DD")] = "2026-11-30",
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write a seeded synthetic portfolio in the canonical format."""
    day = _parse_date(as_of, "--as-of")
    if fmt not in ("csv", "parquet"):
        _fail(f"--format must be csv or parquet, got {fmt!r}")
    paths = bootstrap.generate_to_folder(accounts, out_dir, seed=seed, as_of=day, fmt=fmt)
    for p in paths:
        out.print(f"  wrote {p}")


@rules_app.command("list")
def rules_list() -> None:
    """List every rule of every pack with its source."""
    settings = load_settings()
    try:
        packs, _ = bootstrap.load_rule_packs(settings)
    except RulePackError as exc:
        _fail(f"rule pack refused: {exc}")
    t = Table()
    t.add_column("rule", no_wrap=True)  # the id is what `rules show` takes: never cut it
    for col in ("pack", "kind", "type", "source"):
        t.add_column(col, overflow="fold")  # wrapped, never cut with an ellipsis
    for p in packs:
        for r in p.rules:
            t.add_row(r.id, p.ref, r.kind.value, r.type, str(r.source))
    out.print(t)


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. IE.DAYS.S46")]) -> None:
    """Show one rule in full."""
    settings = load_settings()
    try:
        packs, _ = bootstrap.load_rule_packs(settings)
    except RulePackError as exc:
        _fail(f"rule pack refused: {exc}")
    for p in packs:
        for r in p.rules:
            if r.id == rule_id:
                out.print(f"[bold]{r.id}[/] ({p.ref}, {r.kind.value}, {r.type})")
                out.print(r.description)
                out.print(f"source: {r.source}" + (f" <{r.source.url}>" if r.source.url else ""))
                out.print(f"in force: {r.effective_from} .. {r.effective_to or 'open'}")
                if r.channels:
                    out.print(f"channels: {', '.join(r.channels)}")
                if r.start is not None:
                    end = "24:00" if r.end_is_midnight else f"{r.end:%H:%M}"
                    out.print(f"allowed hours: {r.start:%H:%M}-{end} local")
                if r.weekdays or r.public_holidays:
                    out.print(
                        f"no contact on weekdays {list(r.weekdays)} "
                        f"(0=Mon); public holidays: {r.public_holidays}"
                    )
                if r.max_calls is not None:
                    out.print(f"cap: {r.max_calls} calls a day ({r.counts})")
                return
    _fail(f"no rule with id {rule_id!r}; see `arrears rules list`")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
