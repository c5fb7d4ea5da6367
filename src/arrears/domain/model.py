"""Borrowers, accounts, installments, statements and payments: the ledger's entities.

All amounts are integer minor units of the account's currency (see :mod:`arrears.domain.money`).
Dates are calendar dates in the lender's books; instants are timezone-aware datetimes in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class ProductType(StrEnum):
    """Kind of credit product. Stored as its string value."""

    LOAN = "loan"  # fixed installment loan, including 7/14-day single-payment loans
    CARD = "card"  # revolving credit card


class BorrowerFlag(StrEnum):
    """Status flags that change how (or whether) a borrower may be contacted."""

    CEASE_COMMUNICATION = "cease_communication"
    DISPUTE_OPEN = "dispute_open"
    DECEASED = "deceased"
    BANKRUPT = "bankrupt"
    REPRESENTED = "represented"  # represented by a lawyer: contact goes to the lawyer
    VULNERABLE = "vulnerable"


class Channel(StrEnum):
    """Contact channels. ``visit`` is a field visit."""

    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    LETTER = "letter"
    APP_PUSH = "app_push"
    VISIT = "visit"


@dataclass(frozen=True, slots=True)
class Borrower:
    """A borrower.

    Attributes
    ----------
    borrower_id : str
        The lender's identifier.
    jurisdiction : str
        ISO 3166 country code, optionally with a subdivision: ``"TW"``, ``"CN"``, ``"US-MA"``,
        ``"GB"``, ``"IE"``. Selects the rule packs.
    timezone : str or None
        IANA time zone name (``"Asia/Taipei"``); None when unknown (the strictest reading applies).
    flags : frozenset of BorrowerFlag
        Status flags in force on the snapshot date.
    opted_out : frozenset of Channel
        Channels the borrower asked not to be contacted on.
    language : str
        BCP 47 language tag for messages, e.g. ``"zh-TW"``.
    """

    borrower_id: str
    jurisdiction: str
    timezone: str | None
    flags: frozenset[BorrowerFlag] = frozenset()
    opted_out: frozenset[Channel] = frozenset()
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Account:
    """A credit account (loan or card).

    Attributes
    ----------
    account_id, borrower_id : str
        Identifiers.
    product : ProductType
    currency : str
        ISO 4217 code; every amount on the account is in it.
    opened_on : date
    principal : int
        Amount lent (loans) in minor units; 0 for cards.
    credit_limit : int or None
        Card limit in minor units.
    reported_dpd : int or None
        Days past due as reported by the lender's own system. Used only for accounts without an
        installment schedule (e.g. cards whose processor computes delinquency).
    reported_past_due : int or None
        Past-due amount reported with ``reported_dpd``, in minor units.
    """

    account_id: str
    borrower_id: str
    product: ProductType
    currency: str
    opened_on: date
    principal: int = 0
    credit_limit: int | None = None
    reported_dpd: int | None = None
    reported_past_due: int | None = None


@dataclass(frozen=True, slots=True)
class Installment:
    """One scheduled amount due (a loan installment or a card's minimum payment).

    Amounts are minor units, each component >= 0. ``seq`` orders installments of one account.
    """

    account_id: str
    seq: int
    due_date: date
    principal: int = 0
    interest: int = 0
    fees: int = 0

    @property
    def total(self) -> int:
        """Total amount due, minor units."""
        return self.principal + self.interest + self.fees

    def component(self, name: str) -> int:
        """Amount of one component (``"principal"``, ``"interest"`` or ``"fees"``)."""
        return int(getattr(self, name))


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment received, booked on ``paid_on`` (value date), amount in minor units (> 0)."""

    payment_id: str
    account_id: str
    paid_on: date
    amount: int


@dataclass(frozen=True, slots=True)
class Statement:
    """A card statement: balance billed on ``statement_date`` and the minimum due."""

    account_id: str
    statement_date: date
    balance: int
    minimum_due: int | None = None


@dataclass(frozen=True, slots=True)
class Portfolio:
    """An in-memory portfolio snapshot (used by tests and small tools, not the batch path)."""

    borrowers: tuple[Borrower, ...] = ()
    accounts: tuple[Account, ...] = ()
    installments: tuple[Installment, ...] = ()
    payments: tuple[Payment, ...] = ()
    statements: tuple[Statement, ...] = field(default_factory=tuple)
