"""Schema of the canonical portfolio format (files) and of the normalised in-memory frames.

A portfolio is a folder holding one file per table, ``<table>.csv`` or ``<table>.parquet``.
``docs/portfolio-format.md`` documents the same schema for people; this module is the
single source of truth for code (the reader, the writer, the generator, the storage layer).

In files, amounts are plain decimal strings in major units of the account's currency
(``"1234.50"``); in the normalised frames they are ``Int64`` minor units in columns whose name
ends in ``_minor``. Dates are ISO ``YYYY-MM-DD``; instants are ISO 8601 with a UTC offset
(naive times are refused) and become ``Datetime("us", "UTC")``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

import polars as pl


class Kind(StrEnum):
    """Logical column types in files."""

    ID = "id"  # non-empty text, at most 64 characters, no control characters
    TEXT = "text"
    INT = "int"
    AMOUNT = "amount"  # decimal string in major units of the account currency
    DATE = "date"  # YYYY-MM-DD
    INSTANT = "instant"  # ISO 8601 with offset
    BOOL = "bool"  # true/false/1/0/yes/no (empty = false)
    ENUM = "enum"
    TIMEZONE = "timezone"  # IANA name; empty = unknown
    JURISDICTION = "jurisdiction"  # CC or CC-SUB (ISO 3166-1 alpha-2 / 3166-2)
    CURRENCY = "currency"  # ISO 4217
    CHANNELS = "channels"  # |-separated list of channel names
    HOURS = "hours"  # local HH:MM-HH:MM, start before end; end 24:00 (or 00:00) = midnight


@dataclass(frozen=True)
class Column:
    """One column of a table in the file format."""

    name: str
    kind: Kind
    required: bool
    doc: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    unique: bool = False
    minimum: int | None = None


@dataclass(frozen=True)
class Table:
    """One table of the portfolio: file stem, columns, whether the file must exist."""

    name: str
    required: bool
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        """Return the column called ``name`` (KeyError if absent)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Names of the columns a file must have."""
        return tuple(c.name for c in self.columns if c.required)


CHANNELS = ("call", "sms", "email", "wechat", "letter", "app_push", "visit")
OUTCOMES = (
    "connected",
    "rpc",
    "ptp",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "refused",
    "delivered",
    "failed",
)
FLAG_COLUMNS = (
    "cease_communication",
    "dispute_open",
    "deceased",
    "bankrupt",
    "represented",
    "vulnerable",
    "complaint_open",
    "hardship_pause",
    "no_workplace_contact",
    "validation_sent",
)
_FLAG_TEXT = {
    "complaint_open": "a complaint is open (collection held while it is, ALL.HOLD.COMPLAINT)",
    "hardship_pause": "a hardship or breathing-space pause is running (ALL.HOLD.VULNERABLE)",
    "no_workplace_contact": "the borrower said not to be contacted at work",
    "validation_sent": "the validation notice of an open dispute has been sent (lifts the "
    "dispute holds in the US only; elsewhere a dispute holds until it is closed)",
}

BORROWERS = Table(
    "borrowers",
    True,
    "One row per borrower.",
    (
        Column("borrower_id", Kind.ID, True, "Lender's borrower identifier.", unique=True),
        Column(
            "jurisdiction",
            Kind.JURISDICTION,
            True,
            "Where the borrower lives: ISO 3166-1 alpha-2, optionally with an ISO 3166-2 "
            "subdivision (TW, CN, GB, IE, US-CA, US-MA, US-NY-NYC for New York City).",
        ),
        Column(
            "timezone",
            Kind.TIMEZONE,
            False,
            "IANA time zone (Asia/Taipei). Empty means unknown: every candidate zone of the "
            "jurisdiction must allow a contact. A zone keeping another clock than every zone "
            "of the jurisdiction is refused (US-WA with Asia/Tokyo).",
        ),
        Column("language", Kind.TEXT, False, "BCP 47 tag for messages (zh-TW, en-GB)."),
        Column("phone", Kind.TEXT, False, "E.164 phone number."),
        Column("email", Kind.TEXT, False, "E-mail address."),
        *(
            Column(f, Kind.BOOL, False, f"Status flag: {_FLAG_TEXT.get(f, f.replace('_', ' '))}.")
            for f in FLAG_COLUMNS
        ),
        Column(
            "opt_out_channels",
            Kind.CHANNELS,
            False,
            "Channels the borrower asked not to be used, separated by |: " + "|".join(CHANNELS),
        ),
        Column(
            "consent_hours",
            Kind.HOURS,
            False,
            "Hours the borrower agreed to be contacted, local time: HH:MM-HH:MM for every "
            "channel, and/or CHANNEL=HH:MM-HH:MM for one channel, separated by | (e.g. "
            "09:00-21:00|call=07:30-22:30; 24:00 as the end = midnight; never visit). They "
            "replace the statutory hours where a rule allows it (CN: no contact 22:00-08:00 "
            "unless the borrower agreed to other times); empty = none.",
        ),
    ),
    key=("borrower_id",),
)

ACCOUNTS = Table(
    "accounts",
    True,
    "One row per credit account.",
    (
        Column("account_id", Kind.ID, True, "Lender's account identifier.", unique=True),
        Column("borrower_id", Kind.ID, True, "Owner; must exist in borrowers."),
        Column("product", Kind.ENUM, True, "loan or card.", choices=("loan", "card")),
        Column("currency", Kind.CURRENCY, True, "ISO 4217 code of every amount on the account."),
        Column("opened_on", Kind.DATE, True, "Date the account was opened or the loan paid out."),
        Column("principal", Kind.AMOUNT, False, "Amount lent (loans).", unit="major units"),
        Column("credit_limit", Kind.AMOUNT, False, "Credit limit (cards).", unit="major units"),
        Column(
            "balance",
            Kind.AMOUNT,
            False,
            "Outstanding balance on the snapshot date as the lender's system reports it.",
            unit="major units",
        ),
        Column(
            "term_days",
            Kind.INT,
            False,
            "Contractual term of a loan in days (7, 14, 90, ...).",
            unit="days",
            minimum=1,
        ),
        Column(
            "reported_dpd",
            Kind.INT,
            False,
            "Days past due as computed by the lender's system; used only when the account "
            "has no installments (e.g. cards whose processor computes delinquency).",
            unit="days",
            minimum=0,
        ),
        Column(
            "reported_past_due",
            Kind.AMOUNT,
            False,
            "Past-due amount that goes with reported_dpd.",
            unit="major units",
        ),
    ),
    key=("account_id",),
)

INSTALLMENTS = Table(
    "installments",
    True,
    "Scheduled amounts due: loan installments, or a card's minimum payment per statement.",
    (
        Column("account_id", Kind.ID, True, "Account; must exist in accounts."),
        Column("seq", Kind.INT, True, "1, 2, 3 ... unique per account.", minimum=1),
        Column("due_date", Kind.DATE, True, "Date the installment falls due."),
        Column("principal", Kind.AMOUNT, True, "Principal due.", unit="major units"),
        Column("interest", Kind.AMOUNT, False, "Interest due (default 0).", unit="major units"),
        Column("fees", Kind.AMOUNT, False, "Fees due (default 0).", unit="major units"),
    ),
    key=("account_id", "seq"),
)

PAYMENTS = Table(
    "payments",
    True,
    "Payments received.",
    (
        Column("payment_id", Kind.ID, True, "Unique payment identifier.", unique=True),
        Column("account_id", Kind.ID, True, "Account; must exist in accounts."),
        Column("paid_on", Kind.DATE, True, "Value date in the lender's books."),
        Column("amount", Kind.AMOUNT, True, "Amount received, > 0.", unit="major units"),
    ),
    key=("payment_id",),
)

STATEMENTS = Table(
    "statements",
    False,
    "Card statements (optional).",
    (
        Column("account_id", Kind.ID, True, "Account; must exist in accounts."),
        Column("statement_date", Kind.DATE, True, "Statement (billing) date."),
        Column(
            "balance",
            Kind.AMOUNT,
            True,
            "Balance billed (may be negative: a credit).",
            unit="major units",
        ),
        Column("minimum_due", Kind.AMOUNT, False, "Minimum payment due.", unit="major units"),
    ),
    key=("account_id", "statement_date"),
)

CONTACT_HISTORY = Table(
    "contact_history",
    False,
    "Past contacts (optional): what the caps and the scoring look back on.",
    (
        Column("contact_id", Kind.ID, True, "Unique contact identifier.", unique=True),
        Column("borrower_id", Kind.ID, True, "Borrower; must exist in borrowers."),
        Column("account_id", Kind.ID, False, "Account the contact was about."),
        Column("channel", Kind.ENUM, True, "Channel used.", choices=CHANNELS),
        Column(
            "direction", Kind.ENUM, True, "outbound or inbound.", choices=("outbound", "inbound")
        ),
        Column("started_at", Kind.INSTANT, True, "When it started, ISO 8601 with UTC offset."),
        Column("outcome", Kind.ENUM, True, "What happened.", choices=OUTCOMES),
        Column("agent_id", Kind.TEXT, False, "Agent or agency that made it."),
    ),
    key=("contact_id",),
)

DELINQUENCY_HISTORY = Table(
    "delinquency_history",
    False,
    "Monthly delinquency history (optional): the days past due the lender's system reported "
    "at the end of each billing cycle. Feeds the arrears-trend, cure and roll-forward "
    "features of the propensity-to-pay model.",
    (
        Column("account_id", Kind.ID, True, "Account; must exist in accounts."),
        Column("cycle_date", Kind.DATE, True, "Last day of the billing cycle (cycle end)."),
        Column(
            "dpd",
            Kind.INT,
            True,
            "Days past due at the cycle end as the lender reported it (0 = up to date).",
            unit="days",
            minimum=0,
        ),
    ),
    key=("account_id", "cycle_date"),
)

TABLES: tuple[Table, ...] = (
    BORROWERS,
    ACCOUNTS,
    INSTALLMENTS,
    PAYMENTS,
    STATEMENTS,
    CONTACT_HISTORY,
    DELINQUENCY_HISTORY,
)
TABLES_BY_NAME = {t.name: t for t in TABLES}

UTC_DT = pl.Datetime("us", "UTC")

# Normalised frames: the contract between readers (files, UCI adapter), storage and pipeline.
FRAME_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "borrowers": {
        "borrower_id": pl.String(),
        "jurisdiction": pl.String(),
        "timezone": pl.String(),  # null = unknown
        "language": pl.String(),
        "phone": pl.String(),
        "email": pl.String(),
        **{f: pl.Boolean() for f in FLAG_COLUMNS},
        "opt_out_channels": pl.String(),  # "|"-joined, "" when none
        "consent_hours": pl.String(),  # "[CHANNEL=]HH:MM-HH:MM|..." (00:00 end = midnight)
    },
    "accounts": {
        "account_id": pl.String(),
        "borrower_id": pl.String(),
        "product": pl.String(),
        "currency": pl.String(),
        "opened_on": pl.Date(),
        "principal_minor": pl.Int64(),
        "credit_limit_minor": pl.Int64(),
        "balance_minor": pl.Int64(),
        "term_days": pl.Int64(),
        "reported_dpd": pl.Int64(),
        "reported_past_due_minor": pl.Int64(),
    },
    "installments": {
        "account_id": pl.String(),
        "seq": pl.Int64(),
        "due_date": pl.Date(),
        "principal_minor": pl.Int64(),
        "interest_minor": pl.Int64(),
        "fees_minor": pl.Int64(),
    },
    "payments": {
        "payment_id": pl.String(),
        "account_id": pl.String(),
        "paid_on": pl.Date(),
        "amount_minor": pl.Int64(),
    },
    "statements": {
        "account_id": pl.String(),
        "statement_date": pl.Date(),
        "balance_minor": pl.Int64(),
        "minimum_due_minor": pl.Int64(),
    },
    "contact_history": {
        "contact_id": pl.String(),
        "borrower_id": pl.String(),
        "account_id": pl.String(),
        "channel": pl.String(),
        "direction": pl.String(),
        "started_at": UTC_DT,
        "outcome": pl.String(),
        "agent_id": pl.String(),
    },
    "delinquency_history": {
        "account_id": pl.String(),
        "cycle_date": pl.Date(),
        "dpd": pl.Int64(),
    },
}


def _empty_history() -> pl.DataFrame:
    return pl.DataFrame(schema=FRAME_SCHEMAS["delinquency_history"])


@dataclass
class PortfolioFrames:
    """A normalised portfolio: one Polars frame per table, typed as in ``FRAME_SCHEMAS``.

    Optional tables are empty frames (never None), so consumers need no special cases.
    ``delinquency_history`` may be left out when building one: it defaults to an empty frame.
    """

    borrowers: pl.DataFrame
    accounts: pl.DataFrame
    installments: pl.DataFrame
    payments: pl.DataFrame
    statements: pl.DataFrame
    contact_history: pl.DataFrame
    delinquency_history: pl.DataFrame = field(default_factory=_empty_history)

    def table(self, name: str) -> pl.DataFrame:
        """Return the frame of table ``name``."""
        frame: pl.DataFrame = getattr(self, name)
        return frame

    def items(self) -> list[tuple[str, pl.DataFrame]]:
        """(name, frame) pairs in dependency order (parents first)."""
        return [(t.name, self.table(t.name)) for t in TABLES]

    @classmethod
    def empty(cls) -> PortfolioFrames:
        """A portfolio with no rows."""
        return cls(**{n: pl.DataFrame(schema=s) for n, s in FRAME_SCHEMAS.items()})

    def conformed(self) -> PortfolioFrames:
        """Return a copy whose frames have exactly the normalised columns and dtypes.

        Raises
        ------
        ValueError
            If a frame lacks a column of its schema.
        """
        out = {}
        for name, schema in FRAME_SCHEMAS.items():
            frame = self.table(name)
            missing = [c for c in schema if c not in frame.columns]
            if missing:
                raise ValueError(f"frame {name} lacks columns {missing}")
            out[name] = frame.select([pl.col(c).cast(t) for c, t in schema.items()])
        return PortfolioFrames(**out)


#: Channels a borrower's consent hours may name (a field visit keeps the statutory hours).
CONSENT_CHANNELS: tuple[str, ...] = tuple(c for c in CHANNELS if c != "visit")

_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")


@functools.lru_cache(maxsize=4096)
def consent_problem(text: str) -> str | None:
    """Why a ``consent_hours`` cell is not valid, or None.

    A cell is ``|``-separated items: ``HH:MM-HH:MM`` (hours for every channel, at most once)
    or ``CHANNEL=HH:MM-HH:MM`` (hours for that channel, once per channel; not ``visit``).
    Midnight as an end is ``24:00``; each window starts before it ends.
    """
    bare = 0
    seen: set[str] = set()
    for raw in text.replace(" ", "").split("|"):
        channel, sep, window = raw.rpartition("=")
        if not _WINDOW.match(window):
            hint = " (items are separated by |)" if any(c in raw for c in ";,") else ""
            return f"not hours in HH:MM-HH:MM form (e.g. 07:00-23:00): {raw!r}{hint}"
        if window.endswith("-00:00"):
            return f"hours {window!r} end at 00:00: write midnight as 24:00"
        start, end = window.split("-")
        if end != "24:00" and end <= start:
            return f"hours {window!r} must start before they end (24:00 = midnight)"
        if not sep:
            bare += 1
            if bare > 1:
                return "hours for every channel given twice"
            continue
        if channel == "visit":
            return "a field visit keeps the statutory hours: no consent hours for visits"
        if channel not in CONSENT_CHANNELS:
            hint = "; items are separated by |" if any(c in channel for c in ";,") else ""
            return f"unknown channel {channel!r} (choices: {'|'.join(CONSENT_CHANNELS)}){hint}"
        if channel in seen:
            return f"hours for {channel} given twice"
        seen.add(channel)
    return None


def normalise_consent(text: str) -> str:
    """A valid cell without spaces, each end of ``24:00`` written ``00:00`` (the stored
    form)."""
    items = text.replace(" ", "").split("|")
    return "|".join(i[:-5] + "00:00" if i.endswith("-24:00") else i for i in items)


def parse_consent(
    text: str | None,
) -> tuple[tuple[time, time] | None, tuple[tuple[str, time, time], ...]]:
    """A stored ``consent_hours`` cell as (hours for every channel or None, per-channel
    hours): ``"07:00-22:00|call=07:00-00:00"`` gives ``((07:00, 22:00), (("call", 07:00,
    00:00),))``. None or "" gives ``(None, ())``.

    Raises
    ------
    ValueError
        If the text is not valid (the reader has refused such cells already).
    """
    if not text:
        return None, ()
    problem = consent_problem(text.replace("-00:00", "-24:00"))
    if problem:
        raise ValueError(f"consent hours {text!r}: {problem}")
    every: tuple[time, time] | None = None
    per: list[tuple[str, time, time]] = []
    for item in text.replace(" ", "").split("|"):
        channel, sep, window = item.rpartition("=")
        hours = parse_hours(window)
        assert hours is not None
        if sep:
            per.append((channel, *hours))
        else:
            every = hours
    return every, tuple(per)


def parse_hours(text: str | None) -> tuple[time, time] | None:
    """``"07:00-23:00"`` (a normalised ``consent_hours`` cell) as ``(time(7), time(23))``; an
    end of ``00:00`` or ``24:00`` is midnight, ``time(0)``. None or "" gives None.

    Raises
    ------
    ValueError
        If the text is not ``HH:MM-HH:MM`` (the reader has refused such cells already).
    """
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"consent hours {text!r} are not HH:MM-HH:MM")
    return time.fromisoformat(start), time(0) if end == "24:00" else time.fromisoformat(end)
