"""The compliance commands end to end on a SQLite ledger: contact attempt/outcome, explain,
audit verify (also after tampering), replay under an older pack version, input mistakes."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import yaml
from tests.cli_kit import channel_line
from tests.gate_db import seed_borrowers
from typer.testing import CliRunner

from arrears.adapters.db.engine import create_engine
from arrears.cli.main import app
from arrears.domain.audit import chain_of

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
AT = "2026-12-01T10:00:00+08:00"  # a Tuesday, 10:00 in Shanghai


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite ledger with borrowers B1, B2 (CN, Asia/Shanghai) and a copy of the rules in
    which CN@2025.1 (kept in history) caps connected calls at 1 a day instead of 3."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    current = yaml.safe_load((rules / "CN.yaml").read_text(encoding="utf-8"))
    old = dict(current, version="2025.1")
    old["rules"] = [
        dict(r, params=dict(r["params"], max_calls=1)) if r["id"] == "CN.CALLS.DAILY_CAP" else r
        for r in current["rules"]
    ]
    (rules / "history" / "CN@2025.1.yaml").write_text(
        yaml.safe_dump(old, allow_unicode=True), encoding="utf-8"
    )
    monkeypatch.setenv("ARREARS_DATABASE_URL", url)
    monkeypatch.setenv("ARREARS_RULES_DIR", str(rules))
    from arrears.adapters.db.migrate import upgrade_to_head

    upgrade_to_head(url)
    engine = create_engine(url)
    seed_borrowers(engine, ["B1", "B2"], jurisdiction="CN")
    engine.dispose()
    return url


def invoke(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def test_attempts_outcomes_verify_and_replay(env: str) -> None:
    codes = [
        invoke("contact", "attempt", "B1", "--channel", "call", "--at", AT)[0] for _ in range(4)
    ]
    assert codes == [0, 0, 0, 1]  # the fourth call of the day hits CN.CALLS.DAILY_CAP
    code, out = invoke("contact", "attempt", "B1", "--channel", "call", "--at", AT)
    assert code == 1 and "CN.CALLS.DAILY_CAP" in out and "next allowed" in out

    code, out = invoke("contact", "outcome", "1", "--outcome", "rpc", "--conversation")
    assert code == 0 and "audit entry 6" in out
    code, out = invoke("contact", "outcome", "1", "--outcome", "rpc")
    assert code == 2 and "completed, not reserved" in out

    code, out = invoke("explain", "B1", "--at", AT)
    assert code == 0 and "CN.CALLS.DAILY_CAP" in out
    code, out = invoke("explain", "B2", "--at", AT)
    assert code == 0 and "CN.CALLS.DAILY_CAP" not in out

    code, out = invoke("audit", "verify")
    assert code == 0 and "audit chain OK: 6 entries" in out

    code, out = invoke(
        "replay", "--from", "2026-12-01", "--to", "2026-12-01", "--packs", "CN@2025.1"
    )
    assert code == 0
    assert "Replayed 5 decision(s)" in out
    assert "allowed then, blocked now: 2" in out  # the 2nd and 3rd calls
    assert "blocked then, allowed now: 0" in out
    code, out = invoke("audit", "verify", "--print-anchors")
    assert code == 0 and "7 entries" in out  # the replay is audited too
    anchors = re.findall(r"^(\d+:[0-9a-f]{64})$", out, flags=re.MULTILINE)
    # B1's chain and chain 0 (the replay, which has no borrower)
    assert len(anchors) == len({chain_of("B1"), 0})
    assert {a.split(":")[0] for a in anchors} == {"6", "7"}  # B1's last outcome, the replay
    code, out = invoke("audit", "verify", *(a for x in anchors for a in ("--anchor", x)))
    assert code == 0, out
    code, out = invoke("audit", "verify", "--anchor", "7:" + "ab" * 32)
    assert code == 1 and "anchor" in out

    engine = create_engine(env)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_log SET payload = replace(payload, 'B1', 'B9') WHERE seq = 2")
        )
    engine.dispose()
    code, out = invoke("audit", "verify")
    assert code == 1 and "BROKEN" in out and "entry 2" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "B1", "--at", "2026-12-01T10:00:00"], "no UTC offset"),
        (["explain", "B1", "--at", "tomorrow"], "ISO 8601"),
        (
            ["explain", "NOBODY", "--at", AT],
            "no borrower 'NOBODY' in the ledger (ids there look like 'B1'",
        ),
        (["contact", "attempt", "B1", "--channel", "pigeon", "--at", AT], "--channel: 'pigeon'"),
        (["contact", "attempt", "NOBODY", "--channel", "sms", "--at", AT], "no borrower"),
        (["contact", "outcome", "77", "--outcome", "rpc"], "no reservation with id 77"),
        (["contact", "outcome", "1", "--outcome", "yelled"], "unknown outcome"),
        (["replay", "--from", "2026-12-01", "--to", "2026-12-01", "--packs", "CN"], "ID@VERSION"),
        (
            ["replay", "--from", "2026-12-01", "--to", "2026-12-01", "--packs", "CN@1999.9"],
            "2025.1",
        ),
        (
            ["replay", "--from", "2026-12-02", "--to", "2026-12-01", "--packs", "CN@2025.1"],
            "before",
        ),
        (["replay", "--from", "1.12.2026", "--to", "2026-12-01", "--packs", "CN@2025.1"], "--from"),
        (["audit", "verify", "--anchor", "x"], "SEQ:HASH"),
    ],
)
def test_input_mistakes_exit_2_without_traceback(env: str, args: list[str], message: str) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output


def test_a_deleted_chain_head_is_reported_not_a_traceback(env: str) -> None:
    assert invoke("contact", "attempt", "B1", "--channel", "sms", "--at", AT)[0] == 0
    engine = create_engine(env)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_head WHERE chain = :c"), {"c": chain_of("B1")})
    engine.dispose()
    code, out = invoke("contact", "attempt", "B1", "--channel", "sms", "--at", AT)
    assert code == 2 and f"audit chain {chain_of('B1')} has no head row" in out
    code, out = invoke("audit", "verify")
    assert code == 1 and "BROKEN" in out and "no head row" in out


def test_the_gate_checks_the_account_and_the_conversation_channel(env: str) -> None:
    engine = create_engine(env)
    with engine.begin() as conn:  # B1 owns A1; B2 owns A2 (minimal account rows)
        for acc, who in (("A1", "B1"), ("A2", "B2")):
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (account_id, borrower_id, product, currency, "
                    "opened_on) VALUES (:a, :b, 'loan', 'CNY', '2025-01-01')"
                ),
                {"a": acc, "b": who},
            )
    engine.dispose()
    # another borrower's account, or one that does not exist, would dodge per-debt caps
    for acc, fragment in (("A2", "borrower 'B2''s"), ("NOPE", "not in the ledger")):
        code, out = invoke(
            "contact", "attempt", "B1", "--channel", "sms", "--at", AT, "--account", acc
        )
        assert code == 2 and fragment in out, out
    # a reservation for tomorrow noon in Shanghai, whenever the test runs (it can be cancelled)
    soon = (datetime.now(UTC) + timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    soon = soon.replace(hour=12, minute=0, second=0, microsecond=0)
    code, out = invoke(
        "contact", "attempt", "B1", "--channel", "sms", "--at", soon.isoformat(), "--account", "A1"
    )
    assert code == 0, out
    rid = re.search(r"reservation: (\d+)", out)
    assert rid is not None
    code, out = invoke(
        "contact", "outcome", rid.group(1), "--outcome", "delivered", "--conversation"
    )
    assert code == 2 and "a conversation takes a call or a visit" in out
    code, out = invoke("contact", "cancel", rid.group(1), "--reason", "message bounced before send")
    assert code == 0 and "cancelled" in out
    code, out = invoke("contact", "cancel", rid.group(1), "--reason", "again")
    assert code == 2 and "cancelled, not reserved" in out
    # a reservation whose time has passed may have been made: it cannot be cancelled
    past_at = (soon - timedelta(days=3)).isoformat()
    code, out = invoke("contact", "attempt", "B1", "--channel", "sms", "--at", past_at)
    old_rid = re.search(r"reservation: (\d+)", out)
    assert code == 0 and old_rid is not None, out
    code, out = invoke("contact", "cancel", old_rid.group(1), "--reason", "too late")
    assert code == 2 and "has passed" in " ".join(out.split())
    code, out = invoke("audit", "verify")
    assert code == 0 and "OK: 3 entries" in out  # two attempts and the one cancellation


def test_explain_judges_the_purpose_asked(env: str) -> None:
    engine = create_engine(env)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE borrowers SET vulnerable = true WHERE borrower_id = 'B2'"))
    engine.dispose()

    code, out = invoke("explain", "B2", "--at", AT)
    assert code == 0 and "ALL.HOLD.VULNERABLE" in channel_line(out, "letter")
    code, out = invoke("explain", "B2", "--at", AT, "--purpose", "support")
    assert code == 0 and channel_line(out, "letter").split() == ["letter", "allowed"]
    assert "ALL.HOLD.VULNERABLE" in channel_line(
        out, "call"
    )  # support goes by letter or e-mail only
    code, out = invoke("explain", "B2", "--at", AT, "--purpose", "nagging")
    assert code == 2 and "purpose" in out
