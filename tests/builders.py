"""Hand-built test data shared by the test suites.

Everything here is small, deterministic and readable: a test that needs a portfolio starts
from :func:`small_portfolio` and changes what it is about (``frames.accounts.with_columns(...)``).

The small portfolio (all amounts are integer minor units, instants UTC):

* ``B-TW-1`` (TW, Asia/Taipei): ``A-TW-LOAN``, a TWD loan with 3 monthly installments and
  1 payment.
* ``B-NY-1`` (US-NY, dispute open, opted out of e-mail): ``A-NY-CARD``, a USD card with
  1 statement and its minimum payment as installment 1 (processor reports 35 DPD), and
  ``A-NY-LOAN``, a USD 14-day single-payment loan paid in full.
* ``B-CN-1`` (CN, time zone unknown, vulnerable, opted out of SMS and calls): ``A-CN-LOAN``,
  a CNY loan with 2 installments and no payment.
* Contact history: an outbound call to B-NY-1 about the card, an inbound e-mail from B-CN-1.

The rows deliberately include nulls and empty strings side by side (``timezone`` null,
``opt_out_channels`` ""), optional amounts left null, a contact without an account and a
timestamp with microseconds, so round-trip tests notice any of them being mangled.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from arrears.adapters.portfolio.schema import FLAG_COLUMNS, FRAME_SCHEMAS, PortfolioFrames

SNAPSHOT_DATE = date(2025, 3, 31)
"""The date the small portfolio describes (the lender's books at end of day)."""


def _frame(name: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    """Build one normalised frame from row dicts; missing keys become null."""
    schema = FRAME_SCHEMAS[name]
    return pl.DataFrame(
        [{c: row.get(c) for c in schema} for row in rows], schema=schema, orient="row"
    )


def _flags(**set_flags: bool) -> dict[str, bool]:
    unknown = set(set_flags) - set(FLAG_COLUMNS)
    if unknown:
        raise ValueError(f"unknown borrower flags {sorted(unknown)}")
    return {f: set_flags.get(f, False) for f in FLAG_COLUMNS}


def small_portfolio() -> PortfolioFrames:
    """Return a 3-borrower, 4-account portfolio in the normalised frame format.

    Returns
    -------
    PortfolioFrames
        Frames typed exactly as ``FRAME_SCHEMAS``: 3 borrowers (TW, US-NY, CN), 4 accounts
        (3 loans, 1 card), 7 installments, 2 payments, 1 statement, 2 contact history rows.
        Each call returns new frames, so callers may change them freely.
    """
    borrowers = _frame(
        "borrowers",
        [
            {
                "borrower_id": "B-TW-1",
                "jurisdiction": "TW",
                "timezone": "Asia/Taipei",
                "language": "zh-TW",
                "phone": "+886912345678",
                "email": "lin@example.tw",
                **_flags(),
                "opt_out_channels": "",
            },
            {
                "borrower_id": "B-NY-1",
                "jurisdiction": "US-NY",
                "timezone": "America/New_York",
                "language": "en-US",
                "phone": "+12125550123",
                "email": None,
                **_flags(dispute_open=True),
                "opt_out_channels": "email",
            },
            {
                "borrower_id": "B-CN-1",
                "jurisdiction": "CN",
                "timezone": None,  # unknown: the strictest reading applies
                "language": "zh-CN",
                "phone": "+8613800138000",
                "email": "",
                **_flags(vulnerable=True),
                "opt_out_channels": "sms|call",
            },
        ],
    )
    accounts = _frame(
        "accounts",
        [
            {
                "account_id": "A-TW-LOAN",
                "borrower_id": "B-TW-1",
                "product": "loan",
                "currency": "TWD",
                "opened_on": date(2024, 12, 15),
                "principal_minor": 3_000_000,
                "balance_minor": 2_050_000,
                "term_days": 90,
            },
            {
                "account_id": "A-NY-CARD",
                "borrower_id": "B-NY-1",
                "product": "card",
                "currency": "USD",
                "opened_on": date(2021, 6, 1),
                "credit_limit_minor": 500_000,
                "balance_minor": 123_456,
                "reported_dpd": 35,
                "reported_past_due_minor": 4_000,
            },
            {
                "account_id": "A-NY-LOAN",
                "borrower_id": "B-NY-1",
                "product": "loan",
                "currency": "USD",
                "opened_on": date(2025, 3, 1),
                "principal_minor": 50_000,
                "balance_minor": 0,
                "term_days": 14,
            },
            {
                "account_id": "A-CN-LOAN",
                "borrower_id": "B-CN-1",
                "product": "loan",
                "currency": "CNY",
                "opened_on": date(2025, 1, 10),
                "principal_minor": 1_000_000,
                "balance_minor": 1_030_000,
                "term_days": 60,
            },
        ],
    )
    installments = _frame(
        "installments",
        [
            *(
                {
                    "account_id": "A-TW-LOAN",
                    "seq": seq,
                    "due_date": due,
                    "principal_minor": 1_000_000,
                    "interest_minor": 25_000,
                    "fees_minor": 0,
                }
                for seq, due in enumerate(
                    (date(2025, 1, 15), date(2025, 2, 15), date(2025, 3, 15)), start=1
                )
            ),
            {
                "account_id": "A-NY-CARD",
                "seq": 1,
                "due_date": date(2025, 2, 25),
                "principal_minor": 4_000,
            },
            {
                "account_id": "A-NY-LOAN",
                "seq": 1,
                "due_date": date(2025, 3, 15),
                "principal_minor": 50_000,
                "interest_minor": 750,
                "fees_minor": None,
            },
            {
                "account_id": "A-CN-LOAN",
                "seq": 1,
                "due_date": date(2025, 2, 10),
                "principal_minor": 500_000,
                "interest_minor": 15_000,
                "fees_minor": 5_000,
            },
            {
                "account_id": "A-CN-LOAN",
                "seq": 2,
                "due_date": date(2025, 3, 10),
                "principal_minor": 500_000,
                "interest_minor": 15_000,
            },
        ],
    )
    payments = _frame(
        "payments",
        [
            {
                "payment_id": "P-0001",
                "account_id": "A-TW-LOAN",
                "paid_on": date(2025, 1, 14),
                "amount_minor": 1_025_000,
            },
            {
                "payment_id": "P-0002",
                "account_id": "A-NY-LOAN",
                "paid_on": date(2025, 3, 15),
                "amount_minor": 50_750,
            },
        ],
    )
    statements = _frame(
        "statements",
        [
            {
                "account_id": "A-NY-CARD",
                "statement_date": date(2025, 1, 31),
                "balance_minor": 119_456,
                "minimum_due_minor": 4_000,
            },
        ],
    )
    contact_history = _frame(
        "contact_history",
        [
            {
                "contact_id": "C-0001",
                "borrower_id": "B-NY-1",
                "account_id": "A-NY-CARD",
                "channel": "call",
                "direction": "outbound",
                "started_at": datetime(2025, 3, 3, 14, 30, 5, 123456, tzinfo=UTC),
                "outcome": "rpc",
                "agent_id": "agent-7",
            },
            {
                "contact_id": "C-0002",
                "borrower_id": "B-CN-1",
                "account_id": None,  # a general contact, not about one account
                "channel": "email",
                "direction": "inbound",
                "started_at": datetime(2025, 3, 20, 1, 0, tzinfo=UTC),
                "outcome": "delivered",
                "agent_id": None,
            },
        ],
    )
    return PortfolioFrames(
        borrowers=borrowers,
        accounts=accounts,
        installments=installments,
        payments=payments,
        statements=statements,
        contact_history=contact_history,
    )
