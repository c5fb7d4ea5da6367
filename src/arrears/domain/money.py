"""Money as integer minor units with an ISO 4217 currency code.

Money is never a float. Amounts are whole numbers of the currency's minor unit (cents, fen);
conversion from decimal text rounds half to even only when the caller asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies arrears ships with. TWD is 2 in ISO 4217
# even though cash is rarely handled below one dollar; we follow the standard.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "TWD": 2,
    "HKD": 2,
    "USD": 2,
    "GBP": 2,
    "EUR": 2,
    "JPY": 0,
    "KRW": 0,
    "SGD": 2,
    "INR": 2,
    "PHP": 2,
    "IDR": 2,
    "MXN": 2,
    "BRL": 2,
}


class MoneyError(ValueError):
    """Raised for an unknown currency, a currency mismatch or an amount that is not exact."""


def minor_exponent(currency: str) -> int:
    """Return the number of decimal places of ``currency``'s minor unit.

    Raises
    ------
    MoneyError
        If the code is not a known ISO 4217 currency.
    """
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"unknown ISO 4217 currency code {currency!r}") from None


def parse_minor(text: str, currency: str, *, rounding: str | None = None) -> int:
    """Parse a decimal string (``"1234.56"``) into integer minor units of ``currency``.

    Parameters
    ----------
    text : str
        A plain decimal number; no thousands separators, no exponent.
    currency : str
        ISO 4217 code; sets how many decimal places are allowed.
    rounding : str, optional
        A :mod:`decimal` rounding mode (e.g. ``ROUND_HALF_EVEN``). Without it, more decimal
        places than the currency has is an error rather than a silent rounding.

    Raises
    ------
    MoneyError
        If ``text`` is not a decimal number, is not finite, or has too many decimal places.
    """
    exp = minor_exponent(currency)
    raw = text.strip()
    if not raw or any(c in raw for c in "eE_, "):
        raise MoneyError(f"not a plain decimal amount: {text!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise MoneyError(f"amount is not finite: {text!r}")
    scaled = value.scaleb(exp)
    if scaled != scaled.to_integral_value():
        if rounding is None:
            raise MoneyError(f"{text!r} has more than {exp} decimal places for {currency}")
        scaled = scaled.quantize(Decimal(1), rounding=rounding)
    return int(scaled)


def format_minor(amount: int, currency: str) -> str:
    """Format integer minor units as a plain decimal string (``123456, "USD" -> "1234.56"``)."""
    exp = minor_exponent(currency)
    if exp == 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}"


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount of one currency.

    Attributes
    ----------
    minor : int
        Amount in the currency's minor unit (e.g. cents). May be negative (a credit).
    currency : str
        ISO 4217 code, e.g. ``"TWD"``.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError(f"Money needs integer minor units, got {type(self.minor).__name__}")
        minor_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in ``currency``."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str, *, rounding: str | None = None) -> Money:
        """Parse a decimal string; see :func:`parse_minor` for the rules and errors."""
        return cls(parse_minor(text, currency, rounding=rounding), currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str, rounding: str = ROUND_HALF_EVEN) -> Money:
        """Round a Decimal (e.g. from a rate) to minor units, half to even by default."""
        exp = minor_exponent(currency)
        return cls(int(value.scaleb(exp).quantize(Decimal(1), rounding=rounding)), currency)

    def to_decimal(self) -> Decimal:
        """Return the amount as an exact Decimal in major units."""
        return Decimal(self.minor).scaleb(-minor_exponent(self.currency))

    def __str__(self) -> str:
        return f"{format_minor(self.minor, self.currency)} {self.currency}"

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"currency mismatch: {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.minor >= other.minor

    def is_zero(self) -> bool:
        """True when the amount is exactly zero."""
        return self.minor == 0

    def decimal_string(self) -> str:
        """The amount as a plain decimal string without the currency, e.g. ``"1234.50"``."""
        return format_minor(self.minor, self.currency)
