"""The vectorised batch assessment agrees with the domain reference on any ledger."""

from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.delinquency import Waterfall, assess
from arrears.domain.model import Account, Installment, Payment, ProductType
from arrears.pipeline.assess import assess_portfolio

BASE = date(2023, 12, 15)

amount = st.integers(min_value=0, max_value=50_000)
installment = st.tuples(st.integers(0, 500), amount, amount, amount)
payment = st.tuples(st.integers(0, 560), st.integers(1, 80_000))
waterfalls = st.permutations(["fees", "interest", "principal"]).map(lambda p: Waterfall(tuple(p)))


@st.composite
def ledgers(draw):
    accounts = []
    for k in range(draw(st.integers(1, 4))):
        insts = draw(st.lists(installment, max_size=6))
        pays = draw(st.lists(payment, max_size=5))
        reported = draw(st.one_of(st.none(), st.integers(0, 400)))
        accounts.append((f"A{k}", insts, pays, reported))
    return accounts


@settings(max_examples=150, deadline=None)
@given(ledgers(), st.integers(0, 600), waterfalls)
def test_batch_equals_reference(ledger, as_of_offset, waterfall):
    as_of = BASE + timedelta(days=as_of_offset)
    acc_rows, inst_rows, pay_rows, expected = [], [], [], {}
    for aid, insts, pays, reported in ledger:
        acct = Account(
            aid,
            "B",
            ProductType.LOAN,
            "USD",
            BASE,
            reported_dpd=reported,
            reported_past_due=None if reported is None else 123,
        )
        installments = [
            Installment(aid, i + 1, BASE + timedelta(days=d), p, it, f)
            for i, (d, p, it, f) in enumerate(insts)
        ]
        payments = [
            Payment(f"{aid}-P{i}", aid, BASE + timedelta(days=d), a)
            for i, (d, a) in enumerate(pays)
        ]
        expected[aid] = assess(acct, installments, payments, as_of, waterfall=waterfall)
        acc_rows.append(
            {
                "account_id": aid,
                "reported_dpd": reported,
                "reported_past_due_minor": acct.reported_past_due,
            }
        )
        inst_rows += [
            {
                "account_id": aid,
                "seq": i.seq,
                "due_date": i.due_date,
                "principal_minor": i.principal,
                "interest_minor": i.interest,
                "fees_minor": i.fees,
            }
            for i in installments
        ]
        pay_rows += [
            {
                "payment_id": p.payment_id,
                "account_id": aid,
                "paid_on": p.paid_on,
                "amount_minor": p.amount,
            }
            for p in payments
        ]
    accounts = pl.DataFrame(
        acc_rows,
        schema={
            "account_id": pl.String,
            "reported_dpd": pl.Int64,
            "reported_past_due_minor": pl.Int64,
        },
    )
    installments_df = pl.DataFrame(
        inst_rows,
        schema={
            "account_id": pl.String,
            "seq": pl.Int64,
            "due_date": pl.Date,
            "principal_minor": pl.Int64,
            "interest_minor": pl.Int64,
            "fees_minor": pl.Int64,
        },
    )
    payments_df = pl.DataFrame(
        pay_rows,
        schema={
            "payment_id": pl.String,
            "account_id": pl.String,
            "paid_on": pl.Date,
            "amount_minor": pl.Int64,
        },
    )
    got = assess_portfolio(accounts, installments_df, payments_df, as_of, waterfall=waterfall)
    assert got.height == len(expected)
    for row in got.iter_rows(named=True):
        ref = expected[row["account_id"]]
        assert row["dpd"] == ref.dpd
        assert row["bucket"] == ref.bucket
        assert row["arrears_minor"] == ref.arrears
        assert row["dpd_source"] == ref.source
        assert row["oldest_unpaid_due"] == ref.oldest_unpaid_due
        assert row["past_due_installments"] == ref.past_due_installments
        assert row["credit_minor"] == ref.credit
        if ref.arrears_by_component:
            for comp, value in ref.arrears_by_component.items():
                assert row[f"arrears_{comp}_minor"] == value
