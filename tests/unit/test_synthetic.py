"""Tests of the synthetic portfolio generator (arrears.adapters.portfolio.synthetic)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from arrears.adapters.portfolio.schema import (
    CHANNELS,
    FLAG_COLUMNS,
    FRAME_SCHEMAS,
    OUTCOMES,
    TABLES,
    PortfolioFrames,
)
from arrears.adapters.portfolio.synthetic import (
    DEFAULT_TRANSITIONS,
    FLAG_RATES,
    STATES,
    TransitionMatrix,
    add_months_array,
    generate_portfolio,
    uci_transition_matrix,
)
from arrears.adapters.portfolio.writer import write_portfolio
from arrears.domain.delinquency import Assessment, add_months, assess
from arrears.domain.model import Account, Installment, Payment, ProductType

UCI_FILE = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / ("uci_taiwan_credit_default.csv")
)
AS_OF = date(2025, 6, 30)

# Expected values written out from the brief, independent of the module's own tables.
EXPECTED_ZONE = {
    "CN": "Asia/Shanghai",
    "TW": "Asia/Taipei",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "US-CA": "America/Los_Angeles",
    "US-NY": "America/New_York",
    "US-NY-NYC": "America/New_York",
    "US-MA": "America/New_York",
    "US-WA": "America/Los_Angeles",
    "US-TX": "America/Chicago",
    "US-AZ": "America/Phoenix",
}
EXPECTED_CURRENCY = {
    "CN": "CNY",
    "TW": "TWD",
    "GB": "GBP",
    "IE": "EUR",
    **{j: "USD" for j in EXPECTED_ZONE if j.startswith("US-")},
}
RESERVED_PHONE = re.compile(r"^(\+1[2-9]\d{2}55501\d{2}|\+447700900\d{3})$")
RESERVED_EMAIL = re.compile(r"^[a-z0-9]+@example\.(com|net|org)$")
CARD_FLOOR_MINOR = {"USD": 2500, "GBP": 500, "EUR": 500, "CNY": 5000, "TWD": 100000}


@pytest.fixture(scope="module")
def big() -> PortfolioFrames:
    return generate_portfolio(20_000, AS_OF, seed=11)


@pytest.fixture(scope="module")
def small() -> PortfolioFrames:
    return generate_portfolio(3_000, AS_OF, seed=3)


def _assess(
    frames: PortfolioFrames, as_of: date, ids: set[str] | None = None
) -> dict[str, Assessment]:
    """Assess accounts one by one with the domain code (the reference implementation)."""
    insts: dict[str, list[Installment]] = defaultdict(list)
    for r in frames.installments.iter_rows(named=True):
        if ids is None or r["account_id"] in ids:
            insts[r["account_id"]].append(
                Installment(
                    r["account_id"],
                    r["seq"],
                    r["due_date"],
                    r["principal_minor"],
                    r["interest_minor"],
                    r["fees_minor"],
                )
            )
    pays: dict[str, list[Payment]] = defaultdict(list)
    for r in frames.payments.iter_rows(named=True):
        if ids is None or r["account_id"] in ids:
            pays[r["account_id"]].append(
                Payment(r["payment_id"], r["account_id"], r["paid_on"], r["amount_minor"])
            )
    out: dict[str, Assessment] = {}
    for r in frames.accounts.iter_rows(named=True):
        aid = r["account_id"]
        if ids is not None and aid not in ids:
            continue
        account = Account(
            aid,
            r["borrower_id"],
            ProductType(r["product"]),
            r["currency"],
            r["opened_on"],
            r["principal_minor"] or 0,
            r["credit_limit_minor"],
        )
        out[aid] = assess(account, insts[aid], pays[aid], as_of)
    return out


# --- reproducibility and schema -------------------------------------------------------------


def test_same_seed_same_frames_and_other_seed_differs() -> None:
    a = generate_portfolio(2_000, AS_OF, seed=5)
    b = generate_portfolio(2_000, AS_OF, seed=5)
    c = generate_portfolio(2_000, AS_OF, seed=6)
    for name, frame in a.items():
        assert frame.equals(b.table(name)), name
    assert not a.accounts.equals(c.accounts)
    assert not a.borrowers.equals(c.borrowers)
    assert not a.payments.equals(c.payments)


def test_frames_have_exact_schema(small: PortfolioFrames) -> None:
    for name, frame in small.items():
        assert dict(frame.schema) == FRAME_SCHEMAS[name], name
        assert frame.height > 0, name
    conformed = small.conformed()
    for name, frame in small.items():
        assert frame.equals(conformed.table(name))


def test_ids_are_prefixed_padded_and_unique(small: PortfolioFrames) -> None:
    assert small.accounts["account_id"].to_list()[:2] == ["SA0001", "SA0002"]
    assert small.accounts["account_id"].str.contains(r"^SA\d{4}$").all()
    assert small.borrowers["borrower_id"].str.contains(r"^SB\d{4}$").all()
    n_pay = small.payments.height
    assert small.payments["payment_id"].str.contains(rf"^SP\d{{{len(str(n_pay))}}}$").all()
    n_c = small.contact_history.height
    assert small.contact_history["contact_id"].str.contains(rf"^SC\d{{{len(str(n_c))}}}$").all()
    for frame, col in (
        (small.accounts, "account_id"),
        (small.borrowers, "borrower_id"),
        (small.payments, "payment_id"),
        (small.contact_history, "contact_id"),
    ):
        assert frame[col].n_unique() == frame.height
    # Foreign keys resolve.
    assert set(small.accounts["borrower_id"]) <= set(small.borrowers["borrower_id"])
    for frame in (small.installments, small.payments, small.statements):
        assert set(frame["account_id"]) <= set(small.accounts["account_id"])


def test_borrowers_hold_one_or_two_accounts(big: PortfolioFrames) -> None:
    assert big.borrowers.height == 18_000
    per = Counter(big.accounts["borrower_id"].to_list())
    assert set(per.values()) == {1, 2}
    assert len(per) == big.borrowers.height  # every borrower holds an account


# --- contact details are fictional ------------------------------------------------------------


def test_phones_only_in_reserved_ranges(big: PortfolioFrames) -> None:
    b = big.borrowers
    phones = b.filter(pl.col("phone").is_not_null())
    assert phones.height > 5_000
    bad = [p for p in phones["phone"] if not RESERVED_PHONE.match(p)]
    assert bad == []
    # No documented fictional range for these: no phone at all.
    assert b.filter(pl.col("jurisdiction").is_in(["CN", "TW", "IE"]))["phone"].null_count() == (
        b.filter(pl.col("jurisdiction").is_in(["CN", "TW", "IE"])).height
    )
    us = phones.filter(pl.col("jurisdiction").str.starts_with("US-"))
    assert us["phone"].str.starts_with("+1").all()
    assert phones.filter(pl.col("jurisdiction") == "GB")["phone"].str.starts_with("+44").all()


def test_emails_only_at_reserved_domains(big: PortfolioFrames) -> None:
    emails = big.borrowers["email"].drop_nulls()
    assert emails.len() > 15_000
    assert [e for e in emails if not RESERVED_EMAIL.match(e)] == []
    assert set(emails.str.split("@").list.last()) == {"example.com", "example.net", "example.org"}


def test_jurisdictions_time_zones_and_currencies(big: PortfolioFrames) -> None:
    b = big.borrowers
    assert set(b["jurisdiction"]) == set(EXPECTED_ZONE)
    for jur, tz in b.select("jurisdiction", "timezone").unique().iter_rows():
        if tz is None:
            assert jur.startswith("US-"), jur
        else:
            assert tz == EXPECTED_ZONE[jur]
            ZoneInfo(tz)  # a real IANA zone
    us = b.filter(pl.col("jurisdiction").str.starts_with("US-"))
    unknown = us["timezone"].null_count() / us.height
    assert 0.002 < unknown < 0.03
    joined = big.accounts.join(b, on="borrower_id")
    for jur, cur in joined.select("jurisdiction", "currency").unique().iter_rows():
        assert cur == EXPECTED_CURRENCY[jur]


def test_flag_rates_are_near_the_documented_rates(big: PortfolioFrames) -> None:
    b = big.borrowers
    bounds = {
        "cease_communication": (0.002, 0.009),
        "dispute_open": (0.006, 0.015),
        "deceased": (0.0001, 0.003),
        "bankrupt": (0.001, 0.006),
        "represented": (0.001, 0.006),
        "vulnerable": (0.022, 0.038),
    }
    # the flags added later (complaint_open, hardship_pause, ...) are not drawn: always false
    assert set(bounds) == set(FLAG_RATES) and set(FLAG_RATES) < set(FLAG_COLUMNS)
    for flag in set(FLAG_COLUMNS) - set(FLAG_RATES):
        assert not b[flag].any()
    for flag, (low, high) in bounds.items():
        rate = b[flag].mean()
        assert isinstance(rate, float)
        assert low < rate < high, (flag, rate)
    opted = b.filter(pl.col("opt_out_channels") != "")
    assert 0.013 < opted.height / b.height < 0.028
    for value in opted["opt_out_channels"]:
        assert set(value.split("|")) <= set(CHANNELS)


# --- schedules and payments -------------------------------------------------------------------


def test_installments_are_well_formed(big: PortfolioFrames) -> None:
    inst = big.installments
    assert inst["due_date"].null_count() == 0
    assert inst.select(pl.struct("account_id", "seq").is_unique().all()).item()
    runs = inst.group_by("account_id").agg(
        pl.col("seq").min().alias("lo"), pl.col("seq").max().alias("hi"), pl.len().alias("n")
    )
    assert (runs["lo"] == 1).all()
    assert (runs["hi"] == runs["n"]).all()
    for col in ("principal_minor", "interest_minor", "fees_minor"):
        assert inst[col].null_count() == 0
        assert (inst[col] >= 0).all(), col
    assert (inst["principal_minor"] > 0).all()
    # Due dates strictly increase with seq within an account.
    ordered = inst.sort("account_id", "seq").with_columns(
        gap=(pl.col("due_date") - pl.col("due_date").shift(1)).over("account_id").dt.total_days()
    )
    assert (ordered["gap"].drop_nulls() > 0).all()
    # Some schedules straddle as_of, some lie wholly in the future.
    span = inst.group_by("account_id").agg(
        pl.col("due_date").min().alias("first"), pl.col("due_date").max().alias("last")
    )
    assert span.filter((pl.col("first") < AS_OF) & (pl.col("last") >= AS_OF)).height > 4_000
    assert span.filter(pl.col("first") > AS_OF).height > 300


def test_monthly_loans_follow_add_months_and_split_principal(big: PortfolioFrames) -> None:
    loans = big.accounts.filter((pl.col("product") == "loan") & (pl.col("term_days") > 30))
    sample = set(loans["account_id"].head(400))
    rows = big.installments.filter(pl.col("account_id").is_in(sample)).sort("account_id", "seq")
    by_acc: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in rows.iter_rows(named=True):
        by_acc[r["account_id"]].append(r)
    for r in loans.filter(pl.col("account_id").is_in(sample)).iter_rows(named=True):
        sched = by_acc[r["account_id"]]
        assert len(sched) in (3, 6, 12)
        first_due = add_months(r["opened_on"], 1)
        assert [s["due_date"] for s in sched] == [
            add_months(first_due, k) for k in range(len(sched))
        ]
        principals = [s["principal_minor"] for s in sched]
        assert sum(principals) == r["principal_minor"]  # type: ignore[arg-type]
        assert len(set(principals[:-1])) == 1
        assert principals[-1] >= principals[0]  # type: ignore[operator]
        # Interest falls as the principal is repaid.
        interest = [s["interest_minor"] for s in sched]
        assert interest == sorted(interest, reverse=True)  # type: ignore[type-var]
        assert r["term_days"] == (sched[-1]["due_date"] - r["opened_on"]).days


def test_short_loans_have_one_installment_on_term(big: PortfolioFrames) -> None:
    short = big.accounts.filter(pl.col("term_days").is_in([7, 14]))
    assert short.height > 4_000
    joined = short.join(big.installments, on="account_id")
    assert joined.height == short.height
    gap = (joined["due_date"] - joined["opened_on"]).dt.total_days()
    assert (gap == joined["term_days"]).all()
    assert joined["principal_minor_right"].sum() > 0  # the one installment repays the principal
    assert (joined["principal_minor"] == joined["principal_minor_right"]).all()


def test_due_dates_fall_on_month_ends_and_leap_day() -> None:
    frames = generate_portfolio(20_000, date(2024, 6, 30), seed=2)
    days = frames.installments["due_date"]
    assert (days == date(2024, 2, 29)).any()
    assert days.dt.day().is_in([29, 30, 31]).sum() > 500
    assert (days.dt.day() == 31).any()


def test_cards_statements_minimum_and_installments(big: PortfolioFrames) -> None:
    cards = big.accounts.filter(pl.col("product") == "card")
    assert cards.height > 3_000
    assert cards["principal_minor"].null_count() == cards.height
    assert cards["term_days"].null_count() == cards.height
    st = big.statements.join(cards.select("account_id", "currency"), on="account_id")
    assert st.height == 6 * cards.height
    latest = st.group_by("account_id").agg(pl.col("statement_date").max())["statement_date"]
    assert (latest <= AS_OF).all()
    assert (latest > AS_OF - timedelta(days=31)).all()  # the last statement is the latest one
    for r in st.head(3_000).iter_rows(named=True):
        bal = r["balance_minor"]
        five = int((Decimal(bal) * Decimal("0.05")).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        assert r["minimum_due_minor"] == min(bal, max(five, CARD_FLOOR_MINOR[r["currency"]]))
    inst = big.installments.join(cards.select("account_id"), on="account_id").sort(
        "account_id", "seq"
    )
    st_sorted = big.statements.sort("account_id", "statement_date")
    assert inst.height == st_sorted.height
    assert (inst["principal_minor"] == st_sorted["minimum_due_minor"]).all()
    gap = (inst["due_date"] - st_sorted["statement_date"]).dt.total_days()
    assert (gap == 25).all()


def test_payments_positive_and_within_the_account_life(big: PortfolioFrames) -> None:
    pays = big.payments.join(big.accounts.select("account_id", "opened_on"), on="account_id")
    assert pays.height > 40_000
    assert (pays["amount_minor"] > 0).all()
    assert (pays["paid_on"] <= AS_OF).all()
    assert (pays["paid_on"] >= pays["opened_on"]).all()
    # No account pays more than it owes in total.
    owed = big.installments.group_by("account_id").agg(
        (pl.col("principal_minor") + pl.col("interest_minor") + pl.col("fees_minor"))
        .sum()
        .alias("owed")
    )
    paid = big.payments.group_by("account_id").agg(pl.col("amount_minor").sum().alias("paid"))
    both = paid.join(owed, on="account_id")
    assert (both["paid"] <= both["owed"]).all()
    # Loan balances are what is left to pay.
    loans = (
        big.accounts.filter(pl.col("product") == "loan")
        .join(both, on="account_id", how="left")
        .join(owed, on="account_id", suffix="_all")
    )
    expected = loans["owed_all"] - loans["paid"].fill_null(0)
    assert (loans["balance_minor"] == expected).all()


# --- delinquency --------------------------------------------------------------------------------


def test_share_in_arrears_and_bucket_shape(big: PortfolioFrames) -> None:
    results = _assess(big, AS_OF)
    assert len(results) == 20_000
    buckets = Counter(a.bucket for a in results.values())
    in_arrears = sum(a.in_arrears for a in results.values()) / len(results)
    assert 0.15 < in_arrears < 0.45, buckets
    assert buckets["M1"] > buckets["M2"] > buckets["M3"]
    assert all(buckets[b] > 0 for b in ("M1", "M2", "M3", "M4", "M5", "M6", "M6+")), buckets
    assert all(a.source == "schedule" for a in results.values())


def test_assess_on_a_sample_finds_several_buckets(big: PortfolioFrames) -> None:
    ids = set(big.accounts.sample(200, seed=1)["account_id"])
    results = _assess(big, AS_OF, ids)
    assert len(results) == 200
    late = {a.bucket for a in results.values() if a.in_arrears}
    assert len(late) >= 3, late
    assert any(not a.in_arrears for a in results.values())
    assert all(a.arrears > 0 for a in results.values() if a.in_arrears)


def test_custom_transitions_drive_behaviour() -> None:
    n = len(STATES)
    identity_current = TransitionMatrix(
        STATES, tuple(tuple(1.0 if j == 0 else 0.0 for j in range(n)) for _ in range(n))
    )
    good = generate_portfolio(1_500, AS_OF, seed=4, transitions=identity_current)
    assert not any(a.in_arrears for a in _assess(good, AS_OF).values())
    assert good.contact_history.height == 0

    always_roll = TransitionMatrix(
        STATES,
        tuple(tuple(1.0 if j == min(i + 1, n - 1) else 0.0 for j in range(n)) for i in range(n)),
    )
    bad = generate_portfolio(1_500, AS_OF, seed=4, transitions=always_roll)
    results = _assess(bad, AS_OF)
    past_due = set(bad.installments.filter(pl.col("due_date") < AS_OF)["account_id"])
    assert past_due
    assert {aid for aid, a in results.items() if a.in_arrears} == past_due
    # Rolling accounts pay at most partial amounts, never a whole installment.
    assert bad.payments.height < good.payments.height


# --- contact history ----------------------------------------------------------------------------


def test_contact_history_is_plausible(big: PortfolioFrames) -> None:
    ch = big.contact_history
    assert ch.height > 1_000
    assert set(ch["direction"]) == {"outbound"}
    assert set(ch["outcome"]) <= set(OUTCOMES)
    assert set(ch["channel"]) <= {"call", "sms", "email", "wechat"}
    results = _assess(big, AS_OF, set(ch["account_id"]))
    assert all(a.in_arrears for a in results.values())
    b = big.borrowers
    joined = ch.join(b, on="borrower_id")
    assert set(joined.filter(pl.col("channel") == "wechat")["jurisdiction"]) == {"CN"}
    for flag in ("cease_communication", "deceased", "bankrupt", "represented"):
        assert not joined[flag].any(), flag
    assert joined.filter((pl.col("channel") == "email") & pl.col("email").is_null()).height == 0
    assert not any(
        ch_ in opt.split("|")
        for ch_, opt in joined.select("channel", "opt_out_channels").iter_rows()
    )
    calls = joined.filter(pl.col("channel") == "call")
    assert calls["agent_id"].str.contains(r"^A\d{3}$").all()
    start = datetime.combine(AS_OF - timedelta(days=14), datetime.min.time())
    for when, jur in joined.select("started_at", "jurisdiction").iter_rows():
        assert when.tzinfo is not None
        local = when.astimezone(ZoneInfo(EXPECTED_ZONE[jur]))
        assert 9 <= local.hour < 20, (when, jur)
        assert start.date() <= local.date() < AS_OF


# --- writing --------------------------------------------------------------------------------------


def test_write_portfolio_csv(small: PortfolioFrames, tmp_path: Path) -> None:
    written = write_portfolio(small, tmp_path, "csv")
    assert {p.name for p in written} == {f"{t.name}.csv" for t in TABLES}
    for table in TABLES:
        back = pl.read_csv(tmp_path / f"{table.name}.csv", infer_schema=False)
        assert back.columns == [c.name for c in table.columns]
        assert back.height == small.table(table.name).height
    borrowers = pl.read_csv(tmp_path / "borrowers.csv", infer_schema=False)
    assert borrowers["phone"].drop_nulls().str.starts_with("+").all()


# --- the transition matrix ------------------------------------------------------------------------


@pytest.mark.skipif(not UCI_FILE.is_file(), reason="UCI data file not present")
def test_default_transitions_recomputed_from_uci_file() -> None:
    got = uci_transition_matrix(UCI_FILE)
    assert got.states == DEFAULT_TRANSITIONS.states == STATES
    assert np.allclose(got.as_array(), DEFAULT_TRANSITIONS.as_array(), rtol=0, atol=1e-12)
    assert got.initial is not None and DEFAULT_TRANSITIONS.initial is not None
    assert np.allclose(got.initial, DEFAULT_TRANSITIONS.initial, rtol=0, atol=1e-12)
    # The September 2005 cross-section: 6,818 of 30,000 accounts past due (data README).
    assert abs((1 - got.initial[0]) - 6_818 / 30_000) < 1e-12


def test_default_transitions_are_row_stochastic() -> None:
    m = DEFAULT_TRANSITIONS.as_array()
    assert m.shape == (7, 7)
    assert np.allclose(m.sum(axis=1), 1.0)
    assert (m >= 0).all()


def _uci_csv(tmp_path: Path, rows: list[list[str]], header: str | None = None) -> Path:
    cols = header or "ID,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5,PAY_6"
    path = tmp_path / "uci.csv"
    path.write_text(cols + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_uci_matrix_counts_small_file(tmp_path: Path) -> None:
    # PAY_6 -> PAY_5 -> PAY_4 -> PAY_3 -> PAY_2 -> PAY_0, columns written PAY_0 first.
    rows = [
        ["1", "0", "2", "1", "0", "-1", "-2"],
        ["2", "7", "6", "5", "4", "3", "2"],
        ["3", "1", "1", "1", "1", "1", "1"],
        ["4", "0", "0", "0", "0", "0", "2"],
        ["5", "2", "0", "0", "0", "0", "3"],
        ["6", "0", "5", "0", "0", "0", "4"],
        ["7", "0", "6", "5", "0", "0", "0"],
    ]
    m = uci_transition_matrix(_uci_csv(tmp_path, rows))
    # Row 1: PAY_6..PAY_0 = -2,-1,0,1,2,0 -> c,c,c,1,2,c
    # Row 2: 2,3,4,5,6,7 -> 2,3,4,5,6+,6+
    p = m.as_array()
    assert p[1, 2] == pytest.approx(1 / 6)  # 1 -> 2 once, 1 -> 1 five times (row 3)
    assert p[1, 1] == pytest.approx(5 / 6)
    assert p[6, 6] == pytest.approx(1 / 2)  # 6+ -> 6+ (row 2), 6+ -> current (row 7)
    assert p[6, 0] == pytest.approx(1 / 2)
    assert m.initial is not None
    assert m.initial[0] == pytest.approx(4 / 7)


def test_uci_matrix_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        uci_transition_matrix(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match=r"missing column.*PAY_6"):
        uci_transition_matrix(
            _uci_csv(tmp_path, [["1", "0", "0", "0", "0", "0"]], "ID,PAY_0,PAY_2,PAY_3,PAY_4,PAY_5")
        )
    bad = [["1", "0", "0", "0", "0", "0", "0"], ["2", "0", "x", "0", "0", "0", "0"]]
    with pytest.raises(ValueError, match=r"line 3, column PAY_2.*'x'"):
        uci_transition_matrix(_uci_csv(tmp_path, bad))
    out_of_range = [["1", "0", "0", "0", "0", "0", "12"]]
    with pytest.raises(ValueError, match=r"line 2, column PAY_6"):
        uci_transition_matrix(_uci_csv(tmp_path, out_of_range))
    never_late = [["1", "0", "0", "0", "0", "0", "0"]]
    with pytest.raises(ValueError, match="never occurs"):
        uci_transition_matrix(_uci_csv(tmp_path, never_late))


def test_transition_matrix_validation() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        TransitionMatrix(("current",), ((1.0,),))
    with pytest.raises(ValueError, match="2 x 2"):
        TransitionMatrix(("a", "b"), ((1.0, 0.0),))
    with pytest.raises(ValueError, match="sums to"):
        TransitionMatrix(("a", "b"), ((0.5, 0.4), (0.0, 1.0)))
    with pytest.raises(ValueError, match="must be finite"):
        TransitionMatrix(("a", "b"), ((1.5, -0.5), (0.0, 1.0)))
    with pytest.raises(ValueError, match="initial"):
        TransitionMatrix(("a", "b"), ((1.0, 0.0), (0.0, 1.0)), (0.5,))
    with pytest.raises(ValueError, match="initial distribution sums"):
        TransitionMatrix(("a", "b"), ((1.0, 0.0), (0.0, 1.0)), (0.5, 0.6))


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_portfolio(0, AS_OF)
    with pytest.raises(TypeError, match="date"):
        generate_portfolio(10, datetime(2025, 6, 30))
    with pytest.raises(TypeError, match="n_accounts"):
        generate_portfolio(10.0, AS_OF)  # type: ignore[arg-type]


def test_tiny_portfolios_work() -> None:
    for n in (1, 2, 7):
        frames = generate_portfolio(n, AS_OF, seed=n)
        assert frames.accounts.height == n
        assert frames.borrowers.height == max(1, round(0.9 * n))
        assert frames.accounts["account_id"][0] == "SA" + "1".zfill(len(str(n)))


def test_add_months_array_matches_domain_add_months() -> None:
    days = np.arange(np.datetime64("2023-01-01"), np.datetime64("2025-01-01"))
    anchors = days.astype(object)
    for k in (-13, -1, 0, 1, 2, 11, 12, 25):
        got = add_months_array(days, k).astype(object)
        assert list(got) == [add_months(a, k) for a in anchors], k
