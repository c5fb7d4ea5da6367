from decimal import Decimal

import pytest

from arrears.domain.money import Money, MoneyError, format_minor, parse_minor


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1234.56", "USD", 123456),
        ("0.05", "CNY", 5),
        ("-3.1", "GBP", -310),
        ("700", "JPY", 700),
        ("12", "TWD", 1200),
    ],
)
def test_parse_minor_exact(text, currency, minor):
    assert parse_minor(text, currency) == minor


@pytest.mark.parametrize("text", ["1.234", "abc", "", "1e3", "1,000.00", "nan", "inf", "1 000"])
def test_parse_minor_refuses_inexact_or_malformed(text):
    with pytest.raises(MoneyError):
        parse_minor(text, "USD")


def test_parse_minor_rounds_only_when_asked():
    assert parse_minor("1.235", "USD", rounding="ROUND_HALF_EVEN") == 124
    assert parse_minor("1.225", "USD", rounding="ROUND_HALF_EVEN") == 122


def test_format_minor_round_trips():
    for minor in (0, 5, -5, 100, 123456, -123456):
        assert parse_minor(format_minor(minor, "EUR"), "EUR") == minor
    assert format_minor(-5, "USD") == "-0.05"
    assert format_minor(700, "JPY") == "700"


def test_money_arithmetic_and_currency_mismatch():
    a, b = Money(1000, "TWD"), Money(250, "TWD")
    assert a + b == Money(1250, "TWD")
    assert a - b == Money(750, "TWD")
    assert -b == Money(-250, "TWD")
    assert b < a
    with pytest.raises(MoneyError):
        _ = a + Money(1, "USD")
    with pytest.raises(MoneyError):
        _ = a < Money(1, "USD")


def test_money_refuses_float_and_unknown_currency():
    with pytest.raises(MoneyError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(1, "XXX")


def test_from_decimal_rounds_half_even():
    assert Money.from_decimal(Decimal("0.125"), "USD") == Money(12, "USD")
    assert Money.from_decimal(Decimal("0.135"), "USD") == Money(14, "USD")
    assert str(Money(123456, "USD")) == "1234.56 USD"
    assert Money(5, "USD").to_decimal() == Decimal("0.05")


def test_amount_text_pads_each_row_to_its_own_currency_exponent():
    """The vectorised formatter of the output files: every row padded to its own exponent,
    even when currencies with 0, 2 and 3 decimals share a frame (KWD has 3)."""
    import polars as pl

    from arrears.adapters.portfolio.writer import amount_text

    minor = [1205, 12005, 700, -5, 0, None, 100000]
    exps = [2, 3, 0, 2, 3, 2, 2]
    df = pl.DataFrame({"m": minor, "e": exps}, schema={"m": pl.Int64, "e": pl.Int64})
    got = df.select(amount_text(pl.col("m"), pl.col("e")).alias("t"))["t"].to_list()
    assert got == ["12.05", "12.005", "700", "-0.05", "0.000", None, "1000.00"]
    # the same text as the scalar formatter, which the portal and CLI use
    for m, e, t in zip(minor, exps, got, strict=True):
        if m is not None:
            currency = {0: "JPY", 2: "USD", 3: "KWD"}[e]
            if currency == "KWD":
                continue  # KWD is not in MINOR_UNITS yet: compare the 0/2-decimal ones
            assert format_minor(m, currency) == t
