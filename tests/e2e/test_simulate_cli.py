"""CLI smoke: `arrears simulate --json`, `arrears report portfolio`, the capacity columns."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from arrears.adapters.agents_file import write_agents_csv
from arrears.adapters.portfolio.synthetic import generate_portfolio
from arrears.adapters.rulepacks import is_public_holiday, load_packs
from arrears.cli.main import app
from arrears.domain.agents import Agent, parse_shift
from arrears.pipeline.daily import run_daily

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_simulate_json_on_a_small_generated_portfolio(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "simulate",
            "--strategy",
            "default",
            "--vs",
            str(REPO / "strategies" / "challenger-example.yaml"),
            "--days",
            "6",
            "--portfolio",
            "generated:300",
            "--replications",
            "2",
            "--json",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["days"] == 6 and data["replications"] == 2
    assert data["strategies"]["B"] == "digital-first-2026.2"
    m = data["metrics"]["amount_collected"]
    for side in ("A", "B", "B_minus_A"):
        assert m[side]["lo"] <= m[side]["mean"] <= m[side]["hi"]
    assert (
        m["B_minus_A"]["mean"] == round(m["B"]["mean"] - m["A"]["mean"], 6)
        or abs(m["B_minus_A"]["mean"] - (m["B"]["mean"] - m["A"]["mean"])) < 1e-3
    )
    for name in ("simulation.html", "metrics.png", "daily.png", "simulation.json"):
        assert (tmp_path / name).stat().st_size > 0


def test_simulate_refuses_bad_input_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: x\narms: 3\n")
    res = runner.invoke(
        app, ["simulate", "--strategy", str(bad), "--vs", "default", "--portfolio", "generated:50"]
    )
    assert res.exit_code == 2
    assert "strategy refused" in res.output and "Traceback" not in res.output
    res = runner.invoke(
        app, ["simulate", "--strategy", "default", "--vs", "default", "--portfolio", "gen:5"]
    )
    assert res.exit_code == 2 and "uci or generated:N" in res.output


def test_report_portfolio_on_a_generated_portfolio(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["report", "portfolio", "--source", "generated:400", "--out", str(tmp_path), "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(data["snapshots"]) == 6
    for row in data["roll_matrix"]:
        if row["accounts"]:
            total = sum(row[b] for b in ("current", "M1", "M2", "M3", "M4", "M5", "M6", "M6+"))
            assert abs(total - 1) < 1e-3
    cure = {r["bucket"]: r for r in data["cure_rates"]}
    assert 0 <= cure["all in arrears"]["cure_rate"] <= 1
    assert (tmp_path / "portfolio_report.html").is_file()
    assert (tmp_path / "roll_rates.png").stat().st_size > 0
    res = runner.invoke(app, ["report", "portfolio", "--source", "nowhere", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--source" in res.output


class _Model:
    """A scoring model stub: a fixed propensity from the account id, and no reason codes."""

    version = "stub-1"

    def score(self, features: pl.DataFrame) -> pl.Series:
        return pl.Series("score", [0.6] * features.height, dtype=pl.Float64)

    def reasons(self, features: pl.DataFrame) -> pl.DataFrame:
        return features.with_columns(
            pl.lit("").alias("reason_1"), pl.lit("").alias("reason_2"), pl.lit("").alias("reason_3")
        ).select("reason_1", "reason_2", "reason_3")


def test_daily_contacts_gain_agent_and_slot_inside_the_window(tmp_path: Path) -> None:
    as_of = date(2026, 11, 30)
    frames = generate_portfolio(1500, as_of, seed=3)
    agents = [
        Agent(
            f"T{i}",
            frozenset({"zh-TW", "zh-CN", "en-GB", "en-US", "es-US", "en-IE"}),
            frozenset(),
            240,
            (parse_shift("00:00-12:00"), parse_shift("12:00-24:00")),
        )
        for i in range(3)
    ]
    write_agents_csv(agents, tmp_path / "agents.csv")
    result = run_daily(
        frames,
        as_of,
        tmp_path / "out",
        packs=load_packs(REPO / "rules"),
        is_holiday=is_public_holiday,
        model=_Model(),
        input_sha256="test",
        agents=agents,
    )
    with (tmp_path / "out" / "contacts.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames is not None and reader.fieldnames[-2:] == [
            "agent_id",
            "slot_start",
        ]
        rows = list(reader)
    calls = [r for r in rows if r["channel"] == "call"]
    placed = [r for r in calls if r["agent_id"]]
    assert placed, "some calls must be placed"
    assert all(not r["agent_id"] for r in rows if r["channel"] != "call")
    minutes: dict[str, int] = {}
    for r in placed:
        start = datetime.fromisoformat(r["slot_start"])
        assert datetime.fromisoformat(r["window_start"]) <= start
        assert start < datetime.fromisoformat(r["window_end"])
        minutes[r["agent_id"]] = minutes.get(r["agent_id"], 0) + 1
    cap = result.summary["capacity"]
    assert cap["calls_placed"] == len(placed)
    assert cap["calls"] == len(calls)
    assert cap["agent_minutes_used"] <= 3 * 240
    assert pl.read_csv(tmp_path / "agents.csv").height == 3
