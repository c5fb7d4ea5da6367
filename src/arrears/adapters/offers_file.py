"""Read one offer back from a daily run's ``offers.csv`` (columns in docs/outputs.md).

Used by ``arrears plan accept``: the borrower accepts an offer the daily run made, and the
plan is rebuilt from the row. Amounts in the file are decimal strings in major units with
exactly the currency's decimals; they are parsed to integer minor units here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from arrears.domain.money import MoneyError, parse_minor

OFFER_FIELDS = (
    "account_id",
    "offer_type",
    "installments",
    "installment_amount",
    "total_cost",
    "currency",
    "amount_owed",
    "first_due",
)


class OfferFileError(ValueError):
    """A bad or missing offer: names the file, the line, the field and why."""

    def __init__(self, path: Path, line: int, field: str, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, reason
        where = f"line {line}, " if line else ""
        super().__init__(f"{path}, {where}field {field!r}: {reason}")


@dataclass(frozen=True)
class OfferRow:
    """One offer of ``offers.csv``; amounts in minor units of ``currency``.

    Attributes
    ----------
    line : int
        Line of the file (the header is line 1).
    first_due : date or None
        None for an offer without a schedule.
    """

    path: Path
    line: int
    account_id: str
    offer_type: str
    installments: int
    installment_minor: int
    total_minor: int
    amount_owed_minor: int
    currency: str
    first_due: date | None


def read_offer(path: Path, account_id: str, offer_type: str) -> OfferRow:
    """The row of ``path`` for ``account_id`` and ``offer_type``.

    Raises
    ------
    OfferFileError
        If the file cannot be read, lacks a column, has no such offer (line 0), or the row
        has a bad value (its line and field named).
    """
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [f for f in OFFER_FIELDS if f not in (reader.fieldnames or [])]
            if missing:
                raise OfferFileError(path, 1, missing[0], "column missing (is it offers.csv?)")
            for row in reader:
                if row["account_id"] == account_id and row["offer_type"] == offer_type:
                    return _parse(path, reader.line_num, row)
    except OSError as exc:
        raise OfferFileError(path, 0, "-", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise OfferFileError(path, 0, "-", f"not UTF-8 text: {exc.reason}") from None
    raise OfferFileError(
        path, 0, "offer_type", f"no {offer_type} offer for account {account_id!r} in the file"
    )


def _parse(path: Path, line: int, row: dict[str, str]) -> OfferRow:
    currency = row["currency"].strip()
    try:
        parse_minor("0", currency)
    except MoneyError as exc:
        raise OfferFileError(path, line, "currency", str(exc)) from None

    def money(field: str) -> int:
        try:
            return parse_minor(row[field], currency)
        except MoneyError as exc:
            raise OfferFileError(path, line, field, str(exc)) from None

    text = row["installments"].strip()
    if not text.isdigit():
        raise OfferFileError(path, line, "installments", f"not a whole number: {text!r}")
    first_due: date | None = None
    if row["first_due"].strip():
        try:
            first_due = date.fromisoformat(row["first_due"].strip())
        except ValueError:
            raise OfferFileError(
                path, line, "first_due", f"not a date YYYY-MM-DD: {row['first_due']!r}"
            ) from None
    return OfferRow(
        path=path,
        line=line,
        account_id=row["account_id"],
        offer_type=row["offer_type"],
        installments=int(text),
        installment_minor=money("installment_amount"),
        total_minor=money("total_cost"),
        amount_owed_minor=money("amount_owed"),
        currency=currency,
        first_due=first_due,
    )
