"""Ledger features and the baseline propensity-to-pay model."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from arrears.adapters.portfolio.schema import FRAME_SCHEMAS, PortfolioFrames
from arrears.adapters.portfolio.uci import UCI_AS_OF, load_uci, uci_labels
from arrears.domain.delinquency import assess
from arrears.domain.model import Account, Installment, Payment, ProductType
from arrears.pipeline.features import FEATURE_NAMES, MODEL_FEATURES, FeatureError, ledger_features
from arrears.pipeline.ptp_model import (
    MODEL_VERSION,
    PtpModel,
    PtpModelError,
    load_default_model,
    train_ptp_model,
)

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("ARREARS_DATA_DIR", REPO / ".." / "shared" / "data"))
UCI_FILE = DATA_DIR / "uci_taiwan_credit_default.csv"

AS_OF = date(2024, 6, 30)  # 92-day window starts 2024-03-31, 183-day window 2023-12-31


def _frame(name: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = FRAME_SCHEMAS[name]
    full = [{c: r.get(c) for c in schema} for r in rows]
    return pl.DataFrame(full, schema=schema)


def _account(account_id: str, product: str, currency: str, **kw: object) -> dict[str, object]:
    return {
        "account_id": account_id,
        "borrower_id": "B" + account_id,
        "product": product,
        "currency": currency,
        "opened_on": date(2023, 1, 1),
        "principal_minor": 0,
        **kw,
    }


# Loan L1 (JPY, exponent 0): 3 monthly installments of 30000 principal + 1000 interest.
L1_INSTALLMENTS = [
    Installment("L1", k, d, principal=30_000, interest=1_000)
    for k, d in enumerate([date(2024, 5, 15), date(2024, 6, 15), date(2024, 7, 15)], start=1)
]
L1_PAYMENTS = [
    Payment("L1-a", "L1", date(2024, 5, 15), 31_000),
    Payment("L1-b", "L1", date(2024, 6, 20), 10_000),
]


@pytest.fixture
def tiny() -> PortfolioFrames:
    accounts = [
        # Card with statements, limit 10,000.00, balance 5,000.00.
        _account("C1", "card", "USD", credit_limit_minor=1_000_000, balance_minor=500_000),
        # Card without statements: utilisation from its balance, clipped at 2.
        _account("C2", "card", "USD", credit_limit_minor=100_000, balance_minor=300_000),
        # Card with no limit and a credit balance.
        _account("C3", "card", "USD", credit_limit_minor=None, balance_minor=-20_000),
        _account("L1", "loan", "JPY", principal_minor=90_000, balance_minor=52_000),
        # Loan without principal or schedule, with a payment: nothing billed.
        _account("L2", "loan", "USD", principal_minor=0, balance_minor=None),
    ]
    statements = [
        {"account_id": "C1", "statement_date": date(2024, 3, 31), "balance_minor": 100_000},
        {"account_id": "C1", "statement_date": date(2024, 4, 30), "balance_minor": 200_000},
        {"account_id": "C1", "statement_date": date(2024, 5, 31), "balance_minor": -50_000},
        {"account_id": "C1", "statement_date": date(2024, 6, 30), "balance_minor": 400_000},
        {"account_id": "C1", "statement_date": date(2024, 7, 31), "balance_minor": 9_999_900},
    ]
    c1_pay = [
        (date(2024, 6, 30), 150_000),  # on the as-of date: counts
        (date(2024, 3, 31), 150_000),  # first day of the 92-day window
        (date(2024, 3, 30), 70_000),  # outside 92 days, inside 183
        (date(2023, 12, 31), 10_000),  # first day of the 183-day window
        (date(2023, 12, 30), 5_000),  # outside both windows
        (date(2024, 7, 1), 999_900),  # after as-of: ignored
    ]
    payments = [
        {"payment_id": f"C1-{i}", "account_id": "C1", "paid_on": d, "amount_minor": a}
        for i, (d, a) in enumerate(c1_pay)
    ]
    payments += [
        {
            "payment_id": p.payment_id,
            "account_id": p.account_id,
            "paid_on": p.paid_on,
            "amount_minor": p.amount,
        }
        for p in L1_PAYMENTS
    ]
    payments.append(
        {
            "payment_id": "L2-a",
            "account_id": "L2",
            "paid_on": date(2024, 6, 1),
            "amount_minor": 1000,
        }
    )
    installments = [
        {
            "account_id": i.account_id,
            "seq": i.seq,
            "due_date": i.due_date,
            "principal_minor": i.principal,
            "interest_minor": i.interest,
            "fees_minor": i.fees,
        }
        for i in L1_INSTALLMENTS
    ]
    return PortfolioFrames(
        borrowers=pl.DataFrame(schema=FRAME_SCHEMAS["borrowers"]),
        accounts=_frame("accounts", accounts),
        installments=_frame("installments", installments),
        payments=_frame("payments", payments),
        statements=_frame("statements", statements),
        contact_history=pl.DataFrame(schema=FRAME_SCHEMAS["contact_history"]),
    )


def _l1_assessment() -> tuple[int, int]:
    acc = Account("L1", "BL1", ProductType.LOAN, "JPY", date(2023, 1, 1), principal=90_000)
    a = assess(acc, L1_INSTALLMENTS, L1_PAYMENTS, AS_OF)
    return a.dpd, a.arrears


@pytest.fixture
def assessed() -> pl.DataFrame:
    l1_dpd, l1_arrears = _l1_assessment()
    return pl.DataFrame(
        {
            "account_id": ["C1", "C2", "C3", "L1", "L2"],
            "dpd": [45, 0, 0, l1_dpd, 0],
            "arrears_minor": [0, 0, 0, l1_arrears, 0],
        }
    )


def test_domain_assessment_of_the_tiny_loan() -> None:
    # 62,000 due before as-of, 41,000 paid: 21,000 in arrears since 2024-06-15.
    assert _l1_assessment() == (15, 21_000)


def test_features_on_a_hand_built_portfolio(tiny: PortfolioFrames, assessed: pl.DataFrame) -> None:
    f = ledger_features(tiny, AS_OF, assessed)
    assert f.columns == ["account_id", *MODEL_FEATURES]
    assert f.get_column("account_id").to_list() == ["C1", "C2", "C3", "L1", "L2"]
    got = {r["account_id"]: r for r in f.iter_rows(named=True)}

    c1 = got["C1"]
    assert (c1["dpd"], c1["cycles_delinquent"]) == (45, 2)
    # Paid 3,000.00 in the window / billed 4,000 + 0 (credit) + 2,000 (three latest statements).
    assert c1["pay_to_bill_3m"] == pytest.approx(3_000 / 6_000)
    assert c1["payments_6m"] == 4
    assert c1["utilisation"] == pytest.approx(4_000 / 10_000)  # latest statement on/before as-of
    assert c1["log_balance"] == pytest.approx(math.log(1 + 5_000.00))

    c2 = got["C2"]
    assert (c2["dpd"], c2["cycles_delinquent"], c2["payments_6m"]) == (0, 0, 0)
    assert c2["pay_to_bill_3m"] == 0.0
    assert c2["utilisation"] == 2.0  # 3,000 / 1,000 clipped to 2
    assert c2["log_balance"] == pytest.approx(math.log(1 + 3_000.00))

    c3 = got["C3"]
    assert c3["utilisation"] == 0.0  # no limit
    assert c3["log_balance"] == 0.0  # credit balance counts as 0

    l1 = got["L1"]
    assert (l1["dpd"], l1["cycles_delinquent"], l1["payments_6m"]) == (15, 1, 2)
    # Paid 41,000 of 62,000 due in the window (two installments).
    assert l1["pay_to_bill_3m"] == pytest.approx(41_000 / 62_000)
    # (21,000 arrears + 31,000 future installment unpaid) / 90,000 principal.
    assert l1["utilisation"] == pytest.approx(52_000 / 90_000)
    assert l1["log_balance"] == pytest.approx(math.log(1 + 52_000))  # JPY has no minor unit

    l2 = got["L2"]
    assert (l2["pay_to_bill_3m"], l2["utilisation"], l2["log_balance"]) == (0.0, 0.0, 0.0)
    assert l2["payments_6m"] == 1


def test_assessment_order_does_not_matter(tiny: PortfolioFrames, assessed: pl.DataFrame) -> None:
    aligned = ledger_features(tiny, AS_OF, assessed)
    shuffled = ledger_features(tiny, AS_OF, assessed.reverse())
    assert shuffled.equals(aligned)
    assert shuffled.get_column("account_id").to_list() == ["C1", "C2", "C3", "L1", "L2"]


def test_loan_payments_beyond_arrears_reduce_future_unpaid(
    tiny: PortfolioFrames, assessed: pl.DataFrame
) -> None:
    extra = pl.DataFrame(
        {
            "payment_id": ["L1-c"],
            "account_id": ["L1"],
            "paid_on": [date(2024, 6, 29)],
            "amount_minor": [30_000],
        },
        schema=FRAME_SCHEMAS["payments"],
    )
    frames = replace(tiny, payments=pl.concat([tiny.payments, extra]))
    # 71,000 paid: the 62,000 past due is settled and 9,000 goes to July's 31,000.
    cleared = assessed.with_columns(
        pl.when(pl.col("account_id") == "L1").then(0).otherwise(pl.col("dpd")).alias("dpd"),
        pl.when(pl.col("account_id") == "L1")
        .then(0)
        .otherwise(pl.col("arrears_minor"))
        .alias("arrears_minor"),
    )
    f = ledger_features(frames, AS_OF, cleared).filter(pl.col("account_id") == "L1")
    assert f.get_column("utilisation")[0] == pytest.approx(22_000 / 90_000)


def test_features_refuse_an_incomplete_assessment(
    tiny: PortfolioFrames, assessed: pl.DataFrame
) -> None:
    with pytest.raises(FeatureError, match="L2"):
        ledger_features(tiny, AS_OF, assessed.filter(pl.col("account_id") != "L2"))
    with pytest.raises(FeatureError, match="arrears_minor"):
        ledger_features(tiny, AS_OF, assessed.drop("arrears_minor"))
    with pytest.raises(FeatureError, match="repeats"):
        ledger_features(tiny, AS_OF, pl.concat([assessed, assessed.head(1)]))


def test_features_refuse_an_unknown_currency(tiny: PortfolioFrames, assessed: pl.DataFrame) -> None:
    accounts = tiny.accounts.with_columns(
        pl.when(pl.col("account_id") == "C2")
        .then(pl.lit("XXX"))
        .otherwise(pl.col("currency"))
        .alias("currency")
    )
    with pytest.raises(FeatureError, match="XXX"):
        ledger_features(replace(tiny, accounts=accounts), AS_OF, assessed)


# --- the model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uci() -> tuple[PortfolioFrames, pl.DataFrame]:
    return load_uci(UCI_FILE), uci_labels(UCI_FILE)


@pytest.fixture(scope="module")
def retrained(uci: tuple[PortfolioFrames, pl.DataFrame]) -> PtpModel:
    frames, labels = uci
    model, metrics = train_ptp_model(frames, labels, UCI_AS_OF, seed=2005)
    assert model.metrics == metrics
    return model


def test_shipped_model_describes_itself() -> None:
    model = load_default_model()
    assert model.version == MODEL_VERSION == "ptp-logit-v1"
    assert model.feature_names == FEATURE_NAMES
    assert model.data_as_of == UCI_AS_OF
    assert (model.metrics.n_train, model.metrics.n_test) == (21_000, 9_000)


def test_shipped_artefact_comes_from_this_code_and_this_file(retrained: PtpModel) -> None:
    shipped = load_default_model()
    assert retrained.feature_names == shipped.feature_names
    assert retrained.training_data_sha256 == shipped.training_data_sha256
    for name, got, want in [
        ("intercept", (retrained.intercept,), (shipped.intercept,)),
        ("coefficients", retrained.coefficients, shipped.coefficients),
        ("means", retrained.means, shipped.means),
        ("scales", retrained.scales, shipped.scales),
    ]:
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert abs(g - w) <= 1e-9, name
    assert abs(retrained.metrics.auc - shipped.metrics.auc) <= 1e-9
    assert abs(retrained.metrics.ks - shipped.metrics.ks) <= 1e-9
    assert abs(retrained.metrics.brier - shipped.metrics.brier) <= 1e-9
    file_hash = hashlib.sha256(UCI_FILE.read_bytes()).hexdigest()
    assert file_hash in shipped.source


def test_held_out_performance_is_useful_and_not_leaky(retrained: PtpModel) -> None:
    m = retrained.metrics
    assert m.auc >= 0.70
    assert m.auc < 0.85  # above this the split or the features leak the label
    assert 0.2 < m.ks < 0.6
    assert m.brier < m.base_rate * (1 - m.base_rate)  # better than predicting the base rate
    assert m.base_rate == pytest.approx(1 - 6_636 / 30_000, abs=0.001)  # stratified split


def test_different_seed_gives_a_different_split(
    uci: tuple[PortfolioFrames, pl.DataFrame], retrained: PtpModel
) -> None:
    frames, labels = uci
    other, _ = train_ptp_model(frames, labels, UCI_AS_OF, seed=7)
    assert other.seed == 7
    assert other.coefficients != retrained.coefficients
    assert other.training_data_sha256 == retrained.training_data_sha256  # same data


def test_save_load_round_trip(tmp_path: Path, retrained: PtpModel) -> None:
    for model in (retrained, load_default_model()):
        path = tmp_path / "m.json"
        model.save(path)
        assert PtpModel.load(path) == model
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data["coefficients"][0], float)


def test_load_refuses_a_damaged_artefact(tmp_path: Path) -> None:
    data = load_default_model().to_dict()
    del data["intercept"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PtpModelError, match="intercept"):
        PtpModel.load(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(PtpModelError, match="line 1"):
        PtpModel.load(path)
    data = load_default_model().to_dict()
    data["scales"][0] = 0.0
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PtpModelError, match="scale"):
        PtpModel.load(path)


def test_scores_are_probabilities(uci: tuple[PortfolioFrames, pl.DataFrame]) -> None:
    frames, _ = uci
    model = load_default_model()
    assessed = frames.accounts.select(
        "account_id",
        pl.col("reported_dpd").alias("dpd"),
        pl.col("reported_past_due_minor").alias("arrears_minor"),
    )
    s = model.score(ledger_features(frames, UCI_AS_OF, assessed))
    assert s.name == "score"
    assert s.len() == 30_000
    assert s.null_count() == 0
    assert s.min() >= 0.0 and s.max() <= 1.0
    extreme = pl.DataFrame({n: [1e6, -1e6] for n in FEATURE_NAMES})
    e = model.score(extreme)
    assert e.null_count() == 0 and all(0.0 <= v <= 1.0 for v in e)


def test_score_is_monotone_decreasing_in_dpd(tiny: PortfolioFrames) -> None:
    # 301 copies of card C1 that differ only in DPD 0..300 (cycles follow DPD).
    model = load_default_model()
    c1 = tiny.accounts.filter(pl.col("account_id") == "C1")
    n = 301
    ids = [f"C1-{d}" for d in range(n)]
    accounts = pl.concat([c1] * n).with_columns(pl.Series("account_id", ids))
    statements = pl.concat(
        [tiny.statements.with_columns(pl.lit(i).alias("account_id")) for i in ids]
    )
    payments = pl.concat(
        [
            tiny.payments.filter(pl.col("account_id") == "C1").with_columns(
                pl.lit(i).alias("account_id"),
                (pl.lit(i) + pl.col("payment_id")).alias("payment_id"),
            )
            for i in ids
        ]
    )
    frames = replace(
        tiny,
        accounts=accounts,
        statements=statements,
        payments=payments,
        installments=tiny.installments.clear(),
    )
    assessed = pl.DataFrame({"account_id": ids, "dpd": list(range(n)), "arrears_minor": [0] * n})
    feats = ledger_features(frames, AS_OF, assessed)
    others = [c for c in FEATURE_NAMES if c not in ("dpd", "cycles_delinquent")]
    assert feats.select(others).n_unique() == 1  # all else equal
    scores = model.score(feats).to_list()
    # strictly decreasing up to the 60-day cap, flat beyond it
    assert all(b < a for a, b in itertools.pairwise(scores[:61]))
    assert all(b == a for a, b in itertools.pairwise(scores[60:]))
    assert scores[0] - scores[-1] > 0.2


def test_score_refuses_missing_or_null_features() -> None:
    model = load_default_model()
    with pytest.raises(PtpModelError, match="utilisation"):
        model.score(pl.DataFrame({n: [0.0] for n in FEATURE_NAMES if n != "utilisation"}))
    with_null = pl.DataFrame({n: [0.0] for n in FEATURE_NAMES}).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("dpd")
    )
    with pytest.raises(PtpModelError, match="dpd"):
        model.score(with_null)


def test_training_refuses_labels_that_do_not_match(
    uci: tuple[PortfolioFrames, pl.DataFrame],
) -> None:
    frames, labels = uci
    with pytest.raises(PtpModelError, match="no label"):
        train_ptp_model(frames, labels.head(100), UCI_AS_OF)
    with pytest.raises(PtpModelError, match="not 0 or 1"):
        train_ptp_model(
            frames, labels.with_columns(pl.lit(2).alias("default_next_month")), UCI_AS_OF
        )
