"""``arrears model``: train, evaluate, explain and monitor the propensity-to-pay models."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arrears import bootstrap
from arrears.adapters.model_store import ModelStoreError
from arrears.adapters.portfolio.errors import PortfolioInvalid
from arrears.adapters.portfolio.uci import UCIFormatError
from arrears.config import load_settings
from arrears.pipeline.modelling.registered import ModelRefused

app = typer.Typer(
    help="Propensity-to-pay models: train, evaluate, explain, monitor.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)
EXIT_INPUT = 2

METRICS_SHOWN = ("auc", "ks", "gini", "brier", "ece", "calibration")


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(EXIT_INPUT)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} must be a date YYYY-MM-DD, got {text!r}")
        raise AssertionError from None


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def _metrics_table(metrics: dict[str, dict[str, dict[str, Any]]]) -> Table:
    t = Table(title="Propensity-to-pay models (UCI test accounts)")
    t.add_column("model")
    t.add_column("split")
    for m in METRICS_SHOWN:
        t.add_column(m, justify="right")
    for name, splits in metrics.items():
        for split, vals in splits.items():
            t.add_row(name, split, *(_fmt(vals.get(m, "")) for m in METRICS_SHOWN))
    return t


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


@app.command("train")
def train(
    store: Annotated[
        Path | None, typer.Option(help="Model store folder (default: the shipped one)")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Version name to register")] = None,
    seed: Annotated[int, typer.Option(help="Split and training seed")] = 2005,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing version")] = False,
) -> None:
    """Train the three models on the UCI file and register the calibrated LightGBM."""
    settings = load_settings()
    try:
        evaluation, folder = bootstrap.train_and_register(
            settings, store=store, version=version, seed=seed, overwrite=overwrite
        )
    except (FileNotFoundError, UCIFormatError, ModelStoreError) as exc:
        _fail(str(exc))
    out.print(_metrics_table(evaluation.metrics))
    out.print(f"registered {folder.name} in {folder.parent}")


@app.command("evaluate")
def evaluate(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print metrics as one JSON object")
    ] = False,
    plots: Annotated[
        Path | None, typer.Option(help="Write the PNG figures of docs/models.md here")
    ] = None,
    fairness_json: Annotated[
        Path | None, typer.Option(help="Write the fairness reports (JSON) here")
    ] = None,
    seed: Annotated[int, typer.Option(help="Split and training seed")] = 2005,
    fast: Annotated[bool, typer.Option(help="Small LightGBM, 2 folds: a smoke run")] = False,
) -> None:
    """Fit and measure LightGBM, scorecard and logistic models (held-out and out-of-time)."""
    settings = load_settings()
    try:
        ev = bootstrap.evaluate_models(settings, seed=seed, fast=fast)
    except (FileNotFoundError, UCIFormatError) as exc:
        _fail(str(exc))
    if plots is not None:
        from arrears.pipeline.modelling.train import write_plots

        for p in write_plots(ev, plots):
            err.print(f"wrote {p}")
    if fairness_json is not None:
        fairness_json.parent.mkdir(parents=True, exist_ok=True)
        fairness_json.write_text(
            json.dumps(_clean({k: v.to_dict() for k, v in ev.fairness.items()}), indent=1)
        )
    if as_json:
        typer.echo(json.dumps(_clean(ev.metrics_json()), indent=2, sort_keys=True))
        return
    out.print(_metrics_table(ev.metrics))
    rep = ev.fairness.get("lightgbm")
    if rep is not None:
        t = Table(title="Fairness gaps, LightGBM held-out (max - min over groups)")
        for c in ("attribute", "metric", "gap", "limit", "flagged"):
            t.add_column(c)
        for r in rep.gaps.iter_rows(named=True):
            t.add_row(
                r["attribute"],
                r["metric"],
                _fmt(r["gap"]),
                _fmt(r["limit"]),
                "[red]yes[/]" if r["flagged"] else "no",
            )
        out.print(t)


@app.command("explain")
def explain(
    account: Annotated[str, typer.Argument(help="Account id")],
    portfolio: Annotated[
        Path | None, typer.Option(help="Portfolio folder (default: the UCI file)")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD")] = None,
    store: Annotated[Path | None, typer.Option(help="Model store folder")] = None,
) -> None:
    """Score one account with the registered model and show why."""
    settings = load_settings()
    day = _date(as_of, "--as-of")
    try:
        info = bootstrap.explain_account(
            settings, account, portfolio=portfolio, as_of=day, store=store
        )
    except (LookupError, ValueError, FileNotFoundError, ModelStoreError, ModelRefused) as exc:
        _fail(str(exc))
    except PortfolioInvalid as exc:
        _fail(f"portfolio invalid: {exc.errors[0]}")
    out.print(
        f"account {escape(info.account_id)} as of {info.as_of}: "
        f"P(pay) {info.score:.3f} (model {info.model_version})"
    )
    for i, r in enumerate(info.reasons, start=1):
        out.print(f"  {i}. {escape(r)}")
    t = Table(title="Contributions (log-odds of paying; negative lowers the score)")
    for col in ("feature", "value", "contribution"):
        t.add_column(col)
    for f, v, c in info.contributions:
        t.add_row(f, _fmt(v), f"{c:+.3f}")
    out.print(t)


@app.command("monitor")
def monitor(
    old: Annotated[Path, typer.Argument(help="Old snapshot: UCI CSV or portfolio folder")],
    new: Annotated[Path, typer.Argument(help="New snapshot: UCI CSV or portfolio folder")],
    old_as_of: Annotated[str | None, typer.Option("--old-as-of", help="YYYY-MM-DD")] = None,
    new_as_of: Annotated[str | None, typer.Option("--new-as-of", help="YYYY-MM-DD")] = None,
    plot: Annotated[Path, typer.Option(help="PNG to write")] = Path("monitor.png"),
    store: Annotated[Path | None, typer.Option(help="Model store folder")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """PSI of the score and each feature, and calibration drift, between two snapshots."""
    a_day, b_day = _date(old_as_of, "--old-as-of"), _date(new_as_of, "--new-as-of")
    try:
        report, a, b = bootstrap.monitor_snapshots(
            old, new, old_as_of=a_day, new_as_of=b_day, plot=plot, store=store
        )
    except (ValueError, FileNotFoundError, ModelStoreError) as exc:
        _fail(str(exc))
    except PortfolioInvalid as exc:
        _fail(f"portfolio invalid: {exc.errors[0]}")
    if as_json:
        typer.echo(json.dumps(_clean(report.to_dict()), indent=2))
        return
    t = Table(title=f"Stability {a.as_of} ({a.scored.height:,}) -> {b.as_of} ({b.scored.height:,})")
    for c in ("variable", "PSI", "level", "mean old", "mean new"):
        t.add_column(c)
    for r in report.psi.iter_rows(named=True):
        t.add_row(
            r["variable"], _fmt(r["psi"]), r["level"], _fmt(r["mean_old"]), _fmt(r["mean_new"])
        )
    out.print(t)
    cal = report.calibration
    for side in ("old", "new"):
        if side in cal:
            c = cal[side]
            out.print(
                f"calibration {side}: mean P(pay) {c['mean_predicted']:.4f}, observed "
                f"{c['observed']:.4f}, gap {c['gap']:+.4f}, ECE {c['ece']:.4f}"
            )
        else:
            out.print(f"calibration {side}: outcomes unknown")
    if "gap_drift" in cal:
        out.print(f"calibration drift: gap {cal['gap_drift']:+.4f}, ECE {cal['ece_drift']:+.4f}")
    if a.dropped or b.dropped:
        out.print(f"left out (features incomplete): old {a.dropped:,}, new {b.dropped:,}")
    out.print(f"wrote {plot}")
