"""Capacity: the optimiser never loses to greedy and every placement respects the constraints."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from arrears.adapters.agents_file import AgentFileError, load_agents, write_agents_csv
from arrears.domain.agents import Agent, AgentError, parse_shift
from arrears.pipeline.capacity import (
    CALL_MINUTES,
    SLOT_MINUTES,
    default_team,
    greedy_placement,
    place_calls,
    synthetic_call_day,
)

DAY = date(2026, 11, 30)


def _check_constraints(calls: pl.DataFrame, placed: pl.DataFrame, agents: list[Agent]) -> None:
    """Independent check of every placed call against windows, shifts, skills, minutes, caps."""
    by_id = {a.agent_id: a for a in agents}
    used: dict[str, int] = defaultdict(int)
    per_agent: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    per_borrower: dict[str, list[datetime]] = defaultdict(list)
    cap = dict(zip(calls["borrower_id"], calls["cap"], strict=True)) if "cap" in calls else {}
    for row in placed.filter(pl.col("agent_id").is_not_null()).iter_rows(named=True):
        a = by_id[row["agent_id"]]
        start = row["slot_start"]
        end = start + timedelta(minutes=CALL_MINUTES[row["bucket"]])
        assert row["_start_utc"] <= start and end <= row["_end_utc"], "outside the allowed window"
        assert any(s <= start and end <= e for s, e in a.windows(DAY)), "outside the shift"
        assert a.can_take(row["language"], row["bucket"]), "agent lacks the skill"
        used[a.agent_id] += CALL_MINUTES[row["bucket"]]
        per_agent[a.agent_id].append((start, end))
        per_borrower[row["borrower_id"]].append(start)
    for aid, minutes in used.items():
        assert minutes <= by_id[aid].minutes, f"{aid} over its minutes"
    for spans in per_agent.values():
        spans.sort()
        for (_, e1), (s2, _) in itertools.pairwise(spans):
            assert s2 >= e1, "an agent has two calls at once"
    for b, starts in per_borrower.items():
        if cap:
            assert len(starts) <= cap[b], "borrower over the cap"
        slots = [int(s.timestamp()) // (SLOT_MINUTES * 60) for s in starts]
        assert len(slots) == len(set(slots)), "two calls to one borrower in one slot"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_optimiser_at_least_greedy_and_feasible(seed: int) -> None:
    calls, agents = synthetic_call_day(40, DAY, seed=seed)
    opt = place_calls(calls, agents, DAY, time_limit_s=5, workers=1)
    for rule in ("best_slot", "earliest"):
        g = greedy_placement(calls, agents, DAY, rule)
        assert opt.expected_value_cents >= g.expected_value_cents
        _check_constraints(calls, g.calls, agents)
    _check_constraints(calls, opt.calls, agents)
    if opt.bound_cents is not None:
        assert opt.expected_value_cents <= opt.bound_cents
    # the reported total is the sum of the placed calls' values
    assert opt.calls["expected_value_cents"].sum() == opt.expected_value_cents
    assert opt.calls.height == calls.height


def _call(aid: str, bid: str, lang: str, bucket: str, score: float, amount: int) -> dict:
    ws = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    return {
        "account_id": aid,
        "borrower_id": bid,
        "bucket": bucket,
        "language": lang,
        "score": score,
        "arrears_minor": amount,
        "currency": "USD",
        "timezone": "Asia/Taipei",
        "jurisdiction": "TW",
        "_start_utc": ws,
        "_end_utc": ws + timedelta(hours=2),
    }


def test_optimiser_beats_greedy_where_greedy_wastes_a_scarce_skill() -> None:
    shift = (parse_shift("01:00-03:00"),)
    agents = [
        Agent("BI", frozenset({"zh-TW", "zh-CN"}), frozenset(), 12, shift),
        Agent("TW", frozenset({"zh-TW"}), frozenset(), 12, shift),
    ]
    calls = pl.DataFrame(
        [
            _call("X", "b1", "zh-TW", "M5", 0.9, 100_000),
            _call("Y", "b2", "zh-CN", "M5", 0.5, 100_000),
        ]
    )
    g = greedy_placement(calls, agents, DAY)
    assert g.placed == 1  # the bilingual agent took X, nobody is left for Y
    opt = place_calls(calls, agents, DAY, workers=1)
    assert opt.placed == 2
    assert dict(zip(opt.calls["account_id"], opt.calls["agent_id"], strict=True)) == {
        "X": "TW",
        "Y": "BI",
    }
    assert opt.expected_value_cents > g.expected_value_cents


def test_caps_minutes_and_skills_bind() -> None:
    shift = (parse_shift("01:00-03:00"),)
    agents = [Agent("M3ONLY", frozenset({"zh-TW"}), frozenset({"M3"}), 20, shift)]
    calls = pl.DataFrame(
        [
            _call("A", "b1", "zh-TW", "M3", 0.9, 50_000),
            _call("B", "b1", "zh-TW", "M3", 0.9, 40_000),  # same borrower, cap 1
            _call("C", "b2", "zh-TW", "M1", 0.9, 90_000),  # bucket the agent does not work
            _call("D", "b3", "zh-CN", "M3", 0.9, 90_000),  # language nobody speaks
            _call("E", "b4", "zh-TW", "M3", 0.1, 10_000),  # fits by minutes? 10 + 10 <= 20
            _call("F", "b5", "zh-TW", "M3", 0.1, 5_000),  # third M3 call: over 20 minutes
        ]
    ).with_columns(pl.when(pl.col("borrower_id") == "b1").then(1).otherwise(5).alias("cap"))
    opt = place_calls(calls, agents, DAY, workers=1)
    placed = set(opt.calls.filter(pl.col("agent_id").is_not_null())["account_id"])
    assert placed == {"A", "E"}
    assert opt.agent_minutes_used == 20
    _check_constraints(calls, opt.calls, agents)


def test_no_agents_places_nothing_and_missing_column_is_named() -> None:
    calls, _ = synthetic_call_day(10, DAY, seed=4)
    p = place_calls(calls, [], DAY)
    assert p.placed == 0 and p.expected_value_cents == 0
    with pytest.raises(ValueError, match="score"):
        place_calls(calls.drop("score"), [], DAY)
    with pytest.raises(ValueError, match="greedy rule"):
        greedy_placement(calls, [], DAY, "random")


def test_default_team_covers_each_language_and_places_calls() -> None:
    calls, _ = synthetic_call_day(120, DAY, seed=5)
    team = default_team(calls)
    langs = set(calls["language"])
    assert langs <= {lang for a in team for lang in a.languages}
    p = place_calls(calls, team, DAY, time_limit_s=3, workers=1)
    assert p.placed > 0
    _check_constraints(calls, p.calls, team)
    assert default_team(calls.head(0)) == []


def test_shift_parsing_and_agent_validation() -> None:
    s = parse_shift("16:00-01:00")
    assert s.ends_next_day and s.minutes == 540
    start, end = s.on(DAY)
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert end == datetime(2026, 12, 1, 1, tzinfo=UTC)
    assert parse_shift("08:00-24:00").minutes == 960
    for bad in ("8-12", "25:00-26:00", "10:00-24:30"):
        with pytest.raises(AgentError):
            parse_shift(bad)
    with pytest.raises(AgentError, match="overlap"):
        Agent(
            "A",
            frozenset({"en"}),
            frozenset(),
            60,
            (parse_shift("01:00-05:00"), parse_shift("04:00-06:00")),
        )
    with pytest.raises(AgentError, match="minutes"):
        Agent("A", frozenset({"en"}), frozenset(), 0, (s,))


def test_agents_file_round_trip_and_errors(tmp_path: Path) -> None:
    _, agents = synthetic_call_day(30, DAY, seed=6)
    path = tmp_path / "agents.csv"
    write_agents_csv(agents, path)
    assert load_agents(path) == agents
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "agent_id,languages,buckets,minutes_per_day,shifts\nA1,zh-TW,,300,01:00-05:00\n"
        "A2,zh-TW,,lots,01:00-05:00\n"
    )
    with pytest.raises(AgentFileError, match=r"line 3, field 'minutes_per_day'"):
        load_agents(bad)
    bad.write_text("agent_id,languages,buckets,minutes_per_day,shifts\nA1,zh-TW,,300,1-5\n")
    with pytest.raises(AgentFileError, match=r"line 2, field 'shifts'"):
        load_agents(bad)
    bad.write_text("agent_id,languages,minutes_per_day\nA1,zh-TW,300\n")
    with pytest.raises(AgentFileError, match="'buckets': column missing"):
        load_agents(bad)
    y = tmp_path / "agents.yaml"
    y.write_text(
        "- {agent_id: A1, languages: [zh-TW], minutes_per_day: 200, shifts: ['01:00-05:00']}\n"
        "- {agent_id: A1, languages: [zh-TW], minutes_per_day: 200, shifts: ['01:00-05:00']}\n"
    )
    with pytest.raises(AgentFileError, match="entry 2, field 'agent_id'"):
        load_agents(y)
    y.write_text("- {agent_id: A1, languages: [zh-TW], minutes_per_day: 200, shift: x}\n")
    with pytest.raises(AgentFileError, match="unknown field"):
        load_agents(y)
